//! Errors.

use std::error::Error;
use std::fmt;

/// What can go wrong in the bridge.
#[derive(Debug)]
#[non_exhaustive]
pub enum BridgeError {
    /// Connecting to the NATS server failed (absent, refused, or
    /// authentication rejected).
    Connect(async_nats::ConnectError),
    /// A subject prefix or signal name is not usable in a subject.
    InvalidName {
        /// What was named: "prefix" or "signal name".
        what: &'static str,
        /// The name given.
        name: String,
    },
    /// A key or sender name is too long for a subject token.
    TooLong {
        /// What was too long.
        what: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A signal's arguments or keys could not be encoded.
    Encode(String),
    /// The encoded send is larger than the server accepts (`max_payload`).
    /// Nothing was sent, locally or remotely.
    PayloadTooLarge {
        /// The encoded size in bytes.
        size: usize,
        /// The server's limit in bytes.
        max: usize,
    },
    /// Publishing to the server failed; the local delivery was made.
    Publish(async_nats::PublishError),
    /// Subscribing failed; the attachment retries at the next change.
    Subscribe(async_nats::SubscribeError),
    /// The server did not confirm the attachment's subscriptions.
    Flush(async_nats::client::FlushError),
    /// The attachment ended (its signal was dropped) before it was ready.
    Detached,
    /// The server did not confirm the attachment's subscriptions in time.
    Unconfirmed(std::time::Duration),
    /// A message on one of the signal's subjects could not be decoded (a
    /// foreign or malformed payload). Reported to the error hook, dropped.
    Decode {
        /// The subject it came on.
        subject: String,
        /// Why it could not be decoded.
        reason: String,
    },
    /// A received send could not be delivered locally (the signal was
    /// closed or its in-flight limit was full).
    Deliver(String),
}

impl fmt::Display for BridgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BridgeError::Connect(error) => write!(f, "could not connect to NATS: {error}"),
            BridgeError::InvalidName { what, name } => write!(
                f,
                "the {what} {name:?} can't be used in a NATS subject \
                 (use dot-separated tokens without '*', '>' or whitespace)"
            ),
            BridgeError::TooLong { what, len, max } => write!(
                f,
                "a {what} of {len} bytes is too long for a NATS subject (at most {max} once encoded)"
            ),
            BridgeError::Encode(reason) => write!(f, "could not encode the send: {reason}"),
            BridgeError::PayloadTooLarge { size, max } => write!(
                f,
                "the encoded send is {size} bytes, more than the server's max_payload of {max}; \
                 nothing was sent"
            ),
            BridgeError::Publish(error) => write!(f, "could not publish the send: {error}"),
            BridgeError::Subscribe(error) => write!(f, "could not subscribe: {error}"),
            BridgeError::Flush(error) => {
                write!(f, "the server did not confirm the subscriptions: {error}")
            }
            BridgeError::Detached => write!(f, "the attachment ended before it was ready"),
            BridgeError::Unconfirmed(wait) => write!(
                f,
                "the server did not confirm the subscriptions within {wait:?}"
            ),
            BridgeError::Decode { subject, reason } => {
                write!(f, "dropped an undecodable message on {subject}: {reason}")
            }
            BridgeError::Deliver(reason) => {
                write!(f, "could not deliver a received send locally: {reason}")
            }
        }
    }
}

impl Error for BridgeError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            BridgeError::Connect(error) => Some(error),
            BridgeError::Publish(error) => Some(error),
            BridgeError::Subscribe(error) => Some(error),
            BridgeError::Flush(error) => Some(error),
            _ => None,
        }
    }
}

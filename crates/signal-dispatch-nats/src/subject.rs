//! Subjects: how signal names, keys and sender names become NATS subject
//! tokens.
//!
//! A NATS subject is a list of tokens separated by `.`; `*` and `>` are
//! wildcards and whitespace is not allowed. A key is a token as it is when
//! it is one already; otherwise (empty, or containing `.`, `*`, `>` or
//! whitespace, or starting with `~`, or not UTF-8-safe to print) it is
//! written `~` followed by its UTF-8 bytes in hexadecimal. Either way every
//! process maps a key to the same token, and no key becomes a wildcard.

use crate::error::BridgeError;

/// The longest token a key or name may make, in bytes: NATS limits the
/// whole protocol line a subject travels in.
pub const MAX_TOKEN: usize = 512;

/// The token for `text`: itself if it is a plain token, else `~` and its
/// bytes in hexadecimal.
///
/// # Examples
///
/// ```
/// use signal_dispatch_nats::subject::token;
///
/// assert_eq!(token("orders").unwrap(), "orders");
/// assert_eq!(token("eu.west").unwrap(), "~65752e77657374");
/// assert_eq!(token("").unwrap(), "~");
/// assert_eq!(token(">").unwrap(), "~3e");
/// assert!(token(&"x".repeat(1000)).is_err());
/// ```
pub fn token(text: &str) -> Result<String, BridgeError> {
    let plain = !text.is_empty()
        && !text.starts_with('~')
        && text
            .chars()
            .all(|c| !matches!(c, '.' | '*' | '>') && !c.is_whitespace() && !c.is_control());
    let token = if plain {
        text.to_owned()
    } else {
        let mut encoded = String::with_capacity(1 + 2 * text.len());
        encoded.push('~');
        for byte in text.bytes() {
            encoded.push(char::from(HEX[usize::from(byte >> 4)]));
            encoded.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        encoded
    };
    if token.len() > MAX_TOKEN {
        return Err(BridgeError::TooLong {
            what: "key or sender name",
            len: text.len(),
            max: MAX_TOKEN,
        });
    }
    Ok(token)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Checks a subject prefix or signal name given by the application: one or
/// more plain tokens separated by dots (a name is used as given, so that
/// permissions can be written for it).
pub(crate) fn check_name(what: &'static str, name: &str) -> Result<(), BridgeError> {
    let valid = !name.is_empty()
        && name.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| !matches!(c, '*' | '>') && !c.is_whitespace() && !c.is_control())
        });
    if valid {
        Ok(())
    } else {
        Err(BridgeError::InvalidName {
            what,
            name: name.to_owned(),
        })
    }
}

/// The subjects of one attached signal.
#[derive(Clone, Debug)]
pub(crate) struct Subjects {
    base: String,
}

impl Subjects {
    pub(crate) fn new(prefix: &str, signal: &str) -> Self {
        Subjects {
            base: format!("{prefix}.{signal}"),
        }
    }

    /// Sends that name no key and no sender.
    pub(crate) fn unfiltered(&self) -> String {
        format!("{}.all", self.base)
    }

    /// Sends that name this key (its token).
    pub(crate) fn key(&self, token: &str) -> String {
        format!("{}.key.{token}", self.base)
    }

    /// Sends that name this sender (its token).
    pub(crate) fn sender(&self, token: &str) -> String {
        format!("{}.from.{token}", self.base)
    }

    /// Every send of the signal.
    pub(crate) fn everything(&self) -> String {
        format!("{}.>", self.base)
    }
}

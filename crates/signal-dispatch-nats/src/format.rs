//! Wire formats: how a send's keys, sender names and arguments travel.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The format a bridge encodes its sends in. Receivers read the format
/// from each message's envelope, so processes using different formats
/// understand each other.
///
/// # Examples
///
/// ```
/// use signal_dispatch_nats::Format;
///
/// assert_eq!(Format::default(), Format::Json);
/// assert_eq!(Format::Json.name(), "json");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// JSON (`serde_json`): readable, and what non-Rust peers can produce.
    #[default]
    Json,
    /// MessagePack (`rmp-serde`): compact and fast. Feature `msgpack`.
    #[cfg(feature = "msgpack")]
    MessagePack,
}

impl Format {
    /// The format's name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            #[cfg(feature = "msgpack")]
            Format::MessagePack => "msgpack",
        }
    }

    /// The byte naming the format in a send's envelope.
    pub(crate) fn code(self) -> u8 {
        match self {
            Format::Json => b'j',
            #[cfg(feature = "msgpack")]
            Format::MessagePack => b'm',
        }
    }

    /// The format an envelope's byte names, if this build knows it.
    pub(crate) fn from_code(code: u8) -> Option<Self> {
        match code {
            b'j' => Some(Format::Json),
            #[cfg(feature = "msgpack")]
            b'm' => Some(Format::MessagePack),
            _ => None,
        }
    }

    /// Encodes `value` at the end of `out`.
    pub(crate) fn encode_into<T: Serialize>(
        self,
        value: &T,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        match self {
            Format::Json => serde_json::to_writer(out, value).map_err(|error| error.to_string()),
            #[cfg(feature = "msgpack")]
            Format::MessagePack => {
                rmp_serde::encode::write_named(out, value).map_err(|error| error.to_string())
            }
        }
    }

    pub(crate) fn decode<T: DeserializeOwned>(self, bytes: &[u8]) -> Result<T, String> {
        match self {
            Format::Json => serde_json::from_slice(bytes).map_err(|error| error.to_string()),
            #[cfg(feature = "msgpack")]
            Format::MessagePack => rmp_serde::from_slice(bytes).map_err(|error| error.to_string()),
        }
    }
}

/// One send on the wire.
#[derive(Serialize)]
pub(crate) struct Outgoing<'a, A, K> {
    pub(crate) keys: &'a [K],
    pub(crate) senders: &'a [&'a str],
    pub(crate) args: &'a A,
}

/// One send received.
#[derive(serde::Deserialize)]
pub(crate) struct Incoming<A, K> {
    pub(crate) keys: Vec<K>,
    pub(crate) senders: Vec<String>,
    pub(crate) args: A,
}

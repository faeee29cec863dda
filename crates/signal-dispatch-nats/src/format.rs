//! Wire formats: how a send's keys, sender names and arguments travel.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The format a bridge encodes its sends in. Receivers read the format
/// from each message's `Sd-Format` header, so processes using different
/// formats understand each other.
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
    /// The name in the `Sd-Format` header.
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            #[cfg(feature = "msgpack")]
            Format::MessagePack => "msgpack",
        }
    }

    /// The format a header names, if this build knows it.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "json" => Some(Format::Json),
            #[cfg(feature = "msgpack")]
            "msgpack" => Some(Format::MessagePack),
            _ => None,
        }
    }

    pub(crate) fn encode<T: Serialize>(self, value: &T) -> Result<Vec<u8>, String> {
        match self {
            Format::Json => serde_json::to_vec(value).map_err(|error| error.to_string()),
            #[cfg(feature = "msgpack")]
            Format::MessagePack => {
                rmp_serde::to_vec_named(value).map_err(|error| error.to_string())
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

//! The envelope of a send on the wire: who published it, its number, and
//! the format of its body, in a few bytes before the body.
//!
//! ```text
//! b"SD" 0x01        magic and version (3 bytes)
//! format            b'j' JSON, b'm' MessagePack (1 byte)
//! origin length     N (1 byte), then the origin: N bytes of UTF-8
//! sequence          u64, little-endian (8 bytes)
//! body              {keys, senders, args} in that format
//! ```
//!
//! NATS headers carried the same three facts before: a message with
//! headers costs the client several times a plain one to publish, and the
//! receiver a header map to parse. A prefix costs neither, and a receiver
//! reads it without decoding the body, so its own sends and second copies
//! are dropped undecoded.

use crate::format::Format;

/// The first bytes of every envelope: `SD` and the version.
const MAGIC: [u8; 3] = *b"SD\x01";

/// The most bytes an origin may take (its length is one byte).
const MAX_ORIGIN: usize = u8::MAX as usize;

/// `origin`, cut (at a character boundary) to the [`MAX_ORIGIN`] bytes an
/// envelope holds. A bridge's own origin already fits.
pub(crate) fn fit_origin(origin: &str) -> &str {
    let end = (0..=origin.len().min(MAX_ORIGIN))
        .rev()
        .find(|&end| origin.is_char_boundary(end))
        .unwrap_or(0);
    &origin[..end]
}

/// An envelope read from a message: who sent it, its number, its format and
/// its body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Envelope<'a> {
    pub(crate) origin: &'a str,
    pub(crate) sequence: u64,
    pub(crate) format: Format,
    pub(crate) body: &'a [u8],
}

/// Starts a message: the envelope's prefix, into a buffer with room for
/// a body of about `body` bytes, to be encoded after it. The origin is
/// fitted to the envelope ([`fit_origin`]).
pub(crate) fn start(origin: &str, sequence: u64, format: Format, body: usize) -> Vec<u8> {
    let origin = fit_origin(origin).as_bytes();
    let mut message = Vec::with_capacity(MAGIC.len() + 2 + origin.len() + 8 + body);
    message.extend_from_slice(&MAGIC);
    message.push(format.code());
    message.push(origin.len() as u8);
    message.extend_from_slice(origin);
    message.extend_from_slice(&sequence.to_le_bytes());
    message
}

/// Reads a message's envelope; the error says why it is not one this
/// build can read.
pub(crate) fn read(message: &[u8]) -> Result<Envelope<'_>, String> {
    let Some(rest) = message.strip_prefix(&MAGIC[..2]) else {
        return Err("no signal-dispatch envelope: not a bridge send".into());
    };
    let [version, code, length, rest @ ..] = rest else {
        return Err("an envelope cut short".into());
    };
    if *version != MAGIC[2] {
        return Err(format!("envelope version {version}, this build reads 1"));
    }
    let Some(format) = Format::from_code(*code) else {
        return Err(format!("unknown format code {:?}", char::from(*code)));
    };
    let length = usize::from(*length);
    if rest.len() < length + 8 {
        return Err("an envelope cut short".into());
    }
    let (origin, rest) = rest.split_at(length);
    let origin =
        std::str::from_utf8(origin).map_err(|_| "an origin that is not UTF-8".to_string())?;
    let (sequence, body) = rest.split_at(8);
    let sequence = u64::from_le_bytes(sequence.try_into().expect("split at 8 bytes"));
    Ok(Envelope {
        origin,
        sequence,
        format,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_reads_back_as_written() {
        let mut message = start("origin-7", 42, Format::Json, 2);
        message.extend_from_slice(b"{}");
        assert_eq!(
            read(&message),
            Ok(Envelope {
                origin: "origin-7",
                sequence: 42,
                format: Format::Json,
                body: b"{}",
            })
        );
    }

    #[test]
    fn a_long_origin_is_cut_at_a_character_boundary_and_still_reads() {
        let long = "é".repeat(200); // 400 bytes
        let fitted = fit_origin(&long);
        assert_eq!(fitted.len(), 254);
        assert_eq!(fit_origin("short"), "short");
        let message = start(&long, 1, Format::Json, 0);
        assert_eq!(read(&message).unwrap().origin, fitted);
    }

    #[test]
    fn every_cut_of_an_envelope_is_an_error_never_a_panic() {
        let message = start("origin", u64::MAX, Format::Json, 0);
        // Everything short of the whole prefix.
        for end in 0..message.len() {
            assert!(read(&message[..end]).is_err(), "{end} bytes");
        }
        assert!(read(&message).is_ok());
    }

    #[test]
    fn foreign_and_damaged_envelopes_say_what_is_wrong() {
        let error = |bytes: &[u8]| read(bytes).unwrap_err();
        assert!(error(b"hello").contains("not a bridge send"));
        assert!(error(b"{\"args\": 5}").contains("not a bridge send"));
        assert!(error(b"SD\x02j\x00\0\0\0\0\0\0\0\0{}").contains("version 2"));
        assert!(error(b"SD\x01y\x00\0\0\0\0\0\0\0\0{}").contains("unknown format code 'y'"));
        assert!(error(b"SD\x01j\x02\xff\xfe\0\0\0\0\0\0\0\0{}").contains("not UTF-8"));
        assert!(error(b"SD\x01j\x09ab").contains("cut short"));
    }
}

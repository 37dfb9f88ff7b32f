//! How an event row holds its payload and hash: the encoding at the store's edge. The rest of
//! sopflow sees the JSON text the hash chain covers and hashes as lowercase hex; the `events`
//! table holds the text compressed and the hashes as 32 bytes (migration 0013).
//!
//! Each row names the codec its payload was written with (`events.codec`):
//!
//! - `0`, [`PLAIN`]: the JSON text's UTF-8 bytes, as they are. Rows stored before 0013 hold it
//!   (the migration moved them as they were, uncompressed).
//! - `1`, [`ZSTD_EVENTS_V1`]: zstd (level 3) with the raw-content dictionary
//!   `dictionaries/events-v1.txt`: skeletons of the event format's own JSON (its keys, its
//!   fact types, placeholder values; nothing of any SOP), so that a short payload compresses
//!   against what every payload repeats.
//!
//! A codec, once rows are written with it, is never changed: a stored row must decode as it
//! was written. A better dictionary or level is a new codec number beside the old ones.

use std::cell::RefCell;

use crate::error::{Error, Result};

/// The JSON text's bytes, uncompressed.
pub(crate) const PLAIN: i16 = 0;
/// zstd level 3 with the `events-v1` dictionary.
pub(crate) const ZSTD_EVENTS_V1: i16 = 1;
/// The codec new rows are written with.
pub(crate) const CURRENT: i16 = ZSTD_EVENTS_V1;

/// The `prev_hash` of a case's first event (the engine's `chain::GENESIS`), as hex. A first
/// row stores no prev_hash when it is this.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The `events-v1` dictionary. Never edit it: rows written with it decode with it.
static EVENTS_V1: &[u8] = include_bytes!("../dictionaries/events-v1.txt");
const LEVEL: i32 = 3;

/// A decoded payload larger than this is refused (a damaged or forged row must not make a
/// reader allocate without bound); a command's event is a few kilobytes.
const MAX_PAYLOAD: u64 = 64 * 1024 * 1024;

thread_local! {
    // A context per thread, its dictionary loaded once: a payload is a few hundred bytes, and
    // setting up a context would cost more than compressing it.
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { RefCell::new(None) };
}

/// An event's payload as its row holds it: the JSON text the hash chain covers, encoded with
/// the current codec. Made where the event is made (see `NewEvent`), so that compressing it
/// is not work of the one writer that appends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    pub(crate) codec: i16,
    pub(crate) bytes: Vec<u8>,
}

impl Payload {
    /// `text`, the exact JSON text to store, encoded.
    pub fn from_text(text: &str) -> Result<Self> {
        let (codec, bytes) = encode(text)?;
        Ok(Self { codec, bytes })
    }

    /// `value`'s JSON text (serde_json's compact form), encoded.
    pub fn from_json(value: &serde_json::Value) -> Result<Self> {
        let text =
            serde_json::to_string(value).map_err(|e| Error::Invalid(format!("payload: {e}")))?;
        Self::from_text(&text)
    }

    /// The JSON text, decoded again.
    pub fn text(&self) -> Result<String> {
        decode(self.codec, &self.bytes)
    }
}

/// `text` as stored: (codec, bytes), compressed unless that is no smaller (a tiny text).
pub(crate) fn encode(text: &str) -> Result<(i16, Vec<u8>)> {
    let bytes = COMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        let compressor = match &mut *cell {
            Some(c) => c,
            None => cell.insert(zstd::bulk::Compressor::with_dictionary(LEVEL, EVENTS_V1)?),
        };
        compressor.compress(text.as_bytes())
    });
    let bytes = bytes.map_err(|e| Error::Invalid(format!("compressing a payload: {e}")))?;
    Ok(match bytes.len() < text.len() {
        true => (CURRENT, bytes),
        false => (PLAIN, text.as_bytes().to_vec()),
    })
}

/// The JSON text of a stored payload, whichever codec wrote it.
pub(crate) fn decode(codec: i16, bytes: &[u8]) -> Result<String> {
    let bytes = match codec {
        PLAIN => bytes.to_vec(),
        ZSTD_EVENTS_V1 => decompress(bytes)?,
        other => return Err(Error::Invalid(format!("unknown payload codec {other}"))),
    };
    String::from_utf8(bytes).map_err(|e| Error::Invalid(format!("a payload is not UTF-8: {e}")))
}

fn decompress(bytes: &[u8]) -> Result<Vec<u8>> {
    let bad =
        |reason: String| Error::Invalid(format!("a stored payload does not decode: {reason}"));
    // The frame says its size (the compressor writes it): the buffer is allocated once.
    let size = match zstd::zstd_safe::get_frame_content_size(bytes) {
        Ok(Some(size)) if size <= MAX_PAYLOAD => size,
        Ok(Some(size)) => return Err(bad(format!("it claims {size} bytes"))),
        Ok(None) | Err(_) => return Err(bad("no frame size".into())),
    };
    let size = usize::try_from(size).map_err(|e| bad(e.to_string()))?;
    DECOMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        let decompressor = match &mut *cell {
            Some(d) => d,
            None => cell.insert(
                zstd::bulk::Decompressor::with_dictionary(EVENTS_V1)
                    .map_err(|e| bad(e.to_string()))?,
            ),
        };
        decompressor
            .decompress(bytes, size)
            .map_err(|e| bad(e.to_string()))
    })
}

/// A hash as stored: its 32 bytes, from the lowercase hex the rest of sopflow uses.
pub(crate) fn hash_bytes(hex: &str) -> Result<Vec<u8>> {
    // Lowercase only: the hex read back must be the hex written.
    let bad = || Error::Invalid(format!("hash {hex:?} is not 64 lowercase hex digits"));
    if hex.len() != 64 || hex.bytes().any(|c| c.is_ascii_uppercase()) {
        return Err(bad());
    }
    ::hex::decode(hex).map_err(|_| bad())
}

/// A stored hash as lowercase hex. Any length is shown as it is: a damaged row reads, and
/// verification reports it.
pub(crate) fn hash_hex(bytes: &[u8]) -> String {
    ::hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    // A payload of the shape a command writes (event format v2), with an SOP's names.
    const PAYLOAD: &str = r#"{"at":"2026-12-01T22:16:03.306829044Z","by":{"role":"petugas_antrian","user":"load-0-petugas"},"missing_documents":["fotokopi_kk"],"seq":3,"step":"serahkan_berkas","then":[{"branch":0,"evaluations":[],"from":"serahkan_berkas","to":"verifikasi_berkas","type":"branch_taken"},{"budget_step":"verifikasi_berkas","due_at":"2026-12-01T22:18:03.306829044Z","step":"verifikasi_berkas","type":"step_entered","visit":1}],"type":"step_completed","v":2}"#;

    #[test]
    fn a_payload_round_trips_and_is_stored_smaller() {
        let (codec, bytes) = encode(PAYLOAD).unwrap();
        assert_eq!(codec, ZSTD_EVENTS_V1);
        assert_eq!(decode(codec, &bytes).unwrap(), PAYLOAD);
        assert!(
            bytes.len() * 2 < PAYLOAD.len(),
            "{} bytes stored for {}",
            bytes.len(),
            PAYLOAD.len()
        );
        // The same text, whatever came before it on this thread's context.
        let (_, again) = encode(PAYLOAD).unwrap();
        assert_eq!(again, bytes);
    }

    #[test]
    fn a_payload_made_ahead_is_the_text_encoded() {
        let payload = Payload::from_text(PAYLOAD).unwrap();
        assert_eq!(
            (payload.codec, payload.bytes.clone()),
            encode(PAYLOAD).unwrap()
        );
        assert_eq!(payload.text().unwrap(), PAYLOAD);
        let value: serde_json::Value = serde_json::from_str(PAYLOAD).unwrap();
        // Without serde_json's `preserve_order`, a value's keys come out sorted, as stored.
        assert_eq!(Payload::from_json(&value).unwrap(), payload);
    }

    #[test]
    fn a_tiny_payload_is_stored_plain() {
        let tiny = r#"{"v":1}"#;
        assert_eq!(encode(tiny).unwrap(), (PLAIN, tiny.as_bytes().to_vec()));
    }

    #[test]
    fn plain_rows_read_as_they_are_and_unknown_or_damaged_ones_are_errors() {
        assert_eq!(decode(PLAIN, PAYLOAD.as_bytes()).unwrap(), PAYLOAD);
        assert!(decode(7, PAYLOAD.as_bytes()).is_err());
        let (codec, mut bytes) = encode(PAYLOAD).unwrap();
        bytes.truncate(bytes.len() / 2);
        assert!(decode(codec, &bytes).is_err());
        assert!(decode(codec, b"not zstd").is_err());
    }

    #[test]
    fn the_dictionary_is_the_format_s_vocabulary_only() {
        // Frozen: a change would make stored rows undecodable (a new dictionary is a new codec).
        assert_eq!(EVENTS_V1.len(), 4059);
        let text = std::str::from_utf8(EVENTS_V1).unwrap();
        for line in text.lines() {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(serde_json::to_string(&value).unwrap(), line, "canonical");
        }
    }

    #[test]
    fn hashes_convert_both_ways_and_bad_hex_is_refused() {
        let hex = "00ff10a0b1c2d3e4f5060708090a0b0c0d0e0f101112131415161718191a1b1c";
        let bytes = hash_bytes(hex).unwrap();
        assert_eq!(bytes.len(), 32);
        assert_eq!(bytes[..2], [0x00, 0xff]);
        assert_eq!(hash_hex(&bytes), hex);
        assert!(hash_bytes(&hex[1..]).is_err());
        assert!(hash_bytes(&hex.to_uppercase()).is_err());
        assert!(hash_bytes(&format!("{}zz", &hex[2..])).is_err());
    }
}

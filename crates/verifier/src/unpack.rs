//! Undoing Firehose's compression: GZIP recognised by its magic bytes or by a `.gz` key, every member.
//!
//! Firehose with `CompressionFormat = GZIP` names objects `*.gz`, but objects copied by other tools
//! lose the suffix and people gzip plain backups by hand, so the magic bytes `1f 8b` decide as well.
//! Several gzip members concatenated (what `cat a.gz b.gz` produces) decompress to the concatenation
//! of their contents. Damage to the compressed stream is reported, and everything decompressed
//! before it is still decoded.

use std::borrow::Cow;
use std::io::Read;

use flate2::read::MultiGzDecoder;

/// The first two bytes of every gzip member.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// An object's bytes after decompression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpacked<'a> {
    /// The bytes records are decoded from: the object itself, or what its gzip members hold.
    pub bytes: Cow<'a, [u8]>,
    /// Whether the object was gzip-compressed.
    pub gzip: bool,
    /// Why decompression stopped early; `bytes` then holds what was decompressed before it.
    pub damage: Option<String>,
}

/// Whether an object with this key and these first bytes is gzip-compressed.
pub fn is_gzip(key: &str, bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC) || key.ends_with(".gz")
}

/// Decompresses `bytes` when [`is_gzip`] says so, and borrows them otherwise.
pub fn unpack<'a>(key: &str, bytes: &'a [u8]) -> Unpacked<'a> {
    if !is_gzip(key, bytes) {
        return Unpacked { bytes: Cow::Borrowed(bytes), gzip: false, damage: None };
    }
    // Compressed JSON logs typically shrink five- to tenfold.
    let mut out = Vec::with_capacity(bytes.len().saturating_mul(6));
    let mut decoder = MultiGzDecoder::new(bytes);
    let mut chunk = vec![0u8; 64 * 1024];
    let damage = loop {
        match decoder.read(&mut chunk) {
            Ok(0) => break None,
            Ok(read) => out.extend_from_slice(&chunk[..read]),
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => break Some(format!("gzip: {error}")),
        }
    };
    if let Some(why) = &damage {
        tracing::debug!(key, decompressed = out.len(), why, "gzip stream damaged");
    }
    Unpacked { bytes: Cow::Owned(out), gzip: true, damage }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn plain_objects_are_borrowed_unchanged() {
        let unpacked = unpack("2024/01/01/00/s-1-x", b"{\"a\":1}");
        assert_eq!(unpacked, Unpacked { bytes: Cow::Borrowed(b"{\"a\":1}"), gzip: false, damage: None });
        assert!(matches!(unpacked.bytes, Cow::Borrowed(_)));
    }

    #[test]
    fn gzip_is_recognised_by_magic_bytes_without_the_suffix() {
        let object = gzip(b"{\"a\":1}");
        let unpacked = unpack("no-suffix", &object);
        assert_eq!(
            (unpacked.bytes.as_ref(), unpacked.gzip, unpacked.damage),
            (&b"{\"a\":1}"[..], true, None)
        );
    }

    #[test]
    fn every_member_of_a_multi_member_gzip_is_decompressed() {
        let mut object = gzip(b"{\"a\":1}");
        object.extend(gzip(b"\n{\"b\":2}"));
        object.extend(gzip(b""));
        object.extend(gzip(b"{\"c\":3}"));
        let unpacked = unpack("x.gz", &object);
        assert_eq!(unpacked.bytes.as_ref(), b"{\"a\":1}\n{\"b\":2}{\"c\":3}");
        assert_eq!(unpacked.damage, None);
    }

    #[test]
    fn a_truncated_gzip_keeps_what_was_decompressed_and_names_the_damage() {
        let text: String = (0..2000).map(|seq| format!("{{\"seq\":{seq}}}")).collect();
        let object = gzip(text.as_bytes());
        let unpacked = unpack("x.gz", &object[..object.len() - 12]);
        assert!(unpacked.damage.as_deref().is_some_and(|why| why.starts_with("gzip: ")), "{unpacked:?}");
        assert!(text.as_bytes().starts_with(&unpacked.bytes), "a prefix of the original");
    }

    #[test]
    fn a_gz_key_over_bytes_that_are_not_gzip_is_damage_not_a_panic() {
        let unpacked = unpack("x.gz", b"{\"a\":1}");
        assert!(unpacked.gzip);
        assert!(unpacked.bytes.is_empty());
        assert!(unpacked.damage.is_some());
    }

    #[test]
    fn garbage_after_the_last_member_is_damage_after_its_content() {
        let mut object = gzip(b"{\"a\":1}");
        object.extend_from_slice(b"trailing junk");
        let unpacked = unpack("x", &object);
        assert_eq!(unpacked.bytes.as_ref(), b"{\"a\":1}");
        assert!(unpacked.damage.is_some());
    }
}

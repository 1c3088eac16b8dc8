//! Media types, recognised from a file's first bytes rather than trusted
//! from a name or a header.
//!
//! Containers are looked into: an ISO media file (`ftyp` box) may be an
//! MP4 or MOV video but also a HEIC/AVIF image or M4A audio, and an EBML
//! file may be WebM or any Matroska file. Only what platforms take as MP4,
//! MOV and WebM passes.

/// What the first bytes of a file say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// A type Herald takes: its MIME type and the extension it is stored with.
    Supported {
        mime: &'static str,
        extension: &'static str,
    },
    /// Recognised, but not a type Herald takes, e.g. "an M4A audio file".
    Unsupported(&'static str),
    Unknown,
}

/// ISO media brands of MP4 video (ISO/IEC 14496-12 and -14, 3GPP DASH, Apple M4V).
const MP4_BRANDS: [&[u8; 4]; 11] =
    [b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"dash"];

/// ISO media brands that are not video, named for the error message.
const OTHER_BRANDS: [(&[u8; 4], &str); 15] = [
    (b"M4A ", "an M4A audio file"),
    (b"M4B ", "an M4B audio book"),
    (b"M4P ", "an M4P audio file"),
    (b"F4A ", "an F4A audio file"),
    (b"heic", "a HEIC image"),
    (b"heix", "a HEIC image"),
    (b"heim", "a HEIC image"),
    (b"heis", "a HEIC image"),
    (b"hevc", "a HEIC image sequence"),
    (b"hevx", "a HEIC image sequence"),
    (b"mif1", "a HEIF image"),
    (b"msf1", "a HEIF image sequence"),
    (b"avif", "an AVIF image"),
    (b"avis", "an AVIF image sequence"),
    (b"crx ", "a Canon raw image"),
];

/// The type of a file from its first bytes.
pub fn identify(bytes: &[u8]) -> Sniffed {
    let supported = |mime, extension| Sniffed::Supported { mime, extension };
    match bytes {
        [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, ..] => supported("image/png", "png"),
        [0xff, 0xd8, 0xff, ..] => supported("image/jpeg", "jpg"),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => supported("image/gif", "gif"),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => supported("image/webp", "webp"),
        [0x1a, 0x45, 0xdf, 0xa3, ..] => identify_ebml(bytes),
        [_, _, _, _, b'f', b't', b'y', b'p', ..] => identify_iso_media(bytes),
        _ => Sniffed::Unknown,
    }
}

/// The type of a file and the extension it is stored with, when Herald takes it.
pub fn sniff(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    match identify(bytes) {
        Sniffed::Supported { mime, extension } => Some((mime, extension)),
        Sniffed::Unsupported(_) | Sniffed::Unknown => None,
    }
}

/// Just the MIME type of [`sniff`].
pub fn sniff_mime(bytes: &[u8]) -> Option<&'static str> {
    sniff(bytes).map(|(mime, _)| mime)
}

/// An ISO base media file by its `ftyp` box: the major brand decides, and a
/// file of an unlisted major brand passes as MP4 when it declares an MP4
/// brand compatible (cameras write their own major brands).
fn identify_iso_media(bytes: &[u8]) -> Sniffed {
    let Some(major) = bytes.get(8..12) else { return Sniffed::Unknown };
    if major == b"qt  " {
        return Sniffed::Supported { mime: "video/quicktime", extension: "mov" };
    }
    let is_mp4 = |brand: &[u8]| MP4_BRANDS.iter().any(|known| known.as_slice() == brand);
    if is_mp4(major) {
        return Sniffed::Supported { mime: "video/mp4", extension: "mp4" };
    }
    if let Some((_, name)) = OTHER_BRANDS.iter().find(|(brand, _)| brand.as_slice() == major) {
        return Sniffed::Unsupported(name);
    }
    // The box is `size, "ftyp", major, minor version, compatible brands…`;
    // a size of 0 means "to the end of the file".
    let size = bytes.get(0..4).map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    let end = match usize::try_from(size) {
        Ok(0) | Err(_) => bytes.len(),
        Ok(size) => size.min(bytes.len()),
    };
    let compatible = bytes.get(16..end).unwrap_or_default();
    if compatible.chunks_exact(4).any(is_mp4) {
        Sniffed::Supported { mime: "video/mp4", extension: "mp4" }
    } else {
        Sniffed::Unsupported("an ISO media file that is not an MP4 or MOV video")
    }
}

/// An EBML file by the `DocType` of its header: only `webm` is WebM; any
/// other (`matroska` above all) is refused.
fn identify_ebml(bytes: &[u8]) -> Sniffed {
    match ebml_doc_type(bytes) {
        Some(b"webm") => Sniffed::Supported { mime: "video/webm", extension: "webm" },
        Some(b"matroska") => Sniffed::Unsupported("a Matroska (MKV) video"),
        _ => Sniffed::Unsupported("an EBML file that is not a WebM video"),
    }
}

/// EBML element ids of the header and of its `DocType` child (RFC 8794).
const EBML_HEADER: u64 = 0x1a45_dfa3;
const EBML_DOC_TYPE: u64 = 0x4282;

/// The `DocType` string of the EBML header, without trailing NULs.
fn ebml_doc_type(bytes: &[u8]) -> Option<&[u8]> {
    let (id, at) = vint(bytes, 0, true)?;
    if id != EBML_HEADER {
        return None;
    }
    let (size, mut at) = vint(bytes, at, false)?;
    let end = usize::try_from(size).map_or(bytes.len(), |size| at.saturating_add(size).min(bytes.len()));
    while at < end {
        let (id, after_id) = vint(bytes, at, true)?;
        let (size, data) = vint(bytes, after_id, false)?;
        let data_end = data.checked_add(usize::try_from(size).ok()?)?;
        if id == EBML_DOC_TYPE {
            let value = bytes.get(data..data_end)?;
            let text_end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
            return Some(&value[..text_end]);
        }
        at = data_end;
    }
    None
}

/// An EBML variable-size integer at `at`: its value (the length marker kept
/// for element ids, removed for sizes) and where the next field starts.
fn vint(bytes: &[u8], at: usize, keep_marker: bool) -> Option<(u64, usize)> {
    let first = *bytes.get(at)?;
    let length = first.leading_zeros() + 1;
    if length > 8 {
        return None;
    }
    let field = bytes.get(at..at + length as usize)?;
    // The marker is the bit after the leading zeros (none left for 8 bytes).
    let mask = u8::MAX.checked_shr(length).unwrap_or(0);
    let mut value = u64::from(if keep_marker { first } else { first & mask });
    for &byte in &field[1..] {
        value = (value << 8) | u64::from(byte);
    }
    Some((value, at + field.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `ftyp` box with these brands, then the start of another box.
    fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let size = u32::try_from(16 + 4 * compatible.len()).unwrap();
        let mut bytes = size.to_be_bytes().to_vec();
        bytes.extend_from_slice(b"ftyp");
        bytes.extend_from_slice(major);
        bytes.extend_from_slice(&[0, 0, 2, 0]);
        for brand in compatible {
            bytes.extend_from_slice(*brand);
        }
        bytes.extend_from_slice(b"\0\0\0\x08mdat");
        bytes
    }

    /// An EBML header with this `DocType`, then a Segment id.
    fn ebml(doc_type: &[u8]) -> Vec<u8> {
        let mut body = vec![0x42, 0x86, 0x81, 0x01]; // EBMLVersion 1
        body.extend_from_slice(&[0x42, 0x82, 0x80 | u8::try_from(doc_type.len()).unwrap()]);
        body.extend_from_slice(doc_type);
        body.extend_from_slice(&[0x42, 0x87, 0x81, 0x04]); // DocTypeVersion 4
        let mut bytes = vec![0x1a, 0x45, 0xdf, 0xa3, 0x80 | u8::try_from(body.len()).unwrap()];
        bytes.extend_from_slice(&body);
        bytes.extend_from_slice(&[0x18, 0x53, 0x80, 0x67]);
        bytes
    }

    const MP4: Sniffed = Sniffed::Supported { mime: "video/mp4", extension: "mp4" };

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some(("image/png", "png")));
        assert_eq!(sniff(b"\xff\xd8\xff\xe0"), Some(("image/jpeg", "jpg")));
        assert_eq!(sniff(b"GIF89a.."), Some(("image/gif", "gif")));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(("image/webp", "webp")));
        assert_eq!(sniff(b"\0\0\0\x18ftypmp42"), Some(("video/mp4", "mp4")));
        assert_eq!(sniff(b"\0\0\0\x14ftypqt  "), Some(("video/quicktime", "mov")));
        assert_eq!(sniff_mime(b"<html>"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn iso_media_is_video_only_for_mp4_and_quicktime_brands() {
        type Brand = &'static [u8; 4];
        let cases: [(Brand, &[Brand], Sniffed); 12] = [
            (b"isom", &[b"isom", b"iso2", b"avc1", b"mp41"], MP4),
            (b"mp42", &[b"mp42", b"isom"], MP4),
            (b"iso6", &[b"iso6", b"dash"], MP4),
            (b"M4V ", &[b"M4V ", b"M4A ", b"mp42", b"isom"], MP4),
            (b"qt  ", &[b"qt  "], Sniffed::Supported { mime: "video/quicktime", extension: "mov" }),
            // A camera's own major brand, MP4-compatible.
            (b"XAVC", &[b"XAVC", b"mp42", b"iso2"], MP4),
            // Audio and images share the container, and often list MP4 brands too.
            (b"M4A ", &[b"M4A ", b"mp42", b"isom"], Sniffed::Unsupported("an M4A audio file")),
            (b"heic", &[b"mif1", b"heic"], Sniffed::Unsupported("a HEIC image")),
            (b"mif1", &[b"mif1", b"heic"], Sniffed::Unsupported("a HEIF image")),
            (b"avif", &[b"avif", b"mif1", b"miaf", b"MA1B"], Sniffed::Unsupported("an AVIF image")),
            (b"crx ", &[b"crx ", b"isom"], Sniffed::Unsupported("a Canon raw image")),
            (b"3gp4", &[b"3gp4", b"3gp5"], Sniffed::Unsupported("an ISO media file that is not an MP4 or MOV video")),
        ];
        for (major, compatible, expected) in cases {
            assert_eq!(identify(&ftyp(major, compatible)), expected, "{}", String::from_utf8_lossy(major));
        }
        // Brands past the end of the box are not read as compatible ones.
        let mut short = ftyp(b"zzzz", &[]);
        short.extend_from_slice(b"isom");
        assert_eq!(sniff(&short), None);
    }

    #[test]
    fn ebml_is_webm_only_with_the_webm_doc_type() {
        assert_eq!(identify(&ebml(b"webm")), Sniffed::Supported { mime: "video/webm", extension: "webm" });
        assert_eq!(identify(&ebml(b"webm\0\0")), Sniffed::Supported { mime: "video/webm", extension: "webm" });
        assert_eq!(identify(&ebml(b"matroska")), Sniffed::Unsupported("a Matroska (MKV) video"));
        assert_eq!(
            identify(&[0x1a, 0x45, 0xdf, 0xa3, 0x84, 0x42, 0x86, 0x81, 0x01]),
            Sniffed::Unsupported("an EBML file that is not a WebM video"),
            "no DocType"
        );
        assert_eq!(sniff(&[0x1a, 0x45, 0xdf, 0xa3]), None, "truncated");
        assert_eq!(sniff(&[0x1a, 0x45, 0xdf, 0xa3, 0x00]), None, "invalid size");
    }
}

//! Media types, recognised from a file's first bytes rather than trusted
//! from a name or a header.

/// The type of a file from its first bytes; the extension it is stored with.
pub fn sniff(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    match bytes {
        [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, ..] => Some(("image/png", "png")),
        [0xff, 0xd8, 0xff, ..] => Some(("image/jpeg", "jpg")),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some(("image/gif", "gif")),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some(("image/webp", "webp")),
        [0x1a, 0x45, 0xdf, 0xa3, ..] => Some(("video/webm", "webm")),
        [_, _, _, _, b'f', b't', b'y', b'p', b'q', b't', b' ', b' ', ..] => Some(("video/quicktime", "mov")),
        [_, _, _, _, b'f', b't', b'y', b'p', ..] => Some(("video/mp4", "mp4")),
        _ => None,
    }
}

/// Just the MIME type of [`sniff`].
pub fn sniff_mime(bytes: &[u8]) -> Option<&'static str> {
    sniff(bytes).map(|(mime, _)| mime)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

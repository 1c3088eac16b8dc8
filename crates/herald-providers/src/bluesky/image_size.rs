//! The displayed size of an image, read from its header: Bluesky lays out
//! an image before loading it only when the post gives its `aspectRatio`.
//! PNG (`IHDR`), GIF (logical screen), JPEG (the start-of-frame segment,
//! turned by the EXIF orientation as viewers turn it) and WebP (`VP8 `,
//! `VP8L` and `VP8X` chunks).

/// Width and height in pixels as shown; `None` for anything else, a
/// truncated header or a zero side.
pub fn image_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let (width, height) = match bytes {
        [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, _, _, _, _, b'I', b'H', b'D', b'R', ..] => {
            (be32(bytes, 16)?, be32(bytes, 20)?)
        }
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => (le(bytes, 6, 2)?, le(bytes, 8, 2)?),
        [0xff, 0xd8, ..] => jpeg_size(bytes)?,
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => webp_size(bytes)?,
        _ => return None,
    };
    (width > 0 && height > 0).then_some((width, height))
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    bytes.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    bytes.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]))
}

/// A little-endian number of `len` (at most 4) bytes.
fn le(bytes: &[u8], at: usize, len: usize) -> Option<u32> {
    Some(bytes.get(at..at + len)?.iter().rev().fold(0, |value, byte| (value << 8) | u32::from(*byte)))
}

/// Walks the JPEG segments to the start of frame (`SOF0`–`SOF15` but the
/// `DHT`, `JPG` and `DAC` markers), noting the EXIF orientation on the way.
fn jpeg_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let mut at = 2;
    let mut turned = false;
    loop {
        // Markers may be padded with any number of 0xff fill bytes.
        while bytes.get(at) == Some(&0xff) && bytes.get(at + 1) == Some(&0xff) {
            at += 1;
        }
        if *bytes.get(at)? != 0xff {
            return None;
        }
        let marker = *bytes.get(at + 1)?;
        let length = usize::from(be16(bytes, at + 2)?);
        match marker {
            0xc0..=0xc3 | 0xc5..=0xc7 | 0xc9..=0xcb | 0xcd..=0xcf => {
                let (height, width) = (u32::from(be16(bytes, at + 5)?), u32::from(be16(bytes, at + 7)?));
                return Some(if turned { (height, width) } else { (width, height) });
            }
            0xe1 => turned |= bytes.get(at + 4..at + 2 + length).is_some_and(exif_turns_sideways),
            // Start of scan without a frame first: not an image we can read.
            0xda => return None,
            _ => {}
        }
        at += 2 + length;
    }
}

/// Whether an APP1 segment's EXIF orientation (tag 0x0112 of IFD0) is one
/// of 5–8, which show the image turned by a quarter.
fn exif_turns_sideways(app1: &[u8]) -> bool {
    let Some(tiff) = app1.strip_prefix(b"Exif\0\0") else { return false };
    let big_endian = match tiff.get(..2) {
        Some(b"MM") => true,
        Some(b"II") => false,
        _ => return false,
    };
    let read = |at: usize, len: usize| -> Option<u32> {
        let raw = tiff.get(at..at + len)?;
        Some(if big_endian {
            raw.iter().fold(0, |value, byte| (value << 8) | u32::from(*byte))
        } else {
            raw.iter().rev().fold(0, |value, byte| (value << 8) | u32::from(*byte))
        })
    };
    let orientation = || -> Option<u32> {
        let ifd = usize::try_from(read(4, 4)?).ok()?;
        let entries = usize::try_from(read(ifd, 2)?).ok()?;
        (0..entries)
            .map(|i| ifd + 2 + i * 12)
            .find(|entry| read(*entry, 2) == Some(0x0112))
            .and_then(|entry| read(entry + 8, 2))
    };
    orientation().is_some_and(|value| (5..=8).contains(&value))
}

/// The canvas of a WebP file from its first chunk.
fn webp_size(bytes: &[u8]) -> Option<(u32, u32)> {
    match bytes.get(12..16)? {
        // Lossy: a key frame's start code, then 14-bit width and height.
        b"VP8 " if bytes.get(23..26)? == [0x9d, 0x01, 0x2a] => {
            Some((le(bytes, 26, 2)? & 0x3fff, le(bytes, 28, 2)? & 0x3fff))
        }
        // Lossless: a signature byte, then width − 1 and height − 1 in 14 bits each.
        b"VP8L" if *bytes.get(20)? == 0x2f => {
            let bits = le(bytes, 21, 4)?;
            Some(((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1))
        }
        // Extended: canvas width − 1 and height − 1 in 24 bits each.
        b"VP8X" => Some((le(bytes, 24, 3)? + 1, le(bytes, 27, 3)? + 1)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        bytes.extend_from_slice(&width.to_be_bytes());
        bytes.extend_from_slice(&height.to_be_bytes());
        bytes.extend_from_slice(&[8, 6, 0, 0, 0]);
        bytes
    }

    /// A JPEG with an optional EXIF orientation, fill bytes and a SOF2 frame.
    fn jpeg(width: u16, height: u16, orientation: Option<u16>, big_endian: bool) -> Vec<u8> {
        let mut bytes = vec![0xff, 0xd8, 0xff, 0xe0, 0, 16];
        bytes.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        if let Some(value) = orientation {
            let u16s = |v: u16| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
            let u32s = |v: u32| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
            let mut tiff = if big_endian { b"MM".to_vec() } else { b"II".to_vec() };
            tiff.extend_from_slice(&u16s(42));
            tiff.extend_from_slice(&u32s(8));
            tiff.extend_from_slice(&u16s(2));
            // An unrelated tag first (ImageWidth), then Orientation (SHORT, count 1).
            for (tag, kind, data) in [(0x0100u16, 3u16, 999u16), (0x0112, 3, value)] {
                tiff.extend_from_slice(&u16s(tag));
                tiff.extend_from_slice(&u16s(kind));
                tiff.extend_from_slice(&u32s(1));
                tiff.extend_from_slice(&u16s(data));
                tiff.extend_from_slice(&[0, 0]);
            }
            tiff.extend_from_slice(&u32s(0));
            let length = u16::try_from(2 + 6 + tiff.len()).unwrap();
            bytes.extend_from_slice(&[0xff, 0xe1]);
            bytes.extend_from_slice(&length.to_be_bytes());
            bytes.extend_from_slice(b"Exif\0\0");
            bytes.extend_from_slice(&tiff);
        }
        bytes.extend_from_slice(&[0xff, 0xff, 0xc2, 0, 17, 8]);
        bytes.extend_from_slice(&height.to_be_bytes());
        bytes.extend_from_slice(&width.to_be_bytes());
        bytes.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        bytes
    }

    fn webp(chunk: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut bytes = b"RIFF\0\0\0\0WEBP".to_vec();
        bytes.extend_from_slice(chunk);
        bytes.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
        bytes.extend_from_slice(data);
        bytes
    }

    #[test]
    fn png_and_gif_sizes() {
        assert_eq!(image_size(&png(1200, 630)), Some((1200, 630)));
        assert_eq!(image_size(b"GIF89a\x20\x03\x58\x02\0\0"), Some((800, 600)));
        assert_eq!(image_size(b"GIF87a\x01\0\x01\0"), Some((1, 1)));
        assert_eq!(image_size(&png(0, 10)), None, "a zero side is no size");
        assert_eq!(image_size(&png(1, 1)[..20]), None, "truncated");
    }

    #[test]
    fn jpeg_sizes_follow_the_exif_orientation() {
        assert_eq!(image_size(&jpeg(4032, 3024, None, false)), Some((4032, 3024)));
        assert_eq!(image_size(&jpeg(4032, 3024, Some(1), true)), Some((4032, 3024)));
        assert_eq!(image_size(&jpeg(4032, 3024, Some(6), true)), Some((3024, 4032)), "a phone held upright");
        assert_eq!(image_size(&jpeg(4032, 3024, Some(8), false)), Some((3024, 4032)));
        assert_eq!(image_size(&jpeg(4032, 3024, Some(3), false)), Some((4032, 3024)), "upside down keeps its shape");
        let mut cut = jpeg(10, 10, None, false);
        cut.truncate(25);
        assert_eq!(image_size(&cut), None);
        assert_eq!(image_size(&[0xff, 0xd8, 0xff, 0xda, 0, 2]), None, "scan before any frame");
    }

    #[test]
    fn webp_sizes_from_each_chunk_kind() {
        // Lossy: frame tag, start code, 14-bit sizes (top bits are scaling).
        let mut vp8 = vec![0x50, 0x1d, 0x01, 0x9d, 0x01, 0x2a];
        vp8.extend_from_slice(&(640u16 | 0x4000).to_le_bytes());
        vp8.extend_from_slice(&480u16.to_le_bytes());
        assert_eq!(image_size(&webp(b"VP8 ", &vp8)), Some((640, 480)));
        // Lossless: 0x2f, then (width − 1) | (height − 1) << 14.
        let bits: u32 = 399 | (299 << 14);
        let mut vp8l = vec![0x2f];
        vp8l.extend_from_slice(&bits.to_le_bytes());
        assert_eq!(image_size(&webp(b"VP8L", &vp8l)), Some((400, 300)));
        // Extended: flags, 3 reserved bytes, 24-bit (width − 1) and (height − 1).
        let vp8x = [0x10, 0, 0, 0, 0x7f, 0x07, 0, 0x37, 0x04, 0];
        assert_eq!(image_size(&webp(b"VP8X", &vp8x)), Some((1920, 1080)));
        assert_eq!(image_size(&webp(b"VP8 ", &[0; 10])), None, "no start code");
    }

    #[test]
    fn anything_else_has_no_size() {
        assert_eq!(image_size(b""), None);
        assert_eq!(image_size(&[7; 100]), None);
        assert_eq!(image_size(b"\0\0\0\x18ftypmp42"), None);
    }
}

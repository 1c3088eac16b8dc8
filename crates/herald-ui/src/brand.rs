//! Each platform's mark, drawn here as a small SVG in its brand colour (no
//! image is fetched from anywhere), and the group the accounts page lists
//! it under.

/// Where the accounts page lists a platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Social,
    Fediverse,
    Chat,
    Blogs,
    Other,
}

impl Group {
    pub const ALL: [Group; 5] = [Group::Social, Group::Fediverse, Group::Chat, Group::Blogs, Group::Other];

    pub fn label(self) -> &'static str {
        match self {
            Group::Social => "Social networks",
            Group::Fediverse => "Fediverse and open networks",
            Group::Chat => "Chat",
            Group::Blogs => "Blogs and newsletters",
            Group::Other => "Other",
        }
    }
}

pub fn group(platform: &str) -> Group {
    match platform {
        "x"
        | "bluesky"
        | "linkedin"
        | "linkedin-page"
        | "facebook"
        | "instagram"
        | "instagram-standalone"
        | "threads"
        | "tiktok"
        | "youtube"
        | "pinterest"
        | "reddit"
        | "gmb"
        | "vk"
        | "dribbble" => Group::Social,
        "mastodon" | "misskey" | "pixelfed" | "gotosocial" | "akkoma" | "lemmy" | "nostr" | "farcaster" => {
            Group::Fediverse
        }
        "telegram" | "discord" | "slack" | "matrix" | "mattermost" | "zulip" | "googlechat" | "teams" => Group::Chat,
        "devto" | "wordpress" | "tumblr" | "ghost" | "medium" | "hashnode" | "buttondown" | "listmonk" => Group::Blogs,
        _ => Group::Other,
    }
}

/// What is drawn on the coloured square.
enum Glyph {
    Letters(&'static str),
    Path(&'static str),
}

fn look(platform: &str) -> (&'static str, Glyph) {
    use Glyph::{Letters, Path};
    match platform {
        "x" => ("#000000", Letters("X")),
        "bluesky" => (
            "#1185FE",
            Path(
                "M8 8c2.3 1.7 4.8 5.2 6 7 1.2-1.8 3.7-5.3 6-7 1.7-1.2 4-2 4 .8 0 .6-.3 4.6-.5 5.3-.7 2.3-3 2.9-5.2 2.6 3.7.6 4.6 2.7 2.6 4.8-3.9 3.9-5.6-1-6-2.3l-.9-2.4-.9 2.4c-.4 1.3-2.1 6.2-6 2.3-2-2.1-1.1-4.2 2.6-4.8-2.1.3-4.5-.3-5.2-2.6C4.3 13.4 4 9.4 4 8.8 4 6 6.3 6.8 8 8z",
            ),
        ),
        "linkedin" | "linkedin-page" => ("#0A66C2", Letters("in")),
        "facebook" => ("#0866FF", Letters("f")),
        "instagram" | "instagram-standalone" => (
            "#E4405F",
            Path(
                "M9 6h10a3 3 0 0 1 3 3v10a3 3 0 0 1-3 3H9a3 3 0 0 1-3-3V9a3 3 0 0 1 3-3zm5 4.2a3.8 3.8 0 1 0 0 7.6 3.8 3.8 0 0 0 0-7.6zm0 1.8a2 2 0 1 1 0 4 2 2 0 0 1 0-4zm4.3-3.3a1 1 0 1 0 0 2 1 1 0 0 0 0-2zM9 7.8A1.2 1.2 0 0 0 7.8 9v10A1.2 1.2 0 0 0 9 20.2h10a1.2 1.2 0 0 0 1.2-1.2V9A1.2 1.2 0 0 0 19 7.8z",
            ),
        ),
        "threads" => ("#000000", Letters("@")),
        "tiktok" => ("#010101", Letters("♪")),
        "youtube" => ("#FF0000", Path("M11 9.5v9l8-4.5z")),
        "pinterest" => ("#E60023", Letters("P")),
        "reddit" => ("#FF4500", Letters("r/")),
        "gmb" => ("#4285F4", Letters("G")),
        "vk" => ("#0077FF", Letters("VK")),
        "dribbble" => ("#EA4C89", Letters("Dr")),
        "mastodon" => ("#6364FF", Letters("M")),
        "misskey" => ("#86B300", Letters("Mi")),
        "pixelfed" => ("#E5306A", Letters("P")),
        "gotosocial" => ("#4D4D4D", Letters("GtS")),
        "akkoma" => ("#462E7E", Letters("A")),
        "lemmy" => ("#00BC8C", Letters("L")),
        "nostr" => ("#8E44AD", Letters("N")),
        "telegram" => (
            "#26A5E4",
            Path(
                "M6 13.6l14.5-5.6c.7-.3 1.3.2 1.1 1.2l-2.5 11.6c-.2.8-.7 1-1.4.6l-3.8-2.8-1.8 1.8c-.2.2-.4.4-.8.4l.3-3.9 7-6.3c.3-.3-.1-.4-.5-.2l-8.6 5.4-3.7-1.2c-.8-.2-.8-.8.2-1z",
            ),
        ),
        "discord" => ("#5865F2", Letters("D")),
        "slack" => ("#4A154B", Letters("#")),
        "matrix" => ("#000000", Letters("[m]")),
        "mattermost" => ("#1E325C", Letters("M")),
        "zulip" => ("#6492FE", Letters("Z")),
        "googlechat" => ("#00AC47", Letters("G")),
        "teams" => ("#5B5FC7", Letters("T")),
        "devto" => ("#0A0A0A", Letters("DEV")),
        "wordpress" => ("#21759B", Letters("W")),
        "tumblr" => ("#36465D", Letters("t")),
        "ghost" => ("#15171A", Letters("G")),
        "medium" => ("#000000", Letters("M")),
        "hashnode" => ("#2962FF", Letters("H")),
        "buttondown" => ("#0069FF", Letters("B")),
        "listmonk" => ("#0055D4", Letters("lm")),
        "farcaster" => ("#855DCD", Letters("F")),
        "webhook" => ("#6B7280", Letters("{ }")),
        "feed" => ("#F26522", Letters("RSS")),
        _ => ("#6B7280", Letters("?")),
    }
}

/// The platform's mark as inline SVG (decorative: the name is always
/// written next to it).
pub fn mark(platform: &str) -> String {
    let (colour, glyph) = look(platform);
    let inner = match glyph {
        Glyph::Path(d) => format!(r##"<path d="{d}" fill="#fff"/>"##),
        Glyph::Letters(text) => {
            let size = match text.chars().count() {
                1 => 15,
                2 => 12,
                _ => 9,
            };
            format!(
                r##"<text x="14" y="14" dy=".35em" text-anchor="middle" font-family="system-ui,-apple-system,Segoe UI,sans-serif" font-weight="700" font-size="{size}" fill="#fff">{}</text>"##,
                text.replace('&', "&amp;").replace('<', "&lt;")
            )
        }
    };
    format!(
        r##"<svg viewBox="0 0 28 28" width="28" height="28" aria-hidden="true" focusable="false"><rect width="28" height="28" rx="6" fill="{colour}"/>{inner}</svg>"##
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_platform_has_its_own_mark_and_a_group() {
        for rules in herald_core::platform::PLATFORMS {
            let svg = mark(rules.id);
            assert!(svg.starts_with("<svg") && !svg.contains("http"), "{}", rules.id);
            assert!(!svg.contains(">?</text>"), "{} has no mark of its own", rules.id);
        }
        assert_eq!(group("mastodon"), Group::Fediverse);
        assert_eq!(group("something-new"), Group::Other);
    }
}

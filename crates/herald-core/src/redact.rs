//! The one way Herald shows a URL it did not make up: webhook URLs carry
//! tokens in their path (Discord, Slack) or query (`?token=…`), bot tokens
//! sit in Telegram's paths, media URLs may be signed. Errors, logs, events
//! and stored messages show only where a request went — scheme, host, port
//! — never the path, query or user info.

/// `https://hooks.example.com/…` for `https://hooks.example.com/a/b?token=x`;
/// a URL with nothing after its host is shown whole.
pub fn url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(parsed) if parsed.has_host() => {
            let origin = parsed.origin().ascii_serialization();
            let bare = parsed.path() == "/" && parsed.query().is_none() && parsed.fragment().is_none();
            if bare && parsed.username().is_empty() && parsed.password().is_none() {
                origin
            } else {
                format!("{origin}/…")
            }
        }
        _ => "(a URL)".to_string(),
    }
}

const SCHEMES: &[&str] = &["https://", "http://", "wss://", "ws://"];

/// `text` with every http(s)/ws(s) URL in it shown as [`url`] shows it.
pub fn urls_in(text: &str) -> String {
    // Lower-cased once to find schemes in any case; ASCII lower-casing
    // keeps every byte offset, so positions carry over to `text`.
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(start) = SCHEMES.iter().filter_map(|scheme| lower[at..].find(scheme)).min().map(|i| at + i) {
        out.push_str(&text[at..start]);
        let candidate = &text[start..];
        let end = candidate
            .find(|c: char| {
                c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`' | '(' | ')' | '[' | ']' | '{' | '}')
            })
            .unwrap_or(candidate.len());
        // Sentence punctuation after a URL is not part of it.
        let trimmed = candidate[..end].trim_end_matches(['.', ',', ';', ':', '!', '?']);
        // A scheme named in prose (`a ws:// URL`) is no URL.
        let named_only = SCHEMES.iter().any(|scheme| trimmed.eq_ignore_ascii_case(scheme));
        out.push_str(&if named_only { trimmed.to_string() } else { url(trimmed) });
        at = start + trimmed.len();
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_show_only_where_they_lead() {
        assert_eq!(url("https://hooks.example.com/hook?token=s3cret"), "https://hooks.example.com/…");
        assert_eq!(url("https://discord.com/api/webhooks/1/tok-en"), "https://discord.com/…");
        assert_eq!(url("https://user:pw@example.com/"), "https://example.com/…");
        assert_eq!(url("http://127.0.0.1:8080/"), "http://127.0.0.1:8080");
        assert_eq!(url("wss://relay.example"), "wss://relay.example");
        assert_eq!(url("not a url"), "(a URL)");
    }

    #[test]
    fn every_url_in_a_text_is_redacted() {
        let text = "error sending request for url (https://api.telegram.org/bot123:ABC/sendMessage): \
                    connection refused. Also HTTPS://x.example/p?token=t, and wss://relay.example.";
        let shown = urls_in(text);
        assert_eq!(
            shown,
            "error sending request for url (https://api.telegram.org/…): connection refused. \
             Also https://x.example/…, and wss://relay.example."
        );
        for secret in ["123:ABC", "sendMessage", "token=t"] {
            assert!(!shown.contains(secret), "{secret}");
        }
        assert_eq!(urls_in("no URL here"), "no URL here");
        assert_eq!(urls_in("must be a ws:// or wss:// URL"), "must be a ws:// or wss:// URL");
    }
}

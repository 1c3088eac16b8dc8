//! `/feeds/{slug}.xml` (RSS 2.0) and `/feeds/{slug}.atom` (Atom 1.0): the
//! public documents of a `feed` channel, for feed readers, websites and
//! automation tools. No sign-in; cacheable (`ETag`, `Last-Modified`, a
//! `304` for a matching `If-None-Match`). Unknown, disabled and malformed
//! channels all answer the same 404.
//!
//! Written to the W3C Feed Validation Service's rules: RSS `channel` with
//! `title`, `link`, `description` and an `atom:link rel="self"`; items with
//! a permanent-or-not `guid`, an RFC 822 `pubDate` and at most one
//! `enclosure` (url, length, type) — further files are linked in the
//! description; Atom `feed` with `id`, `title`, `updated`, `author`, a self
//! link, and entries with `id`, `title`, `updated`, HTML `content` and
//! `link rel="enclosure"` per file.

use std::fmt::Write as _;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use herald_app::channels::{Enclosure, FeedDocument};

use crate::error::ApiError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/feeds/{file}", get(feed))
}

enum Format {
    Rss,
    Atom,
}

async fn feed(State(state): State<AppState>, Path(file): Path<String>, headers: HeaderMap) -> Response {
    let not_found = || ApiError::not_found("no such feed").into_response();
    let (slug, format) = match file.rsplit_once('.') {
        Some((slug, "xml" | "rss")) => (slug, Format::Rss),
        Some((slug, "atom")) => (slug, Format::Atom),
        _ => return not_found(),
    };
    let document = match state.app.public_feed(slug).await {
        Ok(Some(document)) => document,
        Ok(None) => return not_found(),
        Err(error) => return ApiError::from(error).into_response(),
    };
    let etag = document.etag();
    let cache = [
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, "public, max-age=300".to_string()),
        (header::LAST_MODIFIED, document.updated.format("%a, %d %b %Y %H:%M:%S GMT").to_string()),
    ];
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|wanted| wanted.split(',').any(|tag| tag.trim() == etag || tag.trim() == "*"));
    if matches {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    let (content_type, body) = match format {
        Format::Rss => ("application/rss+xml; charset=utf-8", rss(&document)),
        Format::Atom => ("application/atom+xml; charset=utf-8", atom(&document)),
    };
    let mut response = (cache, body).into_response();
    if let Ok(value) = header::HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

/// Text for XML element content and attribute values.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 does not allow at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// An enclosure's type: the stored one, or a neutral one for outside files.
fn mime(file: &Enclosure) -> &str {
    if file.mime.is_empty() { "application/octet-stream" } else { &file.mime }
}

/// The entry's HTML with the files RSS cannot enclose (all but the first) linked.
fn rss_description(html: &str, extra: &[Enclosure]) -> String {
    let mut out = html.to_string();
    for file in extra {
        let url = xml(&file.url);
        if file.mime.starts_with("image/") {
            let _ = write!(out, "\n<p><img src=\"{url}\" alt=\"\"></p>");
        } else {
            let _ = write!(out, "\n<p><a href=\"{url}\">{url}</a></p>");
        }
    }
    out
}

fn rss(document: &FeedDocument) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\">\n<channel>\n\
         <title>{}</title>\n<link>{}</link>\n<description>{}</description>\n\
         <atom:link href=\"{}\" rel=\"self\" type=\"application/rss+xml\"/>\n\
         <lastBuildDate>{}</lastBuildDate>\n<generator>Herald</generator>\n",
        xml(&document.title),
        xml(&document.site),
        xml(&document.description),
        xml(&document.rss_url()),
        document.updated.to_rfc2822(),
    );
    for item in &document.items {
        let _ = write!(out, "<item>\n<title>{}</title>\n", xml(&item.title));
        if let Some(link) = &item.link {
            let _ = writeln!(out, "<link>{}</link>", xml(link));
        }
        let _ = write!(
            out,
            "<guid isPermaLink=\"false\">urn:uuid:{}</guid>\n<pubDate>{}</pubDate>\n<description>{}</description>\n",
            item.id,
            item.published.to_rfc2822(),
            xml(&rss_description(&item.html, item.enclosures.get(1..).unwrap_or_default())),
        );
        if let Some(file) = item.enclosures.first() {
            let _ = writeln!(
                out,
                "<enclosure url=\"{}\" length=\"{}\" type=\"{}\"/>",
                xml(&file.url),
                file.size.max(0),
                xml(mime(file))
            );
        }
        out.push_str("</item>\n");
    }
    out.push_str("</channel>\n</rss>\n");
    out
}

fn atom(document: &FeedDocument) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n\
         <id>{}</id>\n<title>{}</title>\n<subtitle>{}</subtitle>\n<updated>{}</updated>\n\
         <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n\
         <author><name>{}</name></author>\n<generator>Herald</generator>\n",
        xml(&document.atom_url()),
        xml(&document.title),
        xml(&document.description),
        document.updated.to_rfc3339(),
        xml(&document.atom_url()),
        xml(&document.site),
        xml(&document.title),
    );
    for item in &document.items {
        let _ = write!(
            out,
            "<entry>\n<id>urn:uuid:{}</id>\n<title>{}</title>\n<published>{}</published>\n<updated>{}</updated>\n",
            item.id,
            xml(&item.title),
            item.published.to_rfc3339(),
            item.published.to_rfc3339(),
        );
        if let Some(link) = &item.link {
            let _ = writeln!(out, "<link rel=\"alternate\" href=\"{}\"/>", xml(link));
        }
        for file in &item.enclosures {
            let length = if file.size > 0 { format!(" length=\"{}\"", file.size) } else { String::new() };
            let _ = writeln!(
                out,
                "<link rel=\"enclosure\" type=\"{}\" href=\"{}\"{length}/>",
                xml(mime(file)),
                xml(&file.url)
            );
        }
        let _ = write!(out, "<content type=\"html\">{}</content>\n</entry>\n", xml(&item.html));
    }
    out.push_str("</feed>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_xml_and_control_characters_dropped() {
        assert_eq!(xml("a < b & \"c\" 'd' \u{1}e"), "a &lt; b &amp; &quot;c&quot; &apos;d&apos; e");
    }
}

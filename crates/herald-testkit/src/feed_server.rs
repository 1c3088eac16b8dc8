//! A website's RSS feed for tests: serves `/feed.xml` (RSS 2.0) and
//! `/feed.atom` (Atom) built from items the test sets and changes between
//! polls, honours `If-None-Match` with an ETag of the document, and can be
//! told to fail (an HTTP status, or a body that is not a feed).

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone)]
pub struct FeedEntry {
    pub guid: String,
    pub title: String,
    pub link: String,
    pub summary: String,
}

impl FeedEntry {
    /// An entry whose guid, link and title derive from `n`.
    pub fn numbered(n: u32) -> Self {
        Self {
            guid: format!("tag:blog.example,2027:{n}"),
            title: format!("Post number {n}"),
            link: format!("https://blog.example/posts/{n}"),
            summary: format!("<p>What post {n} is about &amp; more.</p>"),
        }
    }
}

#[derive(Default)]
struct Inner {
    /// Newest first, as feeds list them.
    entries: Vec<FeedEntry>,
    failing: Option<StatusCode>,
    garbage: bool,
    /// Changes the ETag without changing the items.
    salt: u32,
    requests: u32,
    not_modified: u32,
}

#[derive(Clone)]
pub struct FeedServer {
    inner: Arc<Mutex<Inner>>,
    base: String,
}

impl FeedServer {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let router =
            Router::new().route("/feed.xml", get(rss)).route("/feed.atom", get(atom)).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the feed server");
        let address = listener.local_addr().expect("an address");
        tokio::spawn(async move { axum::serve(listener, router).await.ok() });
        Self { inner, base: format!("http://{address}") }
    }

    /// The RSS 2.0 document's URL.
    pub fn url(&self) -> String {
        format!("{}/feed.xml", self.base)
    }

    pub fn atom_url(&self) -> String {
        format!("{}/feed.atom", self.base)
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().expect("feed server state"))
    }

    /// Replaces the items (newest first).
    pub fn set(&self, entries: Vec<FeedEntry>) {
        self.with(|inner| inner.entries = entries);
    }

    /// Publishes one more item on top.
    pub fn publish(&self, entry: FeedEntry) {
        self.with(|inner| inner.entries.insert(0, entry));
    }

    pub fn fail_with(&self, status: Option<u16>) {
        self.with(|inner| inner.failing = status.and_then(|s| StatusCode::from_u16(s).ok()));
    }

    pub fn serve_garbage(&self, garbage: bool) {
        self.with(|inner| inner.garbage = garbage);
    }

    /// A new ETag for the same items (a CMS that re-renders).
    pub fn touch(&self) {
        self.with(|inner| inner.salt += 1);
    }

    pub fn requests(&self) -> u32 {
        self.with(|inner| inner.requests)
    }

    /// Requests answered 304 because the client sent the current ETag.
    pub fn not_modified(&self) -> u32 {
        self.with(|inner| inner.not_modified)
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

async fn rss(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap) -> Response {
    serve(&inner, &headers, "application/rss+xml", |entries| {
        let items: String = entries
            .iter()
            .map(|e| {
                format!(
                    "<item><title>{}</title><link>{}</link><guid isPermaLink=\"false\">{}</guid><description>{}</description></item>",
                    escape(&e.title),
                    escape(&e.link),
                    escape(&e.guid),
                    escape(&e.summary)
                )
            })
            .collect();
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Blog</title><link>https://blog.example/</link><description>A blog</description>{items}</channel></rss>"
        )
    })
}

async fn atom(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap) -> Response {
    serve(&inner, &headers, "application/atom+xml", |entries| {
        let items: String = entries
            .iter()
            .map(|e| {
                format!(
                    "<entry><title>{}</title><id>{}</id><updated>2027-01-01T00:00:00Z</updated><link href=\"{}\"/><summary type=\"html\">{}</summary><author><name>Ada</name></author></entry>",
                    escape(&e.title),
                    escape(&e.guid),
                    escape(&e.link),
                    escape(&e.summary)
                )
            })
            .collect();
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Blog</title><id>urn:blog</id><updated>2027-01-01T00:00:00Z</updated>{items}</feed>"
        )
    })
}

fn serve(
    inner: &Mutex<Inner>,
    headers: &HeaderMap,
    content_type: &'static str,
    render: impl Fn(&[FeedEntry]) -> String,
) -> Response {
    let Ok(mut inner) = inner.lock() else { return StatusCode::INTERNAL_SERVER_ERROR.into_response() };
    inner.requests += 1;
    if let Some(status) = inner.failing {
        return (status, "the blog is down").into_response();
    }
    if inner.garbage {
        return ([(header::CONTENT_TYPE, "text/html")], "<html><body>Not a feed</body></html>").into_response();
    }
    let body = render(&inner.entries);
    let etag = format!("\"{}-{}\"", hex::encode(&Sha256::digest(body.as_bytes())[..8]), inner.salt);
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        inner.not_modified += 1;
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    ([(header::CONTENT_TYPE, content_type), (header::ETAG, etag.as_str())], body).into_response()
}

//! The one scaffold every platform fake stands on: each request recorded as
//! it arrived ([`Recorded`]), answers scripted in front of the platform
//! logic ([`Scripted`], queued in a [`Journal`]), and a server on
//! 127.0.0.1:0 that stops with its last handle ([`serve`]). Fakes with
//! routes of their own build an axum router and record through the journal;
//! fakes that are one function from request to answer use [`FakeServer`].

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::oneshot;

/// One request as a fake saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The path without the query.
    pub path: String,
    /// Decoded query parameters (the last value of a repeated one; see
    /// [`Recorded::query_values`] for all of them).
    pub query: BTreeMap<String, String>,
    /// The query string as sent, without `?`.
    pub raw_query: String,
    /// Lower-case names; repeated values joined with `, `.
    pub headers: BTreeMap<String, String>,
    pub body: Bytes,
    /// The body parsed as JSON (`Null` when it is not JSON).
    pub json: Value,
    /// The parts of a `multipart/form-data` body, in order.
    pub parts: Vec<FormPart>,
    /// The status the fake answered (0 until it has).
    pub status: u16,
}

impl Recorded {
    pub fn of(method: &Method, uri: &Uri, headers: &HeaderMap, body: Bytes) -> Self {
        let mut recorded_headers = BTreeMap::<String, String>::new();
        for (name, value) in headers {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            recorded_headers
                .entry(name.as_str().to_string())
                .and_modify(|existing| {
                    existing.push_str(", ");
                    existing.push_str(&value);
                })
                .or_insert(value);
        }
        let content_type = recorded_headers.get("content-type").cloned().unwrap_or_default();
        let parts = if content_type.starts_with("multipart/form-data") {
            parse_multipart(&content_type, &body).unwrap_or_default()
        } else {
            Vec::new()
        };
        let raw_query = uri.query().unwrap_or_default().to_string();
        let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
        Self {
            method: method.to_string(),
            path: uri.path().to_string(),
            query: url::form_urlencoded::parse(raw_query.as_bytes()).into_owned().collect(),
            raw_query,
            headers: recorded_headers,
            json,
            body,
            parts,
            status: 0,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or_default()
    }

    /// An `application/x-www-form-urlencoded` body, decoded.
    pub fn form(&self) -> BTreeMap<String, String> {
        url::form_urlencoded::parse(&self.body).into_owned().collect()
    }

    /// `Authorization: Basic …` as (user, password), each part form-decoded
    /// as OAuth clients encode them (RFC 6749 §2.3.1).
    pub fn basic_auth(&self) -> Option<(String, String)> {
        use base64::Engine as _;
        let encoded = self.header("authorization")?.strip_prefix("Basic ")?;
        let decoded = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(encoded).ok()?).ok()?;
        let (user, password) = decoded.split_once(':')?;
        let decode = |part: &str| {
            url::form_urlencoded::parse(format!("v={part}").as_bytes()).next().map(|(_, v)| v.into_owned())
        };
        Some((decode(user)?, decode(password)?))
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(&self) -> Option<&str> {
        self.header("authorization")?.strip_prefix("Bearer ")
    }

    /// Every value of a query parameter, decoded, in order.
    pub fn query_values(&self, name: &str) -> Vec<String> {
        url::form_urlencoded::parse(self.raw_query.as_bytes())
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
            .collect()
    }

    pub fn part(&self, name: &str) -> Option<&FormPart> {
        self.parts.iter().find(|p| p.name == name)
    }

    /// A text field of a multipart body.
    pub fn field(&self, name: &str) -> Option<String> {
        self.part(name).map(FormPart::text)
    }
}

/// Follows a fake platform's authorization URL as a user who approves:
/// the `Location` the platform redirects the browser to (Herald's callback).
pub async fn consent(authorize_url: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|error| panic!("a client: {error}"));
    let response = client.get(authorize_url).send().await.unwrap_or_else(|error| panic!("consent: {error}"));
    assert_eq!(response.status().as_u16(), 302, "the consent page did not redirect");
    let location = response.headers().get("location").and_then(|value| value.to_str().ok());
    location.unwrap_or_else(|| panic!("no Location")).to_string()
}

/// One part of a `multipart/form-data` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormPart {
    pub name: String,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub data: Bytes,
}

impl FormPart {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// Reads a `multipart/form-data` body (RFC 7578); `None` when malformed.
pub fn parse_multipart(content_type: &str, body: &[u8]) -> Option<Vec<FormPart>> {
    let boundary = content_type.split(';').find_map(|p| p.trim().strip_prefix("boundary="))?.trim_matches('"');
    let delimiter = format!("--{boundary}");
    let next_delimiter = format!("\r\n--{boundary}");
    let start = find(body, delimiter.as_bytes())?;
    let mut rest = &body[start + delimiter.len()..];
    let mut parts = Vec::new();
    while !rest.starts_with(b"--") {
        rest = rest.strip_prefix(b"\r\n")?;
        let end = find(rest, next_delimiter.as_bytes())?;
        let (part, after) = rest.split_at(end);
        rest = &after[next_delimiter.len()..];
        let header_end = find(part, b"\r\n\r\n")?;
        let headers = std::str::from_utf8(&part[..header_end]).ok()?;
        let mut form_part = FormPart {
            name: String::new(),
            file_name: None,
            content_type: None,
            data: Bytes::copy_from_slice(&part[header_end + 4..]),
        };
        for line in headers.split("\r\n") {
            let (name, value) = line.split_once(':')?;
            match name.trim().to_ascii_lowercase().as_str() {
                "content-disposition" => {
                    for param in value.split(';').skip(1) {
                        let (key, val) = param.trim().split_once('=')?;
                        let val = val.trim_matches('"').to_string();
                        match key {
                            "name" => form_part.name = val,
                            "filename" => form_part.file_name = Some(val),
                            _ => {}
                        }
                    }
                }
                "content-type" => form_part.content_type = Some(value.trim().to_string()),
                _ => {}
            }
        }
        parts.push(form_part);
    }
    Some(parts)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// An answer: what a scripted failure or the platform logic sends back.
/// Scripted answers wait in a [`Journal`] for the next request to their
/// endpoint ([`Scripted::at`]), or for the next request of all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scripted {
    /// `"POST /api/articles"` or `"/api/v1/statuses"` (any method); `None`
    /// for whatever request comes next.
    pub endpoint: Option<String>,
    pub status: u16,
    pub body: String,
    /// `None` sends no body at all, as some endpoints document.
    pub content_type: Option<&'static str>,
    pub headers: Vec<(String, String)>,
    /// How long the answer takes (a slow platform).
    pub delay: Option<std::time::Duration>,
}

impl Scripted {
    pub fn json(status: u16, body: impl std::borrow::Borrow<Value>) -> Self {
        let body = body.borrow().to_string();
        Self {
            endpoint: None,
            status,
            body,
            content_type: Some("application/json; charset=utf-8"),
            headers: Vec::new(),
            delay: None,
        }
    }

    pub fn text(status: u16, body: &str) -> Self {
        Self {
            endpoint: None,
            status,
            body: body.to_string(),
            content_type: Some("text/html"),
            headers: Vec::new(),
            delay: None,
        }
    }

    /// An answer without a body, e.g. Mastodon's `206 Partial Content`.
    pub fn empty(status: u16) -> Self {
        Self { endpoint: None, status, body: String::new(), content_type: None, headers: Vec::new(), delay: None }
    }

    /// A consent page's answer: 302 back to the client's `redirect` with
    /// `params` added to its query (encoded, after any query it has).
    pub fn redirect_back(redirect: &str, params: &[(&str, &str)]) -> Self {
        let separator = if redirect.contains('?') { '&' } else { '?' };
        let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
        Self::empty(302).with_header("location", &format!("{redirect}{separator}{query}"))
    }

    /// Waits for a request to `endpoint`: `"METHOD /path"` or `"/path"`.
    #[must_use]
    pub fn at(mut self, endpoint: &str) -> Self {
        self.endpoint = Some(endpoint.to_string());
        self
    }

    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// The answer comes after `delay`.
    #[must_use]
    pub fn after(mut self, delay: std::time::Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// `Retry-After: <seconds>`.
    #[must_use]
    pub fn retry_after(self, seconds: u64) -> Self {
        self.with_header("retry-after", &seconds.to_string())
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json_body(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        match self.endpoint.as_deref() {
            None => true,
            Some(endpoint) => match endpoint.split_once(' ') {
                Some((wanted_method, wanted_path)) => wanted_method == method && wanted_path == path,
                None => endpoint == path,
            },
        }
    }

    pub fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = match self.content_type {
            Some(content_type) => (status, [(header::CONTENT_TYPE, content_type)], self.body).into_response(),
            None => status.into_response(),
        };
        for (name, value) in self.headers {
            if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

/// The requests a fake saw and the answers scripted for the next ones.
#[derive(Default)]
pub struct Journal {
    state: Mutex<(Vec<Recorded>, VecDeque<Scripted>)>,
}

impl Journal {
    fn lock(&self) -> MutexGuard<'_, (Vec<Recorded>, VecDeque<Scripted>)> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn script(&self, reply: Scripted) {
        self.lock().1.push_back(reply);
    }

    /// The first scripted answer for this request, taken off the queue.
    pub fn next_for(&self, method: &str, path: &str) -> Option<Scripted> {
        let mut state = self.lock();
        let at = state.1.iter().position(|s| s.matches(method, path))?;
        state.1.remove(at)
    }

    pub fn record(&self, request: Recorded) {
        self.lock().0.push(request);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().0.clone()
    }

    /// The requests to one path, in order.
    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.lock().0.iter().filter(|r| r.path == path).cloned().collect()
    }
}

/// A fake running on 127.0.0.1:0 until the handle is dropped.
pub struct Running {
    pub address: SocketAddr,
    _shutdown: oneshot::Sender<()>,
}

impl Running {
    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }
}

pub async fn serve(router: Router) -> Running {
    let router = router.layer(DefaultBodyLimit::max(600 * 1024 * 1024));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a free port for a fake");
    let address = listener.local_addr().expect("fake local address");
    let (shutdown, on_shutdown) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = on_shutdown.await;
            })
            .await;
    });
    Running { address, _shutdown: shutdown }
}

type Logic = dyn Fn(&Recorded) -> Scripted + Send + Sync;

/// A fake that is one function from request to answer: every request is
/// recorded, and a scripted answer for it goes first (the logic then never
/// sees the request).
#[derive(Clone)]
pub struct FakeServer {
    journal: Arc<Journal>,
    running: Arc<Running>,
}

impl FakeServer {
    pub async fn start(logic: Box<Logic>) -> Self {
        let journal = Arc::new(Journal::default());
        let router = Router::new().fallback(handle).with_state((Arc::clone(&journal), Arc::<Logic>::from(logic)));
        Self { journal, running: Arc::new(serve(router).await) }
    }

    pub fn url(&self) -> String {
        self.running.url()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.journal.requests()
    }

    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.journal.requests_to(path)
    }

    pub fn script(&self, reply: Scripted) {
        self.journal.script(reply);
    }
}

async fn handle(
    State((journal, logic)): State<(Arc<Journal>, Arc<Logic>)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut recorded = Recorded::of(&method, &uri, &headers, body);
    let answer = journal.next_for(&recorded.method, &recorded.path).unwrap_or_else(|| logic(&recorded));
    recorded.status = answer.status;
    journal.record(recorded);
    if let Some(delay) = answer.delay {
        tokio::time::sleep(delay).await;
    }
    answer.into_response()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn multipart_bodies_are_read() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n-100\r\n--XyZ\r\n\
Content-Disposition: form-data; name=\"photo\"; filename=\"media-0.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x00\r\n--XyZ--\r\n";
        let parts = parse_multipart("multipart/form-data; boundary=XyZ", body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "chat_id");
        assert_eq!(parts[0].text(), "-100");
        assert_eq!(parts[1].file_name.as_deref(), Some("media-0.png"));
        assert_eq!(parts[1].content_type.as_deref(), Some("image/png"));
        assert_eq!(&parts[1].data[..], b"\x89PNG\r\n\x00");
        assert!(parse_multipart("multipart/form-data; boundary=XyZ", b"--XyZ\r\nbroken").is_none());
    }

    #[test]
    fn scripted_answers_wait_for_their_endpoint() {
        let journal = Journal::default();
        journal.script(Scripted::json(429, serde_json::json!({"error": "slow"})).retry_after(2).at("POST /a"));
        journal.script(Scripted::text(500, "boom").at("/b"));
        journal.script(Scripted::empty(503));
        assert_eq!(journal.next_for("GET", "/a").map(|s| s.status), Some(503), "an unaddressed answer takes any");
        assert!(journal.next_for("GET", "/a").is_none());
        let limited = journal.next_for("POST", "/a").unwrap();
        assert_eq!((limited.status, limited.json_body()["error"].clone()), (429, "slow".into()));
        assert_eq!(limited.headers, [("retry-after".to_string(), "2".to_string())]);
        assert_eq!(journal.next_for("DELETE", "/b").map(|s| s.status), Some(500));
        assert!(journal.next_for("POST", "/a").is_none());
    }
}

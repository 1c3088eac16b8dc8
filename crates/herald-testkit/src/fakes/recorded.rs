//! Plumbing the platform fakes share: a server on 127.0.0.1:0 whose one
//! handler records every request (method, path, query, headers, raw body)
//! before the platform logic answers, and a queue of scripted failures
//! (rate limits, outages) to put in front of an endpoint.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::oneshot;

/// One request as a fake saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// Lower-case names; repeated values joined with `, `.
    pub headers: BTreeMap<String, String>,
    pub body: Bytes,
    /// What the fake answered.
    pub status: u16,
}

impl Recorded {
    /// The body as JSON (`Null` if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    /// Every value of a query parameter, decoded.
    pub fn query_values(&self, name: &str) -> Vec<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
            .collect()
    }

    /// The parts of a `multipart/form-data` body.
    pub fn multipart(&self) -> Vec<Part> {
        multipart(self.header("content-type"), &self.body)
    }
}

/// Parses a `multipart/form-data` body (enough for the fakes: no nesting).
pub fn multipart(content_type: Option<&str>, body: &[u8]) -> Vec<Part> {
    let Some(boundary) = content_type
        .and_then(|ct| ct.split(';').find_map(|p| p.trim().strip_prefix("boundary=")))
        .map(|b| format!("--{}", b.trim_matches('"')))
    else {
        return Vec::new();
    };
    split(body, boundary.as_bytes())
        .into_iter()
        .filter_map(|chunk| {
            let chunk = chunk.strip_prefix(b"\r\n")?;
            let head_end = find(chunk, b"\r\n\r\n")?;
            let head = String::from_utf8_lossy(&chunk[..head_end]).to_string();
            let data = chunk[head_end + 4..].strip_suffix(b"\r\n").unwrap_or(&chunk[head_end + 4..]);
            let header = |wanted: &str| {
                head.lines().find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.trim().eq_ignore_ascii_case(wanted).then(|| value.trim().to_string())
                })
            };
            let disposition = header("content-disposition").unwrap_or_default();
            let param = |key: &str| {
                disposition.split(';').find_map(|p| {
                    p.trim().strip_prefix(&format!("{key}=\"")).map(|v| v.trim_end_matches('"').to_string())
                })
            };
            let content_type = header("content-type");
            Some(Part { name: param("name")?, file_name: param("filename"), content_type, data: data.to_vec() })
        })
        .collect()
}

/// One part of a multipart body.
#[derive(Debug, Clone)]
pub struct Part {
    pub name: String,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

impl Part {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// The chunks between boundaries (the preamble and the closing `--` dropped).
fn split<'a>(body: &'a [u8], boundary: &[u8]) -> Vec<&'a [u8]> {
    let mut chunks = Vec::new();
    let mut rest = body;
    while let Some(at) = find(rest, boundary) {
        chunks.push(&rest[..at]);
        rest = &rest[at + boundary.len()..];
    }
    chunks.into_iter().skip(1).collect()
}

/// A scripted answer for the next request to `path`, before the platform
/// logic runs (which then never sees the request).
#[derive(Debug, Clone)]
pub struct Scripted {
    pub path: String,
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(String, String)>,
}

/// An answer of the platform logic.
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(String, String)>,
    /// Send no body at all (`body` is ignored), as some endpoints document.
    pub empty: bool,
}

impl Answer {
    pub fn json(status: u16, body: Value) -> Self {
        Self { status, body, headers: Vec::new(), empty: false }
    }

    /// An answer without a body, e.g. Mastodon's `206 Partial Content`.
    pub fn empty(status: u16) -> Self {
        Self { status, body: Value::Null, headers: Vec::new(), empty: true }
    }
}

/// What the platform logic sees of a request.
pub struct Incoming<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a Bytes,
}

impl Incoming<'_> {
    pub fn bearer(&self) -> Option<&str> {
        self.headers.get("authorization")?.to_str().ok()?.strip_prefix("Bearer ")
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(self.body).unwrap_or(Value::Null)
    }

    pub fn query_value(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes()).find(|(key, _)| key == name).map(|(_, v)| v.into_owned())
    }

    pub fn query_values(&self, name: &str) -> Vec<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
            .collect()
    }

    pub fn multipart(&self) -> Vec<Part> {
        multipart(self.headers.get("content-type").and_then(|v| v.to_str().ok()), self.body)
    }
}

type Logic = dyn Fn(&Incoming<'_>) -> Answer + Send + Sync;

struct Shared {
    logic: Box<Logic>,
    log: Mutex<Log>,
}

#[derive(Default)]
struct Log {
    requests: Vec<Recorded>,
    scripted: VecDeque<Scripted>,
}

/// A running fake: recordings and the scripted queue. The server stops when
/// the last handle is dropped.
#[derive(Clone)]
pub struct FakeServer {
    shared: Arc<Shared>,
    address: SocketAddr,
    _shutdown: Arc<oneshot::Sender<()>>,
}

impl FakeServer {
    pub async fn start(logic: Box<Logic>) -> Self {
        let shared = Arc::new(Shared { logic, log: Mutex::new(Log::default()) });
        let router = Router::new().fallback(handle).layer(DefaultBodyLimit::disable()).with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a free port for a fake");
        let address = listener.local_addr().expect("fake's local address");
        let (shutdown, on_shutdown) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = on_shutdown.await;
                })
                .await;
        });
        Self { shared, address, _shutdown: Arc::new(shutdown) }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared.log).requests.clone()
    }

    /// The requests to one path, in order.
    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.requests().into_iter().filter(|r| r.path == path).collect()
    }

    pub fn script(&self, scripted: Scripted) {
        lock(&self.shared.log).scripted.push_back(scripted);
    }
}

fn lock(log: &Mutex<Log>) -> MutexGuard<'_, Log> {
    log.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or_default().to_string();
    let scripted = {
        let mut log = lock(&shared.log);
        let at = log.scripted.iter().position(|s| s.path == path);
        at.and_then(|at| log.scripted.remove(at))
    };
    let answer = match scripted {
        Some(s) => Answer { status: s.status, body: s.body, headers: s.headers, empty: false },
        None => {
            (shared.logic)(&Incoming { method: &method, path: &path, query: &query, headers: &headers, body: &body })
        }
    };
    let mut recorded_headers = BTreeMap::<String, String>::new();
    for (name, value) in &headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        recorded_headers
            .entry(name.as_str().to_string())
            .and_modify(|existing| {
                existing.push_str(", ");
                existing.push_str(&value);
            })
            .or_insert(value);
    }
    lock(&shared.log).requests.push(Recorded {
        method: method.to_string(),
        path,
        query,
        headers: recorded_headers,
        body,
        status: answer.status,
    });
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response =
        if answer.empty { status.into_response() } else { (status, axum::Json(answer.body)).into_response() };
    for (name, value) in answer.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

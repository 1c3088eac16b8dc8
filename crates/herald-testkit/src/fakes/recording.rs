//! What the chat fakes share: the recorded request, a small
//! `multipart/form-data` reader, scripted answers, and the server lifecycle.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::oneshot;

/// One request as a fake saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The path without the query.
    pub path: String,
    pub query: BTreeMap<String, String>,
    /// Lower-case names; repeated values joined with `, `.
    pub headers: BTreeMap<String, String>,
    pub body: Bytes,
    /// The body parsed as JSON (`Null` when it is not JSON).
    pub json: Value,
    /// The parts of a `multipart/form-data` body, in order.
    pub parts: Vec<FormPart>,
    /// The status the fake answered.
    pub status: u16,
}

impl Recorded {
    pub fn part(&self, name: &str) -> Option<&FormPart> {
        self.parts.iter().find(|p| p.name == name)
    }

    /// A text field of a multipart body.
    pub fn field(&self, name: &str) -> Option<String> {
        self.part(name).map(FormPart::text)
    }

    pub fn content_type(&self) -> &str {
        self.headers.get("content-type").map_or("", String::as_str)
    }
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

/// A scripted answer: status, body and extra headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scripted {
    pub status: u16,
    pub body: String,
    pub content_type: &'static str,
    pub headers: Vec<(String, String)>,
}

impl Scripted {
    pub fn json(status: u16, body: &Value) -> Self {
        Self { status, body: body.to_string(), content_type: "application/json", headers: Vec::new() }
    }

    pub fn text(status: u16, body: &str) -> Self {
        Self { status, body: body.to_string(), content_type: "text/html", headers: Vec::new() }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, [(axum::http::header::CONTENT_TYPE, self.content_type)], self.body).into_response();
        for (name, value) in self.headers {
            if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

/// Recorded requests and queued answers of one fake.
#[derive(Default)]
pub(crate) struct Journal {
    state: Mutex<(Vec<Recorded>, VecDeque<Scripted>)>,
}

impl Journal {
    fn lock(&self) -> MutexGuard<'_, (Vec<Recorded>, VecDeque<Scripted>)> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn push(&self, reply: Scripted) {
        self.lock().1.push_back(reply);
    }

    pub(crate) fn next_scripted(&self) -> Option<Scripted> {
        self.lock().1.pop_front()
    }

    pub(crate) fn record(&self, request: Recorded) {
        self.lock().0.push(request);
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.lock().0.clone()
    }
}

/// Builds the record of a request (status filled in by the caller).
pub(crate) fn record(method: &Method, uri: &Uri, headers: &HeaderMap, body: Bytes) -> Recorded {
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
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let parts = if content_type.starts_with("multipart/form-data") {
        parse_multipart(&content_type, &body).unwrap_or_default()
    } else {
        Vec::new()
    };
    let query =
        uri.query().map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
    Recorded {
        method: method.to_string(),
        path: uri.path().to_string(),
        query,
        headers: recorded_headers,
        body,
        json,
        parts,
        status: 0,
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

/// A fake running on 127.0.0.1:0 until the handle is dropped.
pub(crate) struct Running {
    pub(crate) address: SocketAddr,
    _shutdown: oneshot::Sender<()>,
}

pub(crate) async fn serve(router: Router) -> Running {
    let router = router.layer(DefaultBodyLimit::max(200 * 1024 * 1024));
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
}

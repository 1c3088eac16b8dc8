//! The floor of `bench/api.sh`: an axum server that answers each request
//! of the benchmark's mix with the very bytes Herald answered it with,
//! read once at start. Whatever Herald takes beyond this server's
//! latency at the same rate is Herald's own work: HTTP, routing and
//! response bodies cost the same here.
//!
//! Usage: herald-api-floor PORT MANIFEST
//! MANIFEST has one line per route: `METHOD PATH-AND-QUERY STATUS CONTENT-TYPE FILE`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

struct Answer {
    status: StatusCode,
    content_type: String,
    body: Bytes,
}

type Answers = Arc<HashMap<(Method, String), Answer>>;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, port, manifest] = args.as_slice() else {
        return Err("usage: herald-api-floor PORT MANIFEST".into());
    };
    let mut answers = HashMap::new();
    for line in std::fs::read_to_string(manifest)?.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [method, path, status, content_type, file] = fields.as_slice() else {
            return Err(format!("bad manifest line: {line}").into());
        };
        let answer = Answer {
            status: StatusCode::from_u16(status.parse()?)?,
            content_type: (*content_type).to_string(),
            body: Bytes::from(std::fs::read(file)?),
        };
        answers.insert((Method::from_bytes(method.as_bytes())?, (*path).to_string()), answer);
    }
    let app = axum::Router::new().fallback(answer).with_state(Arc::new(answers));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port.parse::<u16>()?)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

async fn answer(State(answers): State<Answers>, request: Request) -> Response {
    let key = (request.method().clone(), request.uri().path_and_query().map_or("/", |p| p.as_str()).to_string());
    // The request body is read as Herald reads it.
    let _ = axum::body::to_bytes(request.into_body(), 1 << 20).await;
    match answers.get(&key) {
        Some(a) => (a.status, [(header::CONTENT_TYPE, a.content_type.clone())], Body::from(a.body.clone())).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

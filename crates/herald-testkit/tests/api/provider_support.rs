//! Helpers of the provider tests: calling a provider directly (with media
//! attachments), and capturing every log line the process writes.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use herald_providers::{Attachment, ProviderSettings, PublishRequest, PublishedItem, Registry};
use serde_json::Value;
use uuid::Uuid;

/// The registry the server would build, pointed at fakes.
pub fn registry(api_base: &[(&str, String)]) -> Registry {
    Registry::new(&ProviderSettings {
        allow_private_targets: true,
        request_timeout: std::time::Duration::from_secs(3),
        api_base: api_base.iter().map(|(id, base)| ((*id).to_string(), base.clone())).collect(),
    })
}

pub fn attachment(mime: &str, bytes: &'static [u8], alt: Option<&str>) -> Attachment {
    Attachment {
        url: format!("https://herald.example/uploads/{}", Uuid::new_v4()),
        mime: mime.into(),
        alt_text: alt.map(str::to_string),
        data: axum::body::Bytes::from_static(bytes),
    }
}

/// One item of a post, as the engine would hand it over.
pub fn request(credentials: Value, content: &str, media: Vec<Attachment>, reply_to: Option<&str>) -> PublishRequest {
    let target_id = Uuid::new_v4();
    let previous = reply_to.map(|id| PublishedItem { id: id.into(), url: None });
    PublishRequest {
        target_id,
        post_id: Uuid::new_v4(),
        integration_id: Uuid::new_v4(),
        integration_name: "test".into(),
        credentials,
        settings: serde_json::json!({}),
        item_index: usize::from(reply_to.is_some()),
        item_count: 1 + usize::from(reply_to.is_some()),
        content: content.into(),
        media_urls: media.iter().map(|m| m.url.clone()).collect(),
        media,
        tags: Vec::new(),
        scheduled_for: None,
        root: previous.clone(),
        reply_to: previous,
        idempotency_key: format!("{target_id}-0"),
    }
}

#[derive(Clone, Default)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs (once per process) a subscriber writing every event, down to
/// TRACE for Herald, reqwest and hyper, into a buffer a test can search.
pub fn capture_logs() -> LogBuffer {
    static LOGS: OnceLock<LogBuffer> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = LogBuffer::default();
        let writer = buffer.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "trace,sqlx=warn,sea_orm=warn,h2=warn,tokio=warn,runtime=warn",
            ))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .try_init();
        buffer
    })
    .clone()
}

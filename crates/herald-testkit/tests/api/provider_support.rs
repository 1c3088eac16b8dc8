//! Helpers of the provider tests: calling a provider directly, with media
//! attachments.

use herald_providers::{Attachment, ProviderSettings, PublishRequest, PublishedItem, Registry};
use serde_json::Value;
use uuid::Uuid;

/// The registry the server would build, pointed at fakes.
pub fn registry(api_base: &[(&str, String)]) -> Registry {
    Registry::new(&ProviderSettings {
        allow_private_targets: true,
        request_timeout: std::time::Duration::from_secs(3),
        api_base: api_base.iter().map(|(id, base)| ((*id).to_string(), base.clone())).collect(),
        ..ProviderSettings::default()
    })
}

pub fn attachment(mime: &str, bytes: &'static [u8], alt: Option<&str>) -> Attachment {
    Attachment {
        url: format!("https://herald.example/uploads/{}", Uuid::new_v4()),
        mime: mime.into(),
        alt_text: alt.map(str::to_string),
        ..Attachment::loaded(axum::body::Bytes::from_static(bytes))
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
        pending: None,
        interrupted: false,
    }
}

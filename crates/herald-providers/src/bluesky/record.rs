//! What one Bluesky post is: its `app.bsky.feed.post` record (text,
//! languages, facets, images, the reply's root and parent), the per-post
//! settings, and the limits its images must meet before anything uploads.

use chrono::Utc;
use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{MAX_IMAGE_BYTES, MAX_IMAGES};
use crate::declared;
use crate::{Attachment, ProviderError, PublishRequest, PublishedItem};

/// A record reference from a published item's id (`<at-uri>|<cid>`).
pub(super) fn strong_ref(item: &PublishedItem) -> Result<Value, ProviderError> {
    match item.id.split_once('|') {
        Some((uri, cid)) if uri.starts_with("at://") && !cid.is_empty() => Ok(json!({ "uri": uri, "cid": cid })),
        _ => Err(ProviderError::invalid(format!("`{}` is not a Bluesky post reference", item.id))),
    }
}

/// `at://did/app.bsky.feed.post/<rkey>` → its web address.
pub(super) fn post_url(handle: &str, uri: &str) -> Option<String> {
    let rkey = uri.rsplit('/').next().filter(|k| !k.is_empty())?;
    Some(format!("https://bsky.app/profile/{handle}/post/{rkey}"))
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(default, deny_unknown_fields)]
pub(super) struct Settings {
    /// Languages of the post (BCP-47 tags such as en, pt-BR).
    #[garde(custom(language_tags))]
    #[schemars(length(max = 3))]
    pub(super) langs: Vec<String>,
}

fn language_tags(langs: &[String], _: &()) -> garde::Result {
    if langs.len() > 3 {
        return Err(garde::Error::new("takes at most 3 languages"));
    }
    match langs.iter().find(|tag| !is_language_tag(tag)) {
        Some(bad) => Err(garde::Error::new(format!("{bad:?} is not a language tag such as `en` or `pt-BR`"))),
        None => Ok(()),
    }
}

fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    parts.next().is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()))
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

pub(super) fn settings(value: &Value) -> Result<Settings, String> {
    declared::read("Bluesky", value)
}

/// Refuses media Bluesky would refuse, before anything is uploaded.
pub(super) fn check_media(media: &[Attachment]) -> Result<(), ProviderError> {
    if media.len() > MAX_IMAGES {
        return Err(ProviderError::invalid(format!("Bluesky takes at most {MAX_IMAGES} images per post")));
    }
    for file in media {
        if !file.is_image() {
            return Err(ProviderError::invalid(format!(
                "Herald can only attach images to Bluesky posts, not {}",
                file.mime
            )));
        }
        if file.size > MAX_IMAGE_BYTES as u64 {
            return Err(ProviderError::invalid(format!(
                "Bluesky takes images of at most {MAX_IMAGE_BYTES} bytes; this one has {}",
                file.size
            )));
        }
    }
    Ok(())
}

/// The `app.bsky.feed.post` record.
pub(super) fn post_record(
    request: &PublishRequest,
    langs: &[String],
    facets: Vec<Value>,
    images: Vec<Value>,
) -> Result<Value, ProviderError> {
    let mut record = json!({
        "$type": "app.bsky.feed.post",
        "text": request.content,
        "createdAt": Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
    });
    if !langs.is_empty() {
        record["langs"] = json!(langs);
    }
    if !facets.is_empty() {
        record["facets"] = json!(facets);
    }
    if !images.is_empty() {
        record["embed"] = json!({ "$type": "app.bsky.embed.images", "images": images });
    }
    if let Some(parent) = &request.reply_to {
        let root = request.root.as_ref().unwrap_or(parent);
        record["reply"] = json!({ "root": strong_ref(root)?, "parent": strong_ref(parent)? });
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Declaration, ErrorClass};
    use uuid::Uuid;

    fn request(content: &str) -> PublishRequest {
        PublishRequest {
            target_id: Uuid::nil(),
            post_id: Uuid::nil(),
            integration_id: Uuid::nil(),
            integration_name: "b".into(),
            credentials: Value::Null,
            settings: Value::Null,
            item_index: 0,
            item_count: 1,
            content: content.into(),
            media_urls: Vec::new(),
            media: Vec::new(),
            tags: Vec::new(),
            scheduled_for: None,
            root: None,
            reply_to: None,
            idempotency_key: "k".into(),
            pending: None,
            interrupted: false,
        }
    }

    fn image(bytes: usize, mime: &str) -> Attachment {
        Attachment {
            url: "https://x/y".into(),
            mime: mime.into(),
            alt_text: None,
            ..crate::Attachment::loaded(vec![0u8; bytes])
        }
    }

    #[test]
    fn replies_name_root_and_parent_by_uri_and_cid() {
        let mut reply = request("third");
        reply.root = Some(PublishedItem { id: "at://did:plc:a/app.bsky.feed.post/1|cid1".into(), url: None });
        reply.reply_to = Some(PublishedItem { id: "at://did:plc:a/app.bsky.feed.post/2|cid2".into(), url: None });
        let record = post_record(&reply, &["en".into()], Vec::new(), Vec::new()).unwrap();
        assert_eq!(record["reply"]["root"], json!({"uri": "at://did:plc:a/app.bsky.feed.post/1", "cid": "cid1"}));
        assert_eq!(record["reply"]["parent"], json!({"uri": "at://did:plc:a/app.bsky.feed.post/2", "cid": "cid2"}));
        assert_eq!(record["langs"], json!(["en"]));
        assert!(record.get("facets").is_none() && record.get("embed").is_none());
        let created = record["createdAt"].as_str().unwrap();
        assert!(created.ends_with('Z') && created.len() == 24, "{created}");

        reply.reply_to = Some(PublishedItem { id: "12345".into(), url: None });
        assert_eq!(post_record(&reply, &[], Vec::new(), Vec::new()).unwrap_err().class, ErrorClass::Invalid);
    }

    #[test]
    fn urls_and_settings() {
        assert_eq!(
            post_url("alice.test", "at://did:plc:a/app.bsky.feed.post/3kabc").as_deref(),
            Some("https://bsky.app/profile/alice.test/post/3kabc")
        );
        assert!(settings(&json!({"langs": ["en", "pt-BR"]})).is_ok());
        assert!(settings(&json!({"langs": ["english"]})).is_err());
        assert!(settings(&json!({"langs": ["en", "fr", "de", "it"]})).is_err());
        assert!(settings(&json!({"visibility": "public"})).is_err());
        let declared = Declaration::of::<Settings>("Bluesky");
        assert_eq!(declared.problems(&json!({"langs": "en"}))[0].0, "langs");
        assert_eq!(declared.schema()["properties"]["langs"]["maxItems"], 3);
    }

    #[test]
    fn media_is_checked_before_uploading() {
        assert!(check_media(&[image(1_000_000, "image/png")]).is_ok());
        let large = check_media(&[image(1_000_001, "image/jpeg")]).unwrap_err();
        assert_eq!(large.class, ErrorClass::Invalid);
        assert!(large.message.contains("1000001"));
        assert!(check_media(&[image(10, "video/mp4")]).is_err());
        assert!(check_media(&vec![image(10, "image/png"); 5]).is_err());
    }
}

//! Sending one item: a text message, one file with its caption, or albums
//! of 2–10 files (and the GIFs albums cannot hold), each a Bot API call.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use super::bot_api::{Answer, Message, Params, chat_id_json, classify, message, reply_parameters};
use super::{Credentials, MAX_CAPTION, Settings, Telegram};
use crate::http::excerpt;
use crate::{Attachment, ErrorClass, ProviderError};

impl Telegram {
    /// Calls one Bot API method and returns its `result`.
    pub(super) async fn call(&self, token: &str, method: &str, params: Params) -> Result<Value, ProviderError> {
        let url = format!("{}/bot{token}/{method}", self.api);
        let request = match params {
            Params::Query(query) => {
                let mut url = url::Url::parse(&url).map_err(|_| ProviderError::invalid("bad Telegram API base URL"))?;
                url.query_pairs_mut().extend_pairs(query);
                self.client.inner().get(url)
            }
            Params::Json(body) => self.client.inner().post(url).json(&body),
            Params::Multipart(form) => self.client.inner().post(url).multipart(form),
        };
        let scrub = |mut error: ProviderError| {
            error.message = error.message.replace(token, "<bot token>");
            error
        };
        let response = self.client.send(request).await.map_err(scrub)?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let answer: Answer = serde_json::from_str(&text).unwrap_or_else(|_| Answer {
            description: Some(format!("unexpected answer (HTTP {status}): {}", excerpt(&text))),
            ..Answer::default()
        });
        if answer.ok && (200..300).contains(&status) {
            return Ok(answer.result);
        }
        Err(scrub(classify(status, &answer)))
    }

    pub(super) async fn send_text(
        &self,
        creds: &Credentials,
        settings: &Settings,
        text: &str,
        reply_to: Option<i64>,
    ) -> Result<Message, ProviderError> {
        let mut body = json!({ "chat_id": chat_id_json(&creds.chat_id), "text": text });
        if let Some(topic) = settings.message_thread_id {
            body["message_thread_id"] = json!(topic);
        }
        if let Some(mode) = settings.parse_mode() {
            body["parse_mode"] = json!(mode);
        }
        if settings.disable_link_preview {
            body["link_preview_options"] = json!({ "is_disabled": true });
        }
        if settings.disable_notification {
            body["disable_notification"] = json!(true);
        }
        if let Some(id) = reply_to {
            body["reply_parameters"] = reply_parameters(id);
        }
        message(self.call(&creds.bot_token, "sendMessage", Params::Json(body)).await?)
    }

    /// One file, with the caption if any.
    pub(super) async fn send_one(
        &self,
        creds: &Credentials,
        settings: &Settings,
        file: &Attachment,
        caption: Option<&str>,
        reply_to: Option<i64>,
    ) -> Result<Message, ProviderError> {
        let (method, field) = single_method(file);
        let mut form = common_form(creds, settings, caption, reply_to);
        form = form.part(field, file_part(file, 0)?);
        message(self.call(&creds.bot_token, method, Params::Multipart(form)).await?)
    }

    /// An album of 2–10 files, the caption on the first; answers the first message.
    pub(super) async fn send_group(
        &self,
        creds: &Credentials,
        settings: &Settings,
        files: &[&Attachment],
        caption: Option<&str>,
        reply_to: Option<i64>,
    ) -> Result<Message, ProviderError> {
        let media = media_group_json(files, caption, settings.parse_mode());
        let mut form = common_form(creds, settings, None, reply_to).text("media", media.to_string());
        for (index, file) in files.iter().enumerate() {
            form = form.part(format!("file{index}"), file_part(file, index)?);
        }
        let result = self.call(&creds.bot_token, "sendMediaGroup", Params::Multipart(form)).await?;
        let first = result.as_array().and_then(|messages| messages.first()).cloned().unwrap_or(Value::Null);
        message(first)
    }

    /// Every file of an item, in [`batches`]; all reply to the same message,
    /// the caption goes on the first send. Answers the first message.
    pub(super) async fn send_files(
        &self,
        creds: &Credentials,
        settings: &Settings,
        files: &[Attachment],
        caption: Option<&str>,
        reply_to: Option<i64>,
    ) -> Result<Message, ProviderError> {
        let mut first: Option<Message> = None;
        for batch in batches(files) {
            let caption = if first.is_none() { caption } else { None };
            let sent = match batch.as_slice() {
                [file] => self.send_one(creds, settings, file, caption, reply_to).await?,
                files => self.send_group(creds, settings, files, caption, reply_to).await?,
            };
            first.get_or_insert(sent);
        }
        first.ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Telegram: no file was sent"))
    }
}

/// Which files may share a `sendMediaGroup` album: photos and videos
/// together, documents only with documents; GIFs with nothing (albums take
/// no animations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AlbumKind {
    Visual,
    Animation,
    Document,
}

fn album_kind(file: &Attachment) -> AlbumKind {
    if file.mime == "image/gif" {
        AlbumKind::Animation
    } else if file.is_image() || file.is_video() {
        AlbumKind::Visual
    } else {
        AlbumKind::Document
    }
}

/// The sends of a multi-file item: one album per kind that may be grouped,
/// one message per GIF, in the order their first file comes.
fn batches(files: &[Attachment]) -> Vec<Vec<&Attachment>> {
    let mut batches: Vec<(AlbumKind, Vec<&Attachment>)> = Vec::new();
    for file in files {
        let kind = album_kind(file);
        match batches.iter_mut().find(|(k, _)| *k == kind && kind != AlbumKind::Animation) {
            Some((_, batch)) => batch.push(file),
            None => batches.push((kind, vec![file])),
        }
    }
    batches.into_iter().map(|(_, batch)| batch).collect()
}

/// Method and file field for a single file, by type.
fn single_method(file: &Attachment) -> (&'static str, &'static str) {
    if file.mime == "image/gif" {
        ("sendAnimation", "animation")
    } else if file.is_video() {
        ("sendVideo", "video")
    } else if file.is_image() {
        ("sendPhoto", "photo")
    } else {
        ("sendDocument", "document")
    }
}

/// The `media` array of `sendMediaGroup` (files of one [`AlbumKind`], see [`batches`]).
fn media_group_json(files: &[&Attachment], caption: Option<&str>, parse_mode: Option<&str>) -> Value {
    let items: Vec<Value> = files
        .iter()
        .enumerate()
        .map(|(index, file)| {
            let kind = match album_kind(file) {
                AlbumKind::Visual if file.is_video() => "video",
                AlbumKind::Visual => "photo",
                AlbumKind::Animation | AlbumKind::Document => "document",
            };
            let mut item = json!({ "type": kind, "media": format!("attach://file{index}") });
            if let (0, Some(caption)) = (index, caption) {
                item["caption"] = json!(caption);
                if let Some(mode) = parse_mode {
                    item["parse_mode"] = json!(mode);
                }
            }
            item
        })
        .collect();
    Value::Array(items)
}

/// Fields every multipart send shares (multipart values are strings; objects are JSON).
fn common_form(creds: &Credentials, settings: &Settings, caption: Option<&str>, reply_to: Option<i64>) -> Form {
    let mut form = Form::new().text("chat_id", creds.chat_id.clone());
    if let Some(topic) = settings.message_thread_id {
        form = form.text("message_thread_id", topic.to_string());
    }
    if let Some(caption) = caption {
        form = form.text("caption", caption.to_string());
        if let Some(mode) = settings.parse_mode() {
            form = form.text("parse_mode", mode.to_string());
        }
    }
    if settings.disable_notification {
        form = form.text("disable_notification", "true");
    }
    if let Some(id) = reply_to {
        form = form.text("reply_parameters", reply_parameters(id).to_string());
    }
    form
}

fn file_part(file: &Attachment, index: usize) -> Result<Part, ProviderError> {
    file.part()
        .file_name(file.file_name(index))
        .mime_str(&file.mime)
        .map_err(|_| ProviderError::invalid(format!("`{}` is not a media type Telegram can take", file.mime)))
}

pub(super) fn fits_caption(text: &str) -> bool {
    text.encode_utf16().count() <= MAX_CAPTION
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captions_count_utf16_units_and_albums_attach_their_files() {
        assert!(fits_caption(&"a".repeat(1024)));
        assert!(!fits_caption(&"a".repeat(1025)));
        // An emoji outside the BMP is two UTF-16 units.
        assert!(!fits_caption(&"😀".repeat(513)));
        let file = |mime: &str| Attachment {
            url: "https://example.com/f".into(),
            mime: mime.into(),
            alt_text: None,
            ..crate::Attachment::loaded(bytes::Bytes::from_static(b"x"))
        };
        let media = media_group_json(&[&file("image/png"), &file("video/mp4")], Some("hello"), Some("HTML"));
        assert_eq!(
            media,
            json!([
                {"type": "photo", "media": "attach://file0", "caption": "hello", "parse_mode": "HTML"},
                {"type": "video", "media": "attach://file1"}
            ])
        );
        assert_eq!(single_method(&file("image/gif")), ("sendAnimation", "animation"));
        let mixed =
            [file("image/gif"), file("image/png"), file("application/pdf"), file("video/mp4"), file("image/gif")];
        let kinds: Vec<Vec<&str>> =
            batches(&mixed).iter().map(|batch| batch.iter().map(|f| f.mime.as_str()).collect()).collect();
        assert_eq!(
            kinds,
            [vec!["image/gif"], vec!["image/png", "video/mp4"], vec!["application/pdf"], vec!["image/gif"]],
            "GIFs alone, photos with videos, documents apart, in order of first appearance"
        );
        assert_eq!(single_method(&file("video/mp4")), ("sendVideo", "video"));
        assert_eq!(single_method(&file("image/jpeg")), ("sendPhoto", "photo"));
    }
}

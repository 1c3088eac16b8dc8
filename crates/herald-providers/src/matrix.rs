//! `matrix`: messages to a Matrix room through the client-server API
//! (<https://spec.matrix.org/v1.12/client-server-api/>), on any homeserver.
//!
//! Connecting takes an access token, or a user and password that log in
//! once (`POST /_matrix/client/v3/login`; only the token is kept). The
//! homeserver's client address is discovered from
//! `/.well-known/matrix/client` (so `matrix.org` works), the room is given
//! by id (`!…`) or alias (`#…`, resolved through the room directory), and
//! the account joins it when it has not yet.
//!
//! Each event goes out with `PUT …/send/m.room.message/{txnId}`, the txnId
//! derived from the item: the homeserver answers a repeated transaction
//! with the first event instead of sending a second, so a delivery that
//! lost its answer is resent safely. Text goes as `body` and, where the
//! Markdown formats anything, as HTML (`formatted_body`, raw HTML escaped).
//! Files are uploaded (`POST /_matrix/media/v3/upload`) and sent as
//! `m.image`/`m.video`/`m.file` events after the text. Thread items go into
//! a thread on the first item (`m.thread`, replying to the item before
//! them). Links are `https://matrix.to/#/{room}/{event}`.

use std::fmt::Write as _;

use async_trait::async_trait;
use chrono::Utc;
use garde::Validate;
use herald_core::platform::PlatformRules;
use reqwest::StatusCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::declared::{self, Declaration};
use crate::http::{classify_status, excerpt, retry_after};
use crate::net::{TargetGuard, server_base};
use crate::{
    Attachment, ConnectedAccount, ErrorClass, HttpClient, Metrics, Provider, ProviderError, PublishRequest,
    PublishedItem, Recovery,
};

/// Uploads of large files get longer than the client's usual timeout.
const UPLOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(45);
/// Rooms the `getRooms` tool names at most.
const MAX_LISTED_ROOMS: usize = 50;

pub struct Matrix {
    client: HttpClient,
    guard: TargetGuard,
}

impl Matrix {
    pub fn new(client: HttpClient, allow_private_targets: bool) -> Self {
        Self { client, guard: TargetGuard::new(allow_private_targets) }
    }
}

/// What connecting asks for (and what is stored: never the password).
#[derive(Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Credentials {
    /// Your homeserver, e.g. https://matrix.org
    #[schemars(title = "Homeserver")]
    homeserver_url: String,
    /// The room to post in: its id (!abc:example.org) or an alias (#news:example.org).
    #[schemars(title = "Room")]
    room: String,
    /// An access token of the account (in Element: Settings → Help & About →
    /// Access token). Or leave it empty and give the user and password.
    #[schemars(title = "Access token", extend("writeOnly" = true))]
    access_token: Option<String>,
    /// The account to log in as (@herald:example.org or herald), when no token is given.
    #[schemars(title = "User")]
    user: Option<String>,
    /// Used once to log in; only the session's token is kept.
    #[schemars(title = "Password", extend("writeOnly" = true))]
    password: Option<String>,
    /// The room's id, learnt when connecting.
    #[serde(default)]
    #[schemars(skip)]
    room_id: Option<String>,
}

fn credentials(value: &Value) -> Result<Credentials, ProviderError> {
    serde_json::from_value(value.clone()).map_err(|_| {
        ProviderError::invalid(
            "Matrix credentials need `homeserverUrl`, `room` and `accessToken` (or `user` and `password`)",
        )
    })
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Settings {
    /// Post in this room instead (one the account has joined: the composer
    /// lists them), by its id.
    #[garde(pattern(r"^![^:\s]+:\S+$"))]
    room_id: Option<String>,
    /// Send as a notice (`m.notice`), as bots do: clients show it quieter.
    notice: bool,
    /// Send the text as written, without reading it as Markdown.
    plain_text: bool,
}

/// The spec's error body: `{"errcode": "M_…", "error": "…", "retry_after_ms": …}`.
fn classify(status: StatusCode, wait: Option<std::time::Duration>, body: &str) -> ProviderError {
    let value: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let code = value["errcode"].as_str().unwrap_or_default();
    let said = value["error"].as_str().map_or_else(|| excerpt(body), str::to_string);
    let shown = if code.is_empty() {
        format!("Matrix answered {}: {said}", status.as_u16())
    } else {
        format!("Matrix answered {} {code}: {said}", status.as_u16())
    };
    let wait = wait.or_else(|| value["retry_after_ms"].as_u64().map(std::time::Duration::from_millis));
    match (status.as_u16(), code) {
        (_, "M_LIMIT_EXCEEDED") => ProviderError::new(ErrorClass::Retryable { after: wait }, shown),
        (401, _) | (_, "M_UNKNOWN_TOKEN" | "M_MISSING_TOKEN" | "M_USER_DEACTIVATED") => ProviderError::new(
            ErrorClass::Revoked,
            format!("{shown} — the session was logged out or the token is wrong; reconnect"),
        ),
        (403, _) | (_, "M_FORBIDDEN") => ProviderError::new(
            ErrorClass::Revoked,
            format!("{shown} — the account may no longer post in this room; reconnect"),
        ),
        (_, "M_TOO_LARGE") => ProviderError::invalid(shown),
        _ => ProviderError::new(classify_status(status, wait), shown),
    }
}

/// The HTML of `text` read as Markdown, or `None` when it formats nothing
/// (a plain paragraph). Raw HTML in the text is shown, not interpreted.
fn formatted(text: &str) -> Option<String> {
    let rendered = crate::article::markdown_html(text);
    let plain = format!("<p>{}</p>", escape_html(text.trim()).replace('\n', "<br />\n"));
    (rendered != plain && !rendered.is_empty()).then_some(rendered)
}

/// Escapes as the Markdown renderer does (`&<>"`, not `'`), so that a
/// plain paragraph renders to exactly this and is known to format nothing.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            other => out.push(other),
        }
    }
    out
}

/// A path segment: room ids, aliases and event ids carry `!`, `#`, `:` and `$`.
fn segment(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.as_bytes()).collect::<String>().replace('+', "%20")
}

/// A transaction id from the item's idempotency key (unique per token).
fn txn_id(key: &str, part: &str) -> String {
    let mut id = String::from("herald-");
    for c in key.chars().chain(part.chars()) {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            id.push(c);
        } else {
            let _ = write!(id, "_{:x}", u32::from(c));
        }
    }
    id
}

/// Where a thread item's events attach: the thread of the first item,
/// replying to the item before.
fn relation(request: &PublishRequest) -> Option<Value> {
    let root = request.root.as_ref()?;
    let previous = request.reply_to.as_ref().unwrap_or(root);
    Some(json!({
        "rel_type": "m.thread",
        "event_id": root.id,
        "is_falling_back": true,
        "m.in_reply_to": {"event_id": previous.id},
    }))
}

struct Session {
    base: String,
    token: String,
}

impl Matrix {
    fn request(&self, session: &Session, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.inner().request(method, format!("{}{path}", session.base)).bearer_auth(&session.token)
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, ProviderError> {
        let response = self.client.send(request).await?;
        let status = response.status();
        let wait = retry_after(response.headers(), Utc::now());
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(classify(status, wait, &text));
        }
        serde_json::from_str(&text).map_err(|_| {
            ProviderError::new(
                ErrorClass::Unknown,
                format!("Matrix answered with something else than JSON: {}", excerpt(&text)),
            )
        })
    }

    /// The client-server API's base: the server's `.well-known` names it,
    /// or the address given is the API itself. Only an http(s) base that
    /// passes the guard is taken.
    async fn client_base(&self, given: &str) -> Result<String, ProviderError> {
        let base = server_base(&self.guard, given)?;
        let well_known = self.client.send(self.client.inner().get(format!("{base}/.well-known/matrix/client"))).await;
        if let Ok(response) = well_known
            && response.status().is_success()
            && let Ok(found) = response.json::<Value>().await
            && let Some(named) = found["m.homeserver"]["base_url"].as_str()
            && let Ok(url) = self.guard.check_url(named.trim())
        {
            let named = url.as_str().trim_end_matches('/').to_string();
            return Ok(named);
        }
        Ok(base)
    }

    /// The session of a connected account: the stored client-server base
    /// (as discovered when connecting, path and all) and token.
    fn session(&self, creds: &Credentials) -> Result<Session, ProviderError> {
        let raw = creds.homeserver_url.trim();
        let url = self.guard.check_url(raw).map_err(ProviderError::invalid)?;
        let base = url.as_str().trim_end_matches('/').to_string();
        let token = creds.access_token.as_deref().map(str::trim).unwrap_or_default();
        if token.is_empty() {
            return Err(ProviderError::new(ErrorClass::Revoked, "no Matrix access token is stored; reconnect"));
        }
        Ok(Session { base, token: token.to_string() })
    }

    async fn log_in(&self, base: &str, user: &str, password: &str) -> Result<String, ProviderError> {
        let body = json!({
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user},
            "password": password,
            "initial_device_display_name": "Herald",
        });
        let request = self.client.inner().post(format!("{base}/_matrix/client/v3/login")).json(&body);
        let response = self.client.send(request).await?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            // A wrong password is `403 M_FORBIDDEN`: refused credentials, not a lost room.
            let said: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let said = said["error"].as_str().map_or_else(|| excerpt(&text), str::to_string);
            return Err(ProviderError::invalid(format!("Matrix refused the login ({}): {said}", status.as_u16())));
        }
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        answer["access_token"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Matrix logged in without an access token"))
    }

    /// The room's id, resolving an alias through the room directory.
    async fn room_id(&self, session: &Session, room: &str) -> Result<String, ProviderError> {
        let room = room.trim();
        if room.starts_with('!') && room.contains(':') {
            return Ok(room.to_string());
        }
        if !(room.starts_with('#') && room.contains(':')) {
            return Err(ProviderError::invalid(
                "`room` must be a room id (!abc:example.org) or an alias (#news:example.org)",
            ));
        }
        let path = format!("/_matrix/client/v3/directory/room/{}", segment(room));
        let found = self.call(self.request(session, reqwest::Method::GET, &path)).await?;
        found["room_id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Matrix resolved the alias without a room id"))
    }

    async fn joined_rooms(&self, session: &Session) -> Result<Vec<String>, ProviderError> {
        let joined = self.call(self.request(session, reqwest::Method::GET, "/_matrix/client/v3/joined_rooms")).await?;
        Ok(joined["joined_rooms"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect())
    }

    /// The room's name, if it has one (decoration: never an error).
    async fn room_name(&self, session: &Session, room_id: &str) -> Option<String> {
        let path = format!("/_matrix/client/v3/rooms/{}/state/m.room.name", segment(room_id));
        let found = self.call(self.request(session, reqwest::Method::GET, &path)).await.ok()?;
        found["name"].as_str().map(str::trim).filter(|n| !n.is_empty()).map(str::to_string)
    }

    /// The joined rooms as `{id, name}`, named where they have a name.
    async fn rooms(&self, value: &Value) -> Result<Vec<Value>, ProviderError> {
        let session = self.session(&credentials(value)?)?;
        let mut rooms = Vec::new();
        for room_id in self.joined_rooms(&session).await?.into_iter().take(MAX_LISTED_ROOMS) {
            let name = self.room_name(&session, &room_id).await.unwrap_or_else(|| room_id.clone());
            rooms.push(json!({"id": room_id, "name": name}));
        }
        Ok(rooms)
    }

    async fn send(
        &self,
        session: &Session,
        room_id: &str,
        txn: &str,
        content: &Value,
    ) -> Result<String, ProviderError> {
        let path = format!("/_matrix/client/v3/rooms/{}/send/m.room.message/{}", segment(room_id), segment(txn));
        let sent = self.call(self.request(session, reqwest::Method::PUT, &path).json(content)).await?;
        sent["event_id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Matrix did not return the event id"))
    }

    async fn upload(&self, session: &Session, index: usize, media: &Attachment) -> Result<String, ProviderError> {
        let name = media.file_name(index);
        let request = self
            .request(session, reqwest::Method::POST, "/_matrix/media/v3/upload")
            .query(&[("filename", name.as_str())])
            .header(reqwest::header::CONTENT_TYPE, &media.mime)
            .header(reqwest::header::CONTENT_LENGTH, media.size)
            .timeout(UPLOAD_TIMEOUT)
            .body(media.upload_body());
        let uploaded = self.call(request).await.map_err(ProviderError::before_publishing)?;
        uploaded["content_uri"]
            .as_str()
            .filter(|uri| uri.starts_with("mxc://"))
            .map(str::to_string)
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Matrix did not return the file's mxc:// address"))
    }
}

#[async_trait]
impl Provider for Matrix {
    fn id(&self) -> &'static str {
        "matrix"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("matrix")
    }

    fn recovery(&self) -> Recovery {
        Recovery::ResendWithSameKey
    }

    fn credentials(&self) -> Declaration {
        Declaration::of::<Credentials>("Matrix")
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>("Matrix")
    }

    async fn connect(&self, value: &Value) -> Result<ConnectedAccount, ProviderError> {
        let creds = credentials(value)?;
        let base = self.client_base(&creds.homeserver_url).await?;
        let given_token = creds.access_token.as_deref().map(str::trim).filter(|t| !t.is_empty());
        let token = match (given_token, creds.user.as_deref().map(str::trim), creds.password.as_deref()) {
            (Some(token), _, _) => token.to_string(),
            (None, Some(user), Some(password)) if !user.is_empty() && !password.is_empty() => {
                self.log_in(&base, user, password).await?
            }
            _ => {
                return Err(ProviderError::invalid("give an `accessToken`, or a `user` and `password` to log in with"));
            }
        };
        let session = Session { base, token };
        let me = self.call(self.request(&session, reqwest::Method::GET, "/_matrix/client/v3/account/whoami")).await?;
        let user_id = me["user_id"]
            .as_str()
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Matrix did not say who this token is"))?
            .to_string();
        let room_id = self.room_id(&session, &creds.room).await?;
        if !self.joined_rooms(&session).await?.contains(&room_id) {
            // Public rooms and rooms the account was invited to can be joined.
            let path = format!("/_matrix/client/v3/join/{}", segment(creds.room.trim()));
            self.call(self.request(&session, reqwest::Method::POST, &path).json(&json!({}))).await.map_err(
                |error| {
                    ProviderError::invalid(format!(
                        "the account is not in the room and could not join it: {}",
                        error.message
                    ))
                },
            )?;
        }
        let room_name = self.room_name(&session, &room_id).await;
        let shown_room = room_name.clone().unwrap_or_else(|| creds.room.trim().to_string());
        Ok(ConnectedAccount {
            account_id: format!("{user_id}/{room_id}"),
            username: user_id.clone(),
            display_name: format!("{shown_room} ({user_id})"),
            avatar_url: None,
            credentials: json!({
                "homeserverUrl": session.base,
                "room": creds.room.trim(),
                "roomId": room_id,
                "accessToken": session.token,
            }),
            token_expires_at: None,
            scopes: Vec::new(),
            profile_pending: false,
        })
    }

    /// The rooms the account has joined, as the choices of the post
    /// setting `roomId` (the composer offers them).
    async fn discovered_settings(&self, value: &Value) -> Value {
        let Ok(rooms) = self.rooms(value).await else { return Value::Null };
        let choices: Vec<Value> =
            rooms.iter().map(|room| json!({"value": room["id"], "label": room["name"]})).collect();
        json!({ "choices": { "roomId": choices } })
    }

    fn tools(&self) -> &'static [crate::Tool] {
        &[crate::Tool {
            method: "getRooms",
            description: "The rooms the account has joined: use an id as the post's `roomId`",
            data: &[],
        }]
    }

    async fn run_tool(&self, value: &Value, method: &str, _data: &Value) -> Result<Value, ProviderError> {
        if method != "getRooms" {
            return Err(ProviderError::invalid(format!("`{method}` is not a tool of Matrix")));
        }
        self.rooms(value).await.map(Value::Array)
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        let creds = credentials(&request.credentials)?;
        let settings: Settings = declared::read("Matrix", &request.settings).map_err(ProviderError::invalid)?;
        let session = self.session(&creds)?;
        let room_id = match settings.room_id.clone().or(creds.room_id.clone()) {
            Some(id) => id,
            None => self.room_id(&session, &creds.room).await.map_err(ProviderError::before_publishing)?,
        };
        let thread = relation(request);
        let mut first: Option<String> = None;
        if !request.content.trim().is_empty() {
            let mut content = json!({
                "msgtype": if settings.notice { "m.notice" } else { "m.text" },
                "body": request.content,
            });
            if !settings.plain_text
                && let Some(html) = formatted(&request.content)
            {
                content["format"] = json!("org.matrix.custom.html");
                content["formatted_body"] = json!(html);
            }
            if let Some(relates) = &thread {
                content["m.relates_to"] = relates.clone();
            }
            first = Some(self.send(&session, &room_id, &txn_id(&request.idempotency_key, ""), &content).await?);
        }
        for (index, media) in request.media.iter().enumerate() {
            let uri = self.upload(&session, index, media).await?;
            let msgtype = if media.is_image() {
                "m.image"
            } else if media.is_video() {
                "m.video"
            } else {
                "m.file"
            };
            let body = media
                .alt_text
                .as_deref()
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map_or_else(|| media.file_name(index), str::to_string);
            let mut content = json!({
                "msgtype": msgtype,
                "body": body,
                "filename": media.file_name(index),
                "url": uri,
                "info": {"mimetype": media.mime, "size": media.size},
            });
            if let Some(relates) = &thread {
                content["m.relates_to"] = relates.clone();
            }
            let event = self
                .send(&session, &room_id, &txn_id(&request.idempotency_key, &format!("-m{index}")), &content)
                .await?;
            first.get_or_insert(event);
        }
        let event =
            first.ok_or_else(|| ProviderError::invalid("nothing to send: the item has no text and no media"))?;
        let url = format!("https://matrix.to/#/{}/{}", segment(&room_id), segment(&event));
        Ok(PublishedItem { id: event, url: Some(url) }.into())
    }

    fn has_metrics(&self) -> bool {
        true
    }

    /// Reactions (`m.annotation`) and thread replies (`m.thread`) on the
    /// post's first event, from the relations API (first page).
    async fn fetch_metrics(&self, value: &Value, item: &PublishedItem) -> Result<Metrics, ProviderError> {
        let creds = credentials(value)?;
        let session = self.session(&creds)?;
        let room_id = match creds.room_id.clone() {
            Some(id) => id,
            None => self.room_id(&session, &creds.room).await?,
        };
        let mut metrics = Metrics::new();
        for (relation, name) in [("m.annotation", "reactions"), ("m.thread", "replies")] {
            let path = format!(
                "/_matrix/client/v1/rooms/{}/relations/{}/{relation}?limit=100",
                segment(&room_id),
                segment(&item.id)
            );
            let found = self.call(self.request(&session, reqwest::Method::GET, &path)).await?;
            let count = found["chunk"].as_array().map_or(0, Vec::len);
            metrics.insert(name.to_string(), i64::try_from(count).unwrap_or(i64::MAX));
        }
        Ok(metrics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_html_and_plain_text_stays_plain() {
        assert_eq!(formatted("just words"), None);
        assert_eq!(formatted("two\nlines"), None);
        assert_eq!(formatted("a **bold** move").as_deref(), Some("<p>a <strong>bold</strong> move</p>"));
        assert_eq!(
            formatted("see [docs](https://example.org)").as_deref(),
            Some(r#"<p>see <a href="https://example.org">docs</a></p>"#)
        );
        let html = formatted("**x** <script>alert(1)</script>").unwrap();
        assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"), "{html}");
    }

    #[test]
    fn ids_in_paths_are_escaped_and_txn_ids_are_stable() {
        assert_eq!(segment("#news:example.org"), "%23news%3Aexample.org");
        assert_eq!(segment("!abc:example.org"), "%21abc%3Aexample.org");
        assert_eq!(txn_id("0193-abc-1", ""), "herald-0193-abc-1");
        assert_eq!(txn_id("k/1", "-m0"), "herald-k_2f1-m0");
    }

    #[test]
    fn documented_errors_are_classified() {
        let error = |code: &str| json!({"errcode": code, "error": "e"}).to_string();
        let limited =
            json!({"errcode": "M_LIMIT_EXCEEDED", "error": "Too many requests", "retry_after_ms": 1500}).to_string();
        assert_eq!(
            classify(StatusCode::TOO_MANY_REQUESTS, None, &limited).class,
            ErrorClass::Retryable { after: Some(std::time::Duration::from_millis(1500)) }
        );
        assert_eq!(classify(StatusCode::UNAUTHORIZED, None, &error("M_UNKNOWN_TOKEN")).class, ErrorClass::Revoked);
        assert_eq!(classify(StatusCode::FORBIDDEN, None, &error("M_FORBIDDEN")).class, ErrorClass::Revoked);
        assert_eq!(classify(StatusCode::PAYLOAD_TOO_LARGE, None, &error("M_TOO_LARGE")).class, ErrorClass::Invalid);
        let bad = classify(StatusCode::BAD_REQUEST, None, &error("M_BAD_JSON"));
        assert_eq!((bad.class, bad.message.as_str()), (ErrorClass::Invalid, "Matrix answered 400 M_BAD_JSON: e"));
    }
}

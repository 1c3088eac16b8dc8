//! `bluesky`: posts through the account's PDS with an app password.
//!
//! Connecting creates a session (`com.atproto.server.createSession`) and
//! keeps it with the credentials. Access tokens live about two hours: an
//! `ExpiredToken` answer makes the engine call [`Provider::refresh`], which
//! uses the refresh token and, once that has expired too, signs in again
//! with the app password. A published item's id carries both the record's
//! `at://` URI and its CID (`<uri>|<cid>`), because a reply must name its
//! root and parent by both.
//!
//! Each item is created under a record key derived from its target and
//! index ([`tid`]), so sending it again — after a crash, a timeout or a lost
//! answer — cannot make a second post: the PDS refuses a taken key, and the
//! record already there is looked up (`com.atproto.repo.getRecord`) and
//! reused.

mod facets;
mod image_size;
mod record;
mod tid;
mod xrpc;

use async_trait::async_trait;
use garde::Validate;
use herald_core::platform::PlatformRules;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::declared::Declaration;
use crate::net::TargetGuard;
use crate::net::server_base;
use crate::{
    Attachment, ConnectedAccount, ErrorClass, HttpClient, Metrics, Profile, Provider, ProviderError, ProviderSettings,
    PublishRequest, PublishedItem, Recovery, Refreshed,
};
use facets::{Feature, Span};
use record::{Settings, check_media, post_record, post_url, settings, strong_ref};
use xrpc::{Session, json_or_error};

pub const DEFAULT_SERVICE: &str = "https://bsky.social";
/// `app.bsky.embed.images` takes at most this many images…
const MAX_IMAGES: usize = 4;
/// …of at most this many bytes each (the lexicon's `maxSize`).
const MAX_IMAGE_BYTES: usize = 1_000_000;

pub struct Bluesky {
    client: HttpClient,
    guard: TargetGuard,
    /// Used when the user leaves `service` empty (`HERALD_PROVIDER_BLUESKY_API_BASE`).
    default_service: String,
}

impl Bluesky {
    /// `app.bsky.actor.getProfile` of the signed-in account.
    async fn fetch_profile(&self, base: &str, did: &str, access_jwt: &str) -> Result<Profile, ProviderError> {
        let mut url = url::Url::parse(&Self::xrpc_url(base, "app.bsky.actor.getProfile"))
            .map_err(|_| ProviderError::invalid("the Bluesky service URL is not valid"))?;
        url.query_pairs_mut().append_pair("actor", did);
        let request = self.client.inner().get(url).bearer_auth(access_jwt);
        let profile = json_or_error(self.client.send(request).await?).await?;
        Ok(Profile {
            display_name: profile["displayName"].as_str().filter(|n| !n.trim().is_empty()).map(str::to_string),
            avatar_url: profile["avatar"].as_str().map(str::to_string),
        })
    }

    pub fn new(client: HttpClient, settings: &ProviderSettings) -> Self {
        Self {
            client,
            guard: TargetGuard::new(settings.allow_private_targets),
            default_service: settings.api_base("bluesky", DEFAULT_SERVICE),
        }
    }

    fn service(&self, service: &str) -> Result<String, ProviderError> {
        if service.trim().is_empty() { Ok(self.default_service.clone()) } else { server_base(&self.guard, service) }
    }

    fn xrpc_url(base: &str, method: &str) -> String {
        format!("{base}/xrpc/{method}")
    }

    async fn create_session(&self, base: &str, identifier: &str, password: &str) -> Result<Session, ProviderError> {
        let request = self
            .client
            .inner()
            .post(Self::xrpc_url(base, "com.atproto.server.createSession"))
            .json(&json!({ "identifier": identifier, "password": password }));
        let answer = json_or_error(self.client.send(request).await?).await.map_err(|error| {
            ProviderError::new(error.class, format!("signing in to Bluesky failed: {}", error.message))
        })?;
        Session::from_json(answer)
    }

    async fn refresh_session(&self, base: &str, refresh_jwt: &str) -> Result<Session, ProviderError> {
        let request = self
            .client
            .inner()
            .post(Self::xrpc_url(base, "com.atproto.server.refreshSession"))
            .bearer_auth(refresh_jwt);
        Session::from_json(json_or_error(self.client.send(request).await?).await?)
    }

    /// `None` when the handle does not resolve: the mention stays plain text.
    async fn resolve_handle(&self, base: &str, handle: &str) -> Result<Option<String>, ProviderError> {
        let mut url = url::Url::parse(&Self::xrpc_url(base, "com.atproto.identity.resolveHandle"))
            .map_err(|_| ProviderError::invalid("the Bluesky service URL is not valid"))?;
        url.query_pairs_mut().append_pair("handle", handle);
        match json_or_error(self.client.send(self.client.inner().get(url)).await?).await {
            Ok(answer) => Ok(answer["did"].as_str().map(str::to_string)),
            Err(error) if error.class == ErrorClass::Invalid => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Facets of the text, with mentions resolved to DIDs.
    async fn facets(&self, base: &str, text: &str) -> Result<Vec<Value>, ProviderError> {
        let mut out = Vec::new();
        for Span { start, end, feature } in facets::detect(text) {
            let feature = match feature {
                Feature::Link(uri) => json!({ "$type": "app.bsky.richtext.facet#link", "uri": uri }),
                Feature::Tag(tag) => json!({ "$type": "app.bsky.richtext.facet#tag", "tag": tag }),
                Feature::Mention(handle) => match self.resolve_handle(base, &handle).await? {
                    Some(did) => json!({ "$type": "app.bsky.richtext.facet#mention", "did": did }),
                    None => continue,
                },
            };
            out.push(json!({ "index": { "byteStart": start, "byteEnd": end }, "features": [feature] }));
        }
        Ok(out)
    }

    async fn upload_blob(&self, base: &str, token: &str, media: &Attachment) -> Result<Value, ProviderError> {
        let request = self
            .client
            .inner()
            .post(Self::xrpc_url(base, "com.atproto.repo.uploadBlob"))
            .bearer_auth(token)
            .header("content-type", &media.mime)
            .header("content-length", media.size)
            .body(media.upload_body());
        let answer = json_or_error(self.client.send(request).await?).await?;
        match &answer["blob"] {
            Value::Object(_) => Ok(answer["blob"].clone()),
            _ => Err(ProviderError::new(ErrorClass::Unknown, "Bluesky did not return the uploaded blob")),
        }
    }

    /// Creates the post under `rkey`. When that fails, an earlier attempt
    /// (or this one, its answer lost) may have made it already — the PDS
    /// answers a taken key with a 500 — so the record is looked up before
    /// the failure is believed. A record there with other text is another
    /// post whose key clashed with this one: never taken for this one.
    async fn create_post(
        &self,
        base: &str,
        (did, token): (&str, &str),
        rkey: &str,
        record: Value,
    ) -> Result<(String, String), ProviderError> {
        let text = record["text"].clone();
        let body = json!({ "repo": did, "collection": "app.bsky.feed.post", "rkey": rkey, "record": record });
        let create = self
            .client
            .inner()
            .post(Self::xrpc_url(base, "com.atproto.repo.createRecord"))
            .bearer_auth(token)
            .json(&body);
        let created = match self.client.send(create).await {
            Ok(response) => json_or_error(response).await,
            Err(error) => Err(error),
        };
        let error = match created {
            Ok(created) => return uri_and_cid(&created),
            // Refreshed and sent again by the engine, which finds the record then.
            Err(error) if error.class == ErrorClass::AuthExpired => return Err(error),
            Err(error) => error,
        };
        match self.existing_post(base, did, rkey).await {
            Some(found) if found["value"]["text"] == text => {
                tracing::info!(rkey, "the Bluesky record was already there; reusing it");
                uri_and_cid(&found)
            }
            Some(_) => Err(ProviderError::invalid(format!(
                "Bluesky already holds another post under record key {rkey}; duplicate this post and publish the copy"
            ))),
            None => Err(error),
        }
    }

    /// The record at `rkey` of the account's posts (`{uri, cid, value}`), if any.
    async fn existing_post(&self, base: &str, did: &str, rkey: &str) -> Option<Value> {
        let mut url = url::Url::parse(&Self::xrpc_url(base, "com.atproto.repo.getRecord")).ok()?;
        url.query_pairs_mut()
            .append_pair("repo", did)
            .append_pair("collection", "app.bsky.feed.post")
            .append_pair("rkey", rkey);
        let response = self.client.send(self.client.inner().get(url)).await.ok()?;
        json_or_error(response).await.ok()
    }
}

/// The `uri` and `cid` of a record answer (`createRecord`, `getRecord`).
fn uri_and_cid(answer: &Value) -> Result<(String, String), ProviderError> {
    match (answer["uri"].as_str(), answer["cid"].as_str()) {
        (Some(uri), Some(cid)) => Ok((uri.to_string(), cid.to_string())),
        _ => Err(ProviderError::new(ErrorClass::Unknown, "Bluesky did not return the post's uri and cid")),
    }
}

/// Stored credentials: what the user gives when connecting (the declared
/// part), plus the current session.
#[derive(Clone, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("additionalProperties" = false))]
#[garde(allow_unvalidated)]
struct Credentials {
    /// Your PDS; leave empty for bsky.social.
    #[serde(default)]
    #[schemars(title = "Service", extend("default" = DEFAULT_SERVICE))]
    service: String,
    /// e.g. alice.bsky.social
    #[schemars(title = "Handle or email")]
    identifier: String,
    /// Settings → Privacy and security → App passwords. Not your account password.
    #[schemars(title = "App password", extend("writeOnly" = true))]
    app_password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    did: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    handle: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    access_jwt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    refresh_jwt: Option<String>,
}

impl Credentials {
    fn parse(value: &Value) -> Result<Self, ProviderError> {
        serde_json::from_value(value.clone()).map_err(|_| {
            ProviderError::invalid("Bluesky credentials need `identifier` (handle or email) and `appPassword`")
        })
    }

    fn with_session(mut self, session: Session) -> Self {
        self.did = Some(session.did);
        self.handle = Some(session.handle);
        self.access_jwt = Some(session.access_jwt);
        self.refresh_jwt = Some(session.refresh_jwt);
        self
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The session parts every authenticated call needs.
    fn session(&self) -> Result<(&str, &str, &str), ProviderError> {
        match (&self.did, &self.handle, &self.access_jwt) {
            (Some(did), Some(handle), Some(token)) => Ok((did, handle, token)),
            // Refreshing signs in again with the app password.
            _ => Err(ProviderError::new(ErrorClass::AuthExpired, "no Bluesky session is stored yet")),
        }
    }
}

#[async_trait]
impl Provider for Bluesky {
    fn id(&self) -> &'static str {
        "bluesky"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("bluesky")
    }

    fn recovery(&self) -> Recovery {
        Recovery::ResendWithSameKey
    }

    fn credentials(&self) -> Declaration {
        Declaration::of::<Credentials>("Bluesky")
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>("Bluesky")
    }

    async fn connect(&self, value: &Value) -> Result<ConnectedAccount, ProviderError> {
        let mut creds = Credentials::parse(value)?;
        creds.identifier = creds.identifier.trim().trim_start_matches('@').to_string();
        creds.service = creds.service.trim().to_string();
        if creds.identifier.is_empty() || creds.app_password.is_empty() {
            return Err(ProviderError::invalid("the handle and the app password must not be empty"));
        }
        let base = self.service(&creds.service)?;
        if !creds.service.is_empty() {
            creds.service.clone_from(&base);
        }
        let session = self.create_session(&base, &creds.identifier, &creds.app_password).await?;
        // The profile only decorates: a PDS whose AppView is unreachable
        // answers 502 UpstreamFailure, yet the session works and posting
        // will. Connect with the handle, and ask again later.
        let profile = match self.fetch_profile(&base, &session.did, &session.access_jwt).await {
            Ok(profile) => Some(profile),
            Err(error) => {
                tracing::info!(error = %error.message, "Bluesky profile unavailable; connecting with the handle");
                None
            }
        };
        Ok(ConnectedAccount {
            account_id: session.did.clone(),
            username: session.handle.clone(),
            display_name: profile
                .as_ref()
                .and_then(|p| p.display_name.clone())
                .unwrap_or_else(|| session.handle.clone()),
            avatar_url: profile.as_ref().and_then(|p| p.avatar_url.clone()),
            profile_pending: profile.is_none(),
            credentials: creds.with_session(session).to_json(),
            // The session renews itself; only a revoked app password ends it.
            token_expires_at: None,
            scopes: Vec::new(),
        })
    }

    async fn profile(&self, value: &Value) -> Result<Option<Profile>, ProviderError> {
        let creds = Credentials::parse(value)?;
        let base = self.service(&creds.service)?;
        let (did, _, token) = creds.session()?;
        self.fetch_profile(&base, did, token).await.map(Some)
    }

    async fn refresh(&self, value: &Value) -> Result<Refreshed, ProviderError> {
        let creds = Credentials::parse(value)?;
        let base = self.service(&creds.service)?;
        let refreshed = match &creds.refresh_jwt {
            Some(token) => match self.refresh_session(&base, token).await {
                Ok(session) => Some(session),
                // Expired or revoked refresh token: sign in again below.
                Err(error) if matches!(error.class, ErrorClass::AuthExpired | ErrorClass::Invalid) => None,
                Err(error) => return Err(error),
            },
            None => None,
        };
        let session = match refreshed {
            Some(session) => session,
            None => self.create_session(&base, &creds.identifier, &creds.app_password).await?,
        };
        Ok(Refreshed { credentials: creds.with_session(session).to_json(), expires_at: None })
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        let creds = Credentials::parse(&request.credentials)?;
        let base = self.service(&creds.service)?;
        let settings = settings(&request.settings).map_err(ProviderError::invalid)?;
        check_media(&request.media)?;
        let rkey = tid::record_key(request.target_id, request.item_index, request.scheduled_for)
            .ok_or_else(|| ProviderError::invalid("the delivery has no time to derive its Bluesky record key from"))?;
        let (did, handle, token) = creds.session()?;
        let facets = self.facets(&base, &request.content).await?;
        let mut images = Vec::with_capacity(request.media.len());
        for media in &request.media {
            let blob = self.upload_blob(&base, token, media).await?;
            let bytes = media.bytes().await?;
            let mut image = json!({ "alt": media.alt_text.clone().unwrap_or_default(), "image": blob });
            // Lets the app lay the post out before the image has loaded.
            if let Some((width, height)) = image_size::image_size(&bytes) {
                image["aspectRatio"] = json!({ "width": width, "height": height });
            }
            images.push(image);
        }
        let record = post_record(request, &settings.langs, facets, images)?;
        let (uri, cid) = self.create_post(&base, (did, token), &rkey, record).await?;
        Ok(PublishedItem { url: post_url(handle, &uri), id: format!("{uri}|{cid}") }.into())
    }

    fn has_metrics(&self) -> bool {
        true
    }

    /// An expired session answers `AuthExpired`: as with `publish`, the
    /// caller refreshes (and stores) the credentials, then asks again.
    async fn fetch_metrics(&self, value: &Value, item: &PublishedItem) -> Result<Metrics, ProviderError> {
        let creds = Credentials::parse(value)?;
        let base = self.service(&creds.service)?;
        let (_, _, token) = creds.session()?;
        let uri = strong_ref(item)?["uri"].as_str().unwrap_or_default().to_string();
        let mut url = url::Url::parse(&Self::xrpc_url(&base, "app.bsky.feed.getPosts"))
            .map_err(|_| ProviderError::invalid("the Bluesky service URL is not valid"))?;
        url.query_pairs_mut().append_pair("uris", &uri);
        let answer = json_or_error(self.client.send(self.client.inner().get(url).bearer_auth(token)).await?).await?;
        let Some(post) = answer["posts"].as_array().and_then(|posts| posts.iter().find(|p| p["uri"] == uri.as_str()))
        else {
            return Err(ProviderError::invalid("the post no longer exists on Bluesky"));
        };
        let count = |field: &str| post[field].as_i64().unwrap_or(0);
        Ok(Metrics::from([
            ("likes".to_string(), count("likeCount")),
            ("reposts".to_string(), count("repostCount")),
            ("replies".to_string(), count("replyCount")),
            ("quotes".to_string(), count("quoteCount")),
        ]))
    }
}

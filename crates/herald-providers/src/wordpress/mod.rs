//! `wordpress`: posts on a self-hosted (or WordPress.com Business) site
//! through its REST API, authenticated with an application password
//! (Users → Profile → Application Passwords) over HTTP Basic auth.
//!
//! Connecting reads `/wp/v2/users/me?context=edit` — which also tells
//! whether the user may publish — first under `/wp-json/`, then, for sites
//! with plain permalinks where that path 404s (or, behind nginx, serves the
//! front page), under `/?rest_route=`; the
//! style that worked is stored with the credentials. Publishing uploads the
//! media first (raw bytes to `/wp/v2/media`), resolves category and tag
//! names to ids, then creates the post with the first image as its featured
//! image. Errors are `WP_Error` JSON: `{code, message, data: {status}}`.

mod api;
mod content;

use async_trait::async_trait;
use garde::Validate;
use herald_core::platform::PlatformRules;
use reqwest::{Method, StatusCode};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::declared::{self, Declaration};
use crate::net::TargetGuard;
use crate::{
    Attachment, ConnectedAccount, ErrorClass, HttpClient, Provider, ProviderError, PublishRequest, PublishedItem,
};
use api::{Answer, RestStyle, Site, error_from, id_of, normalise_application_password};
use content::{Settings, Term, Uploaded, build_post, terms};

pub struct Wordpress {
    client: HttpClient,
    guard: TargetGuard,
}

impl Wordpress {
    pub fn new(client: HttpClient, allow_private_targets: bool) -> Self {
        Self { client, guard: TargetGuard::new(allow_private_targets) }
    }
}

/// Credentials as stored: the site URL normalised, the password without its spaces.
struct Credentials {
    site: url::Url,
    username: String,
    password: String,
    style: RestStyle,
}

/// What connecting asks for. Stored normalised, with the REST style the
/// site answered to.
#[derive(Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("additionalProperties" = false))]
#[garde(allow_unvalidated)]
struct Given {
    /// The address of the WordPress site, e.g. https://blog.example.com.
    #[schemars(title = "Site URL", url)]
    site_url: String,
    #[schemars(title = "Username", length(min = 1))]
    username: String,
    /// Created under Users → Profile → Application Passwords; spaces may be kept.
    #[schemars(title = "Application password", length(min = 1), extend("writeOnly" = true))]
    application_password: String,
    /// Discovered when connecting: `plain` for sites without pretty permalinks.
    #[serde(default)]
    #[schemars(skip)]
    rest_style: Option<String>,
}

fn credentials(value: &Value, guard: &TargetGuard) -> Result<Credentials, ProviderError> {
    let missing = || {
        ProviderError::invalid(
            "WordPress credentials need `siteUrl`, `username` and `applicationPassword` \
             (created under Users → Profile → Application Passwords)",
        )
    };
    let given: Given = serde_json::from_value(value.clone()).map_err(|_| missing())?;
    let site = given.site_url.trim();
    let username = given.username.trim().to_string();
    let password = normalise_application_password(&given.application_password);
    if site.is_empty() || username.is_empty() || password.is_empty() {
        return Err(missing());
    }
    let mut site = guard.check_url(site.trim_end_matches('/')).map_err(ProviderError::invalid)?;
    site.set_query(None);
    site.set_fragment(None);
    Ok(Credentials { site, username, password, style: RestStyle::parse(given.rest_style.as_deref()) })
}

impl Credentials {
    fn site<'a>(&'a self, client: &'a HttpClient, style: RestStyle) -> Site<'a> {
        Site { client, base: self.site.clone(), style, username: &self.username, password: &self.password }
    }
}

/// The site URL without its scheme and trailing slash: with the user id, it
/// names an account (user 1 exists on every site).
fn site_key(site: &url::Url) -> String {
    let host = site.host_str().unwrap_or_default();
    let port = site.port().map(|p| format!(":{p}")).unwrap_or_default();
    format!("{host}{port}{}", site.path().trim_end_matches('/'))
}

/// The site part of a redirect to one of its REST URLs.
fn site_of_location(location: &str) -> &str {
    let cut = ["/wp-json", "/?rest_route", "?rest_route"].iter().filter_map(|marker| location.find(marker)).min();
    cut.map_or(location, |at| &location[..at])
}

impl Wordpress {
    /// `users/me` under `/wp-json/`, else under `?rest_route=`; which one worked.
    async fn whoami(&self, creds: &Credentials) -> Result<(Value, RestStyle), ProviderError> {
        let mut last = None;
        for style in [RestStyle::Pretty, RestStyle::Plain] {
            let site = creds.site(&self.client, style);
            let response =
                self.client.send(site.request(Method::GET, "/wp/v2/users/me", &[("context", "edit")])).await?;
            let status = response.status();
            // Redirects are not followed (they could lead past the SSRF guard), but say where to.
            if status.is_redirection() {
                let location = response.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or_default();
                return Err(ProviderError::invalid(format!(
                    "{} redirects to {}; connect with that address as the site URL",
                    creds.site,
                    site_of_location(location)
                )));
            }
            let after = crate::http::retry_after(response.headers(), chrono::Utc::now());
            let text = response.text().await.unwrap_or_default();
            if status.is_success() {
                match serde_json::from_str(&text) {
                    Ok(me) => return Ok((me, style)),
                    // Plain permalinks behind nginx's `try_files … /index.php?$args`:
                    // `/wp-json/…` is the front page, with a 200.
                    Err(_) if style == RestStyle::Pretty => {
                        last = Some(ProviderError::invalid("/wp-json/ answered a page, not JSON"));
                        continue;
                    }
                    Err(_) => {
                        return Err(ProviderError::invalid(format!(
                            "{} does not look like a WordPress site: its REST API answered with something else than JSON",
                            creds.site
                        )));
                    }
                }
            }
            let error = error_from(status, after, &text, "the connection");
            if status != StatusCode::NOT_FOUND {
                return Err(error);
            }
            last = Some(error);
        }
        Err(ProviderError::invalid(format!(
            "no WordPress REST API found at {} (tried /wp-json/ and ?rest_route=): {}",
            creds.site,
            last.map(|e| e.message).unwrap_or_default()
        )))
    }

    async fn upload(&self, site: &Site<'_>, index: usize, file: &Attachment) -> Result<Uploaded, ProviderError> {
        let request = site
            .request(Method::POST, "/wp/v2/media", &[])
            .header("content-type", &file.mime)
            .header("content-disposition", format!("attachment; filename=\"{}\"", file.file_name(index)))
            .header("content-length", file.size)
            .body(file.upload_body());
        let media = site.call(request, "uploading a media file").await.map_err(ProviderError::before_publishing)?;
        let id = id_of(&media["id"])
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "WordPress did not answer the upload with an id"))?;
        let source_url = media["source_url"].as_str().unwrap_or_default().to_string();
        let alt_text = file.alt_text.as_deref().map(str::trim).filter(|a| !a.is_empty()).map(str::to_string);
        // The upload body is the file itself, so the alt text is set in a second request.
        if let Some(alt) = &alt_text {
            let route = format!("/wp/v2/media/{id}");
            site.call(site.request(Method::POST, &route, &[]).json(&json!({ "alt_text": alt })), "setting alt text")
                .await
                .map_err(ProviderError::before_publishing)?;
        }
        Ok(Uploaded { id, source_url, alt_text, is_image: file.is_image() })
    }

    /// Ids of categories or tags, looking names up and creating missing ones.
    async fn term_ids(&self, site: &Site<'_>, taxonomy: &str, wanted: Vec<Term>) -> Result<Vec<u64>, ProviderError> {
        let route = format!("/wp/v2/{taxonomy}");
        let mut ids = Vec::new();
        for term in wanted {
            let id = match term {
                Term::Id(id) => id,
                Term::Name(name) => self.term_named(site, &route, taxonomy, &name).await?,
            };
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    async fn term_named(&self, site: &Site<'_>, route: &str, taxonomy: &str, name: &str) -> Result<u64, ProviderError> {
        let what = format!("looking up the {taxonomy} `{name}`");
        let found =
            site.call(site.request(Method::GET, route, &[("search", name), ("per_page", "100")]), &what).await?;
        let wanted = name.to_lowercase();
        let existing = found.as_array().into_iter().flatten().find(|term| {
            term["name"].as_str().is_some_and(|n| n.to_lowercase() == wanted)
                || term["slug"].as_str().is_some_and(|s| s == wanted)
        });
        if let Some(id) = existing.and_then(|term| id_of(&term["id"])) {
            return Ok(id);
        }
        let what = format!("creating the {taxonomy} `{name}`");
        let Answer { status, text, .. } = site
            .send(site.request(Method::POST, route, &[]).json(&json!({ "name": name })), &what)
            .await
            .map_err(ProviderError::before_publishing)?;
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        // Created meanwhile, or the search missed it (it matches HTML-escaped names): WordPress says which.
        if answer["code"] == "term_exists"
            && let Some(id) = id_of(&answer["data"]["term_id"])
        {
            return Ok(id);
        }
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            return Err(term_refused(taxonomy, name, &text));
        }
        if !status.is_success() {
            return Err(error_from(status, None, &text, &what));
        }
        id_of(&answer["id"]).ok_or_else(|| {
            ProviderError::new(ErrorClass::Unknown, format!("WordPress created the {taxonomy} `{name}` without an id"))
        })
    }
}

/// Creating a term was refused. WordPress asks `edit_terms` for categories
/// (hierarchical: Editor and up) but only `assign_terms` for tags (anyone
/// who may edit posts); the login itself worked a moment earlier, so the
/// account is fine and only this post's terms need changing.
fn term_refused(taxonomy: &str, name: &str, body: &str) -> ProviderError {
    let said = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| "not allowed".into());
    let hint = if taxonomy == "categories" {
        "use an existing category, or give the user the Editor role (creating categories needs it)"
    } else {
        "use an existing tag, or give the user a role that may edit posts"
    };
    ProviderError::invalid(format!("WordPress did not allow creating the {taxonomy} `{name}`: {said} — {hint}"))
}

#[async_trait]
impl Provider for Wordpress {
    fn id(&self) -> &'static str {
        "wordpress"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("wordpress")
    }

    fn credentials(&self) -> Declaration {
        Declaration::of::<Given>("WordPress")
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>("WordPress")
    }

    async fn connect(&self, value: &Value) -> Result<ConnectedAccount, ProviderError> {
        let creds = credentials(value, &self.guard)?;
        let (me, style) = self.whoami(&creds).await?;
        let id = id_of(&me["id"]).ok_or_else(|| {
            ProviderError::invalid("WordPress did not say which user the application password belongs to")
        })?;
        let username = me["username"].as_str().or(me["slug"].as_str()).unwrap_or(&creds.username).to_string();
        // `capabilities` is only present with context=edit; trust the site when it is missing.
        if me["capabilities"]["publish_posts"] == Value::Bool(false) {
            let roles: Vec<&str> = me["roles"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            return Err(ProviderError::invalid(format!(
                "the WordPress user `{username}` may not publish posts (role: {}); give them the Author role or higher",
                if roles.is_empty() { "unknown".to_string() } else { roles.join(", ") }
            )));
        }
        let avatars = me["avatar_urls"].as_object();
        let avatar = avatars.and_then(|a| {
            a.iter().max_by_key(|(size, _)| size.parse::<u32>().unwrap_or(0)).and_then(|(_, url)| url.as_str())
        });
        Ok(ConnectedAccount {
            account_id: format!("{}#{id}", site_key(&creds.site)),
            display_name: me["name"].as_str().filter(|n| !n.is_empty()).unwrap_or(&username).to_string(),
            username,
            avatar_url: avatar.map(str::to_string),
            credentials: json!({
                "siteUrl": creds.site.as_str().trim_end_matches('/'),
                "username": creds.username,
                "applicationPassword": creds.password,
                "restStyle": style.as_str(),
            }),
            token_expires_at: None,
            scopes: Vec::new(),
            profile_pending: false,
        })
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        if request.item_index > 0 {
            return Err(ProviderError::invalid("WordPress posts have no threads"));
        }
        let creds = credentials(&request.credentials, &self.guard)?;
        let settings: Settings = declared::read("WordPress", &request.settings).map_err(ProviderError::invalid)?;
        let site = creds.site(&self.client, creds.style);
        let mut media = Vec::with_capacity(request.media.len());
        for (index, file) in request.media.iter().enumerate() {
            media.push(self.upload(&site, index, file).await?);
        }
        let categories = self.term_ids(&site, "categories", terms(settings.categories.as_deref(), &[])).await?;
        let tags = self.term_ids(&site, "tags", terms(settings.tags.as_deref(), &request.tags)).await?;
        let post = build_post(&request.content, &settings, &media, &categories, &tags)?;
        let created =
            site.call(site.request(Method::POST, "/wp/v2/posts", &[]).json(&post), "creating the post").await?;
        let id = id_of(&created["id"]).ok_or_else(|| {
            ProviderError::new(ErrorClass::Unknown, "WordPress accepted the post but did not answer with its id")
        })?;
        Ok(PublishedItem { id: id.to_string(), url: created["link"].as_str().map(str::to_string) }.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_suggest_the_site_address() {
        assert_eq!(
            site_of_location("https://www.example.com/wp-json/wp/v2/users/me?context=edit"),
            "https://www.example.com"
        );
        assert_eq!(
            site_of_location("https://example.com/blog/?rest_route=/wp/v2/users/me"),
            "https://example.com/blog"
        );
        assert_eq!(site_of_location("https://example.com/login"), "https://example.com/login");
    }

    #[test]
    fn accounts_are_named_by_site_and_user() {
        let site = url::Url::parse("https://example.com:8443/blog/").unwrap();
        assert_eq!(site_key(&site), "example.com:8443/blog");
        let guard = TargetGuard::new(false);
        let creds = credentials(
            &json!({"siteUrl": "https://example.com/blog/", "username": "ada", "applicationPassword": "ab12 cd34"}),
            &guard,
        )
        .unwrap();
        assert_eq!(creds.site.as_str(), "https://example.com/blog");
        assert_eq!(creds.password, "ab12cd34");
        assert_eq!(creds.style, RestStyle::Pretty);
        let private = json!({"siteUrl": "http://10.0.0.1", "username": "ada", "applicationPassword": "x"});
        assert!(credentials(&private, &guard).err().unwrap().message.contains("HERALD_ALLOW_PRIVATE_TARGETS"));
        assert!(credentials(&json!({"siteUrl": "https://example.com"}), &guard).is_err());
    }
}

//! `feed`: Herald's own RSS 2.0 and Atom feeds — a platform that needs no
//! account anywhere. Connecting makes a channel with an address of its own
//! (`/feeds/{slug}.xml` and `/feeds/{slug}.atom` under `MAIN_URL`, public,
//! no sign-in); publishing to it records the item, and the feed documents
//! are drawn from the channel's published posts when they are asked for
//! (herald-web). The channel's title is the integration's name, so renaming
//! the integration renames the feed.
//!
//! Publishing reaches no other server: it cannot fail halfway and is safe
//! to repeat, so an interrupted delivery is simply done again.

use async_trait::async_trait;
use garde::Validate;
use herald_core::platform::PlatformRules;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::declared::{self, Declaration};
use crate::{ConnectedAccount, Provider, ProviderError, ProviderSettings, PublishRequest, PublishedItem, Recovery};

pub struct Feed {
    public_url: String,
}

impl Feed {
    pub fn new(settings: &ProviderSettings) -> Self {
        Self { public_url: settings.public_url.trim_end_matches('/').to_string() }
    }
}

/// What connecting asks for (and what is stored).
#[derive(Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Credentials {
    /// The feed's title (its address is made from it, plus a random part).
    #[garde(length(chars, min = 1, max = 100))]
    #[schemars(title = "Title")]
    title: String,
    /// One line about the feed, shown by feed readers.
    #[garde(length(chars, max = 500))]
    #[schemars(title = "Description")]
    description: Option<String>,
    /// The website the feed belongs to (Herald's address otherwise).
    #[garde(custom(declared::http_url))]
    #[schemars(title = "Website", url)]
    link: Option<String>,
    /// The channel's address part, made when connecting.
    #[serde(default)]
    #[schemars(skip)]
    slug: Option<String>,
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
#[garde(allow_unvalidated)]
pub struct Settings {
    /// The item's title (the post's first line otherwise).
    #[garde(length(chars, max = 200))]
    pub title: Option<String>,
    /// Where the item points (the post's first link otherwise).
    #[garde(custom(declared::http_url))]
    #[schemars(url)]
    pub link: Option<String>,
}

/// A post's settings for this platform, as the feed documents read them.
pub fn item_settings(value: &Value) -> Settings {
    declared::read("Feed", value).unwrap_or_default()
}

/// What the feed documents need of a channel's stored credentials.
#[derive(Debug, Clone)]
pub struct Channel {
    pub slug: String,
    pub description: Option<String>,
    pub link: Option<String>,
}

/// Reads a channel's stored credentials.
pub fn channel(value: &Value) -> Option<Channel> {
    let creds: Credentials = serde_json::from_value(value.clone()).ok()?;
    Some(Channel { slug: creds.slug?, description: creds.description, link: creds.link })
}

/// `"Herald News!"` → `herald-news`: lowercase letters, digits and single dashes.
fn slugify(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 40 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-').to_string();
    if slug.is_empty() { "feed".into() } else { slug }
}

/// Whether `slug` can be a channel's address part.
pub fn is_slug(slug: &str) -> bool {
    (3..=64).contains(&slug.len()) && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Feed {
    fn urls(&self, slug: &str) -> Value {
        json!({
            "rss": format!("{}/feeds/{slug}.xml", self.public_url),
            "atom": format!("{}/feeds/{slug}.atom", self.public_url),
        })
    }
}

#[async_trait]
impl Provider for Feed {
    fn id(&self) -> &'static str {
        "feed"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("feed")
    }

    fn recovery(&self) -> Recovery {
        Recovery::ResendWithSameKey
    }

    fn wants_media_bytes(&self) -> bool {
        false
    }

    fn max_concurrency(&self) -> usize {
        16
    }

    fn credentials(&self) -> Declaration {
        Declaration::of::<Credentials>("Feed")
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>("Feed")
    }

    async fn connect(&self, value: &Value) -> Result<ConnectedAccount, ProviderError> {
        let creds: Credentials = declared::read("Feed", value).map_err(ProviderError::invalid)?;
        let title = creds.title.trim().to_string();
        // Given back when reconnecting: the channel keeps its address.
        let slug = match creds.slug.as_deref() {
            Some(slug) if is_slug(slug) => slug.to_string(),
            _ => {
                let random = uuid::Uuid::new_v4().simple().to_string();
                format!("{}-{}", slugify(&title), &random[..10])
            }
        };
        Ok(ConnectedAccount {
            account_id: slug.clone(),
            username: slug.clone(),
            display_name: title.clone(),
            avatar_url: None,
            credentials: json!({
                "title": title,
                "description": creds.description.as_deref().map(str::trim).filter(|d| !d.is_empty()),
                "link": creds.link.as_deref().map(str::trim).filter(|l| !l.is_empty()),
                "slug": slug,
            }),
            token_expires_at: None,
            scopes: Vec::new(),
            profile_pending: false,
        })
    }

    /// The feed's addresses, as `feedUrls` (`rss`, `atom`).
    async fn discovered_settings(&self, value: &Value) -> Value {
        match channel(value) {
            Some(channel) => json!({ "feedUrls": self.urls(&channel.slug) }),
            None => Value::Null,
        }
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        let channel = channel(&request.credentials)
            .ok_or_else(|| ProviderError::invalid("the feed channel has no address; reconnect it"))?;
        let url = format!("{}/feeds/{}.xml", self.public_url, channel.slug);
        Ok(PublishedItem { id: request.idempotency_key.clone(), url: Some(url) }.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_become_addresses() {
        assert_eq!(slugify("Herald News!"), "herald-news");
        assert_eq!(slugify("  Ünïcode — ok  "), "n-code-ok");
        assert_eq!(slugify("!!!"), "feed");
        assert!(is_slug("herald-news-0a1b2c3d4e"));
        assert!(!is_slug("../etc") && !is_slug("ab") && !is_slug("UPPER"));
    }
}

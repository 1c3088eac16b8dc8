//! `hashnode`: articles on a Hashnode blog through its GraphQL API
//! (<https://apidocs.hashnode.com>, `POST https://gql.hashnode.com`) with a
//! personal access token (Settings → Developer), sent as `Authorization: <token>`.
//!
//! Connecting reads the user and their publications (`me`); the blog is the
//! `publicationId` given, or the first one. An article's title is the
//! `title` setting or the post's first line, the rest its Markdown
//! (`publishPost`). Hashnode takes images by URL only: the post's images
//! are linked from `MAIN_URL` (the first as cover, unless `coverImageUrl`
//! is set). GraphQL answers `200` with `errors` for refusals; their
//! `extensions.code` says which. Views, reactions and responses come from
//! the post.

use async_trait::async_trait;
use chrono::Utc;
use garde::Validate;
use herald_core::platform::PlatformRules;
use reqwest::StatusCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::article::split_title;
use crate::declared::{self, Declaration};
use crate::http::{classify_status, excerpt, retry_after};
use crate::{
    ConnectedAccount, ErrorClass, HttpClient, Metrics, Provider, ProviderError, ProviderSettings, PublishRequest,
    PublishedItem,
};

pub const DEFAULT_API_BASE: &str = "https://gql.hashnode.com";
const MAX_TAGS: usize = 5;

const ME: &str =
    "query Me { me { id username name profilePicture publications(first: 20) { edges { node { id title url } } } } }";
const PUBLISH: &str =
    "mutation PublishPost($input: PublishPostInput!) { publishPost(input: $input) { post { id slug url title } } }";
const STATS: &str = "query Post($id: ID!) { post(id: $id) { id views reactionCount responseCount } }";

pub struct Hashnode {
    client: HttpClient,
    api: String,
}

impl Hashnode {
    pub fn new(client: HttpClient, settings: &ProviderSettings) -> Self {
        Self { client, api: settings.api_base("hashnode", DEFAULT_API_BASE) }
    }
}

/// What connecting asks for (and what is stored).
#[derive(Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Credentials {
    /// Hashnode → Settings → Developer → Generate new token.
    #[schemars(title = "Personal access token", extend("writeOnly" = true))]
    access_token: String,
    /// The blog to publish on (its id, from the blog's dashboard URL); your first blog otherwise.
    #[schemars(title = "Publication id")]
    publication_id: Option<String>,
}

fn credentials(value: &Value) -> Result<Credentials, ProviderError> {
    serde_json::from_value(value.clone()).map_err(|_| ProviderError::invalid("Hashnode credentials need `accessToken`"))
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Settings {
    /// The article's title (the post's first line otherwise).
    #[garde(length(chars, max = 250))]
    title: Option<String>,
    /// A line under the title.
    #[garde(length(chars, max = 250))]
    subtitle: Option<String>,
    /// Up to 5 tags, as slugs (`rust`, `web-development`).
    #[garde(length(max = 5), inner(pattern(r"^[a-z0-9][a-z0-9-]{0,49}$")))]
    tags: Vec<String>,
    /// The cover image (the post's first image otherwise).
    #[garde(custom(declared::http_url))]
    #[schemars(url)]
    cover_image_url: Option<String>,
    /// Where the article first appeared, if elsewhere.
    #[garde(custom(declared::http_url))]
    #[schemars(url)]
    original_article_url: Option<String>,
}

/// A refusal in GraphQL's `errors`, by its `extensions.code`.
fn graphql_error(errors: &Value) -> ProviderError {
    let first = &errors[0];
    let code = first["extensions"]["code"].as_str().unwrap_or_default();
    let shown = format!(
        "Hashnode refused it ({}): {}",
        if code.is_empty() { "error" } else { code },
        first["message"].as_str().unwrap_or("no message")
    );
    match code {
        "UNAUTHENTICATED" => {
            ProviderError::new(ErrorClass::Revoked, format!("{shown} — the token was revoked; reconnect"))
        }
        "FORBIDDEN" => ProviderError::new(
            ErrorClass::Revoked,
            format!("{shown} — the account may no longer publish on this blog; reconnect"),
        ),
        "INTERNAL_SERVER_ERROR" => ProviderError::new(ErrorClass::Retryable { after: None }, shown),
        _ => ProviderError::invalid(shown),
    }
}

impl Hashnode {
    async fn query(&self, token: &str, query: &str, variables: Value) -> Result<Value, ProviderError> {
        let request = self
            .client
            .inner()
            .post(&self.api)
            .header("authorization", token.trim())
            .json(&json!({ "query": query, "variables": variables }));
        let response = self.client.send(request).await?;
        let status = response.status();
        let wait = retry_after(response.headers(), Utc::now());
        let text = response.text().await.unwrap_or_default();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if value["errors"].as_array().is_some_and(|e| !e.is_empty()) {
            return Err(graphql_error(&value["errors"]));
        }
        if !status.is_success() {
            let shown = format!("Hashnode answered {}: {}", status.as_u16(), excerpt(&text));
            return Err(ProviderError::new(classify_status(status, wait), shown));
        }
        if status != StatusCode::OK || value["data"].is_null() {
            return Err(ProviderError::new(
                ErrorClass::Unknown,
                format!("Hashnode answered without data: {}", excerpt(&text)),
            ));
        }
        Ok(value["data"].clone())
    }
}

#[async_trait]
impl Provider for Hashnode {
    fn id(&self) -> &'static str {
        "hashnode"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("hashnode")
    }

    fn wants_media_bytes(&self) -> bool {
        false
    }

    fn credentials(&self) -> Declaration {
        Declaration::of::<Credentials>("Hashnode")
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>("Hashnode")
    }

    async fn connect(&self, value: &Value) -> Result<ConnectedAccount, ProviderError> {
        let creds = credentials(value)?;
        let me = self.query(&creds.access_token, ME, json!({})).await?["me"].clone();
        let blogs: Vec<Value> =
            me["publications"]["edges"].as_array().into_iter().flatten().map(|edge| edge["node"].clone()).collect();
        let wanted = creds.publication_id.as_deref().map(str::trim).filter(|id| !id.is_empty());
        let blog = match wanted {
            Some(id) => blogs
                .iter()
                .find(|blog| blog["id"] == id)
                .ok_or_else(|| ProviderError::invalid(format!("`{id}` is not one of this account's blogs")))?,
            None => blogs
                .first()
                .ok_or_else(|| ProviderError::invalid("this Hashnode account has no blog to publish on"))?,
        };
        let blog_id = blog["id"].as_str().unwrap_or_default().to_string();
        let username = me["username"].as_str().unwrap_or_default().to_string();
        Ok(ConnectedAccount {
            account_id: blog_id.clone(),
            display_name: blog["title"].as_str().filter(|t| !t.trim().is_empty()).unwrap_or(&username).to_string(),
            username,
            avatar_url: me["profilePicture"].as_str().filter(|u| u.starts_with("https://")).map(str::to_string),
            credentials: json!({ "accessToken": creds.access_token.trim(), "publicationId": blog_id }),
            token_expires_at: None,
            scopes: Vec::new(),
            profile_pending: false,
        })
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        let creds = credentials(&request.credentials)?;
        let settings: Settings = declared::read("Hashnode", &request.settings).map_err(ProviderError::invalid)?;
        let article = split_title(&request.content, settings.title.as_deref());
        if article.title.chars().count() < 6 {
            return Err(ProviderError::invalid(
                "a Hashnode article needs a title of at least 6 characters (the `title` setting or the first line)",
            ));
        }
        let publication = creds
            .publication_id
            .clone()
            .ok_or_else(|| ProviderError::new(ErrorClass::Revoked, "the blog is unknown; reconnect"))?;
        let mut markdown = article.body.clone();
        let mut images = request.media.iter().map(|m| (m.url.clone(), m.alt_text.clone())).collect::<Vec<_>>();
        images.extend(
            request
                .media_urls
                .iter()
                .filter(|u| !request.media.iter().any(|m| &m.url == *u))
                .map(|u| (u.clone(), None)),
        );
        let cover = settings.cover_image_url.clone().or_else(|| images.first().map(|(url, _)| url.clone()));
        for (url, alt) in images.iter().skip(usize::from(settings.cover_image_url.is_none())) {
            let alt = alt.as_deref().unwrap_or_default().replace(['[', ']'], "");
            markdown.push_str(&format!("\n\n![{alt}]({url})"));
        }
        let tags: Vec<Value> =
            settings.tags.iter().take(MAX_TAGS).map(|slug| json!({"slug": slug, "name": slug})).collect();
        let mut input = json!({
            "title": article.title,
            "publicationId": publication,
            "contentMarkdown": if markdown.trim().is_empty() { article.title.clone() } else { markdown.trim().to_string() },
            "tags": tags,
        });
        if let Some(cover) = cover {
            input["coverImageOptions"] = json!({ "coverImageURL": cover });
        }
        if let Some(subtitle) = &settings.subtitle {
            input["subtitle"] = json!(subtitle);
        }
        if let Some(original) = &settings.original_article_url {
            input["originalArticleURL"] = json!(original);
        }
        let data = self.query(&creds.access_token, PUBLISH, json!({ "input": input })).await?;
        let post = &data["publishPost"]["post"];
        let id = post["id"]
            .as_str()
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Hashnode did not return the post id"))?;
        Ok(PublishedItem { id: id.to_string(), url: post["url"].as_str().map(str::to_string) }.into())
    }

    fn has_metrics(&self) -> bool {
        true
    }

    async fn fetch_metrics(&self, value: &Value, item: &PublishedItem) -> Result<Metrics, ProviderError> {
        let creds = credentials(value)?;
        let data = self.query(&creds.access_token, STATS, json!({ "id": item.id })).await?;
        let post = &data["post"];
        let count = |field: &str| post[field].as_i64().unwrap_or(0);
        Ok(Metrics::from([
            ("views".to_string(), count("views")),
            ("likes".to_string(), count("reactionCount")),
            ("replies".to_string(), count("responseCount")),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphql_refusals_are_classified_by_code() {
        let error = |code: &str| json!([{"message": "m", "extensions": {"code": code}}]);
        assert_eq!(graphql_error(&error("UNAUTHENTICATED")).class, ErrorClass::Revoked);
        assert_eq!(graphql_error(&error("FORBIDDEN")).class, ErrorClass::Revoked);
        let invalid = graphql_error(&error("BAD_USER_INPUT"));
        assert_eq!(
            (invalid.class, invalid.message.as_str()),
            (ErrorClass::Invalid, "Hashnode refused it (BAD_USER_INPUT): m")
        );
        assert_eq!(graphql_error(&error("INTERNAL_SERVER_ERROR")).class, ErrorClass::Retryable { after: None });
    }
}

//! Postiz's public API (`/public/v1`) over Herald's own use cases, so that
//! people who automate Postiz (its `postiz` CLI, n8n, Make, scripts) switch
//! by changing one URL. Nothing here publishes, validates or stores on its
//! own: requests are translated into Herald's inputs, answers into Postiz's
//! shapes. A "post" of Postiz is one account's post, which is Herald's
//! delivery (target) of a post to that account; Postiz's "group" is
//! Herald's post, or the posts one request made together.

pub mod body;
pub mod settings;
pub mod views;

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use herald_core::ValidationErrors;
use herald_core::api_key::Scope;
use herald_core::integration::IntegrationStatus;
use herald_core::post::{PostStatus, TargetStatus};
use herald_core::schedule::parse_timestamp;
use herald_store::IntegrationRow;
use herald_store::content::decode;
use herald_store::repo::{Integrations, Media, Posts};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::App;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::media::MediaView;
use crate::posts::ListPostsQuery;
use crate::views::PostView;
use body::{MediaRef, PostizCreatePost};
use views::*;

/// Said on each created post when the request asked for short links.
const NO_SHORTENER: &str =
    "shortLink was not applied: Herald has no link shortener yet, so links are posted as written";

impl App {
    /// `GET /public/v1/integrations`.
    pub async fn postiz_integrations(&self, caller: &Caller) -> AppResult<Vec<PostizIntegration>> {
        caller.require(Scope::IntegrationsRead)?;
        let rows = Integrations(self.store.conn()).list(caller.workspace_id).await?;
        let customers = herald_store::repo::Customers(self.store.conn()).list(caller.workspace_id).await?;
        Ok(rows
            .iter()
            .map(|row| PostizIntegration {
                customer: customers
                    .iter()
                    .find(|c| Some(c.id) == row.customer_id)
                    .map(|c| PostizCustomer { id: c.id, name: c.name.clone() }),
                id: row.id,
                name: row.display_name.clone(),
                identifier: row.platform.clone(),
                picture: row.avatar_url.clone(),
                disabled: row.status != IntegrationStatus::Active,
                profile: row.platform_username.clone(),
                status: row.status.as_str().to_string(),
            })
            .collect())
    }

    async fn postiz_integration(&self, caller: &Caller, id: Uuid) -> AppResult<IntegrationRow> {
        Integrations(self.store.conn()).get(caller.workspace_id, id).await?.ok_or(AppError::NotFound("integration"))
    }

    /// `GET /public/v1/integration-settings/{id}`: `{output: {rules,
    /// maxLength, settings, tools}}` — the limits, the JSON Schema of the
    /// settings this account's posts take (Postiz's names and Herald's),
    /// and the tools `integration-trigger` answers.
    pub async fn postiz_integration_settings(&self, caller: &Caller, id: Uuid) -> AppResult<Value> {
        caller.require(Scope::IntegrationsRead)?;
        let row = self.postiz_integration(caller, id).await?;
        let provider = self.providers.get(&row.platform).ok_or(AppError::NotFound("platform"))?;
        let rules = provider.rules();
        let max_length = row.settings.get("maxLength").and_then(Value::as_u64).unwrap_or(rules.max_length as u64);
        let mut schema = provider.settings().schema();
        let postiz_names = settings::postiz_names(&row.platform);
        if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
            for name in &postiz_names {
                properties
                    .entry((*name).to_string())
                    .or_insert_with(|| json!({"description": "Postiz's name for this setting; Herald maps it"}));
            }
        }
        let media = if rules.max_media == 0 {
            "no media".to_string()
        } else {
            format!("up to {} media files ({})", rules.max_media, rules.media_types.join(", "))
        };
        let text = format!(
            "{}: at most {max_length} characters per item, {media}{}{}",
            rules.name,
            if rules.requires_media { ", media required" } else { "" },
            if rules.supports_threads { "; comments/thread replies are published as replies" } else { "" },
        );
        Ok(json!({
            "output": {
                "identifier": row.platform,
                "rules": text,
                "maxLength": max_length,
                "maxMedia": rules.max_media,
                "mediaTypes": rules.media_types,
                "requiresMedia": rules.requires_media,
                "supportsThreads": rules.supports_threads,
                "settings": schema,
                "tools": tools_of(provider.as_ref()),
            }
        }))
    }

    /// `POST /public/v1/integration-trigger/{id}`: `{output}` of one of the
    /// account's tools, asked of the platform with its credentials; a 422
    /// naming the tools there are otherwise.
    pub async fn postiz_trigger(&self, caller: &Caller, id: Uuid, input: PostizTrigger) -> AppResult<Value> {
        caller.require(Scope::IntegrationsRead)?;
        let row = self.postiz_integration(caller, id).await?;
        let provider = self.providers.get(&row.platform).ok_or(AppError::NotFound("platform"))?;
        let wanted = input.method_name.trim();
        let Some(tool) = provider.tools().iter().find(|t| t.method == wanted) else {
            let known: Vec<&str> = provider.tools().iter().map(|t| t.method).collect();
            let offered = if known.is_empty() { "none".to_string() } else { known.join(", ") };
            return Err(herald_core::ValidationError::new(
                "methodName",
                format!("`{wanted}` is not a tool Herald has for {} accounts (tools: {offered})", row.platform),
            )
            .into());
        };
        let data = input.data.unwrap_or_else(|| json!({}));
        if !data.is_object() {
            return Err(herald_core::ValidationError::new("data", "must be an object").into());
        }
        if let Some((key, _)) = tool.data.iter().find(|(key, _)| data.get(*key).is_none_or(Value::is_null)) {
            return Err(herald_core::ValidationError::new(format!("data.{key}"), "is required").into());
        }
        if row.status == IntegrationStatus::NeedsReconnect {
            return Err(AppError::Conflict(format!("reconnect this {} account first", row.platform)));
        }
        let credentials = self.stored_credentials(&row)?;
        match provider.run_tool(&credentials, tool.method, &data).await {
            Ok(output) => Ok(json!({ "output": output })),
            Err(error) if matches!(error.class, herald_providers::ErrorClass::Invalid) => {
                Err(herald_core::ValidationError::new("data", error.message).into())
            }
            Err(error) => {
                tracing::warn!(integration_id = %row.id, tool = tool.method, %error, "a tool failed");
                Err(AppError::PlatformUnavailable(format!(
                    "{} did not answer: {}",
                    provider.rules().name,
                    error.message
                )))
            }
        }
    }

    /// `GET /public/v1/posts`: each account's post due in the range.
    pub async fn postiz_list_posts(&self, caller: &Caller, query: PostizPostsQuery) -> AppResult<PostizPostList> {
        caller.require(Scope::PostsRead)?;
        let mut errors = ValidationErrors::default();
        let customer = query.customer.as_deref().map(str::trim).filter(|c| !c.is_empty()).and_then(|raw| {
            let parsed = Uuid::parse_str(raw).ok();
            if parsed.is_none() {
                errors.push("customer", format!("`{raw}` is not a customer id"));
            }
            parsed
        });
        let now = self.now();
        let parse = |field: &str, raw: Option<&str>, default: DateTime<Utc>, errors: &mut ValidationErrors| match raw {
            Some(raw) => errors.collect(parse_timestamp(field, &body::with_offset(raw.trim()))).unwrap_or(default),
            None => default,
        };
        let from = parse("startDate", query.start_date.as_deref(), now - Duration::days(30), &mut errors);
        let to = parse("endDate", query.end_date.as_deref(), now + Duration::days(30), &mut errors);
        errors.into_result()?;
        let integrations: HashMap<Uuid, IntegrationRow> = Integrations(self.store.conn())
            .list(caller.workspace_id)
            .await?
            .into_iter()
            .map(|row| (row.id, row))
            .collect();
        let mut posts = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .list_posts(
                    caller,
                    ListPostsQuery {
                        from: Some(from.to_rfc3339()),
                        to: Some(to.to_rfc3339()),
                        customer: customer.map(|c| c.to_string()),
                        limit: Some(100),
                        cursor: cursor.take(),
                        ..Default::default()
                    },
                )
                .await?;
            let ids: Vec<Uuid> = page.posts.iter().map(|p| p.id).collect();
            let groups: HashMap<Uuid, Uuid> = Posts(self.store.conn())
                .by_ids(&ids)
                .await?
                .into_iter()
                .filter_map(|row| row.group_id.map(|group| (row.id, group)))
                .collect();
            // The page's uploads in one query.
            let media_ids: Vec<Uuid> = page.posts.iter().flat_map(|p| p.media_ids.iter().copied()).collect();
            let media: HashMap<Uuid, String> = Media(self.store.conn())
                .find_many(caller.workspace_id, &media_ids)
                .await?
                .iter()
                .map(|row| (row.id, self.media_view(row).url))
                .collect();
            for post in &page.posts {
                let group = groups.get(&post.id).copied().unwrap_or(post.id);
                // A customer's view holds only their accounts' deliveries.
                let theirs =
                    |id: &Uuid| customer.is_none() || integrations.get(id).is_some_and(|i| i.customer_id == customer);
                posts.extend(
                    postiz_posts_of(post, group, &integrations, &media)
                        .into_iter()
                        .filter(|p| theirs(&p.integration.id)),
                );
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        posts.sort_by(|a, b| a.publish_date.cmp(&b.publish_date).then(a.id.cmp(&b.id)));
        Ok(PostizPostList { posts })
    }

    /// `POST /public/v1/posts`.
    pub async fn postiz_create_posts(&self, caller: &Caller, body: PostizCreatePost) -> AppResult<Vec<PostizCreated>> {
        caller.require(Scope::PostsWrite)?;
        // Only the accounts the request names: each costs a settings schema
        // (and, for Discord, a decryption).
        let named: Vec<Uuid> =
            body.posts.iter().filter_map(|entry| Uuid::parse_str(entry.integration.id.trim()).ok()).collect();
        let rows = Integrations(self.store.conn()).find_many(caller.workspace_id, &named).await?;
        let accounts: HashMap<Uuid, body::Account> = rows
            .iter()
            .map(|row| {
                let schema = self.providers.get(&row.platform).map(|p| p.settings().schema()).unwrap_or_default();
                let account = body::Account {
                    platform: row.platform.clone(),
                    setting_names: setting_names(&schema),
                    open_settings: schema.get("additionalProperties") == Some(&Value::Bool(true)),
                    channel: (row.platform == "discord")
                        .then(|| self.stored_credentials(row).ok())
                        .flatten()
                        .and_then(|c| c["channelId"].as_str().map(str::to_string)),
                };
                (row.id, account)
            })
            .collect();
        self.refuse_postiz_edits(caller, &body).await?;
        let media = self.postiz_media_refs(caller, &body).await?;
        let mut errors = ValidationErrors::default();
        let plan = body::plan(&body, &accounts, &media, &mut errors);
        errors.into_result()?;
        let inputs: Vec<_> = plan.posts.iter().map(|(input, _)| input.clone()).collect();
        let views = match self.create_posts(caller, inputs, herald_core::post::CreatedVia::Api).await {
            Ok(views) => views,
            Err(AppError::Validation { errors, .. }) => {
                let renamed: Vec<_> = errors
                    .into_iter()
                    .map(|e| herald_core::ValidationError::new(body::postiz_field(&e.field, &plan.posts), e.message))
                    .collect();
                return Err(ValidationErrors(renamed).into());
            }
            Err(other) => return Err(other),
        };
        let notice = body.short_link.then_some(NO_SHORTENER);
        let mut created: Vec<(usize, PostizCreated)> = Vec::new();
        // Posts made together share their group; a lone post is its own.
        let shared = match views.as_slice() {
            [first, _, ..] => {
                Posts(self.store.conn()).get(caller.workspace_id, first.id).await?.and_then(|p| p.group_id)
            }
            _ => None,
        };
        for (view, (input, entries)) in views.iter().zip(&plan.posts) {
            let group = shared.unwrap_or(view.id);
            for (integration, entry) in input.platforms.iter().zip(entries) {
                if let Some(target) = view.targets.iter().find(|t| t.integration_id == *integration) {
                    created
                        .push((*entry, PostizCreated { post_id: target.id, integration: *integration, group, notice }));
                }
            }
        }
        created.sort_by_key(|(entry, _)| *entry);
        Ok(created.into_iter().map(|(_, c)| c).collect())
    }

    /// Postiz edits a post by sending it again with its `group`; Herald
    /// would make a second post, so a group naming one of the workspace's
    /// posts is refused. New posts carry random groups: those pass.
    async fn refuse_postiz_edits(&self, caller: &Caller, body: &PostizCreatePost) -> AppResult<()> {
        let posts = Posts(self.store.conn());
        let mut errors = ValidationErrors::default();
        for (index, entry) in body.posts.iter().enumerate() {
            let Some(group) = entry.group.as_deref().and_then(|g| Uuid::parse_str(g.trim()).ok()) else { continue };
            let exists = posts.get(caller.workspace_id, group).await?.is_some()
                || !posts.in_group(caller.workspace_id, group).await?.is_empty();
            if exists {
                errors.push(
                    format!("posts[{index}].group"),
                    "names a post that exists: edit it with PUT /api/posts/{id}, or delete it (DELETE /public/v1/posts/{id}) and create it again",
                );
            }
        }
        Ok(errors.into_result()?)
    }

    /// Resolves every image `path` of a request: a file of this
    /// workspace's library (matched by the path Herald answered), or an
    /// outside http(s) URL. Anything else is refused with the reason.
    async fn postiz_media_refs(
        &self,
        caller: &Caller,
        body: &PostizCreatePost,
    ) -> AppResult<HashMap<String, Result<MediaRef, String>>> {
        let uploads_prefix = format!("{}/uploads/", self.settings.main_url.trim_end_matches('/'));
        let paths: Vec<String> = body
            .posts
            .iter()
            .flat_map(|entry| &entry.value)
            .flat_map(|item| &item.image)
            .map(|image| image.path.trim().to_string())
            .collect();
        let own_key = |path: &str| -> Option<String> {
            let key = path.strip_prefix(&uploads_prefix).or_else(|| path.strip_prefix("/uploads/"))?;
            crate::media::is_storage_key(key).then(|| key.to_string())
        };
        let keys: Vec<String> = paths.iter().filter_map(|p| own_key(p)).collect();
        let rows = Media(self.store.conn()).find_by_keys(caller.workspace_id, &keys).await?;
        let by_key: HashMap<&str, Uuid> = rows.iter().map(|row| (row.storage_key.as_str(), row.id)).collect();
        Ok(paths
            .into_iter()
            .map(|path| {
                let resolved = match own_key(&path) {
                    Some(key) => by_key
                        .get(key.as_str())
                        .map(|id| MediaRef::Upload(*id))
                        .ok_or_else(|| "is not a file uploaded to this workspace".to_string()),
                    None if path.starts_with("https://") || path.starts_with("http://") => {
                        Ok(MediaRef::Url(path.clone()))
                    }
                    None => Err(format!(
                        "`{path}` is not a URL: upload the file first (POST /public/v1/upload, or `postiz upload`) and use the `path` it answers"
                    )),
                };
                (path, resolved)
            })
            .collect())
    }

    /// `DELETE /public/v1/posts/{id}`: the whole group the post is in, as
    /// Postiz does. `id` is an account's post (as listed) or a group.
    pub async fn postiz_delete(&self, caller: &Caller, id: Uuid) -> AppResult<PostizDeleted> {
        caller.require(Scope::PostsWrite)?;
        let posts = Posts(self.store.conn());
        let post_id = match posts.target_in(caller.workspace_id, id).await? {
            Some(target) => target.post_id,
            None => id,
        };
        let (group, members) = match posts.get(caller.workspace_id, post_id).await? {
            Some(post) => match post.group_id {
                Some(group) => (group, posts.in_group(caller.workspace_id, group).await?),
                None => (post.id, vec![post]),
            },
            None => {
                let members = posts.in_group(caller.workspace_id, id).await?;
                if members.is_empty() {
                    return Err(AppError::NotFound("post"));
                }
                (id, members)
            }
        };
        // Each goes on its own; one being published right now stops the
        // rest before anything went.
        if members.iter().any(|m| m.status == PostStatus::Publishing) {
            return Err(AppError::Conflict(
                "a post of this group is being published right now; try again shortly".into(),
            ));
        }
        for member in &members {
            self.delete_post(caller, member.id).await?;
        }
        Ok(PostizDeleted {
            success: true,
            message: format!("deleted {} post(s)", members.len()),
            group,
            deleted: members.len(),
        })
    }

    /// `GET /public/v1/find-slot/{id}`.
    pub async fn postiz_find_slot(&self, caller: &Caller, id: Uuid) -> AppResult<PostizSlot> {
        let slot = self.next_slot(caller, id).await?;
        Ok(PostizSlot { date: slot.slot.to_rfc3339_opts(chrono::SecondsFormat::Millis, true) })
    }

    /// `GET /public/v1/analytics/{integrationId}?date=`: per metric, one
    /// point a day (posts published, and the engagement platforms report).
    pub async fn postiz_integration_analytics(
        &self,
        caller: &Caller,
        id: Uuid,
        query: PostizAnalyticsQuery,
    ) -> AppResult<Vec<PostizMetric>> {
        let days = days_of(query.date.as_deref())?;
        let analytics = self.integration_analytics(caller, id, Some(days)).await?;
        let mut names: Vec<String> = analytics
            .daily
            .iter()
            .flat_map(|d| d.metrics.keys().cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        names.insert(0, "posts".into());
        Ok(names
            .into_iter()
            .map(|name| {
                let data: Vec<PostizPoint> = analytics
                    .daily
                    .iter()
                    .map(|d| PostizPoint {
                        total: if name == "posts" {
                            i64::from(d.published)
                        } else {
                            d.metrics.get(&name).copied().unwrap_or(0)
                        },
                        date: d.date.to_string(),
                    })
                    .collect();
                metric(&name, data)
            })
            .collect())
    }

    /// `GET /public/v1/analytics/post/{id}?date=`: the engagement of one
    /// account's post, or `{"missing": true}` when it went out but the
    /// platform's id of it is not known.
    pub async fn postiz_post_analytics(
        &self,
        caller: &Caller,
        id: Uuid,
        query: PostizAnalyticsQuery,
    ) -> AppResult<Value> {
        days_of(query.date.as_deref())?;
        caller.require(Scope::AnalyticsRead)?;
        let target = self.postiz_target(caller, id).await?;
        let analytics = self.post_analytics(caller, target.post_id).await?;
        let Some(mine) = analytics.targets.iter().find(|t| t.integration_id == target.integration_id) else {
            return Ok(json!([]));
        };
        if is_missing(mine.status, &mine.platform_post_ids) {
            return Ok(json!({ "missing": true }));
        }
        let date = mine.metrics_fetched_at.unwrap_or_else(|| self.now()).date_naive().to_string();
        let metrics: Vec<PostizMetric> = mine
            .metrics
            .iter()
            .map(|(name, value)| metric(name, vec![PostizPoint { total: *value, date: date.clone() }]))
            .collect();
        Ok(serde_json::to_value(metrics).unwrap_or_else(|_| json!([])))
    }

    /// An account's post (a target) by its id, or the first account's post
    /// of a Herald post by the post's id.
    async fn postiz_target(&self, caller: &Caller, id: Uuid) -> AppResult<herald_store::TargetRow> {
        let posts = Posts(self.store.conn());
        if let Some(target) = posts.target_in(caller.workspace_id, id).await? {
            return Ok(target);
        }
        if posts.get(caller.workspace_id, id).await?.is_some() {
            let targets = posts.targets_of(&[id]).await?;
            if let Some(first) = targets.into_iter().next() {
                return Ok(first.target);
            }
        }
        Err(AppError::NotFound("post"))
    }

    /// `GET /public/v1/posts/{id}/missing`: what the platform has that the
    /// post could be. Herald keeps the platform's id of everything it
    /// publishes, and no provider lists an account's content, so this is
    /// always empty (Postiz answers the same for such providers).
    pub async fn postiz_missing(&self, caller: &Caller, id: Uuid) -> AppResult<Vec<PostizMissingItem>> {
        caller.require(Scope::PostsRead)?;
        self.postiz_target(caller, id).await?;
        Ok(Vec::new())
    }

    /// `PUT /public/v1/posts/{id}/release-id`: records the platform's id of
    /// a post that went out without one, or that Herald could not confirm
    /// (`UNCONFIRMED` — this confirms it).
    pub async fn postiz_set_release_id(&self, caller: &Caller, id: Uuid, input: PostizReleaseId) -> AppResult<Value> {
        caller.require(Scope::PostsPublish)?;
        let release_id = input.release_id.trim().to_string();
        if release_id.is_empty() || release_id.len() > 256 || release_id.chars().any(char::is_control) {
            return Err(herald_core::ValidationError::new(
                "releaseId",
                "must be the platform's id of the post (1–256 characters)",
            )
            .into());
        }
        let target = self.postiz_target(caller, id).await?;
        let ids: Vec<String> = decode(&target.platform_post_ids, "post_targets.platform_post_ids", target.id)?;
        if !is_missing(target.status, &ids) {
            return Err(AppError::Conflict(format!(
                "this post is {} {}; only a post that went out without the platform's id can be given one",
                target.status.as_str(),
                if ids.is_empty() { "" } else { "and already has the platform's id" }
            )));
        }
        let now = self.now();
        let txn = self.store.begin_write().await?;
        let posts = Posts(&txn);
        let updated = herald_store::TargetRow {
            status: TargetStatus::Published,
            platform_post_ids: json!([release_id]),
            published_at: target.published_at.or(Some(now)),
            last_error_class: None,
            last_error_message: None,
            updated_at: now,
            ..target
        };
        let updated = posts.update_target(updated).await?;
        posts.recompute_status(updated.post_id, now).await?;
        txn.commit().await.map_err(AppError::internal)?;
        tracing::info!(target_id = %updated.id, "release id recorded");
        Ok(json!({ "success": true, "id": updated.id, "releaseId": release_id }))
    }
}

impl App {
    /// An integration's credentials, decrypted (`Null` when it has none).
    pub(crate) fn stored_credentials(&self, row: &IntegrationRow) -> AppResult<Value> {
        let Some(sealed) = row.credentials.as_deref() else { return Ok(Value::Null) };
        let plain = self.vault.decrypt(sealed, row.id.as_bytes()).map_err(AppError::internal)?;
        serde_json::from_slice(&plain).map_err(AppError::internal)
    }
}

/// One Postiz post per account of a Herald post; `media` holds the URLs of
/// the page's uploads.
fn postiz_posts_of(
    post: &PostView,
    group: Uuid,
    integrations: &HashMap<Uuid, IntegrationRow>,
    media: &HashMap<Uuid, String>,
) -> Vec<PostizPost> {
    let mut image: Vec<PostizImageView> =
        post.media_urls.iter().map(|url| PostizImageView { id: url.clone(), path: url.clone() }).collect();
    image.extend(
        post.media_ids
            .iter()
            .filter_map(|id| media.get(id).map(|url| PostizImageView { id: id.to_string(), path: url.clone() })),
    );
    post.targets
        .iter()
        .filter(|t| t.status != TargetStatus::Cancelled)
        .map(|target| {
            let integration = integrations.get(&target.integration_id);
            PostizPost {
                id: target.id,
                group,
                content: target.content.clone().unwrap_or_else(|| post.content.clone()),
                publish_date: target
                    .published_at
                    .or(post.scheduled_for)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
                state: state_of(post.status, target.status),
                release_url: target.url.clone(),
                release_id: target.platform_post_ids.first().cloned(),
                error: target.last_error.as_ref().map(|e| e.message.clone()),
                settings: target.settings.clone(),
                tags: post.tags.iter().map(|t| PostizTagView { value: t.clone(), label: t.clone() }).collect(),
                interval_in_days: post.evergreen.as_ref().map(|e| e.every_days),
                image: image.clone(),
                integration: PostizPostIntegration {
                    id: target.integration_id,
                    provider_identifier: target.platform.clone(),
                    name: target.integration_name.clone(),
                    picture: integration.and_then(|i| i.avatar_url.clone()),
                },
            }
        })
        .collect()
}

/// Whether a target went out (or may have) without the platform's id.
fn is_missing(status: TargetStatus, ids: &[String]) -> bool {
    status == TargetStatus::Unconfirmed || (status == TargetStatus::Published && ids.is_empty())
}

/// Postiz's state of one account's post.
fn state_of(post: PostStatus, target: TargetStatus) -> &'static str {
    match (post, target) {
        (_, TargetStatus::Published) => "PUBLISHED",
        (_, TargetStatus::Failed | TargetStatus::Unconfirmed) => "ERROR",
        (PostStatus::Draft, _) => "DRAFT",
        _ => "QUEUE",
    }
}

fn metric(name: &str, data: Vec<PostizPoint>) -> PostizMetric {
    let first = data.first().map_or(0, |p| p.total);
    let last = data.last().map_or(0, |p| p.total);
    let percentage_change = if first == 0 { 0.0 } else { (last - first) as f64 * 100.0 / first as f64 };
    let mut label = name.replace('_', " ");
    if let Some(c) = label.get(..1) {
        label = c.to_uppercase() + &label[1..];
    }
    PostizMetric { label, data, percentage_change }
}

/// `?date=`: days to look back (Postiz's CLI sends `7` by default).
fn days_of(raw: Option<&str>) -> AppResult<u32> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(7),
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=365).contains(d))
            .ok_or_else(|| herald_core::ValidationError::new("date", "must be a number of days, 1–365").into()),
    }
}

/// The tools `integration-trigger` answers, in Postiz's shape
/// (`methodName`, `description`, `dataSchema`).
fn tools_of(provider: &dyn herald_providers::Provider) -> Vec<Value> {
    provider
        .tools()
        .iter()
        .map(|tool| {
            let schema: Vec<Value> = tool
                .data
                .iter()
                .map(|(key, description)| json!({"key": key, "description": description, "type": "string"}))
                .collect();
            json!({"methodName": tool.method, "description": tool.description, "dataSchema": schema})
        })
        .collect()
}

/// The property names of a settings JSON Schema.
fn setting_names(schema: &Value) -> Vec<String> {
    schema.get("properties").and_then(Value::as_object).map(|p| p.keys().cloned().collect()).unwrap_or_default()
}

/// The file name a media answer shows: the name it was uploaded with, else its key.
pub fn postiz_media(view: MediaView, name: Option<String>) -> PostizMedia {
    let name = name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| view.url.rsplit('/').next().unwrap_or_default().to_string());
    PostizMedia {
        id: view.id,
        name,
        path: view.url,
        kind: view.mime,
        size: view.size,
        alt: view.alt_text,
        thumbnail: None,
        created_at: view.created_at,
    }
}

//! One delivery: publish each item of a claimed target in order — the post,
//! then its thread as replies — saving progress after each, so that a retry
//! resumes after the last item that succeeded. An item the platform is
//! still processing is continued from the handle stored on the target.

use herald_providers::{ErrorClass, Provider, ProviderError, PublishRequest, PublishedItem, Step};
use herald_store::StoreResult;
use herald_store::content::{StoredMedia, decode, thread_of};
use serde_json::{Value, json};

use crate::Engine;
use crate::media::ItemMedia;
use crate::outcome::{Delivery, Outcome};
use crate::processing::{MAX_PROCESSING, Processing, WAIT_IN_CLAIM, WAITS_PER_CLAIM};
use uuid::Uuid;

/// One item to put on the platform.
struct Item {
    content: String,
    media_ids: Vec<Uuid>,
    media_urls: Vec<String>,
}

impl Engine {
    /// Delivers a claimed target (with its integration's credentials, read
    /// once per claim batch) and returns what the worker must write. Storage
    /// errors are logged: the lease then expires and the sweeper resolves the
    /// target. Every log line of the delivery, the provider's included,
    /// names the post, the target and the attempt.
    #[tracing::instrument(name = "deliver", skip_all, fields(
        post_id = %delivery.target.post_id,
        target_id = %delivery.target.id,
        platform = %delivery.integration.platform,
        attempt = delivery.target.attempts,
    ))]
    pub(crate) async fn deliver(
        &self,
        delivery: Delivery,
        credentials: Result<Value, ProviderError>,
    ) -> Option<Outcome> {
        let target_id = delivery.target.id;
        match self.try_deliver(delivery, credentials).await {
            Ok(outcome) => outcome,
            Err(error) => {
                tracing::error!(%target_id, %error, "delivery interrupted by a storage error; the lease will expire and be recovered");
                None
            }
        }
    }

    async fn try_deliver(
        &self,
        mut delivery: Delivery,
        credentials: Result<Value, ProviderError>,
    ) -> StoreResult<Option<Outcome>> {
        let Some(provider) = self.providers.get(&delivery.integration.platform) else {
            let message = format!("this version of Herald cannot publish to `{}`", delivery.integration.platform);
            return self.record_failure(delivery, &ProviderError::invalid(message)).await;
        };
        let mut credentials = match credentials {
            Ok(credentials) => credentials,
            Err(error) => return self.record_failure(delivery, &error).await,
        };
        // A token about to expire is renewed before it is used, not after
        // the platform refused it.
        let expiring =
            delivery.integration.token_expires_at.is_some_and(|at| at <= self.now() + crate::tokens::JUST_IN_TIME);
        if expiring {
            match self.refresh(provider.as_ref(), &delivery).await {
                Ok(fresh) => credentials = fresh,
                Err(error) => return self.record_failure(delivery, &error).await,
            }
        }
        // A stored value that cannot be read would lose the thread's
        // progress (and publish its items again): the target fails instead.
        let stored = stored_content(&delivery, provider.rules().supports_threads);
        let (items, mut done, tags) = match stored {
            Ok(stored) => stored,
            Err(error) => {
                let message = format!("this post's stored content cannot be read: {error}");
                return self.record_failure(delivery, &ProviderError::invalid(message)).await;
            }
        };
        let mut processing = match Processing::read(delivery.target.pending.as_ref()) {
            Ok(processing) => processing,
            Err(error) => {
                let message = format!("this post's processing state cannot be read: {error}");
                return self.record_failure(delivery, &ProviderError::invalid(message)).await;
            }
        };
        let resumed_at = done.len();
        let mut refreshed = expiring;
        let mut waits = 0;
        while done.len() < items.len() {
            let index = done.len();
            if index > resumed_at && !self.save_progress(&mut delivery).await? {
                return Ok(None);
            }
            let item = &items[index];
            let media = match self
                .item_media(delivery.post.workspace_id, &item.media_ids, &item.media_urls, provider.wants_media_bytes())
                .await
            {
                Ok(media) => media,
                Err(error) => return self.record_failure(delivery, &error).await,
            };
            let mut request = request_for(&delivery, &items, index, &done, &tags, &credentials, media);
            let resumed = processing.as_ref().filter(|p| p.item == index);
            request.pending = resumed.and_then(Processing::handle);
            request.interrupted = resumed.is_some_and(|p| p.interrupted);
            match provider.publish(&request).await {
                Ok(Step::Published(item)) => {
                    if index == 0 {
                        delivery.target.url = item.url.clone();
                    }
                    done.push(item.id);
                    // Saved before the next item is sent, or with the outcome.
                    delivery.target.platform_post_ids = json!(done);
                    delivery.target.pending = None;
                    processing = None;
                }
                Ok(Step::Pending(pending)) => {
                    let now = self.now();
                    let since = resumed.map_or(now, |p| p.since);
                    if now - since > crate::outcome::chrono_duration(MAX_PROCESSING) {
                        let message = format!(
                            "{} was still {} after 24 hours; publish it again",
                            delivery.integration.platform, pending.stage
                        );
                        return self.record_failure(delivery, &ProviderError::invalid(message)).await;
                    }
                    metrics::counter!("herald_processing_polls_total", "platform" => delivery.integration.platform.clone()).increment(1);
                    let state = Processing {
                        item: index,
                        handle: pending.handle,
                        stage: pending.stage,
                        since,
                        polls: resumed.map_or(0, |p| p.polls) + 1,
                        interrupted: false,
                    };
                    delivery.target.pending = Some(state.to_json());
                    processing = Some(state);
                    if pending.after > WAIT_IN_CLAIM || waits >= WAITS_PER_CLAIM {
                        return Ok(Some(self.record_waiting(delivery, pending.after)));
                    }
                    // The handle is stored before the wait, and the lease renewed.
                    if !self.save_progress(&mut delivery).await? {
                        return Ok(None);
                    }
                    waits += 1;
                    tokio::time::sleep(pending.after).await;
                }
                Err(error) if error.class == ErrorClass::AuthExpired && !refreshed => {
                    refreshed = true;
                    match self.refresh(provider.as_ref(), &delivery).await {
                        Ok(fresh) => credentials = fresh,
                        Err(error) => return self.record_failure(delivery, &error).await,
                    }
                }
                Err(error) => {
                    tracing::info!(target_id = %delivery.target.id, class = error.class.name(), %error, "delivery failed");
                    return self.record_failure(delivery, &error).await;
                }
            }
        }
        Ok(Some(self.record_published(delivery)))
    }

    /// Refreshes expired credentials and stores the new ones encrypted.
    async fn refresh(&self, provider: &dyn Provider, delivery: &Delivery) -> Result<Value, ProviderError> {
        self.renew_tokens(provider, &delivery.integration).await.map_err(refresh_failure)
    }
}

/// What a failed refresh means for the delivery. Only a refused grant asks
/// for a reconnect; a token endpoint that is rate-limiting or down (429,
/// 5xx, a timeout) is retried like any outage — nothing was published.
pub(crate) fn refresh_failure(error: ProviderError) -> ProviderError {
    match error.class {
        ErrorClass::AuthExpired | ErrorClass::Revoked | ErrorClass::Invalid => {
            ProviderError::new(ErrorClass::Revoked, error.message)
        }
        // A refresh that may have gone through published nothing either.
        class @ (ErrorClass::Retryable { .. } | ErrorClass::Unknown | ErrorClass::MaybeSent) => {
            let class = if class == ErrorClass::MaybeSent { ErrorClass::Retryable { after: None } } else { class };
            ProviderError::new(class, format!("refreshing the expired credentials failed: {}", error.message))
        }
    }
}

/// The items to publish, the platform ids of those already published, and the tags.
fn stored_content(delivery: &Delivery, supports_threads: bool) -> StoreResult<(Vec<Item>, Vec<String>, Vec<String>)> {
    let post = &delivery.post;
    let done = decode(&delivery.target.platform_post_ids, "post_targets.platform_post_ids", delivery.target.id)?;
    let tags = decode(&post.tags, "posts.tags", post.id)?;
    Ok((items_of(delivery, supports_threads)?, done, tags))
}

fn items_of(delivery: &Delivery, supports_threads: bool) -> StoreResult<Vec<Item>> {
    let media = StoredMedia::of_post(&delivery.post.media, delivery.post.id)?;
    let first = Item {
        content: delivery.target.content_override.clone().unwrap_or_else(|| delivery.post.content.clone()),
        media_ids: media.ids,
        media_urls: media.urls,
    };
    let mut items = vec![first];
    if supports_threads {
        items.extend(thread_of(&delivery.post.thread, delivery.post.id)?.into_iter().map(|t| Item {
            content: t.content,
            media_ids: t.media_ids,
            media_urls: t.media_urls,
        }));
    }
    Ok(items)
}

fn request_for(
    delivery: &Delivery,
    items: &[Item],
    index: usize,
    done: &[String],
    tags: &[String],
    credentials: &Value,
    media: ItemMedia,
) -> PublishRequest {
    let item = &items[index];
    let published = |id: &String| PublishedItem { id: id.clone(), url: None };
    PublishRequest {
        target_id: delivery.target.id,
        post_id: delivery.post.id,
        integration_id: delivery.integration.id,
        integration_name: delivery.integration.display_name.clone(),
        credentials: credentials.clone(),
        settings: delivery.target.settings.clone(),
        item_index: index,
        item_count: items.len(),
        content: item.content.clone(),
        media_urls: media.urls,
        media: media.attachments,
        tags: tags.to_vec(),
        scheduled_for: delivery.post.scheduled_for,
        root: done.first().map(published),
        reply_to: done.last().map(published),
        // Stable for this item of this target across every retry.
        idempotency_key: format!("{}-{index}", delivery.target.id),
        pending: None,
        interrupted: false,
    }
}

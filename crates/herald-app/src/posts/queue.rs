//! The queue (DESIGN §11): `status: "QUEUE"` puts each target in its
//! account's next free posting slot, after what is already queued there.
//! An account's queue can be read, reordered, shuffled and, when asked,
//! compacted (later posts move up into slots left free).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use herald_core::api_key::Scope;
use herald_store::TargetRow;
use herald_store::content::decode;
use herald_store::repo::{Integrations, Posts};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::App;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::integrations::{free_slot, zone_of};

/// One post waiting in an account's queue.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueuedPostView {
    pub post_id: Uuid,
    pub at: DateTime<Utc>,
    /// The time in the account's zone.
    pub local: String,
    /// The post's text here (its override on this account, if any).
    pub content: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueView {
    pub integration_id: Uuid,
    pub timezone: String,
    /// Daily slots, `HH:MM` in the account's zone.
    pub posting_times: Vec<String>,
    pub posts: Vec<QueuedPostView>,
    /// Where the next queued post would go.
    pub next_slot: Option<DateTime<Utc>>,
}

/// `POST /integrations/{id}/queue`: the new order (every queued post, once).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReorderInput {
    pub post_ids: Vec<Uuid>,
}

impl App {
    /// The next free slot of each integration, after its queued posts.
    pub(super) async fn queue_slots(
        &self,
        caller: &Caller,
        integration_ids: &[Uuid],
    ) -> AppResult<BTreeMap<Uuid, DateTime<Utc>>> {
        let conn = self.store.conn();
        let mut slots = BTreeMap::new();
        for row in Integrations(conn).find_many(caller.workspace_id, integration_ids).await? {
            let taken = Posts(conn).queued_times(row.id).await?;
            let latest_taken = taken.iter().max().copied();
            // After what is already queued: a gap left by a deleted post
            // stays free until the queue is compacted.
            let from = latest_taken.map_or(self.now(), |t| t.max(self.now()));
            slots.insert(row.id, free_slot(&row, from, &taken)?);
        }
        Ok(slots)
    }

    /// An account's queue: its posts waiting, in order, and the next slot.
    pub async fn queue(&self, caller: &Caller, integration_id: Uuid) -> AppResult<QueueView> {
        caller.require(Scope::PostsRead)?;
        let row = Integrations(self.store.conn())
            .get(caller.workspace_id, integration_id)
            .await?
            .ok_or(AppError::NotFound("integration"))?;
        let tz = zone_of(&row);
        let times: Vec<u16> = decode(&row.posting_times, "integrations.posting_times", row.id)?;
        let queued = Posts(self.store.conn()).queue_of(integration_id, self.now()).await?;
        let next_slot = self.queue_slots(caller, &[integration_id]).await?.remove(&integration_id);
        Ok(QueueView {
            integration_id,
            timezone: tz.name().to_string(),
            posting_times: times.iter().map(|m| format!("{:02}:{:02}", m / 60, m % 60)).collect(),
            posts: queued
                .into_iter()
                .filter_map(|(target, post)| {
                    let at = target.next_attempt_at?;
                    Some(QueuedPostView {
                        post_id: post.id,
                        at,
                        local: at.with_timezone(&tz.tz()).format("%Y-%m-%d %H:%M").to_string(),
                        content: target.content_override.unwrap_or(post.content),
                    })
                })
                .collect(),
            next_slot,
        })
    }

    /// Gives the queue's times, in order, to the posts in the order given.
    pub async fn reorder_queue(
        &self,
        caller: &Caller,
        integration_id: Uuid,
        input: ReorderInput,
    ) -> AppResult<QueueView> {
        caller.require(Scope::PostsPublish)?;
        let queued = self.queued_targets(caller, integration_id).await?;
        let mut given = input.post_ids.clone();
        given.sort();
        given.dedup();
        let mut current: Vec<Uuid> = queued.iter().map(|(t, _)| t.post_id).collect();
        current.sort();
        if given != current || given.len() != input.post_ids.len() {
            return Err(herald_core::ValidationError::new(
                "postIds",
                "name every post of this account's queue once (the queue changed? read it again)",
            )
            .into());
        }
        let times: Vec<DateTime<Utc>> = queued.iter().filter_map(|(t, _)| t.next_attempt_at).collect();
        let moves: Vec<(Uuid, Uuid, DateTime<Utc>)> = input
            .post_ids
            .iter()
            .zip(times)
            .filter_map(|(post, at)| queued.iter().find(|(t, _)| t.post_id == *post).map(|(t, _)| (t.id, *post, at)))
            .collect();
        self.move_targets(moves).await?;
        self.queue(caller, integration_id).await
    }

    /// The queue in a random order, on the same times.
    pub async fn shuffle_queue(&self, caller: &Caller, integration_id: Uuid) -> AppResult<QueueView> {
        let mut post_ids: Vec<Uuid> =
            self.queued_targets(caller, integration_id).await?.iter().map(|(t, _)| t.post_id).collect();
        post_ids.shuffle(&mut rand::rng());
        self.reorder_queue(caller, integration_id, ReorderInput { post_ids }).await
    }

    /// Closes the gaps: the queue, in its order, on the account's first
    /// free slots from now.
    pub async fn compact_queue(&self, caller: &Caller, integration_id: Uuid) -> AppResult<QueueView> {
        caller.require(Scope::PostsPublish)?;
        let row = Integrations(self.store.conn())
            .get(caller.workspace_id, integration_id)
            .await?
            .ok_or(AppError::NotFound("integration"))?;
        let queued = self.queued_targets(caller, integration_id).await?;
        let mut taken: Vec<DateTime<Utc>> = Vec::new();
        let mut moves = Vec::new();
        for (target, _) in &queued {
            let slot = free_slot(&row, self.now(), &taken)?;
            taken.push(slot);
            moves.push((target.id, target.post_id, slot));
        }
        self.move_targets(moves).await?;
        self.queue(caller, integration_id).await
    }

    async fn queued_targets(
        &self,
        caller: &Caller,
        integration_id: Uuid,
    ) -> AppResult<Vec<(TargetRow, herald_store::PostRow)>> {
        Integrations(self.store.conn())
            .get(caller.workspace_id, integration_id)
            .await?
            .ok_or(AppError::NotFound("integration"))?;
        Ok(Posts(self.store.conn()).queue_of(integration_id, self.now()).await?)
    }

    /// Moves targets (id, its post, new time) in one transaction.
    async fn move_targets(&self, moves: Vec<(Uuid, Uuid, DateTime<Utc>)>) -> AppResult<()> {
        let txn = self.store.begin_write().await?;
        let posts = Posts(&txn);
        for (target_id, _, at) in &moves {
            if !posts.move_queued_target(*target_id, *at).await? {
                return Err(AppError::Conflict(
                    "a post of this queue started publishing meanwhile; read the queue again".into(),
                ));
            }
        }
        for (_, post_id, _) in &moves {
            posts.align_scheduled_for(*post_id).await?;
        }
        txn.commit().await.map_err(AppError::internal)?;
        self.store.queue_changed().await;
        Ok(())
    }
}

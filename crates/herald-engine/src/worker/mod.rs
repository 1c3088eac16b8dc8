//! The delivery loop: sleep until the next due time (or a wake-up), claim
//! what is due within the concurrency limits and rate budgets, deliver, and
//! on shutdown finish or release what is in flight.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use herald_providers::ProviderError;
use herald_store::repo::{ClaimRequest, DueTarget, Integrations, Posts, Queue};
use herald_store::{IntegrationRow, PostRow, StoreResult, Transaction};
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinSet;
use uuid::Uuid;

mod budgets;

use self::budgets::{Budgeted, Budgets};
use crate::Engine;
use crate::outcome::{Delivery, Outcome, Recorded, chrono_duration};

/// Pause when due work exists but none may be claimed (all platforms busy
/// or budgets spent), so the loop does not spin.
const BLOCKED_PAUSE: Duration = Duration::from_millis(250);

pub struct Worker {
    engine: Engine,
    id: String,
    in_flight: JoinSet<Finished>,
    per_platform: BTreeMap<String, usize>,
    /// Outcomes of finished deliveries, written in one transaction per turn
    /// of the loop: the worker is the only writer of its hot path, so claims
    /// and outcomes never wait on each other for SQLite's write lock.
    outcomes: Vec<Outcome>,
    /// Turns in a row the outcomes could not be written.
    failed_writes: u32,
    /// Platforms whose due targets the last claim left waiting for a free
    /// slot (at their concurrency limit), and until when it is known that
    /// nothing else is due: claims then wait for those platforms' slots
    /// instead of searching the whole queue for other work at every turn.
    held_back: HeldBack,
    /// Integrations with a rate budget, as last read.
    budgets: Option<Budgets>,
}

#[derive(Default)]
struct HeldBack {
    platforms: BTreeSet<String>,
    nothing_else_until: Option<Instant>,
}

/// How long "only capped platforms have due targets" is trusted: a target
/// of another platform that falls due meanwhile waits at most this long.
const NOTHING_ELSE_FOR: Duration = Duration::from_millis(500);

/// What a delivery task hands back.
struct Finished {
    platform: String,
    outcome: Option<Outcome>,
}

/// Outcomes that could not be written this many turns in a row are given
/// up: their leases expire and the sweeper resolves the targets.
const WRITE_ATTEMPTS: u32 = 3;

impl Worker {
    pub fn new(engine: Engine) -> Self {
        let id = format!("worker-{}", &Uuid::new_v4().simple().to_string()[..12]);
        Self {
            engine,
            id,
            in_flight: JoinSet::new(),
            per_platform: BTreeMap::new(),
            outcomes: Vec::new(),
            failed_writes: 0,
            held_back: HeldBack::default(),
            budgets: None,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(worker = %self.id, concurrency = self.engine.config.concurrency, "delivery worker started");
        let signal = self.engine.store.queue_signal();
        while !*shutdown.borrow() {
            self.collect_finished();
            // Under load, claim once a few slots are free rather than for
            // every single finished delivery: fewer, larger transactions.
            let (claimable, min_claim) = self.claimable();
            if claimable < min_claim && !self.in_flight.is_empty() {
                tokio::select! {
                    _ = shutdown.changed() => {}
                    Some(done) = self.in_flight.join_next() => self.finished(done),
                }
                continue;
            }
            let claimed = match self.turn(true).await {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::error!(%error, "writing outcomes or claiming due targets failed; retrying shortly");
                    0
                }
            };
            let free = self.engine.config.concurrency.saturating_sub(self.in_flight.len());
            if claimed > 0 && free > 0 {
                continue; // more may be due right now
            }
            let wait = if free == 0 { self.engine.config.poll_interval } else { self.time_to_next_due(claimed).await };
            tokio::select! {
                _ = shutdown.changed() => {}
                () = signal.notified() => self.held_back = HeldBack::default(),
                Some(done) = self.in_flight.join_next(), if !self.in_flight.is_empty() => self.finished(done),
                () = tokio::time::sleep(wait) => {}
            }
        }
        self.drain().await;
    }

    /// Slots a claim could fill now, and the fewest worth a transaction.
    /// While only platforms at their concurrency limit have due targets,
    /// that is their free slots, not the worker's.
    fn claimable(&self) -> (usize, usize) {
        let free = self.engine.config.concurrency.saturating_sub(self.in_flight.len());
        let min_claim = (self.engine.config.concurrency / 8).max(1);
        if self.held_back.nothing_else_until.is_none_or(|until| Instant::now() >= until) {
            return (free, min_claim);
        }
        let (mut room, mut capacity) = (0, 0);
        for platform in &self.held_back.platforms {
            let cap = self.engine.platform_concurrency(platform);
            capacity += cap;
            room += cap.saturating_sub(self.per_platform.get(platform).copied().unwrap_or(0));
        }
        (room.min(free), min_claim.min((capacity / 8).max(1)))
    }

    /// Writes the outcomes of finished deliveries, claims what is due and
    /// may be taken now, and starts delivering it. Returns how many targets
    /// were claimed.
    pub async fn claim_and_start(&mut self) -> StoreResult<usize> {
        self.turn(true).await
    }

    /// Delivers everything due now, waits for it and writes the outcomes
    /// (tests drive the engine with this).
    pub async fn run_once(&mut self) -> StoreResult<usize> {
        let claimed = self.claim_and_start().await?;
        while let Some(done) = self.in_flight.join_next().await {
            self.finished(done);
        }
        self.turn(false).await?;
        Ok(claimed)
    }

    /// One transaction (one commit, one fsync on PostgreSQL): the outcomes
    /// collected so far, then, when `claim`, a claim for the free slots. The
    /// worker is the only writer of its hot path, so claims and outcomes
    /// never queue for SQLite's write lock behind each other. If the
    /// transaction fails the outcomes are kept for the next turn (a lease
    /// lost meanwhile is detected then), a few times.
    async fn turn(&mut self, claim: bool) -> StoreResult<usize> {
        self.collect_finished();
        let free = if claim { self.engine.config.concurrency.saturating_sub(self.in_flight.len()) } else { 0 };
        if free == 0 && self.outcomes.is_empty() {
            return Ok(0);
        }
        let budgets = if free > 0 { self.budgeted().await? } else { Vec::new() };
        let result = self.write_and_claim(free, budgets).await;
        let (recorded, claimed) = match result {
            Ok(done) => {
                self.outcomes.clear();
                self.failed_writes = 0;
                done
            }
            Err(error) => {
                if !self.outcomes.is_empty() {
                    self.failed_writes += 1;
                    if self.failed_writes >= WRITE_ATTEMPTS {
                        tracing::error!(
                            dropped = self.outcomes.len(),
                            "giving up writing delivery outcomes; their leases will expire and be recovered"
                        );
                        self.outcomes.clear();
                        self.failed_writes = 0;
                    }
                }
                return Err(error);
            }
        };
        if let Some(recorded) = recorded {
            self.engine.announce(recorded).await;
        }
        let count = claimed.len();
        for (delivery, credentials) in claimed {
            let platform = delivery.integration.platform.clone();
            *self.per_platform.entry(platform.clone()).or_default() += 1;
            let engine = self.engine.clone();
            self.in_flight.spawn(async move {
                let outcome = engine.deliver(delivery, credentials).await;
                Finished { platform, outcome }
            });
        }
        Ok(count)
    }

    async fn write_and_claim(
        &mut self,
        free: usize,
        budgets: Vec<Budgeted>,
    ) -> StoreResult<(Option<Recorded>, Vec<(Delivery, Result<Value, ProviderError>)>)> {
        let txn = self.engine.store.begin_write().await?;
        Queue(&txn).prefer_index_scans().await?;
        let recorded =
            if self.outcomes.is_empty() { None } else { Some(self.engine.write_outcomes(&txn, &self.outcomes).await?) };
        let claimed = if free > 0 { self.claim(&txn, free, budgets).await? } else { Vec::new() };
        txn.commit().await?;
        Ok((recorded, claimed))
    }

    /// Claims up to `free` targets within `txn`, no platform beyond its
    /// concurrency limit, with their posts and integrations (read once for
    /// the batch) and the integrations' decrypted credentials.
    async fn claim(
        &mut self,
        txn: &Transaction,
        free: usize,
        budgets: Vec<Budgeted>,
    ) -> StoreResult<Vec<(Delivery, Result<Value, ProviderError>)>> {
        let mut room: HashMap<String, usize> = self
            .engine
            .providers
            .all()
            .map(|p| {
                let busy = self.per_platform.get(p.id()).copied().unwrap_or(0);
                (p.id().to_string(), self.engine.platform_concurrency(p.id()).saturating_sub(busy))
            })
            .collect();
        let budgeted: Vec<Uuid> = budgets.iter().map(|b| b.integration).collect();
        let now = self.engine.now();
        let config = &self.engine.config;
        let mut request = ClaimRequest {
            worker: &self.id,
            now,
            lease_until: now + chrono_duration(config.lease),
            not_before: now - chrono_duration(config.missed_grace),
            limit: free as u64,
            skip_platforms: &[],
            skip_integrations: &budgeted,
            only_integration: None,
        };
        let queue = Queue(txn);
        let mut picked = Vec::new();
        let mut held_back = BTreeSet::new();
        // The oldest due targets first, whatever their platform: an index
        // range read of `free` rows.
        pick(queue.due(&request).await?, &mut room, &mut picked, &mut held_back);
        // Targets of platforms at their limit filled that window: look past
        // them for other platforms' due targets. Excluding platforms makes
        // the database read every due target of theirs, so once a look finds
        // nothing else it is not repeated for a while.
        let nothing_else = self.held_back.nothing_else_until.is_some_and(|until| Instant::now() < until);
        if held_back.is_empty() {
            self.held_back = HeldBack::default();
        } else if picked.len() < free && !nothing_else {
            let full: Vec<String> = room.iter().filter(|(_, left)| **left == 0).map(|(p, _)| p.clone()).collect();
            let limit = (free - picked.len()) as u64;
            let others = queue.due(&ClaimRequest { skip_platforms: &full, limit, ..request.clone() }).await?;
            let found = others.len() as u64;
            pick(others, &mut room, &mut picked, &mut held_back);
            let until = (found < limit).then(|| Instant::now() + NOTHING_ELSE_FOR);
            self.held_back = HeldBack { platforms: held_back, nothing_else_until: until };
        } else if nothing_else {
            self.held_back.platforms.extend(held_back);
        } else {
            self.held_back = HeldBack { platforms: held_back, nothing_else_until: None };
        }
        // Integrations with a write quota are claimed one by one, never
        // more than what is left of their budget, nor of their platform's
        // app-wide one (shared by all its integrations).
        let mut app_left: HashMap<String, usize> = HashMap::new();
        for budgeted in &budgets {
            let left = free.saturating_sub(picked.len());
            if left == 0 {
                break;
            }
            let mut remaining = match budgeted.own {
                Some(budget) => self.remaining_budget(txn, budgeted.integration, budget).await?,
                None => usize::MAX,
            };
            let app_budget = self.engine.providers.get(&budgeted.platform).and_then(|p| p.app_budget());
            if let Some(app_budget) = app_budget {
                if !app_left.contains_key(&budgeted.platform) {
                    let all: Vec<Uuid> =
                        budgets.iter().filter(|b| b.platform == budgeted.platform).map(|b| b.integration).collect();
                    let left_of_app = self.remaining_app_budget(txn, &all, app_budget).await?;
                    app_left.insert(budgeted.platform.clone(), left_of_app);
                }
                remaining = remaining.min(app_left.get(&budgeted.platform).copied().unwrap_or(0));
            }
            if remaining == 0 {
                continue;
            }
            request.only_integration = Some(budgeted.integration);
            request.skip_integrations = &[];
            request.limit = left.min(remaining) as u64;
            let before = picked.len();
            pick(queue.due(&request).await?, &mut room, &mut picked, &mut BTreeSet::new());
            if let Some(left_of_app) = app_left.get_mut(&budgeted.platform) {
                *left_of_app = left_of_app.saturating_sub(picked.len() - before);
            }
        }
        if picked.is_empty() {
            return Ok(Vec::new());
        }
        let claimed = queue.take(&picked, &self.id, request.lease_until, now).await?;
        let post_ids = sorted_unique(claimed.iter().map(|t| t.post_id));
        Posts(txn).mark_publishing(&post_ids, now).await?;
        let posts = Posts(txn).by_ids(&post_ids).await?;
        let posts: HashMap<Uuid, PostRow> = posts.into_iter().map(|p| (p.id, p)).collect();
        let integration_ids = sorted_unique(claimed.iter().map(|t| t.integration_id));
        let integrations: HashMap<Uuid, IntegrationRow> =
            Integrations(txn).by_ids(&integration_ids).await?.into_iter().map(|i| (i.id, i)).collect();
        metrics::counter!("herald_targets_claimed_total").increment(claimed.len() as u64);
        tracing::debug!(worker = %self.id, count = claimed.len(), "claimed due targets");
        let credentials: HashMap<Uuid, Result<Value, ProviderError>> =
            integrations.values().map(|i| (i.id, self.engine.decrypt_credentials(i))).collect();
        let mut deliveries = Vec::with_capacity(claimed.len());
        for target in claimed {
            let (Some(post), Some(integration), Some(credentials)) = (
                posts.get(&target.post_id),
                integrations.get(&target.integration_id),
                credentials.get(&target.integration_id),
            ) else {
                // Deletion refuses targets in flight, so this is a race with a
                // cascade we cannot act on; nothing is left to publish to.
                tracing::warn!(target_id = %target.id, "claimed target lost its post or integration");
                continue;
            };
            let delivery =
                Delivery { target, post: post.clone(), integration: integration.clone(), worker: self.id.clone() };
            deliveries.push((delivery, credentials.clone()));
        }
        Ok(deliveries)
    }

    fn finished(&mut self, done: Result<Finished, tokio::task::JoinError>) {
        match done {
            Ok(Finished { platform, outcome }) => {
                if let Some(count) = self.per_platform.get_mut(&platform) {
                    *count = count.saturating_sub(1);
                }
                self.outcomes.extend(outcome);
            }
            Err(error) => tracing::error!(%error, "a delivery task panicked; its lease will be recovered"),
        }
    }

    fn collect_finished(&mut self) {
        while let Some(done) = self.in_flight.try_join_next() {
            self.finished(done);
        }
    }

    async fn time_to_next_due(&self, claimed: usize) -> Duration {
        let poll = self.engine.config.poll_interval;
        match Queue(self.engine.store.conn()).next_due().await {
            Ok(Some(due)) => {
                let until = (due - self.engine.now()).to_std().unwrap_or(Duration::ZERO);
                if until.is_zero() && claimed == 0 { BLOCKED_PAUSE } else { until.min(poll) }
            }
            Ok(None) => poll,
            Err(error) => {
                tracing::warn!(%error, "could not read the next due time");
                poll
            }
        }
    }

    /// Stops claiming; gives deliveries in flight the shutdown grace, then
    /// aborts the rest and hands their targets to recovery at once.
    async fn drain(mut self) {
        let grace = self.engine.config.shutdown_grace;
        let deadline = tokio::time::Instant::now() + grace;
        if !self.in_flight.is_empty() {
            tracing::info!(in_flight = self.in_flight.len(), "waiting for deliveries in flight");
        }
        while !self.in_flight.is_empty() {
            match tokio::time::timeout_at(deadline, self.in_flight.join_next()).await {
                Ok(Some(done)) => self.finished(done),
                Ok(None) => break,
                Err(_) => {
                    tracing::warn!(
                        aborted = self.in_flight.len(),
                        "shutdown grace over; releasing unfinished deliveries"
                    );
                    self.in_flight.abort_all();
                    while self.in_flight.join_next().await.is_some() {}
                    break;
                }
            }
        }
        // What was delivered is written before the rest is released.
        for _ in 0..WRITE_ATTEMPTS {
            match self.turn(false).await {
                Ok(_) => break,
                Err(error) => tracing::error!(%error, "could not write delivery outcomes at shutdown"),
            }
        }
        match self.engine.release_leases_of(&self.id).await {
            Ok(0) => {}
            Ok(released) => tracing::info!(released, "released leases of unfinished deliveries"),
            Err(error) => tracing::error!(%error, "could not release leases; they will expire and be recovered"),
        }
        tracing::info!(worker = %self.id, "delivery worker stopped");
    }
}

/// Takes due targets in order while their platform has a free slot; the
/// platforms of those left are noted in `held_back`.
fn pick(
    due: Vec<DueTarget>,
    room: &mut HashMap<String, usize>,
    picked: &mut Vec<Uuid>,
    held_back: &mut BTreeSet<String>,
) {
    for target in due {
        // A target the platform holds is due in every look, budgeted or not.
        if picked.contains(&target.id) {
            continue;
        }
        match room.get_mut(&target.platform) {
            Some(left) if *left > 0 => {
                *left -= 1;
                picked.push(target.id);
            }
            // A platform without a provider is claimed all the same: the
            // delivery fails it with a clear message instead of leaving it
            // queued for ever.
            None => picked.push(target.id),
            Some(_) => {
                held_back.insert(target.platform);
            }
        }
    }
}

fn sorted_unique(ids: impl Iterator<Item = Uuid>) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_targets_are_picked_in_order_within_each_platform_limit() {
        let due =
            |platform: &str| DueTarget { id: Uuid::now_v7(), integration_id: Uuid::nil(), platform: platform.into() };
        let targets = vec![due("webhook"), due("webhook"), due("mastodon"), due("webhook"), due("unknown")];
        let ids: Vec<Uuid> = targets.iter().map(|t| t.id).collect();
        let mut room = HashMap::from([("webhook".to_string(), 2), ("mastodon".to_string(), 0)]);
        let (mut picked, mut held_back) = (Vec::new(), BTreeSet::new());
        pick(targets, &mut room, &mut picked, &mut held_back);
        assert_eq!(picked, vec![ids[0], ids[1], ids[4]]);
        assert_eq!(held_back, BTreeSet::from(["mastodon".to_string(), "webhook".to_string()]));
        assert_eq!(room["webhook"], 0);
    }
}

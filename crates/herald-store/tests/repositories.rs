#![allow(clippy::unwrap_used)] // tests fail loudly by design
//! The repositories on both databases, below the engine: claims, leases and
//! outcomes of the queue, and workspace scoping. The engine's exactly-once
//! promise rests on these statements, so they are checked here directly,
//! not only through end-to-end tests. Every scenario runs on SQLite, and on
//! PostgreSQL when `HERALD_TEST_PG_URL` names a database (`db_test!`, in a
//! schema of its own).

use chrono::{DateTime, Duration, Utc};
use herald_core::account::UserRole;
use herald_core::clock::Clock;
use herald_core::integration::IntegrationStatus;
use herald_core::post::{CreatedVia, PostStatus, TargetStatus};
use herald_store::repo::{ClaimRequest, Integrations, NewUser, PostFilter, Posts, Queue, Users};
use herald_store::{IntegrationRow, PostRow, Store, TargetRow};
use herald_testkit::{TestOptions, db_test};
use serde_json::json;
use uuid::Uuid;

/// A harness whose clock stands at [`at`]`(0)` and whose engine does not
/// run: each scenario drives the repositories itself, on `app.store`.
fn standing_still() -> TestOptions {
    TestOptions { clock: Clock::manual(at(0)), ..TestOptions::driven() }
}

/// Minutes after a fixed instant.
fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-01T09:00:00Z").map(|t| t.with_timezone(&Utc)).expect("a time")
        + Duration::minutes(minutes)
}

async fn workspace(store: &Store, email: &str) -> Uuid {
    let new = NewUser {
        email: email.into(),
        password_hash: "not a hash".into(),
        name: email.into(),
        role: UserRole::User,
        timezone: "UTC".into(),
        created_at: at(0),
    };
    let (_, membership) = Users(store.conn()).create_with_workspace(new).await.expect("a user");
    membership.workspace_id
}

async fn integration(store: &Store, workspace_id: Uuid, platform: &str, status: IntegrationStatus) -> Uuid {
    let id = Uuid::now_v7();
    let row = IntegrationRow {
        id,
        workspace_id,
        created_by: None,
        platform: platform.into(),
        platform_account_id: id.to_string(),
        platform_username: "account".into(),
        display_name: "Account".into(),
        avatar_url: None,
        credentials: None,
        token_expires_at: None,
        token_obtained_at: None,
        refresh_lease_until: None,
        access_ends_at: None,
        expiry_notice_days: None,
        scopes: json!([]),
        status,
        posting_times: json!([]),
        timezone: "UTC".into(),
        settings: json!({}),
        profile_pending: false,
        customer_id: None,
        created_at: at(0),
        updated_at: at(0),
    };
    Integrations(store.conn()).insert(row).await.expect("an integration");
    id
}

/// A scheduled post with one queued target per integration, due at `due`.
async fn post(store: &Store, workspace_id: Uuid, integrations: &[Uuid], due: DateTime<Utc>) -> (Uuid, Vec<Uuid>) {
    let post_id = Uuid::now_v7();
    let row = PostRow {
        id: post_id,
        workspace_id,
        created_by: None,
        api_key_id: None,
        created_via: CreatedVia::Api,
        content: "hello".into(),
        media: json!([]),
        thread: json!([]),
        tags: json!([]),
        status: PostStatus::Scheduled,
        scheduled_for: Some(due),
        published_at: None,
        error_message: None,
        approval_state: None,
        approval: None,
        recurrence: None,
        series_id: None,
        occurrence_at: None,
        next_occurrence_at: None,
        external_id: None,
        group_id: None,
        created_at: at(0),
        updated_at: at(0),
    };
    let targets: Vec<TargetRow> = integrations
        .iter()
        .map(|integration_id| TargetRow {
            id: Uuid::now_v7(),
            post_id,
            integration_id: *integration_id,
            content_override: None,
            content_key: None,
            settings: json!({}),
            status: TargetStatus::Queued,
            attempts: 0,
            next_attempt_at: Some(due),
            lease_owner: None,
            lease_expires_at: None,
            platform_post_ids: json!([]),
            url: None,
            last_error_class: None,
            last_error_message: None,
            published_at: None,
            pending: None,
            created_at: at(0),
            updated_at: at(0),
        })
        .collect();
    let ids = targets.iter().map(|t| t.id).collect();
    Posts(store.conn()).insert(row, targets).await.expect("a post");
    (post_id, ids)
}

fn claim_at<'a>(worker: &'a str, now: DateTime<Utc>, limit: u64) -> ClaimRequest<'a> {
    ClaimRequest {
        worker,
        now,
        lease_until: now + Duration::minutes(1),
        not_before: now - Duration::hours(24),
        limit,
        skip_platforms: &[],
        skip_integrations: &[],
        only_integration: None,
    }
}

async fn claim(store: &Store, request: &ClaimRequest<'_>) -> Vec<TargetRow> {
    let txn = store.begin_write().await.expect("a write transaction");
    let claimed = Queue(&txn).claim(request).await.expect("a claim");
    txn.commit().await.expect("commit");
    claimed
}

fn ids(rows: &[TargetRow]) -> Vec<Uuid> {
    rows.iter().map(|r| r.id).collect()
}

db_test!(async fn a_claim_takes_due_targets_of_active_integrations_oldest_first_once(app, standing_still()) {
    let store = app.store.clone();
    let ws = workspace(&store, "ada@example.com").await;
    let hook = integration(&store, ws, "webhook", IntegrationStatus::Active).await;
    let needs_reconnect = integration(&store, ws, "mastodon", IntegrationStatus::NeedsReconnect).await;
    let (_, later) = post(&store, ws, &[hook], at(5)).await;
    let (_, first) = post(&store, ws, &[hook], at(1)).await;
    let (_, future) = post(&store, ws, &[hook], at(60)).await;
    let (_, of_disconnected) = post(&store, ws, &[needs_reconnect], at(1)).await;

    let oldest = claim(&store, &claim_at("w1", at(10), 1)).await;
    assert_eq!(ids(&oldest), first, "the oldest due first");
    let mut claimed = oldest;
    claimed.extend(claim(&store, &claim_at("w1", at(10), 10)).await);
    assert_eq!(
        ids(&claimed),
        [first[0], later[0]],
        "the due ones; not the future one nor a disconnected account's"
    );
    for target in &claimed {
        assert_eq!(target.status, TargetStatus::Publishing);
        assert_eq!(target.lease_owner.as_deref(), Some("w1"));
        assert_eq!(target.lease_expires_at, Some(at(11)));
        assert_eq!(target.attempts, 1);
    }
    assert!(claim(&store, &claim_at("w2", at(10), 10)).await.is_empty(), "a leased target is not claimed twice");
    let queued = Queue(store.conn()).queued_of_integration(hook).await.unwrap();
    assert_eq!(ids(&queued), future);
    let still = Queue(store.conn()).queued_of_integration(needs_reconnect).await.unwrap();
    assert_eq!(ids(&still), of_disconnected, "a disconnected account's target waits, untouched");
    assert_eq!(
        Queue(store.conn()).next_due().await.unwrap(),
        Some(at(60)),
        "a disconnected account's target is not due"
    );
});

db_test!(async fn a_claim_honours_its_limit_window_and_exclusions(app, standing_still()) {
    let store = app.store.clone();
    let ws = workspace(&store, "ada@example.com").await;
    let hook = integration(&store, ws, "webhook", IntegrationStatus::Active).await;
    let slack = integration(&store, ws, "slack", IntegrationStatus::Active).await;
    let (_, missed) = post(&store, ws, &[hook], at(-3 * 24 * 60)).await;
    let (_, both) = post(&store, ws, &[hook, slack], at(1)).await;
    let (_, hook_only) = post(&store, ws, &[hook], at(2)).await;

    let one = claim(&store, &claim_at("w", at(10), 1)).await;
    assert_eq!(ids(&one), [both[0]], "the limit holds, and a missed window is left to the scheduler");
    let no_slack = ["slack".to_string()];
    let request = ClaimRequest { skip_platforms: &no_slack, ..claim_at("w", at(10), 10) };
    assert_eq!(ids(&claim(&store, &request).await), hook_only, "a platform at its limit is skipped");
    let request = ClaimRequest { only_integration: Some(hook), ..claim_at("w", at(10), 10) };
    assert!(claim(&store, &request).await.is_empty());
    let not_slack = [slack];
    let request = ClaimRequest { skip_integrations: &not_slack, ..claim_at("w", at(10), 10) };
    assert!(claim(&store, &request).await.is_empty(), "an integration over its budget is skipped");
    assert_eq!(ids(&claim(&store, &claim_at("w", at(10), 10)).await), [both[1]]);
    let missed_rows = Queue(store.conn()).missed(at(10) - Duration::hours(24), 10).await.unwrap();
    assert_eq!(ids(&missed_rows), missed);
});

db_test!(async fn concurrent_claims_never_take_the_same_target(app, standing_still()) {
    let store = app.store.clone();
    let ws = workspace(&store, "ada@example.com").await;
    let hook = integration(&store, ws, "webhook", IntegrationStatus::Active).await;
    let mut all = Vec::new();
    for minute in 0..40 {
        all.extend(post(&store, ws, &[hook], at(minute % 5)).await.1);
    }
    let claimers: Vec<_> = ["a", "b", "c", "d"]
        .into_iter()
        .map(|worker| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let taken = claim(&store, &claim_at(worker, at(10), 3)).await;
                    if taken.is_empty() {
                        return mine;
                    }
                    mine.extend(ids(&taken));
                }
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for claimer in claimers {
        claimed.extend(claimer.await.expect("a claimer"));
    }
    claimed.sort();
    all.sort();
    assert_eq!(claimed, all, "every target claimed exactly once");
});

db_test!(async fn outcomes_are_written_only_while_the_lease_is_held(app, standing_still()) {
    let store = app.store.clone();
    let ws = workspace(&store, "ada@example.com").await;
    let hook = integration(&store, ws, "webhook", IntegrationStatus::Active).await;
    let (post_id, _) = post(&store, ws, &[hook], at(1)).await;
    let mut mine = claim(&store, &claim_at("w1", at(2), 10)).await.remove(0);
    let queue = Queue(store.conn());
    assert_eq!(ids(&queue.leased_by("w1").await.unwrap()), [mine.id]);

    // The lease runs out (w1 stalled); the sweeper hands the target back.
    let expired = queue.expired_leases(at(4), 10).await.unwrap();
    assert_eq!(ids(&expired), [mine.id]);
    let mut requeued = expired[0].clone();
    requeued.status = TargetStatus::Queued;
    requeued.lease_owner = None;
    requeued.lease_expires_at = None;
    requeued.updated_at = at(4);
    assert!(queue.resolve(&expired[0], &requeued).await.unwrap());
    assert!(!queue.resolve(&expired[0], &requeued).await.unwrap(), "a stale read resolves nothing");
    let theirs = claim(&store, &claim_at("w2", at(4), 10)).await.remove(0);
    assert_eq!((theirs.id, theirs.attempts), (mine.id, 2));

    // w1 comes back with its outcome: refused, whatever it says.
    mine.status = TargetStatus::Published;
    mine.published_at = Some(at(5));
    mine.updated_at = at(5);
    assert!(!queue.write_leased(&mine, "w1").await.unwrap(), "a lost lease writes nothing");
    assert!(queue.write_leased_many(&[&mine], "w1").await.unwrap().is_empty());
    let mut done = theirs.clone();
    done.status = TargetStatus::Published;
    done.lease_owner = None;
    done.lease_expires_at = None;
    done.platform_post_ids = json!(["abc"]);
    done.published_at = Some(at(5));
    done.updated_at = at(5);
    assert_eq!(queue.write_leased_many(&[&done], "w2").await.unwrap(), [done.id]);
    assert!(!queue.write_leased(&done, "w2").await.unwrap(), "an outcome is written once");

    let posts = Posts(store.conn());
    let stored = posts.targets_of(&[post_id]).await.unwrap().remove(0).target;
    assert_eq!((stored.status, stored.platform_post_ids), (TargetStatus::Published, json!(["abc"])));
    let derived = posts.recompute_status(post_id, at(5)).await.unwrap().expect("the post");
    assert_eq!(derived.status, PostStatus::Published);
    assert_eq!(posts.by_id(post_id).await.unwrap().map(|p| p.status), Some(PostStatus::Published));
    assert!(queue.expired_leases(at(60), 10).await.unwrap().is_empty());
});

db_test!(async fn rows_are_scoped_to_their_workspace(app, standing_still()) {
    let store = app.store.clone();
    let ada = workspace(&store, "ada@example.com").await;
    let bob = workspace(&store, "bob@example.com").await;
    let hook = integration(&store, ada, "webhook", IntegrationStatus::Active).await;
    let (post_id, _) = post(&store, ada, &[hook], at(1)).await;
    let posts = Posts(store.conn());
    let integrations = Integrations(store.conn());

    assert!(posts.get(ada, post_id).await.unwrap().is_some());
    assert!(posts.get(bob, post_id).await.unwrap().is_none(), "another workspace's post is not found");
    let page = PostFilter { limit: 10, ..PostFilter::default() };
    assert!(posts.list(bob, &page).await.unwrap().is_empty());
    assert_eq!(posts.list(ada, &page).await.unwrap().len(), 1);
    let failed = PostFilter { status: Some(PostStatus::Failed), ..page.clone() };
    assert!(posts.list(ada, &failed).await.unwrap().is_empty());
    assert!(posts.delete(bob, post_id).await.unwrap().is_none(), "nor deleted");
    assert!(posts.get(ada, post_id).await.unwrap().is_some());

    assert!(integrations.get(bob, hook).await.unwrap().is_none());
    assert!(integrations.list(bob).await.unwrap().is_empty());
    assert!(integrations.find_many(bob, &[hook]).await.unwrap().is_empty());
    assert!(!integrations.delete(bob, hook).await.unwrap());
    assert_eq!(integrations.find_many(ada, &[hook]).await.unwrap().len(), 1);
    assert!(matches!(posts.delete(ada, post_id).await.unwrap(), Some(Ok(()))));
    assert!(posts.get(ada, post_id).await.unwrap().is_none());
});

db_test!(async fn an_upgraded_database_keys_the_texts_of_its_existing_targets(app, standing_still()) {
    use herald_core::compose::duplicate_key;
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    use sea_orm::ConnectionTrait;

    let store = app.store.clone();
    let ada = workspace(&store, "ada@example.com").await;
    let first = integration(&store, ada, "webhook", IntegrationStatus::Active).await;
    let second = integration(&store, ada, "webhook", IntegrationStatus::Active).await;
    let (post_id, targets) = post(&store, ada, &[first, second], at(1)).await;
    let db = store.conn();
    let set_override = Query::update()
        .table(Alias::new("post_targets"))
        .value(Alias::new("content_override"), " Hello,  WORLD! ")
        .and_where(Expr::col(Alias::new("id")).eq(targets[1]))
        .to_owned();
    db.execute(&set_override).await.unwrap();
    // The database as it was before the key existed.
    db.execute_unprepared("DROP INDEX idx_post_targets_integration_content_key").await.unwrap();
    db.execute_unprepared("CREATE INDEX idx_posts_workspace_published ON posts (workspace_id, published_at)").await.unwrap();
    db.execute_unprepared("ALTER TABLE post_targets DROP COLUMN content_key").await.unwrap();
    db.execute_unprepared("DELETE FROM seaql_migrations WHERE version = 'm20261210_000001_target_content_key'")
        .await
        .unwrap();

    assert_eq!(store.migrate().await.unwrap(), ["m20261210_000001_target_content_key"]);
    let keyed = Posts(store.conn()).targets_of(&[post_id]).await.unwrap();
    let key_of = |id: Uuid| keyed.iter().find(|t| t.target.id == id).and_then(|t| t.target.content_key.clone());
    assert_eq!(key_of(targets[0]), duplicate_key("hello"), "the post's text");
    assert_eq!(key_of(targets[1]), duplicate_key("hello, world"), "the override");
    assert_ne!(key_of(targets[0]), key_of(targets[1]));
});

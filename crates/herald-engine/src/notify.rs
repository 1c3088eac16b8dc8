//! Tells people what they should know (DESIGN §11, e-mail notifications):
//! reads the event log after its cursor, writes the bell's notifications and
//! queues e-mails for the events that concern someone, then moves the
//! cursor — all in one transaction, under a singleton lock, and with rows
//! unique per (event, recipient), so nobody hears of an event twice.
//!
//! Events are read only once they are `settle` old: on PostgreSQL an event
//! appended by a longer transaction can commit after a newer one, and the
//! cursor must not pass it by.

use std::collections::BTreeMap;

use herald_core::account::WorkspaceRole;
use herald_core::event::ActorType;
use herald_core::notice::{self, Audience};
use herald_store::repo::{
    Events, Integrations, JobCursors, Member, NewEmail, NewNotification, Notifications, Outbox, Posts, Users,
};
use herald_store::{EventRow, StoreResult};
use tokio::sync::watch;
use uuid::Uuid;

use crate::Engine;

const CURSOR: &str = "notifications";
const NOTIFY_LOCK: i64 = 0x4845_5241_4c44_4e54;
const BATCH: u64 = 200;
/// On its first run the job starts this far back, not at the beginning
/// of history (an upgraded instance does not mail last year's failures).
const FIRST_LOOK_BACK: chrono::Duration = chrono::Duration::hours(24);

pub(crate) async fn run(engine: Engine, mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        match notify(&engine).await {
            Ok(0) => {}
            Ok(events) => tracing::debug!(events, "notifications written"),
            Err(error) => tracing::error!(%error, "writing notifications failed; retrying later"),
        }
        if let Err(error) = crate::webhooks::fan_out(&engine).await {
            tracing::error!(%error, "queueing webhook deliveries failed; retrying later");
        }
        match crate::webhooks::send_due(&engine).await {
            Ok(0) => {}
            Ok(sent) => tracing::debug!(sent, "webhook deliveries sent"),
            Err(error) => tracing::error!(%error, "sending webhook deliveries failed; retrying later"),
        }
        match crate::mailer::send_due(&engine).await {
            Ok(0) => {}
            Ok(sent) => tracing::info!(sent, "e-mails sent"),
            Err(error) => tracing::error!(%error, "sending e-mails failed; retrying later"),
        }
        tokio::select! {
            _ = shutdown.changed() => {}
            () = tokio::time::sleep(engine.config.notify_interval) => {}
        }
    }
}

/// One round; how many events were read.
pub(crate) async fn notify(engine: &Engine) -> StoreResult<usize> {
    let now = engine.now();
    let txn = engine.store.begin_write().await?;
    if !engine.store.try_singleton_lock(&txn, NOTIFY_LOCK).await? {
        txn.commit().await?;
        return Ok(0);
    }
    let cursors = JobCursors(&txn);
    let cursor = match cursors.get(CURSOR).await? {
        Some(cursor) => Some(cursor),
        None => Some((now - FIRST_LOOK_BACK, Uuid::nil())),
    };
    let settle = chrono::Duration::from_std(engine.config.notify_settle).unwrap_or_default();
    let events = Events(&txn).after(cursor, notice::NOTIFYING, now - settle, BATCH).await?;
    let Some(last) = events.last().map(|e| (e.created_at, e.id)) else {
        txn.commit().await?;
        return Ok(0);
    };
    // Each workspace's members and name, read once per round.
    let mut teams: BTreeMap<Uuid, (Vec<Member>, String)> = BTreeMap::new();
    let mut notifications = Vec::new();
    let mut emails = Vec::new();
    for event in &events {
        if let std::collections::btree_map::Entry::Vacant(slot) = teams.entry(event.workspace_id) {
            let users = Users(&txn);
            let name = users.workspace(event.workspace_id).await?.map(|w| w.name).unwrap_or_default();
            slot.insert((users.members(event.workspace_id).await?, name));
        }
        let Some((team, workspace)) = teams.get(&event.workspace_id) else { continue };
        let Some(written) = write(engine, &txn, event, team, workspace).await? else { continue };
        let (mut n, mut e) = written;
        notifications.append(&mut n);
        emails.append(&mut e);
    }
    Notifications(&txn).add(notifications).await?;
    Outbox(&txn).enqueue(emails).await?;
    cursors.set(CURSOR, last.0, last.1).await?;
    txn.commit().await?;
    Ok(events.len())
}

type Written = (Vec<NewNotification>, Vec<NewEmail>);

/// The notifications and e-mails of one event.
async fn write(
    engine: &Engine,
    txn: &herald_store::Transaction,
    event: &EventRow,
    team: &[Member],
    workspace: &str,
) -> StoreResult<Option<Written>> {
    let Some(audience) = notice::audience(event.kind) else { return Ok(None) };
    let post = match event.post_id {
        Some(id) => Posts(txn).get(event.workspace_id, id).await?,
        None => None,
    };
    let account = match event.integration_id {
        Some(id) => Integrations(txn).get(event.workspace_id, id).await?.map(|i| i.display_name),
        None => None,
    }
    .or_else(|| event.data.get("integrationName").and_then(|v| v.as_str()).map(str::to_string))
    .unwrap_or_default();
    let excerpt = post.as_ref().map(|p| notice::excerpt(&p.content)).unwrap_or_default();
    let Some(notice) = notice::notice(event.kind, &event.data, event.post_id, &excerpt, &account) else {
        return Ok(None);
    };
    // Nobody needs telling what they did themselves.
    let actor = (event.actor_type == ActorType::User).then_some(event.actor_id).flatten();
    let author = post.as_ref().and_then(|p| p.created_by);
    let requester = event
        .data
        .pointer("/approval/requestedBy")
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok())
        .or(author);
    let recipients: Vec<&Member> = team
        .iter()
        .filter(|m| !m.user.is_disabled)
        .filter(|m| match audience {
            Audience::OwnersAndAuthor => m.role == WorkspaceRole::Owner || Some(m.user.id) == author,
            Audience::Managers => notice::is_manager(m.role) && Some(m.user.id) != actor,
            Audience::Requester => Some(m.user.id) == requester && Some(m.user.id) != actor,
            Audience::ManagersAndAuthor => {
                (notice::is_manager(m.role) || Some(m.user.id) == author) && Some(m.user.id) != actor
            }
        })
        .collect();
    let mut notifications = Vec::new();
    let mut emails = Vec::new();
    for member in recipients {
        notifications.push(NewNotification {
            user_id: member.user.id,
            workspace_id: event.workspace_id,
            event_id: event.id,
            kind: event.kind.as_str().to_string(),
            title: notice.title.clone(),
            body: notice.body.clone(),
            link: notice.link.clone(),
            created_at: event.created_at,
        });
        let preferences: notice::EmailPreferences = member
            .user
            .notification_prefs
            .as_ref()
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        if engine.config.mail.is_some() && preferences.wants(notice.topic) {
            let mail = notice::email(&notice, workspace, &engine.config.main_url);
            emails.push(NewEmail {
                recipient: member.user.email.clone(),
                subject: mail.subject,
                text_body: mail.text,
                html_body: mail.html,
                kind: event.kind.as_str().to_string(),
                event_id: Some(event.id),
                created_at: engine.now(),
            });
        }
    }
    Ok(Some((notifications, emails)))
}

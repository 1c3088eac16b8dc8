//! Wake-ups between parts of Herald: "the queue changed" (a post was
//! created, moved or deleted) and "an event was recorded". Within a process
//! they travel in memory; on PostgreSQL they also travel between processes
//! with LISTEN/NOTIFY, so a post created on an API node wakes the workers
//! on other nodes at once.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use tokio::sync::{Notify, broadcast};
use uuid::Uuid;

use crate::repo::Events;
use crate::{Backend, EventRow, Store};

const QUEUE_CHANNEL: &str = "herald_queue";
const EVENTS_CHANNEL: &str = "herald_events";

pub(crate) struct Signals {
    pub node_id: Uuid,
    pub queue: Arc<Notify>,
    /// How many times the queue or an integration changed: lets the
    /// delivery loop keep what it read of integrations until it moves.
    pub queue_epoch: AtomicU64,
    pub events: broadcast::Sender<EventRow>,
    /// Ids of events already announced in this process, so that a relay
    /// does not announce them twice (a set for the look-up, a queue to
    /// forget the oldest).
    announced: Mutex<Announced>,
}

#[derive(Default)]
struct Announced {
    order: VecDeque<Uuid>,
    ids: HashSet<Uuid>,
}

const ANNOUNCED_MEMORY: usize = 4096;

/// A NOTIFY payload must stay under 8000 bytes: node id plus this many
/// event ids (37 bytes each) per notification.
const IDS_PER_NOTIFY: usize = 200;

impl Signals {
    pub fn new() -> Self {
        Self {
            node_id: Uuid::new_v4(),
            queue: Arc::new(Notify::new()),
            queue_epoch: AtomicU64::new(0),
            events: broadcast::channel(1024).0,
            announced: Mutex::new(Announced::default()),
        }
    }

    /// Sends an event to this process's subscribers unless it already was.
    fn announce(&self, event: EventRow) {
        if let Ok(mut announced) = self.announced.lock() {
            if !announced.ids.insert(event.id) {
                return;
            }
            announced.order.push_back(event.id);
            if announced.order.len() > ANNOUNCED_MEMORY
                && let Some(oldest) = announced.order.pop_front()
            {
                announced.ids.remove(&oldest);
            }
        }
        // No subscriber is not an error: nobody is watching right now.
        let _ = self.events.send(event);
    }
}

impl Store {
    /// What the scheduler waits on between due times.
    pub fn queue_signal(&self) -> Arc<Notify> {
        self.signals.queue.clone()
    }

    /// Tells every scheduler that due times changed (a post was created,
    /// moved or deleted, or an integration changed).
    pub async fn queue_changed(&self) {
        self.queue_changed_here();
        self.notify(QUEUE_CHANNEL, String::new()).await;
    }

    fn queue_changed_here(&self) {
        self.signals.queue_epoch.fetch_add(1, Ordering::Release);
        self.signals.queue.notify_one();
    }

    /// Moves on every [`Store::queue_changed`], in this process or (on
    /// PostgreSQL) another: what was read of the queue's integrations
    /// under one value is still current while it stays the same.
    pub fn queue_epoch(&self) -> u64 {
        self.signals.queue_epoch.load(Ordering::Acquire)
    }

    /// Live events of this process (and, on PostgreSQL, of every node).
    pub fn subscribe_events(&self) -> broadcast::Receiver<EventRow> {
        self.signals.events.subscribe()
    }

    /// Announces events recorded in a committed transaction.
    /// Other nodes hear of them in one notification per batch of ids.
    pub async fn publish_events(&self, events: Vec<EventRow>) {
        let ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
        self.announce_events(events);
        for payload in self.event_payloads(&ids) {
            self.notify(EVENTS_CHANNEL, payload).await;
        }
    }

    /// Tells other nodes, within `txn`, of events it records: PostgreSQL
    /// delivers the notification at commit, so this costs no commit of its
    /// own (the delivery loop's hot path). Announce them in this process with
    /// [`Store::announce_events`] once `txn` is committed.
    pub async fn notify_events_in(&self, txn: &impl ConnectionTrait, events: &[EventRow]) -> crate::StoreResult<()> {
        let ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
        for payload in self.event_payloads(&ids) {
            let statement = Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [EVENTS_CHANNEL.into(), payload.into()],
            );
            txn.execute_raw(statement).await?;
        }
        Ok(())
    }

    /// Sends committed events to this process's subscribers only.
    pub fn announce_events(&self, events: Vec<EventRow>) {
        for event in events {
            self.signals.announce(event);
        }
    }

    /// `NODE_ID EVENT_ID…` payloads for other nodes; none on SQLite, where
    /// there is only one process.
    fn event_payloads(&self, ids: &[Uuid]) -> Vec<String> {
        if self.backend != Backend::Postgres {
            return Vec::new();
        }
        ids.chunks(IDS_PER_NOTIFY)
            .map(|chunk| {
                let mut payload = self.signals.node_id.to_string();
                for id in chunk {
                    payload.push(' ');
                    payload.push_str(&id.to_string());
                }
                payload
            })
            .collect()
    }

    async fn notify(&self, channel: &str, payload: String) {
        if self.backend != Backend::Postgres {
            return;
        }
        let statement = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [channel.into(), payload.into()],
        );
        if let Err(error) = self.db.execute_raw(statement).await {
            tracing::warn!(%error, channel, "could not notify other nodes; they will notice at their next poll");
        }
    }

    /// On PostgreSQL, relays other nodes' notifications into this process
    /// for as long as the store lives; reconnects after errors. A no-op on
    /// SQLite, where there is only one process.
    pub fn spawn_listener(&self) {
        if self.backend != Backend::Postgres {
            return;
        }
        let store = self.clone();
        tokio::spawn(async move {
            loop {
                let result = store.listen_once().await;
                // A closed pool means Herald is shutting down, not a lost connection.
                if store.db.get_postgres_connection_pool().is_closed() {
                    return;
                }
                if let Err(error) = result {
                    tracing::warn!(%error, "LISTEN connection lost; reconnecting");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }

    /// Relays events recorded by other processes into this one: LISTEN on
    /// PostgreSQL; on SQLite, where processes cannot signal each other, by
    /// reading the event log every `interval` (for `herald mcp` beside a
    /// running `herald serve`).
    pub fn spawn_event_relay(&self, interval: Duration) {
        if self.backend == Backend::Postgres {
            self.spawn_listener();
            return;
        }
        let store = self.clone();
        tokio::spawn(async move {
            let mut since = store.now();
            loop {
                tokio::time::sleep(interval).await;
                match Events(&store.db).since(since, 500).await {
                    Ok(events) => {
                        if let Some(last) = events.last() {
                            since = last.created_at;
                        }
                        for event in events {
                            store.signals.announce(event);
                        }
                    }
                    Err(error) => {
                        if store.db.get_sqlite_connection_pool().is_closed() {
                            return;
                        }
                        tracing::warn!(%error, "could not read new events");
                    }
                }
            }
        });
    }

    async fn listen_once(&self) -> Result<(), sea_orm::sqlx::Error> {
        use sea_orm::sqlx::postgres::PgListener;
        let mut listener = PgListener::connect_with(self.db.get_postgres_connection_pool()).await?;
        listener.listen_all([QUEUE_CHANNEL, EVENTS_CHANNEL]).await?;
        // Something may have changed while we were not listening.
        self.queue_changed_here();
        loop {
            let notification = listener.recv().await?;
            match notification.channel() {
                QUEUE_CHANNEL => self.queue_changed_here(),
                EVENTS_CHANNEL => self.relay_event(notification.payload()).await,
                _ => {}
            }
        }
    }

    /// Announces the events another node listed in a notification
    /// (`NODE_ID EVENT_ID…`). Nothing is read when no one here listens.
    async fn relay_event(&self, payload: &str) {
        let mut words = payload.split(' ');
        if words.next().is_none_or(|node| node == self.signals.node_id.to_string()) {
            return;
        }
        if self.signals.events.receiver_count() == 0 {
            return;
        }
        let ids: Vec<Uuid> = words.filter_map(|id| Uuid::parse_str(id).ok()).collect();
        match Events(&self.db).by_ids(&ids).await {
            Ok(events) => {
                for event in events {
                    self.signals.announce(event);
                }
            }
            Err(error) => tracing::warn!(%error, "could not load relayed events"),
        }
    }
}

//! The storage interface: what `api`, `runtime` and `delivery` may ask of
//! a back end. sled ([`super::Sled`]) and PostgreSQL ([`super::Postgres`])
//! implement it; nothing outside `store/` sees a key encoding, a sled type
//! or SQL. Cursors and queue positions are opaque.
//!
//! The store knows no HTTP, no wasm and no delivery policy: it keeps
//! records, answers queries, and makes groups of writes atomic and durable.

use super::transfer::Item;
use super::{
    AttemptRecord, DedupRecord, DeliveryFilter, DeliveryRecord, EmissionRecord, EndpointRecord,
    EventRecord, InvocationCommit, InvocationOutcome, InvocationRecord, MetaKind, MetaRecord,
    ModuleRecord, Page, StoreResult, WebhookRecord,
};
use chrono::{DateTime, Utc};

/// A position in the delivery queue: when a delivery is due (to the
/// millisecond) and its id. Queue scans go in this order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct QueuePos {
    pub(super) at_ms: i64,
    pub(super) delivery_id: String,
}

impl QueuePos {
    /// Where `d` stands in the queue, if it is queued (pending with a
    /// next attempt).
    pub fn of(d: &DeliveryRecord) -> Option<Self> {
        match (d.status, d.next_attempt_at) {
            (super::DeliveryStatus::Pending, Some(at)) => Some(Self::at(at, &d.id)),
            _ => None,
        }
    }

    /// The position of delivery `id` due at `at`.
    pub fn at(at: DateTime<Utc>, id: &str) -> Self {
        Self {
            at_ms: at.timestamp_millis(),
            delivery_id: id.to_string(),
        }
    }

    /// A position `by` earlier than this one, before every delivery due at
    /// that time: a scan from there starts `by` before this entry.
    pub fn earlier(&self, by: std::time::Duration) -> Self {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        Self {
            at_ms: self.at_ms.saturating_sub(by),
            delivery_id: String::new(),
        }
    }

    /// Whether this is where `d` stands now: a queue entry read before an
    /// attempt of `d` ended no longer is.
    pub fn is_current(&self, d: &DeliveryRecord) -> bool {
        QueuePos::of(d).as_ref() == Some(self)
    }
}

/// A queue entry that is due.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    /// Its position in the queue.
    pub pos: QueuePos,
    /// The delivery.
    pub id: String,
    /// Its endpoint, when the entry records it.
    pub endpoint_id: Option<String>,
    /// The delivery as read with the entry, when the store reads both at
    /// once (PostgreSQL: one query instead of one more per entry); `None`
    /// asks the caller to read it ([`Backend::get_delivery`]).
    pub delivery: Option<DeliveryRecord>,
    /// Its event, when the store reads it with the entry (PostgreSQL);
    /// `None` asks the caller to read it ([`Backend::get_event`]).
    pub event: Option<EventRecord>,
}

/// A change to the registry (modules, webhooks, endpoints) made by any
/// node; caches drop what it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Module `name` was put or deleted.
    Module(String),
    /// Webhook `id` was put or deleted.
    Webhook(String),
    /// Endpoint `id` was put or deleted.
    Endpoint(String),
    /// A workspace, token or event type was put or deleted.
    Meta,
    /// Changes may have been missed (a reconnect): drop every cache.
    All,
}

/// Everything hookhost stores. Writes named "durable" are on disk (or
/// committed) when they return; others may be lost in a crash, which the
/// callers tolerate (an attempt is then made again).
#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    /// `sled` or `postgres`, for logs and metrics.
    fn kind(&self) -> &'static str;

    /// Whether other processes (nodes) may share this store.
    fn shared(&self) -> bool {
        false
    }

    /// Registry changes made by other nodes sharing this store; `None`
    /// for a store only this process uses.
    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<Change>> {
        None
    }

    /// How many internal handles on the store's files are alive (writes
    /// finishing on blocking threads hold one each); a store that locks its
    /// files is released once this is 1 and the last [`super::Store`] goes.
    fn handles(&self) -> usize {
        1
    }

    // ---- modules ----

    /// Inserts or replaces a module's record, durably.
    async fn put_module(&self, record: &ModuleRecord) -> StoreResult<()>;
    /// The module `name`.
    async fn get_module(&self, name: &str) -> StoreResult<Option<ModuleRecord>>;
    /// Every module, by name.
    async fn list_modules(&self) -> StoreResult<Vec<ModuleRecord>>;
    /// Deletes module `name`'s record, durably.
    async fn delete_module(&self, name: &str) -> StoreResult<()>;
    /// Stores a component's bytes under their SHA-256 (hex), durably; equal
    /// uploads share them.
    async fn put_module_bytes(&self, sha256: &str, bytes: &[u8]) -> StoreResult<()>;
    /// The bytes stored under `sha256`.
    async fn module_bytes(&self, sha256: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Removes the bytes under `sha256` unless a module still uses them;
    /// whether they were removed.
    async fn remove_module_bytes_if_unused(&self, sha256: &str) -> StoreResult<bool>;

    // ---- webhooks ----

    /// Inserts or replaces a webhook, durably.
    async fn put_webhook(&self, record: &WebhookRecord) -> StoreResult<()>;
    /// The webhook `id`.
    async fn get_webhook(&self, id: &str) -> StoreResult<Option<WebhookRecord>>;
    /// Every webhook, by id.
    async fn list_webhooks(&self) -> StoreResult<Vec<WebhookRecord>>;
    /// Deletes webhook `id` with its invocation log and remembered answers,
    /// durably.
    async fn delete_webhook(&self, id: &str) -> StoreResult<()>;

    // ---- endpoints ----

    /// Inserts or replaces an endpoint, durably.
    async fn put_endpoint(&self, record: &EndpointRecord) -> StoreResult<()>;
    /// The endpoint `id`.
    async fn get_endpoint(&self, id: &str) -> StoreResult<Option<EndpointRecord>>;
    /// Every endpoint, oldest first.
    async fn list_endpoints(&self) -> StoreResult<Vec<EndpointRecord>>;
    /// Deletes endpoint `id`, durably; whether it existed. Its pending
    /// deliveries stay (they fail when due).
    async fn delete_endpoint(&self, id: &str) -> StoreResult<bool>;

    // ---- invocations, emissions, handler-published events ----

    /// Writes each commit's invocation record, emissions and events (the
    /// events marked for fan-out) atomically per commit; with `durable`,
    /// returns once they are on disk. Concurrent callers are batched.
    async fn commit_invocations(
        &self,
        commits: &[InvocationCommit],
        durable: bool,
    ) -> StoreResult<()>;
    /// Invocations of `webhook_id`, newest first, before the cursor `before`.
    async fn list_invocations(
        &self,
        webhook_id: &str,
        before: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<InvocationRecord>>;
    /// Invocation `id` of `webhook_id`.
    async fn get_invocation(
        &self,
        webhook_id: &str,
        id: &str,
    ) -> StoreResult<Option<InvocationRecord>>;
    /// Keeps the newest `keep` invocations of every webhook; how many went.
    async fn prune_all_invocations(&self, keep: usize) -> StoreResult<usize>;
    /// Emissions of a workspace in creation order after the cursor `after`, optionally
    /// filtered by entity type and webhook.
    async fn list_emissions(
        &self,
        workspace_id: &str,
        after: Option<&str>,
        entity_type: Option<&str>,
        webhook_id: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<EmissionRecord>>;

    // ---- inbound deduplication ----

    /// The answer remembered for delivery id `key` of `webhook_id`.
    async fn dedup_get(&self, webhook_id: &str, key: &str) -> StoreResult<Option<DedupRecord>>;
    /// Remembers the answer to delivery id `key` of `webhook_id`.
    async fn dedup_put(&self, webhook_id: &str, key: &str, record: &DedupRecord)
    -> StoreResult<()>;

    // ---- events and deliveries ----

    /// Writes an accepted event with its deliveries (queued, due at their
    /// creation) atomically and durably. With an idempotency key taken in
    /// the last [`super::IDEMPOTENCY_WINDOW`], writes nothing and returns
    /// the first event's id.
    async fn accept_event(
        &self,
        event: &EventRecord,
        deliveries: &[DeliveryRecord],
        idempotency_key: Option<&str>,
    ) -> StoreResult<Option<String>>;
    /// The event `id`.
    async fn get_event(&self, id: &str) -> StoreResult<Option<EventRecord>>;
    /// Events of a workspace in creation order after the cursor `after`,
    /// optionally of one type.
    async fn list_events(
        &self,
        workspace_id: &str,
        after: Option<&str>,
        event_type: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<EventRecord>>;
    /// The delivery `id`.
    async fn get_delivery(&self, id: &str) -> StoreResult<Option<DeliveryRecord>>;
    /// Attempts of delivery `id`, first first.
    async fn list_attempts(&self, id: &str) -> StoreResult<Vec<AttemptRecord>>;
    /// Deliveries, newest first, before the cursor `before`.
    async fn list_deliveries(
        &self,
        filter: &DeliveryFilter,
        before: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<DeliveryRecord>>;
    /// Attempts of the deliveries to `endpoint_ids` (of workspace
    /// `workspace_id`) created at or after `since`, with each one's
    /// endpoint id: newest deliveries first, at most `limit` attempts.
    /// (Retries of older deliveries are not among them.) `true` with them
    /// when the store stopped reading before the end of the period.
    async fn recent_attempts(
        &self,
        workspace_id: &str,
        endpoint_ids: &[String],
        since: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<(Vec<(String, AttemptRecord)>, bool)>;
    /// When invocations of `webhook_id` received at or after `since` came,
    /// their status and duration (ms), newest first, at most `limit`,
    /// without reading what they captured.
    async fn invocation_outcomes(
        &self,
        webhook_id: &str,
        since: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<InvocationOutcome>>;
    /// Queued deliveries due at or before `now` and not leased by a node,
    /// in queue order, strictly after `after` when given (at most `limit`).
    async fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        after: Option<&QueuePos>,
        limit: usize,
    ) -> StoreResult<Vec<DueDelivery>>;
    /// Takes the deliveries `wanted` (queue position and endpoint of each,
    /// in order of preference) for one attempt until `until`, leaving at
    /// most `per_endpoint` of one endpoint leased at once by all nodes
    /// together. Returns, for each, whether it was taken: not when it moved,
    /// another node holds it, or its endpoint is at the limit. A lease ends
    /// with [`Backend::record_attempt`] or when it expires.
    async fn lease(
        &self,
        wanted: &[(QueuePos, String)],
        per_endpoint: usize,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<bool>>;
    /// Takes a slot of the rate limit named `endpoint_id` (an endpoint's
    /// id, or `<workspace>/<rate>` for a workspace's quota) shared by every
    /// node: the
    /// generic cell rate algorithm, attempts `interval` apart with
    /// `tolerance` of early ones after a quiet spell, its pace kept in the
    /// store. `Some(true)` when an attempt may start now (the slot is
    /// taken); `None` when the store keeps no pace (one process: the
    /// caller paces in memory).
    async fn take_rate_slot(
        &self,
        _endpoint_id: &str,
        _interval: std::time::Duration,
        _tolerance: std::time::Duration,
    ) -> StoreResult<Option<bool>> {
        Ok(None)
    }
    /// The id of the first pending delivery of `endpoint_id`, in creation
    /// order, from delivery `from` on (inclusive; from the oldest when
    /// `None`), leaving out events of type `except`: the head of a FIFO
    /// line.
    async fn first_pending(
        &self,
        endpoint_id: &str,
        from: Option<&str>,
        except: &str,
    ) -> StoreResult<Option<String>>;
    /// Deliveries queued for an attempt, now or later.
    async fn queue_depth(&self) -> StoreResult<usize>;
    /// When the earliest queued delivery is due.
    async fn next_due(&self) -> StoreResult<Option<DateTime<Utc>>>;
    /// Records an attempt (if any) and the delivery's new state together;
    /// the delivery leaves the queue position `old` and is queued again
    /// while pending. Not durable: a crash may lose it, and the delivery
    /// is then sent again.
    async fn record_attempt(
        &self,
        old: Option<&QueuePos>,
        delivery: &DeliveryRecord,
        attempt: Option<&AttemptRecord>,
    ) -> StoreResult<()>;
    /// Puts a delivery back in the queue at its `next_attempt_at` (manual
    /// retry, recover), durably.
    async fn requeue_delivery(
        &self,
        delivery: &DeliveryRecord,
        old_next: Option<DateTime<Utc>>,
    ) -> StoreResult<()>;
    /// Removes a stale queue entry.
    async fn drop_due(&self, pos: &QueuePos) -> StoreResult<()>;
    /// Events published by handlers that still need their deliveries.
    async fn pending_fanout(&self, limit: usize) -> StoreResult<Vec<EventRecord>>;
    /// Writes the deliveries of published event `event_id` and clears its
    /// fan-out mark, atomically. A second call for the same event (another
    /// node got there first) writes nothing.
    async fn fan_out(&self, event_id: &str, deliveries: &[DeliveryRecord]) -> StoreResult<()>;

    // ---- upkeep ----

    /// Removes finished records older than `cutoff`: finished deliveries
    /// with their attempts, events no pending delivery needs, emissions,
    /// invocations, expired idempotency keys and remembered answers.
    async fn remove_expired(&self, cutoff: DateTime<Utc>) -> StoreResult<usize>;
    /// Waits until every write made so far is durable.
    async fn flush(&self) -> StoreResult<()>;

    // ---- tenancy ----

    /// Inserts or replaces a workspace, token or event type, durably;
    /// other nodes hear of it ([`Change::Meta`]).
    async fn put_meta(&self, record: &MetaRecord) -> StoreResult<()>;
    /// Every record of `kind`, by key.
    async fn list_meta(&self, kind: MetaKind) -> StoreResult<Vec<MetaRecord>>;
    /// Deletes a record of `kind`, durably; whether it existed.
    async fn delete_meta(&self, kind: MetaKind, key: &str) -> StoreResult<bool>;
    /// Removes every event, delivery (with its attempts), emission and
    /// idempotency key of a workspace, durably; how many records went.
    /// (Its modules, webhooks, endpoints and tenancy records are deleted
    /// one by one by the caller, which keeps its caches.)
    async fn purge_workspace(&self, workspace_id: &str) -> StoreResult<usize>;

    // ---- export and import ----

    /// Sends every record to `out`, modules before the webhooks using
    /// them and events before their deliveries.
    async fn export(&self, out: tokio::sync::mpsc::Sender<Item>) -> StoreResult<()>;
    /// Writes a batch of exported records as they are (same ids), replacing
    /// records with the same ids; a pending delivery is queued at its next
    /// attempt. Durable when it returns.
    async fn import(&self, items: Vec<Item>) -> StoreResult<()>;
}

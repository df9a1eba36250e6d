//! The sled back end: one sled database in the data directory plus
//! content-addressed module files. Record kinds keep their sled encoding
//! beside their types (`deliveries.rs`, `events.rs`, ...); this file holds
//! the database handle and implements [`Backend`] with them.

use super::emissions::EMISSION_PREFIX;
use super::events::EVENT_PREFIX;
use super::transfer::Item;
use super::{
    AttemptRecord, Backend, DedupRecord, DeliveryFilter, DeliveryRecord, DueDelivery,
    EmissionRecord, EndpointRecord, EventRecord, InvocationCommit, InvocationRecord, MetaKind,
    MetaRecord, ModuleRecord, Page, QueuePos, StoreError, StoreResult, WebhookRecord, batch,
    decode, encode, ids, invocations,
};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use sled::Transactional;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bookkeeping of [`Sled::flush`]'s group commit.
#[derive(Default)]
struct Durability {
    /// Flush requests so far; a request's number orders it after its writes.
    written: AtomicU64,
    /// Every request up to this number is on disk.
    flushed: AtomicU64,
    /// Held while a flush runs.
    turn: tokio::sync::Mutex<()>,
}

/// The data directory: a sled database plus content-addressed module files.
#[derive(Clone)]
pub struct Sled {
    pub(super) db: sled::Db,
    durability: Arc<Durability>,
    pub(super) batcher: Arc<batch::Batcher>,
    pub(super) modules: sled::Tree,
    pub(super) webhooks: sled::Tree,
    pub(super) invocations: sled::Tree,
    pub(super) events: sled::Tree,
    pub(super) emissions: sled::Tree,
    pub(super) endpoints: sled::Tree,
    pub(super) deliveries: sled::Tree,
    pub(super) attempts: sled::Tree,
    pub(super) due: sled::Tree,
    pub(super) idempotency: sled::Tree,
    /// Answers remembered for inbound deduplication.
    pub(super) dedup: sled::Tree,
    /// Events published by handlers, awaiting fan-out into deliveries.
    pub(super) fanout: sled::Tree,
    /// Workspaces, tokens, event types ([`super::meta`]).
    pub(super) meta: sled::Tree,
    /// Entries of `due` (the queue depth), kept with every change.
    pub(super) queued: Arc<std::sync::atomic::AtomicI64>,
    pub(super) dir: PathBuf,
}

impl Sled {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> StoreResult<Self> {
        std::fs::create_dir_all(dir.join("modules"))?;
        let db = sled::Config::new()
            .path(dir.join("db"))
            // sled's default cache is 1 GiB; the hot data here is small.
            .cache_capacity(128 << 20)
            .flush_every_ms(Some(500))
            .open()?;
        // Counted once at start: only pending deliveries are queued.
        let due = db.open_tree("due")?;
        Ok(Self {
            modules: db.open_tree("modules")?,
            webhooks: db.open_tree("webhooks")?,
            invocations: db.open_tree("invocations")?,
            events: db.open_tree("events")?,
            emissions: db.open_tree("emissions")?,
            endpoints: db.open_tree("endpoints")?,
            deliveries: db.open_tree("deliveries")?,
            attempts: db.open_tree("attempts")?,
            idempotency: db.open_tree("idempotency")?,
            dedup: db.open_tree("dedup")?,
            fanout: db.open_tree("fanout")?,
            meta: db.open_tree("meta")?,
            queued: Arc::new(std::sync::atomic::AtomicI64::new(due.len() as i64)),
            due,
            durability: Arc::default(),
            batcher: Arc::default(),
            db,
            dir: dir.to_path_buf(),
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Waits until everything written so far (by this caller) is on disk.
    ///
    /// Group commit: at most one flush runs at a time, and a caller whose
    /// writes were covered by a flush that started after them returns
    /// without flushing again, so concurrent callers share one fsync.
    /// (Concurrent `sled::Db::flush_async` calls also deadlock sled 0.34:
    /// they fill its IO pool while holding its concurrency-control lock.)
    pub async fn flush(&self) -> StoreResult<()> {
        let d = &self.durability;
        let target = d.written.fetch_add(1, Ordering::SeqCst) + 1;
        let _turn = d.turn.lock().await;
        if d.flushed.load(Ordering::SeqCst) >= target {
            return Ok(());
        }
        let covered = d.written.load(Ordering::SeqCst);
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.flush())
            .await
            .map_err(|e| StoreError::Io(e.to_string()))??;
        d.flushed.fetch_max(covered, Ordering::SeqCst);
        Ok(())
    }
}

/// Reads up to `limit` records of `tree` whose key starts with `prefix`,
/// strictly after (or, when `newest_first`, before) the key `after`.
/// Records failing `keep` are skipped. Returns the records and the key of
/// the last one when more may follow.
pub(super) fn scan_page<T: DeserializeOwned>(
    tree: &sled::Tree,
    prefix: &[u8],
    after: Option<&[u8]>,
    limit: usize,
    newest_first: bool,
    keep: impl Fn(&T) -> bool,
) -> StoreResult<(Vec<T>, Option<sled::IVec>)> {
    let iter: Box<dyn Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>> =
        match (after, newest_first) {
            (None, false) => Box::new(tree.scan_prefix(prefix)),
            (None, true) => Box::new(tree.scan_prefix(prefix).rev()),
            (Some(a), false) => {
                // The smallest key greater than `a`.
                let mut start = a.to_vec();
                start.push(0);
                Box::new(tree.range(start..))
            }
            (Some(a), true) => Box::new(tree.range(prefix.to_vec()..a.to_vec()).rev()),
        };
    let mut out = Vec::new();
    let mut last = None;
    for item in iter {
        let (k, v) = item?;
        if !k.starts_with(prefix) {
            break;
        }
        if out.len() == limit {
            return Ok((out, last));
        }
        let record = decode(&v)?;
        if keep(&record) {
            out.push(record);
            last = Some(k);
        }
    }
    Ok((out, None))
}

/// The writes of a batch of invocation commits, serialized up front (a
/// transaction body may run more than once).
struct CommitWrites {
    /// Invocations that recorded nothing: plain inserts.
    plain: Vec<(Vec<u8>, Vec<u8>)>,
    /// Invocations with emissions or events, written with them atomically.
    invocations: Vec<(Vec<u8>, Vec<u8>)>,
    events: Vec<(Vec<u8>, Vec<u8>)>,
    emissions: Vec<(Vec<u8>, Vec<u8>)>,
    webhooks: Vec<(Vec<u8>, Vec<u8>)>,
}

impl CommitWrites {
    /// An invocation that recorded nothing is a single log record: a plain
    /// insert. Only invocations with emissions or events need a transaction
    /// (all of it or nothing), and sled seals and syncs its log buffer twice
    /// around each one, so the common case avoids them.
    fn of(commits: &[InvocationCommit]) -> Self {
        let mut w = Self {
            plain: Vec::with_capacity(commits.len()),
            invocations: Vec::new(),
            events: Vec::new(),
            emissions: Vec::new(),
            webhooks: Vec::new(),
        };
        for commit in commits {
            let inv = &commit.invocation;
            let record = (invocations::key(&inv.webhook_id, &inv.id), encode(inv));
            if !commit.has_records() {
                w.plain.push(record);
                continue;
            }
            w.invocations.push(record);
            for e in &commit.events {
                let k = ids::key(EVENT_PREFIX, &e.id).unwrap_or_default();
                w.events.push((k.to_vec(), encode(e)));
            }
            for e in &commit.emissions {
                let k = ids::key(EMISSION_PREFIX, &e.id).unwrap_or_default();
                w.emissions.push((k.to_vec(), encode(e)));
            }
            for h in &commit.webhooks {
                w.webhooks.push((h.id.as_bytes().to_vec(), encode(h)));
            }
        }
        w
    }
}

impl Sled {
    /// Applies a batch of invocation commits (blocking: sled writes, and
    /// for transactions syncs, its log synchronously).
    fn apply_commits(&self, w: &CommitWrites) -> StoreResult<()> {
        for (k, v) in &w.plain {
            self.invocations.insert(&k[..], &v[..])?;
        }
        if w.invocations.is_empty() {
            return Ok(());
        }
        (
            &self.invocations,
            &self.events,
            &self.emissions,
            &self.fanout,
            &self.webhooks,
        )
            .transaction(|(inv_t, ev_t, em_t, fo_t, wh_t)| {
                for (k, v) in &w.invocations {
                    inv_t.insert(&k[..], &v[..])?;
                }
                for (k, v) in &w.events {
                    ev_t.insert(&k[..], &v[..])?;
                    // Marked for fan-out in the same transaction: a crash
                    // cannot keep the event and lose its deliveries.
                    fo_t.insert(&k[..], &[][..])?;
                }
                for (k, v) in &w.emissions {
                    em_t.insert(&k[..], &v[..])?;
                }
                for (k, v) in &w.webhooks {
                    wh_t.insert(&k[..], &v[..])?;
                }
                Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
            })
            .map_err(|e| StoreError::Db(format!("{e:?}")))
    }
}

/// Runs a blocking sled operation off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Io(e.to_string()))?
}

#[async_trait::async_trait]
impl Backend for Sled {
    fn kind(&self) -> &'static str {
        "sled"
    }

    fn handles(&self) -> usize {
        Arc::strong_count(&self.durability)
    }

    async fn put_module(&self, record: &ModuleRecord) -> StoreResult<()> {
        Sled::put_module(self, record).await
    }
    async fn get_module(&self, name: &str) -> StoreResult<Option<ModuleRecord>> {
        Sled::get_module(self, name)
    }
    async fn list_modules(&self) -> StoreResult<Vec<ModuleRecord>> {
        Sled::list_modules(self)
    }
    async fn delete_module(&self, name: &str) -> StoreResult<()> {
        Sled::delete_module(self, name).await
    }
    async fn put_module_bytes(&self, sha256: &str, bytes: &[u8]) -> StoreResult<()> {
        let (this, sha, bytes) = (self.clone(), sha256.to_string(), bytes.to_vec());
        blocking(move || this.write_module_bytes(&sha, &bytes)).await
    }
    async fn module_bytes(&self, sha256: &str) -> StoreResult<Option<Vec<u8>>> {
        let path = self.module_path(sha256);
        match tokio::fs::read(path).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
    async fn remove_module_bytes_if_unused(&self, sha256: &str) -> StoreResult<bool> {
        Sled::remove_module_bytes_if_unused(self, sha256)
    }

    async fn put_webhook(&self, record: &WebhookRecord) -> StoreResult<()> {
        Sled::put_webhook(self, record).await
    }
    async fn get_webhook(&self, id: &str) -> StoreResult<Option<WebhookRecord>> {
        Sled::get_webhook(self, id)
    }
    async fn list_webhooks(&self) -> StoreResult<Vec<WebhookRecord>> {
        Sled::list_webhooks(self)
    }
    async fn delete_webhook(&self, id: &str) -> StoreResult<()> {
        Sled::delete_webhook(self, id).await
    }

    async fn put_endpoint(&self, record: &EndpointRecord) -> StoreResult<()> {
        Sled::put_endpoint(self, record).await
    }
    async fn get_endpoint(&self, id: &str) -> StoreResult<Option<EndpointRecord>> {
        Sled::get_endpoint(self, id)
    }
    async fn list_endpoints(&self) -> StoreResult<Vec<EndpointRecord>> {
        Sled::list_endpoints(self)
    }
    async fn delete_endpoint(&self, id: &str) -> StoreResult<bool> {
        Sled::delete_endpoint(self, id).await
    }

    async fn commit_invocations(
        &self,
        commits: &[InvocationCommit],
        durable: bool,
    ) -> StoreResult<()> {
        let (this, writes) = (self.clone(), CommitWrites::of(commits));
        blocking(move || this.apply_commits(&writes)).await?;
        if durable {
            self.flush().await?;
        }
        Ok(())
    }
    async fn list_invocations(
        &self,
        webhook_id: &str,
        before: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<InvocationRecord>> {
        Sled::list_invocations(self, webhook_id, before, limit)
    }
    async fn get_invocation(
        &self,
        webhook_id: &str,
        id: &str,
    ) -> StoreResult<Option<InvocationRecord>> {
        Sled::get_invocation(self, webhook_id, id)
    }
    async fn prune_all_invocations(&self, keep: usize) -> StoreResult<usize> {
        let this = self.clone();
        blocking(move || Sled::prune_all_invocations(&this, keep)).await
    }
    async fn list_emissions(
        &self,
        workspace_id: &str,
        after: Option<&str>,
        entity_type: Option<&str>,
        webhook_id: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<EmissionRecord>> {
        Sled::list_emissions(self, workspace_id, after, entity_type, webhook_id, limit)
    }

    async fn dedup_get(&self, webhook_id: &str, key: &str) -> StoreResult<Option<DedupRecord>> {
        Sled::dedup_get(self, webhook_id, key)
    }
    async fn dedup_put(
        &self,
        webhook_id: &str,
        key: &str,
        record: &DedupRecord,
    ) -> StoreResult<()> {
        Sled::dedup_put(self, webhook_id, key, record)
    }

    async fn accept_event(
        &self,
        event: &EventRecord,
        deliveries: &[DeliveryRecord],
        idempotency_key: Option<&str>,
    ) -> StoreResult<Option<String>> {
        Sled::accept_event(self, event, deliveries, idempotency_key).await
    }
    async fn get_event(&self, id: &str) -> StoreResult<Option<EventRecord>> {
        Sled::get_event(self, id)
    }
    async fn list_events(
        &self,
        workspace_id: &str,
        after: Option<&str>,
        event_type: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<EventRecord>> {
        Sled::list_events(self, workspace_id, after, event_type, limit)
    }
    async fn get_delivery(&self, id: &str) -> StoreResult<Option<DeliveryRecord>> {
        Sled::get_delivery(self, id)
    }
    async fn list_attempts(&self, id: &str) -> StoreResult<Vec<AttemptRecord>> {
        Sled::list_attempts(self, id)
    }
    async fn recent_attempts(
        &self,
        workspace_id: &str,
        endpoint_ids: &[String],
        since: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<(Vec<(String, AttemptRecord)>, bool)> {
        let this = self.clone();
        let ws = workspace_id.to_string();
        let eps = endpoint_ids.to_vec();
        blocking(move || this.recent_attempts_blocking(&ws, &eps, since, limit)).await
    }
    async fn invocation_outcomes(
        &self,
        webhook_id: &str,
        since: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<super::InvocationOutcome>> {
        let this = self.clone();
        let id = webhook_id.to_string();
        blocking(move || this.invocation_outcomes_blocking(&id, since, limit)).await
    }
    async fn list_deliveries(
        &self,
        filter: &DeliveryFilter,
        before: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<DeliveryRecord>> {
        Sled::list_deliveries(self, filter, before, limit)
    }
    async fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        after: Option<&QueuePos>,
        limit: usize,
    ) -> StoreResult<Vec<DueDelivery>> {
        Sled::due_deliveries(self, now, after, limit)
    }
    /// One process uses a sled store: the worker's in-memory claims and
    /// per-endpoint slots are the exclusion, and a lease always holds.
    async fn lease(
        &self,
        wanted: &[(QueuePos, String)],
        _per_endpoint: usize,
        _until: DateTime<Utc>,
    ) -> StoreResult<Vec<bool>> {
        Ok(vec![true; wanted.len()])
    }
    async fn first_pending(
        &self,
        endpoint_id: &str,
        from: Option<&str>,
        except: &str,
    ) -> StoreResult<Option<String>> {
        Sled::first_pending(self, endpoint_id, from, except)
    }
    async fn queue_depth(&self) -> StoreResult<usize> {
        Ok(Sled::queue_depth(self))
    }
    async fn next_due(&self) -> StoreResult<Option<DateTime<Utc>>> {
        Sled::next_due(self)
    }
    async fn record_attempt(
        &self,
        old: Option<&QueuePos>,
        delivery: &DeliveryRecord,
        attempt: Option<&AttemptRecord>,
    ) -> StoreResult<()> {
        Sled::record_attempt(self, old, delivery, attempt).await
    }
    async fn requeue_delivery(
        &self,
        delivery: &DeliveryRecord,
        old_next: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        Sled::requeue_delivery(self, delivery, old_next).await
    }
    async fn drop_due(&self, pos: &QueuePos) -> StoreResult<()> {
        Sled::drop_due(self, pos)
    }
    async fn pending_fanout(&self, limit: usize) -> StoreResult<Vec<EventRecord>> {
        Sled::pending_fanout(self, limit)
    }
    async fn fan_out(&self, event_id: &str, deliveries: &[DeliveryRecord]) -> StoreResult<()> {
        Sled::fan_out(self, event_id, deliveries)
    }

    async fn remove_expired(&self, cutoff: DateTime<Utc>) -> StoreResult<usize> {
        let this = self.clone();
        blocking(move || Sled::remove_expired(&this, cutoff)).await
    }
    async fn flush(&self) -> StoreResult<()> {
        Sled::flush(self).await
    }

    async fn export(&self, out: tokio::sync::mpsc::Sender<Item>) -> StoreResult<()> {
        let this = self.clone();
        blocking(move || this.export_blocking(&out)).await
    }
    async fn import(&self, items: Vec<Item>) -> StoreResult<()> {
        let this = self.clone();
        blocking(move || this.import_blocking(items)).await
    }

    async fn put_meta(&self, record: &MetaRecord) -> StoreResult<()> {
        Sled::put_meta(self, record).await
    }
    async fn list_meta(&self, kind: MetaKind) -> StoreResult<Vec<MetaRecord>> {
        Sled::list_meta(self, kind)
    }
    async fn delete_meta(&self, kind: MetaKind, key: &str) -> StoreResult<bool> {
        Sled::delete_meta(self, kind, key).await
    }
    async fn purge_workspace(&self, workspace_id: &str) -> StoreResult<usize> {
        let this = self.clone();
        let ws = workspace_id.to_string();
        let removed = blocking(move || this.purge_workspace_blocking(&ws)).await?;
        self.flush().await?;
        Ok(removed)
    }
}

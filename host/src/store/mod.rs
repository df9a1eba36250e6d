//! Persistence: sled trees, one module per record type, plus the group
//! committer that makes each invocation's records durable together.

mod batch;
mod commit;
mod dedup;
mod deliveries;
mod emissions;
mod endpoints;
mod events;
mod invocations;
mod modules;
mod retention;
mod webhooks;

pub use batch::IDEMPOTENCY_WINDOW;
pub use commit::{Committer, InvocationCommit};
pub use dedup::DedupRecord;
pub(crate) use deliveries::due_key;
pub use deliveries::{AttemptRecord, DeliveryFilter, DeliveryRecord, DeliveryStatus, DueDelivery};
pub use emissions::EmissionRecord;
pub use endpoints::{DeliveryOrder, EndpointRecord, RateLimit, RetiredSecret};
pub use events::{EventRecord, EventSource};
pub use invocations::InvocationRecord;
pub use modules::ModuleRecord;
pub use webhooks::WebhookRecord;

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Errors of the storage layer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// sled failed (I/O error or corruption detected by sled).
    #[error("database error: {0}")]
    Db(String),
    /// A file of the data directory could not be read or written.
    #[error("file error: {0}")]
    Io(String),
    /// A stored record does not decode; written by an incompatible version.
    #[error("stored record does not decode: {0}")]
    Corrupt(String),
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Db(e.to_string())
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Io(e.to_string())
    }
}

/// Result of store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// A page of records from a list endpoint.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The records of this page.
    pub data: Vec<T>,
    /// Pass as `after` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Bookkeeping of [`Store::flush`]'s group commit.
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
pub struct Store {
    db: sled::Db,
    durability: Arc<Durability>,
    batcher: Arc<batch::Batcher>,
    modules: sled::Tree,
    webhooks: sled::Tree,
    invocations: sled::Tree,
    events: sled::Tree,
    emissions: sled::Tree,
    endpoints: sled::Tree,
    deliveries: sled::Tree,
    attempts: sled::Tree,
    due: sled::Tree,
    idempotency: sled::Tree,
    /// Answers remembered for inbound deduplication.
    dedup: sled::Tree,
    /// Events published by handlers, awaiting fan-out into deliveries.
    fanout: sled::Tree,
    /// Entries of `due` (the queue depth), kept with every change.
    queued: Arc<std::sync::atomic::AtomicI64>,
    dir: PathBuf,
}

impl Store {
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
            queued: Arc::new(std::sync::atomic::AtomicI64::new(due.len() as i64)),
            due,
            durability: Arc::default(),
            batcher: Arc::default(),
            db,
            dir: dir.to_path_buf(),
        })
    }

    /// How many handles (clones) of this store are alive.
    pub fn handles(&self) -> usize {
        Arc::strong_count(&self.durability)
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

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("records serialize to JSON")
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Reads up to `limit` records of `tree` whose key starts with `prefix`,
/// strictly after (or, when `newest_first`, before) the key `after`.
/// Records failing `keep` are skipped. Returns the records and the key of
/// the last one when more may follow.
fn scan_page<T: DeserializeOwned>(
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

/// Writes `bytes` to `path` so that a crash leaves either the old file or the
/// complete new one: temp file, fsync, rename, fsync of the directory.
pub(crate) fn write_file_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("data files live in a directory");
    let tmp = tempfile_path(path);
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Makes the data directory (and every directory in it) `0700` and every
/// file in it `0600`: it holds endpoint secrets, webhook payloads and the
/// admin token.
pub fn restrict_permissions(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            restrict_permissions(&entry.path())?;
        } else if kind.is_file() {
            std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

fn tempfile_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
    path.with_file_name(name)
}

/// Time-ordered ids (`<prefix>_<uuid v7 hex>`) whose sled key is the 16 raw
/// uuid bytes, so key order is creation order.
pub mod ids {
    use uuid::Uuid;

    /// A new time-ordered id with `prefix`.
    pub fn new(prefix: &str) -> (String, [u8; 16]) {
        let u = Uuid::now_v7();
        (format!("{prefix}_{}", u.simple()), *u.as_bytes())
    }

    /// The sled key of an id made by [`new`], if `id` is one.
    pub fn key(prefix: &str, id: &str) -> Option<[u8; 16]> {
        let hex = id.strip_prefix(prefix)?.strip_prefix('_')?;
        Uuid::try_parse(hex).ok().map(|u| *u.as_bytes())
    }

    /// The id of a sled key made by [`new`].
    pub fn from_key(prefix: &str, key: &[u8]) -> String {
        let bytes: [u8; 16] = key.try_into().unwrap_or_default();
        format!("{prefix}_{}", Uuid::from_bytes(bytes).simple())
    }
}

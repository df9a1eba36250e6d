//! Persistence behind one interface, [`Backend`], with two implementations:
//! [`Sled`] (the zero-set-up default, in the data directory) and
//! [`Postgres`] (the scale-out back end several nodes share). The rest of
//! hookhost holds a [`Store`] and never sees which one it is.
//!
//! Record types live one kind per file, beside their sled encoding;
//! `pg/` holds the PostgreSQL schema and queries.

mod backend;
mod batch;
mod commit;
mod dedup;
mod deliveries;
mod emissions;
mod endpoints;
mod events;
mod invocations;
mod meta;
mod modules;
mod pg;
mod retention;
mod sled_backend;
mod sled_transfer;
pub mod transfer;
mod webhooks;

pub use backend::{Backend, Change, DueDelivery, QueuePos};
pub use batch::IDEMPOTENCY_WINDOW;
pub use commit::{Committer, InvocationCommit};
pub use dedup::DedupRecord;
pub use deliveries::{
    AttemptRecord, DeliveryFilter, DeliveryRecord, DeliveryStatus, TransformedMessage,
};
pub use emissions::EmissionRecord;
pub(crate) use endpoints::integral_opt;
pub use endpoints::{DeliveryOrder, EndpointRecord, RateLimit, RetiredSecret};
pub use events::{EventRecord, EventSource};
pub use invocations::{
    CapturedRequest, CapturedResponse, InvocationOutcome, InvocationRecord, OutboundCall,
    capture_body,
};
pub use meta::{MetaKind, MetaRecord};
pub use modules::ModuleRecord;
pub use pg::Postgres;
pub use sled_backend::Sled;
pub use webhooks::WebhookRecord;

/// A handle on the store, whichever back end it is; cheap to clone.
pub type Store = Arc<dyn Backend>;

/// Opens the sled store in `dir`.
pub fn open_sled(dir: &Path) -> StoreResult<Store> {
    Ok(Arc::new(Sled::open(dir)?))
}

/// Opens the store the configuration names: PostgreSQL at `database_url`
/// (in `schema`, when given) running its migrations, else sled in
/// `data_dir`.
pub async fn open(
    data_dir: &Path,
    database_url: Option<&str>,
    schema: Option<&str>,
) -> StoreResult<Store> {
    match database_url {
        Some(url) => Ok(Arc::new(Postgres::connect(url, schema).await?)),
        None => open_sled(data_dir),
    }
}

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Errors of the storage layer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database failed (sled: I/O error or corruption it detected;
    /// PostgreSQL: a connection or query error).
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

/// The workspace every record belongs to unless it names another: every
/// record written before workspaces existed lands in it when read.
pub const DEFAULT_WORKSPACE: &str = "default";

/// Serde default of records' `workspace_id`.
pub(crate) fn default_workspace() -> String {
    DEFAULT_WORKSPACE.to_string()
}

/// Records of the default workspace are written without `workspace_id`,
/// byte for byte as before workspaces.
pub fn is_default_workspace(ws: &str) -> bool {
    ws == DEFAULT_WORKSPACE
}

/// The store key of module `name` in workspace `ws`: the bare name in the
/// default workspace (as before workspaces), `<ws>/<name>` in another.
/// Callers pass only valid module names (no `/`), so a default-workspace
/// key never names another workspace's module.
pub fn module_key(ws: &str, name: &str) -> String {
    if is_default_workspace(ws) {
        name.to_string()
    } else {
        format!("{ws}/{name}")
    }
}

/// The store key of an idempotency key of workspace `ws`: `<ws>/<key>`,
/// and the bare key in the default workspace (as before workspaces) unless
/// it could be taken for another workspace's.
pub fn idempotency_key(ws: &str, key: &str) -> String {
    if is_default_workspace(ws) && !key.starts_with("ws_") {
        key.to_string()
    } else {
        format!("{ws}/{key}")
    }
}

/// A page of records from a list endpoint.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The records of this page.
    pub data: Vec<T>,
    /// Pass as `after` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("records serialize to JSON")
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
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

    /// The smallest id with `prefix` that [`new`] could make at `at`: ids
    /// at or above it were made then or later.
    pub fn at(prefix: &str, at: chrono::DateTime<chrono::Utc>) -> String {
        let ms = at.timestamp_millis().max(0) as u64;
        let mut bytes = [0u8; 16];
        bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
        format!("{prefix}_{}", Uuid::from_bytes(bytes).simple())
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

//! Uploaded handler components: metadata in sled, bytes in
//! `modules/<sha256>.wasm` (content-addressed, shared by equal uploads).

use super::{Sled, StoreResult, decode, encode, write_file_atomic};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A named handler component.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModuleRecord {
    /// The workspace it belongs to (`default` when absent).
    #[serde(
        default = "super::default_workspace",
        skip_serializing_if = "super::is_default_workspace"
    )]
    pub workspace_id: String,
    /// Unique name, used by webhooks to refer to the module.
    pub name: String,
    /// Hex sha256 of the component bytes.
    pub sha256: String,
    /// Size of the component in bytes.
    pub size: u64,
    /// First upload under this name.
    pub created_at: DateTime<Utc>,
    /// Last upload under this name.
    pub updated_at: DateTime<Utc>,
}

impl ModuleRecord {
    /// Its store key: [`super::module_key`] of its workspace and name.
    pub fn key(&self) -> String {
        super::module_key(&self.workspace_id, &self.name)
    }
}

impl Sled {
    /// Path of the component file with this hash.
    pub fn module_path(&self, sha256: &str) -> PathBuf {
        self.dir.join("modules").join(format!("{sha256}.wasm"))
    }

    /// Stores component bytes under their hash (no-op when already stored).
    pub fn write_module_bytes(&self, sha256: &str, bytes: &[u8]) -> StoreResult<()> {
        let path = self.module_path(sha256);
        if !path.exists() {
            write_file_atomic(&path, bytes)?;
        }
        Ok(())
    }

    /// Removes the component file with this hash unless a module still uses
    /// it; `true` when no module uses it (any more).
    pub fn remove_module_bytes_if_unused(&self, sha256: &str) -> StoreResult<bool> {
        if self.list_modules()?.iter().any(|m| m.sha256 == sha256) {
            return Ok(false);
        }
        match std::fs::remove_file(self.module_path(sha256)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(true),
        }
    }

    /// Inserts or replaces a module record, durably.
    pub async fn put_module(&self, record: &ModuleRecord) -> StoreResult<()> {
        self.modules
            .insert(record.key().as_bytes(), encode(record))?;
        self.flush().await
    }

    /// The module whose key ([`ModuleRecord::key`]) is `name`.
    pub fn get_module(&self, name: &str) -> StoreResult<Option<ModuleRecord>> {
        self.modules.get(name)?.map(|v| decode(&v)).transpose()
    }

    /// Every module, by name.
    pub fn list_modules(&self) -> StoreResult<Vec<ModuleRecord>> {
        self.modules.iter().map(|r| decode(&r?.1)).collect()
    }

    /// Deletes the module record called `name`, durably.
    pub async fn delete_module(&self, name: &str) -> StoreResult<()> {
        self.modules.remove(name)?;
        self.flush().await
    }
}

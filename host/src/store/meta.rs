//! Tenancy records: workspaces, their tokens and their event types. Few and
//! small, read whole into memory by [`crate::tenancy`]; the store keeps each
//! as JSON under its kind and key, with the workspace it belongs to.

use super::deliveries::DeliveryStatus;
use super::{DeliveryRecord, EmissionRecord, EventRecord, Sled, StoreResult, decode, encode};
use serde::{Deserialize, Serialize};

/// What a tenancy record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetaKind {
    /// A workspace (key: its id).
    Workspace,
    /// An API token of a workspace (key: its id).
    Token,
    /// An event type of a workspace's catalogue (key: `<ws>/<name>`).
    EventType,
}

impl MetaKind {
    /// Its name in keys and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            MetaKind::Workspace => "workspace",
            MetaKind::Token => "token",
            MetaKind::EventType => "event_type",
        }
    }
}

/// One tenancy record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetaRecord {
    /// What it is.
    pub kind: MetaKind,
    /// Unique within its kind.
    pub key: String,
    /// The workspace it belongs to (a workspace: itself).
    pub workspace_id: String,
    /// The record, JSON.
    pub record: String,
}

pub(super) fn meta_key(kind: MetaKind, key: &str) -> Vec<u8> {
    let mut k = kind.as_str().as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(key.as_bytes());
    k
}

impl Sled {
    /// Inserts or replaces a tenancy record, durably.
    pub(super) async fn put_meta(&self, m: &MetaRecord) -> StoreResult<()> {
        self.meta.insert(meta_key(m.kind, &m.key), encode(m))?;
        self.flush().await
    }

    /// Every tenancy record of `kind`, by key.
    pub(super) fn list_meta(&self, kind: MetaKind) -> StoreResult<Vec<MetaRecord>> {
        let mut prefix = kind.as_str().as_bytes().to_vec();
        prefix.push(0);
        self.meta
            .scan_prefix(prefix)
            .map(|r| decode(&r?.1))
            .collect()
    }

    /// Deletes a tenancy record, durably; whether it existed.
    pub(super) async fn delete_meta(&self, kind: MetaKind, key: &str) -> StoreResult<bool> {
        let existed = self.meta.remove(meta_key(kind, key))?.is_some();
        self.flush().await?;
        Ok(existed)
    }

    /// Removes the events, deliveries (with their attempts and queue
    /// entries), emissions and idempotency keys of workspace `ws` (blocking:
    /// a scan of each tree), durably; how many records went.
    pub(super) fn purge_workspace_blocking(&self, ws: &str) -> StoreResult<usize> {
        let mut removed = 0;
        for item in self.deliveries.iter() {
            let (k, v) = item?;
            let d: DeliveryRecord = decode(&v)?;
            if d.workspace_id != ws {
                continue;
            }
            for attempt in self.attempts.scan_prefix(&k) {
                self.attempts.remove(attempt?.0)?;
                removed += 1;
            }
            if let (DeliveryStatus::Pending, Some(at)) = (d.status, d.next_attempt_at)
                && self
                    .due
                    .remove(super::deliveries::due_key(at, &d.id))?
                    .is_some()
            {
                self.note_queued(-1);
            }
            self.deliveries.remove(&k)?;
            removed += 1;
        }
        for item in self.events.iter() {
            let (k, v) = item?;
            let e: EventRecord = decode(&v)?;
            if e.workspace_id == ws {
                self.fanout.remove(&k)?;
                self.events.remove(&k)?;
                removed += 1;
            }
        }
        for item in self.emissions.iter() {
            let (k, v) = item?;
            let e: EmissionRecord = decode(&v)?;
            if e.workspace_id == ws {
                self.emissions.remove(&k)?;
                removed += 1;
            }
        }
        let prefix = format!("{ws}/");
        for item in self.idempotency.scan_prefix(prefix.as_bytes()) {
            self.idempotency.remove(item?.0)?;
            removed += 1;
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{DeliveryRecord, EventRecord, ModuleRecord};

    /// Records written before workspaces have no `workspace_id`: they read
    /// as the default workspace's, and the default workspace's records are
    /// written as before, byte for byte.
    #[test]
    fn records_from_before_workspaces_are_in_the_default_one() {
        let old = r#"{"name":"echo","sha256":"ab","size":1,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}"#;
        let m: ModuleRecord = serde_json::from_str(old).unwrap();
        assert_eq!(m.workspace_id, "default");
        assert_eq!(m.key(), "echo");
        assert_eq!(serde_json::to_string(&m).unwrap(), old);
        let event = r#"{"id":"evt_1","type":"t","data":{"a":1},"created_at":"2026-01-01T00:00:00Z","source":null}"#;
        let e: EventRecord = serde_json::from_str(event).unwrap();
        assert_eq!(e.workspace_id, "default");
        assert_eq!(serde_json::to_string(&e).unwrap(), event);
        let delivery = r#"{"id":"dlv_1","event_id":"evt_1","event_type":"t","endpoint_id":"ep_1","status":"pending","attempts":0,"next_attempt_at":null,"last_status_code":null,"last_error":null,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}"#;
        let d: DeliveryRecord = serde_json::from_str(delivery).unwrap();
        assert_eq!(d.workspace_id, "default");
        // Another workspace's records say so, and their module keys differ.
        let other = ModuleRecord {
            workspace_id: "ws_1".into(),
            ..m
        };
        assert_eq!(other.key(), "ws_1/echo");
        assert!(
            serde_json::to_string(&other)
                .unwrap()
                .contains(r#""workspace_id":"ws_1""#)
        );
    }
}

//! Export and import of the PostgreSQL store (see [`crate::store::transfer`]).
//!
//! An export reads every table in one read-only `REPEATABLE READ`
//! transaction: one consistent snapshot of the database, while nodes keep
//! running. An import writes each batch in one transaction, upserting by id.

use super::{Postgres, db, decode, encode, record, status_text};
use crate::store::transfer::{Item, check_module_bytes, dedup_hash};
use crate::store::{DeliveryStatus, MetaRecord, StoreError, StoreResult};
use futures_util::{TryStreamExt, pin_mut};
use tokio::sync::mpsc;
use tokio_postgres::IsolationLevel;
use tokio_postgres::types::ToSql;

/// What each table exports, in an order import can replay.
const TABLES: &[(&str, &str)] = &[
    (
        "meta",
        "SELECT kind, key, workspace_id, record FROM meta ORDER BY kind, key",
    ),
    ("module", "SELECT record FROM modules ORDER BY name"),
    (
        "module_bytes",
        "SELECT sha256, bytes FROM module_bytes ORDER BY sha256",
    ),
    ("webhook", "SELECT record FROM webhooks ORDER BY id"),
    ("endpoint", "SELECT record FROM endpoints ORDER BY id"),
    ("event", "SELECT record, fanout FROM events ORDER BY id"),
    ("delivery", "SELECT record FROM deliveries ORDER BY id"),
    (
        "attempt",
        "SELECT record FROM attempts ORDER BY delivery_id, attempt",
    ),
    (
        "invocation",
        "SELECT record FROM invocations ORDER BY webhook_id, id",
    ),
    ("emission", "SELECT record FROM emissions ORDER BY id"),
    (
        "idempotency",
        "SELECT key, event_id, at FROM idempotency ORDER BY key",
    ),
    (
        "dedup",
        "SELECT webhook_id, key_hash, record FROM dedup ORDER BY webhook_id, key_hash",
    ),
];

impl Postgres {
    /// Sends every record to `out`, from one snapshot.
    pub(super) async fn export_all(&self, out: mpsc::Sender<Item>) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(db)?;
        for (kind, sql) in TABLES {
            let none: [&(dyn ToSql + Sync); 0] = [];
            let rows = tx.query_raw(*sql, none).await.map_err(db)?;
            pin_mut!(rows);
            while let Some(row) = rows.try_next().await.map_err(db)? {
                let item = match *kind {
                    "meta" => Item::Meta(MetaRecord {
                        kind: serde_json::from_value(serde_json::Value::String(
                            row.try_get(0).map_err(db)?,
                        ))
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                        key: row.try_get(1).map_err(db)?,
                        workspace_id: row.try_get(2).map_err(db)?,
                        record: row.try_get(3).map_err(db)?,
                    }),
                    "module" => Item::Module(record(&row)?),
                    "module_bytes" => Item::ModuleBytes {
                        sha256: row.try_get(0).map_err(db)?,
                        bytes: row.try_get(1).map_err(db)?,
                    },
                    "webhook" => Item::Webhook(record(&row)?),
                    "endpoint" => Item::Endpoint(record(&row)?),
                    "event" => Item::Event {
                        record: record(&row)?,
                        fanout: row.try_get(1).map_err(db)?,
                    },
                    "delivery" => Item::Delivery(record(&row)?),
                    "attempt" => Item::Attempt(record(&row)?),
                    "invocation" => Item::Invocation(record(&row)?),
                    "emission" => Item::Emission(record(&row)?),
                    "idempotency" => Item::Idempotency {
                        key: row.try_get(0).map_err(db)?,
                        event_id: row.try_get(1).map_err(db)?,
                        at: row.try_get(2).map_err(db)?,
                    },
                    _ => Item::Dedup {
                        webhook_id: row.try_get(0).map_err(db)?,
                        key_sha256: hex::encode(row.try_get::<_, Vec<u8>>(1).map_err(db)?),
                        record: decode(row.try_get(2).map_err(db)?)?,
                    },
                };
                out.send(item)
                    .await
                    .map_err(|_| StoreError::Io("export stopped: the reader went away".into()))?;
            }
        }
        tx.commit().await.map_err(db)
    }

    /// Writes a batch of exported records in one transaction, replacing
    /// rows with the same keys.
    pub(super) async fn import_all(&self, items: Vec<Item>) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        for item in items {
            match item {
                Item::Meta(m) => {
                    tx.execute(
                        "INSERT INTO meta (kind, key, workspace_id, record) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (kind, key) DO UPDATE
                         SET workspace_id = EXCLUDED.workspace_id, record = EXCLUDED.record",
                        &[&m.kind.as_str(), &m.key, &m.workspace_id, &m.record],
                    )
                    .await
                    .map_err(db)?;
                }
                Item::Module(m) => {
                    tx.execute(
                        "INSERT INTO modules (name, sha256, record, workspace_id) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (name) DO UPDATE SET sha256 = EXCLUDED.sha256, record = EXCLUDED.record",
                        &[&m.key(), &m.sha256, &encode(&m)?, &m.workspace_id],
                    )
                    .await
                    .map_err(db)?;
                }
                Item::ModuleBytes { sha256, bytes } => {
                    check_module_bytes(&sha256, &bytes)?;
                    tx.execute(
                        "INSERT INTO module_bytes (sha256, bytes) VALUES ($1, $2)
                         ON CONFLICT (sha256) DO NOTHING",
                        &[&sha256, &bytes],
                    )
                    .await
                    .map_err(db)?;
                }
                Item::Webhook(w) => {
                    tx.execute(
                        "INSERT INTO webhooks (id, record, workspace_id) VALUES ($1, $2, $3)
                         ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record",
                        &[&w.id, &encode(&w)?, &w.workspace_id],
                    )
                    .await
                    .map_err(db)?;
                }
                Item::Endpoint(e) => {
                    tx.execute(
                        "INSERT INTO endpoints (id, record, workspace_id) VALUES ($1, $2, $3)
                         ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record",
                        &[&e.id, &encode(&e)?, &e.workspace_id],
                    )
                    .await
                    .map_err(db)?;
                }
                Item::Event { record, fanout } => {
                    tx.execute(
                        "INSERT INTO events (id, event_type, created_at, fanout, record, workspace_id)
                         VALUES ($1, $2, $3, $4, $5, $6)
                         ON CONFLICT (id) DO UPDATE SET event_type = EXCLUDED.event_type,
                           created_at = EXCLUDED.created_at, fanout = EXCLUDED.fanout,
                           record = EXCLUDED.record",
                        &[
                            &record.id,
                            &record.event_type,
                            &record.created_at,
                            &fanout,
                            &encode(&record)?,
                            &record.workspace_id,
                        ],
                    )
                    .await
                    .map_err(db)?;
                }
                Item::Delivery(d) => {
                    let next_ms = match (d.status, d.next_attempt_at) {
                        (DeliveryStatus::Pending, Some(at)) => Some(at.timestamp_millis()),
                        _ => None,
                    };
                    tx.execute(
                        "INSERT INTO deliveries (id, event_id, endpoint_id, event_type, status,
                           next_attempt_ms, updated_at, record, workspace_id)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                         ON CONFLICT (id) DO UPDATE SET event_id = EXCLUDED.event_id,
                           endpoint_id = EXCLUDED.endpoint_id, event_type = EXCLUDED.event_type,
                           status = EXCLUDED.status, next_attempt_ms = EXCLUDED.next_attempt_ms,
                           updated_at = EXCLUDED.updated_at, record = EXCLUDED.record",
                        &[
                            &d.id,
                            &d.event_id,
                            &d.endpoint_id,
                            &d.event_type,
                            &status_text(d.status),
                            &next_ms,
                            &d.updated_at,
                            &encode(&d)?,
                            &d.workspace_id,
                        ],
                    )
                    .await
                    .map_err(db)?;
                }
                Item::Attempt(a) => {
                    tx.execute(
                        "INSERT INTO attempts (delivery_id, attempt, record) VALUES ($1, $2, $3)
                         ON CONFLICT (delivery_id, attempt) DO UPDATE SET record = EXCLUDED.record",
                        &[&a.delivery_id, &i64::from(a.attempt), &encode(&a)?],
                    )
                    .await
                    .map_err(db)?;
                }
                Item::Invocation(i) => {
                    tx.execute(
                        "INSERT INTO invocations (webhook_id, id, record) VALUES ($1, $2, $3)
                         ON CONFLICT (webhook_id, id) DO UPDATE SET record = EXCLUDED.record",
                        &[&i.webhook_id, &i.id, &encode(&i)?],
                    )
                    .await
                    .map_err(db)?;
                }
                Item::Emission(e) => {
                    tx.execute(
                        "INSERT INTO emissions (id, entity_type, webhook_id, record, workspace_id)
                         VALUES ($1, $2, $3, $4, $5)
                         ON CONFLICT (id) DO UPDATE SET entity_type = EXCLUDED.entity_type,
                           webhook_id = EXCLUDED.webhook_id, record = EXCLUDED.record",
                        &[
                            &e.id,
                            &e.entity_type,
                            &e.webhook_id,
                            &encode(&e)?,
                            &e.workspace_id,
                        ],
                    )
                    .await
                    .map_err(db)?;
                }
                Item::Idempotency { key, event_id, at } => {
                    tx.execute(
                        "INSERT INTO idempotency (key, event_id, at) VALUES ($1, $2, $3)
                         ON CONFLICT (key) DO UPDATE SET event_id = EXCLUDED.event_id, at = EXCLUDED.at",
                        &[&key, &event_id, &at],
                    )
                    .await
                    .map_err(db)?;
                }
                Item::Dedup {
                    webhook_id,
                    key_sha256,
                    record,
                } => {
                    let hash = dedup_hash(&key_sha256)?;
                    tx.execute(
                        "INSERT INTO dedup (webhook_id, key_hash, at, expires_at, record)
                         VALUES ($1, $2, $3, $4, $5)
                         ON CONFLICT (webhook_id, key_hash) DO UPDATE SET at = EXCLUDED.at,
                           expires_at = EXCLUDED.expires_at, record = EXCLUDED.record",
                        &[
                            &webhook_id,
                            &hash,
                            &record.at,
                            &record.expires_at,
                            &encode(&record)?,
                        ],
                    )
                    .await
                    .map_err(db)?;
                }
            }
        }
        tx.commit().await.map_err(db)
    }
}

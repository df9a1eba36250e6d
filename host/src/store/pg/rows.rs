//! Records as table rows, and multi-row inserts: each is one statement
//! over arrays, one per column (`INSERT ... SELECT * FROM UNNEST(...)`),
//! whatever the number of rows.

use super::{encode, status_text};
use crate::store::backend::QueuePos;
use crate::store::{
    AttemptRecord, DeliveryRecord, EmissionRecord, EventRecord, InvocationRecord, StoreResult,
};
use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;
use tokio_postgres::Error;

/// An event, serialized.
#[derive(Debug)]
pub(super) struct EventRow {
    pub id: String,
    pub event_type: String,
    pub created_at: DateTime<Utc>,
    pub workspace_id: String,
    pub record: String,
}

impl EventRow {
    pub fn new(e: &EventRecord) -> StoreResult<Self> {
        Ok(Self {
            id: e.id.clone(),
            event_type: e.event_type.clone(),
            created_at: e.created_at,
            workspace_id: e.workspace_id.clone(),
            record: encode(e)?,
        })
    }
}

/// A delivery, serialized, with its queue position.
#[derive(Debug)]
pub(super) struct DeliveryRow {
    pub id: String,
    pub event_id: String,
    pub endpoint_id: String,
    pub event_type: String,
    pub status: &'static str,
    /// Milliseconds of `next_attempt_at` while queued, else `None`.
    pub next_attempt_ms: Option<i64>,
    pub updated_at: DateTime<Utc>,
    pub workspace_id: String,
    pub record: String,
}

impl DeliveryRow {
    pub fn new(d: &DeliveryRecord) -> StoreResult<Self> {
        Ok(Self {
            id: d.id.clone(),
            event_id: d.event_id.clone(),
            endpoint_id: d.endpoint_id.clone(),
            event_type: d.event_type.clone(),
            status: status_text(d.status),
            next_attempt_ms: QueuePos::of(d).map(|p| p.at_ms),
            updated_at: d.updated_at,
            workspace_id: d.workspace_id.clone(),
            record: encode(d)?,
        })
    }
}

/// An attempt, serialized.
#[derive(Debug)]
pub(super) struct AttemptRow {
    pub delivery_id: String,
    pub attempt: i64,
    pub record: String,
}

impl AttemptRow {
    pub fn new(a: &AttemptRecord) -> StoreResult<Self> {
        Ok(Self {
            delivery_id: a.delivery_id.clone(),
            attempt: i64::from(a.attempt),
            record: encode(a)?,
        })
    }
}

/// What a multi-row insert does with a row whose id is taken.
#[derive(Debug, Clone, Copy)]
pub(super) enum OnConflict {
    /// Keeps the stored row: the same write applied again.
    Keep,
    /// Replaces it, and ends its lease (a recorded attempt, a requeue).
    Replace,
}

/// Events as columns.
#[derive(Default)]
pub(super) struct EventColumns<'a> {
    id: Vec<&'a str>,
    event_type: Vec<&'a str>,
    created_at: Vec<DateTime<Utc>>,
    workspace_id: Vec<&'a str>,
    record: Vec<&'a str>,
}

impl<'a> EventColumns<'a> {
    pub fn new(rows: impl IntoIterator<Item = &'a EventRow>) -> Self {
        let mut c = Self::default();
        for r in rows {
            c.id.push(&r.id);
            c.event_type.push(&r.event_type);
            c.created_at.push(r.created_at);
            c.workspace_id.push(&r.workspace_id);
            c.record.push(&r.record);
        }
        c
    }

    /// Inserts the events (an id already stored is left alone), marked for
    /// fan-out when `fanout`.
    pub async fn insert(&self, tx: &Transaction<'_>, fanout: bool) -> Result<(), Error> {
        if self.id.is_empty() {
            return Ok(());
        }
        let stmt = tx
            .prepare_cached(
                "INSERT INTO events (id, event_type, created_at, fanout, record, workspace_id) \
                 SELECT id, event_type, created_at, $5, record, workspace_id \
                 FROM UNNEST($1::text[], $2::text[], $3::timestamptz[], $4::text[], $6::text[]) \
                     AS u(id, event_type, created_at, record, workspace_id) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .await?;
        tx.execute(
            &stmt,
            &[
                &self.id,
                &self.event_type,
                &self.created_at,
                &self.record,
                &fanout,
                &self.workspace_id,
            ],
        )
        .await?;
        Ok(())
    }
}

/// Deliveries as columns.
#[derive(Default)]
pub(super) struct DeliveryColumns<'a> {
    id: Vec<&'a str>,
    event_id: Vec<&'a str>,
    endpoint_id: Vec<&'a str>,
    event_type: Vec<&'a str>,
    status: Vec<&'a str>,
    next_attempt_ms: Vec<Option<i64>>,
    updated_at: Vec<DateTime<Utc>>,
    workspace_id: Vec<&'a str>,
    record: Vec<&'a str>,
}

impl<'a> DeliveryColumns<'a> {
    pub fn new(rows: impl IntoIterator<Item = &'a DeliveryRow>) -> Self {
        let mut c = Self::default();
        for r in rows {
            c.id.push(&r.id);
            c.event_id.push(&r.event_id);
            c.endpoint_id.push(&r.endpoint_id);
            c.event_type.push(&r.event_type);
            c.status.push(r.status);
            c.next_attempt_ms.push(r.next_attempt_ms);
            c.updated_at.push(r.updated_at);
            c.workspace_id.push(&r.workspace_id);
            c.record.push(&r.record);
        }
        c
    }

    /// Writes the deliveries. With [`OnConflict::Replace`], an id must
    /// appear once (PostgreSQL cannot update a row twice in a statement).
    pub async fn write(&self, tx: &Transaction<'_>, on_conflict: OnConflict) -> Result<(), Error> {
        if self.id.is_empty() {
            return Ok(());
        }
        let sql = match on_conflict {
            OnConflict::Keep => {
                "INSERT INTO deliveries (id, event_id, endpoint_id, event_type, status, \
                     next_attempt_ms, updated_at, record, workspace_id) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], \
                     $5::text[], $6::int8[], $7::timestamptz[], $8::text[], $9::text[]) \
                 ON CONFLICT (id) DO NOTHING"
            }
            OnConflict::Replace => {
                "INSERT INTO deliveries (id, event_id, endpoint_id, event_type, status, \
                     next_attempt_ms, updated_at, record, workspace_id) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], \
                     $5::text[], $6::int8[], $7::timestamptz[], $8::text[], $9::text[]) \
                 ON CONFLICT (id) DO UPDATE SET \
                     event_id = EXCLUDED.event_id, endpoint_id = EXCLUDED.endpoint_id, \
                     event_type = EXCLUDED.event_type, status = EXCLUDED.status, \
                     next_attempt_ms = EXCLUDED.next_attempt_ms, \
                     updated_at = EXCLUDED.updated_at, record = EXCLUDED.record"
            }
        };
        let stmt = tx.prepare_cached(sql).await?;
        tx.execute(
            &stmt,
            &[
                &self.id,
                &self.event_id,
                &self.endpoint_id,
                &self.event_type,
                &self.status,
                &self.next_attempt_ms,
                &self.updated_at,
                &self.record,
                &self.workspace_id,
            ],
        )
        .await?;
        Ok(())
    }
}

/// Attempts as columns.
#[derive(Default)]
pub(super) struct AttemptColumns<'a> {
    delivery_id: Vec<&'a str>,
    attempt: Vec<i64>,
    record: Vec<&'a str>,
}

impl<'a> AttemptColumns<'a> {
    pub fn new(rows: impl IntoIterator<Item = &'a AttemptRow>) -> Self {
        let mut c = Self::default();
        for r in rows {
            c.delivery_id.push(&r.delivery_id);
            c.attempt.push(r.attempt);
            c.record.push(&r.record);
        }
        c
    }

    /// Inserts or replaces the attempts; each (delivery, attempt) once.
    pub async fn write(&self, tx: &Transaction<'_>) -> Result<(), Error> {
        if self.delivery_id.is_empty() {
            return Ok(());
        }
        let stmt = tx
            .prepare_cached(
                "INSERT INTO attempts (delivery_id, attempt, record) \
                 SELECT * FROM UNNEST($1::text[], $2::int8[], $3::text[]) \
                 ON CONFLICT (delivery_id, attempt) DO UPDATE SET record = EXCLUDED.record",
            )
            .await?;
        tx.execute(&stmt, &[&self.delivery_id, &self.attempt, &self.record])
            .await?;
        Ok(())
    }
}

/// Invocation records as columns, serialized.
#[derive(Default)]
pub(super) struct InvocationColumns {
    webhook_id: Vec<String>,
    id: Vec<String>,
    record: Vec<String>,
}

impl InvocationColumns {
    pub fn push(&mut self, r: &InvocationRecord) -> StoreResult<()> {
        self.record.push(encode(r)?);
        self.webhook_id.push(r.webhook_id.clone());
        self.id.push(r.id.clone());
        Ok(())
    }

    /// Inserts the invocations (an id already stored is left alone).
    pub async fn insert(&self, tx: &Transaction<'_>) -> Result<(), Error> {
        if self.id.is_empty() {
            return Ok(());
        }
        let stmt = tx
            .prepare_cached(
                "INSERT INTO invocations (webhook_id, id, record) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[]) \
                 ON CONFLICT (webhook_id, id) DO NOTHING",
            )
            .await?;
        tx.execute(&stmt, &[&self.webhook_id, &self.id, &self.record])
            .await?;
        Ok(())
    }
}

/// Emission records as columns, serialized.
#[derive(Default)]
pub(super) struct EmissionColumns {
    id: Vec<String>,
    entity_type: Vec<String>,
    webhook_id: Vec<String>,
    workspace_id: Vec<String>,
    record: Vec<String>,
}

impl EmissionColumns {
    pub fn push(&mut self, r: &EmissionRecord) -> StoreResult<()> {
        self.record.push(encode(r)?);
        self.id.push(r.id.clone());
        self.entity_type.push(r.entity_type.clone());
        self.webhook_id.push(r.webhook_id.clone());
        self.workspace_id.push(r.workspace_id.clone());
        Ok(())
    }

    /// Inserts the emissions (an id already stored is left alone).
    pub async fn insert(&self, tx: &Transaction<'_>) -> Result<(), Error> {
        if self.id.is_empty() {
            return Ok(());
        }
        let stmt = tx
            .prepare_cached(
                "INSERT INTO emissions (id, entity_type, webhook_id, record, workspace_id) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .await?;
        tx.execute(
            &stmt,
            &[
                &self.id,
                &self.entity_type,
                &self.webhook_id,
                &self.record,
                &self.workspace_id,
            ],
        )
        .await?;
        Ok(())
    }
}

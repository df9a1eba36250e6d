//! PostgreSQL back end: several hookhost nodes share one database.
//!
//! # Schema
//!
//! One table per record type (`migrations/`). Each row keeps the record's
//! exact JSON in a `record` column (text, not jsonb: event data stays byte
//! for byte as accepted, it is signed later) next to the columns its
//! queries filter and order on, which are derived from the record on every
//! write. Ids are `<prefix>_<uuid v7 hex>` compared byte-wise
//! (`COLLATE "C"`), so id order is creation order and a cursor is an id.
//! Migrations are embedded and run at connect, in one transaction under an
//! advisory lock; `hookhost_schema` holds the version, and a database
//! migrated by a newer hookhost is refused rather than misread.
//!
//! # Queue and leases
//!
//! There is no queue table: a queued delivery's row carries its position,
//! `(next_attempt_ms, id)`, set only while it is pending, under a partial
//! index. Any node may read what is due; it takes a delivery for one
//! attempt by inserting a row into `leases` (`hookhost_lease`, one round
//! trip), only if the delivery is still at the position read and nobody's
//! lease holds, so two nodes never attempt a delivery at once while a lease
//! lasts. Recording the attempt moves the row and deletes the lease in one
//! transaction; a node that dies mid-attempt leaves a lease that expires,
//! and another node attempts the delivery again (delivery is at least
//! once). A lease ends at a time of the node's clock and is compared with
//! the database's (`now()`): the nodes' clocks must agree to well within the
//! lease.
//!
//! # Batching
//!
//! Accepted events and recorded attempts come from many tasks at once. Each
//! write is queued, and whoever gets the turn applies everything queued in
//! one transaction with multi-row statements, so one commit (one WAL flush)
//! serves the whole batch ([`batch`]). Invocation commits arrive already
//! batched and take one transaction per call.
//!
//! # Changes
//!
//! Writes of modules, webhooks and endpoints `pg_notify` in their own
//! statement; one dedicated connection per node listens and republishes
//! them as [`Change`]s ([`listen`]).

mod batch;
mod listen;
mod migrate;
mod rows;
mod transfer;

use self::batch::{Accept, Attempt, GroupCommit};
use self::rows::{DeliveryColumns, DeliveryRow, EventColumns, EventRow, OnConflict};
use super::backend::{Backend, Change, DueDelivery, QueuePos};
use super::deliveries::DELIVERY_PREFIX;
use super::emissions::EMISSION_PREFIX;
use super::events::EVENT_PREFIX;
use super::invocations::INVOCATION_PREFIX;
use super::{
    AttemptRecord, DedupRecord, DeliveryFilter, DeliveryRecord, DeliveryStatus, EmissionRecord,
    EndpointRecord, EventRecord, IDEMPOTENCY_WINDOW, InvocationCommit, InvocationRecord, MetaKind,
    MetaRecord, ModuleRecord, Page, StoreError, StoreResult, WebhookRecord, ids,
};
use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

/// Connections in the pool of one node.
const POOL_SIZE: usize = 16;
/// How long connecting to PostgreSQL may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle time before TCP keepalives probe a connection, so a peer that
/// vanished without closing it is noticed (the change feed above all).
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);
/// Changes a slow subscriber may fall behind by before it is told to drop
/// everything ([`broadcast`] lag).
const CHANGES_CAPACITY: usize = 1024;
/// Rows removed per statement by [`Backend::remove_expired`]: keeps each
/// transaction short however much expired at once.
const RETENTION_CHUNK: i64 = 10_000;
/// Longest schema name: the change channel `hookhost_changes_<schema>` must
/// fit PostgreSQL's 63-byte identifiers.
const MAX_SCHEMA_LEN: usize = 63 - CHANNEL.len() - 1;
/// Notification channel of registry changes (suffixed with the schema).
const CHANNEL: &str = "hookhost_changes";

/// The PostgreSQL back end: a connection pool, the group committers of the
/// delivery path and this node's change feed.
pub struct Postgres {
    pool: Pool,
    schema: Option<String>,
    /// Notification channel of this schema's registry changes.
    channel: String,
    changes: broadcast::Sender<Change>,
    accepts: GroupCommit<Accept>,
    attempts: GroupCommit<Attempt>,
    /// The task forwarding notifications, stopped with the store.
    listener: tokio::task::AbortHandle,
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl Postgres {
    /// Connects to the database at `url` (a libpq connection string or
    /// `postgresql://` URL; no TLS) and migrates it. With `schema` (only
    /// `[a-z0-9_]`, not starting with a digit, at most 46 characters),
    /// every connection works in that schema, created if missing: several
    /// deployments (or tests) can share one database. Returns once this
    /// node listens for registry changes: none made later is missed.
    pub async fn connect(url: &str, schema: Option<&str>) -> StoreResult<Postgres> {
        let mut config: tokio_postgres::Config = url.parse().map_err(db)?;
        if let Some(s) = schema {
            check_schema_name(s)?;
            let options = match config.get_options() {
                Some(o) if !o.trim().is_empty() => format!("{o} -c search_path={s}"),
                _ => format!("-c search_path={s}"),
            };
            config.options(&options);
        }
        config
            .connect_timeout(CONNECT_TIMEOUT)
            .keepalives_idle(KEEPALIVE_IDLE);
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(db)?;
        let channel = match schema {
            Some(s) => format!("{CHANNEL}_{s}"),
            None => CHANNEL.to_string(),
        };
        let (changes, _) = broadcast::channel(CHANGES_CAPACITY);
        // Listening before anything else: no change made after `connect`
        // returns is missed.
        let feed = listen::subscribe(&config, &channel).await?;
        let listener = tokio::spawn(listen::forward(
            config,
            channel.clone(),
            changes.clone(),
            feed,
        ))
        .abort_handle();
        let store = Postgres {
            pool,
            schema: schema.map(str::to_string),
            channel,
            changes,
            accepts: GroupCommit::default(),
            attempts: GroupCommit::default(),
            listener,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Brings the schema up to this hookhost's version (idempotent; done by
    /// [`Postgres::connect`]). Fails when the database was migrated by a
    /// newer hookhost.
    pub async fn migrate(&self) -> StoreResult<()> {
        let mut client = self.client().await?;
        migrate::run(&mut client, self.schema.as_deref()).await
    }

    /// Drops the schema given to [`Postgres::connect`] with everything in
    /// it (tests clean up with it).
    pub async fn drop_schema(&self) -> StoreResult<()> {
        let Some(schema) = &self.schema else {
            return Err(StoreError::Db(
                "no schema to drop: connected without one".into(),
            ));
        };
        let client = self.client().await?;
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .await
            .map_err(db)
    }

    async fn client(&self) -> StoreResult<Object> {
        self.pool.get().await.map_err(db)
    }

    async fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<Row>> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(db)?;
        client.query(&stmt, params).await.map_err(db)
    }

    async fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> StoreResult<Option<Row>> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(db)?;
        client.query_opt(&stmt, params).await.map_err(db)
    }

    async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<u64> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(db)?;
        client.execute(&stmt, params).await.map_err(db)
    }

    /// The record in the first column of the row `sql` finds, if any.
    async fn record<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> StoreResult<Option<T>> {
        self.query_opt(sql, params)
            .await?
            .map(|row| record(&row))
            .transpose()
    }

    /// The records in the first column of the rows `sql` finds.
    async fn records<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> StoreResult<Vec<T>> {
        self.query(sql, params).await?.iter().map(record).collect()
    }

    /// Runs `write` (an INSERT, UPDATE or DELETE with `params`) and
    /// announces a change of `kind` `id` to every node, atomically: one
    /// statement. Returns how many rows `write` touched.
    async fn write_and_notify(
        &self,
        write: &str,
        params: &[&(dyn ToSql + Sync)],
        kind: &str,
        id: &str,
    ) -> StoreResult<u64> {
        let sql = format!(
            "WITH w AS ({write} RETURNING 1) \
             SELECT (SELECT count(*) FROM w), pg_notify(${}, ${})",
            params.len() + 1,
            params.len() + 2
        );
        let payload = listen::payload(kind, id);
        let mut all: Vec<&(dyn ToSql + Sync)> = params.to_vec();
        all.push(&self.channel);
        all.push(&payload);
        let n: i64 = match self.query_opt(&sql, &all).await? {
            Some(row) => row.try_get(0).map_err(db)?,
            None => 0,
        };
        Ok(n.max(0) as u64)
    }

    /// Removes, `RETENTION_CHUNK` rows at a time, what `sql` selects and
    /// deletes. `sql` takes the lower (exclusive) and upper id bounds as
    /// `$1`, `$2`, the chunk size as `$3` and `extra` from `$4`, and answers
    /// (rows it looked at, the last of their ids, rows removed).
    async fn delete_in_chunks(
        &self,
        sql: &str,
        upper: &str,
        extra: Option<&DateTime<Utc>>,
    ) -> StoreResult<u64> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(db)?;
        let mut lower = String::new();
        let mut removed = 0;
        loop {
            let mut params: Vec<&(dyn ToSql + Sync)> = vec![&lower, &upper, &RETENTION_CHUNK];
            if let Some(e) = extra {
                params.push(e);
            }
            let row = client.query_one(&stmt, &params).await.map_err(db)?;
            let seen: i64 = row.try_get(0).map_err(db)?;
            let last: Option<String> = row.try_get(1).map_err(db)?;
            let gone: i64 = row.try_get(2).map_err(db)?;
            removed += gone.max(0) as u64;
            match last {
                Some(last) if seen >= RETENTION_CHUNK => lower = last,
                _ => return Ok(removed),
            }
        }
    }
}

/// Maps a driver or pool error.
fn db(e: impl std::fmt::Display) -> StoreError {
    StoreError::Db(e.to_string())
}

fn encode<T: Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Db(format!("record does not encode: {e}")))
}

fn decode<T: DeserializeOwned>(text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The record in the first column of `row`.
fn record<T: DeserializeOwned>(row: &Row) -> StoreResult<T> {
    decode(row.try_get::<_, &str>(0).map_err(db)?)
}

fn check_schema_name(s: &str) -> StoreResult<()> {
    let valid = !s.is_empty()
        && s.len() <= MAX_SCHEMA_LEN
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(StoreError::Db(format!(
            "invalid PostgreSQL schema name {s:?}: use 1 to {MAX_SCHEMA_LEN} of a-z, 0-9 and _, not starting with a digit"
        )))
    }
}

/// The column value of a delivery status.
fn status_text(s: DeliveryStatus) -> &'static str {
    match s {
        DeliveryStatus::Pending => "pending",
        DeliveryStatus::Success => "success",
        DeliveryStatus::Failed => "failed",
        DeliveryStatus::Skipped => "skipped",
    }
}

/// The canonical form of the cursor `id` (an id with `prefix`); `None` when
/// it is not one, and the cursor is then ignored, as on sled.
fn cursor(prefix: &str, id: Option<&str>) -> Option<String> {
    let key = ids::key(prefix, id?)?;
    Some(ids::from_key(prefix, &key))
}

/// The smallest id with `prefix` created at or after `at`: ids of uuid v7
/// start with the creation time in milliseconds (48 bits).
fn id_at(prefix: &str, at: DateTime<Utc>) -> String {
    let ms = at.timestamp_millis().max(0) as u64 & 0xFFFF_FFFF_FFFF;
    format!("{prefix}_{ms:012x}{}", "0".repeat(20))
}

/// A `LIMIT` of `limit` + 1: one more row says whether a page is the last.
fn limit_plus_one(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1)
}

/// A SELECT of records with optional conditions, built as text so that
/// each combination of filters gets its own (cached) plan.
struct Select {
    sql: String,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Select {
    fn from(base: &str) -> Self {
        Self {
            sql: base.to_string(),
            params: Vec::new(),
        }
    }

    /// Adds the condition `<expr> $n`, with `value` as `$n`, when `value`
    /// is given.
    fn and<T: ToSql + Sync + Send + 'static>(mut self, expr: &str, value: Option<T>) -> Self {
        if let Some(value) = value {
            self.params.push(Box::new(value));
            let word = if self.params.len() == 1 {
                "WHERE"
            } else {
                "AND"
            };
            self.sql
                .push_str(&format!(" {word} {expr} ${}", self.params.len()));
        }
        self
    }

    /// Up to `limit` records in `order`, with the id of the last one as
    /// the cursor when more follow.
    async fn page<T: DeserializeOwned>(
        mut self,
        pg: &Postgres,
        order: &str,
        limit: usize,
        id: impl Fn(&T) -> String,
    ) -> StoreResult<Page<T>> {
        if limit == 0 {
            return Ok(Page {
                data: Vec::new(),
                next_cursor: None,
            });
        }
        self.params.push(Box::new(limit_plus_one(limit)));
        let sql = format!("{} ORDER BY {order} LIMIT ${}", self.sql, self.params.len());
        let params: Vec<&(dyn ToSql + Sync)> = self
            .params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let mut data: Vec<T> = pg.records(&sql, &params).await?;
        let next_cursor = if data.len() > limit {
            data.truncate(limit);
            data.last().map(id)
        } else {
            None
        };
        Ok(Page { data, next_cursor })
    }
}

#[async_trait::async_trait]
impl Backend for Postgres {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn shared(&self) -> bool {
        true
    }

    /// One statement: the pace moves on only if an attempt may start now.
    async fn take_rate_slot(
        &self,
        endpoint_id: &str,
        interval: Duration,
        tolerance: Duration,
    ) -> StoreResult<Option<bool>> {
        let taken = self
            .query_opt(
                "INSERT INTO endpoint_pace (endpoint_id, tat) \
                 VALUES ($1, clock_timestamp() + make_interval(secs => $2)) \
                 ON CONFLICT (endpoint_id) DO UPDATE \
                 SET tat = greatest(endpoint_pace.tat, clock_timestamp()) + make_interval(secs => $2) \
                 WHERE endpoint_pace.tat <= clock_timestamp() + make_interval(secs => $3) \
                 RETURNING 1",
                &[
                    &endpoint_id,
                    &interval.as_secs_f64(),
                    &tolerance.as_secs_f64(),
                ],
            )
            .await?;
        Ok(Some(taken.is_some()))
    }

    async fn export(
        &self,
        out: tokio::sync::mpsc::Sender<super::transfer::Item>,
    ) -> StoreResult<()> {
        self.export_all(out).await
    }

    async fn import(&self, items: Vec<super::transfer::Item>) -> StoreResult<()> {
        self.import_all(items).await
    }

    async fn put_meta(&self, m: &MetaRecord) -> StoreResult<()> {
        self.write_and_notify(
            "INSERT INTO meta (kind, key, workspace_id, record) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (kind, key) DO UPDATE \
             SET workspace_id = EXCLUDED.workspace_id, record = EXCLUDED.record",
            &[&m.kind.as_str(), &m.key, &m.workspace_id, &m.record],
            "meta",
            m.kind.as_str(),
        )
        .await?;
        Ok(())
    }

    async fn list_meta(&self, kind: MetaKind) -> StoreResult<Vec<MetaRecord>> {
        let rows = self
            .query(
                "SELECT key, workspace_id, record FROM meta WHERE kind = $1 ORDER BY key",
                &[&kind.as_str()],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(MetaRecord {
                    kind,
                    key: r.try_get(0).map_err(db)?,
                    workspace_id: r.try_get(1).map_err(db)?,
                    record: r.try_get(2).map_err(db)?,
                })
            })
            .collect()
    }

    async fn delete_meta(&self, kind: MetaKind, key: &str) -> StoreResult<bool> {
        let n = self
            .write_and_notify(
                "DELETE FROM meta WHERE kind = $1 AND key = $2",
                &[&kind.as_str(), &key],
                "meta",
                kind.as_str(),
            )
            .await?;
        Ok(n > 0)
    }

    async fn purge_workspace(&self, workspace_id: &str) -> StoreResult<usize> {
        let prefix = format!("{workspace_id}/");
        let row = self
            .query_opt(
                "WITH d AS (DELETE FROM deliveries WHERE workspace_id = $1 RETURNING id), \
                      a AS (DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM d) \
                            RETURNING 1), \
                      l AS (DELETE FROM leases WHERE delivery_id IN (SELECT id FROM d)), \
                      e AS (DELETE FROM events WHERE workspace_id = $1 RETURNING 1), \
                      m AS (DELETE FROM emissions WHERE workspace_id = $1 RETURNING 1), \
                      i AS (DELETE FROM idempotency WHERE starts_with(key, $2) RETURNING 1) \
                 SELECT (SELECT count(*) FROM d) + (SELECT count(*) FROM a) \
                      + (SELECT count(*) FROM e) + (SELECT count(*) FROM m) \
                      + (SELECT count(*) FROM i)",
                &[&workspace_id, &prefix],
            )
            .await?;
        let n: i64 = match row {
            Some(r) => r.try_get(0).map_err(db)?,
            None => 0,
        };
        Ok(n.max(0) as usize)
    }

    fn changes(&self) -> Option<broadcast::Receiver<Change>> {
        Some(self.changes.subscribe())
    }

    // ---- modules ----

    async fn put_module(&self, record: &ModuleRecord) -> StoreResult<()> {
        let json = encode(record)?;
        // `name` holds the module's key: names are unique per workspace.
        let key = record.key();
        self.write_and_notify(
            "INSERT INTO modules (name, sha256, record, workspace_id) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE \
             SET sha256 = EXCLUDED.sha256, record = EXCLUDED.record",
            &[&key, &record.sha256, &json, &record.workspace_id],
            "module",
            &key,
        )
        .await?;
        Ok(())
    }

    async fn get_module(&self, name: &str) -> StoreResult<Option<ModuleRecord>> {
        self.record("SELECT record FROM modules WHERE name = $1", &[&name])
            .await
    }

    async fn list_modules(&self) -> StoreResult<Vec<ModuleRecord>> {
        self.records("SELECT record FROM modules ORDER BY name", &[])
            .await
    }

    async fn delete_module(&self, name: &str) -> StoreResult<()> {
        self.write_and_notify(
            "DELETE FROM modules WHERE name = $1",
            &[&name],
            "module",
            name,
        )
        .await?;
        Ok(())
    }

    async fn put_module_bytes(&self, sha256: &str, bytes: &[u8]) -> StoreResult<()> {
        self.execute(
            "INSERT INTO module_bytes (sha256, bytes) VALUES ($1, $2) \
             ON CONFLICT (sha256) DO NOTHING",
            &[&sha256, &bytes],
        )
        .await?;
        Ok(())
    }

    async fn module_bytes(&self, sha256: &str) -> StoreResult<Option<Vec<u8>>> {
        self.query_opt(
            "SELECT bytes FROM module_bytes WHERE sha256 = $1",
            &[&sha256],
        )
        .await?
        .map(|row| row.try_get(0).map_err(db))
        .transpose()
    }

    /// `true` when no module uses the bytes (any more), whether or not
    /// they were stored: as on sled.
    async fn remove_module_bytes_if_unused(&self, sha256: &str) -> StoreResult<bool> {
        let row = self
            .query_opt(
                "WITH u AS (SELECT EXISTS (SELECT 1 FROM modules WHERE sha256 = $1) AS in_use), \
                 gone AS (DELETE FROM module_bytes \
                          WHERE sha256 = $1 AND NOT (SELECT in_use FROM u)) \
                 SELECT NOT in_use FROM u",
                &[&sha256],
            )
            .await?;
        match row {
            Some(row) => row.try_get(0).map_err(db),
            None => Ok(false),
        }
    }

    // ---- webhooks ----

    async fn put_webhook(&self, record: &WebhookRecord) -> StoreResult<()> {
        let json = encode(record)?;
        self.write_and_notify(
            "INSERT INTO webhooks (id, record, workspace_id) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record",
            &[&record.id, &json, &record.workspace_id],
            "webhook",
            &record.id,
        )
        .await?;
        Ok(())
    }

    async fn get_webhook(&self, id: &str) -> StoreResult<Option<WebhookRecord>> {
        self.record("SELECT record FROM webhooks WHERE id = $1", &[&id])
            .await
    }

    async fn list_webhooks(&self) -> StoreResult<Vec<WebhookRecord>> {
        self.records("SELECT record FROM webhooks ORDER BY id", &[])
            .await
    }

    async fn delete_webhook(&self, id: &str) -> StoreResult<()> {
        let payload = listen::payload("webhook", id);
        self.execute(
            "WITH w AS (DELETE FROM webhooks WHERE id = $1), \
                  i AS (DELETE FROM invocations WHERE webhook_id = $1), \
                  d AS (DELETE FROM dedup WHERE webhook_id = $1) \
             SELECT pg_notify($2, $3)",
            &[&id, &self.channel, &payload],
        )
        .await?;
        Ok(())
    }

    // ---- endpoints ----

    async fn put_endpoint(&self, record: &EndpointRecord) -> StoreResult<()> {
        let json = encode(record)?;
        self.write_and_notify(
            "INSERT INTO endpoints (id, record, workspace_id) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record",
            &[&record.id, &json, &record.workspace_id],
            "endpoint",
            &record.id,
        )
        .await?;
        Ok(())
    }

    async fn get_endpoint(&self, id: &str) -> StoreResult<Option<EndpointRecord>> {
        self.record("SELECT record FROM endpoints WHERE id = $1", &[&id])
            .await
    }

    async fn list_endpoints(&self) -> StoreResult<Vec<EndpointRecord>> {
        self.records("SELECT record FROM endpoints ORDER BY id", &[])
            .await
    }

    async fn delete_endpoint(&self, id: &str) -> StoreResult<bool> {
        let n = self
            .write_and_notify(
                "DELETE FROM endpoints WHERE id = $1",
                &[&id],
                "endpoint",
                id,
            )
            .await?;
        Ok(n > 0)
    }

    // ---- invocations, emissions, handler-published events ----

    async fn commit_invocations(
        &self,
        commits: &[InvocationCommit],
        durable: bool,
    ) -> StoreResult<()> {
        if commits.is_empty() {
            return Ok(());
        }
        let mut invocations = rows::InvocationColumns::default();
        let mut emissions = rows::EmissionColumns::default();
        let mut events = Vec::new();
        for c in commits {
            invocations.push(&c.invocation)?;
            for e in &c.emissions {
                emissions.push(e)?;
            }
            for e in &c.events {
                events.push(EventRow::new(e)?);
            }
        }
        let events = EventColumns::new(&events);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        if !durable {
            tx.batch_execute("SET LOCAL synchronous_commit = off")
                .await
                .map_err(db)?;
        }
        invocations.insert(&tx).await.map_err(db)?;
        emissions.insert(&tx).await.map_err(db)?;
        // Marked for fan-out in the same transaction: a crash cannot keep
        // an event and lose its deliveries.
        events.insert(&tx, true).await.map_err(db)?;
        // Follow-up webhooks registered by handlers: few, and announced to
        // the other nodes when the transaction commits.
        for h in commits.iter().flat_map(|c| &c.webhooks) {
            let json = encode(h)?;
            let payload = listen::payload("webhook", &h.id);
            tx.execute(
                "WITH w AS (INSERT INTO webhooks (id, record, workspace_id) \
                 VALUES ($1, $2, $3) RETURNING 1) SELECT pg_notify($4, $5) FROM w",
                &[&h.id, &json, &h.workspace_id, &self.channel, &payload],
            )
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn get_invocation(
        &self,
        webhook_id: &str,
        id: &str,
    ) -> StoreResult<Option<InvocationRecord>> {
        self.record(
            "SELECT record FROM invocations WHERE webhook_id = $1 AND id = $2",
            &[&webhook_id, &id],
        )
        .await
    }

    async fn list_invocations(
        &self,
        webhook_id: &str,
        before: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<InvocationRecord>> {
        Select::from("SELECT record FROM invocations")
            .and("webhook_id =", Some(webhook_id.to_string()))
            .and("id <", cursor(INVOCATION_PREFIX, before))
            .page(self, "id DESC", limit, |r: &InvocationRecord| r.id.clone())
            .await
    }

    async fn prune_all_invocations(&self, keep: usize) -> StoreResult<usize> {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        let n = self
            .execute(
                "DELETE FROM invocations i USING ( \
                     SELECT webhook_id, id FROM ( \
                         SELECT webhook_id, id, row_number() OVER \
                             (PARTITION BY webhook_id ORDER BY id DESC) AS n \
                         FROM invocations) ranked \
                     WHERE n > $1) old \
                 WHERE i.webhook_id = old.webhook_id AND i.id = old.id",
                &[&keep],
            )
            .await?;
        Ok(n as usize)
    }

    async fn list_emissions(
        &self,
        workspace_id: &str,
        after: Option<&str>,
        entity_type: Option<&str>,
        webhook_id: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<EmissionRecord>> {
        Select::from("SELECT record FROM emissions")
            .and("workspace_id =", Some(workspace_id.to_string()))
            .and("id >", cursor(EMISSION_PREFIX, after))
            .and("entity_type =", entity_type.map(str::to_string))
            .and("webhook_id =", webhook_id.map(str::to_string))
            .page(self, "id", limit, |r: &EmissionRecord| r.id.clone())
            .await
    }

    // ---- inbound deduplication ----

    async fn dedup_get(&self, webhook_id: &str, key: &str) -> StoreResult<Option<DedupRecord>> {
        let hash = Sha256::digest(key.as_bytes()).to_vec();
        self.record(
            "SELECT record FROM dedup WHERE webhook_id = $1 AND key_hash = $2",
            &[&webhook_id, &hash],
        )
        .await
    }

    async fn dedup_put(
        &self,
        webhook_id: &str,
        key: &str,
        record: &DedupRecord,
    ) -> StoreResult<()> {
        let hash = Sha256::digest(key.as_bytes()).to_vec();
        let json = encode(record)?;
        self.execute(
            "INSERT INTO dedup (webhook_id, key_hash, at, expires_at, record) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (webhook_id, key_hash) DO UPDATE \
             SET at = EXCLUDED.at, expires_at = EXCLUDED.expires_at, record = EXCLUDED.record",
            &[&webhook_id, &hash, &record.at, &record.expires_at, &json],
        )
        .await?;
        Ok(())
    }

    // ---- events and deliveries ----

    async fn accept_event(
        &self,
        event: &EventRecord,
        deliveries: &[DeliveryRecord],
        idempotency_key: Option<&str>,
    ) -> StoreResult<Option<String>> {
        let write = Accept {
            event: EventRow::new(event)?,
            deliveries: deliveries
                .iter()
                .map(DeliveryRow::new)
                .collect::<StoreResult<_>>()?,
            key: idempotency_key.map(str::to_string),
        };
        self.accepts.write(&self.pool, write).await
    }

    async fn get_event(&self, id: &str) -> StoreResult<Option<EventRecord>> {
        self.record("SELECT record FROM events WHERE id = $1", &[&id])
            .await
    }

    async fn list_events(
        &self,
        workspace_id: &str,
        after: Option<&str>,
        event_type: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<EventRecord>> {
        Select::from("SELECT record FROM events")
            .and("workspace_id =", Some(workspace_id.to_string()))
            .and("id >", cursor(EVENT_PREFIX, after))
            .and("event_type =", event_type.map(str::to_string))
            .page(self, "id", limit, |r: &EventRecord| r.id.clone())
            .await
    }

    async fn get_delivery(&self, id: &str) -> StoreResult<Option<DeliveryRecord>> {
        self.record("SELECT record FROM deliveries WHERE id = $1", &[&id])
            .await
    }

    async fn list_attempts(&self, id: &str) -> StoreResult<Vec<AttemptRecord>> {
        self.records(
            "SELECT record FROM attempts WHERE delivery_id = $1 ORDER BY attempt",
            &[&id],
        )
        .await
    }

    async fn recent_attempts(
        &self,
        workspace_id: &str,
        endpoint_ids: &[String],
        since: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<(Vec<(String, AttemptRecord)>, bool)> {
        // Ids are time-ordered: the smallest id of a delivery made at
        // `since`. By endpoint, through the (endpoint_id, id) index.
        let from = ids::at(DELIVERY_PREFIX, since);
        let wanted = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
        let rows = self
            .query(
                "SELECT d.endpoint_id, a.record FROM deliveries d \
                 JOIN attempts a ON a.delivery_id = d.id \
                 WHERE d.endpoint_id = ANY($1) AND d.id >= $2 AND d.workspace_id = $3 \
                 ORDER BY d.id DESC, a.attempt LIMIT $4",
                &[&endpoint_ids, &from, &workspace_id, &wanted],
            )
            .await?;
        let mut out = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get(0).map_err(db)?,
                    decode(r.try_get(1).map_err(db)?)?,
                ))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let truncated = out.len() > limit;
        out.truncate(limit);
        Ok((out, truncated))
    }

    async fn invocation_outcomes(
        &self,
        webhook_id: &str,
        since: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<super::InvocationOutcome>> {
        let from = ids::at(INVOCATION_PREFIX, since);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // Only the fields stats need, extracted in the database: captured
        // requests are not sent over.
        let rows = self
            .query(
                "SELECT (record::json->>'received_at')::timestamptz, \
                        (record::json->>'status')::int4, \
                        (record::json->>'duration_ms')::float8 \
                 FROM invocations WHERE webhook_id = $1 AND id >= $2 \
                 ORDER BY id DESC LIMIT $3",
                &[&webhook_id, &from, &limit],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(super::InvocationOutcome {
                    received_at: r.try_get(0).map_err(db)?,
                    status: u16::try_from(r.try_get::<_, i32>(1).map_err(db)?).unwrap_or(0),
                    duration_ms: r.try_get(2).map_err(db)?,
                })
            })
            .collect()
    }

    async fn list_deliveries(
        &self,
        filter: &DeliveryFilter,
        before: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<DeliveryRecord>> {
        Select::from("SELECT record FROM deliveries")
            .and("workspace_id =", filter.workspace_id.clone())
            .and("id <", cursor(DELIVERY_PREFIX, before))
            .and("endpoint_id =", filter.endpoint_id.clone())
            .and("event_id =", filter.event_id.clone())
            .and("status =", filter.status.map(status_text))
            .page(self, "id DESC", limit, |r: &DeliveryRecord| r.id.clone())
            .await
    }

    async fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        after: Option<&QueuePos>,
        limit: usize,
    ) -> StoreResult<Vec<DueDelivery>> {
        let (after_ms, after_id) = match after {
            Some(p) => (p.at_ms, p.delivery_id.as_str()),
            None => (i64::MIN, ""),
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .query(
                "SELECT d.id, d.endpoint_id, d.next_attempt_ms, d.record, e.record \
                 FROM deliveries d LEFT JOIN events e ON e.id = d.event_id \
                 WHERE d.status = 'pending' AND d.next_attempt_ms <= $1 \
                   AND (d.next_attempt_ms, d.id) > ($2, $3) \
                   AND NOT EXISTS (SELECT 1 FROM leases l \
                                   WHERE l.delivery_id = d.id AND l.until >= now()) \
                 ORDER BY d.next_attempt_ms, d.id LIMIT $4",
                &[&now.timestamp_millis(), &after_ms, &after_id, &limit],
            )
            .await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get(0).map_err(db)?;
                let event: Option<&str> = row.try_get(4).map_err(db)?;
                Ok(DueDelivery {
                    pos: QueuePos {
                        at_ms: row.try_get(2).map_err(db)?,
                        delivery_id: id.clone(),
                    },
                    id,
                    endpoint_id: Some(row.try_get(1).map_err(db)?),
                    delivery: Some(decode(row.try_get(3).map_err(db)?)?),
                    event: event.map(decode).transpose()?,
                })
            })
            .collect()
    }

    /// One round trip: `hookhost_lease` (migration 6) locks each endpoint
    /// involved (advisory locks, in a fixed order so two nodes cannot
    /// deadlock), counts its live leases, and leases what fits under
    /// `per_endpoint` where the delivery is still at the position read and
    /// nobody's lease holds, share-locking the deliveries it takes so that
    /// an attempt being recorded meanwhile is waited for and the delivery
    /// checked again in the state it left.
    async fn lease(
        &self,
        wanted: &[(QueuePos, String)],
        per_endpoint: usize,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<bool>> {
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let mut endpoints: Vec<&str> = wanted.iter().map(|(_, e)| e.as_str()).collect();
        endpoints.sort_unstable();
        endpoints.dedup();
        let ids: Vec<&str> = wanted.iter().map(|(p, _)| p.delivery_id.as_str()).collect();
        let at_ms: Vec<i64> = wanted.iter().map(|(p, _)| p.at_ms).collect();
        let of: Vec<&str> = wanted.iter().map(|(_, e)| e.as_str()).collect();
        let per_endpoint = i64::try_from(per_endpoint).unwrap_or(i64::MAX);
        let taken: std::collections::HashSet<String> = self
            .query(
                "SELECT * FROM hookhost_lease($1, $2, $3, $4, $5, $6)",
                &[&ids, &at_ms, &of, &endpoints, &per_endpoint, &until],
            )
            .await?
            .iter()
            .map(|row| row.try_get(0).map_err(db))
            .collect::<StoreResult<_>>()?;
        Ok(wanted
            .iter()
            .map(|(pos, _)| taken.contains(&pos.delivery_id))
            .collect())
    }

    async fn first_pending(
        &self,
        endpoint_id: &str,
        from: Option<&str>,
        except: &str,
    ) -> StoreResult<Option<String>> {
        self.query_opt(
            "SELECT id FROM deliveries \
             WHERE status = 'pending' AND endpoint_id = $1 AND id >= $2 AND event_type <> $3 \
             ORDER BY id LIMIT 1",
            &[&endpoint_id, &from.unwrap_or(""), &except],
        )
        .await?
        .map(|row| row.try_get(0).map_err(db))
        .transpose()
    }

    async fn queue_depth(&self) -> StoreResult<usize> {
        let row = self
            .query_opt(
                "SELECT count(*) FROM deliveries \
                 WHERE status = 'pending' AND next_attempt_ms IS NOT NULL",
                &[],
            )
            .await?;
        let n: i64 = match row {
            Some(row) => row.try_get(0).map_err(db)?,
            None => 0,
        };
        Ok(n.max(0) as usize)
    }

    /// Deliveries another node holds a lease on are left out: no node
    /// polls for a delivery being attempted elsewhere. A lease that ran out
    /// counts again (callers poll at least every second anyway).
    async fn next_due(&self) -> StoreResult<Option<DateTime<Utc>>> {
        let row = self
            .query_opt(
                "SELECT d.next_attempt_ms FROM deliveries d \
                 WHERE d.status = 'pending' AND d.next_attempt_ms IS NOT NULL \
                   AND NOT EXISTS (SELECT 1 FROM leases l \
                                   WHERE l.delivery_id = d.id AND l.until >= now()) \
                 ORDER BY d.next_attempt_ms LIMIT 1",
                &[],
            )
            .await?;
        let ms: Option<i64> = match row {
            Some(row) => row.try_get(0).map_err(db)?,
            None => None,
        };
        Ok(ms.and_then(DateTime::from_timestamp_millis))
    }

    async fn record_attempt(
        &self,
        _old: Option<&QueuePos>,
        delivery: &DeliveryRecord,
        attempt: Option<&AttemptRecord>,
    ) -> StoreResult<()> {
        // The old position needs no removal: it is the row, which moves.
        let write = Attempt {
            delivery: DeliveryRow::new(delivery)?,
            attempt: attempt.map(rows::AttemptRow::new).transpose()?,
            durable: false,
        };
        self.attempts.write(&self.pool, write).await.map(|_| ())
    }

    async fn requeue_delivery(
        &self,
        delivery: &DeliveryRecord,
        _old_next: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        let write = Attempt {
            delivery: DeliveryRow::new(delivery)?,
            attempt: None,
            durable: true,
        };
        self.attempts.write(&self.pool, write).await.map(|_| ())
    }

    async fn drop_due(&self, _pos: &QueuePos) -> StoreResult<()> {
        // The queue is the deliveries table: a position that is not a
        // row's current one is not in it.
        Ok(())
    }

    async fn pending_fanout(&self, limit: usize) -> StoreResult<Vec<EventRecord>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.records(
            "SELECT record FROM events WHERE fanout ORDER BY id LIMIT $1",
            &[&limit],
        )
        .await
    }

    async fn fan_out(&self, event_id: &str, deliveries: &[DeliveryRecord]) -> StoreResult<()> {
        let rows = deliveries
            .iter()
            .map(DeliveryRow::new)
            .collect::<StoreResult<Vec<_>>>()?;
        let columns = DeliveryColumns::new(&rows);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let stmt = tx
            .prepare_cached("UPDATE events SET fanout = false WHERE id = $1 AND fanout")
            .await
            .map_err(db)?;
        // Another node may have fanned it out first: then write nothing.
        if tx.execute(&stmt, &[&event_id]).await.map_err(db)? == 1 {
            columns.write(&tx, OnConflict::Keep).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    // ---- upkeep ----

    async fn remove_expired(&self, cutoff: DateTime<Utc>) -> StoreResult<usize> {
        let mut removed = 0;
        // Deliveries first: an event goes only once no delivery needs it.
        removed += self
            .delete_in_chunks(
                "WITH doomed AS ( \
                     SELECT id FROM deliveries \
                     WHERE id > $1 AND id < $2 AND status <> 'pending' AND updated_at < $4 \
                     ORDER BY id LIMIT $3), \
                 gone AS (DELETE FROM deliveries WHERE id IN (SELECT id FROM doomed) RETURNING id), \
                 gone_attempts AS (DELETE FROM attempts \
                     WHERE delivery_id IN (SELECT id FROM gone) RETURNING 1) \
                 SELECT (SELECT count(*) FROM doomed), (SELECT max(id) FROM doomed), \
                        (SELECT count(*) FROM gone) + (SELECT count(*) FROM gone_attempts)",
                &id_at(DELIVERY_PREFIX, cutoff),
                Some(&cutoff),
            )
            .await?;
        // Events still to be fanned out, or with deliveries, stay.
        removed += self
            .delete_in_chunks(
                "WITH doomed AS ( \
                     SELECT id FROM events e \
                     WHERE id > $1 AND id < $2 AND NOT fanout \
                       AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id) \
                     ORDER BY id LIMIT $3), \
                 gone AS (DELETE FROM events WHERE id IN (SELECT id FROM doomed) RETURNING 1) \
                 SELECT (SELECT count(*) FROM doomed), (SELECT max(id) FROM doomed), \
                        (SELECT count(*) FROM gone)",
                &id_at(EVENT_PREFIX, cutoff),
                None,
            )
            .await?;
        removed += self
            .delete_in_chunks(
                "WITH doomed AS ( \
                     SELECT id FROM emissions WHERE id > $1 AND id < $2 ORDER BY id LIMIT $3), \
                 gone AS (DELETE FROM emissions WHERE id IN (SELECT id FROM doomed) RETURNING 1) \
                 SELECT (SELECT count(*) FROM doomed), (SELECT max(id) FROM doomed), \
                        (SELECT count(*) FROM gone)",
                &id_at(EMISSION_PREFIX, cutoff),
                None,
            )
            .await?;
        // Across webhooks, deleted ones included.
        removed += self
            .delete_in_chunks(
                "WITH doomed AS ( \
                     SELECT webhook_id, id FROM invocations \
                     WHERE id > $1 AND id < $2 ORDER BY id LIMIT $3), \
                 gone AS (DELETE FROM invocations \
                     WHERE (webhook_id, id) IN (SELECT webhook_id, id FROM doomed) RETURNING 1) \
                 SELECT (SELECT count(*) FROM doomed), (SELECT max(id) FROM doomed), \
                        (SELECT count(*) FROM gone)",
                &id_at(INVOCATION_PREFIX, cutoff),
                None,
            )
            .await?;
        let now = Utc::now();
        let idempotency_cutoff = cutoff.min(now - IDEMPOTENCY_WINDOW);
        removed += self
            .execute(
                "DELETE FROM idempotency WHERE at < $1",
                &[&idempotency_cutoff],
            )
            .await?;
        // Remembered answers past their window, or older than the cutoff.
        removed += self
            .execute(
                "DELETE FROM dedup WHERE expires_at <= $1 OR at < $2",
                &[&now, &cutoff],
            )
            .await?;
        Ok(removed as usize)
    }

    async fn flush(&self) -> StoreResult<()> {
        // Every durable write is committed before it returns.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_bounds_order_like_ids() {
        let now = Utc::now();
        let (id, _) = ids::new(EVENT_PREFIX);
        assert!(id_at(EVENT_PREFIX, now - chrono::Duration::seconds(1)) < id);
        assert!(id_at(EVENT_PREFIX, now + chrono::Duration::seconds(1)) > id);
        assert_eq!(id_at(EVENT_PREFIX, now).len(), id.len());
    }

    #[test]
    fn cursors_are_canonical_ids_or_ignored() {
        let (id, _) = ids::new(DELIVERY_PREFIX);
        assert_eq!(cursor(DELIVERY_PREFIX, Some(&id)), Some(id.clone()));
        assert_eq!(
            cursor(
                DELIVERY_PREFIX,
                Some(&id.to_uppercase().replacen("DLV", "dlv", 1))
            ),
            Some(id)
        );
        assert_eq!(cursor(DELIVERY_PREFIX, Some("evt_1")), None);
        assert_eq!(cursor(DELIVERY_PREFIX, None), None);
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        for good in ["hookhost", "hh_test_1_ab", "_x"] {
            assert!(check_schema_name(good).is_ok(), "{good}");
        }
        let too_long = "a".repeat(MAX_SCHEMA_LEN + 1);
        for bad in [
            "",
            "Hook",
            "a-b",
            "a;b",
            "a\"b",
            "1st",
            "caf\u{e9}",
            &too_long,
        ] {
            assert!(check_schema_name(bad).is_err(), "{bad}");
        }
    }
}

//! Group commit of the delivery path's writes.
//!
//! A transaction per accepted event or per attempt would cost a round trip
//! per statement and a WAL flush per write. Instead, callers queue their
//! writes and whoever holds the turn applies everything queued so far in
//! one transaction, with one multi-row statement per table; the others
//! find their answer waiting when their turn comes. Batches grow with the
//! load: while one is applied, the next one queues up.
//!
//! When the server refuses a batch (a constraint, a deadlock), its writes
//! are applied again one by one, so that one bad write fails alone. A
//! batch that fails for any other reason (the connection) fails all its
//! writes with that error.

use super::db;
use super::rows::{AttemptColumns, AttemptRow, DeliveryColumns, DeliveryRow, EventColumns};
use super::rows::{EventRow, OnConflict};
use crate::store::{IDEMPOTENCY_WINDOW, StoreError, StoreResult};
use deadpool_postgres::{Pool, Transaction};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Most writes applied in one transaction; a longer queue is applied in
/// several, one after the other.
const MAX_BATCH: usize = 1024;

/// `Ok(Some(id))`: an accept was skipped, `id` is the first event's.
type Outcome = StoreResult<Option<String>>;

/// A kind of write that is applied in batches.
#[async_trait::async_trait]
pub(super) trait Batched: Send + Sync + Sized + 'static {
    /// Applies `batch` in `tx`: one answer per write, in order (see
    /// [`Outcome`]).
    async fn apply(
        tx: &Transaction<'_>,
        batch: &[Self],
    ) -> Result<Vec<Option<String>>, tokio_postgres::Error>;
}

struct Queued<W> {
    write: W,
    done: oneshot::Sender<Outcome>,
}

/// The queue of writes of one kind and the turn to apply them.
pub(super) struct GroupCommit<W> {
    queue: Mutex<Vec<Queued<W>>>,
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl<W> Default for GroupCommit<W> {
    fn default() -> Self {
        Self {
            queue: Mutex::default(),
            turn: Arc::default(),
        }
    }
}

impl<W: Batched> GroupCommit<W> {
    /// Applies `write` in a transaction shared with whatever else is queued.
    /// The batch runs on a task of its own: it completes even if this
    /// caller is cancelled. A write whose caller went away before its batch
    /// started is skipped.
    pub async fn write(&self, pool: &Pool, write: W) -> Outcome {
        let (done, mut answer) = oneshot::channel();
        lock(&self.queue).push(Queued { write, done });
        let turn = self.turn.clone().lock_owned().await;
        if let Ok(outcome) = answer.try_recv() {
            return outcome;
        }
        let batch = std::mem::take(&mut *lock(&self.queue));
        let pool = pool.clone();
        tokio::spawn(async move {
            let _turn = turn; // released last, after every answer is sent
            let (writes, mut answers): (Vec<W>, Vec<_>) = batch
                .into_iter()
                .filter(|q| !q.done.is_closed())
                .map(|q| (q.write, Some(q.done)))
                .unzip();
            for (n, chunk) in writes.chunks(MAX_BATCH).enumerate() {
                let outcomes = apply(&pool, chunk).await;
                for (done, outcome) in answers[n * MAX_BATCH..].iter_mut().zip(outcomes) {
                    if let Some(done) = done.take() {
                        let _ = done.send(outcome);
                    }
                }
            }
        });
        answer
            .await
            .unwrap_or_else(|_| Err(StoreError::Db("write batch lost".into())))
    }
}

/// Why a batch failed.
enum Failure {
    /// The server refused a statement: a write of the batch may be at fault.
    Refused(tokio_postgres::Error),
    /// Anything else (no connection, lost connection).
    Other(StoreError),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Self {
        if e.as_db_error().is_some() {
            Failure::Refused(e)
        } else {
            Failure::Other(db(e))
        }
    }
}

impl From<Failure> for StoreError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Refused(e) => db(e),
            Failure::Other(e) => e,
        }
    }
}

/// Applies `batch` in one transaction or, when the server refuses it, each
/// write on its own.
async fn apply<W: Batched>(pool: &Pool, batch: &[W]) -> Vec<Outcome> {
    match transaction(pool, batch).await {
        Ok(answers) => answers.into_iter().map(Ok).collect(),
        Err(Failure::Refused(e)) if batch.len() > 1 => {
            tracing::warn!(error = %e, writes = batch.len(), "write batch refused; applying its writes one by one");
            let mut outcomes = Vec::with_capacity(batch.len());
            for write in batch {
                let outcome = transaction(pool, std::slice::from_ref(write)).await;
                outcomes.push(match outcome {
                    Ok(mut answers) => Ok(answers.pop().flatten()),
                    Err(f) => Err(f.into()),
                });
            }
            outcomes
        }
        Err(f) => {
            let e = StoreError::from(f);
            batch.iter().map(|_| Err(e.clone())).collect()
        }
    }
}

async fn transaction<W: Batched>(pool: &Pool, batch: &[W]) -> Result<Vec<Option<String>>, Failure> {
    let mut client = pool.get().await.map_err(|e| Failure::Other(db(e)))?;
    let tx = client.transaction().await?;
    let answers = W::apply(&tx, batch).await?;
    tx.commit().await?;
    Ok(answers)
}

/// An accepted event with its deliveries (queued, due at their creation),
/// skipped when its idempotency key is taken.
#[derive(Debug)]
pub(super) struct Accept {
    pub event: EventRow,
    pub deliveries: Vec<DeliveryRow>,
    pub key: Option<String>,
}

/// Takes an idempotency key for an event, or takes it over from one older
/// than the window (`$4`, milliseconds); no row when it is taken. Under
/// concurrent accepts of one key, the second waits for the first's
/// transaction and then finds the key taken.
const CLAIM_KEY: &str = "INSERT INTO idempotency (key, event_id, at) VALUES ($1, $2, $3) \
     ON CONFLICT (key) DO UPDATE SET event_id = EXCLUDED.event_id, at = EXCLUDED.at \
     WHERE idempotency.at <= EXCLUDED.at - $4::float8 * interval '1 millisecond' \
     RETURNING event_id";

#[async_trait::async_trait]
impl Batched for Accept {
    async fn apply(
        tx: &Transaction<'_>,
        batch: &[Self],
    ) -> Result<Vec<Option<String>>, tokio_postgres::Error> {
        let mut answers: Vec<Option<String>> = vec![None; batch.len()];
        // Keys are rare: a statement each, in key order, so that batches on
        // two nodes never wait for each other's keys in a cycle.
        let mut keyed: Vec<(&str, usize)> = batch
            .iter()
            .enumerate()
            .filter_map(|(i, a)| a.key.as_deref().map(|k| (k, i)))
            .collect();
        keyed.sort_unstable();
        if !keyed.is_empty() {
            let claim = tx.prepare_cached(CLAIM_KEY).await?;
            let holder = tx
                .prepare_cached("SELECT event_id FROM idempotency WHERE key = $1")
                .await?;
            let window_ms = IDEMPOTENCY_WINDOW.num_milliseconds() as f64;
            for (key, i) in keyed {
                let event = &batch[i].event;
                let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
                    [&key, &event.id, &event.created_at, &window_ms];
                if tx.query_opt(&claim, &params).await?.is_some() {
                    continue;
                }
                let first: String = tx.query_one(&holder, &[&key]).await?.try_get(0)?;
                // The key names this very event when a batch is applied
                // again after its commit was lost in transit: it won.
                if first != event.id {
                    answers[i] = Some(first);
                }
            }
        }
        let accepted: Vec<&Accept> = batch
            .iter()
            .zip(&answers)
            .filter(|(_, skipped)| skipped.is_none())
            .map(|(a, _)| a)
            .collect();
        EventColumns::new(accepted.iter().map(|a| &a.event))
            .insert(tx, false)
            .await?;
        DeliveryColumns::new(accepted.iter().flat_map(|a| &a.deliveries))
            .write(tx, OnConflict::Keep)
            .await?;
        Ok(answers)
    }
}

/// A delivery's new state (it moves in the queue, its lease ends: its row
/// in `leases` is deleted) and, if any, its attempt.
#[derive(Debug)]
pub(super) struct Attempt {
    pub delivery: DeliveryRow,
    pub attempt: Option<AttemptRow>,
    /// Committed to disk before answering (a requeue); a recorded attempt
    /// need not be: lost in a crash, the delivery is sent again.
    pub durable: bool,
}

#[async_trait::async_trait]
impl Batched for Attempt {
    async fn apply(
        tx: &Transaction<'_>,
        batch: &[Self],
    ) -> Result<Vec<Option<String>>, tokio_postgres::Error> {
        if !batch.iter().any(|w| w.durable) {
            tx.batch_execute("SET LOCAL synchronous_commit = off")
                .await?;
        }
        // A later write of the same row wins, as if applied in order. Rows
        // go in id order, so that concurrent batches lock them in the same
        // order and never deadlock.
        let deliveries: BTreeMap<&str, &DeliveryRow> = batch
            .iter()
            .map(|w| (w.delivery.id.as_str(), &w.delivery))
            .collect();
        let attempts: BTreeMap<(&str, i64), &AttemptRow> = batch
            .iter()
            .filter_map(|w| w.attempt.as_ref())
            .map(|a| ((a.delivery_id.as_str(), a.attempt), a))
            .collect();
        let ids: Vec<&str> = deliveries.keys().copied().collect();
        DeliveryColumns::new(deliveries.into_values())
            .write(tx, OnConflict::Replace)
            .await?;
        // The lease ends with the write: the delivery moved in the queue
        // (or finished), and another node may take it when it is due. The
        // rows are updated first: a node leasing them meanwhile holds them
        // share-locked and is waited for, or waits and sees the new state.
        let release = tx
            .prepare_cached("DELETE FROM leases WHERE delivery_id = ANY($1)")
            .await?;
        tx.execute(&release, &[&ids]).await?;
        AttemptColumns::new(attempts.into_values())
            .write(tx)
            .await?;
        Ok(vec![None; batch.len()])
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

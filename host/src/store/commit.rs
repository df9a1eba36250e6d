//! Group commit of invocation results.
//!
//! Each invocation's emissions, events and invocation record are written in
//! one sled transaction, so they appear together or not at all. Invocations
//! that recorded emissions or events wait for durability (`flush`) before
//! their response leaves; many of them share one flush. Invocation records
//! alone are written without waiting: losing the last few milliseconds of
//! the log in a crash loses no user data.

use super::{
    EmissionRecord, EventRecord, InvocationRecord, Store, StoreError, StoreResult, encode, ids,
};
use super::{emissions::EMISSION_PREFIX, events::EVENT_PREFIX, invocations};
use sled::Transactional;
use tokio::sync::{mpsc, oneshot};

/// Most commits applied in one transaction.
const MAX_BATCH: usize = 1024;
/// Queue length before fire-and-forget invocation records are dropped.
const QUEUE: usize = 16 * 1024;

/// Everything one invocation writes.
#[derive(Debug)]
pub struct InvocationCommit {
    /// The invocation log record.
    pub invocation: InvocationRecord,
    /// Emissions to commit (empty unless the handler returned `ok`).
    pub emissions: Vec<EmissionRecord>,
    /// Events to commit (empty unless the handler returned `ok`).
    pub events: Vec<EventRecord>,
}

struct Job {
    commit: InvocationCommit,
    done: Option<oneshot::Sender<StoreResult<()>>>,
}

/// Handle to the committer task; cheap to clone.
#[derive(Clone)]
pub struct Committer {
    tx: mpsc::Sender<Job>,
}

impl Committer {
    /// Starts the committer task. It ends once every handle is dropped and
    /// the queue is drained.
    pub fn spawn(store: Store) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let task = tokio::spawn(run(store, rx));
        (Self { tx }, task)
    }

    /// Commits and waits until the records are on disk.
    pub async fn commit_durable(&self, commit: InvocationCommit) -> StoreResult<()> {
        let (done, wait) = oneshot::channel();
        let job = Job {
            commit,
            done: Some(done),
        };
        self.tx.send(job).await.map_err(|_| closed())?;
        wait.await.map_err(|_| closed())?
    }

    /// Queues a commit without waiting. Under extreme backlog the record is
    /// dropped (and logged) rather than stalling request handling.
    pub fn commit_later(&self, commit: InvocationCommit) {
        if let Err(e) = self.tx.try_send(Job { commit, done: None }) {
            tracing::warn!(error = %e, "invocation log backlog: record dropped");
        }
    }
}

fn closed() -> StoreError {
    StoreError::Db("committer stopped".into())
}

async fn run(store: Store, mut rx: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // sled writes (and, for transactions, syncs) its log synchronously:
        // keep that off the async workers.
        let (store2, jobs) = (store.clone(), std::mem::take(&mut batch));
        let (jobs, mut result) = match tokio::task::spawn_blocking(move || {
            let result = apply(&store2, &jobs);
            (jobs, result)
        })
        .await
        {
            Ok(done) => done,
            Err(e) => {
                tracing::error!(error = %e, "group commit task failed");
                continue;
            }
        };
        batch = jobs;
        if result.is_ok() && batch.iter().any(|j| j.done.is_some()) {
            result = store.flush().await;
        }
        if let Err(e) = &result {
            tracing::error!(error = %e, commits = batch.len(), "group commit failed");
        }
        for job in batch.drain(..) {
            if let Some(done) = job.done {
                let _ = done.send(result.clone());
            }
        }
    }
}

fn apply(store: &Store, batch: &[Job]) -> StoreResult<()> {
    // Serialize outside the transaction: its closure may run more than once.
    // An invocation that recorded nothing is a single log record: a plain
    // insert. Only invocations with emissions or events need a transaction
    // (all of it or nothing), and sled seals and syncs its log buffer twice
    // around each one, so the common case avoids them.
    let mut plain = Vec::with_capacity(batch.len());
    let mut invocations = Vec::new();
    let mut events = Vec::new();
    let mut emissions = Vec::new();
    for Job { commit, .. } in batch {
        let inv = &commit.invocation;
        let record = (invocations::key(&inv.webhook_id, &inv.id), encode(inv));
        if commit.events.is_empty() && commit.emissions.is_empty() {
            plain.push(record);
            continue;
        }
        invocations.push(record);
        for e in &commit.events {
            events.push((ids::key(EVENT_PREFIX, &e.id).unwrap_or_default(), encode(e)));
        }
        for e in &commit.emissions {
            emissions.push((
                ids::key(EMISSION_PREFIX, &e.id).unwrap_or_default(),
                encode(e),
            ));
        }
    }
    for (k, v) in plain {
        store.invocations.insert(k, v)?;
    }
    if invocations.is_empty() {
        return Ok(());
    }
    (
        &store.invocations,
        &store.events,
        &store.emissions,
        &store.fanout,
    )
        .transaction(|(inv_t, ev_t, em_t, fo_t)| {
            for (k, v) in &invocations {
                inv_t.insert(&k[..], &v[..])?;
            }
            for (k, v) in &events {
                ev_t.insert(&k[..], &v[..])?;
                // Marked for fan-out in the same transaction: a crash cannot
                // keep the event and lose its deliveries.
                fo_t.insert(&k[..], &[][..])?;
            }
            for (k, v) in &emissions {
                em_t.insert(&k[..], &v[..])?;
            }
            Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
        })
        .map_err(|e| StoreError::Db(format!("{e:?}")))
}

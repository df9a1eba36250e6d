//! Group commit of invocation results.
//!
//! Each invocation's emissions, events, follow-up webhooks and invocation
//! record are written
//! together ([`super::Backend::commit_invocations`]), so they appear
//! together or not at all. Invocations
//! that recorded emissions or events wait for durability (`flush`) before
//! their response leaves; many of them share one flush. Invocation records
//! alone are written without waiting: losing the last few milliseconds of
//! the log in a crash loses no user data.
//!
//! The two go through separate queues. Durable commits are written as soon
//! as they arrive. Records alone are gathered for [`LINGER`] after each
//! write, so that under load one write (and one hand-off to a blocking
//! thread, and one wake-up) carries dozens of records instead of a few:
//! per request, that hand-off cost more than the write itself.

use super::{
    EmissionRecord, EventRecord, InvocationRecord, Store, StoreError, StoreResult, WebhookRecord,
};
use tokio::sync::{mpsc, oneshot};

/// Most commits applied in one transaction.
const MAX_BATCH: usize = 1024;
/// Queue length before fire-and-forget invocation records are dropped.
const QUEUE: usize = 16 * 1024;
/// How long invocation records alone are gathered after a write.
pub const LINGER: std::time::Duration = std::time::Duration::from_millis(2);

/// Everything one invocation writes.
#[derive(Debug)]
pub struct InvocationCommit {
    /// The invocation log record.
    pub invocation: InvocationRecord,
    /// Emissions to commit (empty unless the handler returned `ok`).
    pub emissions: Vec<EmissionRecord>,
    /// Events to commit (empty unless the handler returned `ok`).
    pub events: Vec<EventRecord>,
    /// Follow-up webhooks the handler registered (empty unless it
    /// succeeded).
    pub webhooks: Vec<WebhookRecord>,
}

impl InvocationCommit {
    /// Whether it writes anything besides the invocation record (and must
    /// then be atomic and, for the caller, durable).
    pub fn has_records(&self) -> bool {
        !(self.emissions.is_empty() && self.events.is_empty() && self.webhooks.is_empty())
    }
}

struct Job {
    commit: InvocationCommit,
    done: Option<oneshot::Sender<StoreResult<()>>>,
}

/// Handle to the committer task; cheap to clone.
#[derive(Clone)]
pub struct Committer {
    /// Durable commits, written at once.
    tx: mpsc::Sender<Job>,
    /// Invocation records alone, gathered.
    later: mpsc::Sender<Job>,
    /// The second a drop was last logged.
    warned: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Committer {
    /// Starts the committer tasks. The handle ends once every `Committer`
    /// is dropped and both queues are drained.
    pub fn spawn(store: Store) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let (later, later_rx) = mpsc::channel(QUEUE);
        let durable = tokio::spawn(run(store.clone(), rx, None));
        let gathered = tokio::spawn(run(store, later_rx, Some(LINGER)));
        let task = tokio::spawn(async move {
            let _ = durable.await;
            let _ = gathered.await;
        });
        (
            Self {
                tx,
                later,
                warned: Default::default(),
            },
            task,
        )
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
        if self.later.try_send(Job { commit, done: None }).is_err() {
            metrics::counter!(crate::metrics::INVOCATION_RECORDS_DROPPED).increment(1);
            // One line per second at most, however many are dropped.
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            if self.warned.swap(now, std::sync::atomic::Ordering::Relaxed) != now {
                tracing::warn!(
                    queued = QUEUE,
                    "invocation log backlog: records are being dropped \
                     (hookhost_invocation_records_dropped_total counts them)"
                );
            }
        }
    }
}

fn closed() -> StoreError {
    StoreError::Db("committer stopped".into())
}

/// Writes what `rx` brings in batches; with `linger`, waits that long after
/// each batch that did not fill up, so that the next one gathers more.
async fn run(store: Store, mut rx: mpsc::Receiver<Job>, linger: Option<std::time::Duration>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut commits = Vec::with_capacity(MAX_BATCH);
    let mut waiting = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        for Job { commit, done } in batch.drain(..) {
            commits.push(commit);
            waiting.extend(done);
        }
        let result = store
            .commit_invocations(&commits, !waiting.is_empty())
            .await;
        if let Err(e) = &result {
            tracing::error!(error = %e, commits = commits.len(), "group commit failed");
        }
        let full = commits.len() >= MAX_BATCH;
        commits.clear();
        for done in waiting.drain(..) {
            let _ = done.send(result.clone());
        }
        if let Some(linger) = linger.filter(|_| !full) {
            tokio::time::sleep(linger).await;
        }
    }
}

//! Group writes of the delivery path.
//!
//! Every sled transaction writes the log to disk twice on its own (sled
//! 0.34 rolls its IO buffer around each atomic batch), so one transaction
//! per accepted event or per attempt caps throughput at a few thousand per
//! second. Instead, callers queue their writes and whoever holds the turn
//! applies everything queued so far in one transaction; the others find
//! their result waiting when their turn comes.

use super::{Sled, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use sled::Transactional;
use sled::transaction::ConflictableTransactionError;
use std::cell::RefCell;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// A write of the delivery path, serialized up front (a transaction body
/// may run more than once).
#[derive(Debug)]
pub(super) enum Write {
    /// An accepted event with its deliveries and queue entries; skipped
    /// (answering the first event's id) when its idempotency key is taken.
    Accept {
        event_key: Vec<u8>,
        event: Vec<u8>,
        deliveries: Vec<AcceptedDelivery>,
        idempotency: Option<Idempotency>,
    },
    /// A delivery's new state, its attempt, and its move in the queue.
    Attempt {
        old_due: Vec<u8>,
        /// The new queue key and its value (the endpoint id).
        new_due: Option<(Vec<u8>, Vec<u8>)>,
        delivery_key: Vec<u8>,
        delivery: Vec<u8>,
        attempt: Option<(Vec<u8>, Vec<u8>)>,
    },
}

/// (delivery key, delivery, due key, endpoint id) of one accepted delivery.
pub(super) type AcceptedDelivery = (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>);

/// An idempotency key to claim for an event.
#[derive(Debug)]
pub(super) struct Idempotency {
    pub key: Vec<u8>,
    pub entry: Vec<u8>,
    pub at: DateTime<Utc>,
}

/// What a stored idempotency key points to.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct IdempotencyEntry {
    pub event_id: String,
    pub at: DateTime<Utc>,
}

/// How long an idempotency key returns the first event.
pub const IDEMPOTENCY_WINDOW: chrono::Duration = chrono::Duration::hours(24);

/// `Ok(Some(id))`: an accept was skipped, `id` is the first event's.
type Outcome = StoreResult<Option<String>>;

struct Queued {
    write: Write,
    durable: bool,
    done: oneshot::Sender<Outcome>,
}

/// The queue and the turn.
#[derive(Default)]
pub(super) struct Batcher {
    queue: Mutex<Vec<Queued>>,
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl Sled {
    /// Applies `write` in a transaction shared with whatever else is queued,
    /// and with `durable`, waits until it is on disk (one flush per batch).
    ///
    /// The caller that gets the turn applies the whole queue on a blocking
    /// thread while the next batch queues up, so batches grow with load.
    /// A write whose caller went away before its batch started is skipped.
    pub(super) async fn write_batched(&self, write: Write, durable: bool) -> Outcome {
        let (done, mut result) = oneshot::channel();
        lock(&self.batcher.queue).push(Queued {
            write,
            durable,
            done,
        });
        let turn = self.batcher.turn.clone().lock_owned().await;
        if let Ok(outcome) = result.try_recv() {
            return outcome;
        }
        let mut batch = std::mem::take(&mut *lock(&self.batcher.queue));
        batch.retain(|q| !q.done.is_closed());
        let store = self.clone();
        // Detached: the batch completes even if this caller is cancelled.
        tokio::task::spawn_blocking(move || {
            let _turn = turn; // released last, after every result is sent
            let mut outcomes = store.apply(&batch);
            if batch.iter().any(|q| q.durable)
                && outcomes.iter().all(Result::is_ok)
                && let Err(e) = store.db.flush()
            {
                let e = StoreError::from(e);
                outcomes = batch.iter().map(|_| Err(e.clone())).collect();
            }
            for (q, outcome) in batch.into_iter().zip(outcomes) {
                let _ = q.done.send(outcome);
            }
        });
        result
            .await
            .unwrap_or_else(|_| Err(StoreError::Db("write batch lost".into())))
    }

    fn apply(&self, batch: &[Queued]) -> Vec<Outcome> {
        // Which accepts found their idempotency key taken, per run of the
        // transaction body.
        let skipped: RefCell<Vec<Option<String>>> = RefCell::default();
        // Net change of the queue's length, per run of the transaction body.
        let queued = std::cell::Cell::new(0i64);
        let result = (
            &self.events,
            &self.deliveries,
            &self.due,
            &self.idempotency,
            &self.attempts,
        )
            .transaction(|(ev, dl, due, idk, at)| {
                let mut skipped = skipped.borrow_mut();
                skipped.clear();
                queued.set(0);
                let count = |previous: Option<sled::IVec>, delta: i64| {
                    if previous.is_none() == (delta > 0) {
                        queued.set(queued.get() + delta);
                    }
                };
                for q in batch {
                    match &q.write {
                        Write::Accept {
                            event_key,
                            event,
                            deliveries,
                            idempotency,
                        } => {
                            if let Some(idem) = idempotency {
                                let first = idk.get(&idem.key)?.and_then(|old| {
                                    let old: IdempotencyEntry =
                                        serde_json::from_slice(&old).ok()?;
                                    (idem.at - old.at < IDEMPOTENCY_WINDOW).then_some(old.event_id)
                                });
                                if first.is_some() {
                                    skipped.push(first);
                                    continue;
                                }
                                idk.insert(&idem.key[..], &idem.entry[..])?;
                            }
                            ev.insert(&event_key[..], &event[..])?;
                            for (k, v, d, ep) in deliveries {
                                dl.insert(&k[..], &v[..])?;
                                count(due.insert(&d[..], &ep[..])?, 1);
                            }
                            skipped.push(None);
                        }
                        Write::Attempt {
                            old_due,
                            new_due,
                            delivery_key,
                            delivery,
                            attempt,
                        } => {
                            count(due.remove(&old_due[..])?, -1);
                            if let Some((k, ep)) = new_due {
                                count(due.insert(&k[..], &ep[..])?, 1);
                            }
                            dl.insert(&delivery_key[..], &delivery[..])?;
                            if let Some((k, v)) = attempt {
                                at.insert(&k[..], &v[..])?;
                            }
                            skipped.push(None);
                        }
                    }
                }
                Ok::<_, ConflictableTransactionError<()>>(())
            });
        match result {
            Ok(()) => {
                self.note_queued(queued.get());
                skipped.into_inner().into_iter().map(Ok).collect()
            }
            Err(e) => {
                let e = StoreError::Db(format!("{e:?}"));
                batch.iter().map(|_| Err(e.clone())).collect()
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use crate::store::{DeliveryRecord, DeliveryStatus, EventRecord, Sled, ids};
    use chrono::Utc;
    use serde_json::value::RawValue;
    use std::collections::HashMap;

    fn event_with_delivery() -> (EventRecord, DeliveryRecord) {
        let now = Utc::now();
        let event = EventRecord {
            workspace_id: "default".into(),
            id: ids::new("evt").0,
            event_type: "t".into(),
            data: RawValue::from_string("{}".into()).unwrap(),
            created_at: now,
            source: None,
        };
        let delivery = DeliveryRecord {
            transformed: None,
            workspace_id: "default".into(),
            id: ids::new("dlv").0,
            event_id: event.id.clone(),
            event_type: "t".into(),
            endpoint_id: "ep_x".into(),
            status: DeliveryStatus::Pending,
            attempts: 0,
            next_attempt_at: Some(now),
            last_status_code: None,
            last_error: None,
            created_at: now,
            updated_at: now,
        };
        (event, delivery)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_accepts_share_batches_and_honour_idempotency_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = Sled::open(dir.path()).unwrap();
        let mut tasks = Vec::new();
        for i in 0..60 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let (event, delivery) = event_with_delivery();
                let key = (i < 30).then(|| format!("key-{}", i % 3));
                let first = store
                    .accept_event(&event, &[delivery], key.as_deref())
                    .await
                    .unwrap();
                (key, event.id, first)
            }));
        }
        let mut winners: HashMap<String, String> = HashMap::new();
        let mut repeats = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                (Some(key), id, None) => {
                    assert!(winners.insert(key, id).is_none(), "a key was taken twice");
                }
                (Some(key), _, Some(first)) => repeats.push((key, first)),
                (None, _, first) => assert_eq!(first, None),
            }
        }
        assert_eq!(winners.len(), 3);
        assert_eq!(repeats.len(), 27);
        for (key, first) in repeats {
            assert_eq!(winners[&key], first, "a repeat must answer the first event");
        }
        // 3 keyed events and 30 unkeyed ones, each with one queued delivery.
        assert_eq!(store.events.len(), 33);
        assert_eq!(store.deliveries.len(), 33);
        assert_eq!(store.due.len(), 33);
    }

    #[tokio::test]
    async fn a_recorded_attempt_moves_the_delivery_in_the_queue() {
        let dir = tempfile::tempdir().unwrap();
        let store = Sled::open(dir.path()).unwrap();
        let (event, mut d) = event_with_delivery();
        store
            .accept_event(&event, std::slice::from_ref(&d), None)
            .await
            .unwrap();
        let old_due = crate::store::QueuePos::at(d.created_at, &d.id);
        let later = d.created_at + chrono::Duration::seconds(5);
        d.attempts = 1;
        d.next_attempt_at = Some(later);
        store
            .record_attempt(Some(&old_due), &d, None)
            .await
            .unwrap();
        let due = store.due_deliveries(later, None, 10).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].pos, crate::store::QueuePos::at(later, &d.id));
        assert_eq!(due[0].id, d.id);
        assert_eq!(due[0].endpoint_id.as_deref(), Some(d.endpoint_id.as_str()));
        assert_eq!(store.queue_depth(), 1);
        // A scan after the entry's own position finds nothing more.
        assert!(
            store
                .due_deliveries(later, Some(&due[0].pos), 10)
                .unwrap()
                .is_empty()
        );

        d.status = DeliveryStatus::Success;
        d.next_attempt_at = None;
        store
            .record_attempt(Some(&due[0].pos), &d, None)
            .await
            .unwrap();
        assert!(store.due_deliveries(later, None, 10).unwrap().is_empty());
        assert_eq!(store.queue_depth(), 0);
        let stored = store.get_delivery(&d.id).unwrap().unwrap();
        assert_eq!(stored.status, DeliveryStatus::Success);
    }
}

//! Deliveries (one per event and endpoint), their attempts, the due queue
//! that workers poll, and idempotency keys of accepted events.
//!
//! Keys: `deliveries` by the 16 uuid-v7 bytes of the id (creation order);
//! `attempts` by delivery key + attempt number; `due` by next-attempt time
//! (ms, big-endian) + delivery key, so "what is due now" is a prefix scan.

use super::batch::{Idempotency, IdempotencyEntry, Write};
use super::events::{EVENT_PREFIX, EventRecord};
use super::sled_backend::scan_page;
use super::{DueDelivery, Page, QueuePos, Sled, StoreError, StoreResult, decode, encode, ids};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::ConflictableTransactionError;

/// Prefix of delivery ids.
pub const DELIVERY_PREFIX: &str = "dlv";

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// An attempt got a 2xx.
    Success,
    /// Retries exhausted, or the endpoint is gone or disabled.
    Failed,
    /// The endpoint's transform decided not to send it.
    Skipped,
}

/// The message a transform made of a delivery: what every attempt sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TransformedMessage {
    /// The body sent.
    pub body: String,
    /// Where it is sent.
    pub url: String,
    /// Custom headers sent.
    pub headers: std::collections::BTreeMap<String, String>,
    /// What it was made from: a hash of the endpoint's URL and headers,
    /// the transform's name and its code. When that changes (the endpoint
    /// moved, its transform was replaced), the next attempt runs the
    /// transform again instead of resending this.
    #[serde(default)]
    pub basis: String,
}

/// One event on its way to one endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeliveryRecord {
    /// What the endpoint's transform made of the event, once it ran: every
    /// attempt sends this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transformed: Option<TransformedMessage>,
    /// The workspace it belongs to (`default` when absent).
    #[serde(
        default = "super::default_workspace",
        skip_serializing_if = "super::is_default_workspace"
    )]
    pub workspace_id: String,
    /// `dlv_…`.
    pub id: String,
    /// The event delivered.
    pub event_id: String,
    /// Its type.
    pub event_type: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Status code of the last attempt, if it got a response.
    pub last_status_code: Option<u16>,
    /// Error of the last attempt, if any.
    pub last_error: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// One HTTP attempt of a delivery.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AttemptRecord {
    /// The delivery.
    pub delivery_id: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When it started.
    pub at: DateTime<Utc>,
    /// Response status, if a response came.
    pub status_code: Option<u16>,
    /// Time to the response (or the error).
    pub latency_ms: f64,
    /// First 4 KiB of the response body.
    pub response_body: String,
    /// Connection error, timeout or refusal, if any.
    pub error: Option<String>,
}

/// Queue key of a delivery due at `at`.
pub(super) fn due_key(at: DateTime<Utc>, delivery_id: &str) -> Vec<u8> {
    pos_key(&QueuePos::at(at, delivery_id))
}

/// Queue key of a position: due time (ms, big-endian) + delivery key.
fn pos_key(pos: &QueuePos) -> Vec<u8> {
    let mut k = (pos.at_ms.max(0) as u64).to_be_bytes().to_vec();
    k.extend_from_slice(&delivery_key(&pos.delivery_id));
    k
}

/// The position of queue key `k`.
fn key_pos(k: &[u8]) -> QueuePos {
    let ms = k
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_be_bytes);
    QueuePos {
        at_ms: ms as i64,
        delivery_id: ids::from_key(DELIVERY_PREFIX, k.get(8..).unwrap_or_default()),
    }
}

pub(super) fn delivery_key(id: &str) -> [u8; 16] {
    ids::key(DELIVERY_PREFIX, id).unwrap_or_default()
}

pub(super) fn attempt_key(delivery_id: &str, n: u32) -> Vec<u8> {
    let mut k = delivery_key(delivery_id).to_vec();
    k.extend_from_slice(&n.to_be_bytes());
    k
}

/// The write moving `delivery` in the queue (from `old_due`) with its new
/// state and, if any, its attempt.
fn attempt_write(
    old_due: Option<&QueuePos>,
    delivery: &DeliveryRecord,
    attempt: Option<&AttemptRecord>,
) -> Write {
    Write::Attempt {
        old_due: old_due.map(pos_key).unwrap_or_default(),
        new_due: match (delivery.status, delivery.next_attempt_at) {
            (DeliveryStatus::Pending, Some(at)) => Some((
                due_key(at, &delivery.id),
                delivery.endpoint_id.as_bytes().to_vec(),
            )),
            _ => None,
        },
        delivery_key: delivery_key(&delivery.id).to_vec(),
        delivery: encode(delivery),
        attempt: attempt.map(|a| (attempt_key(&a.delivery_id, a.attempt), encode(a))),
    }
}

/// Filters of [`super::Backend::list_deliveries`].
#[derive(Debug, Default, Clone)]
pub struct DeliveryFilter {
    /// Only deliveries of this workspace.
    pub workspace_id: Option<String>,
    /// Only this endpoint.
    pub endpoint_id: Option<String>,
    /// Only this event.
    pub event_id: Option<String>,
    /// Only this status.
    pub status: Option<DeliveryStatus>,
}

impl Sled {
    /// Writes an accepted event with its deliveries (all due now) in one
    /// transaction and waits until it is on disk. With an idempotency key
    /// seen in the last 24 h, writes nothing and returns the first event's id.
    pub async fn accept_event(
        &self,
        event: &EventRecord,
        deliveries: &[DeliveryRecord],
        idempotency_key: Option<&str>,
    ) -> StoreResult<Option<String>> {
        let write = Write::Accept {
            event_key: ids::key(EVENT_PREFIX, &event.id)
                .unwrap_or_default()
                .to_vec(),
            event: encode(event),
            deliveries: deliveries
                .iter()
                .map(|d| {
                    (
                        delivery_key(&d.id).to_vec(),
                        encode(d),
                        due_key(d.created_at, &d.id),
                        d.endpoint_id.as_bytes().to_vec(),
                    )
                })
                .collect(),
            idempotency: idempotency_key.map(|k| Idempotency {
                key: k.as_bytes().to_vec(),
                entry: encode(&IdempotencyEntry {
                    event_id: event.id.clone(),
                    at: event.created_at,
                }),
                at: event.created_at,
            }),
        };
        self.write_batched(write, true).await
    }

    /// The delivery `id`.
    pub fn get_delivery(&self, id: &str) -> StoreResult<Option<DeliveryRecord>> {
        let Some(k) = ids::key(DELIVERY_PREFIX, id) else {
            return Ok(None);
        };
        self.deliveries.get(k)?.map(|v| decode(&v)).transpose()
    }

    /// Attempts of delivery `id`, first first.
    pub fn list_attempts(&self, id: &str) -> StoreResult<Vec<AttemptRecord>> {
        self.attempts
            .scan_prefix(delivery_key(id))
            .map(|r| decode(&r?.1))
            .collect()
    }

    /// Attempts of workspace `ws`'s deliveries created at or after
    /// `since`, with each delivery's endpoint: newest deliveries first, at
    /// most `limit` attempts (blocking: a range scan).
    pub(super) fn recent_attempts_blocking(
        &self,
        ws: &str,
        endpoint_ids: &[String],
        since: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<(Vec<(String, AttemptRecord)>, bool)> {
        /// Deliveries read at most (sled has no index by endpoint).
        const MAX_SCANNED: usize = 200_000;
        let start = super::retention::time_key(since);
        let mut out = Vec::new();
        for (scanned, item) in self.deliveries.range(start..).rev().enumerate() {
            if scanned >= MAX_SCANNED {
                return Ok((out, true));
            }
            let (k, v) = item?;
            let d: DeliveryRecord = decode(&v)?;
            if d.workspace_id != ws || !endpoint_ids.contains(&d.endpoint_id) {
                continue;
            }
            for a in self.attempts.scan_prefix(&k) {
                out.push((d.endpoint_id.clone(), decode(&a?.1)?));
            }
            if out.len() >= limit {
                out.truncate(limit);
                return Ok((out, true));
            }
        }
        Ok((out, false))
    }

    /// Deliveries, newest first, before the cursor `before`.
    pub fn list_deliveries(
        &self,
        filter: &DeliveryFilter,
        before: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<DeliveryRecord>> {
        let cursor = before.and_then(|b| ids::key(DELIVERY_PREFIX, b));
        let (data, last) = scan_page(
            &self.deliveries,
            b"",
            cursor.as_ref().map(|c| &c[..]),
            limit,
            true,
            |d: &DeliveryRecord| {
                filter
                    .workspace_id
                    .as_ref()
                    .is_none_or(|w| &d.workspace_id == w)
                    && filter
                        .endpoint_id
                        .as_ref()
                        .is_none_or(|e| &d.endpoint_id == e)
                    && filter.event_id.as_ref().is_none_or(|e| &d.event_id == e)
                    && filter.status.is_none_or(|s| d.status == s)
            },
        )?;
        let next_cursor = last.map(|k| ids::from_key(DELIVERY_PREFIX, &k));
        Ok(Page { data, next_cursor })
    }

    /// Deliveries due at or before `now`, earliest first, strictly after
    /// the queue position `after` when given (at most `limit`).
    pub fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        after: Option<&QueuePos>,
        limit: usize,
    ) -> StoreResult<Vec<DueDelivery>> {
        let after = after.map(pos_key);
        let end = ((now.timestamp_millis().max(0) as u64) + 1)
            .to_be_bytes()
            .to_vec();
        let iter = match after {
            Some(a) => {
                let mut start = a;
                start.push(0);
                if start >= end {
                    return Ok(Vec::new());
                }
                self.due.range(start..end)
            }
            None => self.due.range(..end),
        };
        iter.take(limit)
            .map(|r| {
                let (k, v) = r?;
                let pos = key_pos(&k);
                Ok(DueDelivery {
                    id: pos.delivery_id.clone(),
                    // Entries written before the endpoint was kept here
                    // have an empty value.
                    endpoint_id: (!v.is_empty()).then(|| String::from_utf8_lossy(&v).into_owned()),
                    delivery: None,
                    event: None,
                    pos,
                })
            })
            .collect()
    }

    /// The first pending delivery of `endpoint_id` from delivery `from` on
    /// (from the oldest when `None`), in creation order, leaving out those
    /// of events of type `except`: the head of a FIFO endpoint's line.
    /// Walks the deliveries from `from`: callers keep the head and start
    /// there.
    pub fn first_pending(
        &self,
        endpoint_id: &str,
        from: Option<&str>,
        except: &str,
    ) -> StoreResult<Option<String>> {
        let iter = match from {
            Some(id) => self.deliveries.range(delivery_key(id).to_vec()..),
            None => self.deliveries.range::<&[u8], _>(..),
        };
        for item in iter {
            let (_, v) = item?;
            let d: DeliveryRecord = decode(&v)?;
            if d.endpoint_id == endpoint_id
                && d.status == DeliveryStatus::Pending
                && d.event_type != except
            {
                return Ok(Some(d.id));
            }
        }
        Ok(None)
    }

    /// Deliveries queued for an attempt (now or later): a counter kept with
    /// every queue change, so reading it costs nothing.
    pub fn queue_depth(&self) -> usize {
        self.queued
            .load(std::sync::atomic::Ordering::Relaxed)
            .max(0) as usize
    }

    pub(super) fn note_queued(&self, delta: i64) {
        if delta != 0 {
            self.queued
                .fetch_add(delta, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// When the earliest queued delivery is due.
    pub fn next_due(&self) -> StoreResult<Option<DateTime<Utc>>> {
        Ok(self.due.first()?.and_then(|(k, _)| {
            let ms = u64::from_be_bytes(k[..8].try_into().ok()?);
            DateTime::from_timestamp_millis(ms as i64)
        }))
    }

    /// Records an attempt and the delivery's new state in one transaction:
    /// the old queue entry goes, a new one is added while it stays pending.
    /// Not flushed: a crash may lose it, and the delivery is then sent again.
    pub async fn record_attempt(
        &self,
        old_due: Option<&QueuePos>,
        delivery: &DeliveryRecord,
        attempt: Option<&AttemptRecord>,
    ) -> StoreResult<()> {
        self.write_batched(attempt_write(old_due, delivery, attempt), false)
            .await
            .map(|_| ())
    }

    /// Puts a delivery back in the queue at its `next_attempt_at` (manual
    /// retry / recover), replacing its queue entry at `old_next`, if any.
    pub async fn requeue_delivery(
        &self,
        delivery: &DeliveryRecord,
        old_next: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        let old = old_next.map(|at| QueuePos::at(at, &delivery.id));
        self.write_batched(attempt_write(old.as_ref(), delivery, None), true)
            .await
            .map(|_| ())
    }

    /// Removes a stale queue entry.
    pub fn drop_due(&self, pos: &QueuePos) -> StoreResult<()> {
        if self.due.remove(pos_key(pos))?.is_some() {
            self.note_queued(-1);
        }
        Ok(())
    }

    /// Events published by handlers that still need deliveries.
    pub fn pending_fanout(&self, limit: usize) -> StoreResult<Vec<EventRecord>> {
        let mut out = Vec::new();
        for item in self.fanout.iter().take(limit) {
            let (k, _) = item?;
            match self.events.get(&k)? {
                Some(v) => out.push(decode(&v)?),
                None => {
                    self.fanout.remove(k)?;
                }
            }
        }
        Ok(out)
    }

    /// Writes the deliveries of a published event and clears its fan-out
    /// mark, in one transaction.
    pub fn fan_out(&self, event_id: &str, deliveries: &[DeliveryRecord]) -> StoreResult<()> {
        let event_key = ids::key(EVENT_PREFIX, event_id).unwrap_or_default();
        let rows: Vec<_> = deliveries
            .iter()
            .map(|d| {
                (
                    delivery_key(&d.id),
                    encode(d),
                    due_key(d.created_at, &d.id),
                    d.endpoint_id.as_bytes(),
                )
            })
            .collect();
        let added = std::cell::Cell::new(0i64);
        (&self.fanout, &self.deliveries, &self.due)
            .transaction(|(fo, dl, due)| {
                added.set(0);
                if fo.remove(&event_key[..])?.is_none() {
                    // Fanned out already.
                    return Ok(());
                }
                for (k, v, d, ep) in &rows {
                    dl.insert(&k[..], &v[..])?;
                    if due.insert(&d[..], *ep)?.is_none() {
                        added.set(added.get() + 1);
                    }
                }
                Ok::<_, ConflictableTransactionError<()>>(())
            })
            .map_err(|e| StoreError::Db(format!("{e:?}")))?;
        self.note_queued(added.get());
        Ok(())
    }
}

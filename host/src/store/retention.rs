//! Retention: finished records older than the cutoff are removed, so that
//! nothing a caller or a handler can create grows forever.
//!
//! Events, emissions, deliveries and invocations have time-ordered keys
//! (uuid v7: the first six bytes are the creation time in milliseconds), so
//! the expired part of each tree is a range at its start. A pending delivery
//! is never removed, nor the event it delivers; a finished delivery goes
//! once its last change is older than the cutoff, with its attempts.

use super::batch::IdempotencyEntry;
use super::deliveries::DeliveryStatus;
use super::{DeliveryRecord, Sled, StoreResult, decode};
use chrono::{DateTime, Utc};
use std::collections::HashSet;

/// The smallest uuid-v7 key created at or after `at`.
pub(super) fn time_key(at: DateTime<Utc>) -> [u8; 16] {
    let ms = at.timestamp_millis().max(0) as u64;
    let mut k = [0u8; 16];
    k[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    k
}

/// The creation time (ms) of a uuid-v7 key.
fn key_ms(key: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    if key.len() >= 6 {
        b[2..].copy_from_slice(&key[..6]);
    }
    u64::from_be_bytes(b)
}

impl Sled {
    /// Removes finished records created (deliveries: last changed) before
    /// `cutoff`, idempotency keys older than both `cutoff` and the
    /// idempotency window, and deduplication answers past their window or
    /// older than `cutoff`. Returns how many records went.
    pub fn remove_expired(&self, cutoff: DateTime<Utc>) -> StoreResult<usize> {
        let end = time_key(cutoff);
        let mut removed = 0;

        // Deliveries first: the events of those that stay must stay too.
        let mut keep_events = HashSet::new();
        for item in self.deliveries.range(..end) {
            let (k, v) = item?;
            let d: DeliveryRecord = decode(&v)?;
            if d.status == DeliveryStatus::Pending || d.updated_at >= cutoff {
                keep_events.insert(d.event_id);
                continue;
            }
            for attempt in self.attempts.scan_prefix(&k) {
                self.attempts.remove(attempt?.0)?;
                removed += 1;
            }
            self.deliveries.remove(&k)?;
            removed += 1;
        }

        for item in self.events.range(..end) {
            let (k, _) = item?;
            let id = super::ids::from_key(super::events::EVENT_PREFIX, &k);
            // Still to be fanned out, or still being delivered.
            if keep_events.contains(&id) || self.fanout.contains_key(&k)? {
                continue;
            }
            self.events.remove(&k)?;
            removed += 1;
        }

        for item in self.emissions.range(..end) {
            self.emissions.remove(item?.0)?;
            removed += 1;
        }

        // Invocation keys are `<webhook id>/<16 key bytes>`: not one range,
        // but bounded by the per-webhook count (and this also clears the
        // log of deleted webhooks).
        let cutoff_ms = key_ms(&end);
        for item in self.invocations.iter() {
            let (k, _) = item?;
            if k.len() >= 16 && key_ms(&k[k.len() - 16..]) < cutoff_ms {
                self.invocations.remove(&k)?;
                removed += 1;
            }
        }

        let idem_cutoff = cutoff.min(Utc::now() - super::IDEMPOTENCY_WINDOW);
        for item in self.idempotency.iter() {
            let (k, v) = item?;
            let expired = serde_json::from_slice::<IdempotencyEntry>(&v)
                .map(|e| e.at < idem_cutoff)
                .unwrap_or(true);
            if expired {
                self.idempotency.remove(&k)?;
                removed += 1;
            }
        }

        // Remembered answers of inbound deduplication: past their window,
        // or older than the cutoff.
        removed += self.remove_expired_dedup(cutoff)?;
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_keys_order_like_uuid_v7_ids() {
        let now = Utc::now();
        let (_, id_key) = super::super::ids::new("evt");
        assert!(time_key(now - chrono::Duration::seconds(1)).as_slice() < id_key.as_slice());
        assert!(time_key(now + chrono::Duration::seconds(1)).as_slice() > id_key.as_slice());
        assert_eq!(key_ms(&time_key(now)), now.timestamp_millis() as u64);
    }
}

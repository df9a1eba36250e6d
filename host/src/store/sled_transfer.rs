//! Export and import of the sled store (see [`super::transfer`]).

use super::batch::IdempotencyEntry;
use super::deliveries::{attempt_key, delivery_key, due_key};
use super::emissions::EMISSION_PREFIX;
use super::events::EVENT_PREFIX;
use super::transfer::{Item, check_module_bytes, dedup_hash};
use super::{DeliveryStatus, Sled, StoreError, StoreResult, decode, encode, ids, invocations};
use tokio::sync::mpsc;

/// Bytes of a SHA-256 at the end of a dedup key.
const HASH: usize = 32;

impl Sled {
    /// Sends every record to `out` (blocking; run off the async workers):
    /// modules and their bytes, webhooks, endpoints, events, deliveries,
    /// attempts, invocations, emissions, idempotency keys, dedup answers.
    pub(super) fn export_blocking(&self, out: &mpsc::Sender<Item>) -> StoreResult<()> {
        let send = |item: Item| {
            out.blocking_send(item)
                .map_err(|_| StoreError::Io("export stopped: the reader went away".into()))
        };
        for r in self.meta.iter() {
            send(Item::Meta(decode(&r?.1)?))?;
        }
        for r in self.modules.iter() {
            let module: super::ModuleRecord = decode(&r?.1)?;
            let sha256 = module.sha256.clone();
            send(Item::Module(module))?;
            let bytes = std::fs::read(self.module_path(&sha256))?;
            send(Item::ModuleBytes { sha256, bytes })?;
        }
        for r in self.webhooks.iter() {
            send(Item::Webhook(decode(&r?.1)?))?;
        }
        for r in self.endpoints.iter() {
            send(Item::Endpoint(decode(&r?.1)?))?;
        }
        for r in self.events.iter() {
            let (k, v) = r?;
            send(Item::Event {
                record: decode(&v)?,
                fanout: self.fanout.contains_key(&k)?,
            })?;
        }
        for r in self.deliveries.iter() {
            send(Item::Delivery(decode(&r?.1)?))?;
        }
        for r in self.attempts.iter() {
            send(Item::Attempt(decode(&r?.1)?))?;
        }
        for r in self.invocations.iter() {
            send(Item::Invocation(decode(&r?.1)?))?;
        }
        for r in self.emissions.iter() {
            send(Item::Emission(decode(&r?.1)?))?;
        }
        for r in self.idempotency.iter() {
            let (k, v) = r?;
            let entry: IdempotencyEntry = decode(&v)?;
            send(Item::Idempotency {
                key: String::from_utf8_lossy(&k).into_owned(),
                event_id: entry.event_id,
                at: entry.at,
            })?;
        }
        for r in self.dedup.iter() {
            let (k, v) = r?;
            // `<webhook id>/<32 hash bytes>`.
            let Some(split) = k.len().checked_sub(HASH + 1) else {
                continue;
            };
            send(Item::Dedup {
                webhook_id: String::from_utf8_lossy(&k[..split]).into_owned(),
                key_sha256: hex::encode(&k[split + 1..]),
                record: decode(&v)?,
            })?;
        }
        Ok(())
    }

    /// Writes imported records as they are (blocking), replacing those with
    /// the same keys; a pending delivery is queued at its next attempt.
    pub(super) fn import_blocking(&self, items: Vec<Item>) -> StoreResult<()> {
        let mut queued = 0;
        for item in items {
            match item {
                Item::Meta(m) => {
                    self.meta
                        .insert(super::meta::meta_key(m.kind, &m.key), encode(&m))?;
                }
                Item::Module(m) => {
                    self.modules.insert(m.key().as_bytes(), encode(&m))?;
                }
                Item::ModuleBytes { sha256, bytes } => {
                    check_module_bytes(&sha256, &bytes)?;
                    self.write_module_bytes(&sha256, &bytes)?;
                }
                Item::Webhook(w) => {
                    self.webhooks.insert(w.id.as_bytes(), encode(&w))?;
                }
                Item::Endpoint(e) => {
                    self.endpoints.insert(e.id.as_bytes(), encode(&e))?;
                }
                Item::Event { record, fanout } => {
                    let k = id_key(EVENT_PREFIX, &record.id)?;
                    self.events.insert(k, encode(&record))?;
                    if fanout {
                        self.fanout.insert(k, &[][..])?;
                    }
                }
                Item::Delivery(d) => {
                    let k = id_key(super::deliveries::DELIVERY_PREFIX, &d.id)?;
                    let old = self.deliveries.insert(k, encode(&d))?;
                    if let Some(old) = old {
                        // Replaced: its queue entry goes with it.
                        let old: super::DeliveryRecord = decode(&old)?;
                        if let (DeliveryStatus::Pending, Some(at)) =
                            (old.status, old.next_attempt_at)
                            && self.due.remove(due_key(at, &old.id))?.is_some()
                        {
                            queued -= 1;
                        }
                    }
                    if let (DeliveryStatus::Pending, Some(at)) = (d.status, d.next_attempt_at)
                        && self
                            .due
                            .insert(due_key(at, &d.id), d.endpoint_id.as_bytes())?
                            .is_none()
                    {
                        queued += 1;
                    }
                }
                Item::Attempt(a) => {
                    delivery_key_of(&a.delivery_id)?;
                    self.attempts
                        .insert(attempt_key(&a.delivery_id, a.attempt), encode(&a))?;
                }
                Item::Invocation(i) => {
                    id_key(super::invocations::INVOCATION_PREFIX, &i.id)?;
                    self.invocations
                        .insert(invocations::key(&i.webhook_id, &i.id), encode(&i))?;
                }
                Item::Emission(e) => {
                    let k = id_key(EMISSION_PREFIX, &e.id)?;
                    self.emissions.insert(k, encode(&e))?;
                }
                Item::Idempotency { key, event_id, at } => {
                    self.idempotency
                        .insert(key.as_bytes(), encode(&IdempotencyEntry { event_id, at }))?;
                }
                Item::Dedup {
                    webhook_id,
                    key_sha256,
                    record,
                } => {
                    let hash = dedup_hash(&key_sha256)?;
                    let mut k = webhook_id.into_bytes();
                    k.push(b'/');
                    k.extend_from_slice(&hash);
                    self.dedup.insert(k, encode(&record))?;
                }
            }
        }
        self.note_queued(queued);
        self.db.flush()?;
        Ok(())
    }
}

/// The key of an id made by [`ids::new`] with `prefix`; an error for any
/// other id (a sled key must keep creation order).
fn id_key(prefix: &str, id: &str) -> StoreResult<[u8; 16]> {
    ids::key(prefix, id).ok_or_else(|| StoreError::Corrupt(format!("not a {prefix}_ id: {id:?}")))
}

fn delivery_key_of(id: &str) -> StoreResult<[u8; 16]> {
    id_key(super::deliveries::DELIVERY_PREFIX, id).map(|_| delivery_key(id))
}

//! Answers remembered for inbound deduplication, keyed by webhook and a
//! hash of the delivery id (so a caller's id of any length costs 32 bytes).

use super::{Sled, StoreResult, decode, encode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The first 2xx answer to a delivery id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DedupRecord {
    /// The invocation that produced it.
    pub invocation_id: String,
    /// When it was answered.
    pub at: DateTime<Utc>,
    /// End of the window it was remembered for (retention removes it then).
    pub expires_at: DateTime<Utc>,
    /// HTTP status.
    pub status: u16,
    /// The answer's `content-type`.
    pub content_type: Option<String>,
    /// The first [`crate::config::DEDUP_BODY_BYTES`] of the body.
    #[serde(with = "base64_bytes")]
    pub body: Vec<u8>,
}

mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as B64;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        B64.decode(text).map_err(serde::de::Error::custom)
    }
}

fn prefix(webhook_id: &str) -> Vec<u8> {
    let mut k = webhook_id.as_bytes().to_vec();
    k.push(b'/');
    k
}

impl Sled {
    /// The sled key of delivery id `key` of webhook `webhook_id`.
    fn dedup_key(webhook_id: &str, key: &str) -> Vec<u8> {
        let mut k = prefix(webhook_id);
        k.extend_from_slice(&Sha256::digest(key.as_bytes()));
        k
    }

    /// The answer remembered for delivery id `key` of `webhook_id`, if any.
    pub fn dedup_get(&self, webhook_id: &str, key: &str) -> StoreResult<Option<DedupRecord>> {
        self.dedup
            .get(Self::dedup_key(webhook_id, key))?
            .map(|v| decode(&v))
            .transpose()
    }

    /// Remembers an answer. Not flushed: the next periodic flush (within
    /// 500 ms) writes it, and one lost in a crash costs one more run of the
    /// handler, as without deduplication.
    pub fn dedup_put(&self, webhook_id: &str, key: &str, record: &DedupRecord) -> StoreResult<()> {
        self.dedup
            .insert(Self::dedup_key(webhook_id, key), encode(record))?;
        Ok(())
    }

    /// Forgets the remembered answers of `webhook_id`.
    pub(super) fn remove_dedup_of(&self, webhook_id: &str) -> StoreResult<usize> {
        let mut removed = 0;
        for item in self.dedup.scan_prefix(prefix(webhook_id)) {
            self.dedup.remove(item?.0)?;
            removed += 1;
        }
        Ok(removed)
    }

    /// Removes answers past their window or created before `cutoff`.
    pub(super) fn remove_expired_dedup(&self, cutoff: DateTime<Utc>) -> StoreResult<usize> {
        let now = Utc::now();
        let mut removed = 0;
        for item in self.dedup.iter() {
            let (k, v) = item?;
            let expired = decode::<DedupRecord>(&v)
                .map(|r| r.expires_at <= now || r.at < cutoff)
                .unwrap_or(true);
            if expired {
                self.dedup.remove(&k)?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

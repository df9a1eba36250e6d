//! Outbound endpoints: where events are delivered and how they are signed.

use super::{Sled, StoreResult, decode, encode};
use crate::signing::SignatureScheme;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A secret replaced by a rotation, still signing until it expires.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RetiredSecret {
    /// The old secret (of the same kind as the current one: a shared
    /// secret, or a `whsk_` key for `standard-ed25519`).
    pub secret: String,
    /// When it stops being used.
    pub expires_at: DateTime<Utc>,
}

/// A subscribed endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndpointRecord {
    /// The transform module (of its workspace) run on each delivery's
    /// message before it is first sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<String>,
    /// The workspace it belongs to (`default` when absent).
    #[serde(
        default = "super::default_workspace",
        skip_serializing_if = "super::is_default_workspace"
    )]
    pub workspace_id: String,
    /// `ep_…`.
    pub id: String,
    /// Where deliveries are POSTed.
    pub url: String,
    /// Event type patterns: `post.created`, `post.*`, `*`.
    pub events: Vec<String>,
    /// Equality filters on fields (or dotted paths) of the event data.
    pub filters: Map<String, Value>,
    /// Operator filter on the envelope, as the client gave it (checked when
    /// set; see [`crate::delivery::matching::filter`]). Absent in records
    /// written before filters existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Value>,
    /// Free text.
    pub description: String,
    /// Inactive endpoints receive nothing.
    pub active: bool,
    /// Static headers added to every delivery (checked by
    /// [`crate::delivery::headers::check`]). Absent in records written
    /// before custom headers existed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// In which order deliveries are attempted. Absent in records written
    /// before it existed (and when parallel).
    #[serde(default, skip_serializing_if = "DeliveryOrder::is_parallel")]
    pub ordering: DeliveryOrder,
    /// How fast deliveries may be attempted; none: as fast as the
    /// concurrency limits allow. Absent in records written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// Current signing secret: a shared secret for the HMAC schemes, the
    /// `whsk_` private key for `standard-ed25519`.
    pub secret: String,
    /// Secrets replaced by rotation, still valid for a grace period.
    pub retired_secrets: Vec<RetiredSecret>,
    /// Signature scheme.
    pub signature: SignatureScheme,
    /// Why hookhost disabled the endpoint (410 Gone, failing too long), if it did.
    pub disabled_reason: Option<String>,
    /// Start of the current run of failed attempts.
    pub failing_since: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// In which order an endpoint's deliveries are attempted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryOrder {
    /// As they come due, several at once (up to the endpoint concurrency).
    #[default]
    Parallel,
    /// In acceptance order, one at a time: a delivery waits until the one
    /// before it succeeded or failed for good.
    Fifo,
}

impl DeliveryOrder {
    /// Whether this is the default, parallel order.
    pub fn is_parallel(&self) -> bool {
        *self == DeliveryOrder::Parallel
    }
}

/// Deliveries per second an endpoint accepts (attempts, retries included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, try_from = "RateLimitObject")]
pub struct RateLimit {
    /// Sustained attempts per second, 1–10000.
    #[schema(minimum = 1, maximum = 10000)]
    pub per_second: u32,
    /// Attempts allowed at once beyond the steady pace after a quiet
    /// spell, 0–10000 (default 0): at most `per_second + burst` attempts
    /// start in any one-second window.
    // `default`: optional in the document too (read by `RateLimitObject`).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10000)]
    pub burst: u32,
}

/// A JSON integer, written as such (`10`) or with a zero fraction (`10.0`,
/// which JSON Schema counts as an integer too).
fn integral<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    whole(serde_json::Number::deserialize(d)?).map_err(serde::de::Error::custom)
}

/// [`integral`], or `null`.
pub(crate) fn integral_opt<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<u32>, D::Error> {
    Option::<serde_json::Number>::deserialize(d)?
        .map(whole)
        .transpose()
        .map_err(serde::de::Error::custom)
}

fn whole(n: serde_json::Number) -> Result<u32, String> {
    n.as_u64()
        .or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= f64::from(u32::MAX))
                .map(|f| f as u64)
        })
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| format!("expected a whole number, not {n}"))
}

/// A rate limit as written: a JSON object only (serde would also read the
/// struct from an array of its fields).
#[derive(Deserialize)]
struct RateLimitObject(serde_json::Map<String, serde_json::Value>);

impl TryFrom<RateLimitObject> for RateLimit {
    type Error = String;

    fn try_from(o: RateLimitObject) -> Result<Self, String> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Fields {
            #[serde(deserialize_with = "integral")]
            per_second: u32,
            #[serde(default, deserialize_with = "integral")]
            burst: u32,
        }
        let f: Fields =
            serde_json::from_value(serde_json::Value::Object(o.0)).map_err(|e| e.to_string())?;
        Ok(RateLimit {
            per_second: f.per_second,
            burst: f.burst,
        })
    }
}

impl RateLimit {
    /// Largest `per_second` and `burst`.
    pub const MAX: u32 = 10_000;
}

impl EndpointRecord {
    /// The secrets that sign a delivery now, newest first.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&str> {
        std::iter::once(self.secret.as_str())
            .chain(
                self.retired_secrets
                    .iter()
                    .filter(|r| r.expires_at > now)
                    .map(|r| r.secret.as_str()),
            )
            .collect()
    }
}

impl Sled {
    /// Inserts or replaces an endpoint, durably.
    pub async fn put_endpoint(&self, record: &EndpointRecord) -> StoreResult<()> {
        self.endpoints
            .insert(record.id.as_bytes(), encode(record))?;
        self.flush().await
    }

    /// The endpoint `id`.
    pub fn get_endpoint(&self, id: &str) -> StoreResult<Option<EndpointRecord>> {
        self.endpoints.get(id)?.map(|v| decode(&v)).transpose()
    }

    /// Every endpoint, by id (ids are time-ordered: oldest first).
    pub fn list_endpoints(&self) -> StoreResult<Vec<EndpointRecord>> {
        self.endpoints.iter().map(|r| decode(&r?.1)).collect()
    }

    /// Deletes endpoint `id`, durably. Its pending deliveries fail when due.
    pub async fn delete_endpoint(&self, id: &str) -> StoreResult<bool> {
        let existed = self.endpoints.remove(id)?.is_some();
        self.flush().await?;
        Ok(existed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_are_objects_of_whole_numbers() {
        let r: RateLimit = serde_json::from_str(r#"{"per_second": 10.0}"#).unwrap();
        assert_eq!(
            r,
            RateLimit {
                per_second: 10,
                burst: 0
            }
        );
        let r: RateLimit = serde_json::from_str(r#"{"per_second": 5, "burst": 2}"#).unwrap();
        assert_eq!(r.burst, 2);
        for bad in [
            r#"[10, 0]"#,
            r#"{"per_second": 1.5}"#,
            r#"{"burst": 1}"#,
            r#"{"per_second": 1, "x": 1}"#,
        ] {
            assert!(serde_json::from_str::<RateLimit>(bad).is_err(), "{bad}");
        }
        // Stored records read back.
        let stored = serde_json::to_string(&RateLimit {
            per_second: 3,
            burst: 1,
        })
        .unwrap();
        assert_eq!(
            serde_json::from_str::<RateLimit>(&stored)
                .unwrap()
                .per_second,
            3
        );
    }
}

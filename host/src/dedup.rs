//! Deduplicating inbound deliveries: senders retry, and a retry of a
//! request that was handled must not run the handler again.
//!
//! A webhook's `dedup` names where a request's delivery id is (a header, a
//! JSON pointer into the body, or `auto`: the verification scheme's own id).
//! The first request with an id runs the handler; a 2xx answer is
//! remembered (status, `content-type`, the first 64 KiB of the body) for
//! the window, and requests with the same id within it get that answer
//! replayed without running the handler. Requests arriving while the first
//! is still running wait for its answer ([`Deduplicator`]'s in-flight map),
//! so concurrent duplicates run the handler once. Non-2xx answers are not
//! remembered: senders retry on them, and a replayed 5xx would turn a
//! passing failure into a permanent one.

use crate::config::{DEDUP_BODY_BYTES, DEFAULT_DEDUP_WINDOW};
use crate::store::{DedupRecord, Store, StoreResult};
use crate::verify::{VerifyScheme, header, is_header_name, parse_duration};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Where a request's delivery id is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DedupKey {
    /// `"auto"`: the verification scheme's delivery id.
    Auto(AutoKey),
    /// `{"header": "X-Request-Id"}`.
    Header {
        /// Header name (stored lower-case).
        header: String,
    },
    /// `{"json": "/id"}`: a JSON pointer into the body; a string or number.
    Json {
        /// RFC 6901 pointer.
        json: String,
    },
}

/// The word `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AutoKey {
    /// `auto`.
    Auto,
}

/// A webhook's `dedup` setting, as stored and shown.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DedupConfig {
    /// How long an id replays the first answer (humantime).
    pub window: String,
    /// Where the id is.
    pub key: DedupKey,
}

/// The form of a JSON pointer key: one or more `/`-prefixed segments
/// (`~0` and `~1` escape `~` and `/`), at most 256 characters.
pub const POINTER_PATTERN: &str = "^(/([^~/]|~[01])*)+$";

fn is_pointer(p: &str) -> bool {
    if p.is_empty() || p.chars().count() > 256 || !p.starts_with('/') {
        return false;
    }
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return false;
        }
    }
    true
}

impl DedupConfig {
    /// Reads and checks `dedup` of an API request; errors name the field.
    pub fn from_json(value: &Value) -> Result<Self, String> {
        let obj = value
            .as_object()
            .ok_or("dedup: expected an object with `window` and `key`")?;
        if let Some(k) = obj
            .keys()
            .find(|k| !["window", "key"].contains(&k.as_str()))
        {
            return Err(format!("dedup.{k}: unknown option"));
        }
        let window = match obj.get("window") {
            None => DEFAULT_DEDUP_WINDOW.to_string(),
            Some(Value::String(w)) => {
                parse_duration(w).map_err(|e| format!("dedup.window: {e}"))?;
                w.clone()
            }
            Some(other) => return Err(format!("dedup.window: expected a string, got {other}")),
        };
        let key = match obj.get("key") {
            None => DedupKey::Auto(AutoKey::Auto),
            Some(Value::String(s)) if s == "auto" => DedupKey::Auto(AutoKey::Auto),
            Some(Value::Object(k)) if k.len() == 1 => match k.iter().next() {
                Some((name, Value::String(h))) if name == "header" => {
                    if !is_header_name(h) {
                        return Err(format!(
                            "dedup.key.header: {h:?} is not a header name (1-64 letters, digits and !#$%&'*+.^_`|~-)"
                        ));
                    }
                    DedupKey::Header {
                        header: h.to_ascii_lowercase(),
                    }
                }
                Some((name, Value::String(p))) if name == "json" => {
                    if !is_pointer(p) {
                        return Err(format!(
                            "dedup.key.json: {p:?} is not a JSON pointer such as \"/id\" or \"/event/id\" (RFC 6901, at most 256 characters)"
                        ));
                    }
                    DedupKey::Json { json: p.clone() }
                }
                Some((name, _)) if name == "header" || name == "json" => {
                    return Err(format!("dedup.key.{name}: expected a string"));
                }
                Some((name, _)) => return Err(format!("dedup.key.{name}: unknown key kind")),
                None => unreachable!("one entry"),
            },
            Some(other) => {
                return Err(format!(
                    "dedup.key: expected \"auto\", {{\"header\": NAME}} or {{\"json\": POINTER}}, got {other}"
                ));
            }
        };
        Ok(Self { window, key })
    }

    /// The window as a duration.
    pub fn window(&self) -> chrono::Duration {
        parse_duration(&self.window)
            .ok()
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .unwrap_or(chrono::Duration::hours(24))
    }

    /// The delivery id of a request, if it carries one. `scheme` is the
    /// webhook's verification scheme, for `auto`: Standard Webhooks'
    /// `webhook-id`, GitHub's `X-GitHub-Delivery`, Shopify's
    /// `X-Shopify-Webhook-Id`, the `id` of a Stripe event, the `event_id` of
    /// a Slack Events API callback; without a scheme (or with `hmac`), the
    /// `webhook-id` header, the most common convention.
    pub fn key_of(
        &self,
        scheme: Option<VerifyScheme>,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Option<String> {
        let from_body = |pointer: &str| {
            let v: Value = serde_json::from_slice(body).ok()?;
            match v.pointer(pointer)? {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        };
        let key = match &self.key {
            DedupKey::Header { header: h } => header(headers, h).map(str::to_string),
            DedupKey::Json { json } => from_body(json),
            DedupKey::Auto(_) => match scheme {
                Some(VerifyScheme::Github) => {
                    header(headers, "x-github-delivery").map(str::to_string)
                }
                Some(VerifyScheme::Shopify) => {
                    header(headers, "x-shopify-webhook-id").map(str::to_string)
                }
                Some(VerifyScheme::Stripe) => from_body("/id"),
                Some(VerifyScheme::Slack) => from_body("/event_id"),
                Some(VerifyScheme::Standard | VerifyScheme::Hmac) | None => {
                    header(headers, "webhook-id").map(str::to_string)
                }
            },
        };
        key.filter(|k| !k.is_empty())
    }
}

/// What [`Deduplicator::claim`] found.
pub enum Claim {
    /// The id was answered within the window: replay this.
    Replay(DedupRecord),
    /// The caller runs the handler, and tells the others through this.
    Lead(Leader),
}

/// A webhook id and a delivery id.
type Slot = (String, String);

/// Requests in flight per (webhook, delivery id), and the stored answers.
pub struct Deduplicator {
    store: Store,
    in_flight: Mutex<HashMap<Slot, Arc<Notify>>>,
    /// Claims waiting for another request's answer (tests look at it).
    #[cfg(test)]
    waiting: std::sync::atomic::AtomicUsize,
}

impl Deduplicator {
    /// Deduplicates against the answers in `store`.
    pub fn new(store: Store) -> Arc<Self> {
        Arc::new(Self {
            store,
            in_flight: Mutex::default(),
            #[cfg(test)]
            waiting: Default::default(),
        })
    }

    /// Claims delivery id `key` of webhook `webhook_id`: a remembered
    /// answer younger than `window`, or the lead. While another request
    /// with the same id runs, waits for it to finish first.
    pub async fn claim(
        self: &Arc<Self>,
        webhook_id: &str,
        key: &str,
        window: chrono::Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<Claim> {
        let slot: Slot = (webhook_id.to_string(), key.to_string());
        loop {
            let leader = {
                let mut in_flight = lock(&self.in_flight);
                match in_flight.get(&slot) {
                    // Registered before the lock is released, so the
                    // leader's notification cannot be missed.
                    Some(running) => Err(running.clone().notified_owned()),
                    None => {
                        let notify = Arc::new(Notify::new());
                        in_flight.insert(slot.clone(), notify.clone());
                        Ok(Leader {
                            dedup: self.clone(),
                            slot: slot.clone(),
                            notify,
                            window,
                        })
                    }
                }
            };
            match leader {
                Err(wait) => {
                    #[cfg(test)]
                    self.waiting
                        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    wait.await
                }
                // In flight now: a duplicate arriving meanwhile waits for
                // this answer (dropping the leader wakes it).
                Ok(leader) => {
                    return match self.store.dedup_get(webhook_id, key).await? {
                        Some(record) if now - record.at < window => Ok(Claim::Replay(record)),
                        _ => Ok(Claim::Lead(leader)),
                    };
                }
            }
        }
    }
}

/// The request running the handler for a delivery id. Dropping it (the
/// answer was not 2xx, or the request went away) lets the next waiting
/// duplicate run the handler itself.
pub struct Leader {
    dedup: Arc<Deduplicator>,
    slot: Slot,
    notify: Arc<Notify>,
    window: chrono::Duration,
}

impl Leader {
    /// Remembers a 2xx answer for the window; the waiting duplicates get it.
    pub async fn remember(
        self,
        invocation_id: &str,
        status: u16,
        content_type: Option<String>,
        body: &[u8],
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let record = DedupRecord {
            invocation_id: invocation_id.to_string(),
            at,
            expires_at: at + self.window,
            status,
            content_type,
            body: body[..body.len().min(DEDUP_BODY_BYTES)].to_vec(),
        };
        let (webhook_id, key) = &self.slot;
        self.dedup.store.dedup_put(webhook_id, key, &record).await
    }
}

impl Drop for Leader {
    fn drop(&mut self) {
        lock(&self.dedup.in_flight).remove(&self.slot);
        self.notify.notify_waiters();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys() {
        let auto = DedupConfig::from_json(&json!({})).unwrap();
        assert_eq!(auto.window, "24h");
        let h = vec![("x-github-delivery".to_string(), "d1".to_string())];
        assert_eq!(
            auto.key_of(Some(VerifyScheme::Github), &h, b""),
            Some("d1".into())
        );
        assert_eq!(auto.key_of(None, &h, b""), None);
        assert_eq!(
            auto.key_of(Some(VerifyScheme::Stripe), &[], br#"{"id":"evt_1"}"#),
            Some("evt_1".into())
        );
        let json_key =
            DedupConfig::from_json(&json!({"key": {"json": "/a~1b/0"}, "window": "1h"})).unwrap();
        assert_eq!(
            json_key.key_of(None, &[], br#"{"a/b":[7]}"#),
            Some("7".into())
        );
        assert_eq!(json_key.key_of(None, &[], b"not json"), None);
    }

    #[test]
    fn refusals_name_the_field() {
        let err = |v: Value| DedupConfig::from_json(&v).unwrap_err();
        assert!(err(json!({"window": "1 day"})).starts_with("dedup.window:"));
        assert!(err(json!({"key": "manual"})).starts_with("dedup.key:"));
        assert!(err(json!({"key": {"json": "id"}})).starts_with("dedup.key.json:"));
        assert!(err(json!({"key": {"json": "/a~2"}})).starts_with("dedup.key.json:"));
        assert!(err(json!({"key": {"header": "a b"}})).starts_with("dedup.key.header:"));
        assert!(err(json!({"key": {"cookie": "a"}})).starts_with("dedup.key.cookie:"));
        assert!(err(json!({"key": {"header": "a", "json": "/a"}})).starts_with("dedup.key:"));
        assert!(err(json!({"ttl": "1h"})).starts_with("dedup.ttl:"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_claims_have_one_leader() {
        let dir = tempfile::tempdir().unwrap();
        let dedup = Deduplicator::new(crate::store::open_sled(dir.path()).unwrap());
        let now = Utc::now();
        let window = chrono::Duration::hours(1);
        let Claim::Lead(leader) = dedup.claim("wh_a", "k", window, now).await.unwrap() else {
            panic!("the first claim leads");
        };
        let waiter = {
            let dedup = dedup.clone();
            tokio::spawn(async move { dedup.claim("wh_a", "k", window, now).await.unwrap() })
        };
        // The duplicate is waiting for the first (not leading on its own).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while dedup.waiting.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the duplicate never waited"
            );
            tokio::task::yield_now().await;
        }
        assert!(!waiter.is_finished(), "a duplicate waits for the first");
        leader
            .remember("inv_1", 200, Some("text/plain".into()), b"ok", now)
            .await
            .unwrap();
        match waiter.await.unwrap() {
            Claim::Replay(r) => assert_eq!((r.status, r.body.as_slice()), (200, &b"ok"[..])),
            Claim::Lead(_) => panic!("the duplicate must get the first answer"),
        }
        // Another webhook, or past the window: no replay.
        assert!(matches!(
            dedup.claim("wh_b", "k", window, now).await.unwrap(),
            Claim::Lead(_)
        ));
        let later = now + window;
        assert!(matches!(
            dedup.claim("wh_a", "k", window, later).await.unwrap(),
            Claim::Lead(_)
        ));
    }
}

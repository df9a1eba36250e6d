//! Outbound delivery: endpoints, accepting events and fanning them out to
//! matching endpoints as durable deliveries, and the [`worker`] that sends
//! them, signed, with retries.
//!
//! An event and its deliveries are written in one transaction and flushed
//! before the API answers; events published by handlers are marked for
//! fan-out in the same transaction as the event, so a crash loses neither.

pub mod guard;
pub mod headers;
pub mod http;
pub mod matching;
pub mod worker;

use crate::config::DeliveryConfig;
use crate::signing::{self, SignatureScheme};
use crate::store::{
    DeliveryOrder, DeliveryRecord, DeliveryStatus, EndpointRecord, EventRecord, RateLimit,
    RetiredSecret, Store, StoreError, ids,
};
use chrono::{DateTime, Utc};
use guard::AddressGuard;
use matching::filter::{Envelope, Filter};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::Notify;

/// Errors of outbound operations; the API maps each to one status.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// Unknown endpoint or delivery.
    #[error("{0}")]
    NotFound(String),
    /// Invalid input.
    #[error("{0}")]
    Invalid(String),
    /// The endpoint URL is refused by the address guard.
    #[error("{0}")]
    NotAllowed(String),
    /// The request contradicts the endpoint as it is (a shared secret for
    /// an endpoint that signs with a key pair).
    #[error("{0}")]
    Conflict(String),
    /// The workspace is at its endpoint quota.
    #[error("{0}")]
    Quota(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T> = std::result::Result<T, OutboundError>;

/// Fields of a new endpoint.
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    /// The workspace it belongs to.
    pub workspace_id: String,
    /// The workspace's endpoint quota, if any.
    pub max_endpoints: Option<usize>,
    /// Delivery URL.
    pub url: String,
    /// Event patterns.
    pub events: Vec<String>,
    /// Data filters.
    pub filters: Map<String, Value>,
    /// Operator filter on the envelope (checked here).
    pub filter: Option<Value>,
    /// Attempts per second, if limited (checked here).
    pub rate_limit: Option<RateLimit>,
    /// Delivery order.
    pub ordering: DeliveryOrder,
    /// Free text.
    pub description: String,
    /// Start active.
    pub active: bool,
    /// Static headers added to every delivery.
    pub headers: BTreeMap<String, String>,
    /// Secret to use (a `whsk_` key for `standard-ed25519`); generated when `None`.
    pub secret: Option<String>,
    /// Signature scheme.
    pub signature: SignatureScheme,
    /// Transform module (checked by the caller: a transform of the workspace).
    pub transform: Option<String>,
}

/// A partial endpoint update; `None` leaves a field unchanged.
#[derive(Debug, Clone, Default)]
pub struct EndpointPatch {
    /// New URL.
    pub url: Option<String>,
    /// New patterns.
    pub events: Option<Vec<String>>,
    /// New filters.
    pub filters: Option<Map<String, Value>>,
    /// New operator filter; `Some(None)` removes it.
    pub filter: Option<Option<Value>>,
    /// New rate limit; `Some(None)` removes it.
    pub rate_limit: Option<Option<RateLimit>>,
    /// New delivery order.
    pub ordering: Option<DeliveryOrder>,
    /// New description.
    pub description: Option<String>,
    /// Enable (also clears an automatic disable) or disable.
    pub active: Option<bool>,
    /// New custom headers (replacing all of them; empty removes them).
    pub headers: Option<BTreeMap<String, String>>,
    /// New scheme. Switching between a shared-secret scheme and
    /// `standard-ed25519` generates a secret of the new kind.
    pub signature: Option<SignatureScheme>,
    /// New transform; `Some(None)` removes it.
    pub transform: Option<Option<String>>,
}

/// The result of accepting an event.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The event id (the first event's, for a repeated idempotency key).
    pub event_id: String,
    /// Deliveries created (0 for a repeat).
    pub deliveries: usize,
    /// Whether the idempotency key had been seen.
    pub duplicate: bool,
}

/// Endpoints and event acceptance.
pub struct Outbound {
    store: Store,
    guard: AddressGuard,
    config: DeliveryConfig,
    /// Wakes the worker when deliveries are queued.
    wake: Arc<Notify>,
    /// Serializes read-modify-write of endpoint records.
    endpoint_lock: tokio::sync::Mutex<()>,
    /// Every endpoint as last read, for fan-out and sending; replaced after
    /// each endpoint change.
    cache: std::sync::RwLock<EndpointCache>,
    /// Deliveries being attempted or requeued right now, and the manual
    /// retries asked for meanwhile.
    claims: std::sync::Mutex<Claims>,
    /// Manual retries so far (see [`Outbound::requeues`]).
    requeued: std::sync::atomic::AtomicU64,
    /// Where endpoints' transform modules are found (set once at start).
    registry: std::sync::OnceLock<Arc<crate::registry::Registry>>,
}

#[derive(Default)]
struct Claims {
    in_flight: std::collections::HashSet<String>,
    retry_requested: std::collections::HashSet<String>,
}

#[derive(Default)]
struct EndpointCache {
    /// Bumped by every change, so a read that raced one is not kept.
    generation: u64,
    endpoints: Option<Arc<Vec<CachedEndpoint>>>,
}

/// An endpoint as fan-out uses it: the record, and its operator filter
/// compiled once per cache fill rather than once per event.
struct CachedEndpoint {
    record: EndpointRecord,
    filter: Option<Filter>,
}

impl CachedEndpoint {
    fn new(record: EndpointRecord) -> Self {
        let filter = record.filter.as_ref().map(|f| {
            Filter::compile(f).unwrap_or_else(|e| {
                // Filters are checked when set, so only a record written by
                // another version gets here: send it nothing rather than
                // everything.
                tracing::warn!(endpoint = %record.id, error = %e, "stored filter refused; the endpoint gets no events");
                Filter::nothing()
            })
        });
        Self { record, filter }
    }
}

impl Outbound {
    /// Outbound over `store` with `config`.
    pub fn new(store: Store, config: DeliveryConfig) -> Self {
        Self {
            guard: AddressGuard::new(&config.allowlist),
            store,
            config,
            wake: Arc::new(Notify::new()),
            endpoint_lock: tokio::sync::Mutex::new(()),
            cache: Default::default(),
            claims: Default::default(),
            requeued: Default::default(),
            registry: Default::default(),
        }
    }

    /// Every endpoint, from the cache.
    async fn cached_endpoints(&self) -> Result<Arc<Vec<CachedEndpoint>>> {
        let generation = {
            let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
            if let Some(all) = &cache.endpoints {
                return Ok(all.clone());
            }
            cache.generation
        };
        let all: Arc<Vec<_>> = Arc::new(
            self.store
                .list_endpoints()
                .await?
                .into_iter()
                .map(CachedEndpoint::new)
                .collect(),
        );
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        if cache.generation == generation {
            cache.endpoints = Some(all.clone());
        }
        Ok(all)
    }

    /// The endpoint `id`, from the cache.
    pub(crate) async fn cached_endpoint(&self, id: &str) -> Result<Option<EndpointRecord>> {
        self.with_cached_endpoint(id, EndpointRecord::clone).await
    }

    /// `read` applied to the cached endpoint `id`, without copying it.
    pub(crate) async fn with_cached_endpoint<T>(
        &self,
        id: &str,
        read: impl FnOnce(&EndpointRecord) -> T,
    ) -> Result<Option<T>> {
        Ok(self
            .cached_endpoints()
            .await?
            .iter()
            .find(|e| e.record.id == id)
            .map(|e| read(&e.record)))
    }

    /// Forgets the cached endpoints after a change.
    pub(crate) fn endpoints_changed(&self) {
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        cache.generation += 1;
        cache.endpoints = None;
    }

    /// Finds endpoints' transforms in `registry`'s modules.
    pub fn set_registry(&self, registry: Arc<crate::registry::Registry>) {
        let _ = self.registry.set(registry);
    }

    /// The registry holding transform modules, once set.
    pub(crate) fn registry(&self) -> Option<&Arc<crate::registry::Registry>> {
        self.registry.get()
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The address guard.
    pub fn guard(&self) -> &AddressGuard {
        &self.guard
    }

    /// Delivery settings.
    pub fn config(&self) -> &DeliveryConfig {
        &self.config
    }

    /// Wakes the worker (new deliveries, or a freed slot).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub(crate) fn wake_handle(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Every endpoint, oldest first.
    pub async fn endpoints(&self) -> Result<Vec<EndpointRecord>> {
        Ok(self.store.list_endpoints().await?)
    }

    /// The endpoint `id`.
    pub async fn endpoint(&self, id: &str) -> Result<EndpointRecord> {
        self.store
            .get_endpoint(id)
            .await?
            .ok_or_else(|| OutboundError::NotFound(format!("no endpoint {id:?}")))
    }

    /// Creates an endpoint after checking its URL, patterns, filter and secret.
    pub async fn create_endpoint(&self, new: NewEndpoint) -> Result<EndpointRecord> {
        matching::validate_patterns(&new.events).map_err(OutboundError::Invalid)?;
        if let Some(f) = &new.filter {
            check_filter(f)?;
        }
        if let Some(r) = &new.rate_limit {
            check_rate_limit(r)?;
        }
        headers::check(&new.headers).map_err(OutboundError::Invalid)?;
        let secret = match new.secret {
            Some(s) => check_secret(new.signature, s).map_err(OutboundError::Invalid)?,
            None => new.signature.generate_secret(),
        };
        let url = self.check_url(&new.url).await?;
        // Counted and written under the endpoint lock, so that concurrent
        // creations cannot pass the quota together.
        let _lock = self.endpoint_lock.lock().await;
        if let Some(max) = new.max_endpoints {
            let count = self
                .cached_endpoints()
                .await?
                .iter()
                .filter(|e| e.record.workspace_id == new.workspace_id)
                .count();
            if count >= max {
                return Err(OutboundError::Quota(format!(
                    "workspace {} has reached its quota of {max} endpoint(s)",
                    new.workspace_id
                )));
            }
        }
        let now = Utc::now();
        let record = EndpointRecord {
            transform: new.transform,
            workspace_id: new.workspace_id,
            id: ids::new("ep").0,
            url,
            events: new.events,
            filters: new.filters,
            filter: new.filter,
            rate_limit: new.rate_limit,
            ordering: new.ordering,
            description: new.description,
            active: new.active,
            headers: new.headers,
            secret,
            retired_secrets: Vec::new(),
            signature: new.signature,
            disabled_reason: None,
            failing_since: None,
            created_at: now,
            updated_at: now,
        };
        self.store.put_endpoint(&record).await?;
        self.endpoints_changed();
        Ok(record)
    }

    /// Applies `patch` to endpoint `id`.
    pub async fn update_endpoint(&self, id: &str, patch: EndpointPatch) -> Result<EndpointRecord> {
        let url = match &patch.url {
            Some(u) => Some(self.check_url(u).await?),
            None => None,
        };
        if let Some(events) = &patch.events {
            matching::validate_patterns(events).map_err(OutboundError::Invalid)?;
        }
        if let Some(Some(f)) = &patch.filter {
            check_filter(f)?;
        }
        if let Some(Some(r)) = &patch.rate_limit {
            check_rate_limit(r)?;
        }
        if let Some(h) = &patch.headers {
            headers::check(h).map_err(OutboundError::Invalid)?;
        }
        let _guard = self.endpoint_lock.lock().await;
        let mut ep = self.endpoint(id).await?;
        if let Some(u) = url {
            ep.url = u;
        }
        if let Some(e) = patch.events {
            ep.events = e;
        }
        if let Some(f) = patch.filters {
            ep.filters = f;
        }
        if let Some(f) = patch.filter {
            ep.filter = f;
        }
        if let Some(r) = patch.rate_limit {
            ep.rate_limit = r;
        }
        if let Some(o) = patch.ordering {
            ep.ordering = o;
        }
        if let Some(d) = patch.description {
            ep.description = d;
        }
        if let Some(t) = patch.transform {
            ep.transform = t;
        }
        if let Some(h) = patch.headers {
            ep.headers = h;
        }
        if let Some(s) = patch.signature {
            // The old secret cannot sign for the new scheme: the new one
            // starts with a secret of its kind, and nothing else signs.
            if s.uses_key_pair() != ep.signature.uses_key_pair() {
                ep.secret = s.generate_secret();
                ep.retired_secrets.clear();
            }
            ep.signature = s;
        }
        let was_active = ep.active;
        if let Some(active) = patch.active {
            ep.active = active;
            if active {
                ep.disabled_reason = None;
                ep.failing_since = None;
            }
        }
        ep.updated_at = Utc::now();
        self.store.put_endpoint(&ep).await?;
        self.endpoints_changed();
        match (was_active, ep.active) {
            (true, false) => self.endpoint_disabled(&ep, "operator").await,
            (false, true) => {
                self.operational(
                    &ep.workspace_id,
                    "hookhost.endpoint.enabled",
                    serde_json::json!({"endpoint_id": ep.id, "url": ep.url}),
                )
                .await
            }
            _ => {}
        }
        Ok(ep)
    }

    /// Deletes endpoint `id`; its pending deliveries fail when next due.
    pub async fn delete_endpoint(&self, id: &str) -> Result<()> {
        let _guard = self.endpoint_lock.lock().await;
        let deleted = self.store.delete_endpoint(id).await?;
        self.endpoints_changed();
        if !deleted {
            return Err(OutboundError::NotFound(format!("no endpoint {id:?}")));
        }
        Ok(())
    }

    /// Replaces the secret of endpoint `id` (with `secret`, or a generated
    /// one of the endpoint's kind); the old one keeps signing for the grace
    /// period.
    pub async fn rotate_secret(&self, id: &str, secret: Option<String>) -> Result<EndpointRecord> {
        let _guard = self.endpoint_lock.lock().await;
        let mut ep = self.endpoint(id).await?;
        let new_secret = match secret {
            Some(s) => check_secret(ep.signature, s).map_err(|e| {
                // Any secret of the documented form is a good shared
                // secret; only the endpoint's scheme can refuse it.
                if ep.signature.uses_key_pair() {
                    OutboundError::Conflict(e)
                } else {
                    OutboundError::Invalid(e)
                }
            })?,
            None => ep.signature.generate_secret(),
        };
        let now = Utc::now();
        let grace = chrono::Duration::from_std(self.config.secret_grace).unwrap_or_default();
        ep.retired_secrets.retain(|r| r.expires_at > now);
        ep.retired_secrets.insert(
            0,
            RetiredSecret {
                secret: std::mem::replace(&mut ep.secret, new_secret),
                expires_at: now + grace,
            },
        );
        ep.updated_at = now;
        self.store.put_endpoint(&ep).await?;
        self.endpoints_changed();
        Ok(ep)
    }

    /// Accepts an event posted to the API: written with one delivery per
    /// matching endpoint and on disk before this returns.
    pub async fn send_event(
        &self,
        ws: &str,
        event_type: String,
        data: Box<RawValue>,
        idempotency_key: Option<String>,
    ) -> Result<Accepted> {
        crate::names::check_user_event_type(&event_type).map_err(OutboundError::Invalid)?;
        let idempotency_key = idempotency_key.map(|k| crate::store::idempotency_key(ws, &k));
        let event = EventRecord {
            workspace_id: ws.to_string(),
            id: ids::new("evt").0,
            event_type,
            data,
            created_at: Utc::now(),
            source: None,
        };
        self.accept(event, None, idempotency_key.as_deref()).await
    }

    /// Writes `event` with deliveries to the matching endpoints (or only to
    /// `only`), durably.
    pub(crate) async fn accept(
        &self,
        event: EventRecord,
        only: Option<&EndpointRecord>,
        idempotency_key: Option<&str>,
    ) -> Result<Accepted> {
        let deliveries = match only {
            Some(ep) => vec![new_delivery(&event, ep)],
            None => self.plan(&event).await?,
        };
        match self
            .store
            .accept_event(&event, &deliveries, idempotency_key)
            .await?
        {
            Some(first) => Ok(Accepted {
                event_id: first,
                deliveries: 0,
                duplicate: true,
            }),
            None => {
                if !deliveries.is_empty() {
                    self.wake();
                }
                Ok(Accepted {
                    event_id: event.id,
                    deliveries: deliveries.len(),
                    duplicate: false,
                })
            }
        }
    }

    /// Deliveries of `event` to every active endpoint it matches.
    pub(crate) async fn plan(&self, event: &EventRecord) -> Result<Vec<DeliveryRecord>> {
        let endpoints = self.cached_endpoints().await?;
        let data: Value = serde_json::from_str(event.data.get()).unwrap_or(Value::Null);
        // Made once, and only if some endpoint has an operator filter.
        let envelope = std::cell::OnceCell::new();
        Ok(endpoints
            .iter()
            .filter(|ep| {
                ep.record.workspace_id == event.workspace_id
                    && ep.record.active
                    && matching::type_matches(&ep.record.events, &event.event_type)
                    && matching::filters_match(&ep.record.filters, &data)
                    && ep.filter.as_ref().is_none_or(|f| {
                        f.matches(envelope.get_or_init(|| Envelope::new(&event.event_type, &data)))
                    })
            })
            .map(|ep| new_delivery(event, &ep.record))
            .collect())
    }

    /// Claims delivery `id` for an attempt or a requeue; `false` when
    /// something else holds it.
    pub(crate) fn claim(&self, id: &str) -> bool {
        self.claims().in_flight.insert(id.to_string())
    }

    /// Whether delivery `id` is claimed.
    pub(crate) fn is_claimed(&self, id: &str) -> bool {
        self.claims().in_flight.contains(id)
    }

    /// Releases the claim on delivery `id`; `true` when a manual retry was
    /// asked for while it was held (the caller then performs it).
    pub(crate) fn release(&self, id: &str) -> bool {
        let mut claims = self.claims();
        claims.in_flight.remove(id);
        claims.retry_requested.remove(id)
    }

    fn claims(&self) -> std::sync::MutexGuard<'_, Claims> {
        self.claims.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues delivery `id` again, now, whatever its state.
    ///
    /// While an attempt of it is in flight, the retry is remembered and
    /// carried out as soon as that attempt is recorded (so it is neither
    /// lost nor a second queue entry beside the attempt's own schedule);
    /// the record answered is the delivery as it stands.
    pub async fn retry(&self, id: &str) -> Result<DeliveryRecord> {
        let in_flight = {
            let mut claims = self.claims();
            let in_flight = claims.in_flight.contains(id);
            if in_flight {
                claims.retry_requested.insert(id.to_string());
            } else {
                claims.in_flight.insert(id.to_string());
            }
            in_flight
        };
        if in_flight {
            return self
                .store
                .get_delivery(id)
                .await?
                .ok_or_else(|| OutboundError::NotFound(format!("no delivery {id:?}")));
        }
        // Released however this ends, a request cancelled mid-way included.
        let _claim = ClaimGuard::new(self, id);
        self.requeue_now(id).await
    }

    /// Deliveries put back in line by a manual retry since start: a FIFO
    /// line looks for its head from the start again when this changes.
    pub(crate) fn requeues(&self) -> u64 {
        self.requeued.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Moves delivery `id` to the front of the queue (the caller holds its claim).
    async fn requeue_now(&self, id: &str) -> Result<DeliveryRecord> {
        let mut d = self
            .store
            .get_delivery(id)
            .await?
            .ok_or_else(|| OutboundError::NotFound(format!("no delivery {id:?}")))?;
        let old_due = d.next_attempt_at;
        d.status = DeliveryStatus::Pending;
        d.next_attempt_at = Some(Utc::now());
        d.updated_at = Utc::now();
        self.store.requeue_delivery(&d, old_due).await?;
        self.requeued
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.wake();
        Ok(d)
    }

    /// Queues again every failed delivery of endpoint `id` created since `since`.
    pub async fn recover(&self, id: &str, since: DateTime<Utc>) -> Result<usize> {
        self.endpoint(id).await?;
        let mut n = 0;
        let mut cursor: Option<String> = None;
        let filter = crate::store::DeliveryFilter {
            workspace_id: None,
            endpoint_id: Some(id.to_string()),
            status: Some(DeliveryStatus::Failed),
            event_id: None,
        };
        loop {
            let page = self
                .store
                .list_deliveries(&filter, cursor.as_deref(), 500)
                .await?;
            for d in &page.data {
                if d.created_at >= since {
                    self.retry(&d.id).await?;
                    n += 1;
                }
            }
            match page.next_cursor {
                Some(c) if page.data.last().is_some_and(|d| d.created_at >= since) => {
                    cursor = Some(c)
                }
                _ => break,
            }
        }
        Ok(n)
    }

    /// Records the result of an attempt on its endpoint: a success ends a
    /// failing streak; a 410, or failing for longer than the configured
    /// time, disables the endpoint.
    pub(crate) async fn note_attempt(
        &self,
        endpoint_id: &str,
        success: bool,
        gone: bool,
    ) -> Result<()> {
        // The common cases change nothing: skip the lock and the read.
        if !gone && let Some(ep) = self.cached_endpoint(endpoint_id).await? {
            let unchanged = match ep.failing_since {
                None => success,
                Some(since) => {
                    !success
                        && (Utc::now() - since).to_std().unwrap_or_default()
                            < self.config.disable_after
                }
            };
            if unchanged {
                return Ok(());
            }
        }
        let _guard = self.endpoint_lock.lock().await;
        let Some(mut ep) = self.store.get_endpoint(endpoint_id).await? else {
            return Ok(());
        };
        let now = Utc::now();
        let was_active = ep.active;
        let mut reason = "failing";
        let changed = if success {
            ep.failing_since.take().is_some()
        } else if gone {
            reason = "gone";
            if ep.active {
                metrics::counter!(crate::metrics::ENDPOINTS_DISABLED_TOTAL, "reason" => "gone")
                    .increment(1);
            }
            ep.active = false;
            ep.disabled_reason = Some("the endpoint answered 410 Gone".into());
            true
        } else {
            match ep.failing_since {
                None => {
                    ep.failing_since = Some(now);
                    true
                }
                Some(since)
                    if (now - since).to_std().unwrap_or_default() >= self.config.disable_after
                        && ep.active =>
                {
                    metrics::counter!(crate::metrics::ENDPOINTS_DISABLED_TOTAL, "reason" => "failing")
                        .increment(1);
                    ep.active = false;
                    ep.disabled_reason = Some(format!(
                        "failing without a success since {}",
                        since.to_rfc3339()
                    ));
                    true
                }
                Some(_) => false,
            }
        };
        if changed {
            if !ep.active {
                tracing::warn!(endpoint = %ep.id, reason = ?ep.disabled_reason, "endpoint disabled");
            }
            ep.updated_at = now;
            self.store.put_endpoint(&ep).await?;
            self.endpoints_changed();
            if was_active && !ep.active {
                self.endpoint_disabled(&ep, reason).await;
            }
        }
        Ok(())
    }

    /// Publishes `hookhost.endpoint.disabled` for `ep` (reason `gone`,
    /// `failing` or `operator`).
    async fn endpoint_disabled(&self, ep: &EndpointRecord, reason: &str) {
        let data = serde_json::json!({
            "endpoint_id": ep.id,
            "url": ep.url,
            "reason": reason,
            "message": ep.disabled_reason,
        });
        self.operational(&ep.workspace_id, "hookhost.endpoint.disabled", data)
            .await;
    }

    /// Publishes one of hookhost's own operational events (type under
    /// `hookhost.`) to the endpoints of workspace `ws` subscribed to it,
    /// like any event.
    /// Failing to store it is logged, never the caller's error: the change
    /// it reports has happened.
    pub(crate) async fn operational(&self, ws: &str, event_type: &str, data: Value) {
        let event = EventRecord {
            workspace_id: ws.to_string(),
            id: ids::new("evt").0,
            event_type: event_type.to_string(),
            data: RawValue::from_string(data.to_string()).expect("JSON serializes"),
            created_at: Utc::now(),
            source: None,
        };
        if let Err(e) = self.accept(event, None, None).await {
            tracing::error!(event_type, error = %e, "an operational event could not be stored");
        }
    }

    async fn check_url(&self, url: &str) -> Result<String> {
        http::check_url(&self.guard, url)
            .await
            .map(|u| u.to_string())
            .map_err(OutboundError::NotAllowed)
    }
}

/// Releases a claim when dropped, so that a request cancelled while it
/// holds one (the client went away) does not leave the delivery claimed
/// for good.
pub(crate) struct ClaimGuard<'a> {
    outbound: &'a Outbound,
    id: Option<String>,
}

impl<'a> ClaimGuard<'a> {
    /// Guards the claim on delivery `id`, already taken.
    pub(crate) fn new(outbound: &'a Outbound, id: &str) -> Self {
        Self {
            outbound,
            id: Some(id.to_string()),
        }
    }

    /// Leaves the release to the caller.
    pub(crate) fn disarm(mut self) {
        self.id = None;
    }
}

impl Drop for ClaimGuard<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.outbound.release(&id);
        }
    }
}

/// Checks a rate limit: 1–10000 per second, a burst of 0–10000.
fn check_rate_limit(r: &RateLimit) -> Result<()> {
    if !(1..=RateLimit::MAX).contains(&r.per_second) || r.burst > RateLimit::MAX {
        return Err(OutboundError::Invalid(format!(
            "rate_limit: per_second must be 1-{max} and burst 0-{max}",
            max = RateLimit::MAX
        )));
    }
    Ok(())
}

pub(crate) fn new_delivery(event: &EventRecord, ep: &EndpointRecord) -> DeliveryRecord {
    DeliveryRecord {
        transformed: None,
        workspace_id: event.workspace_id.clone(),
        id: ids::new("dlv").0,
        event_id: event.id.clone(),
        event_type: event.event_type.clone(),
        endpoint_id: ep.id.clone(),
        status: DeliveryStatus::Pending,
        attempts: 0,
        next_attempt_at: Some(event.created_at),
        last_status_code: None,
        last_error: None,
        created_at: event.created_at,
        updated_at: event.created_at,
    }
}

fn check_filter(filter: &Value) -> Result<()> {
    Filter::compile(filter)
        .map(drop)
        .map_err(|e| OutboundError::Invalid(e.to_string()))
}

/// Checks a client's secret for `scheme`: a `whsk_` key for a key-pair
/// scheme, 16-256 characters without spaces for the others.
fn check_secret(scheme: SignatureScheme, secret: String) -> std::result::Result<String, String> {
    if scheme.uses_key_pair() {
        if signing::signing_key(&secret).is_none() {
            return Err(
                "standard-ed25519 endpoints sign with an Ed25519 key: the secret must be \
                 whsk_ + base64 of 32 bytes (or absent, to generate one)"
                    .into(),
            );
        }
    } else if secret.len() < 16 || secret.len() > 256 || secret.chars().any(char::is_whitespace) {
        return Err("secret must be 16-256 characters without spaces".into());
    }
    Ok(secret)
}

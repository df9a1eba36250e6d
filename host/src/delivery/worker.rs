//! The delivery worker: finds due deliveries, sends them signed, records
//! each attempt and schedules the next one.
//!
//! A queued delivery stays queued until its attempt is recorded, so a crash
//! mid-attempt leaves it queued: at-least-once delivery. The worker keeps
//! in memory which deliveries it has in flight; with several nodes on one
//! database, a lease in the store ([`crate::store::Backend::lease`]) keeps
//! the others off them, and a dead node's leases expire after
//! `--delivery-lease`.

use super::Outbound;
use crate::config::{ATTEMPT_BODY_BYTES, MAX_RETRY_AFTER, MAX_TRANSFORMED_BODY};
use crate::runtime::{Message, TransformOutcome};
use crate::signing;
use crate::store::{
    AttemptRecord, DeliveryOrder, DeliveryRecord, DeliveryStatus, DueDelivery, EndpointRecord,
    EventRecord, QueuePos, RateLimit, Store, TransformedMessage,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;

/// Longest sleep when nothing is due (new work wakes the worker at once).
const IDLE_POLL: Duration = Duration::from_secs(1);
/// Type of the events `test_send` sends. Test sends are diagnostics: they
/// neither wait in a FIFO line nor hold one up.
const TEST_EVENT_TYPE: &str = "webhook.test";

/// Where each FIFO endpoint's line was last seen to start.
#[derive(Default)]
struct FifoLines {
    /// Endpoint id → id of its head delivery.
    from: HashMap<String, String>,
    /// [`super::Outbound::requeues`] when `from` was last valid.
    requeues: u64,
}

/// Rate limits pace attempts this much slower than the nominal rate.
const RATE_MARGIN: f64 = 1.05;

/// Due deliveries examined per pass from the head of the queue (the
/// earliest due go first)...
const SCAN_HEAD: usize = 512;
/// ...and from where the previous pass stopped, so that entries behind a
/// long backlog of one busy endpoint are reached within a few passes.
const SCAN_ROTATING: usize = 2048;
/// Both are read a page at a time while slots are free: a page holds this
/// many entries per free slot (entries of busy endpoints are skipped)...
const PAGE_PER_SLOT: usize = 4;
/// ...and at least this many. A pass after one attempt ended reads a page
/// of 16, not the whole scan (on PostgreSQL each entry carries its
/// delivery and event).
const MIN_PAGE: usize = 16;
/// Head scans start this much before the first entry the previous one
/// found due...
const HEAD_MARGIN: Duration = Duration::from_millis(250);
/// ...except once this long after the last one that started at the very
/// head.
const FULL_SCAN_EVERY: Duration = Duration::from_secs(1);
/// Under load, a pass waits for this share of the global slots to be
/// free...
const GATHER_SHARE: usize = 8;
/// ...or this long, whichever comes first.
const GATHER_FOR: Duration = Duration::from_millis(3);

/// How a scan of the queue ended.
struct Scanned {
    /// Global slots remain free.
    slots_left: bool,
    /// The first entry read.
    first: Option<QueuePos>,
    /// The last entry read.
    last: Option<QueuePos>,
    /// The scan read the last due entry.
    reached_end: bool,
}

impl Scanned {
    /// Every slot was taken before the scan ended.
    fn stopped(first: Option<QueuePos>, last: Option<QueuePos>) -> Self {
        Self {
            slots_left: false,
            first,
            last,
            reached_end: false,
        }
    }
}

/// A delivery chosen for an attempt, with its claim (in
/// [`Outbound`]'s set) and its slots.
struct Picked {
    pos: QueuePos,
    delivery: DeliveryRecord,
    /// Its event, when the store read it with the queue entry.
    event: Option<EventRecord>,
    endpoint_permit: OwnedSemaphorePermit,
    global_permit: OwnedSemaphorePermit,
}

/// The body every endpoint receives.
#[derive(Serialize)]
struct Envelope<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    event_type: &'a str,
    created_at: DateTime<Utc>,
    data: &'a RawValue,
    /// The event's workspace, when it is not the default one.
    #[serde(skip_serializing_if = "Option::is_none")]
    workspace_id: Option<&'a str>,
}

/// Sends deliveries.
pub struct DeliveryWorker {
    outbound: Arc<Outbound>,
    client: reqwest::Client,
    /// Queue position where the next rotating scan starts.
    cursor: Mutex<Option<QueuePos>>,
    /// Where head scans start until the next full one: a little before the
    /// first entry the last full or floored head scan found due, and when
    /// the last full head scan ran.
    head_floor: Mutex<Option<(QueuePos, tokio::time::Instant)>>,
    /// Pace of the endpoints with a rate limit: when the next attempt is
    /// theoretically due (GCRA).
    paces: Mutex<HashMap<String, Instant>>,
    /// FIFO endpoints' lines: where the head was last found.
    lines: Mutex<FifoLines>,
    global: Arc<Semaphore>,
    per_endpoint: Mutex<HashMap<String, Arc<Semaphore>>>,
    attempts: Mutex<tokio::task::JoinSet<()>>,
}

impl DeliveryWorker {
    /// A worker for `outbound`.
    pub fn new(outbound: Arc<Outbound>) -> Arc<Self> {
        let config = outbound.config();
        Arc::new(Self {
            client: super::http::client(outbound.guard(), config.timeout, config.proxy.as_deref()),
            global: Arc::new(Semaphore::new(config.concurrency)),
            outbound,
            cursor: Mutex::new(None),
            head_floor: Mutex::new(None),
            paces: Mutex::new(HashMap::new()),
            lines: Mutex::new(FifoLines::default()),
            per_endpoint: Mutex::new(HashMap::new()),
            attempts: Mutex::new(tokio::task::JoinSet::new()),
        })
    }

    fn store(&self) -> &Store {
        self.outbound.store()
    }

    /// Runs until the task is aborted.
    pub async fn run(self: Arc<Self>) {
        let wake = self.outbound.wake_handle();
        loop {
            if let Err(e) = self.fan_out_published().await {
                tracing::error!(error = %e, "fan-out of published events failed");
            }
            let saturated = match self.clone().dispatch_due().await {
                Ok(saturated) => saturated,
                Err(e) => {
                    tracing::error!(error = %e, "reading the delivery queue failed");
                    false
                }
            };
            let sleep = match self.store().next_due().await {
                Ok(Some(at)) => (at - Utc::now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(IDLE_POLL),
                _ => IDLE_POLL,
            };
            // Something is due but every slot for it is busy: a finishing
            // attempt wakes us; the short floor avoids spinning.
            let sleep = sleep.max(Duration::from_millis(5));
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(sleep) => {}
            }
            if saturated {
                self.gather_slots().await;
            }
        }
    }

    /// Under load (the last pass ran out of slots), waits briefly for a
    /// few slots to be free rather than passing over the queue for each
    /// attempt that ends: a pass's reads and its lease transaction then
    /// serve several deliveries. Bounded by [`GATHER_FOR`], so an
    /// attempt never waits longer than that for its turn.
    async fn gather_slots(&self) {
        let want = (self.outbound.config().concurrency / GATHER_SHARE).max(1);
        let until = tokio::time::Instant::now() + GATHER_FOR;
        while self.global.available_permits() < want && tokio::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Turns events published by handlers into deliveries.
    async fn fan_out_published(&self) -> Result<(), super::OutboundError> {
        for event in self.store().pending_fanout(256).await? {
            let deliveries = self.outbound.plan(&event).await?;
            self.store().fan_out(&event.id, &deliveries).await?;
        }
        Ok(())
    }

    /// Starts attempts of due deliveries while slots are free. An endpoint
    /// at its concurrency limit is skipped for the rest of the pass without
    /// reading its deliveries, and the scan covers the head of the queue
    /// plus a window that moves on from pass to pass: one slow endpoint's
    /// backlog, however long, never holds up the others.
    /// `Ok(true)` when every global slot was taken before the scan ended.
    async fn dispatch_due(self: Arc<Self>) -> Result<bool, super::OutboundError> {
        let now = Utc::now();
        let mut busy: HashSet<String> = HashSet::new();
        let floor = self.head_floor();
        let head = self
            .dispatch_range(
                now,
                floor.as_ref().map(|f| f.0.clone()),
                SCAN_HEAD,
                &mut busy,
            )
            .await?;
        if let Some(first) = &head.first {
            let full_scan_at = floor.map_or_else(tokio::time::Instant::now, |f| f.1);
            *lock(&self.head_floor) = Some((first.earlier(HEAD_MARGIN), full_scan_at));
        }
        if !head.slots_left {
            return Ok(true);
        }
        let from = lock(&self.cursor).clone();
        let window = self
            .dispatch_range(now, from, SCAN_ROTATING, &mut busy)
            .await?;
        // Next pass: on from here, or from the start once the end was reached.
        *lock(&self.cursor) = if window.reached_end {
            None
        } else {
            window.last
        };
        Ok(!window.slots_left)
    }

    /// Where the head scan starts: a little before where the last one
    /// found its first due entry, or at the very head once a second has
    /// passed since the last full scan.
    ///
    /// On PostgreSQL the head of the due index holds the entries of
    /// deliveries attempted since the table was last vacuumed (dead row
    /// versions); a scan from the very head walks them all. Entries that
    /// turn up before the floor (an accept committed late, a lease that ran
    /// out) are found by the next full scan, within a second, or by the
    /// rotating scan.
    fn head_floor(&self) -> Option<(QueuePos, tokio::time::Instant)> {
        let floor = lock(&self.head_floor).clone();
        floor.filter(|(_, full_scan_at)| full_scan_at.elapsed() < FULL_SCAN_EVERY)
    }

    /// Starts attempts of the due deliveries after `from`, reading at most
    /// `max` entries, a page at a time while global slots are free.
    async fn dispatch_range(
        self: &Arc<Self>,
        now: DateTime<Utc>,
        mut from: Option<QueuePos>,
        max: usize,
        busy: &mut HashSet<String>,
    ) -> Result<Scanned, super::OutboundError> {
        let mut read = 0;
        let mut first = None;
        loop {
            let free = self.global.available_permits();
            if free == 0 {
                return Ok(Scanned::stopped(first, from));
            }
            let size = (free * PAGE_PER_SLOT).max(MIN_PAGE).min(max - read);
            let page = self
                .store()
                .due_deliveries(now, from.as_ref(), size)
                .await?;
            let n = page.len();
            read += n;
            if first.is_none() {
                first = page.first().map(|d| d.pos.clone());
            }
            if let Some(last) = page.last() {
                from = Some(last.pos.clone());
            }
            if !self.dispatch(page, busy).await? {
                return Ok(Scanned::stopped(first, from));
            }
            if n < size || read >= max {
                return Ok(Scanned {
                    slots_left: true,
                    first,
                    last: from,
                    reached_end: n < size,
                });
            }
        }
    }

    /// Starts what it can of `due`; `false` once every global slot is taken.
    /// Candidates are picked here, then leased together (one round trip to
    /// a shared database) and the attempts of those leased start.
    async fn dispatch(
        self: &Arc<Self>,
        due: Vec<DueDelivery>,
        busy: &mut HashSet<String>,
    ) -> Result<bool, super::OutboundError> {
        let mut picked = Vec::new();
        let more = self.pick(due, busy, &mut picked).await;
        // Leased even when picking stopped on an error, so that claims and
        // slots taken so far are released or used.
        let started = self.start(picked).await;
        let more = more?;
        started?;
        Ok(more)
    }

    /// Chooses from `due` the deliveries to attempt now, with their claims
    /// and slots, into `picked`; `false` once every global slot is taken.
    async fn pick(
        self: &Arc<Self>,
        due: Vec<DueDelivery>,
        busy: &mut HashSet<String>,
        picked: &mut Vec<Picked>,
    ) -> Result<bool, super::OutboundError> {
        for entry in due {
            if self.global.available_permits() == 0 {
                return Ok(false);
            }
            if entry.endpoint_id.as_ref().is_some_and(|e| busy.contains(e))
                || self.outbound.is_claimed(&entry.id)
            {
                continue;
            }
            let delivery = match entry.delivery {
                Some(d) => Some(d),
                None => self.store().get_delivery(&entry.id).await?,
            };
            let Some(delivery) = delivery else {
                self.store().drop_due(&entry.pos).await?;
                continue;
            };
            // The scan is a snapshot: an attempt that ended since moved the
            // delivery in the queue (or finished it). Its old entry is gone
            // or stale; sending now would run ahead of its retry schedule
            // and leave the new entry behind. Drop it and move on.
            if !entry.pos.is_current(&delivery) {
                self.store().drop_due(&entry.pos).await?;
                continue;
            }
            // Not the head of a FIFO line: skip it alone (the head may come
            // later in this scan, its retry being due after the others).
            let (ordering, rate_limit) = self
                .outbound
                .with_cached_endpoint(&delivery.endpoint_id, |ep| (ep.ordering, ep.rate_limit))
                .await?
                .unwrap_or_default();
            if ordering == DeliveryOrder::Fifo && !self.next_in_line(&delivery).await? {
                continue;
            }
            let Some(endpoint_permit) = self.endpoint_slot(&delivery.endpoint_id) else {
                busy.insert(delivery.endpoint_id.clone());
                continue;
            };
            let Ok(global_permit) = self.global.clone().try_acquire_owned() else {
                return Ok(false);
            };
            if !self.outbound.claim(&entry.id) {
                continue;
            }
            // The rate slot last: one taken is one attempt about to start
            // (unless another node leased the delivery meanwhile).
            let within = self.within_rate(&delivery.endpoint_id, rate_limit).await;
            if !matches!(within, Ok(true)) {
                self.unclaim(&entry.id);
                within?;
                busy.insert(delivery.endpoint_id.clone());
                continue;
            }
            picked.push(Picked {
                pos: entry.pos,
                delivery,
                event: entry.event,
                endpoint_permit,
                global_permit,
            });
        }
        Ok(true)
    }

    /// Leases `picked` in the store (another node may hold some, or their
    /// endpoint be at its concurrency on all nodes together) and starts the
    /// attempts of those leased; the others' claims and slots go back.
    async fn start(self: &Arc<Self>, picked: Vec<Picked>) -> Result<(), super::OutboundError> {
        if picked.is_empty() {
            return Ok(());
        }
        let wanted: Vec<_> = picked
            .iter()
            .map(|p| (p.pos.clone(), p.delivery.endpoint_id.clone()))
            .collect();
        let until = Utc::now()
            + chrono::Duration::from_std(self.outbound.config().lease).unwrap_or_default();
        let leased = match self
            .store()
            .lease(&wanted, self.outbound.config().endpoint_concurrency, until)
            .await
        {
            Ok(leased) => leased,
            Err(e) => {
                for p in &picked {
                    self.unclaim(&p.delivery.id);
                }
                return Err(e.into());
            }
        };
        let mut attempts = lock(&self.attempts);
        while attempts.try_join_next().is_some() {}
        for (p, leased) in picked.into_iter().zip(leased) {
            let id = p.delivery.id.clone();
            if !leased {
                self.unclaim(&id);
                continue;
            }
            let span = tracing::info_span!(
                "delivery_attempt",
                delivery_id = %id,
                endpoint_id = %p.delivery.endpoint_id,
                event_id = %p.delivery.event_id,
                attempt = p.delivery.attempts + 1,
            );
            let worker = self.clone();
            attempts.spawn(async move {
                let Picked {
                    pos,
                    delivery,
                    event,
                    endpoint_permit,
                    global_permit,
                } = p;
                if let Err(e) = worker
                    .attempt(Some(&pos), delivery, event, Some(endpoint_permit))
                    .instrument(span)
                    .await
                {
                    tracing::error!(delivery = %id, error = %e, "recording a delivery attempt failed");
                }
                drop(global_permit);
                worker.finish_claim(&id).await;
                worker.outbound.wake();
            });
        }
        Ok(())
    }

    /// Releases the claim on a delivery picked but not attempted, and
    /// carries out (in the background) a manual retry asked for meanwhile.
    fn unclaim(self: &Arc<Self>, id: &str) {
        if self.outbound.release(id) {
            let (worker, id) = (self.clone(), id.to_string());
            tokio::spawn(async move {
                if let Err(e) = worker.outbound.retry(&id).await {
                    tracing::error!(delivery = %id, error = %e, "a manual retry asked for during a dispatch failed");
                }
            });
        }
    }

    /// Releases the claim on delivery `id` and carries out a manual retry
    /// asked for while it was held.
    async fn finish_claim(&self, id: &str) {
        if self.outbound.release(id)
            && let Err(e) = self.outbound.retry(id).await
        {
            tracing::error!(delivery = %id, error = %e, "a manual retry asked for during an attempt failed");
        }
    }

    /// Whether `d`, of a FIFO endpoint, may be attempted: only the oldest
    /// pending delivery (the head of the line), and so one at a time. The
    /// line's position only moves forward (deliveries are created in key
    /// order), except after a manual retry, which may put an older one back.
    async fn next_in_line(&self, d: &DeliveryRecord) -> Result<bool, super::OutboundError> {
        if d.event_type == TEST_EVENT_TYPE {
            return Ok(true);
        }
        let requeues = self.outbound.requeues();
        let from = {
            let mut lines = lock(&self.lines);
            if lines.requeues != requeues {
                lines.requeues = requeues;
                lines.from.clear();
            }
            // Another node's manual retry may put an older delivery back
            // without this node knowing: on a shared store, the head is
            // looked up from the start (an index lookup there).
            if self.store().shared() {
                None
            } else {
                lines.from.get(&d.endpoint_id).cloned()
            }
        };
        let head = self
            .store()
            .first_pending(&d.endpoint_id, from.as_deref(), TEST_EVENT_TYPE)
            .await?;
        let mut lines = lock(&self.lines);
        match head {
            // A retry asked for meanwhile may have put an older one back:
            // keep the position only if nothing was requeued.
            Some(id) if lines.requeues == requeues => {
                let first = id == d.id;
                lines.from.insert(d.endpoint_id.clone(), id);
                Ok(first)
            }
            Some(id) => Ok(id == d.id),
            None => Ok(false),
        }
    }

    /// Whether endpoint `endpoint_id` may start an attempt now under its
    /// rate limit; takes the slot when it may. The generic cell rate
    /// algorithm: attempts are paced 1/rate apart, `burst` of them may come
    /// early after a quiet spell. The pace carries a 5% margin, so that
    /// jitter between here and the receiver never puts more than
    /// `per_second + burst` into one second there. On a store several nodes
    /// share, the pace is kept there, so the limit holds for all of them.
    async fn within_rate(
        &self,
        endpoint_id: &str,
        limit: Option<RateLimit>,
    ) -> Result<bool, super::OutboundError> {
        let Some(limit) = limit else {
            return Ok(true);
        };
        let interval = Duration::from_secs_f64(RATE_MARGIN / f64::from(limit.per_second.max(1)));
        let tolerance = interval * limit.burst;
        if let Some(taken) = self
            .store()
            .take_rate_slot(endpoint_id, interval, tolerance)
            .await?
        {
            return Ok(taken);
        }
        let now = Instant::now();
        let mut paces = lock(&self.paces);
        let tat = paces.entry(endpoint_id.to_string()).or_insert(now);
        if now + tolerance < *tat {
            return Ok(false);
        }
        *tat = (*tat).max(now) + interval;
        Ok(true)
    }

    fn endpoint_slot(&self, endpoint_id: &str) -> Option<OwnedSemaphorePermit> {
        let sem = lock(&self.per_endpoint)
            .entry(endpoint_id.to_string())
            .or_insert_with(|| {
                Arc::new(Semaphore::new(self.outbound.config().endpoint_concurrency))
            })
            .clone();
        sem.try_acquire_owned().ok()
    }

    /// One attempt of `delivery`, recorded with its outcome. Its event is
    /// read unless `event` (read with the queue entry) is it. The
    /// endpoint's slot, if given, is released as soon as the HTTP exchange
    /// ends.
    pub(crate) async fn attempt(
        &self,
        pos: Option<&QueuePos>,
        mut d: DeliveryRecord,
        event: Option<EventRecord>,
        endpoint_slot: Option<OwnedSemaphorePermit>,
    ) -> Result<Option<AttemptRecord>, super::OutboundError> {
        let store = self.store();
        if d.status != DeliveryStatus::Pending {
            if let Some(pos) = pos {
                store.drop_due(pos).await?;
            }
            return Ok(None);
        }
        let now = Utc::now();
        let endpoint = self.outbound.cached_endpoint(&d.endpoint_id).await?;
        let event = match event.filter(|e| e.id == d.event_id) {
            Some(e) => Some(e),
            None => store.get_event(&d.event_id).await?,
        };
        let (endpoint, event) = match (endpoint, event) {
            (Some(ep), Some(ev)) if ep.active => (ep, ev),
            (ep, ev) => {
                let why = match (ep, ev) {
                    (None, _) => "the endpoint was deleted",
                    (Some(_), None) => "the event no longer exists",
                    _ => "the endpoint is disabled",
                };
                d.status = DeliveryStatus::Failed;
                d.last_error = Some(why.into());
                d.next_attempt_at = None;
                d.updated_at = now;
                store.record_attempt(pos, &d, None).await?;
                return Ok(None);
            }
        };

        // What to send: the event's envelope to the endpoint, or what the
        // endpoint's transform made of it on the first attempt (stored with
        // the delivery; retries resend it without running it again).
        let basis = endpoint
            .transform
            .as_deref()
            .and_then(|name| self.transform_basis(&endpoint, name));
        let message = match (&d.transformed, &endpoint.transform) {
            (Some(t), Some(_)) if Some(&t.basis) == basis.as_ref() => Ok(t.clone()),
            (_, None) => {
                // No transform (any more): the event as it is.
                d.transformed = None;
                Ok(TransformedMessage {
                    body: String::new(),
                    url: endpoint.url.clone(),
                    headers: endpoint.headers.clone(),
                    basis: String::new(),
                })
            }
            (_, Some(name)) => match self.transform(&endpoint, name, &event, basis).await {
                Ok(Some(t)) => {
                    d.transformed = Some(t.clone());
                    Ok(t)
                }
                Ok(None) => {
                    d.status = DeliveryStatus::Skipped;
                    d.next_attempt_at = None;
                    d.last_error = None;
                    d.updated_at = now;
                    store.record_attempt(pos, &d, None).await?;
                    return Ok(None);
                }
                Err(TransformError::Busy) => {
                    // Again in a moment, without counting an attempt.
                    d.next_attempt_at = Some(now + chrono::Duration::seconds(1));
                    d.updated_at = now;
                    store.record_attempt(pos, &d, None).await?;
                    return Ok(None);
                }
                Err(TransformError::Failed(e)) => Err(e),
            },
        };
        let started = Instant::now();
        let mut attempt = AttemptRecord {
            delivery_id: d.id.clone(),
            attempt: d.attempts + 1,
            at: now,
            status_code: None,
            latency_ms: 0.0,
            response_body: String::new(),
            error: None,
        };
        let mut retry_after = None;
        let sent = match message {
            // A failed transform sends nothing.
            Err(why) => Err(why),
            Ok(m) => match super::http::refused_literal(self.outbound.guard(), &m.url) {
                Some(why) => Err(why),
                None => {
                    let body = if d.transformed.is_some() {
                        m.body.into_bytes()
                    } else {
                        envelope(&event)
                    };
                    let signed = signing::sign(
                        endpoint.signature,
                        &endpoint.signing_secrets(now),
                        &event.id,
                        &endpoint.id,
                        now.timestamp(),
                        &body,
                    );
                    let mut req = self
                        .client
                        .post(&m.url)
                        .header("content-type", "application/json")
                        .body(body);
                    for (name, value) in signed {
                        req = req.header(name, value);
                    }
                    // Checked when set: valid, and none of the names set above.
                    for (name, value) in &m.headers {
                        req = req.header(name.as_str(), value.as_str());
                    }
                    req.send().await.map_err(|e| describe(&e))
                }
            },
        };
        match sent {
            Ok(mut resp) => {
                attempt.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
                let status = resp.status().as_u16();
                attempt.status_code = Some(status);
                if status == 429 || status == 503 {
                    retry_after = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_retry_after);
                }
                attempt.response_body = read_head(&mut resp).await;
            }
            Err(e) => {
                attempt.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
                attempt.error = Some(e);
            }
        }
        drop(endpoint_slot);

        let code = attempt.status_code;
        let success = code.is_some_and(|c| (200..300).contains(&c));
        let (attempts, result) = crate::metrics::hot().attempt(code);
        attempts.increment(1);
        tracing::debug!(result, status = ?code, latency_ms = attempt.latency_ms, error = ?attempt.error, "delivery attempt");
        if success {
            let lag = (Utc::now() - event.created_at).to_std().unwrap_or_default();
            crate::metrics::hot().delivery_lag.record(lag.as_secs_f64());
        }
        let gone = code == Some(410);
        d.attempts += 1;
        d.last_status_code = code;
        d.last_error = attempt
            .error
            .clone()
            .or_else(|| (!success).then(|| format!("HTTP {}", code.unwrap_or(0))));
        d.updated_at = Utc::now();
        let schedule = &self.outbound.config().schedule;
        if success {
            d.status = DeliveryStatus::Success;
            d.last_error = None;
            d.next_attempt_at = None;
        } else if gone || d.attempts as usize >= schedule.len() {
            d.status = DeliveryStatus::Failed;
            d.next_attempt_at = None;
        } else {
            let delay = retry_after.unwrap_or_else(|| jitter(schedule[d.attempts as usize]));
            d.next_attempt_at =
                Some(d.updated_at + chrono::Duration::from_std(delay).unwrap_or_default());
        }
        // The endpoint's state first (a 410 disables it, a success ends its
        // failing streak), then the delivery's: whoever sees the delivery's
        // outcome also sees what it did to the endpoint.
        self.outbound
            .note_attempt(&endpoint.id, success, gone)
            .await?;
        store.record_attempt(pos, &d, Some(&attempt)).await?;
        self.report(&d).await;
        Ok(Some(attempt))
    }

    /// Publishes `hookhost.delivery.exhausted` when `d` has just failed for
    /// good after its attempts, and `hookhost.delivery.recovered` when it
    /// has just succeeded after failed attempts. Deliveries of hookhost's
    /// own events report nothing (no chains of reports on reports).
    async fn report(&self, d: &DeliveryRecord) {
        if d.event_type.starts_with(crate::names::RESERVED_PREFIX) {
            return;
        }
        let kind = match d.status {
            DeliveryStatus::Failed => "hookhost.delivery.exhausted",
            DeliveryStatus::Success if d.attempts > 1 => "hookhost.delivery.recovered",
            _ => return,
        };
        let data = serde_json::json!({
            "delivery_id": d.id,
            "event_id": d.event_id,
            "event_type": d.event_type,
            "endpoint_id": d.endpoint_id,
            "attempts": d.attempts,
            "last_status_code": d.last_status_code,
            "last_error": d.last_error,
        });
        self.outbound.operational(&d.workspace_id, kind, data).await;
    }

    /// Abandons the attempts in flight (their deliveries stay queued and
    /// are sent again after a restart).
    pub async fn stop(&self) {
        let mut attempts = std::mem::take(&mut *lock(&self.attempts));
        attempts.shutdown().await;
    }

    /// Sends a `webhook.test` event to endpoint `endpoint_id` now and
    /// returns the delivery and its attempt (none when the endpoint is
    /// disabled). The event and delivery are recorded like any other.
    pub async fn test_send(
        &self,
        endpoint_id: &str,
    ) -> Result<(DeliveryRecord, Option<AttemptRecord>), super::OutboundError> {
        let endpoint = self.outbound.endpoint(endpoint_id).await?;
        let data = serde_json::json!({
            "test": true,
            "message": "This is a test webhook from hookhost",
            "endpoint_id": endpoint.id,
        });
        let event = EventRecord {
            workspace_id: endpoint.workspace_id.clone(),
            id: crate::store::ids::new("evt").0,
            event_type: TEST_EVENT_TYPE.into(),
            data: RawValue::from_string(data.to_string()).expect("valid JSON"),
            created_at: Utc::now(),
            source: None,
        };
        let delivery = super::new_delivery(&event, &endpoint);
        // Claimed before it is queued, so the loop does not send it too.
        self.outbound.claim(&delivery.id);
        let claim = super::ClaimGuard::new(&self.outbound, &delivery.id);
        let result = async {
            self.store()
                .accept_event(&event, std::slice::from_ref(&delivery), None)
                .await?;
            let pos = QueuePos::of(&delivery);
            // Kept from the other nodes' workers like any attempt.
            if let Some(pos) = &pos {
                let until = Utc::now()
                    + chrono::Duration::from_std(self.outbound.config().lease).unwrap_or_default();
                let wanted = [(pos.clone(), delivery.endpoint_id.clone())];
                if !self.store().lease(&wanted, usize::MAX, until).await?[0] {
                    // Another node's worker took it first: it sends it.
                    return Ok((delivery.clone(), None));
                }
            }
            let attempt = self
                .attempt(pos.as_ref(), delivery.clone(), None, None)
                .await?;
            let stored = self
                .store()
                .get_delivery(&delivery.id)
                .await?
                .unwrap_or(delivery.clone());
            Ok((stored, attempt))
        }
        .await;
        claim.disarm();
        self.finish_claim(&delivery.id).await;
        result
    }
}

/// Why a transform gave nothing to send.
enum TransformError {
    /// No instance slot was free: try again shortly.
    Busy,
    /// It failed, or returned something unusable: the attempt fails.
    Failed(String),
}

impl DeliveryWorker {
    /// Runs endpoint `ep`'s transform `name` on the message `event` would
    /// be sent as: `Ok(None)` when it skips the endpoint, the error (which
    /// fails the attempt) when it fails or returns something unusable.
    async fn transform(
        &self,
        ep: &EndpointRecord,
        name: &str,
        event: &EventRecord,
        basis: Option<String>,
    ) -> Result<Option<TransformedMessage>, TransformError> {
        let fail = |why: String| {
            // A guest's message or URL may be megabytes: the attempt keeps 1 KiB.
            let mut why = why;
            if why.len() > 1024 {
                let mut cut = 1024;
                while !why.is_char_boundary(cut) {
                    cut -= 1;
                }
                why.truncate(cut);
                why.push_str("…; nothing was sent");
            }
            TransformError::Failed(format!("transform {name:?}: {why}"))
        };
        let registry = self
            .outbound
            .registry()
            .ok_or_else(|| fail("transforms are not available here".into()))?;
        let module = registry
            .module(&ep.workspace_id, name)
            .ok_or_else(|| fail("no such module (any more); nothing was sent".into()))?;
        let message = Message {
            event_type: event.event_type.clone(),
            body: String::from_utf8(envelope(event)).expect("envelopes are JSON text"),
            url: ep.url.clone(),
            headers: ep
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        let ran = registry.runtime().transform(&module.handler, message).await;
        tracing::debug!(
            transform = name,
            duration_ms = ran.duration.as_secs_f64() * 1000.0,
            "transform ran"
        );
        if !ran.output.is_empty() {
            tracing::info!(transform = name, output = %ran.output.trim_end(), "transform output");
        }
        let m = match ran.outcome {
            // Every instance slot is busy with requests: not the
            // transform's fault, and not an attempt.
            Err(f) if f.kind == crate::runtime::FailureKind::Overloaded => {
                return Err(TransformError::Busy);
            }
            Err(f) => {
                return Err(fail(format!(
                    "{} ({}); nothing was sent",
                    f.message,
                    f.kind.as_str()
                )));
            }
            Ok(TransformOutcome::Skip) => return Ok(None),
            Ok(TransformOutcome::Send(m)) => m,
        };
        if m.body.len() > MAX_TRANSFORMED_BODY {
            return Err(fail(format!(
                "the body it returned ({} bytes) exceeds {MAX_TRANSFORMED_BODY} bytes; nothing was sent",
                m.body.len()
            )));
        }
        let mut headers = std::collections::BTreeMap::new();
        for (k, v) in m.headers {
            headers.insert(k.to_ascii_lowercase(), v);
        }
        super::headers::check(&headers).map_err(|e| fail(format!("{e}; nothing was sent")))?;
        if m.url.len() > 8192 {
            return Err(fail(format!(
                "the URL it returned ({} bytes) is too long; nothing was sent",
                m.url.len()
            )));
        }
        let url = if m.url == ep.url {
            m.url
        } else {
            super::http::check_url(self.outbound.guard(), &m.url)
                .await
                .map_err(|e| {
                    fail(format!(
                        "the URL it returned is refused: {e}; nothing was sent"
                    ))
                })?
                .to_string()
        };
        Ok(Some(TransformedMessage {
            body: m.body,
            url,
            headers,
            basis: basis.unwrap_or_default(),
        }))
    }

    /// What a transformed message of endpoint `ep` is made from: its URL
    /// and headers, and transform `name`'s code; `None` when the module is
    /// gone.
    fn transform_basis(&self, ep: &EndpointRecord, name: &str) -> Option<String> {
        use sha2::{Digest, Sha256};
        let module = self.outbound.registry()?.module(&ep.workspace_id, name)?;
        let inputs = serde_json::json!([name, module.record.sha256, ep.url, ep.headers]);
        Some(hex::encode(Sha256::digest(inputs.to_string().as_bytes())))
    }
}

fn envelope(event: &EventRecord) -> Vec<u8> {
    serde_json::to_vec(&Envelope {
        id: &event.id,
        event_type: &event.event_type,
        created_at: event.created_at,
        data: &event.data,
        workspace_id: (!crate::store::is_default_workspace(&event.workspace_id))
            .then_some(event.workspace_id.as_str()),
    })
    .expect("envelopes serialize")
}

/// Up to [`ATTEMPT_BODY_BYTES`] of the response body, without reading more.
async fn read_head(resp: &mut reqwest::Response) -> String {
    let mut buf = Vec::new();
    while buf.len() < ATTEMPT_BODY_BYTES {
        match resp.chunk().await {
            Ok(Some(chunk)) => buf.extend_from_slice(&chunk),
            _ => break,
        }
    }
    buf.truncate(ATTEMPT_BODY_BYTES);
    String::from_utf8_lossy(&buf).into_owned()
}

fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut msg = format!("{kind}: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(&format!(": {s}"));
        source = s.source();
    }
    msg
}

/// `Retry-After` as seconds or an HTTP date, capped.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let d = match value.trim().parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => httpdate::parse_http_date(value)
            .ok()?
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    };
    Some(d.min(MAX_RETRY_AFTER))
}

/// The delay plus up to 10% random jitter, so retries of many deliveries
/// do not hit an endpoint in lockstep.
fn jitter(delay: Duration) -> Duration {
    delay + delay.mul_f64(fastrand::f64() * 0.1)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("999999999"), Some(MAX_RETRY_AFTER));
        let future =
            httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(120));
        let d = parse_retry_after(&future).unwrap();
        assert!(
            d > Duration::from_secs(100) && d <= Duration::from_secs(120),
            "{d:?}"
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..100 {
            let d = jitter(Duration::from_secs(100));
            assert!(d >= Duration::from_secs(100) && d <= Duration::from_secs(110));
        }
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }
}

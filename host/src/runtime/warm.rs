//! Instances kept between calls, for webhooks that opted in
//! (`reuse_instances`): the one trade-off of isolation hookhost offers.
//!
//! By default every request runs in a fresh instance. An interpreter such
//! as componentize-py's Python instantiates 14 core modules and fills
//! thousands of function-table entries each time, which costs about a
//! millisecond before the handler runs; a kept instance skips all of it.
//! What a kept instance keeps is the guest's own memory and globals, seen
//! by later calls of **the same webhook with the same module only**:
//! instances are keyed by webhook id and compiled module, never shared
//! between webhooks (and so never between workspaces). Everything the host
//! holds per call (grants, deadline, records, output, outgoing calls) is
//! reset before each call ([`super::sandbox::Sandbox::begin_call`]).
//!
//! An instance is dropped, never kept, after any sandbox failure (trap,
//! timeout, a limit, an unusable response), after [`MAX_CALLS`] calls,
//! once idle for [`IDLE_FOR`], and when there is no room: at most
//! [`PER_WEBHOOK`] idle per webhook and the node's `warm_instances` in all
//! (at most a quarter of the instance pool, so fresh calls keep room).

use super::bindings::Handler;
use super::compile::CompiledHandler;
use super::sandbox::Sandbox;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasmtime::Store;

/// Idle instances kept per webhook: its usual concurrency.
pub const PER_WEBHOOK: usize = 4;
/// Calls one instance serves before it is replaced by a fresh one, which
/// bounds what state (and heap fragmentation) can build up.
pub const MAX_CALLS: u32 = 10_000;
/// How long an idle instance is kept.
pub const IDLE_FOR: Duration = Duration::from_secs(60);

/// An instance between two calls of its webhook.
pub(super) struct Kept {
    pub handler: Arc<CompiledHandler>,
    pub store: Store<Sandbox>,
    pub instance: Handler,
    /// Calls it has served.
    pub calls: u32,
    idle_since: Instant,
}

impl Kept {
    pub fn new(handler: Arc<CompiledHandler>, store: Store<Sandbox>, instance: Handler) -> Self {
        Self {
            handler,
            store,
            instance,
            calls: 0,
            idle_since: Instant::now(),
        }
    }
}

/// The idle instances of every webhook.
pub(super) struct Warm {
    idle: Mutex<Idle>,
    /// Most idle instances in all.
    capacity: usize,
}

#[derive(Default)]
struct Idle {
    by_webhook: HashMap<Box<str>, Vec<Kept>>,
    total: usize,
    swept: Option<Instant>,
}

impl Warm {
    /// Keeps at most `capacity` idle instances.
    pub fn new(capacity: usize) -> Self {
        Self {
            idle: Mutex::default(),
            capacity,
        }
    }

    /// Whether reuse is on at all on this node.
    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// An idle instance of `webhook_id` running `handler`, if one is kept.
    /// Instances of another module (the webhook was moved to a new one)
    /// are dropped.
    pub fn take(&self, webhook_id: &str, handler: &Arc<CompiledHandler>) -> Option<Kept> {
        let mut stale = Vec::new();
        let found = {
            let mut idle = lock(&self.idle);
            let Idle {
                by_webhook, total, ..
            } = &mut *idle;
            let list = by_webhook.get_mut(webhook_id)?;
            let mut found = None;
            while let Some(kept) = list.pop() {
                *total -= 1;
                if Arc::ptr_eq(&kept.handler, handler) && kept.idle_since.elapsed() < IDLE_FOR {
                    found = Some(kept);
                    break;
                }
                stale.push(kept);
            }
            if list.is_empty() {
                by_webhook.remove(webhook_id);
            }
            found
        };
        drop(stale); // stores are dropped outside the lock
        found
    }

    /// Keeps `kept` for the next call of `webhook_id` if there is room.
    pub fn put(&self, webhook_id: &str, mut kept: Kept) {
        if kept.calls >= MAX_CALLS {
            return;
        }
        kept.idle_since = Instant::now();
        let mut dropped = Vec::new();
        {
            let mut idle = lock(&self.idle);
            if idle
                .swept
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
            {
                idle.swept = Some(Instant::now());
                dropped = idle.sweep();
            }
            let held = idle.by_webhook.get(webhook_id).map_or(0, Vec::len);
            if idle.total >= self.capacity || held >= PER_WEBHOOK {
                dropped.push(kept);
            } else {
                idle.by_webhook
                    .entry(webhook_id.into())
                    .or_default()
                    .push(kept);
                idle.total += 1;
            }
        }
        drop(dropped);
    }

    /// Drops the idle instances of `webhook_id` (its reuse was turned off).
    pub fn forget(&self, webhook_id: &str) {
        let dropped = {
            let mut idle = lock(&self.idle);
            let list = idle.by_webhook.remove(webhook_id);
            idle.total -= list.as_ref().map_or(0, Vec::len);
            list
        };
        drop(dropped);
    }

    /// Idle instances now kept.
    pub fn idle(&self) -> usize {
        lock(&self.idle).total
    }
}

impl Idle {
    /// Removes instances idle for [`IDLE_FOR`]; returns them to be dropped.
    fn sweep(&mut self) -> Vec<Kept> {
        let mut expired = Vec::new();
        self.by_webhook.retain(|_, list| {
            let (old, fresh): (Vec<_>, Vec<_>) = list
                .drain(..)
                .partition(|k| k.idle_since.elapsed() >= IDLE_FOR);
            expired.extend(old);
            *list = fresh;
            !list.is_empty()
        });
        self.total -= expired.len();
        expired
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

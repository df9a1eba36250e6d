//! Running one request through a handler in a fresh sandbox.

use super::bindings::Handler;
use super::bindings::{Context, Request, Response, hookhost::handler::types::HandlerError};
use super::outgoing::Grants;
use super::sandbox::{LimitExceeded, Sandbox};
use super::warm::Kept;
use super::{CompiledHandler, Runtime};
use crate::store::OutboundCall;
use serde_json::value::RawValue;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::{PoolConcurrencyLimitError, Store, Trap, UpdateDeadline};

/// Most headers a handler response may carry.
pub const MAX_RESPONSE_HEADERS: usize = 100;
/// Most bytes (names plus values) of a handler response's headers.
pub const MAX_RESPONSE_HEADER_BYTES: usize = 64 << 10;

/// Slack given to the backstop timer beyond the epoch-based limit.
pub(super) const BACKSTOP_SLACK: Duration = Duration::from_millis(500);

/// Something the guest asked the host to record.
#[derive(Debug)]
pub enum GuestRecord {
    /// `host.emit(entity-type, data)`.
    Emission {
        /// Entity type.
        entity_type: String,
        /// JSON data, validated.
        data: Box<RawValue>,
    },
    /// `host.publish(event-type, data)`.
    Event {
        /// Event type.
        event_type: String,
        /// JSON data, validated.
        data: Box<RawValue>,
    },
    /// `host.register-webhook(...)`, checked by the invocation's
    /// [`super::WebhookFactory`].
    Webhook {
        /// The new webhook's id.
        id: String,
        /// Its module.
        module: String,
        /// Its payload, validated JSON.
        payload: Option<Box<RawValue>>,
        /// Its description.
        description: String,
    },
}

/// The result of one invocation.
pub struct Invocation {
    /// What the handler (or the sandbox) decided.
    pub outcome: Outcome,
    /// What to commit: everything the guest recorded when the handler
    /// returned `ok`, nothing otherwise.
    pub records: Vec<GuestRecord>,
    /// Captured stdout, stderr and `log` lines (bounded).
    pub output: String,
    /// Output bytes dropped beyond the limit.
    pub output_dropped: usize,
    /// Outgoing HTTP calls made or refused, whatever the outcome.
    pub calls: Vec<OutboundCall>,
    /// Wall time, instantiation included.
    pub duration: Duration,
    /// Whether it ran in an instance kept from an earlier call of its
    /// webhook ([`Runtime::invoke_reusing`]).
    pub reused: bool,
}

/// How an invocation ended.
pub enum Outcome {
    /// The handler returned a response.
    Response(Response),
    /// The handler returned one of its declared errors.
    HandlerError(HandlerError),
    /// The sandbox stopped the handler, or its response was unusable.
    Failed(Failure),
}

/// The status, stable code and message a handler's declared error answers
/// with.
pub fn handler_error_reply(e: &HandlerError) -> (u16, &'static str, &str) {
    match e {
        HandlerError::BadRequest(m) => (400, "bad_request", m),
        HandlerError::Unauthorized(m) => (401, "unauthorized", m),
        HandlerError::Internal(m) => (500, "internal", m),
    }
}

/// A sandbox failure.
#[derive(Debug)]
pub struct Failure {
    /// Which limit or fault.
    pub kind: FailureKind,
    /// Human-readable detail.
    pub message: String,
}

/// Kinds of sandbox failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The guest trapped (panic, unreachable, bad memory access, ...).
    Trap,
    /// The wall-time limit passed.
    Timeout,
    /// The guest tried to grow memory beyond the limit.
    MemoryLimit,
    /// Too many or too large emits/publishes.
    RecordLimit,
    /// The response body exceeds the limit.
    ResponseTooLarge,
    /// The response has an invalid status or header.
    InvalidResponse,
    /// Every instance slot is busy.
    Overloaded,
}

impl FailureKind {
    /// Stable name used in the invocation log and error codes.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Trap => "trap",
            FailureKind::Timeout => "timeout",
            FailureKind::MemoryLimit => "memory_limit",
            FailureKind::RecordLimit => "record_limit",
            FailureKind::ResponseTooLarge => "response_too_large",
            FailureKind::InvalidResponse => "invalid_response",
            FailureKind::Overloaded => "overloaded",
        }
    }

    /// HTTP status answered to the caller.
    pub fn status(self) -> u16 {
        match self {
            FailureKind::Trap | FailureKind::MemoryLimit | FailureKind::RecordLimit => 500,
            FailureKind::ResponseTooLarge | FailureKind::InvalidResponse => 502,
            FailureKind::Overloaded => 503,
            FailureKind::Timeout => 504,
        }
    }
}

impl Runtime {
    /// Runs `req` through `handler` in a fresh sandbox under the runtime's
    /// limits, allowed what `grants` allow. Never panics on guest
    /// behaviour; every fault is an [`Outcome`].
    ///
    /// A `hookhost:handler` component succeeds when `handle` returns `ok`;
    /// a `wasi:http/proxy` component when it answers 2xx. Only a success
    /// keeps what the guest recorded.
    pub async fn invoke(
        &self,
        handler: &CompiledHandler,
        req: Request,
        ctx: Context,
        grants: Grants,
    ) -> Invocation {
        self.run(handler, None, req, ctx, grants).await.0
    }

    /// Like [`Runtime::invoke`], for a webhook with `reuse_instances` on:
    /// a `hookhost:handler` component runs in an instance kept from an
    /// earlier call of the same webhook and module when one is idle, and
    /// its instance is kept afterwards unless the call failed (see
    /// [`super::warm`]). Other worlds, and a node with reuse off, run
    /// fresh as with [`Runtime::invoke`]. [`Invocation::reused`] says
    /// which it was.
    pub async fn invoke_reusing(
        &self,
        handler: &Arc<CompiledHandler>,
        webhook_id: &str,
        req: Request,
        ctx: Context,
        grants: Grants,
    ) -> Invocation {
        if !self.warm.enabled() || !matches!(handler.world, super::compile::World::Handler(_)) {
            return self.invoke(handler, req, ctx, grants).await;
        }
        let started = Instant::now();
        // A kept instance gets this call's grants now; a fresh one gets
        // them with its store.
        let (kept, grants) = match self.warm.take(webhook_id, handler) {
            Some(mut kept) => {
                let egress = self.egress.get().cloned();
                let deadline = started + self.limits.timeout;
                kept.store
                    .data_mut()
                    .begin_call(&self.limits, grants, egress, deadline);
                kept.store.set_epoch_deadline(1);
                (Some(kept), Grants::default())
            }
            None => (None, grants),
        };
        let reused = kept.is_some();
        let (mut invocation, kept) = self.run(handler, Some(kept), req, ctx, grants).await;
        invocation.reused = reused;
        if let Some((store, instance, calls)) = kept {
            let mut kept = Kept::new(handler.clone(), store, instance);
            kept.calls = calls + 1;
            self.warm.put(webhook_id, kept);
        }
        invocation
    }

    /// One call; with `reuse`, in the kept instance given (or a fresh one)
    /// and returning the instance when it may be kept: the call did not
    /// fail in the sandbox.
    async fn run(
        &self,
        handler: &CompiledHandler,
        reuse: Option<Option<Kept>>,
        req: Request,
        ctx: Context,
        grants: Grants,
    ) -> (Invocation, Option<(Store<Sandbox>, Handler, u32)>) {
        use super::compile::World;
        let started = Instant::now();
        let received_at = ctx.received_at_ms.to_string();
        let env: Vec<(&str, &str)> = match &handler.world {
            World::Proxy(_) => [
                (super::ENV_WEBHOOK_ID, ctx.webhook_id.as_str()),
                (super::ENV_INVOCATION_ID, ctx.invocation_id.as_str()),
                (super::ENV_RECEIVED_AT_MS, received_at.as_str()),
            ]
            .into_iter()
            .chain(ctx.payload.as_deref().map(|p| (super::ENV_PAYLOAD, p)))
            .collect(),
            _ => Vec::new(),
        };
        let keep = reuse.is_some();
        let (mut store, mut instance, calls) = match reuse {
            Some(Some(kept)) => (kept.store, Some(kept.instance), kept.calls),
            _ => (
                self.sandboxed_store(&self.limits, started, grants, &env),
                None,
                0,
            ),
        };
        let timeout = self.limits.timeout;
        let max_body = self.limits.max_response_body;

        let call = async {
            match &handler.world {
                World::Handler(pre) => {
                    let handler = match instance.take() {
                        Some(kept) => kept,
                        None => pre.instantiate_async(&mut store).await?,
                    };
                    let result = handler.call_handle(&mut store, &req, &ctx).await;
                    instance = Some(handler);
                    result
                }
                World::Proxy(pre) => {
                    super::proxy::call(pre, &mut store, req, &ctx.webhook_id, max_body)
                        .await
                        .map(Ok)
                }
                World::Transformer(_) => Err(wasmtime::Error::msg(
                    "this module is an outbound transform, not a webhook handler",
                )),
            }
        };
        let result = match tokio::time::timeout(timeout + BACKSTOP_SLACK, call).await {
            Ok(r) => r,
            Err(_) => Err(LimitExceeded::Timeout(timeout.as_millis()).into()),
        };

        let proxy = matches!(handler.world, World::Proxy(_));
        let data = store.data_mut();
        let (output, output_dropped) = data.output.take();
        let records = std::mem::take(&mut data.records);
        let calls_made = data.outgoing.take_calls();
        let (outcome, records) = match result {
            Ok(Ok(resp)) => match self.check_response(&resp) {
                Ok(()) if proxy && !(200..300).contains(&resp.status) => {
                    (Outcome::Response(resp), Vec::new())
                }
                Ok(()) => (Outcome::Response(resp), records),
                Err(f) => (Outcome::Failed(f), Vec::new()),
            },
            Ok(Err(e)) => (Outcome::HandlerError(e), Vec::new()),
            Err(e) => (Outcome::Failed(classify(&e)), Vec::new()),
        };
        // An instance is kept only after a call the sandbox did not stop:
        // a trapped or interrupted instance is never entered again.
        let kept = match (&outcome, instance) {
            (Outcome::Failed(_), _) | (_, None) => None,
            (_, Some(instance)) if keep => Some((store, instance, calls)),
            _ => None,
        };
        let invocation = Invocation {
            outcome,
            records,
            output,
            output_dropped,
            calls: calls_made,
            duration: started.elapsed(),
            reused: false,
        };
        (invocation, kept)
    }

    /// A store for one call under `limits`, its deadline counted from
    /// `started`: memory and table limits, and an epoch callback that
    /// yields to the executor every tick (a spinning guest cannot hold a
    /// worker thread) and traps once the deadline has passed.
    pub(super) fn sandboxed_store(
        &self,
        limits: &crate::config::SandboxLimits,
        started: Instant,
        grants: Grants,
        env: &[(&str, &str)],
    ) -> Store<Sandbox> {
        let timeout = limits.timeout;
        let deadline = started + timeout;
        let egress = self.egress.get().cloned();
        let mut store = Store::new(
            &self.engine,
            Sandbox::new(limits, grants, egress, deadline, env),
        );
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline(1);
        // The deadline is read from the store's data: a kept instance's
        // next call sets its own (`Sandbox::begin_call`).
        store.epoch_deadline_callback(move |s| {
            if Instant::now() >= s.data().deadline {
                Err(LimitExceeded::Timeout(timeout.as_millis()).into())
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        store
    }

    fn check_response(&self, resp: &Response) -> Result<(), Failure> {
        if resp.body.len() > self.limits.max_response_body {
            return Err(Failure {
                kind: FailureKind::ResponseTooLarge,
                message: format!(
                    "response body of {} bytes exceeds the limit of {} bytes",
                    resp.body.len(),
                    self.limits.max_response_body
                ),
            });
        }
        let invalid = |message: String| Failure {
            kind: FailureKind::InvalidResponse,
            message,
        };
        // 1xx (101 Switching Protocols included) would hand the connection
        // to the guest or confuse the client; 6xx-9xx are not HTTP.
        if !(200..=599).contains(&resp.status) {
            return Err(invalid(format!(
                "invalid status code {}: handlers answer 200-599",
                resp.status
            )));
        }
        if resp.headers.len() > MAX_RESPONSE_HEADERS {
            return Err(invalid(format!(
                "{} response headers exceed the limit of {MAX_RESPONSE_HEADERS}",
                resp.headers.len()
            )));
        }
        let mut header_bytes = 0;
        for (name, value) in &resp.headers {
            header_bytes += name.len() + value.len();
            if http::HeaderName::from_bytes(name.as_bytes()).is_err()
                || http::HeaderValue::from_str(value).is_err()
            {
                return Err(invalid(format!("invalid response header {name:?}")));
            }
        }
        if header_bytes > MAX_RESPONSE_HEADER_BYTES {
            return Err(invalid(format!(
                "response headers of {header_bytes} bytes exceed the limit of {MAX_RESPONSE_HEADER_BYTES} bytes"
            )));
        }
        Ok(())
    }
}

pub(super) fn classify(e: &wasmtime::Error) -> Failure {
    let (kind, message) = if let Some(limit) = e.downcast_ref::<LimitExceeded>() {
        let kind = match limit {
            LimitExceeded::Memory(_) => FailureKind::MemoryLimit,
            LimitExceeded::Records(_) => FailureKind::RecordLimit,
            LimitExceeded::Timeout(_) => FailureKind::Timeout,
        };
        (kind, limit.to_string())
    } else if let Some(pool) = e.downcast_ref::<PoolConcurrencyLimitError>() {
        (FailureKind::Overloaded, pool.to_string())
    } else if let Some(trap) = e.downcast_ref::<Trap>() {
        (FailureKind::Trap, format!("handler trapped: {trap}"))
    } else {
        (FailureKind::Trap, format!("handler failed: {e:#}"))
    };
    Failure { kind, message }
}

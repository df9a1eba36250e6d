//! Serving one request to a webhook URL: look the webhook up, run its
//! handler in a sandbox, commit what it recorded, and say what to answer.
//! Knows nothing of axum; `api::ingress` does the HTTP framing.

use crate::config::CAPTURE_BODY_BYTES;
use crate::dedup::{Claim, Deduplicator, Leader};
use crate::registry::{LiveWebhook, Registry};
use crate::runtime::bindings::{Context, Request, Response};
use crate::runtime::{Grants, GuestRecord, Outcome, WebhookFactory, handler_error_reply};
use crate::store::{
    CapturedRequest, CapturedResponse, Committer, DedupRecord, EmissionRecord, EventRecord,
    EventSource, InvocationCommit, InvocationRecord, WebhookRecord, capture_body, ids,
};
use crate::tenancy::{RateKind, Tenancy};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tracing::Instrument;

/// What to send back for one request.
pub enum Reply {
    /// The handler's own response.
    Handler(Response),
    /// A JSON error `{"error": {"code", "message"}}` with this status.
    Error {
        /// HTTP status.
        status: u16,
        /// Stable error code.
        code: &'static str,
        /// Human-readable detail.
        message: String,
    },
    /// 429 `quota_exceeded`: the webhook's workspace is over its
    /// invocation rate; nothing ran and nothing was recorded.
    Throttled {
        /// Seconds to wait, for `Retry-After`.
        retry_after: u64,
    },
}

/// The result of [`Inbound::rerun`].
pub struct Rerun {
    /// The run as an invocation record (stored only when committed).
    pub log: InvocationRecord,
    /// The handler's response, if it returned one.
    pub response: Option<Response>,
    /// What it emitted or published: (`emit` | `publish`, type, JSON data).
    /// Kept only when it succeeded, as for any invocation.
    pub records: Vec<(&'static str, String, String)>,
    /// Whether the run was logged and its records committed.
    pub committed: bool,
    /// Why committing failed, if it did.
    pub commit_error: Option<String>,
}

/// Response header of a replayed answer: the invocation that produced it.
pub const DUPLICATE_HEADER: &str = "x-hookhost-duplicate-of";

/// Why a request does not reach its handler.
enum Refused {
    /// Answer with this error (status, code, message).
    Reply(u16, &'static str, String),
    /// A duplicate: replay the first answer.
    Duplicate(DedupRecord),
    /// Over the workspace's invocation rate: 429, nothing recorded.
    Throttled(u64),
}

/// The result of [`Inbound::serve`].
pub struct Served {
    /// The invocation id, when the handler was run (or tried).
    pub invocation_id: Option<String>,
    /// What to answer.
    pub reply: Reply,
}

/// Runs webhook requests.
#[derive(Clone)]
pub struct Inbound {
    registry: Arc<Registry>,
    committer: Committer,
    dedup: Arc<Deduplicator>,
    tenancy: Arc<Tenancy>,
    /// Base of webhook URLs (`<public_url>/hooks/<id>`), for the follow-up
    /// webhooks handlers register.
    public_url: Arc<str>,
}

impl Inbound {
    /// Serves requests from `registry`, committing through `committer`;
    /// webhook URLs start with `public_url`.
    pub fn new(
        registry: Arc<Registry>,
        committer: Committer,
        tenancy: Arc<Tenancy>,
        public_url: Arc<str>,
    ) -> Self {
        let dedup = Deduplicator::new(registry.store().clone());
        Self {
            registry,
            committer,
            dedup,
            tenancy,
            public_url,
        }
    }

    /// What an invocation of `hook` running `module` may do: call its
    /// outbound hosts, and register follow-up webhooks in its workspace.
    /// The second value holds the places those webhooks reserve under the
    /// workspace's quota: keep it until they are committed and served.
    fn grants(&self, hook: &LiveWebhook, module: &str) -> (Grants, Arc<FollowUps>) {
        let follow_ups = Arc::new(FollowUps {
            registry: self.registry.clone(),
            tenancy: self.tenancy.clone(),
            workspace_id: hook.record.workspace_id.clone(),
            module: module.to_string(),
            public_url: self.public_url.clone(),
            pending: Default::default(),
        });
        let grants = Grants {
            outbound_hosts: hook.outbound_hosts.clone(),
            webhooks: Some(follow_ups.clone()),
        };
        (grants, follow_ups)
    }

    /// Handles `request` sent to webhook `webhook_id`.
    ///
    /// Unknown and disabled webhooks both answer 404 and are not recorded:
    /// a disabled webhook is usually paused, and senders such as Svix treat
    /// 410 as "stop sending forever".
    pub async fn serve(&self, webhook_id: &str, request: Request) -> Served {
        let Some(hook) = self
            .registry
            .webhook(webhook_id)
            .filter(|w| w.record.enabled)
        else {
            return Served {
                invocation_id: None,
                reply: Reply::Error {
                    status: 404,
                    code: "not_found",
                    message: "no such webhook".into(),
                },
            };
        };
        let (invocation_id, _) = ids::new("inv");
        // Every log line of this invocation (guest output, failures, commit
        // errors) carries both ids.
        let span = tracing::info_span!("invocation", webhook_id, invocation_id = %invocation_id);
        self.invoke(webhook_id, hook, request, invocation_id)
            .instrument(span)
            .await
    }

    async fn invoke(
        &self,
        webhook_id: &str,
        hook: Arc<LiveWebhook>,
        request: Request,
        invocation_id: String,
    ) -> Served {
        let received_at = Utc::now();
        let mut log = InvocationRecord {
            id: invocation_id.clone(),
            webhook_id: webhook_id.to_string(),
            received_at,
            method: request.method.clone(),
            path: request.path.clone(),
            status: 0,
            outcome: String::new(),
            duration_ms: 0.0,
            error: None,
            emitted: 0,
            published: 0,
            output: None,
            request: None,
            response: None,
            calls: Vec::new(),
            registered: Vec::new(),
            reused: false,
        };

        let leader = match self.admit(webhook_id, &hook, &request, received_at).await {
            Ok(leader) => leader,
            Err(Refused::Reply(status, code, message)) => {
                return self.finish(log, status, code, message).await;
            }
            Err(Refused::Duplicate(first)) => return self.replay(log, first),
            Err(Refused::Throttled(retry_after)) => {
                return Served {
                    invocation_id: None,
                    reply: Reply::Throttled { retry_after },
                };
            }
        };
        // Kept only for requests that reach the handler: a request that
        // failed verification is nobody's to replay.
        if hook.record.capture {
            log.request = Some(capture_request(&request));
        }

        let Some(module) = self.registry.module_of(&hook.record) else {
            let message = format!(
                "module {:?} is not loaded; upload it again",
                hook.record.module
            );
            return self.finish(log, 503, "module_unavailable", message).await;
        };
        let ctx = Context {
            webhook_id: webhook_id.to_string(),
            invocation_id: invocation_id.clone(),
            payload: hook.payload_json.clone(),
            received_at_ms: received_at.timestamp_millis() as u64,
        };
        let (grants, reserved) = self.grants(&hook, &module.record.name);
        let runtime = self.registry.runtime();
        let invocation = if hook.record.reuse_instances {
            runtime
                .invoke_reusing(&module.handler, webhook_id, request, ctx, grants)
                .await
        } else {
            runtime.invoke(&module.handler, request, ctx, grants).await
        };
        log.duration_ms = invocation.duration.as_secs_f64() * 1000.0;
        log.calls = invocation.calls;
        log.reused = invocation.reused;
        crate::metrics::hot()
            .handler_duration
            .record(invocation.duration.as_secs_f64());
        tracing::debug!(duration_ms = log.duration_ms, "handler ran");
        if !invocation.output.is_empty() || invocation.output_dropped > 0 {
            // Logged (the span carries the ids) and kept in the invocation log.
            let mut output = invocation.output.trim_end().to_string();
            if invocation.output_dropped > 0 {
                output.push_str(&format!(
                    "\n[{} more bytes dropped]",
                    invocation.output_dropped
                ));
            }
            tracing::info!(dropped_bytes = invocation.output_dropped, output = %output, "guest output");
            log.output = Some(output);
        }

        match invocation.outcome {
            Outcome::Response(response) => {
                log.status = response.status;
                log.outcome = "ok".into();
                if hook.record.capture {
                    let (body_base64, body_bytes) =
                        capture_body(&response.body, CAPTURE_BODY_BYTES);
                    log.response = Some(CapturedResponse {
                        status: response.status,
                        headers: response.headers.clone(),
                        body_base64,
                        body_bytes,
                    });
                }
                let commit = to_commit(
                    log,
                    &hook.record.workspace_id,
                    invocation.records,
                    received_at,
                );
                let registered = commit.webhooks.clone();
                if !commit.has_records() {
                    self.committer.commit_later(commit);
                } else if let Err(e) = self.committer.commit_durable(commit).await {
                    tracing::error!(error = %e, "commit failed");
                    return Served {
                        invocation_id: Some(invocation_id),
                        reply: Reply::Error {
                            status: 503,
                            code: "storage_unavailable",
                            message: "the handler ran but its results could not be stored; retry"
                                .into(),
                        },
                    };
                }
                self.registry.adopt_webhooks(registered);
                drop(reserved);
                if let Some(leader) = leader
                    && (200..300).contains(&response.status)
                {
                    let content_type = response
                        .headers
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                        .map(|(_, v)| v.clone());
                    let remembered = leader
                        .remember(
                            &invocation_id,
                            response.status,
                            content_type,
                            &response.body,
                            received_at,
                        )
                        .await;
                    if let Err(e) = remembered {
                        tracing::warn!(error = %e, "the answer could not be remembered for deduplication");
                    }
                }
                Served {
                    invocation_id: Some(invocation_id),
                    reply: Reply::Handler(response),
                }
            }
            Outcome::HandlerError(e) => {
                let (status, code, message) = handler_error_reply(&e);
                let message = message.to_string();
                self.finish(log, status, code, message).await
            }
            Outcome::Failed(f) => {
                metrics::counter!(crate::metrics::SANDBOX_FAILURES, "kind" => f.kind.as_str())
                    .increment(1);
                tracing::warn!(kind = f.kind.as_str(), error = %f.message, "invocation failed");
                self.finish(log, f.kind.status(), f.kind.as_str(), f.message)
                    .await
            }
        }
    }

    /// The checks before a handler runs: the signature, then the delivery
    /// id (after the signature, so that an unverified request can neither
    /// get a remembered answer nor take an id). `Ok(Some(leader))`: this
    /// request runs the handler for its delivery id.
    async fn admit(
        &self,
        webhook_id: &str,
        hook: &LiveWebhook,
        request: &Request,
        now: DateTime<Utc>,
    ) -> Result<Option<Leader>, Refused> {
        if let Some(verifier) = &hook.verifier
            && let Err(message) = verifier.verify(&request.headers, &request.body, now.timestamp())
        {
            tracing::debug!(reason = %message, "request not verified");
            return Err(Refused::Reply(401, "unverified", message));
        }
        // The workspace's invocation rate, after the signature (unsigned
        // requests to a leaked URL do not use it up) and before anything
        // runs or is recorded: a workspace over it costs the others nothing.
        if let Err(retry_after) = self
            .tenancy
            .take(&hook.record.workspace_id, RateKind::Invocations)
            .await
        {
            return Err(Refused::Throttled(retry_after));
        }
        let Some(dedup) = &hook.record.dedup else {
            return Ok(None);
        };
        let scheme = hook.verifier.as_ref().map(|v| v.scheme());
        let Some(key) = dedup.key_of(scheme, &request.headers, &request.body) else {
            return Ok(None);
        };
        match self
            .dedup
            .claim(webhook_id, &key, dedup.window(), now)
            .await
        {
            Ok(Claim::Lead(leader)) => Ok(Some(leader)),
            Ok(Claim::Replay(first)) => Err(Refused::Duplicate(first)),
            Err(e) => {
                tracing::error!(error = %e, "deduplication lookup failed");
                Err(Refused::Reply(
                    503,
                    "storage_unavailable",
                    "the delivery id could not be checked; retry".into(),
                ))
            }
        }
    }

    /// Runs a captured request again through `module` (the webhook's, or
    /// another of its workspace), as webhook `hook` with its current
    /// payload, in a fresh sandbox. With `commit`, the run is logged as a
    /// new invocation and what it emitted or published is committed like
    /// any invocation's; without, nothing is stored.
    pub async fn rerun(
        &self,
        hook: &LiveWebhook,
        module: &crate::registry::LoadedModule,
        captured: &CapturedRequest,
        body: Vec<u8>,
        commit: bool,
    ) -> Rerun {
        let (invocation_id, _) = ids::new("inv");
        let received_at = Utc::now();
        let request = Request {
            method: captured.method.clone(),
            path: captured.path.clone(),
            query: captured.query.clone(),
            headers: captured.headers.clone(),
            body,
        };
        let ctx = Context {
            webhook_id: hook.record.id.clone(),
            invocation_id: invocation_id.clone(),
            payload: hook.payload_json.clone(),
            received_at_ms: received_at.timestamp_millis() as u64,
        };
        let (grants, reserved) = self.grants(hook, &module.record.name);
        let invocation = self
            .registry
            .runtime()
            .invoke(&module.handler, request.clone(), ctx, grants)
            .await;
        let mut log = InvocationRecord {
            id: invocation_id.clone(),
            webhook_id: hook.record.id.clone(),
            received_at,
            method: request.method.clone(),
            path: request.path.clone(),
            status: 0,
            outcome: String::new(),
            duration_ms: invocation.duration.as_secs_f64() * 1000.0,
            error: None,
            emitted: 0,
            published: 0,
            output: (!invocation.output.is_empty())
                .then(|| invocation.output.trim_end().to_string()),
            request: hook.record.capture.then(|| capture_request(&request)),
            response: None,
            calls: invocation.calls.clone(),
            registered: Vec::new(),
            reused: false,
        };
        let response = match &invocation.outcome {
            Outcome::Response(r) => {
                log.status = r.status;
                log.outcome = "ok".into();
                Some(r.clone())
            }
            Outcome::HandlerError(e) => {
                let (status, code, message) = handler_error_reply(e);
                log.status = status;
                log.outcome = code.into();
                log.error = Some(message.to_string());
                None
            }
            Outcome::Failed(f) => {
                log.status = f.kind.status();
                log.outcome = f.kind.as_str().into();
                log.error = Some(f.message.clone());
                None
            }
        };
        if let Some(r) = &response
            && hook.record.capture
        {
            let (body_base64, body_bytes) = capture_body(&r.body, CAPTURE_BODY_BYTES);
            log.response = Some(CapturedResponse {
                status: r.status,
                headers: r.headers.clone(),
                body_base64,
                body_bytes,
            });
        }
        let records: Vec<_> = invocation
            .records
            .iter()
            .map(|r| match r {
                GuestRecord::Emission { entity_type, data } => {
                    ("emit", entity_type.clone(), data.get().to_string())
                }
                GuestRecord::Event { event_type, data } => {
                    ("publish", event_type.clone(), data.get().to_string())
                }
                GuestRecord::Webhook {
                    module, payload, ..
                } => (
                    "register_webhook",
                    module.clone(),
                    payload.as_ref().map_or("null", |p| p.get()).to_string(),
                ),
            })
            .collect();
        let mut committed = false;
        let mut commit_error = None;
        if commit {
            let commit = to_commit(
                log.clone(),
                &hook.record.workspace_id,
                invocation.records,
                received_at,
            );
            let registered = commit.webhooks.clone();
            match self.committer.commit_durable(commit).await {
                Ok(()) => {
                    committed = true;
                    self.registry.adopt_webhooks(registered);
                }
                Err(e) => commit_error = Some(e.to_string()),
            }
        }
        drop(reserved);
        Rerun {
            log,
            response,
            records,
            committed,
            commit_error,
        }
    }

    /// Answers a duplicate with the first answer to its delivery id.
    fn replay(&self, mut log: InvocationRecord, first: DedupRecord) -> Served {
        log.status = first.status;
        log.outcome = "duplicate".into();
        log.error = Some(format!("replayed the answer of {}", first.invocation_id));
        let invocation_id = log.id.clone();
        let received_at = log.received_at;
        self.committer
            .commit_later(to_commit(log, "", Vec::new(), received_at));
        let mut headers = vec![(DUPLICATE_HEADER.to_string(), first.invocation_id.clone())];
        if let Some(ct) = first.content_type {
            headers.push(("content-type".into(), ct));
        }
        Served {
            invocation_id: Some(invocation_id),
            reply: Reply::Handler(Response {
                status: first.status,
                headers,
                body: first.body,
            }),
        }
    }

    async fn finish(
        &self,
        mut log: InvocationRecord,
        status: u16,
        code: &'static str,
        message: String,
    ) -> Served {
        log.status = status;
        log.outcome = code.to_string();
        log.error = Some(message.clone());
        let invocation_id = log.id.clone();
        let received_at = log.received_at;
        self.committer
            .commit_later(to_commit(log, "", Vec::new(), received_at));
        Served {
            invocation_id: Some(invocation_id),
            reply: Reply::Error {
                status,
                code,
                message,
            },
        }
    }
}

/// A request as `capture` keeps it.
pub(crate) fn capture_request(request: &Request) -> CapturedRequest {
    let (body_base64, body_bytes) = capture_body(&request.body, CAPTURE_BODY_BYTES);
    CapturedRequest {
        method: request.method.clone(),
        path: request.path.clone(),
        query: request.query.clone(),
        headers: request.headers.clone(),
        body_base64,
        body_bytes,
    }
}

/// The invocation's log record with what its handler emitted and
/// published, in workspace `ws` (the webhook's).
fn to_commit(
    mut log: InvocationRecord,
    ws: &str,
    records: Vec<GuestRecord>,
    at: DateTime<Utc>,
) -> InvocationCommit {
    let mut emissions = Vec::new();
    let mut events = Vec::new();
    let mut webhooks = Vec::new();
    for record in records {
        match record {
            GuestRecord::Emission { entity_type, data } => emissions.push(EmissionRecord {
                workspace_id: ws.to_string(),
                id: ids::new("em").0,
                entity_type,
                data,
                webhook_id: log.webhook_id.clone(),
                invocation_id: log.id.clone(),
                created_at: at,
            }),
            GuestRecord::Event { event_type, data } => events.push(EventRecord {
                workspace_id: ws.to_string(),
                id: ids::new("evt").0,
                event_type,
                data,
                created_at: at,
                source: Some(EventSource {
                    webhook_id: log.webhook_id.clone(),
                    invocation_id: log.id.clone(),
                }),
            }),
            GuestRecord::Webhook {
                id,
                module,
                payload,
                description,
            } => webhooks.push(WebhookRecord {
                capture: false,
                workspace_id: ws.to_string(),
                id,
                module,
                payload: payload.and_then(|p| serde_json::from_str(p.get()).ok()),
                description,
                enabled: true,
                verify: None,
                dedup: None,
                outbound_hosts: Vec::new(),
                reuse_instances: false,
                created_at: at,
                updated_at: at,
            }),
        }
    }
    log.emitted = emissions.len() as u32;
    log.published = events.len() as u32;
    log.registered = webhooks.iter().map(|w| w.id.clone()).collect();
    InvocationCommit {
        invocation: log,
        emissions,
        events,
        webhooks,
    }
}

/// Follow-up webhooks of one invocation: checked against the registry and
/// the workspace's quota when the handler asks, stored with its commit.
struct FollowUps {
    registry: Arc<Registry>,
    tenancy: Arc<Tenancy>,
    workspace_id: String,
    /// The invoking module, the default for a follow-up.
    module: String,
    public_url: Arc<str>,
    /// Registered so far by this invocation: places reserved under the
    /// workspace's quota, given back when this is dropped (after commit).
    pending: std::sync::atomic::AtomicUsize,
}

impl Drop for FollowUps {
    fn drop(&mut self) {
        let n = *self.pending.get_mut();
        if n > 0 {
            self.registry.release_follow_ups(&self.workspace_id, n);
        }
    }
}

impl WebhookFactory for FollowUps {
    fn prepare(
        &self,
        module: Option<&str>,
        payload: Option<&serde_json::value::RawValue>,
    ) -> Result<(String, String, String), String> {
        use std::sync::atomic::Ordering;
        let module = module.unwrap_or(&self.module);
        let max_webhooks = self
            .tenancy
            .workspace(&self.workspace_id)
            .and_then(|w| w.quotas.max_webhooks)
            .map(|m| m as usize);
        self.registry.reserve_follow_up(
            &self.workspace_id,
            module,
            payload.map_or(0, |p| p.get().len()),
            max_webhooks,
        )?;
        self.pending.fetch_add(1, Ordering::Relaxed);
        let id = crate::registry::new_webhook_id();
        let url = format!("{}/hooks/{id}", self.public_url);
        Ok((id, url, module.to_string()))
    }
}

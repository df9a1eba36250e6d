//! Running an outbound transform: one outgoing message through a
//! `hookhost:transformer` component in a fresh sandbox with the transform
//! limits.

use super::compile::World;
use super::invoke::{BACKSTOP_SLACK, Failure, FailureKind, classify};
use super::sandbox::LimitExceeded;
use super::transformer_bindings::hookhost::transformer::types;
use super::{CompiledHandler, Runtime};
use std::time::{Duration, Instant};

/// An outgoing message, before it is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The event's type.
    pub event_type: String,
    /// The body to send.
    pub body: String,
    /// Where to send it.
    pub url: String,
    /// Custom headers (lower-case names).
    pub headers: Vec<(String, String)>,
}

/// What a transform decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransformOutcome {
    /// Send this message.
    Send(Message),
    /// Send nothing to this endpoint.
    Skip,
}

/// The result of one transform call.
#[derive(Debug)]
pub struct Transformed {
    /// The decision, or why there is none (the transform's own error is a
    /// [`FailureKind::Trap`]-kind failure with its message).
    pub outcome: Result<TransformOutcome, Failure>,
    /// Captured stdout and stderr (bounded).
    pub output: String,
    /// Wall time, instantiation included.
    pub duration: Duration,
}

impl Runtime {
    /// Runs `msg` through `transform` in a fresh sandbox under the
    /// transform limits. Never panics on guest behaviour.
    pub async fn transform(&self, transform: &CompiledHandler, msg: Message) -> Transformed {
        let started = Instant::now();
        let limits = self.limits.for_transforms();
        let timeout = limits.timeout;
        // Transforms get no grants: no outgoing calls, no webhooks.
        let mut store = self.sandboxed_store(&limits, started, Default::default(), &[]);
        let input = types::Message {
            event_type: msg.event_type.clone(),
            body: msg.body,
            url: msg.url,
            headers: msg.headers,
        };
        let call = async {
            let World::Transformer(pre) = &transform.world else {
                return Err(wasmtime::Error::msg(
                    "this module is a webhook handler, not an outbound transform",
                ));
            };
            let instance = pre.instantiate_async(&mut store).await?;
            instance.call_transform(&mut store, &input).await
        };
        let result = match tokio::time::timeout(timeout + BACKSTOP_SLACK, call).await {
            Ok(r) => r,
            Err(_) => Err(LimitExceeded::Timeout(timeout.as_millis()).into()),
        };
        let (output, _) = store.data_mut().output.take();
        let outcome = match result {
            Ok(Ok(types::Outcome::Send(m))) => Ok(TransformOutcome::Send(Message {
                // The type is the event's; a transform cannot change it.
                event_type: msg.event_type,
                body: m.body,
                url: m.url,
                headers: m.headers,
            })),
            Ok(Ok(types::Outcome::Skip)) => Ok(TransformOutcome::Skip),
            Ok(Err(message)) => Err(Failure {
                kind: FailureKind::Trap,
                message: format!("the transform returned an error: {message}"),
            }),
            Err(e) => {
                let mut f = classify(&e);
                f.message = f.message.replacen("handler", "transform", 1);
                Err(f)
            }
        };
        Transformed {
            outcome,
            output,
            duration: started.elapsed(),
        }
    }
}

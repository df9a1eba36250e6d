//! A mock host for unit-testing handler logic natively with `cargo test`.
//!
//! Outside `wasm32`, [`crate::host`] calls land here (per thread). [`run`]
//! calls a handler and returns what it answered and what the real host would
//! have committed, applying the same rule: emissions and events count only
//! when the handler returns `Ok`.

use crate::host::{FetchRequest, FetchResponse, LogLevel, RegisteredWebhook};
use crate::{Context, Handler, HandlerError, Request, Response};
use serde_json::Value;
use std::cell::RefCell;

/// What one handler call did, as the host would see it.
#[derive(Debug)]
pub struct MockRun {
    /// The handler's result.
    pub result: Result<Response, HandlerError>,
    /// Committed emissions: `(entity_type, data)`; empty when `result` is `Err`.
    pub emissions: Vec<(String, Value)>,
    /// Committed events: `(event_type, data)`; empty when `result` is `Err`.
    pub events: Vec<(String, Value)>,
    /// Log lines, kept whatever the result.
    pub logs: Vec<(LogLevel, String)>,
    /// Requests sent with [`crate::host::fetch`], whatever the result.
    pub fetched: Vec<FetchRequest>,
    /// Follow-up webhooks registered: `(module, payload, url)`; empty when
    /// `result` is `Err`.
    pub webhooks: Vec<(Option<String>, Option<Value>, String)>,
}

/// Answers the mock's [`crate::host::fetch`] calls.
pub type FetchMock = Box<dyn FnMut(&FetchRequest) -> Result<FetchResponse, String>>;

#[derive(Default)]
struct Recorded {
    emissions: Vec<(String, Value)>,
    events: Vec<(String, Value)>,
    logs: Vec<(LogLevel, String)>,
    fetched: Vec<FetchRequest>,
    webhooks: Vec<(Option<String>, Option<Value>, String)>,
}

thread_local! {
    static RECORDED: RefCell<Recorded> = RefCell::new(Recorded::default());
    static FETCH: RefCell<Option<FetchMock>> = const { RefCell::new(None) };
}

/// Makes the mock answer `fetch` calls of this thread with `answer` (until
/// replaced); without one, every call fails as if no host were allowed.
pub fn mock_fetch(answer: impl FnMut(&FetchRequest) -> Result<FetchResponse, String> + 'static) {
    FETCH.with(|f| *f.borrow_mut() = Some(Box::new(answer)));
}

/// Calls `H::handle(req, ctx)` against the mock host.
pub fn run<H: Handler>(req: Request, ctx: Context) -> MockRun {
    RECORDED.with(|r| *r.borrow_mut() = Recorded::default());
    let result = H::handle(req, ctx);
    let recorded = RECORDED.with(|r| std::mem::take(&mut *r.borrow_mut()));
    let ok = result.is_ok();
    MockRun {
        result,
        emissions: if ok { recorded.emissions } else { Vec::new() },
        events: if ok { recorded.events } else { Vec::new() },
        logs: recorded.logs,
        fetched: recorded.fetched,
        webhooks: if ok { recorded.webhooks } else { Vec::new() },
    }
}

pub(crate) fn record_fetch(req: FetchRequest) -> Result<FetchResponse, String> {
    RECORDED.with(|r| r.borrow_mut().fetched.push(req.clone()));
    FETCH.with(|f| match f.borrow_mut().as_mut() {
        Some(answer) => answer(&req),
        None => Err("no host is allowed (call testing::mock_fetch first)".into()),
    })
}

pub(crate) fn record_webhook(
    module: Option<&str>,
    payload: Option<&str>,
    _description: &str,
) -> Result<RegisteredWebhook, String> {
    let payload = payload.map(parse).transpose()?;
    RECORDED.with(|r| {
        let mut r = r.borrow_mut();
        let id = format!("wh_test_{}", r.webhooks.len() + 1);
        let url = format!("https://hookhost.test/hooks/{id}");
        r.webhooks
            .push((module.map(Into::into), payload, url.clone()));
        Ok(RegisteredWebhook { id, url })
    })
}

fn parse(json: &str) -> Result<Value, String> {
    serde_json::from_str(json).map_err(|e| format!("data is not valid JSON: {e}"))
}

pub(crate) fn record_emit(entity_type: &str, json: &str) -> Result<(), String> {
    let value = parse(json)?;
    RECORDED.with(|r| r.borrow_mut().emissions.push((entity_type.into(), value)));
    Ok(())
}

pub(crate) fn record_publish(event_type: &str, json: &str) -> Result<(), String> {
    if event_type.is_empty() {
        return Err("event type must not be empty".into());
    }
    let value = parse(json)?;
    RECORDED.with(|r| r.borrow_mut().events.push((event_type.into(), value)));
    Ok(())
}

pub(crate) fn record_log(level: LogLevel, message: &str) {
    RECORDED.with(|r| r.borrow_mut().logs.push((level, message.into())));
}

//! Calls into the host: emit entities, publish events, log, call out over
//! HTTP ([`fetch`]) and register follow-up webhooks ([`register_webhook`]).
//!
//! On `wasm32` these call the hookhost host; elsewhere they record into the
//! [`crate::testing`] mock.

use serde::Serialize;

/// Severity of a [`log`] message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Finest detail.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected but handled.
    Warn,
    /// A failure.
    Error,
}

/// Records an emission of `entity_type` with `data` serialized as JSON.
/// Committed only if the handler returns `Ok`.
pub fn emit<T: Serialize + ?Sized>(entity_type: &str, data: &T) -> Result<(), String> {
    let json = serde_json::to_string(data).map_err(|e| e.to_string())?;
    emit_json(entity_type, &json)
}

/// Publishes an outbound event of `event_type` with `data` serialized as
/// JSON. Committed only if the handler returns `Ok`.
pub fn publish<T: Serialize + ?Sized>(event_type: &str, data: &T) -> Result<(), String> {
    let json = serde_json::to_string(data).map_err(|e| e.to_string())?;
    publish_json(event_type, &json)
}

/// Writes `message` to the host's log, tagged with the invocation.
pub fn log(level: LogLevel, message: &str) {
    imp::log(level, message)
}

/// [`emit`] with data that is already JSON text.
pub fn emit_json(entity_type: &str, json: &str) -> Result<(), String> {
    imp::emit(entity_type, json)
}

/// [`publish`] with data that is already JSON text.
pub fn publish_json(event_type: &str, json: &str) -> Result<(), String> {
    imp::publish(event_type, json)
}

/// An HTTP request for [`fetch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    /// Method, e.g. `GET`.
    pub method: String,
    /// Absolute `http://` or `https://` URL; its host must be in the
    /// webhook's `outbound_hosts`.
    pub url: String,
    /// Request headers.
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Vec<u8>,
}

impl FetchRequest {
    /// A request of `method` to `url`, without headers or body.
    pub fn new(method: &str, url: &str) -> Self {
        Self {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// `GET url`.
    pub fn get(url: &str) -> Self {
        Self::new("GET", url)
    }

    /// `POST url` with `value` as a JSON body.
    pub fn post_json<T: Serialize + ?Sized>(url: &str, value: &T) -> Result<Self, String> {
        let body = serde_json::to_vec(value).map_err(|e| e.to_string())?;
        Ok(Self::new("POST", url)
            .with_header("content-type", "application/json")
            .with_body(body))
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }
}

/// The whole answer to a [`fetch`]. Redirects are not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl FetchResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, String> {
        serde_json::from_slice(&self.body)
            .map_err(|e| format!("response is not the JSON expected: {e}"))
    }
}

/// Sends an HTTP request and waits for the whole answer. Allowed only to
/// the hosts of the webhook's `outbound_hosts`; its time counts against the
/// invocation's deadline. `Err` says why it failed or was refused.
pub fn fetch(req: FetchRequest) -> Result<FetchResponse, String> {
    imp::fetch(req)
}

/// A webhook registered by [`register_webhook`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredWebhook {
    /// Its id.
    pub id: String,
    /// Its URL, to hand to the system that will call it.
    pub url: String,
}

/// Registers a follow-up webhook in this webhook's workspace, handled by
/// `module` (`None`: the module running now) with `payload` as its
/// context, and returns its URL. It exists only if this invocation
/// succeeds (returns `Ok`), like emissions.
pub fn register_webhook<T: Serialize + ?Sized>(
    module: Option<&str>,
    payload: Option<&T>,
    description: &str,
) -> Result<RegisteredWebhook, String> {
    let payload = payload
        .map(|p| serde_json::to_string(p).map_err(|e| e.to_string()))
        .transpose()?;
    imp::register_webhook(module, payload.as_deref(), description)
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::{FetchRequest, FetchResponse, LogLevel, RegisteredWebhook};
    use crate::bindings::hookhost::handler::{host, types};

    pub fn fetch(req: FetchRequest) -> Result<FetchResponse, String> {
        host::fetch(&types::OutgoingRequest {
            method: req.method,
            url: req.url,
            headers: req.headers,
            body: req.body,
        })
        .map(|r| FetchResponse {
            status: r.status,
            headers: r.headers,
            body: r.body,
        })
    }

    pub fn register_webhook(
        module: Option<&str>,
        payload: Option<&str>,
        description: &str,
    ) -> Result<RegisteredWebhook, String> {
        host::register_webhook(&types::NewWebhook {
            module: module.map(Into::into),
            payload: payload.map(Into::into),
            description: description.into(),
        })
        .map(|w| RegisteredWebhook {
            id: w.id,
            url: w.url,
        })
    }

    pub fn emit(entity_type: &str, json: &str) -> Result<(), String> {
        host::emit(entity_type, json)
    }

    pub fn publish(event_type: &str, json: &str) -> Result<(), String> {
        host::publish(event_type, json)
    }

    pub fn log(level: LogLevel, message: &str) {
        let level = match level {
            LogLevel::Trace => types::LogLevel::Trace,
            LogLevel::Debug => types::LogLevel::Debug,
            LogLevel::Info => types::LogLevel::Info,
            LogLevel::Warn => types::LogLevel::Warn,
            LogLevel::Error => types::LogLevel::Error,
        };
        host::log(level, message)
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::{FetchRequest, FetchResponse, LogLevel, RegisteredWebhook};
    use crate::testing;

    pub fn fetch(req: FetchRequest) -> Result<FetchResponse, String> {
        testing::record_fetch(req)
    }

    pub fn register_webhook(
        module: Option<&str>,
        payload: Option<&str>,
        description: &str,
    ) -> Result<RegisteredWebhook, String> {
        testing::record_webhook(module, payload, description)
    }

    pub fn emit(entity_type: &str, json: &str) -> Result<(), String> {
        testing::record_emit(entity_type, json)
    }

    pub fn publish(event_type: &str, json: &str) -> Result<(), String> {
        testing::record_publish(event_type, json)
    }

    pub fn log(level: LogLevel, message: &str) {
        testing::record_log(level, message)
    }
}

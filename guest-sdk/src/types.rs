//! Ergonomic request, response, context and error types.

use crate::bindings;
use serde::Serialize;
use serde::de::DeserializeOwned;

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// An HTTP request received on the webhook URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// Method in upper case.
    pub method: String,
    /// Path below the webhook URL, starting with `/`.
    pub path: String,
    /// Raw query string without `?`.
    pub query: String,
    /// Headers in arrival order; names lower case.
    pub headers: Vec<(String, String)>,
    /// Raw body.
    pub body: Vec<u8>,
}

impl Request {
    /// A request with this method and path and nothing else (for tests).
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            method: method.into(),
            path: path.into(),
            ..Self::default()
        }
    }

    /// Adds a header (for tests); the name is lower-cased like the host does.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// Sets the body (for tests).
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The body as UTF-8 text; `bad-request` otherwise.
    pub fn text(&self) -> Result<&str, HandlerError> {
        std::str::from_utf8(&self.body)
            .map_err(|_| HandlerError::BadRequest("body is not UTF-8 text".into()))
    }

    /// The body parsed as JSON into `T`; `bad-request` with serde's message
    /// (which names the missing or mistyped field) otherwise.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HandlerError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| HandlerError::BadRequest(format!("invalid JSON body: {e}")))
    }
}

/// The response sent back to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// An empty response with `status`.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A `text/plain` response.
    pub fn text(status: u16, text: impl Into<String>) -> Self {
        Self::new(status)
            .with_header("content-type", "text/plain; charset=utf-8")
            .with_body(text.into())
    }

    /// An `application/json` response with `value` serialized.
    pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> Result<Self, HandlerError> {
        let body = serde_json::to_vec(value).map_err(|e| HandlerError::Internal(e.to_string()))?;
        Ok(Self::new(status)
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

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The body parsed as JSON (for tests).
    pub fn body_json(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
    }
}

/// What the host knows about this invocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// Id of the webhook whose URL was called.
    pub webhook_id: String,
    /// Id of this invocation.
    pub invocation_id: String,
    /// The payload stored with the webhook, as JSON text.
    pub payload: Option<String>,
    /// Receive time, milliseconds since the Unix epoch.
    pub received_at_ms: u64,
}

impl Context {
    /// A context with fixed ids and `payload` (for tests).
    pub fn for_test(payload: Option<serde_json::Value>) -> Self {
        Self {
            webhook_id: "wh_test".into(),
            invocation_id: "inv_test".into(),
            payload: payload.map(|p| p.to_string()),
            received_at_ms: 1_700_000_000_000,
        }
    }

    /// The payload parsed into `T`; `internal` error when it does not fit
    /// (the payload is set by whoever registered the webhook, not the caller).
    pub fn payload<T: DeserializeOwned>(&self) -> Result<Option<T>, HandlerError> {
        self.payload
            .as_deref()
            .map(|p| {
                serde_json::from_str(p)
                    .map_err(|e| HandlerError::Internal(format!("webhook payload: {e}")))
            })
            .transpose()
    }

    /// The payload as a JSON value (`null` when absent).
    pub fn payload_value(&self) -> serde_json::Value {
        self.payload
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or(serde_json::Value::Null)
    }
}

/// A failure the handler reports on purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandlerError {
    /// 400 with this message.
    BadRequest(String),
    /// 401 with this message.
    Unauthorized(String),
    /// 500 with this message.
    Internal(String),
}

impl std::fmt::Display for HandlerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HandlerError::BadRequest(m) => write!(f, "bad request: {m}"),
            HandlerError::Unauthorized(m) => write!(f, "unauthorized: {m}"),
            HandlerError::Internal(m) => write!(f, "internal: {m}"),
        }
    }
}

impl std::error::Error for HandlerError {}

impl From<bindings::Request> for Request {
    fn from(r: bindings::Request) -> Self {
        Self {
            method: r.method,
            path: r.path,
            query: r.query,
            headers: r.headers,
            body: r.body,
        }
    }
}

impl From<bindings::Context> for Context {
    fn from(c: bindings::Context) -> Self {
        Self {
            webhook_id: c.webhook_id,
            invocation_id: c.invocation_id,
            payload: c.payload,
            received_at_ms: c.received_at_ms,
        }
    }
}

impl From<Response> for bindings::Response {
    fn from(r: Response) -> Self {
        Self {
            status: r.status,
            headers: r.headers,
            body: r.body,
        }
    }
}

impl From<HandlerError> for bindings::HandlerError {
    fn from(e: HandlerError) -> Self {
        match e {
            HandlerError::BadRequest(m) => Self::BadRequest(m),
            HandlerError::Unauthorized(m) => Self::Unauthorized(m),
            HandlerError::Internal(m) => Self::Internal(m),
        }
    }
}

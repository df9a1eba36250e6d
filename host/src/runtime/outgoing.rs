//! What a handler may do beyond answering: outgoing HTTP to the hosts its
//! webhook allows (`host.fetch` and `wasi:http/outgoing-handler`, one
//! policy for both) and registering follow-up webhooks.
//!
//! Outgoing calls go through the same address guard and allowlist as
//! deliveries (the client is built by the server with the delivery
//! module's guarded resolver), never through a proxy, and never follow
//! redirects. Their time counts against the invocation's deadline.

use crate::delivery::guard::AddressGuard;
use crate::store::OutboundCall;
use bytes::Bytes;
use serde_json::value::RawValue;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Most outgoing calls one invocation may make.
pub const DEFAULT_MAX_CALLS: usize = 8;
/// Most bytes of one call's request body and of its response body.
pub const DEFAULT_MAX_CALL_BYTES: usize = 1 << 20;
/// Most follow-up webhooks one invocation may register.
pub const MAX_FOLLOW_UP_WEBHOOKS: usize = 5;
/// Most entries of a webhook's `outbound_hosts`.
pub const MAX_OUTBOUND_HOSTS: usize = 32;
/// Refused calls beyond the call limit that are still logged; the rest are
/// refused without a trace (a guest looping on them gains nothing).
const LOGGED_BEYOND_LIMIT: usize = 8;
/// Most bytes of a logged call's host and of its path.
const LOGGED_FIELD_BYTES: usize = 256;

/// The HTTP client outgoing calls use, with the guard it was built with
/// (literal IP addresses skip the resolver, so they are checked here).
#[derive(Clone)]
pub struct Egress {
    /// No proxy, no redirects, DNS answers filtered by `guard`.
    pub client: reqwest::Client,
    /// The deliveries' address guard and allowlist.
    pub guard: AddressGuard,
}

/// One allowed destination of a webhook's `outbound_hosts`: a host name or
/// IP address, optionally with a port (without one, any port), or
/// `*.example.com` for every subdomain of `example.com`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRule {
    host: String,
    wildcard: bool,
    port: Option<u16>,
}

impl HostRule {
    /// Parses `api.example.com`, `api.example.com:8443`, `127.0.0.1:9000`,
    /// `[::1]:9000` or `*.example.com`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("invalid outbound host {s:?}: {why}");
        if s.is_empty() || s.len() > 261 {
            return Err(bad("expected host or host:port"));
        }
        if s.contains("://") || s.contains('/') || s.contains('@') {
            return Err(bad("give host or host:port, not a URL"));
        }
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (h, tail) = rest.split_once(']').ok_or_else(|| bad("unclosed ["))?;
            let port = match tail {
                "" => None,
                t => Some(t.strip_prefix(':').ok_or_else(|| bad("expected :port"))?),
            };
            (format!("[{h}]"), port)
        } else {
            match s.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (s.to_string(), None),
            }
        };
        let port = port
            .map(|p| p.parse::<u16>().ok().filter(|p| *p > 0))
            .map(|p| p.ok_or_else(|| bad("invalid port")))
            .transpose()?;
        let (wildcard, name) = match host.strip_prefix("*.") {
            Some(rest) => (true, rest.to_string()),
            None => (false, host),
        };
        // Checked as a URL host would be: names, IPv4 and bracketed IPv6.
        let url = format!("http://{name}/");
        let parsed = reqwest::Url::parse(&url).map_err(|_| bad("not a host name or address"))?;
        let normal = parsed.host_str().ok_or_else(|| bad("no host"))?.to_string();
        if normal.is_empty() || (wildcard && normal.parse::<std::net::IpAddr>().is_ok()) {
            return Err(bad("not a host name or address"));
        }
        Ok(Self {
            host: normal,
            wildcard,
            port,
        })
    }

    /// Whether a request to `host` (as a URL gives it, lower case) on
    /// `port` is allowed by this rule.
    pub fn allows(&self, host: &str, port: u16) -> bool {
        if self.port.is_some_and(|p| p != port) {
            return false;
        }
        if self.wildcard {
            host.len() > self.host.len() + 1
                && host.ends_with(&self.host)
                && host.as_bytes()[host.len() - self.host.len() - 1] == b'.'
        } else {
            host == self.host
        }
    }
}

/// Parses and checks a webhook's `outbound_hosts`.
pub fn parse_outbound_hosts(list: &[String]) -> Result<Vec<HostRule>, String> {
    if list.len() > MAX_OUTBOUND_HOSTS {
        return Err(format!(
            "outbound_hosts has {} entries; at most {MAX_OUTBOUND_HOSTS}",
            list.len()
        ));
    }
    list.iter().map(|s| HostRule::parse(s)).collect()
}

/// Registers follow-up webhooks for one invocation: the inbound layer
/// implements it with the registry, the workspace and the public URL.
pub trait WebhookFactory: Send + Sync {
    /// Checks a follow-up webhook for `module` (`None`: the invoking
    /// module) with `payload`, and returns its new id, its URL and the
    /// module name, or why it is refused. Nothing is stored here.
    fn prepare(
        &self,
        module: Option<&str>,
        payload: Option<&RawValue>,
    ) -> Result<(String, String, String), String>;
}

/// What one invocation may do beyond answering. The default grants
/// nothing: no outgoing calls, no follow-up webhooks.
#[derive(Clone, Default)]
pub struct Grants {
    /// Hosts outgoing calls may reach; empty denies every call.
    pub outbound_hosts: Arc<[HostRule]>,
    /// Where follow-up webhooks are registered; `None` refuses them.
    pub webhooks: Option<Arc<dyn WebhookFactory>>,
}

/// Outgoing-call state of one invocation.
pub(super) struct Outgoing {
    rules: Arc<[HostRule]>,
    egress: Option<Arc<Egress>>,
    deadline: Instant,
    max_calls: usize,
    max_bytes: usize,
    started: usize,
    /// Finished calls, in order of completion (shared with calls running on
    /// other tasks).
    pub(super) calls: Arc<Mutex<Vec<OutboundCall>>>,
}

/// A call admitted by the policy, ready to send.
pub(super) struct Admitted {
    client: reqwest::Client,
    deadline: Instant,
    max_bytes: usize,
    calls: Arc<Mutex<Vec<OutboundCall>>>,
    method: String,
    host: String,
    path: String,
}

/// A whole response of an outgoing call.
pub(super) struct Fetched {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

/// Why an outgoing call failed, in the terms `wasi:http` has for it.
#[derive(Debug)]
pub(super) enum CallError {
    /// The policy refused it (host not allowed, too many calls, guard).
    Denied(String),
    /// The invocation's deadline passed.
    Timeout,
    /// The request or response body exceeded the per-call limit.
    TooLarge(String),
    /// Anything else (connection refused, DNS, TLS, ...).
    Failed(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Denied(m) | CallError::TooLarge(m) | CallError::Failed(m) => f.write_str(m),
            CallError::Timeout => f.write_str("the invocation's time limit passed during the call"),
        }
    }
}

impl Outgoing {
    pub(super) fn new(
        rules: Arc<[HostRule]>,
        egress: Option<Arc<Egress>>,
        deadline: Instant,
        max_calls: usize,
        max_bytes: usize,
    ) -> Self {
        Self {
            rules,
            egress,
            deadline,
            max_calls,
            max_bytes,
            started: 0,
            calls: Arc::default(),
        }
    }

    /// Checks a call to `url` against the webhook's hosts, the call limit
    /// and (for literal addresses) the guard. A refused call is recorded.
    pub(super) fn admit(
        &mut self,
        method: &str,
        url: &reqwest::Url,
    ) -> Result<Admitted, CallError> {
        let host = url.host_str().unwrap_or_default().to_string();
        let path = url.path().to_string();
        let port = url.port_or_known_default().unwrap_or(80);
        // As the log shows it: with the port when the URL names one.
        let shown = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        // Every call counts, refused or not: the limit bounds what a guest
        // can make the host do and keep.
        self.started += 1;
        let refuse = |this: &Self, why: String| {
            this.record(OutboundCall {
                method: truncated(method),
                host: truncated(&shown),
                path: truncated(&path),
                status: None,
                error: Some(why.clone()),
                duration_ms: 0.0,
            });
            Err(CallError::Denied(why))
        };
        if self.started > self.max_calls {
            return refuse(
                self,
                format!(
                    "more than {} outgoing calls in one invocation",
                    self.max_calls
                ),
            );
        }
        if !matches!(url.scheme(), "http" | "https") || host.is_empty() {
            return refuse(
                self,
                format!(
                    "only http:// and https:// URLs with a host may be fetched, not {}:",
                    url.scheme()
                ),
            );
        }
        if !self.rules.iter().any(|r| r.allows(&host, port)) {
            return refuse(
                self,
                format!(
                    "{host}:{port} is not in this webhook's outbound_hosts{}",
                    if self.rules.is_empty() {
                        " (none are allowed)"
                    } else {
                        ""
                    }
                ),
            );
        }
        let Some(egress) = &self.egress else {
            return refuse(self, "outgoing calls are not available here".into());
        };
        if let Some(why) = crate::delivery::http::refused_literal(&egress.guard, url.as_str()) {
            return refuse(self, why);
        }
        Ok(Admitted {
            client: egress.client.clone(),
            deadline: self.deadline,
            max_bytes: self.max_bytes,
            calls: self.calls.clone(),
            method: truncated(method),
            host: truncated(&shown),
            path: truncated(&path),
        })
    }

    fn record(&self, call: OutboundCall) {
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        if calls.len() < self.max_calls + LOGGED_BEYOND_LIMIT {
            calls.push(call);
        }
    }

    /// The calls made so far.
    pub(super) fn take_calls(&self) -> Vec<OutboundCall> {
        std::mem::take(&mut *self.calls.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Admitted {
    /// The per-call body limit.
    pub(super) fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Records the call as failed before it was sent.
    pub(super) fn fail(self, why: String) -> CallError {
        self.log(None, Some(why.clone()), 0.0);
        CallError::TooLarge(why)
    }

    fn log(&self, status: Option<u16>, error: Option<String>, duration_ms: f64) {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(OutboundCall {
                method: self.method.clone(),
                host: self.host.clone(),
                path: self.path.clone(),
                status,
                error,
                duration_ms,
            });
    }

    /// Sends `request` and reads the whole answer, within the invocation's
    /// deadline and the per-call byte limit; records the call.
    pub(super) async fn send(self, mut request: reqwest::Request) -> Result<Fetched, CallError> {
        let started = Instant::now();
        let remaining = self.deadline.saturating_duration_since(started);
        *request.timeout_mut() = Some(remaining.max(Duration::from_millis(1)));
        let result = tokio::time::timeout(remaining, self.exchange(request))
            .await
            .unwrap_or(Err(CallError::Timeout));
        let (status, error) = match &result {
            Ok(f) => (Some(f.status), None),
            Err(e) => (None, Some(e.to_string())),
        };
        self.log(status, error, started.elapsed().as_secs_f64() * 1000.0);
        result
    }

    async fn exchange(&self, request: reqwest::Request) -> Result<Fetched, CallError> {
        let mut response = self.client.execute(request).await.map_err(|e| {
            if e.is_timeout() {
                CallError::Timeout
            } else {
                // Without the URL: its query may hold credentials.
                CallError::Failed(format!("{:#}", e.without_url()))
            }
        })?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        if response
            .content_length()
            .is_some_and(|n| n > self.max_bytes as u64)
        {
            return Err(self.too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            if e.is_timeout() {
                CallError::Timeout
            } else {
                CallError::Failed(format!("reading the response: {:#}", e.without_url()))
            }
        })? {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(self.too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            status,
            headers,
            body: body.into(),
        })
    }

    fn too_large(&self) -> CallError {
        CallError::TooLarge(format!(
            "the response body exceeds the limit of {} bytes per call",
            self.max_bytes
        ))
    }
}

/// `wasi:http/outgoing-handler` under the same policy as `host.fetch`:
/// the request is admitted by [`Outgoing::admit`], its body read up to the
/// per-call limit, and sent with hookhost's guarded client.
impl wasmtime_wasi_http::WasiHttpHooks for Outgoing {
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = wasmtime_wasi_http::Result<(
                    http::Response<wasmtime_wasi_http::WasiBody>,
                    Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                )>,
            > + Send,
    > {
        use http_body_util::BodyExt;
        use wasmtime_wasi_http::Error as WasiError;
        let url = reqwest::Url::parse(&request.uri().to_string());
        let admitted = match &url {
            Ok(url) => self.admit(request.method().as_str(), url),
            Err(e) => Err(CallError::Denied(format!("invalid URL: {e}"))),
        };
        let to_wasi = |e: CallError| match e {
            CallError::Denied(_) => WasiError::HttpRequestDenied,
            CallError::Timeout => WasiError::ConnectionTimeout,
            CallError::TooLarge(_) => WasiError::HttpResponseBodySize(None),
            CallError::Failed(m) => WasiError::InternalError(Some(m)),
        };
        Box::new(async move {
            let admitted = admitted.map_err(to_wasi)?;
            let url = url.map_err(|e| WasiError::InternalError(Some(e.to_string())))?;
            let (parts, body) = request.into_parts();
            let max = admitted.max_bytes();
            let body = match http_body_util::Limited::new(body, max).collect().await {
                Ok(body) => body.to_bytes(),
                Err(_) => {
                    admitted.fail(format!(
                        "the request body exceeds the limit of {max} bytes per call"
                    ));
                    return Err(WasiError::HttpRequestBodySize(None));
                }
            };
            let mut outgoing = reqwest::Request::new(parts.method, url);
            let mut headers = parts.headers;
            // The client sets the host from the URL it connects to.
            headers.remove(http::header::HOST);
            *outgoing.headers_mut() = headers;
            *outgoing.body_mut() = Some(body.into());
            let fetched = admitted.send(outgoing).await.map_err(to_wasi)?;
            let mut response = http::Response::builder().status(fetched.status);
            for (k, v) in &fetched.headers {
                response = response.header(k, v);
            }
            let body = http_body_util::Full::new(fetched.body)
                .map_err(|never| match never {})
                .boxed_unsync();
            let response = response
                .body(body)
                .map_err(|e| WasiError::InternalError(Some(e.to_string())))?;
            let io: Box<dyn Future<Output = Result<(), WasiError>> + Send> =
                Box::new(async { Ok(()) });
            Ok((response, io))
        })
    }
}

/// `s`, cut to [`LOGGED_FIELD_BYTES`] on a character boundary.
fn truncated(s: &str) -> String {
    let mut end = s.len().min(LOGGED_FIELD_BYTES);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// Request headers a handler may not set on an outgoing call: the client
/// sets the framing and the host, and proxy headers have no business here.
pub(super) fn forbidden_request_header(name: &str) -> bool {
    const FORBIDDEN: [&str; 9] = [
        "host",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "upgrade",
        "te",
        "proxy-authorization",
        "proxy-connection",
        "http2-settings",
    ];
    FORBIDDEN.iter().any(|f| f.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_rules_parse_and_match() {
        let r = HostRule::parse("API.example.com").unwrap();
        assert!(r.allows("api.example.com", 443));
        assert!(r.allows("api.example.com", 8080));
        assert!(!r.allows("evil-api.example.com", 443));
        assert!(!r.allows("api.example.com.evil.net", 443));

        let r = HostRule::parse("127.0.0.1:9000").unwrap();
        assert!(r.allows("127.0.0.1", 9000));
        assert!(!r.allows("127.0.0.1", 9001));

        let r = HostRule::parse("[::1]:9000").unwrap();
        assert!(r.allows("[::1]", 9000));

        let r = HostRule::parse("*.example.com").unwrap();
        assert!(r.allows("a.example.com", 443));
        assert!(r.allows("a.b.example.com", 443));
        assert!(!r.allows("example.com", 443));
        assert!(!r.allows("badexample.com", 443));

        for bad in [
            "",
            "http://a.com",
            "a.com/path",
            "a.com:0",
            "a.com:99999",
            "user@a.com",
            "*.127.0.0.1",
            "[::1",
            "a b.com",
        ] {
            assert!(HostRule::parse(bad).is_err(), "{bad:?}");
        }
        assert!(parse_outbound_hosts(&vec!["a.com".to_string(); 33]).is_err());
    }
}

//! Every default and limit in one place, with the reason for its value.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Default listen address: loopback only, so a fresh install is not exposed.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default data directory, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "hookhost-data";
/// File in the data directory holding the generated admin token.
pub const ADMIN_TOKEN_FILE: &str = "admin-token";

/// Linear memory a handler may grow to. Python components need ~30 MiB.
pub const DEFAULT_MEMORY_BYTES: usize = 64 << 20;
/// Wall time of one invocation, including instantiation.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// Largest request body passed to a handler (GitHub sends up to 25 MB, most
/// senders far less); larger requests get 413.
pub const DEFAULT_MAX_REQUEST_BODY: usize = 4 << 20;
/// Largest response body a handler may return; larger ones become a 502.
pub const DEFAULT_MAX_RESPONSE_BODY: usize = 4 << 20;
/// Emissions plus published events one invocation may record.
pub const DEFAULT_MAX_RECORDS: usize = 100;
/// Size of one emission's or event's JSON data.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 256 << 10;
/// Emissions plus published events of one invocation, in bytes (types and
/// data together).
pub const DEFAULT_MAX_RECORDS_TOTAL_BYTES: usize = 1 << 20;
/// Guest stdout + stderr + `log` text kept per invocation; the rest is dropped.
pub const DEFAULT_MAX_LOG_BYTES: usize = 16 << 10;
/// Invocations running at once; each holds a pooled instance slot. Requests
/// beyond this get 503 instead of queueing without bound.
pub const DEFAULT_MAX_CONCURRENT: u32 = 256;
/// Largest uploadable component (componentize-py output is ~18 MB).
pub const DEFAULT_MAX_MODULE_BYTES: usize = 100 << 20;
/// Invocation records kept per webhook; older ones are pruned.
pub const DEFAULT_INVOCATIONS_KEPT: usize = 1000;
/// Largest admin API JSON body.
pub const MAX_ADMIN_JSON_BYTES: usize = 1 << 20;
/// Largest stored webhook payload (it is copied into every invocation).
pub const MAX_PAYLOAD_BYTES: usize = 64 << 10;
/// Default and maximum page sizes of list endpoints.
pub const DEFAULT_PAGE: usize = 50;
/// Upper bound of `limit` on list endpoints.
pub const MAX_PAGE: usize = 1000;
/// Time a client has to send a request's headers, and the longest an idle
/// keep-alive connection is kept (hyper's header timer runs from the moment
/// it waits for the next request).
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(20);
/// Time a client has to send a webhook request's body once its headers
/// arrived (408 after).
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Open client connections per listener; beyond it new connections wait in
/// the kernel's backlog until one closes.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Most request headers a client may send.
pub const MAX_REQUEST_HEADERS: usize = 100;
/// Finished records (events, emissions, deliveries with their attempts,
/// invocations, idempotency keys, answers remembered for inbound
/// deduplication) older than this are removed.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);
/// Epoch tick of the interruption clock; timeouts are precise to about this.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Default retry schedule: the delay before each attempt (the first is
/// immediate); jittered by up to 10%.
pub const DEFAULT_RETRY_SCHEDULE: &str = "0s,5s,5m,30m,2h,5h,10h,10h";
/// Timeout of one delivery attempt.
pub const DEFAULT_DELIVERY_TIMEOUT: Duration = Duration::from_secs(15);
/// Delivery attempts in flight at once, over all endpoints.
pub const DEFAULT_DELIVERY_CONCURRENCY: usize = 64;
/// Delivery attempts in flight at once to one endpoint.
pub const DEFAULT_ENDPOINT_CONCURRENCY: usize = 4;
/// An endpoint failing without a success for this long is disabled.
pub const DEFAULT_DISABLE_AFTER: Duration = Duration::from_secs(5 * 24 * 3600);
/// How long a rotated-out secret keeps signing.
pub const DEFAULT_SECRET_GRACE: Duration = Duration::from_secs(24 * 3600);
/// Response body kept per attempt.
pub const ATTEMPT_BODY_BYTES: usize = 4096;
/// Longest `Retry-After` honoured; longer ones are capped.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);
/// Largest endpoint `filter`, serialized as compact JSON: it is evaluated
/// for every event, so it stays small.
pub const MAX_FILTER_BYTES: usize = 10 << 10;
/// Deepest JSON nesting of an endpoint `filter` (the filter object itself is
/// level 1): bounds the recursion of checking and matching it.
pub const MAX_FILTER_DEPTH: usize = 8;
/// Most custom `headers` of one endpoint. With the name and value bounds
/// below, they add at most ~11 KB to a request: under the 16 KiB of
/// request headers common servers take by default (Node's), beside ours.
/// (Only per-header bounds, so that the OpenAPI document can state them.)
pub const MAX_ENDPOINT_HEADERS: usize = 10;
/// Longest custom header name.
pub const MAX_HEADER_NAME_BYTES: usize = 64;
/// Longest custom header value (room for a bearer token or a JWT).
pub const MAX_HEADER_VALUE_BYTES: usize = 1024;

/// How far an inbound signature's timestamp may be from the host's clock
/// (either way) for the schemes that sign one (Stripe, Standard Webhooks,
/// Slack, `hmac` with a timestamp): the providers' own libraries default to
/// five minutes.
pub const DEFAULT_VERIFY_TOLERANCE: &str = "5m";
/// Extra secrets (besides `secret`) valid at once for an inbound
/// verification, for rotation.
pub const MAX_VERIFY_EXTRA_SECRETS: usize = 4;
/// How long a deduplication key replays the first answer, unless the
/// webhook says otherwise (Stripe, GitHub and Svix retry for up to 3 days;
/// most retries come within hours).
pub const DEFAULT_DEDUP_WINDOW: &str = "24h";
/// Body of a remembered answer kept for replay to duplicates; the rest is
/// cut (webhook answers are small: most senders ignore them).
pub const DEDUP_BODY_BYTES: usize = 64 << 10;

/// Default of `--delivery-lease`.
pub const DEFAULT_DELIVERY_LEASE: Duration = Duration::from_secs(60);

/// Outbound delivery settings.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Delay before each attempt; its length is the number of attempts.
    pub schedule: Vec<Duration>,
    /// Timeout of one attempt.
    pub timeout: Duration,
    /// How long a node holds a delivery it attempts before another node
    /// sharing the database may take it over (a node that died); longer
    /// than `timeout`.
    pub lease: Duration,
    /// Attempts in flight over all endpoints.
    pub concurrency: usize,
    /// Attempts in flight per endpoint.
    pub endpoint_concurrency: usize,
    /// Disable an endpoint failing continuously for this long.
    pub disable_after: Duration,
    /// Grace period of a rotated-out secret.
    pub secret_grace: Duration,
    /// CIDRs deliveries may reach although they are private/loopback.
    pub allowlist: Vec<ipnet::IpNet>,
    /// Explicit HTTP(S) proxy for deliveries (`--outbound-proxy`); the
    /// environment's proxy variables are never used.
    pub proxy: Option<String>,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            schedule: parse_schedule(DEFAULT_RETRY_SCHEDULE).expect("valid default schedule"),
            timeout: DEFAULT_DELIVERY_TIMEOUT,
            lease: DEFAULT_DELIVERY_LEASE,
            concurrency: DEFAULT_DELIVERY_CONCURRENCY,
            endpoint_concurrency: DEFAULT_ENDPOINT_CONCURRENCY,
            disable_after: DEFAULT_DISABLE_AFTER,
            secret_grace: DEFAULT_SECRET_GRACE,
            allowlist: Vec::new(),
            proxy: None,
        }
    }
}

/// Parses a comma-separated list of durations such as `0s,5s,5m,2h,250ms`.
pub fn parse_schedule(text: &str) -> Result<Vec<Duration>, String> {
    let steps: Vec<Duration> = text
        .split(',')
        .map(str::trim)
        .map(|step| {
            let split = step
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(step.len());
            let (num, unit) = step.split_at(split);
            let n: u64 = num.parse().map_err(|_| format!("invalid delay {step:?}"))?;
            Ok(match unit {
                "ms" => Duration::from_millis(n),
                "s" | "" => Duration::from_secs(n),
                "m" => Duration::from_secs(n * 60),
                "h" => Duration::from_secs(n * 3600),
                "d" => Duration::from_secs(n * 86400),
                _ => return Err(format!("invalid unit in {step:?}: use ms, s, m, h or d")),
            })
        })
        .collect::<Result<_, String>>()?;
    if steps.is_empty() {
        return Err("the retry schedule needs at least one step".into());
    }
    Ok(steps)
}

/// Limits applied to every handler invocation.
#[derive(Debug, Clone)]
pub struct SandboxLimits {
    /// Maximum linear memory of one instance, in bytes.
    pub memory_bytes: usize,
    /// Wall-time limit of one invocation.
    pub timeout: Duration,
    /// Maximum request body size, in bytes (413 above).
    pub max_request_body: usize,
    /// Maximum response body size, in bytes (502 above).
    pub max_response_body: usize,
    /// Maximum number of emits plus publishes per invocation (trap above).
    pub max_records: usize,
    /// Maximum size of one emit's or publish's data, in bytes (trap above).
    pub max_record_bytes: usize,
    /// Maximum bytes (types plus data) of all emits and publishes of one
    /// invocation (trap above).
    pub max_records_total_bytes: usize,
    /// Guest output (stdout, stderr, `log`) kept per invocation, in bytes.
    pub max_log_bytes: usize,
    /// Maximum concurrent invocations (503 above).
    pub max_concurrent: u32,
    /// Linear memory of one outbound transform, in bytes.
    pub transform_memory_bytes: usize,
    /// Wall-time limit of one outbound transform.
    pub transform_timeout: Duration,
    /// Outgoing HTTP calls one invocation may make (to its webhook's
    /// `outbound_hosts`).
    pub max_http_calls: usize,
    /// Largest request body and response body of one outgoing call, in bytes.
    pub max_http_call_bytes: usize,
    /// Idle instances kept for webhooks with `reuse_instances` on, over
    /// all webhooks; 0 turns reuse off. Capped at a quarter of
    /// `max_concurrent` (each holds an instance slot).
    pub warm_instances: usize,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        Self {
            memory_bytes: DEFAULT_MEMORY_BYTES,
            timeout: DEFAULT_TIMEOUT,
            max_request_body: DEFAULT_MAX_REQUEST_BODY,
            max_response_body: DEFAULT_MAX_RESPONSE_BODY,
            max_records: DEFAULT_MAX_RECORDS,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            max_records_total_bytes: DEFAULT_MAX_RECORDS_TOTAL_BYTES,
            max_log_bytes: DEFAULT_MAX_LOG_BYTES,
            max_concurrent: DEFAULT_MAX_CONCURRENT,
            transform_memory_bytes: DEFAULT_TRANSFORM_MEMORY_BYTES,
            transform_timeout: DEFAULT_TRANSFORM_TIMEOUT,
            max_http_calls: crate::runtime::DEFAULT_MAX_CALLS,
            max_http_call_bytes: crate::runtime::DEFAULT_MAX_CALL_BYTES,
            warm_instances: DEFAULT_WARM_INSTANCES,
        }
    }
}

impl SandboxLimits {
    /// The limits an outbound transform runs under: its own memory and
    /// time, no records, the rest as for handlers.
    pub fn for_transforms(&self) -> Self {
        Self {
            memory_bytes: self.transform_memory_bytes.min(self.memory_bytes),
            timeout: self.transform_timeout,
            max_records: 0,
            max_http_calls: 0,
            ..self.clone()
        }
    }
}

/// Idle instances kept for reuse unless configured (`--max-warm-instances`).
pub const DEFAULT_WARM_INSTANCES: usize = 32;
/// Linear memory of an outbound transform unless configured: 16 MiB.
pub const DEFAULT_TRANSFORM_MEMORY_BYTES: usize = 16 << 20;
/// Wall time of an outbound transform unless configured.
pub const DEFAULT_TRANSFORM_TIMEOUT: Duration = Duration::from_millis(500);
/// Bytes of a request's and a response's body kept by `capture`.
pub const CAPTURE_BODY_BYTES: usize = 256 << 10;

/// Largest body a transform may return (the attempt fails above).
pub const MAX_TRANSFORMED_BODY: usize = 256 << 10;

/// Who may frame the customer portal unless configured: nobody.
pub const DEFAULT_FRAME_ANCESTORS: &str = "'none'";

/// Checks `--portal-frame-ancestors`: CSP source expressions only (no `;`
/// or `,` that would start another directive or policy).
pub fn check_frame_ancestors(sources: &str) -> Result<String, String> {
    let ok = !sources.trim().is_empty()
        && sources
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " '*:/.-_[]".contains(c));
    if ok {
        Ok(sources.trim().to_string())
    } else {
        Err(format!(
            "--portal-frame-ancestors {sources:?}: space-separated CSP sources only, \
             e.g. `https://app.example.com` or `'self'`"
        ))
    }
}

/// Everything `hookhost serve` needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Separate address for the admin plane (`/v1`, `/ui`, `/metrics`);
    /// when set, `listen` serves only `/hooks/...` and `/healthz`.
    pub admin_listen: Option<SocketAddr>,
    /// Time to send request headers; also the idle keep-alive timeout.
    pub header_timeout: Duration,
    /// Time to send a webhook request's body.
    pub body_timeout: Duration,
    /// Open connections per listener.
    pub max_connections: usize,
    /// How long finished records are kept.
    pub retention: Duration,
    /// Directory holding the sled database and modules (without
    /// `database_url`), the compiled-artifact cache and the admin token file.
    pub data_dir: PathBuf,
    /// PostgreSQL connection string: store everything there instead of in
    /// sled, sharing it with other nodes.
    pub database_url: Option<String>,
    /// PostgreSQL schema to keep hookhost's tables in (created if missing);
    /// the connection's default (`public`) when `None`.
    pub database_schema: Option<String>,
    /// Base of the webhook URLs handed out; defaults to `http://<listen>`.
    pub public_url: Option<String>,
    /// Admin bearer token; generated and stored in the data dir when `None`.
    pub admin_token: Option<String>,
    /// Sandbox limits.
    pub limits: SandboxLimits,
    /// Largest uploadable component, in bytes.
    pub max_module_bytes: usize,
    /// Invocation records kept per webhook.
    pub invocations_kept: usize,
    /// Outbound delivery settings.
    pub delivery: DeliveryConfig,
    /// Bearer token `GET /metrics` requires; open when `None`.
    pub metrics_token: Option<String>,
    /// Base of customer portal links; defaults to the admin listener's
    /// address when there is one, else `public_url`.
    pub portal_url: Option<String>,
    /// Sources allowed to frame the portal (CSP `frame-ancestors`), e.g.
    /// `https://app.example.com`; `'none'` by default.
    pub portal_frame_ancestors: String,
}

impl ServerConfig {
    /// A configuration with every default, storing data in `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            admin_listen: None,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            retention: DEFAULT_RETENTION,
            data_dir: data_dir.into(),
            database_url: None,
            database_schema: None,
            public_url: None,
            admin_token: None,
            limits: SandboxLimits::default(),
            max_module_bytes: DEFAULT_MAX_MODULE_BYTES,
            invocations_kept: DEFAULT_INVOCATIONS_KEPT,
            delivery: DeliveryConfig::default(),
            metrics_token: None,
            portal_url: None,
            portal_frame_ancestors: DEFAULT_FRAME_ANCESTORS.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules() {
        let s = parse_schedule(DEFAULT_RETRY_SCHEDULE).unwrap();
        assert_eq!(s.len(), 8);
        assert_eq!(s[0], Duration::ZERO);
        assert_eq!(s[2], Duration::from_secs(300));
        assert_eq!(s[7], Duration::from_secs(36000));
        assert_eq!(
            parse_schedule("0,250ms").unwrap(),
            vec![Duration::ZERO, Duration::from_millis(250)]
        );
        assert!(parse_schedule("5x").is_err());
        assert!(parse_schedule("").is_err());
    }
}

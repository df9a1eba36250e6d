//! The `hookhost` command line: `serve`, and a client for every admin action.

mod client;
mod output;
pub mod run;
pub mod transfer;
pub mod transform;

use crate::config::{self, DeliveryConfig, SandboxLimits, ServerConfig};
use crate::delivery::guard::AddressGuard;
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use client::run_client;

/// Self-hosted webhook platform: WebAssembly handlers for inbound webhooks.
#[derive(Parser, Debug)]
#[command(name = "hookhost", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Client options (ignored by `serve`).
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Options of the client subcommands.
#[derive(Args, Debug, Clone)]
pub struct ClientArgs {
    /// Base URL of the server.
    #[arg(
        long,
        global = true,
        env = "HOOKHOST_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub url: String,
    /// Admin token. Client commands send it (default: the one stored in
    /// the data directory); `serve` requires it (default: the stored one,
    /// else a new one is generated and stored).
    #[arg(
        long,
        global = true,
        env = "HOOKHOST_ADMIN_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// Print the server's JSON instead of a human summary.
    #[arg(long, global = true)]
    pub json: bool,
    /// Act in this workspace (`ws_...`; sent as `X-Hookhost-Workspace`);
    /// the admin token acts on `default` without it.
    #[arg(long, global = true, env = "HOOKHOST_WORKSPACE")]
    pub workspace: Option<String>,
}

/// Top-level commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server.
    Serve(Box<ServeArgs>),
    /// Upload, list, show and delete handler modules.
    #[command(subcommand)]
    Module(ModuleCmd),
    /// Register and manage webhooks.
    #[command(subcommand)]
    Webhook(WebhookCmd),
    /// Send events to endpoints, list events.
    #[command(subcommand)]
    Event(EventCmd),
    /// Manage outbound endpoints.
    #[command(subcommand)]
    Endpoint(EndpointCmd),
    /// Inspect and retry deliveries.
    #[command(subcommand)]
    Delivery(DeliveryCmd),
    /// Read the emission log.
    #[command(subcommand)]
    Emission(EmissionCmd),
    /// Manage workspaces (admin token).
    #[command(subcommand)]
    Workspace(WorkspaceCmd),
    /// Manage a workspace's API tokens (admin token).
    #[command(subcommand)]
    Token(TokenCmd),
    /// Print a sign-in link to a workspace's customer portal (admin token).
    PortalLink {
        /// Workspace id.
        workspace_id: String,
        /// How long the link works (`15m`, `1h`, `7d`).
        #[arg(long, default_value = "1h")]
        ttl: String,
        /// A link that can only look.
        #[arg(long)]
        read_only: bool,
        /// Instead: revoke every link of the workspace made so far.
        #[arg(long, conflicts_with_all = ["ttl", "read_only"])]
        revoke_all: bool,
    },
    /// Manage the workspace's event-type catalogue.
    #[command(subcommand, name = "event-type")]
    EventType(EventTypeCmd),
    /// Run one request through a handler component locally, without a
    /// server: prints the response, what it would emit or publish, and its output.
    Run(run::RunArgs),
    /// Run one event through an outbound transform component locally,
    /// without a server: prints what would be signed and sent.
    Transform(transform::TransformArgs),
    /// Apply the PostgreSQL schema migrations and exit (`serve` applies
    /// them too, at start).
    Migrate(StoreArgs),
    /// Write every record (modules, webhooks, endpoints with secrets,
    /// events, deliveries with attempts, logs, idempotency keys) as a
    /// versioned stream of JSON lines: a backup, or a move to another back
    /// end. Stop the server first when exporting a sled data directory.
    Export(transfer::ExportArgs),
    /// Read an export into the store the flags select (`--data-dir`, or
    /// `--database-url`).
    Import(transfer::ImportArgs),
}

/// Which store a maintenance command (`migrate`, `export`, `import`) opens.
#[derive(Args, Debug)]
pub struct StoreArgs {
    /// Data directory of the sled store (used without `--database-url`).
    #[arg(long, env = "HOOKHOST_DATA_DIR", default_value = config::DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// PostgreSQL connection string (`postgres://user@host/db`).
    #[arg(long, env = "HOOKHOST_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// PostgreSQL schema holding hookhost's tables (created if missing).
    #[arg(long, env = "HOOKHOST_DATABASE_SCHEMA")]
    pub database_schema: Option<String>,
}

/// Options of `hookhost serve`. Every flag has an environment variable.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HOOKHOST_LISTEN", default_value = config::DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Serve the admin plane (`/v1`, `/ui`, `/metrics`) on this separate
    /// address; `--listen` then answers only `/hooks/...` and `/healthz`.
    /// Recommended in production (keep it on a private interface).
    #[arg(long, env = "HOOKHOST_ADMIN_LISTEN")]
    pub admin_listen: Option<SocketAddr>,
    /// Data directory (sled database, modules, compiled artifacts, admin token).
    #[arg(long, env = "HOOKHOST_DATA_DIR", default_value = config::DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// Store everything in PostgreSQL instead of sled
    /// (`postgres://user@host/db`); several nodes may share it. The data
    /// directory then holds only the compiled-artifact cache and the token.
    #[arg(long, env = "HOOKHOST_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// PostgreSQL schema holding hookhost's tables (created if missing;
    /// several installations may share one database in separate schemas).
    #[arg(long, env = "HOOKHOST_DATABASE_SCHEMA")]
    pub database_schema: Option<String>,
    /// Base of the webhook URLs handed out; defaults to `http://` and the listen address.
    #[arg(long, env = "HOOKHOST_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Linear memory limit of an outbound transform, in MiB.
    #[arg(long, env = "HOOKHOST_TRANSFORM_MEMORY_LIMIT_MB", default_value_t = config::DEFAULT_TRANSFORM_MEMORY_BYTES >> 20)]
    pub transform_memory_limit_mb: usize,
    /// Wall-time limit of an outbound transform, in milliseconds.
    #[arg(long, env = "HOOKHOST_TRANSFORM_TIMEOUT_MS", default_value_t = config::DEFAULT_TRANSFORM_TIMEOUT.as_millis() as u64)]
    pub transform_timeout_ms: u64,
    /// Linear memory limit of a handler, in MiB.
    #[arg(long, env = "HOOKHOST_MEMORY_LIMIT_MB", default_value_t = config::DEFAULT_MEMORY_BYTES >> 20)]
    pub memory_limit_mb: usize,
    /// Wall-time limit of one invocation, in milliseconds.
    #[arg(long, env = "HOOKHOST_TIMEOUT_MS", default_value_t = config::DEFAULT_TIMEOUT.as_millis() as u64)]
    pub timeout_ms: u64,
    /// Largest request body passed to a handler, in bytes (413 above).
    #[arg(long, env = "HOOKHOST_MAX_BODY_BYTES", default_value_t = config::DEFAULT_MAX_REQUEST_BODY)]
    pub max_body_bytes: usize,
    /// Largest response body a handler may return, in bytes (502 above).
    #[arg(long, env = "HOOKHOST_MAX_RESPONSE_BYTES", default_value_t = config::DEFAULT_MAX_RESPONSE_BODY)]
    pub max_response_bytes: usize,
    /// Emits plus publishes allowed per invocation.
    #[arg(long, env = "HOOKHOST_MAX_RECORDS", default_value_t = config::DEFAULT_MAX_RECORDS)]
    pub max_records: usize,
    /// Outgoing HTTP calls one invocation may make, to the hosts its
    /// webhook's `outbound_hosts` allows.
    #[arg(long, env = "HOOKHOST_MAX_HTTP_CALLS", default_value_t = crate::runtime::DEFAULT_MAX_CALLS)]
    pub max_http_calls: usize,
    /// Largest request body and response body of one outgoing call, in bytes.
    #[arg(long, env = "HOOKHOST_MAX_HTTP_CALL_BYTES", default_value_t = crate::runtime::DEFAULT_MAX_CALL_BYTES)]
    pub max_http_call_bytes: usize,
    /// Idle handler instances kept, over all webhooks, for webhooks with
    /// `reuse_instances` on (at most a quarter of --max-concurrent); 0
    /// turns instance reuse off on this node.
    #[arg(long, env = "HOOKHOST_MAX_WARM_INSTANCES", default_value_t = config::DEFAULT_WARM_INSTANCES)]
    pub max_warm_instances: usize,
    /// Largest data of one emit or publish, in bytes.
    #[arg(long, env = "HOOKHOST_MAX_RECORD_BYTES", default_value_t = config::DEFAULT_MAX_RECORD_BYTES)]
    pub max_record_bytes: usize,
    /// Bytes of all emits and publishes of one invocation together (types
    /// and data); a handler going beyond it traps and commits nothing.
    /// Event and entity types are 1-256 characters of `A-Z a-z 0-9 . _ - : /`.
    #[arg(long, env = "HOOKHOST_MAX_RECORDS_TOTAL_BYTES", default_value_t = config::DEFAULT_MAX_RECORDS_TOTAL_BYTES)]
    pub max_records_total_bytes: usize,
    /// Guest output (stdout, stderr, log) kept per invocation, in bytes.
    #[arg(long, env = "HOOKHOST_MAX_LOG_BYTES", default_value_t = config::DEFAULT_MAX_LOG_BYTES)]
    pub max_log_bytes: usize,
    /// Concurrent invocations (503 above).
    #[arg(long, env = "HOOKHOST_MAX_CONCURRENT", default_value_t = config::DEFAULT_MAX_CONCURRENT)]
    pub max_concurrent: u32,
    /// Largest uploadable component, in bytes.
    #[arg(long, env = "HOOKHOST_MAX_MODULE_BYTES", default_value_t = config::DEFAULT_MAX_MODULE_BYTES)]
    pub max_module_bytes: usize,
    /// Invocation records kept per webhook.
    #[arg(long, env = "HOOKHOST_INVOCATIONS_KEPT", default_value_t = config::DEFAULT_INVOCATIONS_KEPT)]
    pub invocations_kept: usize,
    /// Delay before each delivery attempt, comma-separated (`ms`, `s`, `m`, `h`, `d`).
    #[arg(long, env = "HOOKHOST_RETRY_SCHEDULE", default_value = config::DEFAULT_RETRY_SCHEDULE)]
    pub retry_schedule: String,
    /// Timeout of one delivery attempt, in milliseconds.
    #[arg(long, env = "HOOKHOST_DELIVERY_TIMEOUT_MS", default_value_t = config::DEFAULT_DELIVERY_TIMEOUT.as_millis() as u64)]
    pub delivery_timeout_ms: u64,
    /// With several nodes on one database: how long a node holds a delivery
    /// it attempts; a node that died mid-attempt has its deliveries taken
    /// over by another after this (humantime, longer than the timeout).
    #[arg(long, env = "HOOKHOST_DELIVERY_LEASE", default_value = "60s", value_parser = humantime::parse_duration)]
    pub delivery_lease: Duration,
    /// Delivery attempts in flight at once.
    #[arg(long, env = "HOOKHOST_DELIVERY_CONCURRENCY", default_value_t = config::DEFAULT_DELIVERY_CONCURRENCY)]
    pub delivery_concurrency: usize,
    /// Delivery attempts in flight at once to one endpoint.
    #[arg(long, env = "HOOKHOST_ENDPOINT_CONCURRENCY", default_value_t = config::DEFAULT_ENDPOINT_CONCURRENCY)]
    pub endpoint_concurrency: usize,
    /// Disable an endpoint failing without a success for this many hours.
    #[arg(long, env = "HOOKHOST_DISABLE_AFTER_HOURS", default_value_t = config::DEFAULT_DISABLE_AFTER.as_secs() / 3600)]
    pub disable_after_hours: u64,
    /// Hours a rotated-out endpoint secret keeps signing.
    #[arg(long, env = "HOOKHOST_SECRET_GRACE_HOURS", default_value_t = config::DEFAULT_SECRET_GRACE.as_secs() / 3600)]
    pub secret_grace_hours: u64,
    /// CIDRs deliveries may reach although private or loopback (e.g. `127.0.0.0/8,10.1.0.0/16`).
    #[arg(long, env = "HOOKHOST_OUTBOUND_ALLOWLIST", default_value = "")]
    pub outbound_allowlist: String,
    /// Send deliveries through this HTTP(S) proxy (`http://host:port`).
    /// Proxy environment variables (`HTTP_PROXY`, ...) are always ignored.
    /// With a proxy, the address guard checks the proxy's address and the
    /// endpoint's literal IP, but cannot see what a name resolves to at
    /// the proxy: the proxy must enforce its own egress policy.
    #[arg(long, env = "HOOKHOST_OUTBOUND_PROXY")]
    pub outbound_proxy: Option<String>,
    /// How long finished records are kept: events, emissions, deliveries
    /// with their attempts, invocation logs and idempotency keys
    /// (`30d`, `12h`, `5s`, ...). Pending deliveries are never removed.
    #[arg(long, env = "HOOKHOST_RETENTION", default_value = "30d", value_parser = humantime::parse_duration)]
    pub retention: Duration,
    /// Time a client has to send a request's headers; also how long an
    /// idle keep-alive connection stays open (`20s`, `1m`, ...).
    #[arg(long, env = "HOOKHOST_HEADER_TIMEOUT", default_value = "20s", value_parser = humantime::parse_duration)]
    pub header_timeout: Duration,
    /// Time a client has to send a webhook request's body (408 after).
    #[arg(long, env = "HOOKHOST_BODY_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub body_timeout: Duration,
    /// Open client connections per listener; more wait until one closes.
    #[arg(long, env = "HOOKHOST_MAX_CONNECTIONS", default_value_t = config::DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Base URL of customer portal links [default: the admin listener's
    /// address when set, else --public-url].
    #[arg(long, env = "HOOKHOST_PORTAL_URL")]
    pub portal_url: Option<String>,
    /// Who may embed the customer portal in an iframe: the CSP
    /// `frame-ancestors` sources, space-separated (e.g.
    /// `https://app.example.com`).
    #[arg(long, env = "HOOKHOST_PORTAL_FRAME_ANCESTORS", default_value = config::DEFAULT_FRAME_ANCESTORS)]
    pub portal_frame_ancestors: String,
    /// Bearer token required by `GET /metrics` [default: none, open].
    #[arg(long, env = "HOOKHOST_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Log format on stderr.
    #[arg(long, env = "HOOKHOST_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How `serve` writes its log.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, span fields included (for log shippers).
    Json,
}

impl ServeArgs {
    /// The server configuration these flags describe.
    pub fn into_config(self, admin_token: Option<String>) -> Result<ServerConfig, String> {
        let delivery = DeliveryConfig {
            schedule: config::parse_schedule(&self.retry_schedule)?,
            timeout: Duration::from_millis(self.delivery_timeout_ms),
            lease: self.delivery_lease,
            concurrency: self.delivery_concurrency.max(1),
            endpoint_concurrency: self.endpoint_concurrency.max(1),
            disable_after: Duration::from_secs(self.disable_after_hours * 3600),
            secret_grace: Duration::from_secs(self.secret_grace_hours * 3600),
            allowlist: AddressGuard::parse_allowlist(&self.outbound_allowlist)?,
            proxy: self.outbound_proxy.filter(|p| !p.is_empty()),
        };
        if delivery.lease <= delivery.timeout {
            return Err(format!(
                "--delivery-lease ({}) must be longer than the delivery timeout ({} ms): \
                 another node would take over attempts still running",
                humantime::format_duration(delivery.lease),
                self.delivery_timeout_ms
            ));
        }
        if let Some(p) = &delivery.proxy {
            crate::delivery::http::check_proxy(p)?;
        }
        if self.header_timeout.is_zero() || self.body_timeout.is_zero() {
            return Err("--header-timeout and --body-timeout must be positive".into());
        }
        Ok(ServerConfig {
            listen: self.listen,
            admin_listen: self.admin_listen,
            header_timeout: self.header_timeout,
            body_timeout: self.body_timeout,
            max_connections: self.max_connections.max(1),
            retention: self.retention,
            data_dir: self.data_dir,
            database_url: self.database_url.filter(|u| !u.is_empty()),
            database_schema: self.database_schema.filter(|s| !s.is_empty()),
            public_url: self.public_url,
            admin_token,
            limits: SandboxLimits {
                memory_bytes: self.memory_limit_mb << 20,
                timeout: Duration::from_millis(self.timeout_ms),
                max_request_body: self.max_body_bytes,
                max_response_body: self.max_response_bytes,
                max_records: self.max_records,
                max_record_bytes: self.max_record_bytes,
                max_records_total_bytes: self.max_records_total_bytes,
                max_log_bytes: self.max_log_bytes,
                max_concurrent: self.max_concurrent,
                transform_memory_bytes: self.transform_memory_limit_mb << 20,
                transform_timeout: Duration::from_millis(self.transform_timeout_ms),
                max_http_calls: self.max_http_calls,
                max_http_call_bytes: self.max_http_call_bytes,
                warm_instances: self.max_warm_instances,
            },
            max_module_bytes: self.max_module_bytes,
            invocations_kept: self.invocations_kept,
            delivery,
            metrics_token: self.metrics_token.filter(|t| !t.is_empty()),
            portal_url: self.portal_url.filter(|u| !u.is_empty()),
            portal_frame_ancestors: config::check_frame_ancestors(&self.portal_frame_ancestors)?,
        })
    }
}

/// `hookhost module ...`
#[derive(Subcommand, Debug)]
pub enum ModuleCmd {
    /// Upload a component (.wasm); replaces the code of an existing module of that name.
    Upload {
        /// Path of the component.
        file: PathBuf,
        /// Module name [default: the file name without extension].
        #[arg(long)]
        name: Option<String>,
    },
    /// List modules.
    List,
    /// Show one module.
    Get {
        /// Module name.
        name: String,
    },
    /// Delete a module (refused while a webhook uses it).
    Delete {
        /// Module name.
        name: String,
    },
}

/// `hookhost webhook ...`
#[derive(Subcommand, Debug)]
pub enum WebhookCmd {
    /// Register a webhook and print its URL.
    Create {
        /// Module handling its requests.
        #[arg(long)]
        module: String,
        /// JSON payload handed to every invocation.
        #[arg(long)]
        payload: Option<String>,
        /// Description.
        #[arg(long, default_value = "")]
        description: String,
        /// Create it disabled.
        #[arg(long)]
        disabled: bool,
        /// Signature check before the handler runs, as JSON, e.g.
        /// '{"scheme":"github","secret":"..."}' (docs/verification.md).
        #[arg(long, value_name = "JSON")]
        verify: Option<String>,
        /// Deduplication of retried deliveries, as JSON, e.g.
        /// '{"window":"24h","key":"auto"}'.
        #[arg(long, value_name = "JSON")]
        dedup: Option<String>,
        /// Keep each request and response for replay.
        #[arg(long)]
        capture: bool,
        /// A host its handler may call (`host`, `host:port`, `*.domain`);
        /// repeatable.
        #[arg(long = "outbound-host", value_name = "HOST")]
        outbound_hosts: Vec<String>,
        /// Run requests in instances kept from earlier calls of this
        /// webhook (faster for Python and JavaScript; state persists
        /// between its calls).
        #[arg(long)]
        reuse_instances: bool,
    },
    /// List webhooks.
    List {
        /// Only webhooks of this module.
        #[arg(long)]
        module: Option<String>,
    },
    /// Show one webhook.
    Get {
        /// Webhook id.
        id: String,
    },
    /// Change a webhook.
    Update {
        /// Webhook id.
        id: String,
        /// New module.
        #[arg(long)]
        module: Option<String>,
        /// New JSON payload.
        #[arg(long, conflicts_with = "clear_payload")]
        payload: Option<String>,
        /// Remove the payload.
        #[arg(long)]
        clear_payload: bool,
        /// New description.
        #[arg(long)]
        description: Option<String>,
        /// Enable it.
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// Disable it (its URL answers 404).
        #[arg(long)]
        disable: bool,
        /// New signature check, as JSON (given whole, secret included).
        #[arg(long, value_name = "JSON", conflicts_with = "clear_verify")]
        verify: Option<String>,
        /// Remove the signature check.
        #[arg(long)]
        clear_verify: bool,
        /// New deduplication, as JSON.
        #[arg(long, value_name = "JSON", conflicts_with = "clear_dedup")]
        dedup: Option<String>,
        /// Remove the deduplication.
        #[arg(long)]
        clear_dedup: bool,
        /// Keep requests and responses for replay: `true` or `false`.
        #[arg(long, value_name = "BOOL")]
        capture: Option<bool>,
        /// Replace the hosts its handler may call; repeatable.
        #[arg(
            long = "outbound-host",
            value_name = "HOST",
            conflicts_with = "clear_outbound_hosts"
        )]
        outbound_hosts: Vec<String>,
        /// Let its handler call no host.
        #[arg(long)]
        clear_outbound_hosts: bool,
        /// Reuse instances between its calls: `true` or `false`.
        #[arg(long, value_name = "BOOL")]
        reuse_instances: Option<bool>,
    },
    /// Delete a webhook.
    Delete {
        /// Webhook id.
        id: String,
    },
    /// Recent invocations, newest first.
    Invocations {
        /// Webhook id.
        id: String,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Run a captured request again and show the new answer beside the old.
    Replay {
        /// Webhook id.
        id: String,
        /// Invocation id (`inv_...`) whose request to run again.
        invocation_id: String,
        /// Through this module instead of the webhook's.
        #[arg(long)]
        module: Option<String>,
        /// Log the run and commit what it emits or publishes.
        #[arg(long)]
        commit: bool,
    },
}

/// `hookhost endpoint ...`
#[derive(Subcommand, Debug)]
pub enum EndpointCmd {
    /// Subscribe a URL to events; prints the signing secret once.
    Create {
        /// Delivery URL.
        #[arg(value_name = "URL")]
        endpoint_url: String,
        /// Event patterns (`post.created`, `post.*`, `*`); repeat or comma-separate.
        #[arg(long = "event", value_delimiter = ',', required = true)]
        events: Vec<String>,
        /// Equality filters on the event data as JSON, e.g. '{"status":"published"}'.
        #[arg(long)]
        filters: Option<String>,
        /// Operator filter on the envelope as JSON (docs/outbound.md, "Filters"),
        /// e.g. '{"data.amount": {"$gt": 100}}'.
        #[arg(long = "where", value_name = "JSON")]
        filter: Option<String>,
        /// Description.
        #[arg(long, default_value = "")]
        description: String,
        /// Signature scheme: standard, standard-ed25519, hex or typo3.
        #[arg(long, default_value = "standard")]
        signature: String,
        /// Use this secret instead of a generated one (a `whsk_` private key
        /// for standard-ed25519).
        #[arg(long)]
        secret: Option<String>,
        /// A header added to every delivery, 'Name: value'; repeatable.
        #[arg(long = "header", value_name = "NAME: VALUE")]
        headers: Vec<String>,
        /// Attempts per second, with an optional burst: `10` or `10/5`.
        #[arg(long = "rate-limit", value_name = "PER_SECOND[/BURST]")]
        rate_limit: Option<String>,
        /// Delivery order: parallel (default) or fifo (acceptance order, one at a time).
        #[arg(long)]
        ordering: Option<String>,
        /// A transform module run on each delivery before it is first sent.
        #[arg(long)]
        transform: Option<String>,
        /// Create it disabled.
        #[arg(long)]
        disabled: bool,
    },
    /// List endpoints.
    List,
    /// Show one endpoint.
    Get {
        /// Endpoint id.
        id: String,
    },
    /// Change an endpoint.
    Update {
        /// Endpoint id.
        id: String,
        /// New delivery URL.
        #[arg(long = "endpoint-url", value_name = "URL")]
        endpoint_url: Option<String>,
        /// New event patterns.
        #[arg(long = "event", value_delimiter = ',')]
        events: Option<Vec<String>>,
        /// New filters (JSON object).
        #[arg(long)]
        filters: Option<String>,
        /// New operator filter (JSON); `null` removes it.
        #[arg(long = "where", value_name = "JSON")]
        filter: Option<String>,
        /// New description.
        #[arg(long)]
        description: Option<String>,
        /// New signature scheme (to or from standard-ed25519: a new secret
        /// of the new kind, shown by `hookhost endpoint secret`).
        #[arg(long)]
        signature: Option<String>,
        /// Headers added to every delivery, 'Name: value', replacing all of
        /// them; repeatable.
        #[arg(
            long = "header",
            value_name = "NAME: VALUE",
            conflicts_with = "clear_headers"
        )]
        headers: Vec<String>,
        /// Remove every custom header.
        #[arg(long)]
        clear_headers: bool,
        /// New rate limit, `10` or `10/5` (per second / burst); `none` removes it.
        #[arg(long = "rate-limit", value_name = "PER_SECOND[/BURST]|none")]
        rate_limit: Option<String>,
        /// New delivery order: parallel or fifo.
        #[arg(long)]
        ordering: Option<String>,
        /// New transform module; `none` removes it.
        #[arg(long)]
        transform: Option<String>,
        /// Enable it (also after an automatic disable).
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// Disable it.
        #[arg(long)]
        disable: bool,
    },
    /// Delete an endpoint.
    Delete {
        /// Endpoint id.
        id: String,
    },
    /// Print the endpoint's signing secret (the public key for standard-ed25519).
    Secret {
        /// Endpoint id.
        id: String,
    },
    /// Replace the secret; the old one keeps signing for the grace period.
    RotateSecret {
        /// Endpoint id.
        id: String,
    },
    /// Re-send the endpoint's failed deliveries created since a time.
    Recover {
        /// Endpoint id.
        id: String,
        /// RFC 3339 time, e.g. 2026-11-23T00:00:00Z.
        #[arg(long)]
        since: String,
    },
    /// Send a `webhook.test` event now and show the result.
    Test {
        /// Endpoint id.
        id: String,
    },
}

/// `hookhost workspace ...`
#[derive(Subcommand, Debug)]
pub enum WorkspaceCmd {
    /// Create a workspace.
    Create {
        /// Its name.
        name: String,
        /// Description.
        #[arg(long, default_value = "")]
        description: String,
        /// Quotas as JSON, e.g. '{"max_webhooks":10,"events_per_second":50}'.
        #[arg(long, value_name = "JSON")]
        quotas: Option<String>,
        /// Portal branding as JSON, e.g. '{"display_name":"Acme","accent_color":"#aa3300"}'.
        #[arg(long, value_name = "JSON")]
        branding: Option<String>,
    },
    /// List workspaces.
    List,
    /// Show one workspace.
    Get {
        /// Workspace id.
        id: String,
    },
    /// Change a workspace.
    Update {
        /// Workspace id.
        id: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New description.
        #[arg(long)]
        description: Option<String>,
        /// New quotas as JSON (replacing all of them; `{}` removes them).
        #[arg(long, value_name = "JSON")]
        quotas: Option<String>,
        /// New branding as JSON (replacing all of it).
        #[arg(long, value_name = "JSON")]
        branding: Option<String>,
    },
    /// Delete a workspace (refused while it holds records, unless --force).
    Delete {
        /// Workspace id.
        id: String,
        /// Remove everything it holds too.
        #[arg(long)]
        force: bool,
    },
}

/// `hookhost token ...`
#[derive(Subcommand, Debug)]
pub enum TokenCmd {
    /// Issue a token; prints its secret once.
    Create {
        /// Workspace id.
        workspace_id: String,
        /// admin or read.
        #[arg(long, default_value = "admin")]
        role: String,
        /// Description.
        #[arg(long, default_value = "")]
        description: String,
        /// Expiry, RFC 3339 (e.g. 2027-01-01T00:00:00Z).
        #[arg(long)]
        expires_at: Option<String>,
    },
    /// List a workspace's tokens (never their secrets).
    List {
        /// Workspace id.
        workspace_id: String,
    },
    /// Revoke a token.
    Revoke {
        /// Workspace id.
        workspace_id: String,
        /// Token id (`tok_...`).
        token_id: String,
    },
}

/// `hookhost event-type ...`
#[derive(Subcommand, Debug)]
pub enum EventTypeCmd {
    /// Add an event type to the catalogue (or replace it).
    Put {
        /// The event type, e.g. invoice.paid.
        name: String,
        /// Description shown to customers.
        #[arg(long, default_value = "")]
        description: String,
        /// JSON Schema the event data must match, as JSON.
        #[arg(long, value_name = "JSON")]
        schema: Option<String>,
    },
    /// List the catalogue.
    List,
    /// Remove an event type.
    Delete {
        /// The event type.
        name: String,
    },
}

/// `hookhost delivery ...`
#[derive(Subcommand, Debug)]
pub enum DeliveryCmd {
    /// List deliveries, newest first.
    List {
        /// Only this endpoint.
        #[arg(long)]
        endpoint: Option<String>,
        /// Only this event.
        #[arg(long)]
        event: Option<String>,
        /// Only this status: pending, success or failed.
        #[arg(long)]
        status: Option<String>,
        /// Page size.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Show a delivery with every attempt.
    Get {
        /// Delivery id.
        id: String,
    },
    /// Queue a delivery again now.
    Retry {
        /// Delivery id.
        id: String,
    },
}

/// `hookhost event ...`
#[derive(Subcommand, Debug)]
pub enum EventCmd {
    /// Send an event to every subscribed endpoint.
    Send {
        /// Event type, e.g. post.created.
        #[arg(long = "type")]
        event_type: String,
        /// Event data (JSON).
        #[arg(long)]
        data: String,
        /// Idempotency key: the same key within 24 h returns the first event.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// List events, oldest first.
    List {
        /// Continue after this event id (a `next_cursor`).
        #[arg(long)]
        after: Option<String>,
        /// Only events of this type.
        #[arg(long = "type")]
        event_type: Option<String>,
        /// Page size.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
}

/// `hookhost emission ...`
#[derive(Subcommand, Debug)]
pub enum EmissionCmd {
    /// List emissions, oldest first.
    List {
        /// Continue after this emission id (a `next_cursor`).
        #[arg(long)]
        after: Option<String>,
        /// Only this entity type.
        #[arg(long)]
        entity_type: Option<String>,
        /// Only emissions of this webhook.
        #[arg(long)]
        webhook: Option<String>,
        /// Page size.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
}

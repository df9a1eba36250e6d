//! `hookhost run`: one request through a handler component, locally, with no
//! server: the quickest way to try a handler in any language.
//!
//! The component runs in the same sandbox, under the same limits, as on the
//! server; what it would have emitted or published is printed instead of
//! committed. Compiled artifacts are cached in the user's cache directory,
//! so only the first run of a given component pays for compilation.

use crate::config::SandboxLimits;
use crate::delivery::guard::AddressGuard;
use crate::runtime::bindings::{Context, Request};
use crate::runtime::{Egress, Grants, GuestRecord, Outcome, Runtime, handler_error_reply};
use clap::Args;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::time::Instant;

/// Options of `hookhost run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The handler component (`.wasm`).
    pub component: PathBuf,
    /// The webhook payload (JSON) the handler gets as context.
    #[arg(long)]
    pub payload: Option<String>,
    /// HTTP method.
    #[arg(short = 'X', long, default_value = "POST")]
    pub method: String,
    /// Path below the webhook URL, optionally with `?query`.
    #[arg(long, default_value = "/")]
    pub path: String,
    /// A request header, `name: value`; repeatable.
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,
    /// Request body, as text; `@FILE` reads a file, `@-` standard input.
    #[arg(short = 'd', long, default_value = "")]
    pub body: String,
    /// Linear memory limit, in MiB.
    #[arg(long, default_value_t = crate::config::DEFAULT_MEMORY_BYTES >> 20)]
    pub memory_limit_mb: usize,
    /// Wall-time limit, in milliseconds.
    #[arg(long, default_value_t = crate::config::DEFAULT_TIMEOUT.as_millis() as u64)]
    pub timeout_ms: u64,
    /// A host the handler may call (`host`, `host:port`, `*.domain`), as
    /// a webhook's `outbound_hosts`; repeatable.
    #[arg(long = "outbound-host")]
    pub outbound_hosts: Vec<String>,
    /// CIDRs outgoing calls may reach although private or loopback
    /// (comma-separated), as the server's `--outbound-allowlist`.
    #[arg(long, default_value = "")]
    pub outbound_allowlist: String,
    /// Print one JSON object instead of the human-readable report.
    #[arg(long)]
    pub json: bool,
}

/// Runs the request; `Ok(true)` when the handler returned a response (of any
/// status), `Ok(false)` for a handler error or a sandbox failure.
pub async fn run(args: RunArgs) -> Result<bool, String> {
    let bytes = std::fs::read(&args.component)
        .map_err(|e| format!("cannot read {}: {e}", args.component.display()))?;
    let payload = match &args.payload {
        Some(p) => {
            let v: Value =
                serde_json::from_str(p).map_err(|e| format!("--payload is not JSON: {e}"))?;
            Some(v.to_string())
        }
        None => None,
    };
    let body = read_body(&args.body)?;
    let (path, query) = match args.path.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (args.path.clone(), String::new()),
    };
    if !path.starts_with('/') {
        return Err("--path must start with `/`".into());
    }
    let headers = parse_headers(&args.headers)?;

    let limits = SandboxLimits {
        memory_bytes: args.memory_limit_mb << 20,
        timeout: std::time::Duration::from_millis(args.timeout_ms),
        max_concurrent: 1,
        ..SandboxLimits::default()
    };
    let rules = crate::runtime::parse_outbound_hosts(&args.outbound_hosts)?;
    let allowlist = AddressGuard::parse_allowlist(&args.outbound_allowlist)?;
    let runtime = Runtime::new(limits, cache_dir()?).map_err(|e| e.to_string())?;
    let guard = AddressGuard::new(&allowlist);
    runtime.set_egress(Egress {
        client: crate::delivery::http::client(&guard, runtime.limits().timeout, None),
        guard,
    });
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let started = Instant::now();
    let handler = {
        // `load` reuses a cached artifact and compiles otherwise; the file
        // it would compile from is the component itself.
        let (runtime, sha, bytes) = (&runtime, sha256.clone(), bytes.clone());
        tokio::task::block_in_place(|| runtime.load(&sha, || Ok(bytes)))
            .map_err(|e| e.to_string())?
    };
    let (compiled, _) = runtime.stats().snapshot();
    let prepared = format!(
        "{} in {:.2} s",
        if compiled > 0 {
            "compiled"
        } else {
            "loaded from cache"
        },
        started.elapsed().as_secs_f64()
    );

    let request = Request {
        method: args.method.to_ascii_uppercase(),
        path,
        query,
        headers,
        body,
    };
    let ctx = Context {
        webhook_id: "wh_local".into(),
        invocation_id: format!("inv_local_{}", uuid::Uuid::now_v7().simple()),
        payload,
        received_at_ms: chrono::Utc::now().timestamp_millis() as u64,
    };
    let invocation = runtime
        .invoke(
            &handler,
            request,
            ctx,
            Grants {
                outbound_hosts: rules.into(),
                webhooks: Some(std::sync::Arc::new(LocalWebhooks)),
            },
        )
        .await;

    let (mut emitted, mut published, mut registered) = (Vec::new(), Vec::new(), Vec::new());
    for r in &invocation.records {
        match r {
            GuestRecord::Emission { entity_type, data } => {
                emitted.push(json!({"type": entity_type, "data": data}))
            }
            GuestRecord::Event { event_type, data } => {
                published.push(json!({"type": event_type, "data": data}))
            }
            GuestRecord::Webhook {
                id,
                module,
                payload,
                ..
            } => registered.push(json!({"id": id, "module": module, "payload": payload})),
        }
    }
    let (status, outcome, error, resp_headers, resp_body) = match &invocation.outcome {
        Outcome::Response(r) => (r.status, "ok", None, r.headers.clone(), r.body.clone()),
        Outcome::HandlerError(e) => {
            let (status, code, message) = handler_error_reply(e);
            (status, code, Some(message.to_string()), vec![], vec![])
        }
        Outcome::Failed(f) => (
            f.kind.status(),
            f.kind.as_str(),
            Some(f.message.clone()),
            vec![],
            vec![],
        ),
    };
    let ok = outcome == "ok";
    let duration_ms = invocation.duration.as_secs_f64() * 1000.0;

    if args.json {
        let report = json!({
            "status": status,
            "outcome": outcome,
            "error": error,
            "headers": resp_headers,
            "body": String::from_utf8_lossy(&resp_body),
            "emitted": emitted,
            "published": published,
            "registered_webhooks": registered,
            "calls": invocation.calls,
            "output": invocation.output,
            "duration_ms": duration_ms,
            "component": {"sha256": sha256, "size": bytes.len(), "prepared": prepared},
        });
        println!("{report:#}");
        return Ok(ok);
    }
    println!("{status} {outcome}  ({duration_ms:.2} ms; component {prepared})");
    if let Some(e) = &error {
        println!("error: {e}");
    }
    for (name, value) in &resp_headers {
        println!("{name}: {value}");
    }
    if !resp_body.is_empty() {
        println!("\n{}", String::from_utf8_lossy(&resp_body));
    }
    // The runtime keeps records only when the handler succeeded, as the
    // server commits them only then.
    if !invocation.calls.is_empty() {
        println!("\n-- outgoing calls");
    }
    for c in &invocation.calls {
        let result = c
            .status
            .map_or_else(|| c.error.clone().unwrap_or_default(), |s| s.to_string());
        println!(
            "{} {}{}  {result}  ({:.1} ms)",
            c.method, c.host, c.path, c.duration_ms
        );
    }
    if !emitted.is_empty() || !published.is_empty() || !registered.is_empty() {
        println!("\n-- records (would be committed)");
    }
    for w in &registered {
        println!(
            "webhook {} module {} payload {}",
            w["id"].as_str().unwrap_or(""),
            w["module"].as_str().unwrap_or(""),
            w["payload"]
        );
    }
    for e in &emitted {
        println!("emit    {} {}", e["type"].as_str().unwrap_or(""), e["data"]);
    }
    for e in &published {
        println!("publish {} {}", e["type"].as_str().unwrap_or(""), e["data"]);
    }
    if !invocation.output.is_empty() {
        println!("\n-- guest output\n{}", invocation.output.trim_end());
    }
    Ok(ok)
}

/// Follow-up webhooks of a local run: any module name is accepted (there
/// is no registry); the URL says it is not served.
struct LocalWebhooks;

impl crate::runtime::WebhookFactory for LocalWebhooks {
    fn prepare(
        &self,
        module: Option<&str>,
        _payload: Option<&serde_json::value::RawValue>,
    ) -> Result<(String, String, String), String> {
        let id = crate::registry::new_webhook_id();
        let url = format!("http://localhost/hooks/{id}");
        Ok((id, url, module.unwrap_or("(this module)").to_string()))
    }
}

/// `name: value` flags as header pairs, names in lower case.
pub(super) fn parse_headers(flags: &[String]) -> Result<Vec<(String, String)>, String> {
    flags
        .iter()
        .map(|h| {
            let (name, value) = h
                .split_once(':')
                .ok_or_else(|| format!("header {h:?} is not `name: value`"))?;
            Ok((name.trim().to_ascii_lowercase(), value.trim().to_string()))
        })
        .collect()
}

pub(super) fn read_body(arg: &str) -> Result<Vec<u8>, String> {
    match arg.strip_prefix('@') {
        Some("-") => {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
                .map_err(|e| format!("reading standard input: {e}"))?;
            Ok(buf)
        }
        Some(file) => std::fs::read(file).map_err(|e| format!("cannot read {file}: {e}")),
        None => Ok(arg.as_bytes().to_vec()),
    }
}

/// `$XDG_CACHE_HOME/hookhost/compiled` or `~/.cache/hookhost/compiled`,
/// private to the user: compiled artifacts are loaded as trusted code, so
/// the directory must not be writable by others (never a shared `/tmp`).
pub(super) fn cache_dir() -> Result<PathBuf, String> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .ok_or("neither XDG_CACHE_HOME nor HOME is set")?;
    let dir = base.join("hookhost").join("compiled");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(
            base.join("hookhost"),
            std::fs::Permissions::from_mode(0o700),
        );
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
    }
    Ok(dir)
}

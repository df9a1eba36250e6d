//! `hookhost transform`: one event through an outbound transform component,
//! locally, with no server. It gets the message an endpoint would send (the
//! envelope built from `--type` and `--data`, `--url`, `--header`s) and the
//! result is printed: what would be signed and sent, or that the endpoint
//! would be skipped, or why the attempt would fail.

use crate::config::{MAX_TRANSFORMED_BODY, SandboxLimits};
use crate::runtime::{ComponentKind, Message, Runtime, TransformOutcome};
use clap::Args;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// Options of `hookhost transform`.
#[derive(Args, Debug)]
pub struct TransformArgs {
    /// The transform component (`.wasm`, world `hookhost:transformer/transformer`).
    pub component: PathBuf,
    /// Event type.
    #[arg(long = "type", default_value = "test.event")]
    pub event_type: String,
    /// Event data (JSON); `@FILE` reads a file, `@-` standard input.
    #[arg(short = 'd', long, default_value = "{}")]
    pub data: String,
    /// The endpoint's URL.
    #[arg(long, default_value = "https://example.com/webhooks")]
    pub url: String,
    /// A custom header of the endpoint, `name: value`; repeatable.
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,
    /// Linear memory limit, in MiB.
    #[arg(long, default_value_t = crate::config::DEFAULT_TRANSFORM_MEMORY_BYTES >> 20)]
    pub memory_limit_mb: usize,
    /// Wall-time limit, in milliseconds.
    #[arg(long, default_value_t = crate::config::DEFAULT_TRANSFORM_TIMEOUT.as_millis() as u64)]
    pub timeout_ms: u64,
    /// Print one JSON object instead of the human-readable report.
    #[arg(long)]
    pub json: bool,
}

/// Runs the transform; `Ok(true)` when it returned a message to send or a
/// skip, `Ok(false)` when the attempt would fail.
pub async fn transform(args: TransformArgs) -> Result<bool, String> {
    let bytes = std::fs::read(&args.component)
        .map_err(|e| format!("cannot read {}: {e}", args.component.display()))?;
    let data_text = String::from_utf8(super::run::read_body(&args.data)?)
        .map_err(|_| "--data is not UTF-8".to_string())?;
    let data: Value =
        serde_json::from_str(&data_text).map_err(|e| format!("--data is not JSON: {e}"))?;
    crate::names::check_type("event type", &args.event_type)?;
    let headers = super::run::parse_headers(&args.headers)?;
    // The envelope a delivery would carry.
    let body = json!({
        "id": format!("evt_{}", uuid::Uuid::now_v7().simple()),
        "type": args.event_type,
        "created_at": chrono::Utc::now(),
        "data": data,
    })
    .to_string();

    let limits = SandboxLimits {
        transform_memory_bytes: args.memory_limit_mb << 20,
        memory_bytes: args.memory_limit_mb << 20,
        transform_timeout: std::time::Duration::from_millis(args.timeout_ms),
        max_concurrent: 1,
        ..SandboxLimits::default()
    };
    let runtime = Runtime::new(limits, super::run::cache_dir()?).map_err(|e| e.to_string())?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let compiled = tokio::task::block_in_place(|| runtime.load(&sha256, || Ok(bytes.clone())))
        .map_err(|e| e.to_string())?;
    if compiled.kind() != ComponentKind::Transformer {
        return Err(format!(
            "{} is a webhook handler; try it with `hookhost run`",
            args.component.display()
        ));
    }
    let message = Message {
        event_type: args.event_type.clone(),
        body,
        url: args.url.clone(),
        headers,
    };
    let ran = runtime.transform(&compiled, message).await;
    let duration_ms = ran.duration.as_secs_f64() * 1000.0;
    let (ok, report) = match &ran.outcome {
        Ok(TransformOutcome::Send(m)) if m.body.len() > MAX_TRANSFORMED_BODY => (
            false,
            json!({"outcome": "error", "error": format!(
                "the body ({} bytes) exceeds {MAX_TRANSFORMED_BODY} bytes: the attempt would fail",
                m.body.len())}),
        ),
        Ok(TransformOutcome::Send(m)) => (
            true,
            json!({"outcome": "send", "url": m.url, "headers": m.headers, "body": m.body}),
        ),
        Ok(TransformOutcome::Skip) => (true, json!({"outcome": "skip"})),
        Err(f) => (
            false,
            json!({"outcome": "error", "kind": f.kind.as_str(), "error": f.message}),
        ),
    };
    if args.json {
        let mut report = report;
        report["output"] = json!(ran.output);
        report["duration_ms"] = json!(duration_ms);
        println!("{report:#}");
        return Ok(ok);
    }
    match report["outcome"].as_str() {
        Some("send") => {
            println!("send  ({duration_ms:.2} ms)");
            println!("POST {}", report["url"].as_str().unwrap_or_default());
            for h in report["headers"].as_array().into_iter().flatten() {
                println!(
                    "{}: {}",
                    h[0].as_str().unwrap_or(""),
                    h[1].as_str().unwrap_or("")
                );
            }
            println!("\n{}", report["body"].as_str().unwrap_or_default());
        }
        Some("skip") => {
            println!("skip  ({duration_ms:.2} ms): nothing would be sent to this endpoint")
        }
        _ => println!(
            "error ({duration_ms:.2} ms): {}",
            report["error"].as_str().unwrap_or_default()
        ),
    }
    if !ran.output.is_empty() {
        println!("\n-- guest output\n{}", ran.output.trim_end());
    }
    Ok(ok)
}

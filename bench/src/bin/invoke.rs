//! Instantiate + call latency of one handler component, without HTTP:
//! fresh store and instance per call, as ingress does.
//!
//! `cargo run --release -p hookhost-bench --bin invoke -- <component.wasm> [calls] [concurrency] [reuse]`
//!
//! With `reuse`, calls run as a webhook with `reuse_instances` on: in an
//! instance kept from an earlier call (instantiation is then skipped).

use hookhost::config::SandboxLimits;
use hookhost::runtime::bindings::{Context, Request};
use hookhost::runtime::{Outcome, Runtime};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: invoke <component.wasm> [calls] [concurrency]");
    let calls: usize = args.next().map_or(20_000, |s| s.parse().expect("calls"));
    let concurrency: usize = args.next().map_or(1, |s| s.parse().expect("concurrency"));
    let reuse = args.next().is_some_and(|a| a == "reuse");

    let cache = std::env::temp_dir().join(format!("hookhost-bench-{}", std::process::id()));
    let runtime = Arc::new(Runtime::new(SandboxLimits::default(), cache.clone()).expect("engine"));
    let bytes = std::fs::read(&path).expect("read component");
    let started = Instant::now();
    let handler = Arc::new(runtime.compile(&bytes, "bench").expect("compile"));
    println!(
        "component: {path} ({} bytes), compiled in {:?}",
        bytes.len(),
        started.elapsed()
    );

    let request = Request {
        method: "POST".into(),
        path: "/".into(),
        query: String::new(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: br#"{"hello":"world"}"#.to_vec(),
    };
    let context = Context {
        webhook_id: "wh_bench".into(),
        invocation_id: "inv_bench".into(),
        payload: Some(r#"{"tenant":"acme"}"#.into()),
        received_at_ms: 0,
    };
    let once = move |rt: Arc<Runtime>, h: Arc<hookhost::runtime::CompiledHandler>| {
        let (req, ctx) = (request.clone(), context.clone());
        async move {
            let t = Instant::now();
            let inv = if reuse {
                rt.invoke_reusing(&h, "wh_bench", req, ctx, Default::default())
                    .await
            } else {
                rt.invoke(&h, req, ctx, Default::default()).await
            };
            assert!(matches!(inv.outcome, Outcome::Response(_)), "call failed");
            t.elapsed()
        }
    };
    for _ in 0..500 {
        once(runtime.clone(), handler.clone()).await;
    }

    let wall = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (rt, h, n) = (runtime.clone(), handler.clone(), calls / concurrency);
        let once = once.clone();
        tasks.push(tokio::spawn(async move {
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(once(rt.clone(), h.clone()).await);
            }
            v
        }));
    }
    let mut all: Vec<Duration> = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let wall = wall.elapsed();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "calls={} concurrency={concurrency} reuse={reuse}: p50={:.1}µs p90={:.1}µs p99={:.1}µs max={:.1}µs, {:.0} calls/s",
        all.len(),
        pct(0.50).as_secs_f64() * 1e6,
        pct(0.90).as_secs_f64() * 1e6,
        pct(0.99).as_secs_f64() * 1e6,
        all.last().unwrap().as_secs_f64() * 1e6,
        all.len() as f64 / wall.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(cache);
}

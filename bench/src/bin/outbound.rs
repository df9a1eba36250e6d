//! Outbound throughput: events posted to a running hookhost, delivered to a
//! loopback receiver run by this program.
//!
//! `outbound <hookhost-url> <admin-token> [events] [posting-concurrency] [endpoints]`
//!
//! Events are spread round-robin over `endpoints` endpoints (each
//! subscribed to its own event type), so the per-endpoint concurrency
//! limit does not cap the figure.
//!
//! `BENCH_TRANSFORM=<module>`: every endpoint runs that (uploaded)
//! transform. `BENCH_ROUTE_BY_FILTER=1`: every endpoint subscribes to all
//! events and an operator filter on `data.route` picks the one endpoint
//! each event goes to, so each event is matched against every endpoint's
//! filter.
//! (bench/outbound.sh starts the server and runs this).

use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

async fn receive(State(arrivals): State<Arrivals>, headers: HeaderMap) -> &'static str {
    if let Some(id) = headers.get("webhook-id").and_then(|v| v.to_str().ok()) {
        arrivals
            .lock()
            .unwrap()
            .entry(id.to_string())
            .or_insert_with(Instant::now);
    }
    "ok"
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    hookhost::delivery::http::install_tls();
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .expect("usage: outbound <url> <token> [events] [concurrency]");
    let token = args.next().expect("token");
    let events: usize = args.next().map_or(20_000, |s| s.parse().unwrap());
    let concurrency: usize = args.next().map_or(32, |s| s.parse().unwrap());
    let endpoints: usize = args.next().map_or(16, |s| s.parse().unwrap());

    let arrivals: Arrivals = Arc::default();
    let app = axum::Router::new()
        .fallback(receive)
        .with_state(arrivals.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let recv_url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let http = reqwest::Client::new();
    let transform = std::env::var("BENCH_TRANSFORM")
        .ok()
        .filter(|t| !t.is_empty());
    let by_filter = std::env::var("BENCH_ROUTE_BY_FILTER").is_ok_and(|v| v == "1");
    for e in 0..endpoints {
        let mut ep = if by_filter {
            json!({"url": format!("{recv_url}/{e}"), "events": ["bench.*"],
                   "filter": {"data.route": {"$eq": e}}})
        } else {
            json!({"url": format!("{recv_url}/{e}"), "events": [format!("bench.e{e}")]})
        };
        if let Some(t) = &transform {
            ep["transform"] = json!(t);
        }
        let resp = http
            .post(format!("{base}/v1/endpoints"))
            .bearer_auth(&token)
            .json(&ep)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    }

    let accepted: Arc<Mutex<Vec<(String, Instant, Duration)>>> = Arc::default();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let (http, base, token, accepted) =
            (http.clone(), base.clone(), token.clone(), accepted.clone());
        let n = events / concurrency;
        tasks.push(tokio::spawn(async move {
            for i in 0..n {
                let t0 = Instant::now();
                let resp = http
                    .post(format!("{base}/v1/events"))
                    .bearer_auth(&token)
                    .json(&json!({"type": format!("bench.e{}", (t * n + i) % endpoints),
                        "data": {"task": t, "i": i, "route": (t * n + i) % endpoints, "pad": "x".repeat(100)}}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 202);
                let body: serde_json::Value = resp.json().await.unwrap();
                let done = Instant::now();
                accepted.lock().unwrap().push((body["id"].as_str().unwrap().to_string(), t0, done - t0));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let accept_wall = started.elapsed();
    let accepted = std::mem::take(&mut *accepted.lock().unwrap());
    let n = accepted.len();
    let deadline = Instant::now() + Duration::from_secs(120);
    while arrivals.lock().unwrap().len() < n {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} delivered",
            arrivals.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let all_wall = started.elapsed();
    let arrivals = arrivals.lock().unwrap();
    let mut accept: Vec<Duration> = accepted.iter().map(|a| a.2).collect();
    let mut lag: Vec<Duration> = accepted
        .iter()
        .map(|(id, at, _)| arrivals[id].saturating_duration_since(*at))
        .collect();
    accept.sort();
    lag.sort();
    println!(
        "events={n} posting-concurrency={concurrency} endpoints={endpoints} transform={} route-by-filter={by_filter}",
        transform.as_deref().unwrap_or("none")
    );
    println!(
        "accept: {:.0} events/s, latency p50={:.2}ms p99={:.2}ms",
        n as f64 / accept_wall.as_secs_f64(),
        pct(&accept, 0.5),
        pct(&accept, 0.99)
    );
    println!(
        "delivered: {:.0} deliveries/s (accept start to last delivery)",
        n as f64 / all_wall.as_secs_f64()
    );
    println!(
        "lag POST sent->delivered: p50={:.2}ms p99={:.2}ms",
        pct(&lag, 0.5),
        pct(&lag, 0.99)
    );
}

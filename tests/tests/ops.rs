//! Operations: `GET /metrics` in Prometheus text format, with its optional
//! token, reflecting real ingress, sandbox, compile and delivery activity.

use hookhost::delivery::guard::AddressGuard;
use hookhost_tests::receiver::Receiver;
use hookhost_tests::{TestServer, start_with};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;

/// The value of the sample `name` (with its labels, exactly as rendered).
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

async fn scrape(srv: &TestServer, token: Option<&str>) -> (StatusCode, String, String) {
    let mut req = srv.http.get(format!("{}/metrics", srv.url));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let ctype = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ctype, resp.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_reflect_activity() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start_with(dir.path(), |c| {
        c.delivery.allowlist = AddressGuard::parse_allowlist("127.0.0.0/8").unwrap();
    })
    .await;
    srv.upload_component("echo").await;
    srv.upload_component("hostile").await;
    let echo = srv.create_webhook("echo", json!(null)).await;
    let trap = srv.create_webhook("hostile", json!({"mode": "trap"})).await;
    for _ in 0..3 {
        let (status, _) = srv.send(srv.http.post(echo["url"].as_str().unwrap())).await;
        assert_eq!(status, 200);
    }
    let (status, _) = srv.send(srv.http.post(trap["url"].as_str().unwrap())).await;
    assert_eq!(status, 500);
    let (status, _) = srv
        .send(srv.http.post(format!("{}/hooks/wh_nope", srv.url)))
        .await;
    assert_eq!(status, 404);

    let receiver = Receiver::start().await;
    let (status, _) = srv
        .send(
            srv.admin(Method::POST, "/endpoints")
                .json(&json!({"url": receiver.url, "events": ["*"]})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = srv
        .send(
            srv.admin(Method::POST, "/events")
                .json(&json!({"type": "a.b", "data": {}})),
        )
        .await;
    assert_eq!(status, 202);
    receiver.wait_for(1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    // The delivery's detail lists its attempts under one `attempts` key
    // (schemathesis once found it twice: the count and the list).
    let (_, page) = srv.send(srv.admin(Method::GET, "/deliveries")).await;
    let id = page["data"][0]["id"].as_str().unwrap();
    let raw = srv
        .admin(Method::GET, &format!("/deliveries/{id}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(raw.matches("\"attempts\"").count(), 1, "{raw}");
    let detail: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(detail["attempts"][0]["status_code"], 200);

    let (status, ctype, text) = scrape(&srv, None).await;
    assert_eq!(status, 200);
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    // The recorder is process-wide (other tests' servers count too): at least.
    let at_least = |name: &str, n: f64| {
        let v = sample(&text, name).unwrap_or_else(|| panic!("no {name} in\n{text}"));
        assert!(v >= n, "{name} = {v}, want >= {n}");
    };
    at_least(r#"hookhost_inbound_requests_total{class="2xx"}"#, 3.0);
    at_least(r#"hookhost_inbound_requests_total{class="4xx"}"#, 1.0);
    at_least(r#"hookhost_inbound_requests_total{class="5xx"}"#, 1.0);
    at_least(r#"hookhost_sandbox_failures_total{kind="trap"}"#, 1.0);
    at_least("hookhost_handler_duration_seconds_count", 4.0);
    at_least(
        r#"hookhost_handler_duration_seconds_bucket{le="+Inf"}"#,
        4.0,
    );
    at_least("hookhost_compile_duration_seconds_count", 2.0);
    at_least(r#"hookhost_outbound_attempts_total{result="success"}"#, 1.0);
    at_least("hookhost_delivery_lag_seconds_count", 1.0);
    // Scrape-time gauges describe this server.
    assert_eq!(sample(&text, "hookhost_webhooks"), Some(2.0), "{text}");
    assert_eq!(sample(&text, "hookhost_modules"), Some(2.0));
    assert!(
        sample(&text, "hookhost_delivery_queue_depth").is_some(),
        "{text}"
    );
    // The delivered attempt leaves the queue once it is recorded.
    let mut depth = None;
    for _ in 0..50 {
        let (_, _, text) = scrape(&srv, None).await;
        depth = sample(&text, "hookhost_delivery_queue_depth");
        if depth == Some(0.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(depth, Some(0.0));
    assert_eq!(sample(&text, "hookhost_endpoints_disabled"), Some(0.0));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_token_is_enforced_when_set() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start_with(dir.path(), |c| c.metrics_token = Some("scrape-me".into())).await;
    let (status, _, body) = scrape(&srv, None).await;
    assert_eq!(status, 401);
    assert!(body.contains("unauthorized"), "{body}");
    let (status, _, _) = scrape(&srv, Some("wrong")).await;
    assert_eq!(status, 401);
    let (status, _, _) = scrape(&srv, Some(&srv.token)).await;
    assert_eq!(status, 401, "the admin token is not the metrics token");
    let (status, _, text) = scrape(&srv, Some("scrape-me")).await;
    assert_eq!(status, 200);
    assert!(text.contains("hookhost_webhooks"), "{text}");
    srv.stop().await;
}

//! Hostile guests: each is stopped with a 5xx within its limit, nothing it
//! recorded is committed, and the host keeps serving others meanwhile.

use hookhost_tests::{TestServer, start_with};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_millis(1000);

async fn server(dir: &std::path::Path) -> TestServer {
    let srv = start_with(dir, |c| {
        c.limits.timeout = TIMEOUT;
        c.limits.memory_bytes = 32 << 20;
    })
    .await;
    srv.upload_component("hostile").await;
    srv.upload_component("echo").await;
    srv
}

async fn hostile_url(srv: &TestServer, mode: &str) -> (String, String) {
    let hook = srv.create_webhook("hostile", json!({ "mode": mode })).await;
    (
        hook["url"].as_str().unwrap().to_string(),
        hook["id"].as_str().unwrap().to_string(),
    )
}

/// Calls `mode` while echo requests run alongside; returns status, body and
/// how long the hostile call took.
async fn call_beside_normal_traffic(srv: &TestServer, mode: &str) -> (u16, Value, Duration) {
    let (url, _) = hostile_url(srv, mode).await;
    let echo = srv.create_webhook("echo", json!(null)).await;
    let echo_url = echo["url"].as_str().unwrap().to_string();

    let started = Instant::now();
    let hostile = srv.send(srv.http.post(&url).body("x"));
    let normal = async {
        // Requests to a well-behaved handler keep succeeding meanwhile.
        for _ in 0..5 {
            let (status, body) = srv.send(srv.http.post(&echo_url).body("still here")).await;
            assert_eq!(status, 200, "normal request during {mode}: {body}");
            assert_eq!(body["body"], "still here");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let ((status, body), ()) = tokio::join!(hostile, normal);
    (status.as_u16(), body, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_guests_get_5xx_within_their_limits() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let slack = Duration::from_millis(1500);
    let cases = [
        ("loop", 504, "timeout"),
        ("memory", 500, "memory_limit"),
        ("huge-response", 502, "response_too_large"),
        ("trap", 500, "trap"),
        ("emit-flood", 500, "record_limit"),
        ("bad-status", 502, "invalid_response"),
    ];
    for (mode, want_status, want_code) in cases {
        let (status, body, took) = call_beside_normal_traffic(&srv, mode).await;
        assert_eq!(status, want_status, "{mode}: {body}");
        assert_eq!(body["error"]["code"], want_code, "{mode}: {body}");
        assert!(
            body["error"]["invocation_id"]
                .as_str()
                .unwrap()
                .starts_with("inv_")
        );
        assert!(took < TIMEOUT + slack, "{mode} took {took:?}");
    }
    // Nothing the flood emitted was committed.
    let (_, emissions) = srv.send(srv.admin(Method::GET, "/emissions")).await;
    assert_eq!(emissions["data"], json!([]));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_recorded_in_the_invocation_log() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let (url, id) = hostile_url(&srv, "loop").await;
    let (status, _) = srv.send(srv.http.get(&url)).await;
    assert_eq!(status, 504);
    let log = srv.invocations_until(&id, 1).await;
    let entry = &log["data"][0];
    assert_eq!(entry["outcome"], "timeout");
    assert_eq!(entry["status"], 504);
    assert!(entry["error"].as_str().unwrap().contains("time limit"));
    let ms = entry["duration_ms"].as_f64().unwrap();
    assert!(
        ms >= TIMEOUT.as_millis() as f64 && ms < 2.0 * TIMEOUT.as_millis() as f64,
        "{ms}"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_or_trap_commits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    for (mode, want) in [("publish-then-error", 500), ("publish-then-trap", 500)] {
        let (url, _) = hostile_url(&srv, mode).await;
        let (status, body) = srv.send(srv.http.post(&url)).await;
        assert_eq!(status, want, "{mode}: {body}");
    }
    let (status, body) = srv
        .send(
            srv.http
                .post(hostile_url(&srv, "publish-then-error").await.0),
        )
        .await;
    assert_eq!(status, 500);
    assert_eq!(
        body["error"],
        json!({"code": "internal", "message": "failed after publishing", "invocation_id": body["error"]["invocation_id"]})
    );
    let (_, events) = srv.send(srv.admin(Method::GET, "/events")).await;
    assert_eq!(
        events["data"],
        json!([]),
        "no event survives an error or a trap"
    );
    let (_, emissions) = srv.send(srv.admin(Method::GET, "/emissions")).await;
    assert_eq!(emissions["data"], json!([]));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_output_is_bounded_and_invalid_json_is_the_guests_error() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let (url, _) = hostile_url(&srv, "chatty").await;
    let (status, body) = srv.send(srv.http.post(&url)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "said a lot");

    let (url, _) = hostile_url(&srv, "bad-json-emit").await;
    let (status, body) = srv.send(srv.http.post(&url)).await;
    assert_eq!(status, 200);
    assert!(body.as_str().unwrap().contains("not valid JSON"), "{body}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_request_bodies_get_413() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start_with(dir.path(), |c| c.limits.max_request_body = 1024).await;
    srv.upload_component("echo").await;
    let hook = srv.create_webhook("echo", json!(null)).await;
    let url = hook["url"].as_str().unwrap();
    let (status, body) = srv.send(srv.http.post(url).body(vec![b'a'; 1025])).await;
    assert_eq!(status, 413);
    assert_eq!(body["error"]["code"], "body_too_large");
    // Chunked bodies without a length are cut off at the limit as well.
    assert_eq!(post_chunked(url, 8, 512).await, 413);
    let (status, _) = srv.send(srv.http.post(url).body(vec![b'a'; 1024])).await;
    assert_eq!(status, 200);
    srv.stop().await;
}

/// Sends `chunks` chunks of `size` bytes with chunked encoding over a raw
/// socket; returns the status code.
async fn post_chunked(url: &str, chunks: usize, size: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let url = reqwest::Url::parse(url).unwrap();
    let mut sock = tokio::net::TcpStream::connect((url.host_str().unwrap(), url.port().unwrap()))
        .await
        .unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        url.path()
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    for _ in 0..chunks {
        // The server may answer and close before all chunks are sent.
        if sock
            .write_all(format!("{size:x}\r\n{}\r\n", "b".repeat(size)).as_bytes())
            .await
            .is_err()
        {
            break;
        }
    }
    let _ = sock.write_all(b"0\r\n\r\n").await;
    let mut reply = Vec::new();
    let _ = sock.read_to_end(&mut reply).await;
    let text = String::from_utf8_lossy(&reply);
    text.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Memory slots are reused in place (only the pages a call dirtied are
/// reset), so check that nothing of one call is visible to the next: not a
/// global, not heap contents near the start of memory, not far beyond it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_state_leaks_from_one_call_to_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let (url, _) = hostile_url(&srv, "snoop").await;
    let fresh = json!({"calls": 1, "heap_marked": false, "deep_marked": false});
    for i in 0..5 {
        let (status, body) = srv.send(srv.http.post(&url)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body, fresh, "call {i}");
    }
    for round in 0..5 {
        let call = || srv.send(srv.http.post(&url));
        let (a, b, c) = tokio::join!(call(), call(), call());
        for (status, body) in [a, b, c] {
            assert_eq!(status, 200, "{body}");
            assert_eq!(body, fresh, "concurrent round {round}");
        }
    }
    srv.stop().await;
}

/// `reuse_instances`, the one opt-in trade-off of isolation: a webhook's
/// later calls run in its kept instance (the guest's call counter goes
/// on), but no other webhook's do (same module, reuse on as well), a
/// webhook without it stays fresh, and an instance that trapped is never
/// entered again. The invocation log says which calls were reused.
#[tokio::test]
async fn reused_instances_stay_with_their_webhook_and_go_after_a_trap() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let reusing =
        json!({"module": "hostile", "payload": {"mode": "snoop"}, "reuse_instances": true});
    let a = srv.create_webhook_from(reusing.clone()).await;
    let b = srv.create_webhook_from(reusing).await;
    assert_eq!(a["reuse_instances"], true);
    let (fresh_url, _) = hostile_url(&srv, "snoop").await;
    let a_id = a["id"].as_str().unwrap().to_string();
    let a_url = a["url"].as_str().unwrap().to_string();
    let calls_seen = |body: &Value| body["calls"].as_u64().unwrap_or_default();
    let s = &srv;
    let call = |url: String| async move {
        let (status, body) = s.send(s.http.post(url)).await;
        assert_eq!(status, 200, "{body}");
        body
    };

    for n in 1..=3 {
        assert_eq!(calls_seen(&call(a_url.clone()).await), n, "call {n} of a");
    }
    // Another webhook of the same module has its own instance.
    assert_eq!(
        calls_seen(&call(b["url"].as_str().unwrap().into()).await),
        1
    );
    // A webhook without reuse stays fresh, memory included.
    for _ in 0..2 {
        let body = call(fresh_url.clone()).await;
        assert_eq!(
            body,
            json!({"calls": 1, "heap_marked": false, "deep_marked": false})
        );
    }
    // A trap in the kept instance: it is dropped, the next call is fresh.
    let (status, body) = srv.send(srv.http.post(format!("{a_url}/trap"))).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["error"]["code"], "trap", "{body}");
    assert_eq!(calls_seen(&call(a_url.clone()).await), 1);
    assert_eq!(calls_seen(&call(a_url.clone()).await), 2);
    // Turning reuse off drops the kept instance; on again starts anew.
    for (reuse, expected) in [(false, [1, 1]), (true, [1, 2])] {
        let (status, hook) = srv
            .send(
                srv.admin(Method::PATCH, &format!("/webhooks/{a_id}"))
                    .json(&json!({ "reuse_instances": reuse })),
            )
            .await;
        assert_eq!(status, 200, "{hook}");
        assert_eq!(hook["reuse_instances"], reuse);
        for n in expected {
            assert_eq!(calls_seen(&call(a_url.clone()).await), n, "reuse {reuse}");
        }
    }
    // 3 + trap + 2 + 2 + 2 calls; newest first: the last ran in the kept
    // instance, the one before in a fresh one.
    let log = srv.invocations_until(&a_id, 10).await;
    let data = log["data"].as_array().unwrap();
    assert_eq!(data[0]["reused"], true, "{log}");
    assert_eq!(data[1].get("reused"), None, "{log}");
    assert_eq!(
        data.iter().filter(|i| i["reused"] == true).count(),
        5,
        "{log}"
    );
    srv.stop().await;
}

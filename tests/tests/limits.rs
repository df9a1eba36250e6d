//! The server stays up for everyone and nothing grows forever: slow
//! clients, one slow endpoint's backlog, manual retries racing an attempt,
//! endpoints whose address stopped being allowed, and retention.

use hookhost::delivery::guard::AddressGuard;
use hookhost_tests::receiver::{Receiver, Reply};
use hookhost_tests::{TestServer, endpoint, send_event, start_with, wait_until};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn delivery_of(srv: &TestServer, event_id: &str) -> Option<Value> {
    let (_, page) = srv
        .send(srv.admin(Method::GET, &format!("/deliveries?event={event_id}")))
        .await;
    let d = page["data"][0].clone();
    (!d.is_null()).then_some(d)
}

async fn event_ids(srv: &TestServer) -> Vec<String> {
    let (_, page) = srv.send(srv.admin(Method::GET, "/events")).await;
    page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{page}"))
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_cannot_exhaust_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start_with(dir.path(), |c| c.header_timeout = Duration::from_secs(2)).await;
    let addr = srv.url.trim_start_matches("http://").to_string();

    // 800 connections that send half a request line and stop.
    let mut stalled = Vec::new();
    for _ in 0..800 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /hea").await.unwrap();
        stalled.push(s);
    }

    // Everyone else is still served, at once.
    let started = Instant::now();
    let (status, body) = tokio::time::timeout(
        Duration::from_secs(1),
        srv.send(srv.http.get(format!("{}/healthz", srv.url))),
    )
    .await
    .expect("/healthz answers within a second beside 800 stalled connections");
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(started.elapsed() < Duration::from_secs(1));

    // The header timeout closes every stalled connection: each read ends
    // (EOF, a reset, or the server's 408) instead of hanging.
    let closing = async {
        for mut s in stalled {
            let mut buf = [0u8; 512];
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => continue,
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(15), closing)
        .await
        .expect("the header timeout closes stalled connections");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_slow_endpoint_never_delays_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start_with(dir.path(), |c| {
        c.delivery.allowlist = AddressGuard::parse_allowlist("127.0.0.0/8").unwrap();
        c.delivery.timeout = Duration::from_secs(30);
    })
    .await;
    let slow = Receiver::start().await;
    slow.otherwise(Reply {
        delay: Duration::from_secs(5),
        ..Reply::status(200)
    });
    let fast = Receiver::start().await;
    endpoint(&srv, json!({"url": slow.url, "events": ["slow.*"]})).await;
    endpoint(&srv, json!({"url": fast.url, "events": ["fast.*"]})).await;

    // A backlog of 700 for the slow endpoint, well past one scan of the queue.
    for n in 0..700 {
        send_event(&srv, json!({"type": "slow.tick", "data": {"n": n}})).await;
    }
    slow.wait_for(1, Duration::from_secs(10)).await;

    let started = Instant::now();
    send_event(&srv, json!({"type": "fast.tick", "data": {}})).await;
    fast.wait_for(1, Duration::from_secs(3)).await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "the fast endpoint waited {took:?} behind the slow one's backlog"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_retry_during_an_attempt_is_kept_and_not_doubled() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start_with(dir.path(), |c| {
        c.delivery.allowlist = AddressGuard::parse_allowlist("127.0.0.0/8").unwrap();
        // After the first attempt fails, the schedule's next one is an hour away.
        c.delivery.schedule = hookhost::config::parse_schedule("0s,1h").unwrap();
    })
    .await;
    let r = Receiver::start().await;
    r.script([Reply {
        delay: Duration::from_millis(1500),
        ..Reply::status(500)
    }]);
    endpoint(&srv, json!({"url": r.url, "events": ["*"]})).await;
    let accepted = send_event(&srv, json!({"type": "order.paid", "data": {}})).await;
    let event_id = accepted["id"].as_str().unwrap().to_string();

    // The first attempt is in flight (the receiver holds it): retry now.
    r.wait_for(1, Duration::from_secs(10)).await;
    let id = delivery_of(&srv, &event_id).await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = srv
        .send(srv.admin(Method::POST, &format!("/deliveries/{id}/retry")))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");

    // The retry is not lost: a second attempt follows the failed one at
    // once (not in an hour), and succeeds...
    r.wait_for(2, Duration::from_secs(10)).await;
    let d = wait_until(
        Duration::from_secs(10),
        "the delivery to succeed",
        || async {
            delivery_of(&srv, &event_id)
                .await
                .filter(|d| d["status"] == "success")
        },
    )
    .await;
    assert_eq!(d["attempts"], 2, "{d}");
    // ...and nothing else is left queued (no second schedule beside it).
    srv.wait_queue_empty().await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn literal_ip_endpoints_are_checked_again_at_send_time() {
    let dir = tempfile::tempdir().unwrap();
    let r = Receiver::start().await;
    let srv = start_with(dir.path(), |c| {
        c.delivery.allowlist = AddressGuard::parse_allowlist("127.0.0.0/8").unwrap();
    })
    .await;
    endpoint(&srv, json!({"url": r.url, "events": ["*"]})).await;
    srv.stop().await;

    // The operator removed loopback from the allowlist: the endpoint stored
    // with a literal 127.0.0.1 must not be sent to any more.
    let srv = start_with(dir.path(), |c| {
        c.delivery.schedule = hookhost::config::parse_schedule("0s,1h").unwrap();
    })
    .await;
    let accepted = send_event(&srv, json!({"type": "order.paid", "data": {}})).await;
    let event_id = accepted["id"].as_str().unwrap().to_string();
    let d = wait_until(Duration::from_secs(10), "the refused attempt", || async {
        delivery_of(&srv, &event_id)
            .await
            .filter(|d| d["attempts"] == 1)
    })
    .await;
    assert!(
        d["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("may not reach")),
        "{d}"
    );
    assert!(r.received().is_empty(), "the receiver got a delivery");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_removes_finished_records_and_keeps_pending_ones() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start_with(dir.path(), |c| {
        c.delivery.allowlist = AddressGuard::parse_allowlist("127.0.0.0/8").unwrap();
        c.delivery.schedule = hookhost::config::parse_schedule("0s,1h").unwrap();
        c.retention = Duration::from_secs(5);
    })
    .await;
    let ok = Receiver::start().await;
    let failing = Receiver::start().await;
    failing.otherwise(Reply::status(500));
    endpoint(&srv, json!({"url": ok.url, "events": ["done.*"]})).await;
    endpoint(&srv, json!({"url": failing.url, "events": ["stuck.*"]})).await;
    srv.upload_component("echo").await;
    let hook = srv.create_webhook("echo", json!(null)).await;
    let hook_id = hook["id"].as_str().unwrap().to_string();
    let (status, _) = srv
        .send(srv.http.post(hook["url"].as_str().unwrap()).body("hi"))
        .await;
    assert_eq!(status, StatusCode::OK);

    let done = send_event(&srv, json!({"type": "done.x", "data": {}})).await;
    let done_id = done["id"].as_str().unwrap().to_string();
    let stuck = srv
        .send(
            srv.admin(Method::POST, "/events")
                .header("idempotency-key", "k-1")
                .json(&json!({"type": "stuck.x", "data": {}})),
        )
        .await
        .1;
    let stuck_id = stuck["id"].as_str().unwrap().to_string();
    let delivered = wait_until(Duration::from_secs(10), "the delivery", || async {
        delivery_of(&srv, &done_id)
            .await
            .filter(|d| d["status"] == "success")
    })
    .await;
    failing.wait_for(1, Duration::from_secs(10)).await;

    // Within 15 s the finished records are gone...
    let started = Instant::now();
    wait_until(Duration::from_secs(15), "retention", || async {
        let event_gone = !event_ids(&srv).await.contains(&done_id);
        let (delivery, _) = srv
            .send(srv.admin(
                Method::GET,
                &format!("/deliveries/{}", delivered["id"].as_str().unwrap()),
            ))
            .await;
        let (_, log) = srv
            .send(srv.admin(Method::GET, &format!("/webhooks/{hook_id}/invocations")))
            .await;
        (event_gone
            && delivery == StatusCode::NOT_FOUND
            && log["data"].as_array().is_some_and(|a| a.is_empty()))
        .then_some(())
    })
    .await;
    assert!(started.elapsed() < Duration::from_secs(15));

    // ...while the pending delivery and its event stay.
    let pending = delivery_of(&srv, &stuck_id)
        .await
        .expect("the pending delivery is kept");
    assert_eq!(pending["status"], "pending", "{pending}");
    assert!(
        event_ids(&srv).await.contains(&stuck_id),
        "the pending delivery's event is kept"
    );
    srv.stop().await;
}

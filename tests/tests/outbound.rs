//! Outbound delivery end to end: real receivers on loopback, real signatures
//! checked with the independent `standardwebhooks` crate.

use hmac::{Hmac, Mac};
use hookhost::delivery::guard::AddressGuard;
use hookhost_tests::receiver::{Receiver, Reply};
use hookhost_tests::{TestServer, endpoint, send_event, start_with, verify_standard};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

async fn server(dir: &std::path::Path) -> TestServer {
    start_with(dir, |c| {
        c.delivery.allowlist = AddressGuard::parse_allowlist("127.0.0.0/8").unwrap();
        c.delivery.schedule = hookhost::config::parse_schedule("0,100ms,100ms,100ms").unwrap();
        c.delivery.timeout = Duration::from_secs(2);
    })
    .await
}

/// The positions of the `v1a` signatures of `r` that `public_key` (`whpk_…`)
/// verifies, checked by Python's `cryptography` (installed by
/// scripts/guest-toolchains.sh), not by anything hookhost uses.
fn python_verifies(public_key: &str, r: &hookhost_tests::receiver::Received) -> Vec<usize> {
    use std::io::Write;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/verify_ed25519.py");
    let mut child = std::process::Command::new("python3")
        .arg(script)
        .args([
            public_key,
            r.header("webhook-id"),
            r.header("webhook-timestamp"),
            r.header("webhook-signature"),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs (scripts/guest-toolchains.sh installs what it needs)");
    child.stdin.take().unwrap().write_all(&r.body).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the verifier failed (is `cryptography` installed? scripts/guest-toolchains.sh): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(|i| i.parse().unwrap())
        .collect()
}

async fn delivery_of(srv: &TestServer, event_id: &str) -> Value {
    let (_, page) = srv
        .send(srv.admin(Method::GET, &format!("/deliveries?event={event_id}")))
        .await;
    let id = page["data"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no delivery for {event_id}: {page}"))
        .to_string();
    srv.send(srv.admin(Method::GET, &format!("/deliveries/{id}")))
        .await
        .1
}

async fn wait_status(srv: &TestServer, event_id: &str, status: &str) -> Value {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let d = delivery_of(srv, event_id).await;
        if d["status"] == status {
            return d;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "delivery never became {status}: {d}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_with_patterns_filters_and_standard_signatures() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let (a, b, c) = (
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
    );
    let ep_a = endpoint(
        &srv,
        json!({"url": a.url, "events": ["post.*"], "filters": {"status": "published"}}),
    )
    .await;
    let ep_b = endpoint(&srv, json!({"url": b.url, "events": ["post.created"]})).await;
    endpoint(&srv, json!({"url": c.url, "events": ["user.*"]})).await;
    let secret_a = ep_a["secret"].as_str().unwrap();
    assert!(secret_a.starts_with("whsec_"));

    let published = send_event(
        &srv,
        json!({"type": "post.created", "data": {"status": "published", "title": "Hi"}}),
    )
    .await;
    assert_eq!(published["deliveries"], 2);
    let draft = send_event(
        &srv,
        json!({"type": "post.created", "data": {"status": "draft"}}),
    )
    .await;
    assert_eq!(draft["deliveries"], 1);
    let none = send_event(&srv, json!({"type": "order.paid", "data": {}})).await;
    assert_eq!(none["deliveries"], 0);

    let got_a = a.wait_for(1, WAIT).await;
    let got_b = b.wait_for(2, WAIT).await;
    // Every delivery was queued before its event was accepted; once the
    // queue is empty each was attempted, so the counts are final.
    srv.wait_queue_empty().await;
    assert_eq!(a.received().len(), 1);
    assert_eq!(b.received().len(), 2);
    assert!(c.received().is_empty());

    let envelope = got_a[0].json();
    assert_eq!(envelope["id"], published["id"]);
    assert_eq!(envelope["type"], "post.created");
    assert_eq!(
        envelope["data"],
        json!({"status": "published", "title": "Hi"})
    );
    assert!(envelope["created_at"].is_string());
    assert_eq!(
        got_a[0].header("webhook-id"),
        published["id"].as_str().unwrap()
    );
    assert_eq!(got_a[0].header("content-type"), "application/json");
    verify_standard(secret_a, &got_a[0]);
    for r in &got_b {
        verify_standard(ep_b["secret"].as_str().unwrap(), r);
    }

    // Tracked: success, one attempt with status and latency.
    let d = wait_status(&srv, published["id"].as_str().unwrap(), "success").await;
    assert_eq!(d["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(d["attempts"][0]["status_code"], 200);
    assert_eq!(d["attempts"][0]["response_body"], "reply 200");
    let (_, list) = srv
        .send(srv.admin(
            Method::GET,
            &format!(
                "/deliveries?endpoint={}&status=success",
                ep_b["id"].as_str().unwrap()
            ),
        ))
        .await;
    assert_eq!(list["data"].as_array().unwrap().len(), 2);

    // Listing endpoints shows only a hint of the secret; the explicit route shows it.
    let (_, eps) = srv.send(srv.admin(Method::GET, "/endpoints")).await;
    assert!(!eps.to_string().contains(secret_a));
    let (_, s) = srv
        .send(srv.admin(
            Method::GET,
            &format!("/endpoints/{}/secret", ep_a["id"].as_str().unwrap()),
        ))
        .await;
    assert_eq!(s["secret"], secret_a);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_filters_select_what_each_endpoint_gets() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let (a, b) = (Receiver::start().await, Receiver::start().await);
    // Large invoices, and only live ones (an equality filter besides).
    let filter_a = json!({"type": {"$startsWith": "invoice."}, "data.amount": {"$gt": 100}});
    let ep_a = endpoint(
        &srv,
        json!({"url": a.url, "events": ["*"], "filters": {"live": true}, "filter": filter_a}),
    )
    .await;
    assert_eq!(ep_a["filter"], filter_a);
    // European currencies, or customers without a tier.
    let filter_b = json!({"$or": [
        {"data.currency": {"$in": ["EUR", "GBP"]}},
        {"data.customer.tier": {"$exists": false}}
    ]});
    endpoint(
        &srv,
        json!({"url": b.url, "events": ["*"], "filter": filter_b}),
    )
    .await;

    let gold = json!({"tier": "gold"});
    let mut to_a = Vec::new();
    let mut to_b = Vec::new();
    for (event_type, data, (for_a, for_b)) in [
        (
            "invoice.paid",
            json!({"amount": 150, "currency": "EUR", "customer": gold, "live": true}),
            (true, true),
        ),
        (
            "invoice.paid",
            json!({"amount": 50, "currency": "USD", "customer": gold, "live": true}),
            (false, false),
        ),
        (
            "order.paid",
            json!({"amount": 500, "currency": "GBP", "customer": gold, "live": true}),
            (false, true),
        ),
        (
            "invoice.created",
            json!({"amount": 100.5, "currency": "USD", "customer": {"tier": "free"}, "live": true}),
            (true, false),
        ),
        // A string is not a number; a missing tier passes `$exists: false`.
        (
            "invoice.paid",
            json!({"amount": "1000", "currency": "JPY", "live": true}),
            (false, true),
        ),
        // Passes the operator filter of A, not its equality filter.
        (
            "invoice.paid",
            json!({"amount": 200, "currency": "USD", "customer": gold, "live": false}),
            (false, false),
        ),
    ] {
        let accepted = send_event(&srv, json!({"type": event_type, "data": data})).await;
        let id = accepted["id"].as_str().unwrap().to_string();
        assert_eq!(
            accepted["deliveries"],
            usize::from(for_a) + usize::from(for_b),
            "{event_type} {data}"
        );
        if for_a {
            to_a.push(id.clone());
        }
        if for_b {
            to_b.push(id);
        }
    }
    a.wait_for(to_a.len(), WAIT).await;
    b.wait_for(to_b.len(), WAIT).await;
    // Every delivery was queued before its event was accepted: once the
    // queue is empty, nothing more is on its way.
    srv.wait_queue_empty().await;
    let ids = |r: &Receiver| {
        let mut ids: Vec<String> = r
            .received()
            .iter()
            .map(|x| x.json()["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    to_a.sort();
    to_b.sort();
    assert_eq!(ids(&a), to_a);
    assert_eq!(ids(&b), to_b);

    // Refused, at creation and update, with the bad part named; the
    // endpoint keeps its filter.
    let bad = json!({"$and": [{"type": "x"}, {"data.amount": {"$gtt": 1}}]});
    let (status, body) = srv
        .send(
            srv.admin(Method::POST, "/endpoints")
                .json(&json!({"url": a.url, "events": ["*"], "filter": bad})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "invalid_request");
    assert_eq!(
        body["error"]["message"],
        "filter.$and[1].data.amount: unknown operator $gtt"
    );
    let a_path = format!("/endpoints/{}", ep_a["id"].as_str().unwrap());
    let (status, body) = srv
        .send(
            srv.admin(Method::PATCH, &a_path)
                .json(&json!({"filter": {"data.currency": {"$in": "EUR"}}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["error"]["message"],
        "filter.data.currency.$in: takes an array"
    );
    let deep =
        json!({"$not": {"$not": {"$not": {"$not": {"$not": {"$not": {"$not": {"$not": {}}}}}}}}});
    let (status, body) = srv
        .send(
            srv.admin(Method::PATCH, &a_path)
                .json(&json!({"filter": deep})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["error"]["message"],
        "filter: nested more than 8 levels deep"
    );
    let (_, now) = srv.send(srv.admin(Method::GET, &a_path)).await;
    assert_eq!(now["filter"], filter_a);

    // A change applies to the next event; `null` removes the filter.
    let (status, changed) = srv
        .send(
            srv.admin(Method::PATCH, &a_path)
                .json(&json!({"filter": {"data.amount": {"$lte": 10}}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let small = json!({"type": "order.paid", "data": {"amount": 5, "live": true}});
    assert_eq!(send_event(&srv, small).await["deliveries"], 2, "A and B");
    let (_, changed) = srv
        .send(
            srv.admin(Method::PATCH, &a_path)
                .json(&json!({"filter": null})),
        )
        .await;
    assert!(changed["filter"].is_null(), "{changed}");
    let (_, list) = srv.send(srv.admin(Method::GET, "/endpoints")).await;
    let filters: Vec<_> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["filter"].clone())
        .collect();
    assert_eq!(filters, vec![Value::Null, filter_b]);
    let large = json!({"type": "order.paid", "data": {"amount": 5000, "currency": "USD", "live": true, "customer": gold}});
    assert_eq!(
        send_event(&srv, large).await["deliveries"],
        1,
        "only A, unfiltered"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hex_and_typo3_signatures() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let (h, t) = (Receiver::start().await, Receiver::start().await);
    let secret = "a-shared-secret-of-some-length";
    endpoint(
        &srv,
        json!({"url": h.url, "events": ["*"], "signature": "hex", "secret": secret}),
    )
    .await;
    let ep_t = endpoint(
        &srv,
        json!({"url": t.url, "events": ["*"], "signature": "typo3", "secret": secret}),
    )
    .await;
    let ev = send_event(&srv, json!({"type": "page.modified", "data": {"uid": 1}})).await;

    let r = &h.wait_for(1, WAIT).await[0];
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&r.body);
    assert_eq!(
        r.header("x-webhook-signature"),
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    );
    assert_eq!(r.header("x-webhook-id"), ev["id"].as_str().unwrap());
    assert!(r.header("x-webhook-timestamp").parse::<i64>().is_ok());

    let r = &t.wait_for(1, WAIT).await[0];
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{}:", ep_t["id"].as_str().unwrap()).as_bytes());
    mac.update(&r.body);
    assert_eq!(
        r.header("webhook-signature"),
        hex::encode(mac.finalize().into_bytes())
    );
    assert_eq!(r.header("webhook-signature-algo"), "sha256");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_until_success_and_records_every_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let r = Receiver::start().await;
    r.script([Reply::status(500), Reply::status(502)]);
    endpoint(&srv, json!({"url": r.url, "events": ["*"]})).await;
    let ev = send_event(&srv, json!({"type": "a.b", "data": {}})).await;
    let d = wait_status(&srv, ev["id"].as_str().unwrap(), "success").await;
    let codes: Vec<_> = d["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status_code"].clone())
        .collect();
    assert_eq!(codes, vec![json!(500), json!(502), json!(200)]);
    assert_eq!(d["attempts"][0]["response_body"], "reply 500");
    let got = r.received();
    assert_eq!(got.len(), 3);
    // Same message id on every retry, so receivers can deduplicate.
    assert!(
        got.iter()
            .all(|x| x.header("webhook-id") == ev["id"].as_str().unwrap())
    );
    assert!(
        got[1].at - got[0].at >= Duration::from_millis(90),
        "the schedule's delay is kept"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhausted_deliveries_fail_and_can_be_retried_or_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let r = Receiver::start().await;
    r.otherwise(Reply::status(500));
    let ep = endpoint(&srv, json!({"url": r.url, "events": ["*"]})).await;
    let ep_id = ep["id"].as_str().unwrap();
    let first = send_event(&srv, json!({"type": "x.y", "data": {"n": 1}})).await;
    let second = send_event(&srv, json!({"type": "x.y", "data": {"n": 2}})).await;
    let d = wait_status(&srv, first["id"].as_str().unwrap(), "failed").await;
    assert_eq!(
        d["attempts"].as_array().unwrap().len(),
        4,
        "the schedule has 4 steps"
    );
    wait_status(&srv, second["id"].as_str().unwrap(), "failed").await;
    let (_, ep_now) = srv
        .send(srv.admin(Method::GET, &format!("/endpoints/{ep_id}")))
        .await;
    assert!(ep_now["failing_since"].is_string());

    // The receiver recovers: a manual retry of one, then recover the rest.
    r.otherwise(Reply::status(200));
    let (status, _) = srv
        .send(srv.admin(
            Method::POST,
            &format!("/deliveries/{}/retry", d["id"].as_str().unwrap()),
        ))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    wait_status(&srv, first["id"].as_str().unwrap(), "success").await;
    let since = (chrono::Utc::now() - chrono::Duration::minutes(5)).to_rfc3339();
    let (status, body) = srv
        .send(
            srv.admin(Method::POST, &format!("/endpoints/{ep_id}/recover"))
                .json(&json!({"since": since})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["requeued"], 1);
    wait_status(&srv, second["id"].as_str().unwrap(), "success").await;
    let (_, ep_now) = srv
        .send(srv.admin(Method::GET, &format!("/endpoints/{ep_id}")))
        .await;
    assert!(
        ep_now["failing_since"].is_null(),
        "a success ends the failing streak"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured_and_410_disables_the_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let r = Receiver::start().await;
    let mut busy = Reply::status(429);
    busy.headers.push(("retry-after", "1".into()));
    r.script([busy]);
    endpoint(&srv, json!({"url": r.url, "events": ["*"]})).await;
    let ev = send_event(&srv, json!({"type": "a.b", "data": {}})).await;
    wait_status(&srv, ev["id"].as_str().unwrap(), "success").await;
    let got = r.received();
    assert!(
        got[1].at - got[0].at >= Duration::from_millis(950),
        "waited {:?}",
        got[1].at - got[0].at
    );

    let gone = Receiver::start().await;
    gone.otherwise(Reply::status(410));
    let ep = endpoint(&srv, json!({"url": gone.url, "events": ["*"]})).await;
    let ev = send_event(&srv, json!({"type": "a.b", "data": {}})).await;
    let d = wait_status(&srv, ev["id"].as_str().unwrap(), "failed").await;
    // The 410 delivery is the one to the second endpoint.
    let (_, page) = srv
        .send(srv.admin(
            Method::GET,
            &format!("/deliveries?endpoint={}", ep["id"].as_str().unwrap()),
        ))
        .await;
    assert_eq!(page["data"][0]["status"], "failed", "{d}");
    assert_eq!(page["data"][0]["attempts"], 1, "410 is not retried");
    let (_, ep_now) = srv
        .send(srv.admin(
            Method::GET,
            &format!("/endpoints/{}", ep["id"].as_str().unwrap()),
        ))
        .await;
    assert_eq!(ep_now["active"], false);
    assert!(ep_now["disabled_reason"].as_str().unwrap().contains("410"));
    let next = send_event(&srv, json!({"type": "a.b", "data": {}})).await;
    assert_eq!(
        next["deliveries"], 1,
        "the disabled endpoint gets nothing new"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_key_returns_the_first_event() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let r = Receiver::start().await;
    endpoint(&srv, json!({"url": r.url, "events": ["*"]})).await;
    let body = json!({"type": "order.paid", "data": {"id": 9}, "idempotency_key": "order-9-paid"});
    let first = send_event(&srv, body.clone()).await;
    let again = send_event(&srv, body).await;
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["deliveries"], 0);
    r.wait_for(1, WAIT).await;
    // A delivery for the duplicate would have been queued before the 202;
    // once the queue is empty it would have arrived.
    srv.wait_queue_empty().await;
    assert_eq!(r.received().len(), 1);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_endpoint_concurrency_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start_with(dir.path(), |c| {
        c.delivery.allowlist = AddressGuard::parse_allowlist("127.0.0.0/8").unwrap();
        c.delivery.endpoint_concurrency = 2;
    })
    .await;
    let r = Receiver::start().await;
    let mut slow = Reply::status(200);
    slow.delay = Duration::from_millis(200);
    r.otherwise(slow);
    endpoint(&srv, json!({"url": r.url, "events": ["*"]})).await;
    for n in 0..8 {
        send_event(&srv, json!({"type": "bulk.item", "data": {"n": n}})).await;
    }
    r.wait_for(8, WAIT).await;
    assert_eq!(r.peak_concurrency(), 2);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_published_events_reach_subscribed_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let r = Receiver::start().await;
    let ep = endpoint(&srv, json!({"url": r.url, "events": ["user.*"]})).await;
    srv.upload_component("identity-sync").await;
    let hook = srv
        .create_webhook("identity-sync", json!({"source": "azure-ad"}))
        .await;
    let notification = json!({"id": "IDNUMBER1234", "entityType": "USER", "eventType": "UPDATE", "timestamp": "2019-01-01T00:00:00Z"});
    let (status, _) = srv
        .send(
            srv.http
                .post(hook["url"].as_str().unwrap())
                .json(&notification),
        )
        .await;
    assert_eq!(status, 200);
    let got = r.wait_for(1, WAIT).await;
    let envelope = got[0].json();
    assert_eq!(envelope["type"], "user.updated");
    assert_eq!(envelope["data"]["id"], "IDNUMBER1234");
    verify_standard(ep["secret"].as_str().unwrap(), &got[0]);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_addresses_are_refused_without_the_allowlist() {
    let dir = tempfile::tempdir().unwrap();
    let srv = hookhost_tests::start(dir.path()).await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1/",
        "http://[::1]:9/",
    ] {
        let (status, body) = srv
            .send(
                srv.admin(Method::POST, "/endpoints")
                    .json(&json!({"url": url, "events": ["*"]})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {body}");
        assert_eq!(body["error"]["code"], "endpoint_not_allowed", "{url}");
    }
    for (body, code) in [
        (
            json!({"url": "ftp://example.com/", "events": ["*"]}),
            "endpoint_not_allowed",
        ),
        (
            json!({"url": "http://example.com/", "events": []}),
            "invalid_request",
        ),
        (
            json!({"url": "http://example.com/", "events": ["po*st"]}),
            "invalid_request",
        ),
        (
            json!({"url": "http://example.com/", "events": ["*"], "secret": "short"}),
            "invalid_request",
        ),
        (
            json!({"url": "http://example.com/", "events": ["*"], "signature": "md5"}),
            "invalid_json",
        ),
    ] {
        let (status, resp) = srv
            .send(srv.admin(Method::POST, "/endpoints").json(&body))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {resp}");
        assert_eq!(resp["error"]["code"], code, "{body}: {resp}");
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_send_and_secret_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let r = Receiver::start().await;
    let ep = endpoint(&srv, json!({"url": r.url, "events": ["order.*"]})).await;
    let id = ep["id"].as_str().unwrap();
    let old_secret = ep["secret"].as_str().unwrap().to_string();

    let (status, result) = srv
        .send(srv.admin(Method::POST, &format!("/endpoints/{id}/test")))
        .await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["success"], true);
    assert_eq!(result["status_code"], 200);
    let got = r.wait_for(1, WAIT).await;
    assert_eq!(got[0].json()["type"], "webhook.test");
    // The test send's delivery is queued like any other (claimed, so the
    // worker leaves it alone): once the queue is empty nothing more comes.
    srv.wait_queue_empty().await;
    assert_eq!(
        r.received().len(),
        1,
        "the test send is not delivered twice"
    );

    let (status, rotated) = srv
        .send(srv.admin(Method::POST, &format!("/endpoints/{id}/rotate-secret")))
        .await;
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, old_secret);
    send_event(&srv, json!({"type": "order.paid", "data": {}})).await;
    let got = r.wait_for(2, WAIT).await;
    assert_eq!(got[1].header("webhook-signature").split(' ').count(), 2);
    verify_standard(&new_secret, &got[1]);
    verify_standard(&old_secret, &got[1]);
    let (_, s) = srv
        .send(srv.admin(Method::GET, &format!("/endpoints/{id}/secret")))
        .await;
    assert_eq!(s["secret"], new_secret.as_str());
    assert_eq!(s["retired"].as_array().unwrap().len(), 1);

    // Disable / enable through PATCH.
    let (_, off) = srv
        .send(
            srv.admin(Method::PATCH, &format!("/endpoints/{id}"))
                .json(&json!({"active": false})),
        )
        .await;
    assert_eq!(off["active"], false);
    assert_eq!(
        send_event(&srv, json!({"type": "order.paid", "data": {}})).await["deliveries"],
        0
    );
    srv.send(
        srv.admin(Method::PATCH, &format!("/endpoints/{id}"))
            .json(&json!({"active": true})),
    )
    .await;
    assert_eq!(
        send_event(&srv, json!({"type": "order.paid", "data": {}})).await["deliveries"],
        1
    );
    assert_eq!(
        srv.send(srv.admin(Method::DELETE, &format!("/endpoints/{id}")))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        srv.send(srv.admin(Method::GET, &format!("/endpoints/{id}")))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_headers_are_sent_and_cannot_override_hookhosts() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let r = Receiver::start().await;
    let headers = json!({"X-Team": "billing", "Authorization": "Bearer t0k en", "X-Empty": ""});
    let ep = endpoint(
        &srv,
        json!({"url": r.url, "events": ["*"], "headers": headers}),
    )
    .await;
    assert_eq!(ep["headers"], headers);
    let id = ep["id"].as_str().unwrap();
    let (_, shown) = srv
        .send(srv.admin(Method::GET, &format!("/endpoints/{id}")))
        .await;
    assert_eq!(shown["headers"], headers);

    send_event(&srv, json!({"type": "order.paid", "data": {}})).await;
    let got = &r.wait_for(1, WAIT).await[0];
    assert_eq!(got.header("x-team"), "billing");
    assert_eq!(got.header("authorization"), "Bearer t0k en");
    assert_eq!(got.header("x-empty"), "");
    assert_eq!(got.header("content-type"), "application/json");
    verify_standard(ep["secret"].as_str().unwrap(), got);

    // What hookhost sets cannot be overridden, in any case; nor can
    // malformed or too many headers be set. The message names the header.
    let mut too_many = serde_json::Map::new();
    for i in 0..=hookhost::config::MAX_ENDPOINT_HEADERS {
        too_many.insert(format!("x-{i}"), json!("v"));
    }
    for (bad, named) in [
        (
            json!({"Webhook-Signature": "v1,forged"}),
            "Webhook-Signature",
        ),
        (json!({"webhook-id": "x"}), "webhook-id"),
        (json!({"WEBHOOK-TIMESTAMP": "1"}), "WEBHOOK-TIMESTAMP"),
        (json!({"webhook-anything": "1"}), "webhook-anything"),
        (
            json!({"X-Webhook-Signature": "sha256=00"}),
            "X-Webhook-Signature",
        ),
        (json!({"Content-Type": "text/plain"}), "Content-Type"),
        (json!({"content-length": "1"}), "content-length"),
        (json!({"Host": "evil.example"}), "Host"),
        (json!({"Transfer-Encoding": "chunked"}), "Transfer-Encoding"),
        (json!({"Connection": "close"}), "Connection"),
        (json!({"User-Agent": "x"}), "User-Agent"),
        (json!({"X Team": "billing"}), "X Team"),
        (json!({"X-Team:": "billing"}), "X-Team:"),
        (json!({"X-Team": "a\r\nX-Injected: 1"}), "X-Team"),
        (json!({"X-Team": " padded"}), "X-Team"),
        (json!({"X-Team": "caf\u{e9}"}), "X-Team"),
        (Value::Object(too_many), "at most 10"),
    ] {
        let (status, err) = srv
            .send(
                srv.admin(Method::POST, "/endpoints")
                    .json(&json!({"url": r.url, "events": ["*"], "headers": bad})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {err}");
        assert_eq!(err["error"]["code"], "invalid_request", "{err}");
        let message = err["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{bad}: {message}");
        let (status, _) = srv
            .send(
                srv.admin(Method::PATCH, &format!("/endpoints/{id}"))
                    .json(&json!({"headers": bad})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "PATCH {bad}");
    }

    // PATCH replaces them all; `null` removes them.
    let (status, changed) = srv
        .send(
            srv.admin(Method::PATCH, &format!("/endpoints/{id}"))
                .json(&json!({"headers": {"X-Team": "shipping"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["headers"], json!({"X-Team": "shipping"}));
    let (_, unchanged) = srv
        .send(
            srv.admin(Method::PATCH, &format!("/endpoints/{id}"))
                .json(&json!({"description": "d"})),
        )
        .await;
    assert_eq!(unchanged["headers"], json!({"X-Team": "shipping"}));
    send_event(&srv, json!({"type": "order.paid", "data": {}})).await;
    let got = &r.wait_for(2, WAIT).await[1];
    assert_eq!(got.header("x-team"), "shipping");
    assert!(got.headers.get("authorization").is_none());
    let (_, cleared) = srv
        .send(
            srv.admin(Method::PATCH, &format!("/endpoints/{id}"))
                .json(&json!({"headers": null})),
        )
        .await;
    assert_eq!(cleared["headers"], json!({}));
    send_event(&srv, json!({"type": "order.paid", "data": {}})).await;
    let got = &r.wait_for(3, WAIT).await[2];
    assert!(got.headers.get("x-team").is_none());
    srv.stop().await;
}

/// RFC 8032 test vector 1's key pair.
const RFC8032_KEY: &str = "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
const RFC8032_PUBLIC: &str = "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ed25519_signatures_verify_with_an_independent_implementation() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let r = Receiver::start().await;
    let ep = endpoint(
        &srv,
        json!({"url": r.url, "events": ["order.*"], "signature": "standard-ed25519"}),
    )
    .await;
    let id = ep["id"].as_str().unwrap();
    assert_eq!(ep["signature"], "standard-ed25519");
    // Receivers get the public key; the private key never leaves hookhost.
    let public = ep["secret"].as_str().unwrap().to_string();
    assert!(public.starts_with("whpk_"), "{ep}");
    assert!(ep["secret_hint"].as_str().unwrap().starts_with("whpk_"));
    let (_, s) = srv
        .send(srv.admin(Method::GET, &format!("/endpoints/{id}/secret")))
        .await;
    assert_eq!(s["secret"], public.as_str());
    for path in [
        "/endpoints".to_string(),
        format!("/endpoints/{id}"),
        format!("/endpoints/{id}/secret"),
    ] {
        let (_, body) = srv.send(srv.admin(Method::GET, &path)).await;
        assert!(!body.to_string().contains("whsk_"), "{path}: {body}");
    }

    let ev = send_event(&srv, json!({"type": "order.paid", "data": {"n": 1}})).await;
    let got = &r.wait_for(1, WAIT).await[0];
    assert_eq!(got.header("webhook-id"), ev["id"].as_str().unwrap());
    let sig = got.header("webhook-signature");
    assert!(sig.starts_with("v1a,") && !sig.contains(' '), "{sig}");
    assert_eq!(python_verifies(&public, got), vec![0]);
    // The check is real: another key, or another body, does not verify.
    assert!(python_verifies(RFC8032_PUBLIC, got).is_empty());
    let mut tampered = got.clone();
    tampered.body.push(b' ');
    assert!(python_verifies(&public, &tampered).is_empty());

    // Rotation: both keys sign during the grace period, each signature
    // verifies with its own public key.
    let (status, rotated) = srv
        .send(srv.admin(Method::POST, &format!("/endpoints/{id}/rotate-secret")))
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_public = rotated["secret"].as_str().unwrap().to_string();
    assert!(new_public.starts_with("whpk_") && new_public != public);
    let (_, s) = srv
        .send(srv.admin(Method::GET, &format!("/endpoints/{id}/secret")))
        .await;
    assert_eq!(s["secret"], new_public.as_str());
    assert_eq!(s["retired"][0]["public_key"], public.as_str());
    send_event(&srv, json!({"type": "order.paid", "data": {"n": 2}})).await;
    let got = &r.wait_for(2, WAIT).await[1];
    assert_eq!(got.header("webhook-signature").split(' ').count(), 2);
    assert_eq!(python_verifies(&new_public, got), vec![0]);
    assert_eq!(python_verifies(&public, got), vec![1]);

    // A key of the client's own: a `whsk_` private key, checked.
    let (status, rotated) = srv
        .send(
            srv.admin(Method::POST, &format!("/endpoints/{id}/rotate-secret"))
                .json(&json!({"secret": RFC8032_KEY})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_eq!(rotated["secret"], RFC8032_PUBLIC);
    send_event(&srv, json!({"type": "order.paid", "data": {"n": 3}})).await;
    let got = &r.wait_for(3, WAIT).await[2];
    assert_eq!(got.header("webhook-signature").split(' ').count(), 3);
    assert_eq!(python_verifies(RFC8032_PUBLIC, got), vec![0]);
    assert_eq!(python_verifies(&public, got), vec![2]);
    // A shared secret does not fit an Ed25519 endpoint.
    let (status, err) = srv
        .send(
            srv.admin(Method::POST, &format!("/endpoints/{id}/rotate-secret"))
                .json(&json!({"secret": "a-shared-secret-of-some-length"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    for secret in [
        "a-shared-secret-of-some-length",
        "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2B=",
        "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
    ] {
        let (status, err) = srv
            .send(srv.admin(Method::POST, "/endpoints").json(&json!({
                "url": r.url, "events": ["*"], "signature": "standard-ed25519", "secret": secret
            })))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{secret}: {err}");
        assert_eq!(err["error"]["code"], "invalid_request");
    }
    let given = endpoint(
        &srv,
        json!({"url": r.url, "events": ["none"], "signature": "standard-ed25519", "secret": RFC8032_KEY}),
    )
    .await;
    assert_eq!(given["secret"], RFC8032_PUBLIC);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_to_and_from_ed25519_replaces_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let r = Receiver::start().await;
    let ep = endpoint(&srv, json!({"url": r.url, "events": ["*"]})).await;
    let id = ep["id"].as_str().unwrap();
    srv.send(srv.admin(Method::POST, &format!("/endpoints/{id}/rotate-secret")))
        .await;

    let (status, switched) = srv
        .send(
            srv.admin(Method::PATCH, &format!("/endpoints/{id}"))
                .json(&json!({"signature": "standard-ed25519"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{switched}");
    let (_, s) = srv
        .send(srv.admin(Method::GET, &format!("/endpoints/{id}/secret")))
        .await;
    let public = s["secret"].as_str().unwrap().to_string();
    assert!(public.starts_with("whpk_"), "{s}");
    assert_eq!(s["retired"], json!([]), "shared secrets cannot sign v1a");
    send_event(&srv, json!({"type": "a", "data": {}})).await;
    let got = &r.wait_for(1, WAIT).await[0];
    assert_eq!(python_verifies(&public, got), vec![0]);

    // Back to HMAC: a new shared secret, which the standardwebhooks crate checks.
    srv.send(
        srv.admin(Method::PATCH, &format!("/endpoints/{id}"))
            .json(&json!({"signature": "standard"})),
    )
    .await;
    let (_, s) = srv
        .send(srv.admin(Method::GET, &format!("/endpoints/{id}/secret")))
        .await;
    let secret = s["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"), "{s}");
    send_event(&srv, json!({"type": "a", "data": {}})).await;
    let got = &r.wait_for(2, WAIT).await[1];
    verify_standard(secret, got);
    srv.stop().await;
}

/// The types each receiver got, in arrival order.
fn types(r: &Receiver) -> Vec<String> {
    r.received()
        .iter()
        .map(|m| m.json()["type"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operational_events_report_endpoint_and_delivery_changes() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    // A monitor subscribed to hookhost's own events, and a catch-all that
    // must never see them.
    let monitor = Receiver::start().await;
    endpoint(&srv, json!({"url": monitor.url, "events": ["hookhost.*"]})).await;
    let everything = Receiver::start().await;
    endpoint(&srv, json!({"url": everything.url, "events": ["*"]})).await;

    // Nobody else may send them.
    let (status, body) = srv
        .send(
            srv.admin(Method::POST, "/events")
                .json(&json!({"type": "hookhost.endpoint.disabled", "data": {}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("reserved")
    );

    // Exhausted: every attempt (4 in this schedule) fails.
    let failing = Receiver::start().await;
    failing.otherwise(Reply::status(500));
    let ep_failing = endpoint(&srv, json!({"url": failing.url, "events": ["order.*"]})).await;
    let lost = send_event(&srv, json!({"type": "order.lost", "data": {}})).await;
    wait_status(&srv, lost["id"].as_str().unwrap(), "failed").await;

    // Recovered: two failures, then a success.
    let flaky = Receiver::start().await;
    flaky.script([Reply::status(503), Reply::status(500)]);
    endpoint(&srv, json!({"url": flaky.url, "events": ["invoice.*"]})).await;
    let late = send_event(&srv, json!({"type": "invoice.paid", "data": {}})).await;
    wait_status(&srv, late["id"].as_str().unwrap(), "success").await;

    // Disabled by the operator, then enabled again.
    let id = ep_failing["id"].as_str().unwrap();
    for active in [false, true] {
        let (status, body) = srv
            .send(
                srv.admin(Method::PATCH, &format!("/endpoints/{id}"))
                    .json(&json!({"active": active})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    // Disabled by a 410.
    let gone = Receiver::start().await;
    gone.otherwise(Reply::status(410));
    let ep_gone = endpoint(&srv, json!({"url": gone.url, "events": ["user.*"]})).await;
    send_event(&srv, json!({"type": "user.left", "data": {}})).await;

    monitor.wait_for(5, WAIT).await;
    // Every report made so far has been attempted once the queue is
    // empty: count them all, not the first five to arrive.
    srv.wait_queue_empty().await;
    let got = monitor.received();
    let by_type = |t: &str| {
        got.iter()
            .map(|m| m.json())
            .filter(|e| e["type"] == t)
            .collect::<Vec<_>>()
    };
    let exhausted = by_type("hookhost.delivery.exhausted");
    assert_eq!(
        exhausted.len(),
        2,
        "order.lost and the 410: {:?}",
        types(&monitor)
    );
    let lost_report = exhausted
        .iter()
        .find(|e| e["data"]["event_id"] == lost["id"])
        .expect("order.lost reported");
    assert_eq!(lost_report["data"]["attempts"], 4);
    assert_eq!(lost_report["data"]["last_status_code"], 500);
    assert_eq!(lost_report["data"]["endpoint_id"], ep_failing["id"]);
    let recovered = by_type("hookhost.delivery.recovered");
    assert_eq!(recovered.len(), 1, "{:?}", types(&monitor));
    assert_eq!(recovered[0]["data"]["event_id"], late["id"]);
    assert_eq!(recovered[0]["data"]["attempts"], 3);
    let disabled = by_type("hookhost.endpoint.disabled");
    let reasons: Vec<_> = disabled
        .iter()
        .map(|e| {
            (
                e["data"]["endpoint_id"].clone(),
                e["data"]["reason"].clone(),
            )
        })
        .collect();
    assert!(
        reasons.contains(&(ep_failing["id"].clone(), json!("operator"))),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&(ep_gone["id"].clone(), json!("gone"))),
        "{reasons:?}"
    );
    let enabled = by_type("hookhost.endpoint.enabled");
    assert_eq!(enabled.len(), 1);
    assert_eq!(enabled[0]["data"]["endpoint_id"], ep_failing["id"]);

    // The catch-all got the ordinary events and none of hookhost's own.
    let seen = types(&everything);
    assert!(seen.iter().all(|t| !t.starts_with("hookhost.")), "{seen:?}");
    assert!(seen.contains(&"order.lost".to_string()), "{seen:?}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_pace_deliveries_without_failing_them() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let r = Receiver::start().await;
    let ep = endpoint(
        &srv,
        json!({"url": r.url, "events": ["tick"], "rate_limit": {"per_second": 10}}),
    )
    .await;
    assert_eq!(ep["rate_limit"], json!({"per_second": 10, "burst": 0}));
    for bad in [
        json!({"per_second": 0}),
        json!({"per_second": 10, "burst": -1}),
    ] {
        let (status, body) = srv
            .send(
                srv.admin(Method::POST, "/endpoints")
                    .json(&json!({"url": r.url, "events": ["x"], "rate_limit": bad})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }

    for n in 0..50 {
        send_event(&srv, json!({"type": "tick", "data": {"n": n}})).await;
    }
    // All arrive (they wait, they do not fail)...
    r.wait_for(50, Duration::from_secs(20)).await;
    srv.wait_queue_empty().await;
    assert_eq!(r.received().len(), 50);
    // ...and no one-second window at the receiver holds more than 10.
    let busiest = r.busiest_second();
    assert!(busiest <= 10, "{busiest} deliveries within one second");

    // Without the limit, the same endpoint takes them as fast as it can.
    let id = ep["id"].as_str().unwrap();
    let (status, body) = srv
        .send(
            srv.admin(Method::PATCH, &format!("/endpoints/{id}"))
                .json(&json!({"rate_limit": null})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rate_limit"], Value::Null);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_endpoints_deliver_in_acceptance_order_one_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let r = Receiver::start().await;
    // The first event needs three attempts; the second fails for good
    // (four attempts in this schedule); the rest succeed at once. Each
    // reply takes a moment, so overlapping attempts would show.
    let slow = |status| Reply {
        delay: Duration::from_millis(30),
        ..Reply::status(status)
    };
    r.script([500, 500, 200, 500, 500, 500, 500].map(slow));
    r.otherwise(slow(200));
    let ep = endpoint(
        &srv,
        json!({"url": r.url, "events": ["seq"], "ordering": "fifo"}),
    )
    .await;
    assert_eq!(ep["ordering"], "fifo");

    let mut ids = Vec::new();
    for n in 0..6 {
        let accepted = send_event(&srv, json!({"type": "seq", "data": {"n": n}})).await;
        ids.push(accepted["id"].as_str().unwrap().to_string());
    }
    let got = r.wait_for(3 + 4 + 4, WAIT).await;
    srv.wait_queue_empty().await;
    let order: Vec<usize> = r
        .received()
        .iter()
        .map(|m| {
            let id = m.json()["id"].as_str().unwrap().to_string();
            ids.iter().position(|i| *i == id).unwrap()
        })
        .collect();
    assert_eq!(
        order,
        [0, 0, 0, 1, 1, 1, 1, 2, 3, 4, 5],
        "{} attempts",
        got.len()
    );
    assert_eq!(r.peak_concurrency(), 1, "one attempt at a time");
    assert_eq!(delivery_of(&srv, &ids[1]).await["status"], "failed");
    for id in [&ids[0], &ids[5]] {
        assert_eq!(delivery_of(&srv, id).await["status"], "success");
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_retry_in_a_fifo_line_sends_that_delivery_alone() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let r = Receiver::start().await;
    // The first event fails for good (four attempts), the second succeeds.
    r.script([500, 500, 500, 500].map(Reply::status));
    endpoint(
        &srv,
        json!({"url": r.url, "events": ["seq"], "ordering": "fifo"}),
    )
    .await;
    let first = send_event(&srv, json!({"type": "seq", "data": {"n": 0}})).await;
    let second = send_event(&srv, json!({"type": "seq", "data": {"n": 1}})).await;
    let (first, second) = (
        first["id"].as_str().unwrap().to_string(),
        second["id"].as_str().unwrap().to_string(),
    );
    wait_status(&srv, &second, "success").await;
    assert_eq!(delivery_of(&srv, &first).await["status"], "failed");

    // Retried, the failed one goes out again (the line was found anew from
    // its start), and the one already delivered is not sent twice.
    let id = delivery_of(&srv, &first).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = srv
        .send(srv.admin(Method::POST, &format!("/deliveries/{id}/retry")))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    wait_status(&srv, &first, "success").await;
    srv.wait_queue_empty().await;
    let sent: Vec<String> = r
        .received()
        .iter()
        .map(|m| m.json()["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sent.iter().filter(|i| **i == first).count(), 5, "{sent:?}");
    assert_eq!(sent.iter().filter(|i| **i == second).count(), 1, "{sent:?}");
    assert_eq!(sent.last(), Some(&first));
    srv.stop().await;
}

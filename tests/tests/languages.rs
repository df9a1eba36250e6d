//! Handlers in Python, JavaScript and C, built by their examples' own build
//! scripts, uploaded to and run by the real server: they answer exactly like
//! the Rust `echo`, read the stored payload and publish events that reach a
//! subscribed endpoint. Also: a large (Python) upload does not block other
//! requests while it compiles, and its compiled artifact survives a restart.

use hmac::{Hmac, Mac};
use hookhost::delivery::guard::AddressGuard;
use hookhost_tests::receiver::Receiver;
use hookhost_tests::{TestServer, component, example, start_with};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(15);

async fn server(dir: &std::path::Path) -> TestServer {
    start_with(dir, |c| {
        c.delivery.allowlist = AddressGuard::parse_allowlist("127.0.0.0/8").unwrap();
    })
    .await
}

async fn upload(srv: &TestServer, name: &str, bytes: Vec<u8>) {
    let (status, body) = srv.upload(name, bytes).await;
    assert_eq!(status, StatusCode::CREATED, "upload {name}: {body}");
}

async fn endpoint(srv: &TestServer, events: Value) -> Value {
    let (status, ep) = srv
        .send(
            srv.admin(Method::POST, "/endpoints")
                .json(&json!({"url": events["url"], "events": events["events"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ep}");
    ep
}

/// A response reduced to what must agree across languages.
async fn call(srv: &TestServer, method: &str, url: &str, body: &[u8]) -> (u16, String, Value) {
    let resp = srv
        .http
        .request(method.parse().unwrap(), url)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = resp.bytes().await.unwrap();
    let json = serde_json::from_slice(&text)
        .unwrap_or_else(|e| panic!("{url}: not JSON ({e}): {}", String::from_utf8_lossy(&text)));
    (status, content_type, json)
}

/// Uploads the Rust `echo` and the example `name`, and checks that both
/// answer the same requests identically, read the payload, and publish.
async fn echo_matches_rust(name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let receiver = Receiver::start().await;
    endpoint(&srv, json!({"url": receiver.url, "events": ["echo.*"]})).await;

    upload(&srv, "rust-echo", component("echo")).await;
    upload(&srv, name, example(name)).await;

    let payload =
        json!({"tenant": "acme", "n": [1, 2.5, null], "nested": {"z": true, "a": "ü ✓ \"q\""}});
    let rust = srv.create_webhook("rust-echo", payload.clone()).await;
    let other = srv.create_webhook(name, payload.clone()).await;
    let (rust, other) = (
        rust["url"].as_str().unwrap(),
        other["url"].as_str().unwrap(),
    );

    let invalid_utf8: &[u8] = b"f\xff\xe2\x82A\xf0\x9f\x98\x80\xed\xa0\x80z\xc0\xaf";
    let cases: [(&str, &str, &[u8]); 6] = [
        ("POST", "", b"hello there"),
        ("GET", "/deep/path?x=1&y=%20", b""),
        (
            "PUT",
            "/a",
            "quotes \" backslash \\ tab \t newline \n nul \0 bell \x07 ü 😀".as_bytes(),
        ),
        ("PATCH", "/bytes", invalid_utf8),
        ("DELETE", "/", b"{\"json\": [1, 2]}"),
        ("POST", "/big", &[b'x'; 200_000]),
    ];
    for (method, suffix, body) in cases {
        let want = call(&srv, method, &format!("{rust}{suffix}"), body).await;
        let got = call(&srv, method, &format!("{other}{suffix}"), body).await;
        assert_eq!(got, want, "{name} vs Rust echo on {method} {suffix}");
        assert_eq!(want.0, 200);
        assert_eq!(want.1, "application/json");
        assert_eq!(want.2["payload"], payload);
    }
    // Spot-check the reference itself, so that agreeing on nonsense fails.
    let (_, _, reference) = call(&srv, "PATCH", &format!("{rust}/bytes"), invalid_utf8).await;
    assert_eq!(
        reference["body"],
        "f\u{fffd}\u{fffd}A😀\u{fffd}\u{fffd}\u{fffd}z\u{fffd}\u{fffd}"
    );
    assert_eq!(reference["path"], "/bytes");

    // Without a payload the context has none: `null`.
    let (status, bare) = srv
        .send(
            srv.admin(Method::POST, "/webhooks")
                .json(&json!({"module": name})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{bare}");
    let (_, _, body) = call(&srv, "POST", bare["url"].as_str().unwrap(), b"x").await;
    assert_eq!(body["payload"], Value::Null);

    // publish=TYPE: the event reaches the subscribed endpoint.
    let event_type = format!("echo.{name}");
    let (status, _, _) = call(
        &srv,
        "POST",
        &format!("{other}/orders?publish={event_type}"),
        "order ü".as_bytes(),
    )
    .await;
    assert_eq!(status, 200);
    let got = receiver.wait_for(1, WAIT).await;
    let envelope = got[0].json();
    assert_eq!(envelope["type"], event_type.as_str());
    assert_eq!(
        envelope["data"],
        json!({"method": "POST", "path": "/orders", "body": "order ü"})
    );
    // Only types under `echo.`: whoever knows the URL must not be able to
    // send signed events of any type to subscribers.
    for url in [rust, other] {
        let (status, _, body) =
            call(&srv, "POST", &format!("{url}/x?publish=invoice.paid"), b"x").await;
        assert_eq!(status, 400, "{url}: {body}");
        assert_eq!(body["error"]["code"], "bad_request", "{body}");
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_echo_matches_rust() {
    echo_matches_rust("python-echo").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_echo_matches_rust() {
    echo_matches_rust("js-echo").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_echo_matches_rust() {
    echo_matches_rust("c-echo").await;
}

fn stripe_header(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_stripe_verifies_signatures_and_publishes() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let receiver = Receiver::start().await;
    endpoint(&srv, json!({"url": receiver.url, "events": ["stripe.*"]})).await;
    upload(&srv, "stripe", example("python-stripe")).await;
    let secret = "whsec_test_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH";
    let hook = srv
        .create_webhook("stripe", json!({"signing_secret": secret}))
        .await;
    let url = hook["url"].as_str().unwrap();

    let event = json!({
        "id": "evt_1NG8Du2eZvKYlo2CUI79vXWy",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": 1686089970,
        "livemode": false,
        "data": {"object": {"id": "pi_3NG8", "object": "payment_intent", "amount": 2000, "currency": "usd"}}
    });
    let body = serde_json::to_vec(&event).unwrap();
    let now = chrono::Utc::now().timestamp();
    let post = |header: Option<String>, body: Vec<u8>| {
        let mut req = srv.http.post(url).body(body);
        if let Some(h) = header {
            req = req.header("Stripe-Signature", h);
        }
        srv.send(req)
    };

    // Valid: 200, and the event goes out as stripe.<type>.
    let (status, answer) = post(Some(stripe_header(secret, now, &body)), body.clone()).await;
    if status != 200 {
        let (_, log) = srv
            .send(srv.admin(
                Method::GET,
                &format!("/webhooks/{}/invocations", hook["id"].as_str().unwrap()),
            ))
            .await;
        panic!(
            "{status} {answer}\n{}",
            log["data"][0]["output"].as_str().unwrap_or("no output")
        );
    }
    assert_eq!(
        answer,
        json!({"received": true, "id": "evt_1NG8Du2eZvKYlo2CUI79vXWy"})
    );
    let got = receiver.wait_for(1, WAIT).await;
    let envelope = got[0].json();
    assert_eq!(envelope["type"], "stripe.payment_intent.succeeded");
    assert_eq!(
        envelope["data"],
        json!({"id": "evt_1NG8Du2eZvKYlo2CUI79vXWy", "type": "payment_intent.succeeded",
               "created": 1686089970, "livemode": false, "object": event["data"]["object"]})
    );

    // During a secret roll Stripe sends several v1 signatures: one match is enough.
    let rolled = format!(
        "{},v1={},v0=ignored",
        stripe_header("whsec_old", now, &body),
        stripe_header(secret, now, &body)
            .split("v1=")
            .nth(1)
            .unwrap()
    );
    let (status, answer) = post(Some(rolled), body.clone()).await;
    assert_eq!(status, 200, "{answer}");

    // Refused, and nothing published: wrong secret, tampered body, stale or
    // future timestamp (tolerance 5 minutes), missing or malformed header.
    let tampered = serde_json::to_vec(&json!({"id": "evt_x", "type": "payment_intent.succeeded", "data": {"object": {"amount": 1}}})).unwrap();
    let refusals = [
        (
            Some(stripe_header("whsec_wrong", now, &body)),
            body.clone(),
            401,
            "no v1 signature matches",
        ),
        (
            Some(stripe_header(secret, now, &body)),
            tampered,
            401,
            "no v1 signature matches",
        ),
        (
            Some(stripe_header(secret, now - 301, &body)),
            body.clone(),
            401,
            "outside the tolerance",
        ),
        (
            Some(stripe_header(secret, now + 400, &body)),
            body.clone(),
            401,
            "outside the tolerance",
        ),
        (None, body.clone(), 400, "missing Stripe-Signature"),
        (Some("v1=abc".to_string()), body.clone(), 400, "no `t=`"),
        (Some(format!("t={now}")), body.clone(), 400, "no `v1=`"),
    ];
    for (header, body, want, message) in refusals {
        let (status, answer) = post(header.clone(), body).await;
        assert_eq!(status.as_u16(), want, "{header:?}: {answer}");
        assert!(answer.to_string().contains(message), "{header:?}: {answer}");
    }
    // Within the tolerance is fine.
    let (status, _) = post(Some(stripe_header(secret, now - 250, &body)), body.clone()).await;
    assert_eq!(status, 200);

    // A signed body that is not a Stripe event is a bad request.
    let junk = b"not json".to_vec();
    let (status, _) = post(Some(stripe_header(secret, now, &junk)), junk).await;
    assert_eq!(status, 400);

    // Exactly the three accepted requests went out.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.wait_for(3, WAIT).await.len(), 3);

    // A webhook registered without a secret is a configuration error (500).
    let bad = srv.create_webhook("stripe", json!({"oops": 1})).await;
    let (status, answer) = srv
        .send(srv.http.post(bad["url"].as_str().unwrap()).body(body))
        .await;
    assert_eq!(status, 500, "{answer}");
    assert!(answer.to_string().contains("signing_secret"), "{answer}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_upload_does_not_block_and_its_compilation_survives_a_restart() {
    let python = example("python-echo");
    assert!(
        python.len() > 10 << 20,
        "a large component: {} bytes",
        python.len()
    );
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    upload(&srv, "rust-echo", component("echo")).await;
    let echo = srv.create_webhook("rust-echo", json!(null)).await;
    let echo_url = echo["url"].as_str().unwrap().to_string();

    // Start the large upload, and while it compiles call the existing
    // webhook and the admin API.
    let upload_req = srv
        .admin(Method::POST, "/modules")
        .query(&[("name", "python-echo")])
        .body(python);
    let uploading = tokio::spawn(async move { upload_req.send().await.unwrap().status() });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut served_during_compile = 0;
    for _ in 0..5 {
        let (status, _) = srv.send(srv.http.post(&echo_url).body("ping")).await;
        assert_eq!(status, 200);
        let (status, _) = srv.send(srv.admin(Method::GET, "/modules")).await;
        assert_eq!(status, 200);
        if !uploading.is_finished() {
            served_during_compile += 1;
        }
    }
    assert!(
        served_during_compile > 0,
        "the upload finished before any other request was served"
    );
    assert_eq!(uploading.await.unwrap(), StatusCode::CREATED);
    let hook = srv.create_webhook("python-echo", json!({"n": 1})).await;
    let hook_path = hook["url"].as_str().unwrap().replace(&srv.url, "");
    let (_, health) = srv.send(srv.http.get(format!("{}/healthz", srv.url))).await;
    assert_eq!(health["components_compiled"], 2, "{health}");
    srv.stop().await;

    // Restart: loaded from the artifact cache, not recompiled, and it runs.
    // With a concurrency of 2, two Python calls at once fit in the instance
    // pool (a Python component instantiates 14 core modules).
    let srv = start_with(dir.path(), |c| c.limits.max_concurrent = 2).await;
    let (_, health) = srv.send(srv.http.get(format!("{}/healthz", srv.url))).await;
    assert_eq!(health["components_compiled"], 0, "{health}");
    assert_eq!(health["components_loaded_from_cache"], 2, "{health}");
    let (status, body) = srv
        .send(
            srv.http
                .put(format!("{}{hook_path}", srv.url))
                .body("after restart"),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["payload"], json!({"n": 1}));
    assert_eq!(body["body"], "after restart");
    for round in 0..10 {
        let call = || srv.send(srv.http.post(format!("{}{hook_path}", srv.url)).body("x"));
        let (a, b) = tokio::join!(call(), call());
        assert_eq!(
            (a.0, b.0),
            (StatusCode::OK, StatusCode::OK),
            "round {round}: {a:?} {b:?}"
        );
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_transform_drops_reshapes_and_routes() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let receiver = Receiver::start().await;
    let (status, m) = srv
        .upload("python-transform", example("python-transform"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    assert_eq!(m["kind"], "transformer");
    let (status, ep) = srv
        .send(srv.admin(Method::POST, "/endpoints").json(
            &json!({"url": receiver.url, "events": ["order.*"], "transform": "python-transform"}),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ep}");
    for data in [
        json!({"internal": true, "order_id": 1}),
        json!({"order_id": 7, "total": 12.5, "email": "a@b.c"}),
    ] {
        let (status, _) = srv
            .send(
                srv.admin(Method::POST, "/events")
                    .json(&json!({"type": "order.created", "data": data})),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    let got = receiver.wait_for(1, WAIT).await;
    let body = got[0].json();
    assert_eq!(body["event"], "order.created", "{body}");
    assert_eq!(
        body["fields"],
        json!({"order_id": 7, "total": 12.5}),
        "{body}"
    );
    srv.wait_queue_empty().await;
    // The internal one was skipped: one request, and a skipped delivery.
    assert_eq!(receiver.received().len(), 1);
    let (_, skipped) = srv
        .send(srv.admin(Method::GET, "/deliveries?status=skipped"))
        .await;
    assert_eq!(skipped["data"].as_array().unwrap().len(), 1, "{skipped}");
    srv.stop().await;
}

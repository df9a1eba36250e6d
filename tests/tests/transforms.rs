//! Outbound transforms end to end: real transform components (the Rust
//! `slack-transform` example and the `transform-probe` fixture) on
//! endpoints, real loopback receivers. The transformed message is what is
//! signed and sent, and what every retry resends; a skip sends nothing; a
//! failing, trapping, spinning or memory-hungry transform, or one returning
//! something unusable, fails the attempt with the error recorded and sends
//! nothing.

use hookhost::delivery::guard::AddressGuard;
use hookhost_tests::receiver::{Receiver, Reply};
use hookhost_tests::{TestServer, endpoint, send_event, start_with, verify_standard, wait_until};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

async fn server(dir: &std::path::Path) -> TestServer {
    let srv = start_with(dir, |c| {
        // Loopback receivers, allowed explicitly; a quick second attempt.
        c.delivery.allowlist = AddressGuard::parse_allowlist("127.0.0.1/32").unwrap();
        c.delivery.schedule = hookhost::config::parse_schedule("0s,100ms").unwrap();
        c.limits.transform_timeout = Duration::from_millis(300);
        c.limits.transform_memory_bytes = 8 << 20;
    })
    .await;
    for name in ["transform-probe", "slack-transform"] {
        let (status, m) = srv.upload(name, hookhost_tests::component(name)).await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        assert_eq!(m["kind"], "transformer", "{m}");
    }
    srv
}

/// The delivery of event `event_id`, once it is no longer pending.
async fn finished(srv: &TestServer, event_id: &str) -> Value {
    wait_until(
        Duration::from_secs(10),
        "the delivery to finish",
        || async {
            let (_, list) = srv
                .send(
                    srv.admin(Method::GET, "/deliveries")
                        .query(&[("event", event_id)]),
                )
                .await;
            let d = list["data"].get(0)?.clone();
            (d["status"] != "pending").then_some(d)
        },
    )
    .await
}

async fn detail(srv: &TestServer, id: &str) -> Value {
    srv.send(srv.admin(Method::GET, &format!("/deliveries/{id}")))
        .await
        .1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_transformed_message_is_signed_sent_and_resent() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let receiver = Receiver::start().await;
    // The first attempt fails: the second must resend the same message.
    receiver.script([Reply::status(500)]);
    let ep = endpoint(
        &srv,
        json!({"url": receiver.url, "events": ["*"], "transform": "transform-probe",
               "headers": {"x-team": "billing"}}),
    )
    .await;
    assert_eq!(ep["transform"], "transform-probe");
    let secret = ep["secret"].as_str().unwrap().to_string();
    let accepted = send_event(&srv, json!({"type": "invoice.paid", "data": {"amount": 3}})).await;
    let got = receiver.wait_for(2, Duration::from_secs(10)).await;
    let d = finished(&srv, accepted["id"].as_str().unwrap()).await;
    assert_eq!(d["status"], "success", "{d}");
    assert_eq!(d["attempts"], 2);
    for r in &got {
        let body = r.json();
        assert_eq!(body["transformed"], true, "{body}");
        assert_eq!(body["data"], json!({"amount": 3}));
        assert_eq!(r.header("x-transformed"), "yes");
        assert_eq!(r.header("x-team"), "billing");
        verify_standard(&secret, r);
    }
    // The transform ran once: the retry resent its output, nonce and all.
    assert_eq!(got[0].body, got[1].body);

    // Moved elsewhere, the endpoint's next attempt runs the transform
    // again for the new URL instead of resending the old message there.
    let moved = Receiver::start().await;
    let ep_id = ep["id"].as_str().unwrap();
    let (status, _) = srv
        .send(
            srv.admin(Method::PATCH, &format!("/endpoints/{ep_id}"))
                .json(&json!({"url": moved.url})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = srv
        .send(srv.admin(
            Method::POST,
            &format!("/deliveries/{}/retry", d["id"].as_str().unwrap()),
        ))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let again = moved.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(again[0].json()["transformed"], true);
    assert_ne!(
        again[0].body, got[0].body,
        "a new message, not the stored one"
    );
    verify_standard(&secret, &again[0]);
    // A transform in use keeps its kind: a handler cannot replace it.
    let (status, body) = srv
        .upload("transform-probe", hookhost_tests::component("echo"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // Every attempt is recorded: the two first, and the one after the move
    // (recorded once the receiver answered).
    let id = d["id"].as_str().unwrap().to_string();
    let attempts = wait_until(Duration::from_secs(10), "the third attempt", || async {
        let detail = detail(&srv, &id).await;
        let all = detail["attempts"].as_array()?.clone();
        (all.len() == 3).then_some(all)
    })
    .await;
    assert_eq!(attempts[2]["status_code"], 200);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skip_sends_nothing_and_a_failing_transform_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let receiver = Receiver::start().await;
    let marker = Receiver::start().await;
    endpoint(
        &srv,
        json!({"url": receiver.url, "events": ["probe.*"], "transform": "transform-probe"}),
    )
    .await;
    endpoint(&srv, json!({"url": marker.url, "events": ["marker"]})).await;

    let skipped = send_event(&srv, json!({"type": "probe.x", "data": {"mode": "skip"}})).await;
    let d = finished(&srv, skipped["id"].as_str().unwrap()).await;
    assert_eq!(d["status"], "skipped", "{d}");
    assert_eq!(d["attempts"], 0);

    // Each bad transform fails both attempts, each attempt recorded with
    // the transform's error, and nothing reaches the receiver.
    let cases = [
        (json!({"mode": "error"}), "asked to fail"),
        (json!({"mode": "trap"}), "trap"),
        (json!({"mode": "loop"}), "time limit"),
        (json!({"mode": "memory"}), "memory limit"),
        (json!({"mode": "big"}), "exceeds"),
        (
            json!({"mode": "header", "name": "webhook-signature", "value": "v1,forged"}),
            "webhook-signature",
        ),
        (
            json!({"mode": "header", "name": "bad header", "value": "x"}),
            "header",
        ),
        (
            json!({"mode": "url", "url": "http://10.0.0.1/steal"}),
            "refused",
        ),
        (json!({"mode": "url", "url": "not a url"}), "refused"),
    ];
    for (data, expected) in cases {
        let accepted = send_event(&srv, json!({"type": "probe.x", "data": data})).await;
        let d = finished(&srv, accepted["id"].as_str().unwrap()).await;
        assert_eq!(d["status"], "failed", "{data}: {d}");
        let detail = detail(&srv, d["id"].as_str().unwrap()).await;
        let attempts = detail["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 2, "{data}: {detail}");
        for a in attempts {
            let error = a["error"].as_str().unwrap_or_default();
            assert!(
                error.contains("transform")
                    && error.contains(expected)
                    && error.contains("nothing was sent"),
                "{data}: {error}"
            );
            assert!(a["status_code"].is_null());
        }
    }
    // The server is fine, and after a marker sent last arrived, the
    // receiver still has nothing.
    let (status, _) = srv.send(srv.http.get(format!("{}/healthz", srv.url))).await;
    assert_eq!(status, StatusCode::OK);
    send_event(&srv, json!({"type": "marker", "data": {}})).await;
    marker.wait_for(1, Duration::from_secs(10)).await;
    srv.wait_queue_empty().await;
    assert!(
        receiver.received().is_empty(),
        "{:?}",
        receiver.received().len()
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_slack_example_reshapes_drops_and_routes() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    let slack = Receiver::start().await;
    endpoint(
        &srv,
        json!({"url": slack.url, "events": ["invoice.*"], "transform": "slack-transform"}),
    )
    .await;
    let quiet = send_event(
        &srv,
        json!({"type": "invoice.paid", "data": {"quiet": true}}),
    )
    .await;
    let loud = send_event(
        &srv,
        json!({"type": "invoice.paid", "data": {"amount": 42, "api_token": "t0k", "lines": [1, 2]}}),
    )
    .await;
    let got = slack.wait_for(1, Duration::from_secs(10)).await;
    let text = got[0].json()["text"].as_str().unwrap().to_string();
    assert!(
        text.contains("*invoice.paid*") && text.contains(loud["id"].as_str().unwrap()),
        "{text}"
    );
    assert!(
        text.contains("*amount*: 42") && !text.contains("t0k"),
        "{text}"
    );
    let d = finished(&srv, quiet["id"].as_str().unwrap()).await;
    assert_eq!(d["status"], "skipped");
    srv.wait_queue_empty().await;
    assert_eq!(slack.received().len(), 1);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transforms_and_handlers_are_not_interchangeable() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path()).await;
    srv.upload_component("echo").await;
    let receiver = Receiver::start().await;
    // A transform cannot handle webhooks, a handler cannot transform.
    let (status, body) = srv
        .send(
            srv.admin(Method::POST, "/webhooks")
                .json(&json!({"module": "transform-probe"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    for (transform, expected) in [
        ("echo", StatusCode::BAD_REQUEST),
        ("no-such-module", StatusCode::NOT_FOUND),
        ("bad name!", StatusCode::BAD_REQUEST),
    ] {
        let (status, body) = srv
            .send(
                srv.admin(Method::POST, "/endpoints")
                    .json(&json!({"url": receiver.url, "events": ["*"], "transform": transform})),
            )
            .await;
        assert_eq!(status, expected, "{transform}: {body}");
    }
    // Set, then removed with null; a module in use cannot be deleted.
    let ep = endpoint(&srv, json!({"url": receiver.url, "events": ["*"]})).await;
    let id = ep["id"].as_str().unwrap();
    let (status, ep) = srv
        .send(
            srv.admin(Method::PATCH, &format!("/endpoints/{id}"))
                .json(&json!({"transform": "slack-transform"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ep}");
    assert_eq!(ep["transform"], "slack-transform");
    let (status, _) = srv
        .send(srv.admin(Method::DELETE, "/modules/slack-transform"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, ep) = srv
        .send(
            srv.admin(Method::PATCH, &format!("/endpoints/{id}"))
                .json(&json!({"transform": null})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(ep["transform"].is_null(), "{ep}");
    let (status, _) = srv
        .send(srv.admin(Method::DELETE, "/modules/slack-transform"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // A portal link may not set transforms.
    let (_, link) = srv
        .send(
            srv.admin(Method::POST, "/workspaces/default/portal")
                .json(&json!({"ttl": "15m"})),
        )
        .await;
    let cred = link["url"]
        .as_str()
        .unwrap()
        .split_once('#')
        .unwrap()
        .1
        .to_string();
    let (status, _) = srv
        .send(
            srv.http
                .patch(format!("{}/v1/endpoints/{id}", srv.url))
                .bearer_auth(&cred)
                .json(&json!({"transform": "transform-probe"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    srv.stop().await;
}

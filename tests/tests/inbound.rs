//! The inbound flow end to end: upload, register, call, observe.

use hmac::{Hmac, Mac};
use hookhost_tests::{component, start};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_full_flow() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path()).await;

    // Upload: 201 with the content hash; the same bytes again replace (200).
    let (status, module) = srv.upload("echo", component("echo")).await;
    assert_eq!(status, StatusCode::CREATED, "{module}");
    assert_eq!(module["name"], "echo");
    assert_eq!(module["sha256"].as_str().unwrap().len(), 64);
    let (status, _) = srv.upload("echo", component("echo")).await;
    assert_eq!(status, StatusCode::OK);

    // Register: absolute, unguessable URL.
    let hook = srv.create_webhook("echo", json!({"tenant": "acme"})).await;
    let id = hook["id"].as_str().unwrap();
    let url = hook["url"].as_str().unwrap();
    assert_eq!(url, format!("{}/hooks/{id}", srv.url));
    let random_hex = id.strip_prefix("wh_").unwrap();
    assert_eq!(random_hex.len(), 32, "uuid v4: 122 random bits");
    assert_eq!(hook["payload"], json!({"tenant": "acme"}));
    assert_eq!(hook["module"], "echo");
    assert!(hook["created_at"].is_string());

    // Any method, the URL itself and sub-paths, with the payload as context.
    let resp = srv.http.post(url).body("hello there").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let invocation = resp.headers()["x-hookhost-invocation"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(invocation.starts_with("inv_"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!({"payload": {"tenant": "acme"}, "method": "POST", "path": "/", "body": "hello there"})
    );

    let (status, body) = srv.send(srv.http.get(format!("{url}/deep/path?x=1"))).await;
    assert_eq!(status, 200);
    assert_eq!(body["method"], "GET");
    assert_eq!(body["path"], "/deep/path");
    for method in ["PUT", "PATCH", "DELETE"] {
        let (status, body) = srv
            .send(srv.http.request(method.parse().unwrap(), url))
            .await;
        assert_eq!(status, 200);
        assert_eq!(body["method"], method);
    }

    // Invocation log: newest first, with status and duration.
    let log = srv.invocations_until(id, 5).await;
    let entries = log["data"].as_array().unwrap();
    assert_eq!(entries.len(), 5);
    let first = entries.last().unwrap();
    assert_eq!(first["id"], invocation.as_str());
    assert_eq!(first["status"], 200);
    assert_eq!(first["outcome"], "ok");
    assert!(first["duration_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(entries[0]["method"], "DELETE");
    // Cursor paging.
    let (_, page1) = srv
        .send(srv.admin(Method::GET, &format!("/webhooks/{id}/invocations?limit=2")))
        .await;
    let cursor = page1["next_cursor"].as_str().unwrap();
    let (_, page2) = srv
        .send(srv.admin(
            Method::GET,
            &format!("/webhooks/{id}/invocations?limit=10&before={cursor}"),
        ))
        .await;
    assert_eq!(page2["data"].as_array().unwrap().len(), 3);
    assert!(page2["next_cursor"].is_null());

    // Lists show what exists.
    let (_, modules) = srv.send(srv.admin(Method::GET, "/modules")).await;
    assert_eq!(modules["data"][0]["webhooks"], json!([id]));
    let (_, hooks) = srv.send(srv.admin(Method::GET, "/webhooks")).await;
    assert_eq!(hooks["data"][0]["id"], id);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_sync_publishes_emits_and_rejects_incomplete_events() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path()).await;
    srv.upload_component("identity-sync").await;
    let hook = srv
        .create_webhook("identity-sync", json!({"source": "azure-ad"}))
        .await;
    let url = hook["url"].as_str().unwrap();
    let id = hook["id"].as_str().unwrap();

    // Seed 001: a missing field is a 400 with a message the source app can show.
    let (status, body) = srv
        .send(
            srv.http
                .post(url)
                .body(r#"{"id":"IDNUMBER1234","eventType":"UPDATE"}"#),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "bad_request");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("entityType") && message.contains("timestamp"),
        "{message}"
    );

    for n in 0..3 {
        let event = json!({"id": format!("ID{n}"), "entityType": "USER", "eventType": "UPDATE", "timestamp": "2019-01-01T00:00:00Z"});
        let (status, body) = srv.send(srv.http.post(url).json(&event)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["published"], "user.updated");
    }

    // Committed before the response: visible at once.
    let (_, events) = srv
        .send(srv.admin(Method::GET, "/events?type=user.updated"))
        .await;
    let events = events["data"].as_array().unwrap().clone();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["data"]["id"], "ID0");
    assert_eq!(events[0]["data"]["source"], "azure-ad");
    assert_eq!(events[0]["source"]["webhook_id"], id);
    assert!(events[0]["id"].as_str().unwrap().starts_with("evt_"));

    // Emission log, in order, cursor-paginated.
    let (_, page) = srv.send(srv.admin(Method::GET, "/emissions?limit=2")).await;
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    assert_eq!(page["data"][0]["entity_type"], "USER");
    assert_eq!(page["data"][0]["data"]["id"], "ID0");
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, page2) = srv
        .send(srv.admin(Method::GET, &format!("/emissions?limit=2&after={cursor}")))
        .await;
    assert_eq!(page2["data"].as_array().unwrap().len(), 1);
    assert_eq!(page2["data"][0]["data"]["id"], "ID2");
    assert!(page2["next_cursor"].is_null());
    let (_, filtered) = srv
        .send(srv.admin(Method::GET, "/emissions?entity_type=GROUP"))
        .await;
    assert_eq!(filtered["data"], json!([]));

    // The invocation log counts what each call committed.
    let log = srv.invocations_until(id, 4).await;
    assert_eq!(log["data"][0]["published"], 1);
    assert_eq!(log["data"][0]["emitted"], 1);
    assert_eq!(log["data"][3]["outcome"], "bad_request");
    assert_eq!(log["data"][3]["status"], 400);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_verify_checks_the_signature_from_the_payload_secret() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path()).await;
    srv.upload_component("github-verify").await;
    let secret = "It's a Secret to Everybody";
    let hook = srv
        .create_webhook("github-verify", json!({"secret": secret}))
        .await;
    let url = hook["url"].as_str().unwrap();

    // GitHub's documented vector.
    let (status, body) = srv
        .send(
            srv.http
                .post(url)
                .header(
                    "X-Hub-Signature-256",
                    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
                )
                .header("X-GitHub-Event", "ping")
                .body("Hello, World!"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["verified"], true);

    // A real-looking push, signed here.
    let push = json!({"action": "opened", "repository": {"full_name": "acme/app"}, "sender": {"login": "octo"}}).to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(push.as_bytes());
    let sig = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let (status, _) = srv
        .send(
            srv.http
                .post(url)
                .header("X-Hub-Signature-256", &sig)
                .header("X-GitHub-Event", "push")
                .body(push.clone()),
        )
        .await;
    assert_eq!(status, 200);
    let (_, events) = srv
        .send(srv.admin(Method::GET, "/events?type=github.push"))
        .await;
    assert_eq!(events["data"][0]["data"]["repository"], "acme/app");

    // Tampered body, wrong signature, missing header: 401 with the reason.
    let (status, body) = srv
        .send(
            srv.http
                .post(url)
                .header("X-Hub-Signature-256", &sig)
                .body(push.replace("octo", "mallory")),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["message"], "signature does not match");
    let (status, body) = srv.send(srv.http.post(url).body(push)).await;
    assert_eq!(status, 401);
    assert_eq!(
        body["error"]["message"],
        "missing X-Hub-Signature-256 header"
    );
    let (_, events) = srv
        .send(srv.admin(Method::GET, "/events?type=github.push"))
        .await;
    assert_eq!(
        events["data"].as_array().unwrap().len(),
        1,
        "rejected deliveries publish nothing"
    );
    srv.stop().await;
}

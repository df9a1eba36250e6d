//! What handlers may do beyond answering, end to end on a real server:
//! outgoing HTTP to the hosts their webhook allows (through the outbound
//! address guard), follow-up webhooks committed with the invocation, and
//! components built against the older `hookhost:handler@0.1.0` WIT.

use hookhost::delivery::guard::AddressGuard;
use hookhost_tests::receiver::{Receiver, Reply};
use hookhost_tests::{TestServer, start, start_with};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A server whose outbound guard lets loopback through: the explicit
/// allowance every test talking to a local receiver needs.
async fn loopback_server(dir: &std::path::Path) -> TestServer {
    start_with(dir, |c| {
        c.delivery.allowlist = AddressGuard::parse_allowlist("127.0.0.0/8").unwrap();
    })
    .await
}

async fn call(srv: &TestServer, hook: &Value, body: Value) -> (StatusCode, Value) {
    srv.send(srv.http.post(hook["url"].as_str().unwrap()).json(&body))
        .await
}

async fn events(srv: &TestServer) -> Vec<Value> {
    let (_, events) = srv.send(srv.admin(Method::GET, "/events")).await;
    events["data"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_call_out_only_to_their_webhooks_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let srv = loopback_server(dir.path()).await;
    let service = Receiver::start().await;
    service.otherwise(Reply {
        headers: vec![("x-probe", "from-service".into())],
        ..Reply::body(200, r#"{"name":"Ada"}"#)
    });
    let other = Receiver::start().await;
    srv.upload_component("hostile").await;
    let h = srv
        .create_webhook_from(json!({"module": "hostile", "payload": {"mode": "fetch"},
               "outbound_hosts": [service.authority()]}))
        .await;
    assert_eq!(h["outbound_hosts"], json!([service.authority()]));
    let id = h["id"].as_str().unwrap();

    let (status, answer) = call(
        &srv,
        &h,
        json!({"requests": [
            {"method": "POST", "url": format!("{}/users/1?expand=all", service.url),
             "headers": {"x-token": "t0k3n"}, "body": "ping"},
            {"url": format!("{}/users/1", other.url)},
            {"url": "ftp://example.com/x"},
        ], "publish": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results[0]["status"], 200, "{answer}");
    assert_eq!(results[0]["body"], r#"{"name":"Ada"}"#);
    assert_eq!(results[0]["header"], "from-service");
    let refused = results[1]["error"].as_str().unwrap();
    assert!(
        refused.contains("not in this webhook's outbound_hosts"),
        "{refused}"
    );
    assert!(
        results[2]["error"].as_str().unwrap().contains("http"),
        "{answer}"
    );

    // The allowed service got exactly the request, with its headers and
    // body; the other host got nothing (the refused call never connected:
    // it failed before the handler answered).
    let got = service.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].method, "POST");
    assert_eq!(got[0].path, "/hook/users/1?expand=all");
    assert_eq!(got[0].header("x-token"), "t0k3n");
    assert_eq!(got[0].body, b"ping");
    assert!(other.received().is_empty());

    // Every call is in the invocation log: host, status or error, time;
    // no query string.
    let log = srv.invocations_until(id, 1).await;
    let calls = log["data"][0]["calls"].as_array().unwrap().clone();
    assert_eq!(calls.len(), 3, "{log}");
    let ok = calls.iter().find(|c| c["status"] == 200).unwrap();
    assert_eq!(ok["host"], json!(service.authority()));
    assert_eq!(ok["path"], "/hook/users/1");
    assert_eq!(ok["method"], "POST");
    assert!(ok["duration_ms"].as_f64().unwrap() >= 0.0);
    assert!(calls.iter().any(|c| {
        c["error"]
            .as_str()
            .is_some_and(|e| e.contains("outbound_hosts"))
    }));
    // What it published after calling out is committed (it succeeded).
    assert_eq!(events(&srv).await.len(), 1);

    // A handler that fails after calling out commits nothing, but its
    // calls are still logged.
    let (status, _) = call(
        &srv,
        &h,
        json!({"requests": [{"url": service.url}], "publish": true, "fail": true}),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let log = srv.invocations_until(id, 2).await;
    assert_eq!(log["data"][0]["outcome"], "internal");
    assert_eq!(log["data"][0]["calls"][0]["status"], 200, "{log}");
    assert_eq!(events(&srv).await.len(), 1, "nothing published");

    // More calls than allowed per invocation: the ninth is refused.
    let nine: Vec<Value> = (0..9).map(|_| json!({"url": service.url})).collect();
    let (_, answer) = call(&srv, &h, json!({ "requests": nine })).await;
    let results = answer["results"].as_array().unwrap();
    assert!(results[..8].iter().all(|r| r["status"] == 200), "{answer}");
    assert!(
        results[8]["error"]
            .as_str()
            .unwrap()
            .contains("more than 8"),
        "{answer}"
    );

    // Refused calls count too, and only a few beyond the limit are kept:
    // a guest looping on refusals with long URLs gains nothing.
    let long = "a".repeat(4000);
    let refusals: Vec<Value> = (0..30)
        .map(|_| json!({"url": format!("http://not-listed.example/{long}")}))
        .collect();
    let (_, answer) = call(&srv, &h, json!({ "requests": refusals })).await;
    let results = answer["results"].as_array().unwrap();
    assert!(
        results[..8]
            .iter()
            .all(|r| r["error"].as_str().unwrap().contains("outbound_hosts")),
        "{answer}"
    );
    assert!(
        results[8..]
            .iter()
            .all(|r| r["error"].as_str().unwrap().contains("more than 8")),
        "{answer}"
    );
    let log = srv.invocations_until(id, 4).await;
    let logged = log["data"][0]["calls"].as_array().unwrap();
    assert_eq!(logged.len(), 16, "{log}");
    assert!(
        logged
            .iter()
            .all(|c| c["path"].as_str().unwrap().len() <= 256)
    );

    // A webhook without outbound_hosts may call nothing.
    let closed = srv
        .create_webhook_from(json!({"module": "hostile", "payload": {"mode": "fetch"}}))
        .await;
    let before = service.received().len();
    let (_, answer) = call(&srv, &closed, json!({"requests": [{"url": service.url}]})).await;
    assert!(
        answer["results"][0]["error"]
            .as_str()
            .unwrap()
            .contains("none are allowed"),
        "{answer}"
    );
    assert_eq!(service.received().len(), before);

    // The list is checked when stored.
    for bad in [
        json!(["http://a.com/x"]),
        json!(["a.com:0"]),
        json!("a.com"),
    ] {
        let (status, body) = srv
            .send(
                srv.admin(Method::POST, "/webhooks")
                    .json(&json!({"module": "hostile", "outbound_hosts": bad})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    // And can be changed: now the service is refused.
    let (status, patched) = srv
        .send(
            srv.admin(Method::PATCH, &format!("/webhooks/{id}"))
                .json(&json!({"outbound_hosts": ["api.example.com"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    let (_, answer) = call(&srv, &h, json!({"requests": [{"url": service.url}]})).await;
    assert!(answer["results"][0]["error"].is_string(), "{answer}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outgoing_calls_go_through_the_address_guard_and_limits() {
    // No loopback allowance: a listed loopback host is still refused, by
    // literal address and by a name resolving to it.
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path()).await;
    let service = Receiver::start().await;
    let port = service.authority().rsplit(':').next().unwrap().to_string();
    srv.upload_component("hostile").await;
    let h = srv
        .create_webhook_from(json!({"module": "hostile", "payload": {"mode": "fetch"},
               "outbound_hosts": [service.authority(), format!("localhost:{port}")]}))
        .await;
    let (status, answer) = call(
        &srv,
        &h,
        json!({"requests": [
            {"url": service.url},
            {"url": format!("http://localhost:{port}/hook")},
        ]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    for r in answer["results"].as_array().unwrap() {
        assert!(r["error"].is_string(), "{answer}");
    }
    assert!(
        answer["results"][0]["error"]
            .as_str()
            .unwrap()
            .contains("loopback"),
        "{answer}"
    );
    assert!(
        service.received().is_empty(),
        "the guard let a call through"
    );
    srv.stop().await;

    // With loopback allowed, but small limits: a response over the
    // per-call byte limit is refused, and a slow service costs the
    // invocation no more than its deadline.
    let dir = tempfile::tempdir().unwrap();
    let srv = start_with(dir.path(), |c| {
        c.delivery.allowlist = AddressGuard::parse_allowlist("127.0.0.0/8").unwrap();
        c.limits.max_http_call_bytes = 1024;
        c.limits.timeout = Duration::from_millis(1500);
    })
    .await;
    srv.upload_component("hostile").await;
    let h = srv
        .create_webhook_from(json!({"module": "hostile", "payload": {"mode": "fetch"},
               "outbound_hosts": [service.authority()]}))
        .await;
    service.script([Reply::body(200, "x".repeat(4096))]);
    let (_, answer) = call(&srv, &h, json!({"requests": [{"url": service.url}]})).await;
    assert!(
        answer["results"][0]["error"]
            .as_str()
            .unwrap()
            .contains("exceeds the limit of 1024 bytes"),
        "{answer}"
    );
    service.script([Reply::body(200, "late").after(Duration::from_secs(10))]);
    let started = Instant::now();
    let (status, answer) = call(&srv, &h, json!({"requests": [{"url": service.url}]})).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(4), "took {took:?}");
    // The call failed at the deadline; the handler answered or was stopped.
    if status == StatusCode::OK {
        assert!(
            answer["results"][0]["error"]
                .as_str()
                .unwrap()
                .contains("time limit"),
            "{answer}"
        );
    } else {
        assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{answer}");
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_register_follow_up_webhooks_committed_with_them() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path()).await;
    srv.upload_component("hostile").await;
    srv.upload_component("echo").await;
    srv.upload_component("slack-transform").await;
    let h = srv
        .create_webhook_from(json!({"module": "hostile", "payload": {"mode": "register"}}))
        .await;
    let id = h["id"].as_str().unwrap();

    let (status, answer) = call(
        &srv,
        &h,
        json!({"webhooks": [
            {"module": "echo", "payload": {"subscription": "sub_1"}},
            {},
        ]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let reg = answer["registered"].as_array().unwrap();
    let (echo_id, echo_url) = (
        reg[0]["id"].as_str().unwrap(),
        reg[0]["url"].as_str().unwrap(),
    );
    assert!(
        echo_id.starts_with("wh_") && echo_url.ends_with(echo_id),
        "{answer}"
    );
    assert_eq!(echo_url, format!("{}/hooks/{echo_id}", srv.url));

    // Served at once, with its module and payload.
    let (status, w) = srv
        .send(srv.admin(Method::GET, &format!("/webhooks/{echo_id}")))
        .await;
    assert_eq!(status, StatusCode::OK, "{w}");
    assert_eq!(w["module"], "echo");
    assert_eq!(w["payload"], json!({"subscription": "sub_1"}));
    let (status, echoed) = srv.send(srv.http.post(echo_url).body("hi")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(echoed["payload"], json!({"subscription": "sub_1"}));
    let (_, w) = srv
        .send(srv.admin(
            Method::GET,
            &format!("/webhooks/{}", reg[1]["id"].as_str().unwrap()),
        ))
        .await;
    assert_eq!(w["module"], "hostile", "the default is the invoking module");
    assert!(w["payload"].is_null());

    // The invocation log names what it registered.
    let log = srv.invocations_until(id, 1).await;
    assert_eq!(log["data"][0]["registered"][0], json!(echo_id), "{log}");

    // A failed invocation registers nothing: the URL it was given is 404.
    let (status, answer) = call(
        &srv,
        &h,
        json!({"webhooks": [{"module": "echo"}], "fail": true}),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{answer}");
    let log = srv.invocations_until(id, 2).await;
    assert_eq!(log["data"][0]["outcome"], "internal");
    let (_, all) = srv.send(srv.admin(Method::GET, "/webhooks")).await;
    assert_eq!(all["data"].as_array().unwrap().len(), 3, "{all}");

    // Refused: unknown module, a transform, bad payload; and at most five.
    let (_, answer) = call(
        &srv,
        &h,
        json!({"webhooks": [{"module": "nope"}, {"module": "slack-transform"}]}),
    )
    .await;
    let reg = answer["registered"].as_array().unwrap();
    assert!(
        reg[0]["error"].as_str().unwrap().contains("unknown module"),
        "{answer}"
    );
    assert!(
        reg[1]["error"].as_str().unwrap().contains("transform"),
        "{answer}"
    );
    let six: Vec<Value> = (0..6).map(|_| json!({"module": "echo"})).collect();
    let (_, answer) = call(&srv, &h, json!({ "webhooks": six })).await;
    let reg = answer["registered"].as_array().unwrap();
    assert!(reg[..5].iter().all(|r| r["id"].is_string()), "{answer}");
    assert!(
        reg[5]["error"].as_str().unwrap().contains("at most 5"),
        "{answer}"
    );
    let (_, all) = srv.send(srv.admin(Method::GET, "/webhooks")).await;
    assert_eq!(all["data"].as_array().unwrap().len(), 8, "{all}");

    // They survive a restart: stored, not only cached. (A PostgreSQL test
    // schema is dropped with its server, so this part runs on sled; there
    // the rows are written in the invocation's transaction alike.)
    if !srv.on_postgres() {
        srv.stop().await;
        let srv = start(dir.path()).await;
        let url = format!("{}/hooks/{echo_id}", srv.url);
        let (status, _) = srv.send(srv.http.post(url).body("again")).await;
        assert_eq!(status, StatusCode::OK);
        srv.stop().await;
    } else {
        srv.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn components_built_against_handler_0_1_keep_working() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path()).await;
    srv.upload_component("handler-v01").await;
    let h = srv
        .create_webhook("handler-v01", json!({"tenant": "old"}))
        .await;
    let id = h["id"].as_str().unwrap();
    let url = h["url"].as_str().unwrap();

    let (status, answer) = srv.send(srv.http.post(format!("{url}/fail"))).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{answer}");
    let (status, answer) = srv.send(srv.http.post(format!("{url}/a"))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer,
        json!({"version": "0.1.0", "payload": {"tenant": "old"}})
    );

    // Only the successful call's records were committed.
    let events = events(&srv).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["type"], "v01.called");
    assert_eq!(events[0]["data"], json!({"path": "/a"}));
    let (_, emissions) = srv.send(srv.admin(Method::GET, "/emissions")).await;
    assert_eq!(
        emissions["data"].as_array().unwrap().len(),
        1,
        "{emissions}"
    );
    let log = srv.invocations_until(id, 2).await;
    assert!(
        log["data"][0]["output"]
            .as_str()
            .unwrap()
            .contains("hookhost:handler@0.1.0"),
        "{log}"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_sync_fetches_the_entity_and_publishes_it() {
    // Seed 001: the notification names a user; the handler fetches the
    // user from the identity service (a loopback receiver here) and
    // publishes it to subscribed endpoints.
    let dir = tempfile::tempdir().unwrap();
    let srv = loopback_server(dir.path()).await;
    let identity = Receiver::start().await;
    identity.script([
        Reply::body(
            200,
            r#"{"id":"U1","name":"Ada Lovelace","email":"ada@example.com"}"#,
        ),
        Reply::body(404, "no such user"),
    ]);
    let subscriber = Receiver::start().await;
    hookhost_tests::endpoint(
        &srv,
        json!({"url": subscriber.url, "events": ["user.updated"]}),
    )
    .await;
    srv.upload_component("identity-sync").await;
    let h = srv
        .create_webhook_from(json!({
            "module": "identity-sync",
            "payload": {"source": "azure-ad", "identity_url": format!("{}/users", identity.url)},
            "outbound_hosts": [identity.authority()],
        }))
        .await;
    let notification = |id: &str| json!({"id": id, "entityType": "USER", "eventType": "UPDATE", "timestamp": "2026-12-02T00:00:00Z"});

    let (status, answer) = call(&srv, &h, notification("U1")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["published"], "user.updated");
    let asked = identity.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(asked[0].method, "GET");
    assert_eq!(asked[0].path, "/hook/users/U1");
    assert_eq!(asked[0].header("accept"), "application/json");

    // The subscriber receives the user as the identity service has it.
    let got = subscriber.wait_for(1, Duration::from_secs(10)).await;
    let delivered = got[0].json();
    assert_eq!(delivered["type"], "user.updated");
    assert_eq!(delivered["data"]["entity"]["name"], "Ada Lovelace");
    assert_eq!(delivered["data"]["source"], "azure-ad");

    // An unknown user: the handler fails, nothing is published, and the
    // source is told to retry (500).
    let (status, answer) = call(&srv, &h, notification("U2")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{answer}");
    let log = srv.invocations_until(h["id"].as_str().unwrap(), 2).await;
    assert_eq!(log["data"][0]["calls"][0]["status"], 404, "{log}");
    assert_eq!(log["data"][0]["published"], 0);
    assert_eq!(events(&srv).await.len(), 1);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_up_webhooks_stay_within_the_workspace_quota_under_concurrency() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path()).await;
    let (status, ws) = srv
        .send(
            srv.admin(Method::POST, "/workspaces")
                .json(&json!({"name": "small", "quotas": {"max_webhooks": 3}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ws}");
    let ws = ws["id"].as_str().unwrap().to_string();
    let as_ws = |method: Method, path: &str| {
        srv.admin(method, path)
            .header("x-hookhost-workspace", ws.as_str())
    };
    let (status, m) = srv
        .send(
            as_ws(Method::POST, "/modules?name=hostile").body(hookhost_tests::component("hostile")),
        )
        .await;
    assert!(status.is_success(), "{m}");
    let (status, h) = srv
        .send(
            as_ws(Method::POST, "/webhooks")
                .json(&json!({"module": "hostile", "payload": {"mode": "register"}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{h}");

    // Eight invocations at once, each registering two: the quota leaves
    // room for two webhooks in all.
    let url = h["url"].as_str().unwrap().to_string();
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let (http, url) = (srv.http.clone(), url.clone());
            tokio::spawn(async move {
                http.post(url)
                    .json(&json!({"webhooks": [{}, {}]}))
                    .send()
                    .await
                    .unwrap()
                    .json::<Value>()
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut given = 0;
    let mut refused = 0;
    for c in calls {
        for r in c.await.unwrap()["registered"].as_array().unwrap() {
            if r["id"].is_string() {
                given += 1;
            } else {
                assert!(r["error"].as_str().unwrap().contains("quota"), "{r}");
                refused += 1;
            }
        }
    }
    assert_eq!((given, refused), (2, 14));
    let (_, all) = srv.send(as_ws(Method::GET, "/webhooks")).await;
    assert_eq!(all["data"].as_array().unwrap().len(), 3, "{all}");
    srv.stop().await;
}

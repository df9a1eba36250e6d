//! The customer portal in a real headless Chromium (Debian's, driven by
//! playwright-core from `tests/ui/portal.mjs`): two workspaces with
//! endpoints and deliveries; workspace A's portal link shows A's branding
//! and only A's records, and every action of the page works against the
//! real server; a read-only link changes nothing; an expired, an altered
//! and a missing link are refused. Screenshots go to
//! `target/portal-screenshots/`.
//!
//! The same refusals are checked here over HTTP, and the page's headers:
//! who may frame it is the operator's `--portal-frame-ancestors`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hookhost::delivery::guard::AddressGuard;
use hookhost_tests::guests::workspace;
use hookhost_tests::receiver::{Receiver, Reply};
use hookhost_tests::{TestServer, start_with, wait_until};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;

async fn create_workspace(srv: &TestServer, body: Value) -> String {
    let (status, ws) = srv
        .send(srv.admin(Method::POST, "/workspaces").json(&body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ws}");
    ws["id"].as_str().unwrap().to_string()
}

async fn link(srv: &TestServer, ws: &str, body: Value) -> String {
    let (status, l) = srv
        .send(
            srv.admin(Method::POST, &format!("/workspaces/{ws}/portal"))
                .json(&body),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{l}");
    l["url"].as_str().unwrap().to_string()
}

/// As the admin token acting in workspace `ws`.
fn in_ws(srv: &TestServer, ws: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
    srv.admin(method, path).header("x-hookhost-workspace", ws)
}

/// A deliveries' ids of workspace `ws` once `n` of them are finished.
async fn finished(srv: &TestServer, ws: &str, n: usize) -> Vec<Value> {
    wait_until(Duration::from_secs(10), "deliveries to finish", || async {
        let (_, d) = srv.send(in_ws(srv, ws, Method::GET, "/deliveries")).await;
        let all = d["data"].as_array()?.clone();
        (all.iter().filter(|d| d["status"] != "pending").count() >= n).then_some(all)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_end_to_end_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start_with(dir.path(), |c| {
        c.delivery.allowlist = AddressGuard::parse_allowlist("127.0.0.1/32").unwrap();
        // One attempt: a delivery to the failing receiver fails for good.
        c.delivery.schedule = hookhost::config::parse_schedule("0s").unwrap();
    })
    .await;
    let ok = Receiver::start().await;
    let failing = Receiver::start().await;
    failing.otherwise(Reply {
        body: "nope".into(),
        ..Reply::status(500)
    });
    let b_receiver = Receiver::start().await;
    let b_url = format!("{}/b-secret-path", b_receiver.url);

    let a = create_workspace(
        &srv,
        json!({"name": "Acme", "branding": {"display_name": "Acme Portal", "accent_color": "#aa3300"}}),
    )
    .await;
    let b = create_workspace(&srv, json!({"name": "Bravo"})).await;
    let (status, _) = srv
        .send(
            in_ws(&srv, &a, Method::POST, "/event-types")
                .json(&json!({"name": "invoice.paid", "description": "An invoice was paid"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // A: an endpoint at the failing receiver, one failed delivery.
    let (status, ep_a) = srv
        .send(
            in_ws(&srv, &a, Method::POST, "/endpoints")
                .json(&json!({"url": failing.url, "events": ["*"], "description": "billing"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ep_a}");
    let (status, _) = srv
        .send(
            in_ws(&srv, &a, Method::POST, "/events")
                .json(&json!({"type": "invoice.paid", "data": {"amount": 42}})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // B: an endpoint with a path nobody else should see, one delivery.
    let (status, ep_b) = srv
        .send(
            in_ws(&srv, &b, Method::POST, "/endpoints")
                .json(&json!({"url": b_url, "events": ["*"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ep_b}");
    let (status, _) = srv
        .send(
            in_ws(&srv, &b, Method::POST, "/events")
                .json(&json!({"type": "bravo.thing", "data": {}})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let a_deliveries = finished(&srv, &a, 1).await;
    assert_eq!(a_deliveries[0]["status"], "failed", "{a_deliveries:?}");
    let b_deliveries = finished(&srv, &b, 1).await;

    let full = link(&srv, &a, json!({"ttl": "1h"})).await;
    let read_only = link(&srv, &a, json!({"ttl": "1h", "read_only": true})).await;
    assert!(
        full.starts_with(&format!("{}/portal/#hhp_", srv.url)),
        "{full}"
    );
    // Expired: signed like any link, with no time left.
    let keys = hookhost::tenancy::portal::PortalKeys::new(&srv.token);
    let (expired_cred, _) = keys.sign(&a, 0, Duration::ZERO, false);
    let expired = format!("{}/portal/#{expired_cred}", srv.url);
    // Altered: A's claims rewritten to B's workspace, A's tag kept.
    let cred = full.split_once('#').unwrap().1;
    let (body, tag) = cred.trim_start_matches("hhp_").split_once('.').unwrap();
    let mut claims: Value = serde_json::from_slice(&B64.decode(body).unwrap()).unwrap();
    claims["ws"] = json!(b);
    let forged = format!("hhp_{}.{tag}", B64.encode(claims.to_string()));
    let tampered = format!("{}/portal/#{forged}", srv.url);

    // Over HTTP first: the refusals, and what a link reaches.
    for (cred, message) in [
        (expired_cred.as_str(), "expired"),
        (forged.as_str(), "not valid"),
    ] {
        let (status, body) = srv
            .send(
                srv.http
                    .get(format!("{}/v1/endpoints", srv.url))
                    .bearer_auth(cred),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert!(body.to_string().contains(message), "{body}");
    }
    for (path, expected) in [
        ("/endpoints", StatusCode::OK),
        ("/deliveries", StatusCode::OK),
        ("/event-types", StatusCode::OK),
        ("/webhooks", StatusCode::FORBIDDEN),
        ("/modules", StatusCode::FORBIDDEN),
        ("/events", StatusCode::FORBIDDEN),
        ("/emissions", StatusCode::FORBIDDEN),
        ("/workspaces", StatusCode::FORBIDDEN),
        (&format!("/workspaces/{a}/tokens"), StatusCode::FORBIDDEN),
    ] {
        let (status, body) = srv
            .send(
                srv.http
                    .get(format!("{}/v1{path}", srv.url))
                    .bearer_auth(cred),
            )
            .await;
        assert_eq!(status, expected, "{path}: {body}");
    }
    let (status, _) = srv
        .send(
            srv.http
                .get(format!(
                    "{}/v1/endpoints/{}",
                    srv.url,
                    ep_b["id"].as_str().unwrap()
                ))
                .bearer_auth(cred),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "B's endpoint through A's link"
    );
    // The page: its CSP, not framable by default.
    let page = srv
        .http
        .get(format!("{}/portal/", srv.url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert_eq!(page.headers()["x-frame-options"], "DENY");

    // In Chromium.
    let root = workspace();
    let shots = root.join("target").join("portal-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    let config = json!({
        "base": srv.url,
        "link": full,
        "read_only_link": read_only,
        "expired_link": expired,
        "tampered_link": tampered,
        "receiver": ok.url,
        "failing_receiver": failing.url,
        "a_endpoints": [ep_a["id"]],
        "a_failed_delivery": a_deliveries[0]["id"],
        "b_endpoints": [ep_b["id"]],
        "b_urls": [b_url],
        "b_deliveries": b_deliveries.iter().map(|d| d["id"].clone()).collect::<Vec<_>>(),
        "event_type": "invoice.paid",
        "event_description": "An invoice was paid",
        "display_name": "Acme Portal",
        "accent_color": "#aa3300",
        "shots": shots,
    });
    let config_path = dir.path().join("portal-test.json");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let script = root.join("tests").join("ui").join("portal.mjs");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node").arg(&script).arg(&config_path).output()
    })
    .await
    .unwrap()
    .expect("run node (install the UI test tools with scripts/guest-toolchains.sh)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the portal test failed (screenshots in target/portal-screenshots):\n{stdout}\n{stderr}"
    );
    // What the page did reached the server: the endpoint it created got
    // the test event, and B's receiver got only B's one delivery.
    assert!(
        ok.received()
            .iter()
            .any(|r| r.json()["type"] == "webhook.test"),
        "{stdout}"
    );
    assert_eq!(b_receiver.received().len(), 1);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_may_be_framed_only_by_the_configured_ancestors() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start_with(dir.path(), |c| {
        c.portal_frame_ancestors = "https://app.example.com".into();
        c.portal_url = Some("https://portal.example.com/".into());
    })
    .await;
    let page = srv
        .http
        .get(format!("{}/portal/", srv.url))
        .send()
        .await
        .unwrap();
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("frame-ancestors https://app.example.com"),
        "{csp}"
    );
    assert!(page.headers().get("x-frame-options").is_none());
    // Links use the configured base.
    let (status, l) = srv
        .send(
            srv.admin(Method::POST, "/workspaces/default/portal")
                .json(&json!({"ttl": "15m"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{l}");
    assert!(
        l["url"]
            .as_str()
            .unwrap()
            .starts_with("https://portal.example.com/portal/#hhp_"),
        "{l}"
    );
    // TTLs out of range, and ones that do not parse, are refused.
    for ttl in ["10s", "31d", "soon"] {
        let (status, _) = srv
            .send(
                srv.admin(Method::POST, "/workspaces/default/portal")
                    .json(&json!({"ttl": ttl})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{ttl}");
    }
    srv.stop().await;
    // A frame-ancestors value that would inject another directive is
    // refused at start.
    assert!(hookhost::config::check_frame_ancestors("'self'; script-src *").is_err());
    assert!(hookhost::config::check_frame_ancestors("https://a.example https://b.example").is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_workspaces_links_refuses_them_and_only_them() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start_with(dir.path(), |_| {}).await;
    let a = create_workspace(&srv, json!({"name": "A"})).await;
    let b = create_workspace(&srv, json!({"name": "B"})).await;
    let cred = |link: &str| link.split_once('#').unwrap().1.to_string();
    let old_a = cred(&link(&srv, &a, json!({"ttl": "1h"})).await);
    let old_b = cred(&link(&srv, &b, json!({"ttl": "1h"})).await);
    let status_of = |c: String| {
        let srv = &srv;
        async move {
            srv.send(
                srv.http
                    .get(format!("{}/v1/endpoints", srv.url))
                    .bearer_auth(c),
            )
            .await
        }
    };
    assert_eq!(status_of(old_a.clone()).await.0, StatusCode::OK);
    let (status, _) = srv
        .send(srv.admin(Method::POST, &format!("/workspaces/{a}/portal/revoke")))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = status_of(old_a).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.to_string().contains("revoked"), "{body}");
    // A new link of A works; B's links were not touched.
    let new_a = cred(&link(&srv, &a, json!({"ttl": "1h"})).await);
    assert_eq!(status_of(new_a).await.0, StatusCode::OK);
    assert_eq!(status_of(old_b).await.0, StatusCode::OK);
    // Only the admin token revokes.
    let (status, _) = srv
        .send(
            srv.http
                .post(format!("{}/v1/workspaces/{b}/portal/revoke", srv.url))
                .bearer_auth(cred(&link(&srv, &b, json!({"ttl": "1h"})).await)),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    srv.stop().await;
}

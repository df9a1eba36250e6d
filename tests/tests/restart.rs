//! A restart on the same data directory keeps modules, webhooks and
//! payloads, and loads compiled components from the cache instead of
//! recompiling them.

use hookhost_tests::start;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_everything_and_does_not_recompile() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path()).await;
    srv.upload_component("echo").await;
    srv.upload_component("identity-sync").await;
    let hook = srv
        .create_webhook("echo", json!({"tenant": "acme", "n": [1, 2]}))
        .await;
    let url_path = hook["url"]
        .as_str()
        .unwrap()
        .split("/hooks/")
        .nth(1)
        .unwrap()
        .to_string();
    let token = srv.token.clone();
    let (_, health) = srv.send(srv.http.get(format!("{}/healthz", srv.url))).await;
    assert_eq!(health["components_compiled"], 2);
    let artifacts = std::fs::read_dir(dir.path().join("compiled"))
        .unwrap()
        .count();
    assert_eq!(artifacts, 2);
    srv.stop().await;

    let srv = start(dir.path()).await;
    assert_eq!(srv.token, token, "the stored admin token is reused");
    let (_, health) = srv.send(srv.http.get(format!("{}/healthz", srv.url))).await;
    assert_eq!(health["components_compiled"], 0, "{health}");
    assert_eq!(health["components_loaded_from_cache"], 2, "{health}");
    assert_eq!(health["webhooks"], 1);

    let (_, modules) = srv.send(srv.admin(Method::GET, "/modules")).await;
    let names: Vec<_> = modules["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("echo"), json!("identity-sync")]);
    let (status, body) = srv
        .send(
            srv.http
                .post(format!("{}/hooks/{url_path}", srv.url))
                .body("again"),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["payload"], json!({"tenant": "acme", "n": [1, 2]}));
    assert_eq!(body["body"], "again");

    // A damaged artifact is recompiled rather than trusted.
    srv.stop().await;
    for entry in std::fs::read_dir(dir.path().join("compiled")).unwrap() {
        std::fs::write(entry.unwrap().path(), b"garbage").unwrap();
    }
    let srv = start(dir.path()).await;
    let (_, health) = srv.send(srv.http.get(format!("{}/healthz", srv.url))).await;
    assert_eq!(health["components_compiled"], 2, "{health}");
    let (status, _) = srv
        .send(srv.http.post(format!("{}/hooks/{url_path}", srv.url)))
        .await;
    assert_eq!(status, 200);
    srv.stop().await;
}

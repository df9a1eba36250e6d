//! The dashboard in a real headless Chromium (Debian's, driven by
//! playwright-core from `tests/ui/run.mjs`): sign in, upload, create and
//! call a webhook, watch its invocation, a failing endpoint, a failed
//! delivery attempt, a retry after the receiver recovers. Screenshots of
//! each page go to `target/ui-screenshots/`.

use hookhost::delivery::guard::AddressGuard;
use hookhost_tests::guests::{component_path, workspace};
use hookhost_tests::start_with;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::process::{Command, Output};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_end_to_end_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start_with(dir.path(), |c| {
        c.delivery.allowlist = AddressGuard::parse_allowlist("127.0.0.1/32").unwrap();
        // The first attempt fails; the next would be an hour later, so the
        // success seen in the test comes from the dashboard's retry.
        c.delivery.schedule = hookhost::config::parse_schedule("0s,1h").unwrap();
    })
    .await;
    let root = workspace();
    let shots = root.join("target").join("ui-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    let wasm = component_path("echo");
    let fetcher = component_path("hostile");
    let script = root.join("tests").join("ui").join("run.mjs");
    let (url, token) = (srv.url.clone(), srv.token.clone());
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(&script)
            .arg(&url)
            .arg(&token)
            .arg(&wasm)
            .arg(&shots)
            .arg(&fetcher)
            .output()
    })
    .await
    .unwrap()
    .expect("run node (install the UI test tools with scripts/guest-toolchains.sh)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the dashboard test failed (screenshots in target/ui-screenshots):\n{stdout}\n{stderr}"
    );
    let pages = std::fs::read_dir(root.join("target").join("ui-screenshots"))
        .unwrap()
        .count();
    assert!(pages >= 8, "{pages} screenshots");
    srv.stop().await;
}

/// The script of the attacker's page: with the browser's cookies it reads the
/// dashboard session's CSRF token, creates an endpoint with it and reads
/// `document.cookie`, reporting in `document.title` (`attack-started` at
/// once, `attack-done:<json>` when finished) for `tests/ui/attack.mjs`.
const ATTACK_SCRIPT: &str = r#"
document.title = 'attack-started';
(async () => {
  const results = {};
  try {
    const r = await fetch('/ui/session', { credentials: 'include' });
    results.session_status = r.status;
    const body = await r.json().catch(() => null);
    results.csrf = (body && body.csrf) || null;
  } catch (e) {
    results.session_error = String(e);
  }
  try {
    const headers = { 'content-type': 'application/json' };
    if (results.csrf) headers['x-csrf-token'] = results.csrf;
    const r = await fetch('/v1/endpoints', {
      method: 'POST',
      credentials: 'include',
      headers,
      body: JSON.stringify({ url: 'http://127.0.0.1:9/stolen', events: ['*'] }),
    });
    results.create_status = r.status;
  } catch (e) {
    results.create_error = String(e);
  }
  try {
    results.cookie = document.cookie;
  } catch (e) {
    results.cookie_error = String(e);
  }
  document.title = 'attack-done:' + JSON.stringify(results);
})();
"#;

/// Runs `node tests/ui/<script> <args>...` off the async runtime.
async fn node(script: &str, args: Vec<String>) -> Output {
    let script = workspace().join("tests").join("ui").join(script);
    tokio::task::spawn_blocking(move || Command::new("node").arg(&script).args(&args).output())
        .await
        .unwrap()
        .expect("run node (install the UI test tools with scripts/guest-toolchains.sh)")
}

/// A handler's page, opened in a browser signed in to the dashboard, is the
/// attacker's: its script must not be able to use the session (read the
/// CSRF token, change anything through `/v1`), and its response must not be
/// able to replace the session cookie.
///
/// Two hook pages, opened in turn: the first only carries the script; the
/// second also answers `Set-Cookie: hookhost_session=...`, which (where it
/// gets through) replaces the session before the script runs, so on its own
/// it would hide whether the script could have used the session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_pages_cannot_act_with_the_dashboards_authority() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start_with(dir.path(), |c| {
        // The endpoint the attack creates is on loopback: allow it, so only
        // the browser-facing defences stand between the page and the API.
        c.delivery.allowlist = AddressGuard::parse_allowlist("127.0.0.1/32").unwrap();
    })
    .await;
    srv.upload_component("hostile").await;
    let html = format!(
        "<html><head><title>hook page</title></head><body><script>{ATTACK_SCRIPT}</script></body></html>"
    );
    let page = |set_cookies: bool| {
        let mut headers = vec![json!(["content-type", "text/html; charset=utf-8"])];
        if set_cookies {
            headers.push(json!(["set-cookie", "hookhost_session=evil; Path=/"]));
            headers.push(json!(["set-cookie", "hookhost_session=evil2; Path=/ui"]));
        }
        json!({"mode": "respond", "status": 200, "headers": headers, "body": html})
    };
    let mut hooks = Vec::new();
    for set_cookies in [false, true] {
        let webhook = srv.create_webhook("hostile", page(set_cookies)).await;
        hooks.push(webhook["url"].as_str().expect("webhook url").to_string());
    }

    let mut args = vec![srv.url.clone(), srv.token.clone()];
    args.extend(hooks);
    let output = node("attack.mjs", args).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let (status, endpoints) = srv.send(srv.admin(Method::GET, "/endpoints")).await;
    assert_eq!(status, StatusCode::OK, "{endpoints}");
    let report = format!("{stdout}\n{stderr}\nendpoints now: {endpoints}");
    println!("{report}");

    assert!(
        output.status.success(),
        "the attack script failed, or the dashboard session did not survive the hook pages:\n{report}"
    );
    let created = endpoints["data"].as_array().expect("a list of endpoints");
    assert!(
        created.is_empty(),
        "a hook page created an endpoint with the dashboard's session:\n{report}"
    );
    let result: Value = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .map(|r| serde_json::from_str(r).expect("RESULT is JSON"))
        .unwrap_or_else(|| panic!("no RESULT line:\n{report}"));
    let pages = result["hooks"].as_array().expect("hook pages in RESULT");
    assert_eq!(pages.len(), 2, "{result}");
    for seen in pages {
        assert!(
            seen["results"]["csrf"].as_str().is_none_or(str::is_empty),
            "a hook page's script read the dashboard's CSRF token:\n{report}"
        );
    }
    srv.stop().await;
}

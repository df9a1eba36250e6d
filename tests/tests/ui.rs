//! The dashboard in a real headless Chromium (Debian's, driven by
//! playwright-core from `tests/ui/run.mjs`): sign in, upload, create and
//! call a webhook, watch its invocation, a failing endpoint, a failed
//! delivery attempt, a retry after the receiver recovers. Screenshots of
//! each page go to `target/ui-screenshots/`.

use hookhost::delivery::guard::AddressGuard;
use hookhost_tests::guests::{component_path, workspace};
use hookhost_tests::start_with;
use std::process::Command;

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
    let script = root.join("tests").join("ui").join("run.mjs");
    let (url, token) = (srv.url.clone(), srv.token.clone());
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(&script)
            .arg(&url)
            .arg(&token)
            .arg(&wasm)
            .arg(&shots)
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

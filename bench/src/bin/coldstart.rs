//! Cold start: time from spawning `hookhost serve` on an existing data
//! directory to the first request a webhook answers with 200.
//!
//! `coldstart <hookhost-binary> <data-dir> <port> <webhook-path>`; polls
//! `POST http://127.0.0.1:<port><webhook-path>` every millisecond. Prints
//! `first_request_ms=<ms>`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bin, data, port, path] = &args[..] else {
        panic!("usage: coldstart <hookhost-binary> <data-dir> <port> <webhook-path>");
    };
    hookhost::delivery::http::install_tls();
    let url = format!("http://127.0.0.1:{port}{path}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let started = Instant::now();
    let mut child = Command::new(bin)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn hookhost");
    let served = loop {
        if let Ok(r) = client.post(&url).body("cold").send().await
            && r.status().is_success()
        {
            break started.elapsed();
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("no answer from {url} within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    println!("first_request_ms={:.1}", served.as_secs_f64() * 1000.0);
    // A graceful stop (SIGTERM), so that the next start does not measure
    // crash recovery.
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
}

//! Crash safety: events accepted (202) before a `kill -9` in the middle of
//! delivery all reach the receiver after a restart on the same data dir.

mod common;

use common::{recording_receiver, serve_with};
use serde_json::json;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const EVENTS_BEFORE_KILL: usize = 300;

#[test]
fn accepted_events_survive_kill_9_mid_delivery() {
    hookhost::delivery::http::install_tls();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A slow receiver keeps deliveries queued and in flight at the kill.
    let (recv_url, _, received) = recording_receiver(Duration::from_millis(20));
    let flags = [
        "--outbound-allowlist",
        "127.0.0.0/8",
        "--retry-schedule",
        "0,200ms,500ms,1s,1s,1s,1s,1s",
    ];
    let mut srv = serve_with(&data, &dir.path().join("first.log"), &flags);
    let token = std::fs::read_to_string(data.join("admin-token"))
        .unwrap()
        .trim()
        .to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let http = reqwest::Client::new();

    let base = srv.url.clone();
    let status = rt.block_on(
        http.post(format!("{base}/v1/endpoints"))
            .bearer_auth(&token)
            .json(&json!({"url": recv_url, "events": ["load.*"]}))
            .send(),
    );
    assert_eq!(status.unwrap().status(), 201);

    // Eight concurrent senders; every 202 is a promise the event gets out.
    let accepted = Arc::new(Mutex::new(Vec::<String>::new()));
    rt.block_on(async {
        let mut senders = Vec::new();
        for s in 0..8 {
            let (http, base, token, accepted) =
                (http.clone(), base.clone(), token.clone(), accepted.clone());
            senders.push(tokio::spawn(async move {
                for n in 0.. {
                    let resp = http
                        .post(format!("{base}/v1/events"))
                        .bearer_auth(&token)
                        .json(&json!({"type": "load.tick", "data": {"sender": s, "n": n}}))
                        .send()
                        .await;
                    let Ok(resp) = resp else { break };
                    if resp.status() != 202 {
                        break;
                    }
                    let body: serde_json::Value = resp.json().await.unwrap();
                    accepted
                        .lock()
                        .unwrap()
                        .push(body["id"].as_str().unwrap().to_string());
                }
            }));
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while accepted.lock().unwrap().len() < EVENTS_BEFORE_KILL {
            assert!(
                Instant::now() < deadline,
                "the server accepted too few events"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        srv.child.kill().unwrap(); // SIGKILL, while the senders are still sending
        srv.child.wait().unwrap();
        for s in senders {
            s.await.unwrap();
        }
    });
    let accepted: HashSet<String> = accepted.lock().unwrap().iter().cloned().collect();
    let at_kill: HashSet<String> = received.lock().unwrap().iter().cloned().collect();
    assert!(
        at_kill.len() < accepted.len(),
        "the kill must happen mid-delivery: {} of {} delivered",
        at_kill.len(),
        accepted.len()
    );

    eprintln!(
        "accepted {}, delivered at the kill {}",
        accepted.len(),
        at_kill.len()
    );
    let _restarted = serve_with(&data, &dir.path().join("second.log"), &flags);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got: HashSet<String> = received.lock().unwrap().iter().cloned().collect();
        let missing = accepted.difference(&got).count();
        if missing == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{missing} of {} accepted events never reached the receiver",
            accepted.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

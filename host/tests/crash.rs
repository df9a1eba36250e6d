//! Crash safety: events accepted (202) before a `kill -9` in the middle of
//! delivery all reach the receiver after a restart on the same data dir,
//! and, with two nodes on one PostgreSQL, through the node left running.

mod common;

use common::{pg_url, recording_receiver, serve_with, serve_with_env};
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
    let bases = vec![base.clone(); 8];
    let accepted = rt.block_on(send_then_kill(&http, &bases, &token, 5000, &mut srv));
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
    all_arrive(&accepted, &received);
}

/// Two nodes on one PostgreSQL under load; one is killed with `kill -9`
/// mid-delivery. Every event either node accepted reaches the receiver:
/// the survivor takes over the dead node's leased deliveries once their
/// lease (here 3 s) expires, and everything else it was going to send.
#[test]
fn a_node_killed_mid_delivery_loses_nothing_the_other_takes_over() {
    hookhost::delivery::http::install_tls();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = pg_url();
    let schema = format!("hh_crash_{}_{:08x}", std::process::id(), fastrand::u32(..));
    let pg = rt
        .block_on(hookhost::store::Postgres::connect(&url, Some(&schema)))
        .expect("PostgreSQL answers");
    let dir = tempfile::tempdir().unwrap();
    // A slow receiver keeps deliveries in flight (and leased) at the kill.
    let (recv_url, _, received) = recording_receiver(Duration::from_millis(50));
    let flags = [
        "--outbound-allowlist",
        "127.0.0.0/8",
        "--retry-schedule",
        "0,200ms,500ms,1s,1s,1s,1s,1s",
        "--delivery-timeout-ms",
        "1000",
        "--delivery-lease",
        "3s",
    ];
    let env = [
        ("HOOKHOST_DATABASE_URL", url.as_str()),
        ("HOOKHOST_DATABASE_SCHEMA", schema.as_str()),
        ("HOOKHOST_ADMIN_TOKEN", "crash-token"),
    ];
    let mut a = serve_with_env(
        &dir.path().join("a"),
        &dir.path().join("a.log"),
        &flags,
        &env,
    );
    let b = serve_with_env(
        &dir.path().join("b"),
        &dir.path().join("b.log"),
        &flags,
        &env,
    );
    let http = reqwest::Client::new();
    let status = rt.block_on(
        http.post(format!("{}/v1/endpoints", a.url))
            .bearer_auth("crash-token")
            .json(&json!({"url": recv_url, "events": ["load.*"]}))
            .send(),
    );
    assert_eq!(status.unwrap().status(), 201);

    // Senders to both nodes; those to A stop at the kill.
    let bases: Vec<String> = (0..6)
        .map(|s| {
            if s % 2 == 0 {
                a.url.clone()
            } else {
                b.url.clone()
            }
        })
        .collect();
    let accepted = rt.block_on(send_then_kill(&http, &bases, "crash-token", 150, &mut a));
    let at_kill: HashSet<String> = received.lock().unwrap().iter().cloned().collect();
    assert!(
        at_kill.len() < accepted.len(),
        "the kill must happen mid-delivery: {} of {} delivered",
        at_kill.len(),
        accepted.len()
    );
    all_arrive(&accepted, &received);
    drop(b);
    rt.block_on(pg.drop_schema()).unwrap();
}

/// Posts `load.tick` events from one sender per base URL (at most
/// `per_sender` each) until [`EVENTS_BEFORE_KILL`] were accepted, kills
/// `victim` with SIGKILL while they still send, and returns the ids of
/// every event accepted (202).
async fn send_then_kill(
    http: &reqwest::Client,
    bases: &[String],
    token: &str,
    per_sender: usize,
    victim: &mut common::Served,
) -> HashSet<String> {
    let accepted = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut senders = Vec::new();
    for (s, base) in bases.iter().enumerate() {
        let (http, base, token, accepted) = (
            http.clone(),
            base.clone(),
            token.to_string(),
            accepted.clone(),
        );
        senders.push(tokio::spawn(async move {
            for n in 0..per_sender {
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
        assert!(Instant::now() < deadline, "too few events accepted");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    victim.child.kill().unwrap(); // SIGKILL, while the senders are still sending
    victim.child.wait().unwrap();
    for s in senders {
        s.await.unwrap();
    }
    accepted.lock().unwrap().iter().cloned().collect()
}

/// Waits (60 s at most) until every event id in `accepted` is among the
/// `received` ones.
fn all_arrive(accepted: &HashSet<String>, received: &Mutex<Vec<String>>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got: HashSet<String> = received.lock().unwrap().iter().cloned().collect();
        let missing = accepted.difference(&got).count();
        if missing == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{missing} of {} accepted events never reached the receiver",
            accepted.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

//! Helpers shared by the tests that run the real `hookhost` binary.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub struct Served {
    pub child: Child,
    pub url: String,
    pub banner: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `hookhost serve` on a free port; its log (stderr) goes to `log`.
pub fn serve(data_dir: &Path, log: &Path) -> Served {
    serve_with(data_dir, log, &[])
}

/// [`serve`] with extra `serve` flags.
pub fn serve_with(data_dir: &Path, log: &Path, extra: &[&str]) -> Served {
    serve_with_env(data_dir, log, extra, &[])
}

/// [`serve_with`] with extra environment variables for the server.
pub fn serve_with_env(
    data_dir: &Path,
    log: &Path,
    extra: &[&str],
    envs: &[(&str, &str)],
) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hookhost"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--max-log-bytes",
            "1000",
        ])
        .args(extra)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("HOOKHOST_ADMIN_TOKEN")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start hookhost serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = String::new();
    let url = loop {
        let line = lines.next().expect("server printed its address").unwrap();
        banner.push_str(&line);
        banner.push('\n');
        if let Some(rest) = line.strip_prefix("hookhost listening on ") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    Served { child, url, banner }
}

/// The complete lines of the server log `log` once one of them satisfies
/// `found` (the server writes it in the background). Polls until then;
/// panics with the log after 10 s.
pub fn wait_for_log(log: &Path, found: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        // A line still being written is not looked at.
        let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
        if complete.lines().any(&found) {
            return complete.to_string();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the expected line never appeared in {}:\n{text}",
            log.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Waits until `cond` holds, polling every 20 ms; panics with `what` after 10 s.
pub fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !cond() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A minimal HTTP receiver on loopback answering 200 to everything; returns
/// its URL and the number of requests received.
pub fn receiver() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let (url, count, _) = recording_receiver(std::time::Duration::ZERO);
    (url, count)
}

/// Reads one HTTP/1.1 request from `stream`: the head, then as much body
/// as `Content-Length` says. Returns it as text.
pub fn read_request(stream: &mut impl std::io::Read) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n) = stream.read(&mut chunk) {
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some(head_end) = text.find("\r\n\r\n") {
            let len = text[..head_end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if buf.len() >= head_end + 4 + len {
                break;
            }
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// Like [`receiver`], also recording each request's `webhook-id` and
/// sleeping `delay` before answering.
pub fn recording_receiver(
    delay: std::time::Duration,
) -> (
    String,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    let ids = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let ids_seen = ids.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (seen, ids_seen) = (seen.clone(), ids_seen.clone());
            std::thread::spawn(move || {
                let text = read_request(&mut stream);
                if let Some(id) = text.lines().find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("webhook-id:")
                        .map(|v| v.trim().to_string())
                }) {
                    ids_seen.lock().unwrap().push(id);
                }
                std::thread::sleep(delay);
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                );
            });
        }
    });
    (url, count, ids)
}

/// The PostgreSQL of the tests: `HOOKHOST_TEST_DATABASE_URL`, else the
/// server on 127.0.0.1:5432 (database `test`) if one answers; panics
/// otherwise (run `scripts/test.sh`, which finds or starts one).
pub fn pg_url() -> String {
    if let Ok(url) = std::env::var("HOOKHOST_TEST_DATABASE_URL")
        && !url.is_empty()
    {
        return url;
    }
    let addr: std::net::SocketAddr = "127.0.0.1:5432".parse().unwrap();
    if std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2)).is_ok() {
        return "postgres://postgres@127.0.0.1:5432/test".into();
    }
    panic!("no PostgreSQL: set HOOKHOST_TEST_DATABASE_URL or run scripts/test.sh");
}

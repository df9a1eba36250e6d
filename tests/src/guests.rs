//! Builds the example and fixture components for `wasm32-wasip2` (once per
//! test process; cargo's own lock serializes concurrent test binaries) and
//! hands out their bytes.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// Crates built to components, by package name.
const PACKAGES: [&str; 9] = [
    "echo",
    "handler-v01",
    "wasi-http-echo",
    "identity-sync",
    "github-verify",
    "hostile",
    "other-world",
    "slack-transform",
    "transform-probe",
];

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|p| p.join("rust-toolchain.toml").exists())
        .expect("workspace root above the crate")
        .to_path_buf()
}

/// Path of the built component of `package` (e.g. `"identity-sync"`).
pub fn component_path(package: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let out = BUILT.get_or_init(|| {
        let root = workspace();
        // A separate target dir: the outer `cargo test` may hold the lock
        // of the main one.
        let target = root.join("target").join("guests");
        ensure_wasm_target(&root);
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(&root)
            .env("CARGO_TARGET_DIR", &target)
            .args(["build", "--release", "--target", "wasm32-wasip2"]);
        for p in PACKAGES {
            cmd.args(["-p", p]);
        }
        let status = cmd
            .status()
            .expect("run cargo to build the guest components");
        assert!(status.success(), "building the guest components failed");
        target.join("wasm32-wasip2").join("release")
    });
    out.join(format!("{}.wasm", package.replace('-', "_")))
}

/// The bytes of the built component of `package`.
pub fn component(package: &str) -> Vec<u8> {
    let path = component_path(package);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// rustup installs the targets of `rust-toolchain.toml` only together with
/// the toolchain; where the toolchain was already there, add the target.
fn ensure_wasm_target(root: &std::path::Path) {
    let installed = Command::new("rustup")
        .current_dir(root)
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("wasm32-wasip2"));
    if let Ok(false) = installed {
        let status = Command::new("rustup")
            .current_dir(root)
            .args(["target", "add", "wasm32-wasip2"])
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "rustup target add wasm32-wasip2 failed"
        );
    }
}

/// How to build each non-Rust example: `(directory under examples/, command)`.
/// Each command takes the output path as its last argument and uses only the
/// toolchains `scripts/guest-toolchains.sh` installs.
const FOREIGN: [(&str, &[&str]); 6] = [
    ("python-echo", &["./build.sh"]),
    ("python-proxy", &["./build.sh"]),
    ("python-transform", &["./build.sh"]),
    ("python-stripe", &["./build.sh"]),
    ("js-echo", &["node", "build.mjs"]),
    ("c-echo", &["./build.sh"]),
];

/// Builds the non-Rust example `name` (e.g. `"python-echo"`) with its own
/// build script, once per test process, and returns the component's bytes.
///
/// A missing toolchain fails the test: the language examples are part of
/// what hookhost promises, so they are never skipped.
pub fn example(name: &str) -> Vec<u8> {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    // Held while building: concurrent tests wanting the same example wait
    // instead of running the same build twice.
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    let path = match built.get(name) {
        Some(path) => path.clone(),
        None => {
            let path = build_example(name);
            built.insert(name.to_string(), path.clone());
            path
        }
    };
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn build_example(name: &str) -> PathBuf {
    let (_, command) = FOREIGN
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no example {name:?}"));
    let root = workspace();
    let out_dir = root.join("target").join("guests").join("examples");
    std::fs::create_dir_all(&out_dir).unwrap();
    let out = out_dir.join(format!("{name}.wasm"));
    let _ = std::fs::remove_file(&out);
    let started = std::time::Instant::now();
    let output = Command::new(command[0])
        .args(&command[1..])
        .arg(&out)
        .current_dir(root.join("examples").join(name))
        // The C build runs cargo: keep it off the lock of the outer build.
        .env("CARGO_TARGET_DIR", root.join("target").join("guests"))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `{}` for example {name}: {e}. \
                 Install the guest toolchains with scripts/guest-toolchains.sh",
                command.join(" ")
            )
        });
    assert!(
        output.status.success() && out.exists(),
        "building example {name} failed ({}). Install the guest toolchains with \
         scripts/guest-toolchains.sh.\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!(
        "built example {name} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    out
}

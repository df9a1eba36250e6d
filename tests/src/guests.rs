//! Builds the example and fixture components for `wasm32-wasip2` (once per
//! test process; cargo's own lock serializes concurrent test binaries) and
//! hands out their bytes.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// Crates built to components, by package name.
const PACKAGES: [&str; 5] = [
    "echo",
    "identity-sync",
    "github-verify",
    "hostile",
    "other-world",
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

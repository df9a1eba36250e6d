#!/usr/bin/env bash
# Handlers by language: size, compile time in the host, and instantiate+call
# latency of the four echo examples (Rust, Python, JavaScript, C), which
# answer identically. One call = fresh store and instance, as ingress does.
#   bench/languages.sh [calls-for-rust-and-c] [calls-for-python-and-js]
# Needs the guest toolchains: scripts/guest-toolchains.sh
set -euo pipefail
cd "$(dirname "$0")/.."
FAST_CALLS=${1:-20000}
SLOW_CALLS=${2:-3000}
OUT="$PWD/target/bench-languages"
mkdir -p "$OUT"

scripts/guest-toolchains.sh >/dev/null
cargo build --release -q -p hookhost-bench --bin invoke
cargo build --release -q --target wasm32-wasip2 -p echo
cp target/wasm32-wasip2/release/echo.wasm "$OUT/rust-echo.wasm"
examples/python-echo/build.sh "$OUT/python-echo.wasm" >/dev/null
(cd examples/js-echo && node build.mjs "$OUT/js-echo.wasm" >/dev/null)
examples/c-echo/build.sh "$OUT/c-echo.wasm" >/dev/null

for lang in rust c python js; do
  calls=$FAST_CALLS
  case $lang in python|js) calls=$SLOW_CALLS ;; esac
  echo "== $lang"
  target/release/invoke "$OUT/$lang-echo.wasm" "$calls" 1
done

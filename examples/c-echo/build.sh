#!/usr/bin/env bash
# Builds c-echo.wasm next to this script (or at the path given as argument).
# Needs: apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32
#        and this repository's workspace (for `hookhost-wit-c`).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
out="${1:-$here/c-echo.wasm}"
gen="${CARGO_TARGET_DIR:-$root/target}/c-echo"
mkdir -p "$gen"

# 1. C bindings for the `handler` world (what `wit-bindgen c wit` writes).
cargo run --quiet --manifest-path "$root/Cargo.toml" -p hookhost-wit-c -- bindgen "$root/wit" "$gen"

# 2. A wasm32-wasi reactor core module: no main, exports `handle`.
clang --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor \
  -Wall -Wextra -Werror -Wno-unused-parameter \
  -I "$gen" "$here/echo.c" "$gen/handler.c" "$gen/handler_component_type.o" \
  -o "$gen/c-echo.core.wasm"

# 3. The component (what `wasm-tools component new --adapt` does).
cargo run --quiet --manifest-path "$root/Cargo.toml" -p hookhost-wit-c -- component "$gen/c-echo.core.wasm" "$out"

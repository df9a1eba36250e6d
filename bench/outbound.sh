#!/usr/bin/env bash
# Outbound throughput: durable, signed deliveries from POST /v1/events to a
# loopback receiver, through the release server.
#   bench/outbound.sh [events] [posting-concurrency] [endpoints]
#   TRANSFORM=path/to/transform.wasm bench/outbound.sh ...  (every endpoint runs it)
#   BENCH_ROUTE_BY_FILTER=1 bench/outbound.sh 20000 32 100  (100 filters per event)
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${1:-20000}
CONC=${2:-32}
ENDPOINTS=${3:-16}
PORT=${PORT:-18081}
# HOOKHOST_BIN runs another server build (e.g. an older one, for before/after).
[ -n "${HOOKHOST_BIN:-}" ] || cargo build --release -p hookhost -q
cargo build --release -p hookhost-bench -q
DATA=$(mktemp -d)
RUST_LOG=warn HOOKHOST_ADMIN_TOKEN=bench-token "${HOOKHOST_BIN:-target/release/hookhost}" serve \
  --listen 127.0.0.1:$PORT --data-dir "$DATA" --outbound-allowlist 127.0.0.0/8 >/dev/null &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
if [ -n "${TRANSFORM:-}" ]; then
  curl -sf -H "Authorization: Bearer bench-token" --data-binary "@$TRANSFORM" \
    "http://127.0.0.1:$PORT/v1/modules?name=bench-transform" >/dev/null
  export BENCH_TRANSFORM=bench-transform
fi
target/release/outbound "http://127.0.0.1:$PORT" bench-token "$EVENTS" "$CONC" "$ENDPOINTS"

#!/usr/bin/env bash
# Disk use under a steady load, with and without retention, and the restart
# time after that history. For each retention setting: start a server on a
# fresh data directory, then ROUNDS times post EVENTS durable events (each
# delivered to a loopback receiver by bench/src/bin/outbound.rs) and call a
# webhook EVENTS times, and print the data directory's size after each
# round; finally stop the server and time a restart to the first answered
# webhook request (bench/src/bin/coldstart.rs).
#   bench/retention.sh [rounds] [events-per-round] [retentions...]
# e.g. bench/retention.sh 8 5000 30d 10s
# HOOKHOST_BIN / BENCH_BIN_DIR pick other builds (default: release).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-8}
EVENTS=${2:-5000}
shift $(( $# > 2 ? 2 : $# ))
RETENTIONS=("$@")
[ ${#RETENTIONS[@]} -gt 0 ] || RETENTIONS=(30d 10s)
PORT=${PORT:-18083}
BIN_DIR=${BENCH_BIN_DIR:-target/release}
if [ -z "${BENCH_BIN_DIR:-}" ]; then
  cargo build --release -p hookhost -p hookhost-bench -q
fi
cargo build --release --target wasm32-wasip2 -p echo -q
HOOKHOST=${HOOKHOST_BIN:-$BIN_DIR/hookhost}
TOKEN=bench-token

for retention in "${RETENTIONS[@]}"; do
  DATA=$(mktemp -d)
  RUST_LOG=warn HOOKHOST_ADMIN_TOKEN=$TOKEN "$HOOKHOST" serve --listen 127.0.0.1:$PORT \
    --data-dir "$DATA" --outbound-allowlist 127.0.0.0/8 --retention "$retention" >/dev/null &
  SERVER=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
  curl -sf -H "Authorization: Bearer $TOKEN" --data-binary @target/wasm32-wasip2/release/echo.wasm \
    "http://127.0.0.1:$PORT/v1/modules?name=echo" >/dev/null
  HOOK=$(curl -sf -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    -d '{"module":"echo"}' "http://127.0.0.1:$PORT/v1/webhooks" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  echo "retention=$retention"
  start=$(date +%s)
  for round in $(seq "$ROUNDS"); do
    "$BIN_DIR/outbound" "http://127.0.0.1:$PORT" $TOKEN "$EVENTS" 32 4 >/dev/null
    # The tool subscribes new endpoints (with its own receiver) each run:
    # remove this round's, so every round delivers EVENTS, not more.
    for ep in $(curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v1/endpoints?limit=1000" \
        | python3 -c 'import json,sys; print(" ".join(e["id"] for e in json.load(sys.stdin)["data"]))'); do
      curl -sf -X DELETE -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v1/endpoints/$ep" >/dev/null
    done
    for _ in $(seq $((EVENTS / 100))); do
      curl -sf -d x "http://127.0.0.1:$PORT/hooks/$HOOK" \
        "http://127.0.0.1:$PORT/hooks/$HOOK" "http://127.0.0.1:$PORT/hooks/$HOOK" >/dev/null
    done
    printf '  round %2d  t=%4ds  events so far %7d  data dir %6d KiB\n' \
      "$round" $(( $(date +%s) - start )) $(( round * EVENTS )) "$(du -sk "$DATA" | cut -f1)"
  done
  kill -TERM $SERVER; wait $SERVER 2>/dev/null || true
  printf '  restart: '
  "$BIN_DIR/coldstart" "$HOOKHOST" "$DATA" $PORT "/hooks/$HOOK"
  rm -rf "$DATA"
done

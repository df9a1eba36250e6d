#!/usr/bin/env bash
# The storage back ends side by side, in one run on this machine: durable
# signed deliveries per second end to end (bench/src/bin/outbound.rs: POST
# /v1/events -> loopback receiver) and echo ingress req/s (wrk, 64
# connections), on sled, on PostgreSQL with one node, and on PostgreSQL with
# two nodes (events posted to one, both deliver; wrk against both at once).
#   bench/backends.sh [events] [wrk-seconds]
# PostgreSQL: HOOKHOST_BENCH_DATABASE_URL, else what scripts/test-postgres.sh
# finds or starts. Needs wrk and psql. All processes share the machine's cores.
#   HOOKHOST_BIN=/path/to/hookhost bench/backends.sh ...   (another build, for
#   before/after; the bench client target/release/outbound must be built)
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${1:-20000}
SECS=${2:-8}
PG=${HOOKHOST_BENCH_DATABASE_URL:-$(scripts/test-postgres.sh | head -1)}
[ -n "${HOOKHOST_BIN:-}" ] || cargo build --release -p hookhost -p hookhost-bench -q
cargo build --release --target wasm32-wasip2 -p echo -q
BIN=${HOOKHOST_BIN:-target/release/hookhost}
WORK=$(mktemp -d)
PIDS=()
SCHEMAS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for s in "${SCHEMAS[@]}"; do psql -q "$PG" -c "DROP SCHEMA IF EXISTS $s CASCADE" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
export HOOKHOST_ADMIN_TOKEN=bench-token

# node <port> <data-dir> [serve flags...]: starts a node, waits for it.
node() {
  local port=$1 dir=$2
  shift 2
  RUST_LOG=warn $BIN serve --listen 127.0.0.1:$port --data-dir "$dir" \
    --outbound-allowlist 127.0.0.0/8 "$@" >/dev/null &
  PIDS+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return; sleep 0.1; done
  echo "node on $port did not start" >&2; exit 1
}
stop_nodes() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  PIDS=()
}
# schema <name>: sets $s to a new schema's name, dropped on exit.
schema() {
  s="hh_bench_$$_$1"
  SCHEMAS+=("$s")
}
echo_url() {
  HOOKHOST_URL=http://127.0.0.1:$1 $BIN module upload target/wasm32-wasip2/release/echo.wasm --name echo >/dev/null
  HOOKHOST_URL=http://127.0.0.1:$1 $BIN webhook create --module echo --payload '{"tenant":"acme"}' --json \
    | sed -n 's/.*"url": "\(.*\)".*/\1/p'
}
cat > "$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"id":"IDNUMBER1234","entityType":"USER","eventType":"UPDATE"}'
wrk.headers["Content-Type"] = "application/json"
LUA
outbound() {
  target/release/outbound "http://127.0.0.1:$1" bench-token "$EVENTS" 32 16 \
    | grep -E "delivered:|lag|accept:" | sed 's/^/  /'
}
ingress() { # ingress <url> [<url>]: wrk at 64 connections (split over the URLs)
  local c=$(( 64 / $# )) n=0 runs=()
  for url in "$@"; do
    n=$((n + 1))
    wrk -t2 -c$c -d"${SECS}s" --latency -s "$WORK/post.lua" "$url" > "$WORK/wrk.$n" &
    runs+=($!)
  done
  wait "${runs[@]}"
  for i in $(seq $n); do
    echo "  wrk -c$c against node $i:"
    grep -E "Requests/sec|  99%" "$WORK/wrk.$i" | sed 's/^/    /'
  done
}

echo "== sled, one node"
node 18180 "$WORK/sled1"
outbound 18180
stop_nodes
node 18180 "$WORK/sled2"
ingress "$(echo_url 18180)"
stop_nodes

echo "== PostgreSQL, one node"
schema one
node 18180 "$WORK/pg1" --database-url "$PG" --database-schema "$s"
outbound 18180
stop_nodes
schema one_ingress
node 18180 "$WORK/pg1i" --database-url "$PG" --database-schema "$s"
ingress "$(echo_url 18180)"
stop_nodes

echo "== PostgreSQL, two nodes"
schema two
node 18180 "$WORK/pgA" --database-url "$PG" --database-schema "$s"
node 18181 "$WORK/pgB" --database-url "$PG" --database-schema "$s"
outbound 18180
stop_nodes
schema two_ingress
node 18180 "$WORK/pgAi" --database-url "$PG" --database-schema "$s"
node 18181 "$WORK/pgBi" --database-url "$PG" --database-schema "$s"
url=$(echo_url 18180)
# The webhook reaches the second node through LISTEN/NOTIFY.
for _ in $(seq 100); do curl -sf -X POST -d '{}' "${url/18180/18181}" >/dev/null && break; sleep 0.05; done
ingress "$url" "${url/18180/18181}"
stop_nodes

#!/usr/bin/env bash
# Machine CPU per delivered event on one PostgreSQL node: runs the outbound
# bench (POST /v1/events -> loopback receiver, 16 endpoints) against one
# node and prints its figures and the machine's busy CPU time (all
# processes, from /proc/stat) divided by the events. Steadier than rates on
# a VM whose speed varies; compare builds by alternating them.
#   HOOKHOST_BIN=/path/to/hookhost bench/cpu-per-event.sh [events]
# PostgreSQL: HOOKHOST_BENCH_DATABASE_URL, else what scripts/test-postgres.sh
# finds or starts. Needs psql; target/release/outbound must be built
# (cargo build --release -p hookhost-bench).
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${1:-20000}
BIN=${HOOKHOST_BIN:-target/release/hookhost}
PG=${HOOKHOST_BENCH_DATABASE_URL:-$(scripts/test-postgres.sh | head -1)}
S=hh_cpu_$$
DATA=$(mktemp -d)
PORT=${PORT:-18181}
export HOOKHOST_ADMIN_TOKEN=bench-token
RUST_LOG=warn $BIN serve --listen 127.0.0.1:$PORT --data-dir "$DATA" --database-url "$PG" \
  --database-schema $S --outbound-allowlist 127.0.0.0/8 >/dev/null 2>&1 &
P=$!
trap 'kill $P 2>/dev/null; psql -q "$PG" -c "DROP SCHEMA IF EXISTS $S CASCADE" >/dev/null 2>&1; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat; }
b0=$(busy)
target/release/outbound "http://127.0.0.1:$PORT" bench-token "$EVENTS" 32 16 | grep -E "accept:|delivered:|lag"
b1=$(busy)
# /proc/stat counts in 1/100 s.
echo "busy CPU per event: $(( (b1 - b0) * 10000 / EVENTS )) µs"

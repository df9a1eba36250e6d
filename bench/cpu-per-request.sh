#!/usr/bin/env bash
# Ingress with the echo handler, and the server's own CPU time per request
# (utime + stime of the server process over the run / requests served):
# steadier than requests/s on a VM whose speed varies, and blind to what wrk
# itself costs. Optionally records a DWARF call-graph profile of the server.
#   bench/cpu-per-request.sh <hookhost-binary> <seconds> <connections> [perf.data]
# Needs wrk (apt install wrk) and the echo component
# (cargo build --release --target wasm32-wasip2 -p echo); perf for a profile.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$1; D=$2; C=$3; OUT=${4:-}
PORT=${PORT:-18090}
DATA=$(mktemp -d)
export HOOKHOST_ADMIN_TOKEN=bench-token HOOKHOST_URL=http://127.0.0.1:$PORT
RUST_LOG=warn $BIN serve --listen 127.0.0.1:$PORT --data-dir "$DATA" >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 50); do curl -sf "$HOOKHOST_URL/healthz" >/dev/null && break; sleep 0.1; done
$BIN module upload target/wasm32-wasip2/release/echo.wasm --name echo >/dev/null
URL=$($BIN webhook create --module echo --payload '{"tenant":"acme"}' --json | sed -n 's/.*"url": "\(.*\)".*/\1/p')
cat > "$DATA/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"id":"IDNUMBER1234","entityType":"USER","eventType":"UPDATE"}'
wrk.headers["Content-Type"] = "application/json"
LUA
curl -sf -X POST -d '{}' "$URL" >/dev/null
wrk -t2 -c$C -d2s -s "$DATA/post.lua" "$URL" >/dev/null
if [ -n "$OUT" ]; then
  perf record -F 1500 --call-graph dwarf,8192 -p $SERVER -o $OUT -- sleep $D >/dev/null 2>&1 &
  PERF=$!
fi
cpu() { awk '{print $14+$15}' /proc/$SERVER/stat; }
c0=$(cpu)
wrk -t2 -c$C -d${D}s --latency -s "$DATA/post.lua" "$URL" > $DATA/wrk.out
c1=$(cpu)
grep -E "Requests/sec|  50%|  99%|Non-2xx" $DATA/wrk.out | tr '\n' ' '
req=$(awk '/requests in/ {print $1}' $DATA/wrk.out)
awk -v a=$c0 -v b=$c1 -v r=$req 'BEGIN {printf " server CPU/request: %.1f us\n", (b-a)*10000/r}'
[ -n "$OUT" ] && wait $PERF || true

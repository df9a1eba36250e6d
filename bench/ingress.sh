#!/usr/bin/env bash
# Ingress throughput: wrk against the echo handler through the release server.
#   bench/ingress.sh [duration-seconds] [connections...]
#   HOOKHOST_BIN=/path/to/hookhost bench/ingress.sh ...   (another build)
#   COMPONENT=path.wasm bench/ingress.sh ...   (another handler, e.g. the
#   wasi:http/proxy echo bench/wasi-http-echo, instead of examples/echo)
# Needs wrk (apt install wrk). Server and wrk share the machine's cores.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
shift || true
CONNS=${*:-"1 8 64"}
PORT=${PORT:-18080}

# HOOKHOST_BIN runs another build (e.g. an older one, for before/after).
[ -n "${HOOKHOST_BIN:-}" ] || cargo build --release -p hookhost -q
cargo build --release --target wasm32-wasip2 -p echo -q
BIN=${HOOKHOST_BIN:-target/release/hookhost}
DATA=$(mktemp -d)
export HOOKHOST_ADMIN_TOKEN=bench-token HOOKHOST_URL=http://127.0.0.1:$PORT
RUST_LOG=warn $BIN serve --listen 127.0.0.1:$PORT --data-dir "$DATA" >/dev/null &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 50); do curl -sf "$HOOKHOST_URL/healthz" >/dev/null && break; sleep 0.1; done

$BIN module upload "${COMPONENT:-target/wasm32-wasip2/release/echo.wasm}" --name echo >/dev/null
URL=$($BIN webhook create --module echo --payload '{"tenant":"acme"}' --json | sed -n 's/.*"url": "\(.*\)".*/\1/p')

cat > "$DATA/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"id":"IDNUMBER1234","entityType":"USER","eventType":"UPDATE"}'
wrk.headers["Content-Type"] = "application/json"
LUA
curl -sf -X POST -d '{}' "$URL" >/dev/null   # warm up
for c in $CONNS; do
  t=$(( c < 2 ? 1 : 2 ))
  echo "== wrk -t$t -c$c -d${DURATION}s --latency (POST small JSON to echo)"
  wrk -t"$t" -c"$c" -d"${DURATION}s" --latency -s "$DATA/post.lua" "$URL" \
    | grep -E "Requests/sec|Latency |  50%|  90%|  99%|Non-2xx|Socket errors"
done
echo "RSS of the server after the run: $(ps -o rss= -p $SERVER | tr -d ' ') KiB"

#!/usr/bin/env bash
# Cost of inbound signature verification: wrk against the echo handler with
# and without `verify: {"scheme": "github"}` (HMAC-SHA256 over the body,
# checked in constant time before the handler runs), same body, release
# server. Needs wrk (apt install wrk).
#   bench/verify.sh [duration-seconds] [connections...]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-8}
shift || true
CONNS=${*:-"8 64"}
PORT=${PORT:-18084}
[ -n "${HOOKHOST_BIN:-}" ] || cargo build --release -p hookhost -q
cargo build --release --target wasm32-wasip2 -p echo -q
BIN=${HOOKHOST_BIN:-target/release/hookhost}
DATA=$(mktemp -d)
export HOOKHOST_ADMIN_TOKEN=bench-token HOOKHOST_URL=http://127.0.0.1:$PORT
RUST_LOG=warn $BIN serve --listen 127.0.0.1:$PORT --data-dir "$DATA" >/dev/null &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 50); do curl -sf "$HOOKHOST_URL/healthz" >/dev/null && break; sleep 0.1; done
$BIN module upload target/wasm32-wasip2/release/echo.wasm --name echo >/dev/null
SECRET="It's a Secret to Everybody"
BODY='{"action":"opened","number":42,"repository":{"full_name":"acme/app"}}'
SIG="sha256=$(printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SECRET" | sed 's/^.* //')"
plain=$($BIN webhook create --module echo --json | sed -n 's/.*"url": "\(.*\)".*/\1/p')
verified=$($BIN webhook create --module echo --verify "{\"scheme\":\"github\",\"secret\":\"$SECRET\"}" --json \
  | sed -n 's/.*"url": "\(.*\)".*/\1/p')
cat > "$DATA/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Hub-Signature-256"] = "$SIG"
LUA
for url in "$plain" "$verified"; do
  status=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "X-Hub-Signature-256: $SIG" -d "$BODY" "$url")
  [ "$status" = 200 ] || { echo "warm-up of $url answered $status" >&2; exit 1; }
done
for c in $CONNS; do
  for which in plain verified; do
    url=$plain; [ $which = verified ] && url=$verified
    echo "== $which: wrk -t2 -c$c -d${DURATION}s --latency"
    wrk -t2 -c"$c" -d"${DURATION}s" --latency -s "$DATA/post.lua" "$url" | grep -E "Requests/sec|  99%|Non-2xx"
  done
done

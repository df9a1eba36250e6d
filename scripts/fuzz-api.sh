#!/usr/bin/env bash
# Schema-driven fuzzing of the admin API: schemathesis (pinned) generates
# requests from GET /v1/openapi.json against a live server on loopback and
# fails on any 5xx, any response that violates the document's own schemas,
# status codes or content types. Bounded: a few thousand requests, seconds.
#   scripts/fuzz-api.sh [max-examples-per-operation]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
EXAMPLES=${1:-25}
SCHEMATHESIS=4.32.5

if [ "$(st --version 2>/dev/null)" != "st, version $SCHEMATHESIS" ]; then
  python3 -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS"
  if command -v pyenv >/dev/null; then pyenv rehash; fi
fi

cargo build --quiet -p hookhost
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RUST_LOG=warn HOOKHOST_ADMIN_TOKEN=fuzz-token "${CARGO_TARGET_DIR:-$root/target}/debug/hookhost" serve \
  --listen 127.0.0.1:$port --data-dir "$data" --outbound-allowlist 127.0.0.0/8 \
  --delivery-timeout-ms 2000 >"$data/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

st run "http://127.0.0.1:$port/v1/openapi.json" \
  -H "Authorization: Bearer fuzz-token" \
  --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
  --max-examples "$EXAMPLES" --seed 20261123 --request-timeout 10 \
  || { echo "--- server log"; tail -50 "$data/server.log"; exit 1; }
kill -0 $server || { echo "the server died during fuzzing"; tail -50 "$data/server.log"; exit 1; }

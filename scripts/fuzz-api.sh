#!/usr/bin/env bash
# Schema-driven fuzzing of the admin API: schemathesis (pinned) generates
# requests from GET /v1/openapi.json against a live server on loopback and
# runs every check (`--checks all`): no 5xx, responses that match the
# document's schemas, status codes, content types and headers, schema-valid
# requests accepted and schema-invalid ones rejected, the token enforced,
# created resources readable and deleted ones gone. Bounded: seconds.
#   scripts/fuzz-api.sh [max-examples-per-operation]
# The seed changes per run and is printed first; replay a failure with
#   FUZZ_SEED=<seed> scripts/fuzz-api.sh [max-examples]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
EXAMPLES=${1:-25}
SCHEMATHESIS=4.32.5
seed=${FUZZ_SEED:-$RANDOM$RANDOM}
echo "fuzz seed: $seed (replay with FUZZ_SEED=$seed scripts/fuzz-api.sh $EXAMPLES)"

if [ "$(st --version 2>/dev/null)" != "st, version $SCHEMATHESIS" ]; then
  python3 -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS"
  if command -v pyenv >/dev/null; then pyenv rehash; fi
fi

cargo build --quiet -p hookhost
data=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
# Which addresses deliveries may reach is deployment policy, not the shape of
# a request: the document cannot say which host names resolve to private
# addresses. So every address is allowed here, and every delivery goes to a
# proxy port nothing listens on: attempts fail at once, and nothing leaves
# the machine. (tests/tests/outbound.rs tests the address guard.)
RUST_LOG=warn HOOKHOST_ADMIN_TOKEN=fuzz-token "${CARGO_TARGET_DIR:-$root/target}/debug/hookhost" serve \
  --listen 127.0.0.1:$port --data-dir "$data" \
  --outbound-allowlist 0.0.0.0/0,::/0 --outbound-proxy "http://127.0.0.1:$(free_port)" \
  --delivery-timeout-ms 2000 >"$data/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

# POST /v1/modules takes a WebAssembly component of the hookhost:handler
# world: no schema can say which byte strings are one, so the schema-valid
# bytes schemathesis makes up are refused with 400 (`not_wasm`, ...). For
# that operation alone, 400 counts as an acceptable answer to positive data;
# every other check still applies to it, and every check to the rest.
# Likewise, three operations take values whose validity no schema can state:
# an event type's JSON Schema (which objects are JSON Schemas, only a
# validator knows), a portal link's TTL (a duration of 1 minute to 30 days)
# and a token's expiry (a time in the future). 400 is acceptable there too.
# And an event is checked against the schema the fuzzer may have put in the
# workspace's catalogue for its type: 422 is acceptable for POST /v1/events.
cat >"$data/schemathesis.toml" <<'TOML'
[[operations]]
include-name = "POST /v1/modules"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]

[[operations]]
include-name = "POST /v1/event-types"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]

[[operations]]
include-name = "POST /v1/events"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "422", "429", "5xx"]

[[operations]]
include-name = "POST /v1/workspaces/{id}/portal"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]

[[operations]]
include-name = "POST /v1/workspaces/{id}/tokens"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]
TOML

st --config-file "$data/schemathesis.toml" run "http://127.0.0.1:$port/v1/openapi.json" \
  -H "Authorization: Bearer fuzz-token" \
  --checks all \
  --max-examples "$EXAMPLES" --seed "$seed" --request-timeout 10 \
  || { echo "--- server log"; tail -50 "$data/server.log"; echo "fuzz seed: $seed"; exit 1; }
kill -0 $server || { echo "the server died during fuzzing"; tail -50 "$data/server.log"; exit 1; }

#!/usr/bin/env bash
# The benchmark suite, side by side, in one run on this machine:
#   1. ingress: hookhost vs `wasmtime serve` vs a native axum echo, wrk sweep
#   2. outbound: durable signed deliveries/s, accept latency, lag
#   3. cold start with 100 webhooks over 10 cached modules; first request
#      after uploading a new module
#   4. memory: server RSS idle and under the ingress load
# and appends the figures, with date, machine, versions and commands, to
# bench/RESULTS.md.
#
#   bench/compare.sh [--duration S] [--conns "1 8 64"] [--rounds N] [--no-write]
#   bench/compare.sh --smoke      # ~10 s of load in all, nothing written
#
# Peers are built from registries only, under target/ (never committed):
# `wasmtime-cli` 48.0.8 (the host's wasmtime version) by `cargo install`
# into target/peers (about 11 minutes the first time), and
# bench/wasi-http-echo, the echo as a wasi:http component. Needs wrk
# (apt install wrk). A benchmark, not a test: nothing here asserts a time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DURATION=10
CONNS="1 8 64"
ROUNDS=2
WRITE=1
OUTBOUND_EVENTS=20000
while [ $# -gt 0 ]; do
  case $1 in
    --duration) DURATION=$2; shift ;;
    --conns) CONNS=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --no-write) WRITE=0 ;;
    --smoke) DURATION=1; CONNS="8"; ROUNDS=1; WRITE=0; OUTBOUND_EVENTS=1000 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
say() { printf '\n[compare] %s\n' "$*" >&2; }

# --- build -------------------------------------------------------------------
say "building (release)"
cargo build --release -q -p hookhost -p hookhost-bench
cargo build --release -q --target wasm32-wasip2 -p echo -p wasi-http-echo
WASMTIME=$ROOT/target/peers/bin/wasmtime
if ! "$WASMTIME" --version 2>/dev/null | grep -q '^wasmtime 48.0.8'; then
  say "installing wasmtime-cli 48.0.8 into target/peers (about 11 minutes, once)"
  cargo install -q wasmtime-cli@48.0.8 --locked --root target/peers --target-dir target/peers-build
fi
BIN=$ROOT/target/release/hookhost
ECHO_WASM=$ROOT/target/wasm32-wasip2/release/echo.wasm
HTTP_WASM=$ROOT/target/wasm32-wasip2/release/wasi_http_echo.wasm

WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
wait_http() { for _ in $(seq 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done; echo "no answer from $1" >&2; exit 1; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.0f", k / 1024}'; }

export HOOKHOST_ADMIN_TOKEN=bench-token
HH_PORT=18180; NATIVE_PORT=18181; WT_PORT=18182; OUT_PORT=18183; COLD_PORT=18184

# --- 3 (setup). Data dir with 10 modules and 100 webhooks ---------------------
# Ten distinct modules: the echo component with a different custom section
# appended each time, so each has its own hash and compiled artifact.
say "preparing 10 modules, 100 webhooks"
DATA=$WORK/data
RUST_LOG=warn "$BIN" serve --listen 127.0.0.1:$HH_PORT --data-dir "$DATA" >/dev/null 2>&1 &
HH=$!; PIDS+=($HH)
wait_http "http://127.0.0.1:$HH_PORT/healthz"
export HOOKHOST_URL=http://127.0.0.1:$HH_PORT
variant() { # <n> <out>: echo.wasm + custom section "bench-variant" = n
  python3 - "$ECHO_WASM" "$1" "$2" <<'PY'
import sys
def leb(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n: return bytes(out)
src, n, dst = sys.argv[1], sys.argv[2], sys.argv[3]
name = b"bench-variant"
payload = leb(len(name)) + name + n.encode()
open(dst, "wb").write(open(src, "rb").read() + b"\x00" + leb(len(payload)) + payload)
PY
}
FIRST_HOOK=""
for m in $(seq 1 10); do
  variant "$m" "$WORK/echo-$m.wasm"
  "$BIN" module upload "$WORK/echo-$m.wasm" --name "echo-$m" >/dev/null
  for w in $(seq 1 10); do
    url=$("$BIN" webhook create --module "echo-$m" --payload '{"tenant":"acme"}' --json \
      | sed -n 's/.*"url": "\(.*\)".*/\1/p')
    [ -n "$FIRST_HOOK" ] || FIRST_HOOK=$url
  done
done
HOOK_PATH=${FIRST_HOOK#http://127.0.0.1:$HH_PORT}
sleep 1
IDLE_RSS=$(rss_kib $HH)
kill $HH; wait $HH 2>/dev/null || true

# --- 3. Cold start on the data dir (100 webhooks, 10 cached modules) -------------
coldstart() {
  for _ in 1 2 3; do
    "$ROOT/target/release/coldstart" "$BIN" "$DATA" $COLD_PORT "$HOOK_PATH" | sed 's/first_request_ms=//'
  done | paste -sd/ | sed 's|/| / |g'
}
say "cold start, fresh data dir"
COLD_FRESH=$(coldstart)
RUST_LOG=warn "$BIN" serve --listen 127.0.0.1:$HH_PORT --data-dir "$DATA" >/dev/null 2>&1 &
HH=$!; PIDS+=($HH)
wait_http "http://127.0.0.1:$HH_PORT/healthz"

# --- 1. Ingress sweep ----------------------------------------------------------
say "starting the peers"
RUST_LOG=warn "$ROOT/target/release/native_echo" 127.0.0.1:$NATIVE_PORT >/dev/null 2>&1 &
NATIVE=$!; PIDS+=($NATIVE)
"$WASMTIME" serve -S cli=y -O pooling-allocator --addr 127.0.0.1:$WT_PORT "$HTTP_WASM" >/dev/null 2>&1 &
WT=$!; PIDS+=($WT)
wait_http "http://127.0.0.1:$NATIVE_PORT/hooks/x"
wait_http "http://127.0.0.1:$WT_PORT/hooks/x"

cat > "$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"id":"IDNUMBER1234","entityType":"USER","eventType":"UPDATE"}'
wrk.headers["Content-Type"] = "application/json"
LUA
declare -A URL=(
  [hookhost]="http://127.0.0.1:$HH_PORT$HOOK_PATH"
  [wasmtime]="http://127.0.0.1:$WT_PORT/hooks/wh_bench"
  [native]="http://127.0.0.1:$NATIVE_PORT/hooks/wh_bench"
)
PEERS="hookhost wasmtime native"
for p in $PEERS; do # the same answer from all three, or the comparison is void
  curl -sf -X POST -d '{"warm":1}' "${URL[$p]}" >"$WORK/answer-$p.json"
done
python3 - "$WORK"/answer-{hookhost,wasmtime,native}.json <<'PY'
import json, sys
answers = [json.load(open(f)) for f in sys.argv[1:]]
if any(a != answers[0] for a in answers):
    sys.exit(f"the peers answer differently: {answers}")
PY

# wrk's figures -> "req/s p50 p90 p99" (latencies in ms)
parse_wrk() {
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /^ +50%/ { p50 = ms($2) } /^ +90%/ { p90 = ms($2) } /^ +99%/ { p99 = ms($2) }
    /^Requests\/sec/ { rps = $2 }
    /Non-2xx/ { bad = $4 }
    END { printf "%.0f %.2f %.2f %.2f %d\n", rps, p50, p90, p99, bad }'
}
declare -A BEST
SERVED=0
for c in $CONNS; do
  t=$(( c < 2 ? 1 : 2 ))
  for r in $(seq 1 "$ROUNDS"); do
    for p in $PEERS; do  # alternating peers, same generator and settings
      say "wrk -t$t -c$c -d${DURATION}s $p (round $r)"
      line=$(wrk -t"$t" -c"$c" -d"${DURATION}s" --latency -s "$WORK/post.lua" "${URL[$p]}" | parse_wrk)
      echo "$p c=$c round=$r: $line" >&2
      if [ "$p" = hookhost ]; then SERVED=$(( SERVED + ${line%% *} * DURATION )); fi
      # keep the round with the best throughput for each peer
      prev=${BEST[$p,$c]:-0 0 0 0 0}
      if [ "${line%% *}" -gt "${prev%% *}" ]; then BEST[$p,$c]=$line; fi
    done
  done
done
LOAD_HWM=$(hwm_kib $HH)
WT_HWM=$(hwm_kib $WT)
NATIVE_HWM=$(hwm_kib $NATIVE)
kill $NATIVE $WT 2>/dev/null || true

# --- 3. First request after uploading a new module -------------------------------
variant 11 "$WORK/echo-new.wasm"
UPLOAD_S=$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Bearer bench-token" \
  --data-binary @"$WORK/echo-new.wasm" "http://127.0.0.1:$HH_PORT/v1/modules?name=echo-new")
NEW_URL=$("$BIN" webhook create --module echo-new --json | sed -n 's/.*"url": "\(.*\)".*/\1/p')
FIRST_S=$(curl -s -o /dev/null -w '%{time_total}' -X POST -d first "$NEW_URL")
SECOND_S=$(curl -s -o /dev/null -w '%{time_total}' -X POST -d second "$NEW_URL")
kill $HH; wait $HH 2>/dev/null || true

say "cold start, after the ingress sweep"
COLD_LOADED=$(coldstart)

# --- 2. Outbound ------------------------------------------------------------------
say "outbound: $OUTBOUND_EVENTS events"
RUST_LOG=warn "$BIN" serve --listen 127.0.0.1:$OUT_PORT --data-dir "$WORK/out" \
  --outbound-allowlist 127.0.0.0/8 >/dev/null 2>&1 &
OUT=$!; PIDS+=($OUT)
wait_http "http://127.0.0.1:$OUT_PORT/healthz"
OUTBOUND=$("$ROOT/target/release/outbound" "http://127.0.0.1:$OUT_PORT" bench-token "$OUTBOUND_EVENTS" 32 16)
kill $OUT 2>/dev/null || true

# --- report --------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
{
  echo
  echo "## $(date -u +%Y-%m-%d) — side by side (\`bench/compare.sh\`)"
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r)."
  echo "Versions: $(rustc --version), hookhost $(git rev-parse --short HEAD) (wasmtime 48.0.8), $("$WASMTIME" --version), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)."
  echo
  echo '```'
  echo "bench/compare.sh --duration $DURATION --conns \"$CONNS\" --rounds $ROUNDS"
  echo '```'
  echo
  echo "### Ingress: POST of a 64-byte JSON body, echo handler"
  echo
  echo "hookhost runs the \`echo\` component (10 modules, 100 webhooks registered),"
  echo "\`wasmtime serve -S cli=y -O pooling-allocator\` runs \`bench/wasi-http-echo\`"
  echo "(the same work as a \`wasi:http\` component), \`native\` is \`bench/src/bin/native_echo.rs\`"
  echo "(axum, no sandbox). All three return the same JSON. Peers alternate under the"
  echo "same wrk settings; best of $ROUNDS rounds of ${DURATION} s each. wrk shares the $(nproc) cores."
  echo
  echo "| connections | peer | req/s | p50 ms | p90 ms | p99 ms | non-2xx |"
  echo "|---|---|---|---|---|---|---|"
  for c in $CONNS; do
    for p in $PEERS; do
      read -r rps p50 p90 p99 bad <<<"${BEST[$p,$c]}"
      echo "| $c | $p | $rps | $p50 | $p90 | $p99 | $bad |"
    done
  done
  echo
  echo "| connections | hookhost / wasmtime serve | hookhost / native |"
  echo "|---|---|---|"
  for c in $CONNS; do
    h=${BEST[hookhost,$c]%% *}; w=${BEST[wasmtime,$c]%% *}; n=${BEST[native,$c]%% *}
    echo "| $c | $(ratio "$h" "$w") | $(ratio "$h" "$n") |"
  done
  echo
  echo "### Outbound"
  echo
  echo '```'
  echo "$OUTBOUND"
  echo '```'
  echo
  echo "### Start-up and new modules"
  echo
  echo "| measurement | value |"
  echo "|---|---|"
  echo "| process start → first webhook answered: 100 webhooks, 10 cached modules, fresh data dir (3 runs) | $COLD_FRESH ms |"
  echo "| the same after the ingress sweep: 101 webhooks, 11 modules, ~$(( SERVED / 1000 ))k invocations logged, 1,000 kept per webhook (3 runs) | $COLD_LOADED ms |"
  echo "| upload of a new module (validate + compile + store) | $(awk -v s="$UPLOAD_S" 'BEGIN {printf "%.1f", s*1000}') ms |"
  echo "| first request to it / second request | $(awk -v s="$FIRST_S" 'BEGIN {printf "%.2f", s*1000}') / $(awk -v s="$SECOND_S" 'BEGIN {printf "%.2f", s*1000}') ms |"
  echo
  echo "### Memory (resident)"
  echo
  echo "| process | idle | peak under the ingress sweep |"
  echo "|---|---|---|"
  echo "| hookhost (100 webhooks, 10 modules) | $(mib "$IDLE_RSS") MiB | $(mib "$LOAD_HWM") MiB |"
  echo "| wasmtime serve | - | $(mib "$WT_HWM") MiB |"
  echo "| native axum echo | - | $(mib "$NATIVE_HWM") MiB |"
} > "$WORK/report.md"

cat "$WORK/report.md"
if [ "$WRITE" = 1 ]; then
  cat "$WORK/report.md" >> bench/RESULTS.md
  say "appended to bench/RESULTS.md"
fi

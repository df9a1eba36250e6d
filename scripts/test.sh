#!/usr/bin/env bash
# Runs every test: installs the pinned guest toolchains the Python,
# JavaScript and C examples build with (skipped when already there), finds
# (or starts) the PostgreSQL the storage tests run against, then
# `cargo test --workspace`, then the end-to-end API suites again on
# PostgreSQL. Extra arguments go to both cargo test runs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/guest-toolchains.sh"
pg="$("$root/scripts/test-postgres.sh")"
HOOKHOST_TEST_DATABASE_URL="$(echo "$pg" | head -1)"
export HOOKHOST_TEST_DATABASE_URL
echo "PostgreSQL for the tests: $HOOKHOST_TEST_DATABASE_URL" >&2
cd "$root"
cargo test --workspace "$@"
# The API, inbound, outbound, sandbox, trust, workspace, portal and dashboard
# suites once more with every server on PostgreSQL (a schema per server): each feature works
# the same on both back ends. (Suites that restart a server on the same
# data directory run on sled only; tests/tests/nodes.rs and
# host/tests/crash.rs cover restarts and several nodes on PostgreSQL.)
HOOKHOST_TEST_BACKEND=postgres cargo test -p hookhost-tests \
    --test admin --test inbound --test ops --test outbound --test sandbox \
    --test trust --test ui --test verify --test workspaces --test portal --test transforms --test replay \
    --test handler_io --test wasi_http "$@"

#!/usr/bin/env bash
# Runs every test: installs the pinned guest toolchains the Python,
# JavaScript and C examples build with (skipped when already there), finds
# (or starts) the PostgreSQL the storage tests run against, then
# `cargo test --workspace`. Extra arguments go to cargo test.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/guest-toolchains.sh"
pg="$("$root/scripts/test-postgres.sh")"
HOOKHOST_TEST_DATABASE_URL="$(echo "$pg" | head -1)"
export HOOKHOST_TEST_DATABASE_URL
echo "PostgreSQL for the tests: $HOOKHOST_TEST_DATABASE_URL" >&2
cd "$root"
exec cargo test --workspace "$@"

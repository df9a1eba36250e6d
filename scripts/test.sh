#!/usr/bin/env bash
# Runs every test: installs the pinned guest toolchains the Python,
# JavaScript and C examples build with (skipped when already there), then
# `cargo test --workspace`. Extra arguments go to cargo test.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/guest-toolchains.sh"
cd "$root"
exec cargo test --workspace "$@"

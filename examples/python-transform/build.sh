#!/usr/bin/env bash
# Builds python-transform.wasm next to this script.
# Needs: pip install componentize-py==0.25.1
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/python-transform.wasm}"
cd "$here"
componentize-py -d ../../wit/transformer -w transformer componentize app -o "$out"

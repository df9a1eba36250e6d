#!/usr/bin/env bash
# Builds python-stripe.wasm next to this script (or at the path given as argument).
# Needs: pip install componentize-py==0.25.1
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/python-stripe.wasm}"
cd "$here"
componentize-py -d ../../wit -w handler componentize app -o "$out"

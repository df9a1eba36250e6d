#!/usr/bin/env bash
# Builds python-proxy.wasm next to this script.
# Needs: pip install componentize-py==0.25.1
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/python-proxy.wasm}"
cd "$here"
componentize-py -d wit -w proxy-handler componentize app -o "$out"

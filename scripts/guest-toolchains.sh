#!/usr/bin/env bash
# Installs the toolchains the tests need beyond Rust, at pinned versions,
# skipping whatever is already installed (a second run takes a second):
# those the non-Rust handler examples build with, and the browser the
# dashboard test drives. Used by scripts/test.sh and CI; run it by hand
# before building the Python, JavaScript or C examples.
#
#   Python      componentize-py 0.25.1           (PyPI)
#   Ed25519     cryptography 48.0.0 (PyPI): tests/scripts/verify_ed25519.py checks
#               hookhost's `standard-ed25519` signatures with it, independently
#   JavaScript  @bytecodealliance/componentize-js 0.23.0 (+ preview2-shim 0.25.0), locked in
#               examples/js-echo/package-lock.json (npm)
#   C           clang, lld, wasi-libc, libclang-rt-14-dev-wasm32 (Debian);
#               bindings and componentizing by tools/wit-c (this workspace)
#   Dashboard   chromium (Debian) + playwright-core 1.64.1, locked in
#               tests/ui/package-lock.json (npm)
#   Signers     the providers' own signing libraries tests/tests/verify.rs signs
#               inbound requests with: stripe 23.1.0 + @octokit/webhooks-methods
#               6.0.0, locked in tests/signers/package-lock.json (npm), and
#               standardwebhooks 1.1.0 (PyPI)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

COMPONENTIZE_PY=0.25.1
CRYPTOGRAPHY=48.0.0
COMPONENTIZE_JS=0.23.0  # these two must match examples/js-echo/package.json
PREVIEW2_SHIM=0.25.0
APT_PACKAGES=(clang lld wasi-libc libclang-rt-14-dev-wasm32 chromium)
PLAYWRIGHT=1.64.1  # must match tests/ui/package.json
STRIPE=23.1.0  # these two must match tests/signers/package.json
OCTOKIT_WEBHOOKS_METHODS=6.0.0
STANDARDWEBHOOKS_PY=1.1.0

say() { printf '[guest-toolchains] %s\n' "$*"; }

# --- Python -----------------------------------------------------------------
if [ "$(componentize-py --version 2>/dev/null)" != "componentize-py $COMPONENTIZE_PY" ]; then
  say "pip install componentize-py==$COMPONENTIZE_PY"
  python3 -m pip install --quiet --disable-pip-version-check "componentize-py==$COMPONENTIZE_PY"
  # pyenv installs console scripts as shims that must be regenerated.
  if command -v pyenv >/dev/null; then pyenv rehash; fi
fi
componentize-py --version
if [ "$(python3 -c 'import cryptography; print(cryptography.__version__)' 2>/dev/null)" != "$CRYPTOGRAPHY" ]; then
  say "pip install cryptography==$CRYPTOGRAPHY"
  python3 -m pip install --quiet --disable-pip-version-check "cryptography==$CRYPTOGRAPHY"
fi
python3 -c 'import cryptography; print("cryptography", cryptography.__version__)'

# --- JavaScript ---------------------------------------------------------------
js="$root/examples/js-echo"
version_of() { node -p "require('$js/node_modules/$1/package.json').version" 2>/dev/null || true; }
if [ "$(version_of @bytecodealliance/componentize-js)" != "$COMPONENTIZE_JS" ] \
  || [ "$(version_of @bytecodealliance/preview2-shim)" != "$PREVIEW2_SHIM" ]; then
  # `npm install`, not `npm ci`: npm 11 leaves other platforms' optional
  # native bindings out of the lockfile and `npm ci` then refuses it. With
  # the lockfile present, `npm install` installs exactly the locked versions.
  say "npm install in examples/js-echo (locked versions)"
  (cd "$js" && npm install --no-audit --no-fund --loglevel=error)
fi
node -p "'componentize-js ' + require('$js/node_modules/@bytecodealliance/componentize-js/package.json').version"

# --- Dashboard test (playwright-core drives Debian's chromium) -----------------
ui="$root/tests/ui"
if [ "$(node -p "require('$ui/node_modules/playwright-core/package.json').version" 2>/dev/null || true)" != "$PLAYWRIGHT" ]; then
  say "npm install in tests/ui (locked versions)"
  (cd "$ui" && npm install --no-audit --no-fund --loglevel=error)
fi

# --- Inbound verification test (the providers' own signing libraries) ----------
signers="$root/tests/signers"
signer_version() { node -p "require('$signers/node_modules/$1/package.json').version" 2>/dev/null || true; }
if [ "$(signer_version stripe)" != "$STRIPE" ] \
  || [ "$(signer_version @octokit/webhooks-methods)" != "$OCTOKIT_WEBHOOKS_METHODS" ]; then
  say "npm install in tests/signers (locked versions)"
  (cd "$signers" && npm install --no-audit --no-fund --loglevel=error)
fi
if [ "$(python3 -c 'import importlib.metadata as m; print(m.version("standardwebhooks"))' 2>/dev/null || true)" != "$STANDARDWEBHOOKS_PY" ]; then
  say "pip install standardwebhooks==$STANDARDWEBHOOKS_PY"
  python3 -m pip install --quiet --disable-pip-version-check "standardwebhooks==$STANDARDWEBHOOKS_PY"
fi

# --- C and the browser (Debian packages) ----------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  say "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null \
    || { $sudo apt-get update >/dev/null && $sudo apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
fi
clang --version | head -1
chromium --version
test -f /usr/lib/wasm32-wasi/libc.a || { say "wasi-libc is missing /usr/lib/wasm32-wasi/libc.a"; exit 1; }

#!/usr/bin/env bash
# CI: what the browser tests (tests/browser) need — Debian's Chromium (driven by
# Playwright through executable_path; Playwright's own browser download is not
# used) and axe-core from the npm registry. Source it from .ci/run before
# `make test`:  source .ci/browser-setup.sh
set -euo pipefail
# Each only when missing: a machine whose Node.js comes from elsewhere has
# npm already, and Debian's npm package would conflict with it.
if ! command -v chromium >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
fi
if ! command -v npm >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq npm >/dev/null
fi
AXE_DIR="${AXE_DIR:-${TMPDIR:-/tmp}/baliza-axe}"
if [ ! -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ]; then
    mkdir -p "$AXE_DIR"
    (cd "$AXE_DIR" && npm install --silent --no-audit --no-fund axe-core@4 >/dev/null)
fi
export BALIZA_AXE_JS="$AXE_DIR/node_modules/axe-core/axe.min.js"
export BALIZA_CHROMIUM="$(command -v chromium)"
export BALIZA_REQUIRE_BROWSER=1
export BALIZA_SCREENSHOTS="${BALIZA_SCREENSHOTS:-${TMPDIR:-/tmp}/baliza-screenshots}"

#!/usr/bin/env bash
# CI for deploy/: verify the systemd units with systemd-analyze and install
# nginx, so that the proxy tests in tests/deploy run for real.
set -euo pipefail
cd "$(dirname "$0")/.."

need() {  # need PROGRAM DEBIAN-PACKAGE
    command -v "$1" > /dev/null && return 0
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "$2" > /dev/null
}
need systemd-analyze systemd
need nginx nginx-light || need nginx nginx
# promtool checks and unit-tests deploy/prometheus (tests/deploy/test_monitoring.py).
need promtool prometheus

# systemd-analyze verify checks that ExecStart names an executable, and the
# units name the production path /opt/baliza/venv/bin/baliza: check copies
# that point at this checkout's .venv instead (nothing else is changed).
make install > /dev/null
units=$(mktemp -d)
trap 'rm -rf "$units"' EXIT
baliza=$(readlink -f .venv/bin/baliza)
for unit in deploy/systemd/*.service deploy/systemd/*.timer; do
    sed "s|/opt/baliza/venv/bin/baliza|$baliza|g" "$unit" > "$units/$(basename "$unit")"
done
out=$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no "$units"/*.service "$units"/*.timer 2>&1) || {
    echo "$out"; exit 1; }
# verify exits 0 on some warnings (unknown keys, bad values); treat every line as a failure.
if [ -n "$out" ]; then echo "$out"; exit 1; fi
echo "systemd units: verified"
# The proxy tests themselves run in `make test` (tests/deploy), which .ci/run
# calls with BALIZA_REQUIRE_DEPLOY=1 so that a missing nginx fails them.

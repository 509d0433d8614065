#!/bin/sh
# Installs what the Prometheus scrape test (tests/metrics.rs) needs from
# Debian's packages: `prometheus` (the server; the test runs its own on
# 127.0.0.1 with a config it writes, never the packaged service). As root
# (CI runs as root on a clean Debian machine); elsewhere it says what is
# missing and the scrape test reports itself skipped.
set -eu
command -v prometheus >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "metrics tests: installing prometheus"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends prometheus >/dev/null 2>&1 ||
        { apt-get update >/dev/null && apt-get install -y --no-install-recommends prometheus >/dev/null; }
    # Under systemd the package starts its service on every interface
    # (:9090): the test needs only the binary, so the service we just
    # installed is stopped and disabled.
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        systemctl disable --now prometheus >/dev/null 2>&1 || true
    fi
else
    echo "metrics tests: not root or no apt-get; install prometheus to run them"
fi

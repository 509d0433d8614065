#!/bin/sh
# Installs what `make dist` and `make test-dist` need beyond the host's own
# toolchain to build and run the aarch64 and musl targets, from Debian's
# packages: binutils for aarch64 (strip, objdump), musl-tools (musl-gcc and
# the musl loader, for the x86_64 musl round trip) and qemu-user-static (runs
# aarch64 programs on x86_64). The Rust targets are added by dist.sh with
# rustup. As root (CI runs as root on a clean Debian machine); elsewhere it
# says what is missing.
set -eu
need=""
command -v aarch64-linux-gnu-strip >/dev/null 2>&1 || need="$need binutils-aarch64-linux-gnu"
command -v musl-gcc >/dev/null 2>&1 || need="$need musl-tools"
command -v qemu-aarch64-static >/dev/null 2>&1 || need="$need qemu-user-static"
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "targets: installing$need"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    apt-get install -y --no-install-recommends $need >/dev/null 2>&1 ||
        { apt-get update >/dev/null && apt-get install -y --no-install-recommends $need >/dev/null; }
else
    echo "targets: not root or no apt-get; install$need" >&2
    exit 1
fi

#!/bin/sh
# Installs what the syscall-budget tests (tests/budget.rs) need from
# Debian's packages: strace, which counts the system calls of each hot
# operation. As root (CI runs as root on a clean Debian machine); elsewhere
# it says what is missing and the budget tests report themselves skipped.
set -eu
command -v strace >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "budget tests: installing strace"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends strace >/dev/null 2>&1 ||
        { apt-get update >/dev/null && apt-get install -y --no-install-recommends strace >/dev/null; }
else
    echo "budget tests: not root or no apt-get; install strace to run them"
fi

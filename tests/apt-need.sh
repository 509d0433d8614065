#!/bin/sh
# Installs the Debian packages that some tests need, when their commands are
# missing: `sh tests/apt-need.sh WHAT COMMAND:PACKAGE...`. As root (CI runs
# as root on a clean Debian machine); elsewhere it says what is missing, and
# the tests that need it say so too.
set -eu
what="$1"
shift
need=""
for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || need="$need ${pair#*:}"
done
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "$what: installing$need"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends $need >/dev/null 2>&1 ||
        { apt-get update >/dev/null && apt-get install -y --no-install-recommends $need >/dev/null; }
else
    echo "$what: not root or no apt-get; install$need to run them"
fi

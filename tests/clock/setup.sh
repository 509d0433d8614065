#!/bin/sh
# Installs what the clock tests need from Debian's packages: libfaketime
# (`faketime`), to step a writer's or a checker's wall clock, and unshare
# (util-linux), for a time namespace. As root (CI runs as root on a clean
# Debian machine); elsewhere it says what is missing and the clock tests
# report themselves skipped.
set -eu
need=""
command -v faketime >/dev/null 2>&1 || need="$need faketime"
command -v unshare >/dev/null 2>&1 || need="$need util-linux"
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "clock tests: installing$need"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends $need >/dev/null 2>&1 ||
        { apt-get update >/dev/null && apt-get install -y --no-install-recommends $need >/dev/null; }
else
    echo "clock tests: not root or no apt-get; install$need to run them"
fi

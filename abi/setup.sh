#!/bin/sh
# Installs libabigail's tools (abidw, abidiff) from Debian's abigail-tools
# for the ABI check (abi/check.sh). As root with apt-get (CI runs as root on
# a clean Debian machine); elsewhere it says what is missing and fails.
set -eu
command -v abidiff >/dev/null 2>&1 && command -v abidw >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "abi: installing abigail-tools"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends abigail-tools >/dev/null 2>&1 ||
        { apt-get update >/dev/null && apt-get install -y --no-install-recommends abigail-tools >/dev/null; }
else
    echo "abi: abidw and abidiff are missing: install abigail-tools (libabigail)" >&2
    exit 1
fi

#!/usr/bin/env bash
# Installs this folder's npm dependencies exactly as package-lock.json pins
# them. Used by run-tests.sh and bench.sh; all output goes to stderr.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

# ffi-napi's install step (node-gyp-build) first test-loads its prebuilt
# addon; on Node 20 that bare load aborts at exit (a libuv assertion), so it
# falls back to compiling from source, which fails against Node 20's headers.
# node-gyp-build skips that test when a variable named after the package is
# set (FFI_NAPI), and the prebuilt addon it ships is then used and works.
export FFI_NAPI=1

npm ci --no-audit --no-fund --prefer-offline 1>&2

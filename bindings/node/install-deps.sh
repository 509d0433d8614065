#!/usr/bin/env bash
# Installs this folder's npm dependencies exactly as package-lock.json pins
# them (koffi, and TypeScript for the type tests), then the ffi-napi backend's
# packages the way README.md tells users to. Used by run-tests.sh and
# bench.sh; all output goes to stderr.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

npm ci --no-audit --no-fund --prefer-offline 1>&2

# ffi-napi is an optional peer, not a devDependency: on Node 20 its install
# step (node-gyp-build) first test-loads its prebuilt addon, that bare load
# aborts at exit (a libuv assertion), and the fallback compile fails against
# Node 20's headers, which would make a plain `npm install` here fail.
# node-gyp-build skips that test when a variable named after the package is
# set (FFI_NAPI), and the prebuilt addon it ships is then used and works.
# Installed from their own lock file (test/ffi-napi-backend) and linked into
# node_modules, where lib/backend-ffi-napi.js finds them as an installed peer.
FFI_NAPI=1 npm ci --prefix test/ffi-napi-backend --no-audit --no-fund --prefer-offline 1>&2
for pkg in ffi-napi ref-napi ref-struct-di ref-array-di; do
    ln -sfn "../test/ffi-napi-backend/node_modules/$pkg" "node_modules/$pkg"
done

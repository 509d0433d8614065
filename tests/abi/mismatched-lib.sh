#!/usr/bin/env bash
# Builds (once; later runs reuse it) liblifesign.so from a copy of the crate
# whose version is one minor above Cargo.toml's, and prints its path: a real
# library of another ABI, for the bindings' tests that they refuse it
# (bindings/*/run-tests.sh export it as LIFESIGN_TEST_MISMATCHED_LIB). Only
# the shared library is built, in a target folder of its own: cargo names a
# cdylib without a hash, so a shared folder would let the ABI check's
# changed copies (version 0.2) overwrite it while cargo still counts it fresh.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
copy="$root/target/abi-mismatch/crate"
mkdir -p "$copy"
# -u -p: unchanged files keep their times, so cargo rebuilds only on a change.
(cd "$root" && cp -rup Cargo.toml Cargo.lock src capi cli abi benches examples "$copy/")
version="$(sed -n 's/^version = "\([0-9]*\)\.\([0-9]*\)\.[0-9]*"$/\1.\2/p' "$root/Cargo.toml" | head -n 1)"
bumped="${version%%.*}.$((${version#*.} + 1)).0"
if ! grep -q "^version = \"$bumped\"$" "$copy/Cargo.toml"; then
    sed -i "0,/^version = \".*\"$/s//version = \"$bumped\"/" "$copy/Cargo.toml"
fi
(cd "$copy" && CARGO_TARGET_DIR="$root/target/abi-mismatch/target" cargo rustc --quiet --release -p lifesign-c --lib \
    --crate-type cdylib --config 'profile.release.debug=2' -- -A warnings) >&2
out="$root/target/abi-mismatch/liblifesign.so"
cp "$root/target/abi-mismatch/target/release/liblifesign.so" "$out"
echo "$out"

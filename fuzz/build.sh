#!/usr/bin/env bash
# Builds every fuzz target, from any working folder, in the best way this
# machine allows:
#   1. cargo-fuzz with nightly Rust: instrumented for coverage, with
#      AddressSanitizer (what `cargo fuzz run` uses);
#   2. nightly Rust without cargo-fuzz: the same binaries, uninstrumented;
#   3. stable Rust: the same, uninstrumented.
# Each proves that the targets compile against the current library. Set
# LIFESIGN_FUZZ_BUILD=plain to skip cargo-fuzz.
set -euo pipefail
cd "$(dirname "$0")"

have_nightly() { cargo +nightly --version >/dev/null 2>&1; }
have_cargo_fuzz() { cargo fuzz --version >/dev/null 2>&1; }

if [ "${LIFESIGN_FUZZ_BUILD:-}" != plain ] && have_nightly && have_cargo_fuzz; then
    echo "fuzz/build.sh: cargo +nightly fuzz build (instrumented)"
    cargo +nightly fuzz build -O --debug-assertions
    echo "fuzz/build.sh: built $(cargo +nightly fuzz list | tr '\n' ' ')"
elif have_nightly; then
    echo "fuzz/build.sh: cargo-fuzz not installed: plain nightly build (cargo install cargo-fuzz to instrument)"
    cargo +nightly build --release --bins
else
    echo "fuzz/build.sh: no nightly toolchain: plain stable build"
    cargo build --release --bins
fi

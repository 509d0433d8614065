#!/usr/bin/env bash
# The CLI's feature `fleet` (tokio, async-nats, rustls) is for the command-line
# tool only: the C libraries built with it (target/release, what `make
# build` produces) must export exactly the symbols of a build without it,
# hold no code of those crates, and keep their size (bound: 1%, for build
# metadata; a linked tokio or TLS stack would add far more).
# Arguments: the cargo features of the library build without the fleet
# (the Makefile's LIB_BASE_FEATURES: `-p lifesign-c`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
with=target/release
without=target/nofleet/release
[[ -f $with/liblifesign.so && -f $with/liblifesign.a ]] || {
    echo "lib-unchanged: run 'make build' first" >&2; exit 1; }
cargo build --release --lib --quiet --target-dir target/nofleet "$@"

exports() { nm -D --defined-only "$1" | awk '{print $3}' | sort; }
if ! diff <(exports $without/liblifesign.so) <(exports $with/liblifesign.so); then
    echo "lib-unchanged: liblifesign.so exports differ with the fleet feature" >&2; exit 1
fi
for lib in liblifesign.so liblifesign.a; do
    if nm -C "$with/$lib" 2>/dev/null | grep -qiE 'tokio::|async_nats::|rustls::|ring::|mio::'; then
        echo "lib-unchanged: $lib links tokio, async-nats or a TLS stack" >&2; exit 1
    fi
    a=$(stat -c %s "$without/$lib"); b=$(stat -c %s "$with/$lib")
    if (( b * 100 > a * 101 || a * 100 > b * 101 )); then
        echo "lib-unchanged: $lib is $b bytes with fleet, $a without (bound 1%)" >&2; exit 1
    fi
    echo "lib-unchanged: $lib $b bytes with fleet, $a without; no tokio/async-nats/rustls/ring"
done
echo "lib-unchanged: $(exports $with/liblifesign.so | wc -l) exports, identical"

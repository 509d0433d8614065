#!/usr/bin/env bash
# The ABI of liblifesign.so against the released one, abi/lifesign.abi
# (libabigail's abidw output for the library built with debug info).
#
#   abi/check.sh            build, compare; fail on any change of an export
#                           or of a type it reaches (a removed or changed
#                           function, a struct layout, an enum value), except
#                           what abi/lifesign.suppr allows: fields appended to
#                           a size-prefixed struct, the opaque handles'
#                           insides. Added functions pass; every change is
#                           listed.
#   abi/check.sh --bless    rewrite abi/lifesign.abi from this build (make
#                           abi-bless) and say what changed. Only for a
#                           release whose version and SONAME say the ABI
#                           changed, or that adds to it.
#
# Environment:
#   LIFESIGN_ABI_SOURCE      the crate to build (default: this checkout; the
#                            tests build a changed copy)
#   LIFESIGN_ABI_TARGET_DIR  its CARGO_TARGET_DIR (default target/abi)
#
# Exit status: 0 compatible, 1 incompatible, 2 the check could not run.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
baseline="$root/abi/lifesign.abi"
suppr="$root/abi/lifesign.suppr"
src="${LIFESIGN_ABI_SOURCE:-$root}"
target="${LIFESIGN_ABI_TARGET_DIR:-$root/target/abi}"
bless=0
[[ "${1:-}" == --bless ]] && bless=1

sh "$root/abi/setup.sh" || exit 2

# Only the shared library, with full debug info (the release profile has
# line tables only), in a target folder of its own so that target/release
# keeps what `make build` made.
echo "abi: building liblifesign.so with debug info (CARGO_TARGET_DIR=$target)"
(cd "$src" && CARGO_TARGET_DIR="$target" cargo rustc --quiet --release -p lifesign-c --lib --crate-type cdylib \
    --config 'profile.release.debug=2') || exit 2
lib="$target/release/liblifesign.so"

# The one abidw command line: types by content hash, no paths or line numbers,
# so that the baseline changes only when the ABI does.
describe() {
    abidw --no-show-locs --no-corpus-path --type-id-style hash "$1"
}

if ((bless)); then
    old="$(mktemp)"
    trap 'rm -f "$old"' EXIT
    [[ -f "$baseline" ]] && cp "$baseline" "$old"
    describe "$lib" >"$baseline"
    echo "abi: wrote $baseline"
    if [[ -s "$old" ]]; then
        echo "abi: changes from the previous baseline:"
        abidiff --harmless "$old" "$baseline" || true
    fi
    exit 0
fi

[[ -f "$baseline" ]] || { echo "abi: no baseline $baseline: run make abi-bless" >&2; exit 2; }

# Everything that changed, harmless changes and suppressed ones included.
rc=0
report="$(abidiff --harmless "$baseline" "$lib")" || rc=$?
if ((rc & 3)); then
    echo "$report"
    echo "abi: abidiff failed (exit $rc)" >&2
    exit 2
fi
if ((rc == 0)) && [[ -z "$report" ]]; then
    echo "abi: liblifesign.so has the ABI of $baseline"
    exit 0
fi
echo "abi: changes from $baseline:"
echo "$report"

# The verdict: what is left once the allowed changes are taken out. Added
# functions do not count (a program built against the baseline never
# calls them); the size-prefixed structs keep their published members in
# place (abi/prefix.py).
rc=0
verdict="$(abidiff --no-added-syms --suppressions "$suppr" "$baseline" "$lib")" || rc=$?
if ((rc & 3)); then
    echo "$verdict"
    echo "abi: abidiff failed (exit $rc)" >&2
    exit 2
fi
now="$(mktemp)"
trap 'rm -f "$now"' EXIT
describe "$lib" >"$now"
moved="$(python3 "$root/abi/prefix.py" "$baseline" "$now" lifesign_report lifesign_options)" || rc=$((rc | 8))
verdict="$verdict${moved:+$'\n'$moved}"
if ((rc & 12)); then
    echo
    echo "abi: INCOMPATIBLE: a program built against the released header may break on this library:"
    echo "$verdict"
    echo "abi: make the change compatible (append fields, add functions in a new node of"
    echo "abi: abi/lifesign.map), or release it as a new ABI: bump the version (the SONAME"
    echo "abi: follows, capi/artifact/build.rs) and run make abi-bless."
    exit 1
fi
echo "abi: compatible with $baseline (the changes above are additions)"

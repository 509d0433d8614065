#!/usr/bin/env bash
# Runs the Go binding's tests. Assumes only that `make build` has
# been run at the repository root. First go vet, and a build with
# CGO_ENABLED=0 that must fail with the reason; then four runs:
#   1. go test of the default build (static liblifesign.a);
#   2. the same with the race detector;
#   3. the lifesign_dynamic build (liblifesign.so from target/release, or
#      the file named by LIFESIGN_LIB, found at run time through
#      LD_LIBRARY_PATH);
#   4. the lifesign_pkgconfig build, with a lifesign.pc made for the run.
# The binding uses no third-party Go module, so nothing is downloaded.
# Ends with one line "go: N passed, N failed" counting every test result.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
release="$root/target/release"

# Never fetch a toolchain: use the Go that is installed.
export GOTOOLCHAIN=local
export CGO_ENABLED=1
if [[ -z "${HOME:-}" ]]; then
    export GOCACHE="${GOCACHE:-${TMPDIR:-/tmp}/lifesign-go-cache}"
    export GOPATH="${GOPATH:-${TMPDIR:-/tmp}/lifesign-go-path}"
fi

if ! command -v go >/dev/null 2>&1; then
    if [[ -x /usr/local/go/bin/go ]]; then
        export PATH="/usr/local/go/bin:$PATH"
    else
        echo "run-tests.sh: no Go toolchain found; installing Debian's golang-go" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq </dev/null && apt-get install -y -qq golang-go </dev/null
    fi
fi
if ! command -v gcc >/dev/null 2>&1 && ! command -v cc >/dev/null 2>&1; then
    echo "run-tests.sh: cgo needs a C compiler; installing gcc" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq </dev/null && apt-get install -y -qq gcc libc6-dev </dev/null
fi

for f in "$release/liblifesign.a" "$release/liblifesign.so" "$root/include/lifesign.h"; do
    if [[ ! -f "$f" ]]; then
        echo "run-tests.sh: $f is missing; run 'make build' in $root first" >&2
        exit 1
    fi
done
shared="${LIFESIGN_LIB:-$release/liblifesign.so}"
if [[ ! -f "$shared" ]]; then
    echo "run-tests.sh: LIFESIGN_LIB=$shared is not a file" >&2
    exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/lifesign-go-tests.XXXXXX")"
trap 'rm -rf "$work" "$here/.testlib"' EXIT
log="$work/test.log"
: >"$log"

cd "$here"
echo "== go vet"
go vet ./... </dev/null

# Without cgo the build must stop, and say why (nocgo.go).
echo "== CGO_ENABLED=0 go build"
if nocgo="$(CGO_ENABLED=0 go build ./... 2>&1 </dev/null)"; then
    echo "run-tests.sh: the package built without cgo" >&2
    exit 1
fi
if ! grep -q 'lifesign_needs_cgo__build_with_CGO_ENABLED_1_and_a_C_compiler' <<<"$nocgo"; then
    printf 'run-tests.sh: a build without cgo failed without the reason:\n%s\n' "$nocgo" >&2
    exit 1
fi
echo "refused: $(grep -o 'undefined: lifesign_needs_cgo[A-Za-z0-9_]*' <<<"$nocgo")"

# -count=1: never reuse a cached result, since the library may have been
# rebuilt since (cgo does not track it).
status=0
run() {
    local title="$1" rc
    shift
    echo "== $title"
    set +e
    go test -count=1 -v "$@" ./... </dev/null 2>&1 | tee -a "$log" | grep -E '^(--- FAIL|FAIL|ok|panic)'
    rc="${PIPESTATUS[0]}"
    set -e
    if [[ "$rc" -ne 0 ]]; then
        echo "($title exited with $rc)"
        status=1
    fi
}

run "go test (static)" -timeout 10m
run "go test -race (static)" -race -timeout 20m

# A folder holding the shared library under its SONAME, as the dynamic
# loader looks for it, and a lifesign.pc for the pkg-config build. Its path
# is fixed (bindings/go/.testlib, ignored by git) because Go's build cache
# does not notice a change of pkg-config's output: a fresh temporary path
# on every run would leave a stale -L in the cache.
libdir="$here/.testlib"
rm -rf "$libdir"
mkdir -p "$libdir/pkgconfig"
ln -s "$shared" "$libdir/$(sh "$root/abi/soname.sh" "$shared")"
ln -s "$shared" "$libdir/liblifesign.so"

LIFESIGN_GO_EXPECT_LINK=dynamic LIFESIGN_GO_EXPECT_LIB="$shared" LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    run "go test -tags lifesign_dynamic" -tags lifesign_dynamic -timeout 10m

# A real library of the next minor version behind a link named as this
# version's SONAME (the loader takes it): the package must refuse it.
mismatched="$(bash "$root/tests/abi/mismatched-lib.sh")"
mismatchdir="$here/.testlib-mismatch"
rm -rf "$mismatchdir"
mkdir -p "$mismatchdir"
ln -s "$mismatched" "$mismatchdir/$(sh "$root/abi/soname.sh" "$shared")"
# The test expects the version the library itself says.
LIFESIGN_GO_EXPECT_MISMATCH="$(python3 -c 'import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
lib.lifesign_version.restype = ctypes.c_char_p
print(lib.lifesign_version().decode())' "$mismatched")" \
    LD_LIBRARY_PATH="$mismatchdir" \
    run "go test -tags lifesign_dynamic, a library of another minor" -tags lifesign_dynamic \
    -run 'TestALibraryOfAnotherABIIsRefused' -timeout 5m

if ! command -v pkg-config >/dev/null 2>&1; then
    echo "run-tests.sh: installing pkgconf for the pkg-config build" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq </dev/null && apt-get install -y -qq pkgconf </dev/null
fi
version="$(sed -n 's/^#define LIFESIGN_VERSION_STRING "\(.*\)"/\1/p' "$root/include/lifesign.h")"
cat >"$libdir/pkgconfig/lifesign.pc" <<EOF
Name: lifesign
Description: process heartbeat library (test build)
Version: ${version:-0}
Cflags: -I$root/include
Libs: -L$libdir -llifesign
EOF
LIFESIGN_GO_EXPECT_LINK=pkg-config LIFESIGN_GO_EXPECT_LIB="$shared" PKG_CONFIG_PATH="$libdir/pkgconfig" \
    LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    run "go test -tags lifesign_pkgconfig" -tags lifesign_pkgconfig -timeout 10m

passed="$(grep -cE '^\s*--- PASS' "$log" || true)"
failed="$(grep -cE '^\s*--- FAIL' "$log" || true)"
broken="$(grep -cE '^(FAIL|panic:)' "$log" || true)"
if [[ "$status" -ne 0 || "$failed" -gt 0 || "$broken" -gt 0 ]]; then
    echo "---- failures:"
    grep -E -B2 -A20 '^\s*--- FAIL|^panic:|^# |build failed' "$log" | head -200 || true
fi
echo "go: $passed passed, $failed failed"
if [[ "$status" -ne 0 || "$failed" -gt 0 || "$broken" -gt 0 || "$passed" -eq 0 ]]; then
    exit 1
fi

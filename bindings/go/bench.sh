#!/usr/bin/env bash
# Benchmarks the Go binding (default static build) and prints one JSON
# object per line:
#   {"lang":"go","backend":"cgo","op":"check"|"beat","ns_per_call":N,"calls":N}
# check: Check (lifesign_check) of a heartbeat kept by a separate process;
# beat: Beat (lifesign_beat) on a file on tmpfs (LIFESIGN_BENCH_DIR, else
# /dev/shm, else the temporary folder). LIFESIGN_BENCH_TIME sets go test's
# -benchtime (default 2s). Assumes `cargo build --release` at the root.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export GOTOOLCHAIN=local CGO_ENABLED=1
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
    export PATH="/usr/local/go/bin:$PATH"
fi
if [[ -z "${HOME:-}" ]]; then
    export GOCACHE="${GOCACHE:-${TMPDIR:-/tmp}/lifesign-go-cache}"
    export GOPATH="${GOPATH:-${TMPDIR:-/tmp}/lifesign-go-path}"
fi

cd "$here"
out="$(go test -count=1 -run '^$' -bench '^Benchmark(Check|Beat)$' \
    -benchtime "${LIFESIGN_BENCH_TIME:-2s}" . </dev/null 2>&1)" || {
    echo "$out" >&2
    exit 1
}
echo "$out" | awk '
    $1 ~ /^Benchmark(Check|Beat)(-[0-9]+)?$/ && $4 == "ns/op" {
        op = ($1 ~ /^BenchmarkCheck/) ? "check" : "beat"
        printf "{\"lang\": \"go\", \"backend\": \"cgo\", \"op\": \"%s\", \"ns_per_call\": %d, \"calls\": %d}\n", op, int($3 + 0.5), $2
        n++
    }
    END { if (n != 2) exit 1 }
' || {
    echo "bench.sh: could not read the benchmark results:" >&2
    echo "$out" >&2
    exit 1
}

#!/usr/bin/env bash
# The long form of the reliability suite: the stress, fault, hostile-input
# and property tests at full size (LIFESIGN_STRESS=long), then every fuzz
# target for a fixed time. Prints the figures that docs/RELIABILITY.md
# records, and exits non-zero on any failure or fuzzer finding.
#
#   bash tests/reliability/run.sh                 # all of it (about an hour on 2 cores)
#   FUZZ_SECONDS=60 bash tests/reliability/run.sh # shorter fuzzing
#   SKIP_FUZZ=1 / SKIP_TESTS=1                    # one half only
#
# Runs from any folder, with CI=true and no stdin. Needs root for the
# tmpfs mounts of the filesystem-fault tests (they are skipped, with the
# reason printed, where mounting is not allowed) and nightly Rust plus
# cargo-fuzz for the fuzzers (installed from crates.io when missing).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

FUZZ_SECONDS="${FUZZ_SECONDS:-300}"
out="$root/target/reliability"
mkdir -p "$out"
figures="$out/figures.txt"
: >"$figures"
status=0

echo "== lifesign reliability, long form: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores"

# The packages, as the Makefile builds them (LIB_FEATURES there: the workspace).
features="$(make -s -C "$root" print-lib-features)"

if [ -z "${SKIP_TESTS:-}" ]; then
    cargo build --release $features --lib --bins --examples
    echo "== tests (LIFESIGN_STRESS=long)"
    start=$(date +%s)
    if ! LIFESIGN_STRESS=long LIFESIGN_FIGURES_FILE="$figures" \
        cargo test --release $features --test stress --test hostile --test proptest_roundtrip \
        -- --test-threads=1 </dev/null 2>&1 | tee "$out/tests.log" | grep -E '^test |test result'; then
        :
    fi
    if grep -q 'test result: FAILED\|^error' "$out/tests.log"; then
        echo "!! tests failed: see $out/tests.log"
        status=1
    fi
    echo "FIGURE tests_long_form seconds=$(( $(date +%s) - start ))" >>"$figures"
    # proptest runs exactly this many passing cases per property in the long
    # form (tests/proptest_roundtrip.rs: min(80 x short, 20000)).
    echo "FIGURE property_tests cases_per_property=20000,20000,20000,20000,20000,20000,20000(verdict),5120(real_file),2560(real_emitter)" >>"$figures"
fi

if [ -z "${SKIP_FUZZ:-}" ]; then
    echo "== fuzzing, ${FUZZ_SECONDS} s per target"
    if ! cargo +nightly --version >/dev/null 2>&1; then
        echo "!! no nightly toolchain: fuzzing skipped"
        status=1
    else
        if ! cargo fuzz --version >/dev/null 2>&1; then
            echo "== installing cargo-fuzz from crates.io"
            cargo install cargo-fuzz --locked
        fi
        (cd fuzz && cargo +nightly fuzz build -O --debug-assertions)
        for target in decode verdict iso8601 check_file; do
            corpus="fuzz/corpus/$target"
            mkdir -p "$corpus"
            # Seeds: the shared vectors (every shape, every rule).
            cp tests/vectors/*.json "$corpus/" 2>/dev/null || true
            log="$out/fuzz-$target.log"
            rc=0
            (cd fuzz && cargo +nightly fuzz run -O --debug-assertions "$target" "corpus/$target" -- \
                -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
                -print_final_stats=1 </dev/null) >"$log" 2>&1 || rc=$?
            execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
            rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
            units=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)
            findings=$(find "fuzz/artifacts/$target" -type f 2>/dev/null | wc -l)
            echo "FIGURE fuzz_$target seconds=$FUZZ_SECONDS executions=${execs:-0} per_second=${rate:-0} new_coverage_units=${units:-0} corpus_files=$(ls "$corpus" | wc -l) findings=$findings exit=$rc" >>"$figures"
            if [ "$rc" -ne 0 ] || [ "$findings" -ne 0 ]; then
                echo "!! fuzz target $target: exit $rc, $findings finding(s): see $log and fuzz/artifacts/$target"
                status=1
            fi
        done
        # The check_file target's scratch files.
        rm -f /dev/shm/lifesign-fuzz-check-*.json "${TMPDIR:-/tmp}"/lifesign-fuzz-check-*.json
    fi
fi

echo "== figures"
sed 's/^FIGURE //' "$figures"
if [ "$status" -eq 0 ]; then
    echo "== reliability long form: everything passed"
else
    echo "== reliability long form: FAILURES (see above)"
fi
exit "$status"

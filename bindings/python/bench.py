"""Measures the binding's cost per call of check and beat; prints JSON lines.

check: lifesign.check on a heartbeat kept by a separate emitter process.
beat:  Emitter.beat on a file in tmpfs (/dev/shm when present, else $TMPDIR).
LIFESIGN_BENCH_CALLS sets the number of timed calls (default 20000).
"""

import json
import os
import subprocess
import sys
import tempfile
import time

import lifesign

CALLS = int(os.environ.get("LIFESIGN_BENCH_CALLS", "20000"))
WARMUP = max(1, CALLS // 20)

CHILD = """
import sys, lifesign
hb = lifesign.start(sys.argv[1], 3600)
hb.set_state("ready")
print("ready", flush=True)
sys.stdin.read()
hb.close()
"""


def folder() -> str:
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        return "/dev/shm"
    return tempfile.gettempdir()


def emit(op: str, elapsed_ns: int, calls: int) -> None:
    line = {"lang": "python", "backend": "ctypes", "op": op, "ns_per_call": round(elapsed_ns / calls), "calls": calls}
    print(json.dumps(line), flush=True)


def bench_check(base: str) -> None:
    path = os.path.join(base, "check.json")
    env = dict(os.environ, LIFESIGN_LIB=lifesign.library_path())
    child = subprocess.Popen([sys.executable, "-c", CHILD, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    try:
        assert child.stdout is not None and child.stdin is not None
        if child.stdout.readline().strip() != b"ready":
            raise SystemExit("the emitter process did not start")
        report = lifesign.check(path)
        if report.verdict is not lifesign.Verdict.ALIVE or report.pid != child.pid:
            raise SystemExit("unexpected heartbeat: %r" % (report,))
        check = lifesign.check
        for _ in range(WARMUP):
            check(path)
        start = time.perf_counter_ns()
        for _ in range(CALLS):
            check(path)
        emit("check", time.perf_counter_ns() - start, CALLS)
    finally:
        if child.stdin is not None:
            child.stdin.close()
        child.wait()


def bench_beat(base: str) -> None:
    path = os.path.join(base, "beat.json")
    with lifesign.start(path, 3600) as hb:
        beat = hb.beat
        for _ in range(WARMUP):
            beat()
        start = time.perf_counter_ns()
        for _ in range(CALLS):
            beat()
        emit("beat", time.perf_counter_ns() - start, CALLS)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="lifesign-bench-", dir=folder()) as base:
        bench_check(base)
        bench_beat(base)


if __name__ == "__main__":
    main()

"""lifesign against the Python peer kstlib, side by side in one process.

Run by benches/run.sh with the Python of target/bench-venv (where the run
installs kstlib from PyPI). Modes:

  bench --lib SO --bin BENCH --tmpfs DIR --disk DIR [--reps N]
      kstlib's Heartbeat.beat() and Heartbeat.is_alive() against lifesign's
      lifesign_beat() and lifesign_check() called through the C ABI (ctypes,
      declared here), interleaved repetition by repetition; one JSON object
      per line on stdout.
  child-kstlib PATH
      a kstlib heartbeat kept by this process (for the checks).
  footprint-child PATH
      imports kstlib, prints "idle", waits for a line, starts a kstlib
      heartbeat at 1 s, prints "started", runs until stdin closes.

kstlib has no durable mode; for the durable comparison the benchmark adds
fsync to kstlib's own write sequence (labelled so in the document).

When kstlib cannot be imported, a minimal Python heartbeat with the same
file format and the same steps stands in, and every record says so
("peer": "minimal").
"""

import ctypes
import json
import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

try:
    from kstlib.resilience.heartbeat import Heartbeat, HeartbeatState

    PEER = "kstlib"
    try:
        from importlib.metadata import version

        PEER_VERSION = version("kstlib")
    except Exception:  # noqa: BLE001 - the version is informative only
        PEER_VERSION = "unknown"
except ImportError:
    PEER = "minimal"
    PEER_VERSION = "-"

    class HeartbeatState:  # the same record and encoding as kstlib's
        def __init__(self, timestamp, pid, hostname, metadata):
            self.timestamp, self.pid, self.hostname, self.metadata = timestamp, pid, hostname, metadata

        def to_dict(self):
            return {"timestamp": self.timestamp, "pid": self.pid, "hostname": self.hostname, "metadata": self.metadata}

    class Heartbeat:  # the same steps as kstlib's beat() and is_alive()
        def __init__(self, state_file, interval=10.0, metadata=None):
            self._state_file = Path(state_file)
            self._interval = interval
            self._metadata = metadata or {}
            self._stop = None

        @property
        def state_file(self):
            return self._state_file

        def beat(self):
            state = HeartbeatState(datetime.now(timezone.utc).isoformat(), os.getpid(), socket.gethostname(), self._metadata)
            self._state_file.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
            temp = self._state_file.with_suffix(".tmp")
            temp.write_text(json.dumps(state.to_dict(), indent=2))
            temp.replace(self._state_file)

        def start(self):
            import threading

            self._stop = threading.Event()

            def loop():
                while not self._stop.wait(self._interval):
                    self.beat()

            threading.Thread(target=loop, daemon=True).start()

        def stop(self):
            if self._stop is not None:
                self._stop.set()

        @staticmethod
        def is_alive(state_file, max_age_seconds=30.0):
            path = Path(state_file)
            if not path.exists():
                return False
            try:
                data = json.loads(path.read_text())
                beat = datetime.fromisoformat(data["timestamp"])
            except (ValueError, KeyError, OSError):
                return False
            return (datetime.now(timezone.utc) - beat).total_seconds() <= max_age_seconds


# The C ABI's declarations come from the Python binding's table generated
# from the header; the calls below stay raw ctypes so that the figures are
# the library's, not the binding's Python layer.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bindings" / "python" / "src"))
from lifesign import _bindings, _ffi  # noqa: E402

LIFESIGN_OPT_DURABLE = _bindings.LIFESIGN_OPT_DURABLE
LIFESIGN_VERDICT_ALIVE = _bindings.LIFESIGN_VERDICT_ALIVE
Report = _bindings.lifesign_report
Options = _bindings.lifesign_options


def load(path):
    return _ffi._declare(ctypes.CDLL(path), path)


def start(lib, path, durable=False):
    out = ctypes.c_void_p()
    opts = Options()
    lib.lifesign_options_init(ctypes.byref(opts))
    opts.interval_ms = 3_600_000
    if durable:
        opts.flags |= LIFESIGN_OPT_DURABLE
    rc = lib.lifesign_start_with(str(path).encode(), ctypes.byref(opts), ctypes.byref(out))
    if rc != 0:
        raise SystemExit(f"lifesign_start_with failed: {rc}")
    lib.lifesign_set_state(out, 1, b"serving")
    return out


def median(v):
    s = sorted(v)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def calibrate(f, batch_s):
    for _ in range(3):
        f()
    n = 1
    while True:
        t = time.perf_counter_ns()
        for _ in range(n):
            f()
        e = time.perf_counter_ns() - t
        if e >= 20_000_000 or n >= 1 << 22:
            return max(5, int(batch_s * 1e9 / (e / n)))
        n *= 2


def per_call(f, n):
    t = time.perf_counter_ns()
    for _ in range(n):
        f()
    return (time.perf_counter_ns() - t) / n


def paired(ident, peer_f, lib_f, reps, batch_s, extra):
    """The peer as the base, lifesign as the library: ratio = peer / lifesign."""
    np_, nl = calibrate(peer_f, batch_s), calibrate(lib_f, batch_s)
    peer, lib = [], []
    for r in range(reps):
        if r % 2 == 0:
            peer.append(per_call(peer_f, np_))
            lib.append(per_call(lib_f, nl))
        else:
            lib.append(per_call(lib_f, nl))
            peer.append(per_call(peer_f, np_))
    ratios = [p / l for p, l in zip(peer, lib)]
    rec = {
        "kind": "peer",
        "id": ident,
        "peer": PEER,
        "peer_version": PEER_VERSION,
        "peer_ns": round(median(peer), 1),
        "lib_ns": round(median(lib), 1),
        "speedup": round(median(ratios), 3),
        "speedup_min": round(min(ratios), 3),
        "speedup_max": round(max(ratios), 3),
        "reps": reps,
        "peer_calls": np_,
        "lib_calls": nl,
    }
    rec.update(extra)
    print(json.dumps(rec), flush=True)


def durable_peer_beat(hb):
    """kstlib's beat() step by step, plus fsync of the temporary and the folder."""
    state = HeartbeatState(
        timestamp=datetime.now(timezone.utc).isoformat(),
        pid=os.getpid(),
        hostname=socket.gethostname(),
        metadata={},
    )
    target = hb.state_file
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    temp = target.with_suffix(".tmp")
    with open(temp, "w") as f:
        f.write(json.dumps(state.to_dict(), indent=2))
        f.flush()
        os.fsync(f.fileno())
    temp.replace(target)
    fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def spawn(argv):
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline().strip()
    if line != "ready":
        raise SystemExit(f"{argv[0]} said {line!r}")
    return p


def finish(p):
    p.stdin.close()
    p.wait()


def bench(args):
    lib = load(args["lib"])
    reps = int(args.get("reps", "7"))
    batch = 0.15
    for fs in ("tmpfs", "disk"):
        base = Path(args[fs]) / "peer"
        base.mkdir(parents=True, exist_ok=True)
        # beat
        hb = Heartbeat(base / "kstlib-beat.json", interval=3600)
        e = start(lib, base / "lifesign-beat.json")
        paired(f"peer.beat.{fs}", hb.beat, lambda: lib.lifesign_beat(e), reps, batch, {"fs": fs, "op": "beat", "target": 8})
        lib.lifesign_free(e)
        # check, each on a file kept by another process
        kpath = base / "kstlib-check.json"
        lpath = base / "lifesign-check.json"
        kchild = spawn([sys.executable, __file__, "child-kstlib", str(kpath)])
        lchild = spawn([args["bin"], "child-emitter", str(lpath), "1000"])
        rep = Report()
        lib.lifesign_report_init(ctypes.byref(rep))
        lbytes = str(lpath).encode()
        fails = {"peer": 0, "lib": 0}

        def peer_check():
            if not Heartbeat.is_alive(kpath, 30.0):
                fails["peer"] += 1

        def lib_check():
            lib.lifesign_check(lbytes, 0, 0, ctypes.byref(rep))
            if rep.verdict != LIFESIGN_VERDICT_ALIVE:
                fails["lib"] += 1

        lib_check()
        if rep.pid != lchild.pid:
            raise SystemExit("the lifesign heartbeat is not the child's")
        paired(f"peer.check.{fs}", peer_check, lib_check, reps, batch, {"fs": fs, "op": "check", "target": 10, "not_alive": fails})
        finish(kchild)
        finish(lchild)
        # durable writes
        if fs == "disk":
            hb = Heartbeat(base / "kstlib-durable.json", interval=3600)
            e = start(lib, base / "lifesign-durable.json", durable=True)
            paired(f"peer.durable.{fs}", lambda: durable_peer_beat(hb), lambda: lib.lifesign_beat(e), reps, 0.3, {"fs": fs, "op": "durable beat"})
            lib.lifesign_free(e)


def child_kstlib(path):
    hb = Heartbeat(path, interval=1)
    hb.beat()  # kstlib's thread writes first after one interval
    hb.start()
    print("ready", flush=True)
    sys.stdin.read()
    hb.stop()


def footprint_child(path):
    print("idle", flush=True)
    sys.stdin.readline()
    hb = Heartbeat(path, interval=1)
    hb.start()
    print("started", flush=True)
    sys.stdin.read()
    hb.stop()


def main(argv):
    if not argv:
        raise SystemExit(__doc__)
    mode, rest = argv[0], argv[1:]
    if mode == "bench":
        args = {rest[i].lstrip("-"): rest[i + 1] for i in range(0, len(rest) - 1, 2)}
        bench(args)
    elif mode == "child-kstlib":
        child_kstlib(rest[0])
    elif mode == "footprint-child":
        footprint_child(rest[0])
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])

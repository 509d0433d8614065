"""Syscalls per call of check and beat and of their floors, counted with
`strace -c -f` while bench_capi makes N calls, minus a run with 0 calls.
Prints one JSON object per operation.

Usage: python3 syscalls.py BENCH_CAPI DIR [N]
Exits 3 with a message when strace is not installed.
"""

import json
import shutil
import subprocess
import sys
import tempfile

N = 2000
OPS = ("check", "floor-check", "beat", "floor-beat")


def counts(binary, op, n, folder):
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as out:
        subprocess.run(
            ["strace", "-c", "-f", "-o", out.name, binary, "count", op, str(n), folder],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        c = {}
        for line in out.read().splitlines():
            parts = line.split()
            if len(parts) < 5 or parts[-1] == "total" or not parts[3].isdigit():
                continue
            c[parts[-1]] = int(parts[3])
        return c


def main():
    global N
    binary, folder = sys.argv[1], sys.argv[2]
    if len(sys.argv) > 3:
        N = int(sys.argv[3])
    if shutil.which("strace") is None:
        print("strace is not installed", file=sys.stderr)
        sys.exit(3)
    for op in OPS:
        full, base = counts(binary, op, N, folder), counts(binary, op, 0, folder)
        per = {}
        for name, v in full.items():
            d = (v - base.get(name, 0)) / N
            if d >= 0.05:
                per[name] = round(d, 2)
        rec = {"kind": "syscalls", "op": op, "calls": N, "per_call": per, "total": round(sum(per.values()), 2)}
        print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    sys.exit(main())

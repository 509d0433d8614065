"""The install round trip of `make test-dist` for the Python wheel.

`python roundtrip.py FILE` starts `python roundtrip.py emit FILE` as a
child, waits for it (wait_ready, then wait_ready_async), checks it, kills it
with SIGKILL and reads process_gone. Prints the library's path.
"""

import asyncio
import os
import signal
import subprocess
import sys

import lifesign


def emit(path: str) -> None:
    hb = lifesign.start(path, interval=1.0)
    print("started", flush=True)
    hb.set_state("ready", "serving")
    signal.pause()


def main(path: str) -> None:
    child = subprocess.Popen([sys.executable, __file__, "emit", path], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline() == "started\n", "the emitter did not start"
    r = lifesign.wait_ready(path, pid=child.pid, timeout=60)
    assert r.verdict is lifesign.Verdict.ALIVE and r.state is lifesign.State.READY, r
    r = asyncio.run(lifesign.wait_ready_async(path, pid=child.pid, timeout=60))
    assert r.verdict is lifesign.Verdict.ALIVE and r.state is lifesign.State.READY, r
    r = lifesign.check(path, pid=child.pid)
    assert r.verdict is lifesign.Verdict.ALIVE and r.state is lifesign.State.READY, r
    child.kill()
    child.wait()
    r = lifesign.check(path)
    assert r.verdict is lifesign.Verdict.PROCESS_GONE, r
    print("library:", lifesign.library_path())
    print("version:", lifesign.version())
    print("round trip: ok")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "emit":
        emit(sys.argv[2])
    else:
        main(sys.argv[1])

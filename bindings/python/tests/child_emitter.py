"""The emitter child of the cross-process tests.

It speaks the line protocol of tests/README.md: every line it prints
starts with "@@ ". It starts from the environment (LIFESIGN_FILE,
LIFESIGN_INTERVAL_MS), says "started pid=PID" once the first heartbeat is
written, then answers each command on stdin with "ok" or "err MESSAGE":
  starting|ready|stopping|failed [MESSAGE]   set_state
  beat | progress | stop                     the emitter calls of those names
  meta KEY VALUE                             set_meta
  exit                                       leave at once, without stopping
                                             and without an answer (a crash)
At the end of its input it stops the emitter and exits 0.
"""

import os
import sys

import lifesign


def say(line: str) -> None:
    print("@@ " + line, flush=True)


def run(hb: lifesign.Emitter, line: str) -> None:
    cmd, _, rest = line.partition(" ")
    if cmd in ("starting", "ready", "stopping", "failed"):
        hb.set_state(cmd, rest or None)
    elif cmd == "beat":
        hb.beat()
    elif cmd == "progress":
        hb.progress()
    elif cmd == "meta":
        key, _, value = rest.partition(" ")
        hb.set_meta(key, value)
    elif cmd == "stop":
        hb.stop()
    elif cmd == "exit":
        os._exit(0)
    else:
        raise ValueError("unknown command %r" % cmd)


def main() -> None:
    try:
        hb = lifesign.start_from_env()
    except lifesign.LifesignError as e:
        say("err %s" % e)
        sys.exit(1)
    if hb is None:
        say("none")
        return
    say("started pid=%d" % os.getpid())
    for line in sys.stdin:
        try:
            run(hb, line.rstrip("\n"))
        except (lifesign.LifesignError, ValueError) as e:
            say("err %s" % e)
        else:
            say("ok")
    hb.close()


if __name__ == "__main__":
    main()

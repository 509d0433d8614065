"""A separate emitter process for the tests, driven over stdin.

Usage: child_emitter.py PATH INTERVAL_SECONDS

Prints "started PID" once the first heartbeat is written, then reads one
command per line and prints "ok" after carrying it out:
  state NAME [MESSAGE]   set_state
  beat                   beat
  progress               progress
  stop                   stop
  crash                  exit at once without stopping (no "ok")
End of input closes the emitter and exits.
"""

import os
import sys

import lifesign


def main() -> None:
    path, interval = sys.argv[1], float(sys.argv[2])
    hb = lifesign.start(path, interval)
    print("started %d" % os.getpid(), flush=True)
    for line in sys.stdin:
        words = line.rstrip("\n").split(" ", 2)
        cmd = words[0]
        if cmd == "state":
            hb.set_state(words[1], words[2] if len(words) > 2 else None)
        elif cmd == "beat":
            hb.beat()
        elif cmd == "progress":
            hb.progress()
        elif cmd == "stop":
            hb.stop()
        elif cmd == "crash":
            os._exit(3)
        else:
            print("unknown command %r" % cmd, flush=True)
            continue
        print("ok", flush=True)
    hb.close()


if __name__ == "__main__":
    main()

"""The fleet benchmark (benches/run.sh, section `fleet`): `lifesign relay`
against a real nats-server on 127.0.0.1. Prints JSON lines for report.py:

  fleet.latency   a local state change to a remote watcher's line, median
                  and p99, beside the same change seen by a local
                  `lifesign watch` of the file
  fleet.load.N    N heartbeats rewritten once per interval (as fast as this
                  writer can, where that is slower): the relay's CPU and
                  resident memory, and the messages per second the server
                  received against the file writes per second and N / interval

Usage: python3 fleet.py --server NATS_SERVER --cli LIFESIGN --fleet CMD...
(--fleet: the command that runs the fleet subcommands, e.g. `lifesign`).
"""

import argparse
import itertools
import json
import os
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request


_asked = itertools.count(0, 100)


def distinct_ports(n):
    """n different free TCP ports of 127.0.0.1 for servers to listen on,
    below the kernel's range of ephemeral ports: a port from that range may
    be taken by any outgoing connection (a cluster's routes, a client)
    before its server binds it. The rule of tests/fleet.rs's free_port."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    base = max(low - 10000, 1024)
    ports = []
    if low < base + 100:
        candidates = iter(lambda: 0, None)
    else:
        start = os.getpid() * 7919 + next(_asked)
        candidates = (base + (start + k) % (low - base) for k in range(low - base))
    for port in candidates:
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            got = s.getsockname()[1]
        except OSError:
            continue
        finally:
            s.close()
        if got not in ports:
            ports.append(got)
            if len(ports) == n:
                return ports
    raise SystemExit("no %d free ports below the ephemeral range" % n)


def write(path, state, seq, message="", interval_ms=1000):
    """Replaces a v1 heartbeat of this (living) process atomically."""
    now = int(time.time() * 1000)
    rec = {"v": 1, "pid": os.getpid(), "state": state, "seq": seq, "updated_at_ms": now, "interval_ms": interval_ms}
    if message:
        rec["message"] = message
    d, n = os.path.split(path)
    tmp = os.path.join(d, "." + n + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, json.dumps(rec).encode())
    os.close(fd)
    os.rename(tmp, path)


class Server:
    def __init__(self, binary, store):
        self.port, self.mport = distinct_ports(2)
        self.p = subprocess.Popen(
            [binary, "-js", "-sd", store, "-a", "127.0.0.1", "-p", str(self.port), "-m", str(self.mport)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in self.p.stderr:
            if "Server is ready" in line:
                break
        threading.Thread(target=lambda: [None for _ in self.p.stderr], daemon=True).start()
        self.url = "nats://127.0.0.1:%d" % self.port

    def in_msgs(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/varz" % self.mport) as r:
            return json.load(r)["in_msgs"]

    def stop(self):
        self.p.terminate()
        self.p.wait()


def start_relay(fleet, url, host, d, extra=()):
    """A relay of folder `d` to the server(s) `url`, once it publishes."""
    p = subprocess.Popen(fleet + ["relay", "--server", url, "--host-id", host] + list(extra) + [d],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        if "publishing" in line:
            break
    threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
    return p


def cpu_ticks(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])


def rss_kib(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def watch_latency(cmd, path, n):
    """Changes the message n times; the time until `cmd` prints a line."""
    w = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
    w.stdout.readline()  # the current state
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        write(path, "ready", i + 2, "m%d" % i, interval_ms=60000)
        line = w.stdout.readline()
        out.append((time.perf_counter() - t0) * 1e6)
        if ("m%d" % i) not in line:
            raise SystemExit("watch printed %r for change %d" % (line, i))
    w.kill()
    w.wait()
    return out


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--fleet", required=True)
    ap.add_argument("--changes", type=int, default=300)
    ap.add_argument("--window", type=float, default=10.0)
    ap.add_argument("--sizes", default="1000,10000")
    a = ap.parse_args()
    fleet = shlex.split(a.fleet)
    base = tempfile.mkdtemp(prefix="lifesign-fleet-bench-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    server = Server(a.server, os.path.join(base, "js"))
    try:
        # ---- latency
        d = os.path.join(base, "lat")
        os.mkdir(d)
        path = os.path.join(d, "lat.json")
        write(path, "ready", 1, "start", interval_ms=60000)
        relay = start_relay(fleet, server.url, "bench", d)
        remote = watch_latency(fleet + ["watch", server.url + "/lifesign/bench.lat"], path, a.changes)
        local = watch_latency([a.cli, "watch", path], path, a.changes)
        relay.kill()
        relay.wait()
        print(json.dumps({
            "kind": "fleet", "id": "fleet.latency", "changes": a.changes,
            "remote_median_us": statistics.median(remote), "remote_p99_us": pct(remote, 0.99),
            "local_median_us": statistics.median(local), "local_p99_us": pct(local, 0.99),
        }), flush=True)
        # ---- load
        for n in [int(s) for s in a.sizes.split(",")]:
            d = os.path.join(base, "load%d" % n)
            os.mkdir(d)
            paths = [os.path.join(d, "w%d.json" % i) for i in range(n)]
            for p in paths:
                write(p, "ready", 1)
            idle_relay_t0 = time.perf_counter()
            relay = start_relay(fleet, server.url, "load%d" % n, d)
            first_pass_s = time.perf_counter() - idle_relay_t0
            seq = 1
            # Settle one round, then measure over the window.
            interval = 1.0
            next_round = time.perf_counter()
            rounds = 0
            writes = 0
            t_start = m0 = c0 = None
            while True:
                now = time.perf_counter()
                if now < next_round:
                    time.sleep(next_round - now)
                if rounds == 1:
                    t_start, m0, c0 = time.perf_counter(), server.in_msgs(), cpu_ticks(relay.pid)
                    writes = 0
                if t_start is not None and time.perf_counter() - t_start >= a.window:
                    break
                seq += 1
                for p in paths:
                    write(p, "ready", seq)
                writes += n
                rounds += 1
                # A round that took longer than the interval starts the next at once.
                next_round = max(next_round + interval, time.perf_counter())
            elapsed = time.perf_counter() - t_start
            m1, c1, rss = server.in_msgs(), cpu_ticks(relay.pid), rss_kib(relay.pid)
            relay.kill()
            relay.wait()
            hz = os.sysconf("SC_CLK_TCK")
            print(json.dumps({
                "kind": "fleet", "id": "fleet.load.%d" % n, "heartbeats": n, "interval_s": interval,
                "window_s": elapsed, "first_pass_s": first_pass_s,
                "relay_cpu_pct": 100.0 * (c1 - c0) / hz / elapsed, "relay_rss_kib": rss,
                "server_msgs_per_s": (m1 - m0) / elapsed, "expected_msgs_per_s": n / interval,
                "writes_per_s": writes / elapsed,
                # The relay's CPU per heartbeat file write it was offered.
                "relay_cpu_us_per_write": 1e6 * (c1 - c0) / hz / max(writes, 1),
            }), flush=True)
    finally:
        server.stop()
        subprocess.run(["rm", "-rf", base])


if __name__ == "__main__":
    sys.exit(main())

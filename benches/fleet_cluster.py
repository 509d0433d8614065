"""The fleet cluster benchmark (benches/run.sh, section `cluster`; issue 28):
`lifesign relay` against three real nats-servers in one JetStream cluster on
127.0.0.1, started with the commands of docs/fleet/compose.yaml (the same
servers the cluster tests run; ports and store folders mapped). Prints JSON
lines for report.py, and each figure on stderr:

  fleet.cluster.latency   a local state change to a remote watcher's line,
                          the watcher on another node than the relay's,
                          through an R3 bucket: median and p99
  fleet.cluster.cpu       the relay's CPU per heartbeat write (N files
                          rewritten once per second for a window)
  fleet.cluster.failover  the relay's node killed (SIGKILL): the time until
                          a change written at the kill is published again,
                          read by `check` through a surviving node
                          (reconnect, republish, a new stream leader when
                          the dead node led), and until a `watch` there
                          prints it

Usage: python3 fleet_cluster.py --server NATS_SERVER --fleet CMD
       [--changes N] [--heartbeats N] [--window S] [--failovers N]
"""

import argparse
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fleet import cpu_ticks, distinct_ports, pct, start_relay, write  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def compose_commands():
    """The `command` of n1, n2 and n3 in docs/fleet/compose.yaml (a flow
    list of double-quoted strings, which is JSON)."""
    text = open(os.path.join(ROOT, "docs", "fleet", "compose.yaml")).read()
    out = []
    for n in ("n1", "n2", "n3"):
        at = text.index("  %s:\n" % n)
        line = next(l for l in text[at:].splitlines() if l.strip().startswith("command: "))
        out.append(json.loads(line.strip()[len("command: "):]))
    return out


def mapped(args, i, routes, port, mport, store):
    """A node's compose command for 127.0.0.1: its own ports and store."""
    def url(u):
        host = u[len("nats://"):].split(":")[0]
        node = int(host[1:]) - 1 if host.startswith("n") and host[1:].isdigit() else i
        return "nats://127.0.0.1:%d" % routes[node]
    out = ["-js", "-sd", store, "-a", "127.0.0.1", "-p", str(port), "-m", str(mport)]
    it = iter(args)
    for a in it:
        if a == "-js":
            continue
        if a in ("-sd", "-p", "-m", "-a"):
            next(it)
        elif a == "--cluster":
            out += [a, url(next(it))]
        elif a == "--routes":
            out += [a, ",".join(url(u) for u in next(it).split(","))]
        else:
            out.append(a)
    return out


class Node:
    def __init__(self, binary, args, port, mport):
        self.binary, self.args, self.port, self.mport = binary, args, port, mport
        self.url = "nats://127.0.0.1:%d" % port
        self.p = None

    def start(self):
        self.p = subprocess.Popen([self.binary] + self.args, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        said = []
        for line in self.p.stderr:
            said.append(line)
            if "Server is ready" in line:
                break
        else:
            raise SystemExit("nats-server %s exited before it was ready (exit %r): %s"
                             % (self.name, self.p.wait(), "".join(said[-5:])))
        threading.Thread(target=lambda: [None for _ in self.p.stderr], daemon=True).start()

    @property
    def name(self):
        return self.args[self.args.index("--server_name") + 1]

    def alive(self):
        return self.p is not None and self.p.poll() is None

    def get(self, path):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.mport, path), timeout=5) as r:
            return json.load(r)

    def kill(self):
        if self.alive():
            self.p.send_signal(signal.SIGKILL)
            self.p.wait()


def stream_leader(node):
    """The server name of the bucket's stream leader, as `node` sees it."""
    for acc in node.get("/jsz?streams=true").get("account_details") or []:
        for st in acc.get("stream_detail") or []:
            if st.get("name") == "KV_lifesign":
                return (st.get("cluster") or {}).get("leader")
    return None


def whole(nodes):
    """Whether every node is up and agrees on JetStream's meta leader, and
    the bucket's stream has a leader and every replica current: a cluster
    that a new `watch` or relay finds ready (a node just restarted catches
    up first; a watch started before that may time out)."""
    def stream(node):
        for acc in node.get("/jsz?streams=true").get("account_details") or []:
            for st in acc.get("stream_detail") or []:
                if st.get("name") == "KV_lifesign":
                    return st.get("cluster") or {}
        return {}

    try:
        leaders = {(n.get("/jsz").get("meta_cluster") or {}).get("leader") for n in nodes}
        if len(leaders) != 1 or not next(iter(leaders)):
            return False
        # Only the stream's leader knows whether its replicas are current.
        leader = next((n for n in nodes if n.name == stream(nodes[0]).get("leader")), None)
        if leader is None:
            return False
        c = stream(leader)
        reps = c.get("replicas") or []
        return c.get("leader") == leader.name and len(reps) == len(nodes) - 1 and all(r.get("current") for r in reps)
    except OSError:
        return False


def meta_leader(nodes):
    """Whether a node names JetStream's meta leader yet. A monitoring port
    that refuses is not ready yet; a node that exited ends the run."""
    for n in nodes:
        if not n.alive():
            raise SystemExit("nats-server %s exited (exit %r)" % (n.name, n.p.poll()))
    try:
        return any((n.get("/jsz").get("meta_cluster") or {}).get("leader") for n in nodes)
    except OSError:
        return False


def until(what, cond, limit=60.0):
    end = time.monotonic() + limit
    while not cond():
        if time.monotonic() > end:
            raise SystemExit("no %s within %.0f s" % (what, limit))
        time.sleep(0.05)


def relay_node(nodes, host):
    """The node the relay of `host` is connected to (by its connection name)."""
    for n in nodes:
        if n.alive():
            conns = n.get("/connz").get("connections") or []
            if any(c.get("name") == "lifesign relay " + host for c in conns):
                return n
    return None


def start_cluster_relay(fleet, nodes, host, d):
    return start_relay(fleet, ",".join(n.url for n in nodes), host, d, ["--replicas", "3"])


class Watch:
    """A remote `lifesign watch`, its lines on a list as they come."""

    def __init__(self, cmd):
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        self.lines = []
        self.errors = []
        threading.Thread(target=lambda: self.errors.extend(self.p.stderr), daemon=True).start()
        self.cv = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            with self.cv:
                self.lines.append((time.perf_counter(), line))
                self.cv.notify_all()

    def wait_for(self, text, limit=60.0):
        """The time of the first line containing `text`."""
        end = time.monotonic() + limit
        with self.cv:
            while True:
                for t, line in self.lines:
                    if text in line:
                        return t
                left = end - time.monotonic()
                if left <= 0:
                    raise SystemExit("the watcher printed no %r: %r (exit %r, stderr %r)"
                                     % (text, self.lines[-3:], self.p.poll(), "".join(self.errors[-3:])))
                self.cv.wait(left)

    def stop(self):
        self.p.kill()
        self.p.wait()


def say(msg):
    print("cluster: " + msg, file=sys.stderr, flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--fleet", required=True)
    ap.add_argument("--changes", type=int, default=200)
    ap.add_argument("--heartbeats", type=int, default=1000)
    ap.add_argument("--window", type=float, default=10.0)
    ap.add_argument("--failovers", type=int, default=3)
    a = ap.parse_args()
    fleet = shlex.split(a.fleet)
    base = tempfile.mkdtemp(prefix="lifesign-cluster-bench-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    ports = distinct_ports(9)
    routes = ports[:3]
    nodes = []
    for i, args in enumerate(compose_commands()):
        port, mport = ports[3 + 2 * i], ports[4 + 2 * i]
        nodes.append(Node(a.server, mapped(args, i, routes, port, mport, os.path.join(base, "js%d" % i)), port, mport))
    relays = []
    try:
        for n in nodes:
            n.start()
        until("JetStream meta leader", lambda: meta_leader(nodes))

        # ---- latency, through the cluster
        d = os.path.join(base, "lat")
        os.mkdir(d)
        path = os.path.join(d, "lat.json")
        write(path, "ready", 1, "start", interval_ms=60000)
        relay = start_cluster_relay(fleet, nodes, "bench", d)
        relays.append(relay)
        until("the relay's node", lambda: relay_node(nodes, "bench") is not None)
        other = next(n for n in nodes if n is not relay_node(nodes, "bench"))
        w = Watch(fleet + ["watch", other.url + "/lifesign/bench.lat"])
        w.wait_for("start")
        lat = []
        for i in range(a.changes):
            t0 = time.perf_counter()
            write(path, "ready", i + 2, "m%d." % i, interval_ms=60000)
            lat.append((w.wait_for("m%d." % i) - t0) * 1e6)
        w.stop()
        out = {"kind": "fleet", "id": "fleet.cluster.latency", "changes": a.changes,
               "median_us": statistics.median(lat), "p99_us": pct(lat, 0.99)}
        print(json.dumps(out), flush=True)
        say("change -> remote watcher on another node: median %.0f µs, p99 %.0f µs (%d changes)"
            % (out["median_us"], out["p99_us"], a.changes))

        # ---- the relay's CPU per heartbeat
        d = os.path.join(base, "load")
        os.mkdir(d)
        paths = [os.path.join(d, "w%d.json" % i) for i in range(a.heartbeats)]
        for p in paths:
            write(p, "ready", 1)
        load = start_cluster_relay(fleet, nodes, "load", d)
        relays.append(load)
        seq, writes, t_start, c0 = 1, 0, None, None
        next_round = time.perf_counter()
        while True:
            now = time.perf_counter()
            if now < next_round:
                time.sleep(next_round - now)
            if seq == 2:
                t_start, c0, writes = time.perf_counter(), cpu_ticks(load.pid), 0
            if t_start is not None and time.perf_counter() - t_start >= a.window:
                break
            seq += 1
            for p in paths:
                write(p, "ready", seq)
            writes += len(paths)
            next_round = max(next_round + 1.0, time.perf_counter())
        elapsed = time.perf_counter() - t_start
        c1 = cpu_ticks(load.pid)
        load.kill()
        load.wait()
        hz = os.sysconf("SC_CLK_TCK")
        out = {"kind": "fleet", "id": "fleet.cluster.cpu", "heartbeats": a.heartbeats, "window_s": elapsed,
               "writes": writes, "relay_cpu_us_per_write": 1e6 * (c1 - c0) / hz / max(writes, 1),
               "relay_cpu_pct": 100.0 * (c1 - c0) / hz / elapsed}
        print(json.dumps(out), flush=True)
        say("relay CPU per heartbeat write: %.1f µs (%d heartbeats, %.1f%% of a core)"
            % (out["relay_cpu_us_per_write"], a.heartbeats, out["relay_cpu_pct"]))

        # ---- failover: kill the relay's node, time until a change is through
        times, seen, led = [], [], 0
        for trial in range(a.failovers):
            until("the cluster whole, its stream replicas current", lambda: whole(nodes))
            victim = relay_node(nodes, "bench")
            if victim is None:
                until("the relay's node", lambda: relay_node(nodes, "bench") is not None)
                victim = relay_node(nodes, "bench")
            survivor = next(n for n in nodes if n.alive() and n is not victim)
            w = Watch(fleet + ["watch", survivor.url + "/lifesign/bench.lat"])
            w.wait_for("ready")
            led += stream_leader(survivor) == victim.name
            mark = "failover%d." % trial
            key = survivor.url + "/lifesign/bench.lat"
            t0 = time.perf_counter()
            victim.kill()
            write(path, "ready", 100000 + trial, mark, interval_ms=60000)
            # Published again: a check through a surviving node reads it.
            end = time.monotonic() + 60
            while True:
                got = subprocess.run(fleet + ["check", key, "--json"], capture_output=True, text=True)
                if got.returncode == 0 and json.loads(got.stdout).get("message") == mark:
                    times.append(time.perf_counter() - t0)
                    break
                if time.monotonic() > end:
                    raise SystemExit("the relay did not publish again within 60 s: %r" % got.stderr)
                time.sleep(0.02)
            seen.append(w.wait_for(mark) - t0)
            w.stop()
            # The node back; the next trial waits for the cluster whole.
            victim.start()
        out = {"kind": "fleet", "id": "fleet.cluster.failover", "trials": len(times),
               "median_s": statistics.median(times), "max_s": max(times),
               "watch_median_s": statistics.median(seen), "watch_max_s": max(seen),
               "trials_killing_the_stream_leader": led}
        print(json.dumps(out), flush=True)
        say("failover (relay's node killed -> the change read through a surviving node): median %.2f s, max %.2f s; "
            "seen by a watch there: median %.2f s, max %.2f s (%d trials, %d of them killing the stream leader)"
            % (out["median_s"], out["max_s"], out["watch_median_s"], out["watch_max_s"], len(times), led))
    finally:
        for r in relays:
            if r.poll() is None:
                r.kill()
                r.wait()
        for n in nodes:
            n.kill()
        subprocess.run(["rm", "-rf", base])


if __name__ == "__main__":
    sys.exit(main())

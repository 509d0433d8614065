//! The fleet commands against a real NATS server (nats-server 2.15 with
//! JetStream, on 127.0.0.1): `make test-fleet` installs it, pinned and
//! hash-checked, and names it in LIFESIGN_NATS_SERVER. Without that
//! variable these tests say so and pass (plain `cargo test`).

mod common;

use common::TempDir;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A hang guard, never a measurement: every wait in these tests ends on
/// an event long before it.
const GUARD: Duration = Duration::from_secs(60);

/// A loopback port free now (bound, then closed).
/// A port for a server to listen on, free now, and outside the kernel's
/// range of ephemeral ports (`net.ipv4.ip_local_port_range`): a port from
/// that range may be taken by any outgoing connection (a cluster's routes,
/// a client) before the server binds it.
fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let (low, _) = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| {
            let mut it = t.split_whitespace().map(|n| n.parse::<u32>().ok());
            Some((it.next()??, it.next()??))
        })
        .unwrap_or((32768, 60999));
    // Below the range: 10000 ports, from a start of this process's own.
    let base = low.saturating_sub(10_000).max(1024);
    if low < base + 100 {
        return TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
    }
    let start = std::process::id() * 7919;
    for _ in 0..10_000 {
        let port = base + (start + NEXT.fetch_add(1, Ordering::Relaxed)) % (low - base);
        if TcpListener::bind(("127.0.0.1", port as u16)).is_ok() {
            return port as u16;
        }
    }
    panic!("no free port below the ephemeral range");
}

fn server_binary() -> Option<PathBuf> {
    let p = std::env::var_os("LIFESIGN_NATS_SERVER").map(PathBuf::from);
    if p.is_none() {
        eprintln!("LIFESIGN_NATS_SERVER is not set: skipped (run `make test-fleet`)");
    }
    p
}

/// A nats-server with JetStream on a free loopback port.
struct Server {
    bin: PathBuf,
    port: u16,
    /// The HTTP monitoring port (`/connz`).
    monitor: u16,
    store: TempDir,
    token: Option<String>,
    /// More arguments (a cluster node's).
    extra: Vec<String>,
    child: Option<Child>,
}

impl Server {
    fn start(bin: PathBuf, token: Option<&str>) -> Server {
        let mut s = Server {
            bin,
            port: free_port(),
            monitor: free_port(),
            store: TempDir::new("fleet-js"),
            token: token.map(str::to_string),
            extra: Vec::new(),
            child: None,
        };
        s.restart();
        s
    }

    /// A server that is not started yet.
    fn unstarted(bin: PathBuf) -> Server {
        Server {
            bin,
            port: free_port(),
            monitor: free_port(),
            store: TempDir::new("fleet-js"),
            token: None,
            extra: Vec::new(),
            child: None,
        }
    }

    /// A JSON document of the monitoring port (`/connz`, `/jsz?...`).
    fn monitoring(&self, path: &str) -> serde_json::Value {
        use std::io::Write;
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.monitor)).unwrap();
        write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        let json = &body[body.find("\r\n\r\n").unwrap() + 4..];
        serde_json::from_str(json).unwrap()
    }

    /// Starts it (again, on the same port and store) and returns when it
    /// says it is ready.
    fn restart(&mut self) {
        let mut cmd = Command::new(&self.bin);
        cmd.args(["-js", "-sd"])
            .arg(self.store.path("js"))
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-m", &self.monitor.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(t) = &self.token {
            cmd.args(["--auth", t]);
        }
        cmd.args(&self.extra);
        let mut child = cmd.spawn().unwrap();
        let err = child.stderr.take().unwrap();
        let lines = lines_of(err);
        wait_line(
            &lines,
            |l| l.contains("Server is ready"),
            "nats-server ready",
        );
        // Keep draining its log so that it never blocks on a full pipe.
        std::thread::spawn(move || while lines.recv().is_ok() {});
        self.child = Some(child);
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: signals our own child.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            c.wait().unwrap();
        }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// How many clients are connected, by the server's own count.
    fn connections(&self) -> u64 {
        self.monitoring("/connz")["num_connections"]
            .as_u64()
            .unwrap()
    }

    /// How many consumers the bucket's stream has: each key watch (a
    /// `watch`, a remote `wait`) makes one once it follows its key.
    fn consumers(&self) -> u64 {
        let jsz = self.monitoring("/jsz?streams=true");
        let accounts = jsz["account_details"].as_array().cloned().unwrap_or_default();
        accounts
            .iter()
            .flat_map(|a| a["stream_detail"].as_array().cloned().unwrap_or_default())
            .filter(|s| s["name"] == "KV_lifesign")
            .map(|s| s["state"]["consumer_count"].as_u64().unwrap_or(0))
            .sum()
    }

    fn key_url(&self, key: &str) -> String {
        format!("{}/lifesign/{key}", self.url())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The lines of a pipe, as they come, on a channel.
fn lines_of(r: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(r).lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

/// Reads lines until one matches; panics with what was seen at the guard.
fn wait_line(rx: &mpsc::Receiver<String>, want: impl Fn(&str) -> bool, what: &str) -> String {
    let end = Instant::now() + GUARD;
    let mut seen = Vec::new();
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) if want(&l) => return l,
            Ok(l) => seen.push(l),
            Err(e) => panic!("no {what} ({e:?}); saw {seen:#?}"),
        }
    }
}

/// A running `relay`, with its log.
struct Relay {
    child: Child,
    log: mpsc::Receiver<String>,
}

impl Relay {
    /// Starts a relay and returns once its first pass is published.
    fn start(server: &Server, host_id: &str, dir: &Path, extra: &[&str]) -> Relay {
        Relay::start_dirs(server, host_id, &[dir], extra)
    }

    /// A relay of several folders.
    fn start_dirs(server: &Server, host_id: &str, dirs: &[&Path], extra: &[&str]) -> Relay {
        let mut child = Command::new(common::cli())
            .args(["relay", "--server", &server.url(), "--host-id", host_id])
            .args(extra)
            .args(dirs)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = lines_of(child.stderr.take().unwrap());
        wait_line(&log, |l| l.contains("publishing"), "relay start");
        Relay { child, log }
    }

    fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a fleet command to its end (with the hang guard).
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(common::cli());
    cmd.args(args)
        .env_remove("LIFESIGN_NATS_TOKEN")
        .env_remove("LIFESIGN_NATS_CREDS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        if rx.recv_timeout(GUARD).is_err() {
            // SAFETY: the guard kills a hung child of ours.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    });
    let out = child.wait_with_output().unwrap();
    let _ = tx.send(());
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A `watch` in the background, its lines on a channel.
struct Watcher {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Watcher {
    fn start(url: &str) -> Watcher {
        let mut child = Command::new(common::cli())
            .args(["watch", url])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let out: ChildStdout = child.stdout.take().unwrap();
        // Each line is `HH:MM:SS.mmm <the report's line>`, as for a file;
        // the tests read the report.
        let timed = lines_of(out);
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in timed {
                let (at, report) = l
                    .split_once(' ')
                    .expect("a watch line starts with the time");
                assert_eq!(at.len(), "00:00:00.000".len(), "{l}");
                if tx.send(report.to_string()).is_err() {
                    break;
                }
            }
        });
        Watcher { child, lines }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_remote_wait_returns_when_a_real_emitter_becomes_ready() {
    let Some(bin) = server_binary() else { return };
    let server = Server::start(bin, None);
    let dir = TempDir::new("fleet-wait");
    let _relay = Relay::start(&server, "web1", &dir.path(""), &[]);
    // The wait starts before the emitter exists: a missing key keeps it waiting.
    let url = server.key_url("web1.app");
    let waiter = std::thread::spawn(move || run(&["wait", &url, "--timeout", "60s"], &[]));
    let mut emitter = common::Child::emitter(&dir.path("app.json"), 200);
    assert_eq!(emitter.send("ready listening"), "ok");
    let out = waiter.join().unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.starts_with("alive:") && stdout.contains("state ready"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("pid {}", emitter.pid())),
        "{stdout}"
    );
}

#[test]
fn kill_9_of_the_emitter_reaches_a_remote_watcher_as_process_gone() {
    let Some(bin) = server_binary() else { return };
    let server = Server::start(bin, None);
    let dir = TempDir::new("fleet-gone");
    let mut emitter = common::Child::emitter(&dir.path("api.json"), 200);
    assert_eq!(emitter.send("ready"), "ok");
    let _relay = Relay::start(&server, "web1", &dir.path(""), &[]);
    let w = Watcher::start(&server.key_url("web1.api"));
    wait_line(
        &w.lines,
        |l| l.starts_with("alive:") && l.contains("state ready"),
        "alive",
    );
    emitter.kill_and_leave_zombie();
    let l = wait_line(
        &w.lines,
        |l| !l.starts_with("alive:"),
        "a change after the kill",
    );
    assert!(l.starts_with("process_gone:"), "{l}");
    let out = run(&["check", &server.key_url("web1.api")], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).starts_with("process_gone"));
}

#[test]
fn a_killed_relays_keys_expire_and_remote_check_says_so() {
    let Some(bin) = server_binary() else { return };
    let server = Server::start(bin, None);
    let dir = TempDir::new("fleet-expire");
    // interval 200 ms: stale after 600 ms, a time limit of 1 s.
    let mut emitter = common::Child::emitter(&dir.path("job.json"), 200);
    assert_eq!(emitter.send("ready"), "ok");
    let mut relay = Relay::start(&server, "web1", &dir.path(""), &[]);
    let w = Watcher::start(&server.key_url("web1.job"));
    wait_line(&w.lines, |l| l.starts_with("alive:"), "alive");
    relay.kill9();
    // The emitter still beats, but nobody relays it: the server expires
    // the key and pushes the marker to the watcher.
    let l = wait_line(&w.lines, |l| !l.starts_with("alive:"), "the expiry");
    assert!(l.starts_with("stale") && l.contains("expired"), "{l}");
    let out = run(&["check", &server.key_url("web1.job")], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("stale") && stdout.contains("expired"),
        "{stdout}"
    );
}

#[test]
fn after_a_server_restart_the_relay_reconnects_and_republishes() {
    let Some(bin) = server_binary() else { return };
    let mut server = Server::start(bin, None);
    let dir = TempDir::new("fleet-restart");
    let mut emitter = common::Child::emitter(&dir.path("db.json"), 200);
    assert_eq!(emitter.send("ready before"), "ok");
    let relay = Relay::start(&server, "web1", &dir.path(""), &[]);
    let out = run(&["check", &server.key_url("web1.db")], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));

    server.stop();
    wait_line(
        &relay.log,
        |l| l.contains("disconnected"),
        "the relay's disconnect",
    );
    // A change while the server is down.
    assert_eq!(emitter.send("ready after"), "ok");
    server.restart();
    wait_line(
        &relay.log,
        |l| l.contains("reconnected"),
        "the relay's reconnect",
    );
    let w = Watcher::start(&server.key_url("web1.db"));
    wait_line(
        &w.lines,
        |l| l.starts_with("alive:") && l.contains("message \"after\""),
        "the change made while the server was down",
    );
}

/// A v1 heartbeat of this (living) process, written atomically.
fn write_heartbeat(dir: &Path, name: &str, state: &str, seq: u64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let body = format!(
        "{{\"v\":1,\"pid\":{},\"state\":\"{state}\",\"seq\":{seq},\"updated_at_ms\":{now},\"interval_ms\":600000}}",
        std::process::id()
    );
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, body).unwrap();
    std::fs::rename(&tmp, dir.join(format!("{name}.json"))).unwrap();
}

/// Scans until `done` holds for the rows (each scan is an event-free
/// snapshot, so this polls, under the hang guard).
fn scan_until(server: &Server, done: impl Fn(&[serde_json::Value]) -> bool, what: &str) {
    let end = Instant::now() + GUARD;
    loop {
        let out = run(
            &["scan", &format!("{}/lifesign", server.url()), "--json"],
            &[],
        );
        assert_ne!(out.status.code(), Some(2), "{}", text(&out.stderr));
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        if done(&rows) {
            return;
        }
        assert!(Instant::now() < end, "{what}: {} rows", rows.len());
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn three_relays_of_a_thousand_heartbeats_each_are_all_seen_with_every_change() {
    let Some(bin) = server_binary() else { return };
    let server = Server::start(bin, None);
    let dirs: Vec<TempDir> = (0..3)
        .map(|i| TempDir::new(&format!("fleet-many{i}")))
        .collect();
    for d in &dirs {
        for n in 0..1000 {
            write_heartbeat(&d.path(""), &format!("w{n}"), "starting", 1);
        }
    }
    let _relays: Vec<Relay> = dirs
        .iter()
        .enumerate()
        .map(|(i, d)| Relay::start(&server, &format!("host{i}"), &d.path(""), &[]))
        .collect();
    let count = |state: &'static str| {
        move |rows: &[serde_json::Value]| {
            rows.len() == 3000
                && rows
                    .iter()
                    .all(|r| r["verdict"] == "alive" && r["state"] == state)
        }
    };
    scan_until(&server, count("starting"), "3,000 starting heartbeats");
    for d in &dirs {
        for n in 0..1000 {
            write_heartbeat(&d.path(""), &format!("w{n}"), "ready", 2);
        }
    }
    scan_until(&server, count("ready"), "3,000 changes to ready");
    let out = run(&["scan", &format!("{}/lifesign", server.url())], &[]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    for h in ["host0", "host1", "host2"] {
        assert_eq!(
            stdout.lines().filter(|l| l.contains(h)).count(),
            1000,
            "{h}"
        );
    }
}

#[test]
fn token_authentication_admits_the_right_token_and_refuses_a_wrong_one_with_exit_2() {
    let Some(bin) = server_binary() else { return };
    let server = Server::start(bin, Some("s3cret"));
    let dir = TempDir::new("fleet-auth");
    let mut emitter = common::Child::emitter(&dir.path("app.json"), 200);
    assert_eq!(emitter.send("ready"), "ok");
    let _relay = Relay::start(&server, "web1", &dir.path(""), &["--token", "s3cret"]);
    let url = server.key_url("web1.app");

    let ok = run(&["check", &url], &[("LIFESIGN_NATS_TOKEN", "s3cret")]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    let in_url = format!("nats://s3cret@127.0.0.1:{}/lifesign/web1.app", server.port);
    assert_eq!(run(&["check", &in_url], &[]).status.code(), Some(0));

    for env in [&[("LIFESIGN_NATS_TOKEN", "wrong")][..], &[]] {
        for cmd in ["check", "wait", "watch"] {
            let out = run(&[cmd, &url], env);
            assert_eq!(out.status.code(), Some(2), "{cmd} {env:?}");
            assert!(
                text(&out.stderr).contains("authorization"),
                "{cmd}: {}",
                text(&out.stderr)
            );
        }
    }
    let d = dir.path("");
    let d = d.to_str().unwrap();
    let bad = run(
        &["relay", "--server", &server.url(), "--token", "wrong", d],
        &[],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("authorization"),
        "{}",
        text(&bad.stderr)
    );
}

/// Every command that reaches a server: the readers of a key and of a
/// bucket, and a relay of folder `dir` to `base`.
fn every_remote_command(key: &str, bucket: &str, base: &str, dir: &str) -> Vec<Vec<String>> {
    [
        vec!["check", key],
        vec!["wait", key],
        vec!["watch", key],
        vec!["scan", bucket],
        vec!["relay", "--server", base, dir],
    ]
    .into_iter()
    .map(|a| a.into_iter().map(String::from).collect())
    .collect()
}

#[test]
fn an_unreachable_server_exits_2_with_a_clear_error_never_1() {
    // A port with nothing listening: bound, then closed.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("nats://127.0.0.1:{port}");
    let key = format!("{base}/lifesign/web1.app");
    let dir = TempDir::new("fleet-unreachable");
    let bucket = format!("{base}/lifesign");
    let d = dir.path("");
    let d = d.to_str().unwrap();
    for args in every_remote_command(&key, &bucket, &base, d) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(&args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!("cannot connect to {base}")),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_bucket_that_does_not_exist_cannot_tell_exit_2() {
    let Some(bin) = server_binary() else { return };
    let server = Server::start(bin, None);
    let out = run(
        &["check", &format!("{}/nosuch/web1.app", server.url())],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no bucket \"nosuch\""),
        "{}",
        text(&out.stderr)
    );
}

/// A TCP server that accepts connections and never says a word; each
/// accepted connection is announced on the channel (and kept open).
fn silent_server() -> (u16, mpsc::Receiver<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        for s in l.incoming() {
            kept.push(s);
            if tx.send(()).is_err() {
                break;
            }
        }
    });
    (port, rx)
}

#[test]
fn a_server_that_accepts_and_never_speaks_is_cannot_tell_and_a_signal_ends_the_wait_for_it() {
    let (port, accepted) = silent_server();
    let base = format!("nats://127.0.0.1:{port}");
    let key = format!("{base}/lifesign/web1.app");
    let bucket = format!("{base}/lifesign");
    let dir = TempDir::new("fleet-silent");
    let d = dir.path("");
    let d = d.to_str().unwrap();
    let cases = every_remote_command(&key, &bucket, &base, d);
    for args in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(&args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!("cannot connect to {base}")) && err.contains("no answer"),
            "{args:?}: {err}"
        );
    }
    // SIGTERM while connecting: a reader is interrupted (130, as a local
    // wait), a relay ends as it does on SIGTERM (0).
    while accepted.try_recv().is_ok() {}
    for (args, code) in [(&cases[0], 130), (&cases[1], 130), (&cases[4], 0)] {
        let child = Command::new(common::cli())
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        accepted.recv_timeout(GUARD).expect("the command connects");
        // SAFETY: signals our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn credentials_in_a_url_are_never_printed() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = TempDir::new("fleet-secret");
    let d = dir.path("");
    let d = d.to_str().unwrap();
    let base = format!("nats://s3cret@127.0.0.1:{port}");
    let key = format!("{base}/lifesign/web1.app");
    let bad = format!("{base}/bad.bucket/web1.app");
    let cases: [&[&str]; 4] = [
        &["check", &key],
        &["check", &bad],
        &["relay", "--server", &base, d],
        &["relay", "--server", &base, "--bucket", "bad.bucket", d],
    ];
    for args in cases {
        let out = run(args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            !err.contains("s3cret") && err.contains("127.0.0.1"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_server_restarted_without_its_store_gets_its_bucket_and_keys_back_from_the_relay() {
    let Some(bin) = server_binary() else { return };
    let mut server = Server::start(bin, None);
    let dir = TempDir::new("fleet-empty-store");
    let mut emitter = common::Child::emitter(&dir.path("db.json"), 200);
    assert_eq!(emitter.send("ready"), "ok");
    let relay = Relay::start(&server, "web1", &dir.path(""), &[]);
    let url = server.key_url("web1.db");
    assert_eq!(run(&["check", &url], &[]).status.code(), Some(0));
    server.stop();
    std::fs::remove_dir_all(server.store.path("js")).unwrap();
    server.restart();
    wait_line(&relay.log, |l| l.contains("reconnected"), "the reconnect");
    // The relay makes the bucket again and republishes into it (polled
    // under the hang guard: each check is a snapshot).
    let end = Instant::now() + GUARD;
    loop {
        let out = run(&["check", &url], &[]);
        if out.status.code() == Some(0) {
            break;
        }
        assert!(Instant::now() < end, "{}", text(&out.stderr));
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_killed_server_ends_a_remote_wait_and_watch_with_cannot_tell() {
    let Some(bin) = server_binary() else { return };
    let mut server = Server::start(bin, None);
    let dir = TempDir::new("fleet-killed-server");
    let mut emitter = common::Child::emitter(&dir.path("api.json"), 200);
    assert_eq!(emitter.send("starting"), "ok");
    let _relay = Relay::start(&server, "web1", &dir.path(""), &[]);
    let url = server.key_url("web1.api");
    let mut w = Watcher::start(&url);
    wait_line(&w.lines, |l| l.starts_with("alive:"), "alive");
    // A wait for a start that never ends, with no timeout of its own.
    let wait_url = url.clone();
    let waiter = std::thread::spawn(move || run(&["wait", &wait_url], &[]));
    // The wait prints only at its end: the server's own counts say when it
    // is following the key. Client connections (relay, watch, wait), then
    // the bucket's consumers (the watch's and the wait's): a server killed
    // while the wait still connects is "cannot connect", not this test.
    let watching = server.consumers();
    let end = Instant::now() + GUARD;
    while server.connections() < 3 || server.consumers() <= watching {
        assert!(Instant::now() < end, "the wait never followed the key");
        std::thread::sleep(Duration::from_millis(50));
    }
    // After its watch, the wait reads the key's entry once (one request).
    std::thread::sleep(Duration::from_millis(300));
    let mut c = server.child.take().unwrap();
    c.kill().unwrap();
    c.wait().unwrap();
    let out = waiter.join().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(
        err.contains("lost the server") && err.contains("cannot tell"),
        "{err}"
    );
    let status = exit_of(&mut w.child);
    assert_eq!(
        status.code(),
        Some(2),
        "watch ends: it cannot tell any more"
    );
}

/// Waits for a child's exit under the hang guard.
fn exit_of(c: &mut Child) -> std::process::ExitStatus {
    let end = Instant::now() + GUARD;
    loop {
        if let Some(s) = c.try_wait().unwrap() {
            return s;
        }
        assert!(Instant::now() < end, "pid {} never ended", c.id());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_removed_heartbeat_leaves_scan_and_reads_missing() {
    let Some(bin) = server_binary() else { return };
    let server = Server::start(bin, None);
    let dir = TempDir::new("fleet-removed");
    write_heartbeat(&dir.path(""), "gone", "ready", 1);
    write_heartbeat(&dir.path(""), "kept", "ready", 1);
    let _relay = Relay::start(&server, "web1", &dir.path(""), &[]);
    scan_until(&server, |rows| rows.len() == 2, "both heartbeats");
    std::fs::remove_file(dir.path("gone.json")).unwrap();
    scan_until(
        &server,
        |rows| rows.len() == 1 && rows[0]["file"].as_str().unwrap().ends_with("web1.kept"),
        "the removed one left the scan",
    );
    let out = run(&["scan", &format!("{}/lifesign", server.url())], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let out = run(&["check", &server.key_url("web1.gone")], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).starts_with("missing"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn two_relays_with_one_host_id_each_warn_about_the_other() {
    let Some(bin) = server_binary() else { return };
    let server = Server::start(bin, None);
    let (a, b) = (TempDir::new("fleet-twin-a"), TempDir::new("fleet-twin-b"));
    let mut ea = common::Child::emitter(&a.path("app.json"), 200);
    let mut eb = common::Child::emitter(&b.path("app.json"), 200);
    assert_eq!(ea.send("ready"), "ok");
    assert_eq!(eb.send("failed"), "ok");
    let ra = Relay::start(&server, "web1", &a.path(""), &[]);
    let rb = Relay::start(&server, "web1", &b.path(""), &[]);
    for (r, other) in [(&ra, rb.child.id()), (&rb, ra.child.id())] {
        let l = wait_line(&r.log, |l| l.contains("warning"), "the warning");
        assert!(
            l.contains("key web1.app") && l.contains(&format!("pid {other}")),
            "{l}"
        );
    }
}

#[test]
fn a_relay_whose_stderr_is_a_broken_pipe_goes_on_relaying() {
    let Some(bin) = server_binary() else { return };
    let mut server = Server::start(bin, None);
    let dir = TempDir::new("fleet-epipe");
    let mut emitter = common::Child::emitter(&dir.path("app.json"), 200);
    assert_eq!(emitter.send("ready before"), "ok");
    let mut child = Command::new(common::cli())
        .args(["relay", "--server", &server.url(), "--host-id", "web1"])
        .arg(dir.path(""))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    err.read_line(&mut first).unwrap();
    assert!(first.contains("publishing"), "{first}");
    drop(err); // the log's reader is gone: the next line meets EPIPE
    server.stop(); // "disconnected": a line to say
    assert_eq!(emitter.send("ready after"), "ok");
    server.restart(); // "reconnected": another
    let w = Watcher::start(&server.key_url("web1.app"));
    wait_line(
        &w.lines,
        |l| l.starts_with("alive:") && l.contains("message \"after\""),
        "the change relayed after the log broke",
    );
    assert!(child.try_wait().unwrap().is_none(), "the relay ended");
    let _ = child.kill();
    let _ = child.wait();
}

/// Publishes one message as any NATS client may, over the protocol
/// itself: `ttl` becomes a `Nats-TTL` header.
fn publish_raw(server: &Server, subject: &str, payload: &str, ttl: Option<&str>) {
    let ttl = ttl.map(|t| format!("Nats-TTL: {t}"));
    publish_with(server, subject, payload, ttl.as_slice());
}

/// Publishes one message with these header lines (`Name: value`).
fn publish_with(server: &Server, subject: &str, payload: &str, headers: &[String]) {
    use std::io::Write;
    let s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(GUARD)).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut w = s;
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert!(line.starts_with("INFO"), "{line}");
    let mut msg = String::from("CONNECT {\"verbose\":false,\"headers\":true}\r\n");
    if headers.is_empty() {
        msg += &format!("PUB {subject} {}\r\n{payload}\r\n", payload.len());
    } else {
        let h = format!("NATS/1.0\r\n{}\r\n\r\n", headers.join("\r\n"));
        let total = h.len() + payload.len();
        msg += &format!("HPUB {subject} {} {total}\r\n{h}{payload}\r\n", h.len());
    }
    msg += "PING\r\n";
    w.write_all(msg.as_bytes()).unwrap();
    line.clear();
    r.read_line(&mut line).unwrap();
    assert_eq!(line, "PONG\r\n");
}

/// A value as a relay of host `web9` writes it, with `state`.
fn fleet_value(name: &str, state: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    serde_json::json!({
        "schema": "lifesign.fleet/1", "host_id": "web9", "name": name,
        "file": format!("/run/hb/{name}.json"), "verdict": "alive", "detail": "",
        "state": state, "pid": 1, "seq": 1, "progress": 0, "progress_at_ms": null,
        "updated_at_ms": now, "age_ms": 0, "interval_ms": 1000, "max_age_ms": 3000,
        "message": "", "shape": "v1", "ttl_s": 60, "observed_at_ms": now,
        "relay": {"host_id": "web9", "hostname": "x", "pid": 1, "version": "0.2.0",
                  "started_at_ms": now},
        "record": null
    })
    .to_string()
}

/// The reader's rules for what it does not know (docs/FLEET.md, "What a
/// reader does with what it does not know"): check, scan and watch agree.
fn reads_alike(server: &Server, key: &str, want: &str, detail: &str, listed: bool) {
    let url = server.key_url(key);
    let out = run(&["check", &url, "--json"], &[]);
    assert_eq!(out.status.code(), Some(1), "{key}: {}", text(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["verdict"], want, "{key}: {r}");
    assert!(r["detail"].as_str().unwrap().contains(detail), "{key}: {r}");
    let out = run(
        &["scan", &format!("{}/lifesign", server.url()), "--json"],
        &[],
    );
    assert!(
        out.status.code() == Some(1) || !listed,
        "{}",
        text(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["file"].as_str().unwrap().ends_with(&format!("/{key}")));
    match row {
        Some(row) => {
            assert!(listed, "{key} listed: {row}");
            assert_eq!(row["verdict"], want, "{row}");
        }
        None => assert!(!listed, "{key} not listed: {rows}"),
    }
    let mut w = Watcher::start(&url);
    let line = wait_line(&w.lines, |_| true, "a watch line");
    assert!(line.starts_with(want), "{key}: {line}");
    let _ = w.child.kill();
}

#[test]
fn a_reader_judges_unknown_states_unknown_markers_and_deletes_by_its_rules() {
    let Some(bin) = server_binary() else { return };
    let server = Server::start(bin, None);
    let dir = TempDir::new("fleet-unknown");
    write_heartbeat(&dir.path(""), "api", "ready", 1);
    let _relay = Relay::start(&server, "web1", &dir.path(""), &[]); // makes the bucket
    let ttl = ["Nats-TTL: 60".to_string()];
    // A state this reader does not know: invalid, never alive.
    publish_with(
        &server,
        "$KV.lifesign.web9.paused",
        &fleet_value("paused", "paused"),
        &ttl,
    );
    reads_alike(
        &server,
        "web9.paused",
        "invalid",
        "unknown state \"paused\"",
        true,
    );
    // A marker of a kind it does not know, by operation or by reason:
    // invalid for that key, and every other key still reads.
    publish_with(
        &server,
        "$KV.lifesign.web9.frob",
        "",
        &["KV-Operation: FROB".into()],
    );
    reads_alike(
        &server,
        "web9.frob",
        "invalid",
        "an unknown marker (KV-Operation: FROB)",
        true,
    );
    publish_with(
        &server,
        "$KV.lifesign.web9.odd",
        "",
        &["Nats-Marker-Reason: Odd".into()],
    );
    reads_alike(
        &server,
        "web9.odd",
        "invalid",
        "an unknown marker (Nats-Marker-Reason: Odd)",
        true,
    );
    let out = run(&["check", &server.key_url("web1.api")], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    // A delete, by any client: missing, and left out of scan.
    publish_with(
        &server,
        "$KV.lifesign.web9.gone",
        &fleet_value("gone", "ready"),
        &ttl,
    );
    publish_with(
        &server,
        "$KV.lifesign.web9.gone",
        "",
        &["KV-Operation: DEL".into()],
    );
    reads_alike(
        &server,
        "web9.gone",
        "missing",
        "the heartbeat file is gone",
        false,
    );
    // A purge: expired, as a key no relay renewed.
    publish_with(
        &server,
        "$KV.lifesign.web9.purged",
        "",
        &["KV-Operation: PURGE".into()],
    );
    reads_alike(
        &server,
        "web9.purged",
        "stale",
        "expired on the server",
        true,
    );
}

#[test]
fn a_value_without_its_time_limit_reads_invalid_never_alive_forever() {
    let Some(bin) = server_binary() else { return };
    let server = Server::start(bin, None);
    let dir = TempDir::new("fleet-unlimited");
    let _relay = Relay::start(&server, "web1", &dir.path(""), &[]); // makes the bucket
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let value = serde_json::json!({
        "schema": "lifesign.fleet/1", "host_id": "web9", "name": "fake",
        "file": "/run/hb/fake.json", "verdict": "alive", "detail": "",
        "state": "ready", "pid": 1, "seq": 1, "progress": 0, "progress_at_ms": null,
        "updated_at_ms": now, "age_ms": 0, "interval_ms": 1000, "max_age_ms": 3000,
        "message": "", "shape": "v1", "ttl_s": 3, "observed_at_ms": now,
        "relay": {"host_id": "web9", "hostname": "x", "pid": 1, "version": "0.2.0",
                  "started_at_ms": now},
        "record": null
    })
    .to_string();
    let url = server.key_url("web9.fake");
    publish_raw(&server, "$KV.lifesign.web9.fake", &value, None);
    let out = run(&["check", &url], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("invalid") && stdout.contains("no time limit"),
        "{stdout}"
    );
    let out = run(&["scan", &format!("{}/lifesign", server.url())], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).starts_with("invalid"),
        "{}",
        text(&out.stdout)
    );
    // The same value with the time limit it states reads as published.
    publish_raw(&server, "$KV.lifesign.web9.fake", &value, Some("3"));
    let out = run(&["check", &url], &[]);
    assert!(
        text(&out.stdout).starts_with("alive"),
        "{}",
        text(&out.stdout)
    );
}

/// The path of a file of the repository.
fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The `command` of service `n{i+1}` of docs/fleet/compose.yaml (one flow
/// list of double-quoted strings, which is JSON), for nats-server on
/// 127.0.0.1: `nodes` are the route ports of the three; the client and
/// monitoring ports and the store folder are the [`Server`]'s own
/// (`-p`, `-m`, `-sd` dropped; `-js` required, and given by the Server).
fn compose_node_args(i: usize, routes: &[u16]) -> Vec<String> {
    let compose = std::fs::read_to_string(repo_file("docs/fleet/compose.yaml")).unwrap();
    let service = format!("  n{}:\n", i + 1);
    let at = compose
        .find(&service)
        .unwrap_or_else(|| panic!("no {service:?} in compose.yaml"));
    let line = compose[at..]
        .lines()
        .find_map(|l| l.trim().strip_prefix("command: "))
        .expect("a command line");
    let args: Vec<String> = serde_json::from_str(line).unwrap();
    let host = |u: &str| -> String {
        // nats://nN:6222 -> that node's route port; nats://0.0.0.0:6222 -> its own.
        let h = u
            .strip_prefix("nats://")
            .and_then(|r| r.split(':').next())
            .unwrap();
        let node = match h.strip_prefix('n').and_then(|d| d.parse::<usize>().ok()) {
            Some(d) => d - 1,
            None => i,
        };
        format!("nats://127.0.0.1:{}", routes[node])
    };
    assert!(args.iter().any(|a| a == "-js"), "JetStream: {args:?}");
    let mut out = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-js" => {}
            "-sd" | "-p" | "-m" | "-a" => {
                it.next();
            }
            "--cluster" => {
                let v = it.next().unwrap();
                out.extend([a, host(&v)]);
            }
            "--routes" => {
                let v = it.next().unwrap();
                let mapped: Vec<String> = v.split(',').map(host).collect();
                out.extend([a, mapped.join(",")]);
            }
            _ => out.push(a),
        }
    }
    out
}

#[test]
fn the_compose_file_gives_each_node_its_name_and_routes_to_the_two_others() {
    let routes = [7001, 7002, 7003];
    for i in 0..3 {
        let args = compose_node_args(i, &routes);
        let value = |flag: &str| {
            let at = args
                .iter()
                .position(|a| a == flag)
                .unwrap_or_else(|| panic!("{flag}: {args:?}"));
            args[at + 1].clone()
        };
        assert_eq!(value("--server_name"), format!("n{}", i + 1));
        assert_eq!(value("--cluster_name"), "lifesign");
        assert_eq!(
            value("--cluster"),
            format!("nats://127.0.0.1:{}", routes[i])
        );
        let mut want: Vec<String> = (0..3)
            .filter(|&j| j != i)
            .map(|j| format!("nats://127.0.0.1:{}", routes[j]))
            .collect();
        let mut got: Vec<String> = value("--routes").split(',').map(str::to_string).collect();
        want.sort();
        got.sort();
        assert_eq!(got, want);
    }
}

/// The fenced blocks of `doc` that start with the line `# {file}`.
fn embedded_copies(doc: &str, file: &str) -> Vec<String> {
    let head = format!("```yaml\n# {file}");
    doc.match_indices(&head)
        .map(|(at, _)| {
            let body = &doc[at + "```yaml\n".len()..];
            body[..body.find("```").unwrap()].to_string()
        })
        .collect()
}

#[test]
fn the_docs_show_the_compose_file_and_scrape_config_the_tests_use() {
    for (doc, files) in [
        (
            "docs/FLEET.md",
            &["docs/fleet/compose.yaml", "docs/fleet/prometheus.yml"][..],
        ),
        ("docs/METRICS.md", &["docs/fleet/prometheus.yml"][..]),
    ] {
        let text = std::fs::read_to_string(repo_file(doc)).unwrap();
        for file in files {
            let want = std::fs::read_to_string(repo_file(file)).unwrap();
            let copies = embedded_copies(&text, file);
            assert!(!copies.is_empty(), "{doc} shows no copy of {file}");
            for copy in copies {
                assert_eq!(copy, want, "{doc}'s copy of {file}");
            }
        }
    }
}

/// Three nats-servers with JetStream in one cluster, routes on 127.0.0.1.
struct Cluster {
    nodes: Vec<Server>,
}

impl Cluster {
    /// Starts the three with the commands of docs/fleet/compose.yaml
    /// (`compose_node_args`) and returns once JetStream has a meta leader.
    fn start(bin: PathBuf) -> Cluster {
        let mut nodes: Vec<Server> = (0..3).map(|_| Server::unstarted(bin.clone())).collect();
        let routes: Vec<u16> = (0..3).map(|_| free_port()).collect();
        for (i, n) in nodes.iter_mut().enumerate() {
            n.extra = compose_node_args(i, &routes);
            n.restart();
        }
        let c = Cluster { nodes };
        c.until("a JetStream meta leader", |n| {
            n.monitoring("/jsz")["meta_cluster"]["leader"]
                .as_str()
                .is_some_and(|l| !l.is_empty())
        });
        c
    }

    /// Polls (under the hang guard) until `cond` holds on a live node.
    fn until(&self, what: &str, cond: impl Fn(&Server) -> bool) {
        let end = Instant::now() + GUARD;
        while !self.nodes.iter().filter(|n| n.child.is_some()).any(&cond) {
            assert!(Instant::now() < end, "no {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The servers as one comma-separated list.
    fn urls(&self) -> String {
        let urls: Vec<String> = self.nodes.iter().map(Server::url).collect();
        urls.join(",")
    }
}

#[test]
fn a_relay_fails_over_when_its_cluster_node_dies_and_no_key_expires() {
    let Some(bin) = server_binary() else { return };
    let mut cluster = Cluster::start(bin);
    let dir = TempDir::new("fleet-failover");
    // A 30 s time limit: longer than a new stream leader takes, also on a
    // loaded machine (the failover itself is not timed).
    let mut emitter = common::Child::emitter(&dir.path("api.json"), 10_000);
    assert_eq!(emitter.send("ready before"), "ok");
    let mut child = Command::new(common::cli())
        .args(["relay", "--server", &cluster.urls(), "--replicas", "3"])
        .args(["--host-id", "web1"])
        .arg(dir.path(""))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = lines_of(child.stderr.take().unwrap());
    let relay = Relay { child, log };
    wait_line(&relay.log, |l| l.contains("publishing"), "relay start");
    let stream = cluster.nodes[0].monitoring("/jsz?streams=true&config=true");
    let replicas = &stream["account_details"][0]["stream_detail"][0]["config"]["num_replicas"];
    assert_eq!(replicas, 3, "{stream}");
    // The node the relay is connected to; the watcher reads from another.
    let at = cluster
        .nodes
        .iter()
        .position(|n| n.connections() == 1)
        .expect("the relay's node");
    let other = (at + 1) % 3;
    let w = Watcher::start(&cluster.nodes[other].key_url("web1.api"));
    wait_line(&w.lines, |l| l.starts_with("alive:"), "alive");
    let mut dead = cluster.nodes[at].child.take().unwrap();
    dead.kill().unwrap();
    dead.wait().unwrap();
    wait_line(&relay.log, |l| l.contains("reconnected"), "the failover");
    assert_eq!(emitter.send("ready after"), "ok");
    // Every line until the change is alive: no key expired meanwhile.
    loop {
        let l = wait_line(&w.lines, |_| true, "the change after the failover");
        assert!(l.starts_with("alive:"), "{l}");
        if l.contains("message \"after\"") {
            break;
        }
    }
    let out = run(&["check", &cluster.nodes[other].key_url("web1.api")], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn when_the_stream_leader_dies_a_remote_watch_keeps_delivering_and_check_answers() {
    let Some(bin) = server_binary() else { return };
    let mut cluster = Cluster::start(bin);
    let dir = TempDir::new("fleet-leader");
    // A 30 s time limit, as above.
    let mut emitter = common::Child::emitter(&dir.path("db.json"), 10_000);
    assert_eq!(emitter.send("ready before"), "ok");
    let servers: Vec<String> = cluster.nodes.iter().map(Server::url).collect();
    let mut cmd = Command::new(common::cli());
    cmd.arg("relay");
    for s in &servers {
        cmd.args(["--server", s]); // repeated, this time
    }
    let mut child = cmd
        .args(["--replicas", "3", "--host-id", "web1"])
        .arg(dir.path(""))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = lines_of(child.stderr.take().unwrap());
    let _relay = Relay { child, log };
    wait_line(&_relay.log, |l| l.contains("publishing"), "relay start");
    let leader = |c: &Cluster| -> Option<usize> {
        let live = c.nodes.iter().find(|n| n.child.is_some())?;
        let v = live.monitoring("/jsz?streams=true");
        let name = v["account_details"][0]["stream_detail"][0]["cluster"]["leader"]
            .as_str()?
            .to_string();
        // docs/fleet/compose.yaml names them n1, n2, n3.
        name.strip_prefix('n')?
            .parse::<usize>()
            .ok()?
            .checked_sub(1)
    };
    cluster.until("a stream leader", |_| leader(&cluster).is_some());
    let at = leader(&cluster).unwrap();
    let other = (at + 1) % 3;
    let w = Watcher::start(&cluster.nodes[other].key_url("web1.db"));
    wait_line(&w.lines, |l| l.starts_with("alive:"), "alive");
    let mut dead = cluster.nodes[at].child.take().unwrap();
    dead.kill().unwrap();
    dead.wait().unwrap();
    assert_eq!(emitter.send("ready after"), "ok");
    loop {
        let l = wait_line(&w.lines, |_| true, "the change after the leader died");
        assert!(l.starts_with("alive:"), "{l}");
        if l.contains("message \"after\"") {
            break;
        }
    }
    let out = run(&["check", &cluster.nodes[other].key_url("web1.db")], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("message \"after\""));
}

/// A TCP forwarder to a server that the test can cut: every connection
/// through it is shut down and new ones are refused (closed at once) until
/// it is restored. It stands for a host cut off from the network.
struct Cut {
    port: u16,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    live: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Cut {
    fn to(upstream: u16) -> Cut {
        use std::sync::atomic::Ordering;
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = Cut {
            port: l.local_addr().unwrap().port(),
            cut: Default::default(),
            live: Default::default(),
        };
        let (cut, live) = (c.cut.clone(), c.live.clone());
        std::thread::spawn(move || {
            for down in l.incoming() {
                let Ok(down) = down else { break };
                if cut.load(Ordering::SeqCst) {
                    continue; // dropped: closed at once
                }
                let Ok(up) = std::net::TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let mut g = live.lock().unwrap();
                g.push(down.try_clone().unwrap());
                g.push(up.try_clone().unwrap());
                for (mut from, mut to) in [
                    (down.try_clone().unwrap(), up.try_clone().unwrap()),
                    (up, down),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        c
    }

    fn cut(&self, cut: bool) {
        self.cut.store(cut, std::sync::atomic::Ordering::SeqCst);
        if cut {
            for s in self.live.lock().unwrap().drain(..) {
                let _ = s.shutdown(std::net::Shutdown::Both);
            }
        }
    }
}

#[test]
fn a_relay_cut_off_from_its_server_reads_stale_elsewhere_and_republishes_when_it_is_back() {
    let Some(bin) = server_binary() else { return };
    let server = Server::start(bin, None);
    let link = Cut::to(server.port);
    let dir = TempDir::new("fleet-cut");
    // interval 200 ms: a time limit of 1 s.
    let mut emitter = common::Child::emitter(&dir.path("job.json"), 200);
    assert_eq!(emitter.send("ready"), "ok");
    let mut child = Command::new(common::cli())
        .args([
            "relay",
            "--server",
            &format!("nats://127.0.0.1:{}", link.port),
        ])
        .args(["--host-id", "web1"])
        .arg(dir.path(""))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = lines_of(child.stderr.take().unwrap());
    let relay = Relay { child, log };
    wait_line(&relay.log, |l| l.contains("publishing"), "relay start");
    // The reader is on the other side, straight to the server.
    let w = Watcher::start(&server.key_url("web1.job"));
    wait_line(&w.lines, |l| l.starts_with("alive:"), "alive");
    link.cut(true);
    wait_line(&relay.log, |l| l.contains("disconnected"), "the cut");
    let l = wait_line(&w.lines, |l| !l.starts_with("alive:"), "the expiry");
    assert!(l.starts_with("stale") && l.contains("expired"), "{l}");
    link.cut(false);
    wait_line(&relay.log, |l| l.contains("reconnected"), "the way back");
    wait_line(&w.lines, |l| l.starts_with("alive:"), "alive again");
}

/// What a relay process holds: inotify instances and pidfds.
fn descriptors_of(pid: u32) -> (usize, usize) {
    let mut ino = 0;
    let mut pidfds = 0;
    for e in std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
    {
        match std::fs::read_link(e.path()) {
            Ok(t) if t.as_os_str() == "anon_inode:inotify" => ino += 1,
            Ok(t) if t.to_string_lossy().contains("pidfd") => pidfds += 1,
            _ => {}
        }
    }
    (ino, pidfds)
}

/// A remote check's exit code and first line.
fn remote_check(server: &Server, key: &str) -> (Option<i32>, String) {
    let out = run(&["check", &server.key_url(key)], &[]);
    (out.status.code(), text(&out.stdout))
}

/// Checks `key` until its output satisfies `done` (under the hang guard).
fn check_until(server: &Server, key: &str, done: impl Fn(&str) -> bool, what: &str) -> String {
    let end = Instant::now() + GUARD;
    loop {
        let (_, out) = remote_check(server, key);
        if done(&out) {
            return out;
        }
        assert!(Instant::now() < end, "{what}: last {out:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_fifo_and_a_symlink_out_of_the_folder_neither_block_nor_leak() {
    let Some(bin) = server_binary() else { return };
    let server = Server::start(bin, None);
    let dir = TempDir::new("fleet-hostile");
    let outside = TempDir::new("fleet-outside");
    // A valid heartbeat outside the folder, with a secret in its message.
    std::fs::write(
        outside.path("secret.json"),
        format!(
            "{{\"v\":1,\"pid\":{},\"state\":\"ready\",\"seq\":1,\"updated_at_ms\":{},\"interval_ms\":600000,\"message\":\"SECRET\"}}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
        ),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path("secret.json"), dir.path("leak.json")).unwrap();
    // A symlink to a heartbeat inside the folder is followed.
    write_heartbeat(&dir.path(""), "real", "ready", 1);
    std::os::unix::fs::symlink(dir.path("real.json"), dir.path("alias.json")).unwrap();
    let fifo = dir.path("fifo.json");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    // A writer blocked on the FIFO until someone opens it for reading.
    let mut writer = Command::new("sh")
        .arg("-c")
        .arg(format!("echo x > '{}'", fifo.display()))
        .spawn()
        .unwrap();
    let relay = Relay::start(&server, "web1", &dir.path(""), &[]);
    // Not frozen: a heartbeat written after the first pass is published.
    write_heartbeat(&dir.path(""), "later", "ready", 1);
    check_until(
        &server,
        "web1.later",
        |o| o.starts_with("alive"),
        "later.json",
    );
    let (code, out) = remote_check(&server, "web1.fifo");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.starts_with("invalid"), "{out}");
    let (code, out) = remote_check(&server, "web1.leak");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.starts_with("invalid") && !out.contains("SECRET"),
        "{out}"
    );
    let got = run(
        &["scan", &format!("{}/lifesign", server.url()), "--json"],
        &[],
    );
    assert!(
        !text(&got.stdout).contains("SECRET"),
        "{}",
        text(&got.stdout)
    );
    let (code, out) = remote_check(&server, "web1.alias");
    assert_eq!(code, Some(0), "{out}");
    // The FIFO was never opened: its writer is still blocked.
    assert!(
        writer.try_wait().unwrap().is_none(),
        "the relay opened the FIFO"
    );
    let _ = writer.kill();
    let _ = writer.wait();
    drop(relay);
}

#[test]
fn two_folders_with_the_same_file_name_have_a_key_each() {
    let Some(bin) = server_binary() else { return };
    let server = Server::start(bin, None);
    let base = TempDir::new("fleet-twofolders");
    let (one, two) = (base.path("one"), base.path("two"));
    std::fs::create_dir(&one).unwrap();
    std::fs::create_dir(&two).unwrap();
    write_heartbeat(&one, "api", "ready", 1);
    write_heartbeat(&two, "api", "starting", 1);
    let relay = Relay::start_dirs(&server, "web1", &[&one, &two], &[]);
    let o = check_until(
        &server,
        "web1.one=2Fapi",
        |o| o.starts_with("alive"),
        "one/api",
    );
    assert!(o.contains("state ready"), "{o}");
    let t = check_until(
        &server,
        "web1.two=2Fapi",
        |o| o.starts_with("alive"),
        "two/api",
    );
    assert!(t.contains("state starting"), "{t}");
    // Removing one folder's file removes its key only.
    std::fs::remove_file(two.join("api.json")).unwrap();
    check_until(
        &server,
        "web1.two=2Fapi",
        |o| o.starts_with("missing"),
        "two/api gone",
    );
    assert_eq!(remote_check(&server, "web1.one=2Fapi").0, Some(0));
    // One inotify instance for both folders.
    assert_eq!(descriptors_of(relay.child.id()).0, 1);
}

#[test]
fn two_folders_that_end_alike_are_refused_with_exit_2() {
    let Some(bin) = server_binary() else { return };
    let server = Server::start(bin, None);
    let (a, b) = (TempDir::new("fleet-alike-a"), TempDir::new("fleet-alike-b"));
    let (x, y) = (a.path("run"), b.path("run"));
    std::fs::create_dir(&x).unwrap();
    std::fs::create_dir(&y).unwrap();
    let out = run(
        &[
            "relay",
            "--server",
            &server.url(),
            x.to_str().unwrap(),
            y.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("share"), "{}", text(&out.stderr));
}

#[test]
fn a_folder_removed_and_recreated_is_relayed_again_and_logged() {
    let Some(bin) = server_binary() else { return };
    let server = Server::start(bin, None);
    let base = TempDir::new("fleet-recreate");
    let run_dir = base.path("run");
    std::fs::create_dir(&run_dir).unwrap();
    write_heartbeat(&run_dir, "svc", "starting", 1);
    let relay = Relay::start(&server, "web1", &run_dir, &[]);
    check_until(&server, "web1.svc", |o| o.starts_with("alive"), "svc");
    // systemd's RuntimeDirectory= on a restart.
    std::fs::remove_dir_all(&run_dir).unwrap();
    wait_line(
        &relay.log,
        |l| l.contains("went away"),
        "the removal's log line",
    );
    check_until(
        &server,
        "web1.svc",
        |o| o.starts_with("missing"),
        "svc deleted",
    );
    std::fs::create_dir(&run_dir).unwrap();
    wait_line(
        &relay.log,
        |l| l.contains("is back"),
        "the return's log line",
    );
    write_heartbeat(&run_dir, "svc", "ready", 2);
    let o = check_until(
        &server,
        "web1.svc",
        |o| o.contains("state ready"),
        "svc again",
    );
    assert!(o.starts_with("alive"), "{o}");
}

#[test]
fn a_file_name_that_is_not_utf8_is_reported_never_skipped_silently() {
    use std::os::unix::ffi::OsStrExt;
    let Some(bin) = server_binary() else { return };
    let server = Server::start(bin, None);
    let dir = TempDir::new("fleet-latin1");
    let relay = Relay::start(&server, "web1", &dir.path(""), &[]);
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.json");
    std::fs::write(dir.dir().join(name), b"{}").unwrap();
    let l = wait_line(&relay.log, |l| l.contains("not UTF-8"), "the report");
    assert!(l.contains("caf"), "{l}");
}

#[test]
fn foreign_pids_cost_no_descriptor_and_no_spinning_and_pidfds_are_bounded() {
    let Some(bin) = server_binary() else { return };
    let server = Server::start(bin, None);
    let dir = TempDir::new("fleet-pids");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    // Another host's files, naming PIDs that do not exist here.
    for n in 0..50 {
        std::fs::write(
            dir.path(&format!("far{n}.json")),
            format!(
                "{{\"v\":1,\"pid\":{},\"host\":\"elsewhere\",\"state\":\"ready\",\"seq\":1,\"updated_at_ms\":{now},\"interval_ms\":600000}}",
                4_000_000 + n
            ),
        )
        .unwrap();
    }
    // This process's files, without a lifetime lock: a pidfd each, bounded.
    for n in 0..300 {
        write_heartbeat(&dir.path(""), &format!("near{n}"), "ready", 1);
    }
    let relay = Relay::start(&server, "web1", &dir.path(""), &[]);
    check_until(
        &server,
        "web1.near299",
        |o| o.starts_with("alive"),
        "near299",
    );
    let pid = relay.child.id();
    let (ino, pidfds) = descriptors_of(pid);
    assert_eq!(ino, 1);
    // At most the relay's 256 and the checker's cache of verified
    // processes (process::CACHE_CAPACITY, 64; one here, every file naming
    // this process): not one per file.
    assert!(pidfds <= 257, "{pidfds} pidfds");
    // Idle: nothing changes, so the relay sleeps. A relay retrying pidfds
    // of foreign PIDs wakes thousands of times a second.
    let switches = || {
        let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        s.lines()
            .filter(|l| l.contains("ctxt_switches"))
            .map(|l| l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap())
            .sum::<u64>()
    };
    let before = switches();
    std::thread::sleep(Duration::from_secs(2));
    let woke = switches() - before;
    assert!(woke < 500, "the idle relay woke {woke} times in 2 s");
}

/// The body of a plain `GET /metrics` of `addr`.
fn scrape(addr: &str) -> String {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(GUARD)).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP head");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_string()
}

/// The value of the sample `series` (name and labels) in `body`.
fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
}

#[test]
fn relay_metrics_serve_the_relays_counters_and_its_heartbeats() {
    let Some(bin) = server_binary() else { return };
    let mut server = Server::start(bin, None);
    let dir = TempDir::new("fleet-metrics");
    write_heartbeat(dir.dir(), "api", "ready", 1);
    let mut child = Command::new(common::cli())
        .args(["relay", "--server", &server.url(), "--host-id", "m1"])
        .args(["--metrics", "127.0.0.1:0"])
        .arg(dir.dir())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = lines_of(child.stderr.take().unwrap());
    let line = wait_line(&log, |l| l.contains("listening on http://"), "address");
    let addr = line
        .split_once("listening on http://")
        .and_then(|(_, a)| a.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("{line}"))
        .to_string();
    wait_line(&log, |l| l.contains("publishing"), "relay start");
    // The acknowledgement of the first publish arrives after it is sent.
    let end = Instant::now() + GUARD;
    let body = loop {
        let body = scrape(&addr);
        if sample(&body, r#"lifesign_relay_publishes_total{host="m1"}"#).is_some_and(|n| n > 0.0) {
            break body;
        }
        assert!(Instant::now() < end, "no publish counted:\n{body}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        sample(&body, r#"lifesign_relay_connected{host="m1"}"#),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        sample(&body, r#"lifesign_relay_errors_total{host="m1"}"#),
        Some(0.0),
        "{body}"
    );
    let age = sample(
        &body,
        r#"lifesign_relay_last_publish_age_seconds{host="m1"}"#,
    );
    assert!(age.is_some_and(|a| a >= 0.0), "{body}");
    for (verdict, v) in [("alive", 1.0), ("process_gone", 0.0)] {
        let series =
            format!(r#"lifesign_verdict{{host="m1",name="api",lifesign_verdict="{verdict}"}}"#);
        assert_eq!(sample(&body, &series), Some(v), "{series}\n{body}");
    }
    assert!(body.ends_with("# EOF\n"), "{body}");
    // The gauge follows the connection: it is set before the log says so.
    let connected = |addr: &str| sample(&scrape(addr), r#"lifesign_relay_connected{host="m1"}"#);
    server.stop();
    wait_line(
        &log,
        |l| l.contains("disconnected"),
        "the relay's disconnect",
    );
    assert_eq!(connected(&addr), Some(0.0));
    server.restart();
    wait_line(&log, |l| l.contains("reconnected"), "the relay's reconnect");
    assert_eq!(connected(&addr), Some(1.0));
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn relay_metrics_at_an_address_it_cannot_listen_on_exits_2_before_connecting() {
    let dir = TempDir::new("fleet-metrics-bad");
    // Nothing listens on the server's port: a bad address is said first.
    let url = format!("nats://127.0.0.1:{}", free_port());
    for addr in ["not-an-address", "127.0.0.1:99999"] {
        let out = run(
            &[
                "relay",
                "--server",
                &url,
                "--metrics",
                addr,
                dir.dir().to_str().unwrap(),
            ],
            &[],
        );
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        let err = text(&out.stderr);
        assert!(err.contains("--metrics") && err.contains(addr), "{err}");
    }
}

/// A private CA, a server certificate for 127.0.0.1 and a client
/// certificate signed by it, and a second CA that signed neither, made
/// with the openssl command in `dir`. `None` (the test skipped) only
/// outside `make test-fleet`, which installs openssl.
fn make_certificates(dir: &TempDir) -> Option<()> {
    let have = Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        assert!(
            std::env::var_os("LIFESIGN_REQUIRE_OPENSSL").is_none(),
            "openssl is not installed (tests/apt-need.sh installs it)"
        );
        eprintln!("openssl is not installed: the TLS test is skipped");
        return None;
    }
    let openssl = |args: &[&str]| openssl_in(dir, args);
    for ca in ["ca", "other-ca"] {
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN=lifesign test {ca}"),
            "-keyout",
            &format!("{ca}-key.pem"),
            "-out",
            &format!("{ca}.pem"),
        ]);
    }
    std::fs::write(
        dir.path("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    std::fs::write(dir.path("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    for (name, ext) in [("server", "server.ext"), ("client", "client.ext")] {
        openssl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            &format!("/CN=lifesign test {name}"),
            "-keyout",
            &format!("{name}-key.pem"),
            "-out",
            &format!("{name}.csr"),
        ]);
        openssl(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            ext,
            "-out",
            &format!("{name}.pem"),
        ]);
    }
    Some(())
}

fn openssl_in(dir: &TempDir, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir.path(""))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        text(&out.stderr)
    );
}

#[test]
fn tls_with_client_certificates_admits_the_right_ones_and_refuses_the_rest_with_exit_2() {
    let Some(bin) = server_binary() else { return };
    let certs = TempDir::new("fleet-tls");
    let Some(()) = make_certificates(&certs) else {
        return;
    };
    let pem = |name: &str| certs.path(name).to_str().unwrap().to_string();
    // Client certificates required, as a fleet's servers would be set up.
    let conf = certs.path("server.conf");
    std::fs::write(
        &conf,
        format!(
            "tls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n  ca_file: \"{}\"\n  verify: true\n  timeout: 5\n}}\n",
            pem("server.pem"),
            pem("server-key.pem"),
            pem("ca.pem")
        ),
    )
    .unwrap();
    let mut server = Server::unstarted(bin);
    server.extra = vec!["-c".into(), conf.to_str().unwrap().into()];
    server.restart();
    let tls_url = format!("tls://127.0.0.1:{}", server.port);
    let good = [
        "--tls-ca",
        &pem("ca.pem"),
        "--tls-cert",
        &pem("client.pem"),
        "--tls-key",
        &pem("client-key.pem"),
    ]
    .map(str::to_string);

    let dir = TempDir::new("fleet-tls-hb");
    write_heartbeat(&dir.path(""), "api", "ready", 1);
    let mut child = Command::new(common::cli())
        .args(["relay", "--server", &tls_url, "--host-id", "web1"])
        .args(&good)
        .arg(dir.path(""))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = lines_of(child.stderr.take().unwrap());
    let _relay = Relay { child, log };
    wait_line(
        &_relay.log,
        |l| l.contains("publishing"),
        "relay start over TLS",
    );

    // A reader with the same certificates reads it, by a tls:// URL, and
    // by a nats:// URL that the TLS options upgrade.
    for base in [tls_url.clone(), server.url()] {
        let key = format!("{base}/lifesign/web1.api");
        for cmd in [
            vec!["check", key.as_str()],
            vec!["scan", &format!("{base}/lifesign")],
        ] {
            let mut args: Vec<&str> = cmd.clone();
            args.extend(good.iter().map(String::as_str));
            let out = run(&args, &[]);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{args:?}: {}",
                text(&out.stderr)
            );
            assert!(
                text(&out.stdout).starts_with("alive"),
                "{}",
                text(&out.stdout)
            );
        }
    }

    let key = format!("{tls_url}/lifesign/web1.api");
    let refused = |extra: &[&str], want: &str| {
        let mut args = vec!["check", key.as_str()];
        args.extend(extra);
        let out = run(&args, &[]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out.stdout));
        assert!(err.contains(want), "{args:?}: {err}");
        err
    };
    // No client certificate: the server refuses the handshake.
    let err = refused(
        &["--tls-ca", &pem("ca.pem")],
        "cannot connect to tls://127.0.0.1",
    );
    assert!(
        err.contains("requires a client certificate: give --tls-cert and --tls-key"),
        "{err}"
    );
    // A CA that did not sign the server's certificate.
    let err = refused(
        &[
            "--tls-ca",
            &pem("other-ca.pem"),
            "--tls-cert",
            &pem("client.pem"),
            "--tls-key",
            &pem("client-key.pem"),
        ],
        "cannot connect to tls://127.0.0.1",
    );
    assert!(
        err.contains("not signed by a CA this client trusts: give its CA with --tls-ca"),
        "{err}"
    );
    // A client certificate of another CA.
    openssl_in(
        &certs,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=stranger",
            "-keyout",
            "stranger-key.pem",
            "-out",
            "stranger.pem",
        ],
    );
    let err = refused(
        &[
            "--tls-ca",
            &pem("ca.pem"),
            "--tls-cert",
            &pem("stranger.pem"),
            "--tls-key",
            &pem("stranger-key.pem"),
        ],
        "cannot connect to tls://127.0.0.1",
    );
    assert!(
        err.contains("the server refused the client certificate"),
        "{err}"
    );
    // A plain nats:// client without any TLS option: the server asks for
    // TLS, the system's CAs do not know the private one.
    let out = run(&["check", &server.key_url("web1.api")], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("give its CA with --tls-ca"),
        "{}",
        text(&out.stderr)
    );
    // The relay too refuses to start with the wrong CA.
    let out = run(
        &[
            "relay",
            "--server",
            &tls_url,
            "--tls-ca",
            &pem("other-ca.pem"),
            dir.path("").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("cannot connect to tls://127.0.0.1"),
        "{}",
        text(&out.stderr)
    );

    // Files that cannot serve are usage errors, before any connection.
    let missing = certs.path("absent.pem");
    let hb_dir = dir.path("");
    for (extra, want) in [
        (
            vec!["--tls-cert", &pem("client.pem")],
            "--tls-cert needs --tls-key",
        ),
        (
            vec!["--tls-key", &pem("client-key.pem")],
            "--tls-key needs --tls-cert",
        ),
        (
            vec!["--tls-ca", missing.to_str().unwrap()],
            "absent.pem: cannot read it",
        ),
        (
            vec!["--tls-ca", &pem("server.conf")],
            "not a PEM file with a CA certificate in it",
        ),
        (
            vec![
                "--tls-cert",
                &pem("client.pem"),
                "--tls-key",
                &pem("client.pem"),
            ],
            "not a PEM file with a private key in it",
        ),
    ] {
        let err = refused(&extra, want);
        assert!(err.contains("--tls-"), "{err}");
        let mut relay = vec!["relay", "--server", tls_url.as_str()];
        relay.extend(&extra);
        relay.push(hb_dir.to_str().unwrap());
        let out = run(&relay, &[]);
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains(want), "{}", text(&out.stderr));
    }
}

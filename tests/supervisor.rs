//! The rest of systemd's notify protocol, from a real child emitter over a
//! real bound datagram socket: start and stop timeouts extended by
//! progress, the work-driven watchdog, reload, and the barrier that makes
//! `stop` wait until the manager has read its last words.

mod common;

use common::{drain, eventually, recv_with_fd, Child, TempDir};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixDatagram;
use std::path::Path;

fn recv(sock: &UnixDatagram) -> String {
    recv_with_fd(sock).0
}

fn bound(d: &TempDir) -> (UnixDatagram, String) {
    let path = d.path("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    (sock, path.to_str().unwrap().to_owned())
}

/// The child's heartbeat sequence number, read from its file.
fn seq(hb: &Path) -> u64 {
    lifesign::check(hb, &Default::default()).seq
}

/// Waits (the file is the event) until the child has beaten `n` more times.
fn beats(hb: &Path, n: u64) {
    let want = seq(hb) + n;
    eventually("the emitter beats", || seq(hb) >= want);
}

/// `stop` in the child: the datagrams up to `BARRIER=1`, with the barrier's
/// descriptor, while `stop` is still waiting.
fn stop_until_barrier(c: &mut Child, sock: &UnixDatagram) -> (Vec<String>, OwnedFd) {
    c.command("stop");
    let mut msgs = Vec::new();
    loop {
        let (m, fd) = recv_with_fd(sock);
        msgs.push(m);
        if let Some(fd) = fd {
            return (msgs, fd);
        }
    }
}

const EXTEND: &str = "EXTEND_TIMEOUT_USEC=10800000000"; // 3 x the 1 h interval

#[test]
fn start_and_stop_are_extended_by_progress_and_stop_waits_for_the_barrier() {
    let d = TempDir::new("sup-extend");
    let (sock, addr) = bound(&d);
    let mut c = Child::emitter_with_env(&d.path("hb.json"), 3_600_000, &[("NOTIFY_SOCKET", &addr)]);
    assert_eq!(c.send("starting migrating"), "ok");
    assert_eq!(c.send("beat"), "ok"); // no progress: nothing
    assert_eq!(c.send("progress"), "ok");
    assert_eq!(c.send("beat"), "ok");
    assert_eq!(c.send("beat"), "ok"); // wedged again
    assert_eq!(c.send("ready listening"), "ok");
    assert_eq!(c.send("progress"), "ok");
    assert_eq!(c.send("beat"), "ok"); // ready: progress extends nothing
    assert_eq!(c.send("stopping draining"), "ok");
    assert_eq!(c.send("progress"), "ok");
    assert_eq!(c.send("beat"), "ok");
    assert_eq!(
        drain(&sock),
        vec![
            "STATUS=migrating",
            EXTEND,
            EXTEND,
            "READY=1\nSTATUS=listening",
            "STATUS=draining",
            EXTEND,
            EXTEND,
        ]
    );
    let (last, barrier) = stop_until_barrier(&mut c, &sock);
    assert_eq!(last, vec!["STOPPING=1", "BARRIER=1"]);
    assert!(
        !c.has_answered(),
        "stop returned before the manager closed the barrier's descriptor"
    );
    drop(barrier);
    assert_eq!(c.line(), "ok");
    let r = lifesign::check(d.path("hb.json"), &Default::default());
    assert_eq!(r.state, Some(lifesign::State::Stopped));
}

#[test]
fn stop_returns_when_the_manager_never_answers_the_barrier() {
    let d = TempDir::new("sup-barrier-timeout");
    let (sock, addr) = bound(&d);
    let mut c = Child::emitter_with_env(&d.path("hb.json"), 3_600_000, &[("NOTIFY_SOCKET", &addr)]);
    let (last, _held) = stop_until_barrier(&mut c, &sock);
    assert_eq!(last, vec!["STOPPING=1", "BARRIER=1"]);
    // The descriptor stays open here: stop gives up after its short bound.
    assert_eq!(c.line(), "ok");
}

#[test]
fn work_driven_watchdog_pings_only_when_progress_moved() {
    let d = TempDir::new("sup-watchdog");
    let (sock, addr) = bound(&d);
    let hb = d.path("hb.json");
    let mut c = Child::emitter_with_env(
        &hb,
        60_000,
        &[
            ("NOTIFY_SOCKET", &addr),
            ("WATCHDOG_USEC", "40000"),
            ("LIFESIGN_CHILD_WATCHDOG_ON_PROGRESS", "1"),
        ],
    );
    assert_eq!(c.send("ready"), "ok");
    beats(&hb, 5);
    assert_eq!(drain(&sock), vec!["READY=1"], "idle: no ping");
    assert_eq!(c.send("progress"), "ok");
    assert_eq!(recv(&sock), "WATCHDOG=1");
    beats(&hb, 5);
    assert!(drain(&sock).is_empty(), "one ping per advance");
    assert_eq!(c.send("progress"), "ok");
    assert_eq!(c.send("progress"), "ok");
    assert_eq!(recv(&sock), "WATCHDOG=1");
}

#[test]
fn reload_sends_reloading_with_monotonic_usec_then_ready_and_the_file_says_starting() {
    let d = TempDir::new("sup-reload");
    let (sock, addr) = bound(&d);
    let hb = d.path("hb.json");
    let mut c = Child::emitter_with_env(&hb, 3_600_000, &[("NOTIFY_SOCKET", &addr)]);
    assert_eq!(c.send("ready up"), "ok");
    assert_eq!(recv(&sock), "READY=1\nSTATUS=up");
    let before = lifesign::clock::mono_us();
    assert_eq!(c.send("reload reloading config"), "ok");
    let after = lifesign::clock::mono_us();
    let reloading = recv(&sock);
    let lines: Vec<&str> = reloading.split('\n').collect();
    assert_eq!(lines.len(), 3, "{reloading:?}");
    assert_eq!(lines[0], "RELOADING=1");
    let usec: u64 = lines[1]
        .strip_prefix("MONOTONIC_USEC=")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (before..=after).contains(&usec),
        "{before} <= {usec} <= {after}"
    );
    assert_eq!(lines[2], "STATUS=reloading config");
    assert_eq!(recv(&sock), EXTEND);
    let r = lifesign::check(&hb, &Default::default());
    assert_eq!(
        (r.verdict, r.state),
        (lifesign::Verdict::Alive, Some(lifesign::State::Starting))
    );
    let record = std::fs::read_to_string(&hb).unwrap();
    assert!(record.contains(r#""reloads":1"#), "{record}");
    assert_eq!(c.send("ready up"), "ok");
    assert_eq!(drain(&sock), vec!["READY=1\nSTATUS=up"]);
}

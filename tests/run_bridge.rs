//! `lifesign run` as systemd's notify bridge, end to end: a real bound
//! datagram socket as the manager, a real `lifesign run`, a real child
//! emitter driven through it (the child inherits run's stdin and stdout).

mod common;

use common::{emitter_child_binary, recv_with_fd, Child, TempDir};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixDatagram;
use std::process::Command;

/// The manager's side: every datagram in order, watchdog pings counted
/// apart (they come on the bridge's own cadence).
struct Manager {
    sock: UnixDatagram,
    pings: usize,
}

impl Manager {
    /// The next datagram that is not a watchdog ping.
    fn next(&mut self) -> (String, Option<OwnedFd>) {
        loop {
            let (m, fd) = recv_with_fd(&self.sock);
            if m == "WATCHDOG=1" {
                self.pings += 1;
            } else {
                return (m, fd);
            }
        }
    }

    fn expect(&mut self, want: &[&str]) {
        for w in want {
            assert_eq!(self.next().0, *w);
        }
    }
}

#[test]
fn run_speaks_for_its_child_ready_status_extend_watchdog_stopping_in_order() {
    let d = TempDir::new("run-bridge");
    let sock_path = d.path("notify.sock");
    let mut m = Manager {
        sock: UnixDatagram::bind(&sock_path).unwrap(),
        pings: 0,
    };
    let mut cmd = Command::new(common::cli());
    cmd.args(["run", "--quiet", "--interval", "20ms", "--file"])
        .arg(d.path("hb.json"))
        .arg("--")
        .arg(emitter_child_binary())
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "400000");
    let mut run = Child::spawn(cmd);
    // The emitter child is run's child: its pid is not run's.
    let first = run.line();
    assert!(first.starts_with("started pid="), "{first}");
    let mut send = |cmd: &str| run.send(cmd);
    // Max age 3 x 20 ms: each extension is 60 000 us.
    const EXTEND: &str = "EXTEND_TIMEOUT_USEC=60000";

    assert_eq!(send("starting loading"), "ok");
    m.expect(&["STATUS=loading", EXTEND]);
    assert_eq!(send("progress"), "ok");
    assert_eq!(send("beat"), "ok");
    m.expect(&[EXTEND]);
    assert_eq!(send("ready serving"), "ok");
    m.expect(&["READY=1\nSTATUS=serving"]);
    // Alive: the bridge pings on its own.
    let pings = m.pings;
    while m.pings == pings {
        let (msg, _) = recv_with_fd(&m.sock);
        assert_eq!(msg, "WATCHDOG=1");
        m.pings += 1;
    }
    assert_eq!(send("stopping draining"), "ok");
    m.expect(&["STOPPING=1", "STATUS=draining", EXTEND]);
    assert_eq!(send("stop"), "ok");
    run.close_stdin(); // the child's loop ends: it exits, and so does run
    let (last, barrier) = m.next();
    assert_eq!(last, "BARRIER=1");
    assert!(barrier.is_some(), "BARRIER=1 carries a descriptor");
    drop(barrier);
    run.finish();
    // Nothing after the barrier, and nothing from the child itself (its
    // READY=1 would have come twice).
    m.sock.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 512];
    while let Ok(n) = m.sock.recv(&mut buf) {
        assert_eq!(&buf[..n], b"WATCHDOG=1", "after the barrier");
    }
}

#[test]
fn a_busy_manager_still_gets_ready_from_run_once_it_reads_again() {
    let d = TempDir::new("run-bridge-busy");
    let sock_path = d.path("notify.sock");
    let mut m = Manager {
        sock: UnixDatagram::bind(&sock_path).unwrap(),
        pings: 0,
    };
    let mut cmd = Command::new(common::cli());
    cmd.args(["run", "--quiet", "--interval", "20ms", "--file"])
        .arg(d.path("hb.json"))
        .arg("--")
        .arg(emitter_child_binary())
        .env("NOTIFY_SOCKET", &sock_path)
        // A ping every 10 ms while the child is alive fills the queue.
        .env("WATCHDOG_USEC", "20000");
    let mut run = Child::spawn(cmd);
    let first = run.line();
    assert!(first.starts_with("started pid="), "{first}");
    common::eventually("the manager's queue full", || {
        common::notify_queue_is_full(&sock_path)
    });
    assert_eq!(run.send("ready serving"), "ok");
    // The bridge sees the ready within a period or two; nothing is read
    // meanwhile, so it can only be owed. Its next pings prove it looked.
    assert!(common::notify_queue_is_full(&sock_path));
    loop {
        let (msg, _) = recv_with_fd(&m.sock);
        match msg.as_str() {
            "WATCHDOG=1" | common::PROBE => continue,
            _ => {
                assert_eq!(msg, "READY=1\nSTATUS=serving");
                break;
            }
        }
    }
    assert_eq!(run.send("stop"), "ok");
    run.close_stdin();
    m.expect(&["STOPPING=1", "BARRIER=1"]);
    run.finish();
}

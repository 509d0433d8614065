//! Supervisor notification from a real child emitter: systemd's notify
//! socket (path and abstract), its watchdog, and s6's readiness descriptor.

mod common;

use common::{Child, TempDir};
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixDatagram;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

fn recv(sock: &UnixDatagram) -> String {
    let mut buf = [0u8; 4096];
    sock.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let n = sock.recv(&mut buf).expect("a notification within a minute");
    String::from_utf8_lossy(&buf[..n]).to_string()
}

/// Every datagram already queued (the child has answered, so its sends are done).
fn drain(sock: &UnixDatagram) -> Vec<String> {
    sock.set_nonblocking(true).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = sock.recv(&mut buf) {
        out.push(String::from_utf8_lossy(&buf[..n]).to_string());
    }
    sock.set_nonblocking(false).unwrap();
    out
}

fn without_watchdog(msgs: Vec<String>) -> Vec<String> {
    msgs.into_iter().filter(|m| m != "WATCHDOG=1").collect()
}

#[test]
fn systemd_gets_ready_status_and_stopping_in_order_on_a_path_socket() {
    let d = TempDir::new("notify-path");
    let sock_path = d.path("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    let mut c = Child::emitter_with_env(
        &d.path("hb.json"),
        3_600_000,
        &[("NOTIFY_SOCKET", sock_path.to_str().unwrap())],
    );
    assert!(drain(&sock).is_empty(), "nothing before ready");
    assert_eq!(c.send("starting migrating"), "ok");
    assert_eq!(c.send("ready listening"), "ok");
    assert_eq!(c.send("ready"), "ok");
    assert_eq!(c.send("stopping draining"), "ok");
    assert_eq!(c.send("stop"), "ok");
    assert_eq!(
        drain(&sock),
        vec![
            "STATUS=migrating",
            "READY=1\nSTATUS=listening",
            "STATUS=draining",
            "STOPPING=1",
        ]
    );
}

#[test]
fn systemd_abstract_socket_and_failed_with_watchdog_trigger_off_by_default() {
    let name = format!("lifesign-test-{}", std::process::id());
    let addr = {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap()
    };
    let sock = UnixDatagram::bind_addr(&addr).unwrap();
    let d = TempDir::new("notify-abstract");
    let mut c = Child::emitter_with_env(
        &d.path("hb.json"),
        3_600_000,
        &[("NOTIFY_SOCKET", &format!("@{name}"))],
    );
    assert_eq!(c.send("failed disk full"), "ok");
    assert_eq!(drain(&sock), vec!["STATUS=disk full"]);
}

#[test]
fn watchdog_pings_every_beat_at_half_the_timeout() {
    let d = TempDir::new("notify-watchdog");
    let sock_path = d.path("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    let hb = d.path("hb.json");
    let mut c = Child::emitter_with_env(
        &hb,
        60_000,
        &[
            ("NOTIFY_SOCKET", sock_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "200000"),
        ],
    );
    // The interval was capped to half of WATCHDOG_USEC and written as such.
    let r = lifesign::check(&hb, &lifesign::CheckOptions::default());
    assert_eq!(r.interval_ms, 100);
    // The first write pings, then the thread keeps pinging on its own.
    for _ in 0..4 {
        assert_eq!(recv(&sock), "WATCHDOG=1");
    }
    assert_eq!(c.send("ready"), "ok");
    let after: Vec<String> = drain(&sock);
    assert!(after.iter().any(|m| m.starts_with("READY=1")), "{after:?}");
}

#[test]
fn failed_sends_watchdog_trigger_when_opted_in() {
    let d = TempDir::new("notify-trigger");
    let sock_path = d.path("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    let mut c = Child::emitter_with_env(
        &d.path("hb.json"),
        3_600_000,
        &[
            ("NOTIFY_SOCKET", sock_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "600000000"),
            ("LIFESIGN_CHILD_WATCHDOG_TRIGGER", "1"),
        ],
    );
    assert_eq!(c.send("failed wedged"), "ok");
    let msgs = without_watchdog(drain(&sock));
    assert_eq!(msgs, vec!["STATUS=wedged", "WATCHDOG=trigger"]);
}

#[test]
fn watchdog_pid_of_another_process_means_no_pings() {
    let d = TempDir::new("notify-wdpid");
    let sock_path = d.path("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    let hb = d.path("hb.json");
    let mut c = Child::emitter_with_env(
        &hb,
        10,
        &[
            ("NOTIFY_SOCKET", sock_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "200000"),
            ("WATCHDOG_PID", "1"),
        ],
    );
    // Let the 10 ms thread beat a few times, synchronised on the file itself.
    let mut seq = 0;
    for _ in 0..6000 {
        seq = lifesign::check(&hb, &Default::default()).seq;
        if seq >= 5 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(seq >= 5);
    assert_eq!(c.send("ready"), "ok");
    assert_eq!(drain(&sock), vec!["READY=1"], "READY, but never WATCHDOG=1");
}

#[test]
fn nothing_is_sent_when_the_variables_are_absent() {
    let d = TempDir::new("notify-absent");
    let sock_path = d.path("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    let mut c = Child::emitter(&d.path("hb.json"), 10);
    assert_eq!(c.send("ready"), "ok");
    assert_eq!(c.send("stop"), "ok");
    assert!(drain(&sock).is_empty());
}

#[test]
fn s6_gets_one_newline_when_ready_then_the_descriptor_is_closed() {
    let d = TempDir::new("notify-s6");
    let mut fds = [0; 2];
    // SAFETY: pipe fills two descriptors that we then own.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let wfd = w.as_raw_fd();
    let mut cmd = Command::new(common::emitter_child_binary());
    cmd.env("LIFESIGN_FILE", d.path("hb.json"))
        .env("LIFESIGN_NOTIFY_FD", "3");
    // SAFETY: dup2 is async-signal-safe; it runs in the child before exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(wfd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = Child::spawn(cmd);
    drop(w); // only the child holds the write end now
    child.started();
    let mut pipe = std::fs::File::from(r);
    // Nothing yet: the read end would block, so check readiness with poll.
    let mut p = libc::pollfd {
        fd: pipe.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    assert_eq!(
        unsafe { libc::poll(&mut p, 1, 0) },
        0,
        "nothing before ready"
    );
    assert_eq!(child.send("ready"), "ok");
    let mut got = Vec::new();
    pipe.read_to_end(&mut got).unwrap(); // ends because the child closed it
    assert_eq!(got, b"\n");
    assert_eq!(child.send("ready again"), "ok");
    child.finish();
}

//! The rest of systemd's notify protocol, from a real child emitter over a
//! real bound datagram socket: start and stop timeouts extended by
//! progress, the work-driven watchdog, reload, and the barrier that makes
//! `stop` wait until the manager has read its last words.

mod common;

use common::{child_binary, TempDir};
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

/// A child emitter whose answers can be awaited separately from its commands.
struct Driven {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Driven {
    fn start(hb: &Path, interval_ms: u32, env: &[(&str, &str)]) -> Driven {
        let mut cmd = Command::new(child_binary());
        cmd.env("LIFESIGN_FILE", hb)
            .env("LIFESIGN_INTERVAL_MS", interval_ms.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut d = Driven {
            child,
            stdin,
            stdout,
        };
        assert_eq!(d.answer(), "started");
        d
    }

    fn command(&mut self, cmd: &str) {
        writeln!(self.stdin, "{cmd}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn answer(&mut self) -> String {
        let mut s = String::new();
        self.stdout.read_line(&mut s).unwrap();
        s.trim_end().to_string()
    }

    fn send(&mut self, cmd: &str) -> String {
        self.command(cmd);
        self.answer()
    }

    /// Whether an answer is waiting to be read (without waiting for one).
    fn has_answered(&self) -> bool {
        if !self.stdout.buffer().is_empty() {
            return true;
        }
        let mut p = libc::pollfd {
            fd: self.stdout.get_ref().as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, no wait.
        unsafe { libc::poll(&mut p, 1, 0) == 1 }
    }
}

impl Drop for Driven {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One datagram and the descriptor it carried, if any.
fn recv_with_fd(sock: &UnixDatagram) -> (String, Option<OwnedFd>) {
    sock.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut buf = [0u8; 4096];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut control = [0u8; 64];
    // SAFETY: the header points at live local buffers of the given sizes;
    // a received descriptor is taken into an OwnedFd exactly once.
    unsafe {
        let mut hdr: libc::msghdr = std::mem::zeroed();
        hdr.msg_iov = &mut iov;
        hdr.msg_iovlen = 1;
        hdr.msg_control = control.as_mut_ptr().cast();
        hdr.msg_controllen = control.len() as _;
        let n = libc::recvmsg(sock.as_raw_fd(), &mut hdr, libc::MSG_CMSG_CLOEXEC);
        assert!(n >= 0, "a datagram within a minute");
        let mut fd = None;
        let cmsg = libc::CMSG_FIRSTHDR(&hdr);
        if !cmsg.is_null() && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
            let raw = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<i32>());
            fd = Some(OwnedFd::from_raw_fd(raw));
        }
        (String::from_utf8_lossy(&buf[..n as usize]).to_string(), fd)
    }
}

fn recv(sock: &UnixDatagram) -> String {
    recv_with_fd(sock).0
}

/// Every datagram already queued.
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
    for _ in 0..60_000 {
        if seq(hb) >= want {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("the emitter stopped beating");
}

/// `stop` in the child: the datagrams up to `BARRIER=1`, with the barrier's
/// descriptor, while `stop` is still waiting.
fn stop_until_barrier(c: &mut Driven, sock: &UnixDatagram) -> (Vec<String>, OwnedFd) {
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
    let mut c = Driven::start(&d.path("hb.json"), 3_600_000, &[("NOTIFY_SOCKET", &addr)]);
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
    assert_eq!(c.answer(), "ok");
    let r = lifesign::check(d.path("hb.json"), &Default::default());
    assert_eq!(r.state, Some(lifesign::State::Stopped));
}

#[test]
fn stop_returns_when_the_manager_never_answers_the_barrier() {
    let d = TempDir::new("sup-barrier-timeout");
    let (sock, addr) = bound(&d);
    let mut c = Driven::start(&d.path("hb.json"), 3_600_000, &[("NOTIFY_SOCKET", &addr)]);
    let (last, _held) = stop_until_barrier(&mut c, &sock);
    assert_eq!(last, vec!["STOPPING=1", "BARRIER=1"]);
    // The descriptor stays open here: stop gives up after its short bound.
    assert_eq!(c.answer(), "ok");
}

#[test]
fn work_driven_watchdog_pings_only_when_progress_moved() {
    let d = TempDir::new("sup-watchdog");
    let (sock, addr) = bound(&d);
    let hb = d.path("hb.json");
    let mut c = Driven::start(
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
    let mut c = Driven::start(&hb, 3_600_000, &[("NOTIFY_SOCKET", &addr)]);
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

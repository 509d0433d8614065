//! Supervisor notification from a real child emitter: systemd's notify
//! socket (path and abstract), its watchdog, and s6's readiness descriptor.

mod common;

use common::{drain, Child, TempDir};
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
            "EXTEND_TIMEOUT_USEC=10800000000",
            "READY=1\nSTATUS=listening",
            "STATUS=draining",
            "EXTEND_TIMEOUT_USEC=10800000000",
            "STOPPING=1",
            "BARRIER=1",
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

/// A pipe: (read end, write end).
fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe fills two descriptors that we then own.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// An emitter told to use `fd` as its s6 descriptor (and no systemd).
fn s6_emitter(path: &std::path::Path, fd: i32) -> lifesign::Result<lifesign::Emitter> {
    let mut o = {
        let mut o = lifesign::Options::default();
        o.interval = Duration::from_secs(3600);
        o.log_errors = false;
        o
    };
    o.notify.s6_fd = Some(fd);
    o.notify.systemd = false;
    lifesign::Emitter::start_with(path, o)
}

/// Whether `fd` refers to the same open file as `f`.
fn same_file(fd: i32, f: &std::fs::File) -> bool {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: fstat on a descriptor number into zeroed storage.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return false;
    }
    let m = f.metadata().unwrap();
    st.st_ino == m.ino() && st.st_dev == m.dev()
}

#[test]
fn the_s6_descriptor_is_claimed_by_one_emitter_and_never_written_into_a_file_that_took_its_number()
{
    // Descriptor numbers are the process's: run alone.
    if !common::in_own_process(
        "the_s6_descriptor_is_claimed_by_one_emitter_and_never_written_into_a_file_that_took_its_number",
    ) {
        return;
    }
    let d = TempDir::new("s6-once");
    let (r, w) = pipe();
    let n = w.as_raw_fd();
    std::mem::forget(w); // the emitter that claims it closes it
    let a = s6_emitter(&d.path("a.json"), n).unwrap();
    // A second emitter of the process is refused the claimed descriptor.
    let b = s6_emitter(&d.path("b.json"), n).unwrap();
    b.set_state(lifesign::State::Ready, None).unwrap();
    let mut p = libc::pollfd {
        fd: r.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    assert_eq!(unsafe { libc::poll(&mut p, 1, 0) }, 0, "b wrote nothing");
    a.set_state(lifesign::State::Ready, None).unwrap();
    let mut got = Vec::new();
    std::fs::File::from(r).read_to_end(&mut got).unwrap(); // a closed it
    assert_eq!(got, b"\n");
    // The application opens a database file, which takes the number.
    let db_path = d.path("app.db");
    let db = std::fs::OpenOptions::new()
        .create_new(true)
        .read(true)
        .write(true)
        .open(&db_path)
        .unwrap();
    // SAFETY: dup2 onto the number the emitter closed.
    assert_eq!(unsafe { libc::dup2(db.as_raw_fd(), n) }, n);
    // Ready again, a restart, a new emitter, and stops: none touch it.
    a.set_state(lifesign::State::Ready, Some("again")).unwrap();
    a.stop().unwrap();
    let a2 = s6_emitter(&d.path("a.json"), n).unwrap();
    a2.set_state(lifesign::State::Ready, None).unwrap();
    a2.stop().unwrap();
    let c = s6_emitter(&d.path("c.json"), n).unwrap();
    c.set_state(lifesign::State::Ready, None).unwrap();
    drop(c);
    drop(b);
    assert!(
        same_file(n, &db),
        "the number still holds the database file"
    );
    assert_eq!(
        std::fs::read(&db_path).unwrap(),
        b"",
        "nothing written into it"
    );
}

#[test]
fn a_start_whose_first_write_fails_leaves_the_s6_descriptor_to_the_next_start() {
    if !common::in_own_process(
        "a_start_whose_first_write_fails_leaves_the_s6_descriptor_to_the_next_start",
    ) {
        return;
    }
    let d = TempDir::new("s6-failed-start");
    let (r, w) = pipe();
    let n = w.as_raw_fd();
    std::mem::forget(w);
    // A non-empty folder where the file should be: the first write fails.
    let p = d.path("hb.json");
    std::fs::create_dir(&p).unwrap();
    std::fs::write(p.join("x"), b"x").unwrap();
    assert_eq!(s6_emitter(&p, n).unwrap_err().kind, lifesign::ErrorKind::Io);
    // SAFETY: F_GETFD only queries.
    assert!(unsafe { libc::fcntl(n, libc::F_GETFD) } >= 0, "still open");
    // An emitter stopped before it was ready hands it back too.
    let early = s6_emitter(&d.path("early.json"), n).unwrap();
    early.stop().unwrap();
    assert!(unsafe { libc::fcntl(n, libc::F_GETFD) } >= 0, "still open");
    let e = s6_emitter(&d.path("ok.json"), n).unwrap();
    e.set_state(lifesign::State::Ready, None).unwrap();
    let mut got = Vec::new();
    std::fs::File::from(r).read_to_end(&mut got).unwrap();
    assert_eq!(got, b"\n");
}

#[test]
fn an_s6_pipe_without_a_reader_never_raises_sigpipe() {
    if !common::in_own_process("an_s6_pipe_without_a_reader_never_raises_sigpipe") {
        return;
    }
    // As in a C program: SIGPIPE's default action ends the process.
    // SAFETY: sets this process's disposition (it is alone in it).
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let d = TempDir::new("s6-sigpipe");
    let (r, w) = pipe();
    let n = w.as_raw_fd();
    std::mem::forget(w);
    drop(r);
    let e = s6_emitter(&d.path("hb.json"), n).unwrap();
    e.set_state(lifesign::State::Ready, None).unwrap();
    e.stop().unwrap();
    // Still alive, the disposition untouched, and no SIGPIPE left pending.
    // SAFETY: queries only.
    unsafe {
        let old = libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        assert_eq!(old, libc::SIG_DFL);
        let mut pending: libc::sigset_t = std::mem::zeroed();
        libc::sigpending(&mut pending);
        assert_eq!(libc::sigismember(&pending, libc::SIGPIPE), 0);
    }
}

#[test]
fn an_unread_notify_socket_never_blocks_the_beat_or_stop() {
    let d = TempDir::new("notify-unread");
    let sock_path = d.path("notify.sock");
    // Bound, never read: its queue fills after a few datagrams.
    let _sock = UnixDatagram::bind(&sock_path).unwrap();
    let qlen: u64 = std::fs::read_to_string("/proc/sys/net/unix/max_dgram_qlen")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(512);
    let hb = d.path("hb.json");
    let c = Child::emitter_with_env(
        &hb,
        60_000,
        &[
            ("NOTIFY_SOCKET", sock_path.to_str().unwrap()),
            // Half of it, 10 ms, is the interval: a ping every beat.
            ("WATCHDOG_USEC", "20000"),
        ],
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let hb2 = hb.clone();
    std::thread::spawn(move || {
        let mut c = c;
        // Well past the queue's length: the beat went on once it was full.
        let target = 2 * qlen + 20;
        while lifesign::check(&hb2, &Default::default()).seq < target {
            std::thread::sleep(Duration::from_millis(5));
        }
        let answers = [c.send("ready"), c.send("failed oops"), c.send("stop")];
        let _ = tx.send(answers);
    });
    let answers = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the beat or a call froze on the full notify socket");
    assert_eq!(answers, ["ok", "ok", "ok"]);
    assert_eq!(
        lifesign::check(&hb, &Default::default()).verdict,
        lifesign::Verdict::Stopped
    );
}

#[test]
fn the_environments_s6_descriptor_is_told_once_per_process() {
    // The environment and descriptor numbers are the process's: run alone.
    if !common::in_own_process("the_environments_s6_descriptor_is_told_once_per_process") {
        return;
    }
    let d = TempDir::new("s6-env-once");
    let (r, w) = pipe();
    let n = w.as_raw_fd();
    std::mem::forget(w);
    std::env::set_var("LIFESIGN_NOTIFY_FD", n.to_string());
    let a = lifesign::Emitter::start(d.path("a.json"), Duration::from_secs(3600)).unwrap();
    a.set_state(lifesign::State::Ready, None).unwrap();
    let mut got = Vec::new();
    std::fs::File::from(r).read_to_end(&mut got).unwrap();
    assert_eq!(got, b"\n");
    a.stop().unwrap();
    // The application makes a pipe of its own that takes the number; the
    // variable still names it. A restart from the environment leaves it be.
    let (r2, w2) = pipe();
    // SAFETY: dup2 onto the number the emitter closed.
    assert_eq!(unsafe { libc::dup2(w2.as_raw_fd(), n) }, n);
    let _keep = w2; // (the pipe may have been given number n itself)
    let b = lifesign::Emitter::start(d.path("a.json"), Duration::from_secs(3600)).unwrap();
    b.set_state(lifesign::State::Ready, None).unwrap();
    b.stop().unwrap();
    let mut p = libc::pollfd {
        fd: r2.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    assert_eq!(
        unsafe { libc::poll(&mut p, 1, 0) },
        0,
        "nothing written into the application's pipe"
    );
}

/// Reads datagrams (under the hang guard of `recv`) until `want` has
/// come, skipping watchdog pings and the queue probes; returns the others
/// seen on the way, `want` last.
fn until(sock: &UnixDatagram, want: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let m = recv(sock);
        if m == "WATCHDOG=1" || m == common::PROBE {
            continue;
        }
        let done = m == want;
        seen.push(m);
        if done {
            return seen;
        }
    }
}

#[test]
fn a_slow_manager_gets_ready_and_the_latest_status_once_it_drains_its_full_queue() {
    let d = TempDir::new("notify-slow");
    let sock_path = d.path("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    let mut c = Child::emitter_with_env(
        &d.path("hb.json"),
        60_000,
        &[
            ("NOTIFY_SOCKET", sock_path.to_str().unwrap()),
            // A ping every 10 ms fills the manager's queue.
            ("WATCHDOG_USEC", "20000"),
        ],
    );
    // The manager is busy: it reads nothing until its queue is full.
    common::eventually("the manager's queue full of pings", || {
        common::notify_queue_is_full(&sock_path)
    });
    assert_eq!(c.send("ready listening"), "ok");
    assert_eq!(c.send("ready busy"), "ok");
    assert_eq!(c.send("ready idle"), "ok");
    assert!(
        common::notify_queue_is_full(&sock_path),
        "nothing was read: every change was told to a full queue"
    );
    // Now it reads: the ready comes, then the latest message (the one in
    // between was replaced while owed).
    assert_eq!(
        until(&sock, "STATUS=idle"),
        ["READY=1\nSTATUS=listening", "STATUS=idle"]
    );
    assert_eq!(c.send("stop"), "ok");
    assert_eq!(until(&sock, "BARRIER=1"), ["STOPPING=1", "BARRIER=1"]);
}

#[test]
fn what_stop_could_not_tell_a_busy_manager_in_its_bound_is_told_when_it_reads() {
    let d = TempDir::new("notify-never");
    let sock_path = d.path("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    let mut c = Child::emitter_with_env(
        &d.path("hb.json"),
        60_000,
        &[
            ("NOTIFY_SOCKET", sock_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "20000"),
        ],
    );
    common::eventually("the manager's queue full of pings", || {
        common::notify_queue_is_full(&sock_path)
    });
    assert_eq!(c.send("ready"), "ok");
    // Stop returns (its bound, 1 s, is checked by the hang guard only)
    // with READY=1 and STOPPING=1 still owed.
    assert_eq!(c.send("stop"), "ok");
    assert!(common::notify_queue_is_full(&sock_path));
    // The emitter object lives on in the child: what is owed is still
    // delivered once the manager reads.
    assert_eq!(until(&sock, "STOPPING=1"), ["READY=1", "STOPPING=1"]);
    c.finish();
}

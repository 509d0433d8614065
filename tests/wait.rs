//! Every outcome of waiting for readiness, with real writers. Where the
//! order of reads matters, the waiter's observer hands each read to the test
//! and waits for its go-ahead, so nothing depends on timing.

mod common;

use common::{last_seen, Child, TempDir};
use lifesign::protocol::{encode, Record, Shape, State};
use lifesign::wait::{sleep_until, Cancel, Watch};
use lifesign::write::AtomicFile;
use lifesign::{
    wait_ready, wait_ready_with, Report, Verdict, WaitError, WaitErrorKind, WaitOptions,
};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How a wait ended, as `wait_ready` says it.
type Waited = Result<Report, WaitError>;

/// Why a wait did not end ready (`None`: it did).
fn kind(out: &Waited) -> Option<WaitErrorKind> {
    out.as_ref().err().map(WaitError::kind)
}

fn write(path: &Path, pid: u32, seq: u64, state: State, updated_at_ms: u64) {
    let r = Record {
        v: 1,
        pid,
        state: Some(state),
        seq,
        updated_at_ms,
        interval_ms: Some(1000),
        shape: Shape::V1,
        ..Record::default()
    };
    put(path, &r);
}

fn now() -> u64 {
    lifesign::check::now_ms()
}

fn me() -> u32 {
    std::process::id()
}

/// Runs a wait on a thread; the test sees every read and says when to go on.
struct Stepped {
    reads: mpsc::Receiver<Report>,
    go: mpsc::Sender<()>,
    done: mpsc::Receiver<Waited>,
}

impl Stepped {
    fn start(path: PathBuf, opts: WaitOptions<'static>) -> Stepped {
        let (rtx, reads) = mpsc::channel();
        let (go, grx) = mpsc::channel::<()>();
        let (dtx, done) = mpsc::channel();
        std::thread::spawn(move || {
            let out = wait_ready_with(&path, &opts, |r| {
                let _ = rtx.send(r.clone());
                let _ = grx.recv();
            });
            let _ = dtx.send(out);
        });
        Stepped { reads, go, done }
    }

    fn read(&self) -> Report {
        self.reads
            .recv_timeout(Duration::from_secs(60))
            .expect("the waiter read nothing for a minute")
    }

    fn go(&self) {
        self.go.send(()).unwrap();
    }

    fn outcome(self) -> Waited {
        drop(self.go);
        self.done
            .recv_timeout(Duration::from_secs(60))
            .expect("the wait did not end within a minute")
    }
}

#[test]
fn ready_ends_the_wait_with_success() {
    let d = TempDir::new("w-ready");
    let p = d.path("hb.json");
    let mut c = Child::emitter(&p, 3_600_000);
    let pid = c.pid();
    let s = Stepped::start(p.clone(), {
        let mut o = WaitOptions::default();
        o.expected_pid = Some(pid);
        o
    });
    assert_eq!(s.read().state, Some(State::Starting));
    assert_eq!(c.send("ready listening"), "ok");
    s.go();
    let out = s.outcome();
    assert!(out.is_ok(), "{out:?}");
    assert_eq!(last_seen(&out).message, "listening");
    assert_eq!(last_seen(&out).pid, pid);
}

#[test]
fn failed_and_stopped_end_the_wait_at_once() {
    for (cmd, verdict) in [
        ("failed port in use", Verdict::Failed),
        ("stop", Verdict::Stopped),
    ] {
        let d = TempDir::new("w-failed");
        let p = d.path("hb.json");
        let mut c = Child::emitter(&p, 3_600_000);
        let s = Stepped::start(p.clone(), WaitOptions::default());
        s.read();
        assert_eq!(c.send(cmd), "ok");
        s.go();
        let out = s.outcome();
        assert_eq!(kind(&out), Some(WaitErrorKind::NotReady), "{out:?}");
        assert_eq!(last_seen(&out).verdict, verdict);
    }
}

#[test]
fn a_dying_emitter_ends_the_wait_with_process_gone() {
    let d = TempDir::new("w-gone");
    let p = d.path("hb.json");
    let mut c = Child::emitter(&p, 3_600_000);
    let (tx, rx) = mpsc::channel();
    let path = p.clone();
    std::thread::spawn(move || {
        let _ = tx.send(wait_ready(&path, &WaitOptions::default()));
    });
    // No file event comes: the pidfd (or the periodic re-read) must see it.
    c.kill_and_leave_zombie();
    let out = rx.recv_timeout(Duration::from_secs(60)).expect("wait hung");
    assert_eq!(last_seen(&out).verdict, Verdict::ProcessGone);
    assert_eq!(kind(&out), Some(WaitErrorKind::NotReady), "{out:?}");
}

#[test]
fn a_stalled_emitter_hits_the_idle_timeout() {
    // A real emitter, frozen with SIGSTOP: its heartbeat stops moving.
    let d = TempDir::new("w-stalled");
    let p = d.path("hb.json");
    let c = Child::emitter(&p, 10);
    unsafe { libc::kill(c.pid() as i32, libc::SIGSTOP) };
    let out = wait_ready(&p, &{
        let mut o = WaitOptions::default();
        o.idle_timeout = Some(Duration::from_millis(300));
        o
    });
    unsafe { libc::kill(c.pid() as i32, libc::SIGCONT) };
    assert_eq!(kind(&out), Some(WaitErrorKind::NotReady), "{out:?}");
    assert_eq!(last_seen(&out).verdict, Verdict::Stale);
    assert_eq!(last_seen(&out).state, Some(State::Starting));
}

#[test]
fn a_writer_that_stops_beating_hits_the_idle_timeout() {
    let d = TempDir::new("w-idle");
    let p = d.path("hb.json");
    write(&p, me(), 1, State::Starting, now());
    let out = wait_ready(&p, &{
        let mut o = WaitOptions::default();
        o.idle_timeout = Some(Duration::from_millis(200));
        o.timeout = Some(Duration::from_secs(600));
        o
    });
    assert_eq!(kind(&out), Some(WaitErrorKind::NotReady), "{out:?}");
    assert_eq!(last_seen(&out).verdict, Verdict::Stale);
    assert_eq!(last_seen(&out).seq, 1);
}

#[test]
fn a_writer_that_beats_but_never_gets_ready_hits_the_hard_timeout() {
    let d = TempDir::new("w-hard");
    let p = d.path("hb.json");
    let _c = Child::emitter(&p, 10);
    let out = wait_ready(&p, &{
        let mut o = WaitOptions::default();
        o.idle_timeout = Some(Duration::from_secs(600));
        o.timeout = Some(Duration::from_millis(300));
        o
    });
    assert_eq!(kind(&out), Some(WaitErrorKind::Timeout));
    assert_eq!(last_seen(&out).verdict, Verdict::Alive);
    assert_eq!(last_seen(&out).state, Some(State::Starting));
}

#[test]
fn one_bad_read_after_a_good_one_is_tolerated() {
    let d = TempDir::new("w-tolerate");
    let p = d.path("hb.json");
    write(&p, me(), 1, State::Starting, now());
    let s = Stepped::start(p.clone(), WaitOptions::default());
    assert_eq!(s.read().verdict, Verdict::Alive);
    std::fs::remove_file(&p).unwrap();
    s.go();
    assert_eq!(s.read().verdict, Verdict::Missing);
    write(&p, me(), 2, State::Ready, now());
    s.go();
    let out = s.outcome();
    assert!(out.is_ok(), "{out:?}");
}

#[test]
fn a_second_bad_read_in_a_row_is_not_tolerated() {
    let d = TempDir::new("w-twice");
    let p = d.path("hb.json");
    write(&p, me(), 1, State::Starting, now());
    let s = Stepped::start(p.clone(), WaitOptions::default());
    assert_eq!(s.read().verdict, Verdict::Alive);
    std::fs::remove_file(&p).unwrap();
    s.go();
    assert_eq!(s.read().verdict, Verdict::Missing);
    std::fs::write(&p, b"{torn").unwrap();
    s.go();
    let read = s.read();
    assert_eq!(read.verdict, Verdict::Invalid);
    let out = s.outcome();
    assert_eq!(kind(&out), Some(WaitErrorKind::NotReady), "{out:?}");
    assert_eq!(last_seen(&out).verdict, Verdict::Invalid);
}

#[test]
fn a_writer_clock_jump_changes_nothing() {
    let d = TempDir::new("w-clock");
    let p = d.path("hb.json");
    // Far in the future, then far in the past: only seq matters to a waiter.
    write(&p, me(), 1, State::Starting, 4_102_444_800_000);
    let s = Stepped::start(p.clone(), {
        let mut o = WaitOptions::default();
        o.idle_timeout = Some(Duration::from_secs(600));
        o
    });
    let first = s.read();
    assert_eq!(
        (first.verdict, first.state),
        (Verdict::Alive, Some(State::Starting))
    );
    write(&p, me(), 2, State::Starting, 1000);
    s.go();
    let second = s.read();
    assert_eq!((second.verdict, second.seq), (Verdict::Alive, 2));
    write(&p, me(), 3, State::Ready, 4_102_444_800_000);
    s.go();
    assert!(s.outcome().is_ok());
}

#[test]
fn files_of_another_pid_are_ignored_until_the_expected_emitter_writes() {
    let d = TempDir::new("w-earlier");
    let p = d.path("hb.json");
    // An earlier run left a stopped heartbeat behind.
    write(&p, 2_000_000_000, 9, State::Stopped, now());
    let s = Stepped::start(p.clone(), {
        let mut o = WaitOptions::default();
        o.expected_pid = Some(me());
        o
    });
    assert_eq!(s.read().verdict, Verdict::PidMismatch);
    write(&p, me(), 1, State::Ready, now());
    s.go();
    assert!(s.outcome().is_ok());
}

#[test]
fn another_pid_after_the_expected_one_ends_the_wait() {
    let d = TempDir::new("w-mismatch");
    let p = d.path("hb.json");
    write(&p, me(), 1, State::Starting, now());
    let s = Stepped::start(p.clone(), {
        let mut o = WaitOptions::default();
        o.expected_pid = Some(me());
        o
    });
    assert_eq!(s.read().verdict, Verdict::Alive);
    write(&p, 2_000_000_000, 1, State::Ready, now());
    s.go();
    assert_eq!(s.read().verdict, Verdict::PidMismatch);
    assert_eq!(last_seen(&s.outcome()).verdict, Verdict::PidMismatch);
}

#[test]
fn waiting_on_a_file_that_appears_later_works_with_and_without_inotify() {
    for force_polling in [false, true] {
        let d = TempDir::new("w-later");
        let p = d.path("later/hb.json");
        let path = p.clone();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(wait_ready(&path, &{
                let mut o = WaitOptions::default();
                o.force_polling = force_polling;
                o
            }));
        });
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        write(&p, me(), 1, State::Ready, now());
        let out = rx.recv_timeout(Duration::from_secs(60)).expect("wait hung");
        assert!(out.is_ok(), "polling={force_polling}: {out:?}");
    }
}

#[test]
fn cancel_ends_a_wait_and_a_triggered_token_ends_the_next_at_once() {
    let d = TempDir::new("w-cancel");
    let p = d.path("hb.json");
    let cancel: &'static Cancel = Box::leak(Box::new(Cancel::new().unwrap()));
    let path = p.clone();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(wait_ready(&path, &{
            let mut o = WaitOptions::default();
            o.cancel = Some(cancel);
            o
        }));
    });
    cancel.trigger();
    let out = rx.recv_timeout(Duration::from_secs(60)).expect("wait hung");
    assert_eq!(kind(&out), Some(WaitErrorKind::Cancelled));
    assert_eq!(last_seen(&out).verdict, Verdict::Missing);
    let again = wait_ready(&p, &{
        let mut o = WaitOptions::default();
        o.cancel = Some(cancel);
        o
    });
    assert_eq!(kind(&again), Some(WaitErrorKind::Cancelled));
}

/// A live child that writes nothing (it waits for its stdin to close): the
/// process a launcher expects, before its first heartbeat.
struct Quiet(std::process::Child);

impl Quiet {
    fn start() -> Quiet {
        Quiet(
            std::process::Command::new("cat")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        )
    }
    fn pid(&self) -> u32 {
        self.0.id()
    }
    fn start_time(&self) -> u64 {
        lifesign::process::stat_of(self.pid()).unwrap().0
    }
}

impl Drop for Quiet {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Writes `r` at `path` as an emitter does (atomic replace).
fn put(path: &Path, r: &Record) {
    AtomicFile::new(path, 0o644, false)
        .unwrap()
        .write(&encode(r))
        .unwrap();
}

/// A record as this library writes it, for `pid` started at `pid_start`,
/// on this host, boot and PID namespace.
fn write_as(path: &Path, pid: u32, pid_start: u64, seq: u64, state: State, message: &str) {
    let id = lifesign::process::identity();
    let r = Record {
        v: 1,
        pid,
        state: Some(state),
        seq,
        updated_at_ms: now(),
        interval_ms: Some(1000),
        host: id.host.clone(),
        boot_id: id.boot_id.clone(),
        pid_ns: id.pid_ns,
        pid_start: Some(pid_start),
        message: Some(message.into()),
        shape: Shape::V1,
        ..Record::default()
    };
    put(path, &r);
}

/// A wait for a live child's PID, started over a heartbeat that an earlier
/// process with the same PID (another start time) left at the path: a
/// container restarted in a new PID namespace, the file on a shared volume.
/// Returns after the waiter's first read, which must have ignored it.
fn wait_over_a_leftover(tag: &str, state: State) -> (TempDir, PathBuf, Quiet, Stepped) {
    let d = TempDir::new(tag);
    let p = d.path("hb.json");
    let child = Quiet::start();
    let (pid, start) = (child.pid(), child.start_time());
    write_as(&p, pid, start + 1, 40, state, "old");
    let s = Stepped::start(p.clone(), {
        let mut o = WaitOptions::default();
        o.expected_pid = Some(pid);
        o
    });
    let first = s.read();
    assert_eq!(first.verdict, Verdict::PidMismatch, "{first:?}");
    assert!(first.detail.contains("earlier process"), "{}", first.detail);
    (d, p, child, s)
}

#[test]
fn a_leftover_stopped_file_of_an_earlier_process_with_the_same_pid_is_ignored() {
    let (_d, p, child, s) = wait_over_a_leftover("w-leftover-stopped", State::Stopped);
    write_as(&p, child.pid(), child.start_time(), 1, State::Ready, "up");
    ends_ready_with(s, "up");
}

#[test]
fn a_leftover_ready_file_of_a_crashed_process_with_the_same_pid_is_not_ready() {
    let (_d, p, child, s) = wait_over_a_leftover("w-leftover-ready", State::Ready);
    let (pid, start) = (child.pid(), child.start_time());
    write_as(&p, pid, start, 1, State::Starting, "loading");
    s.go();
    let second = s.read();
    assert_eq!(
        (second.verdict, second.state),
        (Verdict::Alive, Some(State::Starting))
    );
    write_as(&p, pid, start, 2, State::Ready, "new");
    ends_ready_with(s, "new");
}

/// Lets the waiter read on; it must end ready, with this message.
fn ends_ready_with(s: Stepped, message: &str) {
    s.go();
    let out = s.outcome();
    assert!(out.is_ok(), "{out:?}");
    assert_eq!(last_seen(&out).message, message);
}

#[test]
fn the_c_abi_wait_ignores_a_leftover_of_the_same_pid_too() {
    let d = TempDir::new("w-leftover-capi");
    let p = d.path("hb.json");
    let child = Quiet::start();
    let (pid, start) = (child.pid(), child.start_time());
    write_as(&p, pid, start + 1, 40, State::Stopped, "bye");
    let c_path = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    let reads = ReadsOf::new(d.dir());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // SAFETY: a NUL-terminated path and a report prepared by its init.
        let (rc, out) = unsafe {
            let mut out = std::mem::MaybeUninit::uninit();
            lifesign_capi::lifesign_report_init(out.as_mut_ptr());
            let mut out: lifesign_capi::lifesign_report = out.assume_init();
            let rc =
                lifesign_capi::lifesign_wait_ready(c_path.as_ptr(), pid as i64, 0, 0, &mut out);
            (rc, out)
        };
        let _ = tx.send((rc, out.verdict, out.state));
    });
    // Once the waiter has read the leftover (and, before the fix, ended with
    // `stopped`), the real heartbeat arrives.
    reads.next();
    write_as(&p, pid, start, 1, State::Ready, "up");
    let (rc, verdict, state) = rx.recv_timeout(Duration::from_secs(60)).expect("wait hung");
    assert_eq!(rc, lifesign::codes::OK);
    assert_eq!(verdict, Verdict::Alive.code());
    assert_eq!(state, State::Ready.code());
}

#[test]
fn an_expected_process_that_dies_before_its_first_write_ends_the_wait() {
    let d = TempDir::new("w-died-early");
    let p = d.path("hb.json");
    let mut child = Quiet::start();
    let pid = child.pid();
    let path = p.clone();
    let (tx, rx) = mpsc::channel();
    let s = Stepped::start(path, {
        let mut o = WaitOptions::default();
        o.expected_pid = Some(pid);
        o
    });
    assert_eq!(s.read().verdict, Verdict::Missing);
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    s.go();
    std::thread::spawn(move || {
        let _ = tx.send(s.outcome());
    });
    // No timeout was given: only watching the process can end this wait.
    let out = rx.recv_timeout(Duration::from_secs(60)).expect("wait hung");
    assert_eq!(kind(&out), Some(WaitErrorKind::NotReady), "{out:?}");
    assert_eq!(last_seen(&out).verdict, Verdict::ProcessGone);
    assert!(last_seen(&out)
        .detail
        .contains("before its first heartbeat"));

    // Already gone when the wait starts: decided on the first read.
    let out = wait_ready(&p, &{
        let mut o = WaitOptions::default();
        o.expected_pid = Some(pid);
        o
    });
    assert_eq!(last_seen(&out).verdict, Verdict::ProcessGone);
}

#[test]
fn a_frozen_emitters_old_ready_file_does_not_end_the_wait_until_it_beats_again() {
    let d = TempDir::new("w-frozen");
    let p = d.path("hb.json");
    let mut c = Child::emitter(&p, 20);
    assert_eq!(c.send("ready serving"), "ok");
    // SAFETY: signals our own child.
    unsafe { libc::kill(c.pid() as i32, libc::SIGSTOP) };
    // Until `check` calls the frozen emitter's file stale (hang guard only).
    let guard = std::time::Instant::now() + Duration::from_secs(60);
    while lifesign::check(&p, &Default::default()).verdict != Verdict::Stale {
        assert!(std::time::Instant::now() < guard, "never went stale");
        std::thread::sleep(Duration::from_millis(10));
    }
    let s = Stepped::start(p.clone(), WaitOptions::default());
    let first = s.read();
    assert_eq!(
        (first.verdict, first.state),
        (Verdict::Stale, Some(State::Ready)),
        "{first:?}"
    );
    assert!(first.detail.contains("waiting for a new heartbeat"));
    // SAFETY: as above.
    unsafe { libc::kill(c.pid() as i32, libc::SIGCONT) };
    loop {
        s.go();
        if s.read().verdict == Verdict::Alive {
            break;
        }
    }
    let out = s.outcome();
    assert!(out.is_ok(), "{out:?}");
    assert!(
        last_seen(&out).seq > first.seq,
        "{} after {}",
        last_seen(&out).seq,
        first.seq
    );
}

#[test]
fn an_hours_old_ready_file_of_a_live_but_hung_process_is_not_ready() {
    let d = TempDir::new("w-hours-old");
    let p = d.path("hb.json");
    // Our own live PID: the process exists, its heartbeat stopped 3 h ago.
    write(&p, me(), 12, State::Ready, now() - 3 * 3_600_000);
    let out = wait_ready(&p, &{
        let mut o = WaitOptions::default();
        o.idle_timeout = Some(Duration::from_millis(200));
        o
    });
    assert!(out.is_err(), "{out:?}");
    assert_eq!(
        (last_seen(&out).verdict, last_seen(&out).state),
        (Verdict::Stale, Some(State::Ready))
    );
}

#[test]
fn a_removed_and_recreated_folder_is_watched_again() {
    let d = TempDir::new("w-rundir");
    let dir = d.path("run");
    std::fs::create_dir(&dir).unwrap();
    let p = dir.join("hb.json");
    let mut w = Watch::new(&p, false);
    assert!(w.is_event_driven());
    // systemd's RuntimeDirectory= on a restart: removed, then created again.
    std::fs::remove_dir(&dir).unwrap();
    std::fs::create_dir(&dir).unwrap();
    let guard = Instant::now() + Duration::from_secs(60);
    sleep_until(guard, &w, None, None);
    assert!(Instant::now() < guard, "the removal woke no one");
    w.refresh(&p);
    write(&p, me(), 1, State::Ready, now());
    let guard = Instant::now() + Duration::from_secs(60);
    sleep_until(guard, &w, None, None);
    assert!(
        Instant::now() < guard,
        "a write in the new folder woke no one"
    );
}

#[test]
fn a_wait_across_a_folder_removed_and_recreated_sees_ready() {
    let d = TempDir::new("w-rundir-wait");
    let dir = d.path("run");
    std::fs::create_dir(&dir).unwrap();
    let p = dir.join("hb.json");
    let s = Stepped::start(p.clone(), WaitOptions::default());
    assert_eq!(s.read().verdict, Verdict::Missing);
    std::fs::remove_dir(&dir).unwrap();
    s.go();
    assert_eq!(s.read().verdict, Verdict::Missing);
    std::fs::create_dir(&dir).unwrap();
    write(&p, me(), 1, State::Ready, now());
    s.go();
    assert!(s.outcome().is_ok());
}

/// Reports each time a reader closes a file in a folder (inotify
/// `IN_CLOSE_NOWRITE`): the test knows the waiter has read the file.
struct ReadsOf(std::os::fd::OwnedFd);

impl ReadsOf {
    fn new(dir: &Path) -> ReadsOf {
        use std::os::fd::FromRawFd;
        use std::os::unix::ffi::OsStrExt;
        // SAFETY: plain syscalls on a fresh descriptor and a NUL-terminated path.
        unsafe {
            let fd = libc::inotify_init1(libc::IN_CLOEXEC);
            assert!(fd >= 0);
            let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).unwrap();
            assert!(libc::inotify_add_watch(fd, c.as_ptr(), libc::IN_CLOSE_NOWRITE) >= 0);
            ReadsOf(std::os::fd::OwnedFd::from_raw_fd(fd))
        }
    }

    /// Blocks until the next read-only close in the folder.
    fn next(&self) {
        use std::os::fd::AsRawFd;
        let mut buf = [0u64; 64];
        // SAFETY: reads whole events into a valid buffer.
        let n = unsafe {
            libc::read(
                self.0.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                std::mem::size_of_val(&buf),
            )
        };
        assert!(n > 0);
    }
}

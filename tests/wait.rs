//! Every outcome of waiting for readiness, with real writers. Where the
//! order of reads matters, the waiter's observer hands each read to the test
//! and waits for its go-ahead, so nothing depends on timing.

mod common;

use common::{Child, TempDir};
use lifesign::protocol::{encode, Record, Shape, State};
use lifesign::wait::{wait_ready, wait_ready_with, Cancel, WaitOptions, WaitOutcome};
use lifesign::write::AtomicFile;
use lifesign::{ErrorKind, Report, Verdict};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

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
    AtomicFile::new(path, 0o644, false)
        .unwrap()
        .write(&encode(&r))
        .unwrap();
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
    done: mpsc::Receiver<WaitOutcome>,
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

    fn outcome(self) -> WaitOutcome {
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
    let s = Stepped::start(
        p.clone(),
        WaitOptions {
            expected_pid: Some(pid),
            ..Default::default()
        },
    );
    assert_eq!(s.read().state, Some(State::Starting));
    assert_eq!(c.send("ready listening"), "ok");
    s.go();
    let out = s.outcome();
    assert!(out.is_ready(), "{out:?}");
    assert_eq!(out.report.message, "listening");
    assert_eq!(out.report.pid, pid);
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
        assert!(out.result.is_ok());
        assert!(!out.is_ready());
        assert_eq!(out.report.verdict, verdict);
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
    assert_eq!(out.report.verdict, Verdict::ProcessGone);
    assert!(out.result.is_ok());
}

#[test]
fn a_stalled_emitter_hits_the_idle_timeout() {
    // A real emitter, frozen with SIGSTOP: its heartbeat stops moving.
    let d = TempDir::new("w-stalled");
    let p = d.path("hb.json");
    let c = Child::emitter(&p, 10);
    unsafe { libc::kill(c.pid() as i32, libc::SIGSTOP) };
    let out = wait_ready(
        &p,
        &WaitOptions {
            idle_timeout: Some(Duration::from_millis(300)),
            ..Default::default()
        },
    );
    unsafe { libc::kill(c.pid() as i32, libc::SIGCONT) };
    assert!(out.result.is_ok());
    assert_eq!(out.report.verdict, Verdict::Stale);
    assert_eq!(out.report.state, Some(State::Starting));
}

#[test]
fn a_writer_that_stops_beating_hits_the_idle_timeout() {
    let d = TempDir::new("w-idle");
    let p = d.path("hb.json");
    write(&p, me(), 1, State::Starting, now());
    let out = wait_ready(
        &p,
        &WaitOptions {
            idle_timeout: Some(Duration::from_millis(200)),
            timeout: Some(Duration::from_secs(600)),
            ..Default::default()
        },
    );
    assert!(out.result.is_ok(), "{:?}", out.result);
    assert_eq!(out.report.verdict, Verdict::Stale);
    assert_eq!(out.report.seq, 1);
}

#[test]
fn a_writer_that_beats_but_never_gets_ready_hits_the_hard_timeout() {
    let d = TempDir::new("w-hard");
    let p = d.path("hb.json");
    let _c = Child::emitter(&p, 10);
    let out = wait_ready(
        &p,
        &WaitOptions {
            idle_timeout: Some(Duration::from_secs(600)),
            timeout: Some(Duration::from_millis(300)),
            ..Default::default()
        },
    );
    assert_eq!(out.result.as_ref().unwrap_err().kind, ErrorKind::Timeout);
    assert_eq!(out.report.verdict, Verdict::Alive);
    assert_eq!(out.report.state, Some(State::Starting));
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
    assert!(out.is_ready(), "{out:?}");
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
    assert!(out.result.is_ok());
    assert_eq!(out.report.verdict, Verdict::Invalid);
}

#[test]
fn a_writer_clock_jump_changes_nothing() {
    let d = TempDir::new("w-clock");
    let p = d.path("hb.json");
    // Far in the future, then far in the past: only seq matters to a waiter.
    write(&p, me(), 1, State::Starting, 4_102_444_800_000);
    let s = Stepped::start(
        p.clone(),
        WaitOptions {
            idle_timeout: Some(Duration::from_secs(600)),
            ..Default::default()
        },
    );
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
    assert!(s.outcome().is_ready());
}

#[test]
fn files_of_another_pid_are_ignored_until_the_expected_emitter_writes() {
    let d = TempDir::new("w-earlier");
    let p = d.path("hb.json");
    // An earlier run left a stopped heartbeat behind.
    write(&p, 2_000_000_000, 9, State::Stopped, now());
    let s = Stepped::start(
        p.clone(),
        WaitOptions {
            expected_pid: Some(me()),
            ..Default::default()
        },
    );
    assert_eq!(s.read().verdict, Verdict::PidMismatch);
    write(&p, me(), 1, State::Ready, now());
    s.go();
    assert!(s.outcome().is_ready());
}

#[test]
fn another_pid_after_the_expected_one_ends_the_wait() {
    let d = TempDir::new("w-mismatch");
    let p = d.path("hb.json");
    write(&p, me(), 1, State::Starting, now());
    let s = Stepped::start(
        p.clone(),
        WaitOptions {
            expected_pid: Some(me()),
            ..Default::default()
        },
    );
    assert_eq!(s.read().verdict, Verdict::Alive);
    write(&p, 2_000_000_000, 1, State::Ready, now());
    s.go();
    assert_eq!(s.read().verdict, Verdict::PidMismatch);
    assert_eq!(s.outcome().report.verdict, Verdict::PidMismatch);
}

#[test]
fn waiting_on_a_file_that_appears_later_works_with_and_without_inotify() {
    for force_polling in [false, true] {
        let d = TempDir::new("w-later");
        let p = d.path("later/hb.json");
        let path = p.clone();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(wait_ready(
                &path,
                &WaitOptions {
                    force_polling,
                    ..Default::default()
                },
            ));
        });
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        write(&p, me(), 1, State::Ready, now());
        let out = rx.recv_timeout(Duration::from_secs(60)).expect("wait hung");
        assert!(out.is_ready(), "polling={force_polling}: {out:?}");
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
        let _ = tx.send(wait_ready(
            &path,
            &WaitOptions {
                cancel: Some(cancel),
                ..Default::default()
            },
        ));
    });
    cancel.trigger();
    let out = rx.recv_timeout(Duration::from_secs(60)).expect("wait hung");
    assert_eq!(out.result.unwrap_err().kind, ErrorKind::Cancelled);
    assert_eq!(out.report.verdict, Verdict::Missing);
    let again = wait_ready(
        &p,
        &WaitOptions {
            cancel: Some(cancel),
            ..Default::default()
        },
    );
    assert_eq!(again.result.unwrap_err().kind, ErrorKind::Cancelled);
}

//! The process's one folder watcher, with real processes: a thousand waits
//! on one folder, waits at the descriptor limit, a reader's own failures,
//! and what wakes whom.
//!
//! Emitters are `emitters` roles of this binary, each a process holding a
//! hundred heartbeats: the waits read files written by other processes,
//! while the test stays at a dozen processes on two cores.
//!
//! inotify's per-user limits (`fs.inotify.max_user_instances`, 128 by
//! default; `max_user_watches`, 8192 or more): every test here holds one
//! instance however many waits it runs (asserted), and one watch per
//! folder, so the tests of this binary and of any other running beside it
//! stay far below both.

mod common;

use common::{in_own_process, within, Child, TempDir};
use lifesign::wait::{sleep_until, Watch};
use lifesign::watcher::{self, Names};
use lifesign::{
    wait_ready, wait_ready_with, Emitter, State, Verdict, WaitError, WaitErrorKind, WaitOptions,
};
use serde_json::json;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The number of inotify instances this process holds. Under a lowered
/// descriptor limit the waits may hold every descriptor for a moment, so a
/// listing refused with EMFILE is tried again (a hang guard ends it).
fn inotify_instances() -> usize {
    let deadline = Instant::now() + Duration::from_secs(120);
    let listing = loop {
        match std::fs::read_dir("/proc/self/fd") {
            Ok(d) => break d,
            Err(e) if e.raw_os_error() == Some(libc::EMFILE) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(e) => panic!("listing /proc/self/fd: {e}"),
        }
    };
    listing
        .flatten()
        .filter(|e| {
            std::fs::read_link(e.path()).is_ok_and(|t| t.as_os_str() == "anon_inode:inotify")
        })
        .count()
}

fn hb(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("hb-{i:04}.json"))
}

#[test]
#[ignore = "runs only as a child process (see run_role)"]
fn child_process_entry() {
    common::run_role(|role, args| match role {
        // Heartbeats `first .. first + count` of `dir`, `starting`, until
        // `ready` is asked; stopped at the end of input.
        "emitters" => {
            let dir = PathBuf::from(args["dir"].as_str().unwrap());
            let first = args["first"].as_u64().unwrap() as usize;
            let count = args["count"].as_u64().unwrap() as usize;
            let hbs: Vec<Emitter> = (first..first + count)
                .map(|i| Emitter::start(hb(&dir, i), Duration::from_secs(1)).unwrap())
                .collect();
            common::say(&format!("started pid={}", std::process::id()));
            for line in std::io::stdin().lock().lines() {
                match line.unwrap().as_str() {
                    "ready" => {
                        for h in &hbs {
                            h.set_state(State::Ready, None).unwrap();
                        }
                        common::say("ok");
                    }
                    other => common::say(&format!("err unknown command {other}")),
                }
            }
            for h in hbs {
                let _ = h.stop();
            }
        }
        other => panic!("unknown role {other}"),
    });
}

/// `procs` processes of `per` heartbeats each in `dir`, all `starting`.
fn emitters(dir: &Path, procs: usize, per: usize) -> Vec<Child> {
    let mut kids: Vec<Child> = (0..procs)
        .map(|k| {
            Child::role(
                "emitters",
                &json!({"dir": dir, "first": k * per, "count": per}),
            )
        })
        .collect();
    for c in &mut kids {
        c.started();
    }
    kids
}

/// Runs `n` waits on `dir`'s heartbeats, each on its own thread; once
/// every one has started and `need_seen` of them have read their file,
/// asks the emitters for `ready`, and returns every outcome.
fn waits_then_ready(
    dir: &Path,
    n: usize,
    need_seen: usize,
    kids: &mut [Child],
    timeout: Duration,
) -> Vec<Result<lifesign::Report, WaitError>> {
    let started = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (p, started, seen) = (hb(dir, i), started.clone(), seen.clone());
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    let mut first = true;
                    started.fetch_add(1, Ordering::SeqCst);
                    wait_ready_with(
                        &p,
                        &{
                            let mut o = WaitOptions::default();
                            o.timeout = Some(timeout);
                            o
                        },
                        |_| {
                            if std::mem::take(&mut first) {
                                seen.fetch_add(1, Ordering::SeqCst);
                            }
                        },
                    )
                })
                .unwrap()
        })
        .collect();
    // Not a measurement: the emitters say `starting` until asked, so the
    // waits cannot end before; this only lets them all be under way.
    for _ in 0..600_000 {
        if started.load(Ordering::SeqCst) == n && seen.load(Ordering::SeqCst) >= need_seen {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(
        seen.load(Ordering::SeqCst) >= need_seen,
        "the waits never read"
    );
    assert_eq!(
        inotify_instances(),
        1,
        "one inotify instance for every wait"
    );
    for c in kids.iter_mut() {
        assert_eq!(c.send("ready"), "ok");
    }
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

fn not_ready(outs: &[Result<lifesign::Report, WaitError>]) -> Vec<String> {
    outs.iter()
        .enumerate()
        .filter_map(|(i, o)| {
            o.as_ref()
                .err()
                .map(|e| format!("hb-{i:04}: {e} {:?}", e.report()))
        })
        .collect()
}

#[test]
fn a_thousand_waits_on_one_folder_of_other_processes_heartbeats_all_become_ready() {
    let d = TempDir::in_ram("w-thousand");
    let dir = d.dir().to_path_buf();
    let outs = within(900, "a thousand waits", move || {
        let mut kids = emitters(&dir, 10, 100);
        // A timeout as a user sets one, far beyond what the waits need:
        // it catches waits that never see their file, not slow ones.
        waits_then_ready(&dir, 1000, 1000, &mut kids, Duration::from_secs(240))
    });
    let bad = not_ready(&outs);
    assert!(
        bad.is_empty(),
        "{} not ready: {:?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
}

#[test]
fn three_hundred_waits_under_400_descriptors_degrade_and_all_become_ready() {
    if !in_own_process("three_hundred_waits_under_400_descriptors_degrade_and_all_become_ready") {
        return;
    }
    let d = TempDir::in_ram("w-rlimit");
    // The emitters first: they keep the limit they were started with.
    let mut kids = emitters(d.dir(), 3, 100);
    set_nofile(400);
    // 150 of them reading, each with a kept lock probe, and all 300 with a
    // wake-up each: more than 400 descriptors.
    let outs = waits_then_ready(d.dir(), 300, 150, &mut kids, Duration::from_secs(240));
    let bad = not_ready(&outs);
    assert!(
        bad.is_empty(),
        "{} not ready: {:?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
    // 300 waits cannot each keep a wake-up, a pidfd and a lock probe in
    // 400 descriptors: some gave theirs back, and said so.
    let degraded = outs
        .iter()
        .filter(|o| common::last_seen(o).detail.contains("degraded:"))
        .count();
    assert!(degraded > 0, "no wait said it ran degraded");
}

fn set_nofile(n: u64) {
    let lim = libc::rlimit {
        rlim_cur: n,
        rlim_max: n,
    };
    // SAFETY: a valid rlimit.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
}

#[test]
fn no_descriptor_left_in_the_middle_of_a_wait_is_a_clear_error_never_invalid() {
    if !in_own_process("no_descriptor_left_in_the_middle_of_a_wait_is_a_clear_error_never_invalid")
    {
        return;
    }
    set_nofile(256);
    let d = TempDir::new("w-emfile");
    let mut kids = emitters(d.dir(), 1, 1);
    let p = hb(d.dir(), 0);
    let (first_tx, first_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let waiter = std::thread::spawn(move || {
        let mut first = true;
        wait_ready_with(
            &p,
            &{
                let mut o = WaitOptions::default();
                o.timeout = Some(Duration::from_secs(5));
                o
            },
            |r| {
                if std::mem::take(&mut first) {
                    first_tx.send(r.clone()).unwrap();
                    go_rx.recv().unwrap();
                }
            },
        )
    });
    assert_eq!(first_rx.recv().unwrap().state, Some(State::Starting));
    // Every descriptor taken: the wait's reads fail on its own side.
    let mut held = Vec::new();
    let take_all = |held: &mut Vec<i32>| loop {
        // SAFETY: dup of stdin; -1 once the limit is reached.
        let fd = unsafe { libc::dup(0) };
        if fd < 0 {
            break;
        }
        held.push(fd);
    };
    take_all(&mut held);
    assert_eq!(kids[0].send("ready"), "ok");
    go_tx.send(()).unwrap();
    let out = waiter.join().unwrap();
    // It gave back its own descriptors (and may then have read ready), or
    // it never could read: either way it says why, and never `invalid`.
    match &out {
        Ok(report) => {
            assert!(report.detail.contains("out of descriptors"), "{out:?}");
        }
        Err(e) => {
            assert_ne!(e.report().verdict, Verdict::Invalid, "{out:?}");
            assert_eq!(e.kind(), WaitErrorKind::Timeout, "{out:?}");
            assert!(e.to_string().contains("Too many open files"), "{out:?}");
        }
    }
    // No descriptor at all from its start: a clear error at its deadline.
    take_all(&mut held);
    let out = wait_ready(hb(d.dir(), 0), &{
        let mut o = WaitOptions::default();
        o.timeout = Some(Duration::from_secs(2));
        o
    });
    for fd in held {
        // SAFETY: ours.
        unsafe { libc::close(fd) };
    }
    let e = out.as_ref().expect_err("no read could succeed");
    assert_eq!(e.kind(), WaitErrorKind::Timeout, "{out:?}");
    assert!(e.to_string().contains("Too many open files"), "{out:?}");
    assert_ne!(e.report().verdict, Verdict::Invalid, "{out:?}");
    // Descriptors back: the same file is ready.
    let out = wait_ready(hb(d.dir(), 0), &{
        let mut o = WaitOptions::default();
        o.timeout = Some(Duration::from_secs(120));
        o
    });
    assert!(out.is_ok(), "{out:?}");
}

#[test]
fn readers_closes_and_other_files_changes_wake_no_one() {
    let d = TempDir::new("w-noise");
    let mine = d.path("mine.json");
    let other = d.path("other.json");
    std::fs::write(&other, b"{}").unwrap();
    let woke = Arc::new(AtomicUsize::new(0));
    let w = woke.clone();
    let _sub = watcher::subscribe(
        d.dir(),
        Names::Only(vec![b"mine.json".to_vec()]),
        Arc::new(move |_| {
            w.fetch_add(1, Ordering::SeqCst);
        }),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    for i in 0..50 {
        // A reader's close, a mode change, another file's write.
        let _ = std::fs::read(&other).unwrap();
        std::fs::set_permissions(
            &other,
            std::fs::Permissions::from_mode(0o600 + (i % 2) * 0o44),
        )
        .unwrap();
        std::fs::write(&other, b"{}").unwrap();
    }
    // The dispatcher reads events in order: once its own file's event has
    // arrived, the others were all handed out before it.
    std::fs::write(&mine, b"{}").unwrap();
    // Written in place: one event, closed after writing.
    common::eventually("the own file's event", || woke.load(Ordering::SeqCst) > 0);
    let _ = std::fs::read(&mine).unwrap();
    std::fs::write(d.path("last.json"), b"{}").unwrap();
    let last = Arc::new(AtomicUsize::new(0));
    let l = last.clone();
    let _sub2 = watcher::subscribe(
        d.dir(),
        Names::Only(vec![b"last2.json".to_vec()]),
        Arc::new(move |_| {
            l.fetch_add(1, Ordering::SeqCst);
        }),
    )
    .unwrap();
    std::fs::write(d.path("last2.json"), b"{}").unwrap();
    common::eventually("a later event", || last.load(Ordering::SeqCst) > 0);
    assert_eq!(
        woke.load(Ordering::SeqCst),
        1,
        "only its own file's write woke it"
    );
}

#[test]
fn a_relay_subscriber_a_wait_and_a_watch_share_one_inotify_instance_and_one_watch_per_folder() {
    if !in_own_process(
        "a_relay_subscriber_a_wait_and_a_watch_share_one_inotify_instance_and_one_watch_per_folder",
    ) {
        return;
    }
    let d = TempDir::new("w-share");
    let p = d.path("hb.json");
    // What the relay holds: every entry of the folder.
    let _relay = watcher::subscribe(d.dir(), Names::All, Arc::new(|_| {})).unwrap();
    let watches: Vec<Watch> = (0..20).map(|_| Watch::new(&p, false)).collect();
    assert!(watches.iter().all(Watch::is_event_driven));
    let mut kid = Child::emitter(&p, 100);
    let cancel = Arc::new(lifesign::Cancel::new().unwrap());
    let c = cancel.clone();
    let p2 = p.clone();
    let follower = std::thread::spawn(move || {
        lifesign::watch(&p2, &Default::default(), Some(&c), |_| true);
    });
    let (first_tx, first_rx) = std::sync::mpsc::channel();
    let pid = kid.pid();
    let waiter = std::thread::spawn(move || {
        let mut first = true;
        wait_ready_with(
            &p,
            &{
                let mut o = WaitOptions::default();
                o.timeout = Some(Duration::from_secs(120));
                o.expected_pid = Some(pid);
                o
            },
            |_| {
                if std::mem::take(&mut first) {
                    first_tx.send(()).unwrap();
                }
            },
        )
    });
    first_rx.recv().unwrap();
    assert_eq!(inotify_instances(), 1);
    // One watch for the folder, however many follow it.
    assert_eq!(watcher::counts().0, 1);
    assert_eq!(kid.send("ready"), "ok");
    let out = waiter.join().unwrap();
    assert!(out.is_ok(), "{out:?}");
    cancel.trigger();
    follower.join().unwrap();
    assert_eq!(inotify_instances(), 1);
}

#[test]
fn a_folder_removed_and_recreated_wakes_its_readers_and_is_followed_again() {
    let d = TempDir::new("w-recreate");
    let dir = d.path("run");
    std::fs::create_dir(&dir).unwrap();
    let p = dir.join("hb.json");
    let w = Watch::new(&p, false);
    assert!(w.is_event_driven());
    w.drain();
    std::fs::remove_dir(&dir).unwrap();
    let guard = Instant::now() + Duration::from_secs(60);
    sleep_until(guard, &w, None, None);
    assert!(Instant::now() < guard, "the removal woke no one");
    w.drain();
    std::fs::create_dir(&dir).unwrap();
    let guard = Instant::now() + Duration::from_secs(60);
    sleep_until(guard, &w, None, None);
    assert!(Instant::now() < guard, "the folder's return woke no one");
    w.drain();
    std::fs::write(&p, b"{}").unwrap();
    let guard = Instant::now() + Duration::from_secs(60);
    sleep_until(guard, &w, None, None);
    assert!(
        Instant::now() < guard,
        "a write in the new folder woke no one"
    );
}

#[test]
fn a_wait_holds_at_most_three_descriptors_of_its_own() {
    if !in_own_process("a_wait_holds_at_most_three_descriptors_of_its_own") {
        return;
    }
    let d = TempDir::new("w-budget");
    let p = d.path("hb.json");
    let mut kid = Child::emitter(&p, 100);
    let fds = || std::fs::read_dir("/proc/self/fd").unwrap().count();
    // The process's watcher (one inotify instance, shared) is not the wait's.
    let _shared = watcher::subscribe(d.dir(), Names::Only(vec![]), Arc::new(|_| {})).unwrap();
    // Nor is the checker's cache of verified processes (a pidfd each, 64 at
    // most, process::CACHE_CAPACITY): a check fills it for this emitter.
    assert!(lifesign::check(&p, &Default::default()).is_alive());
    let before = fds();
    let pid = kid.pid();
    let (tx, rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let waiter = std::thread::spawn(move || {
        let mut reads = 0;
        wait_ready_with(
            &p,
            &{
                let mut o = WaitOptions::default();
                o.expected_pid = Some(pid);
                o.timeout = Some(Duration::from_secs(120));
                o
            },
            |_| {
                reads += 1;
                // By its third read it holds all it keeps: a wake-up, the
                // expected process's pidfd, its lock probe.
                if reads == 3 {
                    tx.send(()).unwrap();
                    go_rx.recv().unwrap();
                }
            },
        )
    });
    rx.recv().unwrap();
    let during = fds();
    go_tx.send(()).unwrap();
    assert_eq!(kid.send("ready"), "ok");
    assert!(waiter.join().unwrap().is_ok());
    assert!(
        during - before <= 3,
        "the wait holds {} descriptors",
        during - before
    );
    assert!(
        during > before,
        "the wait holds none: the count measures nothing"
    );
}

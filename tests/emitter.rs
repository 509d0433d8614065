//! The emitter and the write rules, against the real filesystem and real
//! processes.

mod common;

use common::{eventually, protocol_lines, record, temporaries, within, Child, TempDir};
use lifesign::check::read_path;
use lifesign::check::Read;
use lifesign::{check, CheckOptions, Emitter, ErrorKind, Options, State, Verdict};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

#[test]
fn start_writes_the_first_heartbeat_before_returning() {
    let d = TempDir::new("first");
    let p = d.path("hb.json");
    let e = Emitter::start(&p, Duration::from_secs(3600)).unwrap();
    let r = record(&p);
    assert_eq!(
        (r.state, r.seq, r.pid),
        (Some(State::Starting), 1, std::process::id())
    );
    assert_eq!(r.interval_ms, Some(3_600_000));
    assert_eq!(r.stale_after_ms, Some(3 * 3_600_000));
    assert!(r.pid_start.is_some() && r.boot_id.is_some() && r.pid_ns.is_some());
    assert!(check(&p, &CheckOptions::default()).is_alive());
    e.stop().unwrap();
}

#[test]
fn a_path_with_a_nul_byte_is_refused_before_anything_is_written() {
    let dir = TempDir::new("nul");
    let p = dir.path("a\0b.json");
    let err = Emitter::start(&p, Duration::from_secs(3600)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidArgument, "{err}");
    assert!(err.to_string().contains("NUL"), "{err}");
    let left: Vec<_> = std::fs::read_dir(dir.dir()).unwrap().collect();
    assert!(left.is_empty(), "nothing is written: {left:?}");
}

#[test]
fn missing_parent_folders_are_created() {
    let d = TempDir::new("parents");
    let p = d.path("a/b/c/hb.json");
    let e = Emitter::start(&p, Duration::from_secs(3600)).unwrap();
    assert_eq!(record(&p).seq, 1);
    drop(e);
}

#[test]
fn every_write_increments_seq_and_set_state_keeps_or_clears_the_message() {
    let d = TempDir::new("seq");
    let p = d.path("hb.json");
    let e = Emitter::start(&p, Duration::from_secs(3600)).unwrap();
    e.beat().unwrap();
    assert_eq!(record(&p).seq, 2);
    e.set_state(State::Ready, Some("serving")).unwrap();
    let r = record(&p);
    assert_eq!(
        (r.seq, r.state, r.message.as_deref()),
        (3, Some(State::Ready), Some("serving"))
    );
    e.set_state(State::Stopping, None).unwrap();
    assert_eq!(record(&p).message.as_deref(), Some("serving"));
    e.set_state(State::Stopping, Some("")).unwrap();
    assert_eq!(record(&p).message, None);
    let err = e.set_state(State::Stopped, None).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidArgument);
    e.set_meta("version", Some("1.2")).unwrap();
    e.beat().unwrap();
    assert_eq!(
        record(&p).meta.get("version").map(String::as_str),
        Some("1.2")
    );
    e.stop().unwrap();
    let r = record(&p);
    assert_eq!((r.state, r.seq), (Some(State::Stopped), 7));
}

#[test]
fn long_messages_are_cut_at_a_character_boundary() {
    let d = TempDir::new("msg");
    let p = d.path("hb.json");
    let e = Emitter::start(&p, Duration::from_secs(3600)).unwrap();
    e.set_state(State::Ready, Some(&"ü".repeat(5000))).unwrap();
    let m = record(&p).message.unwrap();
    assert_eq!(m.len(), 4096);
    assert!(m.chars().all(|c| c == 'ü'));
}

#[test]
fn progress_is_recorded_by_the_next_write() {
    let d = TempDir::new("progress");
    let p = d.path("hb.json");
    let e = Emitter::start(&p, Duration::from_secs(3600)).unwrap();
    let first = record(&p);
    assert_eq!(
        (first.progress, first.progress_at_ms),
        (None, None),
        "no progress fields before progress() was counted"
    );
    for _ in 0..5 {
        e.progress().unwrap();
    }
    assert_eq!(record(&p).progress, None, "progress alone writes nothing");
    e.beat().unwrap();
    let r = record(&p);
    assert_eq!(r.progress, Some(5));
    assert!(r.progress_at_ms.unwrap() >= first.updated_at_ms);
    e.beat().unwrap();
    assert_eq!(
        record(&p).progress_at_ms,
        r.progress_at_ms,
        "unchanged counter keeps its time"
    );
}

#[test]
fn an_emitter_that_never_counts_progress_is_never_stalled() {
    let d = TempDir::new("no-progress");
    let p = d.path("hb.json");
    let e = Emitter::start(&p, Duration::from_secs(3600)).unwrap();
    e.set_state(State::Ready, None).unwrap();
    // The strictest stall limit there is: any progress field, however
    // recent, would be older than 1 ms by the time the check runs.
    let strict = {
        let mut o = CheckOptions::default();
        o.stall = Some(Duration::from_millis(1));
        o
    };
    // Ages may be measured on the wall or the monotonic clock: wait on the
    // monotonic one (Instant), from after the write, well past the limit.
    let past_the_limit = || {
        let written = std::time::Instant::now();
        while written.elapsed() < Duration::from_millis(5) {
            std::thread::yield_now();
        }
    };
    past_the_limit();
    let r = record(&p);
    assert_eq!((r.progress, r.progress_at_ms), (None, None));
    assert_eq!(check(&p, &strict).verdict, Verdict::Alive);
    // Once progress is counted, the stall rule applies.
    e.progress().unwrap();
    e.beat().unwrap();
    assert!(record(&p).progress_at_ms.is_some());
    past_the_limit();
    assert_eq!(check(&p, &strict).verdict, Verdict::Stalled);
}

#[test]
fn the_thread_refreshes_the_file() {
    let d = TempDir::new("refresh");
    let p = d.path("hb.json");
    let e = Emitter::start(&p, Duration::from_millis(10)).unwrap();
    // Bounded loop: only a thread that never writes fails it.
    let mut seq = 1;
    for _ in 0..6000 {
        seq = record(&p).seq;
        if seq >= 4 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(seq >= 4, "the refresh thread wrote nothing new");
    e.stop().unwrap();
}

#[test]
fn stop_does_not_wait_out_the_interval_and_is_idempotent() {
    let d = TempDir::new("stop");
    let p = d.path("hb.json");
    let e = Arc::new(Emitter::start(&p, Duration::from_secs(3600)).unwrap());
    let e2 = Arc::clone(&e);
    within(60, "stop", move || e2.stop()).unwrap();
    assert_eq!(record(&p).state, Some(State::Stopped));
    let seq = record(&p).seq;
    e.stop().unwrap();
    assert_eq!(record(&p).seq, seq, "a second stop writes nothing");
    for err in [
        e.beat(),
        e.progress(),
        e.set_state(State::Ready, None),
        e.set_meta("a", None),
    ] {
        assert_eq!(err.unwrap_err().kind, ErrorKind::State);
    }
    assert_eq!(
        check(&p, &CheckOptions::default()).verdict,
        Verdict::Stopped
    );
}

#[test]
fn remove_on_stop_leaves_no_file() {
    let d = TempDir::new("remove");
    let p = d.path("hb.json");
    let e = Emitter::start_with(&p, {
        let mut o = Options::default();
        o.remove_on_stop = true;
        o
    })
    .unwrap();
    assert!(p.exists());
    e.stop().unwrap();
    assert!(!p.exists());
}

#[test]
fn durable_writes_produce_the_same_file() {
    let d = TempDir::new("durable");
    let p = d.path("hb.json");
    let e = Emitter::start_with(&p, {
        let mut o = Options::default();
        o.durable = true;
        o
    })
    .unwrap();
    e.set_state(State::Ready, None).unwrap();
    assert_eq!(record(&p).state, Some(State::Ready));
    assert!(temporaries(d.dir()).is_empty());
}

#[test]
fn writers_on_one_path_and_on_sibling_names_never_share_a_temporary() {
    let d = TempDir::new("siblings");
    let a = d.path("a.json");
    let b = d.path("a.hb");
    let emitters: Vec<Emitter> = [&a, &a, &b, &b]
        .iter()
        .map(|p| Emitter::start(p, Duration::from_secs(3600)).unwrap())
        .collect();
    std::thread::scope(|s| {
        for e in &emitters {
            s.spawn(move || {
                for _ in 0..300 {
                    e.beat().expect("every write succeeds");
                }
            });
        }
        s.spawn(|| {
            for _ in 0..1000 {
                for p in [&a, &b] {
                    assert!(matches!(read_path(p), Read::Record(_)), "torn read");
                }
            }
        });
    });
    assert!(
        temporaries(d.dir()).is_empty(),
        "{:?}",
        temporaries(d.dir())
    );
}

#[test]
fn start_removes_temporaries_of_dead_writers_only() {
    let d = TempDir::new("orphans");
    let p = d.path("hb.json");
    // A PID that cannot exist (above pid_max) and our own, which is alive.
    let dead = d.path(".hb.json.lifesign-2147483646-7.tmp");
    let alive = d.path(&format!(
        ".hb.json.lifesign-{}-999999.tmp",
        std::process::id()
    ));
    let other = d.path(".other.json.lifesign-2147483646-1.tmp");
    for f in [&dead, &alive, &other] {
        std::fs::write(f, b"{").unwrap();
    }
    let e = Emitter::start(&p, Duration::from_secs(3600)).unwrap();
    assert!(!dead.exists(), "a dead writer's temporary is removed");
    assert!(alive.exists(), "a live writer's temporary is kept");
    assert!(
        other.exists(),
        "another heartbeat's temporary is not ours to remove"
    );
    drop(e);
}

#[test]
fn a_failed_write_is_reported_counted_and_recovers() {
    let d = TempDir::new("fault");
    let p = d.path("hb.json");
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen2 = Arc::clone(&seen);
    let e = Emitter::start_with(&p, {
        let mut o = Options::default();
        o.interval = Duration::from_secs(3600);
        o.on_error = Some(Arc::new(move |err: &lifesign::Error| {
            seen2.lock().unwrap().push(err.message.clone())
        }));
        o.log_errors = false;
        o
    })
    .unwrap();
    // A non-empty folder where the file should be: rename over it fails,
    // even for root.
    std::fs::remove_file(&p).unwrap();
    std::fs::create_dir(&p).unwrap();
    std::fs::write(p.join("x"), b"x").unwrap();
    assert_eq!(e.beat().unwrap_err().kind, ErrorKind::Io);
    assert_eq!(e.beat().unwrap_err().kind, ErrorKind::Io);
    assert_eq!(e.write_failures(), 2);
    assert_eq!(seen.lock().unwrap().len(), 2);
    assert!(
        temporaries(d.dir()).is_empty(),
        "failed writes leave no temporary"
    );
    std::fs::remove_dir_all(&p).unwrap();
    e.beat().unwrap();
    let r = record(&p);
    assert_eq!(r.seq, 2, "seq counts successful writes");
}

#[test]
fn a_folder_removed_while_emitting_is_recreated() {
    let d = TempDir::new("rmdir");
    let p = d.path("sub/hb.json");
    let e = Emitter::start(&p, Duration::from_secs(3600)).unwrap();
    std::fs::remove_dir_all(d.path("sub")).unwrap();
    e.beat().unwrap();
    assert_eq!(record(&p).seq, 2);
}

#[test]
fn a_killed_emitter_is_process_gone_on_the_very_next_check() {
    let d = TempDir::new("kill");
    let p = d.path("hb.json");
    let mut c = Child::emitter(&p, 3_600_000);
    assert_eq!(c.send("ready"), "ok");
    assert!(check(&p, &CheckOptions::default()).is_alive());
    c.kill_and_leave_zombie();
    let r = check(&p, &CheckOptions::default());
    assert_eq!(r.verdict, Verdict::ProcessGone, "a zombie counts as gone");
    c.child.wait().unwrap();
    assert_eq!(
        check(&p, &CheckOptions::default()).verdict,
        Verdict::ProcessGone
    );
}

#[test]
fn a_reused_pid_is_process_gone() {
    let d = TempDir::new("reuse");
    let p = d.path("hb.json");
    let e = Emitter::start(&p, Duration::from_secs(3600)).unwrap();
    let mut r = record(&p);
    // Our own live PID, but another start time: as if the PID were reused.
    r.pid_start = Some(r.pid_start.unwrap() + 1);
    std::fs::write(&p, lifesign::protocol::encode(&r)).unwrap();
    assert_eq!(
        check(&p, &CheckOptions::default()).verdict,
        Verdict::ProcessGone
    );
    drop(e);
}

#[test]
fn environment_handoff() {
    let d = TempDir::new("env");
    let p = d.path("hb.json");
    let run = |env: &[(&str, &str)]| {
        let out = std::process::Command::new(common::emitter_child_binary())
            .env_remove("LIFESIGN_FILE")
            .env_remove("LIFESIGN_INTERVAL_MS")
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        protocol_lines(&out.stdout)
            .into_iter()
            .next()
            .unwrap_or_default()
    };
    assert_eq!(run(&[]), "none");
    assert_eq!(run(&[("LIFESIGN_FILE", "")]), "none");
    let bad = run(&[
        ("LIFESIGN_FILE", p.to_str().unwrap()),
        ("LIFESIGN_INTERVAL_MS", "fast"),
    ]);
    assert!(
        bad.starts_with("err ") && bad.contains("LIFESIGN_INTERVAL_MS"),
        "{bad}"
    );
    assert!(!p.exists());
    let ok = run(&[
        ("LIFESIGN_FILE", p.to_str().unwrap()),
        ("LIFESIGN_INTERVAL_MS", "250"),
    ]);
    assert!(ok.starts_with("started pid="), "{ok}");
    let r = record(&p);
    assert_eq!((r.interval_ms, r.state), (Some(250), Some(State::Stopped)));
}

#[test]
fn a_child_after_fork_cannot_write_under_the_parents_identity() {
    let d = TempDir::new("fork");
    let p = d.path("hb.json");
    let e = Emitter::start(&p, Duration::from_secs(3600)).unwrap();
    let before = record(&p).seq;
    // SAFETY: the child only calls the emitter (atomics, no locks on the
    // refused paths) and then _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let refused =
            |r: lifesign::Result<()>| matches!(r, Err(ref x) if x.kind == ErrorKind::State);
        let ok = refused(e.beat())
            && refused(e.progress())
            && refused(e.set_state(State::Ready, None))
            && refused(e.stop())
            && refused(e.ensure_owner());
        drop(e); // releases memory only
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waits for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child saw {status}"
    );
    assert_eq!(record(&p).seq, before, "the child wrote nothing");
    e.beat().unwrap();
    assert_eq!(record(&p).seq, before + 1, "the parent keeps working");
    e.stop().unwrap();
}

#[test]
fn one_handle_used_from_many_threads_never_loses_the_final_state() {
    let d = TempDir::new("threads");
    let p = d.path("hb.json");
    let e = Arc::new(Emitter::start(&p, Duration::from_millis(10)).unwrap());
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let e = Arc::clone(&e);
            std::thread::spawn(move || {
                for n in 0..200 {
                    let _ = match (i + n) % 4 {
                        0 => e.beat(),
                        1 => e.progress(),
                        2 => e.set_state(State::Ready, Some("busy")),
                        _ => {
                            if n > 150 {
                                e.stop()
                            } else {
                                e.beat()
                            }
                        }
                    };
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    e.stop().unwrap();
    assert_eq!(record(&p).state, Some(State::Stopped));
}

#[test]
fn a_taken_temporary_name_is_skipped_and_left_alone() {
    let d = TempDir::new("taken");
    let p = d.path("hb.json");
    let mut c = Child::emitter(&p, 3_600_000);
    // The child's first write used counter 0, which its next write reuses:
    // take that name and the next ones.
    let planted: Vec<_> = (0..=8)
        .map(|n| d.path(&format!(".hb.json.lifesign-{}-{n}.tmp", c.pid())))
        .collect();
    for f in &planted {
        std::fs::write(f, b"not yours").unwrap();
    }
    assert_eq!(c.send("ready"), "ok");
    assert_eq!(record(&p).state, Some(State::Ready));
    for f in &planted {
        assert_eq!(std::fs::read(f).unwrap(), b"not yours", "{}", f.display());
    }
}

#[test]
fn meta_that_would_overflow_the_file_is_refused_and_nothing_changes() {
    let d = TempDir::new("meta-limit");
    let p = d.path("hb.json");
    let e = Emitter::start(&p, Duration::from_secs(3600)).unwrap();
    e.set_meta("small", Some("kept")).unwrap();
    let err = e.set_meta("huge", Some(&"x".repeat(70_000))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidArgument);
    e.beat().unwrap();
    let r = record(&p);
    assert_eq!(r.meta.get("small").map(String::as_str), Some("kept"));
    assert!(!r.meta.contains_key("huge"));
}

/// The threads of this process whose name is `name`.
fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim_end() == name)
        })
        .count()
}

#[test]
fn all_emitters_of_a_process_share_one_beat_thread_each_with_its_own_interval() {
    let d = TempDir::new("one-thread");
    let fast: Vec<Emitter> = (0..50)
        .map(|i| {
            Emitter::start(d.path(&format!("fast-{i}.json")), Duration::from_millis(10)).unwrap()
        })
        .collect();
    let slow = Emitter::start(d.path("slow.json"), Duration::from_secs(3600)).unwrap();
    assert_eq!(threads_named("lifesign-beat"), 1);
    let writers = threads_named("lifesign-write");
    assert!((1..=8).contains(&writers), "{writers} writers, at most 8");
    for i in 0..50 {
        let p = d.path(&format!("fast-{i}.json"));
        eventually("every 10 ms emitter refreshes", || record(&p).seq >= 3);
    }
    assert_eq!(
        record(&d.path("slow.json")).seq,
        1,
        "the 1 h emitter waits its hour"
    );
    drop(fast);
    slow.stop().unwrap();
}

#[test]
fn a_write_stuck_in_one_emitter_does_not_hold_back_the_others() {
    let d = TempDir::new("stuck");
    let stuck_path = d.path("stuck.json");
    let (entered_tx, entered) = mpsc::channel::<()>();
    let (release, release_rx) = mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let entered_tx = Mutex::new(entered_tx);
    let stuck = Emitter::start_with(&stuck_path, {
        let mut o = Options::default();
        o.interval = Duration::from_millis(10);
        o.log_errors = false;
        // The writer thread stays inside this emitter's write job until
        // the test releases it, as it would in a write to a hung
        // filesystem.
        o.on_error = Some(Arc::new(move |_: &lifesign::Error| {
            let _ = entered_tx.lock().unwrap().send(());
            let _ = release_rx.lock().unwrap().recv();
        }));
        o
    })
    .unwrap();
    // A non-empty folder at the path: every periodic write fails. (A beat
    // may write the file again between the two calls: then try again.)
    loop {
        let _ = std::fs::remove_file(&stuck_path);
        if std::fs::create_dir(&stuck_path).is_ok() {
            break;
        }
    }
    std::fs::write(stuck_path.join("x"), b"x").unwrap();
    entered
        .recv_timeout(Duration::from_secs(60))
        .expect("the stuck emitter's write began");
    let others: Vec<Emitter> = (0..20)
        .map(|i| {
            Emitter::start(
                d.path(&format!("other-{i}.json")),
                Duration::from_millis(20),
            )
            .unwrap()
        })
        .collect();
    for i in 0..20 {
        let p = d.path(&format!("other-{i}.json"));
        eventually("the other emitters keep beating", || record(&p).seq >= 4);
    }
    assert!(
        threads_named("lifesign-write") >= 2,
        "a spare writer took the queue"
    );
    assert_eq!(
        stuck.write_failures(),
        1,
        "the stuck emitter is not queued again while its write hangs"
    );
    drop(others);
    // The stuck emitter's stop does not need the writer it holds.
    std::fs::remove_dir_all(&stuck_path).unwrap();
    release.send(()).unwrap();
    stuck.stop().unwrap();
    assert_eq!(record(&stuck_path).state, Some(State::Stopped));
}

#[test]
fn a_relative_path_is_resolved_once_at_start() {
    if !common::in_own_process("a_relative_path_is_resolved_once_at_start") {
        return;
    }
    let d = TempDir::new("relative");
    let elsewhere = TempDir::new("relative-elsewhere");
    std::env::set_current_dir(d.dir()).unwrap();
    let e = Emitter::start("hb.json", Duration::from_secs(3600)).unwrap();
    assert_eq!(e.path(), d.path("hb.json"));
    // A daemon detaching: it changes folder, then keeps beating and stops.
    std::env::set_current_dir(elsewhere.dir()).unwrap();
    e.set_state(State::Ready, None).unwrap();
    e.stop().unwrap();
    let r = record(&d.path("hb.json"));
    assert_eq!((r.state, r.seq), (Some(State::Stopped), 3));
    assert!(
        !elsewhere.path("hb.json").exists(),
        "no second file after chdir"
    );
}

#[test]
fn an_error_callback_that_sets_failed_does_not_recurse() {
    let d = TempDir::new("reentry");
    let p = d.path("hb.json");
    let me: Arc<Mutex<Option<Arc<Emitter>>>> = Arc::new(Mutex::new(None));
    let calls = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (me2, calls2) = (Arc::clone(&me), Arc::clone(&calls));
    let e = Arc::new(
        Emitter::start_with(&p, {
            let mut o = Options::default();
            o.interval = Duration::from_secs(3600);
            o.log_errors = false;
            o.on_error = Some(Arc::new(move |_: &lifesign::Error| {
                calls2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let e = me2.lock().unwrap().clone().unwrap();
                // Fails too (same obstacle): counted and returned, not
                // reported to this callback again.
                let again = e.set_state(State::Failed, Some("cannot write"));
                assert_eq!(again.unwrap_err().kind, ErrorKind::Io);
            }));
            o
        })
        .unwrap(),
    );
    *me.lock().unwrap() = Some(Arc::clone(&e));
    std::fs::remove_file(&p).unwrap();
    std::fs::create_dir(&p).unwrap();
    std::fs::write(p.join("x"), b"x").unwrap();
    let e2 = Arc::clone(&e);
    let r = within(60, "the call", move || e2.beat());
    assert_eq!(r.unwrap_err().kind, ErrorKind::Io);
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(e.write_failures(), 2, "both failures counted");
    std::fs::remove_dir_all(&p).unwrap();
    e.beat().unwrap();
    let r = record(&p);
    assert_eq!(
        (r.state, r.message.as_deref()),
        (Some(State::Failed), Some("cannot write")),
        "the callback's change is written by the next write that succeeds"
    );
    *me.lock().unwrap() = None;
    e.stop().unwrap();
}

/// Makes `clone` and `clone3` fail in the calling thread and the threads it
/// will start, as when a process has reached its thread limit (which does
/// not bind root, so RLIMIT_NPROC cannot show it).
fn forbid_new_threads() {
    use libc::{sock_filter, sock_fprog, BPF_ABS, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W};
    let stmt = |code: u32, k: u32| sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let jeq = |k: i64| sock_filter {
        code: (BPF_JMP | BPF_JEQ | BPF_K) as u16,
        jt: 0,
        jf: 1,
        k: k as u32,
    };
    let filter = [
        stmt(BPF_LD | BPF_W | BPF_ABS, 0), // seccomp_data.nr
        jeq(libc::SYS_clone3),
        stmt(
            BPF_RET | BPF_K,
            libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
        ),
        jeq(libc::SYS_clone),
        stmt(
            BPF_RET | BPF_K,
            libc::SECCOMP_RET_ERRNO | libc::EAGAIN as u32,
        ),
        stmt(BPF_RET | BPF_K, libc::SECCOMP_RET_ALLOW),
    ];
    let prog = sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut sock_filter,
    };
    // SAFETY: prctl and seccomp with a valid, initialised filter program
    // that outlives the calls.
    unsafe {
        assert_eq!(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
        assert_eq!(
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                &prog as *const sock_fprog
            ),
            0,
            "seccomp: {}",
            std::io::Error::last_os_error()
        );
    }
}

#[test]
fn a_start_that_cannot_start_its_thread_fails_and_leaves_nothing_alive() {
    if !common::in_own_process(
        "a_start_that_cannot_start_its_thread_fails_and_leaves_nothing_alive",
    ) {
        return;
    }
    let d = TempDir::new("no-thread");
    let p = d.path("hb.json");
    forbid_new_threads();
    let err = Emitter::start(&p, Duration::from_secs(1)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Io);
    assert!(err.message.contains("beat thread"), "{}", err.message);
    assert!(!p.exists(), "the first write was taken back");
    assert!(temporaries(d.dir()).is_empty());
    assert_ne!(check(&p, &CheckOptions::default()).verdict, Verdict::Alive);
}

#[test]
fn dead_writers_temporaries_are_removed_in_a_folder_larger_than_one_cleanup_step() {
    let d = TempDir::new("big-folder");
    let p = d.path("hb.json");
    // A start examines 256 entries; the writers do the rest.
    for i in 0..1000 {
        std::fs::write(d.path(&format!("other-{i}.json")), b"{}").unwrap();
    }
    let dead: Vec<_> = (0..20)
        .map(|n| d.path(&format!(".hb.json.lifesign-2147483646-{n}.tmp")))
        .collect();
    for f in &dead {
        std::fs::write(f, b"{").unwrap();
    }
    let e = Emitter::start(&p, Duration::from_secs(3600)).unwrap();
    eventually("the cleanup pass ends", lifesign::emitter::cleanup_idle);
    for f in &dead {
        assert!(!f.exists(), "{} is left", f.display());
    }
    e.stop().unwrap();
}

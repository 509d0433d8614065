//! Filesystem faults: a full filesystem, a read-only one, a file size limit, a folder removed under the emitter.

use super::*;

type Seen = Arc<Mutex<Vec<String>>>;

fn emitter_with_errors(path: &Path, interval: Duration) -> (Emitter, Seen) {
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = Arc::clone(&seen);
    let e = Emitter::start_with(path, {
        let mut o = Options::default();
        o.interval = interval;
        o.log_errors = false;
        o.on_error = Some(Arc::new(move |err: &lifesign::Error| {
            s2.lock()
                .unwrap()
                .push(format!("{:?}: {}", err.kind, err.message))
        }));
        o
    })
    .unwrap();
    (e, seen)
}

/// How a filesystem fault is made, kept and cleared.
struct Fault<'a> {
    /// Breaks the filesystems of A and B.
    make: &'a dyn Fn(),
    /// Called while waiting for B's thread to fail: keeps the fault complete.
    keep: &'a dyn Fn(),
    /// Repairs them.
    clear: &'a dyn Fn(),
    /// What the error messages say.
    errno_text: &'a str,
}

/// The shared part of the full and read-only scenarios. Emitter A writes
/// only when told (exact counts); emitter B's thread writes every 10 ms.
fn fault_scenario(a_dir: &Path, b_dir: &Path, f: Fault<'_>) -> String {
    let a_path = a_dir.join("a.json");
    let b_path = b_dir.join("b.json");
    let (a, a_seen) = emitter_with_errors(&a_path, Duration::from_secs(3600));
    let (b, _b_seen) = emitter_with_errors(&b_path, Duration::from_millis(10));
    a.set_state(State::Ready, Some("before the fault")).unwrap();
    let before = record(&a_path);
    (f.make)();
    let failed_beats = 5;
    for _ in 0..failed_beats {
        let err = a.beat().unwrap_err();
        assert_eq!(err.kind, ErrorKind::Io, "{err}");
        assert!(err.message.contains(f.errno_text), "{err}");
    }
    assert_eq!(a.write_failures(), failed_beats);
    assert_eq!(
        a_seen.lock().unwrap().len() as u64,
        failed_beats,
        "the callback heard every failure"
    );
    assert_eq!(
        record(&a_path),
        before,
        "the old heartbeat is intact, whole"
    );
    assert!(check(&a_path, &CheckOptions::default()).is_alive());
    let names: Vec<String> = temporaries(a_dir)
        .into_iter()
        .filter(|n| n.starts_with(".a.json"))
        .collect();
    assert!(names.is_empty(), "a failed write left {names:?}");
    // B's thread keeps trying (and failing) without taking the process down.
    let b_before = b.write_failures();
    eventually("the refresh thread retries", || {
        (f.keep)();
        b.write_failures() >= b_before + 3
    });
    let b_seq = record(&b_path).seq;
    (f.clear)();
    a.beat().unwrap();
    let after = record(&a_path);
    assert_eq!(
        after.seq,
        before.seq + 1,
        "seq counts only successful writes"
    );
    eventually("the refresh thread resumes", || record(&b_path).seq > b_seq);
    a.stop().unwrap();
    b.stop().unwrap();
    assert_eq!(record(&b_path).state, Some(State::Stopped));
    format!(
        "failed_beats={failed_beats} thread_failures={} recovered=yes",
        b.write_failures()
    )
}

/// Fills the filesystem of `dir` to the last byte (appending to a filler).
fn fill(dir: &Path) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("filler"))
        .unwrap();
    let chunk = [b'x'; 4096];
    let err = loop {
        if let Err(e) = f.write_all(&chunk) {
            break e;
        }
    };
    assert_eq!(err.raw_os_error(), Some(libc::ENOSPC), "{err}");
    while f.write_all(b"x").is_ok() {}
}

/// Runs in a child in its own mount namespace where possible (`unshare -m`),
/// so that a mount can never outlive the test.
pub(crate) fn role_faults(a: &Value) {
    match a["case"].as_str().unwrap() {
        "full" => {
            // One filesystem each, so that B's writes in flight cannot free
            // a page that A's next write would take.
            let mounts = Tmpfs::mount("full-a", "size=64k")
                .and_then(|x| Tmpfs::mount("full-b", "size=64k").map(|y| (x, y)));
            let (fa, fb) = match mounts {
                Ok(m) => m,
                Err(why) => {
                    say(&format!("skip {why}"));
                    return;
                }
            };
            let figures = fault_scenario(
                &fa.dir,
                &fb.dir,
                Fault {
                    make: &|| {
                        fill(&fa.dir);
                        fill(&fb.dir);
                    },
                    keep: &|| fill(&fb.dir),
                    clear: &|| {
                        std::fs::remove_file(fa.dir.join("filler")).unwrap();
                        std::fs::remove_file(fb.dir.join("filler")).unwrap();
                    },
                    errno_text: "No space left",
                },
            );
            say(&format!("ok {figures}"));
        }
        "readonly" => {
            let fs = match Tmpfs::mount("ro", "size=1m") {
                Ok(fs) => fs,
                Err(why) => {
                    say(&format!("skip {why}"));
                    return;
                }
            };
            let remount = |ro: bool| {
                // A write in flight holds a file open for writing: retry (bounded).
                let mut last = String::new();
                for _ in 0..10_000 {
                    match fs.set_read_only(ro) {
                        Ok(()) => return,
                        Err(e) => last = e,
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                panic!("{last}");
            };
            let figures = fault_scenario(
                &fs.dir,
                &fs.dir,
                Fault {
                    make: &|| remount(true),
                    keep: &|| {},
                    clear: &|| remount(false),
                    errno_text: "Read-only file system",
                },
            );
            say(&format!("ok {figures}"));
        }
        other => panic!("unknown fault {other}"),
    }
}

fn run_fault(case: &str) -> Option<String> {
    let c = Child::spawn(role_command("faults", &json!({ "case": case }), true));
    let said = c.finish();
    if let Some(skip) = said.iter().find(|l| l.starts_with("skip ")) {
        eprintln!("{case}: skipped the mounted filesystem: {skip}");
        return None;
    }
    let ok = said
        .iter()
        .find(|l| l.starts_with("ok "))
        .unwrap_or_else(|| panic!("{said:?}"));
    Some(ok[3..].to_string())
}

#[test]
fn a_full_filesystem_fails_writes_cleanly_keeps_the_old_heartbeat_and_recovers() {
    match run_fault("full") {
        Some(figures) => figure(
            "full_filesystem_tmpfs_64k",
            &[("result", figures.replace(' ', ","))],
        ),
        None => {
            // No mount here: the file-size limit gives the same failure path.
            eprintln!("full filesystem simulated with RLIMIT_FSIZE instead");
            let c = Child::role(
                "fsize",
                &json!({ "dir": TempDir::new("fsize-fallback").dir() }),
            );
            let said = c.finish();
            assert!(said.iter().any(|l| l.starts_with("ok")), "{said:?}");
        }
    }
}

#[test]
fn a_read_only_filesystem_fails_writes_cleanly_keeps_the_old_heartbeat_and_recovers() {
    match run_fault("readonly") {
        Some(figures) => figure("read_only_tmpfs", &[("result", figures.replace(' ', ","))]),
        None => eprintln!(
            "skipped: no tmpfs could be mounted and remounted read-only here; as root a \
             chmod cannot make a folder read-only (see docs/RELIABILITY.md)"
        ),
    }
}

/// In a fresh process (the limit is per process): writes fail with EFBIG
/// while RLIMIT_FSIZE is below the heartbeat's size, and resume after.
pub(crate) fn role_file_size_limit(a: &Value) {
    let dir = arg_path(a, "dir");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("hb.json");
    let (e, seen) = emitter_with_errors(&p, Duration::from_secs(3600));
    e.set_state(State::Ready, Some("before the limit")).unwrap();
    let before = record(&p);
    // SAFETY: plain libc calls on this process; SIGXFSZ ignored so that the
    // write returns EFBIG instead of killing us.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        let lim = libc::rlimit {
            rlim_cur: 16,
            rlim_max: libc::RLIM_INFINITY,
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &lim), 0);
    }
    for _ in 0..3 {
        let err = e.beat().unwrap_err();
        assert_eq!(err.kind, ErrorKind::Io, "{err}");
    }
    assert_eq!(e.write_failures(), 3);
    assert_eq!(seen.lock().unwrap().len(), 3);
    assert_eq!(record(&p), before);
    assert!(temporaries(&dir).is_empty());
    // SAFETY: as above.
    unsafe {
        let lim = libc::rlimit {
            rlim_cur: libc::RLIM_INFINITY,
            rlim_max: libc::RLIM_INFINITY,
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &lim), 0);
    }
    e.beat().unwrap();
    assert_eq!(record(&p).seq, before.seq + 1);
    e.stop().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    say("ok");
}

#[test]
fn a_write_refused_by_the_file_size_limit_fails_cleanly_and_recovers() {
    let d = TempDir::new("fsize");
    let c = Child::role("fsize", &json!({ "dir": d.path("sub") }));
    let said = c.finish();
    assert!(said.iter().any(|l| l == "ok"), "{said:?}");
}

#[test]
fn a_folder_removed_again_and_again_while_emitting_is_recreated_and_never_read_torn() {
    let d = TempDir::new("rmdir");
    let sub = d.path("sub");
    let p = sub.join("hb.json");
    let (e, _seen) = emitter_with_errors(&p, Duration::from_millis(10));
    let rounds = scale(200, 5000);
    let (mut ok, mut failed, mut missing, mut whole) = (0u64, 0u64, 0u64, 0u64);
    for _ in 0..rounds {
        let _ = std::fs::remove_dir_all(&sub);
        match read_path(&p) {
            Read::Missing => missing += 1,
            Read::Record(_) => whole += 1,
            Read::Invalid(why) => panic!("torn or strange read with the folder going: {why}"),
        }
        match e.beat() {
            Ok(()) => ok += 1,
            Err(err) => {
                assert_eq!(err.kind, ErrorKind::Io, "{err}");
                failed += 1;
            }
        }
    }
    e.beat().unwrap();
    assert!(check(&p, &CheckOptions::default()).is_alive());
    // A file where the folder was: writes fail (ENOTDIR) until it goes. The
    // refresh thread may recreate the folder in between: try again (bounded).
    let mut placed = false;
    for _ in 0..10_000 {
        let _ = std::fs::remove_dir_all(&sub);
        if std::fs::write(&sub, b"not a folder").is_ok() {
            placed = true;
            break;
        }
    }
    assert!(placed, "could not put a file where the folder was");
    assert_eq!(e.beat().unwrap_err().kind, ErrorKind::Io);
    std::fs::remove_file(&sub).unwrap();
    e.beat().unwrap();
    e.stop().unwrap();
    assert_eq!(record(&p).state, Some(State::Stopped));
    assert!(temporaries(&sub).is_empty(), "{:?}", temporaries(&sub));
    figure(
        "folder_removed",
        &[
            ("removals", rounds.to_string()),
            ("beats_ok", ok.to_string()),
            ("beats_failed_cleanly", failed.to_string()),
            ("reads_missing", missing.to_string()),
            ("reads_whole", whole.to_string()),
            ("reads_torn", "0".into()),
        ],
    );
}

//! Security: temporaries, links and modes (names planted in advance, symlinks and hard links at the path, the umask).

use super::*;

/// Waits for "go", then starts an emitter on `path`, retrying while a start
/// fails; reports how it went.
pub(crate) fn role_planted(a: &Value) {
    let path = PathBuf::from(a["path"].as_str().unwrap());
    let attempts = a["attempts"].as_u64().unwrap();
    say("waiting");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    let mut failures = 0u64;
    let mut kinds_ok = true;
    let mut first_error = String::from("-");
    let mut emitter = None;
    for _ in 0..attempts {
        match Emitter::start_with(&path, {
            let mut o = Options::default();
            o.interval = Duration::from_secs(3600);
            o.log_errors = false;
            o
        }) {
            Ok(e) => {
                emitter = Some(e);
                break;
            }
            Err(err) => {
                failures += 1;
                kinds_ok &= err.kind == ErrorKind::Io;
                if first_error == "-" {
                    first_error = err.message.replace(char::is_whitespace, "_");
                }
            }
        }
    }
    let e = emitter.expect("the emitter started in the end");
    let mut beats = 0;
    for _ in 0..20 {
        if e.beat().is_ok() {
            beats += 1;
        }
    }
    e.stop().unwrap();
    say(&format!(
        "result start_failures={failures} io_errors_only={kinds_ok} beats_ok={beats} first_error={first_error}"
    ));
}

#[test]
fn temporaries_are_never_opened_through_names_planted_in_advance() {
    let d = TempDir::new("planted");
    let victim = d.path("victim.txt");
    std::fs::write(&victim, b"VICTIM-CONTENT").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
    let victim_before = std::fs::metadata(&victim).unwrap();
    let would_be_created = d.path("created-through-a-dangling-link");
    let hb = d.path("hb.json");
    let planted = scale(64, 512);
    let mut child = Child::role("planted", &json!({ "path": hb, "attempts": planted + 16 }));
    child.expect("waiting");
    let pid = child.pid();
    for n in 0..planted {
        let name = d.path(&format!(".hb.json.lifesign-{pid}-{n}.tmp"));
        match n % 3 {
            0 => std::os::unix::fs::symlink(&victim, &name).unwrap(),
            1 => std::os::unix::fs::symlink(&would_be_created, &name).unwrap(),
            _ => std::fs::hard_link(&victim, &name).unwrap(),
        }
    }
    child.send("go");
    let said = child.finish();
    let line = said.iter().find(|l| l.starts_with("result ")).unwrap();
    let m = fields(line);
    assert_eq!(m["io_errors_only"], "true", "{line}");
    assert_eq!(num(&m, "beats_ok"), 20);
    assert!(num(&m, "start_failures") <= planted, "{line}");
    // The victim is untouched, nothing was created through a dangling link.
    assert_eq!(std::fs::read(&victim).unwrap(), b"VICTIM-CONTENT");
    let after = std::fs::metadata(&victim).unwrap();
    assert_eq!(
        (after.mode(), after.mtime(), after.mtime_nsec(), after.len()),
        (
            victim_before.mode(),
            victim_before.mtime(),
            victim_before.mtime_nsec(),
            victim_before.len()
        )
    );
    assert!(
        !would_be_created.exists(),
        "a write went through a dangling symlink"
    );
    let meta = std::fs::symlink_metadata(&hb).unwrap();
    assert!(meta.file_type().is_file());
    assert_eq!(meta.mode() & 0o7777, 0o644);
    let r = match read_path(&hb) {
        Read::Record(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!((r.pid, r.state), (pid, Some(State::Stopped)));
    let left = temporaries(d.dir()).len();
    figure(
        "planted_names",
        &[
            ("planted", planted.to_string()),
            ("start_failures", m["start_failures"].clone()),
            ("victim_changed", "no".into()),
            ("planted_names_left", left.to_string()),
        ],
    );
}

#[test]
fn a_symlink_or_hard_link_at_the_heartbeat_path_is_replaced_never_written_through() {
    let d = TempDir::new("links");
    let victim = d.path("victim.txt");
    std::fs::write(&victim, b"VICTIM").unwrap();
    let hb = d.path("hb.json");
    std::os::unix::fs::symlink(&victim, &hb).unwrap();
    let e = Emitter::start(&hb, Duration::from_secs(3600)).unwrap();
    e.beat().unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"VICTIM");
    assert!(std::fs::symlink_metadata(&hb)
        .unwrap()
        .file_type()
        .is_file());
    e.stop().unwrap();
    std::fs::remove_file(&hb).unwrap();
    std::fs::hard_link(&victim, &hb).unwrap();
    let e = Emitter::start(&hb, Duration::from_secs(3600)).unwrap();
    e.stop().unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"VICTIM");
    assert_eq!(
        std::fs::metadata(&victim).unwrap().nlink(),
        1,
        "the link was replaced"
    );
    // The shell's one-shot writer too.
    std::fs::remove_file(&hb).unwrap();
    std::os::unix::fs::symlink(&victim, &hb).unwrap();
    let st = Command::new(cli())
        .args(["emit"])
        .arg(&hb)
        .args(["--state", "ready"])
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(std::fs::read(&victim).unwrap(), b"VICTIM");
    assert!(std::fs::symlink_metadata(&hb)
        .unwrap()
        .file_type()
        .is_file());
}

/// With umask 0, writes flat out while a lister stats every temporary it
/// catches; reports the modes seen.
pub(crate) fn role_modes(a: &Value) {
    let dir = PathBuf::from(a["dir"].as_str().unwrap());
    // SAFETY: umask has no preconditions; this process is ours alone.
    unsafe { libc::umask(0) };
    for (name, mode) in [
        ("default.json", lifesign::write::DEFAULT_MODE),
        ("private.json", 0o600),
    ] {
        let p = dir.join(name);
        let e = Emitter::start_with(&p, {
            let mut o = Options::default();
            o.mode = mode;
            o.interval = Duration::from_secs(3600);
            o.log_errors = false;
            o
        })
        .unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let caught = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let lister = {
            let (dir, stop, caught) = (dir.clone(), stop.clone(), caught.clone());
            std::thread::spawn(move || {
                let mut widest = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    for t in temporaries(&dir) {
                        if let Ok(m) = std::fs::symlink_metadata(dir.join(&t)) {
                            caught.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            widest |= m.mode() & 0o7777;
                        }
                    }
                }
                widest
            })
        };
        let mut writes = 0u64;
        // Bounded: stop once the lister caught enough temporaries.
        while writes < 200_000 && caught.load(std::sync::atomic::Ordering::Relaxed) < 50 {
            e.beat().unwrap();
            writes += 1;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let widest = lister.join().unwrap();
        let caught = caught.load(std::sync::atomic::Ordering::Relaxed);
        e.stop().unwrap();
        let final_mode = std::fs::metadata(&p).unwrap().mode() & 0o7777;
        say(&format!(
            "mode name={name} asked={mode:o} final={final_mode:o} temporaries_caught={caught} widest_temporary={widest:o} writes={writes}"
        ));
    }
}

#[test]
fn with_umask_0_heartbeats_and_their_temporaries_are_never_world_writable() {
    // On tmpfs where there is one: writes are fast there, so temporaries are
    // caught sooner.
    let shm = Path::new("/dev/shm");
    let d = if shm.is_dir() {
        TempDir::under(shm, "modes")
    } else {
        TempDir::new("modes")
    };
    let c = Child::role("modes", &json!({ "dir": d.dir() }));
    let said = c.finish();
    let lines: Vec<_> = said.iter().filter(|l| l.starts_with("mode ")).collect();
    assert_eq!(lines.len(), 2, "{said:?}");
    for l in lines {
        let m = fields(l);
        let asked = u32::from_str_radix(&m["asked"], 8).unwrap();
        let final_mode = u32::from_str_radix(&m["final"], 8).unwrap();
        let widest = u32::from_str_radix(&m["widest_temporary"], 8).unwrap();
        assert_eq!(final_mode, asked, "{l}");
        assert_eq!(
            widest & !asked,
            0,
            "a temporary had more bits than asked: {l}"
        );
        assert_eq!(widest & 0o002, 0, "a world-writable temporary: {l}");
        assert!(
            num(&m, "temporaries_caught") > 0,
            "no temporary was caught: the test proved nothing: {l}"
        );
        figure(
            "modes_umask_0",
            &[
                ("file", m["name"].clone()),
                ("final", m["final"].clone()),
                ("temporaries_caught", m["temporaries_caught"].clone()),
                ("widest_temporary", m["widest_temporary"].clone()),
            ],
        );
    }
}

/// With umask 0, starts an emitter under folders that do not exist yet,
/// then has it recreate a removed one; reports the folders' modes.
pub(crate) fn role_folders(a: &Value) {
    let base = PathBuf::from(a["dir"].as_str().unwrap());
    // SAFETY: umask has no preconditions; this process is ours alone.
    unsafe { libc::umask(0) };
    let p = base.join("new/sub/hb.json");
    let e = Emitter::start(&p, Duration::from_secs(3600)).unwrap();
    std::fs::remove_dir_all(base.join("new/sub")).unwrap();
    e.beat().unwrap();
    e.stop().unwrap();
    let mode = |q: &str| std::fs::metadata(base.join(q)).unwrap().mode() & 0o7777;
    say(&format!(
        "folders new={:o} sub={:o}",
        mode("new"),
        mode("new/sub")
    ));
}

#[test]
fn folders_the_emitter_creates_are_never_world_writable() {
    let d = TempDir::new("folders");
    let c = Child::role("folders", &json!({ "dir": d.dir() }));
    let said = c.finish();
    let line = said.iter().find(|l| l.starts_with("folders ")).unwrap();
    for (name, mode) in fields(line) {
        let mode = u32::from_str_radix(&mode, 8).unwrap();
        assert_eq!(mode & 0o002, 0, "folder {name} is world-writable: {mode:o}");
    }
}

//! Things at the path that are not regular files: invalid or missing, and never blocking.

use super::*;

fn mkfifo(p: &Path) {
    let c = CString::new(p.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
}

#[test]
fn what_is_not_a_regular_file_is_invalid_or_missing_and_never_blocks() {
    let d = TempDir::new("types");
    // A FIFO nobody writes: opening it for reading would block forever.
    mkfifo(&d.path("fifo"));
    assert_invalid(&d.path("fifo"), "fifo without a writer");
    // A FIFO with a writer pouring data in: never opened, nothing read.
    mkfifo(&d.path("fifo-fed"));
    let mut feeder = Command::new("sh")
        .arg("-c")
        .arg(format!("exec yes > '{}'", d.path("fifo-fed").display()))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let (r, read) = check_counting(&d.path("fifo-fed"));
    assert_eq!(r.verdict, Verdict::Invalid);
    assert!(read.is_none_or(|n| n < READ_SLACK));
    let _ = feeder.kill();
    let _ = feeder.wait();
    // A folder, a socket, devices through symlinks.
    std::fs::create_dir(d.path("dir")).unwrap();
    assert_invalid(&d.path("dir"), "a folder");
    let _sock = std::os::unix::net::UnixListener::bind(d.path("sock")).unwrap();
    assert_invalid(&d.path("sock"), "a socket");
    for (name, target) in [
        ("zero", "/dev/zero"),
        ("urandom", "/dev/urandom"),
        ("null", "/dev/null"),
    ] {
        std::os::unix::fs::symlink(target, d.path(name)).unwrap();
        let (r, read) = check_counting(&d.path(name));
        assert_eq!(r.verdict, Verdict::Invalid, "{target}");
        assert!(read.is_none_or(|n| n < READ_SLACK), "{target} was read");
    }
    std::os::unix::fs::symlink(d.path("dir"), d.path("link-to-dir")).unwrap();
    assert_invalid(&d.path("link-to-dir"), "a symlink to a folder");
    // Symlinks that lead nowhere.
    std::os::unix::fs::symlink(d.path("nothing-here"), d.path("dangling")).unwrap();
    assert_eq!(
        check(d.path("dangling"), &CheckOptions::default()).verdict,
        Verdict::Missing
    );
    std::os::unix::fs::symlink(d.path("loop-b"), d.path("loop-a")).unwrap();
    std::os::unix::fs::symlink(d.path("loop-a"), d.path("loop-b")).unwrap();
    assert_invalid(&d.path("loop-a"), "a symlink loop");
    std::os::unix::fs::symlink(d.path("self"), d.path("self")).unwrap();
    assert_invalid(&d.path("self"), "a symlink to itself");
    // A chain longer than the kernel follows (40).
    std::fs::write(d.path("chain-end"), encode(&foreign_record(4242))).unwrap();
    let mut prev = d.path("chain-end");
    for i in 0..50 {
        let link = d.path(&format!("chain-{i}"));
        std::os::unix::fs::symlink(&prev, &link).unwrap();
        prev = link;
    }
    assert_invalid(&prev, "a chain of 50 symlinks");
    // A short chain is followed, and the heartbeat behind it is read.
    let behind_links = check(d.path("chain-4"), &CheckOptions::default());
    assert_eq!(
        (behind_links.shape, behind_links.pid),
        (lifesign::Shape::V1, 4242),
        "{}",
        behind_links.detail
    );
    // A path that runs through a file.
    std::fs::write(d.path("plain"), b"x").unwrap();
    assert_invalid(&d.path("plain/hb.json"), "a path through a file");
    // The CLI and the waiter on a FIFO: they answer, they do not hang.
    let fifo = d.path("fifo");
    let out = within(60, "lifesign check on a FIFO", move || {
        Command::new(cli())
            .arg("check")
            .arg(&fifo)
            .output()
            .unwrap()
    });
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("invalid"));
    let fifo = d.path("fifo");
    let outcome = within(60, "wait_ready on a FIFO", move || {
        lifesign::wait_ready(&fifo, &{
            let mut o = lifesign::WaitOptions::default();
            o.timeout = Some(Duration::from_millis(300));
            o
        })
    });
    assert_eq!(common::last_seen(&outcome).verdict, Verdict::Invalid);
}

#[test]
fn a_heartbeat_swapped_for_a_fifo_or_a_device_mid_check_never_blocks_the_checker() {
    let d = TempDir::new("swap");
    let target = d.path("hb.json");
    let good = encode(&foreign_record(4242));
    std::fs::write(&target, &good).unwrap();
    let swaps = scale(3_000, 100_000);
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let (d, target, done) = (d.dir().to_path_buf(), target.clone(), done.clone());
        std::thread::spawn(move || {
            for n in 0..swaps {
                let stage = d.join("stage");
                match n % 3 {
                    0 => std::fs::write(&stage, &good).unwrap(),
                    1 => mkfifo(&stage),
                    _ => std::os::unix::fs::symlink("/dev/zero", &stage).unwrap(),
                }
                std::fs::rename(&stage, &target).unwrap();
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        })
    };
    // Checks until the swapper is done; a blocked check would trip the watchdog.
    let p = target.clone();
    let (alive, invalid) = within(300, "checks racing a swapper", move || {
        let (mut alive, mut invalid) = (0u64, 0u64);
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            match check(&p, &CheckOptions::default()).verdict {
                Verdict::Alive => alive += 1,
                Verdict::Invalid => invalid += 1,
                other => panic!("unexpected verdict {other:?}"),
            }
        }
        (alive, invalid)
    });
    swapper.join().unwrap();
    let checks = alive + invalid;
    assert!(
        alive > 0 && invalid > 0,
        "the race never happened: {alive} alive, {invalid} invalid"
    );
    figure(
        "type_swaps",
        &[
            ("checks", checks.to_string()),
            ("swaps", swaps.to_string()),
            ("alive", alive.to_string()),
            ("invalid", invalid.to_string()),
            ("hangs", "0".into()),
        ],
    );
}

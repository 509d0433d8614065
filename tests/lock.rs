//! The emitter's lifetime lock (docs/PROTOCOL.md, section 10), with real
//! emitters: its death seen from another PID namespace, by another user
//! under `hidepid=2`, and through a reused PID; the races on one path.

mod common;

use common::{emitter_child_binary, eventually, Child, TempDir};
use lifesign::lock::{self, LockProbe};
use lifesign::protocol::{decode, encode, Record};
use lifesign::wait::{wait_ready, WaitOptions};
use lifesign::{check, CheckOptions, Emitter, Options, Verdict};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn record(p: &Path) -> Record {
    decode(&std::fs::read(p).unwrap()).unwrap()
}

fn verdict_and_detail(p: &Path) -> (Verdict, String) {
    let r = check(p, &CheckOptions::default());
    (r.verdict, r.detail)
}

fn is_root() -> bool {
    // SAFETY: no arguments, no failure.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn a_killed_emitter_in_another_pid_namespace_reads_process_gone_from_here() {
    if !is_root() {
        eprintln!("skipped: unshare -p needs root");
        return;
    }
    let d = TempDir::new("lock-pidns");
    let p = d.path("hb.json");
    let mut outer = Command::new("unshare")
        .args(["-p", "-f", "--mount-proc"])
        .arg(emitter_child_binary())
        .env("LIFESIGN_FILE", &p)
        .env("LIFESIGN_INTERVAL_MS", "3600000")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(outer.stdout.take().unwrap());
    let mut line = String::new();
    lines.read_line(&mut line).unwrap();
    assert!(line.trim().starts_with("@@ started pid="), "{line}");
    let r = record(&p);
    assert!(r.lock_ino.is_some(), "{r:?}");
    assert_ne!(r.pid_ns, lifesign::process::identity().pid_ns);
    // Another PID namespace: no process probe can be made from here.
    assert_eq!(check(&p, &CheckOptions::default()).verdict, Verdict::Alive);

    // A waiter here learns of the death from the lock file's last close.
    let (tx, rx) = mpsc::channel();
    let path = p.clone();
    std::thread::spawn(move || {
        let _ = tx.send(wait_ready(&path, &WaitOptions::default()));
    });
    let kids = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", outer.id())).unwrap();
    let inner: i32 = kids.split_whitespace().next().unwrap().parse().unwrap();
    // SAFETY: signals the emitter, which is our grandchild.
    unsafe { libc::kill(inner, libc::SIGKILL) };
    let _ = outer.wait();
    let out = rx.recv_timeout(Duration::from_secs(60)).expect("wait hung");
    assert_eq!(
        common::last_seen(&out).verdict,
        Verdict::ProcessGone,
        "{out:?}"
    );
    let (v, detail) = verdict_and_detail(&p);
    assert_eq!(v, Verdict::ProcessGone);
    assert!(detail.contains("lifetime lock"), "{detail}");
}

#[test]
fn a_checker_under_hidepid_as_another_user_sees_the_death_through_the_lock() {
    if !is_root() {
        eprintln!("skipped: mounting /proc with hidepid=2 needs root");
        return;
    }
    let d = TempDir::new("lock-hidepid");
    let p = d.path("hb.json");
    let mut c = Child::emitter(&p, 3_600_000);
    c.kill_and_leave_zombie();
    // A private mount namespace whose /proc hides other users' processes;
    // the checker runs there as nobody, and proves it cannot see them.
    let script = format!(
        "mount -t proc -o hidepid=2 proc /proc && exec setpriv --reuid=65534 --regid=65534 --clear-groups \
         sh -c 'test -e /proc/{pid} && exit 99; exec \"$0\" check \"$1\" --json' {cli} {file}",
        pid = c.pid(),
        cli = common::cli(),
        file = p.display()
    );
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .output()
        .unwrap();
    assert_ne!(
        out.status.code(),
        Some(99),
        "hidepid=2 did not hide pid {}",
        c.pid()
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    // The probe cannot read /proc there; a pidfd (which needs no /proc and
    // no permission) or, without one, the lock decides.
    assert_eq!(json["verdict"], "process_gone", "{json}");
    let detail = json["detail"].as_str().unwrap();
    assert!(
        detail.contains("lifetime lock") || detail.contains("has exited"),
        "{json}"
    );
}

#[test]
fn the_lock_decides_even_when_pid_and_start_time_match_a_live_process() {
    let d = TempDir::new("lock-reuse");
    let p = d.path("hb.json");
    let mut c = Child::emitter(&p, 3_600_000);
    let mut r = record(&p);
    c.child.kill().unwrap();
    c.child.wait().unwrap();
    // As if the PID were reused within one clock tick: the record names a
    // live process (this one) with its very start time.
    r.pid = std::process::id();
    r.pid_start = lifesign::process::own_start_time();
    std::fs::write(&p, encode(&r)).unwrap();
    let (v, detail) = verdict_and_detail(&p);
    assert_eq!(v, Verdict::ProcessGone);
    assert!(detail.contains("lifetime lock"), "{detail}");
    // Without the claim, today's rules see a live process.
    r.lock_ino = None;
    std::fs::write(&p, encode(&r)).unwrap();
    assert_eq!(check(&p, &CheckOptions::default()).verdict, Verdict::Alive);
}

/// A lock held on part of the lock file (any byte range, by anyone) counts
/// as held: it decides nothing, and the other rules apply
/// (docs/PROTOCOL.md, section 10).
#[test]
fn a_lock_on_part_of_the_lock_file_is_held() {
    // Alone: a held lock keeps a pidfd of the record's process (this test's
    // own) for the process, which would answer for another test's record
    // naming this process and a lock file of the same inode.
    if !common::in_own_process("a_lock_on_part_of_the_lock_file_is_held") {
        return;
    }
    use std::os::fd::AsRawFd;
    let d = TempDir::new("lock-partial");
    let p = d.path("hb.json");
    let mut c = Child::emitter(&p, 3_600_000);
    let mut r = record(&p);
    c.child.kill().unwrap();
    c.child.wait().unwrap();
    // The record names this live process, so that only the lock can say
    // process_gone.
    r.pid = std::process::id();
    r.pid_start = lifesign::process::own_start_time();
    std::fs::write(&p, encode(&r)).unwrap();
    assert_eq!(verdict_and_detail(&p).0, Verdict::ProcessGone);
    let lock_file = std::fs::File::open(d.path(".hb.json.lifesign.lock")).unwrap();
    // SAFETY: flock is plain data; all zero is a valid value.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_RDLCK as _;
    fl.l_whence = libc::SEEK_SET as _;
    fl.l_start = 3;
    fl.l_len = 2;
    // SAFETY: a valid descriptor and a valid flock for F_OFD_SETLK.
    let rc = unsafe { libc::fcntl(lock_file.as_raw_fd(), libc::F_OFD_SETLK, &fl) };
    assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
    let (v, detail) = verdict_and_detail(&p);
    assert_eq!(v, Verdict::Alive, "{detail}");
}

#[test]
fn a_second_emitter_on_the_same_path_claims_no_lock_and_a_successor_takes_it_over() {
    let d = TempDir::new("lock-second");
    let p = d.path("hb.json");
    let mut a = Child::emitter(&p, 3_600_000);
    let ino = record(&p)
        .lock_ino
        .expect("the first emitter holds the lock");
    let mut b = Child::emitter(&p, 3_600_000);
    assert_eq!(record(&p).lock_ino, None, "the lock is taken: no claim");
    b.kill_and_leave_zombie();
    let (v, detail) = verdict_and_detail(&p);
    assert_eq!(v, Verdict::ProcessGone, "by today's rules");
    assert!(!detail.contains("lock"), "{detail}");
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let _c = Child::emitter(&p, 3_600_000);
    assert_eq!(
        record(&p).lock_ino,
        Some(ino),
        "the same lock file, taken over"
    );
    assert_eq!(check(&p, &CheckOptions::default()).verdict, Verdict::Alive);
}

#[test]
fn a_removed_lock_file_decides_nothing() {
    let d = TempDir::new("lock-removed");
    let p = d.path("hb.json");
    let mut c = Child::emitter(&p, 3_600_000);
    std::fs::remove_file(lock::companion(&p).unwrap()).unwrap();
    assert_eq!(check(&p, &CheckOptions::default()).verdict, Verdict::Alive);
    // A lock file created since is not the one the record names.
    std::fs::write(lock::companion(&p).unwrap(), b"").unwrap();
    assert_eq!(check(&p, &CheckOptions::default()).verdict, Verdict::Alive);
    c.kill_and_leave_zombie();
    let (v, detail) = verdict_and_detail(&p);
    assert_eq!(v, Verdict::ProcessGone, "by the process probe");
    assert!(!detail.contains("lock"), "{detail}");
}

#[test]
fn stop_frees_the_lock_and_remove_on_stop_removes_the_lock_file() {
    let d = TempDir::new("lock-stop");
    let p = d.path("hb.json");
    let lp = lock::companion(&p).unwrap();
    let e = Emitter::start(&p, Duration::from_secs(3600)).unwrap();
    let (dev, ino) = (record(&p).lock_dev.unwrap(), record(&p).lock_ino.unwrap());
    assert_eq!(lock::probe(&p, dev, ino), LockProbe::Held);
    e.stop().unwrap();
    assert_eq!(
        check(&p, &CheckOptions::default()).verdict,
        Verdict::Stopped
    );
    // Free once every copy of the descriptor is gone: a child that another
    // test of this binary spawns holds one between its fork and its exec
    // (close-on-exec), as any process of a multi-threaded program may.
    eventually("the lock is free after stop", || {
        lock::probe(&p, dev, ino) == LockProbe::Free
    });
    assert!(lp.exists(), "left for the next emitter");

    let e = Emitter::start_with(&p, {
        let mut o = Options::default();
        o.remove_on_stop = true;
        o
    })
    .unwrap();
    e.stop().unwrap();
    assert!(!p.exists() && !lp.exists());
}

#[test]
fn an_emitter_that_opts_out_holds_no_lock() {
    let d = TempDir::new("lock-optout");
    let p = d.path("hb.json");
    let e = Emitter::start_with(&p, {
        let mut o = Options::default();
        o.lifetime_lock = false;
        o
    })
    .unwrap();
    assert_eq!(record(&p).lock_ino, None);
    assert!(!lock::companion(&p).unwrap().exists());
    e.stop().unwrap();
}

#[test]
fn a_child_forked_without_exec_does_not_keep_the_lock() {
    let d = TempDir::new("lock-fork");
    let p = d.path("hb.json");
    let mut helper = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "forking_emitter_helper",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("LIFESIGN_TEST_FORKING_EMITTER", &p)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(helper.stdout.take().unwrap());
    let mut forked = None;
    for line in (&mut lines).lines() {
        if let Some((_, pid)) = line.unwrap().split_once("forked ") {
            forked = Some(pid.parse::<i32>().unwrap());
            break;
        }
    }
    let forked = forked.expect("the helper printed its child's pid");
    helper.wait().unwrap();
    let (dev, ino) = (record(&p).lock_dev.unwrap(), record(&p).lock_ino.unwrap());
    // The forked child lives on; the lock must be free all the same (once
    // any short-lived copy of the descriptor, such as a process between
    // its fork and its exec, is gone: a kept one fails here).
    let mut probe = LockProbe::Held;
    for _ in 0..5_000 {
        probe = lock::probe(&p, dev, ino);
        if probe == LockProbe::Free {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    // SAFETY: ends the helper's child, which pauses forever.
    unsafe { libc::kill(forked, libc::SIGKILL) };
    assert_eq!(probe, LockProbe::Free, "the forked child kept the lock");
}

/// Runs only as the helper of the test above: starts an emitter, forks a
/// child that lives on, and exits without stopping the emitter.
#[test]
fn forking_emitter_helper() {
    let Some(p) = std::env::var_os("LIFESIGN_TEST_FORKING_EMITTER") else {
        return;
    };
    let e = Emitter::start(&p, Duration::from_secs(3600)).unwrap();
    // SAFETY: the child only pauses (async-signal-safe).
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        loop {
            // SAFETY: waits for a signal.
            unsafe { libc::pause() };
        }
    }
    println!("forked {pid}");
    std::mem::forget(e);
    // SAFETY: ends this process at once, as a crash would.
    unsafe { libc::_exit(0) };
}

#[test]
fn scan_lists_heartbeats_not_their_lock_files() {
    let d = TempDir::new("lock-scan");
    let p = d.path("hb.json");
    let e = Emitter::start(&p, Duration::from_secs(3600)).unwrap();
    assert!(lock::companion(&p).unwrap().exists());
    let out = Command::new(common::cli())
        .arg("scan")
        .arg(d.dir())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // The header row, then one line: the heartbeat, not its lock file.
    assert!(text.starts_with("VERDICT"), "{text}");
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        text.contains("hb.json") && !text.contains(".lock"),
        "{text}"
    );
    assert!(out.status.success(), "{text}");
    e.stop().unwrap();
}

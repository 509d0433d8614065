//! The lock path is opened pinned, and a free lock decides `process_gone`
//! only for the very file the emitter locked (docs/PROTOCOL.md, section 10
//! and 3.4): real FIFOs, device nodes, hard links, symlinks and an overlayfs
//! at or around the lock path.

mod common;

use common::{role_command, run_role, say, Child, TempDir};
use lifesign::check::{try_check, CheckOptions, Verdict};
use lifesign::lock;
use lifesign::protocol::{decode, encode, Record};
use serde_json::{json, Value};
use std::ffi::CString;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn record(p: &Path) -> Record {
    decode(&std::fs::read(p).unwrap()).unwrap()
}

fn check(p: &Path) -> (Verdict, String) {
    let r = try_check(p, &CheckOptions::default()).unwrap();
    (r.verdict, r.detail)
}

fn is_root() -> bool {
    // SAFETY: no arguments, no failure.
    unsafe { libc::geteuid() == 0 }
}

fn mkfifo(p: &Path) {
    let c = CString::new(p.to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
}

/// A writer blocked opening the FIFO at `p` for writing: it says when a
/// reader opened the FIFO (and never otherwise).
fn blocked_writer(p: &Path) -> mpsc::Receiver<()> {
    let (tx, rx) = mpsc::channel();
    let p = p.to_owned();
    std::thread::spawn(move || {
        if std::fs::OpenOptions::new().write(true).open(&p).is_ok() {
            let _ = tx.send(());
        }
    });
    rx
}

/// Releases a writer blocked on the FIFO at `p` (opens it for reading).
fn release(p: &Path, writer: &mpsc::Receiver<()>) {
    let _r = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags_nonblock()
        .open(p)
        .unwrap();
    writer.recv_timeout(Duration::from_secs(60)).unwrap();
}

trait NonBlock {
    fn custom_flags_nonblock(&mut self) -> &mut Self;
}

impl NonBlock for std::fs::OpenOptions {
    fn custom_flags_nonblock(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.custom_flags(libc::O_NONBLOCK)
    }
}

/// A record of a killed emitter, rewritten to name this live process with
/// its very start time (a PID reused within one tick): only its lock can
/// tell that the writer is gone.
fn reused_pid_record(p: &Path) -> Record {
    let mut c = Child::emitter(p, 3_600_000);
    let mut r = record(p);
    assert!(r.lock_dev.is_some() && r.lock_ino.is_some(), "{r:?}");
    c.child.kill().unwrap();
    c.child.wait().unwrap();
    r.pid = std::process::id();
    r.pid_start = lifesign::process::own_start_time();
    std::fs::write(p, encode(&r)).unwrap();
    r
}

#[test]
fn a_fifo_at_the_lock_path_is_never_opened_by_an_emitter_or_a_checker() {
    let d = TempDir::new("lockpath-fifo");
    let p = d.path("hb.json");
    let lp = lock::companion(&p).unwrap();
    // The checker: the record names a lock, and a FIFO has taken its place.
    reused_pid_record(&p);
    std::fs::remove_file(&lp).unwrap();
    mkfifo(&lp);
    let writer = blocked_writer(&lp);
    let (v, detail) = check(&p);
    assert_eq!(v, Verdict::Alive, "a FIFO proves nothing: {detail}");
    // The emitter: starts without a lock, and leaves the FIFO alone.
    let e = lifesign::Emitter::start(d.path("hb.json"), Duration::from_secs(3600)).unwrap();
    assert_eq!((record(&p).lock_dev, record(&p).lock_ino), (None, None));
    assert!(
        writer.recv_timeout(Duration::from_millis(200)).is_err(),
        "the FIFO was opened: its blocked writer went on"
    );
    assert!(std::fs::symlink_metadata(&lp)
        .unwrap()
        .file_type()
        .is_fifo_type());
    e.stop().unwrap();
    release(&lp, &writer);
}

trait FifoType {
    fn is_fifo_type(&self) -> bool;
}

impl FifoType for std::fs::FileType {
    fn is_fifo_type(&self) -> bool {
        use std::os::unix::fs::FileTypeExt;
        self.is_fifo()
    }
}

/// The `openat` calls of `cmd` that name `lock`, from `strace`, each with
/// its flags and result.
fn opens_of(cmd: Command, lock: &Path) -> Vec<String> {
    let trace = common::strace(&cmd, &["-s", "4096", "-e", "trace=open,openat,openat2"]);
    let name = lock.file_name().unwrap().to_str().unwrap();
    trace
        .lines()
        .filter(|l| l.contains(name))
        .map(str::to_owned)
        .collect()
}

/// Whether a traced open reached the file: not an `O_PATH` pin, and it
/// returned a descriptor.
fn opened(line: &str) -> bool {
    !line.contains("O_PATH") && !line.contains("= -1 ")
}

#[test]
#[ignore]
fn child_process_entry() {
    run_role(|role, args| match role {
        "start" => {
            let p = args["path"].as_str().unwrap();
            let e = lifesign::Emitter::start(p, Duration::from_secs(3600)).unwrap();
            e.stop().unwrap();
            say("done");
        }
        "check" => {
            let p = args["path"].as_str().unwrap();
            let r = try_check(p, &CheckOptions::default()).unwrap();
            say(&format!("verdict={}", r.verdict));
        }
        "overlay" => overlay_role(args),
        other => panic!("unknown role {other}"),
    });
}

#[test]
fn a_device_node_at_the_lock_path_is_never_opened() {
    if !is_root() {
        eprintln!("skipped: mknod needs root");
        return;
    }
    if !common::have_strace("device node at the lock path") {
        return;
    }
    let d = TempDir::new("lockpath-device");
    let p = d.path("hb.json");
    let lp = lock::companion(&p).unwrap();
    reused_pid_record(&p);
    std::fs::remove_file(&lp).unwrap();
    let c = CString::new(lp.to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path; the device of /dev/null (1, 3).
    assert_eq!(
        unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) },
        0
    );
    for role in ["check", "start"] {
        let opens = opens_of(role_command(role, &json!({ "path": p }), false), &lp);
        assert!(
            !opens.is_empty(),
            "{role}: the trace shows no look at the lock path"
        );
        let reached: Vec<&String> = opens.iter().filter(|l| opened(l)).collect();
        assert!(
            reached.is_empty(),
            "{role} opened the device node: {reached:?}"
        );
    }
    assert!(std::fs::symlink_metadata(&lp).unwrap().rdev() == libc::makedev(1, 3));
}

#[test]
fn a_hard_linked_file_at_the_lock_path_is_neither_locked_nor_changed() {
    let d = TempDir::new("lockpath-hardlink");
    let p = d.path("hb.json");
    let lp = lock::companion(&p).unwrap();
    let secret = d.path("secret");
    std::fs::write(&secret, b"keep out").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::hard_link(&secret, &lp).unwrap();
    let e = lifesign::Emitter::start(&p, Duration::from_secs(3600)).unwrap();
    assert_eq!(
        record(&p).lock_ino,
        None,
        "a file with another name is not a lock"
    );
    e.stop().unwrap();
    let m = std::fs::metadata(&secret).unwrap();
    assert_eq!(m.mode() & 0o777, 0o600, "the hard-linked file was chmod-ed");
    assert_eq!(std::fs::read(&secret).unwrap(), b"keep out");
}

#[test]
fn a_symlink_at_the_lock_path_is_never_followed() {
    let d = TempDir::new("lockpath-symlink");
    let p = d.path("hb.json");
    let lp = lock::companion(&p).unwrap();
    let elsewhere = d.path("elsewhere");
    std::os::unix::fs::symlink(&elsewhere, &lp).unwrap();
    let e = lifesign::Emitter::start(&p, Duration::from_secs(3600)).unwrap();
    assert_eq!(record(&p).lock_ino, None);
    e.stop().unwrap();
    assert!(
        !elsewhere.exists(),
        "the symlink was followed to create its target"
    );
    // A checker of a record whose lock path became a symlink to the real
    // lock file: not followed, so nothing proven.
    let q = d.path("q.json");
    reused_pid_record(&q);
    let qlp = lock::companion(&q).unwrap();
    let moved = d.path("moved.lock");
    std::fs::rename(&qlp, &moved).unwrap();
    std::os::unix::fs::symlink(&moved, &qlp).unwrap();
    assert_eq!(check(&q).0, Verdict::Alive);
    // The real lock file back in place decides.
    std::fs::remove_file(&qlp).unwrap();
    std::fs::rename(&moved, &qlp).unwrap();
    let (v, detail) = check(&q);
    assert_eq!(v, Verdict::ProcessGone);
    assert!(detail.contains("lifetime lock"), "{detail}");
}

#[test]
fn a_lock_file_with_the_same_inode_on_another_device_proves_nothing() {
    let d = TempDir::new("lockpath-device-id");
    let p = d.path("hb.json");
    let mut r = reused_pid_record(&p);
    let (v, _) = check(&p);
    assert_eq!(v, Verdict::ProcessGone, "the record's own lock decides");
    // The same record, claiming its lock on another device.
    r.lock_dev = r.lock_dev.map(|d| d ^ 1);
    std::fs::write(&p, encode(&r)).unwrap();
    assert_eq!(check(&p).0, Verdict::Alive);
    // A record of 0.2, with the inode alone.
    r.lock_dev = None;
    std::fs::write(&p, encode(&r)).unwrap();
    assert_eq!(check(&p).0, Verdict::Alive);
}

#[test]
fn a_symlinked_heartbeat_is_judged_by_the_lock_beside_its_target() {
    let d = TempDir::new("lockpath-symlinked-heartbeat");
    std::fs::create_dir(d.path("run")).unwrap();
    let p = d.path("run/hb.json");
    let link = d.path("link.json");
    std::os::unix::fs::symlink(&p, &link).unwrap();
    // Live: alive through the link.
    let c = Child::emitter(&p, 3_600_000);
    assert_eq!(check(&link).0, Verdict::Alive);
    drop(c);
    // Dead, with its PID reused: only the lock beside the target can tell.
    reused_pid_record(&p);
    let (v, detail) = check(&link);
    assert_eq!(v, Verdict::ProcessGone, "{detail}");
    assert!(detail.contains("lifetime lock"), "{detail}");
    // A free lock file beside the link is not the emitter's.
    let beside_link = lock::companion(&link).unwrap();
    std::fs::write(&beside_link, b"").unwrap();
    let fresh = Child::emitter(&p, 3_600_000);
    assert_eq!(check(&link).0, Verdict::Alive);
    drop(fresh);
}

/// In a private mount namespace: an overlayfs over folders of a tmpfs, an
/// emitter inside the overlay, and checks through the overlay and through
/// its upper folder.
fn overlay_role(args: &Value) {
    let base = Path::new(args["base"].as_str().unwrap());
    let dir = |n: &str| {
        let p = base.join(n);
        std::fs::create_dir_all(&p).unwrap();
        p
    };
    let (lower, upper, work, merged) = (dir("lower"), dir("upper"), dir("work"), dir("merged"));
    let status = Command::new("mount")
        .args(["-t", "overlay", "overlay", "-o"])
        .arg(format!(
            "lowerdir={},upperdir={},workdir={}",
            lower.display(),
            upper.display(),
            work.display()
        ))
        .arg(&merged)
        .status()
        .unwrap();
    if !status.success() {
        say("err overlayfs cannot be mounted here");
        return;
    }
    let inside = merged.join("hb.json");
    let mut c = Child::emitter(&inside, 3_600_000);
    c.send("ready");
    let seen = |p: &Path| try_check(p, &CheckOptions::default()).unwrap();
    let through_upper = seen(&upper.join("hb.json"));
    let through_overlay = seen(&inside);
    let r = record(&inside);
    let upper_lock = std::fs::metadata(lock::companion(&upper.join("hb.json")).unwrap()).unwrap();
    say(&format!(
        "ok upper={} overlay={} same_ino={} same_dev={}",
        through_upper.verdict,
        through_overlay.verdict,
        r.lock_ino == Some(upper_lock.ino()),
        r.lock_dev == Some(upper_lock.dev()),
    ));
    drop(c);
    let _ = Command::new("umount").arg(&merged).status();
}

#[test]
fn an_emitter_inside_overlayfs_is_alive_through_the_upper_folder() {
    if !is_root() || !common::private_mounts_available() {
        eprintln!("skipped: an overlay mount needs root and a private mount namespace");
        return;
    }
    let d = TempDir::in_ram("lockpath-overlay");
    let out = role_command("overlay", &json!({ "base": d.dir() }), true)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("@@ "))
        .unwrap_or_else(|| panic!("{text}{}", String::from_utf8_lossy(&out.stderr)));
    if line.starts_with("err overlayfs") {
        eprintln!("skipped: {line}");
        return;
    }
    // The upper folder shows the emitter's lock file under the same inode
    // number but another device: not the file it locked, so not free.
    assert!(line.contains("same_dev=false"), "{line}");
    assert!(line.contains("upper=alive"), "{line}");
    assert!(line.contains("overlay=alive"), "{line}");
}

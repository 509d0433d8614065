//! The checker under real restrictions: a FIFO at the heartbeat path, a
//! `/proc` mounted with `hidepid=2`, and a PID namespace without its own
//! `/proc`. The namespace and mount tests need root; without it they print
//! why they are skipped.

mod common;

use common::{Child, TempDir};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn cli() -> &'static str {
    common::cli()
}

/// The verdict word of `lifesign check FILE --json`'s output.
fn verdict_of(json: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(json.trim())
        .unwrap_or_else(|e| panic!("not one JSON report ({e}): {json:?}"));
    v["verdict"].as_str().unwrap_or_default().to_owned()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Runs `sh -c script` under `unshare ARGS`; `None` (with the reason printed)
/// when this machine does not allow it.
fn unshared(args: &[&str], script: &str, vars: &[(&str, &Path)]) -> Option<String> {
    if !is_root() {
        eprintln!("skipped: needs root for unshare and mount");
        return None;
    }
    let probe = Command::new("unshare").args(args).arg("true").status();
    if !probe.is_ok_and(|s| s.success()) {
        eprintln!(
            "skipped: `unshare {}` is not permitted here",
            args.join(" ")
        );
        return None;
    }
    let mut cmd = Command::new("unshare");
    cmd.args(args).arg("sh").arg("-c").arg(script);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{script}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap())
}

/// The system call a process is blocked in, from `/proc/<pid>/syscall`
/// (`None` while it runs).
fn blocked_in(pid: u32) -> Option<i64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/syscall")).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn is_open_call(nr: i64) -> bool {
    #[cfg(target_arch = "x86_64")]
    if nr == libc::SYS_open {
        return true;
    }
    nr == libc::SYS_openat
}

#[test]
fn a_fifo_at_the_path_is_invalid_and_its_blocked_writer_stays_blocked() {
    let dir = TempDir::new("fifo");
    let fifo = dir.path("hb.json");
    let link = dir.path("link.json");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    std::os::unix::fs::symlink(&fifo, &link).unwrap();
    // A writer that blocks in open() until some reader opens the FIFO.
    let mut writer = Command::new("sh")
        .arg("-c")
        .arg("exec 3>\"$0\"; echo released >&3")
        .arg(&fifo)
        .spawn()
        .unwrap();
    let pid = writer.id();
    let guard = Instant::now() + Duration::from_secs(30);
    while !blocked_in(pid).is_some_and(is_open_call) {
        assert!(Instant::now() < guard, "the writer never blocked in open");
        std::thread::yield_now();
    }
    for path in [&fifo, &link] {
        let r = lifesign::check(path, &lifesign::CheckOptions::default());
        assert_eq!(r.verdict, lifesign::Verdict::Invalid, "{}", path.display());
        assert!(r.detail.contains("not a regular file"), "{}", r.detail);
    }
    // An open by the checker would have woken the writer at once, and it
    // would no longer sleep in open().
    assert!(
        blocked_in(pid).is_some_and(is_open_call),
        "the check released the FIFO's writer"
    );
    writer.kill().unwrap();
    writer.wait().unwrap();
}

#[test]
fn under_hidepid_another_users_checker_never_says_process_gone() {
    let dir = TempDir::new("hidepid");
    let hb = dir.path("hb.json");
    let _emitter = Child::emitter(&hb, 3_600_000);
    // The emitter runs as root; the checker runs as nobody with a /proc
    // that hides other users' processes.
    let script = "mount -t proc -o hidepid=2 proc /proc && \
                  exec setpriv --reuid=65534 --regid=65534 --clear-groups \
                  \"$LIFESIGN_CLI\" check \"$HB\" --json";
    let Some(out) = unshared(
        &["-m"],
        script,
        &[("LIFESIGN_CLI", Path::new(cli())), ("HB", &hb)],
    ) else {
        return;
    };
    assert_eq!(verdict_of(&out), "alive", "{out}");
    assert!(out.contains("could not tell"), "{out}");
}

#[test]
fn in_a_pid_namespace_without_its_own_proc_a_killed_emitter_is_process_gone() {
    let dir = TempDir::new("pidns");
    let hb = dir.path("hb.json");
    let out = dir.path("out");
    let child = common::emitter_child_binary();
    // In the new namespace this shell is PID 1 and the emitter a small PID
    // that, in the host's /proc which it still sees, is another process.
    // The emitter reads commands from a FIFO that this shell holds open, so
    // that it neither stops at end of input nor needs a helper process.
    let script = r#"
        mkfifo "$IN"
        LIFESIGN_FILE="$HB" LIFESIGN_INTERVAL_MS=3600000 "$CHILD" < "$IN" > "$OUT" &
        emitter=$!
        exec 9> "$IN"
        n=0
        until grep -q started "$OUT"; do
            n=$((n + 1)); [ $n -lt 30000 ] || exit 3; sleep 0.001
        done
        "$LIFESIGN_CLI" check "$HB" --json
        kill -9 $emitter
        wait $emitter
        "$LIFESIGN_CLI" check "$HB" --json
        exit 0
    "#;
    let input = dir.path("in");
    let Some(text) = unshared(
        &["-p", "-f", "--kill-child"],
        script,
        &[
            ("LIFESIGN_CLI", Path::new(cli())),
            ("HB", &hb),
            ("OUT", &out),
            ("IN", &input),
            ("CHILD", &child),
        ],
    ) else {
        return;
    };
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_ne!(verdict_of(lines[0]), "process_gone", "{text}");
    assert_eq!(verdict_of(lines[1]), "process_gone", "{text}");
}

/// `lifesign check FILE` run by the command `wrap` (which execs its
/// arguments): its exit code, stdout and stderr.
fn check_under(wrap: &[&str], file: &Path) -> (Option<i32>, String, String) {
    let out = Command::new(wrap[0])
        .args(&wrap[1..])
        .arg(cli())
        .arg("check")
        .arg(file)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_reader_out_of_descriptors_cannot_tell() {
    // Alone in a process of its own, whose descriptors it exhausts.
    if !common::in_own_process("a_reader_out_of_descriptors_cannot_tell") {
        return;
    }
    let d = TempDir::new("reader-side-emfile");
    let p = d.path("hb.json");
    let mut c = Child::emitter(&p, 3_600_000);
    c.send("ready");
    let opts = lifesign::CheckOptions::default();
    assert!(lifesign::try_check(&p, &opts).unwrap().is_alive());
    let mut held = Vec::new();
    loop {
        match std::fs::File::open("/dev/null") {
            Ok(f) => held.push(f),
            Err(e) if e.raw_os_error() == Some(libc::EMFILE) => break,
            Err(e) => panic!("{e}"),
        }
    }
    // Neither `invalid` nor any other verdict: an error, "cannot tell".
    let err = lifesign::try_check(&p, &opts).unwrap_err();
    let missing = lifesign::try_check(d.path("none.json"), &opts);
    let legacy = lifesign::check(&p, &opts);
    drop(held);
    assert_eq!(err.kind, lifesign::ErrorKind::CannotTell, "{err}");
    assert!(err.message.contains("Too many open files"), "{err}");
    // A missing file stays `missing`: its stat needs no descriptor.
    assert_eq!(missing.unwrap().verdict, lifesign::Verdict::Missing);
    assert!(legacy.detail.starts_with("cannot read"), "{legacy:?}");
    assert!(lifesign::try_check(&p, &opts).unwrap().is_alive());
}

#[test]
fn a_checker_without_permission_to_read_cannot_tell() {
    if !is_root() {
        eprintln!("skipped: needs root to run the checker as another user");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let d = TempDir::new("reader-side-eacces");
    std::fs::set_permissions(d.dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let p = d.path("hb.json");
    let mut c = Child::emitter(&p, 3_600_000);
    c.send("ready");
    let private = d.path("private.json");
    std::fs::copy(&p, &private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600)).unwrap();
    let nobody = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ];
    // EACCES: exit 2, "cannot tell", and no verdict printed.
    let (code, out, err) = check_under(&nobody, &private);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(out.is_empty(), "a verdict was printed: {out}");
    assert!(
        err.contains("cannot tell") && err.contains("Permission denied"),
        "{err}"
    );
    // The readable one is alive for the same user.
    let (code, out, err) = check_under(&nobody, &p);
    assert_eq!(code, Some(0), "{out}{err}");
}

//! The `lifesign` command-line tool, run as a real process: every
//! subcommand and its exit codes.

mod common;

use common::{cli as bin, sh_with_cli as sh_child, Child, TempDir};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn run(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The report of `lifesign check --json`.
fn check_json(p: &Path) -> serde_json::Value {
    serde_json::from_str(stdout(&run(&["check", s(p), "--json"])).trim()).unwrap()
}

#[test]
fn every_subcommand_has_help_and_bad_arguments_exit_2_with_one_line() {
    for cmd in ["check", "wait", "emit", "run", "scan", "watch"] {
        let o = run(&[cmd, "--help"]);
        assert_eq!(code(&o), 0, "{cmd} --help");
        let help = stdout(&o);
        assert!(help.starts_with(&format!("Usage: lifesign {cmd}")), "{cmd}");
        for section in ["Durations:", "Exit codes:", "Example"] {
            assert!(help.contains(section), "{cmd} --help has no {section}");
        }
    }
    assert_eq!(code(&run(&["--help"])), 0);
    assert_eq!(code(&run(&[])), 2);
    assert_eq!(code(&run(&["frobnicate"])), 2);
    for (args, needle) in [
        (&["check"][..], "missing FILE"),
        (&["check", "f", "--max-age", "soon"], "--max-age"),
        (&["check", "f", "--pid", "0"], "--pid"),
        (&["check", "f", "--bogus"], "--bogus"),
        (&["wait", "f", "--timeout"], "--timeout needs a value"),
        (&["emit", "f"], "--state"),
        (&["emit", "f", "--state", "sleepy"], "sleepy"),
        (&["run"], "missing the command"),
        (&["scan"], "missing DIR"),
        (&["run", "--interval", "5ms", "--", "true"], "out of range"),
    ] {
        let o = run(args);
        assert_eq!(code(&o), 2, "{args:?}");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn check_exits_0_when_alive_1_when_not() {
    let d = TempDir::new("cli-check");
    let p = d.path("hb.json");
    let o = run(&["check", s(&p)]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).starts_with("missing"));
    let mut c = Child::emitter(&p, 3_600_000);
    let pid = c.pid().to_string();
    let o = run(&["check", s(&p), "--pid", &pid, "--max-age", "1h"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(stdout(&o).starts_with("alive: pid"));
    let o = run(&["check", s(&p), "--pid", "1"]);
    assert_eq!(code(&o), 1);
    let o = run(&["check", s(&p), "--json"]);
    let j: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(j["verdict"], "alive");
    assert_eq!(j["state"], "starting");
    assert_eq!(j["pid"].as_u64().unwrap().to_string(), pid);
    c.kill_and_leave_zombie();
    let o = run(&["check", s(&p), "--json"]);
    assert_eq!(code(&o), 1);
    let j: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(j["verdict"], "process_gone");
}

#[test]
fn check_stall_reports_stalled() {
    let d = TempDir::new("cli-stall");
    let p = d.path("hb.json");
    let now = now_ms();
    let rec = format!(
        r#"{{"v":1,"pid":{},"state":"ready","seq":9,"updated_at_ms":{now},"progress":4,"progress_at_ms":{}}}"#,
        std::process::id(),
        now - 60_000
    );
    std::fs::write(&p, rec).unwrap();
    assert_eq!(code(&run(&["check", s(&p), "--stall", "30s"])), 1);
    assert!(stdout(&run(&["check", s(&p), "--stall", "30s"])).starts_with("stalled"));
    assert_eq!(code(&run(&["check", s(&p), "--stall", "5m"])), 0);
}

#[test]
fn emit_continues_the_sequence_of_the_same_pid() {
    let d = TempDir::new("cli-emit");
    let p = d.path("hb.json");
    for (i, state) in ["starting", "starting", "ready"].iter().enumerate() {
        let o = run(&[
            "emit",
            s(&p),
            "--state",
            state,
            "--pid",
            "4242",
            "--message",
            "step",
        ]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let j = check_json(&p);
        assert_eq!(
            (j["seq"].as_u64(), j["pid"].as_u64()),
            (Some(i as u64 + 1), Some(4242))
        );
    }
    // Another PID starts a new sequence.
    assert_eq!(
        code(&run(&[
            "emit",
            s(&p),
            "--state",
            "starting",
            "--pid",
            "4243"
        ])),
        0
    );
    let j = check_json(&p);
    assert_eq!(
        (j["seq"].as_u64(), j["pid"].as_u64()),
        (Some(1), Some(4243))
    );
}

#[test]
fn emit_defaults_to_the_calling_shell() {
    let d = TempDir::new("cli-emit-shell");
    let p = d.path("hb.json");
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "\"{}\" emit \"$1\" --state ready && echo $$",
            bin()
        ))
        .arg("sh")
        .arg(&p)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let shell_pid: u32 = stdout(&o).trim().parse().unwrap();
    let j: serde_json::Value =
        serde_json::from_str(stdout(&run(&["check", s(&p), "--json"])).trim()).unwrap();
    assert_eq!(j["pid"].as_u64(), Some(shell_pid as u64));
    assert_eq!(j["verdict"], "process_gone", "the shell has exited");
}

#[test]
fn wait_exit_codes_ready_failed_timeout() {
    let d = TempDir::new("cli-wait");
    let p = d.path("hb.json");
    // Ready.
    let mut c = Child::emitter(&p, 3_600_000);
    let waiter = Command::new(bin())
        .args(["wait", s(&p), "--pid", &c.pid().to_string(), "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert_eq!(c.send("ready"), "ok");
    let o = waiter.wait_with_output().unwrap();
    assert_eq!(code(&o), 0);
    let j: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(
        (j["ready"].as_bool(), j["state"].as_str()),
        (Some(true), Some("ready"))
    );
    // Failed.
    let p2 = d.path("hb2.json");
    let mut c2 = Child::emitter(&p2, 3_600_000);
    assert_eq!(c2.send("failed boom"), "ok");
    let o = run(&["wait", s(&p2)]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("failed"));
    // Hard timeout while the emitter keeps beating.
    let p3 = d.path("hb3.json");
    let _c3 = Child::emitter(&p3, 10);
    let o = run(&["wait", s(&p3), "--timeout", "300ms", "--quiet"]);
    assert_eq!(code(&o), 124, "{}", stdout(&o));
    // Idle timeout on a writer that never beats again.
    let p4 = d.path("hb4.json");
    assert_eq!(code(&run(&["emit", s(&p4), "--state", "starting"])), 0);
    let o = run(&["wait", s(&p4), "--idle-timeout", "200ms"]);
    assert_eq!(code(&o), 1);
}

fn lifesign_run(d: &TempDir, opts: &[&str], script: &str) -> Output {
    let file = d.path("run.json");
    let mut args: Vec<String> = vec!["run".into(), "--file".into(), s(&file).into()];
    args.extend(opts.iter().map(|s| s.to_string()));
    args.push("--".into());
    args.extend(sh_child(script));
    Command::new(bin())
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn run_a_child_that_becomes_ready_exits_with_its_status() {
    let d = TempDir::new("cli-run-ready");
    let o = lifesign_run(
        &d,
        &[],
        r#"LS emit "$LIFESIGN_FILE" --state starting --message deps
           LS emit "$LIFESIGN_FILE" --state ready
           test -n "$LIFESIGN_INTERVAL_MS" || exit 99
           exit 3"#,
    );
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(stderr(&o).contains("ready"), "{}", stderr(&o));
}

#[test]
fn run_a_child_that_fails_is_stopped_and_exits_1() {
    let d = TempDir::new("cli-run-failed");
    let o = lifesign_run(
        &d,
        &["--grace", "2s"],
        r#"LS emit "$LIFESIGN_FILE" --state failed --message "no database"; exec sleep 600"#,
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("no database"), "{}", stderr(&o));
}

#[test]
fn run_a_child_that_hangs_is_stopped_at_the_idle_timeout() {
    let d = TempDir::new("cli-run-hang");
    let o = lifesign_run(
        &d,
        &["--idle-timeout", "300ms", "--grace", "2s"],
        r#"LS emit "$LIFESIGN_FILE" --state starting; exec sleep 600"#,
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("stale"), "{}", stderr(&o));
}

#[test]
fn run_a_child_that_never_gets_ready_hits_the_timeout() {
    let d = TempDir::new("cli-run-timeout");
    let o = lifesign_run(
        &d,
        &[
            "--timeout",
            "500ms",
            "--idle-timeout",
            "1m",
            "--grace",
            "2s",
        ],
        r#"while :; do LS emit "$LIFESIGN_FILE" --state starting; sleep 0.05; done"#,
    );
    assert_eq!(code(&o), 124, "{}", stderr(&o));
}

#[test]
fn run_a_child_that_exits_early_passes_its_status_on() {
    let d = TempDir::new("cli-run-early");
    let o = lifesign_run(&d, &[], "exit 7");
    assert_eq!(code(&o), 7, "{}", stderr(&o));
    assert!(stderr(&o).contains("exited before it was ready"));
    let o = lifesign_run(&d, &[], "exit 0");
    assert_eq!(
        code(&o),
        1,
        "exiting 0 before ready is still a failure to start"
    );
    let o = run(&["run", "--", "/nonexistent/program"]);
    assert_eq!(code(&o), 127);
}

#[test]
fn scan_reports_every_file_skips_subfolders_and_never_crashes_on_strangers() {
    let d = TempDir::new("cli-scan");
    let _a = Child::emitter(&d.path("a.json"), 3_600_000);
    let o = run(&["scan", s(d.dir())]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    std::fs::write(d.path("notes.txt"), b"hello").unwrap();
    std::fs::create_dir(d.path("subdir")).unwrap();
    std::fs::write(d.path(".a.json.lifesign-2147483646-1.tmp"), b"{").unwrap();
    let o = run(&["scan", s(d.dir()), "--json"]);
    assert_eq!(code(&o), 1);
    let rows: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(
        rows.len(),
        2,
        "temporaries and subfolders are skipped: {rows:?}"
    );
    let verdict = |name: &str| {
        rows.iter()
            .find(|r| r["file"].as_str().unwrap().ends_with(name))
            .map(|r| r["verdict"].as_str().unwrap().to_string())
    };
    assert_eq!(verdict("a.json").as_deref(), Some("alive"));
    assert_eq!(verdict("notes.txt").as_deref(), Some("invalid"));
    assert_eq!(verdict("subdir"), None);
    let stranger = rows
        .iter()
        .find(|r| r["file"].as_str().unwrap().ends_with("notes.txt"));
    assert_ne!(stranger.unwrap()["detail"], "", "an invalid file says why");
}

#[test]
fn scan_of_a_subfolder_alone_is_all_alive() {
    let d = TempDir::new("cli-scan-subfolder");
    std::fs::create_dir(d.path("subdir")).unwrap();
    let o = run(&["scan", s(d.dir())]);
    assert_eq!((code(&o), stdout(&o)), (0, String::new()));
}

#[test]
fn scan_of_a_folder_it_cannot_list_is_a_usage_error() {
    let d = TempDir::new("cli-scan-missing");
    std::fs::write(d.path("file"), b"").unwrap();
    for target in [d.path("nope"), d.path("file")] {
        let o = run(&["scan", s(&target)]);
        assert_eq!(code(&o), 2, "{target:?}");
        let err = stderr(&o);
        assert!(
            err.starts_with("lifesign scan: cannot list") && err.contains(s(&target)),
            "{err}"
        );
    }
}

#[test]
fn watch_prints_each_change_of_state() {
    let d = TempDir::new("cli-watch");
    let p = d.path("hb.json");
    let mut w = Command::new(bin())
        .args(["watch", s(&p)])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(w.stdout.take().unwrap()).lines();
    let mut next = || lines.next().unwrap().unwrap();
    assert!(next().contains("missing"));
    let mut c = Child::emitter(&p, 3_600_000);
    assert!(next().contains("state starting"));
    assert_eq!(c.send("ready up"), "ok");
    let l = next();
    assert!(l.contains("state ready") && l.contains("up"), "{l}");
    c.kill_and_leave_zombie();
    assert!(next().contains("process_gone"));
    unsafe { libc::kill(w.id() as i32, libc::SIGTERM) };
    assert!(w.wait().unwrap().success(), "watch ends cleanly on SIGTERM");
}

#[test]
fn run_forwards_sigterm_to_the_child_and_exits_with_its_status() {
    let d = TempDir::new("cli-run-term");
    let file = d.path("run.json");
    let mut launcher = Command::new(bin())
        .args(["run", "--file", s(&file), "--quiet", "--"])
        .args(sh_child(
            r#"trap 'exit 42' TERM
               LS emit "$LIFESIGN_FILE" --state ready
               while :; do sleep 0.05; done"#,
        ))
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the child is ready, through the protocol itself.
    let o = run(&["wait", s(&file), "--timeout", "60s", "--quiet"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    unsafe { libc::kill(launcher.id() as i32, libc::SIGTERM) };
    let status = launcher.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(42),
        "the child's trap ran and its status came back"
    );
}

#[test]
fn durations_are_accepted_up_to_10_to_the_15_ms_and_rejected_beyond() {
    let d = TempDir::new("cli-range");
    let p = d.path("hb.json");
    // The value tests/vectors/README.md replays the vectors with.
    let o = run(&["check", s(&p), "--max-age", "1000000000000000"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stdout(&o).starts_with("missing"));
    for args in [
        &["check", s(&p), "--max-age", "1000000000000001"][..],
        &["check", s(&p), "--stall", "99999999999999999999h"],
        &["scan", s(d.dir()), "--max-age", "277777778h"],
        &["watch", s(&p), "--max-age", "1000000000000001"],
        &["wait", s(&p), "--timeout", "1000000000000001"],
        &["wait", s(&p), "--idle-timeout", "1000000000000001"],
        &["emit", s(&p), "--state", "ready", "--interval", "2h"],
        &["emit", s(&p), "--state", "ready", "--interval", "9ms"],
        &["run", "--grace", "1000000000000001", "--", "true"],
    ] {
        let o = run(args);
        assert_eq!(code(&o), 2, "{args:?}");
        let err = stderr(&o);
        assert!(err.contains("out of range ("), "{args:?}: {err}");
    }
    assert!(!p.exists(), "nothing was written or waited for");
}

/// Reads a wait's stderr until its progress line shows `starting`.
fn until_starting(w: &mut std::process::Child) {
    let err = w.stderr.take().unwrap();
    let mut lines = BufReader::new(err).lines();
    loop {
        let line = lines
            .next()
            .expect("the wait ended before it saw the emitter starting")
            .unwrap();
        if line.contains("starting") {
            break;
        }
    }
    // Keep reading in the background so the wait never blocks on stderr.
    std::thread::spawn(move || lines.for_each(drop));
}

#[test]
fn wait_timeout_0_and_idle_timeout_0_mean_no_timeout() {
    for flag in ["--timeout", "--idle-timeout"] {
        let d = TempDir::new("cli-wait-zero");
        let p = d.path("hb.json");
        let mut c = Child::emitter(&p, 3_600_000);
        let mut w = Command::new(bin())
            .args(["wait", s(&p), flag, "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        until_starting(&mut w);
        assert_eq!(c.send("ready"), "ok");
        let o = w.wait_with_output().unwrap();
        assert_eq!(code(&o), 0, "{flag} 0: {}", stdout(&o));
    }
}

#[test]
fn wait_exits_130_on_sigint_and_sigterm() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let d = TempDir::new("cli-wait-signal");
        let p = d.path("hb.json");
        let _c = Child::emitter(&p, 3_600_000);
        let mut w = Command::new(bin())
            .args(["wait", s(&p)])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        until_starting(&mut w);
        unsafe { libc::kill(w.id() as i32, sig) };
        let o = w.wait_with_output().unwrap();
        assert_eq!(code(&o), 130, "signal {sig}: {}", stdout(&o));
    }
}

/// `lifesign run` of a child that writes where its heartbeat is and the
/// mode of that folder into `seen`, then becomes ready and exits 3.
fn run_and_report_location(
    env: &[(&str, &Path)],
    unset_xdg: bool,
    opts: &[&str],
    seen: &Path,
) -> Output {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(bin());
    cmd.arg("run").args(opts).arg("--").args(sh_child(&format!(
        r#"printf '%s\n%s\n' "$LIFESIGN_FILE" "$(stat -c %a "$(dirname "$LIFESIGN_FILE")")" > '{}'
           LS emit "$LIFESIGN_FILE" --state ready || exit 9
           exit 3"#,
        seen.display()
    )));
    if unset_xdg {
        cmd.env_remove("XDG_RUNTIME_DIR");
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    // SAFETY: umask is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0);
            Ok(())
        })
    };
    cmd.stdin(Stdio::null()).output().unwrap()
}

fn seen(path: &Path) -> (std::path::PathBuf, String) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    (lines.next().unwrap().into(), lines.next().unwrap().into())
}

fn make_dir(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn run_puts_its_default_heartbeat_in_a_private_folder_and_removes_it() {
    let d = TempDir::new("cli-run-private");
    let xdg = d.path("xdg");
    make_dir(&xdg, 0o700);
    let o = run_and_report_location(&[("XDG_RUNTIME_DIR", &xdg)], false, &[], &d.path("seen"));
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    let (file, mode) = seen(&d.path("seen"));
    let folder = file.parent().unwrap();
    assert_eq!(folder.parent(), Some(xdg.as_path()), "{file:?}");
    assert!(s(folder).contains("/lifesign-run-"), "{file:?}");
    assert_eq!(mode, "700", "a private folder, even under umask 0");
    assert!(
        stderr(&o).contains(s(&file)),
        "the path is printed: {}",
        stderr(&o)
    );
    assert!(!folder.exists(), "the folder is removed when the run ends");
}

#[test]
fn run_ignores_an_xdg_runtime_dir_that_others_can_write() {
    let d = TempDir::new("cli-run-open-xdg");
    let (xdg, tmp) = (d.path("open"), d.path("tmp"));
    make_dir(&xdg, 0o777);
    make_dir(&tmp, 0o700);
    let env = [
        ("XDG_RUNTIME_DIR", xdg.as_path()),
        ("TMPDIR", tmp.as_path()),
    ];
    let o = run_and_report_location(&env, false, &[], &d.path("seen"));
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    let (file, mode) = seen(&d.path("seen"));
    assert_eq!(file.parent().unwrap().parent(), Some(tmp.as_path()));
    assert_eq!(mode, "700");
    assert_eq!(std::fs::read_dir(&xdg).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0, "cleaned up");
}

#[test]
fn run_creates_the_folders_of_an_explicit_file_0755_under_umask_0() {
    let d = TempDir::new("cli-run-explicit");
    let file = d.path("a/b/hb.json");
    let o = run_and_report_location(&[], false, &["--file", s(&file)], &d.path("seen"));
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert_eq!(seen(&d.path("seen")), (file.clone(), "755".to_string()));
    let a = std::fs::metadata(d.path("a")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(a.permissions().mode() & 0o777, 0o755);
    assert!(file.exists(), "an explicit file stays for its readers");
}

#[test]
fn another_users_tmp_lifesign_folder_has_no_effect_on_run() {
    use std::os::unix::process::CommandExt;
    if unsafe { libc::geteuid() } != 0 || !Path::new("/usr/bin/setpriv").exists() {
        eprintln!("skipped: needs root and setpriv to act as two users");
        return;
    }
    let d = TempDir::new("cli-run-other-user");
    let tmp = d.path("tmp");
    make_dir(&tmp, 0o1777);
    // `nobody` made $TMPDIR/lifesign first, writable by nobody else.
    let planted = tmp.join("lifesign");
    make_dir(&planted, 0o755);
    std::os::unix::fs::chown(&planted, Some(65534), Some(65534)).unwrap();
    // The run is by another user, uid 1.
    let seen_path = tmp.join("seen");
    make_dir(d.dir(), 0o755);
    let mut cmd = Command::new("/usr/bin/setpriv");
    cmd.args([
        "--reuid=1",
        "--regid=1",
        "--clear-groups",
        bin(),
        "run",
        "--",
    ])
    .args(sh_child(&format!(
        r#"echo "$LIFESIGN_FILE" > '{}'
               LS emit "$LIFESIGN_FILE" --state ready || exit 9
               exit 3"#,
        seen_path.display()
    )))
    .env_remove("XDG_RUNTIME_DIR")
    .env("TMPDIR", &tmp)
    .stdin(Stdio::null());
    // SAFETY: umask is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0o022);
            Ok(())
        })
    };
    let o = cmd.output().unwrap();
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    let file = std::fs::read_to_string(&seen_path).unwrap();
    assert!(!Path::new(file.trim()).starts_with(&planted), "{file}");
    assert_eq!(std::fs::read_dir(&planted).unwrap().count(), 0);
}

// ---- the table: help, completions, man ----------------------------------------

/// The commands `lifesign --help` lists.
fn commands() -> Vec<String> {
    let top = stdout(&run(&["--help"]));
    let list = top.split("Commands:\n").nth(1).unwrap();
    list.lines()
        .take_while(|l| !l.is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

/// The options a command's help lists, with the name of their value.
fn options(cmd: &str) -> Vec<(String, Option<String>)> {
    stdout(&run(&[cmd, "--help"]))
        .lines()
        .filter_map(|l| l.strip_prefix("  --"))
        .map(|l| {
            let mut w = l.split_whitespace();
            let name = w.next().unwrap().to_string();
            let value = w
                .next()
                .filter(|v| {
                    v.chars()
                        .all(|c| c.is_ascii_uppercase() || c == '=' || c == '.')
                })
                .map(str::to_string);
            (name, value)
        })
        .collect()
}

#[test]
fn help_of_a_command_is_the_same_by_both_spellings_and_lists_only_its_own_options() {
    let cmds = commands();
    for want in [
        "check",
        "wait",
        "emit",
        "run",
        "scan",
        "watch",
        "completions",
        "man",
        "help",
    ] {
        assert!(cmds.iter().any(|c| c == want), "{want} in {cmds:?}");
    }
    for cmd in &cmds {
        let by_flag = run(&[cmd, "--help"]);
        assert_eq!(code(&by_flag), 0, "{cmd} --help");
        let help = stdout(&by_flag);
        assert_eq!(help, stdout(&run(&["help", cmd])), "lifesign help {cmd}");
        assert!(
            help.starts_with(&format!("Usage: lifesign {cmd}")),
            "{help}"
        );
        let own: Vec<String> = options(cmd).into_iter().map(|(o, _)| o).collect();
        // Every --word of the help is one of the command's own options
        // (what follows ` -- ` in an example is CMD's).
        let ours: String = help
            .lines()
            .map(|l| l.split(" -- ").next().unwrap())
            .collect::<Vec<_>>()
            .join("\n");
        for word in ours.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
            if let Some(opt) = word.strip_prefix("--").filter(|o| !o.is_empty()) {
                assert!(
                    own.iter().any(|o| o == opt) || opt == "help",
                    "lifesign {cmd} --help mentions --{opt}, which it lacks"
                );
            }
        }
        let durations = help.contains("Durations:");
        assert_eq!(
            durations,
            help.contains(" DUR"),
            "{cmd}: durations paragraph"
        );
    }
    assert_eq!(code(&run(&["help", "frobnicate"])), 2);
}

#[test]
fn every_option_a_help_lists_is_accepted_and_no_other() {
    let d = TempDir::new("cli-every-option");
    let f = d.path("hb.json");
    for cmd in commands() {
        for (opt, value) in options(&cmd) {
            let mut args = vec![cmd.clone(), format!("--{opt}")];
            if let Some(v) = value {
                args.push(
                    match v.as_str() {
                        "DUR" => "1s",
                        "N" => "1",
                        "HOW" => "simple",
                        "STATE" => "ready",
                        "KEY=VALUE" => "k=v",
                        "FILE" => s(&f),
                        "URL" => "nats://127.0.0.1:9",
                        _ => "x",
                    }
                    .to_string(),
                );
            }
            args.push("--zz-not-an-option".into());
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let o = run(&args);
            assert_eq!(code(&o), 2, "{args:?}");
            assert!(
                stderr(&o).contains("unknown option --zz-not-an-option"),
                "{args:?}: {}",
                stderr(&o)
            );
        }
    }
    // An option of another command is refused.
    for (cmd, other) in [
        ("watch", "--pid"),
        ("scan", "--stall"),
        ("wait", "--max-age"),
        ("check", "--quiet"),
    ] {
        let o = run(&[cmd, s(&f), other, "1"]);
        assert_eq!(code(&o), 2, "{cmd} {other}");
        assert!(
            stderr(&o).contains(&format!("unknown option {other}")),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn the_tls_options_of_a_remote_target_are_refused_for_a_local_one() {
    let d = TempDir::new("cli-tls-local");
    let f = d.path("hb.json");
    for (cmd, target) in [
        ("check", &f),
        ("wait", &f),
        ("watch", &f),
        ("scan", &d.path("")),
    ] {
        for opt in ["--tls-ca", "--tls-cert", "--tls-key"] {
            let o = run(&[cmd, s(target), opt, s(&f)]);
            assert_eq!(code(&o), 2, "{cmd} {opt}");
            assert!(
                stderr(&o).contains(&format!("{opt} applies to a nats:// or tls:// target only")),
                "{cmd} {opt}: {}",
                stderr(&o)
            );
            assert!(stdout(&o).is_empty(), "{cmd} {opt}: {}", stdout(&o));
        }
    }
}

/// `lifesign completions bash`, sourced in a real bash, then `script`.
fn bash_completion(script: &str) -> String {
    let d = TempDir::new("cli-completion");
    let path = d.path("lifesign.bash");
    let o = run(&["completions", "bash"]);
    assert_eq!(code(&o), 0);
    std::fs::write(&path, &o.stdout).unwrap();
    let o = Command::new("bash")
        .arg("-c")
        .arg(format!("source '{}' || exit 9\n{script}", s(&path)))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
}

/// What bash offers for the words of `line` (the last word is completed).
fn complete(line: &[&str]) -> Vec<String> {
    let words: Vec<String> = line.iter().map(|w| format!("'{w}'")).collect();
    let out = bash_completion(&format!(
        "COMP_WORDS=({}); COMP_CWORD={}; _lifesign; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        words.join(" "),
        line.len() - 1
    ));
    let mut v: Vec<String> = out.lines().map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn bash_completes_subcommands_options_and_their_values() {
    assert!(bash_completion("complete -p lifesign").contains("-F _lifesign lifesign"));
    let mut cmds = commands();
    cmds.extend(["--help".to_string(), "--version".to_string()]);
    cmds.sort();
    assert_eq!(complete(&["lifesign", ""]), cmds);
    assert_eq!(complete(&["lifesign", "wa"]), ["wait", "watch"]);
    for cmd in commands() {
        let mut want: Vec<String> = options(&cmd)
            .into_iter()
            .map(|(o, _)| format!("--{o}"))
            .collect();
        want.push("--help".into());
        want.sort();
        assert_eq!(complete(&["lifesign", &cmd, "--"]), want, "{cmd}");
    }
    assert_eq!(
        complete(&["lifesign", "check", "--exit-code", ""]),
        ["simple", "verdict"]
    );
    assert_eq!(
        complete(&["lifesign", "emit", "f", "--state", "st"]),
        ["starting", "stopped", "stopping"]
    );
    assert_eq!(
        complete(&["lifesign", "completions", ""]),
        ["bash", "fish", "zsh"]
    );
    // run: a command first (bash's own `compgen -c`), then its arguments.
    assert!(complete(&["lifesign", "run", "--grace", "1s", "bas"]).contains(&"bash".to_string()));
    let d = TempDir::new("cli-completion-files");
    std::fs::write(d.path("hb.json"), b"").unwrap();
    let prefix = format!("{}/h", s(d.dir()));
    assert_eq!(
        complete(&["lifesign", "check", &prefix]),
        [s(&d.path("hb.json"))]
    );
    assert_eq!(
        complete(&["lifesign", "run", "--", "true", &prefix]),
        [s(&d.path("hb.json"))]
    );
}

#[test]
fn zsh_and_fish_completions_name_every_command_and_option() {
    for shell in ["zsh", "fish"] {
        let o = run(&["completions", shell]);
        assert_eq!(code(&o), 0, "{shell}");
        let script = stdout(&o);
        for cmd in commands() {
            assert!(script.contains(&cmd), "{shell}: {cmd}");
            for (opt, _) in options(&cmd) {
                let needle = if shell == "fish" {
                    format!("-l {opt} ")
                } else {
                    format!("--{opt}[")
                };
                assert!(script.contains(&needle), "{shell}: {cmd} --{opt}");
            }
        }
        // The shell itself parses it, where it is installed.
        if Command::new(shell).arg("--version").output().is_ok() {
            let d = TempDir::new("cli-completion-parse");
            let p = d.path("script");
            std::fs::write(&p, &o.stdout).unwrap();
            let o = Command::new(shell).arg("-n").arg(&p).output().unwrap();
            assert!(o.status.success(), "{shell} -n: {}", stderr(&o));
            if shell == "fish" {
                // fish completes a command line itself: `complete -C`.
                let offered = |line: &str| {
                    let o = Command::new("fish")
                        .arg("-c")
                        .arg(format!("source '{}'; complete -C'{line}'", s(&p)))
                        .output()
                        .unwrap();
                    let mut v: Vec<String> = stdout(&o)
                        .lines()
                        .map(|l| l.split('\t').next().unwrap().to_string())
                        .collect();
                    v.sort();
                    v
                };
                assert_eq!(offered("lifesign wa"), ["wait", "watch"]);
                let mut want: Vec<String> = options("scan")
                    .into_iter()
                    .map(|(o, _)| format!("--{o}"))
                    .collect();
                want.sort();
                assert_eq!(offered("lifesign scan --"), want);
                assert_eq!(
                    offered("lifesign check --exit-code "),
                    ["simple", "verdict"]
                );
            }
        }
    }
    assert_eq!(code(&run(&["completions", "tcsh"])), 2);
}

#[test]
fn man_renders_the_manual_page_with_a_section_per_command() {
    assert!(
        Command::new("man").arg("--version").output().is_ok(),
        "man is missing: sh tests/cli/setup.sh installs man-db and groff"
    );
    let d = TempDir::new("cli-man");
    let page = d.path("lifesign.1");
    let o = run(&["man"]);
    assert_eq!(code(&o), 0);
    std::fs::write(&page, &o.stdout).unwrap();
    let o = Command::new("man")
        .arg("-l")
        .arg(&page)
        .env("MANWIDTH", "100")
        .env("MAN_KEEP_FORMATTING", "")
        .env("LANG", "C.UTF-8")
        .output()
        .unwrap();
    assert!(o.status.success(), "man -l: {}", stderr(&o));
    // Plain text: no overstrike sequences.
    let text: String = stdout(&o).replace('\u{8}', "");
    let text = text.replace("\u{2010}", "-").replace('\u{2212}', "-");
    for head in ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "EXIT STATUS"] {
        assert!(text.lines().any(|l| l.trim() == head), "{head}");
    }
    for cmd in commands() {
        assert!(text.contains(&format!("lifesign {cmd}")), "{cmd}");
        for (opt, _) in options(&cmd) {
            assert!(text.contains(&format!("--{opt}")), "{cmd} --{opt}");
        }
    }
    // groff finds nothing to warn about.
    let o = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(&page)
        .output()
        .unwrap();
    assert!(
        o.status.success() && o.stderr.is_empty(),
        "groff: {}",
        stderr(&o)
    );
}

// ---- readiness, verdict codes, scan, emit --------------------------------------

/// The codes `check --help` documents for `--exit-code verdict`.
fn documented_codes() -> std::collections::BTreeMap<String, i32> {
    let help = stdout(&run(&["check", "--help"])).replace('\n', " ");
    let list = help.split("With --exit-code verdict:").nth(1).unwrap();
    let list = list.split(';').next().unwrap();
    list.split(',')
        .map(|item| {
            let (code, what) = item.trim().split_once(' ').unwrap();
            let what = what.trim_end_matches(" (--ready)");
            (what.to_string(), code.parse().unwrap())
        })
        .collect()
}

fn write_record(p: &Path, pid: u32, state: &str, updated_at_ms: u64) {
    std::fs::write(
        p,
        format!(r#"{{"v":1,"pid":{pid},"state":"{state}","seq":1,"updated_at_ms":{updated_at_ms},"progress":1,"progress_at_ms":{}}}"#, updated_at_ms - 600_000),
    )
    .unwrap();
}

#[test]
fn check_ready_and_the_verdict_exit_codes_as_documented() {
    let codes = documented_codes();
    assert_eq!(codes.len(), 11, "{codes:?}");
    let d = TempDir::new("cli-ready");
    let p = d.path("hb.json");
    let check = |extra: &[&str]| {
        let mut args = vec!["check", s(&p)];
        args.extend(extra);
        code(&run(&args))
    };
    let verdict = |name: &str| codes[name];
    assert_eq!(check(&["--exit-code", "verdict"]), verdict("missing"));
    let mut c = Child::emitter(&p, 3_600_000);
    assert_eq!((check(&[]), check(&["--ready"])), (0, 1), "starting");
    assert_eq!(
        check(&["--ready", "--exit-code=verdict"]),
        verdict("alive but not ready")
    );
    assert_eq!(verdict("alive"), 0);
    let j: serde_json::Value =
        serde_json::from_str(stdout(&run(&["check", s(&p), "--ready", "--json"])).trim()).unwrap();
    assert_eq!(
        (j["verdict"].as_str(), j["ready"].as_bool()),
        (Some("alive"), Some(false))
    );
    assert!(stdout(&run(&["check", s(&p), "--ready"])).starts_with("not ready: alive"));
    assert_eq!(c.send("ready"), "ok");
    assert_eq!((check(&[]), check(&["--ready"])), (0, 0), "ready");
    assert_eq!(check(&["--ready", "--exit-code", "verdict"]), 0);
    assert_eq!(
        check(&["--pid", "1", "--exit-code", "verdict"]),
        verdict("pid_mismatch")
    );
    assert_eq!(c.send("failed boom"), "ok");
    assert_eq!(check(&["--exit-code", "verdict"]), verdict("failed"));
    assert_eq!(check(&[]), 1);
    assert_eq!(c.send("ready"), "ok");
    c.kill_and_leave_zombie();
    assert_eq!(check(&["--exit-code", "verdict"]), verdict("process_gone"));
    let mut c = Child::emitter(&p, 3_600_000);
    assert_eq!(c.send("stop"), "ok");
    assert_eq!(check(&["--exit-code", "verdict"]), verdict("stopped"));
    drop(c);
    let me = std::process::id();
    write_record(&p, me, "ready", now_ms() - 3_600_000);
    assert_eq!(check(&["--exit-code", "verdict"]), verdict("stale"));
    write_record(&p, me, "ready", now_ms() + 3_600_000);
    assert_eq!(check(&["--exit-code", "verdict"]), verdict("future"));
    write_record(&p, me, "ready", now_ms());
    assert_eq!(
        check(&["--stall", "1m", "--exit-code", "verdict"]),
        verdict("stalled")
    );
    std::fs::write(&p, b"{").unwrap();
    assert_eq!(check(&["--exit-code", "verdict"]), verdict("invalid"));
    assert_eq!(check(&["--exit-code", "sometimes"]), 2);
}

#[test]
fn scan_has_a_header_a_summary_on_stderr_and_a_ready_mode() {
    let d = TempDir::new("cli-scan-ready");
    let mut a = Child::emitter(&d.path("a.json"), 3_600_000);
    let _b = Child::emitter(&d.path("b.json"), 3_600_000);
    let o = run(&["scan", s(d.dir())]);
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    let mut lines = out.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["VERDICT", "PID", "AGE", "STATE", "FILE"]);
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    let pid = a.pid().to_string();
    assert_eq!((row[0], row[1]), ("alive", pid.as_str()));
    assert_eq!(row[row.len() - 2..], ["starting", "a.json"]);
    assert_eq!(stderr(&o).trim(), "2 files: 2 alive");
    let o = run(&["scan", s(d.dir()), "--ready"]);
    assert_eq!(code(&o), 1, "starting is not ready");
    assert_eq!(stderr(&o).trim(), "2 files: 2 alive, 2 alive but not ready");
    assert_eq!(a.send("ready"), "ok");
    let o = run(&["scan", s(d.dir()), "--ready", "--json"]);
    assert_eq!(code(&o), 1, "b is still starting");
    let rows: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let ready: Vec<bool> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ready"].as_bool().unwrap())
        .collect();
    assert_eq!(ready, [true, false]);
    a.kill_and_leave_zombie();
    let o = run(&["scan", s(d.dir())]);
    assert_eq!(code(&o), 1);
    assert_eq!(stderr(&o).trim(), "2 files: 1 alive, 1 process_gone");
}

#[test]
fn emit_refuses_a_missing_folder_unless_mkdir() {
    let d = TempDir::new("cli-emit-mkdir");
    let p = d.path("not/yet/hb.json");
    let o = run(&["emit", s(&p), "--state", "ready", "--pid", "4242"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("does not exist (--mkdir creates it)"),
        "{}",
        stderr(&o)
    );
    assert!(!d.path("not").exists(), "nothing was created");
    let o = run(&[
        "emit",
        s(&p),
        "--state",
        "ready",
        "--pid",
        "4242",
        "--mkdir",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(check_json(&p)["pid"], 4242);
    use std::os::unix::fs::PermissionsExt;
    for dir in [d.path("not"), d.path("not/yet")] {
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o755
        );
    }
    // A path in the current folder needs no folder at all.
    let o = Command::new(bin())
        .args(["emit", "hb.json", "--state", "ready", "--pid", "4242"])
        .current_dir(d.dir())
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn a_closed_stdout_or_stderr_never_turns_into_exit_101() {
    use std::os::fd::{FromRawFd, OwnedFd};
    let d = TempDir::new("cli-closed-pipe");
    let p = d.path("hb.json");
    let closed_pipe = || {
        let mut fds = [0; 2];
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        unsafe { libc::close(fds[0]) };
        Stdio::from(unsafe { OwnedFd::from_raw_fd(fds[1]) })
    };
    for (args, want) in [
        (vec!["--help"], 0),
        (vec!["check", s(&p)], 1),
        (vec!["check", s(&p), "--bogus"], 2),
        (vec!["scan", s(d.dir())], 0),
        (vec!["man"], 0),
        (vec!["completions", "bash"], 0),
    ] {
        let status = Command::new(bin())
            .args(&args)
            .stdout(closed_pipe())
            .stderr(closed_pipe())
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(want), "{args:?}");
    }
}

// ---- the README's examples, as written ---------------------------------------

/// Every probe and health check command of README.md: Kubernetes `command:`
/// lines, Docker's `HEALTHCHECK ... CMD [...]`, Compose's `test: [...]`.
fn readme_probes() -> Vec<(String, Vec<String>)> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let mut found = Vec::new();
    let mut last_key = String::new();
    for line in readme.lines() {
        let t = line.trim();
        if t.ends_with("Probe:") {
            last_key = t.trim_end_matches(':').to_string();
        }
        let (kind, json) = if let Some(rest) = t.strip_prefix("command: ") {
            (last_key.clone(), rest)
        } else if let Some(rest) = t.strip_prefix("test: ") {
            ("compose".to_string(), rest)
        } else if t.starts_with("HEALTHCHECK") {
            ("docker".to_string(), t.split(" CMD ").nth(1).unwrap())
        } else {
            continue;
        };
        let mut argv: Vec<String> = serde_json::from_str(json).unwrap();
        if argv[0] == "CMD" {
            argv.remove(0);
        }
        if argv[0] == "lifesign" {
            found.push((kind, argv));
        }
    }
    found
}

#[test]
fn the_readme_probes_give_their_documented_codes_in_every_state() {
    let probes = readme_probes();
    let kinds: Vec<&str> = probes.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "livenessProbe",
            "readinessProbe",
            "startupProbe",
            "docker",
            "compose"
        ],
        "the README's probes"
    );
    let d = TempDir::new("cli-readme-probes");
    let hb = d.path("hb.json");
    let run_probe = |argv: &[String]| {
        let args: Vec<String> = argv[1..]
            .iter()
            .map(|a| {
                if a == "/run/app/hb.json" {
                    s(&hb).to_string()
                } else {
                    a.clone()
                }
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        code(&run(&args))
    };
    // Liveness: alive while starting or ready. Readiness, startup, Docker's
    // and Compose's health checks: only once ready.
    let expect = |kind: &str, state: &str| match (kind, state) {
        ("livenessProbe", "starting" | "ready") => 0,
        (_, "ready") => 0,
        _ => 1,
    };
    let check_all = |state: &str| {
        for (kind, argv) in &probes {
            assert_eq!(
                run_probe(argv),
                expect(kind, state),
                "{kind} {argv:?} while {state}"
            );
        }
    };
    check_all("missing");
    let mut c = Child::emitter(&hb, 3_600_000);
    check_all("starting");
    assert_eq!(c.send("ready"), "ok");
    check_all("ready");
    assert_eq!(c.send("failed down"), "ok");
    check_all("failed");
    c.kill_and_leave_zombie();
    check_all("gone");
}

/// The systemd unit's ExecStart line of README.md, split into words.
fn readme_exec_start() -> Vec<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("ExecStart=/usr/bin/lifesign")
        .expect("the README's lifesign unit");
    let mut line = String::new();
    for l in readme[start..].lines() {
        match l.strip_suffix('\\') {
            Some(part) => line += part,
            None => {
                line += l;
                break;
            }
        }
    }
    line["ExecStart=".len()..]
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
fn the_readme_systemd_exec_start_runs_and_stops_a_worker_as_documented() {
    let argv = readme_exec_start();
    assert_eq!(
        argv[..2],
        ["/usr/bin/lifesign".to_string(), "run".to_string()]
    );
    let d = TempDir::new("cli-readme-unit");
    let hb = d.path("worker/hb.json");
    let start = |extra: &[&str]| {
        let mut cmd = Command::new(bin());
        for a in &argv[1..] {
            match a.as_str() {
                "/run/worker/hb.json" => cmd.arg(&hb),
                "/usr/local/bin/worker" => cmd.arg(common::emitter_child_binary()),
                "--" => cmd.args(extra).arg("--"),
                a => cmd.arg(a),
            };
        }
        cmd.stderr(Stdio::piped());
        Child::spawn(cmd)
    };
    // Sends `ready` and returns once run has seen it (its stderr, the
    // journal's under systemd, says so).
    let ready = |w: &mut Child| {
        assert!(w.line().starts_with("started pid="));
        let err = w.child.stderr.take().unwrap();
        assert_eq!(w.send("ready"), "ok");
        let mut lines = BufReader::new(err).lines();
        while !lines
            .next()
            .unwrap()
            .unwrap()
            .starts_with("lifesign run: ready:")
        {}
        std::thread::spawn(move || lines.for_each(drop));
    };
    // Ready, then its own exit: run exits with its status.
    let mut w = start(&[]);
    ready(&mut w);
    assert_eq!(code(&run(&["check", s(&hb), "--ready"])), 0);
    w.command("exit");
    let status = w.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    // Ready, then failed while still running: stopped after the grace
    // period, exit 125 (Restart=on-failure takes over).
    let mut w = start(&["--grace", "100ms"]);
    ready(&mut w);
    assert_eq!(w.send("failed wedged"), "ok");
    let status = w.child.wait().unwrap();
    assert_eq!(status.code(), Some(125));
}

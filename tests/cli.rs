//! The `lifesign` command-line tool, run as a real process: every
//! subcommand and its exit codes.

mod common;

use common::{ChildEmitter, TempDir};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_lifesign")
}

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

#[test]
fn every_subcommand_has_help_and_bad_arguments_exit_2_with_one_line() {
    for cmd in ["check", "wait", "emit", "run", "scan", "watch"] {
        let o = run(&[cmd, "--help"]);
        assert_eq!(code(&o), 0, "{cmd} --help");
        assert!(
            stdout(&o).starts_with(&format!("Usage: lifesign {cmd}")),
            "{cmd}"
        );
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
    let mut c = ChildEmitter::start(&p, 3_600_000);
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
    let old = lifesign::check::now_ms() - 60_000;
    let rec = lifesign::Record {
        v: 1,
        pid: std::process::id(),
        state: Some(lifesign::State::Ready),
        seq: 9,
        updated_at_ms: lifesign::check::now_ms(),
        progress: Some(4),
        progress_at_ms: Some(old),
        shape: lifesign::Shape::V1,
        ..Default::default()
    };
    std::fs::write(&p, lifesign::protocol::encode(&rec)).unwrap();
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
        let r = match lifesign::check::read_path(&p) {
            lifesign::check::Read::Record(r) => r,
            other => panic!("{other:?}"),
        };
        assert_eq!((r.seq, r.pid), (i as u64 + 1, 4242));
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
    let j: serde_json::Value =
        serde_json::from_str(stdout(&run(&["check", s(&p), "--json"])).trim()).unwrap();
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
    let mut c = ChildEmitter::start(&p, 3_600_000);
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
    let mut c2 = ChildEmitter::start(&p2, 3_600_000);
    assert_eq!(c2.send("failed boom"), "ok");
    let o = run(&["wait", s(&p2)]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("failed"));
    // Hard timeout while the emitter keeps beating.
    let p3 = d.path("hb3.json");
    let _c3 = ChildEmitter::start(&p3, 10);
    let o = run(&["wait", s(&p3), "--timeout", "300ms", "--quiet"]);
    assert_eq!(code(&o), 124, "{}", stdout(&o));
    // Idle timeout on a writer that never beats again.
    let p4 = d.path("hb4.json");
    assert_eq!(code(&run(&["emit", s(&p4), "--state", "starting"])), 0);
    let o = run(&["wait", s(&p4), "--idle-timeout", "200ms"]);
    assert_eq!(code(&o), 1);
}

fn sh_child(script: &str) -> Vec<String> {
    vec![
        "sh".into(),
        "-c".into(),
        script.replace("LS", &format!("\"{}\"", bin())),
    ]
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
fn scan_reports_every_file_and_never_crashes_on_strangers() {
    let d = TempDir::new("cli-scan");
    let _a = ChildEmitter::start(&d.path("a.json"), 3_600_000);
    let o = run(&["scan", s(&d.0)]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    std::fs::write(d.path("notes.txt"), b"hello").unwrap();
    std::fs::create_dir(d.path("subdir")).unwrap();
    std::fs::write(d.path(".a.json.lifesign-2147483646-1.tmp"), b"{").unwrap();
    let o = run(&["scan", s(&d.0), "--json"]);
    assert_eq!(code(&o), 1);
    let rows: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3, "temporaries are skipped: {rows:?}");
    let verdict = |name: &str| {
        rows.iter()
            .find(|r| r["file"].as_str().unwrap().ends_with(name))
            .map(|r| r["verdict"].as_str().unwrap().to_string())
    };
    assert_eq!(verdict("a.json").as_deref(), Some("alive"));
    assert_eq!(verdict("notes.txt").as_deref(), Some("invalid"));
    assert_eq!(verdict("subdir").as_deref(), Some("invalid"));
    assert_eq!(code(&run(&["scan", s(&d.path("nope"))])), 1);
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
    let mut c = ChildEmitter::start(&p, 3_600_000);
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

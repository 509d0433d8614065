//! `lifesign run` after ready, and everything its child starts: hangs
//! after ready (stale, `--stall`, failed), `--restart`, the process group
//! and the subreaper's sweep, forwarded signals, and a closed stderr.

mod common;

use common::{cli as bin, sh_with_cli as sh, TempDir};
use std::io::{BufRead, BufReader};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn run_cmd(d: &TempDir, opts: &[&str], script: &str) -> Command {
    let mut cmd = Command::new(bin());
    cmd.arg("run")
        .arg("--file")
        .arg(d.path("hb.json"))
        .args(opts)
        .arg("--")
        .args(sh(script))
        .current_dir(d.dir())
        .stdin(Stdio::null());
    cmd
}

fn lifesign_run(d: &TempDir, opts: &[&str], script: &str) -> Output {
    run_cmd(d, opts, script).output().unwrap()
}

/// Whether a process with this PID exists (a zombie counts).
fn exists(pid: &str) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Asserts that no process the script wrote into `pids` exists.
fn none_left(d: &TempDir, o: &Output) {
    for pid in pids(d) {
        assert!(!exists(&pid), "pid {pid} outlived the run: {}", stderr(o));
    }
}

/// Starts `run` of `script` and returns once CMD is ready.
fn launch_until_ready(d: &TempDir, opts: &[&str], script: &str) -> std::process::Child {
    let mut all = vec!["--quiet"];
    all.extend(opts);
    let launcher = run_cmd(d, &all, script).spawn().unwrap();
    let o = Command::new(bin())
        .args(["wait", s(&d.path("hb.json")), "--timeout", "60s", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0);
    launcher
}

/// The PIDs a script wrote into `pids`, one a line.
fn pids(d: &TempDir) -> Vec<String> {
    std::fs::read_to_string(d.path("pids"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_child_whose_heartbeat_goes_stale_after_ready_is_stopped_with_125() {
    let d = TempDir::new("run-stale");
    // Promises a beat every 100 ms, then never beats again.
    let o = lifesign_run(
        &d,
        &["--grace", "2s"],
        r#"LS emit "$LIFESIGN_FILE" --pid $$ --state ready --interval 100ms; exec sleep 600"#,
    );
    assert_eq!(code(&o), 125, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("hung after it was ready: stale"), "{err}");
}

#[test]
fn a_child_whose_progress_stalls_after_ready_is_stopped_with_stall() {
    let d = TempDir::new("run-stall");
    // Beats every 50 ms, but its work progress stopped a minute ago.
    let script = r#"start=$(($(date +%s%3N) - 60000)); i=0
        while :; do
            i=$((i + 1))
            printf '{"v":1,"pid":%d,"state":"ready","seq":%d,"updated_at_ms":%d,"progress":1,"progress_at_ms":%d}' \
                $$ $i "$(date +%s%3N)" $start > "$LIFESIGN_FILE.new"
            mv "$LIFESIGN_FILE.new" "$LIFESIGN_FILE"
            sleep 0.05
        done"#;
    let o = lifesign_run(&d, &["--stall", "30s", "--grace", "2s"], script);
    assert_eq!(code(&o), 125, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("hung after it was ready: stalled"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_child_that_says_failed_after_ready_and_exits_keeps_its_own_status() {
    let d = TempDir::new("run-failed-exits");
    // It says failed only once run has seen it ready (the file `go`).
    let mut launcher = run_cmd(
        &d,
        &["--grace", "1m"],
        r#"LS emit "$LIFESIGN_FILE" --pid $$ --state ready
           while [ ! -e go ]; do sleep 0.01; done
           LS emit "$LIFESIGN_FILE" --pid $$ --state failed --message boom
           sleep 0.3; exit 4"#,
    )
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(launcher.stderr.take().unwrap()).lines();
    while !lines
        .next()
        .unwrap()
        .unwrap()
        .starts_with("lifesign run: ready:")
    {}
    std::fs::write(d.path("go"), b"").unwrap();
    lines.for_each(drop);
    assert_eq!(launcher.wait().unwrap().code(), Some(4));
}

#[test]
fn restart_starts_a_failing_child_again_up_to_the_limit() {
    let d = TempDir::new("run-restart");
    let counting = r#"n=$(cat count 2>/dev/null || echo 0); n=$((n + 1)); echo $n > count
        LS emit "$LIFESIGN_FILE" --pid $$ --state ready"#;
    // Succeeds on the third attempt.
    let o = lifesign_run(
        &d,
        &["--restart", "5", "--restart-delay", "10ms"],
        &format!("{counting}\n[ $n -ge 3 ] && exit 0; exit 5"),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(d.path("count")).unwrap().trim(),
        "3"
    );
    assert_eq!(
        stderr(&o).matches("restarting").count(),
        2,
        "{}",
        stderr(&o)
    );
    // Fails every time: 1 + 2 attempts, the last one's status.
    std::fs::remove_file(d.path("count")).unwrap();
    let o = lifesign_run(
        &d,
        &["--restart", "2", "--restart-delay", "10ms"],
        &format!("{counting}\nexit 5"),
    );
    assert_eq!(code(&o), 5, "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(d.path("count")).unwrap().trim(),
        "3"
    );
    // A hang after ready is restarted too.
    std::fs::remove_file(d.path("count")).unwrap();
    let o = lifesign_run(
        &d,
        &["--restart", "1", "--restart-delay", "10ms", "--grace", "2s"],
        r#"n=$(cat count 2>/dev/null || echo 0); n=$((n + 1)); echo $n > count
           LS emit "$LIFESIGN_FILE" --pid $$ --state ready --interval 100ms; exec sleep 600"#,
    );
    assert_eq!(code(&o), 125, "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(d.path("count")).unwrap().trim(),
        "2"
    );
    // A command that cannot start is not restarted.
    let o = Command::new(bin())
        .args([
            "run",
            "--restart",
            "3",
            "--restart-delay",
            "10ms",
            "--",
            "/nonexistent/x",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&o), 127);
    assert!(!stderr(&o).contains("restarting"), "{}", stderr(&o));
}

#[test]
fn stopping_a_child_stops_everything_it_started() {
    let d = TempDir::new("run-group");
    // A background child in its group, and one in a session of its own.
    let o = lifesign_run(
        &d,
        &["--idle-timeout", "300ms", "--grace", "2s"],
        r#"sleep 600 & echo $! > pids
           setsid sleep 600 & echo $! >> pids
           LS emit "$LIFESIGN_FILE" --pid $$ --state starting
           sleep 600"#,
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(pids(&d).len(), 2);
    none_left(&d, &o);
}

#[test]
fn what_a_child_leaves_behind_when_it_exits_is_swept() {
    let d = TempDir::new("run-sweep");
    let o = lifesign_run(
        &d,
        &["--grace", "2s"],
        r#"LS emit "$LIFESIGN_FILE" --pid $$ --state ready
           sleep 600 & echo $! > pids
           (trap '' TERM; exec sleep 600) & echo $! >> pids
           exit 0"#,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("stopped 2 process(es)"),
        "{}",
        stderr(&o)
    );
    none_left(&d, &o);
}

#[test]
fn usr1_and_usr2_are_forwarded_and_run_outlives_them() {
    let d = TempDir::new("run-usr");
    let mut launcher = launch_until_ready(
        &d,
        &[],
        r#"trap 'echo usr1 >> got' USR1
           trap 'echo usr2 >> got' USR2
           trap 'exit 42' TERM
           LS emit "$LIFESIGN_FILE" --pid $$ --state ready --interval 1h
           while :; do sleep 0.05; done"#,
    );
    let pid = launcher.id() as i32;
    for (sig, line) in [(libc::SIGUSR1, "usr1"), (libc::SIGUSR2, "usr2")] {
        unsafe { libc::kill(pid, sig) };
        common::eventually(&format!("the child got {line}"), || {
            std::fs::read_to_string(d.path("got")).is_ok_and(|g| g.contains(line))
        });
        assert!(launcher.try_wait().unwrap().is_none(), "run died of {line}");
    }
    unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(launcher.wait().unwrap().code(), Some(42));
}

#[test]
fn a_closed_stderr_neither_crashes_run_nor_abandons_its_child() {
    let d = TempDir::new("run-closed-stderr");
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    unsafe { libc::close(fds[0]) };
    let closed = unsafe { OwnedFd::from_raw_fd(fds[1]) };
    // Progress lines, the "ready" line and the sweep's line all fail to
    // write; the child's status still comes back, and nothing is left.
    let o = run_cmd(
        &d,
        &[],
        r#"LS emit "$LIFESIGN_FILE" --pid $$ --state starting 2>/dev/null
           LS emit "$LIFESIGN_FILE" --pid $$ --state ready 2>/dev/null
           sleep 600 2>/dev/null & echo $! > pids
           exit 3"#,
    )
    .stderr(Stdio::from(closed))
    .output()
    .unwrap();
    assert_eq!(code(&o), 3);
    none_left(&d, &o);
}

#[test]
fn a_killed_run_takes_its_child_with_it() {
    let d = TempDir::new("run-killed");
    let mut launcher = launch_until_ready(
        &d,
        &[],
        r#"echo $$ > pids
           LS emit "$LIFESIGN_FILE" --pid $$ --state ready --interval 1h
           exec sleep 600"#,
    );
    let child = pids(&d).remove(0);
    launcher.kill().unwrap();
    launcher.wait().unwrap();
    common::eventually("the child ends with its launcher", || {
        // Gone, or a zombie that init reaps.
        std::fs::read_to_string(format!("/proc/{child}/stat")).map_or(true, |st| {
            st.rsplit_once(')').unwrap().1.trim_start().starts_with('Z')
        })
    });
}

#[test]
fn sigterm_ends_a_restarting_run_and_is_never_followed_by_a_restart() {
    let d = TempDir::new("run-restart-term");
    // During the pause before a restart: run ends at once with the last
    // attempt's status.
    let mut launcher = run_cmd(
        &d,
        &["--restart", "5", "--restart-delay", "1h"],
        r#"LS emit "$LIFESIGN_FILE" --pid $$ --state ready; exit 5"#,
    )
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(launcher.stderr.take().unwrap()).lines();
    while !lines.next().unwrap().unwrap().contains("restarting") {}
    unsafe { libc::kill(launcher.id() as i32, libc::SIGTERM) };
    let status = common::within(60, "run ends during its pause", move || {
        launcher.wait().unwrap()
    });
    assert_eq!(status.code(), Some(5));
    // Forwarded to a running child, whose status comes back: no restart.
    let d = TempDir::new("run-restart-term-child");
    let mut launcher = launch_until_ready(
        &d,
        &["--restart", "5", "--restart-delay", "10ms"],
        r#"trap 'exit 42' TERM
           echo start >> starts
           LS emit "$LIFESIGN_FILE" --pid $$ --state ready --interval 1h
           while :; do sleep 0.05; done"#,
    );
    unsafe { libc::kill(launcher.id() as i32, libc::SIGTERM) };
    assert_eq!(launcher.wait().unwrap().code(), Some(42));
    assert_eq!(
        std::fs::read_to_string(d.path("starts")).unwrap(),
        "start\n"
    );
}

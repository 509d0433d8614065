//! Ages that ignore wall-clock steps: a real emitter and a real checker,
//! each with its wall clock stepped an hour either way by libfaketime
//! (Debian's `faketime`), and a checker in another time namespace
//! (`unshare --time` with a monotonic offset).
//!
//! `tests/clock/setup.sh` installs the tools; `make test` runs it and sets
//! `LIFESIGN_REQUIRE_CLOCK_TOOLS=1`, so that there a missing tool fails the
//! test instead of skipping it.

mod common;

use common::{Child, TempDir};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const HOUR_AHEAD: &str = "+1h";
const HOUR_BEHIND: &str = "-1h";

/// libfaketime's multi-threaded library (the emitter has threads).
fn libfaketime() -> Option<PathBuf> {
    let found = ["/usr/lib", "/usr/lib64", "/usr/local/lib"]
        .iter()
        .flat_map(|base| {
            let mut c = vec![Path::new(base).join("faketime/libfaketimeMT.so.1")];
            if let Ok(dirs) = std::fs::read_dir(base) {
                c.extend(
                    dirs.flatten()
                        .map(|d| d.path().join("faketime/libfaketimeMT.so.1")),
                );
            }
            c
        })
        .find(|p| p.exists());
    tool("libfaketime (Debian package faketime)", found)
}

fn tool<T>(what: &str, found: Option<T>) -> Option<T> {
    if found.is_none() {
        assert!(
            std::env::var_os("LIFESIGN_REQUIRE_CLOCK_TOOLS").is_none(),
            "{what} is missing: run tests/clock/setup.sh as root"
        );
        eprintln!("skipped: {what} is missing (tests/clock/setup.sh installs it)");
    }
    found
}

/// The environment that steps a process's wall clock by `offset` and
/// leaves its monotonic clock alone, as `faketime -f` does.
fn stepped(lib: &Path, offset: &str) -> Vec<(String, String)> {
    vec![
        ("LD_PRELOAD".into(), lib.display().to_string()),
        ("FAKETIME".into(), offset.into()),
        ("FAKETIME_DONT_FAKE_MONOTONIC".into(), "1".into()),
    ]
}

/// `lifesign check --json FILE`, run through `prefix` (a wrapper command)
/// with `env`; returns the report.
fn check_with(file: &Path, prefix: &[&str], env: &[(String, String)]) -> Value {
    let bin = common::cli();
    let mut cmd = match prefix.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    cmd.args(["check", "--json"]).arg(file);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("lifesign check runs");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not a JSON report ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn verdict(report: &Value) -> (&str, bool) {
    (
        report["verdict"].as_str().unwrap(),
        report["monotonic"].as_bool().unwrap(),
    )
}

fn start_writer(file: &Path, interval_ms: u32, env: &[(String, String)]) -> Child {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut c = Child::emitter_with_env(file, interval_ms, &env);
    assert_eq!(c.send("ready"), "ok");
    c
}

#[test]
fn writer_with_its_wall_clock_stepped_an_hour_either_way_stays_alive() {
    let Some(lib) = libfaketime() else { return };
    let d = TempDir::new("clock-writer");
    for offset in [HOUR_AHEAD, HOUR_BEHIND] {
        let file = d.path(&format!("hb{offset}.json"));
        let _w = start_writer(&file, 3_600_000, &stepped(&lib, offset));
        let rep = check_with(&file, &[], &[]);
        assert_eq!(verdict(&rep), ("alive", true), "writer {offset}: {rep}");
    }
}

#[test]
fn checker_with_its_wall_clock_stepped_an_hour_either_way_sees_alive_and_dead_emitters_as_they_are()
{
    let Some(lib) = libfaketime() else { return };
    let d = TempDir::new("clock-checker");
    let file = d.path("hb.json");
    let mut w = start_writer(&file, 3_600_000, &[]);
    for offset in [HOUR_AHEAD, HOUR_BEHIND] {
        let rep = check_with(&file, &[], &stepped(&lib, offset));
        assert_eq!(verdict(&rep), ("alive", true), "checker {offset}: {rep}");
    }
    w.child.kill().unwrap();
    w.child.wait().unwrap();
    for offset in [HOUR_AHEAD, HOUR_BEHIND] {
        let rep = check_with(&file, &[], &stepped(&lib, offset));
        assert_eq!(
            verdict(&rep),
            ("process_gone", true),
            "checker {offset}: {rep}"
        );
    }
}

#[test]
fn emitter_that_stops_writing_goes_stale_on_a_checker_whose_clock_went_back_an_hour() {
    let Some(lib) = libfaketime() else { return };
    let d = TempDir::new("clock-stale");
    let file = d.path("hb.json");
    // Written an hour ahead of the checker's wall clock: on that clock
    // alone the file would read `future` for an hour, never `stale`.
    let w = start_writer(&file, 10, &[]);
    // SAFETY: signals our own child.
    unsafe { libc::kill(w.pid() as i32, libc::SIGSTOP) };
    let guard = Instant::now() + Duration::from_secs(120);
    let rep = loop {
        let rep = check_with(&file, &[], &stepped(&lib, HOUR_BEHIND));
        if rep["verdict"] != "alive" || Instant::now() > guard {
            break rep;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // SAFETY: as above.
    unsafe { libc::kill(w.pid() as i32, libc::SIGCONT) };
    assert_eq!(verdict(&rep), ("stale", true), "{rep}");
}

/// `unshare --time --monotonic SECONDS`, when this kernel and user may.
fn other_time_namespace(seconds: i64) -> Option<Vec<String>> {
    let args: Vec<String> = ["unshare", "--time", "--monotonic", &seconds.to_string()]
        .map(String::from)
        .into();
    let works = Command::new(&args[0])
        .args(&args[1..])
        .arg("true")
        .status()
        .is_ok_and(|s| s.success());
    tool(
        "unshare --time (util-linux, Linux 5.6, root)",
        works.then_some(args),
    )
}

#[test]
fn checker_in_another_time_namespace_falls_back_to_the_wall_clock() {
    let Some(ahead) = other_time_namespace(3600) else {
        return;
    };
    let d = TempDir::new("clock-timens");
    let file = d.path("hb.json");
    let mut w = start_writer(&file, 3_600_000, &[]);
    assert_eq!(verdict(&check_with(&file, &[], &[])), ("alive", true));
    // Read on the monotonic clock an hour ahead, the file would be stale.
    let prefix: Vec<&str> = ahead.iter().map(String::as_str).collect();
    let rep = check_with(&file, &prefix, &[]);
    assert_eq!(verdict(&rep), ("alive", false), "{rep}");
    w.child.kill().unwrap();
    w.child.wait().unwrap();
    let rep = check_with(&file, &prefix, &[]);
    assert_eq!(verdict(&rep), ("process_gone", false), "{rep}");
}

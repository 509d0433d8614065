//! A child emitter driven over stdin, one command a line; used by the
//! integration tests as a real separate process. It speaks the line
//! protocol of tests/README.md: every line it prints starts with `@@ `.
//!
//! It starts from the environment (`LIFESIGN_FILE`, `LIFESIGN_INTERVAL_MS`)
//! and says `started pid=PID` once its first write is done (or `none` when
//! `LIFESIGN_FILE` is unset, or `err MESSAGE` and exits 1), then answers
//! each command with `ok` or `err MESSAGE`: `ready [MESSAGE]`,
//! `starting [MESSAGE]`, `stopping [MESSAGE]`, `failed [MESSAGE]`,
//! `reload [MESSAGE]`, `beat`,
//! `progress`, `meta KEY VALUE`, `stop`, and `exit` (leave at once with
//! status 0, without stopping and without an answer). At the end of its
//! input it stops the emitter and exits 0.
//! With `LIFESIGN_CHILD_WATCHDOG_TRIGGER=1` it opts in to `WATCHDOG=trigger`,
//! with `LIFESIGN_CHILD_WATCHDOG_ON_PROGRESS=1` to the work-driven watchdog.

use lifesign::{Emitter, State};
use std::io::{BufRead, Write};

fn main() {
    let out = std::io::stdout();
    let mut out = out.lock();
    let opted_in = [
        "LIFESIGN_CHILD_WATCHDOG_TRIGGER",
        "LIFESIGN_CHILD_WATCHDOG_ON_PROGRESS",
    ]
    .iter()
    .any(|k| std::env::var_os(k).is_some());
    let started = if opted_in {
        start_with_options()
    } else {
        Emitter::start_from_env()
    };
    let e = match started {
        Ok(Some(e)) => e,
        Ok(None) => {
            let _ = writeln!(out, "@@ none");
            return;
        }
        Err(err) => {
            let _ = writeln!(out, "@@ err {err}");
            std::process::exit(1);
        }
    };
    let _ = writeln!(out, "@@ started pid={}", std::process::id());
    let _ = out.flush();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let (cmd, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let msg = (!rest.is_empty()).then_some(rest);
        let r = match cmd {
            "ready" => e.set_state(State::Ready, msg),
            "starting" => e.set_state(State::Starting, msg),
            "stopping" => e.set_state(State::Stopping, msg),
            "failed" => e.set_state(State::Failed, msg),
            "reload" => e.reload(msg),
            "beat" => e.beat(),
            "progress" => e.progress(),
            "meta" => {
                let (k, v) = rest.split_once(' ').unwrap_or((rest, ""));
                e.set_meta(k, Some(v))
            }
            "stop" => e.stop(),
            "exit" => std::process::exit(0),
            other => {
                let _ = writeln!(out, "@@ err unknown command {other:?}");
                let _ = out.flush();
                continue;
            }
        };
        let _ = match r {
            Ok(()) => writeln!(out, "@@ ok"),
            Err(err) => writeln!(out, "@@ err {err}"),
        };
        let _ = out.flush();
    }
}

fn start_with_options() -> lifesign::Result<Option<Emitter>> {
    let Some(file) = std::env::var_os("LIFESIGN_FILE") else {
        return Ok(None);
    };
    let ms: u64 = std::env::var("LIFESIGN_INTERVAL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let mut opts = {
        let mut o = lifesign::Options::default();
        o.interval = std::time::Duration::from_millis(ms);
        o
    };
    opts.notify.watchdog_trigger = std::env::var_os("LIFESIGN_CHILD_WATCHDOG_TRIGGER").is_some();
    opts.notify.watchdog_on_progress =
        std::env::var_os("LIFESIGN_CHILD_WATCHDOG_ON_PROGRESS").is_some();
    Emitter::start_with(file, opts).map(Some)
}

//! A child emitter driven over stdin, one command a line; used by the
//! integration tests and the benchmarks as a real separate process.
//!
//! It starts from the environment (`LIFESIGN_FILE`, `LIFESIGN_INTERVAL_MS`)
//! and prints `started` (or `none` / `err <message>`), then answers each
//! command with `ok` or `err <message>`:
//! `ready [message]`, `starting [message]`, `stopping`, `failed [message]`,
//! `beat`, `progress`, `meta KEY VALUE`, `stop`, `exit` (without stopping).

use lifesign::{Emitter, State};
use std::io::{BufRead, Write};

fn main() {
    let out = std::io::stdout();
    let mut out = out.lock();
    let e = match Emitter::start_from_env() {
        Ok(Some(e)) => e,
        Ok(None) => {
            let _ = writeln!(out, "none");
            return;
        }
        Err(err) => {
            let _ = writeln!(out, "err {err}");
            std::process::exit(1);
        }
    };
    let _ = writeln!(out, "started");
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
            "beat" => e.beat(),
            "progress" => e.progress(),
            "meta" => {
                let (k, v) = rest.split_once(' ').unwrap_or((rest, ""));
                e.set_meta(k, Some(v))
            }
            "stop" => e.stop(),
            "exit" => std::process::exit(0),
            other => {
                let _ = writeln!(out, "err unknown command {other:?}");
                let _ = out.flush();
                continue;
            }
        };
        let _ = match r {
            Ok(()) => writeln!(out, "ok"),
            Err(err) => writeln!(out, "err {err}"),
        };
        let _ = out.flush();
    }
}

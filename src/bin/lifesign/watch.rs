//! `lifesign watch FILE`: a line per change of state, as it happens.

use crate::args::{Args, Res};
use crate::output::{clock, now_ms, report_line, Json};
use crate::signals;
use serde::Serialize;
use std::io::Write;

pub const HELP: &str = concat!(
    "\
Usage: lifesign watch FILE [--max-age DUR] [--json]

Prints a line each time the verdict, state or message of FILE changes, as
it happens (and at once for the current one), until SIGINT or SIGTERM or
until the reader of its output goes away.

  --max-age DUR  stale when older than this (0 or absent: the file's own
                 rule)
  --json         one JSON object per change, with \"at_ms\" (Unix ms)
",
    durations!(),
    "
Exit codes: 0 interrupted or its output closed; 2 a usage error.

Example:
  lifesign watch /run/app/hb.json
  12:00:01.250 alive: pid 812, state starting, seq 1, age 3 ms"
);

/// The extra field of a `--json` watch line.
#[derive(Serialize)]
pub struct At {
    pub at_ms: u64,
}

pub fn main(a: Args) -> Res<u8> {
    let args = crate::check::parse(a, "watch", "FILE", false)?;
    let cancel = signals::cancel_on_signal()?;
    let mut out = std::io::stdout();
    lifesign::watch(&args.target, &args.opts, Some(cancel), |r| {
        let now = now_ms();
        let line = if args.json {
            Json::with(&args.target, r, At { at_ms: now }).line()
        } else {
            format!("{} {}", clock(now), report_line(r))
        };
        // Stop when the reader went away.
        writeln!(out, "{line}").and_then(|_| out.flush()).is_ok()
    });
    Ok(0)
}

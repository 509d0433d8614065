//! `lifesign watch FILE`: a line per change of state, as it happens.

use crate::args::{Args, Res};
use crate::output::{clock, now_ms, report_line, Json};
use crate::signals;
use serde::Serialize;
use std::io::Write;

/// The extra field of a `--json` watch line.
#[derive(Serialize)]
pub struct At {
    pub at_ms: u64,
}

pub fn main(a: Args) -> Res<u8> {
    let args = crate::check::parse(a, "watch", "FILE")?;
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

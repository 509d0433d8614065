//! `lifesign check FILE`: one verdict, exit 0 when alive.

use crate::args::{one_positional, required, unknown, Arg, Args, Res};
use crate::output::{report_line, Json};
use lifesign::CheckOptions;
use std::path::PathBuf;

pub const HELP: &str = concat!(
    "\
Usage: lifesign check FILE [--max-age DUR] [--pid N] [--stall DUR] [--json]

Prints the verdict of the heartbeat FILE.

  --max-age DUR  stale when older than this (0 or absent: the file's own
                 rule: stale_after_ms, else 3 x interval_ms, else 30s)
  --pid N        expect this PID, 1 to 2147483647 (pid_mismatch otherwise)
  --stall DUR    stalled when work progress has not moved for this long
                 (0 or absent: never)
  --json         print the report as one JSON object instead of a line
",
    durations!(),
    "
Exit codes: 0 alive; 1 not alive (missing, invalid, pid_mismatch, stopped,
failed, process_gone, future, stale, stalled); 2 a usage error, or cannot
tell: this checker could not read the file for a reason of its own (out of
descriptors or memory, an I/O error, no permission).

Examples:
  lifesign check /run/app/hb.json
  lifesign check /run/app/hb.json --max-age 10s --stall 2m --json
  Kubernetes exec probe:  command: [\"lifesign\", \"check\", \"/run/app/hb.json\"]
  Docker:  HEALTHCHECK --interval=10s CMD lifesign check /run/app/hb.json"
);

/// The arguments of `check`, `scan` and `watch`: one path, the check
/// options (`--pid` and `--stall` only where `full`), and `--json`.
pub struct CheckArgs {
    pub target: PathBuf,
    pub opts: CheckOptions,
    pub json: bool,
}

pub fn parse(mut a: Args, cmd: &str, what: &str, full: bool) -> Res<CheckArgs> {
    let mut target = None;
    let mut opts = CheckOptions::default();
    let mut json = false;
    while let Some(arg) = a.next()? {
        match arg {
            Arg::Long(f) if f == "max-age" => opts.max_age_ms = a.millis(&f)?,
            Arg::Long(f) if f == "pid" && full => opts.expected_pid = Some(a.pid(&f)?),
            Arg::Long(f) if f == "stall" && full => opts.stall_ms = a.millis(&f)?,
            Arg::Long(f) if f == "json" => json = true,
            Arg::Value(v) => one_positional(&mut target, v)?,
            other => return unknown(cmd, other),
        }
    }
    Ok(CheckArgs {
        target: required(cmd, target, what)?,
        opts,
        json,
    })
}

pub fn main(a: Args) -> Res<u8> {
    let CheckArgs { target, opts, json } = parse(a, "check", "FILE", true)?;
    let r = match lifesign::try_check(&target, &opts) {
        Ok(r) => r,
        // The checker's own failure (docs/PROTOCOL.md 3.3): no verdict.
        Err(e) => {
            eprintln!("lifesign check: cannot tell: {e}");
            return Ok(2);
        }
    };
    if json {
        println!("{}", Json::new(&target, &r).line());
    } else {
        println!("{}", report_line(&r));
    }
    Ok(if r.is_alive() { 0 } else { 1 })
}

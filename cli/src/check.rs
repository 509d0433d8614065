//! `lifesign check FILE`: one verdict, exit 0 when alive (and ready, with
//! `--ready`).

use crate::args::{one_positional, required, unknown, usage, Arg, Args, Res};
use crate::commands::{verdict_exit_code, EXIT_NOT_READY};
use crate::output::{report_line, Json};
use lifesign::{CheckOptions, Report, State};
use std::path::PathBuf;

/// The arguments of `check`, `scan` and `watch`: one path, the check
/// options, and the flags (each command's row of the table says which it
/// takes; `Args` refuses the others).
pub struct CheckArgs {
    pub target: PathBuf,
    pub opts: CheckOptions,
    pub json: bool,
    pub ready: bool,
    pub verdict_codes: bool,
}

pub fn parse(mut a: Args, cmd: &str, what: &str) -> Res<CheckArgs> {
    let mut target = None;
    let mut opts = CheckOptions::default();
    let (mut json, mut ready, mut verdict_codes) = (false, false, false);
    while let Some(arg) = a.next()? {
        match arg {
            Arg::Long(f) if f == "max-age" => opts.max_age = a.timeout(&f)?,
            Arg::Long(f) if f == "pid" => opts.expected_pid = Some(a.pid(&f)?),
            Arg::Long(f) if f == "stall" => opts.stall = a.timeout(&f)?,
            Arg::Long(f) if f == "json" => json = true,
            Arg::Long(f) if f == "ready" => ready = true,
            Arg::Long(f) if f == "exit-code" => {
                verdict_codes = match a.value(&f)?.as_str() {
                    "simple" => false,
                    "verdict" => true,
                    other => {
                        return usage(format!("--exit-code {other:?} is not simple or verdict"))
                    }
                }
            }
            Arg::Value(v) => one_positional(&mut target, v)?,
            other => return unknown(cmd, other),
        }
    }
    Ok(CheckArgs {
        target: required(cmd, target, what)?,
        opts,
        json,
        ready,
        verdict_codes,
    })
}

/// The extra field of `--json --ready`.
#[derive(serde::Serialize)]
pub struct Ready {
    pub ready: bool,
}

/// Alive, and ready when `ready` is asked for.
pub fn passes(r: &Report, ready: bool) -> bool {
    r.is_alive() && (!ready || r.state == Some(State::Ready))
}

pub fn main(a: Args) -> Res<u8> {
    let args = parse(a, "check", "FILE")?;
    let r = match lifesign::try_check(&args.target, &args.opts) {
        Ok(r) => r,
        // The checker's own failure (docs/PROTOCOL.md 3.3): no verdict.
        Err(e) => {
            eprintln!("lifesign check: cannot tell: {e}");
            return Ok(2);
        }
    };
    if args.json && args.ready {
        let ready = Ready {
            ready: passes(&r, true),
        };
        println!("{}", Json::with(&args.target, &r, ready).line());
    } else if args.json {
        println!("{}", Json::new(&args.target, &r).line());
    } else if r.is_alive() && !passes(&r, args.ready) {
        println!("not ready: {}", report_line(&r));
    } else {
        println!("{}", report_line(&r));
    }
    Ok(match (passes(&r, args.ready), args.verdict_codes) {
        (true, _) => 0,
        (false, false) => 1,
        (false, true) if r.is_alive() => EXIT_NOT_READY,
        (false, true) => verdict_exit_code(r.verdict),
    })
}

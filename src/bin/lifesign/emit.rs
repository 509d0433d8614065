//! `lifesign emit FILE --state STATE`: one heartbeat for a shell script.

use crate::args::{one_positional, required, unknown, usage, Arg, Args, Res, INTERVAL};
use lifesign::{EmitOnce, ErrorKind, State};

pub const HELP: &str = concat!(
    "\
Usage: lifesign emit FILE --state STATE [--message TEXT] [--pid N]
                          [--interval DUR] [--meta KEY=VALUE]...

Writes one heartbeat atomically into FILE's existing folder, on behalf of a
shell script.

  --state STATE     starting, ready, stopping, stopped or failed
  --message TEXT    what the script is doing (default: the previous one)
  --pid N           the process the heartbeat speaks for, 1 to 2147483647
                    (default: the calling shell, the parent of this command)
  --interval DUR    the promised interval, written as interval_ms; the
                    checker's default max age is three times it. Emit again
                    at least that often. 10ms to 1h (default: the previous
                    heartbeat's, else none and the checker's 30s default)
  --meta KEY=VALUE  a metadata entry, added to the previous heartbeat's

Emitting again for the same process continues its sequence (seq + 1), so a
script that emits in a loop counts as making progress.
",
    durations!(),
    "
Exit codes: 0 written; 1 the write failed; 2 a usage error.

Example:
  lifesign emit \"$LIFESIGN_FILE\" --state starting --message \"migrating\"
  migrate && lifesign emit \"$LIFESIGN_FILE\" --state ready --interval 1m"
);

pub fn main(mut a: Args) -> Res<u8> {
    let mut file = None;
    let mut state = None;
    let mut message = None;
    let mut pid = None;
    let mut interval = None;
    let mut meta = Vec::new();
    while let Some(arg) = a.next()? {
        match arg {
            Arg::Long(f) if f == "state" => {
                let s = a.value(&f)?;
                let parsed = State::from_wire(&s);
                let Some(st) = parsed else {
                    return usage(format!(
                        "--state {s:?} is not one of starting, ready, stopping, stopped, failed"
                    ));
                };
                state = Some(st);
            }
            Arg::Long(f) if f == "message" => message = Some(a.value(&f)?),
            Arg::Long(f) if f == "pid" => pid = Some(a.pid(&f)?),
            Arg::Long(f) if f == "interval" => interval = Some(a.duration(&f, INTERVAL)?),
            Arg::Long(f) if f == "meta" => {
                let kv = a.value(&f)?;
                let Some((k, v)) = kv.split_once('=') else {
                    return usage(format!("--meta {kv:?} is not KEY=VALUE"));
                };
                meta.push((k.to_string(), v.to_string()));
            }
            Arg::Value(v) => one_positional(&mut file, v)?,
            other => return unknown("emit", other),
        }
    }
    let file = required("emit", file, "FILE")?;
    let Some(state) = state else {
        return usage("missing --state (see lifesign emit --help)");
    };
    // SAFETY: getppid has no preconditions.
    let pid = pid.unwrap_or_else(|| unsafe { libc::getppid() } as u32);
    let beat = EmitOnce {
        pid,
        state,
        message: message.as_deref(),
        interval,
        meta: &meta,
    };
    match lifesign::emit_once(&file, &beat) {
        Ok(_) => Ok(0),
        Err(e) if e.kind == ErrorKind::InvalidArgument => usage(format!("{}: {e}", file.display())),
        Err(e) => {
            eprintln!("lifesign emit: {e}");
            Ok(1)
        }
    }
}

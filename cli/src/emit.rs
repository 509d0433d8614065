//! `lifesign emit FILE --state STATE`: one heartbeat for a shell script.

use crate::args::{make_parent, one_positional, required, unknown, usage, Arg, Args, Res};
use lifesign::{EmitOnce, ErrorKind, State};

pub fn main(mut a: Args) -> Res<u8> {
    let mut file = None;
    let mut state = None;
    let mut message = None;
    let mut pid = None;
    let mut interval = None;
    let mut meta = Vec::new();
    let mut mkdir = false;
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
            Arg::Long(f) if f == "interval" => interval = Some(a.duration(&f)?),
            Arg::Long(f) if f == "meta" => {
                let kv = a.value(&f)?;
                let Some((k, v)) = kv.split_once('=') else {
                    return usage(format!("--meta {kv:?} is not KEY=VALUE"));
                };
                meta.push((k.to_string(), v.to_string()));
            }
            Arg::Long(f) if f == "mkdir" => mkdir = true,
            Arg::Value(v) => one_positional(&mut file, v)?,
            other => return unknown("emit", other),
        }
    }
    let file = required("emit", file, "FILE")?;
    let Some(state) = state else {
        return usage("missing --state (see lifesign emit --help)");
    };
    // The folder is where the readers look: a typo must not create another.
    let folder = file.parent().filter(|d| !d.as_os_str().is_empty());
    match folder {
        Some(dir) if mkdir => {
            if let Err(e) = make_parent(&file) {
                eprintln!("lifesign emit: cannot create {}: {e}", dir.display());
                return Ok(1);
            }
        }
        Some(dir) if !dir.is_dir() => {
            return usage(format!(
                "the folder {} does not exist (--mkdir creates it)",
                dir.display()
            ))
        }
        _ => {}
    }
    // SAFETY: getppid has no preconditions.
    let pid = pid.unwrap_or_else(|| unsafe { libc::getppid() } as u32);
    let mut beat = EmitOnce::new(pid, state);
    beat.message = message.as_deref();
    beat.interval = interval;
    beat.meta = &meta;
    match lifesign::emit_once(&file, &beat) {
        Ok(_) => Ok(0),
        Err(e) if e.kind == ErrorKind::InvalidArgument => usage(format!("{}: {e}", file.display())),
        Err(e) => {
            eprintln!("lifesign emit: {e}");
            Ok(1)
        }
    }
}

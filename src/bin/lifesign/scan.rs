//! `lifesign scan DIR`: the reaper's view of a folder of heartbeats.

use crate::args::{usage, Args, Res};
use crate::output::{human_age, Json};
use lifesign::Shape;
use std::io::Write;

pub const HELP: &str = concat!(
    "\
Usage: lifesign scan DIR [--max-age DUR] [--json]

Prints every heartbeat file in DIR with its verdict, PID and age, in name
order. Subfolders and lifesign's own temporaries are skipped (a heartbeat
is a file, never a folder); any other file that is not a heartbeat is listed
as invalid, with the reason in the JSON \"detail\".

  --max-age DUR  stale when older than this (0 or absent: each file's own
                 rule)
  --json         print one JSON array of reports, each with its \"file\"
",
    durations!(),
    "
Exit codes: 0 all are alive (an empty folder too); 1 one or more are not;
2 a usage error, or DIR cannot be listed (missing, not a folder, no
permission).

Example:
  lifesign scan /run/app --json | jq -r '.[] | select(.verdict != \"alive\") | .file'"
);

pub fn main(a: Args) -> Res<u8> {
    let args = crate::check::parse(a, "scan", "DIR", false)?;
    let dir = &args.target;
    let rows = match lifesign::scan(dir, &args.opts) {
        Ok(rows) => rows,
        Err(e) => return usage(format!("cannot list {}: {e}", dir.display())),
    };
    let all_alive = rows.iter().all(|(_, r)| r.is_alive());
    let mut out = std::io::stdout().lock();
    if args.json {
        let json: Vec<Json> = rows.iter().map(|(p, r)| Json::new(p, r)).collect();
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string(&json).expect("reports serialise")
        );
    } else {
        for (path, r) in &rows {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let pid = if r.pid == 0 {
                "-".into()
            } else {
                r.pid.to_string()
            };
            let age = if r.shape == Shape::None {
                "-".into()
            } else {
                human_age(r.age_ms)
            };
            let _ = writeln!(
                out,
                "{:<13} {:>8} {:>10}  {name}",
                r.verdict.as_str(),
                pid,
                age
            );
        }
    }
    Ok(if all_alive { 0 } else { 1 })
}

//! `lifesign scan DIR`: the reaper's view of a folder of heartbeats.

use crate::args::{usage, Args, Res};
use crate::check::{passes, Ready};
use crate::output::{human_age, Json};
use lifesign::{Report, Shape, Verdict};
use std::io::Write;

/// The text table: a header row, then a row per file.
fn row(verdict: &str, pid: &str, age: &str, state: &str, name: &str) -> String {
    format!("{verdict:<13} {pid:>8} {age:>10}  {state:<9} {name}")
}

/// `3 files: 2 alive, 1 stale` (and `, 1 not ready` with `--ready`).
pub fn summary(rows: &[(std::path::PathBuf, Report)], ready: bool) -> String {
    let mut parts = Vec::new();
    for v in Verdict::ALL {
        let n = rows.iter().filter(|(_, r)| r.verdict == *v).count();
        if n > 0 {
            parts.push(format!("{n} {}", v.as_str()));
        }
    }
    if ready {
        let n = rows
            .iter()
            .filter(|(_, r)| r.is_alive() && !passes(r, true))
            .count();
        parts.push(format!("{n} alive but not ready"));
    }
    let files = if rows.len() == 1 { "file" } else { "files" };
    if parts.is_empty() {
        format!("{} {files}", rows.len())
    } else {
        format!("{} {files}: {}", rows.len(), parts.join(", "))
    }
}

pub fn main(a: Args) -> Res<u8> {
    let args = crate::check::parse(a, "scan", "DIR")?;
    let dir = &args.target;
    let rows = match lifesign::scan(dir, &args.opts) {
        Ok(rows) => rows,
        Err(e) => return usage(format!("cannot list {}: {e}", dir.display())),
    };
    let all_pass = rows.iter().all(|(_, r)| passes(r, args.ready));
    let mut out = std::io::stdout().lock();
    if args.json {
        let line = if args.ready {
            let json: Vec<_> = rows
                .iter()
                .map(|(p, r)| {
                    Json::with(
                        p,
                        r,
                        Ready {
                            ready: passes(r, true),
                        },
                    )
                })
                .collect();
            serde_json::to_string(&json)
        } else {
            let json: Vec<Json> = rows.iter().map(|(p, r)| Json::new(p, r)).collect();
            serde_json::to_string(&json)
        };
        let _ = writeln!(out, "{}", line.expect("reports serialise"));
    } else if !rows.is_empty() {
        let _ = writeln!(out, "{}", row("VERDICT", "PID", "AGE", "STATE", "FILE"));
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
            let state = r.state.map_or("-", |s| s.as_str());
            let _ = writeln!(out, "{}", row(r.verdict.as_str(), &pid, &age, state, &name));
        }
    }
    drop(out);
    eprintln!("{}", summary(&rows, args.ready));
    Ok(if all_pass { 0 } else { 1 })
}

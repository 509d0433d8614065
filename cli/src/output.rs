//! What the subcommands print: one human line per report, or the report
//! serialised by serde with the file's path (and a subcommand's extras).

use lifesign::{Report, Shape, State, Verdict};
use serde::Serialize;
use std::io::{IsTerminal, Write};
use std::path::Path;

/// A report as JSON: `{"file": ..., <the report's fields>, <extra>}`.
#[derive(Serialize)]
pub struct Json<'a, E: Serialize = Nothing> {
    file: std::borrow::Cow<'a, str>,
    #[serde(flatten)]
    report: &'a Report,
    #[serde(flatten)]
    extra: E,
}

/// No extra fields.
#[derive(Serialize)]
pub struct Nothing {}

impl<'a> Json<'a> {
    pub fn new(file: &'a Path, report: &'a Report) -> Json<'a> {
        Json::with(file, report, Nothing {})
    }
}

impl<'a, E: Serialize> Json<'a, E> {
    pub fn with(file: &'a Path, report: &'a Report, extra: E) -> Json<'a, E> {
        Json {
            file: file.to_string_lossy(),
            report,
            extra,
        }
    }

    pub fn line(&self) -> String {
        serde_json::to_string(self).expect("a report always serialises")
    }
}

/// An age for people: `840 ms`, `12.5 s`, `15.0 min`.
pub fn human_age(ms: u64) -> String {
    if ms < 10_000 {
        format!("{ms} ms")
    } else if ms < 600_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{:.1} min", ms as f64 / 60_000.0)
    }
}

/// `alive: pid 12, state ready, seq 4, age 80 ms, message "up" (detail)`.
pub fn report_line(r: &Report) -> String {
    let mut s = r.verdict.as_str().to_string();
    if r.shape != Shape::None {
        s += &format!(": pid {}", r.pid);
        if let Some(st) = r.state {
            s += &format!(", state {st}");
        }
        if r.seq > 0 {
            s += &format!(", seq {}", r.seq);
        }
        s += &format!(", age {}", human_age(r.age_ms));
        if r.shape != Shape::V1 {
            s += &format!(", shape {}", r.shape.as_str());
        }
        if !r.message.is_empty() {
            s += &format!(", message {:?}", r.message);
        }
    }
    if !r.detail.is_empty() {
        s += &format!(" ({})", r.detail);
    }
    s
}

/// This machine's hostname: the default `--host-id` of `lifesign metrics`
/// (and of `lifesign relay`'s keys).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// The wall clock now, Unix milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `HH:MM:SS.mmm` (UTC) of a Unix time in milliseconds.
pub fn clock(ms: u64) -> String {
    let s = ms / 1000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        (s / 3600) % 24,
        (s / 60) % 60,
        s % 60,
        ms % 1000
    )
}

/// The progress of a wait on stderr: one line redrawn in place on a
/// terminal, a line per change of state otherwise.
pub struct Progress {
    quiet: bool,
    tty: bool,
    drawn: bool,
    last: Option<(Verdict, Option<State>, String)>,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        Progress {
            quiet,
            tty: std::io::stderr().is_terminal(),
            drawn: false,
            last: None,
        }
    }

    pub fn show(&mut self, prefix: &str, r: &Report) {
        if self.quiet {
            return;
        }
        let key = (r.verdict, r.state, r.message.clone());
        let mut err = std::io::stderr().lock();
        if self.tty {
            let what = match (r.verdict, r.state) {
                (Verdict::Missing, _) => "no heartbeat yet".to_string(),
                (Verdict::Alive, Some(s)) => s.to_string(),
                (v, _) => v.to_string(),
            };
            let mut line = format!("{prefix}: {what}");
            if r.shape != Shape::None {
                line += &format!(", seq {}, age {}", r.seq, human_age(r.age_ms));
            }
            if !r.message.is_empty() {
                line += &format!(", {}", r.message);
            }
            let line: String = line.chars().take(150).collect();
            let _ = write!(err, "\r\x1b[K{line}");
            let _ = err.flush();
            self.drawn = true;
        } else if self.last.as_ref() != Some(&key) {
            let _ = writeln!(err, "{prefix}: {}", report_line(r));
        }
        self.last = Some(key);
    }

    pub fn done(&mut self) {
        if self.drawn {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
            self.drawn = false;
        }
    }
}

//! `lifesign metrics --listen ADDR FOLDER...`: a Prometheus exporter of the
//! heartbeats in folders. Each scrape checks the files then (the library's
//! `scan`), so what Prometheus stores is what a `lifesign scan` would have
//! printed at that moment. The families are built by [`heartbeats`], which
//! another command serving metrics can call too (docs/METRICS.md).

use crate::args::{unknown, usage, Arg, Args, Res};
use crate::exporter::{http, Family, Labels, Number, Registry};
use crate::signals;
use lifesign::{CheckOptions, Report, Shape, State, Verdict};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

pub fn main(mut a: Args) -> Res<u8> {
    let mut listen = None;
    let mut host = None;
    let mut opts = CheckOptions::default();
    let mut folders = Vec::new();
    while let Some(arg) = a.next()? {
        match arg {
            Arg::Long(f) if f == "listen" => listen = Some(a.value(&f)?),
            Arg::Long(f) if f == "host-id" => host = Some(a.value(&f)?),
            Arg::Long(f) if f == "max-age" => opts.max_age = a.timeout(&f)?,
            Arg::Value(v) => folders.push(PathBuf::from(v)),
            other => return unknown("metrics", other),
        }
    }
    let Some(listen) = listen else {
        return usage("missing --listen ADDR (see lifesign metrics --help)");
    };
    if folders.is_empty() {
        return usage("missing FOLDER (see lifesign metrics --help)");
    }
    for f in &folders {
        if let Err(e) = std::fs::read_dir(f) {
            return usage(format!("cannot list {}: {e}", f.display()));
        }
    }
    let listener = match http::bind(&listen) {
        Ok(l) => l,
        Err(e) => return usage(e),
    };
    let cancel = signals::cancel_on_signal()?;
    let host = host.unwrap_or_else(crate::output::hostname);
    if let Ok(addr) = listener.local_addr() {
        println!("listening on http://{addr}{}", http::PATH);
    }
    let collect = move || {
        let started = Instant::now();
        let scans: Vec<_> = folders
            .iter()
            .map(|f| (f.clone(), lifesign::scan(f, &opts)))
            .collect();
        let mut reg = Registry::new();
        heartbeats(&mut reg, &host, &scans);
        let mut d = Family::gauge(
            "lifesign_scrape_duration_seconds",
            "Time this scrape spent checking the heartbeat files.",
        )
        .unit("seconds");
        d.set(vec![], Number::Float(started.elapsed().as_secs_f64()));
        reg.push(d);
        reg
    };
    match http::serve(listener, Some(cancel), collect) {
        Ok(()) => Ok(0),
        Err(e) => {
            eprintln!("lifesign metrics: {e}");
            Ok(1)
        }
    }
}

/// The states of `lifesign_verdict` and `lifesign_state`, in the order of
/// the C ABI's codes.
fn names<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> &'static [&'static str] {
    Box::leak(
        all.iter()
            .map(|&v| name(v))
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    )
}

fn verdicts() -> &'static [&'static str] {
    static V: OnceLock<&'static [&'static str]> = OnceLock::new();
    V.get_or_init(|| names(Verdict::ALL, Verdict::as_str))
}

fn states() -> &'static [&'static str] {
    static S: OnceLock<&'static [&'static str]> = OnceLock::new();
    S.get_or_init(|| names(State::ALL, State::as_str))
}

/// A folder's scan: its reports, or why it could not be listed.
pub type Scan = (PathBuf, std::io::Result<Vec<(PathBuf, Report)>>);

/// Pushes the per-heartbeat families of `scans` (one per folder) and the
/// per-folder ones into `reg`: every heartbeat labelled `host`, `name` and,
/// when there is more than one folder, `folder`.
pub fn heartbeats(reg: &mut Registry, host: &str, scans: &[Scan]) {
    let mut verdict = Family::state_set(
        "lifesign_verdict",
        "The heartbeat's verdict, as lifesign check gives it.",
        verdicts(),
    );
    let mut state = Family::state_set(
        "lifesign_state",
        "The state the heartbeat file declares (none when it has none).",
        states(),
    );
    let mut age = Family::gauge(
        "lifesign_age_seconds",
        "Time since the heartbeat file was last written.",
    )
    .unit("seconds");
    let mut seq = Family::counter(
        "lifesign_seq",
        "The heartbeat's seq: the emitter's write count, from 1 at its start.",
    );
    let mut progress = Family::counter("lifesign_progress", "The emitter's work-progress counter.");
    let mut progress_age = Family::gauge(
        "lifesign_progress_age_seconds",
        "Time since the work-progress counter last moved.",
    )
    .unit("seconds");
    let mut files = Family::gauge(
        "lifesign_files",
        "Heartbeat files seen in the folder at this scrape.",
    );
    let mut listed = Family::gauge(
        "lifesign_folder_listed",
        "1 when the folder could be listed at this scrape, else 0.",
    );
    for (folder, rows) in scans {
        let folder_label = || folder.to_string_lossy().into_owned();
        let rows = match rows {
            Ok(rows) => {
                listed.set(vec![("folder", folder_label())], Number::Int(1));
                rows
            }
            Err(_) => {
                listed.set(vec![("folder", folder_label())], Number::Int(0));
                continue;
            }
        };
        files.set(
            vec![("folder", folder_label())],
            Number::Int(rows.len() as u64),
        );
        for (name, r) in heartbeat_names(rows) {
            let mut labels: Labels = vec![("host", host.to_string()), ("name", name)];
            if scans.len() > 1 {
                labels.push(("folder", folder_label()));
            }
            verdict.state(&labels, Some(r.verdict.as_str()));
            state.state(&labels, r.state.map(State::as_str));
            if r.shape == Shape::None {
                continue;
            }
            age.set(labels.clone(), seconds(r.age_ms));
            seq.set(labels.clone(), Number::Int(r.seq));
            progress.set(labels.clone(), Number::Int(r.progress));
            if r.progress_at_ms.is_some() {
                progress_age.set(labels, seconds(r.progress_age_ms));
            }
        }
    }
    for f in [
        verdict,
        state,
        age,
        seq,
        progress,
        progress_age,
        files,
        listed,
    ] {
        reg.push(f);
    }
}

fn seconds(ms: u64) -> Number {
    Number::Float(ms as f64 / 1000.0)
}

/// The `name` label of each file of one folder: the file name without
/// `.json`, or the whole file name where that would name two files
/// (`a.json` beside `a`); a name still shared (names that differ only in
/// bytes that are not UTF-8) keeps its first file, so that no two series
/// have the same labels.
fn heartbeat_names(rows: &[(PathBuf, Report)]) -> Vec<(String, &Report)> {
    let file = |p: &Path| {
        p.file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    };
    let stem = |p: &Path| {
        let f = file(p);
        f.strip_suffix(".json").map(str::to_string).unwrap_or(f)
    };
    let mut count: HashMap<String, usize> = HashMap::new();
    for (p, _) in rows {
        *count.entry(stem(p)).or_default() += 1;
    }
    let mut seen = std::collections::HashSet::new();
    rows.iter()
        .map(|(p, r)| {
            let s = stem(p);
            (if count[&s] > 1 { file(p) } else { s }, r)
        })
        .filter(|(n, _)| seen.insert(n.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_drop_json_unless_two_files_would_share_one() {
        let r = Report::empty(Verdict::Missing, String::new());
        let rows: Vec<(PathBuf, Report)> = ["a.json", "a", "b.json", "c.txt"]
            .iter()
            .map(|n| (PathBuf::from("/d").join(n), r.clone()))
            .collect();
        let names: Vec<String> = heartbeat_names(&rows).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["a.json", "a", "b", "c.txt"]);
    }
}

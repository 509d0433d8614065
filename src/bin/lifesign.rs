//! `lifesign`: the heartbeat protocol for shells, probes, reapers and launchers.
//!
//! Exit codes: 0 success (alive, ready), 1 a negative answer (not alive,
//! failed, stopped, gone, stalled), 2 a usage error, 124 a hard timeout.

use lifesign::check::{self, now_ms, CheckOptions, Report, Verdict};
use lifesign::process;
use lifesign::protocol::{self, Record, Shape, State};
use lifesign::wait::{self, Cancel, WaitOptions};
use lifesign::write::{temp_writer_pid, AtomicFile, DEFAULT_MODE};
use serde_json::json;
use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const USAGE: &str = "\
lifesign: process heartbeats for shells, probes, reapers and launchers

Usage: lifesign <command> [options]

Commands:
  check FILE   is the emitter alive? (exit 0 alive, 1 not)
  wait FILE    wait until the emitter is ready (0 ready, 1 never will be, 124 timeout)
  emit FILE    write one heartbeat on behalf of a shell script
  run -- CMD   start CMD, wait until it is ready, stop it if it hangs
  scan DIR     the verdict of every heartbeat file in a folder
  watch FILE   print each change of state as it happens

Run `lifesign <command> --help` for its options. Durations: 250ms, 2s, 5m,
1h, or a bare number of milliseconds. Exit code 2 means a usage error.
Protocol and verdicts: docs/PROTOCOL.md. Version: lifesign --version.";

const CHECK_HELP: &str = "\
Usage: lifesign check FILE [--max-age DUR] [--pid N] [--stall DUR] [--json]

Prints the verdict of the heartbeat FILE and exits 0 when it is alive, 1 when
it is not (missing, invalid, pid_mismatch, stopped, failed, process_gone,
future, stale, stalled), 2 on a usage error.

  --max-age DUR  stale when older than this (default: the file's own rule:
                 stale_after_ms, else 3 x interval_ms, else 30s)
  --pid N        expect this PID (pid_mismatch otherwise)
  --stall DUR    stalled when work progress has not moved for this long
  --json         print one JSON object instead of a human line

Kubernetes exec probe:  command: [\"lifesign\", \"check\", \"/run/app/hb.json\"]
Docker:  HEALTHCHECK --interval=10s CMD lifesign check /run/app/hb.json";

const WAIT_HELP: &str = "\
Usage: lifesign wait FILE [--pid N] [--idle-timeout DUR] [--timeout DUR] [--json]

Waits (event-driven) until the emitter writing FILE reports ready.
Exit 0 when ready; 1 when it failed, stopped, died, or made no progress for
the idle timeout; 124 when the hard timeout passed; 2 on a usage error.

  --pid N             only a heartbeat of this PID counts; files of an
                      earlier run are ignored until it writes
  --idle-timeout DUR  give up when no new heartbeat arrives for this long
  --timeout DUR       give up after this long, whatever happens
  --json              print the final report as one JSON object
  --quiet             no progress line";

const EMIT_HELP: &str = "\
Usage: lifesign emit FILE --state STATE [--message TEXT] [--pid N] [--interval DUR]
                          [--meta KEY=VALUE]...

Writes one heartbeat atomically, on behalf of a shell script. STATE is one of
starting, ready, stopping, stopped, failed. The PID defaults to the calling
shell (the parent of this command). Emitting again for the same PID continues
its sequence (seq + 1), so a script that emits in a loop counts as making
progress. --interval sets interval_ms (the checker's default max age is three
times it); emit again at least that often.";

const RUN_HELP: &str = "\
Usage: lifesign run [--file F] [--interval DUR] [--idle-timeout DUR] [--timeout DUR]
                    [--grace DUR] [--quiet] -- CMD [ARGS...]

Starts CMD with LIFESIGN_FILE and LIFESIGN_INTERVAL_MS in its environment,
shows its progress until it reports ready, and stops it (TERM, then KILL after
the grace period) when it stalls (--idle-timeout, default 30s) or is not
ready in time (--timeout, default none). SIGTERM and SIGINT sent to lifesign
are forwarded to it (a Ctrl-C reaches it from the terminal directly). Exits with CMD's exit status (128+N when a signal N ended it); 1 when it
failed, stopped or stalled before ready; 124 when the timeout passed.

  --file F       the heartbeat file (default: a new file in $XDG_RUNTIME_DIR,
                 else the temporary folder)
  --interval DUR the interval handed to CMD (default 1s)
  --grace DUR    time between TERM and KILL (default 5s)";

const SCAN_HELP: &str = "\
Usage: lifesign scan DIR [--max-age DUR] [--json]

The reaper's view: every file in DIR with its verdict, PID and age (lifesign
temporaries are skipped; anything else that is not a heartbeat is reported as
invalid). Exit 0 when all are alive, 1 otherwise (an empty folder is 0).";

const WATCH_HELP: &str = "\
Usage: lifesign watch FILE [--max-age DUR] [--json]

Prints a line each time the verdict, state or message of FILE changes, as it
happens, until interrupted.";

/// A usage error: printed as one line, exit 2.
struct Usage(String);

type Res<T> = Result<T, Usage>;

fn usage<T>(msg: impl Into<String>) -> Res<T> {
    Err(Usage(msg.into()))
}

/// Parses `250ms`, `2s`, `5m`, `1h` or a bare number of milliseconds.
fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    if num.is_empty() {
        return None;
    }
    let value: f64 = num.parse().ok()?;
    let ms = match unit {
        "" | "ms" => value,
        "s" => value * 1e3,
        "m" => value * 60e3,
        "h" => value * 3600e3,
        _ => return None,
    };
    (ms.is_finite() && (0.0..1e15).contains(&ms)).then(|| Duration::from_micros((ms * 1e3) as u64))
}

/// A simple argument cursor: `--name value` and `--name=value`.
struct Args {
    items: Vec<OsString>,
    pos: usize,
    cmd: &'static str,
}

impl Args {
    fn next_raw(&mut self) -> Option<OsString> {
        let v = self.items.get(self.pos).cloned();
        self.pos += 1;
        v
    }

    /// The next argument, split into (flag, inline value) or a positional.
    fn next(&mut self) -> Res<Option<Arg>> {
        let Some(raw) = self.next_raw() else {
            return Ok(None);
        };
        let Some(s) = raw.to_str() else {
            return Ok(Some(Arg::Pos(raw)));
        };
        if s == "--" {
            return Ok(Some(Arg::Rest));
        }
        if let Some(flag) = s.strip_prefix("--") {
            return Ok(Some(match flag.split_once('=') {
                Some((k, v)) => Arg::Flag(k.to_string(), Some(v.to_string())),
                None => Arg::Flag(flag.to_string(), None),
            }));
        }
        if s == "-h" {
            return Ok(Some(Arg::Flag("help".into(), None)));
        }
        if s.starts_with('-') && s.len() > 1 {
            return usage(format!("{}: unknown option {s:?}", self.cmd));
        }
        Ok(Some(Arg::Pos(raw)))
    }

    fn value(&mut self, flag: &str, inline: Option<String>) -> Res<String> {
        if let Some(v) = inline {
            return Ok(v);
        }
        match self.next_raw() {
            Some(v) => v
                .into_string()
                .or_else(|_| usage(format!("{}: --{flag} is not valid UTF-8", self.cmd))),
            None => usage(format!("{}: --{flag} needs a value", self.cmd)),
        }
    }

    fn duration(&mut self, flag: &str, inline: Option<String>) -> Res<Duration> {
        let v = self.value(flag, inline)?;
        parse_duration(&v).map_or_else(
            || {
                usage(format!(
                    "{}: --{flag} {v:?} is not a duration (250ms, 2s, 5m, 1h or milliseconds)",
                    self.cmd
                ))
            },
            Ok,
        )
    }

    fn pid(&mut self, flag: &str, inline: Option<String>) -> Res<u32> {
        let v = self.value(flag, inline)?;
        match v.trim().parse::<u32>() {
            Ok(p) if p >= 1 && p <= i32::MAX as u32 => Ok(p),
            _ => usage(format!(
                "{}: --{flag} {v:?} is not a PID (1..2147483647)",
                self.cmd
            )),
        }
    }

    fn rest(&mut self) -> Vec<OsString> {
        let r = self.items[self.pos.min(self.items.len())..].to_vec();
        self.pos = self.items.len();
        r
    }
}

enum Arg {
    Flag(String, Option<String>),
    Pos(OsString),
    Rest,
}

fn unknown<T>(cmd: &str, flag: &str) -> Res<T> {
    usage(format!(
        "{cmd}: unknown option --{flag} (see lifesign {cmd} --help)"
    ))
}

fn one_positional(cmd: &str, slot: &mut Option<PathBuf>, v: OsString) -> Res<()> {
    if slot.is_some() {
        return usage(format!(
            "{cmd}: unexpected argument {:?}",
            v.to_string_lossy()
        ));
    }
    *slot = Some(PathBuf::from(v));
    Ok(())
}

fn required(cmd: &str, slot: Option<PathBuf>, what: &str) -> Res<PathBuf> {
    slot.map_or_else(
        || usage(format!("{cmd}: missing {what} (see lifesign {cmd} --help)")),
        Ok,
    )
}

fn main() -> ExitCode {
    let mut items: Vec<OsString> = std::env::args_os().skip(1).collect();
    if items.is_empty() {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let cmd = items.remove(0);
    let name = cmd.to_string_lossy().to_string();
    type Command = (&'static str, &'static str, fn(Args) -> Res<u8>);
    let (cmd, help, run): Command = match name.as_str() {
        "check" => ("check", CHECK_HELP, cmd_check),
        "wait" => ("wait", WAIT_HELP, cmd_wait),
        "emit" => ("emit", EMIT_HELP, cmd_emit),
        "run" => ("run", RUN_HELP, cmd_run),
        "scan" => ("scan", SCAN_HELP, cmd_scan),
        "watch" => ("watch", WATCH_HELP, cmd_watch),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        "-V" | "--version" | "version" => {
            println!("lifesign {}", lifesign::VERSION);
            return ExitCode::SUCCESS;
        }
        other => {
            eprintln!("lifesign: unknown command {other:?} (see lifesign --help)");
            return ExitCode::from(2);
        }
    };
    // --help anywhere before `--` prints the command's help.
    let before_rest = items.iter().take_while(|a| *a != "--");
    if before_rest.into_iter().any(|a| a == "--help" || a == "-h") {
        println!("{help}");
        return ExitCode::SUCCESS;
    }
    let args = Args { items, pos: 0, cmd };
    match run(args) {
        Ok(code) => ExitCode::from(code),
        Err(Usage(msg)) => {
            eprintln!("lifesign {msg}");
            ExitCode::from(2)
        }
    }
}

fn report_json(file: &Path, r: &Report) -> serde_json::Value {
    json!({
        "file": file.to_string_lossy(),
        "verdict": r.verdict.as_str(),
        "state": r.state.map(State::as_str),
        "pid": r.pid,
        "seq": r.seq,
        "progress": r.progress,
        "progress_at_ms": r.progress_at_ms,
        "updated_at_ms": r.updated_at_ms,
        "age_ms": r.age_ms,
        "interval_ms": r.interval_ms,
        "max_age_ms": r.max_age_ms,
        "message": r.message,
        "shape": r.shape.as_str(),
        "detail": r.detail,
    })
}

fn human_age(ms: u64) -> String {
    if ms < 10_000 {
        format!("{ms} ms")
    } else if ms < 600_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{:.1} min", ms as f64 / 60_000.0)
    }
}

fn report_line(r: &Report) -> String {
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

/// The arguments of `check`, `scan` and `watch`: one path, the check
/// options (`--pid` and `--stall` only where `full`), and `--json`.
struct CheckArgs {
    target: PathBuf,
    opts: CheckOptions,
    json: bool,
}

fn parse_check_args(mut a: Args, what: &str, full: bool) -> Res<CheckArgs> {
    let cmd = a.cmd;
    let mut target = None;
    let mut opts = CheckOptions::default();
    let mut json = false;
    while let Some(arg) = a.next()? {
        match arg {
            Arg::Flag(f, v) => match f.as_str() {
                "max-age" => opts.max_age_ms = Some(a.duration(&f, v)?.as_millis() as u64),
                "pid" if full => opts.expected_pid = Some(a.pid(&f, v)?),
                "stall" if full => opts.stall_ms = Some(a.duration(&f, v)?.as_millis() as u64),
                "json" => json = true,
                _ => return unknown(cmd, &f),
            },
            Arg::Pos(p) => one_positional(cmd, &mut target, p)?,
            Arg::Rest => return usage(format!("{cmd}: unexpected --")),
        }
    }
    Ok(CheckArgs {
        target: required(cmd, target, what)?,
        opts,
        json,
    })
}

fn cmd_check(a: Args) -> Res<u8> {
    let CheckArgs {
        target: file,
        opts,
        json: as_json,
    } = parse_check_args(a, "FILE", true)?;
    let r = check::check(&file, &opts);
    if as_json {
        println!("{}", report_json(&file, &r));
    } else {
        println!("{}", report_line(&r));
    }
    Ok(if r.is_alive() { 0 } else { 1 })
}

/// Live progress on a terminal; state changes otherwise.
struct Progress {
    tty: bool,
    quiet: bool,
    last: Option<(Verdict, Option<State>, String)>,
    drawn: bool,
}

impl Progress {
    fn new(quiet: bool) -> Progress {
        Progress {
            tty: std::io::stderr().is_terminal(),
            quiet,
            last: None,
            drawn: false,
        }
    }

    fn show(&mut self, prefix: &str, r: &Report) {
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

    fn done(&mut self) {
        if self.drawn {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
            self.drawn = false;
        }
    }
}

fn cmd_wait(mut a: Args) -> Res<u8> {
    let mut file = None;
    let mut expected_pid = None;
    let mut idle = None;
    let mut timeout = None;
    let mut as_json = false;
    let mut quiet = false;
    while let Some(arg) = a.next()? {
        match arg {
            Arg::Flag(f, v) => match f.as_str() {
                "pid" => expected_pid = Some(a.pid(&f, v)?),
                "idle-timeout" => idle = Some(a.duration(&f, v)?),
                "timeout" => timeout = Some(a.duration(&f, v)?),
                "json" => as_json = true,
                "quiet" => quiet = true,
                _ => return unknown("wait", &f),
            },
            Arg::Pos(p) => one_positional("wait", &mut file, p)?,
            Arg::Rest => return usage("wait: unexpected --"),
        }
    }
    let file = required("wait", file, "FILE")?;
    let cancel = Arc::new(Cancel::new().map_err(|e| Usage(format!("wait: {e}")))?);
    install_signal_cancel(&cancel);
    let mut progress = Progress::new(quiet || as_json);
    let outcome = wait::wait_ready_with(
        &file,
        &WaitOptions {
            expected_pid,
            idle_timeout: idle,
            timeout,
            cancel: Some(&cancel),
            force_polling: false,
        },
        |r| progress.show("waiting", r),
    );
    progress.done();
    let r = &outcome.report;
    if as_json {
        let mut j = report_json(&file, r);
        j["ready"] = json!(outcome.is_ready());
        if let Err(e) = &outcome.result {
            j["error"] = json!(e.message);
        }
        println!("{j}");
    } else if let Err(e) = &outcome.result {
        println!("{e}");
    } else if outcome.is_ready() {
        println!("ready: {}", report_line(r));
    } else {
        println!("not ready: {}", report_line(r));
    }
    Ok(match &outcome.result {
        Ok(()) if outcome.is_ready() => 0,
        Ok(()) => 1,
        Err(e) if e.kind == lifesign::ErrorKind::Timeout => 124,
        Err(_) => 130,
    })
}

fn cmd_emit(mut a: Args) -> Res<u8> {
    let mut file = None;
    let mut state = None;
    let mut message = None;
    let mut pid = None;
    let mut interval = None;
    let mut meta = Vec::new();
    while let Some(arg) = a.next()? {
        match arg {
            Arg::Flag(f, v) => match f.as_str() {
                "state" => {
                    let s = a.value(&f, v)?;
                    state = Some(State::from_wire(&s).ok_or_else(|| {
                        Usage(format!(
                            "emit: --state {s:?} is not one of starting, ready, stopping, stopped, failed"
                        ))
                    })?);
                }
                "message" => message = Some(a.value(&f, v)?),
                "pid" => pid = Some(a.pid(&f, v)?),
                "interval" => {
                    let d = a.duration(&f, v)?;
                    if d.is_zero() {
                        return usage("emit: --interval must be above 0");
                    }
                    interval = Some(d)
                }
                "meta" => {
                    let kv = a.value(&f, v)?;
                    let (k, v) = kv
                        .split_once('=')
                        .ok_or_else(|| Usage(format!("emit: --meta {kv:?} is not KEY=VALUE")))?;
                    meta.push((k.to_string(), v.to_string()));
                }
                _ => return unknown("emit", &f),
            },
            Arg::Pos(p) => one_positional("emit", &mut file, p)?,
            Arg::Rest => return usage("emit: unexpected --"),
        }
    }
    let file = required("emit", file, "FILE")?;
    let state =
        state.ok_or_else(|| Usage("emit: missing --state (see lifesign emit --help)".into()))?;
    // SAFETY: getppid has no preconditions.
    let pid = pid.unwrap_or_else(|| unsafe { libc::getppid() } as u32);
    let now = now_ms();
    // Continue the sequence of this PID's existing heartbeat.
    let previous = match check::read_path(&file) {
        check::Read::Record(r) if r.pid == pid && r.shape == Shape::V1 => Some(r),
        _ => None,
    };
    let id = process::identity();
    let seq = previous.as_ref().map_or(1, |p| p.seq.saturating_add(1));
    let record = Record {
        v: protocol::PROTOCOL_VERSION,
        pid,
        state: Some(state),
        seq,
        updated_at_ms: now,
        started_at_ms: Some(
            previous
                .as_ref()
                .and_then(|p| p.started_at_ms)
                .unwrap_or(now),
        ),
        interval_ms: interval
            .map(|d| d.as_millis() as u64)
            .or_else(|| previous.as_ref().and_then(|p| p.interval_ms)),
        stale_after_ms: interval
            .map(|d| d.as_millis() as u64 * 3)
            .or_else(|| previous.as_ref().and_then(|p| p.stale_after_ms)),
        host: id.host.clone(),
        boot_id: id.boot_id.clone(),
        pid_ns: id.pid_ns,
        pid_start: process::stat_of(pid).map(|(s, _)| s),
        lock_ino: None,
        // Each emit is a step of the script's work.
        progress: Some(seq),
        progress_at_ms: Some(now),
        message: message
            .or_else(|| previous.as_ref().and_then(|p| p.message.clone()))
            .filter(|m| !m.is_empty()),
        meta: previous
            .map(|p| p.meta)
            .unwrap_or_default()
            .into_iter()
            .chain(meta)
            .collect(),
        shape: Shape::V1,
    };
    let writer = AtomicFile::new(&file, DEFAULT_MODE, false)
        .map_err(|e| Usage(format!("emit: {}: {e}", file.display())))?;
    if let Err(e) = writer.write(&protocol::encode(&record)) {
        eprintln!("lifesign emit: cannot write {}: {e}", file.display());
        return Ok(1);
    }
    Ok(0)
}

fn cmd_scan(a: Args) -> Res<u8> {
    let CheckArgs {
        target: dir,
        opts,
        json: as_json,
    } = parse_check_args(a, "DIR", false)?;
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("lifesign scan: cannot read {}: {e}", dir.display());
            return Ok(1);
        }
    };
    let mut names: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            temp_writer_pid(name.as_bytes()).is_none()
                && !lifesign::lock::is_lock_name(name.as_bytes())
        })
        .map(|e| e.path())
        .collect();
    names.sort();
    let mut all_alive = true;
    let mut out = std::io::stdout().lock();
    let mut rows = Vec::new();
    // One scan is one snapshot: each writer's identity is probed once, so
    // many files of few writers do not thrash the library's pidfd cache.
    let mut probed: HashMap<(u32, Option<u64>), process::Liveness> = HashMap::new();
    for path in &names {
        let read = check::read_path(path);
        let facts = check::Facts {
            now_ms: now_ms(),
            identity: process::identity(),
        };
        let r = check::verdict(&read, facts, &opts, |pid, start| {
            *probed
                .entry((pid, start))
                .or_insert_with(|| process::probe(pid, start))
        });
        all_alive &= r.is_alive();
        if as_json {
            rows.push(report_json(path, &r));
        } else {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default();
            let pid = if r.pid == 0 {
                "-".to_string()
            } else {
                r.pid.to_string()
            };
            let age = if r.shape == Shape::None {
                "-".to_string()
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
    if as_json {
        let _ = writeln!(out, "{}", serde_json::Value::Array(rows));
    }
    Ok(if all_alive { 0 } else { 1 })
}

fn cmd_watch(a: Args) -> Res<u8> {
    let CheckArgs {
        target: file,
        opts,
        json: as_json,
    } = parse_check_args(a, "FILE", false)?;
    let cancel = Arc::new(Cancel::new().map_err(|e| Usage(format!("watch: {e}")))?);
    install_signal_cancel(&cancel);
    let mut watch = wait::Watch::new(&file, false);
    let mut last: Option<(Verdict, Option<State>, String)> = None;
    let mut out = std::io::stdout();
    loop {
        if !watch.is_event_driven() {
            watch = wait::Watch::new(&file, false);
        }
        watch.drain();
        let r = check::check(&file, &opts);
        let key = (r.verdict, r.state, r.message.clone());
        if last.as_ref() != Some(&key) {
            let line = if as_json {
                let mut j = report_json(&file, &r);
                j["at_ms"] = json!(now_ms());
                j.to_string()
            } else {
                format!("{} {}", clock(now_ms()), report_line(&r))
            };
            if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
                return Ok(0); // the reader went away
            }
            last = Some(key);
        }
        // Wake on file events, and at least every 250 ms so that a verdict
        // that changes with time alone (stale, process_gone) shows up.
        let woke = wait::sleep_until(
            Instant::now() + Duration::from_millis(250),
            &watch,
            Some(&cancel),
            None,
        );
        if woke.cancelled {
            return Ok(0);
        }
    }
}

fn clock(ms: u64) -> String {
    let s = ms / 1000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        (s / 3600) % 24,
        (s / 60) % 60,
        s % 60,
        ms % 1000
    )
}

// ---- signals -------------------------------------------------------------

static CANCEL_FD: AtomicI32 = AtomicI32::new(-1);
static CHILD_PID: AtomicI32 = AtomicI32::new(0);
extern "C" fn on_signal(sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    let child = CHILD_PID.load(Ordering::SeqCst);
    if child > 0 {
        // A signal the terminal raised (Ctrl-C) has already reached the
        // child, which shares our foreground process group: forwarding it
        // too would deliver it twice. Anything sent by a process is
        // forwarded.
        // SAFETY: the kernel passes a valid siginfo with SA_SIGINFO.
        let from_terminal = !info.is_null() && unsafe { (*info).si_code } == libc::SI_KERNEL;
        if !from_terminal {
            // SAFETY: kill is async-signal-safe.
            unsafe { libc::kill(child, sig) };
        }
        return;
    }
    let fd = CANCEL_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let one: u64 = 1;
        // SAFETY: write is async-signal-safe; 8 bytes to an eventfd.
        unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
    }
}

type SigInfoHandler = extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void);

fn install_handlers() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: installs a handler that only uses async-signal-safe calls.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as SigInfoHandler as *const () as usize;
            sa.sa_flags = libc::SA_RESTART | libc::SA_SIGINFO;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// SIGINT and SIGTERM trigger `cancel` (the process exits cleanly).
fn install_signal_cancel(cancel: &Arc<Cancel>) {
    use std::os::fd::{AsFd, AsRawFd};
    // The token lives as long as the process: leak one reference.
    let c = Arc::clone(cancel);
    CANCEL_FD.store(c.as_fd().as_raw_fd(), Ordering::SeqCst);
    std::mem::forget(c);
    install_handlers();
}

// ---- run -------------------------------------------------------------------

fn default_run_file() -> PathBuf {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty() && Path::new(d).is_dir())
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    base.join("lifesign")
        .join(format!("run-{}-{}.json", std::process::id(), now_ms()))
}

fn exit_status_code(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => c.clamp(0, 255) as u8,
        (None, Some(s)) => (128 + s).clamp(0, 255) as u8,
        _ => 1,
    }
}

fn cmd_run(mut a: Args) -> Res<u8> {
    let mut file = None;
    let mut interval = Duration::from_secs(1);
    let mut idle = Some(Duration::from_secs(30));
    let mut timeout = None;
    let mut grace = Duration::from_secs(5);
    let mut quiet = false;
    let mut command = Vec::new();
    while let Some(arg) = a.next()? {
        match arg {
            Arg::Flag(f, v) => match f.as_str() {
                "file" => file = Some(PathBuf::from(a.value(&f, v)?)),
                "interval" => interval = a.duration(&f, v)?,
                "idle-timeout" => {
                    let d = a.duration(&f, v)?;
                    idle = (!d.is_zero()).then_some(d);
                }
                "timeout" => {
                    let d = a.duration(&f, v)?;
                    timeout = (!d.is_zero()).then_some(d);
                }
                "grace" => grace = a.duration(&f, v)?,
                "quiet" => quiet = true,
                _ => return unknown("run", &f),
            },
            Arg::Pos(p) => {
                return usage(format!(
                    "run: unexpected argument {:?}: put the command after --",
                    p.to_string_lossy()
                ))
            }
            Arg::Rest => {
                command = a.rest();
                break;
            }
        }
    }
    if command.is_empty() {
        return usage("run: missing the command: lifesign run [options] -- CMD [ARGS...]");
    }
    let interval = lifesign::emitter::clamp_interval(interval);
    let file = file.unwrap_or_else(default_run_file);
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("lifesign run: cannot create {}: {e}", dir.display());
            return Ok(1);
        }
    }
    install_handlers();
    let mut child = match std::process::Command::new(&command[0])
        .args(&command[1..])
        .env("LIFESIGN_FILE", &file)
        .env("LIFESIGN_INTERVAL_MS", interval.as_millis().to_string())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "lifesign run: cannot start {:?}: {e}",
                command[0].to_string_lossy()
            );
            return Ok(127);
        }
    };
    let pid = child.id();
    CHILD_PID.store(pid as i32, Ordering::SeqCst);

    // End the wait when the child exits, without reaping it.
    let cancel = Arc::new(Cancel::new().map_err(|e| Usage(format!("run: {e}")))?);
    {
        let c = Arc::clone(&cancel);
        std::thread::spawn(move || {
            // SAFETY: waitid with WNOWAIT only observes the child's exit.
            unsafe {
                let mut info: libc::siginfo_t = std::mem::zeroed();
                while libc::waitid(
                    libc::P_PID,
                    pid as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOWAIT,
                ) != 0
                    && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
                {
                }
            }
            c.trigger();
        });
    }
    let mut progress = Progress::new(quiet);
    let outcome = wait::wait_ready_with(
        &file,
        &WaitOptions {
            expected_pid: Some(pid),
            idle_timeout: idle,
            timeout,
            cancel: Some(&cancel),
            force_polling: false,
        },
        |r| progress.show("lifesign run", r),
    );
    progress.done();
    let say = |msg: String| {
        if !quiet {
            eprintln!("lifesign run: {msg}");
        }
    };
    if outcome.is_ready() {
        say(format!("ready: {}", report_line(&outcome.report)));
        let status = wait_child(&mut child);
        return Ok(exit_status_code(status));
    }
    // The child exited before it was ready.
    if let Ok(Some(status)) = child.try_wait() {
        say(format!(
            "{:?} exited before it was ready ({status}); last seen: {}",
            command[0].to_string_lossy(),
            report_line(&outcome.report)
        ));
        return Ok(match exit_status_code(status) {
            0 => 1,
            c => c,
        });
    }
    let code = match &outcome.result {
        Err(e) if e.kind == lifesign::ErrorKind::Timeout => {
            say(format!("{e}; stopping it"));
            124
        }
        Err(_) => {
            // A signal cancelled the wait; it was forwarded to the child.
            let status = wait_child(&mut child);
            return Ok(exit_status_code(status));
        }
        Ok(()) => {
            say(format!(
                "not ready: {}; stopping it",
                report_line(&outcome.report)
            ));
            1
        }
    };
    stop_child(&mut child, grace);
    Ok(code)
}

fn wait_child(child: &mut std::process::Child) -> std::process::ExitStatus {
    loop {
        match child.wait() {
            Ok(s) => return s,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => {
                use std::os::unix::process::ExitStatusExt;
                return std::process::ExitStatus::from_raw(1 << 8);
            }
        }
    }
}

fn stop_child(child: &mut std::process::Child, grace: Duration) {
    let pid = child.id() as libc::pid_t;
    // SAFETY: signals our own child, which we have not reaped yet.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

//! The fleet commands' arguments and output: `relay`, and `check`, `wait`,
//! `watch` and `scan` of a `nats://` target. `main` takes the command name
//! and the arguments after it and returns the exit code.

use super::remote::{self, WaitEnd, WaitOptions};
use super::{relay, say, Auth, Error, Url, DEFAULT_BUCKET, EXIT_CANNOT_TELL};
use crate::output::{clock, now_ms, report_line, Json};
use crate::watch::At;
use lifesign::Report;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

type Res<T> = Result<T, String>;

/// Runs `relay`, or a remote `check`/`wait`/`watch`/`scan`.
pub fn main(cmd: &str, args: Vec<OsString>, cancel: Option<&lifesign::Cancel>) -> u8 {
    let out = match cmd {
        "relay" => relay_main(args, cancel),
        "check" | "wait" | "watch" | "scan" => remote_main(cmd, args, cancel),
        other => Err(format!("unknown command {other:?}")),
    };
    // Messages never show a URL's credentials, and a closed stderr ends
    // nothing.
    match out {
        Ok(Ok(code)) => code,
        Ok(Err(e)) if e.is_interrupted() => super::EXIT_INTERRUPTED,
        Ok(Err(e)) => {
            say(&format!("lifesign {cmd}: {e}"));
            EXIT_CANNOT_TELL
        }
        Err(usage) => {
            say(&format!("lifesign {cmd}: {usage}"));
            2
        }
    }
}

struct Args {
    it: std::vec::IntoIter<OsString>,
}

impl Args {
    fn value(&mut self, flag: &str) -> Res<String> {
        self.it
            .next()
            .and_then(|v| v.into_string().ok())
            .ok_or_else(|| format!("{flag} needs a value"))
    }
}

fn relay_main(args: Vec<OsString>, cancel: Option<&lifesign::Cancel>) -> Res<Result<u8, Error>> {
    let mut a = Args {
        it: args.into_iter(),
    };
    let (mut servers, mut bucket, mut host_id, mut auth, mut dirs) = (
        Vec::new(),
        DEFAULT_BUCKET.to_string(),
        None,
        Auth::None,
        Vec::new(),
    );
    let mut replicas = 1;
    let mut metrics = None;
    let mut tls = super::Tls::default();
    while let Some(arg) = a.it.next() {
        if let Some(flag) = arg.to_str() {
            if tls.take(flag, || a.value(flag))? {
                continue;
            }
        }
        match arg.to_str() {
            Some("--help" | "-h") => {
                if let Some(c) = crate::commands::find("relay") {
                    println!("{}", crate::help::command(c));
                }
                return Ok(Ok(0));
            }
            // Repeated, or a comma-separated list, as NATS clients take it.
            Some("--server") => servers.extend(
                a.value("--server")?
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            ),
            Some("--replicas") => {
                let v = a.value("--replicas")?;
                replicas = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=5).contains(n))
                    .ok_or_else(|| format!("--replicas {v:?}: 1 to 5"))?;
            }
            Some("--bucket") => bucket = a.value("--bucket")?,
            Some("--host-id") => host_id = Some(a.value("--host-id")?),
            Some("--metrics") => metrics = Some(a.value("--metrics")?),
            Some("--token") => auth = Auth::Token(a.value("--token")?),
            Some("--creds") => auth = Auth::Creds(a.value("--creds")?.into()),
            Some(f) if f.starts_with('-') => return Err(format!("unknown option {f}")),
            _ => dirs.push(PathBuf::from(arg)),
        }
    }
    if servers.is_empty() {
        return Err("--server nats://HOST:PORT is required".into());
    }
    let mut urls = Vec::new();
    for server in &servers {
        if super::scheme_of(server).is_none() {
            return Err(format!(
                "--server {server:?}: expected nats://HOST:PORT or tls://HOST:PORT"
            ));
        }
        // The bucket must be one a reader can name in a URL.
        urls.push(Url::parse(&format!("{server}/{bucket}"), false).map_err(|e| e.0)?);
    }
    if auth == Auth::None {
        auth = urls
            .iter()
            .map(Url::auth)
            .find(|a| *a != Auth::None)
            .unwrap_or_default();
    }
    if dirs.is_empty() {
        return Err("no DIR to relay".into());
    }
    tls.validate()?;
    let host_id = host_id.unwrap_or_else(super::hostname);
    if host_id.is_empty() {
        return Err("--host-id is empty".into());
    }
    let cfg = relay::Config {
        servers: urls.into_iter().map(|u| u.server).collect(),
        bucket,
        replicas,
        host_id,
        auth,
        tls,
        dirs,
        metrics,
    };
    let stats = Arc::new(relay::Stats::default());
    if let Some(addr) = &cfg.metrics {
        serve_metrics(addr, &cfg, stats.clone())?;
    }
    Ok(relay::run(cfg, stats, cancel).map(|()| 0))
}

/// `relay --metrics ADDR`: binds ADDR (before any server is reached: a bad
/// address is a usage error), says where, and serves the relay's families
/// and those of the heartbeats of its folders, as `lifesign metrics` does,
/// on a thread of its own; the relay's end ends it.
fn serve_metrics(addr: &str, cfg: &relay::Config, stats: Arc<relay::Stats>) -> Res<()> {
    use crate::exporter::{http, Registry};
    let listener = http::bind(addr).map_err(|e| format!("--metrics: {e}"))?;
    if let Ok(at) = listener.local_addr() {
        say(&format!(
            "lifesign relay: listening on http://{at}{}",
            http::PATH
        ));
    }
    let (host, dirs) = (cfg.host_id.clone(), cfg.dirs.clone());
    let collect = move || {
        let opts = lifesign::CheckOptions::default();
        let scans: Vec<_> = dirs
            .iter()
            .map(|d| (d.clone(), lifesign::scan(d, &opts)))
            .collect();
        let mut reg = Registry::new();
        stats.families(&mut reg, &host);
        crate::metrics::heartbeats(&mut reg, &host, &scans);
        reg
    };
    std::thread::spawn(move || {
        if let Err(e) = http::serve(listener, None, collect) {
            say(&format!("lifesign relay: --metrics: {e}"));
        }
    });
    Ok(())
}

fn remote_main(
    cmd: &str,
    args: Vec<OsString>,
    cancel: Option<&lifesign::Cancel>,
) -> Res<Result<u8, Error>> {
    let mut a = Args {
        it: args.into_iter(),
    };
    let (mut target, mut json, mut pid) = (None, false, None);
    let mut wait = WaitOptions::default();
    let mut tls = super::Tls::default();
    while let Some(arg) = a.it.next() {
        let Some(s) = arg.to_str() else {
            return Err(format!("{arg:?} is not UTF-8"));
        };
        if tls.take(s, || a.value(s))? {
            continue;
        }
        match s {
            "--help" | "-h" => {
                println!("{}", crate::help::REMOTE_HELP);
                return Ok(Ok(0));
            }
            "--json" => json = true,
            "--pid" if matches!(cmd, "check" | "wait") => {
                let v = a.value("--pid")?;
                pid = Some(v.parse::<u32>().ok().filter(|p| (1..=i32::MAX as u32).contains(p)).ok_or_else(|| format!("--pid {v:?}: 1 to 2147483647"))?);
            }
            "--idle-timeout" if cmd == "wait" => wait.idle_timeout = Some(duration(s, &a.value(s)?)?),
            "--timeout" if cmd == "wait" => wait.timeout = Some(duration(s, &a.value(s)?)?),
            f if f.starts_with('-') => {
                return Err(format!(
                    "{f} does not apply to a nats:// target (the origin relay applies the file's own rules)"
                ))
            }
            _ if target.is_none() => target = Some(s.to_string()),
            _ => return Err(format!("unexpected argument {s:?}")),
        }
    }
    let target = target.ok_or("no target")?;
    let mut url = Url::parse(&target, cmd != "scan").map_err(|e| e.0)?;
    tls.validate()?;
    url.tls = tls;
    let shown = url.shown();
    let mut out = std::io::stdout();
    Ok(match cmd {
        "check" => remote::check(&url, pid, cancel).map(|r| {
            print_report(&shown, &r, json, false);
            u8::from(!r.is_alive())
        }),
        "wait" => {
            wait.expected_pid = pid;
            remote::wait(&url, &wait, cancel, |_| {}).map(|end| {
                let code = remote::wait_exit_code(&end);
                let (WaitEnd::Decided(r) | WaitEnd::TimedOut(r) | WaitEnd::Cancelled(r)) = &end;
                print_report(&shown, r, json, false);
                if code == 124 {
                    say(&format!(
                        "lifesign wait: not ready after {} ms",
                        wait.timeout.unwrap_or_default().as_millis()
                    ));
                }
                code
            })
        }
        "watch" => remote::watch(&url, cancel, |r| print_report(&shown, r, json, true)).map(|()| 0),
        _ => remote::scan(&url, cancel).map(|rows| {
            if json {
                let files: Vec<String> = rows
                    .iter()
                    .map(|row| format!("{shown}/{}", row.key))
                    .collect();
                let all: Vec<Json> = rows
                    .iter()
                    .zip(&files)
                    .map(|(row, f)| Json::new(Path::new(f), &row.report))
                    .collect();
                let _ = writeln!(
                    out,
                    "{}",
                    serde_json::to_string(&all).expect("reports always serialise")
                );
            } else {
                for row in &rows {
                    let r = &row.report;
                    let pid = if r.pid == 0 {
                        "-".to_string()
                    } else {
                        r.pid.to_string()
                    };
                    let _ = writeln!(
                        out,
                        "{:<13} {:>8}  {:<20} {}",
                        r.verdict.as_str(),
                        pid,
                        row.host_id,
                        row.name
                    );
                }
            }
            u8::from(!rows.iter().all(|row| row.report.is_alive()))
        }),
    })
}

/// A duration option, by the grammar and range of every other one.
fn duration(flag: &str, v: &str) -> Res<Duration> {
    crate::args::parse_duration(v)
        .filter(|d| *d <= crate::commands::MAX_DURATION)
        .ok_or_else(|| format!("{flag} {v:?}: expected a duration from 0 to 1000000000000000ms"))
}

/// Prints one report as `lifesign check|wait|watch` print a file's (a
/// `watch` line starts with the time); returns whether stdout still takes
/// output.
fn print_report(target: &str, r: &Report, json: bool, watch: bool) -> bool {
    let mut out = std::io::stdout();
    let path = Path::new(target);
    let now = now_ms();
    let line = match (json, watch) {
        (true, true) => Json::with(path, r, At { at_ms: now }).line(),
        (true, false) => Json::new(path, r).line(),
        (false, true) => format!("{} {}", clock(now), report_line(r)),
        (false, false) => report_line(r),
    };
    writeln!(out, "{line}").and_then(|()| out.flush()).is_ok()
}

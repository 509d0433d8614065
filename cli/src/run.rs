//! `lifesign run -- CMD`: a launcher that starts CMD, waits until it is
//! ready, watches it after, and stops it when it hangs (`child` keeps the
//! processes; this module decides).

use crate::args::{make_parent, unknown, usage, Arg, Args, Res};
use crate::bridge::{self, Bridge};
use crate::child::{self, Running};
use crate::commands::EXIT_HUNG;
use crate::output::{report_line, Progress};
use crate::signals;
use lifesign::{CheckOptions, Report, State, Verdict, WaitError, WaitErrorKind, WaitOptions};
use std::ffi::{CString, OsString};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The longest pause between two attempts of `--restart`.
const MAX_RESTART_DELAY: Duration = Duration::from_secs(300);

struct RunArgs {
    file: Option<PathBuf>,
    interval: Duration,
    idle_timeout: Option<Duration>,
    timeout: Option<Duration>,
    grace: Duration,
    stall: Option<Duration>,
    restart: u32,
    restart_delay: Duration,
    quiet: bool,
    command: Vec<OsString>,
}

fn parse(mut a: Args) -> Res<RunArgs> {
    let mut r = RunArgs {
        file: None,
        interval: Duration::from_secs(1),
        idle_timeout: Some(Duration::from_secs(30)),
        timeout: None,
        grace: Duration::from_secs(5),
        stall: None,
        restart: 0,
        restart_delay: Duration::from_secs(1),
        quiet: false,
        command: Vec::new(),
    };
    while let Some(arg) = a.next()? {
        match arg {
            Arg::Long(f) if f == "file" => r.file = Some(a.os_value(&f)?.into()),
            Arg::Long(f) if f == "interval" => r.interval = a.duration(&f)?,
            Arg::Long(f) if f == "idle-timeout" => r.idle_timeout = a.timeout(&f)?,
            Arg::Long(f) if f == "timeout" => r.timeout = a.timeout(&f)?,
            Arg::Long(f) if f == "grace" => r.grace = a.duration(&f)?,
            Arg::Long(f) if f == "restart-delay" => r.restart_delay = a.duration(&f)?,
            Arg::Long(f) if f == "restart" => {
                let v = a.value(&f)?;
                r.restart = match v.trim().parse() {
                    Ok(n) => n,
                    Err(_) => {
                        return usage(format!("--restart {v:?} is not a count (0 to 4294967295)"))
                    }
                };
            }
            Arg::Long(f) if f == "stall" => r.stall = a.timeout(&f)?,
            Arg::Long(f) if f == "quiet" => r.quiet = true,
            Arg::Value(program) => {
                r.command.push(program);
                r.command.extend(a.rest());
                break;
            }
            other => return unknown("run", other),
        }
    }
    if r.command.is_empty() {
        return usage("missing the command: lifesign run [options] -- CMD [ARGS...]");
    }
    Ok(r)
}

/// The heartbeat file of a run, and the private folder made for it (removed
/// with everything in it when the run ends).
struct HeartbeatFile {
    path: PathBuf,
    private_dir: Option<PathBuf>,
}

impl Drop for HeartbeatFile {
    fn drop(&mut self) {
        if let Some(dir) = &self.private_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl HeartbeatFile {
    fn new(explicit: Option<PathBuf>) -> std::io::Result<HeartbeatFile> {
        if let Some(path) = explicit {
            make_parent(&path)?;
            return Ok(HeartbeatFile {
                path,
                private_dir: None,
            });
        }
        let base = private_runtime_dir().unwrap_or_else(std::env::temp_dir);
        let dir = make_private_dir(&base.join("lifesign-run-XXXXXX"))?;
        Ok(HeartbeatFile {
            path: dir.join("heartbeat.json"),
            private_dir: Some(dir),
        })
    }
}

/// `$XDG_RUNTIME_DIR` when it is a folder of ours that nobody else can
/// write to.
fn private_runtime_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("XDG_RUNTIME_DIR")?);
    let meta = std::fs::metadata(&dir).ok()?;
    // SAFETY: geteuid has no preconditions.
    let ours = meta.uid() == unsafe { libc::geteuid() };
    let private = meta.mode() & 0o022 == 0;
    (dir.is_absolute() && meta.is_dir() && ours && private).then_some(dir)
}

/// mkdtemp(3): a new folder with a unique name, then mode 0700 whatever the
/// umask.
fn make_private_dir(template: &Path) -> std::io::Result<PathBuf> {
    let template = CString::new(template.as_os_str().as_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let mut bytes = template.into_bytes_with_nul();
    // SAFETY: a writable NUL-terminated template that ends in XXXXXX.
    if unsafe { libc::mkdtemp(bytes.as_mut_ptr().cast()) }.is_null() {
        return Err(std::io::Error::last_os_error());
    }
    bytes.pop();
    let dir = PathBuf::from(OsString::from_vec(bytes));
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    Ok(dir)
}

pub fn main(a: Args) -> Res<u8> {
    let args = parse(a)?;
    let file = match HeartbeatFile::new(args.file.clone()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("lifesign run: cannot prepare the heartbeat folder: {e}");
            return Ok(1);
        }
    };
    let say = |msg: String| {
        if !args.quiet {
            eprintln!("lifesign run: {msg}");
        }
    };
    if file.private_dir.is_some() {
        say(format!("heartbeat file {}", file.path.display()));
    }
    signals::forward_all();
    let between = match signals::run_cancel() {
        Ok(c) => c,
        Err(e) => return usage(format!("cannot create a cancel token: {e}")),
    };
    child::become_subreaper();
    let own_group = !child::in_terminal_foreground();
    let pid = Arc::new(AtomicU32::new(0));
    let bridge = Bridge::start(
        bridge::Child {
            file: file.path.clone(),
            pid: Arc::clone(&pid),
            interval: args.interval,
            stall: args.stall,
        },
        say,
    );
    let program = args.command[0].to_string_lossy().into_owned();
    let mut delay = args.restart_delay;
    let mut attempt = 0;
    let code = loop {
        let (code, restartable) = attempt_once(&args, &file, own_group, &pid, &program, &say);
        if !restartable || attempt >= args.restart || signals::stop_requested() {
            break code;
        }
        attempt += 1;
        eprintln!(
            "lifesign run: restarting {program:?} in {} (restart {attempt} of {})",
            crate::args::show_duration(delay),
            args.restart
        );
        if pause(between, delay) || signals::stop_requested() {
            break code;
        }
        delay = (delay * 2).min(MAX_RESTART_DELAY);
    };
    if let Some(b) = bridge {
        b.finish();
    }
    Ok(code)
}

/// Sleeps for `d`; `true` when a signal came first.
fn pause(cancel: &lifesign::Cancel, d: Duration) -> bool {
    let mut pfd = libc::pollfd {
        fd: cancel.as_fd().as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let deadline = std::time::Instant::now() + d;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return false;
        }
        let ms = left.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, ms.max(1)) };
        if n > 0 {
            return true;
        }
    }
}

/// One attempt: starts CMD, supervises it to its end, sweeps what it left.
/// The exit code, and whether a restart may follow.
fn attempt_once(
    args: &RunArgs,
    file: &HeartbeatFile,
    own_group: bool,
    pid: &AtomicU32,
    program: &str,
    say: &dyn Fn(String),
) -> (u8, bool) {
    let env = [
        ("LIFESIGN_FILE", file.path.clone().into_os_string()),
        (
            "LIFESIGN_INTERVAL_MS",
            args.interval.as_millis().to_string().into(),
        ),
    ];
    let child = match child::spawn(&args.command, &env, own_group) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lifesign run: cannot start {program:?}: {e}");
            return (127, false);
        }
    };
    pid.store(child.pid, Ordering::SeqCst);
    let code = supervise(args, file, &child, program, say);
    let left = child.sweep(args.grace);
    if left > 0 {
        eprintln!("lifesign run: stopped {left} process(es) that {program:?} left running");
    }
    (code, code != 0)
}

/// From CMD's start to its end: the exit code of the attempt.
fn supervise(
    args: &RunArgs,
    file: &HeartbeatFile,
    child: &Running,
    program: &str,
    say: &dyn Fn(String),
) -> u8 {
    let outcome = match wait_until_ready(args, &file.path, child) {
        Ok(report) => {
            say(format!("ready: {}", report_line(&report)));
            return watch_after_ready(args, &file.path, child, program);
        }
        Err(e) => e,
    };
    // `process_gone` of our own unreaped child: it has exited, and the
    // reaper is about to record how.
    let gone = outcome.report().verdict == Verdict::ProcessGone;
    let exited = match child.status() {
        None if gone => child.wait(None),
        status => status,
    };
    if let Some(status) = exited {
        // A child that wrote ready and exited before the wait read it was
        // ready: its last heartbeat, by its PID, says so.
        let last = lifesign::check(&file.path, &{
            let mut o = CheckOptions::default();
            o.expected_pid = Some(child.pid);
            o
        });
        if last.pid == child.pid && last.state == Some(State::Ready) {
            say(format!(
                "ready, then exited ({status}): {}",
                report_line(&last)
            ));
            return status_code(status);
        }
        say(format!(
            "{program:?} exited before it was ready ({status}); last seen: {}",
            report_line(outcome.report())
        ));
        // Exiting 0 before ready is still a failure to start.
        return status_code(status).max(1);
    }
    let code = match outcome.kind() {
        WaitErrorKind::NotReady => {
            eprintln!(
                "lifesign run: not ready: {}; stopping {program:?}",
                report_line(outcome.report())
            );
            1
        }
        WaitErrorKind::Timeout => {
            eprintln!("lifesign run: {outcome}; stopping {program:?}");
            124
        }
        _ => {
            eprintln!("lifesign run: {outcome}; stopping {program:?}");
            1
        }
    };
    child.stop(args.grace);
    code
}

/// After ready: CMD's own status when it exits; [`EXIT_HUNG`] when it had
/// to be stopped because its heartbeat went stale or stalled, or it said
/// stopped or failed and did not exit within the grace period.
fn watch_after_ready(args: &RunArgs, file: &Path, child: &Running, program: &str) -> u8 {
    let opts = {
        let mut o = CheckOptions::default();
        o.expected_pid = Some(child.pid);
        o.stall = args.stall;
        o
    };
    let mut seen: Option<Report> = None;
    lifesign::watch(file, &opts, Some(&child.exited), |r| {
        let hung = matches!(
            r.verdict,
            Verdict::Stale | Verdict::Stalled | Verdict::Stopped | Verdict::Failed
        );
        if hung {
            seen = Some(r.clone());
        }
        !hung
    });
    let Some(r) = seen.filter(|_| child.status().is_none()) else {
        return status_code(child.wait(None).unwrap_or(ExitStatus::from_raw(1 << 8)));
    };
    if matches!(r.verdict, Verdict::Stopped | Verdict::Failed) {
        // It says it is ending: its own exit, if it comes in time.
        if let Some(status) = child.wait(Some(args.grace)) {
            return status_code(status);
        }
        eprintln!(
            "lifesign run: {program:?} is still running {} after it said {}: {}; stopping it",
            crate::args::show_duration(args.grace),
            r.verdict,
            report_line(&r)
        );
    } else {
        eprintln!(
            "lifesign run: {program:?} hung after it was ready: {}; stopping it",
            report_line(&r)
        );
    }
    child.stop(args.grace);
    EXIT_HUNG
}

/// The core wait for the child's PID, ended early when the child exits.
fn wait_until_ready(args: &RunArgs, file: &Path, child: &Running) -> Result<Report, WaitError> {
    let mut progress = Progress::new(args.quiet);
    let mut opts = WaitOptions::default()
        .expected_pid(child.pid)
        .cancel(&child.exited);
    opts.idle_timeout = args.idle_timeout;
    opts.timeout = args.timeout;
    let outcome = lifesign::wait_ready_with(file, &opts, |r| progress.show("lifesign run", r));
    progress.done();
    outcome
}

/// A status as an exit code: the code, or 128+N for signal N.
fn status_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(c), _) => c.clamp(0, 255) as u8,
        (None, Some(s)) => (128 + s).clamp(0, 255) as u8,
        _ => 1,
    }
}

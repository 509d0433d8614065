//! `lifesign run -- CMD`: a launcher that starts CMD, waits until it is
//! ready, and stops it when it hangs.

use crate::args::{unknown, usage, Arg, Args, Res, ANY, INTERVAL};
use crate::output::{report_line, Progress};
use crate::signals;
use lifesign::{Cancel, ErrorKind, WaitOptions, WaitOutcome};
use std::ffi::{CString, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const HELP: &str = concat!(
    "\
Usage: lifesign run [--file F] [--interval DUR] [--idle-timeout DUR]
                    [--timeout DUR] [--grace DUR] [--quiet] [--] CMD [ARGS...]

Starts CMD with LIFESIGN_FILE and LIFESIGN_INTERVAL_MS in its environment,
shows its progress on stderr until it reports ready, and stops it (TERM,
then KILL after the grace period) when it sends no new heartbeat for the
idle timeout or is not ready in time. SIGTERM and SIGINT sent to lifesign
are forwarded to it (a Ctrl-C reaches it from the terminal directly).
Options end at CMD, the first argument that is not one; `--` is needed only
when CMD itself starts with `-`.

  --file F            the heartbeat file; its missing folders are created
                      with mode 0755, and it stays when the run ends.
                      Default: a file in a new private folder (mode 0700,
                      named like mkdtemp) in $XDG_RUNTIME_DIR when that is a
                      folder owned by this user and not writable by group or
                      others, else in $TMPDIR or /tmp; the path is printed,
                      and the folder is removed when the run ends
  --interval DUR      the interval handed to CMD, 10ms to 1h (default 1s)
  --idle-timeout DUR  stop CMD when no new heartbeat arrives for this long
                      before it is ready (default 30s; 0: never)
  --timeout DUR       stop CMD when it is not ready after this long
                      (default and 0: never)
  --grace DUR         time between TERM and KILL (default 5s)
  --quiet             no progress lines, no heartbeat path
",
    durations!(),
    "
Exit codes: CMD's own status once it was ready (128+N when signal N ended
it, also after a forwarded SIGTERM); 1 it failed, stopped, stalled or
exited 0 before it was ready (its status when not 0); 124 the --timeout
passed; 127 CMD could not be started; 2 a usage error.

Examples:
  lifesign run --idle-timeout 1m -- ./server --port 8080
  lifesign run --file /run/app/hb.json --timeout 5m --grace 10s -- ./migrate.sh"
);

struct RunArgs {
    file: Option<PathBuf>,
    interval: Duration,
    idle_timeout: Option<Duration>,
    timeout: Option<Duration>,
    grace: Duration,
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
        quiet: false,
        command: Vec::new(),
    };
    while let Some(arg) = a.next()? {
        match arg {
            Arg::Long(f) if f == "file" => r.file = Some(a.os_value(&f)?.into()),
            Arg::Long(f) if f == "interval" => r.interval = a.duration(&f, INTERVAL)?,
            Arg::Long(f) if f == "idle-timeout" => r.idle_timeout = a.timeout(&f)?,
            Arg::Long(f) if f == "timeout" => r.timeout = a.timeout(&f)?,
            Arg::Long(f) if f == "grace" => r.grace = a.duration(&f, ANY)?,
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
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                // An explicit mode: under umask 0 the folder is 0755, not 0777.
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o755)
                    .create(dir)?;
            }
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
    signals::install_handlers();
    let program = args.command[0].to_string_lossy().into_owned();
    let mut child = match std::process::Command::new(&args.command[0])
        .args(&args.command[1..])
        .env("LIFESIGN_FILE", &file.path)
        .env(
            "LIFESIGN_INTERVAL_MS",
            args.interval.as_millis().to_string(),
        )
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lifesign run: cannot start {program:?}: {e}");
            return Ok(127);
        }
    };
    signals::forward_to(child.id());
    let outcome = match wait_until_ready(&args, &file.path, &child) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("lifesign run: {e}");
            stop(&mut child, args.grace);
            return Ok(1);
        }
    };
    if outcome.is_ready() {
        say(format!("ready: {}", report_line(&outcome.report)));
        return Ok(status_code(reap(&mut child)));
    }
    if let Ok(Some(status)) = child.try_wait() {
        say(format!(
            "{program:?} exited before it was ready ({status}); last seen: {}",
            report_line(&outcome.report)
        ));
        // Exiting 0 before ready is still a failure to start.
        return Ok(status_code(status).max(1));
    }
    let code = match &outcome.result {
        Err(e) if e.kind == ErrorKind::Timeout => {
            say(format!("{e}; stopping it"));
            124
        }
        // A signal cancelled the wait; it was forwarded to the child.
        Err(_) => return Ok(status_code(reap(&mut child))),
        Ok(()) => {
            say(format!(
                "not ready: {}; stopping it",
                report_line(&outcome.report)
            ));
            1
        }
    };
    stop(&mut child, args.grace);
    Ok(code)
}

/// The core wait for the child's PID, ended early when the child exits.
fn wait_until_ready(args: &RunArgs, file: &Path, child: &Child) -> std::io::Result<WaitOutcome> {
    let cancel = Arc::new(Cancel::new()?);
    let pid = child.id();
    let on_exit = Arc::clone(&cancel);
    std::thread::spawn(move || {
        // SAFETY: waitid with WNOWAIT only observes the child's exit; the
        // child is reaped by `Child::wait` later.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            while libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            ) != 0
                && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
            {}
        }
        on_exit.trigger();
    });
    let mut progress = Progress::new(args.quiet);
    let outcome = lifesign::wait_ready_with(
        file,
        &WaitOptions {
            expected_pid: Some(pid),
            idle_timeout: args.idle_timeout,
            timeout: args.timeout,
            cancel: Some(&cancel),
            force_polling: false,
        },
        |r| progress.show("lifesign run", r),
    );
    progress.done();
    Ok(outcome)
}

/// A status as an exit code: the code, or 128+N for signal N.
fn status_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(c), _) => c.clamp(0, 255) as u8,
        (None, Some(s)) => (128 + s).clamp(0, 255) as u8,
        _ => 1,
    }
}

fn reap(child: &mut Child) -> ExitStatus {
    loop {
        match child.wait() {
            Ok(s) => return s,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return ExitStatus::from_raw(1 << 8),
        }
    }
}

/// TERM, then KILL when the grace period passes.
fn stop(child: &mut Child, grace: Duration) {
    // SAFETY: signals our own child, which we have not reaped yet.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
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

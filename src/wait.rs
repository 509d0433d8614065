//! Waiting for readiness, event-driven: inotify on the heartbeat's folder
//! wakes the waiter when the file is replaced or the emitter's lifetime
//! lock is released, a pidfd wakes it when the emitter dies, and a cancel
//! token wakes it when the caller gives up.
//! Where inotify is unavailable it polls.
//!
//! Time is measured on the monotonic clock only: the idle timeout runs from
//! the last new `seq` the waiter saw, so wall-clock jumps on either side
//! change nothing.

use crate::check::{self, CheckOptions, Facts, Read, Report, Verdict};
use crate::error::{Error, ErrorKind};
use crate::process::{self, Liveness};
use crate::protocol::State;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// How often the waiter re-reads the file when no event arrives: a safety
/// net with inotify, the cadence without it.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// With inotify working, a slow re-read catches what events cannot (a
/// network filesystem, a file replaced through another mount).
pub const SAFETY_INTERVAL: Duration = Duration::from_millis(1000);

/// A cancel token: trigger it from any thread (or a signal handler) to end
/// the waits that use it with [`ErrorKind::Cancelled`]. Once triggered it
/// stays triggered.
#[derive(Debug)]
pub struct Cancel {
    fd: OwnedFd,
}

impl Cancel {
    /// A new, untriggered token (one eventfd).
    pub fn new() -> io::Result<Cancel> {
        // SAFETY: eventfd returns a new descriptor or -1.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor that we own.
        Ok(Cancel {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Triggers the token; async-signal-safe (one `write`).
    pub fn trigger(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a valid u64 to our eventfd.
        unsafe {
            libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8);
        }
    }

    /// Whether the token was triggered.
    pub fn is_triggered(&self) -> bool {
        process::readable_now(self.fd.as_raw_fd())
    }
}

impl std::os::fd::AsFd for Cancel {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// What to wait for.
#[derive(Clone, Copy, Debug, Default)]
pub struct WaitOptions<'a> {
    /// The emitter's PID, in the waiter's PID namespace. It is watched from
    /// the start (its exit ends the wait with `process_gone`); before its
    /// first good read, files of another process are ignored; after it,
    /// files naming another PID end the wait with `pid_mismatch`.
    pub expected_pid: Option<u32>,
    /// Give up (verdict `stale`) when no new `seq` arrives for this long.
    pub idle_timeout: Option<Duration>,
    /// Give up ([`ErrorKind::Timeout`]) after this long, whatever happens.
    pub timeout: Option<Duration>,
    /// Ends the wait with [`ErrorKind::Cancelled`] when triggered.
    pub cancel: Option<&'a Cancel>,
    /// Poll instead of using inotify (tests, exotic filesystems).
    pub force_polling: bool,
}

/// How a wait ended, with the last report seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitOutcome {
    /// `Ok` when a decision was reached: look at `report.verdict` and
    /// `report.state` (alive + ready is success). `Err` on the hard timeout
    /// or cancellation.
    pub result: Result<(), Error>,
    /// What was last seen.
    pub report: Report,
}

impl WaitOutcome {
    /// Whether the emitter became ready.
    pub fn is_ready(&self) -> bool {
        self.result.is_ok()
            && self.report.verdict == Verdict::Alive
            && self.report.state == Some(State::Ready)
    }
}

/// Wakes a reader when the file at a path may have changed: inotify on its
/// folder, or nothing (the caller polls) where inotify is unavailable.
#[derive(Debug)]
pub struct Watch {
    inotify: Option<OwnedFd>,
    /// The file name within the folder: events about other names (the
    /// emitter's temporaries, other heartbeats) do not wake the reader.
    name: Vec<u8>,
    /// The name of the file's lifetime lock: its last close is the
    /// emitter's death.
    lock_name: Vec<u8>,
    /// Set when the watch no longer sees the folder (removed, moved,
    /// unmounted, or not there yet): [`Watch::refresh`] arms a new one.
    stale: std::cell::Cell<bool>,
}

impl Watch {
    /// Watches the folder of `path` (polling when `force_polling` or when
    /// inotify cannot be had: another OS, a full table). While the folder
    /// does not exist, the nearest folder above it that does is watched
    /// instead, so that its creation wakes the reader.
    pub fn new(path: &Path, force_polling: bool) -> Watch {
        let name = path
            .file_name()
            .map(|n| n.as_bytes().to_vec())
            .unwrap_or_default();
        let lock_name = crate::lock::companion(path)
            .and_then(|p| p.file_name().map(|n| n.as_bytes().to_vec()))
            .unwrap_or_default();
        let mut w = Watch {
            inotify: None,
            name,
            lock_name,
            stale: std::cell::Cell::new(false),
        };
        if force_polling {
            return w;
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        match inotify_dir(dir) {
            Ok(fd) => w.inotify = Some(fd),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                w.stale.set(true);
                w.inotify = dir
                    .ancestors()
                    .skip(1)
                    .map(|a| {
                        if a.as_os_str().is_empty() {
                            Path::new(".")
                        } else {
                            a
                        }
                    })
                    .find_map(|a| inotify_dir(a).ok());
            }
            Err(_) => {}
        }
        w
    }

    /// Arms a new watch when this one no longer sees the folder (it was
    /// removed and perhaps created again, as systemd's `RuntimeDirectory=`
    /// does on a restart) or when inotify could not be had before. Call it
    /// before reading the file: a replace after it wakes the reader, one
    /// before it is seen by the read.
    pub fn refresh(&mut self, path: &Path) {
        if self.inotify.is_none() || self.stale.get() {
            *self = Watch::new(path, false);
        }
    }

    /// Whether events arrive (false: the caller must poll).
    #[cfg_attr(not(feature = "internals"), allow(dead_code))] // for tests
    pub fn is_event_driven(&self) -> bool {
        self.inotify.is_some()
    }

    /// Forgets the events seen so far.
    ///
    /// (Closing an inotify descriptor waits for the kernel's SRCU grace
    /// period, typically 10 to 25 ms: [`Drop`] hands it to a closer thread
    /// so that a wait returns the moment it has decided.)
    pub fn drain(&self) {
        let _ = self.take_events();
    }

    /// Reads every pending event; true when one may concern the file: its
    /// name, the folder itself going away, or a queue overflow.
    fn take_events(&self) -> bool {
        let Some(fd) = &self.inotify else {
            return false;
        };
        let mut relevant = false;
        // Aligned for struct inotify_event.
        let mut buf = [0u64; 512];
        loop {
            // SAFETY: reads into a valid buffer from a non-blocking fd.
            let n = unsafe {
                libc::read(
                    fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    std::mem::size_of_val(&buf),
                )
            };
            if n <= 0 {
                return relevant;
            }
            // SAFETY: the kernel wrote n bytes of whole events into buf.
            let bytes =
                unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n as usize) };
            relevant |= self.events_concern_us(bytes);
        }
    }

    fn events_concern_us(&self, mut bytes: &[u8]) -> bool {
        const HEADER: usize = std::mem::size_of::<libc::inotify_event>();
        let mut relevant = false;
        while bytes.len() >= HEADER {
            let word =
                |i: usize| u32::from_ne_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
            let (mask, len) = (word(4), word(12) as usize);
            let end = (HEADER + len).min(bytes.len());
            let name = &bytes[HEADER..end];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            let self_or_overflow = libc::IN_Q_OVERFLOW
                | libc::IN_DELETE_SELF
                | libc::IN_MOVE_SELF
                | libc::IN_IGNORED
                | libc::IN_UNMOUNT;
            if mask & self_or_overflow & !libc::IN_Q_OVERFLOW != 0 {
                self.stale.set(true);
            }
            // The file replaced or changed (not merely read); the lock file
            // closed (the emitter's death: waiters keep their own probe
            // open, so reads by checkers are the only other cause).
            let changed = libc::IN_MOVED_TO
                | libc::IN_CLOSE_WRITE
                | libc::IN_CREATE
                | libc::IN_DELETE
                | libc::IN_ATTRIB;
            let closed = libc::IN_CLOSE_NOWRITE | libc::IN_CLOSE_WRITE | libc::IN_DELETE;
            // While a folder above stands in for a missing one, any event
            // may be its creation.
            relevant |= mask & self_or_overflow != 0
                || self.stale.get()
                || (name == self.name.as_slice() && mask & changed != 0)
                || (name == self.lock_name.as_slice() && mask & closed != 0);
            bytes = &bytes[end..];
        }
        relevant
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(fd) = self.inotify.take() {
            close_in_background(fd);
        }
    }
}

/// The closer thread and the process it belongs to (a child after fork()
/// has no such thread and closes inline).
static CLOSER: once_cell::sync::Lazy<
    Option<(u32, std::sync::Mutex<std::sync::mpsc::Sender<OwnedFd>>)>,
> = once_cell::sync::Lazy::new(|| {
    let (tx, rx) = std::sync::mpsc::channel::<OwnedFd>();
    std::thread::Builder::new()
        .name("lifesign-close".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            for fd in rx {
                drop(fd);
            }
        })
        .ok()
        .map(|_| (std::process::id(), std::sync::Mutex::new(tx)))
});

fn close_in_background(fd: OwnedFd) {
    match CLOSER.as_ref() {
        Some((pid, tx)) if *pid == std::process::id() => {
            if let Ok(tx) = tx.lock() {
                // If the thread is gone, send hands the fd back: close it here.
                if let Err(back) = tx.send(fd) {
                    drop(back.0);
                }
            }
        }
        _ => drop(fd),
    }
}

fn inotify_dir(dir: &Path) -> io::Result<OwnedFd> {
    // SAFETY: returns a new descriptor or -1.
    let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor that we own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let c = CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
    let mask = libc::IN_MOVED_TO
        | libc::IN_CLOSE_WRITE
        | libc::IN_CLOSE_NOWRITE
        | libc::IN_CREATE
        | libc::IN_DELETE
        | libc::IN_ATTRIB
        | libc::IN_DELETE_SELF
        | libc::IN_MOVE_SELF;
    // SAFETY: valid fd and NUL-terminated path.
    if unsafe { libc::inotify_add_watch(fd.as_raw_fd(), c.as_ptr(), mask) } < 0 {
        let e = io::Error::last_os_error();
        // A waiter polling for a folder that does not exist yet tries this
        // every 100 ms: do not block on the close each time.
        close_in_background(fd);
        return Err(e);
    }
    Ok(fd)
}

/// The process a wait expects, watched from the start: its death decides
/// the wait even before its first write, and its identity tells its
/// heartbeat from one left at the path by an earlier process with the same
/// PID (a container restarted in a new PID namespace).
struct Expected {
    pid: u32,
    /// Its start time, when `/proc` tells.
    start: Option<u64>,
    /// A pidfd, polled with the folder's events; `None` once it has fired
    /// or where pidfds are missing.
    pidfd: Option<OwnedFd>,
    exited: bool,
}

impl Expected {
    fn new(pid: u32) -> Expected {
        let start = process::stat_of(pid).map(|(s, _)| s);
        let pidfd = process::watch(pid, start);
        let mut e = Expected {
            pid,
            start,
            pidfd,
            exited: false,
        };
        e.exited = e.gone_now();
        e
    }

    fn gone_now(&self) -> bool {
        if let Some(fd) = &self.pidfd {
            return process::pidfd_exited(fd);
        }
        match process::stat_of(self.pid) {
            Some((s, zombie)) => zombie || self.start.is_some_and(|w| w != s),
            None => !process::pid_exists(self.pid),
        }
    }

    /// Why a record that names the expected PID was not written by the
    /// expected process: another boot, PID namespace or start time, each
    /// compared only where both sides are known.
    fn disowns(&self, r: &crate::protocol::Record, id: &process::Identity) -> Option<String> {
        if r.pid != self.pid {
            return None;
        }
        let differ =
            |a: Option<&str>, b: Option<&str>| matches!((a, b), (Some(x), Some(y)) if x != y);
        if differ(r.boot_id.as_deref(), id.boot_id.as_deref()) {
            return Some(format!("pid {} of an earlier boot", r.pid));
        }
        if matches!((r.pid_ns, id.pid_ns), (Some(x), Some(y)) if x != y) {
            return Some(format!("pid {} of another PID namespace", r.pid));
        }
        if matches!((r.pid_start, self.start), (Some(x), Some(y)) if x != y) {
            return Some(format!(
                "pid {} of an earlier process (started at tick {x}, the expected one at {y})",
                r.pid,
                x = r.pid_start.unwrap_or_default(),
                y = self.start.unwrap_or_default()
            ));
        }
        None
    }
}

/// Waits until the emitter at `path` reports `ready`, or a decision that it
/// never will. `observe` sees every report read (for progress display).
pub fn wait_ready_with(
    path: impl AsRef<Path>,
    opts: &WaitOptions<'_>,
    mut observe: impl FnMut(&Report),
) -> WaitOutcome {
    let path = path.as_ref();
    let start = Instant::now();
    let hard = opts.timeout.map(|t| start + t);
    let mut idle_deadline = opts.idle_timeout.map(|t| start + t);
    let mut watch = Watch::new(path, opts.force_polling);
    let check_opts = CheckOptions {
        expected_pid: opts.expected_pid,
        ignore_clock: true,
        ..CheckOptions::default()
    };
    let clock_opts = CheckOptions {
        ignore_clock: false,
        ..check_opts
    };
    let mut expected = opts.expected_pid.map(Expected::new);
    let mut last_progress_key: Option<(u64, u64)> = None;
    // The heartbeat of the first good read: a `ready` in it counts only
    // when fresh by the checker's rules; any later one counts.
    let mut first_key: Option<(u64, u64)> = None;
    let mut seen_valid = false;
    let mut bad_in_a_row = 0u32;
    let mut pidfd: Option<(u32, OwnedFd)> = None;
    let mut lock_probe: Option<crate::lock::Probe> = None;

    loop {
        if !opts.force_polling {
            watch.refresh(path);
        }
        watch.drain();
        let (read, lock) = crate::lock::read_confirmed(path, |r| {
            crate::lock::probe_read_kept(path, r, process::identity(), &mut lock_probe)
        });
        let record_identity = match &read {
            Read::Record(r) => Some((r.pid, r.pid_start)),
            _ => None,
        };
        let facts = Facts::current();
        let mut rep = check::verdict_with_lock(&read, facts, &check_opts, lock, process::probe);
        let key = (rep.seq, rep.updated_at_ms);
        if let (Some(e), Read::Record(r), false) = (&expected, &read, seen_valid) {
            if let Some(why) = e.disowns(r, facts.identity) {
                rep.verdict = Verdict::PidMismatch;
                rep.detail = format!("left over: {why}");
            }
        }
        if let Some(e) = expected.as_mut() {
            e.exited = e.exited || e.gone_now();
            // Its own last word (stopped, failed) stands.
            let decisive = matches!(
                rep.verdict,
                Verdict::Stopped | Verdict::Failed | Verdict::ProcessGone
            );
            if e.exited && !decisive {
                rep.verdict = Verdict::ProcessGone;
                rep.detail = if seen_valid {
                    format!("pid {} has exited", e.pid)
                } else {
                    format!("pid {} exited before its first heartbeat", e.pid)
                };
            }
        }
        if rep.verdict == Verdict::Alive
            && rep.state == Some(State::Ready)
            && first_key.is_none_or(|k| k == key)
        {
            let clock =
                check::verdict_with_lock(&read, facts, &clock_opts, lock, |_, _| Liveness::Running);
            if clock.verdict != Verdict::Alive {
                rep.verdict = clock.verdict;
                rep.detail = format!(
                    "ready, but {} ({}): waiting for a new heartbeat",
                    clock.verdict, clock.detail
                );
            }
        }
        observe(&rep);
        let now = Instant::now();

        match rep.verdict {
            // Before the emitter's first write, a missing file is the normal
            // case and a file of another process is left over from an earlier
            // run or another instance: neither counts.
            Verdict::Missing | Verdict::PidMismatch if !seen_valid => {}
            // One bad read after a good one may race a replace; two in a row
            // do not. An invalid file before any good read gets the same
            // single retry.
            Verdict::Missing | Verdict::Invalid => {
                bad_in_a_row += 1;
                if bad_in_a_row > 1 {
                    return decided(rep);
                }
            }
            // Stale or future here: a `ready` not yet proven fresh.
            Verdict::Alive | Verdict::Stale | Verdict::Future => {
                bad_in_a_row = 0;
                seen_valid = true;
                first_key.get_or_insert(key);
                if last_progress_key != Some(key) {
                    last_progress_key = Some(key);
                    idle_deadline = opts.idle_timeout.map(|t| now + t);
                }
                if rep.verdict == Verdict::Alive && rep.state == Some(State::Ready) {
                    return decided(rep);
                }
                if let (Some((pid, pstart)), None) = (record_identity, &expected) {
                    if pidfd.as_ref().map(|(p, _)| *p) != Some(pid)
                        && matches!(&read, Read::Record(r) if check::written_here(r, process::identity()))
                    {
                        pidfd = process::watch(pid, pstart).map(|fd| (pid, fd));
                    }
                }
            }
            // pid_mismatch, stopped, failed, process_gone: the emitter will
            // never become ready.
            _ => return decided(rep),
        }
        let shown = rep;

        if let Some(d) = idle_deadline {
            if now >= d {
                let mut r = shown;
                r.verdict = Verdict::Stale;
                r.detail = format!(
                    "no new heartbeat for {} ms (idle timeout)",
                    opts.idle_timeout.unwrap_or_default().as_millis()
                );
                return decided(r);
            }
        }
        if let Some(h) = hard {
            if now >= h {
                return timed_out(shown, opts.timeout.unwrap_or_default());
            }
        }
        if opts.cancel.is_some_and(Cancel::is_triggered) {
            return cancelled(shown);
        }

        let mut until = now
            + if watch.inotify.is_some() {
                SAFETY_INTERVAL
            } else {
                POLL_INTERVAL
            };
        if bad_in_a_row > 0 {
            // A bad read may be a race with a replace: look again soon.
            until = until.min(now + Duration::from_millis(5));
        }
        for d in [idle_deadline, hard].into_iter().flatten() {
            until = until.min(d);
        }
        let process_fd = match &expected {
            Some(e) => e.pidfd.as_ref(),
            None => pidfd.as_ref().map(|(_, f)| f),
        };
        let woke = sleep_until(until, &watch, opts.cancel, process_fd);
        if woke.cancelled {
            return cancelled(shown);
        }
        if woke.process_exited {
            // The next read decides (the probe, or the expected process's
            // exit); the fired pidfd leaves the poll set.
            match expected.as_mut() {
                Some(e) => {
                    e.pidfd = None;
                    e.exited = true;
                }
                None => pidfd = None,
            }
        }
    }
}

fn decided(report: Report) -> WaitOutcome {
    WaitOutcome {
        result: Ok(()),
        report,
    }
}

fn timed_out(report: Report, t: Duration) -> WaitOutcome {
    WaitOutcome {
        result: Err(Error::new(
            ErrorKind::Timeout,
            format!(
                "not ready after {} ms (last seen: {}{})",
                t.as_millis(),
                report.verdict,
                report.state.map(|s| format!(", {s}")).unwrap_or_default()
            ),
        )),
        report,
    }
}

fn cancelled(report: Report) -> WaitOutcome {
    WaitOutcome {
        result: Err(Error::new(ErrorKind::Cancelled, "the wait was cancelled")),
        report,
    }
}

/// Why [`sleep_until`] returned.
#[derive(Debug, Default)]
pub struct Woke {
    /// The cancel token was triggered.
    pub cancelled: bool,
    /// The watched process exited.
    pub process_exited: bool,
}

/// Sleeps until `until`, a folder event, a cancel, or the process behind
/// `pidfd` exiting, whichever comes first.
pub fn sleep_until(
    until: Instant,
    watch: &Watch,
    cancel: Option<&Cancel>,
    pidfd: Option<&OwnedFd>,
) -> Woke {
    let mut fds: Vec<libc::pollfd> = Vec::with_capacity(3);
    let mut push = |fd: RawFd| {
        fds.push(libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
    };
    let ino = watch.inotify.as_ref().map(|f| f.as_raw_fd());
    let can = cancel.map(|c| c.fd.as_raw_fd());
    let pfd = pidfd.map(|f| f.as_raw_fd());
    for fd in [ino, can, pfd].into_iter().flatten() {
        push(fd);
    }
    loop {
        let now = Instant::now();
        let ms = until.saturating_duration_since(now).as_millis();
        // Round up so that a deadline is not missed by a sub-millisecond sleep.
        let ms = if until > now { ms.max(1) } else { 0 }.min(i32::MAX as u128) as i32;
        for p in fds.iter_mut() {
            p.revents = 0;
        }
        // SAFETY: fds is a valid array of pollfd of the given length.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        let mut woke = Woke::default();
        let mut file_event = false;
        if rc > 0 {
            for p in &fds {
                if p.revents == 0 {
                    continue;
                }
                if Some(p.fd) == can {
                    woke.cancelled = true;
                } else if Some(p.fd) == pfd {
                    woke.process_exited = true;
                } else if Some(p.fd) == ino {
                    file_event = watch.take_events();
                }
            }
        }
        // Only events about other names (the emitter's own temporaries):
        // nothing to re-read, sleep on.
        let only_noise = rc > 0 && !file_event && !woke.cancelled && !woke.process_exited;
        if !only_noise || Instant::now() >= until {
            return woke;
        }
    }
}

/// Waits with no observer; see [`wait_ready_with`].
pub fn wait_ready(path: impl AsRef<Path>, opts: &WaitOptions<'_>) -> WaitOutcome {
    wait_ready_with(path, opts, |_| {})
}

/// How often [`watch`] re-checks without a file event, so that a verdict
/// that changes with time alone (stale, process_gone) is seen.
const WATCH_RECHECK: Duration = Duration::from_millis(250);

/// Follows the heartbeat at `path`: calls `on_change` with its report now
/// and each time its verdict, state or message changes, until `cancel` is
/// triggered or `on_change` returns `false`.
///
/// Event-driven where inotify is available (a change is seen as it is
/// written), and re-checked at least every 250 ms otherwise and for the
/// verdicts that change with time alone. Never returns on its own while the
/// file changes or not: give it a `cancel` or stop from `on_change`.
pub fn watch(
    path: impl AsRef<Path>,
    opts: &CheckOptions,
    cancel: Option<&Cancel>,
    mut on_change: impl FnMut(&Report) -> bool,
) {
    let path = path.as_ref();
    let mut watch = Watch::new(path, false);
    let mut last: Option<(Verdict, Option<State>, String)> = None;
    loop {
        // Re-arms when inotify could not be had before, or when the folder
        // was removed or replaced since (the same rule as a wait's).
        watch.refresh(path);
        watch.drain();
        let r = crate::check::check(path, opts);
        let key = (r.verdict, r.state, r.message.clone());
        if last.as_ref() != Some(&key) {
            if !on_change(&r) {
                return;
            }
            last = Some(key);
        }
        if sleep_until(Instant::now() + WATCH_RECHECK, &watch, cancel, None).cancelled
            || cancel.is_some_and(Cancel::is_triggered)
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(mask: u32, name: &[u8]) -> Vec<u8> {
        let padded = if name.is_empty() {
            0
        } else {
            (name.len() / 16 + 1) * 16
        };
        let mut v = Vec::new();
        v.extend_from_slice(&1i32.to_ne_bytes());
        v.extend_from_slice(&mask.to_ne_bytes());
        v.extend_from_slice(&0u32.to_ne_bytes());
        v.extend_from_slice(&(padded as u32).to_ne_bytes());
        let mut n = name.to_vec();
        n.resize(padded, 0);
        v.extend_from_slice(&n);
        v
    }

    #[test]
    fn only_events_about_the_file_or_the_folder_wake_a_reader() {
        let w = Watch::new(Path::new("/run/x/hb.json"), true);
        let tmp = event(libc::IN_CLOSE_WRITE, b".hb.json.lifesign-12-3.tmp");
        let other = event(libc::IN_MOVED_TO, b"hb.json.bak");
        assert!(!w.events_concern_us(&[tmp.clone(), other.clone()].concat()));
        let ours = event(libc::IN_MOVED_TO, b"hb.json");
        assert!(w.events_concern_us(&[tmp.clone(), ours].concat()));
        // A checker reading the file is no change; the lock file's close is.
        assert!(!w.events_concern_us(&event(libc::IN_CLOSE_NOWRITE, b"hb.json")));
        assert!(w.events_concern_us(&event(libc::IN_CLOSE_NOWRITE, b".hb.json.lifesign.lock")));
        assert!(!w.events_concern_us(&event(libc::IN_CREATE, b".hb.json.lifesign.lock")));
        assert!(w.events_concern_us(&event(libc::IN_Q_OVERFLOW, b"")));
        assert!(w.events_concern_us(&[other, event(libc::IN_DELETE_SELF, b"")].concat()));
    }
}

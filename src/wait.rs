//! Waiting for readiness, event-driven: the process's one folder watcher
//! ([`crate::watcher`]) wakes the waiter when its own file is replaced, a
//! pidfd (or, without one, the emitter's lock file closing) when the
//! emitter dies, and a cancel token when the caller gives up. Where inotify
//! or a descriptor is unavailable it polls, and says so in the report.
//!
//! Time is measured on the monotonic clock only: the idle timeout runs from
//! the last new `seq` the waiter saw, so wall-clock jumps on either side
//! change nothing.

use crate::check::{self, CheckOptions, Facts, Read, Report, Unreadable, Verdict};
use crate::error::{Error, ErrorKind};
use crate::lock::LockProbe;
use crate::process::{self, Liveness};
use crate::protocol::State;
use crate::watcher;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the waiter re-reads the file when no event arrives: a safety
/// net with inotify, the cadence without it.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// With inotify working, a slow re-read catches what events cannot (a
/// network filesystem, a file replaced through another mount).
pub const SAFETY_INTERVAL: Duration = Duration::from_millis(1000);

/// A cancel token: trigger it from any thread (or a signal handler) to end
/// the waits that use it with [`WaitErrorKind::Cancelled`]. Once triggered it
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
        crate::sys::readable_now(self.fd.as_raw_fd())
    }
}

impl std::os::fd::AsFd for Cancel {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// What to wait for. Built with [`Default`] and the setters, so that later
/// versions can add options:
///
/// ```
/// use std::time::Duration;
/// let opts = lifesign::WaitOptions::default()
///     .timeout(Duration::from_secs(30))
///     .idle_timeout(Duration::from_secs(5));
/// assert_eq!(opts.timeout, Some(Duration::from_secs(30)));
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct WaitOptions<'a> {
    /// The emitter's PID, in the waiter's PID namespace. It is watched from
    /// the start (its exit ends the wait with `process_gone`); before its
    /// first good read, files of another process are ignored; after it,
    /// files naming another PID end the wait with `pid_mismatch`.
    pub expected_pid: Option<u32>,
    /// Give up ([`WaitErrorKind::NotReady`], verdict `stale`) when no new
    /// `seq` arrives for this long.
    pub idle_timeout: Option<Duration>,
    /// Give up ([`WaitErrorKind::Timeout`]) after this long, whatever happens.
    pub timeout: Option<Duration>,
    /// Ends the wait with [`WaitErrorKind::Cancelled`] when triggered.
    pub cancel: Option<&'a Cancel>,
    /// Poll instead of using inotify (tests, exotic filesystems).
    pub force_polling: bool,
}

impl<'a> WaitOptions<'a> {
    /// The emitter's PID (see the field).
    pub fn expected_pid(mut self, pid: u32) -> WaitOptions<'a> {
        self.expected_pid = Some(pid);
        self
    }

    /// Gives up when no new `seq` arrives for this long.
    pub fn idle_timeout(mut self, idle: Duration) -> WaitOptions<'a> {
        self.idle_timeout = Some(idle);
        self
    }

    /// Gives up after this long, whatever happens.
    pub fn timeout(mut self, timeout: Duration) -> WaitOptions<'a> {
        self.timeout = Some(timeout);
        self
    }

    /// Ends the wait when `cancel` is triggered.
    pub fn cancel(mut self, cancel: &'a Cancel) -> WaitOptions<'a> {
        self.cancel = Some(cancel);
        self
    }

    /// Polls instead of using inotify.
    pub fn force_polling(mut self, force: bool) -> WaitOptions<'a> {
        self.force_polling = force;
        self
    }
}

/// Why a wait did not end with the emitter ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WaitErrorKind {
    /// The wait reached a decision: the emitter will not become ready (it
    /// failed, stopped, exited, stalled past the idle timeout, or another
    /// process wrote the file). The report's verdict and state say which.
    NotReady,
    /// The hard timeout passed first (C: `LIFESIGN_ERR_TIMEOUT`).
    Timeout,
    /// The cancel token was triggered (C: `LIFESIGN_ERR_CANCELLED`).
    Cancelled,
}

/// A wait that did not end with the emitter ready, with the last report
/// it saw ([`WaitError::report`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitError {
    kind: WaitErrorKind,
    message: String,
    // Boxed: a report is large, and an error travels by value.
    report: Box<Report>,
}

impl WaitError {
    /// Why the wait ended.
    pub fn kind(&self) -> WaitErrorKind {
        self.kind
    }

    /// What the wait saw last.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// What the wait saw last, by value.
    pub fn into_report(self) -> Report {
        *self.report
    }
}

impl std::fmt::Display for WaitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for WaitError {}

/// How a wait ended, with the last report seen (the internal form of
/// `Result<Report, WaitError>`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct WaitOutcome {
    /// `Ok` when a decision was reached; `Err` on the hard timeout or
    /// cancellation.
    result: Result<(), Error>,
    /// What was last seen.
    report: Report,
}

impl WaitOutcome {
    fn into_result(self) -> Result<Report, WaitError> {
        let r = self.report;
        let (kind, message) = match self.result {
            Ok(()) if r.verdict == Verdict::Alive && r.state == Some(State::Ready) => return Ok(r),
            Ok(()) => (
                WaitErrorKind::NotReady,
                format!(
                    "the emitter will not become ready: its heartbeat reads {}{}{}",
                    r.verdict,
                    r.state.map(|s| format!(", state {s}")).unwrap_or_default(),
                    if r.detail.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", r.detail)
                    }
                ),
            ),
            Err(e) if e.kind == ErrorKind::Cancelled => (WaitErrorKind::Cancelled, e.message),
            Err(e) => (WaitErrorKind::Timeout, e.message),
        };
        Err(WaitError {
            kind,
            message,
            report: Box::new(r),
        })
    }
}

/// Wakes a reader when the file at a path may have changed, through the
/// process's one folder watcher ([`crate::watcher`]): its own file's
/// writes, the folder going away and coming back, and (when it asks) its
/// emitter's lock file closing. Where the watcher cannot be had, or no
/// descriptor is left for the wake-up, nothing wakes the reader: the caller
/// polls, and [`Watch::degraded`] says why.
///
/// A reader holds one descriptor of its own here, an eventfd that the
/// watcher's thread writes to.
#[derive(Debug)]
pub struct Watch {
    /// The file's folder and name.
    dir: PathBuf,
    name: Vec<u8>,
    /// The file's lifetime lock, watched only when a reader has no other
    /// way to see its emitter's death (no pidfd).
    lock_path: Option<PathBuf>,
    wake: Option<Arc<Waker>>,
    sub: Option<watcher::Subscription>,
    lock_sub: Option<((u64, u64), watcher::Subscription)>,
    forced: bool,
    degraded: Option<String>,
}

/// The eventfd the watcher's thread writes when an event concerns a reader.
#[derive(Debug)]
struct Waker(OwnedFd);

impl Waker {
    fn new() -> io::Result<Waker> {
        // SAFETY: eventfd returns a new descriptor or -1.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor that we own.
        Ok(Waker(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    fn ring(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a valid u64 to our eventfd.
        unsafe { libc::write(self.0.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Resets the counter; true when it had been rung.
    fn drain(&self) -> bool {
        let mut n: u64 = 0;
        // SAFETY: reads 8 bytes into a valid u64 from our non-blocking eventfd.
        unsafe { libc::read(self.0.as_raw_fd(), (&mut n as *mut u64).cast(), 8) == 8 }
    }
}

impl Watch {
    /// Follows the file at `path` (polling when `force_polling`, or when
    /// the watcher or a wake-up descriptor cannot be had). A folder that
    /// does not exist yet is followed until it does.
    pub fn new(path: &Path, force_polling: bool) -> Watch {
        let name = path
            .file_name()
            .map(|n| n.as_bytes().to_vec())
            .unwrap_or_default();
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut w = Watch {
            dir,
            name,
            lock_path: crate::lock::lock_path(path),
            wake: None,
            sub: None,
            lock_sub: None,
            forced: force_polling,
            degraded: None,
        };
        if force_polling {
            return w;
        }
        let wake = match Waker::new() {
            Ok(k) => Arc::new(k),
            Err(e) => {
                w.degraded = Some(format!(
                    "polling every {} ms: no descriptor for a wake-up ({e})",
                    POLL_INTERVAL.as_millis()
                ));
                return w;
            }
        };
        let k = wake.clone();
        match watcher::subscribe(
            &w.dir,
            watcher::Names::Only(vec![w.name.clone()]),
            Arc::new(move |_| k.ring()),
        ) {
            Ok(s) => {
                w.sub = Some(s);
                w.wake = Some(wake);
            }
            Err(e) => {
                w.degraded = Some(format!(
                    "polling every {} ms: inotify unavailable ({e})",
                    POLL_INTERVAL.as_millis()
                ))
            }
        }
        w
    }

    /// Tries again to have events when the last try failed (a descriptor
    /// or an inotify instance may be free now). A folder removed and
    /// created again needs nothing here: the watcher re-arms it and wakes
    /// the reader. Call it before reading the file.
    pub fn refresh(&mut self, path: &Path) {
        if !self.forced && self.sub.is_none() {
            *self = Watch::new(path, false);
        }
    }

    /// Whether events arrive (false: the caller must poll).
    pub fn is_event_driven(&self) -> bool {
        self.sub.is_some()
    }

    /// Why this watch polls, when it was asked for events and could not
    /// have them.
    pub fn degraded(&self) -> Option<&str> {
        self.degraded.as_deref()
    }

    /// Also wakes the reader when the lock file with inode `ino` is closed
    /// or removed: its last close is its emitter's death, for readers with
    /// no pidfd of that emitter. `None` stops following it.
    pub fn follow_lock(&mut self, id: Option<(u64, u64)>) {
        let (Some(id), Some(wake), Some(lp)) = (id, &self.wake, &self.lock_path) else {
            self.lock_sub = None;
            return;
        };
        if self.lock_sub.as_ref().is_some_and(|(i, _)| *i == id) {
            return;
        }
        let k = wake.clone();
        self.lock_sub = watcher::subscribe_file(lp, Arc::new(move |_| k.ring()))
            .ok()
            .map(|s| (id, s));
    }

    /// Gives up the wake-up descriptor and the subscriptions for good: the
    /// caller polls from now on (a reader out of descriptors).
    pub fn give_up(&mut self) {
        self.lock_sub = None;
        self.sub = None;
        self.wake = None;
        self.forced = true;
    }

    /// Forgets the events seen so far.
    pub fn drain(&self) {
        if let Some(k) = &self.wake {
            k.drain();
        }
    }
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
        if id.same_boot(r.boot_id.as_deref()) == Some(false) {
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
///
/// A read that fails for a reason of the reader's own (no descriptor left,
/// no memory, an I/O error, no permission) decides nothing: the wait reads
/// again until its deadline and, when it never cleared, ends with
/// [`WaitErrorKind::Timeout`] naming that failure. Under descriptor pressure
/// the wait gives up what it may (its wake-up, its pidfd, its kept lock
/// probe) and polls; the report's `detail` then says so.
///
/// `Ok` holds the report that read alive and ready; a [`WaitError`] says
/// why not ([`WaitError::kind`]) and holds the last report.
pub fn wait_ready_with(
    path: impl AsRef<Path>,
    opts: &WaitOptions<'_>,
    observe: impl FnMut(&Report),
) -> Result<Report, WaitError> {
    wait_outcome(path.as_ref(), opts, observe).into_result()
}

fn wait_outcome(
    path: &Path,
    opts: &WaitOptions<'_>,
    mut observe: impl FnMut(&Report),
) -> WaitOutcome {
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
    // The machine a check asks, kept for the whole wait: the kept pidfds
    // and the writer's lock probe serve every read.
    let mut live = check::Live::new(path, process::identity());
    let mut degraded = Degraded::default();
    // Out of descriptors once: the wait keeps none of its own from then on.
    let mut lean = false;
    // The last report that was not a reader-side failure.
    let mut last_seen: Option<Report> = None;

    loop {
        watch.refresh(path);
        if let Some(why) = watch.degraded() {
            degraded.note(why.to_string());
        }
        watch.drain();
        // Read and judged as a check is: a kept pidfd of the writer answers
        // before its lock, and a `process_gone` is confirmed by a second read.
        let observed = check::observe_and_judge_by(|| check::read(path), &check_opts, &mut live);
        let (read, mut rep) = match observed {
            Ok(found) => found,
            Err(u) => {
                let (why, descriptors) = (u.detail.as_str(), out_of_descriptors(&u));
                // Not a fact about the file: read again, soon, until the deadline.
                degraded.note(format!("a read failed on the reader's side ({why})"));
                if descriptors && !lean {
                    // Give back what the wait may do without, so that the
                    // process's other readers (and this one) can read: the
                    // wake-up (poll instead), the pidfds (read /proc instead)
                    // and the kept lock probe (open it per read instead).
                    lean = true;
                    watch.give_up();
                    live.forget_lock();
                    pidfd = None;
                    if let Some(e) = expected.as_mut() {
                        e.pidfd = None;
                    }
                    degraded.note(format!(
                        "out of descriptors: polling every {} ms, the process probed through /proc",
                        POLL_INTERVAL.as_millis()
                    ));
                }
                let now = Instant::now();
                let shown = last_seen.clone().unwrap_or_else(|| {
                    Report::empty(Verdict::Missing, format!("nothing read yet: {why}"))
                });
                if let Some(h) = hard {
                    if now >= h {
                        let t = opts.timeout.unwrap_or_default();
                        let mut out = timed_out(shown, t);
                        if let Err(e) = &mut out.result {
                            e.message = format!(
                                "not ready after {} ms: the last read failed on the reader's \
                             side: {why}",
                                t.as_millis()
                            );
                        }
                        return degraded.mark(out);
                    }
                }
                if opts.cancel.is_some_and(Cancel::is_triggered) {
                    return degraded.mark(cancelled(shown));
                }
                let mut until = now + POLL_INTERVAL;
                if let Some(h) = hard {
                    until = until.min(h);
                }
                if sleep_until(until, &watch, opts.cancel, None).cancelled {
                    return degraded.mark(cancelled(shown));
                }
                continue;
            }
        };
        let record_identity = match &read {
            Read::Record(r) => Some((r.pid, r.pid_start)),
            _ => None,
        };
        if lean {
            live.forget_lock();
        }
        let key = (rep.seq, rep.updated_at_ms);
        if let (Some(e), Read::Record(r), false) = (&expected, &read, seen_valid) {
            if let Some(why) = e.disowns(r, process::identity()) {
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
            // Alive already: the process runs and its lock, if asked, was held.
            let clock = check::verdict_with_lock(
                &read,
                Facts::current(),
                &clock_opts,
                LockProbe::Unknown,
                |_, _| Liveness::Running,
            );
            if clock.verdict != Verdict::Alive {
                rep.verdict = clock.verdict;
                rep.detail = format!(
                    "ready, but {} ({}): waiting for a new heartbeat",
                    clock.verdict, clock.detail
                );
            }
        }
        observe(&rep);
        last_seen = Some(rep.clone());
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
                    return degraded.mark(decided(rep));
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
                    return degraded.mark(decided(rep));
                }
                if let (Some((pid, pstart)), None, false) = (record_identity, &expected, lean) {
                    if pidfd.as_ref().map(|(p, _)| *p) != Some(pid)
                        && matches!(&read, Read::Record(r) if check::written_here(r, process::identity()))
                    {
                        pidfd = process::watch(pid, pstart).map(|fd| (pid, fd));
                        if pidfd.is_none() && process::pid_exists(pid) {
                            degraded.note(format!(
                                "no pidfd for pid {pid}: its exit is seen by reading again"
                            ));
                        }
                    }
                }
            }
            // pid_mismatch, stopped, failed, process_gone: the emitter will
            // never become ready.
            _ => return degraded.mark(decided(rep)),
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
                return degraded.mark(decided(r));
            }
        }
        if let Some(h) = hard {
            if now >= h {
                return degraded.mark(timed_out(shown, opts.timeout.unwrap_or_default()));
            }
        }
        if opts.cancel.is_some_and(Cancel::is_triggered) {
            return degraded.mark(cancelled(shown));
        }

        let process_fd = match &expected {
            Some(e) => e.pidfd.as_ref(),
            None => pidfd.as_ref().map(|(_, f)| f),
        };
        // Without a pidfd, the lock file's last close is the death to see.
        let lock_id = match &read {
            Read::Record(r) if process_fd.is_none() => {
                crate::lock::consulted(r, process::identity())
            }
            _ => None,
        };
        watch.follow_lock(lock_id);
        let mut until = now
            + if watch.is_event_driven() {
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
        let woke = sleep_until(until, &watch, opts.cancel, process_fd);
        if woke.cancelled {
            return degraded.mark(cancelled(shown));
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

/// Whether a reader-side failure is a lack of descriptors (`EMFILE`,
/// `ENFILE`): the wait then gives back the descriptors it may do without.
fn out_of_descriptors(u: &Unreadable) -> bool {
    matches!(u.errno, Some(libc::EMFILE | libc::ENFILE))
}

/// Why a wait ran degraded (polling, no pidfd, failed reads), said once
/// each in the report's `detail`.
#[derive(Default)]
struct Degraded(Vec<String>);

impl Degraded {
    fn note(&mut self, why: String) {
        if !self.0.contains(&why) && self.0.len() < 4 {
            self.0.push(why);
        }
    }

    fn mark(self, mut out: WaitOutcome) -> WaitOutcome {
        if !self.0.is_empty() {
            let d = &mut out.report.detail;
            let note = format!("degraded: {}", self.0.join("; "));
            *d = if d.is_empty() {
                note
            } else {
                format!("{d} ({note})")
            };
        }
        out
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

/// Sleeps until `until`, an event about the watched file, a cancel, or the
/// process behind `pidfd` exiting, whichever comes first.
pub fn sleep_until(
    until: Instant,
    watch: &Watch,
    cancel: Option<&Cancel>,
    pidfd: Option<&OwnedFd>,
) -> Woke {
    let mut fds: Vec<libc::pollfd> = Vec::with_capacity(3);
    let wake = watch.wake.as_ref().map(|k| k.0.as_raw_fd());
    let can = cancel.map(|c| c.fd.as_raw_fd());
    let pfd = pidfd.map(|f| f.as_raw_fd());
    for fd in [wake, can, pfd].into_iter().flatten() {
        fds.push(libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        });
    }
    let now = Instant::now();
    let ms = until.saturating_duration_since(now).as_millis();
    // Round up so that a deadline is not missed by a sub-millisecond sleep.
    let ms = if until > now { ms.max(1) } else { 0 }.min(i32::MAX as u128) as i32;
    // SAFETY: fds is a valid array of pollfd of the given length.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
    let mut woke = Woke::default();
    if rc > 0 {
        for p in &fds {
            if p.revents == 0 {
                continue;
            }
            if Some(p.fd) == can {
                woke.cancelled = true;
            } else if Some(p.fd) == pfd {
                woke.process_exited = true;
            }
        }
    }
    woke
}

/// Waits until the emitter at `path` reports `ready`, or a decision that it
/// never will; see [`wait_ready_with`].
///
/// ```no_run
/// use std::time::Duration;
/// let opts = lifesign::WaitOptions::default().timeout(Duration::from_secs(30));
/// match lifesign::wait_ready("/run/app.json", &opts) {
///     Ok(report) => println!("ready: {}", report.message),
///     Err(e) => eprintln!("{e} (last seen: {})", e.report().verdict),
/// }
/// ```
pub fn wait_ready(path: impl AsRef<Path>, opts: &WaitOptions<'_>) -> Result<Report, WaitError> {
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

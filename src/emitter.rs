//! The emitter: writes the first heartbeat before `start` returns, then keeps
//! the file fresh until `stop`.
//!
//! # Threads
//!
//! All the emitters of a process share one beat thread (`lifesign-beat`)
//! with a heap of deadlines; each keeps its own interval. Deadlines are
//! jitter-free: the next one is the previous deadline plus the interval
//! (not the end of the write plus the interval), so beats do not drift.
//! After a stall longer than an interval (the process was stopped, the
//! machine overloaded) the missed beats are not replayed: one beat is
//! written at once and the emitter's grid resumes at its next point in the
//! future. So that beats due close together are served by one wake-up, a
//! beat may be written up to 1/64 of its interval (at most 16 ms) before
//! its deadline; the grid does not move.
//!
//! The beat thread never writes. It hands due emitters to writer threads
//! (`lifesign-write`): one while writes are fast; when every writer has
//! been inside one write for longer than half the interval of the next
//! emitter waiting (at most 50 ms), a spare writer takes over the queue,
//! up to 8 writers. So a filesystem that blocks
//! one emitter's writes for seconds holds the others back by at most that
//! limit, which is under one interval, as long as fewer than
//! 8 writes are blocked at once. A blocked emitter is queued
//! once, never again while its write hangs. The threads end when the
//! process has no emitter left.
//!
//! `stop` never waits for the beat thread: it marks the emitter stopped
//! (a periodic write that has not started yet then writes nothing), and
//! writes `stopped` itself.
//!
//! # The folder
//!
//! A start costs the same in a folder of ten files or of a hundred
//! thousand: it examines at most 256 folder entries to
//! remove temporaries left by dead writers of the heartbeats this process
//! writes there, and leaves the rest of that cleanup to the writer threads,
//! a step at a time between beats.
//!
//! # The error callback
//!
//! `on_error` runs on the thread that wrote: a writer thread for periodic
//! beats, the caller's for `beat`, `set_state` and `stop`. It may call any
//! method of the emitter (including `stop`). A write the callback makes on
//! the emitter whose failure it is being told about is done, counted and
//! returned as usual, but does not call the callback again: a callback
//! that sets `failed` when a write fails cannot recurse.

use crate::check::now_ms;
use crate::error::{Error, ErrorKind, Result};
use crate::notify::{Beat, Notifier, NotifyConfig, Supervisor};
use crate::process;
use crate::protocol::{
    encode, encode_into, truncate_utf8, Record, Shape, State, MAX_FILE_BYTES, MAX_MESSAGE_BYTES,
};
use crate::write::{AtomicFile, DEFAULT_MODE};
use once_cell::sync::Lazy;
use std::cell::RefCell;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

mod beat;

/// The shortest interval an emitter accepts.
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);
/// The longest interval an emitter accepts.
pub const MAX_INTERVAL: Duration = Duration::from_secs(3600);
/// The interval used when none (or 0) is given.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(1000);
/// Stack size of the beat and writer threads: a writer encodes a small
/// JSON object, does a few syscalls and may run the error callback, which
/// can be a Go, Node or Python function.
pub const THREAD_STACK_BYTES: usize = 256 * 1024;

/// The largest record `set_meta` lets an emitter grow to: the file limit
/// less room for the counters and timestamps to grow to 20 digits.
pub const MAX_RECORD_BYTES: usize = crate::protocol::MAX_FILE_BYTES as usize - 512;

/// Called for every failed write, on the thread that wrote (see the module
/// docs for re-entry).
pub type ErrorCallback = Arc<dyn Fn(&Error) + Send + Sync>;

/// How an emitter behaves. `Options::default()` is what `lifesign_start` uses.
/// Built with [`Default`] and the setters, so that later versions can add
/// options:
///
/// ```no_run
/// use std::time::Duration;
/// let opts = lifesign::Options::default()
///     .interval(Duration::from_millis(500))
///     .message("starting");
/// let hb = lifesign::Emitter::start_with("/run/app.json", opts)?;
/// # Ok::<(), lifesign::Error>(())
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct Options {
    /// Refresh interval; clamped to [`MIN_INTERVAL`, `MAX_INTERVAL`], zero means the default.
    pub interval: Duration,
    /// Permission bits of the heartbeat file, exactly (whatever the umask).
    pub mode: u32,
    /// fsync the temporary and the folder on every write.
    pub durable: bool,
    /// Remove the file after the final `stopped` write.
    pub remove_on_stop: bool,
    /// The staleness promise written into the file (default: 3 × interval).
    pub stale_after: Option<Duration>,
    /// The message of the first write.
    pub message: Option<String>,
    /// Which supervisors to notify.
    pub notify: NotifyConfig,
    /// Told about every failed write.
    pub on_error: Option<ErrorCallback>,
    /// Log the first failure of every run of failures to stderr.
    pub log_errors: bool,
    /// Hold a lifetime lock (docs/PROTOCOL.md, section 10): checkers on this
    /// kernel see the death at once, from any PID namespace. Costs one
    /// descriptor per emitter.
    pub lifetime_lock: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            interval: DEFAULT_INTERVAL,
            mode: DEFAULT_MODE,
            durable: false,
            remove_on_stop: false,
            stale_after: None,
            message: None,
            notify: NotifyConfig::default(),
            on_error: None,
            log_errors: true,
            lifetime_lock: true,
        }
    }
}

impl Options {
    /// Refresh interval (see the field).
    pub fn interval(mut self, interval: Duration) -> Options {
        self.interval = interval;
        self
    }

    /// Permission bits of the heartbeat file.
    pub fn mode(mut self, mode: u32) -> Options {
        self.mode = mode;
        self
    }

    /// fsync the temporary and the folder on every write.
    pub fn durable(mut self, durable: bool) -> Options {
        self.durable = durable;
        self
    }

    /// Remove the file after the final `stopped` write.
    pub fn remove_on_stop(mut self, remove: bool) -> Options {
        self.remove_on_stop = remove;
        self
    }

    /// The staleness promise written into the file.
    pub fn stale_after(mut self, stale_after: Duration) -> Options {
        self.stale_after = Some(stale_after);
        self
    }

    /// The message of the first write.
    pub fn message(mut self, message: impl Into<String>) -> Options {
        self.message = Some(message.into());
        self
    }

    /// Which supervisors to notify.
    pub fn notify(mut self, notify: NotifyConfig) -> Options {
        self.notify = notify;
        self
    }

    /// Told about every failed write.
    pub fn on_error(mut self, on_error: impl Fn(&Error) + Send + Sync + 'static) -> Options {
        self.on_error = Some(Arc::new(on_error));
        self
    }

    /// Log the first failure of every run of failures to stderr.
    pub fn log_errors(mut self, log: bool) -> Options {
        self.log_errors = log;
        self
    }

    /// Hold a lifetime lock (see the field).
    pub fn lifetime_lock(mut self, lock: bool) -> Options {
        self.lifetime_lock = lock;
        self
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("interval", &self.interval)
            .field("mode", &format_args!("{:o}", self.mode))
            .field("durable", &self.durable)
            .field("remove_on_stop", &self.remove_on_stop)
            .field("stale_after", &self.stale_after)
            .field("on_error", &self.on_error.is_some())
            .finish()
    }
}

/// Clamps an interval as the C ABI documents: 0 is 1 s, then [10 ms, 1 h].
pub fn clamp_interval(d: Duration) -> Duration {
    if d.is_zero() {
        DEFAULT_INTERVAL
    } else {
        d.clamp(MIN_INTERVAL, MAX_INTERVAL)
    }
}

/// Incremented in every child after `fork()`: an emitter created under
/// another generation belongs to the parent.
static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);

extern "C" fn after_fork_in_child() {
    FORK_GENERATION.fetch_add(1, Ordering::Relaxed);
}

static ATFORK: Lazy<()> = Lazy::new(|| {
    // SAFETY: registers a handler that only touches an atomic.
    unsafe {
        libc::pthread_atfork(None, None, Some(after_fork_in_child));
    }
});

struct Shared {
    record: Record,
    stopped: bool,
    failing: bool,
    last_progress: u64,
}

pub(crate) struct Inner {
    file: AtomicFile,
    /// The file's name, for the folder's cleanup.
    name: OsString,
    interval: Duration,
    generation: u64,
    stopped: AtomicBool,
    /// A periodic write is queued or running.
    in_flight: AtomicBool,
    progress: AtomicU64,
    failures: AtomicU64,
    shared: Mutex<Shared>,
    notify_active: bool,
    /// What the supervisor has been told (`notify::Supervisor`). Locked
    /// after `Shared` and held on its own while sending, so that a
    /// supervisor never holds up a beat or `stop`, and hears the changes in
    /// the order they were written.
    told: Mutex<Supervisor>,
    on_error: Option<ErrorCallback>,
    log_errors: bool,
    remove_on_stop: bool,
    lifetime: Mutex<Option<crate::lock::Lifetime>>,
}

/// A running heartbeat. Thread-safe: share it by reference or in an `Arc`.
/// Dropping it stops it.
pub struct Emitter {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Emitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emitter")
            .field("path", &self.inner.file.path())
            .field("interval", &self.inner.interval)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock (only possible in a user callback, which
    // runs unlocked) leaves consistent data: keep going.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

thread_local! {
    /// The emitters whose error callback runs on this thread.
    static IN_CALLBACK: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// Takes an emitter off `IN_CALLBACK` when its callback returns or panics.
struct CallbackDone(usize);

impl Drop for CallbackDone {
    fn drop(&mut self) {
        IN_CALLBACK.with(|v| {
            let mut v = v.borrow_mut();
            if let Some(at) = v.iter().rposition(|&x| x == self.0) {
                v.remove(at);
            }
        });
    }
}

impl Emitter {
    /// Starts an emitter on `path` with default options.
    pub fn start(path: impl AsRef<Path>, interval: Duration) -> Result<Emitter> {
        Emitter::start_with(
            path,
            Options {
                interval,
                ..Options::default()
            },
        )
    }

    /// Starts an emitter: resolves a relative path against the current
    /// folder (once: a later `chdir` does not move the file), creates
    /// missing folders, writes the first heartbeat (`starting`, seq 1),
    /// joins the process's beat thread, then cleans up temporaries left by
    /// dead writers (see the module docs).
    ///
    /// When anything after the first write fails (a thread cannot be
    /// started), the error is returned and the file just written is
    /// removed: a failed start leaves nothing that reads alive.
    pub fn start_with(path: impl AsRef<Path>, opts: Options) -> Result<Emitter> {
        Lazy::force(&ATFORK);
        let path = path.as_ref();
        if path.as_os_str().is_empty() {
            return Err(Error::new(ErrorKind::InvalidArgument, "cannot start an emitter: the path is empty"));
        }
        if opts.mode & !0o777 != 0 || opts.mode & 0o002 != 0 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "mode {:o}: a heartbeat is never world-writable and has no setuid, setgid or sticky bit",
                    opts.mode
                ),
            ));
        }
        let path = if path.is_relative() {
            std::env::current_dir()
                .map_err(|e| {
                    Error::io(
                        format_args!("cannot resolve the relative path {}", path.display()),
                        &e,
                    )
                })?
                .join(path)
        } else {
            path.to_path_buf()
        };
        let path = path.as_path();
        let file = AtomicFile::new(path, opts.mode, opts.durable)
            .map_err(|e| Error::new(ErrorKind::InvalidArgument, e.to_string()))?;
        file.create_dir().map_err(|e| {
            Error::io(
                format_args!("cannot create the folder of {}", path.display()),
                &e,
            )
        })?;

        let mut warnings = Vec::new();
        let notifier = Notifier::from_env(opts.notify, &mut warnings);
        let mut interval = clamp_interval(opts.interval);
        if let Some(wd) = notifier.watchdog {
            if interval > wd {
                warnings.push(format!(
                    "interval {} ms shortened to {} ms: half of WATCHDOG_USEC",
                    interval.as_millis(),
                    wd.as_millis()
                ));
                interval = wd.max(Duration::from_millis(1));
            }
        }
        if opts.log_errors {
            for w in &warnings {
                crate::log::warn(format_args!("{w}"));
            }
        }
        let stale_after = opts
            .stale_after
            .map(|d| d.as_millis() as u64)
            .filter(|&d| d > 0)
            .unwrap_or(interval.as_millis() as u64 * 3);
        let mut record = first_record(
            process::current_pid(),
            process::own_start_time(),
            Some(interval.as_millis() as u64),
            Some(stale_after),
            opts.message.as_deref(),
            now_ms(),
        );
        let lifetime = opts
            .lifetime_lock
            .then(|| crate::lock::Lifetime::take(path, opts.mode))
            .flatten();
        record.lock_ino = lifetime.as_ref().map(crate::lock::Lifetime::ino);
        record.lock_dev = lifetime.as_ref().map(crate::lock::Lifetime::dev);
        let generation = FORK_GENERATION.load(Ordering::Relaxed);
        let inner = Arc::new(Inner {
            name: path.file_name().unwrap_or_default().to_owned(),
            file,
            interval,
            generation,
            stopped: AtomicBool::new(false),
            in_flight: AtomicBool::new(false),
            progress: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            shared: Mutex::new(Shared {
                record,
                stopped: false,
                failing: false,
                last_progress: 0,
            }),
            notify_active: notifier.is_active(),
            told: Mutex::new(Supervisor::new(
                notifier,
                &opts.notify,
                Duration::from_millis(stale_after),
            )),
            on_error: opts.on_error,
            log_errors: opts.log_errors,
            remove_on_stop: opts.remove_on_stop,
            lifetime: Mutex::new(lifetime),
        });
        // The lifetime lock is taken before the first write, so that no
        // record claims a lock not yet held; the first write is the start's
        // point of no return, and everything after it is undone by `abandon`.
        inner.write(None).inspect_err(|_| crate::lock::release(&inner.lifetime, true))?;
        let beats = beat::beats(generation);
        if let Err(e) = beats.register(&inner) {
            inner.abandon();
            return Err(Error::io("cannot start the beat thread", &e));
        }
        beats.sweep(inner.file.dir(), &inner.name);
        Ok(Emitter { inner })
    }

    /// Starts from the launcher's environment: `LIFESIGN_FILE` and
    /// `LIFESIGN_INTERVAL_MS`. `Ok(None)` when `LIFESIGN_FILE` is unset or
    /// empty. Never modifies the environment.
    pub fn start_from_env() -> Result<Option<Emitter>> {
        let file = match std::env::var_os("LIFESIGN_FILE") {
            Some(f) if !f.is_empty() => PathBuf::from(f),
            _ => return Ok(None),
        };
        let interval = match std::env::var_os("LIFESIGN_INTERVAL_MS") {
            None => DEFAULT_INTERVAL,
            Some(v) if v.is_empty() => DEFAULT_INTERVAL,
            Some(v) => {
                let ms = v.to_str().and_then(|s| s.trim().parse::<u32>().ok());
                match ms {
                    Some(ms) => Duration::from_millis(ms.into()),
                    None => {
                        return Err(Error::new(
                            ErrorKind::InvalidArgument,
                            format!(
                                "LIFESIGN_INTERVAL_MS={:?} is not a number of milliseconds",
                                v.to_string_lossy()
                            ),
                        ))
                    }
                }
            }
        };
        Emitter::start(file, interval).map(Some)
    }

    /// The heartbeat file.
    pub fn path(&self) -> &Path {
        self.inner.file.path()
    }

    /// The refresh interval in force (after clamping and the watchdog cap).
    pub fn interval(&self) -> Duration {
        self.inner.interval
    }

    fn usable(&self) -> Result<()> {
        self.inner.usable()
    }

    /// Writes a heartbeat now.
    pub fn beat(&self) -> Result<()> {
        self.usable()?;
        self.inner.write(None)
    }

    /// Changes the state and writes at once. `None` keeps the message, an
    /// empty one clears it. `Stopped` is refused: use [`Emitter::stop`].
    pub fn set_state(&self, state: State, message: Option<&str>) -> Result<()> {
        self.usable()?;
        if state == State::Stopped {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "state stopped is set by stop(), not set_state()",
            ));
        }
        self.inner.write(Some((state, message)))
    }

    /// Sets (or with `None` removes) a `meta` entry; written with the next beat.
    /// Refused (and nothing changed) when it would make the file larger
    /// than the protocol allows.
    pub fn set_meta(&self, key: &str, value: Option<&str>) -> Result<()> {
        self.usable()?;
        let mut s = lock(&self.inner.shared);
        let previous = match value {
            Some(v) => s.record.meta.insert(key.to_owned(), v.to_owned()),
            None => s.record.meta.remove(key),
        };
        let size = encode(&s.record).len();
        if size > MAX_RECORD_BYTES {
            match previous {
                Some(old) => s.record.meta.insert(key.to_owned(), old),
                None => s.record.meta.remove(key),
            };
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "meta {key:?} would make the heartbeat {size} bytes; the limit is {MAX_RECORD_BYTES} (the file's {MAX_FILE_BYTES} less room for counters to grow)"
                ),
            ));
        }
        Ok(())
    }

    /// Announces a reload: the state becomes `starting` (with `message`, as
    /// in [`Emitter::set_state`]), the heartbeat's `reloads` count goes up
    /// by one and systemd gets `RELOADING=1` with `MONOTONIC_USEC`. Call
    /// `set_state(State::Ready, ..)` when the reload is done: systemd then
    /// gets `READY=1` again.
    pub fn reload(&self, message: Option<&str>) -> Result<()> {
        self.usable()?;
        {
            // One change under one lock: any write from now on carries it.
            let mut s = lock(&self.inner.shared);
            s.record.reloads = Some(s.record.reloads.unwrap_or(0) + 1);
            apply(&mut s.record, State::Starting, message);
        }
        self.inner.write(None)
    }

    /// Records one unit of work progress: an atomic increment, nothing else.
    /// The next write records `progress` and `progress_at_ms`.
    #[inline]
    pub fn progress(&self) -> Result<()> {
        self.usable()?;
        self.inner.progress.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// How many writes have failed so far (also after `stop`).
    pub fn write_failures(&self) -> u64 {
        self.inner.failures.load(Ordering::Relaxed)
    }

    /// Fails with a state error in a child after `fork()`: the emitter
    /// belongs to the parent there.
    pub fn ensure_owner(&self) -> Result<()> {
        if self.inner.forked() {
            return Err(forked_error());
        }
        Ok(())
    }

    /// Stops: writes `stopped` (and removes the file when asked to). A
    /// periodic write not yet started writes nothing after this; one in
    /// progress finishes first. Idempotent. In a child after `fork()` it
    /// neither writes nor waits, and returns a state error.
    pub fn stop(&self) -> Result<()> {
        if self.inner.forked() {
            return Err(forked_error());
        }
        {
            let mut s = lock(&self.inner.shared);
            if s.stopped {
                return Ok(());
            }
            s.stopped = true;
            self.inner.stopped.store(true, Ordering::SeqCst);
        }
        let beats = beat::beats(self.inner.generation);
        beats.unregister();
        beats.forget(self.inner.file.dir(), &self.inner.name);
        let result = self.inner.write_final();
        if self.inner.remove_on_stop && result.is_ok() {
            let _ = std::fs::remove_file(self.inner.file.path());
        }
        crate::lock::release(
            &self.inner.lifetime,
            self.inner.remove_on_stop && result.is_ok(),
        );
        result
    }

    /// Whether `stop` was called.
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }
}

impl Drop for Emitter {
    fn drop(&mut self) {
        if self.inner.forked() {
            // The beat thread does not exist in this process: leave the
            // parent's file and bookkeeping alone.
            return;
        }
        let _ = self.stop();
    }
}

/// Whether no cleanup of dead writers' temporaries is running or queued in
/// this process (for tests that wait for one to finish).
#[doc(hidden)]
#[cfg_attr(not(feature = "internals"), allow(dead_code))] // for tests
pub fn cleanup_idle() -> bool {
    beat::beats(FORK_GENERATION.load(Ordering::Relaxed)).sweeps_idle()
}

fn forked_error() -> Error {
    Error::new(
        ErrorKind::State,
        "this emitter belongs to the parent process: a child after fork() cannot use it",
    )
}

impl Inner {
    fn forked(&self) -> bool {
        FORK_GENERATION.load(Ordering::Relaxed) != self.generation
    }

    fn usable(&self) -> Result<()> {
        if self.forked() {
            return Err(forked_error());
        }
        if self.stopped.load(Ordering::Relaxed) {
            return Err(Error::new(ErrorKind::State, "the emitter is stopped"));
        }
        Ok(())
    }

    /// A beat from a writer thread; nothing once stopped.
    pub(crate) fn periodic(&self) {
        if !self.stopped.load(Ordering::Relaxed) {
            let _ = self.write(None);
        }
    }

    /// Undoes a start that failed after its first write: nothing is left
    /// that reads alive, and the s6 descriptor is handed back.
    fn abandon(&self) {
        {
            let mut s = lock(&self.shared);
            s.stopped = true;
            self.stopped.store(true, Ordering::SeqCst);
        }
        lock(&self.told).release_s6();
        let _ = std::fs::remove_file(self.file.path());
        crate::lock::release(&self.lifetime, true);
    }

    /// One write, optionally with a new state and message.
    fn write(&self, change: Option<(State, Option<&str>)>) -> Result<()> {
        let mut s = lock(&self.shared);
        if s.stopped {
            return Err(Error::new(ErrorKind::State, "the emitter is stopped"));
        }
        if let Some((state, message)) = change {
            apply(&mut s.record, state, message);
        }
        let result = self.write_locked(&mut s);
        if self.notify_active {
            // Only a supervisor needs the message: no copy otherwise.
            let r = &s.record;
            let (state, message) = (r.state.unwrap_or(State::Starting), r.message.clone());
            let (progress, reloads) = (r.progress.unwrap_or(0), r.reloads.unwrap_or(0));
            // Hand over hand: the supervisor hears writes in their order,
            // and the sends happen after the file's lock is released.
            let mut told = lock(&self.told);
            drop(s);
            told.tell(Beat {
                state,
                message: message.as_deref(),
                progress,
                reloads,
            });
        } else {
            drop(s);
        }
        self.report(result)
    }

    fn write_final(&self) -> Result<()> {
        let mut s = lock(&self.shared);
        s.record.state = Some(State::Stopped);
        let result = self.write_locked(&mut s);
        let mut told = lock(&self.told);
        drop(s);
        // STOPPING=1, then the barrier: bounded, and outside the file's lock.
        told.stopping();
        told.release_s6();
        drop(told);
        self.report(result)
    }

    fn write_locked(&self, s: &mut Shared) -> std::result::Result<(), Error> {
        let progress = self.progress.load(Ordering::Relaxed);
        let progressed = progress != s.last_progress;
        if progressed {
            s.last_progress = progress;
            s.record.progress = Some(progress);
        }
        crate::clock::stamp(&mut s.record, progressed);
        s.record.seq += 1;
        match encoded(&s.record, |bytes| self.file.write(bytes)) {
            Ok(()) => {
                s.failing = false;
                Ok(())
            }
            Err(e) => {
                s.record.seq -= 1;
                self.failures.fetch_add(1, Ordering::Relaxed);
                let err = Error::io(
                    format_args!("cannot write {}", self.file.path().display()),
                    &e,
                );
                if !s.failing && self.log_errors {
                    crate::log::warn(format_args!("{err} (further failures are counted, not logged, until a write succeeds)"));
                }
                s.failing = true;
                Err(err)
            }
        }
    }

    /// Tells the callback about a failed write, unless the write was made
    /// by this emitter's own callback (no recursion).
    fn report(&self, result: Result<()>) -> Result<()> {
        if let (Err(e), Some(cb)) = (&result, &self.on_error) {
            let me = self as *const Inner as usize;
            let nested = IN_CALLBACK.with(|v| {
                let mut v = v.borrow_mut();
                let nested = v.contains(&me);
                if !nested {
                    v.push(me);
                }
                nested
            });
            if !nested {
                let _done = CallbackDone(me);
                cb(e);
            }
        }
        result
    }
}

thread_local! {
    /// The bytes of a write, in one buffer per writing thread rather than
    /// one per emitter: 10,000 emitters of one process would keep 10,000.
    static ENCODED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Calls `f` with `r` encoded, in this thread's buffer: taken for the
/// call and given back, so that a use within `f` (or on a thread whose
/// storage is gone) encodes into a buffer of its own.
fn encoded<T>(r: &Record, f: impl FnOnce(&[u8]) -> T) -> T {
    let mut buf = ENCODED.try_with(RefCell::take).unwrap_or_default();
    encode_into(r, &mut buf);
    let t = f(&buf);
    let _ = ENCODED.try_with(|kept| kept.replace(buf));
    t
}

/// A new state, and a new message unless `None` (empty clears it).
fn apply(r: &mut Record, state: State, message: Option<&str>) {
    r.state = Some(state);
    if let Some(m) = message {
        r.message = (!m.is_empty()).then(|| truncate_utf8(m, MAX_MESSAGE_BYTES).to_owned());
    }
}

/// The first v1 record of a writer: `starting`, `seq` 0 (each write counts
/// it up), this machine's identity, and the writer's `pid_start`.
fn first_record(
    pid: u32,
    pid_start: Option<u64>,
    interval_ms: Option<u64>,
    stale_after_ms: Option<u64>,
    message: Option<&str>,
    now: u64,
) -> Record {
    let id = process::identity();
    Record {
        v: crate::protocol::PROTOCOL_VERSION,
        pid,
        state: Some(State::Starting),
        seq: 0,
        updated_at_ms: now,
        started_at_ms: Some(now),
        interval_ms,
        stale_after_ms,
        host: id.host.clone(),
        boot_id: id.boot_id.clone(),
        pid_ns: id.pid_ns,
        pid_start,
        // Set by a running emitter that holds its lifetime lock.
        lock_ino: None,
        lock_dev: None,
        // Written once progress() has been counted: a file without them
        // is never stalled.
        progress: None,
        progress_at_ms: None,
        message: message.map(|m| truncate_utf8(m, MAX_MESSAGE_BYTES).to_owned()),
        meta: Default::default(),
        shape: Shape::V1,
        ..Record::default()
    }
}

/// One heartbeat written by [`emit_once`] on behalf of a process that runs
/// no emitter of its own (a shell script, through `lifesign emit`).
///
/// Built with [`EmitOnce::new`] and then its fields, so that later
/// versions can add some.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EmitOnce<'a> {
    /// The process the heartbeat speaks for; its `pid_start` is read from `/proc`.
    pub pid: u32,
    /// The state to report.
    pub state: State,
    /// The message; `None` keeps the previous heartbeat's.
    pub message: Option<&'a str>,
    /// The promised interval, clamped like [`Options::interval`]; `None`
    /// keeps the previous heartbeat's (a first heartbeat then has none, and
    /// the checker applies its 30 s default).
    pub interval: Option<Duration>,
    /// Metadata added to (or replacing keys of) the previous heartbeat's.
    pub meta: &'a [(String, String)],
}

impl EmitOnce<'_> {
    /// A heartbeat of process `pid` in `state`, keeping the previous
    /// heartbeat's message, interval and metadata.
    pub fn new(pid: u32, state: State) -> EmitOnce<'static> {
        EmitOnce {
            pid,
            state,
            message: None,
            interval: None,
            meta: &[],
        }
    }
}

/// Writes one heartbeat for `beat.pid`, atomically, with mode 0644 into an
/// existing folder.
///
/// A v1 heartbeat of the same process (PID and `pid_start`) already at
/// `path` is continued: its `seq`
/// and `progress` go up by one (so a script that emits in a loop counts as
/// making progress), and its start time, interval, message and metadata are
/// kept unless `beat` replaces them. Anything else at `path` is replaced by
/// a first heartbeat. Returns the record written.
///
/// Errors: [`ErrorKind::InvalidArgument`] for a path with no file name or a
/// PID outside 1..=2147483647, [`ErrorKind::Io`] when the write fails.
pub fn emit_once(path: impl AsRef<Path>, beat: &EmitOnce<'_>) -> Result<Record> {
    let path = path.as_ref();
    if beat.pid == 0 || i64::from(beat.pid) > crate::protocol::MAX_PID {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("pid {} is outside 1..=2147483647", beat.pid),
        ));
    }
    let file = AtomicFile::new(path, DEFAULT_MODE, false)
        .map_err(|e| Error::new(ErrorKind::InvalidArgument, e.to_string()))?;
    let now = now_ms();
    let interval_ms = beat.interval.map(|d| clamp_interval(d).as_millis() as u64);
    let pid_start = process::stat_of(beat.pid).map(|(start, _)| start);
    let mut record = match crate::check::read_path(path) {
        crate::check::Read::Record(r)
            if r.shape == Shape::V1 && (r.pid, r.pid_start) == (beat.pid, pid_start) =>
        {
            r
        }
        _ => first_record(beat.pid, pid_start, None, None, None, now),
    };
    if let Some(ms) = interval_ms {
        (record.interval_ms, record.stale_after_ms) = (Some(ms), Some(ms * 3));
    }
    if let Some(m) = beat.message {
        record.message = (!m.is_empty()).then(|| truncate_utf8(m, MAX_MESSAGE_BYTES).to_owned());
    }
    record.meta.extend(beat.meta.iter().cloned());
    record.state = Some(beat.state);
    record.seq = record.seq.saturating_add(1);
    // Each emit is a step of the script's work.
    record.progress = Some(record.seq);
    crate::clock::stamp(&mut record, true);
    let bytes = encode(&record);
    file.write(&bytes)
        .map_err(|e| Error::io(format_args!("cannot write {}", path.display()), &e))?;
    Ok(record)
}


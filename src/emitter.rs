//! The emitter: writes the first heartbeat before `start` returns, then keeps
//! the file fresh from a background thread until `stop`.

use crate::check::now_ms;
use crate::error::{Error, ErrorKind, Result};
use crate::notify::{Notifier, NotifyConfig};
use crate::process;
use crate::protocol::{
    encode, truncate_utf8, Record, Shape, State, MAX_FILE_BYTES, MAX_MESSAGE_BYTES,
};
use crate::write::{AtomicFile, DEFAULT_MODE};
use once_cell::sync::Lazy;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The shortest interval an emitter accepts.
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);
/// The longest interval an emitter accepts.
pub const MAX_INTERVAL: Duration = Duration::from_secs(3600);
/// The interval used when none (or 0) is given.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(1000);
/// Stack size of the refresh thread: it encodes a small JSON object, does a
/// few syscalls and may run the error callback, which can be a Go, Node or
/// Python function.
pub const THREAD_STACK_BYTES: usize = 256 * 1024;

/// The largest record `set_meta` lets an emitter grow to: the file limit
/// less room for the counters and timestamps to grow to 20 digits.
pub const MAX_RECORD_BYTES: usize = crate::protocol::MAX_FILE_BYTES as usize - 512;

/// Called on the emitter's threads for every failed write.
pub type ErrorCallback = Arc<dyn Fn(&Error) + Send + Sync>;

/// How an emitter behaves. `Options::default()` is what `lifesign_start` uses.
#[derive(Clone)]
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
        }
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
    notifier: Notifier,
    ready_told: bool,
}

struct Inner {
    file: AtomicFile,
    interval: Duration,
    generation: u64,
    stopped: AtomicBool,
    progress: AtomicU64,
    failures: AtomicU64,
    shared: Mutex<Shared>,
    wake: Condvar,
    on_error: Option<ErrorCallback>,
    log_errors: bool,
    remove_on_stop: bool,
}

/// A running heartbeat. Thread-safe: share it by reference or in an `Arc`.
/// Dropping it stops it.
pub struct Emitter {
    inner: Arc<Inner>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Emitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emitter")
            .field("path", &self.inner.file.path())
            .field("interval", &self.inner.interval)
            .finish()
    }
}

fn lock(m: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // A panic while holding the lock (only possible in a user callback, which
    // runs unlocked) leaves consistent data: keep going.
    m.lock().unwrap_or_else(|p| p.into_inner())
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

    /// Starts an emitter: creates missing folders, removes temporaries left
    /// by dead writers, writes the first heartbeat (`starting`, seq 1), then
    /// starts the refresh thread.
    pub fn start_with(path: impl AsRef<Path>, opts: Options) -> Result<Emitter> {
        Lazy::force(&ATFORK);
        let path = path.as_ref();
        if path.as_os_str().is_empty() {
            return Err(Error::new(ErrorKind::InvalidArgument, "empty path"));
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
        let file = AtomicFile::new(path, opts.mode, opts.durable)
            .map_err(|e| Error::new(ErrorKind::InvalidArgument, e.to_string()))?;
        file.create_dir().map_err(|e| {
            Error::io(
                format_args!("cannot create the folder of {}", path.display()),
                &e,
            )
        })?;
        file.remove_orphans();

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
        let record = first_record(
            process::current_pid(),
            process::own_start_time(),
            Some(interval.as_millis() as u64),
            Some(stale_after),
            opts.message.as_deref(),
            now_ms(),
        );
        let inner = Arc::new(Inner {
            file,
            interval,
            generation: FORK_GENERATION.load(Ordering::Relaxed),
            stopped: AtomicBool::new(false),
            progress: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            shared: Mutex::new(Shared {
                record,
                stopped: false,
                failing: false,
                last_progress: 0,
                notifier,
                ready_told: false,
            }),
            wake: Condvar::new(),
            on_error: opts.on_error,
            log_errors: opts.log_errors,
            remove_on_stop: opts.remove_on_stop,
        });
        inner.write(None)?;
        let worker = Arc::clone(&inner);
        let thread = std::thread::Builder::new()
            .name("lifesign".into())
            .stack_size(THREAD_STACK_BYTES)
            .spawn(move || worker.run())
            .map_err(|e| Error::io("cannot start the refresh thread", &e))?;
        Ok(Emitter {
            inner,
            thread: Mutex::new(Some(thread)),
        })
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

    /// Stops: wakes the thread at once, joins it, writes `stopped` (and
    /// removes the file when asked to). Idempotent. In a child after
    /// `fork()` it neither writes nor joins, and returns a state error.
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
        self.inner.wake.notify_all();
        let handle = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            let _ = h.join();
        }
        let result = self.inner.write_final();
        if self.inner.remove_on_stop && result.is_ok() {
            let _ = std::fs::remove_file(self.inner.file.path());
        }
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
            // The thread does not exist in this process: do not join or
            // detach it; leave the parent's file alone.
            if let Some(h) = self.thread.get_mut().map_or(None, Option::take) {
                std::mem::forget(h);
            }
            return;
        }
        let _ = self.stop();
    }
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

    fn run(&self) {
        let mut next = Instant::now() + self.interval;
        loop {
            {
                let mut s = lock(&self.shared);
                loop {
                    if s.stopped {
                        return;
                    }
                    let now = Instant::now();
                    if now >= next {
                        break;
                    }
                    s = self
                        .wake
                        .wait_timeout(s, next - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
            let _ = self.write(None);
            next += self.interval;
            let now = Instant::now();
            if next < now {
                // Fell behind (a suspended machine, a slow disk): do not burst.
                next = now + self.interval;
            }
        }
    }

    /// One write, optionally with a new state and message.
    fn write(&self, change: Option<(State, Option<&str>)>) -> Result<()> {
        let mut s = lock(&self.shared);
        if s.stopped {
            return Err(Error::new(ErrorKind::State, "the emitter is stopped"));
        }
        // Only a supervisor needs to know what changed: no copy otherwise.
        let before = s
            .notifier
            .is_active()
            .then(|| (s.record.state, s.record.message.clone()));
        if let Some((state, message)) = change {
            s.record.state = Some(state);
            if let Some(m) = message {
                s.record.message =
                    (!m.is_empty()).then(|| truncate_utf8(m, MAX_MESSAGE_BYTES).to_owned());
            }
        }
        let result = self.write_locked(&mut s);
        self.tell_supervisor(&mut s, before);
        drop(s);
        self.report(result)
    }

    fn write_final(&self) -> Result<()> {
        let mut s = lock(&self.shared);
        s.record.state = Some(State::Stopped);
        let result = self.write_locked(&mut s);
        let _ = s.notifier.stopping();
        drop(s);
        self.report(result)
    }

    fn write_locked(&self, s: &mut Shared) -> std::result::Result<(), Error> {
        let now = now_ms();
        let progress = self.progress.load(Ordering::Relaxed);
        if progress != s.last_progress {
            s.last_progress = progress;
            s.record.progress_at_ms = Some(now);
        }
        s.record.progress = Some(progress);
        s.record.updated_at_ms = now;
        s.record.seq += 1;
        let bytes = encode(&s.record);
        match self.file.write(&bytes) {
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

    fn tell_supervisor(&self, s: &mut Shared, before: Option<(Option<State>, Option<String>)>) {
        let Some(before) = before else {
            return;
        };
        let state = s.record.state;
        let message = s.record.message.clone();
        let n = &mut s.notifier;
        let _ = n.watchdog_ping();
        if state == Some(State::Ready) && !s.ready_told {
            s.ready_told = true;
            let _ = s.notifier.ready(message.as_deref());
            return;
        }
        if state == Some(State::Failed) && before.0 != Some(State::Failed) {
            let _ = s.notifier.failed(message.as_deref());
            return;
        }
        if message != before.1 {
            let _ = s.notifier.status(message.as_deref().unwrap_or(""));
        }
    }

    fn report(&self, result: Result<()>) -> Result<()> {
        if let (Err(e), Some(cb)) = (&result, &self.on_error) {
            cb(e);
        }
        result
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
        progress: Some(0),
        progress_at_ms: Some(now),
        message: message.map(|m| truncate_utf8(m, MAX_MESSAGE_BYTES).to_owned()),
        meta: Default::default(),
        shape: Shape::V1,
    }
}

/// One heartbeat written by [`emit_once`] on behalf of a process that runs
/// no emitter of its own (a shell script, through `lifesign emit`).
#[derive(Clone, Debug)]
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
    (record.updated_at_ms, record.progress_at_ms) = (now, Some(now));
    let bytes = encode(&record);
    file.write(&bytes)
        .map_err(|e| Error::io(format_args!("cannot write {}", path.display()), &e))?;
    Ok(record)
}

//! The verdict rules. [`verdict`] is a pure function of what was read, the
//! checker's facts and a process probe; [`check`] does the reading.
//!
//! The rules apply in order, the first that matches wins (docs/PROTOCOL.md):
//! missing, invalid, pid_mismatch, stopped/failed, process_gone, future,
//! stale, stalled, alive.

use crate::clock;
use crate::lock::{self, LockProbe};
use crate::process::{self, Identity, Liveness};
use crate::protocol::{decode, Record, Shape, State, MAX_FILE_BYTES};
use std::collections::HashMap;
use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default tolerance for a timestamp ahead of the checker's clock.
pub const DEFAULT_SKEW_MS: u64 = 2000;
/// Max age when neither the checker nor the file says otherwise.
pub const DEFAULT_MAX_AGE_MS: u64 = 30_000;

/// What a check concluded (declared with the other C ABI codes).
pub use crate::codes::Verdict;

/// What the checker asks for. `Default` is "any PID, the file's own max age".
///
/// Built with [`Default`] and the setters, so that later versions can add
/// options:
///
/// ```
/// use std::time::Duration;
/// let opts = lifesign::CheckOptions::default()
///     .max_age(Duration::from_secs(10))
///     .expected_pid(std::process::id());
/// assert_eq!(opts.max_age, Some(Duration::from_secs(10)));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckOptions {
    /// Overrides the file's max age (`None` or zero: the file's own rule).
    pub max_age: Option<Duration>,
    /// The PID the checker expects.
    pub expected_pid: Option<u32>,
    /// Verdict `stalled` when progress has not moved for this long
    /// (`None` or zero: never).
    pub stall: Option<Duration>,
    /// Tolerance for timestamps ahead of our clock (`None`: 2 s).
    pub skew: Option<Duration>,
    /// Skip the wall-clock rules (future, stale, stalled): the waiter measures
    /// time on its own monotonic clock instead.
    pub ignore_clock: bool,
}

impl CheckOptions {
    /// Overrides the file's max age (zero: the file's own rule).
    pub fn max_age(mut self, max_age: Duration) -> CheckOptions {
        self.max_age = Some(max_age);
        self
    }

    /// The PID the checker expects (verdict `pid_mismatch` for another).
    pub fn expected_pid(mut self, pid: u32) -> CheckOptions {
        self.expected_pid = Some(pid);
        self
    }

    /// Verdict `stalled` when progress has not moved for this long.
    pub fn stall(mut self, stall: Duration) -> CheckOptions {
        self.stall = Some(stall);
        self
    }

    /// Tolerance for timestamps ahead of our clock (default 2 s).
    pub fn skew(mut self, skew: Duration) -> CheckOptions {
        self.skew = Some(skew);
        self
    }

    /// Skips the wall-clock rules (future, stale, stalled).
    pub fn ignore_clock(mut self, ignore: bool) -> CheckOptions {
        self.ignore_clock = ignore;
        self
    }
}

/// Milliseconds, as the protocol counts them (saturating).
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The result of a check, filled whatever the verdict. Serialises (serde)
/// to an object with these field names, enums by their stable names.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// The verdict.
    pub verdict: Verdict,
    /// The state in the file, when it parsed.
    pub state: Option<State>,
    /// The PID in the file (0 when it did not parse).
    pub pid: u32,
    /// The write counter.
    pub seq: u64,
    /// The work-progress counter (0 when the file has none).
    pub progress: u64,
    /// When progress last changed (`None` when the file does not say).
    pub progress_at_ms: Option<u64>,
    /// How long ago progress last changed (0 when unknown or in the future).
    pub progress_age_ms: u64,
    /// When the file was written.
    pub updated_at_ms: u64,
    /// How old the file is (0 when it is dated in the future).
    pub age_ms: u64,
    /// The emitter's interval (0 when the file has none).
    pub interval_ms: u64,
    /// The max age that was applied.
    pub max_age_ms: u64,
    /// The emitter's message.
    pub message: String,
    /// Which layout was read.
    pub shape: Shape,
    /// Why the verdict is what it is, for logs ("not JSON: ...", "pid 12 exited").
    pub detail: String,
    /// Whether the ages were measured on `CLOCK_MONOTONIC` (same boot, same
    /// time namespace) rather than the wall clock.
    pub monotonic: bool,
}

impl Report {
    /// A report that carries only a verdict and its reason: no record was
    /// read (a missing or invalid file, or a verdict decided elsewhere, such
    /// as a remote key that expired).
    pub fn empty(verdict: Verdict, detail: String) -> Report {
        Report {
            verdict,
            state: None,
            pid: 0,
            seq: 0,
            progress: 0,
            progress_at_ms: None,
            progress_age_ms: 0,
            updated_at_ms: 0,
            age_ms: 0,
            interval_ms: 0,
            max_age_ms: 0,
            message: String::new(),
            shape: Shape::None,
            detail,
            monotonic: false,
        }
    }

    /// Whether the verdict is `alive`.
    pub fn is_alive(&self) -> bool {
        self.verdict == Verdict::Alive
    }
}

/// What reading the path gave.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // built once per check, never stored in bulk
pub enum Read {
    /// No file at the path.
    Missing,
    /// Something that is not a readable heartbeat-sized regular file, or bytes that do not decode.
    Invalid(String),
    /// A decoded record.
    Record(Record),
}

/// The checker's side of a check: its clock and identity.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    /// Checker wall clock, Unix ms.
    pub now_ms: u64,
    /// Checker `CLOCK_MONOTONIC`, ms (`None`: measure on the wall clock only).
    pub mono_ms: Option<u64>,
    /// Checker host, boot and PID namespace.
    pub identity: &'a Identity,
}

/// What the rules may ask about the machine while they judge a record: the
/// observation is gathered lazily, each question asked at most once and
/// only when its answer can change the verdict, and the rules themselves
/// ([`judge`]) open nothing. [`check`] answers with the real machine; a test
/// or a reader with facts of its own answers with anything.
pub trait Machine {
    /// What the process probe already holds about the writer of `r` (a
    /// pidfd kept since that process was verified for such a record, which
    /// a reused PID cannot fool), without verifying anything anew; `None`
    /// when it holds nothing.
    fn kept(&mut self, r: &Record) -> Option<Liveness>;
    /// A full probe of the record's PID and start time ([`process::probe`]).
    fn probe(&mut self, r: &Record) -> Liveness;
    /// The record's lifetime lock (asked only for a record that
    /// [`lock::consulted`] allows).
    fn lock(&mut self, r: &Record) -> LockProbe;
}

/// A [`Machine`] from a probe function and a fixed lock finding, with no
/// kept pidfds.
struct Given<P> {
    probe: Option<P>,
    lock: LockProbe,
}

impl<P: FnOnce(u32, Option<u64>) -> Liveness> Machine for Given<P> {
    fn kept(&mut self, _: &Record) -> Option<Liveness> {
        None
    }
    fn probe(&mut self, r: &Record) -> Liveness {
        self.probe
            .take()
            .map_or(Liveness::Unknown, |p| p(r.pid, r.pid_start))
    }
    fn lock(&mut self, _: &Record) -> LockProbe {
        self.lock
    }
}

/// Applies the verdict rules. `probe` is called at most once, and only for a
/// file written on this host, in this PID namespace, in this boot.
#[cfg_attr(not(feature = "internals"), allow(dead_code))] // the C ABI's judge
pub fn verdict(
    read: &Read,
    facts: Facts<'_>,
    opts: &CheckOptions,
    probe: impl FnOnce(u32, Option<u64>) -> Liveness,
) -> Report {
    verdict_with_lock(read, facts, opts, LockProbe::Unknown, probe)
}

/// [`verdict`] with what the checker found at the record's lifetime lock
/// (what [`lock::probe_record_kept`] finds): a free lock is `process_gone`; a held one decides
/// nothing (docs/PROTOCOL.md, section 10).
pub fn verdict_with_lock(
    read: &Read,
    facts: Facts<'_>,
    opts: &CheckOptions,
    lock: LockProbe,
    probe: impl FnOnce(u32, Option<u64>) -> Liveness,
) -> Report {
    let mut given = Given {
        probe: Some(probe),
        lock,
    };
    judge(read, facts, opts, &mut given)
}

/// The verdict rules, a pure function of what was read, the checker's
/// facts and the answers of `machine` (docs/PROTOCOL.md, sections 3 and 10).
pub fn judge(read: &Read, facts: Facts<'_>, opts: &CheckOptions, machine: &mut impl Machine) -> Report {
    let clocks = Clocks {
        wall_ms: || facts.now_ms,
        mono_ms: facts.mono_ms,
        identity: facts.identity,
    };
    judge_by(read, clocks, opts, machine)
}

/// A checker's [`Facts`] as the rules take them: the wall clock is a
/// function, called only when an age is measured on it ([`clock::ages`]).
struct Clocks<'a, W> {
    wall_ms: W,
    mono_ms: Option<u64>,
    identity: &'a Identity,
}

/// This checker's clocks now: `CLOCK_MONOTONIC` read once, the wall clock
/// only for a record that is not on that clock ([`clock::ages`]).
fn now() -> Clocks<'static, fn() -> u64> {
    Clocks {
        wall_ms: clock::wall_ms,
        mono_ms: Some(clock::mono_ms()),
        identity: process::identity(),
    }
}

fn judge_by(
    read: &Read,
    clocks: Clocks<'_, impl FnOnce() -> u64>,
    opts: &CheckOptions,
    machine: &mut impl Machine,
) -> Report {
    let mut rep = Report::empty(Verdict::Invalid, String::new());
    judge_into(read, clocks, opts, machine, &mut rep);
    rep
}

/// [`judge_by`], written over `out`, whose message keeps its room: a
/// caller that judges into one report again and again allocates nothing
/// for it, and a report is not moved from layer to layer.
fn judge_into(
    read: &Read,
    clocks: Clocks<'_, impl FnOnce() -> u64>,
    opts: &CheckOptions,
    machine: &mut impl Machine,
    out: &mut Report,
) {
    let r = match read {
        Read::Missing => return *out = Report::empty(Verdict::Missing, "no file".into()),
        Read::Invalid(why) => return *out = Report::empty(Verdict::Invalid, why.clone()),
        Read::Record(r) => r,
    };
    let max_age_ms = match opts.max_age.map(millis).filter(|&m| m != 0) {
        Some(m) => m,
        None => r
            .stale_after_ms
            .or_else(|| r.interval_ms.map(|i| i.saturating_mul(3)))
            .unwrap_or(DEFAULT_MAX_AGE_MS),
    };
    let id = clocks.identity;
    let ages = clock::ages(r, clocks.wall_ms, clocks.mono_ms, id);
    let mut message = std::mem::take(&mut out.message);
    message.clear();
    message.push_str(r.message.as_deref().unwrap_or_default());
    *out = Report {
        verdict: Verdict::Alive,
        state: r.state,
        pid: r.pid,
        seq: r.seq,
        progress: r.progress.unwrap_or(0),
        progress_at_ms: r.progress_at_ms,
        progress_age_ms: ages.progress_age_ms.unwrap_or(0),
        updated_at_ms: r.updated_at_ms,
        age_ms: ages.age_ms,
        interval_ms: r.interval_ms.unwrap_or(0),
        max_age_ms,
        message,
        shape: r.shape,
        detail: String::new(),
        monotonic: ages.monotonic,
    };
    let (verdict, detail) = rule(r, out, &ages, id, opts, machine);
    out.verdict = verdict;
    out.detail = detail;
}

fn rule(
    r: &Record,
    rep: &Report,
    ages: &clock::Ages,
    id: &Identity,
    opts: &CheckOptions,
    machine: &mut impl Machine,
) -> (Verdict, String) {
    if let Some(want) = opts.expected_pid {
        if want != r.pid {
            return (
                Verdict::PidMismatch,
                format!("expected pid {want}, file names {}", r.pid),
            );
        }
    }
    match r.state {
        Some(State::Stopped) => return (Verdict::Stopped, "state is stopped".into()),
        Some(State::Failed) => return (Verdict::Failed, "state is failed".into()),
        _ => {}
    }
    // The lock is asked only where the process probe cannot already decide:
    // a file of another PID namespace or host, a probe that cannot tell, and
    // a process identified afresh (a PID reused within one clock tick of the
    // start time looks like the writer to /proc; a kept pidfd cannot).
    let lock_free = |machine: &mut dyn FnMut() -> LockProbe| {
        (machine() == LockProbe::Free).then(|| {
            (
                Verdict::ProcessGone,
                format!("pid {}'s lifetime lock is free: it has exited", r.pid),
            )
        })
    };
    let counts = lock::consulted(r, id).is_some();
    if !written_here(r, id) {
        if counts {
            if let Some(gone) = lock_free(&mut || machine.lock(r)) {
                return gone;
            }
        }
        return clock_rules(rep, ages, opts);
    }
    if id.same_boot(r.boot_id.as_deref()) == Some(false) {
        return (
            Verdict::ProcessGone,
            "written during an earlier boot".into(),
        );
    }
    let live = match machine.kept(r) {
        Some(live) => live,
        None => {
            let live = machine.probe(r);
            if live != Liveness::Gone && counts {
                if let Some(gone) = lock_free(&mut || machine.lock(r)) {
                    return gone;
                }
            }
            live
        }
    };
    match live {
        Liveness::Gone => {
            let why = if r.pid_start.is_some() {
                format!("pid {} has exited or was reused", r.pid)
            } else {
                format!("pid {} has exited", r.pid)
            };
            (Verdict::ProcessGone, why)
        }
        // "Cannot tell" is not "gone": the file is judged by age alone.
        Liveness::Unknown => {
            let note = format!(
                "the process probe could not tell whether pid {} is alive; judged by age alone",
                r.pid
            );
            let (verdict, detail) = clock_rules(rep, ages, opts);
            match detail.is_empty() {
                true => (verdict, note),
                false => (verdict, format!("{detail}; {note}")),
            }
        }
        Liveness::Running => clock_rules(rep, ages, opts),
    }
}

/// Rules 6 to 9: future, stale, stalled, alive.
fn clock_rules(rep: &Report, ages: &clock::Ages, opts: &CheckOptions) -> (Verdict, String) {
    if opts.ignore_clock {
        return (Verdict::Alive, String::new());
    }
    let skew = opts.skew.map_or(DEFAULT_SKEW_MS, millis);
    if ages.ahead_ms > skew {
        return (
            Verdict::Future,
            format!("dated {} ms ahead of this clock", ages.ahead_ms),
        );
    }
    if rep.age_ms > rep.max_age_ms {
        return (
            Verdict::Stale,
            format!("{} ms old, max age {} ms", rep.age_ms, rep.max_age_ms),
        );
    }
    if let (Some(limit), Some(idle)) = (opts.stall.map(millis).filter(|&s| s != 0), ages.progress_age_ms) {
        if idle > limit {
            return (
                Verdict::Stalled,
                format!("no progress for {idle} ms, stall limit {limit} ms"),
            );
        }
    }
    (Verdict::Alive, String::new())
}

/// Whether a record was written on this host and in this PID namespace
/// (an absent `host` or `pid_ns` counts as ours): only then may its PID be
/// probed. Host names compare ASCII case-insensitively, as DNS names do; a
/// short name and a fully qualified one are different hosts, and so is an
/// empty one. When the checker cannot know its own host or namespace, a
/// file that names one is not ours: no probe, judged by age alone.
pub fn written_here(r: &Record, id: &Identity) -> bool {
    let host_ok = match (&r.host, &id.host) {
        (None, _) => true,
        (Some(theirs), Some(ours)) => theirs.eq_ignore_ascii_case(ours),
        (Some(_), None) => false,
    };
    let ns_ok = match (r.pid_ns, id.pid_ns) {
        (None, _) => true,
        (Some(theirs), ours) => Some(theirs) == ours,
    };
    host_ok && ns_ok
}

/// A failure of the reader's own while reading a heartbeat: descriptors
/// or memory exhausted, an I/O error, no permission (docs/PROTOCOL.md,
/// section 3.3). It says nothing about the file or its writer: never a
/// verdict, and it may clear (a wait retries it until its deadline).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable {
    /// The system error number, when there is one.
    pub errno: Option<i32>,
    /// What failed, for logs and the report's `detail`.
    pub detail: String,
}

impl From<Unreadable> for crate::Error {
    fn from(u: Unreadable) -> crate::Error {
        match u.errno {
            Some(errno) => crate::Error::caused(
                crate::ErrorKind::CannotTell,
                u.detail,
                &io::Error::from_raw_os_error(errno),
            ),
            None => crate::Error::new(crate::ErrorKind::CannotTell, u.detail),
        }
    }
}

/// What an error met while reading a heartbeat means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadFailure {
    /// A fact about the path: no file there (`ENOENT`).
    Missing,
    /// A fact about the path: it cannot name a heartbeat (`ENOTDIR`,
    /// `ELOOP`, `ENAMETOOLONG`, a NUL byte).
    Invalid(String),
    /// Anything else is the reader's own failure: no verdict.
    Unreadable(Unreadable),
}

/// Classifies an error met while reading a heartbeat (docs/PROTOCOL.md,
/// section 3.3): the few that are facts about the path, and everything else
/// (`EMFILE`, `ENFILE`, `ENOMEM`, `EIO`, `EACCES`, `EPERM`, ...) the
/// reader's own.
pub fn classify(e: &io::Error) -> ReadFailure {
    match e.raw_os_error() {
        Some(libc::ENOENT) => ReadFailure::Missing,
        Some(libc::ENOTDIR) => {
            ReadFailure::Invalid(format!("a component of the path is not a folder: {e}"))
        }
        Some(libc::ELOOP) => ReadFailure::Invalid(format!("a symlink loop: {e}")),
        Some(libc::ENAMETOOLONG) => ReadFailure::Invalid(format!("the path is too long: {e}")),
        None if e.kind() == io::ErrorKind::InvalidInput => {
            ReadFailure::Invalid(format!("not a path: {e}"))
        }
        errno => ReadFailure::Unreadable(Unreadable {
            errno,
            detail: format!("cannot read: {e}"),
        }),
    }
}

/// Reads a path into a [`Read`], or says why the reader could not
/// ([`classify`]). Never opens anything but a regular file, never blocks,
/// never reads more than [`MAX_FILE_BYTES`] + 1 bytes.
///
/// No file at the path, and a dangling symlink, are `Missing`; a FIFO, a
/// device node, a socket or a folder is `Invalid` without being opened.
pub fn read(path: &Path) -> Result<Read, Unreadable> {
    read_with(path, Read::clone)
}

/// [`read`], with the [`Read`] lent to `f` rather than given: a check
/// judges the record where it lies, and bytes identical to the last ones
/// this thread decoded are not decoded again.
pub fn read_with<T>(path: &Path, f: impl FnMut(&Read) -> T) -> Result<T, Unreadable> {
    read_with_c(path, None, f)
}

/// [`read_with`], with the path as a C string too when the caller has one.
fn read_with_c<T>(path: &Path, c: Option<&CStr>, mut f: impl FnMut(&Read) -> T) -> Result<T, Unreadable> {
    read_inner(path, c, &mut f).or_else(|e| match classify(&e) {
        ReadFailure::Missing => Ok(f(&Read::Missing)),
        ReadFailure::Invalid(why) => Ok(f(&Read::Invalid(why))),
        ReadFailure::Unreadable(u) => Err(u),
    })
}

/// [`read`], with a reader-side failure read as `Invalid` (its reason in
/// the text). For callers that only need the record when there is one;
/// a checker uses [`read`].
pub fn read_path(path: &Path) -> Read {
    read(path).unwrap_or_else(|u| Read::Invalid(u.detail))
}

/// The heartbeat's bytes, read with the fewest system calls that keep the
/// promises of docs/PROTOCOL.md 3.4: one `stat` of the path (not following
/// a symlink in its last component), and only when that says a regular file
/// of at most [`MAX_FILE_BYTES`], one `open` (`O_NONBLOCK | O_NOCTTY |
/// O_NOFOLLOW`), one `read` of one byte more than the size, one `close`. A
/// symlink's target is opened pinned ([`lock::open_pinned`]).
fn read_inner<T>(path: &Path, c: Option<&CStr>, f: &mut impl FnMut(&Read) -> T) -> io::Result<T> {
    match c {
        Some(c) => read_c(c, path, f),
        None => with_c_path(path, |c| read_c(c, path, f)),
    }
}

/// [`read_inner`], with `path` as a C string too.
fn read_c<T>(c: &CStr, path: &Path, f: &mut impl FnMut(&Read) -> T) -> io::Result<T> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: a NUL-terminated path and room for a stat.
    if unsafe { libc::fstatat(libc::AT_FDCWD, c.as_ptr(), st.as_mut_ptr(), libc::AT_SYMLINK_NOFOLLOW) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a successful stat filled it.
    let st = unsafe { st.assume_init() };
    if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
        // A symlink can be repointed at anything, by anyone who may
        // write its folder: its target is pinned and only a regular
        // file reopened (no window at all, at two calls more).
        return match lock::open_pinned(path, true, |m| m.len() <= MAX_FILE_BYTES)? {
            Some((file, meta)) => read_open(file.as_raw_fd(), meta.len() as usize, f),
            None => Ok(f(&Read::Invalid(format!(
                "the symlink's target is not a regular file of at most {MAX_FILE_BYTES} bytes"
            )))),
        };
    }
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        // Decided from the metadata, never opened: a writer blocked on
        // a FIFO stays blocked, no device driver runs.
        return Ok(f(&Read::Invalid("not a regular file".into())));
    }
    let size = st.st_size.max(0) as u64;
    if size > MAX_FILE_BYTES {
        return Ok(f(&Read::Invalid(format!(
            "file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit"
        ))));
    }
    // O_NOFOLLOW: a symlink swapped in since the stat is refused (ELOOP).
    let flags =
        libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC | libc::O_NOFOLLOW;
    let fd = crate::sys::open(c, flags, 0)?;
    read_open(fd.as_raw_fd(), size as usize, f)
}

/// Reads an opened heartbeat of `expect` bytes (as stat said) and decodes
/// it. One read of one byte more than that: a short read of a regular file
/// is its end, so the common case costs a single read, into the stack.
fn read_open<T>(fd: RawFd, expect: usize, f: &mut impl FnMut(&Read) -> T) -> io::Result<T> {
    const STACK: usize = 4096;
    // Not zeroed first: the read writes what is looked at.
    let mut small = std::mem::MaybeUninit::<[u8; STACK]>::uninit();
    let mut big = Vec::new();
    let (buf, len): (*mut u8, usize) = if expect < STACK {
        (small.as_mut_ptr().cast(), expect + 1)
    } else {
        big.reserve_exact(expect + 1);
        (big.as_mut_ptr(), expect + 1)
    };
    // SAFETY: `buf` is valid for writes of `len` bytes (the stack array or
    // the reserved capacity) and outlives the call.
    let n = unsafe { crate::sys::read_raw(fd, buf, len) }?;
    // SAFETY: the read initialised the first `n` bytes.
    let got = unsafe { std::slice::from_raw_parts(buf, n) };
    if n < len {
        return Ok(with_decoded(got, f));
    }
    // The file grew after the stat (rewritten in place by a writer that
    // does not replace atomically): read the rest, bounded.
    let mut all = got.to_vec();
    let mut chunk = [0u8; 4096];
    while (all.len() as u64) <= MAX_FILE_BYTES {
        match crate::sys::read(fd, &mut chunk)? {
            0 => break,
            k => all.extend_from_slice(&chunk[..k]),
        }
    }
    if all.len() as u64 > MAX_FILE_BYTES {
        return Ok(f(&Read::Invalid(format!(
            "file is over the {MAX_FILE_BYTES}-byte limit"
        ))));
    }
    Ok(with_decoded(&all, f))
}

fn decoded(bytes: &[u8]) -> Read {
    #[cfg(test)]
    tests::DECODES.with(|n| n.set(n.get() + 1));
    match decode(bytes) {
        Ok(r) => Read::Record(r),
        Err(e) => Read::Invalid(e.0),
    }
}

/// The last heartbeat this thread decoded, and its bytes (`None` before
/// the first: no bytes, not even empty ones, have been decoded yet).
struct Memo {
    bytes: Vec<u8>,
    read: Option<Read>,
}

/// Heartbeats up to this size are remembered (one per thread).
const MEMO_BYTES: usize = 4096;

thread_local! {
    static MEMO: std::cell::RefCell<Memo> = const {
        std::cell::RefCell::new(Memo { bytes: Vec::new(), read: None })
    };
}

/// Calls `f` with the decoding of `bytes`. Decoding is a pure function of
/// the bytes, so bytes identical to the last ones this thread decoded are
/// not decoded again: a checker that reads more often than the emitter
/// writes (a probe, a wait woken by other files) pays for one comparison.
/// Bytes that differ cost one copy more than a plain decode.
fn with_decoded<T>(bytes: &[u8], f: &mut impl FnMut(&Read) -> T) -> T {
    if bytes.len() <= MEMO_BYTES {
        let judged = MEMO.try_with(|memo| {
            // Never nested in practice; a nested use decodes afresh.
            let mut memo = memo.try_borrow_mut().ok()?;
            let memo = &mut *memo;
            let read = match &memo.read {
                Some(read) if memo.bytes == bytes => read,
                _ => {
                    // Decoded first: a panic in it leaves the memo as it was.
                    let read = decoded(bytes);
                    memo.bytes.clear();
                    memo.bytes.extend_from_slice(bytes);
                    memo.read.insert(read)
                }
            };
            Some(f(read))
        });
        if let Ok(Some(t)) = judged {
            return t;
        }
    }
    f(&decoded(bytes))
}

/// Calls `f` with `path` as a C string, on the stack.
fn with_c_path<T>(path: &Path, f: impl FnOnce(&CStr) -> io::Result<T>) -> io::Result<T> {
    crate::write::with_c_path(&[path.as_os_str().as_bytes()], f)
}

/// The checker's wall clock, Unix milliseconds.
pub fn now_ms() -> u64 {
    clock::wall_ms()
}

impl Facts<'static> {
    /// This checker's facts now: both clocks and this machine's identity.
    pub fn current() -> Facts<'static> {
        Facts {
            now_ms: clock::wall_ms(),
            mono_ms: Some(clock::mono_ms()),
            identity: process::identity(),
        }
    }
}

/// The real machine: the process probe with its kept pidfds, and the
/// lock file of the heartbeat at `path` (kept open across the judgements
/// of one check or one wait).
pub struct Live<'a> {
    path: &'a Path,
    identity: &'a Identity,
    kept_lock: Option<lock::Probe>,
    /// The pidfd of a process just found running for a record whose lock
    /// is asked next: kept only when that lock is held.
    fresh: Option<std::os::fd::OwnedFd>,
}

impl<'a> Live<'a> {
    /// The machine as seen by a checker of the heartbeat at `path`.
    pub fn new(path: &'a Path, identity: &'a Identity) -> Live<'a> {
        Live {
            path,
            identity,
            kept_lock: None,
            fresh: None,
        }
    }

    /// Closes the lock probe kept across judgements: a reader short of
    /// descriptors opens the lock file per look instead.
    pub fn forget_lock(&mut self) {
        self.kept_lock = None;
    }
}

impl Machine for Live<'_> {
    fn kept(&mut self, r: &Record) -> Option<Liveness> {
        kept_writer(r, self.identity)
    }
    fn probe(&mut self, r: &Record) -> Liveness {
        if lock::consulted(r, self.identity).is_none() {
            return process::probe(r.pid, r.pid_start);
        }
        let (live, fd) = process::probe_afresh(r.pid, r.pid_start);
        self.fresh = fd;
        live
    }
    fn lock(&mut self, r: &Record) -> LockProbe {
        let found = lock::probe_record_kept(self.path, r, self.identity, &mut self.kept_lock);
        if let (LockProbe::Held, Some(fd)) = (found, self.fresh.take()) {
            // The writer's lock is held and its process verified: from now
            // on one poll of its pidfd answers for records of this lock.
            process::keep(r.pid, r.pid_start, lock::consulted(r, self.identity), fd);
        }
        found
    }
}

/// What the process probe already holds about the writer of `r`, keyed as
/// every checker keys it: by PID, start time and the lifetime lock that
/// `id` may consult (see [`process::keep`]). `None` when nothing is kept.
pub fn kept_writer(r: &Record, id: &Identity) -> Option<Liveness> {
    process::kept_for(r.pid, r.pid_start, lock::consulted(r, id))
}

/// Reads the heartbeat at `path` and judges it with `machine`. A
/// `process_gone` is confirmed by a second read: an emitter writes its last
/// record (`stopped`) before it exits and releases its lock, so a record
/// read just before a clean stop is judged by the record that stop wrote.
pub fn observe_and_judge(
    path: &Path,
    opts: &CheckOptions,
    machine: &mut impl Machine,
) -> Result<Report, Unreadable> {
    let mut rep = Report::empty(Verdict::Invalid, String::new());
    observe_and_judge_into(path, None, opts, machine, &mut rep)?;
    Ok(rep)
}

/// [`observe_and_judge`], written over `out` (see [`try_check_into`]).
fn observe_and_judge_into(
    path: &Path,
    c: Option<&CStr>,
    opts: &CheckOptions,
    machine: &mut impl Machine,
    out: &mut Report,
) -> Result<(), Unreadable> {
    read_with_c(path, c, |first| judge_into(first, now(), opts, machine, out))?;
    if out.verdict == Verdict::ProcessGone {
        // The rare case that is confirmed by a second read: with owned reads.
        *out = observe_and_judge_by(|| read(path), opts, machine)?.1;
    }
    Ok(())
}

/// [`observe_and_judge`] with its own way of reading the heartbeat; also
/// gives the [`Read`] that was judged.
pub fn observe_and_judge_by(
    mut read: impl FnMut() -> Result<Read, Unreadable>,
    opts: &CheckOptions,
    machine: &mut impl Machine,
) -> Result<(Read, Report), Unreadable> {
    let first = read()?;
    let rep = judge_by(&first, now(), opts, machine);
    if rep.verdict != Verdict::ProcessGone {
        return Ok((first, rep));
    }
    let again = read()?;
    if again == first {
        return Ok((first, rep));
    }
    let rep = judge_by(&again, now(), opts, machine);
    Ok((again, rep))
}

/// Checks a heartbeat file: reads it, applies the verdict rules with this
/// machine's facts and a real process probe. An error
/// ([`ErrorKind::CannotTell`](crate::ErrorKind::CannotTell)) when the
/// checker could not read the file for a reason of its own (descriptors or
/// memory exhausted, an I/O error, no permission: docs/PROTOCOL.md 3.3),
/// its I/O error as the error's `source()`: no verdict then.
pub fn try_check(path: impl AsRef<Path>, opts: &CheckOptions) -> crate::Result<Report> {
    let mut rep = Report::empty(Verdict::Invalid, String::new());
    try_check_into(path, opts, &mut rep)?;
    Ok(rep)
}

/// [`try_check`], with the report written over `out`: a loop that checks
/// into one report (a probe, a binding) reuses its message's room and
/// allocates nothing for it. On an error no verdict was reached, and
/// `out` is not a report of this check.
pub fn try_check_into(path: impl AsRef<Path>, opts: &CheckOptions, out: &mut Report) -> crate::Result<()> {
    let path = path.as_ref();
    let mut live = Live::new(path, process::identity());
    Ok(observe_and_judge_into(path, None, opts, &mut live, out)?)
}

/// [`try_check_into`] of a path that the caller holds as a C string (the
/// C ABI's): the check's system calls take it as it is.
#[cfg(feature = "internals")]
pub fn try_check_c_into(path: &CStr, opts: &CheckOptions, out: &mut Report) -> crate::Result<()> {
    let p = Path::new(std::ffi::OsStr::from_bytes(path.to_bytes()));
    let mut live = Live::new(p, process::identity());
    Ok(observe_and_judge_into(p, Some(path), opts, &mut live, out)?)
}

/// [`try_check`], with a reader-side failure reported as verdict `invalid`
/// (its reason in `detail`, starting "cannot read"). Prefer `try_check`,
/// which tells such a failure from a fact about the file.
pub fn check(path: impl AsRef<Path>, opts: &CheckOptions) -> Report {
    try_check(path, opts).unwrap_or_else(|e| Report::empty(Verdict::Invalid, e.message))
}

/// Whether the file's verdict is `alive`, with `max_age` overriding the
/// file's own max age (`None`: the file's own rule).
///
/// ```no_run
/// # use std::time::Duration;
/// if lifesign::is_alive("/run/app.json", Some(Duration::from_secs(10))) {
///     println!("app is alive");
/// }
/// ```
pub fn is_alive(path: impl AsRef<Path>, max_age: Option<Duration>) -> bool {
    check(
        path,
        &CheckOptions {
            max_age,
            ..CheckOptions::default()
        },
    )
    .is_alive()
}

/// Checks every heartbeat file in a folder, as one snapshot: each writer's
/// process is probed once however many files it wrote.
///
/// Lists the entries in name order, skipping lifesign temporaries, lifetime
/// lock files and subfolders (a heartbeat is a file, never a folder); anything else,
/// including a file that is not a heartbeat, gets a report (`invalid` with
/// its `detail`). Fails when the folder cannot be listed. A file that the
/// checker could not read for a reason of its own reads `invalid`, its
/// `detail` starting "cannot read" (see [`try_scan`]).
pub fn scan(dir: impl AsRef<Path>, opts: &CheckOptions) -> io::Result<Vec<(PathBuf, Report)>> {
    Ok(try_scan(dir, opts)?
        .into_iter()
        .map(|(p, r)| {
            let r = r.unwrap_or_else(|u| Report::empty(Verdict::Invalid, u.detail));
            (p, r)
        })
        .collect())
}

/// [`scan`], with each file's reader-side failure kept as such.
pub fn try_scan(
    dir: impl AsRef<Path>,
    opts: &CheckOptions,
) -> io::Result<Vec<(PathBuf, Result<Report, Unreadable>)>> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir.as_ref())? {
        let entry = entry?;
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        let name = entry.file_name();
        let name = name.as_bytes();
        if !is_dir && crate::write::temp_writer_pid(name).is_none() && !lock::is_lock_name(name) {
            paths.push(entry.path());
        }
    }
    paths.sort();
    let mut probed = HashMap::new();
    let identity = process::identity();
    Ok(paths
        .into_iter()
        .map(|path| {
            let mut m = Snapshot {
                live: Live::new(&path, identity),
                probed: &mut probed,
            };
            let report = observe_and_judge(&path, opts, &mut m);
            (path, report)
        })
        .collect())
}

/// The machine of a scan: one probe per process for the whole folder.
struct Snapshot<'a, 'b> {
    live: Live<'a>,
    probed: &'b mut HashMap<(u32, Option<u64>), Liveness>,
}

impl Machine for Snapshot<'_, '_> {
    fn kept(&mut self, r: &Record) -> Option<Liveness> {
        self.live.kept(r)
    }
    fn probe(&mut self, r: &Record) -> Liveness {
        // One /proc read per process for the whole folder; each record's
        // own lock is still asked where it counts.
        if let Some(l) = self.probed.get(&(r.pid, r.pid_start)) {
            return *l;
        }
        let l = self.live.probe(r);
        self.probed.insert((r.pid, r.pid_start), l);
        l
    }
    fn lock(&mut self, r: &Record) -> LockProbe {
        self.live.lock(r)
    }
}


/// What a relay publishes for one entry of a folder (see [`check_entry`]).
#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct FolderEntry {
    /// The check's report, as [`check`] gives it.
    pub report: Report,
    /// The record that was judged, encoded again as JSON (the fields the
    /// protocol knows and `meta`): `None` when the entry held no valid
    /// heartbeat, so that a file that is not one never has its content
    /// published.
    pub record: Option<Vec<u8>>,
    /// The record's PID and start time when it may be probed here (written
    /// on this host, in this PID namespace): the only PIDs worth a pidfd.
    pub local_pid: Option<(u32, Option<u64>)>,
}

/// Checks the entry `name` of folder `dir` through the same read as
/// [`try_check`] (never blocking, never opening anything but a regular file,
/// bounded, the same machine), and follows a symlink only to a file inside
/// `dir`: a symlink that leads out of the folder is `invalid` and is not
/// opened. An error when the reader could not read the entry for a reason
/// of its own ([`classify`]): no verdict then. For the relay, which reads
/// folders that others write and publishes what it read.
#[doc(hidden)]
pub fn check_entry(
    dir: &Path,
    name: &std::ffi::OsStr,
    opts: &CheckOptions,
) -> Result<FolderEntry, Unreadable> {
    let path = dir.join(name);
    let identity = process::identity();
    let mut live = Live::new(&path, identity);
    let (read, report) = observe_and_judge_by(|| read_in_folder(dir, &path), opts, &mut live)?;
    let (record, local_pid) = match &read {
        Read::Record(r) => (
            Some(crate::protocol::encode(r)),
            written_here(r, identity).then_some((r.pid, r.pid_start)),
        ),
        _ => (None, None),
    };
    Ok(FolderEntry {
        report,
        record,
        local_pid,
    })
}

/// [`read`] of `path`, an entry of `dir`, pinned without following a
/// symlink; a symlink is pinned through to its target, which is read only
/// when it lies inside `dir` (its real path, as `/proc` tells it for the
/// pinned target, so that a swap after the look cannot redirect the read).
fn read_in_folder(dir: &Path, path: &Path) -> Result<Read, Unreadable> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let pin = |extra: i32| {
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_CLOEXEC | extra)
            .open(path)
    };
    let link = match pin(libc::O_NOFOLLOW).and_then(|f| f.metadata()) {
        Ok(m) => m.file_type().is_symlink(),
        Err(_) => return read(path),
    };
    if !link {
        return read(path);
    }
    let target = match pin(0) {
        Ok(f) => f,
        Err(_) => return read(path),
    };
    let fd_path = PathBuf::from(format!("/proc/self/fd/{}", target.as_raw_fd()));
    let (Ok(real), Ok(folder)) = (std::fs::read_link(&fd_path), std::fs::canonicalize(dir)) else {
        return read(path);
    };
    if !real.starts_with(&folder) || real == folder {
        return Ok(Read::Invalid(format!(
            "a symlink to {}, outside its folder: not followed",
            real.display()
        )));
    }
    read(&fd_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000_000;

    fn ours() -> Identity {
        Identity {
            host: Some("here".into()),
            boot_id: Some("boot-a".into()),
            pid_ns: Some(111),
            time_ns: Some(222),
        }
    }

    fn rec() -> Record {
        Record {
            v: 1,
            pid: 100,
            state: Some(State::Ready),
            seq: 5,
            updated_at_ms: NOW - 500,
            interval_ms: Some(1000),
            host: Some("here".into()),
            boot_id: Some("boot-a".into()),
            pid_ns: Some(111),
            pid_start: Some(77),
            progress: Some(3),
            progress_at_ms: Some(NOW - 400),
            shape: Shape::V1,
            ..Record::default()
        }
    }

    fn run_with(r: Record, opts: CheckOptions, live: Liveness) -> (Verdict, bool) {
        let id = ours();
        let mut probed = false;
        let rep = verdict(
            &Read::Record(r),
            Facts {
                now_ms: NOW,
                mono_ms: None,
                identity: &id,
            },
            &opts,
            |_, _| {
                probed = true;
                live
            },
        );
        (rep.verdict, probed)
    }

    /// The whole report for a record, with the default options.
    fn report_of(r: Record, live: Liveness) -> Report {
        report_with(r, &ours(), live)
    }

    fn report_with(r: Record, id: &Identity, live: Liveness) -> Report {
        verdict(
            &Read::Record(r),
            Facts {
                now_ms: NOW,
                mono_ms: None,
                identity: id,
            },
            &CheckOptions::default(),
            |_, _| live,
        )
    }

    fn run(r: Record) -> Verdict {
        run_with(r, CheckOptions::default(), Liveness::Running).0
    }

    /// A record written at monotonic 10 000 ms on our boot and time
    /// namespace, judged at `mono` with the wall clock at `wall`.
    fn on_our_clock(r: Record, wall: u64, mono: u64, opts: CheckOptions) -> Report {
        let r = Record {
            updated_mono_ms: Some(10_000),
            progress_mono_ms: Some(10_000),
            time_ns: Some(222),
            ..r
        };
        let id = ours();
        let facts = Facts {
            now_ms: wall,
            mono_ms: Some(mono),
            identity: &id,
        };
        verdict(&Read::Record(r), facts, &opts, |_, _| Liveness::Running)
    }

    #[test]
    fn wall_clock_steps_of_an_hour_either_way_leave_a_fresh_file_alive() {
        const HOUR: u64 = 3_600_000;
        for wall in [NOW + HOUR, NOW - HOUR] {
            let rep = on_our_clock(rec(), wall, 10_100, CheckOptions::default());
            assert_eq!(
                (rep.verdict, rep.age_ms, rep.monotonic),
                (Verdict::Alive, 100, true)
            );
        }
        // The same steps on the wall clock alone.
        assert_eq!(
            run(Record {
                updated_at_ms: NOW - HOUR,
                ..rec()
            }),
            Verdict::Stale
        );
        assert_eq!(
            run(Record {
                updated_at_ms: NOW + HOUR,
                ..rec()
            }),
            Verdict::Future
        );
    }

    #[test]
    fn monotonic_age_decides_stale_future_and_stalled() {
        let plain = CheckOptions::default();
        let stall = CheckOptions {
            stall: Some(Duration::from_millis(100)),
            ..plain
        };
        // Written at monotonic 10 000; max age 3 x interval = 3000 ms.
        for (mono, opts, want) in [
            (13_000, plain, Verdict::Alive),
            (13_001, plain, Verdict::Stale),
            (8_000, plain, Verdict::Alive),
            (7_999, plain, Verdict::Future),
            (10_100, stall, Verdict::Alive),
            (10_101, stall, Verdict::Stalled),
        ] {
            let got = on_our_clock(rec(), NOW, mono, opts).verdict;
            assert_eq!(got, want, "at monotonic {mono}");
        }
    }

    #[test]
    fn a_stall_limit_on_progress_mono_ms_alone_decides_nothing() {
        let r = Record {
            progress_at_ms: None,
            ..rec()
        };
        let stall = CheckOptions {
            stall: Some(Duration::from_millis(1)),
            ..Default::default()
        };
        // Monotonic progress 100 ms old, but no progress_at_ms: rule 8
        // has no progress record to judge.
        let rep = on_our_clock(r, NOW, 10_100, stall);
        assert_eq!((rep.verdict, rep.monotonic), (Verdict::Alive, true));
    }

    #[test]
    fn another_time_namespace_falls_back_to_the_wall_clock() {
        let r = Record {
            updated_mono_ms: Some(10_000),
            time_ns: Some(999),
            ..rec()
        };
        let id = ours();
        let facts = Facts {
            now_ms: NOW,
            mono_ms: Some(10_000 + 3_600_000),
            identity: &id,
        };
        let rep = verdict(&Read::Record(r), facts, &CheckOptions::default(), |_, _| {
            Liveness::Running
        });
        assert_eq!(
            (rep.verdict, rep.age_ms, rep.monotonic),
            (Verdict::Alive, 500, false)
        );
    }

    #[test]
    fn fresh_file_of_a_running_process_is_alive() {
        assert_eq!(run(rec()), Verdict::Alive);
    }

    #[test]
    fn missing_and_invalid_reads_come_first() {
        let id = ours();
        let f = Facts {
            now_ms: NOW,
            mono_ms: None,
            identity: &id,
        };
        let o = CheckOptions::default();
        let never = |_, _| -> Liveness { panic!("no probe for an unread file") };
        assert_eq!(
            verdict(&Read::Missing, f, &o, never).verdict,
            Verdict::Missing
        );
        let rep = verdict(&Read::Invalid("x".into()), f, &o, never);
        assert_eq!((rep.verdict, rep.state), (Verdict::Invalid, None));
    }

    #[test]
    fn pid_mismatch_wins_over_state_and_process() {
        let opts = CheckOptions {
            expected_pid: Some(101),
            ..Default::default()
        };
        let mut r = rec();
        r.state = Some(State::Failed);
        assert_eq!(run_with(r, opts, Liveness::Gone).0, Verdict::PidMismatch);
    }

    #[test]
    fn stopped_and_failed_come_before_the_process_probe() {
        for (s, v) in [
            (State::Stopped, Verdict::Stopped),
            (State::Failed, Verdict::Failed),
        ] {
            let mut r = rec();
            r.state = Some(s);
            let (got, probed) = run_with(r, CheckOptions::default(), Liveness::Gone);
            assert_eq!(got, v);
            assert!(!probed);
        }
    }

    #[test]
    fn exited_or_reused_pid_is_process_gone_even_when_fresh() {
        assert_eq!(
            run_with(rec(), CheckOptions::default(), Liveness::Gone).0,
            Verdict::ProcessGone
        );
    }

    #[test]
    fn earlier_boot_is_process_gone_without_a_probe() {
        let mut r = rec();
        r.boot_id = Some("boot-old".into());
        let (v, probed) = run_with(r, CheckOptions::default(), Liveness::Running);
        assert_eq!(v, Verdict::ProcessGone);
        assert!(!probed);
    }

    #[test]
    fn other_host_or_namespace_is_never_probed() {
        let mut r = rec();
        r.host = Some("elsewhere".into());
        r.boot_id = Some("their-boot".into());
        assert_eq!(
            run_with(r, CheckOptions::default(), Liveness::Gone),
            (Verdict::Alive, false)
        );
        let mut r = rec();
        r.pid_ns = Some(222);
        assert_eq!(
            run_with(r, CheckOptions::default(), Liveness::Gone),
            (Verdict::Alive, false)
        );
    }

    #[test]
    fn absent_host_and_namespace_count_as_ours() {
        let mut r = rec();
        r.host = None;
        r.pid_ns = None;
        r.boot_id = None;
        assert_eq!(
            run_with(r, CheckOptions::default(), Liveness::Gone),
            (Verdict::ProcessGone, true)
        );
    }

    #[test]
    fn future_timestamp_is_never_fresh() {
        let mut r = rec();
        r.updated_at_ms = NOW + DEFAULT_SKEW_MS + 1;
        assert_eq!(run(r.clone()), Verdict::Future);
        r.updated_at_ms = NOW + DEFAULT_SKEW_MS;
        assert_eq!(run(r), Verdict::Alive);
    }

    #[test]
    fn max_age_comes_from_checker_then_file_then_interval_then_default() {
        let mut r = rec();
        r.updated_at_ms = NOW - 2500;
        let with = |m| CheckOptions {
            max_age: Some(Duration::from_millis(m)),
            ..Default::default()
        };
        assert_eq!(
            run_with(r.clone(), with(2000), Liveness::Running).0,
            Verdict::Stale
        );
        assert_eq!(
            run_with(r.clone(), with(0), Liveness::Running).0,
            Verdict::Alive
        );
        r.stale_after_ms = Some(2400);
        assert_eq!(run(r.clone()), Verdict::Stale);
        r.stale_after_ms = None;
        r.interval_ms = Some(800);
        assert_eq!(run(r.clone()), Verdict::Stale);
        r.interval_ms = None;
        r.updated_at_ms = NOW - 30_000;
        assert_eq!(run(r.clone()), Verdict::Alive);
        r.updated_at_ms = NOW - 30_001;
        assert_eq!(run(r), Verdict::Stale);
    }

    #[test]
    fn stall_limit_turns_old_progress_into_stalled() {
        let opts = |s| CheckOptions {
            stall: Some(Duration::from_millis(s)),
            ..Default::default()
        };
        assert_eq!(
            run_with(rec(), opts(300), Liveness::Running).0,
            Verdict::Stalled
        );
        assert_eq!(
            run_with(rec(), opts(400), Liveness::Running).0,
            Verdict::Alive
        );
        let mut r = rec();
        r.progress_at_ms = None;
        assert_eq!(run_with(r, opts(1), Liveness::Running).0, Verdict::Alive);
    }

    #[test]
    fn stale_wins_over_stalled() {
        let mut r = rec();
        r.updated_at_ms = NOW - 10_000;
        let opts = CheckOptions {
            stall: Some(Duration::from_millis(1)),
            ..Default::default()
        };
        assert_eq!(run_with(r, opts, Liveness::Running).0, Verdict::Stale);
    }

    #[test]
    fn ignore_clock_skips_time_rules_but_not_the_probe() {
        let mut r = rec();
        r.updated_at_ms = NOW + 1_000_000;
        let opts = CheckOptions {
            ignore_clock: true,
            ..Default::default()
        };
        assert_eq!(
            run_with(r.clone(), opts, Liveness::Running).0,
            Verdict::Alive
        );
        assert_eq!(run_with(r, opts, Liveness::Gone).0, Verdict::ProcessGone);
    }

    fn run_locked(r: Record, lock: LockProbe, live: Liveness) -> (Verdict, bool) {
        let id = ours();
        let mut probed = false;
        let rep = verdict_with_lock(
            &Read::Record(r),
            Facts {
                now_ms: NOW,
                mono_ms: None,
                identity: &id,
            },
            &CheckOptions::default(),
            lock,
            |_, _| {
                probed = true;
                live
            },
        );
        (rep.verdict, probed)
    }

    #[test]
    fn a_free_lifetime_lock_is_process_gone_from_any_namespace() {
        let mut r = rec();
        r.lock_ino = Some(9);
        r.lock_dev = Some(3);
        // Same pid and start time, other host name and PID namespace (a
        // container on this kernel): the lock alone decides, without a probe.
        r.host = Some("sidecar".into());
        r.pid_ns = Some(222);
        assert_eq!(
            run_locked(r, LockProbe::Free, Liveness::Running),
            (Verdict::ProcessGone, false)
        );
        // In our namespace the lock decides even where a fresh probe finds
        // the pid and start time (a PID reused within one tick).
        let mut r = rec();
        r.lock_ino = Some(9);
        r.lock_dev = Some(3);
        assert_eq!(
            run_locked(r, LockProbe::Free, Liveness::Running),
            (Verdict::ProcessGone, true)
        );
    }

    #[test]
    fn a_held_lifetime_lock_decides_nothing() {
        let mut r = rec();
        r.lock_ino = Some(9);
        r.lock_dev = Some(3);
        assert_eq!(
            run_locked(r.clone(), LockProbe::Held, Liveness::Gone),
            (Verdict::ProcessGone, true)
        );
        assert_eq!(
            run_locked(r, LockProbe::Held, Liveness::Running),
            (Verdict::Alive, true)
        );
    }

    #[test]
    fn a_lock_finding_counts_only_for_a_record_that_claims_one_on_this_kernel() {
        assert_eq!(
            run_locked(rec(), LockProbe::Free, Liveness::Running),
            (Verdict::Alive, true)
        );
        let mut r = rec();
        r.lock_ino = Some(9);
        r.lock_dev = Some(3);
        r.boot_id = Some("boot-old".into());
        assert_eq!(
            run_locked(r, LockProbe::Free, Liveness::Running).0,
            Verdict::ProcessGone,
            "an earlier boot, by the boot rule"
        );
        let mut r = rec();
        r.lock_ino = Some(9);
        r.lock_dev = Some(3);
        r.host = Some("elsewhere".into());
        r.boot_id = Some("their-boot".into());
        assert_eq!(
            run_locked(r, LockProbe::Free, Liveness::Gone),
            (Verdict::Alive, false)
        );
    }

    /// A machine with fixed answers that counts the questions asked.
    #[derive(Default)]
    struct Asked {
        kept: Option<Liveness>,
        live: Option<Liveness>,
        lock: LockProbe,
        probes: u32,
        locks: u32,
    }

    impl Machine for Asked {
        fn kept(&mut self, _: &Record) -> Option<Liveness> {
            self.kept
        }
        fn probe(&mut self, _: &Record) -> Liveness {
            self.probes += 1;
            self.live.unwrap_or(Liveness::Unknown)
        }
        fn lock(&mut self, _: &Record) -> LockProbe {
            self.locks += 1;
            self.lock
        }
    }

    fn judged(r: Record, m: &mut Asked) -> Verdict {
        let id = ours();
        let facts = Facts {
            now_ms: NOW,
            mono_ms: None,
            identity: &id,
        };
        judge(&Read::Record(r), facts, &CheckOptions::default(), m).verdict
    }

    fn locked() -> Record {
        Record {
            lock_ino: Some(9),
            lock_dev: Some(3),
            ..rec()
        }
    }

    #[test]
    fn the_lock_is_asked_only_when_the_process_probe_cannot_decide() {
        // A pidfd kept since the writer was verified: one answer, no lock.
        let mut m = Asked {
            kept: Some(Liveness::Running),
            lock: LockProbe::Free,
            ..Asked::default()
        };
        assert_eq!(judged(locked(), &mut m), Verdict::Alive);
        assert_eq!((m.probes, m.locks), (0, 0));
        // A process found gone needs no lock either.
        let mut m = Asked {
            live: Some(Liveness::Gone),
            lock: LockProbe::Held,
            ..Asked::default()
        };
        assert_eq!(judged(locked(), &mut m), Verdict::ProcessGone);
        assert_eq!((m.probes, m.locks), (1, 0));
        // Identified afresh, or not at all: the lock is asked, and decides.
        for live in [Liveness::Running, Liveness::Unknown] {
            let mut m = Asked {
                live: Some(live),
                lock: LockProbe::Free,
                ..Asked::default()
            };
            assert_eq!(judged(locked(), &mut m), Verdict::ProcessGone, "{live:?}");
            assert_eq!((m.probes, m.locks), (1, 1));
        }
    }

    #[test]
    fn an_inode_without_its_device_proves_nothing() {
        let mut r = locked();
        r.lock_dev = None;
        let mut m = Asked {
            live: Some(Liveness::Running),
            lock: LockProbe::Free,
            ..Asked::default()
        };
        assert_eq!(judged(r, &mut m), Verdict::Alive);
        assert_eq!(m.locks, 0);
    }

    #[test]
    fn stopped_comes_before_the_lock() {
        let mut r = rec();
        r.lock_ino = Some(9);
        r.lock_dev = Some(3);
        r.state = Some(State::Stopped);
        assert_eq!(
            run_locked(r, LockProbe::Free, Liveness::Gone).0,
            Verdict::Stopped
        );
    }

    /// Each clock rule at exactly its limit (not yet past it) and one
    /// millisecond past it. The shared vectors run on the real clock, so the
    /// exact edges are pinned here, with a fixed one.
    #[test]
    fn every_clock_limit_is_inclusive_and_one_past_it_decides() {
        let at = |age: u64, mut r: Record| {
            r.updated_at_ms = NOW - age;
            r.progress_at_ms = None;
            r
        };
        let max = |m| CheckOptions {
            max_age: Some(Duration::from_millis(m)),
            ..Default::default()
        };
        let live = Liveness::Running;
        // The checker's max age.
        assert_eq!(run_with(at(5000, rec()), max(5000), live).0, Verdict::Alive);
        assert_eq!(run_with(at(5001, rec()), max(5000), live).0, Verdict::Stale);
        // The file's stale_after_ms.
        let mut r = rec();
        r.stale_after_ms = Some(4000);
        assert_eq!(run(at(4000, r.clone())), Verdict::Alive);
        assert_eq!(run(at(4001, r)), Verdict::Stale);
        // 3 × interval_ms (interval 1000 in rec()).
        assert_eq!(run(at(3000, rec())), Verdict::Alive);
        assert_eq!(run(at(3001, rec())), Verdict::Stale);
        // The 30 s default.
        let mut r = rec();
        r.interval_ms = None;
        assert_eq!(run(at(DEFAULT_MAX_AGE_MS, r.clone())), Verdict::Alive);
        assert_eq!(run(at(DEFAULT_MAX_AGE_MS + 1, r)), Verdict::Stale);
        // The skew tolerance.
        let mut r = rec();
        r.updated_at_ms = NOW + DEFAULT_SKEW_MS;
        assert_eq!(run(r.clone()), Verdict::Alive);
        r.updated_at_ms = NOW + DEFAULT_SKEW_MS + 1;
        assert_eq!(run(r), Verdict::Future);
        // The stall limit.
        let stall = CheckOptions {
            stall: Some(Duration::from_millis(400)),
            ..Default::default()
        };
        let mut r = rec();
        r.progress_at_ms = Some(NOW - 400);
        assert_eq!(run_with(r.clone(), stall, live).0, Verdict::Alive);
        r.progress_at_ms = Some(NOW - 401);
        assert_eq!(run_with(r, stall, live).0, Verdict::Stalled);
    }

    #[test]
    fn three_times_the_largest_interval_does_not_overflow() {
        let mut r = rec();
        r.interval_ms = Some(crate::protocol::MAX_INT);
        r.updated_at_ms = 0;
        let rep = report_of(r, Liveness::Running);
        assert_eq!(rep.max_age_ms, 3 * crate::protocol::MAX_INT);
        assert_eq!(rep.verdict, Verdict::Alive);
    }

    #[test]
    fn a_probe_that_cannot_tell_leaves_the_verdict_to_age() {
        assert_eq!(
            run_with(rec(), CheckOptions::default(), Liveness::Unknown),
            (Verdict::Alive, true)
        );
        let mut r = rec();
        r.updated_at_ms = NOW - 3001;
        assert_eq!(
            run_with(r, CheckOptions::default(), Liveness::Unknown),
            (Verdict::Stale, true)
        );
        let rep = report_of(rec(), Liveness::Unknown);
        assert!(rep.detail.contains("could not tell"), "{}", rep.detail);
    }

    #[test]
    fn host_names_compare_case_insensitively_and_nothing_else_matches() {
        let id = ours();
        let with_host = |h: Option<&str>| Record {
            host: h.map(str::to_owned),
            ..rec()
        };
        assert!(written_here(&with_host(Some("HERE")), &id));
        assert!(written_here(&with_host(None), &id));
        assert!(!written_here(&with_host(Some("here.example.com")), &id));
        assert!(!written_here(&with_host(Some("")), &id));
        let unknown = Identity {
            host: None,
            pid_ns: None,
            ..ours()
        };
        assert!(!written_here(&with_host(Some("here")), &unknown));
        assert!(!written_here(&with_host(None), &unknown), "pid_ns unknown");
    }

    #[test]
    fn an_unknowable_own_boot_id_skips_the_earlier_boot_rule() {
        let unknown = Identity {
            boot_id: None,
            ..ours()
        };
        let mut r = rec();
        r.boot_id = Some("boot-old".into());
        let rep = report_with(r, &unknown, Liveness::Running);
        assert_eq!(rep.verdict, Verdict::Alive);
    }

    #[test]
    fn report_carries_the_file_fields() {
        let mut r = rec();
        r.message = Some("hi".into());
        let rep = report_of(r, Liveness::Running);
        assert_eq!(rep.pid, 100);
        assert_eq!(rep.seq, 5);
        assert_eq!(rep.age_ms, 500);
        assert_eq!(rep.progress, 3);
        assert_eq!(rep.max_age_ms, 3000);
        assert_eq!(rep.message, "hi");
        assert_eq!(rep.state, Some(State::Ready));
    }

    thread_local! {
        /// How many times this thread decoded bytes ([`decoded`]).
        pub(super) static DECODES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    fn decodes() -> usize {
        DECODES.with(|n| n.get())
    }

    fn bytes_of(message: &str) -> Vec<u8> {
        let mut r = rec();
        r.message = Some(message.into());
        crate::protocol::encode(&r)
    }

    #[test]
    fn the_first_read_of_a_thread_is_decoded_even_when_empty() {
        // A fresh thread, whose memo holds nothing yet: not even no bytes.
        std::thread::spawn(|| {
            let empty = with_decoded(b"", &mut |r| r.clone());
            assert!(matches!(empty, Read::Invalid(_)), "{empty:?}");
            assert_eq!(decodes(), 1);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn identical_bytes_are_decoded_once_and_any_change_afresh() {
        let (a, b) = (bytes_of("aaaa"), bytes_of("bbbb"));
        assert_eq!(a.len(), b.len());
        let message = |r: &Read| match r {
            Read::Record(r) => r.message.clone().unwrap_or_default(),
            other => panic!("{other:?}"),
        };
        let before = decodes();
        assert_eq!(with_decoded(&a, &mut |r| message(r)), "aaaa");
        assert_eq!(with_decoded(&a, &mut |r| message(r)), "aaaa");
        assert_eq!(decodes(), before + 1, "the same bytes again are not decoded again");
        // One byte differs, at the same length: decoded afresh.
        assert_eq!(with_decoded(&b, &mut |r| message(r)), "bbbb");
        assert_eq!(with_decoded(&a, &mut |r| message(r)), "aaaa");
        assert_eq!(decodes(), before + 3);
        // Bytes that do not decode are remembered as what they are.
        let bad = b"{\"v\":1}".to_vec();
        for _ in 0..2 {
            assert!(matches!(with_decoded(&bad, &mut |r| r.clone()), Read::Invalid(_)));
        }
        assert_eq!(decodes(), before + 4);
        // Past the remembered size, every read decodes.
        let mut big = rec();
        big.message = Some("m".repeat(MEMO_BYTES));
        let big = crate::protocol::encode(&big);
        with_decoded(&big, &mut |_| ());
        with_decoded(&big, &mut |_| ());
        assert_eq!(decodes(), before + 6);
        // A use inside another decodes on its own and leaves the outer one intact.
        let inner = with_decoded(&a, &mut |outer| {
            let inner = with_decoded(&b, &mut |r| message(r));
            (message(outer), inner)
        });
        assert_eq!(inner, ("aaaa".to_string(), "bbbb".to_string()));
    }

    #[test]
    fn a_file_rewritten_in_place_at_the_same_length_and_time_reads_anew() {
        use std::os::unix::fs::{FileExt, MetadataExt};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hb.json");
        let (a, b) = (bytes_of("aaaa"), bytes_of("bbbb"));
        std::fs::write(&path, &a).unwrap();
        let first = std::fs::metadata(&path).unwrap();
        let Ok(Read::Record(r)) = read(&path) else { panic!() };
        assert_eq!(r.message.as_deref(), Some("aaaa"));
        // The same inode, size and times: only the bytes differ.
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().write_all_at(&b, 0).unwrap();
        let times = [
            libc::timespec { tv_sec: first.atime(), tv_nsec: first.atime_nsec() },
            libc::timespec { tv_sec: first.mtime(), tv_nsec: first.mtime_nsec() },
        ];
        let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid path and two valid timespecs.
        assert_eq!(unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), times.as_ptr(), 0) }, 0);
        let second = std::fs::metadata(&path).unwrap();
        assert_eq!((first.ino(), first.size(), first.mtime_nsec()), (second.ino(), second.size(), second.mtime_nsec()));
        let Ok(Read::Record(r)) = read(&path) else { panic!() };
        assert_eq!(r.message.as_deref(), Some("bbbb"));
        let rep = check(&path, &CheckOptions::default().ignore_clock(true));
        assert_eq!(rep.message, "bbbb", "{rep:?}");
    }
}

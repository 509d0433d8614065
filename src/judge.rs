//! The verdict of a record's bytes under given facts: the rules of
//! [`check`](crate::check()) with no reading and no probing, for a reader that
//! got a record by another route (the `record` of a fleet value, a copy, a
//! test) and observed the world itself.
//!
//! [`judge`] decodes the bytes as a check decodes a file, then applies the
//! same rules (`check::judge`, docs/PROTOCOL.md section 3) with the
//! clocks, identity, lock and process states of an [`Observation`] standing
//! in for the machine. It opens nothing and calls nothing outside the
//! process: the same bytes and observation give the same report anywhere,
//! which is what lets the shared vectors pin every clock, lock and process
//! edge in every language.

use crate::check::{self, CheckOptions, Facts, Machine, Read, Report};
pub use crate::codes::{LockState, ProcessState};
use crate::lock::LockProbe;
use crate::process::{Identity, Liveness};
use crate::protocol::{decode, Record};

/// What a reader observed of the world, for [`judge`]. `Default` is "the
/// Unix epoch, nothing known": every `None` and `Unknown` errs on the side
/// that decides nothing (docs/PROTOCOL.md 3.1, 3.2, 10).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observation {
    /// The reader's wall clock, Unix ms.
    pub now_ms: u64,
    /// The reader's `CLOCK_MONOTONIC`, ms; `None`: ages on the wall clock.
    pub mono_ms: Option<u64>,
    /// The reader's hostname; `None` (or empty): unknown, so a record that
    /// names a host is not written here.
    pub host: Option<String>,
    /// The reader's boot id (`/proc/sys/kernel/random/boot_id`); `None` (or
    /// empty): unknown, so the earlier-boot rule, the monotonic clock and
    /// the lock are not used.
    pub boot_id: Option<String>,
    /// The inode of the reader's PID namespace; `None`: unknown, so a record
    /// that names one is not written here.
    pub pid_ns: Option<u64>,
    /// The inode of the reader's time namespace; `None`: unknown, so ages
    /// are measured on the wall clock.
    pub time_ns: Option<u64>,
    /// What the reader found at the record's lifetime lock (consulted only
    /// where the record claims one on this kernel and the process state
    /// cannot decide).
    pub lock: LockState,
    /// What the reader found about the process the record names.
    pub process: ProcessState,
    /// That process's start time (field 22 of `/proc/<pid>/stat`), compared
    /// with the record's `pid_start`: another value means the PID was
    /// reused. `None`: not known; a running process then cannot be told
    /// from a reused PID, so a record with a `pid_start` is judged as by a
    /// probe that cannot tell.
    pub process_start: Option<u64>,
}

impl Observation {
    /// The reader's identity, an empty host or boot id read as unknown (as
    /// a checker reads its own).
    fn identity(&self) -> Identity {
        let known = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
        Identity {
            host: known(&self.host),
            boot_id: known(&self.boot_id),
            pid_ns: self.pid_ns,
            time_ns: self.time_ns,
        }
    }
}

/// The verdict of a heartbeat record's bytes under an observation: the
/// report [`check`](crate::check()) would give for a file holding `record`,
/// read by a checker that saw what `seen` says. `None` is no file (verdict
/// `missing`); bytes that are not a valid heartbeat are `invalid`, with the
/// reason in `detail`. Pure: opens nothing, probes nothing.
///
/// ```
/// use lifesign::{judge, CheckOptions, Observation, ProcessState, Verdict};
/// let record = br#"{"v":1,"pid":4242,"state":"ready","seq":3,"updated_at_ms":1000,"interval_ms":1000}"#;
/// let seen = Observation { now_ms: 2500, process: ProcessState::Running, ..Observation::default() };
/// assert_eq!(judge(Some(record), &seen, &CheckOptions::default()).verdict, Verdict::Alive);
/// let later = Observation { now_ms: 4001, ..seen.clone() };
/// assert_eq!(judge(Some(record), &later, &CheckOptions::default()).verdict, Verdict::Stale);
/// let exited = Observation { process: ProcessState::Exited, ..seen };
/// assert_eq!(judge(Some(record), &exited, &CheckOptions::default()).verdict, Verdict::ProcessGone);
/// ```
pub fn judge(record: Option<&[u8]>, seen: &Observation, opts: &CheckOptions) -> Report {
    let read = match record.map(decode) {
        None => Read::Missing,
        Some(Ok(r)) => Read::Record(r),
        Some(Err(e)) => Read::Invalid(e.0),
    };
    let identity = seen.identity();
    let facts = Facts {
        now_ms: seen.now_ms,
        mono_ms: seen.mono_ms,
        identity: &identity,
    };
    check::judge(&read, facts, opts, &mut Told(seen))
}

/// The machine of an [`Observation`]: its answers, as a probe and the lock
/// probe would give them.
struct Told<'a>(&'a Observation);

impl Machine for Told<'_> {
    fn kept(&mut self, _: &Record) -> Option<Liveness> {
        None
    }
    fn probe(&mut self, r: &Record) -> Liveness {
        match (self.0.process, r.pid_start, self.0.process_start) {
            (ProcessState::Unknown, _, _) => Liveness::Unknown,
            (ProcessState::Exited, _, _) => Liveness::Gone,
            (ProcessState::Running, Some(theirs), Some(now)) if theirs != now => Liveness::Gone,
            (ProcessState::Running, Some(_), None) => Liveness::Unknown,
            (ProcessState::Running, _, _) => Liveness::Running,
        }
    }
    fn lock(&mut self, _: &Record) -> LockProbe {
        match self.0.lock {
            LockState::Held => LockProbe::Held,
            LockState::Free => LockProbe::Free,
            LockState::Unknown | LockState::Absent => LockProbe::Unknown,
        }
    }
}

//! The process's one beat thread and its writers.
//!
//! The beat thread (`lifesign-beat`) keeps a heap of deadlines, one per
//! running emitter, and never writes a file: when a deadline comes due it
//! puts the emitter on a queue and sets its next deadline on the emitter's
//! own grid. Writer threads (`lifesign-write`) take the queue in order. One
//! writer is enough while writes are fast; when every writer has been
//! inside one write for longer than the overrun limit (half the interval of
//! the next emitter waiting, at most [`OVERRUN_LIMIT`]), the beat thread
//! starts a spare writer, up to [`MAX_WRITERS`], so that a write blocked on
//! one filesystem does not hold back the emitters behind it by more than
//! that limit. A writer that finds no work while another writer is idle
//! ends; the beat thread and the last writer end when the process has no
//! emitter left.
//!
//! An emitter is queued at most once: while its write is queued or running,
//! its deadlines pass without another write, so a blocked emitter costs one
//! writer, never a growing queue.
//!
//! The heap holds weak references: a dropped emitter's entry is discarded
//! when it comes due, or at once when such entries outnumber the live ones.
//!
//! After `fork()` the child has none of these threads: its first emitter
//! makes a new set (the parent's bookkeeping copied into the child is never
//! locked there).

use super::Inner;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::ffi::OsString;
use std::fs::ReadDir;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

/// The most writer threads a process runs at once.
pub(crate) const MAX_WRITERS: usize = 8;
/// The longest a write may run before a spare writer takes over the queue.
pub(crate) const OVERRUN_LIMIT: Duration = Duration::from_millis(50);
/// How long the last writer waits for work before it checks whether the
/// process still has emitters.
pub(crate) const SPARE_IDLE: Duration = Duration::from_secs(2);
/// How early a beat may be written so that beats due close together are
/// served by one wake-up of the beat thread: 1/64 of the interval, at most
/// [`MAX_EARLY`]. The grid does not move: only that one write is early.
pub(crate) fn early(interval: Duration) -> Duration {
    (interval / 64).min(MAX_EARLY)
}
/// The most a beat is written before its deadline.
pub(crate) const MAX_EARLY: Duration = Duration::from_millis(16);
/// Folder entries a cleanup step examines (see [`Beats::sweep`]).
pub(crate) const SWEEP_STEP: usize = 256;

struct Due {
    at: Instant,
    seq: u64,
    interval: Duration,
    emitter: Weak<Inner>,
}

impl PartialEq for Due {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Due {
    // Reversed: BinaryHeap is a max-heap and the earliest deadline comes first.
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

enum Job {
    Beat(Arc<Inner>),
    /// The rest of a folder's cleanup pass.
    Sweep(PathBuf, ReadDir),
}

/// A folder's cleanup: the heartbeat names this process writes there, and
/// whether a pass runs (and must run again for names added meanwhile).
#[derive(Default)]
struct Sweep {
    names: HashMap<OsString, usize>,
    running: bool,
    again: bool,
}

#[derive(Default)]
struct State {
    heap: BinaryHeap<Due>,
    next_seq: u64,
    /// Registered emitters not yet stopped.
    live: usize,
    /// Heap entries of stopped emitters not yet discarded.
    stale: usize,
    queue: VecDeque<Job>,
    writers: usize,
    idle: usize,
    /// The writes in progress: writer id and since when.
    busy: Vec<(u64, Instant)>,
    next_writer: u64,
    timer: bool,
    sweeps: HashMap<PathBuf, Sweep>,
}

/// The beat thread, the writers and their shared state, one per process
/// (per fork generation).
pub(crate) struct Beats {
    generation: u64,
    state: Mutex<State>,
    timer_cv: Condvar,
    work_cv: Condvar,
}

static CURRENT: AtomicPtr<Beats> = AtomicPtr::new(std::ptr::null_mut());

/// The beat machinery of this process: made on first use, and made anew in
/// a child after `fork()` (`generation` changes there).
pub(crate) fn beats(generation: u64) -> &'static Beats {
    loop {
        let p = CURRENT.load(Ordering::Acquire);
        // SAFETY: a non-null pointer in CURRENT comes from Box::into_raw
        // below and is never freed (a replaced one is leaked on purpose: it
        // is the parent's, copied into this child).
        if let Some(b) = unsafe { p.as_ref() } {
            if b.generation == generation {
                return b;
            }
        }
        let fresh = Box::into_raw(Box::new(Beats {
            generation,
            state: Mutex::new(State::default()),
            timer_cv: Condvar::new(),
            work_cv: Condvar::new(),
        }));
        match CURRENT.compare_exchange(p, fresh, Ordering::AcqRel, Ordering::Acquire) {
            // SAFETY: just stored, never freed.
            Ok(_) => return unsafe { &*fresh },
            // SAFETY: not published: ours to free.
            Err(_) => drop(unsafe { Box::from_raw(fresh) }),
        }
    }
}

/// The deadline after `prev`: one interval later, on the emitter's own grid
/// (no drift from the time the write took). After a stall longer than an
/// interval the missed beats are not replayed: the next deadline is the
/// first point of the grid after `now`.
pub(crate) fn next_deadline(prev: Instant, interval: Duration, now: Instant) -> Instant {
    let next = prev + interval;
    if next > now {
        return next;
    }
    let step = interval.as_nanos().max(1);
    let behind = now.saturating_duration_since(prev).as_nanos();
    let k = behind / step + 1;
    let ahead = u64::try_from(k * step).unwrap_or(u64::MAX);
    prev.checked_add(Duration::from_nanos(ahead))
        .unwrap_or(now + interval)
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    // Jobs run outside the lock and catch their panics: the state is
    // consistent whenever the lock is free.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Beats {
    /// Adds an emitter; its first periodic beat is one interval from now.
    /// Starts the beat thread and a writer when the process has none. Fails
    /// only when a thread cannot be started.
    pub(crate) fn register(&'static self, inner: &Arc<Inner>) -> io::Result<()> {
        let mut st = lock(&self.state);
        if st.writers == 0 {
            self.spawn_writer(&mut st)?;
        }
        if !st.timer {
            std::thread::Builder::new()
                .name("lifesign-beat".into())
                .stack_size(super::THREAD_STACK_BYTES)
                .spawn(move || self.run_timer())?;
            st.timer = true;
        }
        let seq = st.next_seq;
        st.next_seq += 1;
        st.heap.push(Due {
            at: Instant::now() + inner.interval,
            seq,
            interval: inner.interval,
            emitter: Arc::downgrade(inner),
        });
        st.live += 1;
        drop(st);
        self.timer_cv.notify_one();
        Ok(())
    }

    /// An emitter stopped: its entry is discarded when it comes due, or now
    /// when stopped entries outnumber the live ones.
    pub(crate) fn unregister(&self) {
        let mut st = lock(&self.state);
        st.live = st.live.saturating_sub(1);
        st.stale += 1;
        if st.live == 0 || (st.stale > 64 && st.stale > st.live) {
            st.heap.retain(|d| {
                d.emitter
                    .upgrade()
                    .is_some_and(|i| !i.stopped.load(Ordering::Relaxed))
            });
            st.stale = 0;
            drop(st);
            self.timer_cv.notify_one();
        }
    }

    fn spawn_writer(&'static self, st: &mut State) -> io::Result<()> {
        let id = st.next_writer;
        std::thread::Builder::new()
            .name("lifesign-write".into())
            .stack_size(super::THREAD_STACK_BYTES)
            .spawn(move || self.run_writer(id))?;
        st.next_writer += 1;
        st.writers += 1;
        st.idle += 1;
        Ok(())
    }

    fn run_timer(&'static self) {
        let mut st = lock(&self.state);
        loop {
            let now = Instant::now();
            let mut queued = 0;
            while let Some(top) = st.heap.peek() {
                if top.at > now + early(top.interval) {
                    break;
                }
                let Some(due) = st.heap.pop() else { break };
                let Some(inner) = due
                    .emitter
                    .upgrade()
                    .filter(|i| !i.stopped.load(Ordering::Relaxed))
                else {
                    st.stale = st.stale.saturating_sub(1);
                    continue;
                };
                let queue_it = !inner.in_flight.swap(true, Ordering::AcqRel);
                st.heap.push(Due {
                    at: next_deadline(due.at, due.interval, now),
                    ..due
                });
                if queue_it {
                    st.queue.push_back(Job::Beat(inner));
                    queued += 1;
                }
            }
            // A busy writer takes the queue before it waits again: wake only
            // the idle ones, once each (a wake-up is a syscall).
            for _ in 0..queued.min(st.idle) {
                self.work_cv.notify_one();
            }
            if st.heap.is_empty() && st.live == 0 {
                st.timer = false;
                drop(st);
                self.work_cv.notify_all();
                return;
            }
            let mut wake = st.heap.peek().map(|d| d.at);
            if let Some(at) = self.overrun(&mut st, now) {
                wake = Some(wake.map_or(at, |w| w.min(at)));
            }
            st = match wake {
                Some(at) => {
                    self.timer_cv
                        .wait_timeout(st, at.saturating_duration_since(now))
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
                None => self.timer_cv.wait(st).unwrap_or_else(|p| p.into_inner()),
            };
        }
    }

    /// When work waits and every writer is inside a write that has run for
    /// longer than the overrun limit, starts a spare writer. Returns when to
    /// look again.
    fn overrun(&'static self, st: &mut State, now: Instant) -> Option<Instant> {
        if st.queue.is_empty() || st.idle > 0 || st.busy.is_empty() {
            return None;
        }
        let limit = match st.queue.front() {
            Some(Job::Beat(i)) => (i.interval / 2).min(OVERRUN_LIMIT),
            _ => OVERRUN_LIMIT,
        };
        let newest = st.busy.iter().map(|b| b.1).max()?;
        if now < newest + limit {
            return Some(newest + limit);
        }
        if st.writers < MAX_WRITERS {
            // A failure here leaves the queue to the writers there are.
            let _ = self.spawn_writer(st);
        }
        None
    }

    fn run_writer(&'static self, id: u64) {
        let mut st = lock(&self.state);
        loop {
            if let Some(job) = st.queue.pop_front() {
                st.idle -= 1;
                st.busy.push((id, Instant::now()));
                drop(st);
                let next = self.run_job(job);
                st = lock(&self.state);
                st.busy.retain(|b| b.0 != id);
                st.idle += 1;
                if let Some(j) = next {
                    st.queue.push_back(j);
                }
                continue;
            }
            // No work: a spare ends when another writer is idle too (one
            // free writer is enough); the last ends with the last emitter.
            if (!st.timer && st.live == 0) || st.idle >= 2 {
                break;
            }
            let (g, waited) = self
                .work_cv
                .wait_timeout(st, SPARE_IDLE)
                .unwrap_or_else(|p| p.into_inner());
            st = g;
            if waited.timed_out() && st.queue.is_empty() && st.live == 0 {
                break;
            }
        }
        st.writers -= 1;
        st.idle -= 1;
    }

    fn run_job(&'static self, job: Job) -> Option<Job> {
        match job {
            Job::Beat(inner) => {
                // A panicking error callback must not take the writer down.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.periodic()));
                inner.in_flight.store(false, Ordering::Release);
                None
            }
            Job::Sweep(dir, entries) => self.sweep_step(dir, entries),
        }
    }

    /// Removes the temporaries that dead writers left in `dir` for the
    /// heartbeat `name` (and the other names this process writes there).
    ///
    /// The rule that keeps a start's cost bounded whatever the folder's
    /// size: the caller examines at most [`SWEEP_STEP`] entries of the
    /// folder; the rest of the pass runs on the writer threads, a step at a
    /// time between beats. One pass runs per folder at a time; names
    /// registered while it runs get a second pass after it.
    pub(crate) fn sweep(&'static self, dir: &Path, name: &OsString) {
        {
            let mut st = lock(&self.state);
            let s = st.sweeps.entry(dir.to_path_buf()).or_default();
            *s.names.entry(name.clone()).or_insert(0) += 1;
            if s.running {
                s.again = true;
                return;
            }
            s.running = true;
        }
        match std::fs::read_dir(dir) {
            Ok(entries) => {
                if let Some(rest) = self.sweep_step(dir.to_path_buf(), entries) {
                    self.queue(rest);
                }
            }
            Err(_) => self.sweep_done(dir),
        }
    }

    /// Queues a job outside a beat; with no writer running (every emitter
    /// stopped meanwhile) one is started, or the job waits for the next
    /// emitter's start.
    fn queue(&'static self, job: Job) {
        let mut st = lock(&self.state);
        st.queue.push_back(job);
        if st.writers == 0 {
            let _ = self.spawn_writer(&mut st);
        }
        drop(st);
        self.work_cv.notify_one();
    }

    /// Forgets a name `sweep` was given (its emitter stopped).
    pub(crate) fn forget(&self, dir: &Path, name: &OsString) {
        let mut st = lock(&self.state);
        if let Some(s) = st.sweeps.get_mut(dir) {
            if let Some(n) = s.names.get_mut(name) {
                *n -= 1;
                if *n == 0 {
                    s.names.remove(name);
                }
            }
            if s.names.is_empty() && !s.running {
                st.sweeps.remove(dir);
            }
        }
    }

    fn sweep_step(&'static self, dir: PathBuf, mut entries: ReadDir) -> Option<Job> {
        let mut found: Vec<(OsString, OsString, u32)> = Vec::new();
        let mut finished = false;
        for _ in 0..SWEEP_STEP {
            let Some(e) = entries.next() else {
                finished = true;
                break;
            };
            let Ok(e) = e else { continue };
            let entry = e.file_name();
            if let Some((name, pid)) = crate::write::temp_owner(entry.as_bytes()) {
                let name = OsString::from_vec(name.to_vec());
                found.push((entry, name, pid));
            }
        }
        if !found.is_empty() {
            let st = lock(&self.state);
            let ours = st.sweeps.get(&dir);
            found.retain(|(_, name, _)| ours.is_some_and(|s| s.names.contains_key(name)));
        }
        for (entry, _, pid) in found {
            if !crate::process::pid_exists(pid) {
                let _ = std::fs::remove_file(dir.join(entry));
            }
        }
        if finished {
            self.sweep_done(&dir);
            return None;
        }
        Some(Job::Sweep(dir, entries))
    }

    fn sweep_done(&'static self, dir: &Path) {
        let again = {
            let mut st = lock(&self.state);
            let Some(s) = st.sweeps.get_mut(dir) else {
                return;
            };
            let again = std::mem::take(&mut s.again);
            if !again {
                s.running = false;
                if s.names.is_empty() {
                    st.sweeps.remove(dir);
                }
            }
            again
        };
        if again {
            match std::fs::read_dir(dir) {
                Ok(entries) => self.queue(Job::Sweep(dir.to_path_buf(), entries)),
                Err(_) => self.sweep_done(dir),
            }
        }
    }

    /// Whether no cleanup pass is running or queued (for tests).
    #[cfg_attr(not(feature = "internals"), allow(dead_code))]
    pub(crate) fn sweeps_idle(&self) -> bool {
        lock(&self.state).sweeps.values().all(|s| !s.running)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_deadline_stays_on_the_grid_and_skips_missed_beats() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        // On time, or late by less than an interval: one interval after the
        // previous deadline, whenever the write ended.
        assert_eq!(next_deadline(t0, s, t0), t0 + s);
        assert_eq!(
            next_deadline(t0, s, t0 + Duration::from_millis(900)),
            t0 + s
        );
        // After a 3.5 s stall: the next point of the grid, no burst.
        assert_eq!(
            next_deadline(t0, s, t0 + Duration::from_millis(3500)),
            t0 + 4 * s
        );
        // Exactly on a grid point: the one after it.
        assert_eq!(next_deadline(t0, s, t0 + 2 * s), t0 + 3 * s);
    }
}

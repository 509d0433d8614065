//! Process identity and probes: our host, boot and PID namespace, the start
//! time of a PID, and whether a process is still the one that wrote a file.
//!
//! A probe of a PID whose identity was verified once keeps a pidfd (close-on-exec)
//! in a small bounded cache, so later checks of the same emitter cost one
//! system call instead of a `/proc` read; each thread also remembers the
//! entry it found last, so a loop of checks of one emitter takes no lock.
//! One epoll instance of the process watches every kept pidfd (see
//! `Kept`): a wait of no time on it answers for all of them at once, at
//! half the cost of a `poll` of one. Where pidfds are missing, `/proc` is
//! read every time.

use once_cell::sync::Lazy;
use std::cell::RefCell;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// What a probe found out about a PID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Liveness {
    /// The process exists (and, where a start time was given, it matches).
    Running,
    /// No such process, a zombie, or another process under a reused PID.
    Gone,
    /// The probe could not tell: the process exists but its `/proc` entry
    /// cannot be read (`hidepid`, another user, `/proc` of another PID
    /// namespace) or the read failed (`EMFILE`). Never taken for gone.
    Unknown,
}

/// The facts about the checker's side that the verdict rules compare against.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    /// Our hostname.
    pub host: Option<String>,
    /// Our boot id.
    pub boot_id: Option<String>,
    /// Our PID namespace inode.
    pub pid_ns: Option<u64>,
    /// Our time namespace inode (see [`time_ns`]).
    pub time_ns: Option<u64>,
}

impl Identity {
    /// Whether a record's `boot_id` names this boot: `None` when either
    /// side does not say. Boot ids compare ASCII case-insensitively (a boot
    /// id is a UUID, whose hex digits read the same in either case, RFC
    /// 9562) and otherwise exactly: whitespace and length count, and an
    /// empty one names no boot (docs/PROTOCOL.md 3.1).
    pub fn same_boot(&self, theirs: Option<&str>) -> Option<bool> {
        let (theirs, ours) = (theirs?, self.boot_id.as_deref()?);
        // Equal bytes first: what a writer of this boot writes.
        Some(theirs == ours || theirs.eq_ignore_ascii_case(ours))
    }
}

/// This machine's identity. A complete identity is read once per process;
/// a field that could not be read (a restricted `/proc`, no descriptor left)
/// is read again by the next call, never kept as unknown.
pub fn identity() -> &'static Identity {
    static COMPLETE: OnceLock<Identity> = OnceLock::new();
    if let Some(id) = COMPLETE.get() {
        return id;
    }
    let id = Identity {
        host: hostname(),
        boot_id: fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty()),
        pid_ns: pid_ns_of("self"),
        time_ns: time_ns(),
    };
    if id.host.is_some() && id.boot_id.is_some() && id.pid_ns.is_some() {
        return COMPLETE.get_or_init(|| id);
    }
    intern(id)
}

/// Keeps one copy of each incomplete identity seen (there are only a few:
/// each field is either unknown or its one value), so that `identity` can
/// hand out a `'static` reference without caching what failed.
fn intern(id: Identity) -> &'static Identity {
    static SEEN: Mutex<Vec<&'static Identity>> = Mutex::new(Vec::new());
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&known) = seen.iter().find(|&&known| *known == id) {
        return known;
    }
    let leaked: &'static Identity = Box::leak(Box::new(id));
    seen.push(leaked);
    leaked
}

/// Whether `/proc` is the proc of our own PID namespace: `/proc/self` names
/// the PID that `getpid` returns. In a PID namespace entered without its own
/// `/proc` (`unshare -p -f` without `--mount-proc`), `/proc/<pid>` is some
/// other process: it must not be read as ours.
pub fn proc_is_ours() -> bool {
    static OURS: OnceLock<()> = OnceLock::new();
    if OURS.get().is_some() {
        return true;
    }
    let named = fs::read_link("/proc/self")
        .ok()
        .and_then(|p| p.to_str()?.parse::<u32>().ok());
    let ours = named == Some(current_pid());
    if ours {
        // A process never leaves its PID namespace: a yes stays a yes.
        let _ = OURS.set(());
    }
    ours
}

fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates
    // when the name fits, and we stop at the first NUL or the end.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
    String::from_utf8(buf[..end].to_vec())
        .ok()
        .filter(|s| !s.is_empty())
}

fn pid_ns_of(who: &str) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(format!("/proc/{who}/ns/pid"))
        .ok()
        .map(|m| m.ino())
}

/// Our own PID.
pub fn current_pid() -> u32 {
    std::process::id()
}

/// Start time of a process (field 22 of `/proc/<pid>/stat`, clock ticks since
/// boot) and whether it is a zombie; `None` when there is no such process or
/// it cannot be read (see `read_stat`).
pub fn stat_of(pid: u32) -> Option<(u64, bool)> {
    read_stat(pid).ok()
}

/// Reads `/proc/<pid>/stat`. Our own entry is read through `/proc/self`,
/// which is right whichever PID namespace `/proc` belongs to; another PID
/// is refused (`Unsupported`) when `/proc` is not our namespace's.
fn read_stat(pid: u32) -> io::Result<(u64, bool)> {
    let path = if pid == current_pid() {
        return read_own_stat();
    } else if proc_is_ours() {
        format!("/proc/{pid}/stat")
    } else {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "/proc belongs to another PID namespace",
        ));
    };
    let text = fs::read_to_string(path)?;
    parse_stat(&text).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unreadable stat"))
}

/// Our own stat, from our main thread's entry, `/proc/self/task/<tgid>/stat`
/// (`<tgid>` as `/proc/self` names it, so in `/proc`'s own namespace): its
/// start time is the process's. qemu-user answers `/proc/self/stat` itself,
/// with a start time of its own making that the kernel's, which other
/// processes read, does not match; the task entry it leaves to the kernel.
/// `/proc/self/stat` where the task entry cannot be read. Never a zombie:
/// we are running (a main thread that has exited reads `Z`).
fn read_own_stat() -> io::Result<(u64, bool)> {
    let task = fs::read_link("/proc/self")
        .ok()
        .and_then(|tgid| fs::read_to_string(Path::new("/proc/self/task").join(tgid).join("stat")).ok());
    let text = match task {
        Some(text) => text,
        None => fs::read_to_string("/proc/self/stat")?,
    };
    let (start, _) = parse_stat(&text).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unreadable stat"))?;
    Ok((start, false))
}

/// Parses the start time and zombie flag out of a `/proc/<pid>/stat` line.
pub fn parse_stat(text: &str) -> Option<(u64, bool)> {
    // The command name (field 2) is in parentheses and may hold spaces or ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state); field 22 is fields[19].
    let state = fields.first()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((start, matches!(*state, "Z" | "X" | "x")))
}

/// Our own start time.
pub fn own_start_time() -> Option<u64> {
    stat_of(current_pid()).map(|(s, _)| s)
}

/// Probes a PID: does that process still exist, and is it the one that
/// started at `start` (when given)? A zombie counts as gone. When the answer
/// cannot be read (`hidepid`, `EMFILE`, a `/proc` of another PID namespace)
/// but the process may exist, the probe says [`Liveness::Unknown`]: "cannot
/// tell" is never "gone".
pub fn probe(pid: u32, start: Option<u64>) -> Liveness {
    if let Some(answer) = kept(pid, start) {
        return answer;
    }
    let (live, fd) = probe_afresh(pid, start);
    if let Some(fd) = fd {
        keep(pid, start, None, fd);
    }
    live
}

/// Probes a PID without the kept pidfds, and returns the pidfd of a
/// process found running (for [`keep`]): the pidfd is opened first, then
/// the identity verified, so that it refers to the verified process or to
/// one that has already exited.
pub fn probe_afresh(pid: u32, start: Option<u64>) -> (Liveness, Option<OwnedFd>) {
    if pid == 0 || pid > i32::MAX as u32 {
        return (Liveness::Gone, None);
    }
    let fd = pidfd_open(pid);
    if matches!(&fd, Err(e) if e.raw_os_error() == Some(libc::ESRCH)) {
        return (Liveness::Gone, None);
    }
    let fd = fd.ok();
    let live = match read_stat(pid) {
        Ok((_, true)) => Liveness::Gone,
        Ok((s, false)) if start.is_some_and(|want| want != s) => Liveness::Gone,
        Ok(_) => Liveness::Running,
        // Not readable: gone only when the kernel says there is no such PID
        // (`kill` needs no descriptor and sees through hidepid).
        Err(_) if !pid_exists(pid) => Liveness::Gone,
        // It exists: without a start time to verify, a pidfd that has not
        // exited says it is running; otherwise the probe cannot tell.
        Err(_) => match &fd {
            Some(fd) if pidfd_exited(fd) => Liveness::Gone,
            Some(_) if start.is_none() => Liveness::Running,
            _ => Liveness::Unknown,
        },
    };
    (live, fd.filter(|_| live == Liveness::Running))
}

/// Keeps the pidfd of a process verified to be `pid` started at `start`,
/// for the records that claim the lifetime lock `lock` (`None`: records
/// that claim none). A record whose lock is consulted is thus never judged
/// by a pidfd verified for another record's sake: a PID reused within one
/// tick of `start` is another process, whose pidfd must not answer for a
/// dead writer's record.
pub fn keep(pid: u32, start: Option<u64>, lock: Option<(u64, u64)>, fd: OwnedFd) {
    if let Ok(mut c) = CACHE.lock() {
        c.insert((pid, start, lock), fd);
    }
}

/// What the probe already holds about a process: its pidfd, kept since the
/// process was verified to be `pid` started at `start`, says whether it
/// still runs (one `poll`, and nothing a reused PID can fool). `None` when
/// no pidfd is kept for it.
pub fn kept(pid: u32, start: Option<u64>) -> Option<Liveness> {
    kept_for(pid, start, None)
}

/// [`kept`], for a record that claims the lifetime lock `lock` (see [`keep`]).
pub fn kept_for(pid: u32, start: Option<u64>, lock: Option<(u64, u64)>) -> Option<Liveness> {
    let key = (pid, start, lock);
    // This thread's last answer first: a probe, a wait or a loop of checks
    // of one writer polls its pidfd without taking the cache's lock.
    let last = LAST
        .try_with(|last| {
            let last = last.try_borrow().ok()?;
            let (k, kept) = last.as_ref()?;
            (*k == key).then(|| kept.exited())
        })
        .ok()
        .flatten();
    match last {
        Some(false) => return Some(Liveness::Running),
        // Exited: forgotten here, and the cache answers as it would have
        // (it forgets the same entry, or holds none, or another of its own).
        Some(true) => remember(None),
        None => {}
    }
    let (live, fd) = CACHE.lock().ok()?.lookup(&key)?;
    if live == Liveness::Running {
        remember(fd.map(|fd| (key, fd)));
    }
    Some(live)
}

/// Sets this thread's last kept answer (see [`kept_for`]).
fn remember(last: Option<(Key, Arc<Kept>)>) {
    let _ = LAST.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            *l = last;
        }
    });
}

/// Whether a process with this PID exists (`kill(pid, 0)`; EPERM means it
/// does). A PID of 0 or beyond `i32::MAX` never exists: no signal is sent.
pub fn pid_exists(pid: u32) -> bool {
    if pid == 0 || pid > i32::MAX as u32 {
        return false;
    }
    // SAFETY: signal 0 only checks for existence; pid is in 1..=i32::MAX.
    let rc = unsafe { libc::kill(pid as libc::pid_t, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // pidfds are close-on-exec by the kernel's definition.
    // SAFETY: fd is a fresh descriptor that we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Whether a pidfd reports its process as exited (a zombie included).
pub fn pidfd_exited(fd: &OwnedFd) -> bool {
    crate::sys::readable_now(fd.as_raw_fd())
}

/// Opens a pidfd of a process verified to be `pid` started at `start`, for
/// callers that want to wait on its exit (the waiter). `None` when gone or
/// when pidfds are not available.
pub fn watch(pid: u32, start: Option<u64>) -> Option<OwnedFd> {
    let fd = pidfd_open(pid).ok()?;
    match stat_of(pid) {
        Some((s, false)) if start.is_none_or(|w| w == s) => Some(fd),
        _ => None,
    }
}

/// How many verified process identities the checker keeps a pidfd for.
pub const CACHE_CAPACITY: usize = 64;

/// What a kept pidfd answers for: the PID, its start time, the lock.
type Key = (u32, Option<u64>, Option<(u64, u64)>);

struct Entry {
    key: Key,
    /// Shared with the threads that found it last (see [`kept_for`]).
    kept: Arc<Kept>,
}

#[derive(Default)]
struct Cache {
    entries: Vec<Entry>,
    next: usize,
}

impl Cache {
    /// Whether the process kept for `key` still runs (and its pidfd when it
    /// does); an exited one is forgotten. `None` when nothing is kept.
    fn lookup(&mut self, key: &Key) -> Option<(Liveness, Option<Arc<Kept>>)> {
        let i = self.entries.iter().position(|e| e.key == *key)?;
        let kept = Arc::clone(&self.entries[i].kept);
        if kept.exited_with(|events| self.settle(events)) {
            self.forget(i);
            return Some((Liveness::Gone, None));
        }
        Some((Liveness::Running, Some(kept)))
    }

    /// Lets entry `i` go: no longer watched (a thread that still holds it
    /// polls its pidfd from now on), and no longer kept.
    fn forget(&mut self, i: usize) {
        self.entries[i].kept.unwatch();
        self.entries.swap_remove(i);
    }

    /// Stops watching the kept pidfds that the epoll instance reported
    /// (`events`, as [`Kept::exited`] got them) and that have exited, so
    /// that the instance reports them no more. They stay kept: a lookup
    /// polls them, answers gone and forgets them, as without the instance.
    fn settle(&self, events: &[libc::epoll_event]) {
        for ev in events {
            let fd = ev.u64 as i32;
            if let Some(e) = self.entries.iter().find(|e| e.kept.fd.as_raw_fd() == fd) {
                if pidfd_exited(&e.kept.fd) {
                    e.kept.unwatch();
                }
            }
        }
    }

    fn insert(&mut self, key: Key, fd: OwnedFd) {
        if let Some((Liveness::Running, _)) = self.lookup(&key) {
            return;
        }
        let e = Entry {
            key,
            kept: Arc::new(Kept::watched(fd)),
        };
        if self.entries.len() < CACHE_CAPACITY {
            self.entries.push(e);
        } else {
            self.next %= CACHE_CAPACITY;
            std::mem::replace(&mut self.entries[self.next], e).kept.unwatch();
            self.next += 1;
        }
    }
}

static CACHE: Lazy<Mutex<Cache>> = Lazy::new(|| Mutex::new(Cache::default()));

thread_local! {
    /// The kept pidfd this thread found running last, and what it answers
    /// for. It holds the cache's descriptor, not a new one; one the cache
    /// has since let go stays open until this thread looks up another.
    static LAST: RefCell<Option<(Key, Arc<Kept>)>> = const { RefCell::new(None) };
}

/// A kept pidfd, and whether the process's epoll instance watches it.
///
/// The cache's pidfds are all registered (level-triggered, `EPOLLIN`) in
/// one epoll instance, [`WATCH`]. A pidfd turns readable when its process
/// exits, and the kernel then puts it on the instance's ready list. So an
/// `epoll_wait` of no time that returns nothing says that no watched
/// process has exited: about 70 ns on Linux 6.18, where a `poll` of one
/// pidfd costs 140 ns (it calls the pidfd's poll and copies the pollfd in
/// and out).
///
/// A registration is removed (`unwatch`) only after `watched` was cleared,
/// and a reader trusts an empty answer only if it still finds `watched`
/// set after its wait. An entry removed before that wait thus shows as
/// cleared, and the reader polls its pidfd instead: never "running" for an
/// exited process whose registration was just removed.
///
/// A child of `fork` shares its parent's epoll instance: it must not add
/// or remove registrations there. The child handler of `pthread_atfork`
/// clears [`WATCH`] in the child, so the child's inherited entries are
/// polled, and its own keeps use an instance of its own.
struct Kept {
    fd: OwnedFd,
    /// The [`WATCH`] under which the instance watches `fd`; 0: not watched.
    watched: AtomicU64,
}

/// The process's epoll instance: its descriptor in the low 32 bits, the
/// fork generation it was made in above them; 0 before the first keep,
/// and in a child of `fork` until its own first keep.
static WATCH: AtomicU64 = AtomicU64::new(0);

/// Counts the forks this copy of the process descends from (from 1).
static FORKS: AtomicU32 = AtomicU32::new(1);

impl Kept {
    /// Keeps `fd`, registered in the process's epoll instance when one can
    /// be made and the registration succeeds (else its process is polled).
    /// Called under the cache's lock, which makes the instance once.
    fn watched(fd: OwnedFd) -> Kept {
        let w = watch_instance();
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: fd.as_raw_fd() as u64,
        };
        // SAFETY: a live epoll instance and pidfd, and one valid event.
        let added = w != 0
            && unsafe { libc::epoll_ctl(w as i32, libc::EPOLL_CTL_ADD, fd.as_raw_fd(), &mut ev) } == 0;
        Kept {
            fd,
            watched: AtomicU64::new(if added { w } else { 0 }),
        }
    }

    /// Whether the process has exited (a zombie included).
    fn exited(&self) -> bool {
        self.exited_with(|events| {
            if let Ok(c) = CACHE.lock() {
                c.settle(events);
            }
        })
    }

    /// [`Kept::exited`], where `settle` hands the cache the pidfds that
    /// the instance reported (the caller may hold the cache's lock).
    fn exited_with(&self, settle: impl FnOnce(&[libc::epoll_event])) -> bool {
        let w = self.watched.load(Ordering::SeqCst);
        if w != 0 && w == WATCH.load(Ordering::Acquire) {
            let mut events = [libc::epoll_event { events: 0, u64: 0 }; 8];
            match crate::sys::epoll_wait_now(w as i32, &mut events) {
                Ok(0) => {
                    // The wait's read of the ready list before this load.
                    fence(Ordering::Acquire);
                    if self.watched.load(Ordering::SeqCst) == w {
                        return false;
                    }
                }
                // Some watched process has exited (this one or another):
                // those that have are no longer watched, so that the
                // instance stops reporting them, and this pidfd is polled.
                Ok(n) => settle(&events[..n]),
                Err(_) => {}
            }
        }
        pidfd_exited(&self.fd)
    }

    /// Ends the watch of this pidfd, if the instance of this process
    /// watches it: `watched` first, then the registration (see [`Kept`]).
    fn unwatch(&self) {
        let w = self.watched.swap(0, Ordering::SeqCst);
        if w != 0 && w == WATCH.load(Ordering::Acquire) {
            // SAFETY: our epoll instance and a pidfd that `self` holds open.
            unsafe {
                libc::epoll_ctl(w as i32, libc::EPOLL_CTL_DEL, self.fd.as_raw_fd(), std::ptr::null_mut())
            };
        }
    }
}

impl Drop for Kept {
    fn drop(&mut self) {
        self.unwatch();
    }
}

/// The process's epoll instance ([`WATCH`]), made at the first call (and
/// at the first in a child of `fork`); 0 when none can be made.
fn watch_instance() -> u64 {
    let w = WATCH.load(Ordering::Acquire);
    if w != 0 {
        return w;
    }
    static AT_FORK: std::sync::Once = std::sync::Once::new();
    AT_FORK.call_once(|| {
        // SAFETY: registers a child handler that only touches atomics and
        // closes a descriptor, both async-signal-safe.
        unsafe { libc::pthread_atfork(None, None, Some(forked)) };
    });
    // SAFETY: makes a new descriptor, which WATCH then owns.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if ep < 0 {
        return 0;
    }
    let w = (u64::from(FORKS.load(Ordering::Acquire)) << 32) | u64::from(ep as u32);
    WATCH.store(w, Ordering::Release);
    w
}

/// `pthread_atfork`'s child handler: the parent's instance is not the
/// child's to change (see [`Kept`]).
extern "C" fn forked() {
    FORKS.fetch_add(1, Ordering::AcqRel);
    let w = WATCH.swap(0, Ordering::AcqRel);
    if w != 0 {
        // SAFETY: the child's copy of the parent's instance, closed once.
        unsafe { libc::close(w as i32) };
    }
}

static TIME_NS: Lazy<Option<u64>> = Lazy::new(|| time_ns_of("self"));

/// The inode of this process's time namespace, whose `CLOCK_MONOTONIC`
/// the heartbeat's monotonic stamps read (`crate::clock`) (`None` before Linux 5.6).
pub fn time_ns() -> Option<u64> {
    *TIME_NS
}

/// The inode of `/proc/<pid>/ns/time`.
pub fn time_ns_of(pid: &str) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/{pid}/ns/time"))
        .ok()
        .map(|m| m.ino())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_parsing_survives_parentheses_in_the_name() {
        let line = "123 (a) b) c) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 777 20 21";
        assert_eq!(parse_stat(line), Some((777, false)));
        let z = "9 (z) Z 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 5 20";
        assert_eq!(parse_stat(z), Some((5, true)));
    }

    #[test]
    fn we_are_running_and_a_wrong_start_time_is_gone() {
        let me = current_pid();
        let start = own_start_time().unwrap();
        assert_eq!(probe(me, Some(start)), Liveness::Running);
        assert_eq!(probe(me, Some(start + 1)), Liveness::Gone);
        assert_eq!(probe(me, None), Liveness::Running);
    }

    #[test]
    fn our_start_time_is_the_one_other_processes_read() {
        // What a checker in another process reads for our PID.
        let theirs = fs::read_to_string(format!("/proc/{}/stat", current_pid())).unwrap();
        assert_eq!(own_start_time(), parse_stat(&theirs).map(|(s, _)| s));
    }

    #[test]
    fn a_kept_pidfd_never_answers_running_for_a_process_that_exited() {
        use std::sync::mpsc::channel;
        let mut child = std::process::Command::new("sleep").arg("60").spawn().unwrap();
        let pid = child.id();
        let start = stat_of(pid).unwrap().0;
        assert_eq!(probe(pid, Some(start)), Liveness::Running);
        assert_eq!(kept(pid, Some(start)), Some(Liveness::Running));
        // Another thread finds it running too, and keeps it as its last.
        let (ask, asked) = channel::<()>();
        let (tell, told) = channel();
        let other = std::thread::spawn(move || {
            tell.send(kept(pid, Some(start))).unwrap();
            asked.recv().unwrap();
            tell.send(kept(pid, Some(start))).unwrap();
            tell.send(kept(pid, Some(start))).unwrap();
        });
        assert_eq!(told.recv().unwrap(), Some(Liveness::Running));
        child.kill().unwrap();
        child.wait().unwrap();
        // This thread sees the exit and the cache forgets the process...
        assert_eq!(kept(pid, Some(start)), Some(Liveness::Gone));
        assert_eq!(kept(pid, Some(start)), None);
        // ...and the other thread, whose last answer was that process's,
        // sees the exit through it: nothing kept any more (its checker
        // then probes afresh), never running.
        ask.send(()).unwrap();
        assert_eq!(told.recv().unwrap(), None);
        assert_eq!(told.recv().unwrap(), None);
        assert_eq!(probe(pid, Some(start)), Liveness::Gone);
        other.join().unwrap();
    }

    #[test]
    fn impossible_pids_are_gone() {
        assert_eq!(probe(0, None), Liveness::Gone);
        assert_eq!(probe(i32::MAX as u32, None), Liveness::Gone);
    }

    /// Runs the test `name` of this module again, alone in a child process,
    /// where `body` runs: for a test that must not touch the other tests
    /// (it lowers a limit, fills the process's pidfd cache, or forks).
    fn alone(name: &str, body: impl FnOnce()) {
        const ROLE: &str = "LIFESIGN_TEST_ALONE";
        if std::env::var(ROLE).as_deref() == Ok(name) {
            body();
            println!("ran alone: {name}");
            return;
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", &format!("process::tests::{name}"), "--nocapture", "--test-threads=1"])
            .env(ROLE, name)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains(&format!("ran alone: {name}")),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Every descriptor is in use when it probes (the limit is lowered in
    /// a child process of its own).
    #[test]
    fn at_the_descriptor_limit_a_probe_cannot_tell_and_keeps_no_failed_read() {
        alone("at_the_descriptor_limit_a_probe_cannot_tell_and_keeps_no_failed_read", || {
            probe_at_the_descriptor_limit(std::os::unix::process::parent_id())
        });
    }

    /// A child process to probe, and the identity a heartbeat would give it.
    fn sleeper() -> (std::process::Child, u32, u64) {
        let child = std::process::Command::new("sleep").arg("60").spawn().unwrap();
        let pid = child.id();
        let start = stat_of(pid).unwrap().0;
        (child, pid, start)
    }

    /// Kills and reaps `child`.
    fn end(mut child: std::process::Child) {
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// The events that the process's epoll instance reports now.
    fn reported() -> usize {
        let w = WATCH.load(Ordering::SeqCst);
        assert_ne!(w, 0, "no epoll instance");
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 8];
        crate::sys::epoll_wait_now(w as i32, &mut events).unwrap()
    }

    #[test]
    fn the_epoll_instance_reports_an_exit_once_and_another_thread_still_sees_it() {
        alone("the_epoll_instance_reports_an_exit_once_and_another_thread_still_sees_it", || {
            let ((a, a_pid, a_start), (b, b_pid, b_start)) = (sleeper(), sleeper());
            assert_eq!(probe(a_pid, Some(a_start)), Liveness::Running);
            assert_eq!(probe(b_pid, Some(b_start)), Liveness::Running);
            // Both kept and watched; this thread's last is `a`.
            assert_eq!(kept(b_pid, Some(b_start)), Some(Liveness::Running));
            assert_eq!(kept(a_pid, Some(a_start)), Some(Liveness::Running));
            assert_eq!(reported(), 0);
            // Another thread's last is `b`.
            let (ask, asked) = std::sync::mpsc::channel::<()>();
            let other = std::thread::spawn(move || {
                assert_eq!(kept(b_pid, Some(b_start)), Some(Liveness::Running));
                asked.recv().unwrap();
                kept(b_pid, Some(b_start))
            });
            std::thread::sleep(std::time::Duration::from_millis(50));
            end(b);
            assert_eq!(reported(), 1, "the exit of b is on the ready list");
            // This thread's answer for `a` finds the instance reporting
            // `b`'s exit: `b` is no longer watched, and `a` still runs.
            assert_eq!(kept(a_pid, Some(a_start)), Some(Liveness::Running));
            assert_eq!(reported(), 0, "b is reported once, then no more");
            assert_eq!(kept(a_pid, Some(a_start)), Some(Liveness::Running));
            // The other thread, whose last is `b`, polls it: gone, as the
            // cache then answers too (and forgets it).
            ask.send(()).unwrap();
            assert_eq!(other.join().unwrap(), Some(Liveness::Gone));
            assert_eq!(kept(b_pid, Some(b_start)), None);
            end(a);
            assert_eq!(kept(a_pid, Some(a_start)), Some(Liveness::Gone));
            assert_eq!(reported(), 0);
        });
    }

    #[test]
    fn a_pidfd_that_the_cache_let_go_is_polled_by_the_thread_that_holds_it() {
        alone("a_pidfd_that_the_cache_let_go_is_polled_by_the_thread_that_holds_it", || {
            let (a, a_pid, a_start) = sleeper();
            assert_eq!(probe(a_pid, Some(a_start)), Liveness::Running);
            assert_eq!(kept(a_pid, Some(a_start)), Some(Liveness::Running));
            // Another thread makes the cache replace `a` (its oldest) with
            // other entries: pidfds of this process, under identities of
            // its own making.
            let me = current_pid();
            std::thread::spawn(move || {
                for fake in 0..CACHE_CAPACITY as u64 {
                    keep(me, Some(u64::MAX - fake), None, pidfd_open(me).unwrap());
                }
                assert_eq!(kept(me, Some(u64::MAX)), Some(Liveness::Running));
            })
            .join()
            .unwrap();
            assert!(CACHE.lock().unwrap().entries.iter().all(|e| e.key.0 == me));
            // This thread held `a` as its last before: unwatched now, and
            // its exit is seen all the same.
            end(a);
            assert_eq!(reported(), 0, "a let-go pidfd is not watched");
            assert_eq!(kept(a_pid, Some(a_start)), None);
        });
    }

    #[test]
    fn a_child_of_fork_leaves_its_parents_epoll_instance_alone() {
        alone("a_child_of_fork_leaves_its_parents_epoll_instance_alone", || {
            let (a, a_pid, a_start) = sleeper();
            assert_eq!(probe(a_pid, Some(a_start)), Liveness::Running);
            assert_eq!(kept(a_pid, Some(a_start)), Some(Liveness::Running));
            // The child ends `a` and sees it gone, which forgets it: were the
            // instance the child's to change, that would remove `a`'s
            // registration from the parent's instance, and the parent would
            // hear of the exit no more. The child also keeps a process of
            // its own (its parent), in an instance of its own.
            // SAFETY: the child only makes calls that this test makes
            // single-threaded, then leaves with _exit.
            let child = unsafe { libc::fork() };
            if child == 0 {
                let ok = {
                    // SAFETY: signals the parent's child, which we may.
                    unsafe { libc::kill(a_pid as i32, libc::SIGKILL) };
                    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
                    while kept(a_pid, Some(a_start)) == Some(Liveness::Running) && std::time::Instant::now() < deadline {
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                    let parent = std::os::unix::process::parent_id();
                    kept(a_pid, Some(a_start)).is_none()
                        && probe(parent, stat_of(parent).map(|(s, _)| s)) == Liveness::Running
                        && kept(parent, stat_of(parent).map(|(s, _)| s)) == Some(Liveness::Running)
                };
                // SAFETY: leaves the child without running the parent's exit handlers.
                unsafe { libc::_exit(if ok { 0 } else { 1 }) };
            }
            let mut status = 0;
            // SAFETY: waits for our own child, with room for its status.
            assert_eq!(unsafe { libc::waitpid(child, &mut status, 0) }, child);
            assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "the child failed: {status}");
            // `a` was killed by the child: this thread, whose last is `a`,
            // hears of it through the instance.
            assert_eq!(reported(), 1);
            assert_eq!(kept(a_pid, Some(a_start)), Some(Liveness::Gone));
            let mut a = a;
            a.wait().unwrap();
        });
    }

    fn probe_at_the_descriptor_limit(alive: u32) {
        let (start, _) = stat_of(alive).unwrap();
        let mut reaped = std::process::Command::new("true").spawn().unwrap();
        let dead = reaped.id();
        reaped.wait().unwrap();
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: a valid rlimit; lowers only this child process's soft limit.
        unsafe {
            assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
            lim.rlim_cur = lim.rlim_cur.min(64);
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
        }
        let mut held = Vec::new();
        loop {
            match fs::File::open("/dev/null") {
                Ok(f) => held.push(f),
                Err(e) if e.raw_os_error() == Some(libc::EMFILE) => break,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(probe(alive, Some(start)), Liveness::Unknown);
        assert_eq!(probe(alive, None), Liveness::Unknown);
        // `kill` needs no descriptor: a PID that no longer exists is gone.
        assert_eq!(probe(dead, None), Liveness::Gone);
        assert_eq!(identity().boot_id, None, "the limit was not reached");
        drop(held);
        assert!(identity().boot_id.is_some(), "a failed read was kept");
        assert_eq!(probe(alive, Some(start)), Liveness::Running);
        println!("probed at the descriptor limit");
    }

    #[test]
    fn identity_is_read() {
        let id = identity();
        assert!(id.boot_id.is_some());
        assert!(id.pid_ns.is_some());
    }
}

//! Process identity and probes: our host, boot and PID namespace, the start
//! time of a PID, and whether a process is still the one that wrote a file.
//!
//! A probe of a PID whose identity was verified once keeps a pidfd (close-on-exec)
//! in a small bounded cache, so later checks of the same emitter cost one
//! `poll` instead of a `/proc` read; each thread also remembers the entry it
//! found last, so a loop of checks of one emitter takes no lock. Where
//! pidfds are missing, `/proc` is read every time.

use once_cell::sync::Lazy;
use std::cell::RefCell;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
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
            let (k, fd) = last.as_ref()?;
            (*k == key).then(|| pidfd_exited(fd))
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
fn remember(last: Option<(Key, Arc<OwnedFd>)>) {
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
    fd: Arc<OwnedFd>,
}

#[derive(Default)]
struct Cache {
    entries: Vec<Entry>,
    next: usize,
}

impl Cache {
    /// Whether the process kept for `key` still runs (and its pidfd when it
    /// does); an exited one is forgotten. `None` when nothing is kept.
    fn lookup(&mut self, key: &Key) -> Option<(Liveness, Option<Arc<OwnedFd>>)> {
        let i = self.entries.iter().position(|e| e.key == *key)?;
        if pidfd_exited(&self.entries[i].fd) {
            self.entries.swap_remove(i);
            return Some((Liveness::Gone, None));
        }
        Some((Liveness::Running, Some(Arc::clone(&self.entries[i].fd))))
    }

    fn insert(&mut self, key: Key, fd: OwnedFd) {
        if let Some((Liveness::Running, _)) = self.lookup(&key) {
            return;
        }
        let e = Entry {
            key,
            fd: Arc::new(fd),
        };
        if self.entries.len() < CACHE_CAPACITY {
            self.entries.push(e);
        } else {
            self.next %= CACHE_CAPACITY;
            self.entries[self.next] = e;
            self.next += 1;
        }
    }
}

static CACHE: Lazy<Mutex<Cache>> = Lazy::new(|| Mutex::new(Cache::default()));

thread_local! {
    /// The kept pidfd this thread found running last, and what it answers
    /// for. It holds the cache's descriptor, not a new one; one the cache
    /// has since let go stays open until this thread looks up another.
    static LAST: RefCell<Option<(Key, Arc<OwnedFd>)>> = const { RefCell::new(None) };
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

    const EMFILE_ROLE: &str = "LIFESIGN_TEST_EMFILE_PROBE";

    /// Runs in a child process (its descriptor limit is lowered, which must
    /// not touch the other tests): every descriptor is in use when it probes.
    #[test]
    fn at_the_descriptor_limit_a_probe_cannot_tell_and_keeps_no_failed_read() {
        if let Ok(target) = std::env::var(EMFILE_ROLE) {
            return probe_at_the_descriptor_limit(target.parse().unwrap());
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "process::tests::at_the_descriptor_limit_a_probe_cannot_tell_and_keeps_no_failed_read",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(EMFILE_ROLE, current_pid().to_string())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("probed at the descriptor limit"),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
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

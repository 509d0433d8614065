//! One folder watcher per process: a single inotify instance, one watch per
//! folder however many readers follow it, and a dispatcher thread that
//! hands each event, by name, to the readers that asked for that name.
//!
//! Every wait, every `watch` and the relay of one process share it, so a
//! process holds one inotify instance (the per-user default allows 128)
//! and a reader wakes for its own file only: its neighbours' writes wake
//! the dispatcher, which drops them without a system call.
//!
//! The folder mask has no `IN_CLOSE_NOWRITE` and no `IN_ATTRIB`: readers'
//! closes and the emitters' `fchmod` of their temporaries wake nobody. A
//! reader that needs to see an emitter's death without a pidfd watches the
//! one lock file ([`subscribe_file`](crate::watcher::subscribe_file)), whose last close is that death.
//!
//! A folder that goes away (removed, moved, unmounted) is followed through
//! the nearest folder above it that exists; when it comes back, it is
//! watched again and its readers are told ([`Event::Rearmed`](crate::watcher::Event::Rearmed)), so that
//! they read again whatever was written in between.
//!
//! Where inotify cannot be had (another OS, the per-user instance limit,
//! no descriptor left) [`subscribe`](crate::watcher::subscribe) fails with the reason, and the caller
//! polls. A child after `fork()` gets its own instance on first use.

use std::collections::HashMap;
use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::RawFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Mutex};

/// What a subscriber is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// An entry of the folder was written (closed after writing), renamed
    /// in or away, created or removed.
    Entry {
        /// The folder, as subscribed.
        dir: PathBuf,
        /// The entry's name (any bytes).
        name: OsString,
    },
    /// The watched file (a lock file) was closed, or removed.
    File(PathBuf),
    /// The folder went away (removed, moved, unmounted): its readers are
    /// told again with [`Event::Rearmed`] when it is back.
    FolderGone(PathBuf),
    /// The folder is watched again after it went away, or after it did not
    /// exist: read every file again.
    Rearmed(PathBuf),
    /// The kernel's queue overflowed and events were lost: read again.
    Overflow,
}

/// Which entries of a folder a subscriber wants to hear about.
#[derive(Clone, Debug)]
pub enum Names {
    /// Every entry (the relay).
    All,
    /// Only these names (a waiter: its heartbeat).
    Only(Vec<Vec<u8>>),
}

impl Names {
    fn wants(&self, name: &[u8]) -> bool {
        match self {
            Names::All => true,
            Names::Only(v) => v.iter().any(|n| n == name),
        }
    }
}

/// Called on the dispatcher thread for each event a subscriber asked for:
/// it must be quick and must not subscribe or unsubscribe (write an
/// eventfd, send on a channel).
pub type Wake = Arc<dyn Fn(&Event) + Send + Sync>;

/// A folder's events: entries closed after writing (a writer that writes
/// in place; an emitter's temporary), renamed in or away (an emitter's
/// replace is one of each), removed, and the folder itself going away. Not
/// `IN_CREATE` (a file is worth a look once written), not
/// `IN_CLOSE_NOWRITE` (readers' closes), not `IN_ATTRIB` (mode changes):
/// an emitter's beat is three events, none of them a reader's.
const FOLDER_MASK: u32 = libc::IN_CLOSE_WRITE
    | libc::IN_MOVED_TO
    | libc::IN_MOVED_FROM
    | libc::IN_DELETE
    | libc::IN_DELETE_SELF
    | libc::IN_MOVE_SELF
    | libc::IN_ONLYDIR;

/// A folder above a missing one also reports entries created (the
/// missing folder's creation), added to whatever else watches it.
const STAND_IN_MASK: u32 = FOLDER_MASK | libc::IN_CREATE | libc::IN_MASK_ADD;

/// A lock file's events: its closes (the last one is its emitter's death)
/// and its removal.
const FILE_MASK: u32 = libc::IN_CLOSE_WRITE
    | libc::IN_CLOSE_NOWRITE
    | libc::IN_DELETE_SELF
    | libc::IN_MOVE_SELF
    | libc::IN_DONT_FOLLOW;

/// What one watch descriptor stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Role {
    /// The folder itself.
    Folder(PathBuf),
    /// A folder above a missing one, until it is back.
    StandIn(PathBuf),
    /// A watched file.
    File(PathBuf),
}

#[derive(Default)]
struct Folder {
    /// The folder's own watch, while armed.
    wd: Option<i32>,
    /// The watch of the folder above that stands in while it is missing.
    stand_in: Option<i32>,
    subs: Vec<u64>,
}

struct Sub {
    names: Names,
    wake: Wake,
}

#[derive(Default)]
struct State {
    folders: HashMap<PathBuf, Folder>,
    files: HashMap<PathBuf, (Option<i32>, Vec<u64>)>,
    roles: HashMap<i32, Vec<Role>>,
    subs: HashMap<u64, Sub>,
    next_id: u64,
}

/// The process's instance: its descriptor, the process it belongs to, and
/// what is watched.
struct Shared {
    fd: RawFd,
    pid: u32,
    state: Mutex<State>,
    /// Set when the dispatcher thread could not start: nothing would be
    /// delivered, so subscribing fails and the caller polls.
    dead: std::sync::atomic::AtomicBool,
}

static SHARED: AtomicPtr<Shared> = AtomicPtr::new(std::ptr::null_mut());

/// The instance of this process, started on first use; an error when
/// inotify cannot be had.
fn shared() -> io::Result<&'static Shared> {
    let pid = std::process::id();
    let cur = SHARED.load(Ordering::Acquire);
    // SAFETY: a non-null pointer is a leaked Box<Shared>, never freed.
    if let Some(s) = unsafe { cur.as_ref() } {
        if s.pid == pid {
            if s.dead.load(Ordering::Relaxed) {
                return Err(io::Error::other("the watcher thread could not be started"));
            }
            return Ok(s);
        }
    }
    // None yet, or the parent's after fork(): the parent's dispatcher thread
    // does not exist here and its lock may have been held at fork time, so
    // it is left alone (its descriptor is this process's copy: closed).
    // SAFETY: returns a new descriptor or -1.
    let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let new = Box::into_raw(Box::new(Shared {
        fd,
        pid,
        state: Mutex::new(State::default()),
        dead: std::sync::atomic::AtomicBool::new(false),
    }));
    match SHARED.compare_exchange(cur, new, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => {
            // SAFETY: just leaked; lives for the rest of the process.
            let s: &'static Shared = unsafe { &*new };
            if let Some(old) = unsafe { cur.as_ref() } {
                // SAFETY: the parent's descriptor, copied into this child.
                unsafe { libc::close(old.fd) };
            }
            if let Err(e) = std::thread::Builder::new()
                .name("lifesign-watch".into())
                .stack_size(128 * 1024)
                .spawn(move || dispatch(s))
            {
                // Without a dispatcher nothing would be delivered: every
                // later call fails the same way and its caller polls.
                s.dead.store(true, Ordering::Relaxed);
                return Err(e);
            }
            Ok(s)
        }
        Err(_) => {
            // Another thread installed one meanwhile.
            // SAFETY: ours, never shared.
            let ours = unsafe { Box::from_raw(new) };
            // SAFETY: ours, never shared.
            unsafe { libc::close(ours.fd) };
            shared()
        }
    }
}

/// A subscription; dropping it ends it (and the watch, when it was the last).
pub struct Subscription {
    shared: &'static Shared,
    id: u64,
    target: Target,
}

enum Target {
    Folder(PathBuf),
    File(PathBuf),
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .finish()
    }
}

/// Follows the entries `names` of folder `dir`: `wake` is called for each
/// event about them, and for the folder going away and coming back. A
/// folder that does not exist yet is followed until it does. Fails when
/// inotify cannot be had (then poll).
pub fn subscribe(dir: &Path, names: Names, wake: Wake) -> io::Result<Subscription> {
    let s = shared()?;
    let mut st = s.state.lock().unwrap_or_else(|e| e.into_inner());
    let id = st.next_id;
    st.next_id += 1;
    st.subs.insert(id, Sub { names, wake });
    let dir = dir.to_path_buf();
    let new = !st.folders.contains_key(&dir);
    st.folders.entry(dir.clone()).or_default().subs.push(id);
    if new {
        if let Err(e) = arm(s, &mut st, &dir) {
            drop(st);
            drop(Subscription {
                shared: s,
                id,
                target: Target::Folder(dir),
            });
            return Err(e);
        }
    }
    Ok(Subscription {
        shared: s,
        id,
        target: Target::Folder(dir),
    })
}

/// Follows one file (a lock file, without following a symlink): `wake` is
/// called with [`Event::File`] when it is closed or removed. Fails when
/// inotify cannot be had or the file is not there.
pub fn subscribe_file(path: &Path, wake: Wake) -> io::Result<Subscription> {
    let s = shared()?;
    let mut st = s.state.lock().unwrap_or_else(|e| e.into_inner());
    let path = path.to_path_buf();
    if !matches!(st.files.get(&path), Some((Some(_), _))) {
        let wd = add_watch(s.fd, &path, FILE_MASK)?;
        st.roles
            .entry(wd)
            .or_default()
            .push(Role::File(path.clone()));
        st.files.entry(path.clone()).or_default().0 = Some(wd);
    }
    let id = st.next_id;
    st.next_id += 1;
    st.subs.insert(
        id,
        Sub {
            names: Names::All,
            wake,
        },
    );
    st.files.entry(path.clone()).or_default().1.push(id);
    Ok(Subscription {
        shared: s,
        id,
        target: Target::File(path),
    })
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let s = self.shared;
        if s.pid != std::process::id() {
            // The parent's, dropped in a child after fork(): not ours to
            // touch (its lock may have been held at fork time).
            return;
        }
        let mut st = s.state.lock().unwrap_or_else(|e| e.into_inner());
        st.subs.remove(&self.id);
        match &self.target {
            Target::Folder(dir) => {
                let Some(f) = st.folders.get_mut(dir) else {
                    return;
                };
                f.subs.retain(|&i| i != self.id);
                if f.subs.is_empty() {
                    let f = st.folders.remove(dir).expect("present");
                    let dir = dir.clone();
                    if let Some(wd) = f.wd {
                        release(s, &mut st, wd, &Role::Folder(dir.clone()));
                    }
                    if let Some(wd) = f.stand_in {
                        release(s, &mut st, wd, &Role::StandIn(dir));
                    }
                }
            }
            Target::File(path) => {
                let Some(f) = st.files.get_mut(path) else {
                    return;
                };
                f.1.retain(|&i| i != self.id);
                if f.1.is_empty() {
                    let (wd, _) = st.files.remove(path).expect("present");
                    if let Some(wd) = wd {
                        release(s, &mut st, wd, &Role::File(path.clone()));
                    }
                }
            }
        }
    }
}

/// The number of watches and subscriptions (for tests and benchmarks).
pub fn counts() -> (usize, usize) {
    match shared() {
        Ok(s) => {
            let st = s.state.lock().unwrap_or_else(|e| e.into_inner());
            (st.roles.len(), st.subs.len())
        }
        Err(_) => (0, 0),
    }
}

fn add_watch(fd: RawFd, path: &Path, mask: u32) -> io::Result<i32> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
    // SAFETY: a valid descriptor and a NUL-terminated path.
    let wd = unsafe { libc::inotify_add_watch(fd, c.as_ptr(), mask) };
    if wd < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(wd)
}

/// Drops one role of a watch descriptor, and the watch with its last role.
fn release(s: &Shared, st: &mut State, wd: i32, role: &Role) {
    if let Some(roles) = st.roles.get_mut(&wd) {
        roles.retain(|r| r != role);
        if roles.is_empty() {
            st.roles.remove(&wd);
            // SAFETY: our descriptor; a stale wd only fails with EINVAL.
            unsafe { libc::inotify_rm_watch(s.fd, wd) };
        }
    }
}

/// Watches `dir`, or while it is missing the nearest folder above it that
/// exists. Fails only when no watch at all can be had (the per-user watch
/// limit, no descriptor for the kernel's lookup, a path with a NUL).
fn arm(s: &Shared, st: &mut State, dir: &Path) -> io::Result<bool> {
    let folder = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    // Added to any mask the inode has (a folder that also stands in for a
    // missing one below it keeps IN_CREATE).
    match add_watch(s.fd, folder, FOLDER_MASK | libc::IN_MASK_ADD) {
        Ok(wd) => {
            st.roles
                .entry(wd)
                .or_default()
                .push(Role::Folder(dir.to_path_buf()));
            let f = st.folders.entry(dir.to_path_buf()).or_default();
            f.wd = Some(wd);
            if let Some(old) = f.stand_in.take() {
                release(s, st, old, &Role::StandIn(dir.to_path_buf()));
            }
            Ok(true)
        }
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {
            let mut last = e;
            for above in folder.ancestors().skip(1) {
                let above = if above.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    above
                };
                match add_watch(s.fd, above, STAND_IN_MASK) {
                    Ok(wd) => {
                        let f = st.folders.entry(dir.to_path_buf()).or_default();
                        if f.stand_in == Some(wd) {
                            return Ok(false);
                        }
                        let old = f.stand_in.replace(wd);
                        st.roles
                            .entry(wd)
                            .or_default()
                            .push(Role::StandIn(dir.to_path_buf()));
                        if let Some(old) = old {
                            release(s, st, old, &Role::StandIn(dir.to_path_buf()));
                        }
                        return Ok(false);
                    }
                    Err(e) => last = e,
                }
            }
            Err(last)
        }
        Err(e) => Err(e),
    }
}

/// The dispatcher: reads the instance for the rest of the process.
fn dispatch(s: &'static Shared) {
    // Aligned for struct inotify_event; room for hundreds of events.
    let mut buf = vec![0u64; 8192];
    loop {
        // SAFETY: reads into a valid buffer of the given length.
        let n = unsafe {
            libc::read(
                s.fd,
                buf.as_mut_ptr().cast(),
                buf.len() * std::mem::size_of::<u64>(),
            )
        };
        if n <= 0 {
            let e = io::Error::last_os_error();
            if n < 0 && e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            // EBADF: a forked child closed its copy of its parent's instance.
            return;
        }
        // SAFETY: the kernel wrote n bytes of whole events into buf.
        let bytes = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n as usize) };
        let mut st = s.state.lock().unwrap_or_else(|e| e.into_inner());
        for (wd, mask, name) in parse(bytes) {
            handle(s, &mut st, wd, mask, name);
        }
    }
}

/// Splits a buffer of events into (wd, mask, name).
fn parse(mut bytes: &[u8]) -> Vec<(i32, u32, &[u8])> {
    const HEADER: usize = std::mem::size_of::<libc::inotify_event>();
    let mut out = Vec::new();
    while bytes.len() >= HEADER {
        let word = |i: usize| [bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]];
        let wd = i32::from_ne_bytes(word(0));
        let mask = u32::from_ne_bytes(word(4));
        let len = u32::from_ne_bytes(word(12)) as usize;
        let end = (HEADER + len).min(bytes.len());
        let name = &bytes[HEADER..end];
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        out.push((wd, mask, name));
        bytes = &bytes[end..];
    }
    out
}

fn tell(st: &State, ids: &[u64], ev: &Event, name: Option<&[u8]>) {
    for id in ids {
        if let Some(sub) = st.subs.get(id) {
            if name.is_none_or(|n| sub.names.wants(n)) {
                (sub.wake)(ev);
            }
        }
    }
}

fn handle(s: &Shared, st: &mut State, wd: i32, mask: u32, name: &[u8]) {
    if mask & libc::IN_Q_OVERFLOW != 0 {
        let ids: Vec<u64> = st.subs.keys().copied().collect();
        tell(st, &ids, &Event::Overflow, None);
        return;
    }
    let Some(roles) = st.roles.get(&wd).cloned() else {
        return;
    };
    let gone = libc::IN_DELETE_SELF | libc::IN_MOVE_SELF | libc::IN_IGNORED | libc::IN_UNMOUNT;
    for role in roles {
        match role {
            Role::Folder(dir) if mask & gone != 0 => {
                // The folder went: forget its watch (the kernel drops it on
                // IN_IGNORED; a moved folder's watch would follow the move)
                // and follow it through the folder above.
                release(s, st, wd, &Role::Folder(dir.clone()));
                if mask & libc::IN_IGNORED != 0 {
                    st.roles.remove(&wd);
                }
                let Some(f) = st.folders.get_mut(&dir) else {
                    continue;
                };
                if f.wd != Some(wd) {
                    continue;
                }
                f.wd = None;
                let ids = f.subs.clone();
                tell(st, &ids, &Event::FolderGone(dir.clone()), None);
                if let Ok(true) = arm(s, st, &dir) {
                    tell(st, &ids, &Event::Rearmed(dir), None);
                }
            }
            Role::Folder(dir) => {
                let ids = match st.folders.get(&dir) {
                    Some(f) => f.subs.clone(),
                    None => continue,
                };
                let ev = Event::Entry {
                    dir,
                    name: OsString::from_vec(name.to_vec()),
                };
                tell(st, &ids, &ev, Some(name));
            }
            Role::StandIn(dir) => {
                if mask & libc::IN_IGNORED != 0 {
                    st.roles.remove(&wd);
                    if let Some(f) = st.folders.get_mut(&dir) {
                        if f.stand_in == Some(wd) {
                            f.stand_in = None;
                        }
                    }
                }
                // Anything above may be the folder's (or a parent's)
                // creation: try again.
                let ids = match st.folders.get(&dir) {
                    Some(f) if f.wd.is_none() => f.subs.clone(),
                    _ => continue,
                };
                if let Ok(true) = arm(s, st, &dir) {
                    tell(st, &ids, &Event::Rearmed(dir), None);
                }
            }
            Role::File(path) => {
                if mask & libc::IN_IGNORED != 0 {
                    st.roles.remove(&wd);
                    if let Some(f) = st.files.get_mut(&path) {
                        f.0 = None;
                    }
                }
                let ids = match st.files.get(&path) {
                    Some(f) => f.1.clone(),
                    None => continue,
                };
                tell(st, &ids, &Event::File(path), None);
            }
        }
    }
}

//! The emitter's lifetime lock (docs/PROTOCOL.md, section 10).
//!
//! An emitter holds an open-file-description lock (`F_OFD_SETLK`) on
//! a companion file, `.<file name>.lifesign.lock` in the heartbeat's folder,
//! for its whole life, and its records carry that file's device and inode
//! numbers in `lock_dev` and `lock_ino`. The kernel releases the lock the
//! moment the process dies, in whatever PID namespace, so a checker on the
//! same kernel that finds that very file's lock free knows the writer is
//! gone without `/proc`, without the writer's PID namespace and without
//! trusting a start time. Every open of a lock file is pinned
//! (`open_pinned`): no symlink, FIFO or device node is ever opened.

use crate::process::Identity;
use crate::protocol::Record;
use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io;
use std::mem::ManuallyDrop;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Mutex, Once};

/// What ends a lock file's name (after `.` and the heartbeat's file name).
pub const SUFFIX: &str = ".lifesign.lock";

/// The lock file of the heartbeat at `path`: `.<file name>.lifesign.lock`
/// in the same folder. `None` when the path names no file.
pub fn companion(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?;
    let mut n = OsString::from(".");
    n.push(name);
    n.push(SUFFIX);
    Some(path.with_file_name(n))
}

/// Whether a folder entry is a lock file (so that `scan` lists heartbeats only).
pub fn is_lock_name(name: &[u8]) -> bool {
    name.len() > 1 + SUFFIX.len() && name.starts_with(b".") && name.ends_with(SUFFIX.as_bytes())
}

/// What the checker found at a record's lock file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LockProbe {
    /// Not consulted, or nothing proven (the record claims no lock, was
    /// written on another kernel, or the file at the lock path is missing,
    /// replaced, not a regular file, or another file than the one the
    /// record names by device and inode): the other rules decide.
    #[default]
    Unknown,
    /// The record's lock file is locked: an emitter on this path lives.
    Held,
    /// The record's very lock file (same device, same inode) is not
    /// locked: its writer has exited.
    Free,
}

/// The lock file a checker may consult for this record, as `(device,
/// inode)`: the record names both (`lock_dev`, `lock_ino`) and was written
/// on the checker's kernel (its `boot_id` is present and equal to ours;
/// locks and device numbers are shared by every namespace of one kernel,
/// and only of one kernel). A record with `lock_ino` alone (written by
/// 0.2) proves nothing about which file it locked: not consulted.
pub fn consulted(r: &Record, id: &Identity) -> Option<(u64, u64)> {
    let (dev, ino) = (r.lock_dev?, r.lock_ino?);
    match id.same_boot(r.boot_id.as_deref()) {
        Some(true) => Some((dev, ino)),
        _ => None,
    }
}

/// Where the lock of the heartbeat at `path` is: beside the file itself.
/// When the path's last component is a symlink, beside its target (where
/// the emitter, which wrote the target by its own path, keeps it); `None`
/// when that cannot be resolved or the path names no file.
pub fn lock_path(path: &Path) -> Option<PathBuf> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => companion(&std::fs::canonicalize(path).ok()?),
        _ => companion(path),
    }
}

/// Probes the lock file of the heartbeat at `path`, which must be the file
/// on device `dev` with inode `ino`: pinned (never created, never a
/// symlink, a FIFO or a device node, never blocking), then one
/// `F_OFD_GETLK`.
#[cfg_attr(not(feature = "internals"), allow(dead_code))]
pub fn probe(path: &Path, dev: u64, ino: u64) -> LockProbe {
    Probe::open(path, dev, ino).map_or(LockProbe::Unknown, |p| p.state())
}

/// A lock file opened for probing, kept by a waiter so that its repeated
/// probes open and close nothing (the lock file's last close is the event
/// that tells waiters of a death).
#[derive(Debug)]
pub struct Probe {
    file: File,
    id: (u64, u64),
}

impl Probe {
    /// Opens the lock file of the heartbeat at `path` when it is a regular
    /// file on device `dev` with inode `ino`; `None` otherwise (missing,
    /// replaced, not a regular file, another file system's view).
    pub fn open(path: &Path, dev: u64, ino: u64) -> Option<Probe> {
        let (file, _) = open_pinned(&lock_path(path)?, false, |m| m.dev() == dev && m.ino() == ino)
            .ok()
            .flatten()?;
        Some(Probe {
            file,
            id: (dev, ino),
        })
    }

    /// Whether anyone holds a lock on the file.
    pub fn state(&self) -> LockProbe {
        match held_by_another(&self.file) {
            Some(true) => LockProbe::Held,
            Some(false) => LockProbe::Free,
            None => LockProbe::Unknown,
        }
    }
}

/// Probes the lock that the record `r`, read at `path`, names, reusing
/// `kept` for the same lock file.
pub fn probe_record_kept(
    path: &Path,
    r: &Record,
    id: &Identity,
    kept: &mut Option<Probe>,
) -> LockProbe {
    let Some((dev, ino)) = consulted(r, id) else {
        return LockProbe::Unknown;
    };
    if kept.as_ref().is_none_or(|k| k.id != (dev, ino)) {
        *kept = Probe::open(path, dev, ino);
    }
    kept.as_ref().map_or(LockProbe::Unknown, Probe::state)
}

/// Opens the regular file at `path` for reading, pinned: the last component
/// is never followed (`O_NOFOLLOW`) unless `follow`, and nothing but a
/// regular file that `accept` approves by its metadata is ever opened. The path is first
/// opened with `O_PATH` (which opens nothing: no FIFO end, no device
/// driver), its metadata checked, and only then that very inode reopened
/// through `/proc/self/fd`, non-blocking and never as a controlling
/// terminal. Without `/proc`, the path is opened (non-blocking) and kept
/// only when it is the inode that was checked. `Ok(None)`: something is
/// there, but not a file to open.
pub(crate) fn open_pinned(
    path: &Path,
    follow: bool,
    accept: impl Fn(&std::fs::Metadata) -> bool,
) -> io::Result<Option<(File, std::fs::Metadata)>> {
    let flags = libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
    let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
    let pin = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | nofollow | libc::O_CLOEXEC)
        .open(path)?;
    let meta = pin.metadata()?;
    if !meta.is_file() || !accept(&meta) {
        return Ok(None);
    }
    let reopen = |p: &Path, extra: i32| {
        OpenOptions::new()
            .read(true)
            .custom_flags(flags | extra)
            .open(p)
    };
    let magic = PathBuf::from(format!("/proc/self/fd/{}", pin.as_raw_fd()));
    match reopen(&magic, 0) {
        Ok(f) => Ok(Some((f, meta))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let f = reopen(path, nofollow)?;
            let now = f.metadata()?;
            let same = now.is_file() && (now.dev(), now.ino()) == (meta.dev(), meta.ino());
            Ok(same.then_some((f, now)))
        }
        Err(e) => Err(e),
    }
}

/// Whether an open file description other than `file`'s holds a lock on
/// any of it (`F_OFD_GETLK` for a write lock conflicts with every lock);
/// `None` when the kernel cannot say.
fn held_by_another(file: &File) -> Option<bool> {
    let mut fl = whole_file(libc::F_WRLCK);
    // SAFETY: a valid descriptor and a valid flock for F_OFD_GETLK.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_GETLK, &mut fl) } != 0 {
        return None;
    }
    Some(fl.l_type != libc::F_UNLCK as libc::c_short)
}

fn whole_file(kind: i32) -> libc::flock {
    // SAFETY: flock is plain data; all zero is a valid value (l_pid must be
    // 0 for OFD locks).
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = kind as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl
}

/// A lifetime lock held by this process; released when dropped (or by the
/// kernel when the process dies).
#[derive(Debug)]
pub struct Lifetime {
    /// Closed on drop only in the process that took the lock: a forked
    /// child closed its copy at fork time, and the number may be reused.
    file: ManuallyDrop<File>,
    owner: u32,
    path: PathBuf,
    id: (u64, u64),
}

impl Lifetime {
    /// Takes the lock of the heartbeat at `path`, creating its lock file with
    /// `mode` (the heartbeat's, so that the same checkers can read it).
    /// `None` when another live emitter holds it, or when it cannot be had (a
    /// descriptor limit, a filesystem without OFD locks, something at the
    /// lock path that is not a plain file of its own: a symlink, a FIFO, a
    /// device node, a file with other hard links): the emitter then claims
    /// no lock and checkers apply the rules without it.
    pub fn take(path: &Path, mode: u32) -> Option<Lifetime> {
        let lp = companion(path)?;
        // Read-only: a descriptor open for writing would keep the
        // filesystem from being remounted read-only while the emitter runs.
        // Created new, or else an existing file opened pinned: never
        // through a symlink, never a FIFO or device node.
        let created = OpenOptions::new()
            .read(true)
            .mode(mode)
            .custom_flags(
                libc::O_CREAT
                    | libc::O_EXCL
                    | libc::O_NOFOLLOW
                    | libc::O_NONBLOCK
                    | libc::O_CLOEXEC
                    | libc::O_NOCTTY,
            )
            .open(&lp);
        let (file, meta, ours) = match created {
            Ok(f) => {
                let meta = f.metadata().ok()?;
                (f, meta, true)
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let (f, meta) = open_pinned(&lp, false, |m| m.nlink() == 1).ok().flatten()?;
                (f, meta, false)
            }
            Err(_) => return None,
        };
        let max = crate::protocol::MAX_INT;
        if !meta.is_file() || meta.nlink() != 1 || meta.ino() > max || meta.dev() > max {
            // A file with other names is not ours to lock or change; an
            // identity beyond the record's integer range cannot be claimed.
            return None;
        }
        if ours && meta.mode() & 0o777 != mode {
            // The umask narrowed the file we just created; a file that was
            // already there is never changed.
            let _ = file.set_permissions(std::fs::Permissions::from_mode(mode));
        }
        if held_by_another(&file) != Some(false) {
            // Another emitter on this path lives (or a reader holds a lock):
            // claim nothing.
            return None;
        }
        // A read lock (all a read-only descriptor can hold) is seen by a
        // checker's F_OFD_GETLK as surely as a write lock.
        let fl = whole_file(libc::F_RDLCK);
        // SAFETY: a valid descriptor and a valid flock for F_OFD_SETLK.
        if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &fl) } != 0 {
            return None;
        }
        forked_children_let_go(file.as_raw_fd(), true);
        Some(Lifetime {
            file: ManuallyDrop::new(file),
            owner: std::process::id(),
            path: lp,
            id: (meta.dev(), meta.ino()),
        })
    }

    /// The lock file's inode number, for the record's `lock_ino`.
    pub fn ino(&self) -> u64 {
        self.id.1
    }

    /// The lock file's device number, for the record's `lock_dev`.
    pub fn dev(&self) -> u64 {
        self.id.0
    }

    /// Releases the lock; with `remove`, first removes the lock file when it
    /// is still ours (removed while locked, so that an emitter starting at
    /// that moment either fails to lock the old file or creates a new one).
    pub fn release(self, remove: bool) {
        if remove {
            let ours = std::fs::symlink_metadata(&self.path)
                .is_ok_and(|m| (m.dev(), m.ino()) == self.id);
            if ours {
                let _ = std::fs::remove_file(&self.path);
            }
        }
        drop(self);
    }
}

/// Releases the lock held in an emitter's slot, if any (see
/// [`Lifetime::release`]); later calls do nothing.
pub fn release(slot: &Mutex<Option<Lifetime>>, remove: bool) {
    let held = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(l) = held {
        l.release(remove);
    }
}

impl Drop for Lifetime {
    fn drop(&mut self) {
        // Unlisted before it is closed: a child forked in between keeps a
        // copy rather than closing a reused number.
        if std::process::id() != self.owner {
            // A forked child: its copy was closed at fork time.
            return;
        }
        forked_children_let_go(self.file.as_raw_fd(), false);
        // SAFETY: dropped once, here.
        unsafe { ManuallyDrop::drop(&mut self.file) };
    }
}

/// The descriptors of the lifetime locks this process holds, as an
/// immutable snapshot that the fork handler reads without taking a lock.
static HELD: AtomicPtr<Vec<RawFd>> = AtomicPtr::new(std::ptr::null_mut());
static HELD_UPDATE: Mutex<()> = Mutex::new(());
static ATFORK: Once = Once::new();

/// A child forked without exec would otherwise share the lock and keep it
/// held after the emitter died: the child closes its copies (which does not
/// release the parent's lock: an OFD lock goes with its last descriptor).
fn forked_children_let_go(fd: RawFd, add: bool) {
    ATFORK.call_once(|| {
        // SAFETY: registers a child handler that only reads a snapshot and
        // calls close(), both async-signal-safe.
        unsafe {
            libc::pthread_atfork(None, None, Some(close_locks_in_child));
        }
    });
    let _guard = HELD_UPDATE.lock().unwrap_or_else(|p| p.into_inner());
    let old = HELD.load(Ordering::Acquire);
    // SAFETY: old is null or a snapshot published below and only freed here,
    // under HELD_UPDATE.
    let mut next = unsafe { old.as_ref() }.cloned().unwrap_or_default();
    if add {
        next.push(fd);
    } else {
        next.retain(|&f| f != fd);
    }
    HELD.store(Box::into_raw(Box::new(next)), Ordering::Release);
    if !old.is_null() {
        // SAFETY: no longer published; a fork after the store sees the new one.
        drop(unsafe { Box::from_raw(old) });
    }
}

extern "C" fn close_locks_in_child() {
    let p = HELD.load(Ordering::Acquire);
    // SAFETY: the snapshot published at the time of fork (never freed in
    // the child, whose only thread is this one).
    if let Some(fds) = unsafe { p.as_ref() } {
        for &fd in fds {
            // SAFETY: closes this process's copy of a lock descriptor.
            unsafe {
                libc::close(fd);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_file_sits_beside_the_heartbeat_and_is_recognised() {
        assert_eq!(
            companion(Path::new("/run/app/hb.json")).unwrap(),
            Path::new("/run/app/.hb.json.lifesign.lock")
        );
        assert_eq!(
            companion(Path::new("hb.json")).unwrap(),
            Path::new(".hb.json.lifesign.lock")
        );
        assert!(is_lock_name(b".hb.json.lifesign.lock"));
        assert!(!is_lock_name(b"hb.json.lifesign.lock"));
        assert!(!is_lock_name(b".lifesign.lock"));
        assert!(!is_lock_name(b"hb.json"));
    }

    #[test]
    fn a_lock_is_consulted_only_for_a_record_of_this_kernel() {
        let id = Identity {
            host: Some("a".into()),
            boot_id: Some("boot-1".into()),
            pid_ns: Some(1),
            time_ns: None,
        };
        let mut r = Record {
            lock_ino: Some(42),
            lock_dev: Some(7),
            boot_id: Some("boot-1".into()),
            host: Some("another-container".into()),
            pid_ns: Some(2),
            ..Record::default()
        };
        assert_eq!(consulted(&r, &id), Some((7, 42)));
        r.boot_id = Some("boot-0".into());
        assert_eq!(consulted(&r, &id), None);
        r.boot_id = None;
        assert_eq!(consulted(&r, &id), None);
        r.boot_id = Some("boot-1".into());
        r.lock_dev = None;
        assert_eq!(consulted(&r, &id), None, "an inode alone proves nothing");
        r.lock_dev = Some(7);
        r.lock_ino = None;
        assert_eq!(consulted(&r, &id), None);
    }

    #[test]
    fn a_held_lock_is_seen_held_and_free_once_released() {
        let dir = std::env::temp_dir().join(format!("lifesign-lock-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let hb = dir.join("hb.json");
        let held = Lifetime::take(&hb, 0o644).unwrap();
        let (dev, ino) = (held.dev(), held.ino());
        assert_eq!(probe(&hb, dev, ino), LockProbe::Held);
        assert!(Lifetime::take(&hb, 0o644).is_none(), "a second emitter");
        assert_eq!(probe(&hb, dev, ino + 1), LockProbe::Unknown, "another inode");
        assert_eq!(probe(&hb, dev + 1, ino), LockProbe::Unknown, "another device");
        held.release(false);
        assert_eq!(probe(&hb, dev, ino), LockProbe::Free);
        let again = Lifetime::take(&hb, 0o644).unwrap();
        again.release(true);
        assert_eq!(probe(&hb, dev, ino), LockProbe::Unknown, "removed");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

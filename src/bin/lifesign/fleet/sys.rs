//! The two kernel event sources the relay waits on with tokio: inotify on
//! each heartbeat folder, and a pidfd per emitter, readable when it exits.

use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use tokio::io::unix::AsyncFd;

/// What inotify reported.
pub enum Event {
    /// An entry of a watched folder was written, replaced, created or removed.
    Entry(PathBuf, OsString),
    /// Events were lost: rescan every folder.
    Overflow,
}

/// One inotify instance watching any number of folders.
pub struct Inotify {
    fd: AsyncFd<OwnedFd>,
    dirs: Vec<(i32, PathBuf)>,
}

impl Inotify {
    /// A new instance; must run inside the tokio runtime.
    pub fn new() -> io::Result<Inotify> {
        // SAFETY: returns a new descriptor or -1.
        let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Inotify {
            // SAFETY: the descriptor is owned by the AsyncFd and closed only
            // when it is dropped, after deregistration.
            fd: unsafe { AsyncFd::register(fd)? },
            dirs: Vec::new(),
        })
    }

    /// Watches `dir` for entries written (closed after writing, or renamed
    /// in), removed (deleted or renamed away) and changed in mode. Not
    /// creation: a file is worth a look only once it has been written.
    pub fn add(&mut self, dir: &Path) -> io::Result<()> {
        let c = CString::new(dir.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
        let mask = libc::IN_CLOSE_WRITE
            | libc::IN_MOVED_TO
            | libc::IN_MOVED_FROM
            | libc::IN_DELETE
            | libc::IN_ATTRIB
            | libc::IN_ONLYDIR;
        // SAFETY: a valid descriptor and a NUL-terminated path.
        let wd =
            unsafe { libc::inotify_add_watch(self.fd.get_ref().as_raw_fd(), c.as_ptr(), mask) };
        if wd < 0 {
            return Err(io::Error::last_os_error());
        }
        self.dirs.push((wd, dir.to_path_buf()));
        Ok(())
    }

    /// Waits for events and returns every one queued.
    pub async fn next(&self) -> io::Result<Vec<Event>> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let mut guard = self.fd.readable().await?;
            let n = match guard.try_io(|fd| {
                // SAFETY: reads into a buffer we own, of the length given.
                let n = unsafe {
                    libc::read(fd.get_ref().as_raw_fd(), buf.as_mut_ptr().cast(), buf.len())
                };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            }) {
                Ok(r) => r?,
                Err(_would_block) => continue,
            };
            return Ok(self.parse(&buf[..n]));
        }
    }

    fn parse(&self, mut b: &[u8]) -> Vec<Event> {
        const HEAD: usize = std::mem::size_of::<libc::inotify_event>();
        let mut out = Vec::new();
        while b.len() >= HEAD {
            let wd = i32::from_ne_bytes(b[0..4].try_into().expect("4 bytes"));
            let mask = u32::from_ne_bytes(b[4..8].try_into().expect("4 bytes"));
            let len = u32::from_ne_bytes(b[12..16].try_into().expect("4 bytes")) as usize;
            let name = &b[HEAD..(HEAD + len).min(b.len())];
            let name = &name[..name.iter().position(|&c| c == 0).unwrap_or(name.len())];
            if mask & libc::IN_Q_OVERFLOW != 0 {
                out.push(Event::Overflow);
            } else if let Some((_, dir)) = self.dirs.iter().find(|(w, _)| *w == wd) {
                if !name.is_empty() {
                    out.push(Event::Entry(dir.clone(), OsString::from_vec(name.to_vec())));
                }
            }
            b = &b[(HEAD + len).min(b.len())..];
        }
        out
    }
}

/// A descriptor that becomes readable when process `pid` exits; `None`
/// when it is already gone (or pidfds are unavailable).
pub fn pidfd(pid: u32) -> Option<AsyncFd<OwnedFd>> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: a fresh descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    // SAFETY: owned by the AsyncFd, closed only when it is dropped.
    unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }.ok()
}

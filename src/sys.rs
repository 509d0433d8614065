//! The system calls of a check and a beat, made directly rather than
//! through libc's wrappers.
//!
//! libc makes `open`, `read`, `write`, `close`, `fsync`, `poll` and
//! `epoll_wait` cancellation points. In a process with more than one
//! thread, each such wrapper switches the thread to asynchronous
//! cancellation before the call and back after (two atomic updates): four
//! times in a check (`open`, `read`, `close`, `epoll_wait`) and three in a
//! beat (`open`, `write`, `close`). The calls made here are the ones libc
//! would make (`openat` for `open`), with the same arguments; they are not
//! cancellation points.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, RawFd};

/// The result of a raw system call: the error in `errno` when negative.
fn cvt(rc: libc::c_long) -> io::Result<usize> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc as usize)
    }
}

/// Makes a call again while a signal interrupts it.
fn retried(mut call: impl FnMut() -> libc::c_long) -> io::Result<usize> {
    loop {
        match cvt(call()) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            done => return done,
        }
    }
}

/// A descriptor that this module opened, closed by it on drop.
#[derive(Debug)]
pub struct Fd(RawFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        // Not retried on EINTR: Linux has released the descriptor either way.
        // SAFETY: a descriptor this value owns, closed once.
        unsafe { libc::syscall(libc::SYS_close, self.0) };
    }
}

/// `open(path, flags, mode)`, retried on EINTR. `O_CLOEXEC` is the
/// caller's to give, as with libc.
pub fn open(path: &CStr, flags: libc::c_int, mode: libc::mode_t) -> io::Result<Fd> {
    // SAFETY: a NUL-terminated path; the descriptor is owned by the result.
    let fd = retried(|| unsafe {
        libc::syscall(
            libc::SYS_openat,
            libc::AT_FDCWD,
            path.as_ptr(),
            flags,
            mode as libc::c_uint,
        )
    })?;
    Ok(Fd(fd as RawFd))
}

/// `read(fd, buf, len)` into possibly uninitialised room, retried on EINTR:
/// how many bytes were read (the first that many of `buf` are then
/// initialised).
///
/// # Safety
/// `buf` is valid for writes of `len` bytes.
pub unsafe fn read_raw(fd: RawFd, buf: *mut u8, len: usize) -> io::Result<usize> {
    // SAFETY: the caller promises `len` writable bytes at `buf`.
    retried(|| unsafe { libc::syscall(libc::SYS_read, fd, buf, len) })
}

/// `read(fd, buf)`, retried on EINTR.
pub fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: a slice is valid for writes of its length.
    unsafe { read_raw(fd, buf.as_mut_ptr(), buf.len()) }
}

/// `write(fd, buf)`, retried on EINTR: how many bytes were written.
pub fn write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: a slice is valid for reads of its length.
    retried(|| unsafe { libc::syscall(libc::SYS_write, fd, buf.as_ptr(), buf.len()) })
}

/// `fsync(fd)`, retried on EINTR.
pub fn fsync(fd: RawFd) -> io::Result<()> {
    // SAFETY: fsync takes a descriptor and nothing else.
    retried(|| unsafe { libc::syscall(libc::SYS_fsync, fd) }).map(drop)
}

/// Whether `fd` polls readable (or in error) right now, without waiting:
/// `poll` with a zero timeout. A failed poll counts as readable.
pub fn readable_now(fd: RawFd) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let pp = std::ptr::addr_of_mut!(p);
    // SAFETY: one valid pollfd and a zero timeout (x86_64 has `poll`; the
    // other architectures only `ppoll`, as libc makes it there).
    #[cfg(target_arch = "x86_64")]
    let rc = unsafe { libc::syscall(libc::SYS_poll, pp, 1, 0) };
    #[cfg(not(target_arch = "x86_64"))]
    let rc = unsafe {
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        libc::syscall(
            libc::SYS_ppoll,
            pp,
            1,
            &zero as *const libc::timespec,
            std::ptr::null::<libc::sigset_t>(),
            0,
        )
    };
    rc != 0 && (rc < 0 || p.revents != 0)
}

/// `epoll_wait(ep, events, events.len(), 0)`: the events ready now, none
/// waited for (x86_64 has `epoll_wait`; the other architectures only
/// `epoll_pwait`, as libc makes it there).
pub fn epoll_wait_now(ep: RawFd, events: &mut [libc::epoll_event]) -> io::Result<usize> {
    let (at, n) = (events.as_mut_ptr(), events.len().min(i32::MAX as usize) as libc::c_int);
    // SAFETY: room for `n` events, and a zero timeout.
    #[cfg(target_arch = "x86_64")]
    let rc = unsafe { libc::syscall(libc::SYS_epoll_wait, ep, at, n, 0) };
    #[cfg(not(target_arch = "x86_64"))]
    let rc = unsafe {
        libc::syscall(
            libc::SYS_epoll_pwait,
            ep,
            at,
            n,
            0,
            std::ptr::null::<libc::sigset_t>(),
            0,
        )
    };
    cvt(rc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_calls_do_what_libc_does() {
        let dir = std::env::temp_dir().join(format!("lifesign-sys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC;
        let w = open(&c, flags, 0o600).unwrap();
        assert_eq!(write(w.as_raw_fd(), b"hello").unwrap(), 5);
        fsync(w.as_raw_fd()).unwrap();
        // O_EXCL: the name is taken now, and the error is the kernel's.
        let again = open(&c, flags, 0o600).unwrap_err();
        assert_eq!(again.raw_os_error(), Some(libc::EEXIST));
        let raw = w.as_raw_fd();
        drop(w);
        // Closed on drop: the number is free again.
        // SAFETY: F_GETFD only asks about a descriptor number.
        assert_eq!(unsafe { libc::fcntl(raw, libc::F_GETFD) }, -1);
        let r = open(&c, libc::O_RDONLY | libc::O_CLOEXEC, 0).unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(read(r.as_raw_fd(), &mut buf).unwrap(), 5);
        assert_eq!(&buf[..5], b"hello");
        assert_eq!(read(r.as_raw_fd(), &mut buf).unwrap(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn readable_now_tells_an_empty_pipe_from_a_written_one() {
        let mut fds = [0; 2];
        // SAFETY: room for two descriptors.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        let (r, w) = (Fd(fds[0]), Fd(fds[1]));
        assert!(!readable_now(r.as_raw_fd()));
        assert_eq!(write(w.as_raw_fd(), b"x").unwrap(), 1);
        assert!(readable_now(r.as_raw_fd()));
        // A descriptor that is not open polls in error: readable.
        assert!(readable_now(1_000_000));
    }

    #[test]
    fn epoll_wait_now_reports_what_is_ready_and_waits_for_nothing() {
        let mut fds = [0; 2];
        // SAFETY: room for two descriptors.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        let (r, w) = (Fd(fds[0]), Fd(fds[1]));
        // SAFETY: a new descriptor, owned by `ep`.
        let ep = Fd(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) });
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: 7,
        };
        // SAFETY: a live instance and pipe, and one valid event.
        assert_eq!(unsafe { libc::epoll_ctl(ep.0, libc::EPOLL_CTL_ADD, r.0, &mut ev) }, 0);
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 4];
        assert_eq!(epoll_wait_now(ep.0, &mut events).unwrap(), 0);
        assert_eq!(write(w.as_raw_fd(), b"x").unwrap(), 1);
        // Level-triggered: reported at every wait while it is readable.
        for _ in 0..2 {
            assert_eq!(epoll_wait_now(ep.0, &mut events).unwrap(), 1);
            assert_eq!({ events[0].u64 }, 7);
        }
        // Not an epoll instance: the kernel's error.
        let err = epoll_wait_now(r.0, &mut events).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
    }
}

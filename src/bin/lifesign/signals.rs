//! SIGINT and SIGTERM: they cancel a wait or a watch, and `run` forwards
//! them to its child.

use crate::args::{usage, Res};
use lifesign::Cancel;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicI32, Ordering};

/// The exit code of a wait that SIGINT or SIGTERM interrupted.
pub const INTERRUPTED: u8 = 130;

static CANCEL_FD: AtomicI32 = AtomicI32::new(-1);
static CHILD_PID: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    let child = CHILD_PID.load(Ordering::SeqCst);
    if child > 0 {
        // A signal the terminal raised (Ctrl-C) has already reached the
        // child, which shares our foreground process group: forwarding it
        // too would deliver it twice. Anything sent by a process is
        // forwarded.
        // SAFETY: the kernel passes a valid siginfo with SA_SIGINFO.
        let from_terminal = !info.is_null() && unsafe { (*info).si_code } == libc::SI_KERNEL;
        if !from_terminal {
            // SAFETY: kill is async-signal-safe.
            unsafe { libc::kill(child, sig) };
        }
        return;
    }
    let fd = CANCEL_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let one: u64 = 1;
        // SAFETY: write is async-signal-safe; 8 bytes to an eventfd.
        unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
    }
}

type SigInfoHandler = extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void);

/// Installs the handlers: until [`forward_to`] or [`cancel_on_signal`],
/// SIGINT and SIGTERM are ignored.
pub fn install_handlers() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: installs a handler that only uses async-signal-safe calls.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as SigInfoHandler as *const () as usize;
            sa.sa_flags = libc::SA_RESTART | libc::SA_SIGINFO;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// A token that SIGINT and SIGTERM trigger, for the life of the process.
pub fn cancel_on_signal() -> Res<&'static Cancel> {
    let cancel: &'static Cancel = match Cancel::new() {
        Ok(c) => Box::leak(Box::new(c)),
        Err(e) => return usage(format!("cannot create a cancel token: {e}")),
    };
    CANCEL_FD.store(cancel.as_fd().as_raw_fd(), Ordering::SeqCst);
    install_handlers();
    Ok(cancel)
}

/// From now on SIGINT and SIGTERM sent to us go to `pid` instead.
pub fn forward_to(pid: u32) {
    CHILD_PID.store(pid as i32, Ordering::SeqCst);
}

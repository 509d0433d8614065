//! Signals: SIGINT and SIGTERM cancel a wait or a watch; `run` forwards
//! every signal that would end it to its child, and never dies of one.

use crate::args::{usage, Res};
use lifesign::Cancel;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// The exit code of a wait that SIGINT or SIGTERM interrupted.
pub const INTERRUPTED: u8 = 130;

static CANCEL_FD: AtomicI32 = AtomicI32::new(-1);
static CHILD_PID: AtomicI32 = AtomicI32::new(0);
/// The child leads a process group of its own (not the terminal's).
static CHILD_OWN_GROUP: AtomicBool = AtomicBool::new(false);
/// SIGINT, SIGTERM or SIGQUIT arrived: `run` restarts nothing after it.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    if matches!(sig, libc::SIGINT | libc::SIGTERM | libc::SIGQUIT) {
        STOP.store(true, Ordering::SeqCst);
    }
    let child = CHILD_PID.load(Ordering::SeqCst);
    if child > 0 {
        // A signal the terminal raised (Ctrl-C) has already reached a child
        // that shares our foreground process group: forwarding it too would
        // deliver it twice. Anything else is forwarded.
        // SAFETY: the kernel passes a valid siginfo with SA_SIGINFO.
        let from_terminal = !info.is_null() && unsafe { (*info).si_code } == libc::SI_KERNEL;
        if !from_terminal || CHILD_OWN_GROUP.load(Ordering::SeqCst) {
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
    install(&[libc::SIGINT, libc::SIGTERM]);
}

/// The signals whose default action ends a process, less SIGKILL and
/// SIGSTOP (which cannot be caught), the faults a process raises on itself
/// (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS) and SIGPIPE
/// (a write error instead, see `main`); SIGWINCH too, for a child in a
/// terminal.
pub fn forwarded() -> Vec<libc::c_int> {
    let mut v = vec![
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGTERM,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGALRM,
        libc::SIGVTALRM,
        libc::SIGPROF,
        libc::SIGIO,
        libc::SIGPWR,
        libc::SIGXCPU,
        libc::SIGXFSZ,
        libc::SIGSTKFLT,
        libc::SIGWINCH,
    ];
    v.extend(libc::SIGRTMIN()..=libc::SIGRTMAX());
    v
}

/// `run`: every signal of [`forwarded`] goes to the child from
/// [`forward_to`] on (and is counted as a stop request when it is SIGINT,
/// SIGTERM or SIGQUIT); before that and between children, it only wakes
/// [`run_cancel`].
pub fn forward_all() {
    install(&forwarded());
}

fn install(signals: &[libc::c_int]) {
    for &sig in signals {
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

/// A token that signals trigger while no child is running (a `run`
/// between attempts).
pub fn run_cancel() -> std::io::Result<&'static Cancel> {
    let cancel: &'static Cancel = Box::leak(Box::new(Cancel::new()?));
    CANCEL_FD.store(cancel.as_fd().as_raw_fd(), Ordering::SeqCst);
    Ok(cancel)
}

/// A token that SIGINT and SIGTERM trigger, for the life of the process.
pub fn cancel_on_signal() -> Res<&'static Cancel> {
    let cancel = match run_cancel() {
        Ok(c) => c,
        Err(e) => return usage(format!("cannot create a cancel token: {e}")),
    };
    install_handlers();
    Ok(cancel)
}

/// From now on the forwarded signals go to `pid` (0: to nobody), which
/// leads a process group of its own when `own_group`.
pub fn forward_to(pid: u32, own_group: bool) {
    CHILD_OWN_GROUP.store(own_group, Ordering::SeqCst);
    CHILD_PID.store(pid as i32, Ordering::SeqCst);
}

/// Whether SIGINT, SIGTERM or SIGQUIT arrived.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

//! Telling a supervisor what the emitter knows, with no extra dependency:
//! systemd's notify protocol (`NOTIFY_SOCKET`, `WATCHDOG_USEC`,
//! `WATCHDOG_PID`) and s6's readiness notification (a file descriptor that
//! gets one newline when the service is ready, then is closed).
//!
//! The environment is read once, when the emitter starts, and never modified.
//!
//! Nothing here blocks a beat, and `stop` at most [`BARRIER_TIMEOUT`]:
//! the systemd socket is non-blocking, and the emitter sends outside the
//! lock its writes and `stop` take. A state change (`READY=1`,
//! `RELOADING=1`, `STOPPING=1`, `STATUS=`, `EXTEND_TIMEOUT_USEC=`,
//! `WATCHDOG=trigger`) is never lost to a supervisor that is slow to read:
//! what does not fit its queue is kept, in order, as owed (a newer
//! `STATUS=` or `EXTEND_TIMEOUT_USEC=` replaces an older one still owed; at
//! most [`MAX_OWED`] are kept), and sent as soon as the socket is writable
//! again, by the next send or by a short-lived thread (`lifesign-notify`)
//! that waits for the socket to become writable. A watchdog ping is sent
//! only when it fits, after whatever is owed: a lost ping is harmless, the
//! next beat sends another.
//!
//! The s6 descriptor is claimed by one emitter at a time, gets its newline
//! at most once and is then closed. The environment's descriptor
//! (`LIFESIGN_NOTIFY_FD`) belongs to the process: once an emitter has
//! written and closed it, the variable is ignored for the rest of the
//! process's life, so no later emitter (a restart, a second one) writes
//! into whatever has since taken that number. A descriptor given
//! explicitly (`NotifyConfig::s6_fd`) is the caller's statement that it is
//! the readiness descriptor now. Either way a descriptor that is not a pipe
//! or a socket is refused: readiness is never written into a file. An
//! emitter that stops (or a start that fails) before it was ready hands its
//! claim back unused and open. The write never raises SIGPIPE, and the
//! process's signal dispositions are left alone: SIGPIPE is blocked in the
//! writing thread only, and a SIGPIPE raised by the write is taken off the
//! thread before it is unblocked.

use crate::protocol::State;
use std::collections::HashSet;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the environment asked for, read once.
#[derive(Debug, Default)]
pub struct Notifier {
    systemd: Option<Systemd>,
    /// `WATCHDOG=1` on every beat, at most every this long.
    pub watchdog: Option<Duration>,
    s6: Option<S6Claim>,
    trigger_on_failed: bool,
}

/// The s6 descriptors of this process: the numbers claimed by a running
/// emitter, and whether the environment's descriptor was spent.
#[derive(Default)]
struct S6Fds {
    claimed: HashSet<RawFd>,
    env_spent: bool,
}

static S6_FDS: Mutex<Option<S6Fds>> = Mutex::new(None);

fn s6_fds<T>(f: impl FnOnce(&mut S6Fds) -> T) -> T {
    let mut g = S6_FDS.lock().unwrap_or_else(|p| p.into_inner());
    f(g.get_or_insert_with(S6Fds::default))
}

/// One emitter's hold on the s6 descriptor; handed back, open, when dropped
/// unused.
#[derive(Debug)]
struct S6Claim {
    fd: RawFd,
    from_env: bool,
}

/// Why a descriptor could not be claimed.
enum Unclaimed {
    /// The environment's descriptor, already written and closed by an
    /// emitter of this process.
    Spent,
    /// Another emitter of this process holds it.
    Claimed,
    /// Not an open descriptor.
    NotOpen,
    /// Open, but not a pipe or a socket (a file has taken the number).
    NotAPipe,
}

impl S6Claim {
    fn take(fd: RawFd, from_env: bool) -> Result<S6Claim, Unclaimed> {
        s6_fds(|s| {
            if from_env && s.env_spent {
                return Err(Unclaimed::Spent);
            }
            if s.claimed.contains(&fd) {
                return Err(Unclaimed::Claimed);
            }
            // SAFETY: fstat only fills the zeroed struct.
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            if unsafe { libc::fstat(fd, &mut st) } != 0 {
                return Err(Unclaimed::NotOpen);
            }
            let kind = st.st_mode & libc::S_IFMT;
            if kind != libc::S_IFIFO && kind != libc::S_IFSOCK {
                return Err(Unclaimed::NotAPipe);
            }
            s.claimed.insert(fd);
            Ok(S6Claim { fd, from_env })
        })
    }

    /// Writes the newline and closes the descriptor.
    fn tell_ready(self) -> io::Result<()> {
        let fd = self.fd;
        let r = write_without_sigpipe(fd, b"\n");
        s6_fds(|s| {
            // SAFETY: the descriptor is ours (claimed) and closed once: the
            // claim is consumed under the lock.
            unsafe { libc::close(fd) };
            s.claimed.remove(&fd);
            s.env_spent |= self.from_env;
        });
        std::mem::forget(self);
        r
    }
}

impl Drop for S6Claim {
    fn drop(&mut self) {
        s6_fds(|s| s.claimed.remove(&self.fd));
    }
}

/// `write(2)` of a short buffer that never raises SIGPIPE, whatever the
/// process's disposition: sockets get `MSG_NOSIGNAL`; for anything else
/// SIGPIPE is blocked in this thread for the call, and a SIGPIPE the call
/// raised is consumed before the old mask is restored.
pub fn write_without_sigpipe(fd: RawFd, buf: &[u8]) -> io::Result<()> {
    // SAFETY: buf is valid for its length; send fails with ENOTSOCK on a
    // descriptor that is not a socket, without side effects.
    let n = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) };
    if n >= 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::ENOTSOCK) {
        return Err(err);
    }
    // SAFETY: the signal sets are initialised by sigemptyset before use;
    // pthread_sigmask, sigpending and sigtimedwait only touch this thread's
    // mask and pending signals.
    unsafe {
        let mut pipe: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut pipe);
        libc::sigaddset(&mut pipe, libc::SIGPIPE);
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_BLOCK, &pipe, &mut old);
        let mut pending: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut pending);
        libc::sigpending(&mut pending);
        let was_pending = libc::sigismember(&pending, libc::SIGPIPE) == 1;
        let n = libc::write(fd, buf.as_ptr().cast(), buf.len());
        let result = if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        };
        if matches!(&result, Err(e) if e.raw_os_error() == Some(libc::EPIPE)) && !was_pending {
            let zero = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            while libc::sigtimedwait(&pipe, std::ptr::null_mut(), &zero) < 0
                && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
            {}
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        result
    }
}

/// Which supervisors the emitter may talk to. Start from
/// [`NotifyConfig::default`] and set fields (later versions may add some).
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct NotifyConfig {
    /// Use `NOTIFY_SOCKET` / `WATCHDOG_USEC` when present.
    pub systemd: bool,
    /// Use the s6 notification fd when present.
    pub s6: bool,
    /// An explicit s6 notification fd (`None`: `LIFESIGN_NOTIFY_FD`).
    pub s6_fd: Option<i32>,
    /// Send `WATCHDOG=trigger` when the state becomes failed.
    pub watchdog_trigger: bool,
    /// Send `WATCHDOG=1` only when the work-progress counter moved since
    /// the last ping (default: on every beat).
    pub watchdog_on_progress: bool,
    /// How far each sign of progress while starting or stopping extends
    /// systemd's timeout (`EXTEND_TIMEOUT_USEC`); `None`: the emitter's
    /// staleness promise (3 x interval by default).
    pub extend_timeout: Option<Duration>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            systemd: true,
            s6: true,
            s6_fd: None,
            watchdog_trigger: false,
            watchdog_on_progress: false,
            extend_timeout: None,
        }
    }
}

/// Parses a `NOTIFY_SOCKET` value: a path, or `@name` for an abstract socket.
pub fn notify_addr(value: &str) -> io::Result<SocketAddr> {
    if let Some(name) = value.strip_prefix('@') {
        #[cfg(target_os = "linux")]
        {
            use std::os::linux::net::SocketAddrExt;
            return SocketAddr::from_abstract_name(name.as_bytes());
        }
        #[cfg(not(target_os = "linux"))]
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("abstract socket {name:?} needs Linux"),
        ));
    }
    if !value.starts_with('/') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("NOTIFY_SOCKET={value:?} is neither a path nor @abstract"),
        ));
    }
    SocketAddr::from_pathname(value)
}

/// The watchdog cadence `WATCHDOG_USEC` asks of this process, if any: half
/// the timeout, when `WATCHDOG_PID` is unset or names us.
pub fn watchdog_interval(usec: Option<&str>, pid: Option<&str>, me: u32) -> Option<Duration> {
    let usec: u64 = usec?.trim().parse().ok().filter(|&u| u > 0)?;
    if let Some(p) = pid.map(str::trim).filter(|p| !p.is_empty()) {
        if p.parse::<u32>().ok()? != me {
            return None;
        }
    }
    Some(Duration::from_micros(usec / 2))
}

impl Notifier {
    /// Reads the environment once. Errors (a malformed variable, a socket
    /// that cannot be made) are returned as warnings; the notifier then does
    /// what it still can.
    pub fn from_env(cfg: NotifyConfig, warnings: &mut Vec<String>) -> Notifier {
        let mut n = Notifier {
            trigger_on_failed: cfg.watchdog_trigger,
            ..Notifier::default()
        };
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if cfg.systemd {
            if let Some(sock) = var("NOTIFY_SOCKET") {
                match notify_addr(&sock).and_then(Channel::new) {
                    Ok(channel) => {
                        n.systemd = Some(Systemd(Arc::new(channel)));
                        n.watchdog = watchdog_interval(
                            var("WATCHDOG_USEC").as_deref(),
                            var("WATCHDOG_PID").as_deref(),
                            std::process::id(),
                        );
                    }
                    Err(e) => warnings.push(format!("NOTIFY_SOCKET ignored: {e}")),
                }
            }
        }
        if cfg.s6 {
            let from_env = cfg.s6_fd.is_none();
            let fd = match cfg.s6_fd {
                Some(fd) => Some(fd),
                None => match var("LIFESIGN_NOTIFY_FD") {
                    None => None,
                    Some(v) => match v.trim().parse::<i32>() {
                        Ok(fd) if fd >= 0 => Some(fd),
                        _ => {
                            warnings.push(format!(
                                "LIFESIGN_NOTIFY_FD={v:?} is not a file descriptor number"
                            ));
                            None
                        }
                    },
                },
            };
            if let Some(fd) = fd.filter(|&fd| fd >= 0) {
                match S6Claim::take(fd, from_env) {
                    Ok(c) => n.s6 = Some(c),
                    // An earlier emitter of this process told readiness
                    // through it and closed it: it is told once.
                    Err(Unclaimed::Spent) => {}
                    Err(Unclaimed::Claimed) => warnings.push(format!(
                        "s6 notification fd {fd} ignored: another emitter of this process holds it"
                    )),
                    Err(Unclaimed::NotOpen) => {
                        warnings.push(format!("s6 notification fd {fd} is not open"))
                    }
                    Err(Unclaimed::NotAPipe) => warnings.push(format!(
                        "s6 notification fd {fd} ignored: it is not a pipe or a socket"
                    )),
                }
            }
        }
        n
    }

    /// Whether anything is to be told.
    pub fn is_active(&self) -> bool {
        self.systemd.is_some() || self.s6.is_some()
    }

    /// Tells systemd one state change: sent now when the socket takes it,
    /// else owed and sent as soon as it does. Never waits.
    fn say(&self, msg: &str) {
        if let Some(c) = &self.systemd {
            c.say(msg);
        }
    }

    /// A watchdog ping, after whatever is owed; dropped when it does not
    /// fit (the next beat pings again). Never waits.
    fn ping(&self) {
        if let Some(c) = &self.systemd {
            c.ping();
        }
    }

    /// Tells a `READY=1` datagram, and s6's newline once.
    fn ready_with(&mut self, datagram: &str) -> io::Result<()> {
        self.say(datagram);
        if let Some(claim) = self.s6.take() {
            claim.tell_ready()?;
        }
        Ok(())
    }

    /// `STOPPING=1` (when `say_stopping`), then, once nothing is owed, the
    /// barrier; all of it within `bound`. Returns whether the manager
    /// confirmed in time.
    fn stop_within(&self, say_stopping: bool, bound: Duration) -> bool {
        let Some(c) = &self.systemd else {
            return true;
        };
        let deadline = Instant::now() + bound;
        if say_stopping {
            c.say("STOPPING=1");
        }
        c.flush_until(deadline) && self.barrier_until(deadline).unwrap_or(false)
    }

    /// Hands the s6 descriptor back unused (the emitter stops before it
    /// was ready): another emitter of the process may claim it.
    pub fn release_s6(&mut self) {
        self.s6 = None;
    }
}

fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}

fn with_status(head: &str, status: Option<&str>) -> String {
    match status {
        Some(s) if !s.is_empty() => format!("{head}\nSTATUS={}", one_line(s)),
        _ => head.to_owned(),
    }
}

/// The most `stop` waits for systemd: to send what is owed, `STOPPING=1`,
/// and to have it confirm that it has read every message (`BARRIER=1`).
pub const BARRIER_TIMEOUT: Duration = Duration::from_secs(1);

impl Notifier {
    /// Whether a systemd notify socket is in use.
    pub fn has_systemd(&self) -> bool {
        self.systemd.is_some()
    }

    /// Waits, at most until `deadline`, until systemd has processed every
    /// message sent before: `BARRIER=1` with one end of a pipe, which the
    /// manager closes once it has read the datagrams queued ahead of it.
    /// Returns whether the manager confirmed in time (`Ok(true)` without
    /// systemd).
    fn barrier_until(&self, deadline: Instant) -> io::Result<bool> {
        let Some(c) = &self.systemd else {
            return Ok(true);
        };
        let (read_end, write_end) = pipe()?;
        c.send_barrier(write_end.as_raw_fd())?;
        drop(write_end);
        poll_until(read_end.as_raw_fd(), 0, deadline).map(|revents| revents & libc::POLLHUP != 0)
    }
}

/// The most state changes kept owed to a supervisor that does not read;
/// past it the oldest is dropped (only a supervisor that stopped reading
/// for that many changes can lose one).
pub const MAX_OWED: usize = 16;

/// How long the resend thread waits for the socket before it looks again
/// (at most); it ends once nothing is owed.
const RESEND_WAIT: Duration = Duration::from_millis(500);

/// The socket to systemd and what it is owed, shared with the resend
/// thread.
#[derive(Debug)]
struct Channel {
    sock: UnixDatagram,
    addr: SocketAddr,
    owed: Mutex<Owed>,
}

#[derive(Debug, Default)]
struct Owed {
    queue: VecDeque<String>,
    /// The resend thread runs.
    resending: bool,
    /// The notifier is gone: the resend thread ends.
    closed: bool,
}

/// What a datagram tells, for replacing an older one still owed.
#[derive(PartialEq)]
enum Kind {
    Status,
    Extend,
    Other,
}

fn kind(msg: &str) -> Kind {
    if msg.starts_with("STATUS=") {
        Kind::Status
    } else if msg.starts_with("EXTEND_TIMEOUT_USEC=") {
        Kind::Extend
    } else {
        Kind::Other
    }
}

impl Owed {
    /// Owes one more datagram: it replaces an older one of its kind that
    /// says nothing else (`STATUS=`, `EXTEND_TIMEOUT_USEC=`), and the oldest
    /// goes past [`MAX_OWED`].
    fn push(&mut self, msg: &str) {
        let k = kind(msg);
        if k != Kind::Other {
            self.queue.retain(|m| kind(m) != k);
        }
        self.queue.push_back(msg.to_owned());
        while self.queue.len() > MAX_OWED {
            self.queue.pop_front();
        }
    }
}

/// Whether an error means "try again when the socket is writable".
fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

impl Channel {
    /// A non-blocking datagram socket connected to the manager's, so that
    /// its writability says whether the manager's queue has room. A socket
    /// that is not there yet is connected at the first send.
    fn new(addr: SocketAddr) -> io::Result<Channel> {
        let sock = UnixDatagram::unbound()?;
        // A supervisor that stops reading must never freeze the beat.
        sock.set_nonblocking(true)?;
        let _ = sock.connect_addr(&addr);
        Ok(Channel {
            sock,
            addr,
            owed: Mutex::new(Owed::default()),
        })
    }

    fn owed(&self) -> std::sync::MutexGuard<'_, Owed> {
        self.owed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One send, connecting (again) when the manager's socket was not there
    /// or was replaced (a restarted manager).
    fn send_now(&self, msg: &[u8]) -> io::Result<()> {
        match self.sock.send(msg) {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENOTCONN | libc::ECONNREFUSED | libc::EDESTADDRREQ)
                ) =>
            {
                self.sock.connect_addr(&self.addr)?;
                self.sock.send(msg).map(drop)
            }
            Err(e) => Err(e),
        }
    }

    /// Sends what is owed, in order, while the socket takes it: `Ok` once
    /// nothing is owed, else the error that stopped it.
    fn flush(&self, owed: &mut Owed) -> io::Result<()> {
        while let Some(m) = owed.queue.front() {
            self.send_now(m.as_bytes())?;
            owed.queue.pop_front();
        }
        Ok(())
    }

    fn say(self: &Arc<Self>, msg: &str) {
        let mut owed = self.owed();
        owed.push(msg);
        if self.flush(&mut owed).is_err() && !owed.resending {
            owed.resending = true;
            let me = Arc::clone(self);
            let spawned = std::thread::Builder::new()
                .name("lifesign-notify".into())
                .spawn(move || me.resend());
            // No thread: the next send tries again.
            owed.resending = spawned.is_ok();
        }
    }

    fn ping(&self) {
        let mut owed = self.owed();
        if self.flush(&mut owed).is_ok() {
            let _ = self.send_now(b"WATCHDOG=1");
        }
    }

    /// The resend thread: waits until the socket is writable, sends what is
    /// owed, and ends once nothing is (or the notifier is gone). A manager
    /// that refuses (its socket gone) is tried again with a backoff.
    fn resend(&self) {
        let mut backoff = Duration::from_millis(10);
        loop {
            let mut owed = self.owed();
            if owed.closed {
                owed.resending = false;
                return;
            }
            match self.flush(&mut owed) {
                Ok(()) => {
                    owed.resending = false;
                    return;
                }
                Err(e) if would_block(&e) => {
                    drop(owed);
                    backoff = Duration::from_millis(10);
                    let _ = poll_until(
                        self.sock.as_raw_fd(),
                        libc::POLLOUT,
                        Instant::now() + RESEND_WAIT,
                    );
                }
                Err(_) => {
                    drop(owed);
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(RESEND_WAIT);
                }
            }
        }
    }

    /// Sends what is owed, waiting for the socket until `deadline`; returns
    /// whether everything went.
    fn flush_until(&self, deadline: Instant) -> bool {
        loop {
            if self.flush(&mut self.owed()).is_ok() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            let step = deadline.min(Instant::now() + Duration::from_millis(20));
            if !matches!(poll_until(self.sock.as_raw_fd(), libc::POLLOUT, step), Ok(r) if r != 0) {
                // Not writable, or writable but refusing: a short pause.
                std::thread::sleep(step.saturating_duration_since(Instant::now()));
            }
        }
    }

    fn send_barrier(&self, fd: RawFd) -> io::Result<()> {
        let _owed = self.owed();
        send_with_fd(&self.sock, &self.addr, b"BARRIER=1", fd)
    }
}

/// The notifier's hold on its channel: when it goes, the resend thread
/// ends.
#[derive(Debug)]
struct Systemd(Arc<Channel>);

impl std::ops::Deref for Systemd {
    type Target = Arc<Channel>;
    fn deref(&self) -> &Arc<Channel> {
        &self.0
    }
}

impl Drop for Systemd {
    fn drop(&mut self) {
        self.owed().closed = true;
    }
}

/// Waits until `fd` reports one of `events` (or POLLHUP/POLLERR), at most
/// until `deadline`; returns the events seen (0: the deadline passed).
fn poll_until(fd: RawFd, events: libc::c_short, deadline: Instant) -> io::Result<libc::c_short> {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = left.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd; POLLHUP is reported whatever `events` says.
        let n = unsafe { libc::poll(&mut p, 1, ms) };
        if n > 0 {
            return Ok(p.revents);
        }
        if n == 0 {
            return Ok(0);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: fds is a writable array of two ints.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 returned two new descriptors that nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// `sendmsg` of one datagram carrying one descriptor (`SCM_RIGHTS`).
fn send_with_fd(sock: &UnixDatagram, addr: &SocketAddr, msg: &[u8], fd: RawFd) -> io::Result<()> {
    // The address bytes, as std does not hand out its sockaddr_un.
    let mut sun: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let path_bytes: Vec<u8> = if let Some(p) = addr.as_pathname() {
        p.as_os_str().as_bytes().to_vec()
    } else {
        #[cfg(target_os = "linux")]
        {
            use std::os::linux::net::SocketAddrExt;
            let mut v = vec![0u8];
            v.extend_from_slice(addr.as_abstract_name().unwrap_or_default());
            v
        }
        #[cfg(not(target_os = "linux"))]
        Vec::new()
    };
    if path_bytes.len() > sun.sun_path.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "socket path too long",
        ));
    }
    for (d, s) in sun.sun_path.iter_mut().zip(&path_bytes) {
        *d = *s as libc::c_char;
    }
    let addr_len = std::mem::size_of::<libc::sa_family_t>() + path_bytes.len();
    let mut iov = libc::iovec {
        iov_base: msg.as_ptr() as *mut libc::c_void,
        iov_len: msg.len(),
    };
    // SAFETY: CMSG_SPACE is a pure size computation.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) } as usize;
    let mut control = vec![0u8; space];
    // SAFETY: every pointer below points into live locals sized as the
    // kernel expects; the control buffer holds exactly one cmsghdr with one fd.
    unsafe {
        let mut hdr: libc::msghdr = std::mem::zeroed();
        hdr.msg_name = (&mut sun as *mut libc::sockaddr_un).cast();
        hdr.msg_namelen = addr_len as libc::socklen_t;
        hdr.msg_iov = &mut iov;
        hdr.msg_iovlen = 1;
        hdr.msg_control = control.as_mut_ptr().cast();
        hdr.msg_controllen = space as _;
        let cmsg = libc::CMSG_FIRSTHDR(&hdr);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as _;
        std::ptr::copy_nonoverlapping(
            (&fd as *const RawFd).cast::<u8>(),
            libc::CMSG_DATA(cmsg),
            std::mem::size_of::<RawFd>(),
        );
        if libc::sendmsg(sock.as_raw_fd(), &hdr, libc::MSG_NOSIGNAL) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// What one write looked like, as the supervisor rules see it.
#[derive(Clone, Copy, Debug)]
pub struct Beat<'a> {
    /// The state written.
    pub state: State,
    /// The message written.
    pub message: Option<&'a str>,
    /// The work-progress counter written.
    pub progress: u64,
    /// How many reloads were announced so far.
    pub reloads: u64,
}

/// The rules' settings, fixed when the emitter starts.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rules {
    /// `WATCHDOG_USEC` asked for pings.
    pub watchdog: bool,
    /// Ping only when progress moved since the last ping.
    pub watchdog_on_progress: bool,
    /// `WATCHDOG=trigger` when the state becomes failed.
    pub trigger_on_failed: bool,
    /// `EXTEND_TIMEOUT_USEC` value while starting or stopping (0: never).
    pub extend_usec: u64,
}

/// What the rules decided for one write.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Said {
    /// The datagrams for systemd, in order.
    pub datagrams: Vec<String>,
    /// The emitter became ready (s6 gets its newline).
    pub ready: bool,
}

/// What the supervisor has been told so far, and the rules for what it
/// hears next: a pure state machine, one call per write.
#[derive(Clone, Debug, Default)]
pub struct Told {
    ready: bool,
    failed: bool,
    message: Option<String>,
    progress: u64,
    pinged: u64,
    reloads: u64,
}

impl Told {
    /// The messages one write calls for, in this order: the watchdog ping;
    /// then one of `RELOADING=1` (a new reload), `READY=1` (ready for the
    /// first time since the start or the last reload), the failed
    /// notification, or `STATUS=` (a new message); then, while starting or
    /// stopping, `EXTEND_TIMEOUT_USEC` when progress or the message moved.
    pub fn next(&mut self, rules: &Rules, beat: Beat<'_>, mono_us: u64) -> Said {
        let mut said = Said::default();
        let out = &mut said.datagrams;
        if rules.watchdog && (!rules.watchdog_on_progress || beat.progress != self.pinged) {
            out.push("WATCHDOG=1".into());
            self.pinged = beat.progress;
        }
        let new_message = beat.message != self.message.as_deref();
        let failed = beat.state == State::Failed;
        if beat.reloads > self.reloads {
            self.reloads = beat.reloads;
            self.ready = false;
            let head = format!("RELOADING=1\nMONOTONIC_USEC={mono_us}");
            out.push(with_status(&head, beat.message.filter(|_| new_message)));
        } else if beat.state == State::Ready && !self.ready {
            self.ready = true;
            said.ready = true;
            out.push(with_status("READY=1", beat.message));
        } else if failed && !self.failed {
            if let Some(m) = beat.message {
                out.push(format!("STATUS={}", one_line(m)));
            }
            if rules.trigger_on_failed && rules.watchdog {
                out.push("WATCHDOG=trigger".into());
            }
        } else if new_message {
            out.push(format!("STATUS={}", one_line(beat.message.unwrap_or(""))));
        }
        let moving = beat.progress != self.progress || new_message;
        if rules.extend_usec > 0
            && moving
            && matches!(beat.state, State::Starting | State::Stopping)
        {
            out.push(format!("EXTEND_TIMEOUT_USEC={}", rules.extend_usec));
        }
        self.failed = failed;
        self.progress = beat.progress;
        if new_message {
            self.message = beat.message.map(str::to_owned);
        }
        said
    }
}

/// An emitter's supervisor: where messages go, and what it was told.
#[derive(Debug)]
pub struct Supervisor {
    notifier: Notifier,
    rules: Rules,
    told: Told,
}

impl Supervisor {
    /// The supervisor of an emitter whose staleness promise is `stale_after`.
    pub fn new(notifier: Notifier, cfg: &NotifyConfig, stale_after: Duration) -> Supervisor {
        let rules = Rules {
            watchdog: notifier.watchdog.is_some(),
            watchdog_on_progress: cfg.watchdog_on_progress,
            trigger_on_failed: notifier.trigger_on_failed,
            extend_usec: cfg.extend_timeout.unwrap_or(stale_after).as_micros() as u64,
        };
        Supervisor {
            notifier,
            rules,
            told: Told::default(),
        }
    }

    /// Tells what one write calls for.
    pub fn tell(&mut self, beat: Beat<'_>) {
        let said = self.told.next(&self.rules, beat, crate::clock::mono_us());
        for d in &said.datagrams {
            if d == "WATCHDOG=1" {
                self.notifier.ping();
            } else if d.starts_with("READY=1") {
                // Also s6's newline, once.
                let _ = self.notifier.ready_with(d);
            } else {
                self.notifier.say(d);
            }
        }
    }

    /// Hands the s6 descriptor back unused.
    pub fn release_s6(&mut self) {
        self.notifier.release_s6();
    }

    /// The emitter stopped: `STOPPING=1`, then waits (at most
    /// [`BARRIER_TIMEOUT`] in all) until what is owed is sent and systemd
    /// has read every message.
    pub fn stopping(&mut self) {
        self.notifier.stop_within(true, BARRIER_TIMEOUT);
    }
}

/// Speaks to systemd for another process, from that process's heartbeat
/// reports: what `lifesign run` does for its child under `NotifyAccess=main`.
///
/// Each [`NotifyRelay::observe`] tells what an emitter of the process's own
/// would have (the same rules): `READY=1`, `STATUS=`, `EXTEND_TIMEOUT_USEC`
/// (the heartbeat's max age) while its start or stop progresses,
/// `RELOADING=1` when a ready process goes back to `starting`; plus
/// `STOPPING=1` when it stops, and `WATCHDOG=1` while the verdict is
/// `alive` when systemd asked for a watchdog. [`NotifyRelay::finish`] ends
/// with `STOPPING=1` (once) and the barrier.
#[derive(Debug)]
pub struct NotifyRelay {
    notifier: Notifier,
    told: Told,
    last_state: Option<State>,
    reloads: u64,
    stopping: bool,
}

impl NotifyRelay {
    /// The variables that would let the relayed process talk to systemd
    /// itself: remove them from its environment.
    pub const VARIABLES: [&'static str; 3] = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"];

    /// A relay when `NOTIFY_SOCKET` names a usable socket; problems with the
    /// variables are pushed onto `warnings`.
    pub fn from_env(warnings: &mut Vec<String>) -> Option<NotifyRelay> {
        let cfg = NotifyConfig {
            s6: false,
            ..NotifyConfig::default()
        };
        let notifier = Notifier::from_env(cfg, warnings);
        notifier.has_systemd().then(|| NotifyRelay {
            notifier,
            told: Told::default(),
            last_state: None,
            reloads: 0,
            stopping: false,
        })
    }

    /// How often to observe: `at_most`, or half of `WATCHDOG_USEC` when
    /// that is shorter.
    pub fn period(&self, at_most: Duration) -> Duration {
        self.notifier.watchdog.map_or(at_most, |wd| at_most.min(wd))
    }

    /// Tells what one report of the relayed process calls for.
    pub fn observe(&mut self, rep: &crate::check::Report) {
        use crate::check::Verdict;
        let n = &self.notifier;
        let of_the_process = !matches!(
            rep.verdict,
            Verdict::Missing | Verdict::Invalid | Verdict::PidMismatch | Verdict::ProcessGone
        );
        if let (true, Some(state)) = (of_the_process, rep.state) {
            if self.last_state == Some(State::Ready) && state == State::Starting {
                self.reloads += 1;
            }
            self.last_state = Some(state);
            if matches!(state, State::Stopping | State::Stopped) && !self.stopping {
                self.stopping = true;
                n.say("STOPPING=1");
            }
            let rules = Rules {
                extend_usec: rep.max_age_ms.saturating_mul(1000),
                ..Rules::default()
            };
            let beat = Beat {
                state,
                message: Some(rep.message.as_str()).filter(|m| !m.is_empty()),
                progress: rep.progress,
                reloads: self.reloads,
            };
            for d in self.told.next(&rules, beat, crate::clock::mono_us()).datagrams {
                n.say(&d);
            }
        }
        if n.watchdog.is_some() && rep.verdict == Verdict::Alive {
            n.ping();
        }
    }

    /// The relayed process is gone or no longer ours to speak for:
    /// `STOPPING=1` unless it was told, then the barrier once nothing is
    /// owed; at most `BARRIER_TIMEOUT` (1 s) in all.
    pub fn finish(&mut self) {
        let say_stopping = !std::mem::replace(&mut self.stopping, true);
        self.notifier.stop_within(say_stopping, BARRIER_TIMEOUT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchdog_is_half_the_timeout_and_respects_watchdog_pid() {
        assert_eq!(
            watchdog_interval(Some("10000000"), None, 5),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            watchdog_interval(Some("10000000"), Some("5"), 5),
            Some(Duration::from_secs(5))
        );
        assert_eq!(watchdog_interval(Some("10000000"), Some("6"), 5), None);
        assert_eq!(watchdog_interval(Some("junk"), None, 5), None);
        assert_eq!(watchdog_interval(None, None, 5), None);
    }

    fn beat(state: State, message: Option<&str>, progress: u64) -> Beat<'_> {
        Beat {
            state,
            message,
            progress,
            reloads: 0,
        }
    }

    const RULES: Rules = Rules {
        watchdog: false,
        watchdog_on_progress: false,
        trigger_on_failed: false,
        extend_usec: 3_000_000,
    };

    #[test]
    fn a_start_is_extended_only_while_progress_or_the_message_moves() {
        let mut t = Told::default();
        let mut next = |b| t.next(&RULES, b, 0).datagrams;
        // The first write of a start that has not moved: nothing.
        assert!(next(beat(State::Starting, None, 0)).is_empty());
        assert_eq!(
            next(beat(State::Starting, None, 1)),
            ["EXTEND_TIMEOUT_USEC=3000000"]
        );
        // Wedged: beats go on, progress does not move.
        assert!(next(beat(State::Starting, None, 1)).is_empty());
        assert_eq!(
            next(beat(State::Starting, Some("migrating"), 1)),
            ["STATUS=migrating", "EXTEND_TIMEOUT_USEC=3000000"]
        );
        assert_eq!(
            next(beat(State::Ready, Some("migrating"), 2)),
            ["READY=1\nSTATUS=migrating"]
        );
        // Ready: progress extends nothing.
        assert!(next(beat(State::Ready, Some("migrating"), 3)).is_empty());
        assert_eq!(
            next(beat(State::Stopping, Some("draining"), 3)),
            ["STATUS=draining", "EXTEND_TIMEOUT_USEC=3000000"]
        );
        assert_eq!(
            next(beat(State::Stopping, Some("draining"), 4)),
            ["EXTEND_TIMEOUT_USEC=3000000"]
        );
    }

    #[test]
    fn work_driven_watchdog_pings_only_after_progress() {
        let rules = Rules {
            watchdog: true,
            watchdog_on_progress: true,
            ..RULES
        };
        let mut t = Told::default();
        let mut next = |p| t.next(&rules, beat(State::Ready, None, p), 0).datagrams;
        assert_eq!(next(0), ["READY=1"]);
        assert!(next(0).is_empty(), "idle: no ping");
        assert_eq!(next(5), ["WATCHDOG=1"]);
        assert!(next(5).is_empty());
        let timer = Rules {
            watchdog_on_progress: false,
            ..rules
        };
        assert_eq!(
            Told::default()
                .next(&timer, beat(State::Ready, None, 0), 0)
                .datagrams,
            ["WATCHDOG=1", "READY=1"]
        );
    }

    #[test]
    fn reload_sends_reloading_with_the_monotonic_time_then_ready_again() {
        let mut t = Told::default();
        let ready = t.next(&RULES, beat(State::Ready, Some("up"), 0), 1);
        assert!(ready.ready);
        let reload = Beat {
            reloads: 1,
            ..beat(State::Starting, Some("reloading"), 0)
        };
        let said = t.next(&RULES, reload, 42_000_000);
        assert_eq!(
            said.datagrams,
            [
                "RELOADING=1\nMONOTONIC_USEC=42000000\nSTATUS=reloading",
                "EXTEND_TIMEOUT_USEC=3000000"
            ]
        );
        assert!(!said.ready);
        let again = Beat {
            reloads: 1,
            ..beat(State::Ready, Some("up"), 0)
        };
        assert_eq!(t.next(&RULES, again, 0).datagrams, ["READY=1\nSTATUS=up"]);
        assert!(t.next(&RULES, again, 0).datagrams.is_empty());
    }

    #[test]
    fn failed_is_told_once_with_its_message_and_the_opted_in_trigger() {
        let rules = Rules {
            watchdog: true,
            trigger_on_failed: true,
            ..RULES
        };
        let mut t = Told::default();
        assert_eq!(
            t.next(&rules, beat(State::Failed, Some("disk full"), 0), 0)
                .datagrams,
            ["WATCHDOG=1", "STATUS=disk full", "WATCHDOG=trigger"]
        );
        assert_eq!(
            t.next(&rules, beat(State::Failed, Some("disk full"), 0), 0)
                .datagrams,
            ["WATCHDOG=1"]
        );
    }

    #[test]
    fn owed_keeps_every_state_change_in_order_and_only_the_latest_status_and_extension() {
        let mut o = Owed::default();
        for m in [
            "STATUS=loading",
            "EXTEND_TIMEOUT_USEC=1",
            "READY=1\nSTATUS=up",
            "STATUS=busy",
            "EXTEND_TIMEOUT_USEC=2",
            "STATUS=idle",
            "STOPPING=1",
        ] {
            o.push(m);
        }
        assert_eq!(
            o.queue,
            [
                "READY=1\nSTATUS=up",
                "EXTEND_TIMEOUT_USEC=2",
                "STATUS=idle",
                "STOPPING=1"
            ]
        );
        for i in 0..2 * MAX_OWED {
            o.push(&format!("RELOADING=1\nMONOTONIC_USEC={i}"));
        }
        assert_eq!(o.queue.len(), MAX_OWED);
        assert_eq!(
            o.queue.back().unwrap(),
            &format!("RELOADING=1\nMONOTONIC_USEC={}", 2 * MAX_OWED - 1)
        );
    }

    #[test]
    fn notify_socket_values() {
        assert!(notify_addr("/run/x.sock").is_ok());
        assert!(notify_addr("@abstract").is_ok());
        assert!(notify_addr("relative").is_err());
    }
}

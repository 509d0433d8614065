//! Telling a supervisor what the emitter knows, with no extra dependency:
//! systemd's notify protocol (`NOTIFY_SOCKET`, `WATCHDOG_USEC`,
//! `WATCHDOG_PID`) and s6's readiness notification (a file descriptor that
//! gets one newline when the service is ready, then is closed).
//!
//! The environment is read once, when the emitter starts, and never modified.
//!
//! Nothing here can block a beat or `stop`: the systemd socket is
//! non-blocking (a datagram that does not fit the supervisor's queue is
//! dropped), and the emitter sends outside the lock its writes and `stop`
//! take.
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

use std::collections::HashSet;
use std::io;
use std::os::fd::RawFd;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::Mutex;
use std::time::Duration;

/// What the environment asked for, read once.
#[derive(Debug, Default)]
pub struct Notifier {
    systemd: Option<(UnixDatagram, SocketAddr)>,
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

/// Which supervisors the emitter may talk to.
#[derive(Clone, Copy, Debug)]
pub struct NotifyConfig {
    /// Use `NOTIFY_SOCKET` / `WATCHDOG_USEC` when present.
    pub systemd: bool,
    /// Use the s6 notification fd when present.
    pub s6: bool,
    /// An explicit s6 notification fd (`None`: `LIFESIGN_NOTIFY_FD`).
    pub s6_fd: Option<i32>,
    /// Send `WATCHDOG=trigger` when the state becomes failed.
    pub watchdog_trigger: bool,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            systemd: true,
            s6: true,
            s6_fd: None,
            watchdog_trigger: false,
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
                let socket = || -> io::Result<UnixDatagram> {
                    let s = UnixDatagram::unbound()?;
                    // A supervisor that stops reading must never freeze the beat.
                    s.set_nonblocking(true)?;
                    Ok(s)
                };
                match notify_addr(&sock).and_then(|a| Ok((socket()?, a))) {
                    Ok(pair) => {
                        n.systemd = Some(pair);
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

    /// Sends one datagram without waiting: when the supervisor's queue is
    /// full the message is dropped (`WouldBlock`).
    fn send(&self, msg: &str) -> io::Result<()> {
        if let Some((sock, addr)) = &self.systemd {
            sock.send_to_addr(msg.as_bytes(), addr)?;
        }
        Ok(())
    }

    /// The state became ready (`READY=1`, and s6's newline, once).
    pub fn ready(&mut self, status: Option<&str>) -> io::Result<()> {
        let r = self.send(&with_status("READY=1", status));
        if let Some(claim) = self.s6.take() {
            claim.tell_ready()?;
        }
        r
    }

    /// Hands the s6 descriptor back unused (the emitter stops before it
    /// was ready): another emitter of the process may claim it.
    pub fn release_s6(&mut self) {
        self.s6 = None;
    }

    /// The message changed.
    pub fn status(&self, status: &str) -> io::Result<()> {
        self.send(&format!("STATUS={}", one_line(status)))
    }

    /// A beat was written.
    pub fn watchdog_ping(&self) -> io::Result<()> {
        if self.watchdog.is_some() {
            self.send("WATCHDOG=1")?;
        }
        Ok(())
    }

    /// The state became failed.
    pub fn failed(&self, status: Option<&str>) -> io::Result<()> {
        if let Some(s) = status {
            self.status(s)?;
        }
        if self.trigger_on_failed && self.watchdog.is_some() {
            self.send("WATCHDOG=trigger")?;
        }
        Ok(())
    }

    /// The emitter is stopping.
    pub fn stopping(&self) -> io::Result<()> {
        self.send("STOPPING=1")
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

    #[test]
    fn notify_socket_values() {
        assert!(notify_addr("/run/x.sock").is_ok());
        assert!(notify_addr("@abstract").is_ok());
        assert!(notify_addr("relative").is_err());
    }
}

//! Telling a supervisor what the emitter knows, with no extra dependency:
//! systemd's notify protocol (`NOTIFY_SOCKET`, `WATCHDOG_USEC`,
//! `WATCHDOG_PID`) and s6's readiness notification (a file descriptor that
//! gets one newline when the service is ready, then is closed).
//!
//! The environment is read once, when the emitter starts, and never modified.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// What the environment asked for, read once.
#[derive(Debug, Default)]
pub struct Notifier {
    systemd: Option<(UnixDatagram, SocketAddr)>,
    /// `WATCHDOG=1` on every beat, at most every this long.
    pub watchdog: Option<Duration>,
    s6: Option<OwnedFd>,
    trigger_on_failed: bool,
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
                match notify_addr(&sock).and_then(|a| Ok((UnixDatagram::unbound()?, a))) {
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
                // SAFETY: F_GETFD only queries; we take ownership only of a
                // descriptor that is open, as the supervisor handed it to us.
                if unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0 {
                    n.s6 = Some(unsafe { OwnedFd::from_raw_fd(fd) });
                } else {
                    warnings.push(format!("s6 notification fd {fd} is not open"));
                }
            }
        }
        n
    }

    /// Whether anything is to be told.
    pub fn is_active(&self) -> bool {
        self.systemd.is_some() || self.s6.is_some()
    }

    fn send(&self, msg: &str) -> io::Result<()> {
        if let Some((sock, addr)) = &self.systemd {
            sock.send_to_addr(msg.as_bytes(), addr)?;
        }
        Ok(())
    }

    /// The state became ready (`READY=1`, and s6's newline, once).
    pub fn ready(&mut self, status: Option<&str>) -> io::Result<()> {
        let r = self.send(&with_status("READY=1", status));
        if let Some(fd) = self.s6.take() {
            let mut f = std::fs::File::from(fd);
            io::Write::write_all(&mut f, b"\n")?;
            // Dropping the file closes the descriptor, as s6 expects.
        }
        r
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

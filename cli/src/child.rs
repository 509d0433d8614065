//! The child of `lifesign run` and everything it starts: a process group of
//! its own, a thread that reaps it (and, as the subreaper, every orphan it
//! leaves), its stop (TERM, the grace period, KILL) and the final sweep of
//! what it left behind.

use crate::signals;
use lifesign::Cancel;
use std::collections::HashSet;
use std::ffi::OsString;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Makes this process the reaper of its descendants' orphans
/// (`PR_SET_CHILD_SUBREAPER`): a grandchild whose parent dies becomes our
/// child, so that the sweep finds it and nothing is left to init.
pub fn become_subreaper() {
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
}

/// Whether a terminal's Ctrl-C would reach us: one of our standard streams
/// is a terminal whose foreground process group is ours. The child then
/// stays in our group, so that the terminal's signals reach it directly.
pub fn in_terminal_foreground() -> bool {
    // SAFETY: tcgetpgrp and getpgrp have no memory arguments.
    (0..3).any(|fd| unsafe { libc::tcgetpgrp(fd) == libc::getpgrp() })
}

/// A started child, and its exit once the reaper has seen it.
pub struct Running {
    pub pid: u32,
    /// CMD leads a process group of its own.
    own_group: bool,
    status: Mutex<Option<ExitStatus>>,
    ended: Condvar,
    /// Triggered when the child has exited (ends a wait or a watch).
    pub exited: Cancel,
}

/// Starts `command` with `env`: in a process group of its own when
/// `own_group`, and killed (SIGKILL) if lifesign dies first.
pub fn spawn(
    command: &[OsString],
    env: &[(&str, OsString)],
    own_group: bool,
) -> std::io::Result<Arc<Running>> {
    let exited = Cancel::new()?;
    let mut cmd = Command::new(&command[0]);
    for k in lifesign::NotifyRelay::VARIABLES {
        cmd.env_remove(k);
    }
    cmd.args(&command[1..])
        .envs(env.iter().map(|(k, v)| (k, v)));
    if own_group {
        cmd.process_group(0);
    }
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: prctl and getppid are async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            if libc::getppid() != parent {
                // lifesign died between fork and here.
                libc::_exit(127);
            }
            Ok(())
        })
    };
    let child = cmd.spawn()?;
    let running = Arc::new(Running {
        pid: child.id(),
        own_group,
        status: Mutex::new(None),
        ended: Condvar::new(),
        exited,
    });
    // The reaper owns every wait from here on: `child` is never waited for.
    drop(child);
    signals::forward_to(running.pid, own_group);
    let r = Arc::clone(&running);
    std::thread::Builder::new()
        .name("lifesign-reaper".into())
        .spawn(move || r.reap())?;
    Ok(running)
}

impl Running {
    /// Reaps every child of ours as it exits (orphans adopted as subreaper
    /// among them) until CMD itself has exited; then records its status.
    fn reap(&self) {
        loop {
            // SAFETY: waitid fills `info`; WNOWAIT leaves the child
            // waitable, so that CMD is reaped below under the lock.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            let r =
                unsafe { libc::waitid(libc::P_ALL, 0, &mut info, libc::WEXITED | libc::WNOWAIT) };
            if r != 0 {
                if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                break; // ECHILD: cannot happen while CMD is unreaped
            }
            // SAFETY: waitid filled a SIGCHLD siginfo.
            let pid = unsafe { info.si_pid() };
            let mut raw = 0;
            if pid as u32 != self.pid {
                // SAFETY: reaps a child we were told has exited.
                unsafe { libc::waitpid(pid, &mut raw, 0) };
                continue;
            }
            signals::forward_to(0, false);
            let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
            // SAFETY: reaps CMD, which has exited; the lock keeps `signal`
            // from sending to its PID from now on.
            unsafe { libc::waitpid(pid, &mut raw, 0) };
            *status = Some(ExitStatus::from_raw(raw));
            self.ended.notify_all();
            self.exited.trigger();
            return;
        }
        // No child at all: record a failure rather than wait forever.
        let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
        *status = Some(status.unwrap_or(ExitStatus::from_raw(1 << 8)));
        self.ended.notify_all();
        self.exited.trigger();
    }

    /// CMD's status, once it has exited.
    pub fn status(&self) -> Option<ExitStatus> {
        *self.status.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for CMD's exit, at most `limit` (`None`: as long as it takes).
    pub fn wait(&self, limit: Option<Duration>) -> Option<ExitStatus> {
        let deadline = limit.map(|l| Instant::now() + l);
        let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
        while status.is_none() {
            match deadline {
                None => status = self.ended.wait(status).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return None;
                    }
                    status = self
                        .ended
                        .wait_timeout(status, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
        *status
    }

    /// Sends `sig` to CMD's process group (to CMD alone when it shares
    /// ours), unless CMD has been reaped.
    pub fn signal(&self, sig: libc::c_int) {
        let status = self.status.lock().unwrap_or_else(|e| e.into_inner());
        if status.is_none() {
            let target = if self.own_group {
                -(self.pid as libc::pid_t)
            } else {
                self.pid as libc::pid_t
            };
            // SAFETY: CMD is not reaped (we hold the lock), so its PID and
            // group are still its own.
            unsafe { libc::kill(target, sig) };
        }
    }

    /// TERM, then KILL when the grace period passes; CMD's status.
    pub fn stop(&self, grace: Duration) -> ExitStatus {
        self.signal(libc::SIGTERM);
        if let Some(s) = self.wait(Some(grace)) {
            return s;
        }
        self.signal(libc::SIGKILL);
        self.wait(None)
            .unwrap_or(ExitStatus::from_raw(libc::SIGKILL))
    }

    /// After CMD's exit: whatever it left running (its process group, and
    /// the orphans adopted as subreaper) gets TERM, then KILL after the
    /// grace period, and is reaped. Returns how many processes it found.
    pub fn sweep(&self, grace: Duration) -> usize {
        let group = self.own_group.then_some(self.pid as libc::pid_t);
        let mut seen: HashSet<libc::pid_t> = HashSet::new();
        let mut group_signalled = None;
        let deadline = Instant::now() + grace;
        let mut killed_at: Option<Instant> = None;
        loop {
            reap_exited();
            let kids = children();
            // SAFETY: signal 0 only asks whether the group has members.
            let group_alive = group.is_some_and(|g| unsafe { libc::kill(-g, 0) } == 0);
            if kids.is_empty() && !group_alive {
                break;
            }
            let late = Instant::now() >= deadline;
            if killed_at.is_some_and(|k| k.elapsed() > Duration::from_secs(2)) {
                break; // stuck in the kernel (D state): nothing more to do
            }
            let sig = if late { libc::SIGKILL } else { libc::SIGTERM };
            if late && killed_at.is_none() {
                killed_at = Some(Instant::now());
            }
            if let Some(g) = group.filter(|_| group_alive && group_signalled != Some(sig)) {
                // SAFETY: the group's leader, CMD, is reaped, but a process
                // group ID is not reused while the group has members.
                unsafe { libc::kill(-g, sig) };
                group_signalled = Some(sig);
            }
            for k in kids {
                if seen.insert(k) || late {
                    // SAFETY: an unreaped child of ours.
                    unsafe { libc::kill(k, sig) };
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        reap_exited();
        seen.len() + usize::from(group_signalled.is_some() && seen.is_empty())
    }
}

/// Reaps every child of ours that has exited.
fn reap_exited() {
    let mut raw = 0;
    // SAFETY: waitpid with WNOHANG on any child.
    while unsafe { libc::waitpid(-1, &mut raw, libc::WNOHANG) } > 0 {}
}

/// The PIDs whose parent is this process, from /proc.
fn children() -> Vec<libc::pid_t> {
    // SAFETY: getpid has no preconditions.
    let me = unsafe { libc::getpid() };
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<libc::pid_t>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                // pid (comm) state ppid ...: comm may hold spaces and ')'.
                let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
                let mut f = rest.split_whitespace();
                let state = f.next();
                let ppid = f.next().and_then(|p| p.parse::<libc::pid_t>().ok());
                ppid == Some(me) && state != Some("Z")
            })
        })
        .collect()
}

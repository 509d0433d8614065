//! `lifesign run` under systemd (`NOTIFY_SOCKET` set): it speaks for its
//! child, whose own emitter does not see the socket.
//!
//! On its own cadence (the child's interval, or half of `WATCHDOG_USEC`
//! when that is shorter) the bridge checks the child's heartbeat and tells
//! systemd what an emitter of its own would (the same rules,
//! `lifesign::notify::Told`): `STATUS=` from its message, `READY=1` when
//! it is ready, `EXTEND_TIMEOUT_USEC` (the heartbeat's max age) while its
//! start or stop progresses, `RELOADING=1` when a ready child goes back to
//! `starting`; plus `STOPPING=1` when the child stops or the run ends, and
//! `WATCHDOG=1` while the verdict is `alive` (so, with `--stall`, not while
//! the child is stalled). When the run ends, `BARRIER=1` waits (briefly)
//! until systemd has read everything.

use lifesign::notify::{Beat, Notifier, NotifyConfig, Rules, Told, BARRIER_TIMEOUT};
use lifesign::{CheckOptions, State, Verdict};
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The variables that would let the child talk to systemd itself.
pub const SYSTEMD_VARIABLES: [&str; 3] = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"];

/// The running bridge; [`Bridge::finish`] ends it.
pub struct Bridge {
    done: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

/// What the bridge watches.
pub struct Child {
    pub file: PathBuf,
    pub pid: u32,
    pub interval: Duration,
    pub stall_ms: Option<u64>,
}

impl Bridge {
    /// Starts the bridge when `NOTIFY_SOCKET` names a socket; warnings
    /// (a malformed variable) go to `say`.
    pub fn start(child: Child, say: impl Fn(String)) -> Option<Bridge> {
        let mut warnings = Vec::new();
        let cfg = NotifyConfig {
            s6: false,
            ..NotifyConfig::default()
        };
        let notifier = Notifier::from_env(cfg, &mut warnings);
        for w in warnings {
            say(w);
        }
        if !notifier.has_systemd() {
            return None;
        }
        let (done, stop) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("lifesign-bridge".into())
            .spawn(move || speak(&notifier, &child, &stop))
            .ok()?;
        Some(Bridge { done, thread })
    }

    /// Ends the bridge: `STOPPING=1` unless it was sent, then the barrier.
    pub fn finish(self) {
        let _ = self.done.send(());
        let _ = self.thread.join();
    }
}

fn speak(n: &Notifier, child: &Child, stop: &mpsc::Receiver<()>) {
    let period = match n.watchdog {
        Some(wd) => child.interval.min(wd),
        None => child.interval,
    };
    let opts = CheckOptions {
        expected_pid: Some(child.pid),
        stall_ms: child.stall_ms,
        ..CheckOptions::default()
    };
    let mut told = Told::default();
    let mut last_state = None;
    let mut reloads = 0;
    let mut stopping = false;
    loop {
        let rep = lifesign::check(&child.file, &opts);
        let ours = !matches!(
            rep.verdict,
            Verdict::Missing | Verdict::Invalid | Verdict::PidMismatch | Verdict::ProcessGone
        );
        if let (true, Some(state)) = (ours, rep.state) {
            if last_state == Some(State::Ready) && state == State::Starting {
                reloads += 1;
            }
            last_state = Some(state);
            if matches!(state, State::Stopping | State::Stopped) && !stopping {
                stopping = true;
                let _ = n.send_raw("STOPPING=1");
            }
            let rules = Rules {
                extend_usec: rep.max_age_ms.saturating_mul(1000),
                ..Rules::default()
            };
            let beat = Beat {
                state,
                message: Some(rep.message.as_str()).filter(|m| !m.is_empty()),
                progress: rep.progress,
                reloads,
            };
            for d in told
                .next(&rules, beat, lifesign::clock::mono_us())
                .datagrams
            {
                let _ = n.send_raw(&d);
            }
        }
        if n.watchdog.is_some() && rep.verdict == Verdict::Alive {
            let _ = n.send_raw("WATCHDOG=1");
        }
        match stop.recv_timeout(period) {
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            _ => break,
        }
    }
    if !stopping {
        let _ = n.send_raw("STOPPING=1");
    }
    let _ = n.barrier(BARRIER_TIMEOUT);
}

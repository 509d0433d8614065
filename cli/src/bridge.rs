//! `lifesign run` under systemd (`NOTIFY_SOCKET` set): a thread that
//! checks the child's heartbeat on its own cadence (the child's interval,
//! or half of `WATCHDOG_USEC` when that is shorter) and hands each report
//! to a [`NotifyRelay`], which tells systemd what the child's own emitter
//! would have. The child does not see the socket.

use lifesign::{CheckOptions, NotifyRelay};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The running bridge; [`Bridge::finish`] ends it.
pub struct Bridge {
    done: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

/// What the bridge watches.
pub struct Child {
    pub file: PathBuf,
    /// The current attempt's PID (`run --restart` starts new ones).
    pub pid: Arc<AtomicU32>,
    pub interval: Duration,
    pub stall: Option<Duration>,
}

impl Bridge {
    /// Starts the bridge when `NOTIFY_SOCKET` names a socket; warnings
    /// (a malformed variable) go to `say`.
    pub fn start(child: Child, say: impl Fn(String)) -> Option<Bridge> {
        let mut warnings = Vec::new();
        let relay = NotifyRelay::from_env(&mut warnings);
        for w in warnings {
            say(w);
        }
        let mut relay = relay?;
        let (done, stop) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("lifesign-bridge".into())
            .spawn(move || {
                let period = relay.period(child.interval);
                loop {
                    let opts = {
                        let mut o = CheckOptions::default();
                        o.expected_pid = Some(child.pid.load(Ordering::SeqCst));
                        o.stall = child.stall;
                        o
                    };
                    // A failure of our own read is no news about the child.
                    if let Ok(r) = lifesign::try_check(&child.file, &opts) {
                        relay.observe(&r);
                    }
                    if stop.recv_timeout(period) != Err(mpsc::RecvTimeoutError::Timeout) {
                        break;
                    }
                }
                relay.finish();
            })
            .ok()?;
        Some(Bridge { done, thread })
    }

    /// Ends the bridge: `STOPPING=1` unless it was sent, then the barrier.
    pub fn finish(self) {
        let _ = self.done.send(());
        let _ = self.thread.join();
    }
}

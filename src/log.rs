//! The library's one way to say something: a process-wide log hook.
//!
//! Nothing else in the library writes to stderr. By default, messages at
//! [`LogLevel::Warn`] (a failed heartbeat write, an interval shortened to
//! fit the systemd watchdog) go to stderr as `lifesign: <message>`, so that
//! an unattended program still shows why its heartbeat went stale; a
//! program routes them to its own logger with [`set_log_handler`] or
//! silences them with [`set_log_level`]`(LogLevel::Off)`.
//!
//! The handler runs on the thread that logs, often an emitter's own
//! background thread, possibly on several threads at once. It must not call
//! back into lifesign (a handler that changes the log settings deadlocks).

pub use crate::codes::LogLevel;
use std::fmt;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, RwLock};

/// A log handler: the level and the message (one line, no prefix).
pub type LogHandler = Arc<dyn Fn(LogLevel, &str) + Send + Sync>;

/// The most detailed level that is logged; checked before any formatting.
static MAX_LEVEL: AtomicI32 = AtomicI32::new(LogLevel::Warn as i32);
/// `None`: stderr.
static HANDLER: RwLock<Option<LogHandler>> = RwLock::new(None);

/// Sets the most detailed level the library logs (default
/// [`LogLevel::Warn`]; [`LogLevel::Off`] silences it). Process-wide.
pub fn set_log_level(level: LogLevel) {
    MAX_LEVEL.store(level.code(), Ordering::Relaxed);
}

/// The level set by [`set_log_level`].
pub fn log_level() -> LogLevel {
    LogLevel::from_code(MAX_LEVEL.load(Ordering::Relaxed)).unwrap_or(LogLevel::Warn)
}

/// Routes the library's messages to `handler` (`None`: back to stderr).
///
/// Process-wide. When this returns, no call of the previous handler is
/// still running, so its captured state may be released.
pub fn set_log_handler(handler: Option<LogHandler>) {
    // A handler that panicked poisons nothing worth refusing: take the lock.
    let mut h = HANDLER.write().unwrap_or_else(|p| p.into_inner());
    *h = handler;
}

/// Whether a message at `level` would be logged (to skip costly formatting).
pub(crate) fn enabled(level: LogLevel) -> bool {
    level != LogLevel::Off && level.code() <= MAX_LEVEL.load(Ordering::Relaxed)
}

/// Logs one message at `level`: through the handler, else to stderr.
pub(crate) fn log(level: LogLevel, message: fmt::Arguments<'_>) {
    if !enabled(level) {
        return;
    }
    let h = HANDLER.read().unwrap_or_else(|p| p.into_inner());
    match h.as_ref() {
        Some(handler) => {
            let text = message.to_string();
            // A panicking handler must not take the beat thread with it.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                handler(level, &text)
            }));
        }
        None => {
            use std::io::Write as _;
            // A closed or full stderr is no reason to fail.
            let _ = writeln!(std::io::stderr().lock(), "lifesign: {message}");
        }
    }
}

/// Logs at [`LogLevel::Warn`].
pub(crate) fn warn(message: fmt::Arguments<'_>) {
    log(LogLevel::Warn, message);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn a_handler_receives_what_its_level_allows_and_off_silences_it() {
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = got.clone();
        set_log_handler(Some(Arc::new(move |l, m: &str| {
            sink.lock().unwrap().push((l, m.to_string()))
        })));
        set_log_level(LogLevel::Warn);
        warn(format_args!("disk full"));
        log(LogLevel::Debug, format_args!("not shown"));
        set_log_level(LogLevel::Off);
        warn(format_args!("silenced"));
        set_log_level(LogLevel::Warn);
        set_log_handler(None);
        // Other tests of this binary may log meanwhile: look for ours only.
        let got = got.lock().unwrap();
        assert!(got.contains(&(LogLevel::Warn, "disk full".to_string())));
        assert!(!got.iter().any(|(_, m)| m == "not shown" || m == "silenced"));
    }
}

//! lifesign: one process-heartbeat protocol, one implementation.
//!
//! An *emitter* keeps a small JSON file fresh, atomically; a *checker* turns
//! the file into a precise [`Verdict`]; a *waiter* blocks until an emitter is
//! ready or will never be. The same code serves Rust callers directly and C,
//! C++, Go, Node and Python callers through the C ABI in `include/lifesign.h`.
//!
//! ```no_run
//! use lifesign::{check, CheckOptions, Emitter, State, Verdict, WaitOptions};
//! use std::time::Duration;
//!
//! let hb = Emitter::start("/run/app/hb.json", Duration::from_secs(1))?;
//! hb.set_state(State::Ready, Some("listening on :8080"))?;
//!
//! // Options: `Default`, then setters; every duration is a `Duration`.
//! let opts = CheckOptions::default().max_age(Duration::from_secs(10));
//! let report = check("/run/app/hb.json", &opts);
//! assert_eq!(report.verdict, Verdict::Alive);
//!
//! // Ok: the report that read ready. Err: why not (`e.kind()`: not ready,
//! // timeout, cancelled) with the last report (`e.report()`).
//! let wait = WaitOptions::default().timeout(Duration::from_secs(30));
//! match lifesign::wait_ready("/run/app/hb.json", &wait) {
//!     Ok(report) => println!("ready: {}", report.message),
//!     Err(e) => eprintln!("{e}; last seen {}", e.report().verdict),
//! }
//! hb.stop()?;
//! # Ok::<(), lifesign::Error>(())
//! ```
//!
//! (The README's Rust section shows the same program.)
//!
//! The protocol is specified in docs/PROTOCOL.md.
//!
//! # Packages
//!
//! This crate is the library alone: an `rlib`, with no C symbol and no
//! dependency of the command-line tool. Its C ABI (`include/lifesign.h`)
//! is the workspace package `lifesign-capi` in `capi/`, linked into
//! `liblifesign.so` and `liblifesign.a` by `lifesign-c` in `capi/artifact/`;
//! the command-line tool is `lifesign-cli` in `cli/` (docs/ARCHITECTURE.md).
//!
//! # Logging
//!
//! The library writes nothing to stderr on its own account except through
//! its log hook: by default, warnings (a failed heartbeat write) go to stderr;
//! [`set_log_handler`] routes them elsewhere and [`set_log_level`] silences
//! them.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

/// Declares the internal modules: `pub(crate)`, or public but hidden from the
/// documentation with the `internals` feature (for the crate's own tests,
/// benchmarks, fuzz targets and CLI; no semver promise).
macro_rules! internal_modules {
    ($($(#[$attr:meta])* $name:ident;)*) => {$(
        $(#[$attr])*
        #[cfg(feature = "internals")]
        #[doc(hidden)]
        pub mod $name;
        $(#[$attr])*
        #[cfg(not(feature = "internals"))]
        pub(crate) mod $name;
    )*};
}

internal_modules! {
    check;
    clock;
    codes;
    emitter;
    error;
    judge;
    lock;
    log;
    notify;
    process;
    protocol;
    sys;
    wait;
    write;
}

/// The process's one folder watcher. Public for the command-line tool (its
/// relay follows folders with it); not part of the API, no semver promise.
#[doc(hidden)]
pub mod watcher;

// The curated API: everything a Rust user may depend on. The modules
// above are internal (see `internal_modules!`).
pub use check::{
    check, is_alive, scan, try_check, try_scan, CheckOptions, Report, Unreadable, Verdict,
};
// For the command-line tool's relay; not part of the API.
#[doc(hidden)]
pub use check::{check_entry, FolderEntry};
pub use emitter::{
    emit_once, EmitOnce, Emitter, ErrorCallback, Options, MAX_INTERVAL, MIN_INTERVAL,
};
pub use error::{Error, ErrorKind, Result};
pub use judge::{judge, LockState, Observation, ProcessState};
pub use log::{log_level, set_log_handler, set_log_level, LogHandler, LogLevel};
pub use notify::{NotifyConfig, NotifyRelay};
pub use protocol::{Record, Shape, State};
pub use wait::{wait_ready, wait_ready_with, watch, Cancel, WaitError, WaitErrorKind, WaitOptions};

/// The library version (the crate's).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

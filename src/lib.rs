//! lifesign: one process-heartbeat protocol, one implementation.
//!
//! An *emitter* keeps a small JSON file fresh, atomically; a *checker* turns
//! the file into a precise [`Verdict`]; a *waiter* blocks until an emitter is
//! ready or will never be. The same code serves Rust callers directly and C,
//! C++, Go, Node and Python callers through the C ABI in `include/lifesign.h`.
//!
//! ```no_run
//! use std::time::Duration;
//! let hb = lifesign::Emitter::start("/run/user/1000/app.json", Duration::from_secs(1))?;
//! hb.set_state(lifesign::State::Ready, Some("listening on :8080"))?;
//! let report = lifesign::check("/run/user/1000/app.json", &lifesign::CheckOptions::default());
//! assert_eq!(report.verdict, lifesign::Verdict::Alive);
//! hb.stop()?;
//! # Ok::<(), lifesign::Error>(())
//! ```
//!
//! The protocol is specified in docs/PROTOCOL.md.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod check;
pub mod emitter;
pub mod error;
pub mod ffi;
pub mod lock;
pub mod notify;
pub mod process;
pub mod protocol;
pub mod wait;
pub mod write;

pub use check::{check, is_alive, CheckOptions, Report, Verdict};
pub use emitter::{Emitter, Options};
pub use error::{Error, ErrorKind, Result};
pub use protocol::{Record, Shape, State};
pub use wait::{wait_ready, wait_ready_with, Cancel, WaitOptions, WaitOutcome};

/// The library version (the crate's).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

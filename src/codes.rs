//! Every integer code of the C ABI, each family declared once.
//!
//! `code_family!` turns one declaration per family (verdicts, states,
//! shapes, error kinds, option flags, log levels) into the Rust enum, its
//! stable names (`as_str`, `Display`, serde), its integers (`code`,
//! `from_code`), its C names (the family's prefix and the upper-cased name:
//! `LIFESIGN_VERDICT_PID_MISMATCH`) and the `#define`s of
//! `include/lifesign.h` (`c_constants`).
//!
//! Why not cbindgen alone: cbindgen does not expand macros on stable Rust,
//! and a `#[repr(i32)]` enum would become a C `enum` in the header where the
//! contract (and every binding that reads the header) has `#define`s. So
//! the header test renders the constants from these tables at run time and
//! hands them to cbindgen as the text after the includes; cbindgen writes
//! the structs and functions of capi/src/lib.rs.

use std::fmt;

/// Declares a family of codes: a fieldless enum with explicit integers, a
/// stable lower-case name and a doc line per member, and the C prefix of
/// its constants.
macro_rules! code_family {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident: $repr:ident, c_prefix = $prefix:literal {
            $( #[doc = $doc:literal] $variant:ident = $value:literal => $str:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr($repr)]
        // Later versions may add members (a new verdict, state or code).
        #[non_exhaustive]
        $vis enum $name {
            $( #[doc = $doc] $variant = $value, )+
        }

        // Not every family needs every method (the option flags never need
        // their names in Rust).
        #[allow(dead_code)]
        impl $name {
            /// Every member, in the order of its C codes.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable name (the JSON and CLI spelling; the C constant is
            /// its upper-case form after the family's prefix).
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $str, )+
                }
            }

            /// The C ABI code.
            pub fn code(self) -> $repr {
                self as $repr
            }

            /// The member for a C ABI code, `None` for any other value.
            pub fn from_code(code: $repr) -> Option<$name> {
                match code {
                    $( $value => Some($name::$variant), )+
                    _ => None,
                }
            }

            /// The one-line description (the C constant's comment).
            #[doc(hidden)]
            pub fn doc(self) -> &'static str {
                match self {
                    $( $name::$variant => $doc.trim(), )+
                }
            }

            /// The C constant's name, e.g. `LIFESIGN_VERDICT_ALIVE`.
            #[doc(hidden)]
            pub fn c_name(self) -> String {
                format!("{}{}", $prefix, self.as_str().to_ascii_uppercase())
            }

            /// The family's `#define`s: name, value and comment, the
            /// comment after `label` when there is one ("Verdict: ...").
            #[doc(hidden)]
            #[cfg(feature = "internals")]
            pub fn c_constants(label: &str) -> Vec<CConstant> {
                $name::ALL
                    .iter()
                    .map(|m| CConstant {
                        name: m.c_name(),
                        value: m.code().to_string(),
                        doc: if label.is_empty() {
                            m.doc().to_string()
                        } else {
                            format!("{label}: {}", lowercase_first(m.doc()))
                        },
                    })
                    .collect()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Serialises as the stable name (`"pid_mismatch"`).
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

code_family! {
    /// What a check concluded.
    pub enum Verdict: i32, c_prefix = "LIFESIGN_VERDICT_" {
        /// Fresh, and written by a live process.
        Alive = 0 => "alive",
        /// No file.
        Missing = 1 => "missing",
        /// Not a valid heartbeat file.
        Invalid = 2 => "invalid",
        /// Written by another PID than the expected one.
        PidMismatch = 3 => "pid_mismatch",
        /// The emitter stopped.
        Stopped = 4 => "stopped",
        /// The emitter failed.
        Failed = 5 => "failed",
        /// The writer's process is gone (exited, zombie, reused PID, earlier boot).
        ProcessGone = 6 => "process_gone",
        /// Dated ahead of the checker's clock.
        Future = 7 => "future",
        /// Older than the max age (or, from a wait, the idle timeout passed).
        Stale = 8 => "stale",
        /// Fresh, but work progress has not moved for the stall limit.
        Stalled = 9 => "stalled",
    }
}

code_family! {
    /// The state an emitter reports.
    pub enum State: i32, c_prefix = "LIFESIGN_STATE_" {
        /// Started, not yet ready.
        Starting = 0 => "starting",
        /// Ready.
        Ready = 1 => "ready",
        /// Shutting down.
        Stopping = 2 => "stopping",
        /// Stopped cleanly (the final write of an emitter).
        Stopped = 3 => "stopped",
        /// Failed; the process may still be alive to report why.
        Failed = 4 => "failed",
    }
}

code_family! {
    /// Which file layout a record was read from.
    pub enum Shape: i32, c_prefix = "LIFESIGN_SHAPE_" {
        /// Nothing was parsed.
        None = 0 => "none",
        /// lifesign protocol v1 (or a later version).
        V1 = 1 => "v1",
        /// `{pid, state, updated_at_ms}` without `v` (desktop launchers).
        Plain = 2 => "plain",
        /// `{timestamp (ISO 8601 with offset), pid, hostname, metadata}`.
        Timestamp = 3 => "timestamp",
        /// `{pid, status, updatedAtMs}` (Node daemons).
        Camel = 4 => "camel",
    }
}

code_family! {
    /// What a reader found at a record's lifetime lock (docs/PROTOCOL.md,
    /// section 10), as given to [`judge`](crate::judge).
    pub enum LockState: i32, c_prefix = "LIFESIGN_LOCK_" {
        /// Not looked at, or nothing proven (another file at the lock path, an error).
        Unknown = 0 => "unknown",
        /// The record's lock file is locked, on the whole file or any part of it.
        Held = 1 => "held",
        /// The record's very lock file (its `lock_dev` and `lock_ino`) is not locked: its writer has exited.
        Free = 2 => "free",
        /// No file at the lock path: proves nothing, as `unknown`.
        Absent = 3 => "absent",
    }
}

code_family! {
    /// What a reader found about the process a record names (its `pid`), as
    /// given to [`judge`](crate::judge).
    pub enum ProcessState: i32, c_prefix = "LIFESIGN_PROCESS_" {
        /// Not looked at, or the probe could not tell (`hidepid`, another PID namespace's `/proc`).
        Unknown = 0 => "unknown",
        /// A process with that PID runs (not a zombie); its start time is given where known.
        Running = 1 => "running",
        /// No process with that PID, or a zombie.
        Exited = 2 => "exited",
    }
}

// Not derived: `code_family!` declares the enum.
#[allow(clippy::derivable_impls)]
impl Default for Shape {
    fn default() -> Shape {
        Shape::None
    }
}

#[allow(clippy::derivable_impls)]
impl Default for LockState {
    fn default() -> LockState {
        LockState::Unknown
    }
}

#[allow(clippy::derivable_impls)]
impl Default for ProcessState {
    fn default() -> ProcessState {
        ProcessState::Unknown
    }
}

code_family! {
    /// The kind of an [`Error`](crate::Error), one per C return code.
    pub enum ErrorKind: i32, c_prefix = "LIFESIGN_ERR_" {
        /// A NULL, non-UTF-8 or out-of-range argument, or a malformed environment variable.
        InvalidArgument = -1 => "invalid_argument",
        /// A filesystem or socket operation failed.
        Io = -2 => "io",
        /// Not allowed now: the emitter is stopped, or this is a child after fork().
        State = -3 => "state",
        /// An internal panic was caught; the library is still usable.
        Panic = -4 => "panic",
        /// A wait reached its hard timeout.
        Timeout = -5 => "timeout",
        /// A wait was cancelled through its cancel token.
        Cancelled = -6 => "cancelled",
        /// No verdict: the checker could not read the heartbeat for a reason of its own (descriptors or memory exhausted, an I/O error, no permission; docs/PROTOCOL.md 3.3); the report's `detail` says why.
        CannotTell = -7 => "cannot_tell",
    }
}

// The option flags exist only for the C ABI (the Rust `Options` has fields).
#[cfg(feature = "internals")]
code_family! {
    /// The flags of the C `lifesign_options`.
    pub enum OptionFlag: u32, c_prefix = "LIFESIGN_OPT_" {
        /// Fsync the temporary and the folder on every write.
        Durable = 1 => "durable",
        /// Remove the heartbeat file after the final `stopped` write.
        RemoveOnStop = 2 => "remove_on_stop",
        /// Ignore `NOTIFY_SOCKET` and `WATCHDOG_USEC`.
        NoSystemd = 4 => "no_systemd",
        /// Ignore the s6 notification descriptor.
        NoS6 = 8 => "no_s6",
        /// Send `WATCHDOG=trigger` when the state becomes failed.
        WatchdogTrigger = 16 => "watchdog_trigger",
        /// Send `WATCHDOG=1` only when `lifesign_progress` was called since the last ping.
        WatchdogOnProgress = 32 => "watchdog_on_progress",
        /// Hold no lifetime lock: one descriptor fewer; checkers rely on `/proc` alone.
        NoLock = 64 => "no_lock",
    }
}

#[cfg(feature = "internals")]
impl OptionFlag {
    /// Every known flag, or-ed.
    pub fn all_bits() -> u32 {
        OptionFlag::ALL.iter().fold(0, |acc, f| acc | f.code())
    }
}

/// The success code of every C function that returns an `int32_t`.
#[cfg(feature = "internals")]
pub const OK: i32 = 0;

code_family! {
    /// How much the library says through the log hook.
    pub enum LogLevel: i32, c_prefix = "LIFESIGN_LOG_" {
        /// Nothing.
        Off = 0 => "off",
        /// Something failed that the library works around (a failed heartbeat write).
        Warn = 1 => "warn",
        /// What the library does (starts, stops); also everything at warn.
        Info = 2 => "info",
        /// Details for debugging; also everything at info.
        Debug = 3 => "debug",
    }
}

/// One `#define` of the header: name, value and its comment.
#[cfg(feature = "internals")]
pub struct CConstant {
    /// The C name.
    pub name: String,
    /// The value as C source.
    pub value: String,
    /// The comment.
    pub doc: String,
}

/// Every `#define` of `include/lifesign.h`, in header order: the version,
/// the return codes, then each family.
#[cfg(feature = "internals")]
pub fn c_constants() -> Vec<CConstant> {
    let konst = |name: &str, value: String, doc: &str| CConstant {
        name: name.into(),
        value,
        doc: doc.into(),
    };
    let mut v = vec![
        konst(
            "LIFESIGN_VERSION_STRING",
            format!("\"{}\"", env!("CARGO_PKG_VERSION")),
            "The version of this header; lifesign_version() gives the library's.",
        ),
        konst(
            "LIFESIGN_VERSION_MAJOR",
            env!("CARGO_PKG_VERSION_MAJOR").into(),
            "Major version of this header; equals the library's (see `lifesign_version`).",
        ),
        konst(
            "LIFESIGN_VERSION_MINOR",
            env!("CARGO_PKG_VERSION_MINOR").into(),
            "Minor version of this header.",
        ),
        konst(
            "LIFESIGN_VERSION_PATCH",
            env!("CARGO_PKG_VERSION_PATCH").into(),
            "Patch version of this header.",
        ),
        konst("LIFESIGN_OK", OK.to_string(), "Success."),
    ];
    v.extend(ErrorKind::c_constants(""));
    v.extend(State::c_constants("State"));
    v.extend(Verdict::c_constants("Verdict"));
    v.extend(Shape::c_constants("Shape"));
    v.extend(LockState::c_constants("Lock state"));
    v.extend(ProcessState::c_constants("Process state"));
    v.extend(OptionFlag::c_constants("Option flag"));
    v.extend(LogLevel::c_constants("Log level"));
    v
}

#[cfg(feature = "internals")]
fn lowercase_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        // Keep code spans and names (`{pid...}`, `lifesign`) as written.
        Some(f) if f.is_ascii_uppercase() => f.to_ascii_lowercase().to_string() + c.as_str(),
        Some(f) => f.to_string() + c.as_str(),
        None => String::new(),
    }
}

/// The `#define`s of [`c_constants`] as cbindgen writes constants.
#[cfg(feature = "internals")]
pub fn c_constants_text() -> String {
    let mut out = String::new();
    for c in c_constants() {
        out.push_str(&format!("\n/*\n {}\n */\n#define {} {}\n", c.doc, c.name, c.value));
    }
    // cbindgen adds the blank line that follows.
    out.pop();
    out
}

#[cfg(all(test, feature = "internals"))]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_and_names_are_unique_per_family() {
        for v in Verdict::ALL {
            assert_eq!(Verdict::from_code(v.code()), Some(*v));
        }
        for s in State::ALL {
            assert_eq!(State::from_code(s.code()), Some(*s));
        }
        for s in Shape::ALL {
            assert_eq!(Shape::from_code(s.code()), Some(*s));
        }
        for e in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_code(e.code()), Some(*e));
        }
        assert_eq!(Verdict::from_code(10), None);
        assert_eq!(ErrorKind::from_code(OK), None);
        let names: Vec<String> = c_constants().into_iter().map(|c| c.name).collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(names.len(), unique.len(), "duplicate C names: {names:?}");
    }

    #[test]
    fn option_flags_are_distinct_bits() {
        let mut seen = 0;
        for f in OptionFlag::ALL {
            assert_eq!(f.code().count_ones(), 1, "{f}");
            assert_eq!(seen & f.code(), 0, "{f}");
            seen |= f.code();
        }
        assert_eq!(seen, OptionFlag::all_bits());
    }

    #[test]
    fn c_names_keep_the_contract_spelling() {
        assert_eq!(Verdict::PidMismatch.c_name(), "LIFESIGN_VERDICT_PID_MISMATCH");
        assert_eq!(ErrorKind::InvalidArgument.c_name(), "LIFESIGN_ERR_INVALID_ARGUMENT");
        assert_eq!(Shape::V1.c_name(), "LIFESIGN_SHAPE_V1");
        assert_eq!(OptionFlag::NoS6.c_name(), "LIFESIGN_OPT_NO_S6");
    }

    #[test]
    fn codes_serialise_as_their_stable_names() {
        assert_eq!(
            serde_json::to_string(&Verdict::ProcessGone).unwrap(),
            "\"process_gone\""
        );
        assert_eq!(serde_json::to_string(&Shape::V1).unwrap(), "\"v1\"");
    }
}

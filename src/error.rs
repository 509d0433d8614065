//! The library's error type; each kind maps to one C return code.

use std::fmt;

/// The kind of an [`Error`], one per C return code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A bad argument (NULL, not UTF-8, out of range, malformed environment).
    InvalidArgument,
    /// A filesystem or socket operation failed.
    Io,
    /// The call is not allowed now (after `stop`, or in a child after `fork`).
    State,
    /// A panic was caught at the C boundary.
    Panic,
    /// A wait reached its hard timeout.
    Timeout,
    /// A wait was cancelled.
    Cancelled,
}

impl ErrorKind {
    /// The C return code (`LIFESIGN_ERR_*`, negative).
    pub fn code(self) -> i32 {
        match self {
            ErrorKind::InvalidArgument => -1,
            ErrorKind::Io => -2,
            ErrorKind::State => -3,
            ErrorKind::Panic => -4,
            ErrorKind::Timeout => -5,
            ErrorKind::Cancelled => -6,
        }
    }
}

/// An error with a human message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// What went wrong, by kind.
    pub kind: ErrorKind,
    /// What went wrong, in words.
    pub message: String,
}

impl Error {
    /// A new error.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
        }
    }

    /// An I/O error with its context.
    pub fn io(context: impl fmt::Display, e: &std::io::Error) -> Error {
        Error::new(ErrorKind::Io, format!("{context}: {e}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;

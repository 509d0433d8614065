//! The library's error type; each kind maps to one C return code.

use std::fmt;

/// The kind of an [`Error`], one per C return code (declared with the
/// other C ABI codes).
pub use crate::codes::ErrorKind;

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

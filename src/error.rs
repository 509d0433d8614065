//! The library's error type; each kind maps to one C return code.

use std::fmt;
use std::io;
use std::sync::Arc;

/// The kind of an [`Error`], one per C return code (declared with the
/// other C ABI codes).
pub use crate::codes::ErrorKind;

/// An error: its kind, what failed in words, and the operating system's
/// error underneath when there is one ([`std::error::Error::source`]).
///
/// Two errors are equal when their kinds and messages are.
#[derive(Clone, Debug)]
pub struct Error {
    /// What went wrong, by kind.
    pub kind: ErrorKind,
    /// What went wrong, in words: what failed, then why.
    pub message: String,
    /// The I/O error underneath, shared so that the error stays `Clone`.
    source: Option<Arc<io::Error>>,
}

impl Error {
    /// A new error.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// An I/O error ([`ErrorKind::Io`]): `context` says what failed, `e`
    /// why; `e` is kept as the error's [`source`](std::error::Error::source).
    pub fn io(context: impl fmt::Display, e: &io::Error) -> Error {
        Error::caused(ErrorKind::Io, format!("{context}: {e}"), e)
    }

    /// An error of any kind with the I/O error underneath it kept as its
    /// [`source`](std::error::Error::source).
    pub fn caused(kind: ErrorKind, message: impl Into<String>, e: &io::Error) -> Error {
        // io::Error is not Clone: keep its OS code, or its kind and words.
        let kept = match e.raw_os_error() {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::new(e.kind(), e.to_string()),
        };
        Error {
            kind,
            message: message.into(),
            source: Some(Arc::new(kept)),
        }
    }

    /// The I/O error underneath, when there is one.
    pub fn io_error(&self) -> Option<&io::Error> {
        self.source.as_deref()
    }
}

impl PartialEq for Error {
    fn eq(&self, other: &Error) -> bool {
        self.kind == other.kind && self.message == other.message
    }
}

impl Eq for Error {}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;

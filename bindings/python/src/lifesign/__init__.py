"""Python binding of liblifesign, the process-heartbeat library.

An emitter keeps a small JSON heartbeat file fresh; a checker turns that
file into a verdict. Everything here calls the C ABI of include/lifesign.h
through ctypes; no rule is decided in Python.
"""

from ._api import (
    CancelToken,
    Emitter,
    ErrorCode,
    Facts,
    InvalidArgumentError,
    LifesignError,
    LifesignIOError,
    LockState,
    ProcessState,
    Report,
    SettableState,
    Shape,
    ShapeName,
    State,
    StateError,
    StateName,
    Verdict,
    VerdictName,
    WaitCancelled,
    WaitTimeout,
    check,
    is_alive,
    judge,
    library_path,
    set_log_level,
    start,
    start_from_env,
    version,
    wait_ready,
    wait_ready_async,
)
from ._loader import LibraryNotFound

__all__ = [
    "CancelToken",
    "Emitter",
    "ErrorCode",
    "Facts",
    "InvalidArgumentError",
    "LibraryNotFound",
    "LifesignError",
    "LifesignIOError",
    "LockState",
    "ProcessState",
    "Report",
    "SettableState",
    "Shape",
    "ShapeName",
    "State",
    "StateError",
    "StateName",
    "Verdict",
    "VerdictName",
    "WaitCancelled",
    "WaitTimeout",
    "check",
    "is_alive",
    "judge",
    "library_path",
    "set_log_level",
    "start",
    "start_from_env",
    "version",
    "wait_ready",
    "wait_ready_async",
]

__version__ = "0.2.0"

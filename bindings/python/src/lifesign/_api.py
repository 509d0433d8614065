"""The public API: thin wrappers over the C functions of liblifesign."""

from __future__ import annotations

import asyncio
import ctypes
import enum
import errno as _errno
import math
import os
import re
import threading
import weakref
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, Literal, Optional, Union

from . import _bindings as _c
from . import _ffi, _log

PathArg = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
Seconds = Union[float, int, timedelta]

_U32_MAX = 2**32 - 1
_U64_MAX = 2**64 - 1


# ---------------------------------------------------------------------------
# Enumerations. Their values are the library's names (lifesign_*_name); the
# integer codes are those of include/lifesign.h.


class ErrorCode(enum.IntEnum):
    """Return codes of the C functions."""

    OK = _c.LIFESIGN_OK
    INVALID_ARGUMENT = _c.LIFESIGN_ERR_INVALID_ARGUMENT
    IO = _c.LIFESIGN_ERR_IO
    STATE = _c.LIFESIGN_ERR_STATE
    PANIC = _c.LIFESIGN_ERR_PANIC
    TIMEOUT = _c.LIFESIGN_ERR_TIMEOUT
    CANCELLED = _c.LIFESIGN_ERR_CANCELLED
    CANNOT_TELL = _c.LIFESIGN_ERR_CANNOT_TELL


class State(str, enum.Enum):
    """The state an emitter announces."""

    STARTING = "starting"
    READY = "ready"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"

    @property
    def code(self) -> int:
        return _STATE_CODES[self]

    def __str__(self) -> str:
        return self.value


class Verdict(str, enum.Enum):
    """What a checker concluded from a heartbeat file."""

    ALIVE = "alive"
    MISSING = "missing"
    INVALID = "invalid"
    PID_MISMATCH = "pid_mismatch"
    STOPPED = "stopped"
    FAILED = "failed"
    PROCESS_GONE = "process_gone"
    FUTURE = "future"
    STALE = "stale"
    STALLED = "stalled"

    @property
    def code(self) -> int:
        return _VERDICT_CODES[self]

    def __str__(self) -> str:
        return self.value


class Shape(str, enum.Enum):
    """Which file layout the reader recognised."""

    NONE = "none"
    V1 = "v1"
    PLAIN = "plain"
    TIMESTAMP = "timestamp"
    CAMEL = "camel"

    @property
    def code(self) -> int:
        return _SHAPE_CODES[self]

    def __str__(self) -> str:
        return self.value


# The names as Literal types, for type checkers: ``set_state("redy")`` is an
# error under mypy. tests/test_typing.py checks that they list exactly the
# members of the enums above.

#: The name of a :class:`State`.
StateName = Literal["starting", "ready", "stopping", "stopped", "failed"]
#: What :meth:`Emitter.set_state` accepts: every state but ``stopped``
#: (which :meth:`Emitter.stop` writes), as a member or by name.
SettableState = Union[
    Literal[State.STARTING, State.READY, State.STOPPING, State.FAILED],
    Literal["starting", "ready", "stopping", "failed"],
]
#: The name of a :class:`Verdict`.
VerdictName = Literal[
    "alive", "missing", "invalid", "pid_mismatch", "stopped", "failed", "process_gone", "future", "stale", "stalled"
]
#: The name of a :class:`Shape`.
ShapeName = Literal["none", "v1", "plain", "timestamp", "camel"]

# Each member's code is the constant of the same name in lifesign.h.
_STATE_CODES: "dict[State, int]" = {s: getattr(_c, "LIFESIGN_STATE_" + s.name) for s in State}
_VERDICT_CODES: "dict[Verdict, int]" = {v: getattr(_c, "LIFESIGN_VERDICT_" + v.name) for v in Verdict}
_SHAPE_CODES: "dict[Shape, int]" = {s: getattr(_c, "LIFESIGN_SHAPE_" + s.name) for s in Shape}
_STATES = {i: s for s, i in _STATE_CODES.items()}
_VERDICTS = {i: v for v, i in _VERDICT_CODES.items()}
_SHAPES = {i: s for s, i in _SHAPE_CODES.items()}


def _from_code(table: "dict[int, Any]", kind: str, code: int) -> Any:
    try:
        return table[code]
    except KeyError:
        raise ValueError(
            "the library returned %s code %d, which this binding does not know" % (kind, code)
        ) from None


# ---------------------------------------------------------------------------
# Errors.


class LifesignError(Exception):
    """A call into liblifesign failed: the base of every error of this package.

    ``code`` is the C return code (an :class:`ErrorCode` when known), ``name``
    its name from ``lifesign_error_name`` (e.g. ``"LIFESIGN_ERR_IO"``) and
    ``message`` the library's explanation from ``lifesign_last_error``.
    Each code has its subclass, which also derives from the standard
    exception of its kind: :class:`InvalidArgumentError` (``ValueError``),
    :class:`LifesignIOError` (``OSError``, with ``errno``),
    :class:`StateError` (``RuntimeError``), :class:`WaitTimeout`
    (``TimeoutError``), :class:`WaitCancelled`.
    """

    def __init__(self, code: int, name: str, message: str) -> None:
        super().__init__(code, name, message)
        try:
            self.code: int = ErrorCode(code)
        except ValueError:
            self.code = code
        self.name = name
        self.message = message

    def __str__(self) -> str:
        return "%s: %s" % (self.name, self.message) if self.message else self.name


class InvalidArgumentError(LifesignError, ValueError):
    """A bad argument (``LIFESIGN_ERR_INVALID_ARGUMENT``), refused by the binding or the library."""


class StateError(LifesignError, RuntimeError):
    """Not allowed now (``LIFESIGN_ERR_STATE``): the emitter is stopped or closed, or this is a child after fork()."""


# "... (os error 20)": how the library's messages end when the operating
# system refused (the Rust standard library's form of an OS error).
_OS_ERROR = re.compile(r"\(os error (\d+)\)")


class LifesignIOError(LifesignError, OSError):
    """A filesystem or socket operation failed (``LIFESIGN_ERR_IO``).

    An ``OSError``: ``errno`` is the operating system's error number when
    the library's message names one (else None), ``strerror`` its text, and
    ``filename`` the heartbeat file when the call had one.
    """

    def __init__(self, code: int, name: str, message: str, filename: Optional[str] = None) -> None:
        super().__init__(code, name, message)
        self.args = (code, name, message, filename)
        found = _OS_ERROR.findall(message)
        self.errno = int(found[-1]) if found else None  # type: ignore[assignment]  # None: no OS error named
        self.strerror = os.strerror(self.errno) if self.errno is not None else message
        self.filename = filename

    def __str__(self) -> str:
        return LifesignError.__str__(self)


class WaitTimeout(LifesignError, TimeoutError):
    """``wait_ready`` reached its hard timeout; ``report`` is what was last seen.

    A ``TimeoutError`` (``errno`` ``ETIMEDOUT``).
    """

    def __init__(self, code: int, name: str, message: str, report: "Report") -> None:
        super().__init__(code, name, message)
        self.args = (code, name, message, report)
        self.report = report
        self.errno = _errno.ETIMEDOUT
        self.strerror = message

    def __str__(self) -> str:
        return LifesignError.__str__(self)


class WaitCancelled(LifesignError):
    """``wait_ready`` was cancelled through its :class:`CancelToken`; ``report`` is what was last seen."""

    def __init__(self, code: int, name: str, message: str, report: "Report") -> None:
        super().__init__(code, name, message)
        self.args = (code, name, message, report)
        self.report = report


# The class of each code's error; any other code is a plain LifesignError.
_ERROR_CLASSES = {
    _c.LIFESIGN_ERR_INVALID_ARGUMENT: InvalidArgumentError,
    _c.LIFESIGN_ERR_STATE: StateError,
}


def _text(raw: Optional[bytes]) -> str:
    return raw.decode("utf-8", "replace") if raw else ""


def _error(rc: int, path: Optional[bytes] = None) -> LifesignError:
    """The error for a failed call; must run right after it, on the same thread."""
    lib = _ffi.lib()
    message = _text(lib.lifesign_last_error())
    name = _text(lib.lifesign_error_name(rc))
    if rc == _c.LIFESIGN_ERR_IO:
        return LifesignIOError(rc, name, message, os.fsdecode(path) if path is not None else None)
    return _ERROR_CLASSES.get(rc, LifesignError)(rc, name, message)


def _code_name(code: int) -> str:
    """The library's name of a code, known without loading it (ErrorCode's names are the header's)."""
    return "LIFESIGN_ERR_" + ErrorCode(code).name


def _invalid(message: str) -> InvalidArgumentError:
    """A bad argument refused before the library is called."""
    code = _c.LIFESIGN_ERR_INVALID_ARGUMENT
    return InvalidArgumentError(code, _code_name(code), message)


def _closed_error(what: str) -> StateError:
    code = _c.LIFESIGN_ERR_STATE
    return StateError(code, _code_name(code), "%s is closed" % what)


# ---------------------------------------------------------------------------
# Argument conversion.


def _path(path: PathArg) -> bytes:
    raw = os.fsencode(path)
    if b"\0" in raw:
        raise _invalid("path contains a NUL byte: %r" % (path,))
    return raw


def _cstr(value: str, what: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError("%s must be a str, not %s" % (what, type(value).__name__))
    raw = value.encode("utf-8")
    if b"\0" in raw:
        raise _invalid("%s contains a NUL character" % what)
    return raw


def _ms(value: Optional[Seconds], what: str, limit: int = _U64_MAX) -> int:
    """Seconds to whole milliseconds, rounding up so that no positive duration becomes 0."""
    if value is None:
        return 0
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise TypeError("%s must be a number of seconds or a timedelta, not %s" % (what, type(value).__name__))
    if math.isnan(seconds) or seconds < 0:
        raise _invalid("%s must be a non-negative number of seconds, not %r" % (what, value))
    if math.isinf(seconds):
        return limit
    return min(limit, math.ceil(seconds * 1000))


def _pid(pid: Optional[int]) -> int:
    if pid is None:
        return 0
    if not isinstance(pid, int) or isinstance(pid, bool):
        raise TypeError("pid must be an int, not %s" % type(pid).__name__)
    return pid


def _state(state: Union[SettableState, str]) -> State:
    """A state set_state accepts; the message lists them all."""
    settable = [s for s in State if s is not State.STOPPED]
    if isinstance(state, str):
        try:
            st = State(state)
        except ValueError:
            st = None
        if st in settable:
            return st
        raise _invalid(
            "set_state accepts %s, not %r (stopped is written by stop() and close())"
            % (", ".join(s.value for s in settable), str(state))
        )
    raise TypeError("state must be a State or str, not %s" % type(state).__name__)


# ---------------------------------------------------------------------------
# Reports.


@dataclass(frozen=True)
class Report:
    """What a check saw. Durations are in seconds, timestamps in ms since the epoch."""

    verdict: Verdict
    #: None when the file did not parse
    state: Optional[State]
    pid: int
    seq: int
    progress: int
    #: seconds since updated_at_ms; 0 when that is in the future
    age: float
    updated_at_ms: int
    #: the emitter's beat interval in seconds; None when the file has none
    interval: Optional[float]
    message: str
    #: None when the file has no progress timestamp
    progress_at_ms: Optional[int]
    #: seconds since progress_at_ms; None when the file has none, 0 when it is in the future
    progress_age: Optional[float]
    #: the max age (seconds) the verdict applied
    max_age: float
    shape: Shape
    #: why the verdict is what it is (empty when alive), as the CLI's ``detail``
    detail: str = ""

    @property
    def alive(self) -> bool:
        """True when the verdict is :attr:`Verdict.ALIVE`."""
        return self.verdict is Verdict.ALIVE

    @classmethod
    def _from_c(cls, r: _c.lifesign_report) -> "Report":
        return cls(
            verdict=_from_code(_VERDICTS, "verdict", r.verdict),
            state=None if r.state < 0 else _from_code(_STATES, "state", r.state),
            pid=r.pid,
            seq=r.seq,
            progress=r.progress,
            age=r.age_ms / 1000.0,
            updated_at_ms=r.updated_at_ms,
            interval=r.interval_ms / 1000.0 if r.interval_ms else None,
            message=_text(r.message),
            progress_at_ms=r.progress_at_ms or None,
            progress_age=r.progress_age_ms / 1000.0 if r.progress_at_ms else None,
            max_age=r.max_age_ms / 1000.0,
            shape=_from_code(_SHAPES, "shape", r.shape),
            detail=_text(r.detail),
        )


def _new_report(lib: ctypes.CDLL) -> _c.lifesign_report:
    """A report struct that carries its size (``lifesign_report_init``)."""
    rep = _c.lifesign_report()
    lib.lifesign_report_init(ctypes.byref(rep))
    return rep


# ---------------------------------------------------------------------------
# Emitter.


class Emitter:
    """A running heartbeat emitter (``lifesign_emitter``).

    Create it with :func:`start` or :func:`start_from_env`. A background
    thread inside the library beats every interval. Use it as a context
    manager, or call :meth:`close`, to stop it and free it. Every method
    raises :class:`LifesignError` once the emitter is closed. Methods may be
    called from any thread.

    Lifetime: an emitter runs until :meth:`close` or :meth:`stop`, or until
    the process exits. Garbage collection never stops it: one that nobody
    references and nobody closed keeps beating. At exit without
    :meth:`close` nothing more is written: the file keeps its last state
    and a checker reports ``process_gone`` once the process is gone. Only
    :meth:`stop` and :meth:`close` write ``stopped``.
    """

    def __init__(self, handle: int, path: Optional[bytes]) -> None:
        # Internal: use start() or start_from_env().
        self._handle: Optional[int] = handle
        self._path = path
        self._lock = threading.Lock()
        # No finalizer: the handle lives until close(), reachable or not.

    def __repr__(self) -> str:
        where = os.fsdecode(self._path) if self._path is not None else "?"
        return "<lifesign.Emitter %s%s>" % (where, " closed" if self.closed else "")

    @property
    def path(self) -> Optional[str]:
        """The heartbeat file (None when started from the environment)."""
        return os.fsdecode(self._path) if self._path is not None else None

    @property
    def closed(self) -> bool:
        return self._handle is None

    def _call(self, fn: Callable[..., int], *args: Any) -> None:
        with self._lock:
            if self._handle is None:
                raise _closed_error("emitter")
            rc = fn(self._handle, *args)
            if rc != _c.LIFESIGN_OK:
                raise _error(rc, self._path)

    def beat(self) -> None:
        """Write a heartbeat now (seq + 1)."""
        self._call(_ffi.lib().lifesign_beat)

    def set_state(self, state: SettableState, message: Optional[str] = None) -> None:
        """Announce a state and write it at once.

        ``state`` is ``"starting"``, ``"ready"``, ``"stopping"`` or
        ``"failed"``, or the :class:`State` member; ``stopped`` is written
        by :meth:`stop` and :meth:`close`. ``message=None`` keeps the
        current message, ``""`` clears it.
        """
        st = _state(state)
        raw = None if message is None else _cstr(message, "message")
        self._call(_ffi.lib().lifesign_set_state, st.code, raw)

    def reload(self, message: Optional[str] = None) -> None:
        """Announce a reload: state ``starting``, RELOADING=1 with MONOTONIC_USEC to systemd.

        ``message`` as in :meth:`set_state`. ``set_state("ready")`` when the
        reload is done sends READY=1 again.
        """
        raw = None if message is None else _cstr(message, "message")
        self._call(_ffi.lib().lifesign_reload, raw)

    def set_meta(self, key: str, value: Optional[str]) -> None:
        """Set (or with ``value=None`` remove) a metadata entry; written with the next beat."""
        raw_key = _cstr(key, "key")
        raw_value = None if value is None else _cstr(value, "value")
        self._call(_ffi.lib().lifesign_set_meta, raw_key, raw_value)

    def progress(self) -> None:
        """Count one unit of progress; the next beat writes it."""
        self._call(_ffi.lib().lifesign_progress)

    def write_failures(self) -> int:
        """How many heartbeat writes failed so far."""
        out = ctypes.c_uint64()
        self._call(_ffi.lib().lifesign_write_failures, ctypes.byref(out))
        return out.value

    def stop(self) -> None:
        """Write the final ``stopped`` heartbeat and end the beat thread. Idempotent."""
        self._call(_ffi.lib().lifesign_stop)

    def close(self) -> None:
        """Stop (if not yet stopped) and free the emitter. Calling it again does nothing.

        The emitter is freed even when the final write fails; that error is
        raised afterwards.
        """
        with self._lock:
            handle = self._handle
            if handle is None:
                return
            lib = _ffi.lib()
            failure: Optional[LifesignError] = None
            rc = lib.lifesign_stop(handle)
            if rc != _c.LIFESIGN_OK:
                failure = _error(rc, self._path)
            self._handle = None
            lib.lifesign_free(handle)
        if failure is not None:
            raise failure

    def __enter__(self) -> "Emitter":
        if self._handle is None:
            raise _closed_error("emitter")
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _new_emitter(rc: int, out: ctypes.c_void_p, path: Optional[bytes]) -> Optional[Emitter]:
    if rc != _c.LIFESIGN_OK:
        raise _error(rc, path)
    if not out.value:
        return None
    return Emitter(out.value, path)


def start(
    path: PathArg,
    interval: Seconds = 1.0,
    *,
    mode: int = 0o644,
    durable: bool = False,
    remove_on_stop: bool = False,
    stale_after: Optional[Seconds] = None,
    systemd: bool = True,
    s6: bool = True,
    notify_fd: Optional[int] = None,
    watchdog_trigger: bool = False,
    watchdog_on_progress: bool = False,
) -> Emitter:
    """Start an emitter for ``path``; the first heartbeat (state ``starting``, seq 1) is written before it returns.

    ``interval`` is in seconds (the library clamps it to [0.01, 3600]).
    ``mode`` sets the file's permission bits. ``durable`` fsyncs every write
    and the folder. ``remove_on_stop`` removes the file after the final
    write. ``stale_after`` (seconds) is the promise written into the file;
    None means three intervals. ``systemd=False`` ignores NOTIFY_SOCKET and
    WATCHDOG_USEC; ``s6=False`` ignores LIFESIGN_NOTIFY_FD; ``notify_fd``
    names the s6 readiness descriptor explicitly. ``watchdog_trigger`` sends
    WATCHDOG=trigger to systemd on state ``failed``. ``watchdog_on_progress``
    sends WATCHDOG=1 only when :meth:`Emitter.progress` was called since the
    last ping (an idle service must count progress, or systemd restarts it).
    """
    raw = _path(path)
    interval_ms = _ms(interval, "interval", _U32_MAX)
    if interval_ms == 0:
        raise _invalid("interval must be positive")
    if not isinstance(mode, int) or isinstance(mode, bool) or not 0 <= mode <= 0o7777:
        raise _invalid("mode must be permission bits between 0 and 0o7777, not %r" % (mode,))
    if stale_after is not None and _ms(stale_after, "stale_after") == 0:
        raise _invalid("stale_after must be positive (or None for three intervals)")
    if notify_fd is not None and (not isinstance(notify_fd, int) or notify_fd < 0):
        raise _invalid("notify_fd must be a non-negative file descriptor or None")

    lib = _ffi.lib()
    opts = _c.lifesign_options()
    lib.lifesign_options_init(ctypes.byref(opts))
    opts.interval_ms = interval_ms
    opts.mode = mode
    flags = 0
    if durable:
        flags |= _c.LIFESIGN_OPT_DURABLE
    if remove_on_stop:
        flags |= _c.LIFESIGN_OPT_REMOVE_ON_STOP
    if not systemd:
        flags |= _c.LIFESIGN_OPT_NO_SYSTEMD
    if not s6:
        flags |= _c.LIFESIGN_OPT_NO_S6
    if watchdog_trigger:
        flags |= _c.LIFESIGN_OPT_WATCHDOG_TRIGGER
    if watchdog_on_progress:
        flags |= _c.LIFESIGN_OPT_WATCHDOG_ON_PROGRESS
    opts.flags = flags
    opts.stale_after_ms = _ms(stale_after, "stale_after")
    opts.notify_fd = -1 if notify_fd is None else notify_fd
    out = ctypes.c_void_p()
    rc = lib.lifesign_start_with(raw, ctypes.byref(opts), ctypes.byref(out))
    emitter = _new_emitter(rc, out, raw)
    assert emitter is not None
    return emitter


def start_from_env() -> Optional[Emitter]:
    """Start an emitter as the environment says (LIFESIGN_FILE, LIFESIGN_INTERVAL_MS).

    Returns None when LIFESIGN_FILE is unset or empty.
    """
    out = ctypes.c_void_p()
    rc = _ffi.lib().lifesign_start_from_env(ctypes.byref(out))
    path = os.environ.get("LIFESIGN_FILE")
    return _new_emitter(rc, out, os.fsencode(path) if path else None)


# ---------------------------------------------------------------------------
# Checking.


def check(
    path: PathArg,
    max_age: Optional[Seconds] = None,
    pid: Optional[int] = None,
    stall: Optional[Seconds] = None,
) -> Report:
    """Read the heartbeat file at ``path`` and return the verdict with everything seen.

    ``max_age`` (seconds) overrides the file's own promise; ``pid`` is the
    process the file must name (None: any); ``stall`` (seconds) turns a
    progress timestamp older than that into :attr:`Verdict.STALLED`.
    """
    raw = _path(path)
    max_age_ms = _ms(max_age, "max_age")
    expected = _pid(pid)
    lib = _ffi.lib()
    rep = _new_report(lib)
    if stall is None:
        rc = lib.lifesign_check(raw, max_age_ms, expected, ctypes.byref(rep))
    else:
        rc = lib.lifesign_check_stall(raw, max_age_ms, expected, _ms(stall, "stall"), ctypes.byref(rep))
    if rc != _c.LIFESIGN_OK:
        raise _error(rc, raw)
    return Report._from_c(rep)


class LockState(str, enum.Enum):
    """What a reader found at a record's lifetime lock (docs/PROTOCOL.md section 10), for :func:`judge`."""

    UNKNOWN = "unknown"
    HELD = "held"
    FREE = "free"
    ABSENT = "absent"

    @property
    def code(self) -> int:
        return int(getattr(_c, "LIFESIGN_LOCK_" + self.name))

    def __str__(self) -> str:
        return self.value


class ProcessState(str, enum.Enum):
    """What a reader found about the process a record names, for :func:`judge`."""

    UNKNOWN = "unknown"
    RUNNING = "running"
    EXITED = "exited"

    @property
    def code(self) -> int:
        return int(getattr(_c, "LIFESIGN_PROCESS_" + self.name))

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Facts:
    """What a reader observed of the world, for :func:`judge` (``lifesign_facts``).

    Every ``None`` (and ``""``) means "not known" and errs on the side that
    decides nothing: an unknown host or PID namespace makes a record that
    names one "not written here" (its process is not used), an unknown boot
    id or time namespace keeps ages on the wall clock and the lock unused.
    Times are milliseconds: ``now_ms`` Unix, ``mono_ms`` ``CLOCK_MONOTONIC``.
    ``process_start`` is the start time of the record's PID (field 22 of
    ``/proc/PID/stat``), compared with the record's ``pid_start``.
    """

    now_ms: int = 0
    mono_ms: Optional[int] = None
    host: Optional[str] = None
    boot_id: Optional[str] = None
    pid_ns: Optional[int] = None
    time_ns: Optional[int] = None
    lock: Union[LockState, str] = LockState.UNKNOWN
    process: Union[ProcessState, str] = ProcessState.UNKNOWN
    process_start: Optional[int] = None


def _u64(value: Optional[int], what: str) -> int:
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("%s must be an int, not %s" % (what, type(value).__name__))
    if not 0 <= value <= _U64_MAX:
        raise _invalid("%s must be between 0 and %d, not %d" % (what, _U64_MAX, value))
    return value


def _member(enum_type: Any, value: Any, what: str) -> Any:
    try:
        return enum_type(value)
    except ValueError:
        raise _invalid(
            "%s must be one of %s, not %r" % (what, ", ".join(m.value for m in enum_type), value)
        ) from None


def judge(
    record: Optional[Union[bytes, bytearray, memoryview]],
    facts: Facts,
    max_age: Optional[Seconds] = None,
    pid: Optional[int] = None,
    stall: Optional[Seconds] = None,
) -> Report:
    """The verdict of a heartbeat record's bytes under the facts a reader observed.

    The :class:`Report` that :func:`check` would give for a file holding
    ``record``, read by a checker that saw what ``facts`` says; ``None`` is
    no file (:attr:`Verdict.MISSING`). For a reader that got a record by
    another route (a fleet value's record, a copy): opens no file, probes no
    process. ``max_age``, ``pid`` and ``stall`` are :func:`check`'s.
    """
    if record is not None and not isinstance(record, (bytes, bytearray, memoryview)):
        raise TypeError("record must be bytes or None, not %s" % type(record).__name__)
    if not isinstance(facts, Facts):
        raise TypeError("facts must be a lifesign.Facts, not %s" % type(facts).__name__)
    lib = _ffi.lib()
    f = _c.lifesign_facts()
    lib.lifesign_facts_init(ctypes.byref(f))
    f.now_ms = _u64(facts.now_ms, "now_ms")
    f.mono_ms = _u64(facts.mono_ms, "mono_ms")
    f.pid_ns = _u64(facts.pid_ns, "pid_ns")
    f.time_ns = _u64(facts.time_ns, "time_ns")
    f.process_start = _u64(facts.process_start, "process_start")
    f.lock = _member(LockState, facts.lock, "lock").code
    f.process = _member(ProcessState, facts.process, "process").code
    # The strings live in these locals until the call returns.
    host = None if facts.host is None else _cstr(facts.host, "host")
    boot_id = None if facts.boot_id is None else _cstr(facts.boot_id, "boot_id")
    f.host = host
    f.boot_id = boot_id
    f.max_age_ms = _ms(max_age, "max_age")
    f.expected_pid = _pid(pid)
    f.stall_ms = _ms(stall, "stall")
    data = None
    length = 0
    if record is not None:
        raw = bytes(record)
        length = len(raw)
        # At least one byte, so that empty bytes never reach C as NULL (no record).
        data = (ctypes.c_uint8 * max(1, length)).from_buffer_copy(raw or b"\0")
    rep = _new_report(lib)
    rc = lib.lifesign_judge(data, length, ctypes.byref(f), ctypes.byref(rep))
    if rc != _c.LIFESIGN_OK:
        raise _error(rc)
    return Report._from_c(rep)


def is_alive(path: PathArg, max_age: Optional[Seconds] = None) -> bool:
    """True when the check of ``path`` gives :attr:`Verdict.ALIVE`."""
    raw = _path(path)
    max_age_ms = _ms(max_age, "max_age")
    rc: int = _ffi.lib().lifesign_is_alive(raw, max_age_ms)
    if rc < 0:
        raise _error(rc, raw)
    return rc != 0


# ---------------------------------------------------------------------------
# Waiting.


class CancelToken:
    """A ``lifesign_cancel`` token: :meth:`cancel` ends the waits that use it.

    Thread-safe. :meth:`close` frees it; when a wait still uses it, the
    memory is released as soon as that wait returns.
    """

    def __init__(self) -> None:
        out = ctypes.c_void_p()
        lib = _ffi.lib()
        rc = lib.lifesign_cancel_new(ctypes.byref(out))
        if rc != _c.LIFESIGN_OK:
            raise _error(rc)
        self._handle: Optional[int] = out.value
        self._lock = threading.Lock()
        self._users = 0
        self._closing = False
        self._cancelled = False
        self._finalizer = weakref.finalize(self, lib.lifesign_cancel_free, out.value)

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        """Trigger the token: every wait using it, now or later, returns cancelled."""
        with self._lock:
            if self._handle is None or self._closing:
                raise _closed_error("cancel token")
            rc = _ffi.lib().lifesign_cancel_trigger(self._handle)
            if rc != _c.LIFESIGN_OK:
                raise _error(rc)
            self._cancelled = True

    def _acquire(self) -> int:
        with self._lock:
            if self._handle is None or self._closing:
                raise _closed_error("cancel token")
            self._users += 1
            return self._handle

    def _release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._closing and self._users == 0:
                self._free_locked()

    def _free_locked(self) -> None:
        handle = self._handle
        if handle is not None:
            self._handle = None
            self._finalizer.detach()
            _ffi.lib().lifesign_cancel_free(handle)

    def close(self) -> None:
        """Free the token (deferred while a wait still uses it)."""
        with self._lock:
            self._closing = True
            if self._users == 0:
                self._free_locked()

    def __enter__(self) -> "CancelToken":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wait_ready(
    path: PathArg,
    pid: Optional[int] = None,
    idle_timeout: Optional[Seconds] = None,
    timeout: Optional[Seconds] = None,
    *,
    cancel: Optional[CancelToken] = None,
) -> Report:
    """Block until the emitter at ``path`` is ready or the wait is otherwise decided.

    Returns the :class:`Report` once decided: verdict alive with state ready
    is success; failed, stopped, process_gone and pid_mismatch end the wait
    too; verdict stale means ``idle_timeout`` passed without a new heartbeat.
    Raises :class:`WaitTimeout` at the hard ``timeout`` and
    :class:`WaitCancelled` once ``cancel`` is triggered. None (or 0) means
    no timeout. The GIL is released while waiting.
    """
    raw = _path(path)
    expected = _pid(pid)
    idle_ms = _ms(idle_timeout, "idle_timeout")
    timeout_ms = _ms(timeout, "timeout")
    lib = _ffi.lib()
    rep = _new_report(lib)
    if cancel is None:
        rc = lib.lifesign_wait_ready(raw, expected, idle_ms, timeout_ms, ctypes.byref(rep))
        failure = _error(rc, raw) if rc != _c.LIFESIGN_OK else None
    else:
        handle = cancel._acquire()
        try:
            rc = lib.lifesign_wait_ready_cancel(raw, expected, idle_ms, timeout_ms, handle, ctypes.byref(rep))
            failure = _error(rc, raw) if rc != _c.LIFESIGN_OK else None
        finally:
            cancel._release()
    if failure is None:
        return Report._from_c(rep)
    if rc == _c.LIFESIGN_ERR_TIMEOUT:
        raise WaitTimeout(failure.code, failure.name, failure.message, Report._from_c(rep))
    if rc == _c.LIFESIGN_ERR_CANCELLED:
        raise WaitCancelled(failure.code, failure.name, failure.message, Report._from_c(rep))
    raise failure


async def wait_ready_async(
    path: PathArg,
    pid: Optional[int] = None,
    idle_timeout: Optional[Seconds] = None,
    timeout: Optional[Seconds] = None,
) -> Report:
    """:func:`wait_ready` for asyncio, without blocking the event loop.

    The blocking call runs in a thread of its own. When the awaiting task
    is cancelled, the wait is cancelled through a token, the thread is
    awaited until the call has returned, and ``asyncio.CancelledError``
    propagates.
    """
    # Validate in the caller's context so that bad arguments raise here.
    _path(path)
    _pid(pid)
    _ms(idle_timeout, "idle_timeout")
    _ms(timeout, "timeout")

    loop = asyncio.get_running_loop()
    done: "asyncio.Future[Report]" = loop.create_future()
    token = CancelToken()

    def deliver(report: Optional[Report], error: Optional[BaseException]) -> None:
        if done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(report)  # type: ignore[arg-type]

    def run() -> None:
        report: Optional[Report] = None
        error: Optional[BaseException] = None
        try:
            report = wait_ready(path, pid, idle_timeout, timeout, cancel=token)
        except BaseException as e:  # delivered to the awaiting coroutine
            error = e
        try:
            loop.call_soon_threadsafe(deliver, report, error)
        except RuntimeError:
            pass  # the event loop is closed: nobody is waiting any more

    try:
        thread = threading.Thread(target=run, name="lifesign-wait-ready", daemon=True)
        thread.start()
        try:
            return await asyncio.shield(done)
        except asyncio.CancelledError:
            token.cancel()
            while not done.done():
                try:
                    await asyncio.shield(done)
                except asyncio.CancelledError:
                    continue  # cancelled again: still wait for the call to return
                except BaseException:
                    break
            if done.done() and not done.cancelled():
                done.exception()  # mark as retrieved
            raise
    finally:
        if not done.done() and not token.cancelled:
            # Leaving without a result (e.g. the coroutine was closed): end the call.
            try:
                token.cancel()
            except LifesignError:
                pass
        token.close()


# ---------------------------------------------------------------------------
# Miscellany.


def version() -> str:
    """The library's version string (LIFESIGN_VERSION_STRING)."""
    return _text(_ffi.lib().lifesign_version())


def set_log_level(level: int) -> None:
    """Sets the most detailed level the library logs, as a ``logging`` level.

    ``logging.WARNING`` (the default) gives failed heartbeat writes and
    shortened intervals, ``logging.INFO`` and ``logging.DEBUG`` more; a
    level above WARNING (e.g. ``logging.ERROR``) silences the library at
    the source. The messages keep going to ``logging.getLogger("lifesign")``,
    whose own level and handlers still apply. Process-wide.
    """
    if not isinstance(level, int) or isinstance(level, bool):
        raise TypeError("level must be a logging level (an int)")
    _log.set_level(_ffi.lib(), level)  # the load installs the handler first


def library_path() -> str:
    """Where the loaded liblifesign came from (loads it if needed)."""
    return _ffi.where()

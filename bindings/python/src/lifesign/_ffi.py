"""Loading liblifesign and declaring the C ABI of include/lifesign.h with ctypes.

Nothing here decides anything about heartbeats: it only describes the
functions and structures so that the rest of the package can call them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading
from pathlib import Path
from typing import List, Mapping, Optional, Tuple

# Return codes.
OK = 0
ERR_INVALID_ARGUMENT = -1
ERR_IO = -2
ERR_STATE = -3
ERR_PANIC = -4
ERR_TIMEOUT = -5
ERR_CANCELLED = -6

# lifesign_options.flags
OPT_DURABLE = 1
OPT_REMOVE_ON_STOP = 2
OPT_NO_SYSTEMD = 4
OPT_NO_S6 = 8
OPT_WATCHDOG_TRIGGER = 16
OPT_NO_LOCK = 32

MESSAGE_BYTES = 256

ENV_LIB = "LIFESIGN_LIB"

ErrorFn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int32, ctypes.c_char_p)


class Options(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_uint32),
        ("interval_ms", ctypes.c_uint32),
        ("mode", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("stale_after_ms", ctypes.c_uint64),
        ("notify_fd", ctypes.c_int32),
        ("reserved", ctypes.c_uint32),
        ("on_error", ErrorFn),
        ("user_data", ctypes.c_void_p),
    ]


class CReport(ctypes.Structure):
    _fields_ = [
        ("verdict", ctypes.c_int32),
        ("state", ctypes.c_int32),
        ("pid", ctypes.c_int64),
        ("seq", ctypes.c_uint64),
        ("progress", ctypes.c_uint64),
        ("updated_at_ms", ctypes.c_uint64),
        ("age_ms", ctypes.c_uint64),
        ("interval_ms", ctypes.c_uint64),
        ("message", ctypes.c_char * MESSAGE_BYTES),
        ("progress_at_ms", ctypes.c_uint64),
        ("progress_age_ms", ctypes.c_uint64),
        ("max_age_ms", ctypes.c_uint64),
        ("shape", ctypes.c_int32),
        ("reserved", ctypes.c_int32),
    ]


_p = ctypes.c_void_p
_pp = ctypes.POINTER(ctypes.c_void_p)
_s = ctypes.c_char_p
_i32 = ctypes.c_int32
_u32 = ctypes.c_uint32
_i64 = ctypes.c_int64
_u64 = ctypes.c_uint64
_rep = ctypes.POINTER(CReport)

# name: (restype, argtypes)
PROTOTYPES = {
    "lifesign_version": (_s, []),
    "lifesign_start": (_i32, [_s, _u32, _pp]),
    "lifesign_options_init": (None, [ctypes.POINTER(Options)]),
    "lifesign_start_with": (_i32, [_s, ctypes.POINTER(Options), _pp]),
    "lifesign_start_from_env": (_i32, [_pp]),
    "lifesign_beat": (_i32, [_p]),
    "lifesign_set_state": (_i32, [_p, _i32, _s]),
    "lifesign_set_meta": (_i32, [_p, _s, _s]),
    "lifesign_progress": (_i32, [_p]),
    "lifesign_write_failures": (_i32, [_p, ctypes.POINTER(_u64)]),
    "lifesign_stop": (_i32, [_p]),
    "lifesign_free": (None, [_p]),
    "lifesign_is_alive": (_i32, [_s, _u64]),
    "lifesign_check": (_i32, [_s, _u64, _i64, _rep]),
    "lifesign_check_stall": (_i32, [_s, _u64, _i64, _u64, _rep]),
    "lifesign_wait_ready": (_i32, [_s, _i64, _u64, _u64, _rep]),
    "lifesign_cancel_new": (_i32, [_pp]),
    "lifesign_cancel_trigger": (_i32, [_p]),
    "lifesign_cancel_free": (None, [_p]),
    "lifesign_wait_ready_cancel": (_i32, [_s, _i64, _u64, _u64, _p, _rep]),
    "lifesign_verdict_name": (_s, [_i32]),
    "lifesign_state_name": (_s, [_i32]),
    "lifesign_shape_name": (_s, [_i32]),
    "lifesign_error_name": (_s, [_i32]),
    "lifesign_last_error": (_s, []),
}


class LibraryNotFound(OSError):
    """liblifesign could not be loaded; the message lists every place tried."""


def _library_file_name() -> str:
    if sys.platform == "darwin":
        return "liblifesign.dylib"
    if sys.platform == "win32":
        return "lifesign.dll"
    return "liblifesign.so"


def repository_candidate(package_dir: Path) -> Optional[Path]:
    """The repository's build output, when the package runs from its source.

    The source lives in bindings/python/src/lifesign; the build output is
    ../../target/release seen from bindings/python.
    """
    binding_root = package_dir.parent.parent
    if package_dir.parent.name != "src" or not (binding_root / "pyproject.toml").is_file():
        return None
    return binding_root.parent.parent / "target" / "release" / _library_file_name()


def _declare(lib: ctypes.CDLL, where: str) -> ctypes.CDLL:
    for name, (restype, argtypes) in PROTOTYPES.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            raise LibraryNotFound(
                "the library at %s lacks the symbol %s: it does not match include/lifesign.h"
                % (where, name)
            ) from None
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


def locate(environ: Mapping[str, str], package_dir: Path) -> Tuple[ctypes.CDLL, str]:
    """Load the library following the documented order; return it and where it came from."""
    tried: List[str] = []

    explicit = environ.get(ENV_LIB, "")
    if explicit:
        try:
            return _declare(ctypes.CDLL(explicit), explicit), explicit
        except OSError as e:
            if isinstance(e, LibraryNotFound):
                raise
            raise LibraryNotFound(
                "could not load liblifesign from %s=%s: %s" % (ENV_LIB, explicit, e)
            ) from None
    tried.append("%s: not set" % ENV_LIB)

    candidate = repository_candidate(package_dir)
    if candidate is None:
        tried.append("repository build output: not applicable (package not run from bindings/python/src)")
    elif candidate.is_file():
        try:
            return _declare(ctypes.CDLL(str(candidate)), str(candidate)), str(candidate)
        except LibraryNotFound:
            raise
        except OSError as e:
            tried.append("%s: %s" % (candidate, e))
    else:
        tried.append("%s: no such file (run `cargo build --release` at the repository root)" % candidate)

    found = ctypes.util.find_library("lifesign")
    if found:
        try:
            return _declare(ctypes.CDLL(found), found), found
        except LibraryNotFound:
            raise
        except OSError as e:
            tried.append("ctypes.util.find_library('lifesign') -> %s: %s" % (found, e))
    else:
        tried.append("ctypes.util.find_library('lifesign'): nothing found")

    plain = _library_file_name()
    try:
        return _declare(ctypes.CDLL(plain), plain), plain
    except LibraryNotFound:
        raise
    except OSError as e:
        tried.append("%s on the system library path: %s" % (plain, e))

    raise LibraryNotFound(
        "liblifesign not found; looked in:\n  - " + "\n  - ".join(tried)
        + "\nSet %s to the path of %s." % (ENV_LIB, plain)
    )


_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None
_where: Optional[str] = None


def lib() -> ctypes.CDLL:
    """The loaded library, loading it on first use."""
    global _lib, _where
    loaded = _lib
    if loaded is not None:
        return loaded
    with _lock:
        if _lib is None:
            _lib, _where = locate(os.environ, Path(__file__).resolve().parent)
        return _lib


def where() -> str:
    """Where the loaded library came from (loads it if needed)."""
    lib()
    assert _where is not None
    return _where

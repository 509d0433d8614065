"""Loading liblifesign and declaring its functions with ctypes.

The declarations (constants, structures, prototypes) are generated from
include/lifesign.h into _bindings.py. Nothing here decides anything about
heartbeats.
"""

from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path
from typing import Optional

from . import _log
from ._bindings import (
    LIFESIGN_VERSION_MAJOR,
    LIFESIGN_VERSION_MINOR,
    LIFESIGN_VERSION_STRING,
    PROTOTYPES,
)
from ._loader import ENV_LIB, LibraryNotFound, locate


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
    _check_version(lib.lifesign_version().decode("utf-8", "replace"), where)
    return lib


def _check_version(version: str, where: str) -> None:
    """Refuses a library of another ABI (major.minor) than the header the
    tables were generated from."""
    parts = version.split(".")
    want = (LIFESIGN_VERSION_MAJOR, LIFESIGN_VERSION_MINOR)
    if parts[:2] != [str(v) for v in want]:
        raise LibraryNotFound(
            "the library at %s is lifesign %s, but this package was generated from "
            "lifesign.h %s: another major.minor is another ABI; use the library of "
            "lifesign %d.%d (set %s to its path) or the package of lifesign %s"
            % (where, version, LIFESIGN_VERSION_STRING, want[0], want[1], ENV_LIB, version)
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
            loaded, found = locate(os.environ, Path(__file__).resolve().parent, _declare)
            _log.install(loaded)
            _lib, _where = loaded, found
        return _lib


def where() -> str:
    """Where the loaded library came from (loads it if needed)."""
    lib()
    assert _where is not None
    return _where

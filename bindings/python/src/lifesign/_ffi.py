"""Loading liblifesign and declaring its functions with ctypes.

The declarations (constants, structures, prototypes) are generated from
include/lifesign.h into _bindings.py. Nothing here decides anything about
heartbeats.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading
from pathlib import Path
from typing import List, Mapping, Optional, Tuple

from ._bindings import PROTOTYPES

ENV_LIB = "LIFESIGN_LIB"


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
            loaded, found = locate(os.environ, Path(__file__).resolve().parent)
            from . import _log

            _log.install(loaded)
            _lib, _where = loaded, found
        return _lib


def where() -> str:
    """Where the loaded library came from (loads it if needed)."""
    lib()
    assert _where is not None
    return _where

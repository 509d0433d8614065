"""Finding and loading liblifesign.

The order, stopping at the first library that loads:

1. ``LIFESIGN_LIB``: when set it is the only candidate;
2. the library bundled inside the installed package (a wheel from
   ``make dist`` carries ``lifesign/liblifesign.so``);
3. the repository's build output, when the package runs from its source
   folder bindings/python/src;
4. ``ctypes.util.find_library("lifesign")``, then the bare file name for
   the system's dynamic loader (``LD_LIBRARY_PATH``, the ld.so cache).

The error lists every place tried. Declaring the functions is the caller's
business (``declare``), so this module knows nothing of the C ABI.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from pathlib import Path
from typing import Callable, List, Mapping, Optional, Tuple

ENV_LIB = "LIFESIGN_LIB"


class LibraryNotFound(OSError):
    """liblifesign could not be loaded; the message lists every place tried."""


def library_file_name() -> str:
    if sys.platform == "darwin":
        return "liblifesign.dylib"
    if sys.platform == "win32":
        return "lifesign.dll"
    return "liblifesign.so"


def bundled_candidate(package_dir: Path) -> Path:
    """The library a wheel ships inside the package folder."""
    return package_dir / library_file_name()


def repository_candidate(package_dir: Path) -> Optional[Path]:
    """The repository's build output, when the package runs from its source.

    The source lives in bindings/python/src/lifesign; the build output is
    ../../target/release seen from bindings/python.
    """
    binding_root = package_dir.parent.parent
    if package_dir.parent.name != "src" or not (binding_root / "pyproject.toml").is_file():
        return None
    return binding_root.parent.parent / "target" / "release" / library_file_name()


Declare = Callable[[ctypes.CDLL, str], ctypes.CDLL]


def locate(environ: Mapping[str, str], package_dir: Path, declare: Declare) -> Tuple[ctypes.CDLL, str]:
    """Load the library following the documented order; return it and where it came from."""
    tried: List[str] = []

    def load(where: str) -> ctypes.CDLL:
        return declare(ctypes.CDLL(where), where)

    explicit = environ.get(ENV_LIB, "")
    if explicit:
        try:
            return load(explicit), explicit
        except OSError as e:
            if isinstance(e, LibraryNotFound):
                raise
            raise LibraryNotFound(
                "could not load liblifesign from %s=%s: %s" % (ENV_LIB, explicit, e)
            ) from None
    tried.append("%s: not set" % ENV_LIB)

    def attempt(where: str, label: str) -> Optional[ctypes.CDLL]:
        try:
            return load(where)
        except LibraryNotFound:
            raise
        except OSError as e:
            tried.append("%s: %s" % (label, e))
            return None

    files = [("bundled library", bundled_candidate(package_dir))]
    repository = repository_candidate(package_dir)
    if repository is None:
        tried.append("repository build output: not applicable (package not run from bindings/python/src)")
    else:
        files.append(("repository build output", repository))
    for what, candidate in files:
        if not candidate.is_file():
            hint = " (run `make build` at the repository root)" if what.startswith("repository") else ""
            tried.append("%s: no such file%s" % (candidate, hint))
            continue
        lib = attempt(str(candidate), "%s (%s)" % (candidate, what))
        if lib is not None:
            return lib, str(candidate)

    found = ctypes.util.find_library("lifesign")
    if not found:
        tried.append("ctypes.util.find_library('lifesign'): nothing found")
    else:
        lib = attempt(found, "ctypes.util.find_library('lifesign') -> %s" % found)
        if lib is not None:
            return lib, found

    plain = library_file_name()
    lib = attempt(plain, "%s on the system library path" % plain)
    if lib is not None:
        return lib, plain

    raise LibraryNotFound(
        "liblifesign not found; looked in:\n  - " + "\n  - ".join(tried)
        + "\nInstall the lifesign wheel, or set %s to the path of %s." % (ENV_LIB, plain)
    )

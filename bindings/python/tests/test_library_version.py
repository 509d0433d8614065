"""The package refuses a library of another ABI (major.minor) than the
header its tables were generated from: a real one, liblifesign built with
the next minor version (tests/abi/mismatched-lib.sh; run-tests.sh names it
in LIFESIGN_TEST_MISMATCHED_LIB)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lifesign import _bindings

MISMATCHED = os.environ.get("LIFESIGN_TEST_MISMATCHED_LIB", "")


@pytest.mark.skipif(not MISMATCHED, reason="LIFESIGN_TEST_MISMATCHED_LIB is not set (run-tests.sh sets it)")
def test_a_library_of_another_minor_is_refused_with_both_versions_and_its_path() -> None:
    env = dict(os.environ, LIFESIGN_LIB=MISMATCHED)
    code = "import lifesign\ntry:\n    lifesign.check('/nonexistent')\nexcept OSError as e:\n    print(type(e).__name__, e)\n"
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr
    out = run.stdout.strip()
    assert out.startswith("LibraryNotFound "), out
    assert MISMATCHED in out
    assert "lifesign.h %s" % _bindings.LIFESIGN_VERSION_STRING in out
    loaded = "%d.%d.0" % (_bindings.LIFESIGN_VERSION_MAJOR, _bindings.LIFESIGN_VERSION_MINOR + 1)
    assert "is lifesign %s" % loaded in out, out


def test_the_library_of_the_same_minor_is_accepted() -> None:
    import lifesign

    assert lifesign.version().split(".")[:2] == [
        str(_bindings.LIFESIGN_VERSION_MAJOR),
        str(_bindings.LIFESIGN_VERSION_MINOR),
    ]

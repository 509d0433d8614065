"""The type hints as a user's ``mypy --strict`` sees them, and the Literal
types held to the enums they spell out."""

from __future__ import annotations

import subprocess
import sys
import typing
from pathlib import Path

import pytest

import lifesign
from lifesign import Shape, State, Verdict

GOOD = """
import lifesign
from lifesign import State, Verdict

with lifesign.start("/run/app/hb.json", 1.0) as hb:
    hb.set_state("ready", "serving")
    hb.set_state(State.FAILED)
    hb.set_state("stopping")
r = lifesign.check("/run/app/hb.json", max_age=5)
name: lifesign.VerdictName = r.verdict.value
alive: bool = r.verdict is Verdict.ALIVE
try:
    lifesign.wait_ready("/run/app/hb.json", timeout=10)
except TimeoutError as e:
    print(e.errno)
except OSError as e:
    print(e.errno, e.filename)
except ValueError:
    pass
except lifesign.LifesignError as e:
    print(e.code)
"""

BAD = """
import lifesign
from lifesign import State

hb = lifesign.start("/run/app/hb.json")
hb.set_state("redy")
hb.set_state("stopped")
hb.set_state(State.STOPPED)
"""


def _mypy(tmp_path: Path, source: "str | None") -> "subprocess.CompletedProcess[str]":
    """mypy --strict on a user's program, or on the package itself (None)."""
    pytest.importorskip("mypy", reason="mypy is pinned in requirements-test.txt")
    if source is None:
        target = ["-p", "lifesign"]
    else:
        program = tmp_path / "user.py"
        program.write_text(source)
        target = [str(program)]
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"), *target],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )


def test_the_package_passes_mypy_strict(tmp_path: Path) -> None:
    done = _mypy(tmp_path, None)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_accepts_the_documented_uses(tmp_path: Path) -> None:
    done = _mypy(tmp_path, GOOD)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_rejects_a_misspelt_state_and_stopped(tmp_path: Path) -> None:
    done = _mypy(tmp_path, BAD)
    assert done.returncode == 1, done.stdout + done.stderr
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    # One error for each of the three set_state lines (6, 7, 8), none elsewhere.
    assert sorted({int(line.split(":")[1]) for line in errors}) == [6, 7, 8], done.stdout
    assert "Literal['redy']" in done.stdout, done.stdout


def test_the_literal_types_list_exactly_the_enums_members() -> None:
    assert set(typing.get_args(lifesign.StateName)) == {s.value for s in State}
    assert set(typing.get_args(lifesign.VerdictName)) == {v.value for v in Verdict}
    assert set(typing.get_args(lifesign.ShapeName)) == {s.value for s in Shape}
    members, names = typing.get_args(lifesign.SettableState)
    settable = {s for s in State if s is not State.STOPPED}
    assert set(typing.get_args(members)) == settable
    assert set(typing.get_args(names)) == {s.value for s in settable}

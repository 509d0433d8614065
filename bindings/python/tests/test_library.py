from __future__ import annotations

import ctypes.util
import glob
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import lifesign
from lifesign import ErrorCode, LifesignError, Shape, State, Verdict, _bindings, _ffi
from support import BINDING, REPO

PROBE = "import lifesign; print(lifesign.library_path()); print(lifesign.version())"


def _run(code: str, env: "dict[str, str]", cwd: "Path | None" = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )


def _env_without_library(pythonpath: Path) -> "dict[str, str]":
    env = dict(os.environ)
    for name in ("LIFESIGN_LIB", "LD_LIBRARY_PATH", "PYTHONHOME"):
        env.pop(name, None)
    env["PYTHONPATH"] = str(pythonpath)
    env["PYTHONNOUSERSITE"] = "1"
    return env


def test_version_matches_the_header() -> None:
    header = (REPO / "include" / "lifesign.h").read_text()
    expected = re.search(r'#define LIFESIGN_VERSION_STRING "([^"]+)"', header)
    assert expected is not None
    assert lifesign.version() == expected.group(1)


@pytest.mark.parametrize(
    "enum, fn",
    [(Verdict, "lifesign_verdict_name"), (State, "lifesign_state_name"), (Shape, "lifesign_shape_name")],
)
def test_enum_values_are_the_library_names_of_their_codes(enum: type, fn: str) -> None:
    name_of = getattr(_ffi.lib(), fn)
    for member in enum:  # type: ignore[attr-defined]
        assert name_of(member.code).decode() == member.value


def test_error_codes_have_the_library_names() -> None:
    lib = _ffi.lib()
    for code in ErrorCode:
        expected = "LIFESIGN_OK" if code is ErrorCode.OK else "LIFESIGN_ERR_" + code.name
        assert lib.lifesign_error_name(code).decode() == expected


def test_lifesign_error_keeps_code_name_and_message_through_pickling() -> None:
    import pickle

    err = LifesignError(-2, "LIFESIGN_ERR_IO", "disk on fire")
    back = pickle.loads(pickle.dumps(err))
    assert (back.code, back.name, back.message) == (ErrorCode.IO, "LIFESIGN_ERR_IO", "disk on fire")
    assert str(back) == "LIFESIGN_ERR_IO: disk on fire"


def test_the_repository_build_is_found_without_lifesign_lib() -> None:
    result = _run(PROBE, _env_without_library(BINDING / "src"))
    assert result.returncode == 0, result.stderr
    where = result.stdout.splitlines()[0]
    assert Path(where).resolve() == (REPO / "target" / "release" / "liblifesign.so").resolve()


def test_lifesign_lib_takes_precedence(tmp_path: Path) -> None:
    copy = tmp_path / "copied-liblifesign.so"
    shutil.copyfile(lifesign.library_path(), copy)
    env = _env_without_library(BINDING / "src")
    env["LIFESIGN_LIB"] = str(copy)
    result = _run(PROBE, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [str(copy), lifesign.version()]


def test_lifesign_lib_naming_a_missing_file_is_reported(tmp_path: Path) -> None:
    env = _env_without_library(BINDING / "src")
    env["LIFESIGN_LIB"] = str(tmp_path / "nope.so")
    result = _run(PROBE, env)
    assert result.returncode != 0
    assert "LibraryNotFound" in result.stderr
    assert "LIFESIGN_LIB=" + str(tmp_path / "nope.so") in result.stderr


def test_a_library_without_the_lifesign_symbols_is_refused() -> None:
    libc = ctypes.util.find_library("c")
    assert libc
    env = _env_without_library(BINDING / "src")
    env["LIFESIGN_LIB"] = libc
    result = _run(PROBE, env)
    assert result.returncode != 0
    assert "lacks the symbol lifesign_version" in result.stderr


def test_a_library_bundled_inside_the_package_is_used_without_lifesign_lib(tmp_path: Path) -> None:
    # What a wheel from `make dist` installs: the library inside the package.
    shutil.copytree(BINDING / "src" / "lifesign", tmp_path / "lifesign")
    bundled = tmp_path / "lifesign" / "liblifesign.so"
    shutil.copyfile(lifesign.library_path(), bundled)
    result = _run(PROBE, _env_without_library(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [str(bundled), lifesign.version()]


@pytest.mark.skipif(
    ctypes.util.find_library("lifesign") is not None, reason="a liblifesign is installed on the system path"
)
def test_not_found_error_lists_every_place_looked(tmp_path: Path) -> None:
    # A copy of the package outside any repository, and no LIFESIGN_LIB.
    shutil.copytree(BINDING / "src" / "lifesign", tmp_path / "lifesign")
    env = _env_without_library(tmp_path)
    result = _run("import lifesign\nlifesign.version()", env, cwd=tmp_path)
    assert result.returncode != 0
    err = result.stderr
    assert "LibraryNotFound: liblifesign not found; looked in:" in err
    assert "LIFESIGN_LIB: not set" in err
    assert "%s: no such file" % (tmp_path / "lifesign" / "liblifesign.so") in err
    assert "repository build output: not applicable" in err
    assert "ctypes.util.find_library('lifesign')" in err
    assert "liblifesign.so on the system library path" in err


@pytest.mark.skipif(
    ctypes.util.find_library("lifesign") is not None, reason="a liblifesign is installed on the system path"
)
def test_not_found_error_names_the_missing_repository_build(tmp_path: Path) -> None:
    # The repository layout (bindings/python/src/lifesign) without a build.
    root = tmp_path / "checkout"
    binding = root / "bindings" / "python"
    shutil.copytree(BINDING / "src" / "lifesign", binding / "src" / "lifesign")
    shutil.copyfile(BINDING / "pyproject.toml", binding / "pyproject.toml")
    result = _run("import lifesign\nlifesign.version()", _env_without_library(binding / "src"), cwd=tmp_path)
    assert result.returncode != 0
    missing = root / "target" / "release" / "liblifesign.so"
    assert "%s: no such file" % missing in result.stderr


def test_importing_does_not_load_the_library(tmp_path: Path) -> None:
    env = _env_without_library(BINDING / "src")
    env["LIFESIGN_LIB"] = str(tmp_path / "absent.so")
    result = _run("import lifesign; print(lifesign.State.READY.value)", env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ready"


def test_the_built_package_ships_py_typed_and_works(tmp_path: Path) -> None:
    pytest.importorskip("setuptools", reason="building the package needs setuptools")
    # Build from a copy so that the build leaves nothing in the source folder.
    source = tmp_path / "source"
    shutil.copytree(
        BINDING, source, ignore=shutil.ignore_patterns(".venv", "build", "*.egg-info", "__pycache__", "tests")
    )
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(source)],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    assert (target / "lifesign" / "py.typed").is_file()
    env = _env_without_library(target)
    env["LIFESIGN_LIB"] = lifesign.library_path()
    result = _run(PROBE, env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == lifesign.version()


def _other_python(version: str) -> "str | None":
    found = shutil.which("python" + version)
    candidates = [found] if found else []
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(glob.glob(os.path.join(root, "versions", version + ".*", "bin", "python" + version)))
    for c in candidates:
        if c and subprocess.run([c, "-c", "pass"], capture_output=True).returncode == 0:
            return c
    return None


def test_the_package_runs_on_python_3_9(tmp_path: Path) -> None:
    python = _other_python("3.9")
    if python is None:
        pytest.skip("no Python 3.9 interpreter on this machine")
    env = _env_without_library(BINDING / "src")
    env["LIFESIGN_LIB"] = lifesign.library_path()
    path = tmp_path / "hb.json"
    code = (
        "import asyncio, sys, lifesign\n"
        "p = sys.argv[1]\n"
        "with lifesign.start(p, 3600) as hb:\n"
        "    hb.set_state('ready', 'py39')\n"
        "    r = asyncio.run(lifesign.wait_ready_async(p, timeout=60))\n"
        "    assert r.state is lifesign.State.READY and r.message == 'py39', r\n"
        "print(lifesign.check(p).verdict.value)\n"
    )
    result = subprocess.run([python, "-c", code, str(path)], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "stopped"


def test_every_code_family_of_the_header_is_an_enum_member_and_no_other() -> None:
    families = (("LIFESIGN_STATE_", State), ("LIFESIGN_VERDICT_", Verdict), ("LIFESIGN_SHAPE_", Shape))
    for prefix, enum in families:
        in_header = {n[len(prefix):] for n in vars(_bindings) if n.startswith(prefix)}
        assert in_header == {m.name for m in enum}, prefix  # type: ignore[attr-defined]
    errors = {n[len("LIFESIGN_ERR_"):] for n in vars(_bindings) if n.startswith("LIFESIGN_ERR_")}
    assert errors | {"OK"} == {c.name for c in ErrorCode}
    assert all(int(c) == getattr(_bindings, "LIFESIGN_" + ("" if c is ErrorCode.OK else "ERR_") + c.name)
               for c in ErrorCode)


def test_the_declarations_are_generated_from_the_header() -> None:
    first = Path(_bindings.__file__).read_text().splitlines()[0]
    assert first.startswith("# Generated from include/lifesign.h by `make bindings`")
    assert first.endswith("do not edit.")
    assert _ffi.PROTOTYPES is _bindings.PROTOTYPES  # the loader declares the generated table
    assert len(_bindings.PROTOTYPES) >= 20

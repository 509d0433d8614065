"""A Python emitter checked from C, and a C emitter checked from Python."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import lifesign
from lifesign import State, Verdict
from support import HANG, REPO, TESTS, after_first_open

C_SOURCES = TESTS / "c"


@pytest.fixture(scope="module")
def c_programs(tmp_path_factory: pytest.TempPathFactory) -> "dict[str, Path]":
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler (cc, gcc or clang) on PATH: the cross-language tests need one")
    lib = Path(lifesign.library_path()).resolve()
    if lib.name == "liblifesign.so":
        link = ["-L", str(lib.parent), "-llifesign"]
    else:
        link = [str(lib)]
    out = tmp_path_factory.mktemp("c-programs")
    programs = {}
    # The layout probe prints sizeof and offsetof of every member that the
    # generated ctypes structures declare, as name=value lines.
    probe = ["#include <stddef.h>", "#include <stdio.h>", '#include "lifesign.h"', "int main(void) {"]
    for cname, struct in _structures():
        probe.append('printf("%s=%%zu\\n", sizeof(%s));' % (cname, cname))
        for field, *_ in struct._fields_:
            probe.append('printf("%s.%s=%%zu\\n", offsetof(%s, %s));' % (cname, field, cname, field))
    probe += ["return 0;", "}"]
    (out / "layout.c").write_text("\n".join(probe) + "\n")
    sources = {"emit": C_SOURCES / "emit.c", "check": C_SOURCES / "check.c", "layout": out / "layout.c"}
    for name, source in sources.items():
        exe = out / name
        subprocess.run(
            [cc, "-std=c11", "-D_POSIX_C_SOURCE=200809L", "-Wall", "-Wextra", "-Werror",
             "-I", str(REPO / "include"), str(source), "-o", str(exe),
             *link, "-Wl,-rpath," + str(lib.parent)],
            check=True,
            stdin=subprocess.DEVNULL,
        )
        programs[name] = exe
    return programs


def _structures() -> "list[tuple[str, type]]":
    """Every ctypes structure generated from the header."""
    from lifesign import _bindings

    return [(n, t) for n, t in vars(_bindings).items()
            if isinstance(t, type) and issubclass(t, ctypes.Structure) and t is not ctypes.Structure]


def c_check(programs: "dict[str, Path]", path: Path, pid: int) -> "dict[str, str]":
    result = subprocess.run(
        [str(programs["check"]), str(path), str(pid)],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=HANG,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return dict(line.split("=", 1) for line in result.stdout.splitlines())


def test_ctypes_structures_match_the_c_header_layout(c_programs: "dict[str, Path]") -> None:
    out = subprocess.run(
        [str(c_programs["layout"])], capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL
    ).stdout
    c_layout = dict(line.split("=", 1) for line in out.splitlines())
    py_layout = {}
    assert len(_structures()) >= 2
    for cname, struct in _structures():
        py_layout[cname] = str(ctypes.sizeof(struct))
        for field, *_ in struct._fields_:
            py_layout["%s.%s" % (cname, field)] = str(getattr(struct, field).offset)
    assert py_layout == c_layout


def test_python_emitter_is_checked_from_c(c_programs: "dict[str, Path]", hb_path: Path) -> None:
    with lifesign.start(hb_path, 3600) as hb:
        assert c_check(c_programs, hb_path, os.getpid())["state"] == "starting"
        hb.set_state(State.READY, "from python")
        hb.progress()
        hb.beat()
        seen = c_check(c_programs, hb_path, os.getpid())
        assert seen == {
            "verdict": "alive",
            "state": "ready",
            "shape": "v1",
            "pid": str(os.getpid()),
            "seq": "3",
            "progress": "1",
            "message": "from python",
        }
        assert c_check(c_programs, hb_path, 1)["verdict"] == "pid_mismatch"
    assert c_check(c_programs, hb_path, os.getpid())["verdict"] == "stopped"


def test_c_emitter_is_checked_from_python(c_programs: "dict[str, Path]", hb_path: Path) -> None:
    proc = subprocess.Popen(
        [str(c_programs["emit"]), str(hb_path), "from c"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        assert proc.stdout.readline() == "started %d\n" % proc.pid
        assert lifesign.check(hb_path, pid=proc.pid).state is State.STARTING

        def go() -> None:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()

        # Python waits; the C process turns ready once the wait reads the file.
        thread, errors = after_first_open(hb_path, go)
        report = lifesign.wait_ready(hb_path, pid=proc.pid, timeout=HANG)
        thread.join(HANG)
        assert not errors
        assert report.verdict is Verdict.ALIVE
        assert report.state is State.READY
        assert report.pid == proc.pid
        assert report.message == "from c"
        assert report.interval == 0.05
        assert proc.stdout.readline() == "ready\n"

        proc.stdin.write("stop\n")
        proc.stdin.flush()
        assert proc.stdout.readline() == "stopped\n"
        assert proc.wait(HANG) == 0
        report = lifesign.check(hb_path, pid=proc.pid)
        assert report.verdict is Verdict.STOPPED
        assert report.pid == proc.pid
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdin.close()
        proc.stdout.close()

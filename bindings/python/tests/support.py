"""Helpers shared by the tests: child processes, file-open watching, polling."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import select
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, List, Optional, TypeVar

import lifesign

TESTS = Path(__file__).resolve().parent
BINDING = TESTS.parent
REPO = BINDING.parent.parent
VECTORS = REPO / "tests" / "vectors"

# Deadlines that only end real hangs; nothing is asserted about speed.
HANG = 60.0

T = TypeVar("T")


def poll_until(probe: Callable[[], Optional[T]], what: str, deadline: float = HANG) -> T:
    """Call probe until it returns something other than None; fail after the deadline."""
    end = time.monotonic() + deadline
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > end:
            raise AssertionError("gave up waiting for " + what)
        time.sleep(0.005)


def child_env(**extra: str) -> "dict[str, str]":
    """Environment for a child Python that imports this binding and its library."""
    env = dict(os.environ)
    src = str(BINDING / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["LIFESIGN_LIB"] = lifesign.library_path()
    for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LIFESIGN_NOTIFY_FD", "LIFESIGN_FILE"):
        env.pop(name, None)
    env.update(extra)
    return env


class Child:
    """A child process driven over pipes with the line protocol of tests/README.md."""

    def __init__(self, argv: "list[str]", env: "Optional[dict[str, str]]" = None) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
        self.pid = self.proc.pid

    def read(self) -> str:
        """The next protocol line, without its "@@ " marker."""
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError("child %d ended early (exit %s)" % (self.pid, self.proc.wait()))
            if line.startswith("@@ "):
                return line[3:].rstrip("\n")

    def started(self) -> None:
        """Wait for the child's "started pid=PID"."""
        line = self.read()
        assert line == "started pid=%d" % self.pid, line

    def send(self, command: str) -> None:
        """Send one command without waiting for its answer."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def do(self, command: str) -> str:
        """Send one command and wait until the child has carried it out."""
        self.send(command)
        answer = self.read()
        assert answer == "ok", "child answered %r to %r" % (answer, command)
        return answer

    def finish(self) -> int:
        """Close stdin (the child's cue to finish) and return its exit status."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self.proc.wait(HANG)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


class ChildEmitter(Child):
    """The emitter child, tests/child_emitter.py, once its first heartbeat is written."""

    def __init__(self, path: Path, interval: float = 3600.0) -> None:
        env = child_env(LIFESIGN_FILE=str(path), LIFESIGN_INTERVAL_MS=str(round(interval * 1000)))
        super().__init__([sys.executable, str(TESTS / "child_emitter.py")], env)
        self.started()


# inotify, to learn that a checker has opened a heartbeat file.
_IN_OPEN = 0x00000020
_IN_NONBLOCK = 0o4000
_IN_CLOEXEC = 0o2000000
_EVENT = struct.Struct("iIII")


class OpenWatcher:
    """Reports when someone opens a given file (inotify IN_OPEN on its folder)."""

    def __init__(self, path: Path) -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self.name = os.fsencode(path.name)
        self.fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        wd = libc.inotify_add_watch(self.fd, os.fsencode(str(path.parent)), _IN_OPEN)
        if wd < 0:
            os.close(self.fd)
            raise OSError(ctypes.get_errno(), "inotify_add_watch")

    def wait_open(self, deadline: float = HANG) -> None:
        end = time.monotonic() + deadline
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError("nobody opened %r" % self.name)
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                continue
            try:
                data = os.read(self.fd, 65536)
            except OSError as e:
                if e.errno == errno.EAGAIN:
                    continue
                raise
            offset = 0
            while offset < len(data):
                _wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
                name = data[offset + _EVENT.size: offset + _EVENT.size + length].rstrip(b"\0")
                offset += _EVENT.size + length
                if mask & _IN_OPEN and name == self.name:
                    return

    def close(self) -> None:
        os.close(self.fd)


def after_first_open(path: Path, action: Callable[[], None]) -> "tuple[threading.Thread, List[BaseException]]":
    """Run action in a Python thread as soon as someone opens path; returns the thread and its errors."""
    watcher = OpenWatcher(path)
    errors: List[BaseException] = []

    def run() -> None:
        try:
            watcher.wait_open()
            action()
        except BaseException as e:
            errors.append(e)
        finally:
            watcher.close()

    thread = threading.Thread(target=run, name="after-first-open", daemon=True)
    thread.start()
    return thread, errors

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


class ChildEmitter:
    """tests/child_emitter.py in a separate Python process, driven line by line over pipes."""

    def __init__(self, path: Path, interval: float = 3600.0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(TESTS / "child_emitter.py"), str(path), str(interval)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=child_env(),
            text=True,
        )
        self.pid = self.proc.pid
        line = self._read()
        assert line == "started %d" % self.pid, line

    def _read(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("child emitter ended early (exit %s)" % self.proc.wait())
        return line.rstrip("\n")

    def send(self, command: str) -> None:
        """Send one command without waiting for its acknowledgement."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def do(self, command: str) -> str:
        """Send one command and wait until the child has carried it out."""
        self.send(command)
        return self._read()

    def ack(self) -> str:
        return self._read()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


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

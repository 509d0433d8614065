from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path
from typing import Any, Callable

import pytest

import lifesign
from lifesign import ErrorCode, LifesignError, Shape, State, Verdict

# An interval long enough that the background thread never beats during a test,
# so that every write seen is one the test asked for.
QUIET = 3600.0


def read_json(path: Path) -> "dict[str, Any]":
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def test_start_writes_first_heartbeat_starting_with_seq_1_and_own_pid(hb_path: Path) -> None:
    with lifesign.start(hb_path, QUIET) as hb:
        report = lifesign.check(hb_path)
        assert report.verdict is Verdict.ALIVE
        assert report.state is State.STARTING
        assert report.seq == 1
        assert report.pid == os.getpid()
        assert report.shape is Shape.V1
        assert report.interval == QUIET
        assert hb.path == str(hb_path)
        assert not hb.closed


def test_start_creates_missing_parent_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "hb.json"
    with lifesign.start(path, QUIET):
        assert lifesign.check(path).verdict is Verdict.ALIVE


def test_beat_writes_the_next_seq(hb_path: Path) -> None:
    with lifesign.start(hb_path, QUIET) as hb:
        hb.beat()
        assert lifesign.check(hb_path).seq == 2
        hb.beat()
        assert lifesign.check(hb_path).seq == 3


def test_background_thread_beats_every_interval(hb_path: Path) -> None:
    from support import poll_until

    with lifesign.start(hb_path, 0.01):
        poll_until(lambda: True if lifesign.check(hb_path).seq >= 3 else None, "background beats")


def test_set_state_accepts_the_enum_and_its_string(hb_path: Path) -> None:
    with lifesign.start(hb_path, QUIET) as hb:
        hb.set_state(State.READY)
        assert lifesign.check(hb_path).state is State.READY
        hb.set_state("stopping")
        assert lifesign.check(hb_path).state is State.STOPPING
        hb.set_state("failed", "disk full")
        report = lifesign.check(hb_path)
        assert report.state is State.FAILED
        assert report.verdict is Verdict.FAILED
        assert report.message == "disk full"


def test_set_state_message_none_keeps_and_empty_clears(hb_path: Path) -> None:
    with lifesign.start(hb_path, QUIET) as hb:
        hb.set_state(State.STARTING, "loading caches")
        hb.set_state(State.READY)
        assert lifesign.check(hb_path).message == "loading caches"
        hb.set_state(State.READY, "")
        assert lifesign.check(hb_path).message == ""


def test_set_state_message_keeps_non_ascii_text(hb_path: Path) -> None:
    with lifesign.start(hb_path, QUIET) as hb:
        hb.set_state(State.READY, "prêt à servir ✓")
        assert lifesign.check(hb_path).message == "prêt à servir ✓"


def test_set_state_rejects_unknown_names_and_types(hb_path: Path) -> None:
    with lifesign.start(hb_path, QUIET) as hb:
        with pytest.raises(ValueError, match="set_state accepts starting, ready, stopping, failed, not 'bogus'"):
            hb.set_state("bogus")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            hb.set_state(1)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="NUL"):
            hb.set_state(State.READY, "a\0b")
        assert lifesign.check(hb_path).state is State.STARTING


def test_set_state_refuses_stopped_and_lists_what_it_accepts(hb_path: Path) -> None:
    settable = ", ".join(s.value for s in State if s is not State.STOPPED)
    with lifesign.start(hb_path, QUIET) as hb:
        for stopped in (State.STOPPED, "stopped"):
            with pytest.raises(lifesign.InvalidArgumentError) as info:
                hb.set_state(stopped)  # type: ignore[arg-type]
            assert isinstance(info.value, ValueError) and isinstance(info.value, LifesignError)
            assert info.value.code == ErrorCode.INVALID_ARGUMENT
            assert info.value.name == "LIFESIGN_ERR_INVALID_ARGUMENT"
            assert "set_state accepts %s," % settable in info.value.message
        assert lifesign.check(hb_path).state is State.STARTING


def test_set_meta_is_written_with_the_next_beat_and_none_removes_it(hb_path: Path) -> None:
    with lifesign.start(hb_path, QUIET) as hb:
        hb.set_meta("version", "1.2.3")
        hb.set_meta("role", "primary")
        hb.beat()
        assert read_json(hb_path)["meta"] == {"version": "1.2.3", "role": "primary"}
        hb.set_meta("role", None)
        hb.beat()
        assert read_json(hb_path)["meta"] == {"version": "1.2.3"}


def test_progress_is_counted_in_memory_and_written_by_the_next_beat(hb_path: Path) -> None:
    with lifesign.start(hb_path, QUIET) as hb:
        for _ in range(3):
            hb.progress()
        assert lifesign.check(hb_path).progress == 0
        hb.beat()
        report = lifesign.check(hb_path)
        assert report.progress == 3
        assert report.progress_at_ms is not None and report.progress_at_ms > 0
        assert report.progress_age is not None and report.progress_age >= 0


def test_write_failures_is_zero_for_a_healthy_emitter(hb_path: Path) -> None:
    with lifesign.start(hb_path, QUIET) as hb:
        hb.beat()
        assert hb.write_failures() == 0


def test_stop_writes_stopped_and_is_idempotent(hb_path: Path) -> None:
    hb = lifesign.start(hb_path, QUIET)
    try:
        hb.stop()
        report = lifesign.check(hb_path)
        assert report.verdict is Verdict.STOPPED
        assert report.state is State.STOPPED
        seq = report.seq
        hb.stop()
        assert lifesign.check(hb_path).seq == seq
    finally:
        hb.close()


def test_calls_after_stop_raise_the_library_state_error(hb_path: Path) -> None:
    with lifesign.start(hb_path, QUIET) as hb:
        hb.stop()
        with pytest.raises(LifesignError) as info:
            hb.beat()
        err = info.value
        assert err.code == ErrorCode.STATE == -3
        assert err.name == "LIFESIGN_ERR_STATE"
        assert err.message, "the library's message is carried"
        assert err.name in str(err) and err.message in str(err)


def test_context_manager_stops_and_closes_on_exit(hb_path: Path) -> None:
    with lifesign.start(hb_path, QUIET) as hb:
        hb.set_state(State.READY)
    assert hb.closed
    assert lifesign.check(hb_path).verdict is Verdict.STOPPED


def test_context_manager_stops_when_the_body_raises(hb_path: Path) -> None:
    with pytest.raises(RuntimeError):
        with lifesign.start(hb_path, QUIET) as hb:
            raise RuntimeError("boom")
    assert hb.closed
    assert lifesign.check(hb_path).verdict is Verdict.STOPPED


USES: "dict[str, Callable[[lifesign.Emitter], object]]" = {
    "beat": lambda hb: hb.beat(),
    "set_state": lambda hb: hb.set_state(State.READY),
    "set_meta": lambda hb: hb.set_meta("k", "v"),
    "progress": lambda hb: hb.progress(),
    "write_failures": lambda hb: hb.write_failures(),
    "stop": lambda hb: hb.stop(),
    "enter": lambda hb: hb.__enter__(),
}


@pytest.mark.parametrize("use", sorted(USES))
def test_use_after_close_raises_lifesign_error(hb_path: Path, use: str) -> None:
    hb = lifesign.start(hb_path, QUIET)
    hb.close()
    with pytest.raises(LifesignError) as info:
        USES[use](hb)
    assert info.value.code == ErrorCode.STATE
    assert info.value.name == "LIFESIGN_ERR_STATE"
    assert "closed" in info.value.message


def test_close_twice_is_harmless(hb_path: Path) -> None:
    hb = lifesign.start(hb_path, QUIET)
    hb.close()
    hb.close()
    assert hb.closed
    assert lifesign.check(hb_path).verdict is Verdict.STOPPED


def test_remove_on_stop_removes_the_file(hb_path: Path) -> None:
    with lifesign.start(hb_path, QUIET, remove_on_stop=True):
        assert hb_path.exists()
    assert not hb_path.exists()
    assert lifesign.check(hb_path).verdict is Verdict.MISSING


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644])
def test_mode_sets_the_file_permission_bits(hb_path: Path, mode: int) -> None:
    old = os.umask(0)
    try:
        with lifesign.start(hb_path, QUIET, mode=mode):
            assert stat.S_IMODE(hb_path.stat().st_mode) == mode
    finally:
        os.umask(old)


def test_durable_emitter_writes_heartbeats(hb_path: Path) -> None:
    with lifesign.start(hb_path, QUIET, durable=True) as hb:
        hb.beat()
        assert lifesign.check(hb_path).seq == 2


def test_interval_and_stale_after_are_written_to_the_file(hb_path: Path) -> None:
    with lifesign.start(hb_path, 2.5, stale_after=7):
        report = lifesign.check(hb_path)
        assert report.interval == 2.5
        assert report.max_age == 7.0
        assert read_json(hb_path)["stale_after_ms"] == 7000


def test_stale_after_defaults_to_three_intervals(hb_path: Path) -> None:
    with lifesign.start(hb_path, 2.0):
        assert lifesign.check(hb_path).max_age == 6.0


def test_durations_accept_timedelta(hb_path: Path) -> None:
    from datetime import timedelta

    with lifesign.start(hb_path, timedelta(seconds=2), stale_after=timedelta(milliseconds=4500)):
        report = lifesign.check(hb_path, max_age=timedelta(seconds=9))
        assert report.interval == 2.0
        assert report.max_age == 9.0


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"interval": 0}, ValueError),
        ({"interval": -1}, ValueError),
        ({"interval": float("nan")}, ValueError),
        ({"interval": "1"}, TypeError),
        ({"stale_after": 0}, ValueError),
        ({"mode": 0o10000}, ValueError),
        ({"notify_fd": -2}, ValueError),
    ],
)
def test_start_rejects_bad_arguments_before_calling_the_library(
    hb_path: Path, kwargs: "dict[str, Any]", error: type
) -> None:
    with pytest.raises(error):
        lifesign.start(hb_path, **kwargs)
    assert not hb_path.exists()


def test_start_rejects_a_path_with_a_nul_byte(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="NUL"):
        lifesign.start(str(tmp_path / "a\0b"))


def test_start_failure_carries_code_name_and_library_message(tmp_path: Path) -> None:
    blocker = tmp_path / "plain-file"
    blocker.write_text("not a folder")
    with pytest.raises(LifesignError) as info:
        lifesign.start(blocker / "hb.json")
    err = info.value
    assert err.code == ErrorCode.IO
    assert err.name == "LIFESIGN_ERR_IO"
    assert str(blocker) in err.message


def test_start_refuses_a_non_utf8_path_with_invalid_argument(tmp_path: Path) -> None:
    with pytest.raises(LifesignError) as info:
        lifesign.start(os.fsencode(str(tmp_path)) + b"/\xff.json")
    assert info.value.code == ErrorCode.INVALID_ARGUMENT
    assert info.value.message


def test_start_from_env_returns_none_without_lifesign_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIFESIGN_FILE", raising=False)
    assert lifesign.start_from_env() is None
    monkeypatch.setenv("LIFESIGN_FILE", "")
    assert lifesign.start_from_env() is None


def test_start_from_env_uses_lifesign_file_and_interval(hb_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIFESIGN_FILE", str(hb_path))
    monkeypatch.setenv("LIFESIGN_INTERVAL_MS", "2500")
    hb = lifesign.start_from_env()
    assert hb is not None
    with hb:
        assert hb.path == str(hb_path)
        report = lifesign.check(hb_path)
        assert report.verdict is Verdict.ALIVE
        assert report.interval == 2.5
    assert lifesign.check(hb_path).verdict is Verdict.STOPPED


def test_start_from_env_reports_a_malformed_interval(hb_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIFESIGN_FILE", str(hb_path))
    monkeypatch.setenv("LIFESIGN_INTERVAL_MS", "soon")
    with pytest.raises(LifesignError) as info:
        lifesign.start_from_env()
    assert info.value.code == ErrorCode.INVALID_ARGUMENT
    assert "LIFESIGN_INTERVAL_MS" in info.value.message


def test_notify_fd_gets_a_newline_when_ready_and_is_closed(hb_path: Path) -> None:
    r, w = os.pipe()
    try:
        with lifesign.start(hb_path, QUIET, notify_fd=w) as hb:
            hb.set_state(State.READY)
            assert os.read(r, 16) == b"\n"
            # The library owns the descriptor and closes it after notifying.
            assert os.read(r, 16) == b""
    finally:
        os.close(r)


def _unix_datagram_listener(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    return sock


def test_systemd_notify_socket_receives_ready(
    hb_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sock = _unix_datagram_listener(tmp_path / "notify.sock")
    try:
        sock.settimeout(60)
        monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify.sock"))
        with lifesign.start(hb_path, QUIET) as hb:
            hb.set_state(State.READY)
            seen = []
            while not any(b"READY=1" in d for d in seen):
                seen.append(sock.recv(4096))
    finally:
        sock.close()


def test_reload_and_work_driven_watchdog_speak_to_systemd_in_order(
    hb_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sock = _unix_datagram_listener(tmp_path / "notify.sock")
    try:
        monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify.sock"))
        monkeypatch.setenv("WATCHDOG_USEC", "7200000000")
        hb = lifesign.start(hb_path, 3600, s6=False, watchdog_on_progress=True)
        hb.set_state(State.READY, "up")
        hb.reload("reloading")
        assert lifesign.check(hb_path).state == State.STARTING
        hb.set_state(State.READY, "up")
        hb.beat()  # no progress: no ping
        hb.progress()
        hb.beat()
        hb.close()  # the barrier is answered by nobody here: bounded
        sock.setblocking(False)
        got = []
        while True:
            try:
                got.append(sock.recv(4096).decode())
            except BlockingIOError:
                break
        assert got[1].startswith("RELOADING=1\nMONOTONIC_USEC=")
        assert got[1].endswith("\nSTATUS=reloading")
        got[1] = "RELOADING"
        assert got == [
            "READY=1\nSTATUS=up",
            "RELOADING",
            "EXTEND_TIMEOUT_USEC=10800000000",
            "READY=1\nSTATUS=up",
            "WATCHDOG=1",
            "STOPPING=1",
            "BARRIER=1",
        ]
    finally:
        sock.close()


def test_systemd_false_ignores_notify_socket(
    hb_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sock = _unix_datagram_listener(tmp_path / "notify.sock")
    try:
        monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify.sock"))
        with lifesign.start(hb_path, QUIET, systemd=False) as hb:
            hb.set_state(State.READY)
        # Stopping joined the emitter's thread: anything it sent is queued by now.
        sock.setblocking(False)
        with pytest.raises(BlockingIOError):
            sock.recv(4096)
    finally:
        sock.close()


def test_s6_false_ignores_lifesign_notify_fd(hb_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    r, w = os.pipe()
    try:
        monkeypatch.setenv("LIFESIGN_NOTIFY_FD", str(w))
        with lifesign.start(hb_path, QUIET, s6=False) as hb:
            hb.set_state(State.READY)
        os.set_blocking(r, False)
        with pytest.raises(BlockingIOError):
            os.read(r, 16)
    finally:
        os.close(r)
        os.close(w)


def test_s6_true_uses_lifesign_notify_fd(hb_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    r, w = os.pipe()
    try:
        monkeypatch.setenv("LIFESIGN_NOTIFY_FD", str(w))
        with lifesign.start(hb_path, QUIET) as hb:
            hb.set_state(State.READY)
            assert os.read(r, 16) == b"\n"
    finally:
        os.close(r)


def test_emitter_is_usable_from_several_threads(hb_path: Path) -> None:
    import threading

    with lifesign.start(hb_path, QUIET) as hb:
        def work() -> None:
            for _ in range(50):
                hb.progress()
                hb.beat()

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        report = lifesign.check(hb_path)
        assert report.seq == 1 + 4 * 50
        assert report.progress == 4 * 50


UNREFERENCED = """
import gc, os, sys, weakref, lifesign
e = lifesign.start(sys.argv[1], 0.01)
e.set_state("ready", "unreferenced")
collected = []
weakref.finalize(e, collected.append, True)
del e  # no reference kept
gc.collect()
if not collected:
    print("@@ err the emitter was not collected", flush=True)
    sys.exit(1)
print("@@ started pid=%d" % os.getpid(), flush=True)
for line in sys.stdin:  # each line collects again, until the parent closes stdin
    gc.collect()
    print("@@ ok", flush=True)
"""


def test_an_unreferenced_emitter_keeps_beating_and_exit_writes_nothing(hb_path: Path) -> None:
    import sys

    from support import HANG, Child, child_env, poll_until

    child = Child([sys.executable, "-c", UNREFERENCED, str(hb_path)], child_env())
    try:
        child.started()
        # The beats are the evidence; a generous max age keeps a slow
        # machine's late beat from counting as stale.
        first = lifesign.check(hb_path, pid=child.pid, max_age=HANG)
        assert (first.verdict, first.state) == (Verdict.ALIVE, State.READY)

        def beaten() -> "lifesign.Report | None":
            child.do("gc")
            r = lifesign.check(hb_path, pid=child.pid, max_age=HANG)
            return r if r.seq >= first.seq + 3 else None

        report = poll_until(beaten, "beats of an unreferenced emitter after gc.collect()")
        assert (report.verdict, report.state) == (Verdict.ALIVE, State.READY)
        # The interpreter exits normally without close(): nothing more is
        # written, and the process is gone.
        assert child.finish() == 0
        report = lifesign.check(hb_path)
        assert (report.verdict, report.state) == (Verdict.PROCESS_GONE, State.READY)
    finally:
        child.close()

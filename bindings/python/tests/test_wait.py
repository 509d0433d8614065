from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

import lifesign
from lifesign import CancelToken, ErrorCode, LifesignError, State, Verdict, WaitCancelled, WaitTimeout
from support import HANG, ChildEmitter, after_first_open

QUIET = 3600.0


@pytest.fixture
def child(hb_path: Path):  # type: ignore[no-untyped-def]
    c = ChildEmitter(hb_path, interval=0.05)
    yield c
    c.close()


@pytest.fixture
def quiet_child(hb_path: Path):  # type: ignore[no-untyped-def]
    c = ChildEmitter(hb_path, interval=QUIET)
    yield c
    c.close()


def _join(thread: threading.Thread, errors: "list[BaseException]") -> None:
    thread.join(HANG)
    assert not thread.is_alive(), "the helper thread hung"
    if errors:
        raise errors[0]


def test_wait_ready_returns_ready_once_a_child_announces_it(hb_path: Path, child: ChildEmitter) -> None:
    # The child turns ready only after this test's wait has opened the file.
    thread, errors = after_first_open(hb_path, lambda: child.do("ready serving"))
    report = lifesign.wait_ready(hb_path, pid=child.pid, timeout=HANG)
    _join(thread, errors)
    assert report.verdict is Verdict.ALIVE
    assert report.state is State.READY
    assert report.pid == child.pid
    assert report.message == "serving"


def test_wait_ready_returns_the_failed_report_when_the_child_fails(hb_path: Path, child: ChildEmitter) -> None:
    thread, errors = after_first_open(hb_path, lambda: child.do("failed cannot bind"))
    report = lifesign.wait_ready(hb_path, pid=child.pid, timeout=HANG)
    _join(thread, errors)
    assert report.verdict is Verdict.FAILED
    assert report.state is State.FAILED
    assert report.message == "cannot bind"


def test_wait_ready_returns_stopped_when_the_child_stops(hb_path: Path, child: ChildEmitter) -> None:
    thread, errors = after_first_open(hb_path, lambda: child.do("stop"))
    report = lifesign.wait_ready(hb_path, pid=child.pid, timeout=HANG)
    _join(thread, errors)
    assert report.verdict is Verdict.STOPPED


def test_wait_ready_returns_process_gone_when_the_child_dies(hb_path: Path, child: ChildEmitter) -> None:
    thread, errors = after_first_open(hb_path, lambda: child.send("exit"))
    report = lifesign.wait_ready(hb_path, pid=child.pid, timeout=HANG)
    _join(thread, errors)
    assert report.verdict is Verdict.PROCESS_GONE
    assert report.pid == child.pid
    assert child.proc.wait() == 0


def test_wait_ready_waits_for_a_file_that_does_not_exist_yet(hb_path: Path) -> None:
    started: "list[ChildEmitter]" = []
    errors: "list[BaseException]" = []

    def launch() -> None:
        try:
            c = ChildEmitter(hb_path, interval=0.05)
            started.append(c)
            c.do("ready")
        except BaseException as e:
            errors.append(e)

    thread = threading.Thread(target=launch)
    thread.start()
    try:
        report = lifesign.wait_ready(hb_path, timeout=HANG)
        _join(thread, errors)
        assert report.verdict is Verdict.ALIVE
        assert report.state is State.READY
        assert report.pid == started[0].pid
    finally:
        thread.join(HANG)
        for c in started:
            c.close()


def test_wait_ready_idle_timeout_gives_stale_when_beats_stop(hb_path: Path, quiet_child: ChildEmitter) -> None:
    report = lifesign.wait_ready(hb_path, pid=quiet_child.pid, idle_timeout=0.05, timeout=HANG)
    assert report.verdict is Verdict.STALE
    assert report.state is State.STARTING
    assert report.pid == quiet_child.pid


def test_wait_ready_raises_wait_timeout_with_the_last_report(hb_path: Path, child: ChildEmitter) -> None:
    with pytest.raises(WaitTimeout) as info:
        lifesign.wait_ready(hb_path, pid=child.pid, timeout=0.2)
    err = info.value
    assert isinstance(err, LifesignError)
    assert err.code == ErrorCode.TIMEOUT
    assert err.name == "LIFESIGN_ERR_TIMEOUT"
    assert err.report.verdict is Verdict.ALIVE
    assert err.report.state is State.STARTING
    assert err.report.pid == child.pid


def test_wait_ready_ignores_a_heartbeat_of_another_pid(hb_path: Path) -> None:
    with lifesign.start(hb_path, QUIET) as hb:
        hb.set_state(State.READY)
        with pytest.raises(WaitTimeout) as info:
            lifesign.wait_ready(hb_path, pid=1, timeout=0.2)
        assert info.value.report.pid == os.getpid()
        # The same file satisfies a wait for this process.
        assert lifesign.wait_ready(hb_path, pid=os.getpid(), timeout=HANG).state is State.READY


def test_wait_ready_releases_the_gil_so_other_threads_run(hb_path: Path) -> None:
    counted = []

    with lifesign.start(hb_path, QUIET) as hb:
        def pure_python_then_ready() -> None:
            # Runs only after the wait (main thread) has opened the file, i.e. inside
            # the C call. Without the GIL released, none of this could run and the
            # wait would end at its hard timeout instead.
            n = 0
            for _ in range(100_000):
                n += 1
            counted.append(n)
            hb.set_state(State.READY)

        thread, errors = after_first_open(hb_path, pure_python_then_ready)
        report = lifesign.wait_ready(hb_path, timeout=HANG)
        _join(thread, errors)
    assert counted == [100_000]
    assert report.state is State.READY


def test_cancel_token_ends_a_wait_from_another_thread(hb_path: Path, child: ChildEmitter) -> None:
    with CancelToken() as token:
        thread, errors = after_first_open(hb_path, token.cancel)
        with pytest.raises(WaitCancelled) as info:
            lifesign.wait_ready(hb_path, pid=child.pid, timeout=HANG, cancel=token)
        _join(thread, errors)
        assert token.cancelled
    err = info.value
    assert err.code == ErrorCode.CANCELLED
    assert err.name == "LIFESIGN_ERR_CANCELLED"
    assert err.report.state is State.STARTING
    assert err.report.pid == child.pid


def test_cancel_token_triggered_before_the_wait_cancels_it_at_once(hb_path: Path) -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(WaitCancelled):
        lifesign.wait_ready(hb_path, cancel=token)
    token.close()


def test_closed_cancel_token_cannot_be_used(hb_path: Path) -> None:
    token = CancelToken()
    token.close()
    token.close()
    with pytest.raises(LifesignError) as info:
        token.cancel()
    assert info.value.code == ErrorCode.STATE
    with pytest.raises(LifesignError):
        lifesign.wait_ready(hb_path, cancel=token)


def test_closing_a_token_in_use_waits_for_the_wait_to_return(hb_path: Path, child: ChildEmitter) -> None:
    token = CancelToken()

    def close_then_ready() -> None:
        token.close()  # deferred: the wait still holds the token
        child.do("ready")

    thread, errors = after_first_open(hb_path, close_then_ready)
    report = lifesign.wait_ready(hb_path, pid=child.pid, timeout=HANG, cancel=token)
    _join(thread, errors)
    assert report.state is State.READY
    assert token._handle is None, "freed once the wait returned"


@pytest.mark.parametrize("kwargs", [{"timeout": -1}, {"idle_timeout": float("nan")}, {"pid": 1.5}])
def test_wait_ready_rejects_bad_arguments(hb_path: Path, kwargs: "dict[str, object]") -> None:
    with pytest.raises((ValueError, TypeError)):
        lifesign.wait_ready(hb_path, **kwargs)  # type: ignore[arg-type]


def test_wait_ready_negative_pid_is_refused_by_the_library(hb_path: Path) -> None:
    with pytest.raises(LifesignError) as info:
        lifesign.wait_ready(hb_path, pid=-1, timeout=HANG)
    assert info.value.code == ErrorCode.INVALID_ARGUMENT
    assert not isinstance(info.value, WaitTimeout)

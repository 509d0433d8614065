from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

import lifesign
from lifesign import ErrorCode, State, Verdict, WaitTimeout
from support import HANG, ChildEmitter, OpenWatcher

QUIET = 3600.0
WAIT_THREAD = "lifesign-wait-ready"


def _wait_threads() -> "list[threading.Thread]":
    return [t for t in threading.enumerate() if t.name == WAIT_THREAD]


def _assert_wait_threads_end() -> None:
    for t in _wait_threads():
        t.join(HANG)
        assert not t.is_alive(), "a waiting thread did not end"


def test_wait_ready_async_does_not_block_the_event_loop(hb_path: Path) -> None:
    async def main() -> lifesign.Report:
        with lifesign.start(hb_path, QUIET) as hb:
            task = asyncio.ensure_future(lifesign.wait_ready_async(hb_path, timeout=HANG))
            # Let the task run its first step. Had it blocked the loop, control would
            # come back only after its hard timeout, and the report would not be ready.
            await asyncio.sleep(0)
            assert not task.done()
            hb.set_state(State.READY, "from the loop")
            return await task

    report = asyncio.run(main())
    assert report.verdict is Verdict.ALIVE
    assert report.state is State.READY
    assert report.message == "from the loop"
    _assert_wait_threads_end()


def test_wait_ready_async_follows_a_child_process(hb_path: Path) -> None:
    child = ChildEmitter(hb_path, interval=0.05)
    try:
        async def main() -> lifesign.Report:
            task = asyncio.ensure_future(lifesign.wait_ready_async(hb_path, pid=child.pid, timeout=HANG))
            await asyncio.sleep(0)
            await asyncio.get_running_loop().run_in_executor(None, child.do, "ready")
            return await task

        report = asyncio.run(main())
        assert report.state is State.READY
        assert report.pid == child.pid
    finally:
        child.close()


def test_wait_ready_async_raises_wait_timeout(hb_path: Path) -> None:
    async def main() -> None:
        with lifesign.start(hb_path, QUIET):
            await lifesign.wait_ready_async(hb_path, timeout=0.1)

    with pytest.raises(WaitTimeout) as info:
        asyncio.run(main())
    assert info.value.code == ErrorCode.TIMEOUT
    assert info.value.report.state is State.STARTING
    _assert_wait_threads_end()


def test_wait_ready_async_returns_decided_reports(hb_path: Path) -> None:
    async def main() -> lifesign.Report:
        with lifesign.start(hb_path, QUIET) as hb:
            hb.set_state(State.FAILED, "no config")
            return await lifesign.wait_ready_async(hb_path, timeout=HANG)

    report = asyncio.run(main())
    assert report.verdict is Verdict.FAILED
    assert report.message == "no config"


def test_cancelling_wait_ready_async_ends_the_waiting_thread(hb_path: Path) -> None:
    async def main() -> None:
        with lifesign.start(hb_path, QUIET):
            watcher = OpenWatcher(hb_path)
            try:
                # No timeout at all: only the cancel token can end this wait.
                task = asyncio.ensure_future(lifesign.wait_ready_async(hb_path))
                # Cancel once the blocking call is reading the file.
                await asyncio.get_running_loop().run_in_executor(None, watcher.wait_open)
            finally:
                watcher.close()
            assert _wait_threads(), "the wait runs in its own thread"
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=HANG)
            assert task in done, "cancellation did not end the wait"
            assert task.cancelled()

    asyncio.run(main())
    # The coroutine returned only after the C call did; the thread then ends.
    _assert_wait_threads_end()


def test_wait_ready_async_under_wait_for_times_out_and_cleans_up(hb_path: Path) -> None:
    async def main() -> None:
        with lifesign.start(hb_path, QUIET):
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(lifesign.wait_ready_async(hb_path), timeout=0.05)

    asyncio.run(main())
    _assert_wait_threads_end()


def test_repeated_cancellation_still_waits_for_the_call_to_return(hb_path: Path) -> None:
    async def main() -> None:
        with lifesign.start(hb_path, QUIET):
            task = asyncio.ensure_future(lifesign.wait_ready_async(hb_path))
            await asyncio.sleep(0)
            for _ in range(3):
                task.cancel()
                await asyncio.sleep(0)
            done, _ = await asyncio.wait({task}, timeout=HANG)
            assert task in done
            assert task.cancelled()

    asyncio.run(main())
    _assert_wait_threads_end()


def test_wait_ready_async_rejects_bad_arguments_at_once(hb_path: Path) -> None:
    async def main() -> None:
        await lifesign.wait_ready_async(hb_path, timeout=-1)

    with pytest.raises(ValueError):
        asyncio.run(main())
    assert not _wait_threads()

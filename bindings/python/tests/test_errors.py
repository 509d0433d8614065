"""Each error is a LifesignError and the standard exception of its kind."""

from __future__ import annotations

import errno
import os
import pickle
from pathlib import Path

import pytest

import lifesign
from lifesign import ErrorCode, LifesignError


def test_an_io_failure_is_an_oserror_with_the_systems_errno_and_the_file(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("in the way")
    path = blocker / "hb.json"
    with pytest.raises(OSError) as info:
        lifesign.start(path, 1.0, systemd=False, s6=False)
    e = info.value
    assert isinstance(e, lifesign.LifesignIOError) and isinstance(e, LifesignError)
    assert e.code == ErrorCode.IO and e.name == "LIFESIGN_ERR_IO"
    # The library creates the missing folder, which exists as a file.
    assert e.errno == errno.EEXIST, e.message
    assert e.strerror == os.strerror(errno.EEXIST)
    assert e.filename == str(path)
    assert str(e).startswith("LIFESIGN_ERR_IO: ")
    again = pickle.loads(pickle.dumps(e))
    assert (type(again), again.errno, again.filename, again.message) == (type(e), e.errno, e.filename, e.message)


def test_a_bad_argument_is_a_valueerror_whether_the_binding_or_the_library_refuses_it(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as by_binding:
        lifesign.check(tmp_path / "hb.json", max_age=-1)
    with pytest.raises(ValueError) as by_library:
        lifesign.check(tmp_path / "hb.json", pid=-5)
    for info in (by_binding, by_library):
        assert isinstance(info.value, lifesign.InvalidArgumentError)
        assert info.value.code == ErrorCode.INVALID_ARGUMENT


def test_a_call_after_close_or_stop_is_a_runtimeerror(tmp_path: Path) -> None:
    hb = lifesign.start(tmp_path / "hb.json", 3600, systemd=False, s6=False)
    hb.stop()
    with pytest.raises(RuntimeError) as stopped:
        hb.beat()
    hb.close()
    with pytest.raises(RuntimeError) as closed:
        hb.beat()
    for info in (stopped, closed):
        assert isinstance(info.value, lifesign.StateError)
        assert info.value.code == ErrorCode.STATE


def test_a_wait_timeout_is_a_timeouterror_with_the_last_report(tmp_path: Path) -> None:
    path = tmp_path / "hb.json"
    with lifesign.start(path, 3600, systemd=False, s6=False):
        with pytest.raises(TimeoutError) as info:
            lifesign.wait_ready(path, timeout=0.05)
    e = info.value
    assert isinstance(e, lifesign.WaitTimeout) and isinstance(e, LifesignError)
    assert e.errno == errno.ETIMEDOUT
    assert e.code == ErrorCode.TIMEOUT
    assert e.report.state is lifesign.State.STARTING

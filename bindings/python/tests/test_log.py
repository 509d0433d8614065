"""The library's log messages reach the "lifesign" logger of ``logging``."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Iterator, List

import pytest

import lifesign

QUIET = 3600.0
# A descriptor number that is never open (above any RLIMIT_NOFILE): the
# library warns that the s6 notification fd is not open, and carries on.
NOT_OPEN_FD = 1_000_000


class Collect(logging.Handler):
    """Keeps every record and signals when one containing ``wanted`` arrives."""

    def __init__(self, wanted: str) -> None:
        super().__init__(logging.DEBUG)
        self.wanted = wanted
        self.records: List[logging.LogRecord] = []
        self.arrived = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        if self.wanted in record.getMessage():
            self.arrived.set()


@pytest.fixture
def collect() -> Iterator[Collect]:
    handler = Collect("")
    logger = logging.getLogger("lifesign")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        lifesign.set_log_level(logging.WARNING)


def test_a_library_warning_is_a_warning_record_of_the_lifesign_logger(
    hb_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="lifesign")
    with lifesign.start(hb_path, QUIET, notify_fd=NOT_OPEN_FD):
        pass
    ours = [r for r in caplog.records if "fd %d is not open" % NOT_OPEN_FD in r.getMessage()]
    assert len(ours) == 1, caplog.records
    assert ours[0].name == "lifesign"
    assert ours[0].levelno == logging.WARNING
    assert ours[0].getMessage() == "s6 notification fd %d is not open" % NOT_OPEN_FD


def test_a_failed_write_on_the_library_thread_is_logged(tmp_path: Path, collect: Collect) -> None:
    # A symbolic link to the real folder, replaced by a regular file in one
    # rename: no write can succeed there, and the library cannot recreate
    # the folder, however often it writes meanwhile.
    (tmp_path / "real").mkdir()
    folder = tmp_path / "sub"
    folder.symlink_to(tmp_path / "real")
    path = folder / "hb.json"
    collect.wanted = "cannot write"
    with lifesign.start(path, 0.01) as hb:
        blocker = tmp_path / "blocker"
        blocker.write_text("in the way")
        os.rename(blocker, folder)
        # The background thread finds out at its next beat.
        assert collect.arrived.wait(60), "no log record of the failed write"
        with pytest.raises(lifesign.LifesignError):
            hb.stop()
    record = next(r for r in collect.records if "cannot write" in r.getMessage())
    assert record.levelno == logging.WARNING
    assert record.name == "lifesign"
    assert str(path) in record.getMessage()
    assert record.thread != threading.get_ident()


def test_a_level_above_warning_silences_the_library(hb_path: Path, collect: Collect) -> None:
    lifesign.set_log_level(logging.ERROR)
    with lifesign.start(hb_path, QUIET, notify_fd=NOT_OPEN_FD):
        pass
    assert not [r for r in collect.records if "is not open" in r.getMessage()]
    lifesign.set_log_level(logging.WARNING)
    with lifesign.start(hb_path, QUIET, notify_fd=NOT_OPEN_FD):
        pass
    assert [r for r in collect.records if "is not open" in r.getMessage()]


def test_set_log_level_takes_logging_levels_only() -> None:
    with pytest.raises(TypeError):
        lifesign.set_log_level("debug")  # type: ignore[arg-type]
    lifesign.set_log_level(logging.DEBUG)
    lifesign.set_log_level(logging.WARNING)

from __future__ import annotations

from pathlib import Path

import pytest

# Variables that make an emitter talk to a supervisor or start on its own.
_SUPERVISOR_VARS = (
    "NOTIFY_SOCKET",
    "WATCHDOG_USEC",
    "WATCHDOG_PID",
    "LIFESIGN_NOTIFY_FD",
    "LIFESIGN_FILE",
    "LIFESIGN_INTERVAL_MS",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _SUPERVISOR_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def hb_path(tmp_path: Path) -> Path:
    return tmp_path / "heartbeat.json"

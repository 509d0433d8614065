"""The library's log messages, routed to the ``logging`` module.

This module imports no other module of the package (the loader, _ffi,
imports it and hands it the library).

When the binding loads liblifesign it installs a log handler
(``lifesign_set_log_handler``) that hands each message to
``logging.getLogger("lifesign")`` at the matching level. With no logging
configured, Python's last-resort handler prints warnings to stderr, as the
library itself would.
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import threading
from typing import Any, Callable, Optional

from . import _bindings as _c

logger = logging.getLogger("lifesign")

# LIFESIGN_LOG_* -> logging level, most detailed last.
_TO_LOGGING = {
    _c.LIFESIGN_LOG_WARN: logging.WARNING,
    _c.LIFESIGN_LOG_INFO: logging.INFO,
    _c.LIFESIGN_LOG_DEBUG: logging.DEBUG,
}


def _library_level(level: int) -> int:
    """The most detailed LIFESIGN_LOG_* that a logging ``level`` lets through."""
    allowed = [code for code, lv in _TO_LOGGING.items() if lv >= level]
    return max(allowed, default=_c.LIFESIGN_LOG_OFF)


def _on_log(_user_data: Optional[int], level: int, message: Optional[bytes]) -> None:
    # Runs on the library's threads; an exception here would only be printed
    # by ctypes, so nothing may escape.
    try:
        text = (message or b"").decode("utf-8", "replace")
        logger.log(_TO_LOGGING.get(level, logging.WARNING), text)
    except Exception:  # noqa: BLE001 - a log handler must never raise into C
        pass


# Kept for as long as the library may call it.
_HANDLER = _c.lifesign_log_fn(_on_log)
_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None
_max_level: int = _c.LIFESIGN_LOG_WARN


def _apply(lib: ctypes.CDLL, handler: "Optional[Callable[..., Any]]", level: int) -> None:
    # A NULL function pointer (not None, which ctypes refuses) means stderr.
    rc = lib.lifesign_set_log_handler(handler or _c.lifesign_log_fn(), None, level)
    if rc != _c.LIFESIGN_OK:
        raise ValueError("lifesign_set_log_handler refused level %d" % level)


def install(lib: ctypes.CDLL) -> None:
    """Routes the library's messages to the "lifesign" logger (on load).

    The library is asked for what the logger lets through at this moment
    (its effective level: WARNING unless configured before the load).
    """
    global _lib, _max_level
    with _lock:
        _lib = lib
        _max_level = _library_level(logger.getEffectiveLevel())
        _apply(lib, _HANDLER, _max_level)


def set_level(lib: ctypes.CDLL, level: int) -> None:
    """Asks ``lib`` for what a ``logging`` level lets through (``lifesign.set_log_level``)."""
    if not isinstance(level, int) or isinstance(level, bool):
        raise TypeError("level must be a logging level (an int)")
    global _max_level
    with _lock:
        _max_level = _library_level(level)
        _apply(lib, _HANDLER, _max_level)


@atexit.register
def _uninstall() -> None:
    # The interpreter cannot run the handler once it is finalised: messages
    # after this point (e.g. a library thread still beating) go to stderr.
    with _lock:
        if _lib is not None:
            _apply(_lib, None, _max_level)

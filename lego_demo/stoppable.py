"""Run an engine in a thread that is stopped when its step runs out of time.

Python cannot kill a thread, but CPython can raise an exception inside one
(`PyThreadState_SetAsyncExc`, the mechanism behind Ctrl-C): the thread gets it at its next
Python instruction and unwinds through `with` and `finally` blocks like any exception, so
locks are released and a half-loaded model is never registered. A step past its time limit
fails at once; its thread ends as soon as its current native call returns (the input bounds
keep every classical engine's native calls under ~0.1 s at the working size, and a model
engine's are single tensor operations). The thread is a daemon, so it never keeps the CLI
from exiting.

Worker processes that can be killed were measured as the alternative and not taken (each adds
~100 MB, ~600 MB once its face and text detectors load, against a 1.5 GB budget; they need a
second way to start on Windows and a copy of every image): docs/RELIABILITY.md.
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from .errors import StepTimeout

log = logging.getLogger(__name__)

STOP_GRACE_S = 0.25  # how long the Executor waits for a stopped thread before reporting on it


class StepStopped(BaseException):
    """Raised inside a step's thread when its time is up. A BaseException, like
    KeyboardInterrupt, so an engine's `except Exception` cannot swallow it."""


def run_stoppable(call: Callable[[], Any], timeout: float | None, name: str,
                  on_end: Callable[[], None] | None = None) -> Any:
    """`call()` in a daemon thread named `name`; past `timeout` seconds, stop it and raise
    StepTimeout. The thread's own exception, if any, is raised here. `on_end` (e.g. releasing
    a concurrency slot) runs once the thread has really ended, never inside it, so a stop
    cannot interrupt it."""
    if timeout is None:
        try:
            return call()
        finally:
            if on_end is not None:
                on_end()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = call()
        except StepStopped:
            pass
        except BaseException as exc:  # raised again in the caller's thread, below
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True, name=name)
    try:
        thread.start()
        thread.join(timeout)
        if not thread.is_alive():
            if "error" in box:
                raise box["error"]
            return box["value"]
        _raise_in(thread, StepStopped)
        t0 = time.monotonic()
        thread.join(STOP_GRACE_S)
        if thread.is_alive():
            log.warning("%s: still inside a native call %.1f s after it was told to stop", name, time.monotonic() - t0)
            raise StepTimeout(timeout, "was told to stop (it ends when its current native call returns)")
        raise StepTimeout(timeout, "was stopped")
    finally:
        if on_end is not None:
            _when_ended(thread, on_end)


def _when_ended(thread: threading.Thread, on_end: Callable[[], None]) -> None:
    if thread.ident is None or not thread.is_alive():  # never started, or ended
        on_end()
    else:
        threading.Thread(target=lambda: (thread.join(), on_end()), daemon=True, name=f"{thread.name}-end").start()


def _raise_in(thread: threading.Thread, exc_type: type[BaseException]) -> None:
    found = ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(exc_type))
    if found > 1:  # never happens for a live thread id; undo rather than hit other threads
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), None)

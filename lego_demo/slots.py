"""Concurrency slots: how many engine calls may use one resource at the same time.

The Executor holds a step's slot while its engine runs, so the CLI, the app (all sessions
share one Executor) and the critics honour the same limits:

- a model engine running here holds its device: at most `model_calls_per_device` calls at once
  (default 1: a GPU runs one diffusion call at full speed; two only share it and need twice
  the memory);
- an engine that calls a server declares its own slot (`@SPEC.engine(..., slot=…)`), e.g. the
  openai-images engine: at most `concurrency` requests in flight to one server;
- classical engines hold none: they run in parallel, as many as the app's queue lets in.

The Executor also holds a run's image pixels in a "working pixels" slot of its own while the
run goes on (`Executor.pixels_at_once`, lego_demo/run_limits.py): memory grows with the pixels
in flight, so runs on small images go ahead while only a few at the working size run at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

DEFAULT_MODEL_CALLS_PER_DEVICE = 1
SAME_DEVICE = ("", "auto", "cuda", "cuda:0")  # what "auto" picks on a one-GPU machine


def device_slot_name(options: Mapping[str, Any]) -> str:
    device = str(options.get("device") or "").strip().lower()
    return "device " + ("default" if device in SAME_DEVICE else device)


class Slots:
    """Named counting semaphores; thread-safe. The first limit given for a name is kept. A
    call may take several units (`amount`); one larger than the limit runs alone."""

    def __init__(self, model_calls_per_device: int = DEFAULT_MODEL_CALLS_PER_DEVICE):
        if int(model_calls_per_device) < 1:
            from .errors import BadInput

            raise BadInput(f"model_calls_per_device must be at least 1, not {model_calls_per_device!r}")
        self.model_calls_per_device = int(model_calls_per_device)
        self._cond = threading.Condition()
        self._limit: dict[str, int] = {}
        self._busy: dict[str, int] = {}
        self._waiting: dict[str, int] = {}

    def slot_for(self, engine: Any, options: Mapping[str, Any]) -> tuple[str, int] | None:
        """(slot name, limit) for one call of `engine`, or None when it needs no slot."""
        if engine.slot is not None:
            return engine.slot(options)
        if engine.kind == "model":
            return device_slot_name(options), self.model_calls_per_device
        return None

    def acquire(self, name: str, limit: int, amount: int = 1) -> float:
        """Wait until `amount` units of slot `name` are free; returns the seconds waited."""
        t0 = time.perf_counter()
        with self._cond:
            limit = self._limit.setdefault(name, max(1, int(limit)))
            self._waiting[name] = self._waiting.get(name, 0) + 1
            try:
                while self._busy.get(name, 0) > 0 and self._busy[name] + amount > limit:
                    self._cond.wait()
            finally:
                self._waiting[name] -= 1
            self._busy[name] = self._busy.get(name, 0) + amount
        return time.perf_counter() - t0

    def release(self, name: str, amount: int = 1) -> None:
        with self._cond:
            if self._busy.get(name, 0) < amount:
                raise RuntimeError(f"slot {name!r} released more often than acquired")
            self._busy[name] -= amount
            self._cond.notify_all()

    def state(self) -> dict[str, dict[str, int]]:
        """Per slot: its limit, calls holding it now, calls waiting for it (for status lines)."""
        with self._cond:
            return {name: {"limit": limit, "busy": self._busy.get(name, 0), "waiting": self._waiting.get(name, 0)}
                    for name, limit in self._limit.items()}

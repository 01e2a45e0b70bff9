"""What bounds one run, so that one accepted request cannot hold the server (issue 21).

The validator bounds what a workflow may say; these bound what running it may take:

- **work**: before any step runs, its steps × the image's pixels must stay within
  `Executor.work_budget` (default: 12 steps at the working size, 2048×2048; 32 steps, the most
  a workflow may have, up to 1254×1254), else `TooHeavy` (exit 3) at once. Every step of a
  workflow works on an image of about that size, so this is the work it asks for.
- **time**: a run's classical steps share a budget of processing time (`RunClock`,
  `Executor.run_budget`); past it the run fails with `TooHeavy` (exit 3). Model steps are
  bounded by the step time limit and wait for their device (slots.py), so a GPU engine's
  long call does not count against a run's CPU budget.
- **memory held**: an image no later step or the result reads is let go as soon as its last
  reader has run (`Release`); the run keeps a preview for the gallery, and the step cache's
  byte bound decides whether the full image stays. Masks, numbers and text stay: the checks
  after a run (verify.py, the critics) read masks, at 1 byte a pixel.
- **memory in flight**: a run holds its image's pixels in the "working pixels" slot
  (`Executor.pixels_at_once`), so runs on small images go ahead while only two at the working
  size (by default) run at once.
- **memory freed**: a server process calls `return_freed_images` once, so that an image
  buffer freed by any worker thread goes back to the system (glibc).

Figures and how the defaults were chosen: docs/RELIABILITY.md ("Worst requests under load").
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

import numpy as np

from .errors import TooHeavy
from .images import WORKING_MAX_SIDE, to_pil
from .workflow import Ref, Step

DEFAULT_WORK_BUDGET = 12 * WORKING_MAX_SIDE**2  # steps × image pixels one run may ask for
DEFAULT_RUN_BUDGET_S = 20.0  # seconds of classical step time one run may take
PREVIEW_SIDE = 384  # what a run keeps of an image nothing reads any more (the gallery's size)
WORKING_PIXELS = "working pixels"  # the slot runs hold their image's pixels in
DEFAULT_PIXELS_AT_ONCE = 2 * WORKING_MAX_SIDE**2  # two runs at the working size at once
MMAP_THRESHOLD = 1 << 20  # bytes: buffers at least this large get a mapping of their own
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)


def check_work(steps: int, shape: tuple[int, ...], budget: int | None) -> None:
    """Refuse a run whose steps × image pixels exceed `budget` (None: unlimited)."""
    h, w = shape[:2]
    if budget is None or steps * h * w <= budget:
        return
    fits = max(1, budget // (h * w))
    raise TooHeavy(
        f"the workflow is too heavy: {steps} steps on a {w}×{h} image ask for {steps * h * w / 1e6:.0f} megapixels of "
        f"step work; the limit is {budget / 1e6:.0f} ({fits} step{'s' * (fits > 1)} at this size). Use fewer steps or a "
        "smaller image (the operator sets the limit: work_budget in lego.toml)")


def preview(value: Any, side: int = PREVIEW_SIDE) -> Any:
    """An image at most `side` px (read-only); masks, numbers, text and small images as given."""
    if not (isinstance(value, np.ndarray) and value.dtype == np.uint8 and value.ndim == 3) \
            or max(value.shape[:2]) <= side:
        return value
    small = to_pil(value)
    small.thumbnail((side, side))
    out = np.asarray(small)
    out.setflags(write=False)
    return out


class Release:
    """Which step outputs nothing reads after each position in the run order."""

    def __init__(self, order: list[Step], result: list):
        self.last_read: dict[tuple[int, str], int] = {}  # (step, output) → position of its last reader
        for index, step in enumerate(order, 1):
            for _, ref in step.refs():
                if ref.step is not None:
                    self.last_read[(ref.step, ref.name)] = index
        for ref in result:
            if isinstance(ref, Ref) and ref.step is not None:
                self.last_read[(ref.step, ref.name)] = len(order) + 1
        self._after: dict[int, list[tuple[int, str]]] = {}
        for value, index in self.last_read.items():
            self._after.setdefault(index, []).append(value)

    def after(self, index: int, step: int, values: dict) -> None:
        """Once the step at `index` (number `step`) has run: its outputs nobody reads and the
        values it read last become previews (new dicts: the step cache holds the engine's)."""
        unread = [(step, name) for name in values[step] if (step, name) not in self.last_read]
        for number, name in self._after.get(index, []) + unread:
            if name in values.get(number, {}):
                values[number] = {**values[number], name: preview(values[number][name])}


class RunClock:
    """The processing time a run's classical steps have left (`budget` None: unlimited)."""

    def __init__(self, budget: float | None):
        self.budget = budget
        self.spent = 0.0

    def left(self) -> float | None:
        return None if self.budget is None else self.budget - self.spent

    def too_heavy(self, step: Step, brick: str, index: int, total: int, size: str | None) -> TooHeavy:
        at = f" at {size}" if size else ""
        before = f"; the steps before it took {self.spent:.1f} s" if index > 1 and self.spent >= 0.05 else ""
        return TooHeavy(
            f"the workflow is too heavy: step {step.number} ({brick}, {index} of {total}) ran past the run's budget "
            f"of {self.budget:g} s of processing{at}{before}. Use fewer steps or a smaller image (the operator sets "
            "the budget: run_budget in lego.toml, --run-budget)")


def return_freed_images(threshold: int = MMAP_THRESHOLD) -> bool:
    """Make every buffer of `threshold` bytes or more a mapping of its own, returned to the
    system when freed. glibc otherwise raises this threshold to the size of the largest block
    freed so far (up to 32 MB), after which image-sized buffers come from the per-thread arenas
    and stay resident once freed: a server whose worker threads each handled one 2048-px edit
    holds the sum of their peaks (measured: 1.7 GB with one run at the working size at a time,
    0.97 GB with the threshold fixed; docs/RELIABILITY.md). True if set; False where the C
    library has no `mallopt` (not glibc: nothing to do)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, int(threshold)))
    except (OSError, AttributeError, TypeError):
        return False

"""Where model calls run: inside `spaces.GPU` when the Hugging Face `spaces` package is
installed (a no-op outside ZeroGPU), else directly.

ZeroGPU runs a `spaces.GPU` function in a forked worker that holds the GPU for the call's
duration estimate: the function itself is inherited through the fork, its arguments are
pickled. So a model call is `fn(model, *args)` with `fn` a module-level function and `args`
plain data; the worker finds the model in its (forked) copy of the `ModelManager`. Models must
therefore be loaded before the worker forks: on ZeroGPU set `preload = true` in lego.toml
(README, "Deploy on a GPU Space").

`spaces` is imported on first use, and by `import_spaces_first()` at start, before anything
initialises CUDA (ZeroGPU refuses to start otherwise).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Hashable
from typing import Any

DEFAULT_SECONDS = 60


def import_spaces_first() -> Any:
    """The `spaces` module if it is installed (imported now, before torch touches CUDA), else None."""
    try:
        return importlib.import_module("spaces")
    except ImportError:
        return None


def on_zero_gpu() -> bool:
    """True on a ZeroGPU Space (the variable the `spaces` package itself reads)."""
    return os.environ.get("SPACES_ZERO_GPU", "").strip().lower() in ("1", "t", "true")


class GPUSlot:
    """Runs `fn(model, *args)` for a model the manager holds, inside `spaces.GPU(duration=…)`
    when `spaces` is installed. One decorated function per manager (decorating per call would
    grow ZeroGPU's cache of decorated functions without bound)."""

    def __init__(self, held: Callable[[Hashable], Any]):
        self._held = held  # key -> the loaded model, or None
        self._decorated: Callable[..., Any] | None = None

    @property
    def isolated(self) -> bool:
        """Calls run in another process (ZeroGPU): callbacks cannot cross, arguments must pickle."""
        return on_zero_gpu() and import_spaces_first() is not None

    def __call__(self, key: Hashable, fn: Callable[..., Any], args: tuple, seconds: float | None = None) -> Any:
        if self._decorated is None:
            spaces = import_spaces_first()
            self._decorated = self._run if spaces is None else spaces.GPU(duration=_duration)(self._run)
        return self._decorated(key, fn, args, seconds)

    def _run(self, key: Hashable, fn: Callable[..., Any], args: tuple, seconds: float | None) -> Any:
        model = self._held(key)
        if model is None:
            from .errors import CannotDo

            raise CannotDo(f"model {key} is not loaded in this GPU worker; on ZeroGPU set preload = true in "
                           "lego.toml so every configured model loads before the app starts")
        return fn(model, *args)


def _duration(key: Hashable, fn: Callable[..., Any], args: tuple, seconds: float | None) -> int:
    """`spaces.GPU`'s duration callback: gets the same arguments as the call."""
    return int(seconds) if seconds else DEFAULT_SECONDS

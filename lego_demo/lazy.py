"""Modules imported when first used. Brick modules declare their spec when the registry
discovers them; OpenCV, SciPy and scikit-image (~0.5 s together) are imported only when an
engine runs, so `plan`, `validate` and `bricks` start fast.

    cv2 = lazy("cv2")                  # instead of `import cv2`
    ndimage = lazy("scipy.ndimage")    # instead of `from scipy import ndimage`

The first attribute access imports the module (`importlib.import_module`, under Python's
import lock, so two threads never half-load it; the standard library's LazyLoader is not
thread-safe on 3.11), every later access goes straight to it.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    __slots__ = ("_name", "_module")

    def __init__(self, name: str):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_module", None)

    def load(self) -> ModuleType:
        module = self._module
        if module is None:
            module = importlib.import_module(self._name)
            object.__setattr__(self, "_module", module)
        return module

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.load(), attr)

    def __setattr__(self, attr: str, value: Any) -> None:
        raise AttributeError(f"set {attr} on the module {self._name} itself, not on its lazy handle")

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}{' (loaded)' if self._module is not None else ''}>"


def lazy(name: str) -> Any:
    """A handle that imports module `name` on first use (typed Any: use it like the module)."""
    return LazyModule(name)

"""What is done on first use, not at import: modules and cached properties.

**Modules.** Modules imported when first used. Brick modules declare their spec when the registry
discovers them; OpenCV, SciPy and scikit-image (~0.5 s together) are imported only when an
engine runs, so `plan`, `validate` and `bricks` start fast.

    cv2 = lazy("cv2")                  # instead of `import cv2`
    ndimage = lazy("scipy.ndimage")    # instead of `from scipy import ndimage`

The first attribute access imports the module (`importlib.import_module`, under Python's
import lock, so two threads never half-load it; the standard library's LazyLoader is not
thread-safe on 3.11), every later access goes straight to it.

**Properties.** `cached_property` without a lock shared by every instance (the project's one import of it).

Python 3.11's `functools.cached_property` computes under one lock per class attribute, shared
by all instances: while one request's `Facts(image).segments` ran for a second at 2048 px,
every other request's `Facts.segments` — of any image — waited for it (small edits' p95 rose
from 0.18 s to 1.5 s with one 2048-px RES request looping beside them). Python 3.12 dropped
that lock; this is 3.12's behaviour on 3.11: the value is computed, then stored in the
instance's `__dict__`, which shadows the descriptor from then on. Two threads asking the same
instance at once may both compute it (the values are equal; Facts are per step).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
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


if sys.version_info >= (3, 12):
    from functools import cached_property
else:

    class cached_property:  # noqa: N801 - named as functools' own
        def __init__(self, func: Callable[[Any], Any]):
            self.func = func
            self.attrname: str | None = None
            self.__doc__ = func.__doc__
            self.__module__ = func.__module__

        def __set_name__(self, owner: type, name: str) -> None:
            self.attrname = name

        def __get__(self, instance: Any, owner: type | None = None) -> Any:
            if instance is None:
                return self
            value = self.func(instance)
            instance.__dict__[self.attrname] = value
            return value


__all__ = ["cached_property", "lazy"]

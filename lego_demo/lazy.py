"""`cached_property` without a lock shared by every instance (the project's one import of it).

Python 3.11's `functools.cached_property` computes under one lock per class attribute, shared
by all instances: while one request's `Facts(image).segments` ran for a second at 2048 px,
every other request's `Facts.segments` — of any image — waited for it (small edits' p95 rose
from 0.18 s to 1.5 s with one 2048-px RES request looping beside them). Python 3.12 dropped
that lock; this is 3.12's behaviour on 3.11: the value is computed, then stored in the
instance's `__dict__`, which shadows the descriptor from then on. Two threads asking the same
instance at once may both compute it (the values are equal; Facts are per step).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

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

__all__ = ["cached_property"]

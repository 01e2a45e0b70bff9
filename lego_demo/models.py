"""A small, shared model manager: load each model once, on first use, and share it.

Builders and engines ask `manager.get(key, loader)`; the first call runs `loader()` (the
slow part: weights from disk, quantization), later calls with the same key get the same
object. Nothing is loaded at import or construction time. `loaded()` reports what is held,
`free(key)` drops one model and returns its memory.

Kept deliberately small: device choice, CPU offload and LRU freeing belong here later,
behind the same three methods.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class Loaded:
    value: Any
    seconds: float  # time the loader took
    loaded_at: float  # time.time() when it finished


class ModelManager:
    def __init__(self) -> None:
        self._models: dict[Hashable, Loaded] = {}
        self._lock = threading.RLock()  # one load at a time: two threads never load the same model twice

    def get(self, key: Hashable, loader: Callable[[], Any]) -> Any:
        """The model stored under `key`, loading it with `loader()` the first time."""
        with self._lock:
            held = self._models.get(key)
            if held is not None:
                return held.value
            t0 = time.perf_counter()
            value = loader()
            seconds = time.perf_counter() - t0
            self._models[key] = Loaded(value, seconds, time.time())
            log.info("loaded %s in %.2f s", key, seconds)
            return value

    def loaded(self) -> list[dict]:
        """What is held now: key, type and load time of each model."""
        with self._lock:
            return [
                {"key": key, "type": type(held.value).__name__, "seconds": round(held.seconds, 3)}
                for key, held in self._models.items()
            ]

    def __contains__(self, key: Hashable) -> bool:
        return key in self._models

    def free(self, key: Hashable) -> bool:
        """Drop one model; True if it was held. GPU memory is returned when torch is in use."""
        with self._lock:
            held = self._models.pop(key, None)
        if held is None:
            return False
        del held
        gc.collect()
        torch = sys.modules.get("torch")  # only when something already imported it
        if torch is not None and torch.cuda.is_available():
            torch.cuda.empty_cache()
        log.info("freed %s", key)
        return True


_shared: ModelManager | None = None
_shared_lock = threading.Lock()


def shared_manager() -> ModelManager:
    """The process-wide manager that Builders use when they are not given one."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ModelManager()
        return _shared

"""A small, shared model manager: load each model once, on first use, and share it.

Builders and engines ask `manager.get(key, loader)`; the first call runs `loader()` (the
slow part: weights from disk, quantization), later calls with the same key get the same
object. Nothing is loaded at import or construction time (this module imports no torch).
`loaded()` reports what is held and roughly how much memory each holds, `free(key)` drops
one model and returns its memory.

Memory: models are kept in least-recently-used order. When loading or running raises
`torch.cuda.OutOfMemoryError` (or a `MemoryError`), the manager frees least-recently-used
models (never the ones the failing call needs), then retries once; with `max_bytes` set, it
also frees old models before a new one is loaded when the total would go over.

Keys: engines build them with `model_key(kind, model, dtype, quant, ...)`, so two bricks
that use the same model with the same dtype and quantization share one copy.

Device: `pick_device()` is cuda, then mps, then cpu (or what the caller asks for);
`default_dtype(device)` is bf16/fp16 on a GPU and fp32 on CPU.
"""

from __future__ import annotations

import gc
import logging
import re
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class Loaded:
    value: Any
    seconds: float  # time the loader took
    loaded_at: float  # time.time() when it finished
    bytes: int = 0  # parameters' + buffers' bytes, counted once after loading
    device: str = "?"
    last_used: float = 0.0


def model_key(kind: str, model: str, dtype: str | None = None, quant: str | None = None, *extra: Hashable) -> tuple:
    """The sharing key: same kind, model id, dtype and quantization = one loaded copy."""
    return (kind, str(model), str(dtype or "default"), str(quant or "none"), *extra)


def is_oom(exc: BaseException) -> bool:
    """A CUDA/MPS out-of-memory error or a host MemoryError."""
    if isinstance(exc, MemoryError):
        return True
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    # MPS and some CUDA paths raise a plain RuntimeError with this text
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


_ALLOC = re.compile(r"tried to allocate ([\d.]+) ?([kmgt]?i?b)", re.I)
_UNITS = {"b": 1, "kb": 1e3, "kib": 2**10, "mb": 1e6, "mib": 2**20, "gb": 1e9, "gib": 2**30, "tb": 1e12, "tib": 2**40}


def requested_bytes(exc: BaseException) -> int | None:
    """The allocation that failed, when the message says ('Tried to allocate 2.00 GiB')."""
    m = _ALLOC.search(str(exc))
    if not m:
        return None
    return int(float(m.group(1)) * _UNITS.get(m.group(2).lower(), 1))


def modules_of(value: Any) -> list[Any]:
    """The torch modules inside a loaded value: a module, a diffusers pipeline's components,
    or the items of a tuple/list/dict (e.g. (model, processor))."""
    torch = sys.modules.get("torch")
    if torch is None:
        return []
    found: list[Any] = []

    def walk(v: Any, depth: int) -> None:
        if depth > 2 or v is None:
            return
        if isinstance(v, torch.nn.Module):
            found.append(v)
        elif isinstance(v, (tuple, list)):
            for item in v:
                walk(item, depth + 1)
        elif isinstance(v, dict):
            for item in v.values():
                walk(item, depth + 1)
        elif hasattr(v, "components") and isinstance(getattr(v, "components", None), dict):
            walk(v.components, depth + 1)  # a diffusers pipeline

    walk(value, 0)
    return found


def memory_of(value: Any) -> tuple[int, str]:
    """(bytes of the parameters and buffers, the devices they are on), each tensor once."""
    seen: set[int] = set()
    total = 0
    devices: set[str] = set()
    for module in modules_of(value):
        for t in list(module.parameters()) + list(module.buffers()):
            key = id(t)
            if key in seen:
                continue
            seen.add(key)
            total += t.numel() * t.element_size()
            devices.add(t.device.type)
    return total, ",".join(sorted(devices)) or "-"


def pick_device(requested: str | None = None) -> str:
    """cuda if there is one, else mps, else cpu; an explicit request is checked."""
    import torch

    if requested and requested != "auto":
        if requested.startswith("cuda") and not torch.cuda.is_available():
            from .errors import CannotDo

            raise CannotDo(f"device {requested!r} asked for, but no CUDA GPU is available here")
        return requested
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


DTYPES = {"fp32": "float32", "float32": "float32", "fp16": "float16", "float16": "float16",
          "bf16": "bfloat16", "bfloat16": "bfloat16"}


def default_dtype(device: str, requested: str | None = None) -> Any:
    """A torch dtype: the requested one, else bf16 (or fp16) on CUDA, fp16 on MPS, fp32 on CPU."""
    import torch

    if requested and requested != "auto":
        name = DTYPES.get(str(requested).lower())
        if name is None:
            from .errors import BadInput

            raise BadInput(f"unknown dtype {requested!r}; use one of fp32, fp16, bf16")
        return getattr(torch, name)
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.startswith("mps"):
        return torch.float16
    return torch.float32


def free_vram_bytes(device: str = "cuda") -> int | None:
    """Free memory on a CUDA device, or None off CUDA."""
    torch = sys.modules.get("torch")
    if torch is None or not device.startswith("cuda") or not torch.cuda.is_available():
        return None
    try:
        free, _total = torch.cuda.mem_get_info(device if ":" in device else None)
    except Exception:  # CUDA cannot be queried here (ZeroGPU's main process)
        return None
    return int(free)


class ModelManager:
    def __init__(self, max_bytes: int | None = None) -> None:
        from .gpu import GPUSlot

        self._models: OrderedDict[Hashable, Loaded] = OrderedDict()  # least recently used first
        self._lock = threading.RLock()  # one load at a time: two threads never load the same model twice
        self.max_bytes = max_bytes  # optional budget for everything held (parameters' bytes)
        self.events: list[str] = []  # what was freed and why (newest last), for traces and tests
        self.gpu = GPUSlot(self.held)  # where calls run: inside spaces.GPU when installed

    # -- the three original methods -----------------------------------------------------------
    def get(self, key: Hashable, loader: Callable[[], Any]) -> Any:
        """The model stored under `key`, loading it with `loader()` the first time. If the
        load runs out of memory, least-recently-used models are freed and it is retried once."""
        with self._lock:
            held = self._models.get(key)
            if held is not None:
                self._touch(key)
                return held.value
            t0 = time.perf_counter()
            value = self._retry_on_oom(loader, keep=(key,), what=f"loading {key}")
            seconds = time.perf_counter() - t0
            size, device = memory_of(value)
            self._models[key] = Loaded(value, seconds, time.time(), size, device, time.time())
            log.info("loaded %s in %.2f s (%.1f MB on %s)", key, seconds, size / 1e6, device)
            self._fit_budget(keep=(key,))
            return value

    def loaded(self) -> list[dict]:
        """What is held now, least recently used first: key, type, load seconds, bytes
        (parameters and buffers), device."""
        with self._lock:
            return [
                {"key": key, "type": type(held.value).__name__, "seconds": round(held.seconds, 3),
                 "bytes": held.bytes, "device": held.device}
                for key, held in self._models.items()
            ]

    def __contains__(self, key: Hashable) -> bool:
        return key in self._models

    def held(self, key: Hashable) -> Any:
        """The model stored under `key`, or None (never loads)."""
        held = self._models.get(key)
        return None if held is None else held.value

    def free(self, key: Hashable) -> bool:
        """Drop one model; True if it was held. GPU memory is returned when torch is in use."""
        with self._lock:
            held = self._models.pop(key, None)
        if held is None:
            return False
        del held
        _release()
        log.info("freed %s", key)
        return True

    # -- memory -------------------------------------------------------------------------------
    @property
    def total_bytes(self) -> int:
        return sum(h.bytes for h in self._models.values())

    def report(self) -> str:
        """One line per model, for people: '<key>: 1234.5 MB on cuda (<type>)'."""
        rows = [f"{e['key']}: {e['bytes'] / 1e6:.1f} MB on {e['device']} ({e['type']})" for e in self.loaded()]
        return "\n".join(rows) if rows else "no models loaded"

    def free_lru(self, keep: Iterable[Hashable] = (), need: int | None = None) -> list[Hashable]:
        """Free least-recently-used models not in `keep`: until `need` bytes are freed, or just
        the oldest one when `need` is unknown. Returns the keys freed."""
        keep = set(keep)
        freed: list[Hashable] = []
        got = 0
        with self._lock:
            for key in [k for k in self._models if k not in keep]:
                got += self._models[key].bytes
                self.free(key)
                freed.append(key)
                if need is None or got >= need:
                    break
        return freed

    def run(self, fn: Callable[[], Any], keep: Iterable[Hashable] = (), what: str = "running a model") -> Any:
        """Call `fn()`; on out-of-memory free least-recently-used models (not those in `keep`)
        and retry once. Engines wrap their pipeline calls in this."""
        with self._lock:
            for key in keep:
                if key in self._models:
                    self._touch(key)
        return self._retry_on_oom(fn, keep=tuple(keep), what=what)

    def call(self, key: Hashable, fn: Callable[..., Any], *args: Any, what: str = "running a model",
             seconds: float | None = None) -> Any:
        """`fn(model under key, *args)` in the GPU slot (`spaces.GPU` with a duration estimate of
        `seconds` where the spaces package is installed), with `run`'s out-of-memory retry. `fn`
        is a module-level function and `args` plain data, so the call can cross to a ZeroGPU worker."""
        if key not in self._models:
            raise KeyError(f"model {key} is not loaded: get() it first")
        return self.run(lambda: self.gpu(key, fn, args, seconds), keep=(key,), what=what)

    # -- internals ----------------------------------------------------------------------------
    def _touch(self, key: Hashable) -> None:
        self._models.move_to_end(key)
        self._models[key].last_used = time.time()

    def _retry_on_oom(self, fn: Callable[[], Any], keep: tuple, what: str) -> Any:
        try:
            return fn()
        except BaseException as exc:
            if not is_oom(exc):
                raise
            first = exc
        _release()
        freed = self.free_lru(keep=keep, need=requested_bytes(first))
        note = f"out of memory while {what}; freed {freed or 'nothing'} and retried"
        self.events.append(note)
        log.warning(note)
        try:
            return fn()
        except BaseException as exc:
            if not is_oom(exc):
                raise
            from .errors import CannotDo

            held = ", ".join(f"{e['key']} ({e['bytes'] / 1e6:.0f} MB)" for e in self.loaded()) or "nothing"
            raise CannotDo(
                f"out of memory while {what}, even after freeing {len(freed)} model(s) (held now: {held}). "
                "Set quant = \"4bit\" or offload = true for the engine in lego.toml, use a smaller model, "
                "or a smaller image"
            ) from exc

    def _fit_budget(self, keep: tuple) -> None:
        if self.max_bytes is None:
            return
        while self.total_bytes > self.max_bytes:
            freed = self.free_lru(keep=keep)
            if not freed:
                break
            self.events.append(f"over the {self.max_bytes / 1e6:.0f} MB budget: freed {freed}")


def _release() -> None:
    gc.collect()
    torch = sys.modules.get("torch")  # only when something already imported it
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()

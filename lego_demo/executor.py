"""Runs a validated workflow: dependency order, content-addressed cache, progress, trace.

Each step's outputs are cached under a key of (brick, engine, engine version, literal
inputs, keys of upstream values, seed). Upstream keys chain, so a re-plan that keeps the
first steps of a workflow re-uses their outputs and runs only what changed.

A run is bounded (lego_demo/run_limits.py): its classical steps share a budget of processing
time, it holds an image at full size only while a later step or the result reads it, and it
holds its pixels in a slot so that only a few runs at the working size go on at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import (
    BadInput,
    CannotDo,
    InvalidWorkflow,
    LegoError,
    StepCannotDo,
    StepError,
    StepTimeout,
    TooHeavy,
)
from .registry import Registry
from .run_limits import (
    DEFAULT_PIXELS_AT_ONCE,
    DEFAULT_RUN_BUDGET_S,
    DEFAULT_WORK_BUDGET,
    WORKING_PIXELS,
    Release,
    RunClock,
    check_work,
)
from .slots import Slots
from .spec import RunContext
from .stoppable import run_stoppable
from .types import ValueType, conforms, content_key, input_key, nbytes, summarize
from .validate import validate
from .workflow import Ref, Step, Workflow

log = logging.getLogger(__name__)

DEFAULT_CACHE_BYTES = 256 * 2**20  # a re-plan needs the last few edits only (benchmarks/step_cache_rss.py)
DEFAULT_STEP_TIMEOUT_S = 300.0
MAX_VALUE_PIXELS = 64_000_000  # no step may produce a larger image or mask


class StepCache:
    """Step outputs by key, least-recently-used first out, bounded by bytes. Thread-safe."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES):
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, tuple[dict[str, Any], int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: str, outputs: dict[str, Any]) -> None:
        size = sum(nbytes(v) for v in outputs.values())
        if size > self.max_bytes:
            return
        with self._lock:
            if key in self._items:
                self._bytes -= self._items.pop(key)[1]
            self._items[key] = (outputs, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


@dataclass
class StepEvent:
    """What a progress callback receives: status is running, done, cached or failed."""

    step: int
    brick: str
    engine: str
    status: str
    index: int
    total: int
    seconds: float = 0.0
    error: str | None = None


@dataclass
class StepTrace:
    step: int
    brick: str
    engine: str
    engine_kind: str
    engine_version: str
    seconds: float
    cache_hit: bool
    key: str
    inputs: dict[str, Any]
    outputs: dict[str, dict]
    where: str = "here"  # "here", or where a placed engine ran (Registry.placements)

    def to_json(self) -> dict:
        return dict(vars(self))


@dataclass
class RunResult:
    workflow: Workflow
    results: list[Any]  # one value per `result` entry, in order
    # every step's outputs, for galleries and checks: scalars, masks and the results at full size;
    # an image no later step or the result needed, as a preview of at most PREVIEW_SIDE px
    values: dict[int, dict[str, Any]]
    trace: list[StepTrace] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    seconds: float = 0.0
    caveats: list[str] = field(default_factory=list)  # what the result could not confirm ("target not verified")
    input_key: str = ""  # the content key of the image (+ mask) it ran on: types.input_key

    def first_image(self) -> np.ndarray | None:
        """What a person sees as "the result": the first image result, else the first mask
        drawn white on black (e.g. "select the cat"), else None."""
        for value in self.results:
            if isinstance(value, np.ndarray) and value.dtype == np.uint8:
                return value
        for value in self.results:
            if isinstance(value, np.ndarray):
                return np.where(value, 255, 0).astype(np.uint8)
        return None

    @property
    def executed(self) -> list[int]:
        return [t.step for t in self.trace if not t.cache_hit]

    @property
    def cached(self) -> list[int]:
        return [t.step for t in self.trace if t.cache_hit]

    def status(self) -> dict[int, str]:
        """Each step's run state for the graph: "cached" or "done"."""
        return {t.step: "cached" if t.cache_hit else "done" for t in self.trace}

    def trace_json(self) -> dict:
        return {
            "seconds": round(self.seconds, 4),
            "input": self.input_key,
            "executed": self.executed,
            "cached": self.cached,
            "repairs": self.repairs,
            "caveats": self.caveats,
            "steps": [t.to_json() for t in self.trace],
        }


def run_order(workflow: Workflow) -> list[Step]:
    """Steps in dependency order (ties keep the listed order): of the steps whose inputs are
    ready, the first listed runs next. The workflow is validated, so there is no cycle."""
    waiting = {s.number: {ref.step for _, ref in s.refs() if ref.step is not None and ref.step != s.number}
               for s in workflow.steps}
    order: list[Step] = []
    done: set[int] = set()
    while len(order) < len(workflow.steps):
        step = next(s for s in workflow.steps if s.number not in done and waiting[s.number] <= done)
        order.append(step)
        done.add(step.number)
    return order


def _frozen(value: Any) -> Any:
    """Values are shared by later steps and the cache: make arrays read-only so an engine
    that edits its input in place fails loudly instead of corrupting cached results."""
    if isinstance(value, np.ndarray) and value.flags.writeable:
        value = value.view()  # the caller's own array stays writable
        value.setflags(write=False)
    return value


def _literal_json(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, type(None))) else repr(value)


class Executor:
    def __init__(self, registry: Registry, cache: StepCache | None = None, seed: int = 0, models: Any = None,
                 step_timeout: float | None = DEFAULT_STEP_TIMEOUT_S, max_pixels: int = MAX_VALUE_PIXELS,
                 slots: Slots | None = None, run_budget: float | None = DEFAULT_RUN_BUDGET_S,
                 work_budget: int | None = DEFAULT_WORK_BUDGET, pixels_at_once: int = DEFAULT_PIXELS_AT_ONCE):
        self.registry = registry
        self.cache = cache if cache is not None else StepCache()
        self.seed = seed
        if models is None:  # the one model cache of whoever runs this Executor (detectors, model engines)
            from .models import ModelManager

            models = ModelManager()
        self.models = models
        self.step_timeout = step_timeout
        self.max_pixels = max_pixels
        self.slots = slots if slots is not None else Slots()  # concurrency limits per device / server
        self.run_budget = run_budget  # seconds of classical step time per run (None: unlimited)
        self.work_budget = work_budget  # steps × image pixels per run (None: unlimited)
        self.pixels_at_once = pixels_at_once  # image pixels of the runs going on at once (run_limits.py)
        self.in_flight = Slots()  # holds those pixels

    def check_engines(self, workflow: Workflow) -> None:
        """Before running: every step's brick must have an engine that can run here."""
        for step in workflow.steps:
            spec = self.registry.get(step.brick)
            try:
                self.registry.choose_engine(spec, step.engine)
            except CannotDo as exc:
                raise CannotDo(
                    f"step {step.number} ({spec.name}) cannot run here: {exc}. Configure a model "
                    f"engine for {spec.name} (docs/MODELS.md) or re-plan without it."
                ) from None

    def run(
        self,
        workflow: Workflow,
        image: np.ndarray,
        mask: np.ndarray | None = None,
        on_progress: Callable[[StepEvent], None] | None = None,
        banned: tuple[str, ...] = (),
    ) -> RunResult:
        init_values: dict[str, ValueType] = {"image": ValueType.IMAGE}
        if mask is not None:
            init_values["mask"] = ValueType.MASK
        checked = validate(workflow, self.registry, banned=banned, init_values=init_values)
        if not checked.ok:
            if mask is None and any(p.code == "missing_value" and p.message.startswith("init[mask]") for p in checked.problems):
                raise BadInput("the workflow uses init[mask], but no mask was given (draw one or pass --mask)")
            raise InvalidWorkflow(checked.problems)
        wf = checked.workflow
        self.check_engines(wf)
        if not conforms(ValueType.IMAGE, image):
            raise BadInput("the input image must be an RGB or RGBA uint8 array")
        if mask is not None and (not conforms(ValueType.MASK, mask) or mask.shape != image.shape[:2]):
            raise BadInput(
                f"the mask must be a {image.shape[1]}×{image.shape[0]} mask matching the image"
            )
        check_work(len(wf.steps), image.shape, self.work_budget)

        needed: dict[int, set[str]] = {}
        for s in wf.steps:
            for _, ref in s.refs():
                if ref.step is not None:
                    needed.setdefault(ref.step, set()).add(ref.name)
        for ref in wf.result:
            if isinstance(ref, Ref) and ref.step is not None:
                needed.setdefault(ref.step, set()).add(ref.name)

        image = _frozen(image)
        mask = _frozen(mask) if mask is not None else None
        values: dict[int | None, dict[str, Any]] = {None: {"image": image}}
        keys: dict[int | None, dict[str, str]] = {None: {"image": content_key(image)}}
        if mask is not None:
            values[None]["mask"] = mask
            keys[None]["mask"] = content_key(mask)
        order = run_order(wf)
        release = Release(order, wf.result)
        trace: list[StepTrace] = []
        clock = RunClock(self.run_budget)
        pixels = int(image.shape[0] * image.shape[1])
        self.in_flight.acquire(WORKING_PIXELS, self.pixels_at_once, pixels)
        started = time.perf_counter()
        try:
            for index, step in enumerate(order, 1):
                trace.append(self._run_step(step, index, len(order), values, keys, needed, on_progress, clock))
                release.after(index, step.number, values)
        finally:
            self.in_flight.release(WORKING_PIXELS, pixels)
        results = [values[r.step][r.name] for r in wf.result if isinstance(r, Ref)]
        return RunResult(
            workflow=wf,
            results=results,
            values={k: v for k, v in values.items() if k is not None},
            trace=trace,
            repairs=checked.repairs,
            seconds=time.perf_counter() - started,
            input_key=input_key(keys[None]["image"], keys[None].get("mask")),
        )

    def run_brick(self, brick: str, image: np.ndarray, inputs: Mapping[str, Any],
                  outputs: tuple[str, ...] | None = None) -> dict[str, Any]:
        """One brick on one image, as a one-step workflow: the same validation, engine choice,
        engine options, model manager and cache as any step (critics re-run finders with it).
        `inputs`: the brick's other inputs, as literals (its input `image` gets the image);
        `outputs`: the ones wanted (default: all)."""
        spec = self.registry.get(brick)
        wanted = [Ref(1, name) for name in (outputs or spec.outputs)]
        step = Step(1, spec.name, {"image": Ref(None, "image"), **inputs}, {r.name: r for r in wanted})
        return self.run(Workflow(f"{spec.name} (check)", [step], wanted), image).values[1]

    def _run_step(self, step, index, total, values, keys, needed, on_progress, clock: RunClock) -> StepTrace:
        spec = self.registry.get(step.brick)
        engine = self.registry.choose_engine(spec, step.engine)  # the cache key names it
        args: dict[str, Any] = {}
        key_parts: dict[str, Any] = {}
        for name, value in step.inputs.items():
            if isinstance(value, Ref):
                args[name] = values[value.step][value.name]
                key_parts[name] = {"ref": keys[value.step][value.name]}
            else:
                args[name] = value
                key_parts[name] = {"literal": _literal_json(value)}
        options = self.registry.options_for(spec)
        key_source = json.dumps(
            [spec.name, engine.name, engine.version, key_parts, self.seed, sorted(options.items(), key=str)],
            sort_keys=True,
            default=str,
        )
        key = hashlib.sha256(key_source.encode()).hexdigest()[:32]

        def emit(status: str, seconds: float = 0.0, error: str | None = None) -> None:
            if on_progress is not None:
                on_progress(StepEvent(step.number, spec.name, engine.name, status, index, total, seconds, error))

        produced = spec.outputs_for(step.given())
        wanted = frozenset(needed.get(step.number, set()))
        outputs = self.cache.get(key)
        if outputs is not None and not (wanted & produced) <= outputs.keys():
            outputs = None  # cached when fewer of its outputs were needed (RES without its cut-out)
        hit = outputs is not None
        t0 = time.perf_counter()
        if not hit:
            emit("running")
            ctx = RunContext(step=step.number, seed=self.seed, needed=wanted, options=options, models=self.models)
            # a classical step's limit is the run's budget left, when that is shorter than the step limit
            left = clock.left() if engine.kind == "classical" and engine.where == "here" else None
            by_budget = left is not None and (self.step_timeout is None or left < self.step_timeout)
            try:
                try:
                    if by_budget and left <= 0:
                        raise StepTimeout(0, "was not started")
                    outputs = self._call(engine, ctx, args, left if by_budget else self.step_timeout)
                except StepTimeout:
                    if not by_budget:
                        raise
                    size = next((f"{v.shape[1]}×{v.shape[0]}" for v in args.values() if isinstance(v, np.ndarray)), None)
                    raise clock.too_heavy(step, spec.name, index, total, size) from None
                finally:
                    if left is not None:
                        clock.spent += time.perf_counter() - t0
                outputs = self._check_outputs(spec, engine.name, outputs, produced, wanted, self.max_pixels)
            except TooHeavy as exc:  # the run's failure, not the step's: not wrapped in a StepError
                emit("failed", time.perf_counter() - t0, str(exc))
                raise
            except Exception as exc:
                emit("failed", time.perf_counter() - t0, str(exc))
                if not isinstance(exc, LegoError):  # a bug, not a refusal: keep its traceback
                    log.error("step %d (%s, engine %s) raised", step.number, spec.name, engine.name, exc_info=exc)
                error = StepCannotDo if isinstance(exc, CannotDo) else StepError
                raise error(step.number, spec.name, engine.name, exc) from exc
            self.cache.put(key, outputs)
        seconds = time.perf_counter() - t0
        emit("cached" if hit else "done", seconds)
        values[step.number] = outputs
        keys[step.number] = {name: f"{key}:{name}" for name in outputs}
        return StepTrace(
            step=step.number,
            brick=spec.name,
            engine=engine.name,
            engine_kind=engine.kind,
            engine_version=engine.version,
            seconds=round(seconds, 4),
            cache_hit=hit,
            key=key,
            inputs={k: str(v) if isinstance(v, Ref) else _literal_json(v) for k, v in step.inputs.items()},
            outputs={k: summarize(v) for k, v in outputs.items()},
            where=engine.where,
        )

    def _call(self, engine, ctx: RunContext, args: dict[str, Any], limit: float | None) -> Any:
        """Run an engine in its concurrency slot (see `slots`), under its time limit (the wait
        for the slot does not count); one that overruns is stopped (stoppable.py) and keeps its
        slot until its thread really ends."""
        slot = self.slots.slot_for(engine, ctx.options)
        if slot is not None:
            self.slots.acquire(*slot)
        release = (lambda: self.slots.release(slot[0])) if slot is not None else None
        return run_stoppable(lambda: engine.run(ctx, **args), limit, f"lego-step{ctx.step}",
                             on_end=release)

    @staticmethod
    def _check_outputs(spec, engine_name, outputs, produced, wanted, max_pixels) -> dict[str, Any]:
        """An engine must return what later steps use, each value of its declared type."""
        if not isinstance(outputs, Mapping):
            raise LegoError(f"engine {engine_name} returned {type(outputs).__name__}, not a dict of outputs")
        clean = {}
        for name, value in outputs.items():
            if value is None:
                continue
            vtype = spec.outputs.get(name)
            if vtype is None:
                raise LegoError(f"engine {engine_name} returned an undeclared output {name!r}")
            if not conforms(vtype, value):
                raise LegoError(f"engine {engine_name} returned output {name!r} that is not a valid {vtype.value}")
            if isinstance(value, np.ndarray) and value.shape[0] * value.shape[1] > max_pixels:
                raise LegoError(f"output {name!r} is {value.shape[1]}×{value.shape[0]}, over the limit of "
                                f"{max_pixels / 1e6:.0f} MP for intermediate values")
            clean[name] = float(value) if vtype is ValueType.FLOAT else _frozen(value)
        missing = sorted((wanted & produced) - set(clean))
        if missing:
            raise LegoError(f"engine {engine_name} did not return {', '.join(missing)}")
        return clean

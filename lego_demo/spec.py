"""How a brick is declared: a typed spec, checked when its module loads, plus its engines.

A brick module declares one spec and decorates one function per engine:

    INVERSE = brick("INVERSE", kind="predict", summary="...",
                    inputs={"mask1": Input("Mask", optional=True), ...},
                    outputs={"mask": "Mask", "image": "Image"},
                    constraint="...")

    @INVERSE.engine("numpy")
    def inverse(ctx, mask1, mask2, image1, image2):
        return {"mask": ...}

Everything else (registry, validator, Builder prompt, CLI and UI listings) reads the spec.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import SpecError
from .types import ValueType

NAME_RE = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$")
KINDS = ("predict", "edit")
MAX_STR_CHARS = 1000  # a prompt; no Str input may be longer
ENGINE_KINDS = ("classical", "model")


@dataclass(frozen=True)
class Input:
    """One typed input of a brick. Optional inputs may be null (`None`).

    A Float input declares the closed `range` its engines accept and, where one exists, the
    `neutral` value that leaves the image unchanged (BRIGHT's ratio 0.5): the validator and the
    Builders read these, never numbers written in the constraint prose. `strength=True` marks
    the input that says how strong the brick's effect is (its `neutral` is where the effect
    vanishes, further from it = stronger), so
    feedback such as "stronger" moves it for any brick; `default` is what null means (a number,
    or a function of the image's (width, height) when it depends on the size). A Str input is at
    most `max_chars` long (default MAX_STR_CHARS): engines' cost grows with the text."""

    type: ValueType
    optional: bool = False
    doc: str = ""
    range: tuple[float, float] | None = None
    neutral: float | None = None
    default: float | Callable[[int, int], float] | None = None
    strength: bool = False
    max_chars: int | None = None

    def __init__(self, type: ValueType | str, optional: bool = False, doc: str = "",
                 range: tuple[float, float] | None = None, neutral: float | None = None,
                 default: float | Callable[[int, int], float] | None = None, strength: bool = False,
                 max_chars: int | None = None):
        vtype = ValueType.parse(type)
        if max_chars is not None and (vtype is not ValueType.STR or not 0 < max_chars <= MAX_STR_CHARS):
            raise SpecError(f"max_chars is for Str inputs, from 1 to {MAX_STR_CHARS}")
        if (range is not None or neutral is not None or default is not None or strength) and vtype is not ValueType.FLOAT:
            raise SpecError(f"range/neutral/default/strength are for Float inputs, not {vtype.value}")
        if strength and neutral is None:
            raise SpecError("a strength input needs the neutral value (the strength that changes nothing)")
        if default is not None and not callable(default):
            default = float(default)
            if range is not None and not float(range[0]) <= default <= float(range[1]):
                raise SpecError(f"default {default} lies outside range {range}")
        if range is not None:
            lo, hi = (float(v) for v in range)
            if not lo < hi:
                raise SpecError(f"range {range!r} must be (low, high) with low < high")
            range = (lo, hi)
        if neutral is not None:
            neutral = float(neutral)
            if range is not None and not range[0] <= neutral <= range[1]:
                raise SpecError(f"neutral {neutral} lies outside range {range}")
        object.__setattr__(self, "type", vtype)
        object.__setattr__(self, "optional", optional)
        object.__setattr__(self, "doc", doc)
        object.__setattr__(self, "range", range)
        object.__setattr__(self, "neutral", neutral)
        object.__setattr__(self, "default", default)
        object.__setattr__(self, "strength", bool(strength))
        object.__setattr__(self, "max_chars", max_chars)

    def default_for(self, width: int, height: int) -> float | None:
        """What null means for an image of this size."""
        return float(self.default(width, height)) if callable(self.default) else self.default


@dataclass
class RunContext:
    """What an engine gets besides its inputs."""

    step: int
    seed: int = 0
    needed: frozenset[str] = frozenset()  # outputs that later steps or the result use
    options: Mapping[str, Any] = field(default_factory=dict)  # engine options from config
    models: Any = None  # the shared model manager, for model engines

    def rng(self) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.step])

    def wants(self, output: str) -> bool:
        """Whether to build this output: a later step or the result uses it (an engine called
        directly, with no `needed`, builds everything)."""
        return not self.needed or output in self.needed


@dataclass
class Engine:
    """One way to run a brick. `check` returns why it cannot run here, or None. `slot` names
    the shared resource a call holds and how many calls may hold it at once, e.g.
    ("images http://gpu-box:8000/v1", 2); None = the Executor's default (model engines: one
    call per device, classical: none). See `lego_demo.slots`."""

    name: str
    kind: str
    run: Callable[..., dict]
    version: str = "1"
    check: Callable[[Mapping[str, Any]], str | None] | None = None
    slot: Callable[[Mapping[str, Any]], tuple[str, int] | None] | None = None
    where: str = "here"  # where it runs: "here", or a placement such as "ray lego-FILL-diffusers-inpaint"

    def unavailable_reason(self, options: Mapping[str, Any] | None = None) -> str | None:
        if self.check is None:
            return None
        try:
            return self.check(options or {})
        except Exception as exc:  # a broken check must not take the registry down
            return f"availability check failed: {exc}"


@dataclass
class BrickSpec:
    name: str
    kind: str
    summary: str
    inputs: dict[str, Input]
    outputs: dict[str, ValueType]
    constraint: str = "None"
    aliases: tuple[str, ...] = ()
    # one legacy input name standing for several (the release writes CMI-PRED `ratio`)
    input_aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # cross-field rules: given the names of non-null inputs, the problems (empty = fine)
    rules: Callable[[frozenset[str]], list[str]] | None = None
    # which outputs a step produces given its non-null inputs (default: all)
    produces: Callable[[frozenset[str]], frozenset[str]] | None = None
    # plain-English phrases of what the brick is for ("remove reflections"): Builders match
    # them, so a plugin brick is planned without Builder code changes
    use_for: tuple[str, ...] = ()
    # the mask marks what the brick keeps exactly and it edits everything else (COLORPOP): the
    # critic judges the area outside the mask as the edited one
    keeps_mask: bool = False
    engines: list[Engine] = field(default_factory=list)

    def engine(
        self,
        name: str,
        kind: str = "classical",
        version: str = "1",
        check: Callable[[Mapping[str, Any]], str | None] | None = None,
        slot: Callable[[Mapping[str, Any]], tuple[str, int] | None] | None = None,
    ) -> Callable[[Callable[..., dict]], Callable[..., dict]]:
        """Decorator adding an engine; engines are tried in declaration order."""
        if kind not in ENGINE_KINDS:
            raise SpecError(f"brick {self.name}: engine {name!r} has kind {kind!r}; use one of {ENGINE_KINDS}")
        if any(e.name == name for e in self.engines):
            raise SpecError(f"brick {self.name}: engine {name!r} is declared twice")

        def register(fn: Callable[..., dict]) -> Callable[..., dict]:
            self.engines.append(Engine(name=name, kind=kind, run=fn, version=version, check=check, slot=slot))
            return fn

        return register

    def required_inputs(self) -> list[str]:
        return [n for n, p in self.inputs.items() if not p.optional]

    def outputs_for(self, given: Iterable[str]) -> frozenset[str]:
        given = frozenset(given)
        if self.produces is None:
            return frozenset(self.outputs)
        return self.produces(given)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "summary": self.summary,
            "inputs": {n: _input_json(p) for n, p in self.inputs.items()},
            "outputs": {n: t.value for n, t in self.outputs.items()},
            "constraint": self.constraint,
            "aliases": list(self.aliases),
            "use_for": list(self.use_for),
        }


def _input_json(p: Input) -> dict:
    out: dict[str, Any] = {"type": p.type.value, "optional": p.optional}
    if p.range is not None:
        out["range"] = list(p.range)
    if p.neutral is not None:
        out["neutral"] = p.neutral
    if p.default is not None:
        out["default"] = "depends on the image size" if callable(p.default) else p.default
    if p.strength:
        out["strength"] = True
    if p.type is ValueType.STR:
        out["max_chars"] = p.max_chars or MAX_STR_CHARS
    return out


def brick(
    name: str,
    *,
    kind: str,
    summary: str,
    inputs: Mapping[str, Input | ValueType | str],
    outputs: Mapping[str, ValueType | str],
    constraint: str = "None",
    aliases: Iterable[str] = (),
    input_aliases: Mapping[str, Iterable[str]] | None = None,
    rules: Callable[[frozenset[str]], list[str]] | None = None,
    produces: Callable[[frozenset[str]], frozenset[str]] | None = None,
    use_for: Iterable[str] = (),
    keeps_mask: bool = False,
) -> BrickSpec:
    """Declare a brick; every mistake fails here, naming the brick."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise SpecError(f"brick name {name!r} must be UPPER-KEBAB-CASE, like 'ADD-PRED'")
    if kind not in KINDS:
        raise SpecError(f"brick {name}: kind {kind!r} must be one of {KINDS}")
    if not summary or not summary.strip():
        raise SpecError(f"brick {name}: a one-line summary is required")
    if not outputs:
        raise SpecError(f"brick {name}: declares no outputs")
    try:
        typed_inputs = {
            k: v if isinstance(v, Input) else Input(v) for k, v in inputs.items()
        }
        typed_outputs = {k: ValueType.parse(v) for k, v in outputs.items()}
    except ValueError as exc:
        raise SpecError(f"brick {name}: {exc}") from None
    for alias in aliases:
        if not NAME_RE.match(alias):
            raise SpecError(f"brick {name}: alias {alias!r} must be UPPER-KEBAB-CASE")
    phrases = tuple(use_for)
    if isinstance(use_for, str) or not all(isinstance(u, str) and u.strip() for u in phrases):
        raise SpecError(f"brick {name}: use_for must be a list of non-empty phrases, like (\"remove reflections\",)")
    fanned = {k: tuple(v) for k, v in (input_aliases or {}).items()}
    for legacy, targets in fanned.items():
        missing = [t for t in targets if t not in typed_inputs]
        if missing:
            raise SpecError(f"brick {name}: input alias {legacy!r} points at unknown inputs {missing}")
    return BrickSpec(
        name=name,
        kind=kind,
        summary=summary.strip(),
        inputs=typed_inputs,
        outputs=typed_outputs,
        constraint=constraint.strip() or "None",
        aliases=tuple(aliases),
        input_aliases=fanned,
        rules=rules,
        produces=produces,
        use_for=tuple(u.strip() for u in phrases),
        keeps_mask=bool(keeps_mask),
    )


def one_kind_per_step(
    masks: tuple[str, ...],
    images: tuple[str, ...],
    need_masks: tuple[str, ...] | None = None,
    need_images: tuple[str, ...] | None = None,
):
    """Rules + produces for bricks that take either masks or images, never both
    (INVERSE, COMPOSE, RESIZE in the official set). `need_*` default to the whole group."""
    need_masks = masks if need_masks is None else need_masks
    need_images = images if need_images is None else need_images

    def rules(given: frozenset[str]) -> list[str]:
        m = [n for n in masks if n in given]
        i = [n for n in images if n in given]
        if m and i:
            return [f"give masks ({', '.join(masks)}) or images ({', '.join(images)}), not both"]
        if not m and not i:
            return [f"give masks ({', '.join(masks)}) or images ({', '.join(images)})"]
        need = need_masks if m else need_images
        missing = [n for n in need if n not in given]
        return [f"{', '.join(missing)} must be given too"] if missing else []

    def produces(given: frozenset[str]) -> frozenset[str]:
        if any(n in given for n in masks):
            return frozenset({"mask"})
        if any(n in given for n in images):
            return frozenset({"image"})
        return frozenset({"mask", "image"})

    return rules, produces

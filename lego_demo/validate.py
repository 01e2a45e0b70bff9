"""Strict, typed validation of a workflow against the registry.

Every problem names its step, brick and field, with one line a person can act on; the
Builder gets the same lines back when it retries. What is unambiguous is repaired (an output
key that does not match its reference, a number written as text, the release's `ratio`
shorthand) and each repair is reported.

Validation is linear in the workflow's size and stops at once when it has too many steps;
literals are bounded here (Str lengths, Float ranges declared by each brick, finite numbers),
so no engine ever sees a 100,000-character prompt or an amount of 1e308.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

import networkx as nx

from .registry import Registry
from .spec import MAX_STR_CHARS, BrickSpec, Input
from .types import ValueType
from .workflow import Ref, Step, Workflow

MAX_STEPS = 32
MAX_RESULTS = 8
INIT_VALUES = {"image": ValueType.IMAGE, "mask": ValueType.MASK}
RESULT_TYPES = (ValueType.IMAGE, ValueType.MASK)


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    step: int | None = None
    brick: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = []
        if self.step is not None:
            where.append(f"step {self.step}" + (f" ({self.brick})" if self.brick else ""))
        if self.field:
            where.append(self.field)
        return (" ".join(where) + ": " if where else "") + self.message

    def to_json(self) -> dict:
        return {**asdict(self), "text": str(self)}


@dataclass
class Validation:
    workflow: Workflow  # the repaired copy
    repairs: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def validate(
    workflow: Workflow,
    registry: Registry,
    banned: Iterable[str] = (),
    required: Iterable[str] = (),
    init_values: Mapping[str, ValueType] = INIT_VALUES,
    max_steps: int = MAX_STEPS,
) -> Validation:
    if len(workflow.steps) > max_steps:  # nothing else is worth checking (or costs time)
        return Validation(workflow.copy(), problems=[Problem(
            "too_many_steps", f"the workflow has {len(workflow.steps)} steps; the limit is {max_steps}")])
    wf = workflow.copy()
    check = _Checker(wf, registry, init_values)
    if not wf.steps:
        check.problem("empty", "the workflow has no steps")
    check.numbers()
    for step in wf.steps:
        check.step(step)
    check.outputs()
    for step in wf.steps:
        check.references(step)
    check.order()
    check.result()
    check.unused()
    check.bans(banned, required)
    return Validation(wf, check.repairs, check.problems)


class _Checker:
    def __init__(self, wf: Workflow, registry: Registry, init_values: Mapping[str, ValueType]):
        self.wf, self.registry, self.init_values = wf, registry, init_values
        self.specs: dict[int, BrickSpec] = {}
        self.by_number: dict[int, Step] = {}  # the first step of each number, as Workflow.step finds it
        for step in wf.steps:
            self.by_number.setdefault(step.number, step)
        self.repairs: list[str] = []
        self.problems: list[Problem] = []

    def problem(self, code: str, message: str, step: Step | None = None, field: str | None = None):
        self.problems.append(
            Problem(code, message, step.number if step else None, step.brick if step else None, field)
        )

    # -- per step ---------------------------------------------------------------------------
    def numbers(self) -> None:
        seen: set[int] = set()
        for step in self.wf.steps:
            if step.number in seen:
                self.problem("duplicate_step", f"step number {step.number} is used twice", step)
            seen.add(step.number)

    def step(self, step: Step) -> None:
        spec = self.registry.resolve(step.brick)
        if spec is None:
            hint = self.registry.suggest(step.brick) if len(step.brick) <= 64 else []
            self.problem(
                "unknown_brick",
                f"unknown brick {step.brick!r:.60}" + (f" (did you mean {', '.join(hint)}?)" if hint else ""),
                step,
            )
            return
        step.brick = spec.name
        self.specs[step.number] = spec
        if step.engine is not None and not any(e.name == step.engine for e in spec.engines):
            known = ", ".join(e.name for e in spec.engines) or "none"
            self.problem("unknown_engine", f"{spec.name} has no engine {step.engine!r} (engines: {known})", step, "engine")
        for legacy, targets in spec.input_aliases.items():
            if legacy in step.inputs and not any(t in step.inputs for t in targets):
                value = step.inputs.pop(legacy)
                for t in targets:
                    step.inputs[t] = value
                self.repairs.append(f"step {step.number} ({spec.name}): '{legacy}' given as {', '.join(targets)}")
        for name in list(step.inputs):
            if name not in spec.inputs:
                close = difflib.get_close_matches(name, list(spec.inputs), n=1) if len(name) <= 64 else []
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.problem(
                    "unknown_input",
                    f"{spec.name} has no input {name!r:.60}{hint}; its inputs are {', '.join(spec.inputs)}",
                    step,
                    name[:60],
                )
        for name, port in spec.inputs.items():
            value = step.inputs.get(name)
            if name not in step.inputs:
                step.inputs[name] = None
            if value is None:
                if not port.optional:
                    self.problem("missing_input", f"required {port.type.value} input is missing", step, name)
                continue
            if isinstance(value, Ref):
                continue  # typed once every step is known
            step.inputs[name] = self.literal(step, name, port, value)
        if spec.rules is not None:
            for text in spec.rules(step.given()):
                self.problem("rule", text, step)

    def literal(self, step: Step, name: str, port: Input, value):
        vtype = port.type
        if vtype is ValueType.FLOAT:
            return self.number(step, name, port, value)
        if vtype is ValueType.STR:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                if not math.isfinite(_as_float(value)) or abs(value) >= 1e15:
                    self.problem("wrong_type", f"expects a Str, got the number {value!r:.40}", step, name)
                    return value
                self.repairs.append(f"step {step.number} ({step.brick}) {name}: number {value} read as text")
                return str(value)
            limit = port.max_chars or MAX_STR_CHARS
            if not isinstance(value, str):
                self.problem("wrong_type", f"expects a Str, got {value!r:.40}", step, name)
            elif not value.strip():
                self.problem("missing_input", "the text is empty", step, name)
            elif len(value) > limit:
                self.problem("too_long", f"the text is {len(value):,} characters; the limit is {limit:,}", step, name)
            return value
        self.problem(
            "wrong_type",
            f"expects a {vtype.value} reference such as init[{vtype.value.lower()}] or stepN[{vtype.value.lower()}], "
            f"got {value!r:.40} (workflows cannot name files)",
            step,
            name,
        )
        return value

    def number(self, step: Step, name: str, port: Input, value):
        """A Float literal: a finite number (text such as "0.5" is read as one) inside the
        range the brick declares for this input."""
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            self.problem("wrong_type", f"expects a Float, got {value!r:.40}", step, name)
            return value
        number = _as_float(value)
        if number is None:
            self.problem("wrong_type", f"expects a Float, got the text {value!r:.40}", step, name)
            return value
        if not math.isfinite(number):
            self.problem("out_of_range", f"expects a finite number, got {value!r:.40}", step, name)
            return value
        if port.range is not None and not port.range[0] <= number <= port.range[1]:
            lo, hi = port.range
            neutral = f"; {port.neutral:g} changes nothing" if port.neutral is not None else ""
            self.problem("out_of_range", f"must be from {lo:g} to {hi:g}{neutral}, got {number:g}", step, name)
            return value
        if isinstance(value, str):
            self.repairs.append(f"step {step.number} ({step.brick}) {name}: text {value!r} read as {number}")
        return number

    def outputs(self) -> None:
        for step in self.wf.steps:
            spec = self.specs.get(step.number)
            if spec is None:
                continue
            fixed: dict[str, Ref | None] = {}
            for key, ref in step.outputs.items():
                if ref is None:
                    if key in spec.outputs:
                        fixed[key] = None
                    continue
                if not isinstance(ref, Ref):
                    self.problem("bad_output", f"output {key!r:.40} must be a reference such as step{step.number}[{key:.40}] "
                                 f"(or null), got {ref!r:.40}", step, key[:40])
                    continue
                if ref.step != step.number:
                    self.repairs.append(f"step {step.number} ({spec.name}) output {key}: {ref} renamed step{step.number}[{ref.name}]")
                    ref = Ref(step.number, ref.name)
                if key != ref.name:
                    if ref.name in spec.outputs:
                        self.repairs.append(f"step {step.number} ({spec.name}): output key '{key}' renamed '{ref.name}' to match {ref}")
                        key = ref.name
                    elif key in spec.outputs:
                        self.repairs.append(f"step {step.number} ({spec.name}): output {ref} renamed step{step.number}[{key}] to match its key")
                        ref = Ref(step.number, key)
                if key not in spec.outputs:
                    self.problem("unknown_output", f"{spec.name} has no output {key!r}; its outputs are {', '.join(spec.outputs)}", step, key)
                    continue
                fixed[key] = ref
            step.outputs = fixed

    # -- references -------------------------------------------------------------------------
    def ref_type(self, ref: Ref, user: Step | None, field: str) -> ValueType | None:
        """The type a reference points at, or None after reporting why it points nowhere."""
        if ref.step is None:
            vtype = self.init_values.get(ref.name)
            if vtype is None:
                known = ", ".join(f"init[{n}]" for n in self.init_values) or "none"
                self.problem("missing_value", f"{ref} is not an initial input (available: {known})", user, field)
            return vtype
        source = self.by_number.get(ref.step)
        if source is None:
            self.problem("missing_step", f"{ref} refers to step {ref.step}, which does not exist", user, field)
            return None
        if user is not None and source.number == user.number:
            self.problem("cycle", f"{ref} refers to the step itself", user, field)
            return None
        spec = self.specs.get(source.number)
        if spec is None:
            return None  # the unknown brick is reported already
        if ref.name not in spec.outputs:
            self.problem(
                "missing_output",
                f"{ref}: {spec.name} has no output {ref.name!r} (outputs: {', '.join(spec.outputs)})",
                user,
                field,
            )
            return None
        if ref.name not in spec.outputs_for(source.given()):
            self.problem(
                "missing_output",
                f"{ref}: step {source.number} ({spec.name}) produces no {ref.name} with the inputs it is given",
                user,
                field,
            )
            return None
        return spec.outputs[ref.name]

    def references(self, step: Step) -> None:
        spec = self.specs.get(step.number)
        for name, ref in step.refs():
            vtype = self.ref_type(ref, step, name)
            if spec is None or vtype is None or name not in spec.inputs:
                continue
            want = spec.inputs[name].type
            if vtype is not want:
                self.problem("wrong_type", f"expects a {want.value} but {ref} is a {vtype.value}", step, name)

    def graph(self) -> nx.DiGraph:
        g = nx.DiGraph()
        g.add_nodes_from(s.number for s in self.wf.steps)
        for step in self.wf.steps:
            for _, ref in step.refs():
                if ref.step is not None and ref.step in self.by_number and ref.step != step.number:
                    g.add_edge(ref.step, step.number)
        return g

    def order(self) -> None:
        g = self.graph()
        try:
            cycle = nx.find_cycle(g)
        except nx.NetworkXNoCycle:
            cycle = None
        if cycle:
            path = " -> ".join(f"step {a}" for a, _ in cycle) + f" -> step {cycle[0][0]}"
            self.problems.append(Problem("cycle", f"the steps depend on each other in a cycle: {path}", cycle[0][0]))
            return
        for a, b in g.edges:
            if a > b:
                self.repairs.append(f"step {b} uses step {a}, which is listed later; steps run in dependency order")

    def result(self) -> None:
        if not self.wf.result:
            self.problems.append(Problem("empty_result", "the result lists no output; name at least one, e.g. [step2[image]]", field="result"))
        entries = list(dict.fromkeys(self.wf.result))
        if len(entries) < len(self.wf.result):
            self.repairs.append(f"result: dropped {len(self.wf.result) - len(entries)} repeated entries")
            self.wf.result = entries
        if len(entries) > MAX_RESULTS:
            self.problems.append(Problem("too_many_results", f"the result lists {len(entries)} outputs; the limit is "
                                         f"{MAX_RESULTS}", field="result"))
            return
        for entry in entries:
            if not isinstance(entry, Ref):
                self.problems.append(Problem("bad_result", f"result entry {entry!r:.40} is not a reference like step2[image]", field="result"))
                continue
            vtype = self.ref_type(entry, None, "result")
            if vtype is not None and vtype not in RESULT_TYPES:
                self.problems.append(Problem("bad_result", f"result entry {entry} is a {vtype.value}; results are images or masks", field="result"))

    def unused(self) -> None:
        used = {r.step for s in self.wf.steps for _, r in s.refs() if r.step != s.number}
        used |= {r.step for r in self.wf.result if isinstance(r, Ref)}
        for step in self.wf.steps:
            if step.number not in used:
                self.problem("unused_step", "no later step or the result uses its outputs; remove it or use it", step)

    def bans(self, banned: Iterable[str], required: Iterable[str]) -> None:
        def canonical(name: str) -> str:
            spec = self.registry.resolve(name)
            return spec.name if spec else name.upper()

        banned_names = {canonical(b) for b in banned}
        for step in self.wf.steps:
            if step.brick in banned_names:
                self.problem("banned", f"{step.brick} is banned by your feedback", step)
        present = {s.brick for s in self.wf.steps}
        for name in required:
            if canonical(name) not in present:
                self.problems.append(Problem("required", f"the feedback asks to use {canonical(name)}, but no step does"))


def _as_float(value: int | float | str) -> float | None:
    """The number a literal stands for (inf for integers too large for a float), or None."""
    if isinstance(value, str):
        try:
            return float(value.strip()) if len(value) <= 64 else None
        except ValueError:
            return None
    try:
        return float(value)
    except OverflowError:
        return math.inf

"""The edits a person makes on the workflow canvas, applied to the workflow JSON.

The JSON text is the one state the canvas and the JSON box share: each edit reads it
(tolerantly, then validated so brick names and literals are in their canonical form), changes
the `Workflow` and writes it back. An edit that cannot make sense (an Image wired into a Mask
port, a wire that would make a cycle, a step that does not exist) raises `BadInput` naming
it; an edit that leaves the workflow incomplete (a deleted step others still use, a new brick
not wired yet) is allowed: the validator's problems then show on the nodes.

Edits (plain dicts, as the canvas sends them):
    {"op": "set", "step": 2, "input": "prompt", "value": "red"}      a literal (None clears it)
    {"op": "connect", "source": "step1[mask]", "step": 2, "input": "mask"}
    {"op": "connect", "source": "step3[image]", "result": 0}          a result entry (index = len: append)
    {"op": "disconnect", "step": 2, "input": "mask"}
    {"op": "unresult", "result": 0}                                   drop a result entry
    {"op": "engine", "step": 2, "engine": "lab"}                      None: the configured choice
    {"op": "delete", "step": 1}
    {"op": "add", "brick": "TONE"}                                    -> a new, unwired step
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import networkx as nx

from ..errors import BadInput
from ..registry import Registry
from ..types import ValueType
from ..validate import INIT_VALUES, RESULT_TYPES
from ..workflow import Ref, Step, Workflow

OPS = ("set", "connect", "disconnect", "unresult", "engine", "delete", "add")


def source_type(workflow: Workflow, registry: Registry, ref: Ref) -> ValueType | None:
    """The type a reference carries (None: it points at nothing known)."""
    if ref.step is None:
        return INIT_VALUES.get(ref.name)
    step = workflow.step(ref.step)
    spec = registry.resolve(step.brick) if step else None
    return spec.outputs.get(ref.name) if spec else None


def dependency_graph(workflow: Workflow) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(s.number for s in workflow.steps)
    for s in workflow.steps:
        for _, ref in s.refs():
            if ref.step is not None and workflow.step(ref.step) is not None:
                g.add_edge(ref.step, s.number)
    return g


def apply_edit(workflow: Workflow, op: Mapping[str, Any], registry: Registry) -> tuple[Workflow, int | None]:
    """A changed copy of `workflow` and the step to focus (the added one), or BadInput. Every
    output a later step or the result uses is declared on its step, as the official JSON does."""
    wf, focus = _apply(workflow, op, registry)
    for ref in [r for s in wf.steps for _, r in s.refs()] + [r for r in wf.result if isinstance(r, Ref)]:
        _declare_output(wf, ref)
    return wf, focus


def _apply(workflow: Workflow, op: Mapping[str, Any], registry: Registry) -> tuple[Workflow, int | None]:
    kind = op.get("op")
    if kind not in OPS:
        raise BadInput(f"unknown canvas edit {kind!r}; edits are {', '.join(OPS)}")
    wf = workflow.copy()
    if kind == "add":
        spec = registry.resolve(str(op.get("brick", "")))
        if spec is None:
            raise BadInput(f"unknown brick {op.get('brick')!r}")
        number = 1 + max((s.number for s in wf.steps), default=0)
        wf.steps.append(Step(number, spec.name, {name: None for name in spec.inputs},
                             {name: Ref(number, name) for name in spec.outputs}))
        return wf, number
    if kind == "unresult":
        del wf.result[_result_index(wf, op, allow_end=False)]
        return wf, None
    if kind == "connect" and "result" in op:
        ref = _source(wf, registry, op)
        vtype = source_type(wf, registry, ref)
        if vtype not in RESULT_TYPES:
            raise BadInput(f"the result takes images or masks; {ref} is {_a(vtype)}")
        index = _result_index(wf, op, allow_end=True)
        wf.result[index:index + 1] = [ref]
        return wf, None
    step = _step(wf, op)
    if kind == "delete":
        wf.steps.remove(step)
        return wf, None
    spec = registry.resolve(step.brick)
    if spec is None:
        raise BadInput(f"step {step.number}: unknown brick {step.brick!r}; delete the step or fix its name in the JSON")
    if kind == "engine":
        engine = op.get("engine") or None
        if engine is not None and not any(e.name == engine for e in spec.engines):
            known = ", ".join(e.name for e in spec.engines) or "none"
            raise BadInput(f"{spec.name} has no engine {engine!r} (engines: {known})")
        step.engine = engine
        return wf, None
    name = str(op.get("input", ""))
    port = spec.inputs.get(name)
    if port is None:
        raise BadInput(f"{spec.name} has no input {name!r}; its inputs are {', '.join(spec.inputs)}")
    if kind == "disconnect":
        step.inputs[name] = None
    elif kind == "set":
        step.inputs[name] = _literal(spec.name, name, port.type, op.get("value"))
    else:  # connect
        ref = _source(wf, registry, op)
        vtype = source_type(wf, registry, ref)
        if vtype is not port.type:
            raise BadInput(f"{spec.name}'s {name} takes {_a(port.type)}; {ref} is {_a(vtype)}")
        if ref.step == step.number or (ref.step is not None and nx.has_path(dependency_graph(wf), step.number, ref.step)):
            raise BadInput(f"wiring {ref} into step {step.number} would make a cycle: step {ref.step} "
                           f"already uses step {step.number}")
        step.inputs[name] = ref
    return wf, None


def _a(vtype: ValueType | None) -> str:
    if vtype is None:
        return "not a known value"
    return ("an " if vtype.value[0] in "AEIOU" else "a ") + vtype.value


def _step(wf: Workflow, op: Mapping[str, Any]) -> Step:
    try:
        number = int(op.get("step"))
    except (TypeError, ValueError):
        raise BadInput(f"the edit names no step number (got {op.get('step')!r})") from None
    step = wf.step(number)
    if step is None:
        raise BadInput(f"there is no step {number} in the workflow")
    return step


def _source(wf: Workflow, registry: Registry, op: Mapping[str, Any]) -> Ref:
    ref = Ref.parse(op.get("source"))
    if ref is None:
        raise BadInput(f"{op.get('source')!r} is not a reference like step1[mask] or init[image]")
    if ref.step is not None and wf.step(ref.step) is None:
        raise BadInput(f"{ref} refers to step {ref.step}, which does not exist")
    return ref


def _result_index(wf: Workflow, op: Mapping[str, Any], allow_end: bool) -> int:
    try:
        index = int(op.get("result"))
    except (TypeError, ValueError):
        raise BadInput(f"the edit names no result entry (got {op.get('result')!r})") from None
    if not 0 <= index < len(wf.result) + allow_end:
        raise BadInput(f"the result has no entry {index + 1}")
    return index


def _declare_output(wf: Workflow, ref: Ref) -> None:
    step = wf.step(ref.step) if ref.step is not None else None
    if step is not None and ref.name not in step.outputs:
        step.outputs[ref.name] = ref


def _literal(brick: str, name: str, vtype: ValueType, value: Any) -> Any:
    """A literal typed in the canvas: text for Str inputs, a number for Float ones; empty
    clears it (null). Image and Mask inputs take wires, never text."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if vtype is ValueType.STR:
        return str(value).strip()
    if vtype is ValueType.FLOAT:
        if isinstance(value, bool):
            raise BadInput(f"{brick}'s {name} takes a number, not {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise BadInput(f"{brick}'s {name} takes a number, not {value!r:.40}") from None
    raise BadInput(f"{brick}'s {name} takes a {vtype.value}: connect a wire to it (workflows cannot name files)")

"""The workflow: the official Lego-Edit JSON on the wire, typed references inside.

Wire format (what the official Builder writes and what we write back):

    {"process": "remove the dog",
     "pipeline": [{"step": 1, "model": "RES", "input": {"image": "init[image]", "prompt": "dog"},
                   "output": {"mask": "step1[mask]", "image": "step1[image]"}},
                  ...,
                  {"result": "[step3[image]]"}]}

`parse_workflow` reads it tolerantly from Builder text (think tags, code fences, prose,
trailing or missing commas, fullwidth punctuation, single quotes) without `eval`, and says
what it repaired. Whether the plan makes sense is `validate.py`'s job.

The reader is bounded before it does any work: the text (64 KB), the nesting depth, the
number of pipeline items and a decoded object's size are checked first, because the
repairing parser is super-linear on deep nesting (1 MB of braces took > 90 s).
"""

from __future__ import annotations

import copy
import json
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from json_repair import repair_json

from .errors import WorkflowParseError

REF_RE = re.compile(r"^\s*(?:(init)|step\s*(\d{1,9}))\s*\[\s*([A-Za-z_][\w-]{0,63})\s*\]\s*$", re.I)
REF_IN_TEXT_RE = re.compile(r"(?:init|step\s*\d{1,9})\s*\[\s*[A-Za-z_][\w-]{0,63}\s*\]", re.I)
THINK_RE = re.compile(r"<think>(.*?)</think>", re.S | re.I)
FENCE_RE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.S)
STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
BRACKET_RE = re.compile(r"[\[\]{}]")
FULLWIDTH = str.maketrans({"，": ",", "：": ":", "｛": "{", "｝": "}", "［": "[", "］": "]", "；": ","})

MAX_WORKFLOW_CHARS = 64 * 1024  # a 32-step workflow is ~10 KB; Builder text with reasoning a few KB more
MAX_DEPTH = 20  # a workflow nests 4 deep ({"pipeline": [{"input": {...}}]}); results a few more
MAX_PIPELINE_ITEMS = 128  # the validator allows 32 steps; more than this is not worth reading
MAX_STEP_NUMBER = 10**6
REPAIR_CPU_S = 0.25  # json_repair is quadratic on some text ({a:b,a:b,…}: 16 KB took 4 s, 60 KB 60 s)


@dataclass(frozen=True)
class Ref:
    """A reference to a value: `init[image]`, `init[mask]` or `stepN[name]`."""

    step: int | None  # None = the initial inputs
    name: str

    @classmethod
    def parse(cls, text: Any) -> Ref | None:
        if not isinstance(text, str):
            return None
        m = REF_RE.match(text)
        if not m:
            return None
        return cls(None if m.group(1) else int(m.group(2)), m.group(3))

    def __str__(self) -> str:
        return f"init[{self.name}]" if self.step is None else f"step{self.step}[{self.name}]"


@dataclass
class Step:
    number: int
    brick: str
    inputs: dict[str, Any]  # Ref, or a literal: str / float / None
    outputs: dict[str, Any] = field(default_factory=dict)  # Ref, None, or what was written instead
    # this step's engine, beating the configured choice; on the wire an optional "engine" key
    # that readers of the official format ignore
    engine: str | None = None

    def refs(self) -> list[tuple[str, Ref]]:
        return [(k, v) for k, v in self.inputs.items() if isinstance(v, Ref)]

    def given(self) -> frozenset[str]:
        return frozenset(k for k, v in self.inputs.items() if v is not None)


@dataclass
class Workflow:
    process: str
    steps: list[Step]
    result: list[Ref | str]  # a str is an entry that is not a reference (a problem)

    def step(self, number: int) -> Step | None:
        return next((s for s in self.steps if s.number == number), None)

    def copy(self) -> Workflow:
        return copy.deepcopy(self)

    def to_json(self) -> dict:
        def wire(v: Any) -> Any:
            return str(v) if isinstance(v, Ref) else v

        pipeline: list[dict] = [
            {
                "step": s.number,
                "model": s.brick,
                **({"engine": s.engine} if s.engine else {}),
                "input": {k: wire(v) for k, v in s.inputs.items()},
                "output": {k: wire(v) for k, v in s.outputs.items()},
            }
            for s in self.steps
        ]
        pipeline.append({"result": "[" + ", ".join(str(r) for r in self.result) + "]"})
        return {"process": self.process, "pipeline": pipeline}

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False)


@dataclass
class Parsed:
    workflow: Workflow
    reasoning: str = ""
    repairs: list[str] = field(default_factory=list)


# -- reading text ------------------------------------------------------------------------------
def split_reasoning(text: str) -> tuple[str, str]:
    """(reasoning inside <think>…</think>, the rest). An unclosed think runs to the first '{'."""
    thoughts = [t.strip() for t in THINK_RE.findall(text)]
    rest = THINK_RE.sub("", text)
    if "</think>" in rest.lower():  # a closing tag without an opening one
        head, _, rest = re.split(r"(</think>)", rest, maxsplit=1, flags=re.I)
        thoughts.append(head.replace("<think>", "").strip())
    elif "<think>" in rest.lower():
        head, _, tail = re.split(r"(<think>)", rest, maxsplit=1, flags=re.I)
        brace = tail.find("{")
        thoughts.append(tail[: brace if brace >= 0 else None].strip())
        rest = head + (tail[brace:] if brace >= 0 else "")
    return "\n".join(t for t in thoughts if t), rest


def _normalize_punctuation(text: str, repairs: list[str]) -> str:
    """Map fullwidth JSON punctuation to ASCII outside strings; curly quotes become quotes."""
    out, in_str, quote, changed = [], False, "", False
    i = 0
    while i < len(text):
        ch = text[i]
        if in_str:
            if ch == "\\" and i + 1 < len(text):
                out.append(text[i : i + 2])
                i += 2
                continue
            if (quote == '"' and ch == '"') or (quote == "“" and ch == "”"):
                in_str = False
                out.append('"')
                changed |= ch != '"'
            else:
                out.append(ch)
        elif ch in ('"', "“"):
            in_str, quote = True, ch
            out.append('"')
            changed |= ch != '"'
        else:
            mapped = ch.translate(FULLWIDTH)
            changed |= mapped != ch
            out.append(mapped)
        i += 1
    if changed:
        repairs.append("replaced fullwidth punctuation (，：“”) with JSON punctuation")
    return "".join(out)


def _json_region(text: str) -> str:
    fences = [f for f in FENCE_RE.findall(text) if "{" in f]
    if fences:
        with_pipeline = [f for f in fences if "pipeline" in f]
        return (with_pipeline or fences)[0]
    start = text.find("{")
    if start < 0:
        raise WorkflowParseError("no JSON object found in the text (expected {\"process\", \"pipeline\"})")
    end = text.rfind("}")
    return text[start : end + 1] if end > start else text[start:]


def nesting_depth(text: str) -> int:
    """How deep brackets nest outside double-quoted strings (a closing bracket with nothing
    open is ignored, as the repairing parser does). Brackets inside single-quoted strings
    count too: an over-estimate only ever refuses text with > MAX_DEPTH of them."""
    depth = deepest = 0
    for bracket in BRACKET_RE.findall(STRING_RE.sub("", text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif depth:
            depth -= 1
    return deepest


def _check_text_size(text: str) -> None:
    if len(text) > MAX_WORKFLOW_CHARS:
        raise WorkflowParseError(
            f"the workflow text is {len(text):,} characters; the limit is {MAX_WORKFLOW_CHARS:,} "
            "(a 32-step workflow is about 10,000)")


def _check_depth(depth: int) -> None:
    if depth > MAX_DEPTH:
        raise WorkflowParseError(f"the workflow JSON nests {depth} levels deep; the limit is {MAX_DEPTH} "
                                 "(a workflow needs 4)")


def check_object_size(obj: Any) -> None:
    """A decoded workflow (from an API or a repaired parse) within the same bounds as text:
    nesting depth and size (characters of its strings + one per value). Iterative, so a
    hostile object cannot exhaust the stack."""
    size, stack = 0, [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list, tuple)):
            _check_depth(depth)
            items = value.items() if isinstance(value, dict) else ((None, v) for v in value)
            for key, item in items:
                size += 1 + (len(key) if isinstance(key, str) else 0)
                stack.append((item, depth + 1))
        elif isinstance(value, str):
            size += len(value)
        elif isinstance(value, int) and value.bit_length() > 3322:  # str() fails past 4300 digits
            raise WorkflowParseError("a number in the workflow has more than 1,000 digits")
        if size > MAX_WORKFLOW_CHARS:
            raise WorkflowParseError(f"the workflow is larger than {MAX_WORKFLOW_CHARS:,} characters of JSON; "
                                     "a 32-step workflow is about 10,000")


def loads_tolerant(text: str, repairs: list[str]) -> Any:
    """json.loads, else a repaired parse (json_repair, never eval) noted in `repairs`."""
    _check_text_size(text)
    region = _normalize_punctuation(_json_region(text), repairs)
    _check_depth(nesting_depth(region))
    try:
        return json.loads(region)
    except json.JSONDecodeError as exc:
        first_error = f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    except ValueError as exc:  # valid JSON that Python refuses, e.g. an integer of > 4300 digits
        raise WorkflowParseError(f"could not read the workflow JSON: {exc}") from None
    obj, log = _repair_within_budget(region, first_error)
    if obj in ("", None, [], {}):
        raise WorkflowParseError(f"could not read the workflow JSON: {first_error}")
    details = sorted({entry["text"] for entry in log if isinstance(entry, dict) and "text" in entry})
    repairs.append(
        f"repaired malformed JSON ({first_error})" + (": " + "; ".join(details[:3]) if details else "")
    )
    return obj


class _OverBudget(Exception):
    pass


def _repair_within_budget(region: str, first_error: str) -> tuple[Any, list]:
    """json_repair, stopped once it has used REPAIR_CPU_S of this thread's CPU time (a Builder's
    slip takes milliseconds to repair). Its cost is not bounded by the text's size, and a profile
    hook is the one way to stop pure-Python code from outside it; CPU time, not wall time, so a
    busy server does not refuse what a quiet one repairs."""
    deadline = time.thread_time() + REPAIR_CPU_S
    calls = 0

    def watch(frame, event, arg) -> None:
        nonlocal calls
        if event == "call":
            calls += 1
            if calls % 256 == 0 and time.thread_time() > deadline:
                raise _OverBudget

    previous = sys.getprofile()
    sys.setprofile(watch)
    try:
        return repair_json(region, return_objects=True, logging=True)
    except _OverBudget:
        raise WorkflowParseError(f"could not read the workflow JSON ({first_error}), and it is too malformed "
                                 f"to repair within {REPAIR_CPU_S:g} s; write valid JSON") from None
    finally:
        sys.setprofile(previous)


# -- from JSON to the model -------------------------------------------------------------------
def _literal_or_ref(value: Any) -> Any:
    ref = Ref.parse(value)
    return ref if ref is not None else value


def _output_ref(value: Any) -> Any:
    """An output's reference; a value that is not one (a number, a word) is kept as it is so
    that validation reports it instead of the step silently losing that output."""
    if value is None:
        return None
    ref = Ref.parse(value)
    return ref if ref is not None else value


def _result_entries(raw: Any) -> list[Ref | str]:
    """Result entries from "[step1[image], step3[image]]", a list, or a bare reference.
    Anything that is not a reference is kept as text so validation reports it."""
    if raw is None:
        return []
    if isinstance(raw, list):
        return [e for item in raw for e in _result_entries(item)]
    if not isinstance(raw, str):
        return [str(raw)]
    text = raw.strip()
    if text.startswith("[") and text.endswith("]") and not REF_RE.match(text):
        text = text[1:-1]
    entries: list[Ref | str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        ref = Ref.parse(part)
        if ref is not None:
            entries.append(ref)
        elif REF_IN_TEXT_RE.sub("", part).strip() == "":  # refs with a missing comma between
            entries.extend(Ref.parse(r) for r in REF_IN_TEXT_RE.findall(part))
        else:
            entries.append(part)
    return entries


def workflow_from_json(obj: Any, repairs: list[str] | None = None) -> Workflow:
    repairs = repairs if repairs is not None else []
    if isinstance(obj, list):
        obj = {"process": "", "pipeline": obj}
        repairs.append("wrapped a bare step list as {\"pipeline\": [...]}")
    if not isinstance(obj, dict):
        raise WorkflowParseError(f"a workflow is a JSON object, got {type(obj).__name__}")
    if "pipeline" not in obj:
        raise WorkflowParseError("the workflow JSON has no \"pipeline\" list")
    pipeline = obj["pipeline"]
    if not isinstance(pipeline, list):
        raise WorkflowParseError("\"pipeline\" must be a list of steps")
    if len(pipeline) > MAX_PIPELINE_ITEMS:
        raise WorkflowParseError(f"the pipeline has {len(pipeline)} items; the limit is {MAX_PIPELINE_ITEMS} "
                                 "(and a workflow may have at most 32 steps)")
    process = obj.get("process", "")
    process = process if isinstance(process, str) else json.dumps(process, ensure_ascii=False)
    steps: list[Step] = []
    result: list[Ref | str] | None = None
    for position, item in enumerate(pipeline, 1):
        if not isinstance(item, dict):
            raise WorkflowParseError(f"pipeline item {position} is not an object: {item!r:.60}")
        if "result" in item and not any(k in item for k in ("model", "brick", "tool")):
            result = _result_entries(item["result"])
            continue
        name = item.get("model", item.get("brick", item.get("tool")))
        if not isinstance(name, str) or not name.strip():
            raise WorkflowParseError(f"pipeline item {position} names no model (brick)")
        number = item.get("step", position)
        try:
            number = int(str(number).strip().lower().removeprefix("step"))
            if not 0 <= number <= MAX_STEP_NUMBER:
                raise ValueError
        except ValueError:  # also str() of an int with > 4300 digits
            repairs.append(f"pipeline item {position}: step number {number!r:.40} is not a step number; used {position}")
            number = position
        inputs = item.get("input", item.get("inputs", {})) or {}
        outputs = item.get("output", item.get("outputs", {})) or {}
        if not isinstance(inputs, dict) or not isinstance(outputs, dict):
            raise WorkflowParseError(f"step {number}: \"input\" and \"output\" must be objects")
        engine = item.get("engine")
        if engine is not None and (not isinstance(engine, str) or not engine.strip()):
            raise WorkflowParseError(f"step {number}: \"engine\" must name an engine, got {engine!r:.40}")
        steps.append(
            Step(
                number=number,
                brick=name.strip(),
                inputs={str(k).strip(): _literal_or_ref(v) for k, v in inputs.items()},
                outputs={str(k).strip(): _output_ref(v) for k, v in outputs.items()},
                engine=engine.strip() if engine else None,
            )
        )
    if result is None:
        result = []
        if "result" in obj:
            result = _result_entries(obj["result"])
    return Workflow(process=process, steps=steps, result=result)


def parse_workflow(source: Any) -> Parsed:
    """Read a workflow from Builder text, a JSON string, or an already-decoded object."""
    repairs: list[str] = []
    reasoning = ""
    if isinstance(source, (bytes, bytearray)):
        if len(source) > 4 * MAX_WORKFLOW_CHARS:  # UTF-8: at most 4 bytes a character
            raise WorkflowParseError(f"the workflow text is {len(source):,} bytes; the limit is "
                                     f"{MAX_WORKFLOW_CHARS:,} characters")
        source = source.decode("utf-8", errors="replace")
    if isinstance(source, str):
        _check_text_size(source)
        reasoning, rest = split_reasoning(source)
        obj = loads_tolerant(rest, repairs)
    else:
        obj = source
    check_object_size(obj)
    return Parsed(workflow_from_json(obj, repairs), reasoning, repairs)

"""The Builder's prompt, rendered from the registry in the official Lego-Edit release's style.

Layout (the release's headings, our words): system role, processing rules, the four value
types, the PREDICT/EDIT model lists (`Registry.render_tool_list()`, so plugin bricks appear
by themselves), worked examples (`fewshot.json`, official workflow JSON), then the request:
whether the user gave a mask, feedback turned into hard constraints ("Do not use RES."), the
previous plan's JSON, and the instruction. Model backends (local MLLM, OpenAI-compatible
server) send the same text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ..feedback import Constraints, describe, parse_feedback
from ..registry import Registry
from ..types import ValueType
from .base import Plan, PlanRequest

FEWSHOT_PATH = Path(__file__).with_name("fewshot.json")

SYSTEM_ROLE = """**System Role**
You are the scheduler of an image editing engine. You turn the user's natural-language \
instruction into a JSON workflow in which several models work together. Every input of a \
step comes from the initial inputs, from an earlier step's output, or from your own reading \
and English translation of the instruction."""

PROCESSING_RULES = """**Processing rules**
1. Where inputs come from. A model input can only be:
a. the initial image init[image] (and init[mask] when the user drew a mask);
b. text taken from the user instruction;
c. an output of an earlier step, written stepN[name];
d. your own analysis or English translation of the instruction text.
2. How to build the workflow.
a. Find the objects and the actions in the instruction and look at the image.
b. Choose a model for each action; every input you give must match that model's input \
types and its constraint. Optional inputs (marked ?) may be null.
c. Chain the steps: every step's output must be used by a later step or by the result, \
otherwise the step is redundant. List the final images in "result".
3. Answer format. First think briefly inside <think>...</think>, then write the workflow \
JSON: {"process": "<the instruction>", "pipeline": [{"step": 1, "model": "NAME", "input": \
{...}, "output": {...}}, ..., {"result": "[stepN[image]]"}]}. Use only the models listed \
below, with the exact input and output names shown."""

TYPES = """**Input and output types**
There are only four types of input and output:
1. Image
2. Mask
3. Str (English only)
4. Float
null means "not given"."""


@lru_cache(maxsize=4)
def _read_fewshot(path: str) -> tuple[dict, ...]:
    return tuple(json.loads(Path(path).read_text(encoding="utf-8")))


def load_fewshot(path: str | Path = FEWSHOT_PATH) -> list[dict]:
    """The worked examples: [{name, instruction, has_mask, reasoning, workflow}, ...]."""
    return [dict(e) for e in _read_fewshot(str(path))]


def init_values(has_mask: bool) -> dict[str, ValueType]:
    """The initial values a workflow may reference: init[image], plus init[mask] if given."""
    values = {"image": ValueType.IMAGE}
    if has_mask:
        values["mask"] = ValueType.MASK
    return values


def _mask_note(has_mask: bool) -> str:
    if has_mask:
        return "The user provided a mask: init[mask] marks the region to edit."
    return "The user provided no mask: init[mask] does not exist, do not use it."


def render_example(number: int, example: dict) -> str:
    lines = [f"**Actual example{number}:**", f"User instruction: {example['instruction']}",
             _mask_note(bool(example.get("has_mask")))]
    lines.append("Expected output:")
    if example.get("reasoning"):
        lines.append(f"<think>{example['reasoning']}</think>")
    lines.append(json.dumps(example["workflow"], indent=2, ensure_ascii=False))
    return "\n".join(lines)


def render_system(registry: Registry, examples: Sequence[dict] | None = None) -> str:
    """Everything that does not depend on the request: role, rules, types, tools, examples."""
    examples = load_fewshot() if examples is None else examples
    parts = [
        SYSTEM_ROLE,
        PROCESSING_RULES,
        TYPES,
        "**Model library**\nModels are of two kinds: PREDICT models and EDIT models.\n"
        + registry.render_tool_list().rstrip(),
    ]
    parts += [render_example(i, e) for i, e in enumerate(examples, 1)]
    return "\n\n".join(parts)


@dataclass
class Prompt:
    system: str  # role, rules, tools, examples
    user: str  # this request: mask, constraints, previous plan, instruction
    constraints: Constraints = field(default_factory=Constraints)

    @property
    def banned(self) -> set[str]:
        return set(self.constraints.banned)

    @property
    def required(self) -> set[str]:
        return set(self.constraints.required)

    def text(self) -> str:
        """One text for backends that put everything into the user turn (as the release does)."""
        return self.system + "\n\n" + self.user if self.system else self.user


def render_request(request: PlanRequest, feedback: Sequence[str], constraints: Constraints,
                   previous: Plan | None = None) -> str:
    lines = [_mask_note(request.has_mask)]
    if request.image is None:
        lines.append("No image is attached; plan from the instruction alone.")
    lines += render_feedback(feedback, constraints, previous)
    lines.append(
        f'Now, I give you the image and the user instruction: "{request.instruction}", '
        "please output the multi-model collaboration process json."
    )
    return "\n".join(lines)


def render_feedback(feedback: Sequence[str], constraints: Constraints, previous: Plan | None = None) -> list[str]:
    """The feedback, the hard constraints read from it and the previous plan, as prompt lines."""
    lines: list[str] = []
    if feedback:
        lines.append("The user's feedback on the previous result, oldest first:")
        lines += [f"- {f}" for f in feedback]
    rules = describe(constraints)
    if rules:
        lines.append("Constraints from this feedback (a plan that breaks one is rejected):")
        lines += rules
    if previous is not None and previous.workflow is not None:
        lines.append("Your previous workflow was:")
        lines.append(previous.workflow.dumps())
        lines.append("Revise it to follow the feedback; keep the steps that still fit.")
    return lines


def build_prompt(registry: Registry, request: PlanRequest, feedback: Sequence[str] = (),
                 previous: Plan | None = None, examples: Sequence[dict] | None = None) -> Prompt:
    constraints = parse_feedback(list(feedback), registry)
    return Prompt(
        system=render_system(registry, examples),
        user=render_request(request, list(feedback), constraints, previous),
        constraints=constraints,
    )


def render_problems(problems: Sequence[str], attempt: int, attempts: int) -> str:
    """The follow-up turn after a rejected plan: each problem verbatim, one per line."""
    lines = [f"Your workflow was rejected (attempt {attempt} of {attempts}). Problems:"]
    lines += [f"- {p}" for p in problems]
    lines.append("Fix every problem and output the whole corrected workflow JSON.")
    return "\n".join(lines)

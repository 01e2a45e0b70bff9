"""Parse → validate → retry: the loop every model Builder (local MLLM, OpenAI server) shares.

The model writes reasoning + workflow text; `parse_workflow` reads it tolerantly and
`validate` checks it strictly against the registry and the feedback's bans/requirements.
On a parse error or any problem, the model's answer and the problems (verbatim, one per
line) go back as the next turn; after `max_retries` further tries the Builder declines with
the problems it still has. An invalid plan is never returned as ok.

Messages are backend-neutral: `{"role": ..., "content": [{"type": "image"} |
{"type": "text", "text": ...}]}`; each backend turns `{"type": "image"}` into its own form
of `request.image`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from ..errors import WorkflowParseError
from ..registry import Registry
from ..validate import Problem, validate
from ..workflow import parse_workflow, split_reasoning
from .base import Plan, PlanRequest
from .official import OfficialPrompt
from .prompt import Prompt, build_prompt, init_values, render_problems

MAX_RETRIES = 2


class Generate(Protocol):
    def __call__(self, messages: list[dict], on_text: Callable[[str], None] | None = None) -> str: ...


def first_messages(prompt: Prompt, with_image: bool, system_role: bool = False) -> list[dict]:
    """The opening turn(s). By default everything is in one user turn with the image first,
    as the official release sends it; `system_role=True` puts the fixed part in a system turn."""
    image = [{"type": "image"}] if with_image else []
    if system_role:
        return [
            {"role": "system", "content": [{"type": "text", "text": prompt.system}]},
            {"role": "user", "content": [*image, {"type": "text", "text": prompt.user}]},
        ]
    return [{"role": "user", "content": [*image, {"type": "text", "text": prompt.text()}]}]


def text_turn(role: str, text: str) -> dict:
    return {"role": role, "content": [{"type": "text", "text": text}]}


def plan_with_retries(
    registry: Registry,
    request: PlanRequest,
    generate: Generate,
    feedback: Sequence[str] = (),
    previous: Plan | None = None,
    on_text: Callable[[str], None] | None = None,
    max_retries: int = MAX_RETRIES,
    notes: Sequence[str] = (),
    system_role: bool = False,
    builder_name: str = "model",
    official: OfficialPrompt | None = None,
) -> Plan:
    """`official`: the release's prompt file (`--prompt-file`) instead of the project's prompt."""
    if official is not None:
        prompt, system_role = official.prompt(registry, request, feedback, previous), False
    else:
        prompt = build_prompt(registry, request, feedback, previous)
    messages = first_messages(prompt, request.image is not None, system_role)
    allowed = init_values(request.has_mask)
    attempts = 1 + max(0, max_retries)
    thoughts: list[tuple[int, str]] = []  # (attempt, <think> text)
    problems: list[Problem] = []
    for attempt in range(1, attempts + 1):
        if attempt > 1 and on_text is not None:
            on_text(f"\n\n[retry {attempt - 1} of {attempts - 1}: {len(problems)} problem(s) sent back]\n\n")
        text = generate(list(messages), on_text) or ""
        thought, _ = split_reasoning(text)
        if thought:
            thoughts.append((attempt, thought))
        try:
            parsed = parse_workflow(text)
        except WorkflowParseError as exc:
            problems = [Problem("parse", f"{exc}")]
        else:
            checked = validate(parsed.workflow, registry, banned=prompt.banned, required=prompt.required,
                               init_values=allowed)
            if checked.ok:
                reasoning = _reasoning(thoughts, notes, attempt)
                return Plan(reasoning, workflow=checked.workflow, repairs=[*parsed.repairs, *checked.repairs])
            problems = list(checked.problems)
        if attempt < attempts:
            messages += [text_turn("assistant", text),
                         text_turn("user", render_problems([str(p) for p in problems], attempt, attempts))]
    reason = (f"the {builder_name} Builder gave no valid workflow in {attempts} attempt(s); "
              f"last problems: " + "; ".join(str(p) for p in problems))
    return Plan(_reasoning(thoughts, notes, attempts), workflow=None, declined=reason, problems=problems)


def _reasoning(thoughts: Sequence[tuple[int, str]], notes: Sequence[str], attempts: int) -> str:
    """The model's <think> text (each attempt's, labelled when there were several) + notes."""
    lines = [f"(attempt {n}) {t}" if attempts > 1 else t for n, t in thoughts]
    if attempts > 1:
        lines.append(f"[{attempts} attempts: the earlier workflows were rejected by validation]")
    lines += [f"[note] {n}" for n in notes]
    return "\n".join(lines)

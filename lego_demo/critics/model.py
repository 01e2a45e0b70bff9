"""The model critic: EditThinker's judgement from a vision-language model, through the same
backends as the model Builders (a local transformers model or an OpenAI-compatible server).

The model sees the source and the edited image and answers in EditThinker's format:
`<think>…</think><score>{"semantic": s, "quality": q}</score><answer>refined instruction</answer>`
(or "done"). The answer is read tolerantly; an unreadable one is asked again once, then the
critic says it cannot judge (CannotDo) rather than inventing scores.
"""

from __future__ import annotations

import re
from typing import Any

from json_repair import repair_json

from ..errors import CannotDo
from ..workflow import split_reasoning
from .base import Critique

PROMPT = """You judge an image edit. Image 1 is the source, image 2 is the edited result.
The instruction was: "{instruction}"

Score two things from 0 to 10:
- semantic: how well the edited image does what the instruction asks (10 = exactly, 0 = not at all);
- quality: how natural the edited image looks, free of artifacts, with everything the
  instruction did not mention left as it was (10 = flawless).
Then write a refined instruction that would fix what is wrong in a next attempt (more specific
about the target, the amount, or what to keep), or "done" if nothing needs fixing.

Answer exactly in this form:
<think>your reasoning</think><score>{{"semantic": S, "quality": Q}}</score><answer>refined instruction or done</answer>"""

REMINDER = ('Your answer could not be read ({why}). Answer again exactly as '
            '<think>…</think><score>{{"semantic": S, "quality": Q}}</score><answer>…</answer>.')
SCORE_RE = re.compile(r"<score>(.*?)</score>", re.S | re.I)
ANSWER_RE = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.S | re.I)
LOOSE_RE = {k: re.compile(rf"{k}\W{{0,4}}(\d+(?:\.\d+)?)", re.I) for k in ("semantic", "quality")}
DONE_RE = re.compile(r"^\W*(done|none|nothing|no changes?( needed)?|n/?a)\W*$", re.I)


def parse_judgement(text: str) -> tuple[float, float, str, str | None]:
    """(semantic, quality, reasoning, refined instruction or None) from the model's answer;
    ValueError naming what is missing."""
    reasoning, rest = split_reasoning(text)
    scores: dict[str, float] = {}
    m = SCORE_RE.search(rest)
    if m:
        obj = repair_json(m.group(1), return_objects=True)
        if isinstance(obj, dict):
            for key in ("semantic", "quality"):
                value = obj.get(key, obj.get(key[:3]))
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    scores[key] = float(value)
    for key, pattern in LOOSE_RE.items():  # "semantic: 7" outside the tags
        if key not in scores:
            found = pattern.search(rest)
            if found:
                scores[key] = float(found.group(1))
    missing = [k for k in ("semantic", "quality") if k not in scores]
    if missing:
        raise ValueError(f"no {' or '.join(missing)} score")
    answer = ANSWER_RE.search(rest)
    refined = answer.group(1).strip() if answer else ""
    refined = None if not refined or DONE_RE.match(refined) else refined
    clamp = lambda v: max(0.0, min(10.0, v))  # noqa: E731
    return clamp(scores["semantic"]), clamp(scores["quality"]), reasoning, refined


class ModelCritic:
    """`backend` is anything with `chat(messages, images, on_text) -> str`: an MLLMBuilder or
    an OpenAIBuilder (their model loading, clients and error messages are reused)."""

    name = "model"

    def __init__(self, backend: Any, retries: int = 1):
        self.backend = backend
        self.retries = retries

    def critique(self, source, edited, instruction, plan=None, run=None) -> Critique:
        messages = [{"role": "user", "content": [
            {"type": "image"}, {"type": "image"},
            {"type": "text", "text": PROMPT.format(instruction=instruction)},
        ]}]
        why = ""
        for _ in range(self.retries + 1):
            text = self.backend.chat(messages, [source, edited])
            try:
                semantic, quality, reasoning, refined = parse_judgement(text)
            except ValueError as exc:
                why = str(exc)
                messages += [{"role": "assistant", "content": [{"type": "text", "text": text}]},
                             {"role": "user", "content": [{"type": "text", "text": REMINDER.format(why=why)}]}]
                continue
            # the refined instruction replaces the instruction in the next turn (EditThinker)
            return Critique(semantic, quality, reasoning or "(the model gave no reasoning)", refined)
        raise CannotDo(f"the critic model's answer could not be read ({why}) after {self.retries + 1} tries")

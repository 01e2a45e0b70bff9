"""The model critic: EditThinker's judgement from a vision-language model, through the same
backends as the model Builders (a local transformers model or an OpenAI-compatible server).

The model sees the source and the edited image and answers in EditThinker's format:
`<think>…</think><score>{"semantic": s, "quality": q}</score><answer>refined instruction</answer>`
(or "done"). The answer is read tolerantly; an unreadable one is asked again once, then the
critic says it cannot judge (CannotDo) rather than inventing scores.

With `prompt_file` (`--critic-prompt-file`: EditThinker's released prompt template) the critic
talks as EditThinker's inference code does: the template with `<image>` markers removed and
`{original_instruction}` / `{rewritten_prompt}` filled in, after the two images, up to 4096
new tokens; an answer equal to the rewritten prompt means "good enough". The reading is
defensive, because real answers stray from the template: the released template's own
`<answer>` example has its two labels swapped (models copy "[…] if GOOD ENOUGH"), and served
models (EditThinker-8B on vLLM) drop or reorder tags, leave `<answer>` unclosed, or write
scores as "[8]".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from json_repair import repair_json

from ..errors import BadInput, CannotDo
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
ANSWER_RE = re.compile(r"<answer>(.*?)(?:</answer>|<score>|<think>|$)", re.S | re.I)
LOOSE_RE = {k: re.compile(rf"{k}\W{{0,4}}(\d+(?:\.\d+)?)", re.I) for k in ("semantic", "quality")}
DONE_RE = re.compile(r"^\W*(done|none|nothing|no changes?( needed)?|n/?a)\W*$", re.I)
# the released template's example labels, copied into answers: "[…] if GOOD ENOUGH"
LABEL_RE = re.compile(r"\s*\bif\s+(?:not\s+)?good\s+enough\s*$", re.I)
TEMPLATE_MAX_TOKENS = 4096


def _number(value) -> float | None:
    """7, 7.5, "7", "7/10", [7] -> a float; anything else None."""
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        m = re.search(r"\d+(?:\.\d+)?", value)
        return float(m.group(0)) if m else None
    return None


def _clean_answer(text: str) -> str:
    text = LABEL_RE.sub("", text.strip()).strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1].strip()
    return text.strip().strip('"').strip()


def parse_judgement(text: str, unchanged: str | None = None) -> tuple[float, float, str, str | None]:
    """(semantic, quality, reasoning, refined instruction or None) from the model's answer;
    ValueError naming what is missing. `unchanged`: an answer equal to it means done."""
    reasoning, rest = split_reasoning(text)
    scores: dict[str, float] = {}
    m = SCORE_RE.search(rest)
    if m:
        obj = repair_json(m.group(1), return_objects=True)
        if isinstance(obj, dict):
            for key in ("semantic", "quality"):
                value = _number(obj.get(key, obj.get(key[:3])))
                if value is not None:
                    scores[key] = value
    for key, pattern in LOOSE_RE.items():  # "semantic: 7" outside the tags
        if key not in scores:
            found = pattern.search(rest)
            if found:
                scores[key] = float(found.group(1))
    missing = [k for k in ("semantic", "quality") if k not in scores]
    if missing:
        raise ValueError(f"no {' or '.join(missing)} score")
    answer = ANSWER_RE.search(rest)
    refined = _clean_answer(answer.group(1)) if answer else ""
    same = unchanged is not None and " ".join(refined.lower().split()) == " ".join(unchanged.lower().split())
    refined = None if not refined or DONE_RE.match(refined) or same else refined
    clamp = lambda v: max(0.0, min(10.0, v))  # noqa: E731
    return clamp(scores["semantic"]), clamp(scores["quality"]), reasoning, refined


@dataclass(frozen=True)
class CriticTemplate:
    """EditThinker's released prompt template (`--critic-prompt-file`)."""

    text: str
    path: str

    @classmethod
    def read(cls, path: str | Path) -> CriticTemplate:
        from ..builders.official import read_prompt_file

        text = read_prompt_file(path, "critic prompt file", "EditThinker's prompt_template.txt")
        if "{original_instruction}" not in text:
            raise BadInput(f"critic prompt file {str(path)!r} has no {{original_instruction}} placeholder "
                           "(EditThinker's template has {original_instruction} and {rewritten_prompt})")
        return cls(text, str(Path(path).expanduser()))

    def render(self, original: str, rewritten: str) -> str:
        # replace, not format(): the template's JSON example has braces of its own
        text = self.text.replace("<image>", "").strip()
        return text.replace("{original_instruction}", original).replace("{rewritten_prompt}", rewritten)


class ModelCritic:
    """`backend` is anything with `chat(messages, images, on_text) -> str`: an MLLMBuilder or
    an OpenAIBuilder (their model loading, clients and error messages are reused)."""

    name = "model"

    def __init__(self, backend: Any, retries: int = 1, prompt_file: str | None = None):
        self.backend = backend
        self.retries = retries
        self.template = CriticTemplate.read(prompt_file) if prompt_file else None

    def critique(self, source, edited, instruction, plan=None, run=None) -> Critique:
        rewritten = _used_instruction(plan, instruction)
        if self.template is not None:
            text, unchanged, extra = (self.template.render(instruction, rewritten), rewritten,
                                      {"max_tokens": TEMPLATE_MAX_TOKENS})
        else:
            text, unchanged, extra = PROMPT.format(instruction=instruction), None, {}
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "image"}, {"type": "text", "text": text}]}]
        why = ""
        for _ in range(self.retries + 1):
            answer = self.backend.chat(messages, [source, edited], **extra)
            try:
                semantic, quality, reasoning, refined = parse_judgement(answer, unchanged)
            except ValueError as exc:
                why = str(exc)
                messages += [{"role": "assistant", "content": [{"type": "text", "text": answer}]},
                             {"role": "user", "content": [{"type": "text", "text": REMINDER.format(why=why)}]}]
                continue
            # the refined instruction replaces the instruction in the next turn (EditThinker)
            return Critique(semantic, quality, reasoning or "(the model gave no reasoning)", refined)
        raise CannotDo(f"the critic model's answer could not be read ({why}) after {self.retries + 1} tries")


def _used_instruction(plan: Any, instruction: str) -> str:
    """The instruction this turn was planned from (the workflow's `process`, without the
    official mask prefix), else the user's."""
    from ..builders.official import MASK_PREFIX

    process = getattr(getattr(plan, "workflow", None), "process", None)
    if isinstance(process, str) and process.strip():
        return process.strip().removeprefix(MASK_PREFIX)
    return instruction

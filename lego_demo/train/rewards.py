"""Rewards for the Builder's RL stages: one small function per term, all read off one
`Judgement` of a completion (read, validated, run, critiqued once, however many terms ask).

Terms (each in [0, 1] except the length penalty, which is in [-1, 0]; None = not applicable,
left out of the total):
- format      1 when the tolerant reader finds a workflow and the answer thinks first
              (<think>…</think>), 0.5 for a workflow without reasoning, 0 for unreadable text;
- validity    1 / (1 + validator problems) — feedback bans are the next term's business;
- executable  1 when the workflow runs on its image with the configured engines, 0 when it
              cannot be run or a step fails (None without an image or a runner: `--no-execute`);
- feedback    the share of the feedback's bans and requirements the workflow honours (None
              when the feedback has none);
- critic      the critic's overall score / 10 of the edited image (offline checks, or a model
              critic over an OpenAI-compatible server: the GT-free feedback); 0 when nothing ran;
              None when no critic is configured or the critic could not judge;
- length      −(characters over the budget) / budget, at most −1;
- target      F1 of the workflow's bricks against the row's target workflow (stage 2; None
              when the row has no target).

`STAGE_WEIGHTS` gives the paper's schedule its rewards: stage 2 learns from targets and the
GT-free terms, stage 3 from the GT-free terms with the critic as the judge of the edit.
"""

from __future__ import annotations

import json
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..builders.base import Plan
from ..builders.prompt import init_values
from ..errors import BadInput, LegoError
from ..feedback import Constraints, parse_feedback
from ..images import load_image, load_mask
from ..registry import Registry
from ..validate import Problem, validate
from ..workflow import Parsed, Workflow, parse_workflow, split_reasoning

TERMS = ("format", "validity", "executable", "feedback", "critic", "length", "target")
STAGE_WEIGHTS: dict[int, dict[str, float]] = {
    2: {"format": 1.0, "validity": 1.0, "executable": 1.0, "feedback": 1.0, "target": 1.0, "length": 1.0},
    3: {"format": 1.0, "validity": 1.0, "executable": 1.0, "feedback": 1.0, "critic": 2.0, "length": 1.0},
}
LENGTH_BUDGET = 3000  # characters: about twice the longest target the rule Builder writes


@dataclass
class Sample:
    """One completion and what it answered."""

    completion: str
    instruction: str
    feedback: Sequence[str] = ()
    has_mask: bool = False
    image: np.ndarray | None = None
    mask: np.ndarray | None = None
    target: dict | None = None
    key: Any = None  # identifies the request (image path, instruction, …) for the judgement cache


@dataclass
class Judgement:
    constraints: Constraints
    parsed: Parsed | None = None
    parse_error: str | None = None
    problems: list[Problem] = field(default_factory=list)
    workflow: Workflow | None = None  # the validated copy, when there were no problems
    run: Any = None  # RunResult
    run_error: str | None = None
    critique: Any = None  # Critique
    critic_error: str | None = None


# -- the terms ----------------------------------------------------------------------------------
def format_reward(completion: str, judgement: Judgement) -> float:
    if judgement.parsed is None:
        return 0.0
    thought, _ = split_reasoning(completion)
    return 1.0 if thought.strip() else 0.5


def validity_reward(judgement: Judgement) -> float:
    if judgement.parsed is None:
        return 0.0
    return 1.0 / (1 + len(judgement.problems))


def executable_reward(judgement: Judgement, ran: bool) -> float | None:
    """`ran`: whether a run was attempted for valid workflows (an image and a runner)."""
    if judgement.parsed is None or judgement.problems:
        return 0.0
    if not ran:
        return None
    return 1.0 if judgement.run is not None else 0.0


def feedback_reward(judgement: Judgement, registry: Registry) -> float | None:
    c = judgement.constraints
    if not (c.banned or c.required):
        return None
    if judgement.parsed is None:
        return 0.0
    used = {_canonical(registry, s.brick) for s in judgement.parsed.workflow.steps}
    honoured = sum(b not in used for b in c.banned) + sum(r in used for r in c.required)
    return honoured / (len(c.banned) + len(c.required))


def critic_reward(judgement: Judgement, has_critic: bool) -> float | None:
    if not has_critic:
        return None
    if judgement.run is None:
        return 0.0  # nothing was edited
    if judgement.critique is None:
        return None if judgement.critic_error else 0.0  # the critic could not judge / no image result
    return max(0.0, min(1.0, judgement.critique.overall / 10.0))


def length_penalty(completion: str, budget: int = LENGTH_BUDGET) -> float:
    over = max(0, len(completion) - budget)
    return -min(1.0, over / max(1, budget)) if over else 0.0


def target_reward(judgement: Judgement, target: dict | None, registry: Registry) -> float | None:
    if target is None:
        return None
    if judgement.parsed is None:
        return 0.0
    got = Counter(_canonical(registry, s.brick) for s in judgement.parsed.workflow.steps)
    want = Counter(_canonical(registry, s.brick) for s in parse_workflow(target).workflow.steps)
    common = sum((got & want).values())
    if not common:
        return 0.0
    precision, recall = common / sum(got.values()), common / sum(want.values())
    return 2 * precision * recall / (precision + recall)


def _canonical(registry: Registry, name: str) -> str:
    spec = registry.resolve(name)
    return spec.name if spec is not None else str(name).upper()


def total(terms: Mapping[str, float | None], weights: Mapping[str, float]) -> float:
    return float(sum(weights.get(k, 0.0) * v for k, v in terms.items() if v is not None))


def parse_weights(text: str | None, base: Mapping[str, float]) -> dict[str, float]:
    """"critic=2,length=0.5" on top of `base`; unknown terms are bad input."""
    weights = dict(base)
    for item in filter(None, (p.strip() for p in (text or "").split(","))):
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or name not in TERMS:
            raise BadInput(f"--weights {item!r}: expected TERM=NUMBER with TERM one of {', '.join(TERMS)}")
        try:
            weights[name] = float(value)
        except ValueError:
            raise BadInput(f"--weights {item!r}: {value!r} is not a number") from None
    return weights


# -- judging once, scoring every term -----------------------------------------------------------
class Rewarder:
    """Reads, validates, runs and critiques each completion once (cached), then scores terms.
    `runner` runs workflows with the configured engines: the `Editor` (anything with
    `run(workflow, image, mask) -> RunResult`; None: no executable/critic terms); `critic`
    judges the edit (None: no critic term)."""

    def __init__(self, registry: Registry, runner: Any = None, critic: Any = None,
                 length_budget: int = LENGTH_BUDGET, cache_size: int = 512):
        self.registry = registry
        self.runner = runner
        self.critic = critic
        self.length_budget = length_budget
        self.cache_size = cache_size
        self._judged: OrderedDict[Any, Judgement] = OrderedDict()
        self._pictures: OrderedDict[tuple, np.ndarray] = OrderedDict()

    def judge(self, sample: Sample) -> Judgement:
        key = (sample.completion, sample.key) if sample.key is not None else None
        if key is not None and key in self._judged:
            self._judged.move_to_end(key)
            return self._judged[key]
        judgement = self._judge(sample)
        if key is not None:
            self._judged[key] = judgement
            while len(self._judged) > self.cache_size:
                self._judged.popitem(last=False)
        return judgement

    def _judge(self, sample: Sample) -> Judgement:
        j = Judgement(parse_feedback(list(sample.feedback), self.registry))
        try:
            j.parsed = parse_workflow(sample.completion)
        except LegoError as exc:
            j.parse_error = str(exc)
            return j
        checked = validate(j.parsed.workflow, self.registry, init_values=init_values(sample.has_mask))
        j.problems = list(checked.problems)
        if j.problems or not self._can_run(sample):
            return j
        j.workflow = checked.workflow
        try:
            j.run = self.runner.run(j.workflow, sample.image, sample.mask if sample.has_mask else None)
        except LegoError as exc:  # a step failed or cannot run here: not executable
            j.run_error = str(exc)
            return j
        if self.critic is not None:
            edited = next((v for v in j.run.results if isinstance(v, np.ndarray) and v.ndim == 3), None)
            if edited is not None:
                plan = Plan(j.parsed.reasoning or split_reasoning(sample.completion)[0], workflow=j.workflow)
                try:
                    j.critique = self.critic.critique(sample.image, edited, sample.instruction, plan=plan, run=j.run)
                except LegoError as exc:  # the critic could not judge: the term is left out
                    j.critic_error = str(exc)
        return j

    def _can_run(self, sample: Sample) -> bool:
        return (self.runner is not None and sample.image is not None
                and (sample.mask is not None or not sample.has_mask))

    def terms(self, sample: Sample) -> dict[str, float | None]:
        j = self.judge(sample)
        return {
            "format": format_reward(sample.completion, j),
            "validity": validity_reward(j),
            "executable": executable_reward(j, self._can_run(sample)),
            "feedback": feedback_reward(j, self.registry),
            "critic": critic_reward(j, self.critic is not None and self._can_run(sample)),
            "length": length_penalty(sample.completion, self.length_budget),
            "target": target_reward(j, sample.target, self.registry),
        }

    # -- rows on disk / TRL columns -------------------------------------------------------------
    def picture(self, image_path: str | None, mask_path: str | None) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The image and mask of a row, loaded once (LRU)."""
        key = (image_path, mask_path)
        if key not in self._pictures:
            image = load_image(image_path) if image_path else None
            mask = load_mask(mask_path, (image.shape[1], image.shape[0])) if mask_path and image is not None else None
            self._pictures[key] = (image, mask)
            while len(self._pictures) > 64:
                self._pictures.popitem(last=False)
        return self._pictures[key]

    def sample(self, completion: str, row: Mapping[str, Any]) -> Sample:
        image, mask = self.picture(row.get("image"), row.get("mask"))
        target = row.get("workflow")
        if isinstance(target, str):
            target = json.loads(target) if target else None
        feedback = list(row.get("feedback") or [])
        key = (row.get("image"), row.get("mask"), row["instruction"], tuple(feedback), bool(row.get("has_mask")))
        return Sample(completion, row["instruction"], feedback, bool(row.get("has_mask")), image, mask, target, key)

    def trl_functions(self, weights: Mapping[str, float]) -> tuple[list[Callable], list[float]]:
        """One TRL reward function per weighted term (logged as rewards/<term>), and the weights.
        The dataset columns they read: image, mask, has_mask, instruction, feedback, workflow."""
        names = [t for t in TERMS if weights.get(t)]
        functions = []
        for name in names:
            def reward(prompts, completions, _term=name, **columns) -> list[float | None]:
                rows = [{k: columns[k][i] for k in columns if isinstance(columns[k], list)} for i in range(len(completions))]
                return [self.terms(self.sample(_text(c), row))[_term] for c, row in zip(completions, rows)]

            reward.__name__ = name
            functions.append(reward)
        return functions, [float(weights[n]) for n in names]


def _text(completion: Any) -> str:
    """TRL hands conversational completions as [{"role": "assistant", "content": ...}]."""
    if isinstance(completion, str):
        return completion
    parts = []
    for message in completion:
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        else:
            parts += [c.get("text", "") for c in content or [] if isinstance(c, dict)]
    return "".join(parts)


def score_file(rewarder: Rewarder, path: str | Path, weights: Mapping[str, float]) -> list[dict]:
    """`train score`: every row of a completions JSONL (a data row + "completion") scored."""
    from .rows import read_rows

    out = []
    for row in read_rows(path):
        if not isinstance(row.get("completion"), str):
            raise BadInput(f"{path}: row {row['id']} has no \"completion\" text to score")
        sample = rewarder.sample(row["completion"], row)
        terms, j = rewarder.terms(sample), rewarder.judge(sample)
        notes = [n for n in (row.get("declined") and f"declined: {row['declined']}", j.parse_error,
                             *(str(p) for p in j.problems[:3]), j.run_error, j.critic_error) if n]
        out.append({"id": row["id"], "terms": terms, "total": total(terms, weights), "notes": notes})
    return out


def plan_rows(editor: Any, data: str | Path, out: str | Path) -> dict:
    """`train score --data`: the editor's Builder plans every row as at inference (image, mask,
    feedback); its answer becomes the row's "completion" (a decline: empty text, scoring 0)."""
    from .rows import completion_text, read_rows, write_rows

    rows, declined = read_rows(data), 0
    for row in rows:
        mask = row.get("mask") if row.get("has_mask") else None
        plan = editor.plan(row["instruction"], row.get("image"), mask, feedback=row["feedback"])
        if plan.workflow is None or plan.problems:
            declined += 1
            row["completion"], row["declined"] = "", plan.declined
        else:
            row["completion"] = completion_text(plan.reasoning, plan.workflow.to_json())
    write_rows(Path(out), rows)
    return {"rows": len(rows), "planned": len(rows) - declined, "declined": declined}

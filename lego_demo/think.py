"""Think-while-Edit (EditThinker): edit, critique, refine, repeat — bounded, keeping the best.

Each turn plans (with the refined instruction and the feedback gathered so far, plus the
previous plan), runs, and is critiqued. The loop stops when both scores reach the threshold,
when the critic has nothing left to refine, when a turn fails, when the user stops it, or when
the turn budget is spent. The best turn (highest overall score, earliest on ties) is the answer,
not merely the last.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .builders.base import Plan
from .critics.base import Critic, Critique
from .errors import LegoError

DEFAULT_TURNS = 3
DEFAULT_THRESHOLD = 8.0


@dataclass
class Turn:
    index: int
    instruction: str
    feedback: list[str]
    plan: Plan | None = None
    run: Any = None  # RunResult
    critique: Critique | None = None
    exception: LegoError | None = None  # why the turn failed, if it did
    seconds: float = 0.0

    @property
    def error(self) -> str | None:
        return None if self.exception is None else str(self.exception)

    @property
    def result(self) -> np.ndarray | None:
        return self.run.results[0] if self.run is not None and self.run.results else None

    def to_json(self) -> dict:
        return {
            "turn": self.index,
            "instruction": self.instruction,
            "feedback": self.feedback,
            "reasoning": self.plan.reasoning if self.plan else None,
            "workflow": self.plan.workflow.to_json() if self.plan and self.plan.workflow else None,
            "executed": self.run.executed if self.run else [],
            "cached": self.run.cached if self.run else [],
            "critique": self.critique.to_json() if self.critique else None,
            "error": self.error,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class ThinkResult:
    turns: list[Turn] = field(default_factory=list)
    best: int | None = None  # index into turns
    stopped: str = ""

    @property
    def best_turn(self) -> Turn | None:
        return self.turns[self.best] if self.best is not None else None

    def to_json(self) -> dict:
        return {"turns": [t.to_json() for t in self.turns], "best_turn": None if self.best is None else self.best + 1,
                "stopped": self.stopped}


def plan_signature(plan: Plan | None) -> str | None:
    """What a turn would run: its steps and result, not its prose (a refined instruction that
    yields the same steps and parameters is the same turn)."""
    if plan is None or plan.workflow is None:
        return None
    wire = plan.workflow.to_json()
    return json.dumps(wire["pipeline"], sort_keys=True, ensure_ascii=False)


def think_while_edit(
    editor,
    critic: Critic,
    instruction: str,
    inputs,
    feedback: Sequence[str] = (),
    max_turns: int = DEFAULT_TURNS,
    threshold: float = DEFAULT_THRESHOLD,
    on_turn: Callable[[Turn], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_text: Callable[[str], None] | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    on_progress=None,
) -> ThinkResult:
    """The loop itself; `Editor.think` is the door every flow uses (it prepares the inputs and
    raises when no turn produced an image). `inputs`: the editor's prepared Inputs."""
    out = ThinkResult()
    gathered, previous, current = list(feedback), None, instruction
    seen: dict[str, int] = {}  # plan signature -> the turn that ran it
    for index in range(1, max(1, max_turns) + 1):
        # a critic's fixes travel as feedback (the offline critic: "expand the mask"), which
        # every Builder reads; a model critic's refined instruction replaces the instruction
        turn = Turn(index, current, list(gathered))
        t0 = time.perf_counter()
        try:
            turn.plan = editor.plan(current, inputs, feedback=gathered, previous=previous, on_text=on_text)
            if on_plan is not None:
                on_plan(turn.plan)
            workflow = turn.plan.require(editor.builder.name)
            signature = plan_signature(turn.plan)
            if signature in seen:  # the fix changed nothing: running it again would repeat a turn
                out.stopped = (f"turn {index} would repeat turn {seen[signature]} (same steps and parameters): "
                               "no further fix to try")
                break
            seen[signature] = index
            turn.run = editor.run(workflow, inputs, on_progress=on_progress, instruction=instruction)
        except LegoError as exc:
            turn.exception = exc
        if turn.run is not None and turn.result is not None:
            turn.critique = critic.critique(inputs.image, turn.result, instruction, turn.plan, turn.run)
        turn.seconds = time.perf_counter() - t0
        out.turns.append(turn)
        if on_turn is not None:
            on_turn(turn)
        c = turn.critique
        if c is not None and (out.best is None or c.overall > out.turns[out.best].critique.overall):
            out.best = len(out.turns) - 1
        if turn.exception is not None:
            out.stopped = f"turn {index} failed: {turn.error}"
            break
        if c is None:
            out.stopped = f"turn {index} produced no image to judge"
            break
        if c.semantic >= threshold and c.quality >= threshold:
            out.stopped = f"good enough at turn {index} (semantic {c.semantic:.1f}, quality {c.quality:.1f})"
            break
        if not c.feedback and c.refined_instruction is None:
            out.stopped = f"turn {index}: the critic has no refinement to try"
            break
        if should_stop is not None and should_stop():
            out.stopped = f"stopped by the user after turn {index}"
            break
        if index == max_turns:
            out.stopped = f"turn budget of {max_turns} spent"
            break
        if c.feedback:
            gathered.extend(c.feedback)  # repeated fixes accumulate ("stronger" twice = +2)
        else:
            current = c.refined_instruction
        previous = turn.plan
    return out

"""The Critic contract (DESIGN): `critique(source, edited, instruction) -> Critique`.

Scores follow EditThinker / VIEScore: semantic (did the edit do what was asked) and quality
(is the image free of damage), each 0–10; overall = √(semantic · quality).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np


@dataclass
class Check:
    """One measured fact about the edit, and whether it meets its target."""

    name: str
    kind: str  # "semantic" or "quality"
    passed: bool
    value: float | None
    target: str
    detail: str = ""
    fix: str | None = None  # feedback a Builder understands that would address a failure
    cap: float | None = None  # when it fails, its kind's score is at most this (it decides the verdict)

    def __post_init__(self):
        # measured with numpy, kept as plain Python: traces and critiques are written as JSON
        self.passed = bool(self.passed)
        self.value = None if self.value is None else float(self.value)

    def line(self) -> str:
        mark = "ok" if self.passed else "FAILED"
        value = "" if self.value is None else f" = {self.value:.3g}"
        return f"[{mark}] {self.name}{value} (target {self.target}){': ' + self.detail if self.detail else ''}"


@dataclass
class Critique:
    semantic: float
    quality: float
    reasoning: str
    refined_instruction: str | None  # None = done, nothing to refine
    feedback: list[str] = field(default_factory=list)  # the refinement as Builder feedback
    checks: list[Check] = field(default_factory=list)

    def __post_init__(self):
        self.semantic, self.quality = float(self.semantic), float(self.quality)

    @property
    def overall(self) -> float:
        return math.sqrt(max(self.semantic, 0.0) * max(self.quality, 0.0))

    def to_json(self) -> dict:
        return {
            "semantic": round(self.semantic, 2),
            "quality": round(self.quality, 2),
            "overall": round(self.overall, 2),
            "reasoning": self.reasoning,
            "refined_instruction": self.refined_instruction,
            "feedback": self.feedback,
            "checks": [asdict(c) for c in self.checks],
        }


class Critic(Protocol):
    name: str

    def critique(
        self,
        source: np.ndarray,
        edited: np.ndarray,
        instruction: str,
        plan: Any = None,  # the Plan that produced the edit, when known
        run: Any = None,  # its RunResult (step outputs), when known
    ) -> Critique: ...

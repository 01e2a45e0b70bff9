"""What every Builder shares: the request it gets and the Plan it returns.

DESIGN contract: `plan(request, feedback=[], previous=None) -> Plan(reasoning, workflow | None,
declined | None)`. A Builder never returns a no-op: it plans a valid workflow or declines
with a reason that names what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..errors import Declined, InvalidWorkflow
from ..validate import Problem
from ..workflow import Workflow


@dataclass
class PlanRequest:
    instruction: str
    image: np.ndarray | None = None  # the Builder may look at it (size, content)
    has_mask: bool = False  # the user drew or gave a mask: init[mask] exists


@dataclass
class Plan:
    reasoning: str
    workflow: Workflow | None = None
    declined: str | None = None  # why not, when workflow is None
    problems: list[Problem] = field(default_factory=list)  # validation problems left, if any
    repairs: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.workflow is not None and self.declined is None and not self.problems

    def require(self, builder: str) -> Workflow:
        """The workflow to run, or the reason there is none: a decline (exit 3) or the
        validation problems the Builder could not repair (exit 2)."""
        if self.workflow is None:
            raise Declined(f"the {builder} Builder declined: {self.declined}")
        if self.problems:
            raise InvalidWorkflow(self.problems)
        return self.workflow

    def to_json(self) -> dict:
        return {
            "reasoning": self.reasoning,
            "workflow": self.workflow.to_json() if self.workflow is not None else None,
            "declined": self.declined,
            "problems": [p.to_json() for p in self.problems],
        }


class Builder(Protocol):
    name: str

    def plan(
        self,
        request: PlanRequest,
        feedback: Sequence[str] = (),
        previous: Plan | None = None,
        on_text: Callable[[str], None] | None = None,  # streamed reasoning, when the Builder streams
    ) -> Plan: ...

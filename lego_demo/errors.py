"""Errors meant for people: each says what was wrong and carries the CLI exit code.

Exit codes: 0 ok, 1 internal error, 2 bad input, 3 declined / cannot do here.
"""

from __future__ import annotations


class LegoError(Exception):
    """Base of every error the tool reports to a person."""

    exit_code = 1


class SpecError(LegoError):
    """A brick declaration is wrong (raised when its module loads)."""

    exit_code = 2


class BadInput(LegoError):
    """The user's input (image, workflow, flag) cannot be used as given."""

    exit_code = 2


class UnknownBrick(BadInput):
    def __init__(self, name: str, suggestions: list[str] | None = None):
        self.name = name
        self.suggestions = suggestions or []
        hint = f" (did you mean {', '.join(self.suggestions)}?)" if self.suggestions else ""
        super().__init__(f"unknown brick {name!r}{hint}")


class WorkflowParseError(BadInput):
    """No workflow JSON could be read from the text."""


class InvalidWorkflow(BadInput):
    """A workflow was read but breaks the registry's rules; `problems` lists each one."""

    def __init__(self, problems: list):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"the workflow has {len(self.problems)} problem(s):\n{lines}")


class CannotDo(LegoError):
    """An engine (or the whole tool) cannot do this request here; says why and what would."""

    exit_code = 3


class NotFound(CannotDo):
    """A finder (RES, SOS, MASK-SEG) ran and found nothing matching: a measured absence, unlike
    an engine that could not run at all. Critics read "the removed object is gone" from it."""


class StepTimeout(CannotDo):
    """A step ran past the step time limit (exit 3: it cannot be done here in that time)."""

    def __init__(self, seconds: float, how: str):
        super().__init__(f"took longer than the step time limit of {seconds:g} s and {how}")


class TooHeavy(CannotDo):
    """A run went past its budget of processing time (Executor `run_budget`): one request may
    not hold the server's processors for long; it names what to make smaller."""


class Declined(LegoError):
    """The Builder declined the request, with its reason."""

    exit_code = 3


class StepError(LegoError):
    """A workflow step failed while running; names the step, brick, engine and cause."""

    def __init__(self, step: int, brick: str, engine: str, cause: BaseException):
        self.step, self.brick, self.engine, self.cause = step, brick, engine, cause
        if isinstance(cause, LegoError):
            self.exit_code = cause.exit_code
            what = str(cause)
        else:  # a bug in the engine: say so (exit 1); the traceback is logged by the Executor
            what = f"internal error in the engine ({type(cause).__name__}: {cause}); details are in the log"
        super().__init__(f"step {step} ({brick}, engine {engine}) failed: {what}")


class StepCannotDo(StepError, CannotDo):
    """A step's engine cannot do this input here (exit 3); the reason says what would."""

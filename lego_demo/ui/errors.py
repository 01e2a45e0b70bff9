"""The one place that turns exceptions into what a person sees in the app (no tracebacks)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..errors import BadInput, CannotDo, Declined, InvalidWorkflow, LegoError, StepError

log = logging.getLogger("lego_demo.ui")


@dataclass
class UserMessage:
    level: str  # "warning": the person can fix it (input, plan, workflow); "error": a bug or a failed step
    title: str
    text: str
    problems: list[str]

    def markdown(self) -> str:
        lines = [f"**{self.title}:** {self.text}"]
        lines += [f"- {p}" for p in self.problems]
        return "\n".join(lines)

    def plain(self) -> str:
        return "\n".join([f"{self.title}: {self.text}", *(f"- {p}" for p in self.problems)])


def describe(exc: BaseException) -> UserMessage:
    """Map any exception to a message; unexpected ones are logged with their traceback."""
    if isinstance(exc, InvalidWorkflow):
        return UserMessage("warning", "Workflow not valid",
                           f"{len(exc.problems)} problem(s); fix them in the workflow box or re-plan",
                           [str(p) for p in exc.problems])
    if isinstance(exc, Declined):
        return UserMessage("warning", "Declined", str(exc), [])
    if isinstance(exc, StepError):
        return UserMessage("error", f"Step {exc.step} failed", str(exc), [])
    if isinstance(exc, CannotDo):
        return UserMessage("warning", "Cannot do this here", str(exc), [])
    if isinstance(exc, BadInput):
        return UserMessage("warning", "Bad input", str(exc), [])
    if isinstance(exc, LegoError):
        return UserMessage("error", "Error", str(exc), [])
    log.exception("internal error in the app", exc_info=exc)
    return UserMessage("error", "Internal error",
                       f"{type(exc).__name__}: {exc} (details are in the server log)", [])


def as_gradio_error(exc: BaseException):
    """A gr.Error for API endpoints: the client gets the message, never a traceback."""
    import gradio as gr

    msg = describe(exc)
    return gr.Error(msg.plain(), title=msg.title, print_exception=False)

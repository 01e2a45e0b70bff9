"""The one place that turns exceptions into what a person sees in the app (no tracebacks)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..errors import BadInput, CannotDo, Declined, InvalidWorkflow, LegoError, NotFound, StepError

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


def describe(exc: BaseException, workflow=None, registry=None) -> UserMessage:
    """Map any exception to a message that says what went wrong and what to do next;
    unexpected ones are logged with their traceback. `workflow` and `registry` (when the
    error came from a run) let a failed finder name what it could not find."""
    if isinstance(exc, InvalidWorkflow):
        return UserMessage("warning", "Workflow not valid",
                           f"{len(exc.problems)} problem(s); fix them in the workflow box or re-plan",
                           [str(p) for p in exc.problems])
    if isinstance(exc, Declined):
        reason = str(exc).rstrip(".")
        hint = "" if any(w in reason for w in ("paint", "mask")) else \
            ": rephrase the instruction, or paint over the area to edit and press Plan & run"
        return UserMessage("warning", "Declined", reason + hint, [])
    if isinstance(exc, StepError):
        target = _finder_target(exc, workflow, registry)
        if target is not None and isinstance(exc.cause, CannotDo):
            cause = str(exc.cause)
            found_nothing = isinstance(exc.cause, NotFound)
            head = f"I can't find '{target}' " + ("in this image" if found_nothing else "without a model")
            nxt = "" if "paint over" in cause.lower() else (
                ": check the words, or paint over it and press Plan & run" if found_nothing else
                ": paint over it and press Plan & run (or configure a segmentation model, docs/MODELS.md)")
            return UserMessage("warning", f"Step {exc.step} " + ("found nothing" if found_nothing else "cannot run here"),
                               f"{head}{nxt}. {cause}", [])
        says_what = any(w in str(exc) for w in ("docs/", "needed", "paint", "mask"))  # the cause names a way out
        nxt = (f" Re-plan with the feedback \"don't use {exc.brick}\", or edit the workflow."
               if isinstance(exc, CannotDo) and not says_what else "")
        return UserMessage("error", f"Step {exc.step} failed", f"{exc}.{nxt}", [])
    if isinstance(exc, CannotDo):
        return UserMessage("warning", "Cannot do this here", str(exc), [])
    if isinstance(exc, BadInput):
        return UserMessage("warning", "Bad input", str(exc), [])
    if isinstance(exc, LegoError):
        return UserMessage("error", "Error", str(exc), [])
    log.exception("internal error in the app", exc_info=exc)
    return UserMessage("error", "Internal error",
                       f"{type(exc).__name__}: {exc} (details are in the server log)", [])


def _finder_target(exc: StepError, workflow, registry) -> str | None:
    """The words a failed finder (a predict brick given a prompt) was asked to find."""
    if workflow is None or registry is None:
        return None
    step = workflow.step(exc.step)
    if step is None:
        return None
    try:
        kind = registry.get(step.brick).kind
    except LegoError:  # a brick this registry does not know: nothing to name
        return None
    prompt = step.inputs.get("prompt")
    return prompt.strip() if kind == "predict" and isinstance(prompt, str) and prompt.strip() else None


def as_gradio_error(exc: BaseException):
    """A gr.Error for API endpoints: the client gets the message, never a traceback."""
    import gradio as gr

    msg = describe(exc)
    return gr.Error(msg.plain(), title=msg.title, print_exception=False)

"""The app's named API (and MCP tools): /edit, /plan, /run_workflow, /think_edit. Stateless: each call
brings its own image, so clients never share anything but the content-addressed step cache.
Images and masks arrive as the uploaded bytes (uploads.hand_over_bytes) and are read by
`Editor.prepare`, as in the CLI.

The functions are built per app (they close over its `Editors`) and keep these exact names:
Gradio's MCP server names each tool after its function and describes it from the docstring.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from ..errors import BadInput
from .errors import as_gradio_error
from .session import MAX_THINK_TURNS, Editors, parse_feedback
from .views import png_result, trace_json


def _turns(value, name: str) -> int:
    try:
        n = int(value if value is not None else 1)
    except (TypeError, ValueError):
        raise BadInput(f"{name} must be a whole number from 1 to {MAX_THINK_TURNS}, not {value!r}") from None
    if not 1 <= n <= MAX_THINK_TURNS:
        raise BadInput(f"{name} must be from 1 to {MAX_THINK_TURNS}, not {n}")
    return n


def make_api(editors: Editors) -> dict[str, Callable]:
    """The endpoint functions, ready for `.click(fn, ..., api_name=name)`."""

    def edit(image: bytes, instruction: str, mask: bytes | None = None, feedback: str = "",
             think_turns: int = 1):
        """Edit an image from an English instruction: the Builder plans a workflow of bricks and the Executor runs it.

        Args:
            image: the image to edit.
            instruction: what to change, in English, e.g. "remove the red circle" or "make the blue square green".
            mask: optional mask image (white = the area the edit should apply to).
            feedback: optional feedback for the Builder, one item per line, e.g. "don't use RES".
            think_turns: Think-while-Edit turns, 1 to 5 (default 1 = a plain edit); above 1 a critic scores each result, its refinement feeds the next turn, and the best turn is returned (its turns and scores: /think_edit).

        Returns:
            The edited image, the workflow that produced it (Lego-Edit JSON), and the Builder's reasoning.
        """
        try:
            editor = editors.get()
            inputs = editor.prepare(image, mask)
            turns = _turns(think_turns, "think_turns")
            if turns > 1:
                best = editor.think(instruction, inputs, feedback=parse_feedback(feedback), turns=turns).best_turn
                return png_result(best.run.first_image()), best.run.workflow.dumps(), best.plan.reasoning
            plan, result = editor.edit(instruction, inputs, feedback=parse_feedback(feedback))
            return png_result(result.first_image()), result.workflow.dumps(), plan.reasoning
        except Exception as exc:
            raise as_gradio_error(exc) from None

    def think_edit(image: bytes, instruction: str, mask: bytes | None = None, feedback: str = "",
                   turns: int = 3):
        """Think-while-Edit: edit, let a critic score the result, refine the plan with its feedback, repeat; returns the best turn.

        Args:
            image: the image to edit.
            instruction: what to change, in English, e.g. "remove the red circle".
            mask: optional mask image (white = the area the edit should apply to).
            feedback: optional feedback for the Builder, one item per line, e.g. "don't use RES".
            turns: at most this many turns, 1 to 5 (default 3); the loop stops early when both scores reach 8 of 10 or the critic has nothing to refine.

        Returns:
            The best turn's image, and JSON {"turns": [{"turn", "instruction", "feedback", "reasoning", "workflow", "executed", "cached", "critique": {"semantic", "quality", "overall", "reasoning", "refined_instruction", "feedback", "checks"}, "error", "seconds"}], "best_turn": n, "stopped": why}.
        """
        try:
            editor = editors.get()
            outcome = editor.think(instruction, editor.prepare(image, mask), feedback=parse_feedback(feedback),
                                   turns=_turns(turns, "turns"))
            text = json.dumps(outcome.to_json(), indent=2, ensure_ascii=False)
            return png_result(outcome.best_turn.run.first_image()), text
        except Exception as exc:
            raise as_gradio_error(exc) from None

    def plan(image: bytes, instruction: str, mask: bytes | None = None, feedback: str = ""):
        """Plan an edit without running it: returns the workflow the Builder would run, or why it declines.

        Args:
            image: the image to edit.
            instruction: what to change, in English, e.g. "remove the red circle".
            mask: optional mask image (white = the area the edit should apply to).
            feedback: optional feedback for the Builder, one item per line, e.g. "don't use RES".

        Returns:
            The workflow as Lego-Edit JSON ("" when declined), the Builder's reasoning, and the reason it declined ("" when it planned).
        """
        try:
            editor = editors.get()
            p = editor.plan(instruction, editor.prepare(image, mask), feedback=parse_feedback(feedback))
            if p.workflow is None:
                return "", p.reasoning, p.declined or "declined"
            return p.require(editor.builder.name).dumps(), p.reasoning, ""
        except Exception as exc:
            raise as_gradio_error(exc) from None

    def run_workflow(image: bytes, workflow: str, mask: bytes | None = None):
        """Run a workflow (Lego-Edit JSON, e.g. from /plan or written by hand) on an image.

        Args:
            image: the input image (init[image] in the workflow).
            workflow: the workflow JSON: {"process": ..., "pipeline": [{"step": 1, "model": "RES", ...}, ..., {"result": "[step2[image]]"}]}.
            mask: optional mask image (init[mask] in the workflow; white = selected).

        Returns:
            The first result image and the run's trace as JSON (per step: brick, engine, seconds, cache hit).
        """
        try:
            editor = editors.get()
            result = editor.run(workflow, editor.prepare(image, mask))
            return png_result(result.first_image()), trace_json(result)
        except Exception as exc:
            raise as_gradio_error(exc) from None

    return {"edit": edit, "plan": plan, "run_workflow": run_workflow, "think_edit": think_edit}

"""The app's named API (and MCP tools): /edit, /plan, /run_workflow, /think_edit. Stateless: each call
brings its own image, so clients never share anything but the content-addressed step cache.

The functions are built per app (they close over its `Editors`) and keep these exact names:
Gradio's MCP server names each tool after its function and describes it from the docstring.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np

from ..errors import BadInput, Declined, InvalidWorkflow
from ..images import load_image, load_mask
from ..think import ThinkResult, think_while_edit
from .errors import as_gradio_error
from .session import MAX_THINK_TURNS, Editors, check_workflow, parse_feedback
from .views import trace_json


def _inputs(image, mask) -> tuple[np.ndarray, np.ndarray | None]:
    if image is None:
        raise BadInput("no image given")
    arr = load_image(image)
    m = None
    if mask is not None:
        m = load_mask(np.asarray(mask), (arr.shape[1], arr.shape[0]))
        if not m.any():
            m = None
    return arr, m


def _first_image(results: list) -> np.ndarray | None:
    for value in results:
        if isinstance(value, np.ndarray) and value.dtype == np.uint8:
            return value
    for value in results:
        if isinstance(value, np.ndarray):
            return np.where(value, 255, 0).astype(np.uint8)
    return None


def _turns(value, name: str) -> int:
    try:
        n = int(value if value is not None else 1)
    except (TypeError, ValueError):
        raise BadInput(f"{name} must be a whole number from 1 to {MAX_THINK_TURNS}, not {value!r}") from None
    if not 1 <= n <= MAX_THINK_TURNS:
        raise BadInput(f"{name} must be from 1 to {MAX_THINK_TURNS}, not {n}")
    return n


def _json_default(value):
    return value.item() if hasattr(value, "item") else str(value)  # numpy scalars in checks


def make_api(editors: Editors) -> dict[str, Callable]:
    """The endpoint functions, ready for `.click(fn, ..., api_name=name)`."""

    def _think(arr, m, instruction: str, feedback: str, turns: int) -> ThinkResult:
        outcome = think_while_edit(editors.get(), editors.critic, instruction, arr, m,
                                   feedback=parse_feedback(feedback), max_turns=turns)
        if outcome.best_turn is None:
            first = outcome.turns[0]
            raise first.exception or Declined(f"the edit produced no image to judge ({outcome.stopped})")
        return outcome

    def edit(image: np.ndarray, instruction: str, mask: np.ndarray | None = None, feedback: str = "",
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
            arr, m = _inputs(image, mask)
            turns = _turns(think_turns, "think_turns")
            if turns > 1:
                best = _think(arr, m, instruction, feedback, turns).best_turn
                return _first_image(best.run.results), best.run.workflow.dumps(), best.plan.reasoning
            plan, result = editors.get().edit(instruction, arr, m, feedback=parse_feedback(feedback))
            return _first_image(result.results), result.workflow.dumps(), plan.reasoning
        except Exception as exc:
            raise as_gradio_error(exc) from None

    def think_edit(image: np.ndarray, instruction: str, mask: np.ndarray | None = None, feedback: str = "",
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
            arr, m = _inputs(image, mask)
            outcome = _think(arr, m, instruction, feedback, _turns(turns, "turns"))
            text = json.dumps(outcome.to_json(), indent=2, ensure_ascii=False, default=_json_default)
            return _first_image(outcome.best_turn.run.results), text
        except Exception as exc:
            raise as_gradio_error(exc) from None

    def plan(image: np.ndarray, instruction: str, mask: np.ndarray | None = None, feedback: str = ""):
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
            arr, m = _inputs(image, mask)
            p = editors.get().plan(instruction, arr, m, feedback=parse_feedback(feedback))
            if p.workflow is None:
                return "", p.reasoning, p.declined or "declined"
            if p.problems:
                raise InvalidWorkflow(p.problems)
            return p.workflow.dumps(), p.reasoning, ""
        except Exception as exc:
            raise as_gradio_error(exc) from None

    def run_workflow(image: np.ndarray, workflow: str, mask: np.ndarray | None = None):
        """Run a workflow (Lego-Edit JSON, e.g. from /plan or written by hand) on an image.

        Args:
            image: the input image (init[image] in the workflow).
            workflow: the workflow JSON: {"process": ..., "pipeline": [{"step": 1, "model": "RES", ...}, ..., {"result": "[step2[image]]"}]}.
            mask: optional mask image (init[mask] in the workflow; white = selected).

        Returns:
            The first result image and the run's trace as JSON (per step: brick, engine, seconds, cache hit).
        """
        try:
            arr, m = _inputs(image, mask)
            editor = editors.get()
            wf = check_workflow(editor, workflow, has_mask=m is not None)
            result = editor.run(wf, arr, m)
            return _first_image(result.results), trace_json(result)
        except Exception as exc:
            raise as_gradio_error(exc) from None

    return {"edit": edit, "plan": plan, "run_workflow": run_workflow, "think_edit": think_edit}


def declined_text(exc: Declined) -> str:
    return json.dumps({"declined": str(exc)})

"""The workflow canvas: the plan as nodes with typed ports that a person can touch.

`workflow_canvas()` is a `gr.HTML` block with its own JavaScript (static/canvas.js) and CSS;
nothing loads from the network. Its value is the JSON view `canvas_view.py` computes; the
page sends every change back as an `edit` event (an op, applied by `canvas_edits.py` to the
workflow JSON, so the JSON box and the canvas stay in sync both ways) and `submit` to run.
`canvas_value` and `edit_workflow` are what a page's handlers call; `canvas_demo` is a small
page with only the canvas, the JSON and the result (browser tests, and a look without the app).

Why not `gr.WorkflowCanvas` (gradio 6.31): tried in a Blocks page, it covers the whole window
(a fixed full-screen layer), runs each node itself from the browser through endpoints that
only `gr.Workflow` registers (so our Executor, step cache and trace would be bypassed), keeps
its own JSON schema, and brings Hugging Face controls (token box, Spaces templates) that mean
nothing offline. Its typed ports would have fitted; the rest does not.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import gradio as gr

from ..editor import Editor
from ..errors import LegoError, StepError
from ..executor import RunResult
from .canvas_edits import apply_edit
from .canvas_view import canvas_view, empty_view
from .errors import describe
from .events import stream
from .session import Editors, Session
from .views import trace_json

STATIC = Path(__file__).with_name("static")
EMPTY = {"process": "", "pipeline": []}


def canvas_value(editor: Editor, text: str | None, has_mask: bool = False, run: RunResult | None = None,
                 live: Mapping[int, str] | None = None, failure: tuple[int, str] | None = None,
                 notice: str | None = None, focus: int | None = None, ack: Any = None) -> str:
    """The canvas's value for the workflow in `text` (blank: an empty workflow to build on).
    `run` must be the last run on the current input (its matching steps show their results);
    `ack` echoes the number of the edit this value answers (the canvas sends edits one at a time)."""
    blank = not (text and text.strip())
    try:
        parsed, checked = editor.read_workflow(EMPTY if blank else text, has_mask=has_mask)
    except LegoError as exc:
        view = empty_view(f"The workflow JSON cannot be read, so the canvas shows nothing: {exc}", editor.registry)
    else:
        view = canvas_view(checked.workflow, [] if blank else checked.problems, editor.registry, has_mask=has_mask,
                           run=run, live=live, failure=failure)
        if blank:
            view["message"] = "No workflow yet: plan an edit, or build one here with + Add brick."
    if notice:
        view["notice"] = notice
    if focus is not None:
        view["focus"] = focus
    if ack is not None:
        view["ack"] = ack
    return json.dumps(view, ensure_ascii=False)


def edit_workflow(editor: Editor, text: str | None, op: Mapping[str, Any], has_mask: bool = False) -> tuple[str, int | None]:
    """The workflow JSON after one canvas edit, and the step to focus; BadInput when the edit
    makes no sense, WorkflowParseError when the JSON cannot be read."""
    _, checked = editor.read_workflow(text if text and text.strip() else EMPTY, has_mask=has_mask)
    workflow, focus = apply_edit(checked.workflow, op, editor.registry)
    return workflow.dumps(), focus


def answer_edit(editor: Editor, text: str | None, op: Any, has_mask: bool, run: RunResult | None) -> tuple[Any, str]:
    """A page's answer to one canvas edit: (the new JSON text, or gr.skip() when the edit was
    refused, and the canvas value, which says why)."""
    op = op if isinstance(op, dict) else {}
    try:
        new_text, focus = edit_workflow(editor, text, op, has_mask)
    except Exception as exc:  # the canvas waits for an answer to every edit
        return gr.skip(), canvas_value(editor, text, has_mask, run, notice=describe(exc).plain(), ack=op.get("seq"))
    return new_text, canvas_value(editor, new_text, has_mask, run, focus=focus, ack=op.get("seq"))


def failure_of(exc: BaseException) -> tuple[int, str] | None:
    """(step, message) for a run that failed at a step; None for other errors."""
    if isinstance(exc, StepError):
        return exc.step, str(exc.cause)
    return None


def workflow_canvas(value: str = "", elem_id: str = "lego-canvas", **kwargs) -> gr.HTML:
    css = (STATIC / "canvas.css").read_text(encoding="utf-8")
    script = (STATIC / "canvas.js").read_text(encoding="utf-8")
    return gr.HTML(value=value, html_template=f'<style>{css}</style><div class="lc-root"></div>', js_on_load=script,
                   apply_default_css=False, container=False, padding=False, elem_id=elem_id, **kwargs)


# -- in the app: the session's workflow, input and selected run ----------------------------------
def shown_run(session: Session) -> RunResult | None:
    """The run the canvas shows: the selected turn's, if it ran on the current input."""
    turn = session.turns[session.selected] if session.selected is not None and session.turns else None
    if turn is None or session.inputs is None or turn.inputs.key != session.inputs.key:
        return None
    return turn.run


def session_canvas(editors: Editors, session: Session, text: str | None, **kwargs) -> str:
    return canvas_value(editors.get(session.builder), text, session.mask is not None, shown_run(session), **kwargs)


def session_edit(editors: Editors, session: Session, text: str | None, op: Any) -> tuple[Any, str]:
    return answer_edit(editors.get(session.builder), text, op, session.mask is not None, shown_run(session))


# -- a page with only the canvas ---------------------------------------------------------------
def canvas_demo(editor: Editor, image: Any, workflow: str = "", mask: Any = None) -> gr.Blocks:
    """The canvas beside its JSON, the result and the run's trace, on one fixed input."""
    inputs = editor.prepare(image, mask)
    has_mask = inputs.mask is not None

    def on_edit(text: str, last: RunResult | None, evt: gr.EventData):
        return answer_edit(editor, text, evt._data, has_mask, last)

    def on_code(text: str, last: RunResult | None):
        return canvas_value(editor, text, has_mask, last)

    def on_run(text: str, last: RunResult | None) -> Iterator[tuple]:
        live: dict[int, str] = {}
        yield gr.skip(), canvas_value(editor, text, has_mask, last, live={}), gr.skip(), gr.skip(), "Running…"
        try:
            for ev in stream(lambda emit: editor.run(text, inputs, on_progress=lambda e: emit("step", e))):
                if ev.kind == "step":
                    live[ev.payload.step] = ev.payload.status
                    yield gr.skip(), canvas_value(editor, text, has_mask, last, live=live), gr.skip(), gr.skip(), gr.skip()
                elif ev.kind == "return":
                    run: RunResult = ev.payload
                    done = (f"Done in {run.seconds:.2f} s: executed step(s) {run.executed or 'none'}, "
                            f"cached step(s) {run.cached or 'none'}.")
                    yield run, canvas_value(editor, text, has_mask, run), run.first_image(), trace_json(run), done
        except Exception as exc:
            msg = describe(exc)
            yield (gr.skip(), canvas_value(editor, text, has_mask, last, failure=failure_of(exc), notice=msg.plain()),
                   gr.skip(), gr.skip(), msg.markdown())

    with gr.Blocks(title="Lego-Edit workflow canvas") as demo:
        last = gr.State(None)
        gr.Markdown("## Workflow canvas\nClick a node to see and change it; wire ports by dragging; ▶ Run runs "
                    "only what changed (the rest comes from the step cache, shown blue).")
        with gr.Row(equal_height=False):
            gr.Image(inputs.image, label="Input", interactive=False, height=220, elem_id="lego-canvas-input")
            result = gr.Image(label="Result", type="numpy", format="png", interactive=False, height=220,
                              elem_id="lego-canvas-result")
        status = gr.Markdown("", elem_id="lego-canvas-status")
        canvas = workflow_canvas(canvas_value(editor, workflow, has_mask))
        with gr.Row(equal_height=False):
            code = gr.Code(workflow, label="Workflow JSON (edits here redraw the canvas)", language="json",
                           interactive=True, lines=14, max_lines=30, elem_id="lego-canvas-code")
            trace = gr.Textbox("", label="Trace of the last run (JSON)", interactive=False, lines=14,
                               max_lines=30, elem_id="lego-canvas-trace")
        quick = {"queue": False, "show_progress": "hidden", "api_visibility": "private"}
        # the canvas sends one edit at a time itself; typed JSON: the last keystroke's text wins
        canvas.edit(on_edit, [code, last], [code, canvas], trigger_mode="multiple", **quick)
        code.input(on_code, [code, last], [canvas], trigger_mode="always_last", **quick)
        canvas.submit(on_run, [code, last], [last, canvas, result, trace, status], show_progress="hidden",
                      api_visibility="private")
    return demo

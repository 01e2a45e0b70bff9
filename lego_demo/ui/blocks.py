"""The Gradio page: an editing view, the bricks table, the named API. Handlers are thin:
they call Session methods (session.py) and render with views.py; errors go through
errors.describe so people see a message, never a traceback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import gradio as gr

from ..editor import Editor
from ..images import MAX_FILE_BYTES
from .api import make_api
from .canvas import canvas_value, session_canvas, session_edit, workflow_canvas
from .errors import describe
from .examples import available_examples
from .session import (
    MAX_THINK_TURNS,
    Editors,
    Event,
    Session,
    ThinkRun,
    edit_events,
    read_editor_value,
    run_events,
    think_events,
)
from .views import (
    bricks_markdown,
    critique_markdown,
    feedback_markdown,
    gallery_items,
    graph_image,
    history_items,
    problems_markdown,
    step_line,
    think_status,
    think_strip_items,
    think_strip_markdown,
    turn_status,
)

TITLE = "Lego-Edit — instruction-based image editing with typed bricks"
GRAPH_REFRESH_S = 0.3  # re-draw the running graph at most this often (a draw takes ~0.2 s)

CSS = """
#lego-header h1 { margin-bottom: 0.2em; }
#lego-header p { margin-top: 0; color: var(--body-text-color-subdued); }
#lego-status { min-height: 2.5em; }
#lego-run-btn, #lego-replan-btn { min-height: 44px; }
#lego-think-strip .grid-container { grid-template-columns: repeat(5, minmax(100px, 1fr)) !important; }
#lego-think-strip .caption-label { white-space: normal !important; font-size: 0.8em; }
#lego-history .grid-container { grid-template-columns: repeat(6, minmax(100px, 1fr)) !important; }
#lego-steps .grid-container { grid-template-columns: repeat(4, minmax(100px, 1fr)) !important; }
#lego-steps .caption-label, #lego-history .caption-label {
    white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
    opacity: 0.95 !important; font-size: 0.8em; line-height: 1.25;
}
"""

INTRO = (
    "# Lego-Edit demo\n"
    "Type what to change. The **Builder** reads the image and your instruction, explains its reasoning and "
    "writes a **workflow** of bricks (segment → inpaint → …); the **Executor** runs it step by step. "
    "Not what you wanted? Give **feedback** (e.g. “don't use RES”) and re-plan — steps that did not change "
    "come from the cache. Paint on the image to restrict the edit to an area. With **Think-while-Edit** "
    "turns above 1, a critic scores each result and its refinement feeds the next turn; the best turn wins."
)


def build_app(editor: Editor, title: str = TITLE) -> gr.Blocks:
    editors = Editors(editor)
    registry = editors.registry

    with gr.Blocks(title=title, fill_width=True) as demo:
        state = gr.State(None)
        feedback = gr.Textbox(  # rendered in the right column; made here so the examples can fill it
            label="Feedback for the Builder", placeholder="e.g. don't use RES",
            lines=1, max_lines=3, scale=4, elem_id="lego-feedback", render=False,
        )
        gr.Markdown(INTRO, elem_id="lego-header")
        with gr.Tabs():
            with gr.Tab("Edit", id="edit"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=1):
                        image_in = gr.ImageMask(
                            label="Input image — paint over an area to give a mask (optional)",
                            type="numpy", image_mode="RGBA", format="png", height=460,
                            sources=("upload", "clipboard"), transforms=(), layers=False,
                            brush=gr.Brush(colors=["#ff3b30"], color_mode="fixed", default_size=28),
                            elem_id="lego-input",
                        )
                        instruction = gr.Textbox(
                            label="Instruction", placeholder="e.g. remove the red circle", lines=1, max_lines=3,
                            elem_id="lego-instruction",
                        )
                        with gr.Row(equal_height=True):
                            think_turns = gr.Slider(
                                1, MAX_THINK_TURNS, value=1, step=1, label="Think-while-Edit turns",
                                info="1 = plain edit; more: critique each result and refine, keep the best",
                                scale=4, elem_id="lego-think-turns",
                            )
                            stop_btn = gr.Button("■ Stop", scale=1, interactive=False, elem_id="lego-stop-btn")
                        run_btn = gr.Button("▶ Plan & run", variant="primary", elem_id="lego-run-btn")
                    with gr.Column(scale=1):
                        result_img = gr.Image(label="Result", type="numpy", format="png", height=460,
                                              interactive=False, elem_id="lego-result")
                        status = gr.Markdown("", elem_id="lego-status")
                        with gr.Row(equal_height=True):
                            feedback.render()
                            replan_btn = gr.Button("↻ Re-plan", scale=1, elem_id="lego-replan-btn")
                        feedback_md = gr.Markdown(feedback_markdown(Session()), elem_id="lego-feedback-list")
                examples = available_examples()
                if examples:
                    gr.Examples(
                        examples=[[str(e.path), e.instruction, e.feedback] for e in examples],
                        inputs=[image_in, instruction, feedback],
                        label="Examples that run offline: pick one, press Plan & run "
                              "(with feedback: press Re-plan afterwards)",
                        examples_per_page=8, elem_id="lego-examples",
                    )
                with gr.Accordion("Think-while-Edit turns", open=True, elem_id="lego-think-acc"):
                    with gr.Row(equal_height=False):
                        with gr.Column(scale=3):
                            think_md = gr.Markdown(think_strip_markdown(None), elem_id="lego-think-turns-list")
                            think_gallery = gr.Gallery(
                                label="Turn strip (turn · semantic · quality; ★ = best)", columns=5, height="auto",
                                object_fit="contain", allow_preview=False, elem_id="lego-think-strip",
                            )
                        with gr.Column(scale=2):
                            critique_md = gr.Markdown("", elem_id="lego-critique")
                with gr.Row(equal_height=False):
                    with gr.Column(scale=2):
                        graph = gr.Image(label="Workflow graph (grey pending · yellow running · green done · "
                                               "blue cached · red failed)",
                                         type="pil", interactive=False, height=300, elem_id="lego-graph")
                    with gr.Column(scale=1):
                        reasoning = gr.Textbox(label="Builder's reasoning", lines=8, max_lines=16,
                                               interactive=False, elem_id="lego-reasoning")
                with gr.Accordion("Workflow canvas — click a node to see or change it, wire ports, add or delete "
                                  "bricks; ▶ Run re-runs only what changed", open=True, elem_id="lego-canvas-acc"):
                    canvas = workflow_canvas(canvas_value(editor, ""))
                gallery = gr.Gallery(label="Every step's outputs (step · brick · engine · time)", columns=4,
                                     height="auto", object_fit="contain", elem_id="lego-steps")
                with gr.Accordion("Workflow JSON — edit it and run it yourself", open=False, elem_id="lego-wf-acc"):
                    with gr.Row(equal_height=False):
                        with gr.Column(scale=3):
                            code = gr.Code(label="Workflow (official Lego-Edit JSON)", language="json",
                                           interactive=True, lines=16, max_lines=30, elem_id="lego-code")
                        with gr.Column(scale=2):
                            problems = gr.Markdown("", elem_id="lego-problems")
                            run_wf_btn = gr.Button("▶ Run this workflow", elem_id="lego-run-wf-btn")
                with gr.Accordion("History", open=True):
                    history = gr.Gallery(label="Turns (click one to select it)", columns=6, height=300,
                                         object_fit="contain", allow_preview=False, elem_id="lego-history")
                    with gr.Row():
                        use_btn = gr.Button("Use selected result as the new input", elem_id="lego-use-btn")
                        undo_btn = gr.Button("↶ Undo", elem_id="lego-undo-btn")
            with gr.Tab("Bricks", id="bricks"):
                with gr.Row():
                    builder_dd = gr.Dropdown(
                        choices=editors.names, value=editors.default, label="Builder",
                        info="'rule' is the offline Builder; others appear when configured.", scale=1,
                    )
                    gr.Markdown(
                        "The Builder plans only with bricks that have an engine here. Engines are chosen by "
                        "config and availability; the **active** one runs. Add a brick with "
                        "`python app.py --bricks my_brick.py`.",
                    )
                gr.Markdown(bricks_markdown(registry), elem_id="lego-bricks")
            with gr.Tab("API", id="api"):
                gr.Markdown(_api_help())

        # -- hidden API surface: named endpoints for gradio_client and MCP -------------------------
        demo.lego_editors = editors  # for operators and tests: the shared editors (registry, step cache)
        api = make_api(editors)
        with gr.Row(visible=False):
            a_image = gr.Image(type="numpy", label="image")
            a_instruction = gr.Textbox(label="instruction")
            a_mask = gr.Image(type="numpy", label="mask")
            a_feedback = gr.Textbox(label="feedback", value="")
            a_workflow_in = gr.Textbox(label="workflow")
            a_result = gr.Image(type="numpy", format="png", label="result")
            a_workflow = gr.Textbox(label="workflow JSON")
            a_reasoning = gr.Textbox(label="reasoning")
            a_declined = gr.Textbox(label="declined")
            a_trace = gr.Textbox(label="trace JSON")
            a_think_turns = gr.Number(value=1, precision=0, label="think_turns")
            a_turns = gr.Number(value=3, precision=0, label="turns")
            a_turns_json = gr.Textbox(label="turns JSON")
            a_btns = [gr.Button(visible=False) for _ in range(4)]
        # every event that plans or runs shares one queue limit (demo.queue's default), so it
        # bounds edits across all sessions and endpoints; heavy model calls inside them wait for
        # their device or server in the Executor (lego_demo/slots.py), classical steps do not
        edits = {"concurrency_id": "edits"}
        a_btns[0].click(api["edit"], [a_image, a_instruction, a_mask, a_feedback, a_think_turns],
                        [a_result, a_workflow, a_reasoning], api_name="edit", **edits)
        a_btns[1].click(api["plan"], [a_image, a_instruction, a_mask, a_feedback],
                        [a_workflow, a_reasoning, a_declined], api_name="plan", **edits)
        a_btns[2].click(api["run_workflow"], [a_image, a_workflow_in, a_mask],
                        [a_result, a_trace], api_name="run_workflow", **edits)
        a_btns[3].click(api["think_edit"], [a_image, a_instruction, a_mask, a_feedback, a_turns],
                        [a_result, a_turns_json], api_name="think_edit", **edits)

        # -- UI handlers ---------------------------------------------------------------------------
        run_outputs = [state, reasoning, graph, code, problems, gallery, result_img, status, feedback_md,
                       history, feedback, think_md, think_gallery, critique_md, stop_btn]

        def session_of(s: Session | None) -> Session:
            return s if isinstance(s, Session) else Session(builder=editors.default)

        def stream_run(session: Session, events: Iterator[Event], progress: gr.Progress,
                       clear_feedback_box: bool = False, thinking: int = 0) -> Iterator[dict]:
            """Turn a stream of session events into page updates. `thinking`: the number of
            Think-while-Edit turns (0 = a single run)."""
            workflow = None
            steps: dict[int, str] = {}
            lines: list[str] = []
            last_draw = 0.0
            n_plans = 0
            first: dict[Any, Any] = {state: session, status: "Planning…", problems: "",
                                     feedback_md: feedback_markdown(session)}
            if thinking:
                first.update({status: f"Think-while-Edit turn 1 of {thinking}: planning…", think_gallery: [],
                              think_md: f"**Think-while-Edit — 0 of {thinking} turn(s) (running…)**",
                              critique_md: "", stop_btn: gr.Button("■ Stop", interactive=True)})
            yield first
            try:
                for ev in events:
                    if ev.kind == "text":
                        yield {reasoning: ev.payload}
                    elif ev.kind == "plan":
                        n_plans += 1
                        workflow = ev.payload.workflow
                        where = f"Think-while-Edit turn {n_plans} of {thinking}: " if thinking else ""
                        if workflow is None:  # declined: the error follows
                            yield {reasoning: ev.payload.reasoning}
                            continue
                        steps = {s.number: "pending" for s in workflow.steps}
                        lines = []
                        last_draw = time.monotonic()
                        yield {reasoning: ev.payload.reasoning, code: workflow.dumps(),
                               graph: graph_image(workflow, registry, steps), status: where + "running the workflow…",
                               feedback_md: feedback_markdown(session)}
                    elif ev.kind == "step":
                        e = ev.payload
                        steps[e.step] = e.status
                        if e.status != "running":
                            lines.append(step_line(e))
                        where = f"turn {n_plans}/{thinking} · " if thinking else ""
                        progress((e.index - (e.status == "running"), e.total),
                                 desc=f"{where}step {e.step} · {e.brick} · {e.status}")
                        now = time.monotonic()
                        prefix = f"Think-while-Edit turn {n_plans} of {thinking}: " if thinking else "Running: "
                        update: dict[Any, Any] = {status: prefix + (lines[-1] if lines else step_line(e))}
                        if now - last_draw >= GRAPH_REFRESH_S:
                            update[graph] = graph_image(workflow, registry, steps)
                            last_draw = now
                        yield update
                    elif ev.kind == "think_turn":
                        t = ev.payload
                        run = session.last_think
                        update = {state: session, think_md: think_strip_markdown(run),
                                  think_gallery: think_strip_items(run), critique_md: critique_markdown(t),
                                  history: history_items(session), feedback_md: feedback_markdown(session)}
                        if t.result is not None:
                            update[result_img] = t.result
                        if t.run is not None:
                            update[gallery] = gallery_items(t.run)
                            update[graph] = graph_image(t.run.workflow, registry, t.run.status())
                        c = t.critique
                        if c is not None:
                            nxt = (f" Refining: {', '.join(c.feedback)}…" if c.feedback and t.index < thinking else "")
                            update[status] = (f"Think-while-Edit turn {t.index} of {thinking}: semantic "
                                              f"{c.semantic:.1f} · quality {c.quality:.1f}.{nxt}")
                        yield update
                    elif ev.kind == "return" and isinstance(ev.payload, ThinkRun):
                        run = ev.payload
                        turn = session.turns[session.selected]
                        best = run.best_turn
                        yield {
                            state: session, graph: graph_image(turn.workflow, registry,
                                                               {s: "cached" for s in turn.cached}
                                                               | {s: "done" for s in turn.executed}),
                            code: turn.workflow.dumps(), gallery: gallery_items(turn.run), reasoning: turn.reasoning,
                            result_img: turn.result_image, status: think_status(run, turn),
                            history: history_items(session), feedback_md: feedback_markdown(session),
                            think_md: think_strip_markdown(run), think_gallery: think_strip_items(run),
                            critique_md: critique_markdown(best), stop_btn: gr.Button("■ Stop", interactive=False),
                        }
                    elif ev.kind == "return":
                        turn = ev.payload
                        final = {s: ("cached" if s in turn.cached else "done") for s in steps}
                        update = {
                            state: session, graph: graph_image(turn.workflow, registry, final),
                            code: turn.workflow.dumps(), gallery: gallery_items(turn.run),
                            result_img: turn.result_image, status: turn_status(turn),
                            history: history_items(session), feedback_md: feedback_markdown(session),
                        }
                        if clear_feedback_box:
                            update[feedback] = ""
                        yield update
            except Exception as exc:
                msg = describe(exc)
                gr.Warning(msg.plain(), title=msg.title)
                update = {state: session, status: msg.markdown(), feedback_md: feedback_markdown(session)}
                if workflow is not None and steps:
                    update[graph] = graph_image(workflow, registry, steps)
                if getattr(exc, "problems", None):
                    update[problems] = problems_markdown(exc.problems)
                if thinking:
                    update.update({think_md: think_strip_markdown(session.last_think),
                                   stop_btn: gr.Button("■ Stop", interactive=False)})
                yield update

        def on_plan_run(s, editor_value, text, n_turns, progress=gr.Progress()):
            session = session_of(s)
            try:
                image, mask = read_editor_value(editor_value)
                session.set_input(editors, image, mask)
                session.set_instruction(text)
                n = max(1, min(MAX_THINK_TURNS, int(n_turns or 1)))
            except Exception as exc:
                yield from _fail(session, exc)
                return
            if n == 1:  # a plain edit, exactly as without Think-while-Edit
                yield from stream_run(session, edit_events(session, editors), progress)
            else:
                yield from stream_run(session, think_events(session, editors, n), progress, thinking=n)

        def on_stop(s):
            if isinstance(s, Session) and s.request_stop():
                return gr.Button("Stopping after this turn…", interactive=False)
            return gr.Button("■ Stop", interactive=False)

        def on_replan(s, editor_value, text, fb, progress=gr.Progress()):
            session = session_of(s)
            try:
                image, mask = read_editor_value(editor_value)
                session.set_input(editors, image, mask)
                session.set_instruction(text)
            except Exception as exc:
                yield from _fail(session, exc)
                return
            yield from stream_run(session, edit_events(session, editors, fb, replan=True), progress,
                                  clear_feedback_box=True)

        def on_run_workflow(s, editor_value, wf_text, progress=gr.Progress()):
            session = session_of(s)
            try:
                image, mask = read_editor_value(editor_value)
                session.set_input(editors, image, mask)
            except Exception as exc:
                yield from _fail(session, exc)
                return
            yield from stream_run(session, run_events(session, editors, wf_text), progress)

        def _fail(session: Session, exc: BaseException) -> Iterator[dict]:
            msg = describe(exc)
            gr.Warning(msg.plain(), title=msg.title)
            out = {state: session, status: msg.markdown()}
            if getattr(exc, "problems", None):
                out[problems] = problems_markdown(exc.problems)
            yield out

        def on_validate(s, wf_text, editor_value):
            session = session_of(s)
            if not (wf_text or "").strip():
                return ""
            has_mask = session.mask is not None
            try:
                _, mask = read_editor_value(editor_value)
                has_mask = mask is not None
            except Exception:
                pass
            try:
                _, checked = editors.get(session.builder).read_workflow(wf_text, has_mask=has_mask)
            except Exception as exc:
                return describe(exc).markdown()
            if checked.ok:
                fixed = f" (repaired: {'; '.join(checked.repairs)})" if checked.repairs else ""
                return f"**Valid:** {len(checked.workflow.steps)} step(s){fixed}."
            return problems_markdown(checked.problems)

        def on_select(s, evt: gr.SelectData):
            session = session_of(s)
            turn = session.select(evt.index)
            if turn is None:
                return session, gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return (session, f"Selected **{turn.title}** — {turn.summary()}.", turn.workflow.dumps(),
                    turn.reasoning, graph_image(turn.workflow, registry,
                                                turn.run.status()))

        def on_use(s):
            session = session_of(s)
            try:
                image = session.use_result()
            except Exception as exc:
                msg = describe(exc)
                gr.Warning(msg.plain(), title=msg.title)
                return session, gr.skip(), msg.markdown(), feedback_markdown(session), gr.skip()
            return (session, image, f"Turn {session.selected + 1}'s result is now the input. "
                    "Type the next instruction.", feedback_markdown(session), "")

        def on_undo(s):
            session = session_of(s)
            try:
                what = session.undo()
            except Exception as exc:
                msg = describe(exc)
                gr.Warning(msg.plain(), title=msg.title)
                return (session, gr.skip(), msg.markdown(), feedback_markdown(session), gr.skip(),
                        gr.skip(), gr.skip())
            last = session.last
            return (session, session.image, f"↶ Undid: {what}.", feedback_markdown(session),
                    history_items(session), last.result_image if last else None, session.instruction)

        def on_builder(s, name):
            session = session_of(s)
            session.builder = name
            return session

        common = {"show_progress_on": [result_img], "api_visibility": "private", **edits}
        quick = {"api_visibility": "private", "queue": False, "show_progress": "hidden"}
        changed = [  # the canvas shows the selected turn's run after anything that changes turns
            run_btn.click(on_plan_run, [state, image_in, instruction, think_turns], run_outputs, **common),
            instruction.submit(on_plan_run, [state, image_in, instruction, think_turns], run_outputs, **common),
            replan_btn.click(on_replan, [state, image_in, instruction, feedback], run_outputs, **common),
            feedback.submit(on_replan, [state, image_in, instruction, feedback], run_outputs, **common),
            run_wf_btn.click(on_run_workflow, [state, image_in, code], run_outputs, **common),
            canvas.submit(on_run_workflow, [state, image_in, code], run_outputs, **common),
            history.select(on_select, [state], [state, status, code, reasoning, graph], **quick),
            undo_btn.click(on_undo, [state], [state, image_in, status, feedback_md, history, result_img, instruction],
                           **quick),
        ]
        code.input(on_validate, [state, code, image_in], [problems], trigger_mode="always_last", **quick)
        use_btn.click(on_use, [state], [state, image_in, status, feedback_md, instruction], **quick)

        # the canvas and the JSON box: each edit on the canvas rewrites the JSON, JSON written
        # anywhere redraws the canvas (the canvas sends one edit at a time)
        def on_canvas(s, wf_text):
            return session_canvas(editors, session_of(s), wf_text)

        def on_canvas_edit(s, wf_text, evt: gr.EventData):
            return session_edit(editors, session_of(s), wf_text, evt._data)

        canvas.edit(on_canvas_edit, [state, code], [code, canvas], trigger_mode="multiple", **quick).then(
            on_validate, [state, code, image_in], [problems], **quick)
        code.change(on_canvas, [state, code], [canvas], trigger_mode="always_last", **quick)
        for event in changed:
            event.then(on_canvas, [state, code], [canvas], **quick)
        builder_dd.change(on_builder, [state, builder_dd], [state], **quick)
        # the flag is read between turns: the running turn finishes and is kept (no `cancels=`,
        # which would kill the generator mid-step and lose the turn)
        stop_btn.click(on_stop, [state], [stop_btn], **quick)
    return demo


def _api_help() -> str:
    return """
### Use it from code

```python
from gradio_client import Client, handle_file
client = Client("http://127.0.0.1:7860/")
image, workflow_json, reasoning = client.predict(
    handle_file("photo.png"), "remove the red circle", api_name="/edit")
workflow_json, reasoning, declined = client.predict(
    handle_file("photo.png"), "make the blue square green", None, "don't use RES", api_name="/plan")
image, trace_json = client.predict(handle_file("photo.png"), workflow_json, api_name="/run_workflow")
image, turns_json = client.predict(handle_file("photo.png"), "remove the red circle", turns=3, api_name="/think_edit")
```

| endpoint | arguments | returns |
|---|---|---|
| `/edit` | image, instruction, mask = None, feedback = "", think_turns = 1 | result image, workflow JSON, reasoning (of the best turn when think_turns > 1) |
| `/plan` | image, instruction, mask = None, feedback = "" | workflow JSON (or ""), reasoning, declined reason (or "") |
| `/run_workflow` | image, workflow JSON, mask = None | result image, trace JSON |
| `/think_edit` | image, instruction, mask = None, feedback = "", turns = 3 | best turn's image, turns JSON (per turn: plan, cached steps, critique scores and checks) |

Masks are images: white = the area to edit. Feedback is one item per line.
Start the app with `--mcp` (or `GRADIO_MCP_SERVER=True`) to serve the same functions as MCP tools
at `/gradio_api/mcp/`.
"""


def launch_options(host: str, port: int | None, mcp: bool) -> dict:
    return {
        "server_name": host,
        "server_port": port,
        "mcp_server": mcp,
        # the same byte limit the CLI applies to image files (images.MAX_FILE_BYTES)
        "max_file_size": MAX_FILE_BYTES,
        "css": CSS,
        "theme": gr.themes.Soft(primary_hue="orange", secondary_hue="blue"),
        "show_error": True,
    }

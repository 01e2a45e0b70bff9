"""The Gradio page: an editing view, the bricks table, the named API. Handlers are thin: they
call Session methods (session.py), stream through events.py and page.py (events in, page
updates out) and render with views.py; errors go through errors.describe, so people see a
message that names the next step, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr

from ..editor import Editor
from ..images import MAX_FILE_BYTES
from ..workflow import Ref
from .api import make_api
from .canvas import canvas_value, session_canvas, session_edit, workflow_canvas
from .errors import as_gradio_error, describe
from .events import edit_events, run_events, think_events
from .examples import available_examples
from .page import FIELDS, belongs, failure_update, run_updates
from .session import MAX_THINK_TURNS, Editors, Session, read_editor_value
from .uploads import hand_over_bytes
from .views import (
    bricks_markdown,
    feedback_markdown,
    graph_image,
    history_items,
    problems_markdown,
    think_strip_markdown,
)
from .webpage import API_HELP, COPY_EDITOR_JS, CSS, HOLD_JS, INSTALL_JS, RELEASE_JS, SETTLE_JS, TAGLINE, TITLE

IMAGE_HEIGHT = 270
GRAPH_HEIGHT = 210
EXAMPLES_HEIGHT = 140
TEMP_FILES_TTL_S = 900  # Gradio's uploads and result files older than this are deleted


def build_app(editor: Editor, title: str = TITLE, temp_files_ttl: int = TEMP_FILES_TTL_S) -> gr.Blocks:
    editors = Editors(editor)
    registry = editors.registry
    ttl = max(1, int(temp_files_ttl))

    with gr.Blocks(title=title, fill_width=True, delete_cache=(max(1, ttl // 3), ttl)) as demo:
        state = gr.State(None)
        feedback = gr.Textbox(  # rendered in the right column; made here so the examples can fill it
            label="Feedback for the Builder", placeholder="e.g. don't use RES", lines=1, max_lines=3, scale=4,
            elem_id="lego-feedback", render=False,
        )
        gr.Markdown(TAGLINE, elem_id="lego-header")
        with gr.Tabs():
            with gr.Tab("Edit", id="edit"):
                with gr.Row(equal_height=False, elem_id="lego-top"):
                    image_in = hand_over_bytes(gr.ImageMask(
                        label="Input image",
                        type="filepath", format="png", height=IMAGE_HEIGHT, sources=("upload", "clipboard"),
                        transforms=(), layers=False, min_width=300, elem_id="lego-input",
                        brush=gr.Brush(colors=["#ff3b30"], color_mode="fixed", default_size=28),
                    ))
                    result_img = gr.Image(label="Result", type="numpy", format="png", height=IMAGE_HEIGHT,
                                          interactive=False, min_width=300, elem_id="lego-result")
                with gr.Row(equal_height=True, elem_id="lego-ask"):
                    instruction = gr.Textbox(
                        label="Instruction", placeholder="e.g. remove the red circle", lines=1, max_lines=3,
                        scale=5, min_width=240, elem_id="lego-instruction",
                    )
                    think_turns = gr.Slider(
                        1, MAX_THINK_TURNS, value=1, step=1, label="Think-while-Edit turns", scale=2,
                        min_width=170, elem_id="lego-think-turns",
                    )
                    with gr.Column(scale=2, min_width=250, elem_id="lego-buttons"):
                        with gr.Row(equal_height=True):
                            run_btn = gr.Button("▶ Plan & run", variant="primary", scale=3, min_width=120,
                                                elem_id="lego-run-btn")
                            stop_btn = gr.Button("■ Stop", variant="stop", scale=1, min_width=96, interactive=False,
                                                 elem_id="lego-stop-btn")
                with gr.Row(equal_height=False, elem_id="lego-plan-row"):
                    with gr.Column(scale=3, min_width=300):
                        graph = gr.Image(label="Workflow (grey pending · yellow running · green done · blue cached · "
                                               "red failed)", type="pil", format="png", interactive=False,
                                         height=GRAPH_HEIGHT, elem_id="lego-graph", buttons=["fullscreen"])
                    with gr.Column(scale=2, min_width=280):
                        reasoning = gr.Textbox(label="Builder's reasoning", lines=4, max_lines=4, interactive=False,
                                               elem_id="lego-reasoning")
                        status = gr.Markdown("Pick an example below or upload an image, type what to change and "
                                             "press **Plan & run**.", elem_id="lego-status")
                        with gr.Row(equal_height=True, elem_id="lego-feedback-row"):
                            feedback.render()
                            replan_btn = gr.Button("↻ Re-plan", scale=1, min_width=124, elem_id="lego-replan-btn")
                        feedback_md = gr.Markdown(feedback_markdown(Session()), elem_id="lego-feedback-list")
                offline_examples = available_examples(offline=True)
                model_examples = available_examples(offline=False)
                with gr.Row(equal_height=False, elem_id="lego-examples"):
                    with gr.Column(scale=6, min_width=300):
                        gr.Markdown("**Examples** that run offline — pick one, then press **Plan & run**",
                                    elem_classes=["lego-examples-head"])
                        examples_offline = gr.Gallery(
                            [(str(e.path), e.caption) for e in offline_examples], show_label=False,
                            columns=len(offline_examples) or 1, height=EXAMPLES_HEIGHT, object_fit="cover",
                            allow_preview=False, buttons=[], elem_id="lego-examples-offline",
                        )
                    with gr.Column(scale=1, min_width=150, visible=bool(model_examples)):
                        gr.Markdown("**Need a model or plugin**", elem_classes=["lego-examples-head"])
                        examples_model = gr.Gallery(
                            [(str(e.path), e.caption) for e in model_examples], show_label=False,
                            columns=max(1, len(model_examples)), height=EXAMPLES_HEIGHT, object_fit="cover",
                            allow_preview=False, buttons=[], elem_id="lego-examples-model",
                        )
                with gr.Accordion("Workflow canvas — click a node to see or change it, wire ports, add or delete "
                                  "bricks; ▶ Run re-runs only what changed", open=True, elem_id="lego-canvas-acc"):
                    canvas = workflow_canvas(canvas_value(editor, ""))
                with gr.Accordion("Every step's outputs", open=False, elem_id="lego-steps-acc") as steps_acc:
                    gallery = gr.Gallery(label="step · brick · engine · time", columns=4, height="auto",
                                         object_fit="contain", show_label=False, elem_id="lego-steps")
                with gr.Accordion("Think-while-Edit turns", open=False, elem_id="lego-think-acc") as think_acc:
                    with gr.Row(equal_height=False):
                        with gr.Column(scale=3):
                            think_md = gr.Markdown(think_strip_markdown(None), elem_id="lego-think-turns-list")
                            think_gallery = gr.Gallery(
                                label="Turn strip (turn · semantic · quality; ★ = best)", columns=5, height="auto",
                                object_fit="contain", allow_preview=False, elem_id="lego-think-strip",
                            )
                        with gr.Column(scale=2):
                            critique_md = gr.Markdown("", elem_id="lego-critique")
                    # the editor's value as the runs read it (COPY_EDITOR_JS)
                    editor_files = hand_over_bytes(gr.File(file_count="multiple", visible="hidden",
                                                           elem_id="lego-editor-files"))
                    # pressed by the page's script when a person puts a new image into the editor (INSTALL_JS)
                    new_image_btn = gr.Button(visible="hidden", elem_id="lego-new-image")
                    # the turn the page has on screen, reported back so the loop keeps pace with it
                    turn_shown = gr.Number(0, precision=0, visible="hidden", elem_id="lego-turn-shown")
                with gr.Accordion("Workflow JSON — edit it and run it yourself", open=False, elem_id="lego-wf-acc"):
                    with gr.Row(equal_height=False):
                        with gr.Column(scale=3):
                            code = gr.Code(label="Workflow (official Lego-Edit JSON)", language="json",
                                           interactive=True, lines=16, max_lines=30, elem_id="lego-code")
                        with gr.Column(scale=2):
                            problems = gr.Markdown("", elem_id="lego-problems")
                            run_wf_btn = gr.Button("▶ Run this workflow", elem_id="lego-run-wf-btn")
                with gr.Accordion("History", open=False, elem_id="lego-history-acc") as history_acc:
                    history = gr.Gallery(label="Turns (click one to select it)", columns=6, height=260,
                                         object_fit="contain", allow_preview=False, elem_id="lego-history")
                    with gr.Row():
                        use_btn = gr.Button("Use selected result as the new input", elem_id="lego-use-btn")
                        undo_btn = gr.Button("↶ Undo", elem_id="lego-undo-btn")
            with gr.Tab("Bricks", id="bricks"):
                with gr.Row():
                    builder_dd = gr.Dropdown(
                        choices=editors.names, value=editors.default, label="Builder", scale=1,
                        info="The operator's Builder and the offline 'rule' one (others: --builder or lego.toml).",
                    )
                    gr.Markdown(
                        "The Builder plans only with bricks that have an engine here. Engines are chosen by config "
                        "and availability; the **active** one runs. Add a brick with "
                        "`python app.py --bricks my_brick.py`.",
                    )
                gr.Markdown(bricks_markdown(registry), elem_id="lego-bricks")
            with gr.Tab("API", id="api"):
                gr.Markdown(API_HELP)

        # -- hidden API surface: named endpoints for gradio_client and MCP -------------------------
        demo.lego_editors = editors  # for operators and tests: the shared editors (registry, step cache)
        api = make_api(editors)
        with gr.Row(visible=False):
            a_image = hand_over_bytes(gr.Image(type="filepath", label="image"))
            a_instruction = gr.Textbox(label="instruction")
            a_mask = hand_over_bytes(gr.Image(type="filepath", label="mask"))
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
        by_name = {"state": state, "status": status, "reasoning": reasoning, "graph": graph, "code": code,
                   "problems": problems, "gallery": gallery, "result": result_img, "feedback_md": feedback_md,
                   "history": history, "feedback": feedback, "think_md": think_md, "think_gallery": think_gallery,
                   "critique": critique_md, "stop": stop_btn, "turn_shown": turn_shown}
        assert set(by_name) | {"progress", "warning"} == set(FIELDS)
        run_outputs = [*by_name.values(), think_acc, history_acc, steps_acc]

        def session_of(s: Session | None) -> Session:
            return s if isinstance(s, Session) else Session(builder=editors.default)

        def show(updates: Iterator[dict], progress: gr.Progress | None = None) -> Iterator[dict]:
            """Page updates (page.py) → Gradio updates."""
            for update in updates:
                out: dict[Any, Any] = {}
                for name, value in update.items():
                    if name == "progress":
                        if progress is not None:
                            progress(value[0], desc=value[1])
                    elif name == "warning":
                        gr.Warning(value.plain(), title=value.title)
                    elif name == "stop":
                        out[stop_btn] = gr.Button("■ Stop", interactive=value)
                    else:
                        out[by_name[name]] = value
                        if name == "think_md" and update.get("stop"):
                            out[think_acc] = gr.Accordion(open=True)  # a Think-while-Edit run opens its panel
                        if name == "history" and len(value) == 1:  # the first turn: panels open once
                            out[history_acc] = out[steps_acc] = gr.Accordion(open=True)
                yield out

        def start(session: Session, editor_value, text: str | None = None) -> None:
            image, mask = read_editor_value(editor_value)
            session.set_input(editors, image, mask)
            if text is not None:
                session.set_instruction(text)

        def on_plan_run(s, editor_value, text, n_turns, progress=gr.Progress()):
            session = session_of(s)
            try:
                start(session, editor_value, text)
                n = max(1, min(MAX_THINK_TURNS, int(n_turns or 1)))
            except Exception as exc:
                yield from show([failure_update(session, exc)])
                return
            if n == 1:  # a plain edit, exactly as without Think-while-Edit
                events = edit_events(session, editors)
            else:
                events = think_events(session, editors, n, page_reports=True)
            yield from show(run_updates(session, events, editors, thinking=0 if n == 1 else n), progress)

        def on_turn_shown(s, turn):
            if isinstance(s, Session) and turn:
                s.page_showed(int(turn))

        def on_stop(s):
            if isinstance(s, Session) and s.request_stop():
                return gr.Button("Stopping after this turn…", interactive=False)
            return gr.Button("■ Stop", interactive=False)

        def on_replan(s, editor_value, text, fb, progress=gr.Progress()):
            session = session_of(s)
            try:
                start(session, editor_value, text)
            except Exception as exc:
                yield from show([failure_update(session, exc)])
                return
            yield from show(run_updates(session, edit_events(session, editors, fb, replan=True), editors,
                                        clear_feedback_box=True), progress)

        def on_run_workflow(s, editor_value, wf_text, progress=gr.Progress()):
            session = session_of(s)
            try:
                start(session, editor_value)
            except Exception as exc:
                yield from show([failure_update(session, exc)])
                return
            yield from show(run_updates(session, run_events(session, editors, wf_text), editors), progress)

        def on_validate(s, wf_text):
            """The live check while typing. It does not read the editor (that would upload the
            image on every key): init[mask] counts as given, and the run checks the real mask."""
            if not (wf_text or "").strip():
                return ""
            session = session_of(s)
            try:
                _, checked = editors.get(session.builder).read_workflow(wf_text, has_mask=True)
            except Exception as exc:
                return describe(exc).markdown()
            if not checked.ok:
                return problems_markdown(checked.problems)
            fixed = f" (repaired: {'; '.join(checked.repairs)})" if checked.repairs else ""
            uses_mask = any(isinstance(v, Ref) and v.step is None and v.name == "mask"
                            for st in checked.workflow.steps for v in st.inputs.values())
            note = " It uses init[mask]: paint the area on the input before running it." if uses_mask else ""
            return f"**Valid:** {len(checked.workflow.steps)} step(s){fixed}.{note}"

        def new_input(session: Session, message: str) -> dict:
            """Outputs for a new input image: results of the old one leave the page."""
            return {state: session, result_img: None, gallery: [], graph: None, reasoning: "", status: message}

        def example_picker(group: list):
            def on_example(s, evt: gr.SelectData):
                return pick_example(session_of(s), group[evt.index])

            return on_example

        def pick_example(session: Session, example) -> dict:
            then = ", then **Re-plan** with the feedback." if example.feedback else "."
            if example.offline:
                message = f"Example: **{example.caption}**. Press **Plan & run**{then}"
            else:
                message = (f"Example: **{example.caption}** — needs {example.needs}; offline the app says "
                           f"what is missing. Press **Plan & run**{then}")
            return {**new_input(session, message),
                    image_in: str(example.path), instruction: example.instruction, feedback: example.feedback}

        def on_new_image(s):
            """The person picked, dropped or pasted a new image: results of the old one leave."""
            return new_input(session_of(s), "New image: type what to change and press **Plan & run**.")

        def on_select(s, evt: gr.SelectData):
            session = session_of(s)
            turn = session.select(evt.index)
            if turn is None:
                return session, gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return (session, f"Selected **{turn.title}** — {turn.summary()}.", turn.workflow.dumps(),
                    turn.reasoning, graph_image(turn.workflow, registry, turn.run.status()))

        def on_use(s):
            session = session_of(s)
            try:
                image = session.use_result()
            except Exception as exc:
                msg = describe(exc)
                gr.Warning(msg.plain(), title=msg.title)
                return {state: session, status: msg.markdown()}
            return {**new_input(session, f"Turn {session.turns[session.selected].number}'s result is now the input. "
                                         "Type the next instruction."),
                    image_in: image, feedback_md: feedback_markdown(session)}

        def on_undo(s):
            session = session_of(s)
            try:
                what = session.undo()
            except Exception as exc:
                msg = describe(exc)
                gr.Warning(msg.plain(), title=msg.title)
                return {state: session, status: msg.markdown()}
            last = session.last
            shown = last.result_image if last is not None and belongs(session, last.run) else None
            return {state: session, image_in: session.image, status: f"↶ Undid: {what}.",
                    feedback_md: feedback_markdown(session), history: history_items(session), result_img: shown,
                    gallery: [], instruction: session.instruction}

        def on_builder(s, name):
            session = session_of(s)
            try:
                editors.get(name)  # only the Builders offered here: loading a model is the operator's choice
            except Exception as exc:
                raise as_gradio_error(exc) from None
            session.builder = name
            return session

        private = {"api_visibility": "private"}
        quick = {**private, "queue": False, "show_progress": "hidden"}
        runs = {**private, **edits, "show_progress_on": [result_img]}
        # each run first waits in the browser until the editor holds its latest image (SETTLE_JS),
        # then reads it: a run never starts from a value older than the last change (issue 14).
        # The run reads a copy of the editor's value (COPY_EDITOR_JS): Gradio's page re-reads an
        # input of a finished queued event whenever a later one streams, and for the editor each
        # read is a canvas export and three uploads.
        run_inputs = [state, editor_files, instruction, think_turns]
        replan_inputs = [state, editor_files, instruction, feedback]
        changed = []  # events after which the canvas shows the selected turn's run
        for trigger, fn, inputs in ((run_btn.click, on_plan_run, run_inputs), (instruction.submit, on_plan_run, run_inputs),
                                    (replan_btn.click, on_replan, replan_inputs),
                                    (feedback.submit, on_replan, replan_inputs),
                                    (run_wf_btn.click, on_run_workflow, [state, editor_files, code]),
                                    (canvas.submit, on_run_workflow, [state, editor_files, code])):
            changed.append(trigger(None, None, None, js=SETTLE_JS, **private).then(
                None, [image_in], [editor_files], js=COPY_EDITOR_JS, **private).then(fn, inputs, run_outputs, **runs))
        example_outputs = [state, result_img, gallery, graph, reasoning, status, image_in, instruction, feedback]
        for group, examples in ((examples_offline, offline_examples), (examples_model, model_examples)):
            group.select(example_picker(examples), [state], example_outputs,
                         js=HOLD_JS, **quick).then(None, None, None, js=RELEASE_JS, **private)
        image_in.upload(None, None, None, js=RELEASE_JS, **private)
        new_image_btn.click(on_new_image, [state], [state, result_img, gallery, graph, reasoning, status], **quick)
        image_in.clear(lambda s: new_input(session_of(s), "Upload an image or pick an example."), [state],
                       [state, result_img, gallery, graph, reasoning, status], **quick)
        code.input(on_validate, [state, code], [problems], **private, show_progress="hidden",
                   concurrency_id="lego-validate", concurrency_limit=1, trigger_mode="always_last")
        changed.append(history.select(on_select, [state], [state, status, code, reasoning, graph], **quick))
        use_btn.click(on_use, [state], [state, result_img, gallery, graph, reasoning, status, image_in, feedback_md],
                      js=HOLD_JS, **quick).then(None, None, None, js=RELEASE_JS, **private)
        undo = undo_btn.click(on_undo, [state], [state, image_in, status, feedback_md, history, result_img, gallery,
                                                 instruction], js=HOLD_JS, **quick)
        undo.then(None, None, None, js=RELEASE_JS, **private)
        changed.append(undo)

        # the canvas and the JSON box: each edit on the canvas rewrites the JSON, JSON written
        # anywhere redraws the canvas (the canvas sends one edit at a time)
        def on_canvas(s, wf_text):
            return session_canvas(editors, session_of(s), wf_text)

        def on_canvas_edit(s, wf_text, evt: gr.EventData):
            return session_edit(editors, session_of(s), wf_text, evt._data)

        canvas.edit(on_canvas_edit, [state, code], [code, canvas], trigger_mode="multiple", **quick).then(
            on_validate, [state, code], [problems], **quick)
        code.change(on_canvas, [state, code], [canvas], trigger_mode="always_last", **quick)
        for event in changed:
            event.then(on_canvas, [state, code], [canvas], **quick)
        builder_dd.change(on_builder, [state, builder_dd], [state], **quick)
        # the flag is read between turns: the running turn finishes and is kept (no `cancels=`,
        # which would kill the generator mid-step and lose the turn)
        stop_btn.click(on_stop, [state], [stop_btn], **quick)
        turn_shown.change(on_turn_shown, [state, turn_shown], None, **quick)
    return demo


def launch_options(host: str, port: int | None, mcp: bool) -> dict:
    return {
        "server_name": host,
        "server_port": port,
        "mcp_server": mcp,
        # the same byte limit the CLI applies to image files (images.MAX_FILE_BYTES)
        "max_file_size": MAX_FILE_BYTES,
        "css": CSS,
        "js": INSTALL_JS,
        "theme": gr.themes.Soft(primary_hue="orange", secondary_hue="blue"),
        "show_error": True,
    }

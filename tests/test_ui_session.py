"""The app's session logic without a browser: inputs from the image editor, planning with
accumulated feedback, cache re-use on re-plan, hand-edited workflows, history and undo,
Think-while-Edit (turns, critique, stop), error messages, and the views (captions, bricks
table, turn strip)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from lego_demo.builders.base import Plan, PlanRequest
from lego_demo.editor import Editor, EditorConfig
from lego_demo.errors import BadInput, Declined, InvalidWorkflow, StepError
from lego_demo.registry import Registry
from lego_demo.synthetic import make_scene
from lego_demo.ui.errors import describe
from lego_demo.ui.events import edit_events, run_events, stream, think_events
from lego_demo.ui.examples import EXAMPLES, available_examples
from lego_demo.ui.session import Editors, Session, ThinkRun, read_editor_value
from lego_demo.ui.views import (
    bricks_markdown,
    critique_markdown,
    gallery_items,
    history_items,
    problems_markdown,
    think_strip_items,
    think_strip_markdown,
)
from lego_demo.workflow import parse_workflow

# reading inputs needs only an Editor's `prepare` (working size, content key), not its bricks
READER = Editors(Editor(Registry()))
CAPTION_RE = re.compile(r"^step \d+ · [A-Z][A-Z0-9-]* · [\w.-]+ · \d+\.\d\d s( · cached)?( · \w+)?( \(.*\))?$")


def _steps(*bricks_and_inputs) -> dict:
    pipeline = []
    for n, (brick, inputs, outputs) in enumerate(bricks_and_inputs, 1):
        pipeline.append({"step": n, "model": brick, "input": inputs,
                         "output": {k: f"step{n}[{k}]" for k in outputs}})
    return pipeline


class StubBuilder:
    """Removes "the <object>" with RES → FASTINPAINT → INPAINT; honours "don't use X" by
    dropping X (so "don't use INPAINT" keeps steps 1–2, which the cache then re-uses);
    declines instructions starting with "decline"."""

    name = "stub"

    def __init__(self):
        self.calls: list[dict] = []

    def plan(self, request: PlanRequest, feedback=(), previous=None, on_text=None) -> Plan:
        self.calls.append({"instruction": request.instruction, "feedback": list(feedback),
                           "previous": previous, "has_mask": request.has_mask})
        if on_text is not None:
            on_text("Thinking about ")
            on_text(request.instruction)
        if request.instruction.startswith("decline"):
            return Plan(reasoning="no", declined="cannot do that with these bricks")
        banned = {f.split("use", 1)[1].strip().upper() for f in feedback if "don't use" in f}
        target = request.instruction.replace("remove the ", "")
        steps = [
            ("RES", {"image": "init[image]", "prompt": target}, ["mask", "image"]),
            ("FASTINPAINT", {"image": "init[image]", "mask": "step1[mask]"}, ["image", "score"]),
        ]
        if "INPAINT" not in banned:
            steps.append(("INPAINT", {"image": "init[image]", "mask": "step1[mask]",
                                      "preimage": "step2[image]", "score": "step2[score]"}, ["image"]))
        pipeline = _steps(*steps)
        pipeline.append({"result": f"[step{len(steps)}[image]]"})
        wf = parse_workflow({"process": request.instruction, "pipeline": pipeline}).workflow
        return Plan(reasoning=f"remove {target}", workflow=wf)


@pytest.fixture(scope="module")
def base_editor() -> Editor:
    return Editor.from_config(EditorConfig())


@pytest.fixture
def stub() -> StubBuilder:
    return StubBuilder()


@pytest.fixture
def editors(base_editor, stub) -> Editors:
    # a fresh Executor cache per test so cache assertions do not depend on test order
    from lego_demo.executor import Executor, StepCache

    editor = Editor(base_editor.registry, builder=stub, executor=Executor(base_editor.registry, cache=StepCache()))
    return Editors(editor)


@pytest.fixture(scope="module")
def scene():
    return make_scene(320, 240, objects=[("red", "circle", (80, 120), 40), ("blue", "square", (220, 120), 40)],
                      seed=1)


def _session(scene, instruction="remove the red circle") -> Session:
    s = Session()
    s.set_input(READER, scene.image, None)
    s.set_instruction(instruction)
    return s


# -- inputs from gr.ImageMask --------------------------------------------------------------------
def _png(arr: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def test_editor_value_is_read_by_the_editor_with_the_painted_layer_as_mask():
    bg = np.zeros((40, 50, 4), np.uint8)
    bg[..., :3] = 120
    bg[..., 3] = 255
    layer = np.zeros((40, 50, 4), np.uint8)
    layer[5:15, 10:20] = (255, 59, 48, 255)
    value = {"background": _png(bg), "layers": [_png(layer)], "composite": _png(bg)}
    image, mask = read_editor_value(value)
    assert isinstance(image, bytes) and isinstance(mask, bytes)  # undecoded: Editor.prepare reads them
    s = Session()
    inputs = s.set_input(READER, image, mask)
    assert inputs.image.shape == (40, 50, 3)  # opaque RGBA becomes RGB
    assert inputs.mask.dtype == bool and inputs.mask.shape == (40, 50)
    assert inputs.mask.sum() == 100 and inputs.mask[5:15, 10:20].all()


def test_editor_value_without_strokes_or_image():
    bg = np.full((20, 30, 4), 255, np.uint8)
    empty = np.zeros((20, 30, 4), np.uint8)
    image, mask = read_editor_value({"background": _png(bg), "layers": [_png(empty)], "composite": _png(bg)})
    inputs = Session().set_input(READER, image, mask)
    assert inputs.image.shape == (20, 30, 3) and inputs.mask is None  # an unpainted layer is no mask
    assert read_editor_value(None) == (None, None)
    assert read_editor_value({"background": None, "layers": [], "composite": None}) == (None, None)
    with pytest.raises(BadInput, match="upload an image first"):
        Session().set_input(READER, None)


def test_editor_value_with_a_layer_of_another_size_is_a_clear_error():
    bg = np.full((40, 60, 4), 255, np.uint8)
    layer = np.zeros((20, 30, 4), np.uint8)
    layer[:, :15, 3] = 255
    image, mask = read_editor_value({"background": _png(bg), "layers": [_png(layer)], "composite": _png(bg)})
    with pytest.raises(BadInput, match="30×20 but the image is 60×40"):
        Session().set_input(READER, image, mask)


def test_junk_upload_is_the_readers_message():
    with pytest.raises(BadInput, match="not an image this tool can read") as info:
        Session().set_input(READER, b"not an image at all")
    assert "/tmp" not in str(info.value)


# -- the task: instruction, feedback, plan -----------------------------------------------------------
def test_plan_and_run_records_a_turn(editors, stub, scene):
    s = _session(scene)
    turn = s.edit(editors)
    assert turn.number == 1 and [t.brick for t in turn.run.trace] == ["RES", "FASTINPAINT", "INPAINT"]
    assert turn.result_image is not None and turn.result_image.shape == scene.image.shape
    assert not np.array_equal(turn.result_image, scene.image)  # a real edit, not a copy
    assert s.plan is not None and s.plan.workflow is not None
    assert stub.calls[-1]["feedback"] == [] and stub.calls[-1]["previous"] is None


def test_replan_sends_accumulated_feedback_and_previous_plan_and_reuses_cache(editors, stub, scene):
    s = _session(scene)
    first = s.edit(editors)
    assert first.cached == []
    second = s.replan(editors, "don't use INPAINT")
    call = stub.calls[-1]
    assert call["feedback"] == ["don't use INPAINT"]
    assert call["previous"] is not None and call["previous"].workflow.steps[0].brick == "RES"
    assert "INPAINT" not in [t.brick for t in second.run.trace]
    assert second.cached == [1, 2] and second.executed == []  # both kept steps come from the cache
    s.add_feedback("be careful\ndon't use INPAINT")  # duplicates are not added twice
    assert s.feedback == ["don't use INPAINT", "be careful"]


def test_new_instruction_or_image_starts_a_new_task(scene):
    s = _session(scene)
    s.add_feedback("don't use RES")
    s.plan = Plan(reasoning="x")
    s.set_instruction("remove the red circle")  # same text: same task
    assert s.feedback == ["don't use RES"] and s.plan is not None
    s.set_instruction("remove the blue square")
    assert s.feedback == [] and s.plan is None
    s.add_feedback("don't use RES")
    s.set_input(READER, scene.background, None)
    assert s.feedback == []


def test_declined_plan_is_an_error_the_session_survives(editors, scene):
    s = _session(scene)
    s.edit(editors)
    good_plan = s.plan
    s.set_instruction("decline this please")
    with pytest.raises(Declined) as info:
        s.edit(editors)
    assert "cannot do that with these bricks" in str(info.value)
    assert len(s.turns) == 1 and s.turns[0].result_image is not None
    assert s.plan is None or s.plan is good_plan
    msg = describe(info.value)
    assert msg.level == "warning" and "Traceback" not in msg.markdown()


def test_missing_image_or_instruction_is_bad_input(editors, scene):
    s = Session()
    with pytest.raises(BadInput, match="upload an image"):
        s.set_input(READER, None)
    s.set_input(READER, scene.image)
    with pytest.raises(BadInput, match="instruction"):
        s.set_instruction("   ")
    with pytest.raises(BadInput, match="instruction"):
        s.make_plan(editors)


# -- hand-edited workflows -------------------------------------------------------------------------
def test_hand_edited_workflow_runs(editors, scene):
    s = _session(scene)
    text = """{"process": "cut out the blue square", "pipeline": [
      {"step": 1, "model": "RES", "input": {"image": "init[image]", "prompt": "blue square"},
       "output": {"mask": "step1[mask]", "image": "step1[image]"}},
      {"step": 2, "model": "FASTINPAINT", "input": {"image": "init[image]", "mask": "step1[mask]"},
       "output": {"image": "step2[image]", "score": "step2[score]"}},,
      {"result": "[step2[image]]"}]}"""  # a doubled comma: repaired, not refused
    events = list(run_events(s, editors, text))
    kinds = [e.kind for e in events]
    assert kinds[0] == "plan" and kinds[-1] == "return" and "step" in kinds
    turn = events[-1].payload
    assert turn.source == "manual" and [t.brick for t in turn.run.trace] == ["RES", "FASTINPAINT"]


def test_invalid_workflow_lists_problems_per_step(editors, scene):
    s = _session(scene)
    text = """{"process": "x", "pipeline": [
      {"step": 1, "model": "RES", "input": {"image": "init[image]"}, "output": {"mask": "step1[mask]"}},
      {"step": 2, "model": "NOPE", "input": {"image": "step1[image]"}, "output": {"image": "step2[image]"}},
      {"result": "[step2[image]]"}]}"""
    with pytest.raises(InvalidWorkflow) as info:
        list(run_events(s, editors, text))
    texts = [str(p) for p in info.value.problems]
    assert any(t.startswith("step 1 (RES)") and "prompt" in t for t in texts), texts
    assert any(t.startswith("step 2") and "NOPE" in t for t in texts), texts
    md = problems_markdown(info.value.problems)
    assert md.count("\n- ") == len(texts)
    msg = describe(info.value)
    assert msg.problems == texts
    assert s.turns == []


def test_empty_workflow_box_is_bad_input(editors, scene):
    s = _session(scene)
    with pytest.raises(BadInput, match="empty"):
        list(run_events(s, editors, "  "))


# -- history -----------------------------------------------------------------------------------------
def test_use_result_as_input_and_undo(editors, scene):
    s = _session(scene)
    turn = s.edit(editors)
    s.add_feedback("keep the shadow")
    new_input = s.use_result()
    assert np.array_equal(new_input, turn.result_image) and np.array_equal(s.image, turn.result_image)
    assert s.feedback == [] and s.plan is None  # a new input starts a new task
    assert s.undo() == "use turn 1 as input"
    assert np.array_equal(s.image, scene.image) and s.feedback == ["keep the shadow"]
    assert len(s.turns) == 1
    assert s.undo() == "turn 1"  # undoing the turn itself
    assert s.turns == [] and s.plan is None
    with pytest.raises(BadInput, match="nothing to undo"):
        s.undo()


def test_undo_a_replan_forgets_its_feedback(editors, scene):
    s = _session(scene)
    s.edit(editors)
    first_plan = s.plan
    s.replan(editors, "don't use INPAINT")
    assert s.feedback == ["don't use INPAINT"] and len(s.turns) == 2
    assert s.undo() == "turn 2 (re-plan)"
    assert s.feedback == [] and s.plan is first_plan and len(s.turns) == 1
    with pytest.raises(BadInput, match="type feedback"):
        s.replan(editors, "  ")


def test_use_result_without_a_turn_is_bad_input(scene):
    with pytest.raises(BadInput, match="no result"):
        _session(scene).use_result()


def test_select_picks_the_turn_to_reuse(editors, scene):
    s = _session(scene)
    first = s.edit(editors)
    s.set_instruction("remove the blue square")
    s.edit(editors)
    assert s.select(0) is first and s.select(7) is None and s.selected == 0
    assert np.array_equal(s.use_result(), first.result_image)
    assert len(history_items(s)) == 2


def test_two_sessions_do_not_share_state(editors, stub, scene):
    a, b = _session(scene), _session(scene, "remove the blue square")
    a.add_feedback("don't use INPAINT")
    a.edit(editors)
    b.edit(editors)
    assert stub.calls[-1]["feedback"] == [] and stub.calls[-1]["instruction"] == "remove the blue square"
    assert len(a.turns) == 1 and len(b.turns) == 1
    assert a.turns[0].workflow.steps[0].inputs["prompt"] == "red circle"
    assert b.turns[0].workflow.steps[0].inputs["prompt"] == "blue square"


# -- streaming into a generator ----------------------------------------------------------------------
def test_edit_events_stream_text_plan_steps_then_the_turn(editors, scene):
    s = _session(scene)
    events = list(edit_events(s, editors))
    kinds = [e.kind for e in events]
    assert kinds[0] == "text" and events[1].payload == "Thinking about remove the red circle"
    assert kinds.index("plan") < kinds.index("step") < kinds.index("return") == len(kinds) - 1
    statuses = [(e.payload.step, e.payload.status) for e in events if e.kind == "step"]
    assert statuses == [(1, "running"), (1, "done"), (2, "running"), (2, "done"), (3, "running"), (3, "done")]
    assert events[-1].payload is s.last


def test_stream_reraises_in_the_callers_thread():
    def work(emit):
        emit("text", "a")
        raise StepError(2, "RES", "grounding", ValueError("boom"))

    got = []
    with pytest.raises(StepError, match="step 2"):
        for e in stream(work):
            got.append(e.kind)
    assert got == ["text"]


# -- views -------------------------------------------------------------------------------------------
def test_gallery_captions_name_step_brick_engine_time_and_cache(editors, scene):
    s = _session(scene)
    first = s.edit(editors)
    items = gallery_items(first.run)
    assert len(items) >= 3
    for _, cap in items:
        assert CAPTION_RE.match(cap), cap
    assert not any("cached" in cap for _, cap in items)
    again = s.edit(editors)
    caps = [cap for _, cap in gallery_items(again.run)]
    assert caps and all(" · cached" in cap for cap in caps)
    assert any(cap.startswith("step 2 · FASTINPAINT") and "score" in cap for cap in caps)


def test_bricks_table_comes_from_the_registry(base_editor):
    md = bricks_markdown(base_editor.registry)
    listing = base_editor.registry.to_json()
    for b in listing:
        assert f"**{b['name']}**" in md
    if any(not b["engines"] for b in listing):
        assert "none here" in md
    assert "**active**" in md


def test_describe_internal_error_has_no_traceback():
    msg = describe(RuntimeError("kaput"))
    assert msg.level == "error" and "RuntimeError: kaput" in msg.text and "Traceback" not in msg.markdown()


def test_examples_exist_and_are_small():
    assert len(available_examples()) == len(EXAMPLES) >= 4
    total = sum(e.path.stat().st_size for e in EXAMPLES if e.path.is_file())
    assert total < 1_000_000
    assert any(e.feedback.startswith("don't use R") for e in EXAMPLES)  # the reflection story
    assert available_examples(offline=True) and set(available_examples(offline=True)).isdisjoint(
        available_examples(offline=False))


def _story(base_editor, example):
    """What a person does with an example: Plan & run, then Re-plan with its feedback if it has
    one. Returns the last turn; raises what the last step raised."""
    from lego_demo.ui.examples import example_plugins

    editor = Editor.from_config(EditorConfig(plugins=example_plugins())) if example.plugins else base_editor
    editors = Editors(editor)
    s = Session()
    s.set_input(editors, str(example.path))
    s.set_instruction(example.instruction)
    turn = s.edit(editors)
    if example.feedback:
        turn = s.replan(editors, example.feedback)
    return s, turn


@pytest.mark.parametrize("example", available_examples(offline=True), ids=lambda e: e.caption)
def test_every_example_labelled_offline_runs_offline(base_editor, example):
    s, turn = _story(base_editor, example)
    assert turn.result_image is not None and turn.result_image.shape[:2] == s.image.shape[:2]
    assert not np.array_equal(turn.result_image[..., :3], s.image[..., :3])  # it changed something


@pytest.mark.parametrize("example", available_examples(offline=False), ids=lambda e: e.caption)
def test_examples_that_need_a_model_still_fail_offline(base_editor, example):
    """When one of these starts to work offline, move it to the offline group."""
    from lego_demo.errors import LegoError

    with pytest.raises(LegoError):
        _story(base_editor, example)


# -- who may choose the Builder (issue 21 D3) ---------------------------------------------------------
def test_visitors_can_pick_only_the_operators_builder_and_the_offline_one(base_editor):
    assert Editors(base_editor).names == ["rule"]
    with pytest.raises(BadInput, match="not offered here"):
        Editors(base_editor).get("mllm")
    operated = Editor(base_editor.registry, config=EditorConfig(builder="mllm"))  # configured, not loaded
    editors = Editors(operated)
    assert editors.names == ["mllm", "rule"] and editors.get("mllm") is operated
    assert editors.get("rule").builder.name == "rule"
    for name in ("openai", "MLLM", "../mllm", ""):
        with pytest.raises(BadInput):
            editors.get(name or "nope")
    assert operated._builder is None  # offering it loaded nothing


# -- bounded memory (issue 21 D8) --------------------------------------------------------------------
def test_a_session_keeps_the_last_turns_and_frees_older_step_outputs(editors, scene):
    from lego_demo.ui.session import KEEP_STEP_OUTPUTS, MAX_TURNS

    s = _session(scene)
    for _ in range(MAX_TURNS + 3):
        s.edit(editors)
    assert [t.number for t in s.turns] == list(range(4, MAX_TURNS + 4))
    assert all(t.run.values == {} for t in s.turns[:-KEEP_STEP_OUTPUTS])
    assert all(t.run.values for t in s.turns[-KEEP_STEP_OUTPUTS:])
    assert all(t.result_image is not None for t in s.turns)  # every kept turn can still be used as input
    items, again = history_items(s), history_items(s)
    assert len(items) == MAX_TURNS and all(a[0] is b[0] for a, b in zip(items, again))  # thumbnails made once
    assert len(s.undo_stack) <= MAX_TURNS
    assert s.undo().startswith(f"turn {MAX_TURNS + 3}") and s.turns[-1].number == MAX_TURNS + 2
    assert s.edit(editors).number == MAX_TURNS + 3  # numbers go on from what undo left
    s.select(0)
    assert s.use_result() is s.turns[0].result_image and s.undo() == "use turn 4 as input"


# -- with the real offline rule Builder ---------------------------------------------------------------
def test_rule_builder_replan_reuses_cached_steps(base_editor, scene):
    editors = Editors(base_editor)
    s = _session(scene)
    first = s.edit(editors)
    assert "INPAINT" in [t.brick for t in first.run.trace]
    second = s.replan(editors, "don't use INPAINT")
    bricks = [t.brick for t in second.run.trace]
    assert "INPAINT" not in bricks
    assert second.cached, "the re-plan should re-use the unchanged segmentation step"


# -- Think-while-Edit ------------------------------------------------------------------------------
@pytest.fixture
def rule_editors(base_editor) -> Editors:
    """The offline rule Builder with a fresh step cache (the think scenario needs its GROW step)."""
    from lego_demo.executor import Executor, StepCache

    return Editors(Editor(base_editor.registry, executor=Executor(base_editor.registry, cache=StepCache())))


@pytest.fixture(scope="module")
def outlined():
    """An outlined object: the first removal leaves the outline, the critic asks to expand the mask."""
    scene = make_scene(640, 480, background_kind="checker", seed=3, outline=4)
    return scene, f"remove the {scene.objects[0].name}"


def test_think_recovers_on_the_second_turn_and_records_each_turn(rule_editors, outlined):
    scene, instruction = outlined
    s = Session()
    s.set_input(READER, scene.image, None)
    seen = []
    run = s.think(rule_editors, 3, instruction=instruction, on_turn=seen.append)
    assert isinstance(run, ThinkRun) and not run.running
    assert [t.index for t in seen] == [1, 2] == [t.index for t in run.turns]
    first, second = run.turns
    assert first.critique.feedback == ["expand the mask"] and first.critique.semantic < 8
    assert second.feedback == ["expand the mask"]
    assert "GROW" in [st.brick for st in second.plan.workflow.steps]
    assert second.critique.semantic >= 8 and second.critique.quality >= 8
    assert second.run.cached == [1]  # RES is re-used from the step cache
    assert run.best == 1 and "good enough at turn 2" in run.stopped
    # each turn is a history turn; the best one is selected; the task keeps the best turn's feedback
    assert [t.source for t in s.turns] == ["think", "think"] and [t.think_index for t in s.turns] == [1, 2]
    assert s.selected == 1 and s.feedback == ["expand the mask"] and s.plan is second.plan
    assert "semantic 10.0" in s.turns[1].title
    assert len(history_items(s)) == 2
    # "use as input" takes the best result; undo goes back turn by turn
    assert np.array_equal(s.use_result(), second.result)
    assert s.undo() == "use turn 2 as input"
    assert s.undo().startswith("turn 2") and len(s.turns) == 1 and s.feedback == []
    assert s.undo().startswith("turn 1") and s.turns == [] and s.image is scene.image


def test_think_stops_after_the_current_turn_when_asked(rule_editors, outlined):
    scene, instruction = outlined
    s = Session()
    s.set_input(READER, scene.image, None)
    s.set_instruction(instruction)
    # the Stop button's flag, set while turn 1 runs (here: when it is reported)
    run = s.think(rule_editors, 3, on_turn=lambda t: s.request_stop())
    assert len(run.turns) == 1 and run.stopped == "stopped by the user after turn 1"
    assert len(s.turns) == 1 and s.selected == 0 and not s.stop_requested
    assert not s.request_stop()  # nothing running any more
    # a Stop pressed after Plan & run but before the worker thread starts the loop still counts
    events = think_events(s, rule_editors, 3)
    assert s.request_stop()
    run = [e for e in events if e.kind == "return"][0].payload
    assert len(run.turns) == 1 and "stopped by the user" in run.stopped and not s.thinking
    # an explicit should_stop works the same
    s2 = Session()
    s2.set_input(READER, scene.image, None)
    run = s2.think(rule_editors, 5, instruction=instruction, should_stop=lambda: True)
    assert len(run.turns) == 1 and "stopped by the user" in run.stopped


def test_think_events_stream_each_turn_and_the_views_show_scores(rule_editors, outlined):
    scene, instruction = outlined
    s = Session()
    s.set_input(READER, scene.image, None)
    s.set_instruction(instruction)
    events = list(think_events(s, rule_editors, 3))
    kinds = [e.kind for e in events]
    assert kinds.count("plan") == 2 and kinds.count("think_turn") == 2 and kinds[-1] == "return"
    assert kinds.index("step") > kinds.index("plan") and kinds.index("think_turn") > kinds.index("step")
    run = events[-1].payload
    strip = think_strip_markdown(run)
    assert "2 of 3 turn(s)" in strip and "Best: turn 2" in strip
    assert "turn 1 · semantic 7.5 · quality 8.6 · refine: expand the mask" in strip  # the outline left also costs quality
    assert "★ turn 2 · semantic 10.0 · quality 10.0 · plan RES → GROW" in strip and "cached steps 1" in strip
    items = think_strip_items(run)
    assert [caption for _, caption in items] == ["turn 1 · semantic 7.5 · quality 8.6",
                                                 "★ turn 2 · semantic 10.0 · quality 10.0"]
    panel = critique_markdown(run.turns[0])
    assert "✗" in panel and "left nothing of the object" in panel and "Refined instruction" in panel
    assert "running" not in think_strip_markdown(run) and "Think-while-Edit" in think_strip_markdown(None)


def test_think_with_one_turn_is_one_edit(rule_editors, scene):
    s = _session(scene)
    run = s.think(rule_editors, 1)
    assert len(run.turns) == 1 == len(s.turns) and run.best == 0
    assert run.turns[0].critique is not None


def test_think_whose_first_turn_fails_raises_and_keeps_the_failed_turn(editors, scene):
    s = _session(scene, "decline this")
    with pytest.raises(Declined):
        s.think(editors, 3)
    assert s.turns == [] and len(s.last_think.turns) == 1 and not s.last_think.running
    assert "failed: the stub Builder declined" in think_strip_markdown(s.last_think)
    assert "not judged" in critique_markdown(s.last_think.turns[0])
    with pytest.raises(BadInput):
        Session().think(editors, 3, instruction="remove the red circle")  # no image

"""The workflow canvas's model without a browser: typed ports and edges from the registry,
which wires may connect, edits applied to the workflow JSON, the run state a node shows
(done, cached, changed since the last run), and a layout without overlap for 20 steps."""

import json
from pathlib import Path

import numpy as np
import pytest

from lego_demo.editor import Editor
from lego_demo.errors import BadInput
from lego_demo.ui.canvas import STATIC, canvas_value, edit_workflow
from lego_demo.workflow import parse_workflow

SCENE = Path(__file__).resolve().parents[1] / "assets" / "scene.png"

RECOLOUR = json.dumps({"process": "make the blue square green", "pipeline": [
    {"step": 1, "model": "RES", "input": {"image": "init[image]", "prompt": "blue square"},
     "output": {"mask": "step1[mask]", "image": "step1[image]"}},
    {"step": 2, "model": "FLUX-RCM", "input": {"image": "init[image]", "mask": "step1[mask]", "prompt": "green"},
     "output": {"image": "step2[image]"}},
    {"result": "[step2[image]]"}]})


@pytest.fixture(scope="module")
def editor():
    return Editor.from_config()


def view(editor, text, **kw):
    return json.loads(canvas_value(editor, text, **kw))


def node(v, node_id):
    return next(n for n in v["nodes"] if n["id"] == node_id)


def port(n, name):
    return next(p for p in n["inputs"] if p["name"] == name)


def test_nodes_have_the_bricks_typed_ports_and_edges_follow_references(editor):
    v = view(editor, RECOLOUR)
    assert [n["id"] for n in v["nodes"]] == ["init", "step1", "step2", "result"]
    rcm = node(v, "step2")
    assert rcm["title"] == "2 · RCM"  # the FLUX- spelling is read as the brick
    assert [(p["name"], p["type"]) for p in rcm["inputs"]] == [
        ("image", "Image"), ("mask", "Mask"), ("prompt", "Str"), ("strength", "Float")]
    assert port(rcm, "mask")["ref"] == "step1[mask]" and port(rcm, "prompt")["literal"] == "green"
    assert [(o["name"], o["type"]) for o in node(v, "step1")["outputs"]] == [("mask", "Mask"), ("image", "Image")]
    assert {(e["from"], e["out"], e["to"], e["in"], e["type"]) for e in v["edges"]} == {
        ("init", "image", "step1", "image", "Image"), ("init", "image", "step2", "image", "Image"),
        ("step1", "mask", "step2", "mask", "Mask"), ("step2", "image", "result", "1", "Image")}
    assert rcm["status"] is None and rcm["colour"] == v["colours"]["kind"]["edit"]  # no run yet: kind colours


def test_a_port_offers_only_type_compatible_sources_that_make_no_cycle(editor):
    v = view(editor, RECOLOUR)
    rcm, res = node(v, "step2"), node(v, "step1")
    assert port(rcm, "mask")["sources"] == ["step1[mask]"]
    assert port(rcm, "image")["sources"] == ["init[image]", "step1[image]"]
    assert port(res, "image")["sources"] == ["init[image]"]  # not step2[image]: step 2 depends on step 1
    assert "init[mask]" not in port(rcm, "mask")["sources"]  # no mask was drawn
    assert "init[mask]" in port(node(view(editor, RECOLOUR, has_mask=True), "step2"), "mask")["sources"]


def test_edits_change_the_json_and_nonsense_is_refused_with_a_reason(editor):
    text, _ = edit_workflow(editor, RECOLOUR, {"op": "set", "step": 2, "input": "prompt", "value": "red"})
    assert parse_workflow(text).workflow.step(2).inputs["prompt"] == "red"
    text, _ = edit_workflow(editor, text, {"op": "set", "step": 2, "input": "strength", "value": "0.4"})
    assert parse_workflow(text).workflow.step(2).inputs["strength"] == 0.4
    assert json.loads(text)["pipeline"][0]["output"] == {"mask": "step1[mask]", "image": "step1[image]"}
    bare, _ = edit_workflow(editor, twenty_steps(), {"op": "set", "step": 1, "input": "prompt", "value": "red ball"})
    assert json.loads(bare)["pipeline"][1]["output"] == {"mask": "step2[mask]"}  # used outputs get declared
    with pytest.raises(BadInput, match="takes a Mask; step1\\[image\\] is an Image"):
        edit_workflow(editor, text, {"op": "connect", "source": "step1[image]", "step": 2, "input": "mask"})
    with pytest.raises(BadInput, match="cycle"):
        edit_workflow(editor, text, {"op": "connect", "source": "step2[image]", "step": 1, "input": "image"})
    with pytest.raises(BadInput, match="takes a number"):
        edit_workflow(editor, text, {"op": "set", "step": 2, "input": "strength", "value": "strong"})
    with pytest.raises(BadInput, match="connect a wire"):
        edit_workflow(editor, text, {"op": "set", "step": 2, "input": "mask", "value": "mask.png"})
    with pytest.raises(BadInput, match="no step 7"):
        edit_workflow(editor, text, {"op": "delete", "step": 7})
    with pytest.raises(BadInput, match="no engine 'flux'"):
        edit_workflow(editor, text, {"op": "engine", "step": 2, "engine": "flux"})
    text, _ = edit_workflow(editor, text, {"op": "engine", "step": 2, "engine": "lab"})
    assert json.loads(text)["pipeline"][1]["engine"] == "lab"
    assert node(view(editor, text), "step2")["engine"]["chosen"] == "lab"


def test_deleting_a_step_shows_the_problem_on_the_step_that_used_it(editor):
    text, _ = edit_workflow(editor, RECOLOUR, {"op": "delete", "step": 1})
    v = view(editor, text)
    assert [n["id"] for n in v["nodes"]] == ["init", "step2", "result"]
    rcm = node(v, "step2")
    assert any("step1[mask] refers to step 1, which does not exist" in p for p in rcm["problems"])
    assert port(rcm, "mask")["ref"] == "step1[mask]"  # kept, so the person sees what to rewire
    assert not any(e["from"] == "step1" for e in v["edges"])


def test_add_a_brick_wire_it_after_the_last_edit_and_run_it(editor):
    image = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(SCENE).convert("RGB"))
    first = editor.run(RECOLOUR, image)
    text, focus = edit_workflow(editor, RECOLOUR, {"op": "add", "brick": "tone"})
    assert focus == 3
    tone = node(view(editor, text, run=first), "step3")
    assert tone["title"] == "3 · TONE" and tone["status"] == "pending"
    assert {"image: required Image input is missing", "give at least one of brightness, contrast, saturation",
            "no later step or the result uses its outputs; remove it or use it"} <= set(tone["problems"])
    for op in ({"op": "connect", "source": "step2[image]", "step": 3, "input": "image"},
               {"op": "set", "step": 3, "input": "brightness", "value": "0.3"},
               {"op": "connect", "source": "step3[image]", "result": 0}):
        text, _ = edit_workflow(editor, text, op)
    v = view(editor, text, run=first)
    assert not v["problems"] and not any(n["problems"] for n in v["nodes"])
    assert [node(v, f"step{i}")["status"] for i in (1, 2)] == [first.status()[1], first.status()[2]]
    assert node(v, "step3")["changed"]
    second = editor.run(text, image)
    assert second.executed == [3] and second.cached == [1, 2]
    assert second.first_image().mean() > first.first_image().mean() + 10  # brighter
    after = view(editor, text, run=second)
    assert [node(after, f"step{i}")["status"] for i in (1, 2, 3)] == ["cached", "cached", "done"]
    assert node(after, "step3")["outputs"][0]["thumb"].startswith("data:image/jpeg;base64,")


def test_a_changed_literal_marks_that_step_and_its_dependents_changed(editor):
    text = json.dumps({"process": "x", "pipeline": [
        {"step": 1, "model": "RES", "input": {"image": "init[image]", "prompt": "blue square"}},
        {"step": 2, "model": "RCM", "input": {"image": "init[image]", "mask": "step1[mask]", "prompt": "green"}},
        {"step": 3, "model": "TONE", "input": {"image": "step2[image]", "contrast": 0.2}},
        {"result": "[step3[image]]"}]})
    image = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(SCENE).convert("RGB"))
    run = editor.run(text, image)
    changed, _ = edit_workflow(editor, text, {"op": "set", "step": 2, "input": "prompt", "value": "red"})
    v = view(editor, changed, run=run)
    status = run.status()  # step 1 may come from the cache of an earlier test
    assert [(node(v, f"step{i}")["status"], node(v, f"step{i}").get("changed", False)) for i in (1, 2, 3)] == [
        (status[1], False), ("pending", True), ("pending", True)]
    live = view(editor, changed, run=run, live={1: "cached", 2: "running"})
    assert [node(live, f"step{i}")["status"] for i in (1, 2, 3)] == ["cached", "running", "pending"]
    failed = view(editor, changed, run=run, failure=(2, "no red here"))
    assert node(failed, "step2")["status"] == "failed" and node(failed, "step2")["error"] == "no red here"
    assert node(failed, "step2")["colour"] == failed["colours"]["status"]["failed"]


def twenty_steps() -> str:
    """RES finds three things; each gets recoloured, toned, grown; 20 steps in all."""
    steps, n = [], 0

    def add(model, inputs):
        nonlocal n
        n += 1
        steps.append({"step": n, "model": model, "input": inputs})
        return n

    image = "init[image]"
    for target, colour in (("red circle", "green"), ("blue square", "yellow"), ("yellow triangle", "blue")):
        found = add("RES", {"image": "init[image]", "prompt": target})
        grown = add("GROW", {"mask": f"step{found}[mask]", "amount": 0.1})
        image = f"step{add('RCM', {'image': image, 'mask': f'step{grown}[mask]', 'prompt': colour})}[image]"
        image = f"step{add('TONE', {'image': image, 'mask': f'step{grown}[mask]', 'saturation': 0.2})}[image]"
    while n < 20:
        image = f"step{add('TONE', {'image': image, 'contrast': 0.05})}[image]"
    return json.dumps({"process": "twenty", "pipeline": steps + [{"result": f"[{image}]"}]})


def test_twenty_steps_lay_out_without_overlap_and_every_wire_is_visible(editor):
    v = view(editor, twenty_steps())
    assert not v["problems"] and not any(n["problems"] for n in v["nodes"])
    boxes = [(n["x"], n["y"], n["x"] + n["w"], n["y"] + n["h"]) for n in v["nodes"]]
    assert len(boxes) == 22
    for i, a in enumerate(boxes):
        assert a[0] >= 0 and a[1] >= 0 and a[2] <= v["width"] and a[3] <= v["height"]
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    for e in v["edges"]:  # a wire that skips columns runs over the top, above every node
        if "points" in e:
            channel = e["points"][2][1]
            assert channel < min(n["y"] for n in v["nodes"]) and channel >= 0
        else:
            between = [b for b in boxes if e["x1"] < b[0] and b[2] < e["x2"]]
            assert not between, e


def test_blank_or_unreadable_json(editor):
    blank = view(editor, "")
    assert [n["id"] for n in blank["nodes"]] == ["init", "result"]
    assert not blank["problems"] and blank["message"].startswith("No workflow yet")  # a start, not a fault
    text, focus = edit_workflow(editor, "", {"op": "add", "brick": "SOS"})
    assert focus == 1 and parse_workflow(text).workflow.steps[0].brick == "SOS"
    broken = view(editor, '{"pipeline": [{"step": 1, "model": ')
    assert broken["nodes"] == [] and "cannot be read" in broken["error"]
    palette = {b["name"]: b["available"] for b in broken["palette"]}
    assert palette["TONE"] is True and palette["POSE"] is False  # POSE needs a model engine


def test_canvas_assets_survive_the_html_template():
    """gr.HTML reads its template as a JS template string with Handlebars: the CSS must not
    contain what those would interpret."""
    css = (STATIC / "canvas.css").read_text()
    for marker in ("`", "${", "{{", "\\"):
        assert marker not in css
    assert "http" not in (STATIC / "canvas.js").read_text().replace("http://www.w3.org/2000/svg", "")

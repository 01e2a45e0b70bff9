"""The workflow canvas in headless Chromium (the small canvas page, ui/canvas.py:canvas_demo):
change RCM's colour on the canvas and only RCM re-runs; add a TONE node after it, wire it by
dragging and it runs; a wire of the wrong type is refused; delete a node and the node that
used it shows the problem; at 390 px a 20-step workflow (typed into the JSON box) lays out
without overlap and pans, zooms and wires by tapping. Screenshots go to test-artifacts/.

Skips when Chromium or Playwright is missing, unless LEGO_REQUIRE_BROWSER=1 (CI): then it fails.
"""

from __future__ import annotations

import io
import json
import os

import numpy as np
import pytest
from chromium import ARTIFACTS, TIMEOUT_MS
from local_app import free_port
from PIL import Image
from test_canvas import RECOLOUR, SCENE, twenty_steps

pytestmark = pytest.mark.browser

CANVAS = "#lego-canvas"




@pytest.fixture(scope="module")
def demo_url():
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from lego_demo.editor import Editor
    from lego_demo.ui.canvas import canvas_demo

    demo = canvas_demo(Editor.from_config(), SCENE, json.dumps(json.loads(RECOLOUR), indent=2))
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_port=free_port(), server_name="127.0.0.1")
    try:
        yield url
    finally:
        demo.close()


def _open(browser, url, width: int, height: int, touch: bool = False):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_context(viewport={"width": width, "height": height}, has_touch=touch).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector(f"{CANVAS} .lc-node[data-id=step2]")
    return page, errors


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _node(page, node_id: str) -> str:
    return f"{CANVAS} .lc-node[data-id={node_id}]"


def _out_port(page, node_id: str, name: str):
    return page.locator(f"{_node(page, node_id)} .lc-port.lc-out[data-ref='{node_id}[{name}]']")


def _in_port(page, node_id: str, name: str):
    return page.locator(f"{_node(page, node_id)} .lc-port.lc-in[data-input='{name}']")


def _centre(locator) -> tuple[float, float]:
    box = locator.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _drag_wire(page, source, target) -> None:
    x1, y1 = _centre(source)
    x2, y2 = _centre(target)
    page.mouse.move(x1, y1)
    page.mouse.down()
    page.mouse.move((x1 + x2) / 2, (y1 + y2) / 2 - 30, steps=4)
    page.mouse.move(x2, y2, steps=4)
    page.mouse.up()


def _code(page) -> str:
    """The whole JSON box: CodeMirror draws only the lines in view, so ask its editor state
    (CodeMirror 6 hangs its view on the content element: cmTile, cmView before 6.3x)."""
    return page.evaluate("(() => { const c = document.querySelector('#lego-canvas-code .cm-content');"
                         " return (c.cmTile || c.cmView).view.state.doc.toString(); })()")


def _trace_text(page) -> str:
    return page.input_value("#lego-canvas-trace textarea")


def _run(page) -> dict:
    """Press the canvas's Run and wait for this run's trace (each trace has its own timing)."""
    before = _trace_text(page)
    page.click(f"{CANVAS} .lc-run")
    page.wait_for_function("prev => { const t = document.querySelector('#lego-canvas-trace textarea');"
                           " return t && t.value && t.value !== prev; }", arg=before)
    return json.loads(_trace_text(page))


def _result(page) -> np.ndarray:
    src = page.get_attribute("#lego-canvas-result img", "src")
    return np.asarray(Image.open(io.BytesIO(page.request.get(src).body())).convert("RGB")).astype(int)


def _edit_literal(page, node_id: str, name: str, value: str) -> None:
    page.click(f"{_node(page, node_id)} .lc-head")
    field = page.locator(f"{CANVAS} .lc-panel input[data-input='{name}']")
    field.fill(value)
    field.press("Enter")  # commits (change event) -> the server applies the edit
    page.wait_for_selector(f"{_node(page, node_id)}:has-text('{name} = {value}')")


def test_change_colour_add_and_wire_tone_reject_wrong_type_delete(browser, demo_url):
    page, errors = _open(browser, demo_url, 1280, 1000)
    _shot(page, "canvas_01_start")
    first = _run(page)
    assert first["executed"] == [1, 2] or first["cached"]  # a module-scoped cache may hold RES already
    page.wait_for_selector(f"{_node(page, 'step2')}.lc-st-done")
    green = _result(page)

    # 1. RCM's colour changed on the canvas: the JSON box follows, only RCM re-runs, the result changes
    _edit_literal(page, "step2", "prompt", "red")
    assert "changed" in page.inner_text(f"{_node(page, 'step2')} .lc-badge")
    assert json.loads(_code(page))["pipeline"][1]["input"]["prompt"] == "red"
    second = _run(page)
    assert second["executed"] == [2] and second["cached"] == [1], second
    assert [(s["step"], s["cache_hit"]) for s in second["steps"]] == [(1, True), (2, False)]
    page.wait_for_selector(f"{_node(page, 'step1')}.lc-st-cached")
    page.wait_for_selector(f"{_node(page, 'step2')}.lc-st-done")
    red = _result(page)
    changed = np.abs(red - green).sum(axis=2) > 60
    assert changed.sum() > 2000, changed.sum()  # the square, nothing else
    r, g, b = (red[changed][:, i].mean() for i in range(3))
    assert r > g + 60 and r > b + 60, (r, g, b)  # and it is red now
    _shot(page, "canvas_02_recoloured_red")

    # 2. a wire of the wrong type is refused with a reason, and nothing changes
    code_before = _code(page)
    _drag_wire(page, _out_port(page, "step1", "image"), _in_port(page, "step2", "mask"))
    page.wait_for_selector(f"{CANVAS} .lc-toast.lc-show:has-text('takes Mask')")
    assert _code(page) == code_before

    # 3. add a TONE node after the last edit, wire it in by dragging, set an amount: it runs
    page.select_option(f"{CANVAS} .lc-add-brick", "TONE")
    page.click(f"{CANVAS} .lc-add")
    page.wait_for_selector(f"{_node(page, 'step3')}.lc-bad")  # unwired: its problems show on it
    assert "required Image input is missing" in page.inner_text(f"{CANVAS} .lc-panel")  # the new node is selected
    _drag_wire(page, _out_port(page, "step2", "image"), _in_port(page, "step3", "image"))
    page.wait_for_selector(f"{_node(page, 'step3')}:has-text('step2[image]')")
    _edit_literal(page, "step3", "brightness", "0.3")
    page.click(f"{CANVAS} .lc-fit")  # the result sits off to the right now: see it all
    _drag_wire(page, _out_port(page, "step3", "image"), _in_port(page, "result", "1"))
    page.wait_for_selector(f"{_node(page, 'result')}:has-text('step3[image]')")
    page.wait_for_selector(f"{_node(page, 'step3')}:not(.lc-bad)")
    assert json.loads(_code(page))["pipeline"][2]["model"] == "TONE"
    _shot(page, "canvas_03_tone_wired")
    third = _run(page)
    assert third["executed"] == [3] and third["cached"] == [1, 2], third
    page.wait_for_selector(f"{_node(page, 'step3')}.lc-st-done img")  # its output thumbnail
    assert _result(page).mean() > red.mean() + 15  # brighter
    _shot(page, "canvas_04_tone_ran")

    # 4. delete RES: RCM, which used its mask, shows the problem
    page.click(f"{_node(page, 'step1')} .lc-head")
    page.click(f"{CANVAS} .lc-panel .lc-delete")
    page.wait_for_selector(_node(page, "step1"), state="detached")
    page.wait_for_selector(f"{_node(page, 'step2')}.lc-bad")
    assert "refers to step 1, which does not exist" in page.inner_text(f"{_node(page, 'step2')} .lc-problems")
    _shot(page, "canvas_05_deleted_res")
    assert not errors, errors
    page.context.close()


def test_twenty_steps_at_390px_pan_zoom_and_tap_to_wire(browser, demo_url):
    page, errors = _open(browser, demo_url, 390, 844, touch=True)
    editor = page.locator("#lego-canvas-code .cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(twenty_steps())  # the JSON box drives the canvas
    page.wait_for_selector(_node(page, "step20"))
    boxes = [page.locator(f"{CANVAS} .lc-node").nth(i).bounding_box() for i in range(22)]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            apart = (a["x"] + a["width"] <= b["x"] + 0.5 or b["x"] + b["width"] <= a["x"] + 0.5
                     or a["y"] + a["height"] <= b["y"] + 0.5 or b["y"] + b["height"] <= a["y"] + 0.5)
            assert apart, (a, b)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # the page does not scroll sideways
    page.locator(CANVAS).scroll_into_view_if_needed()
    _shot(page, "canvas_06_twenty_390")

    def scale() -> float:  # the canvas's zoom: matrix(k, 0, 0, k, x, y)
        matrix = page.evaluate(f"getComputedStyle(document.querySelector('{CANVAS} .lc-world')).transform")
        return float(matrix.split("(")[1].split(",")[0])

    start = scale()
    page.click(f"{CANVAS} .lc-zoom-in")
    assert scale() == pytest.approx(start * 1.25, rel=0.01)
    page.click(f"{CANVAS} .lc-zoom-out")
    vp = page.locator(f"{CANVAS} .lc-viewport").bounding_box()
    cx, cy = vp["x"] + vp["width"] / 2, vp["y"] + vp["height"] / 2
    page.mouse.move(cx + 120, cy)  # drag (on a node or not): pan 240 px to the left
    page.mouse.down()
    page.mouse.move(cx, cy, steps=4)
    page.mouse.move(cx - 120, cy, steps=4)
    page.mouse.up()
    moved = page.locator(_node(page, "step3")).bounding_box()
    assert vp["x"] < moved["x"] < vp["x"] + vp["width"] - 20, moved  # RCM came into view

    # tap an output, then an input: step 3's mask now comes straight from RES (step 1)
    _out_port(page, "step1", "mask").click()
    page.wait_for_selector(f"{CANVAS} .lc-root.lc-wiring")
    _in_port(page, "step3", "mask").click()
    page.wait_for_selector(f"{_node(page, 'step3')}:has-text('mask ← step1[mask]')")
    assert json.loads(_code(page))["pipeline"][2]["input"]["mask"] == "step1[mask]"
    page.click(f"{_node(page, 'step3')} .lc-head")  # the panel sits below the canvas on a phone
    panel = page.locator(f"{CANVAS} .lc-panel").bounding_box()
    assert panel["y"] >= vp["y"] + vp["height"] - 1 and panel["width"] <= 390
    _shot(page, "canvas_07_tapped_wire_390")

    # pinch: two fingers spread from 60 to 180 px apart zoom in 3×
    start = scale()
    touch = page.context.new_cdp_session(page)

    def fingers(kind: str, half: float | None = None) -> None:
        points = [] if half is None else [{"x": cx - half, "y": cy, "id": 0}, {"x": cx + half, "y": cy, "id": 1}]
        touch.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    fingers("touchStart", 30)
    for half in range(40, 91, 10):
        fingers("touchMove", half)
    fingers("touchEnd")
    assert scale() == pytest.approx(start * 3, rel=0.05)
    page.locator(CANVAS).screenshot(path=str(ARTIFACTS / "canvas_08_pinched_390.png"))
    assert not errors, errors
    page.context.close()



def test_in_the_app_the_canvas_follows_the_plan_and_reruns_one_step(browser, app_url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(app_url)
    page.wait_for_selector(f"{CANVAS} .lc-root")
    page.locator("#lego-examples").get_by_text("make the blue square green").first.click()
    page.wait_for_function("document.querySelector('#lego-instruction textarea').value.length > 0")
    page.wait_for_timeout(800)  # the example image loads into the editor
    page.click("#lego-run-btn")
    page.wait_for_selector("#lego-status:has-text('turn 1')")
    page.wait_for_selector(f"{_node(page, 'step2')}.lc-st-done")  # the canvas shows the plan and its run
    page.locator(CANVAS).scroll_into_view_if_needed()
    _edit_literal(page, "step2", "prompt", "red")
    page.click("#lego-wf-acc button, #lego-wf-acc .label-wrap >> nth=0")  # the JSON box followed
    page.wait_for_function("() => { const c = document.querySelector('#lego-code .cm-content');"  # drawn once open
                           " const v = c && (c.cmTile || c.cmView);"
                           " return !!v && v.view.state.doc.toString().includes('\"red\"'); }")
    page.click(f"{CANVAS} .lc-run")
    status = page.inner_text("#lego-status:has-text('turn 2')")
    assert "hand-edited workflow" in status and "Re-used from the step cache: step(s) 1" in status, status
    page.wait_for_selector(f"{_node(page, 'step1')}.lc-st-cached")
    page.wait_for_selector(f"{_node(page, 'step2')}.lc-st-done")
    page.locator(CANVAS).screenshot(path=str(ARTIFACTS / "canvas_09_in_the_app.png"))
    _shot(page, "canvas_10_app_page")
    page.close()

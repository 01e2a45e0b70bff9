"""The app in headless Chromium (Playwright, /usr/bin/chromium): pick an example, run it,
re-plan with feedback (no RES; cached steps re-used), draw a mask and run a masked edit,
run a hand-edited workflow and see a bad one's problems; Think-while-Edit with 3 turns shows
its turn strip with scores, and Stop ends a loop after the current turn. Screenshots go to
test-artifacts/.

Skips when Chromium or Playwright is missing, unless LEGO_REQUIRE_BROWSER=1 (CI): then it fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import time
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("LEGO_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 120_000
T0 = time.monotonic()


def _need(what: str) -> None:
    if os.environ.get("LEGO_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{what} (LEGO_REQUIRE_BROWSER=1)")
    pytest.skip(what)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        _need(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need("playwright is not installed (pip install playwright; never `playwright install`)")
    with sync_playwright() as p:  # launch() always starts from a fresh temporary profile
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def app_url():
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import app as app_module

    args = app_module.build_parser().parse_args(["--port", str(_free_port()), "--host", "127.0.0.1"])
    demo, options = app_module.create_app(args)
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, **options)
    try:
        yield url
    finally:
        demo.close()


@pytest.fixture
def page(browser, app_url):
    ARTIFACTS.mkdir(exist_ok=True)
    pg = browser.new_page(viewport={"width": 1400, "height": 1000})
    pg.set_default_timeout(TIMEOUT_MS)
    pg.goto(app_url)
    pg.wait_for_selector("#lego-run-btn")
    yield pg
    pg.close()


def _shot(page, name: str) -> None:
    # images below the fold load lazily: scroll through the page first so they are drawn
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_timeout(400)
    page.evaluate("window.scrollTo(0, 0)")
    t0 = time.monotonic()
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    print(f"[browser] {time.monotonic() - T0:.1f}s {name} (screenshot {time.monotonic() - t0:.1f} s)")


def _status(page) -> str:
    return page.inner_text("#lego-status")


def _wait_status(page, text: str) -> str:
    t0 = time.monotonic()
    page.wait_for_selector(f"#lego-status:has-text('{text}')")
    print(f"[browser] {time.monotonic() - T0:.1f}s status '{text}' after {time.monotonic() - t0:.1f} s")
    return _status(page)


def _workflow_line(status: str) -> str:
    return next(line for line in status.splitlines() if line.startswith("Workflow:"))


def _set_code(page, text: str) -> None:
    editor = page.locator("#lego-code .cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


def _input_canvas_box(page):
    boxes = [c.bounding_box() for c in page.locator("#lego-input canvas").all()]
    boxes = [b for b in boxes if b and b["width"] > 50 and b["height"] > 50]
    assert boxes, "no drawing canvas in the image editor"
    return max(boxes, key=lambda b: b["width"] * b["height"])


def test_example_replan_mask_and_hand_edited_workflow(page):
    _shot(page, "01_start")

    # 1. pick the scene example and run it
    page.locator("#lego-examples").get_by_text("remove the red circle").first.click()
    page.wait_for_function("document.querySelector('#lego-instruction textarea').value.length > 0")
    page.wait_for_timeout(800)  # the example image loads into the editor
    page.click("#lego-run-btn")
    status = _wait_status(page, "turn 1")
    assert "RES" in _workflow_line(status)
    page.wait_for_selector("#lego-result img")
    page.wait_for_selector("#lego-graph img")
    assert page.locator("#lego-steps").get_by_text("step 1 · RES").count() >= 1
    assert page.locator("#lego-reasoning textarea").input_value().strip()
    _shot(page, "02_first_run")

    # 2. feedback "don't use INPAINT" → a plan without it; the unchanged RES step comes from the cache
    page.fill("#lego-feedback textarea", "don't use INPAINT")
    page.click("#lego-replan-btn")
    status = _wait_status(page, "turn 2")
    line = _workflow_line(status)
    assert " RES" in line and " INPAINT" not in line, line
    assert "Re-used from the step cache" in status, status
    assert page.locator("#lego-steps").get_by_text("· cached").count() >= 1
    _shot(page, "03_replanned_cached")

    # 3. "don't use RES" as well: SOS would stand in for the red circle, but what it finds is the
    # blue square, so the edit is declined with the next step instead of removing the wrong object
    page.fill("#lego-feedback textarea", "don't use RES")
    page.click("#lego-replan-btn")
    status = _wait_status(page, "paint over the red circle")
    assert "does not look like 'red circle'" in status, status
    feedback_list = page.inner_text("#lego-feedback-list")
    assert "don't use RES" in feedback_list and "don't use INPAINT" in feedback_list

    # 4. draw a mask over the middle of the image (the blue square) and run a masked edit
    box = _input_canvas_box(page)
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    t0 = time.monotonic()
    page.mouse.move(cx - 25, cy - 15)
    page.mouse.down()  # a short zig-zag stroke: each move re-renders the canvas (slow in software GL)
    for x, y in ((cx + 25, cy - 10), (cx - 25, cy + 5), (cx + 25, cy + 15)):
        page.mouse.move(x, y, steps=2)
    page.mouse.up()
    page.fill("#lego-instruction textarea", "remove it")
    print(f"[browser] {time.monotonic() - T0:.1f}s mask drawn in {time.monotonic() - t0:.1f} s")
    page.click("#lego-run-btn")
    status = _wait_status(page, "turn 3")
    assert "your mask" in status, status
    _shot(page, "04_masked_edit")

    # 5. write a workflow by hand and run it; then a broken one shows its problems per step
    page.click("#lego-wf-acc button, #lego-wf-acc .label-wrap >> nth=0")
    workflow = {"process": "cut the blue square out", "pipeline": [
        {"step": 1, "model": "RES", "input": {"image": "init[image]", "prompt": "blue square"},
         "output": {"mask": "step1[mask]", "image": "step1[image]"}},
        {"step": 2, "model": "FASTINPAINT", "input": {"image": "init[image]", "mask": "step1[mask]"},
         "output": {"image": "step2[image]", "score": "step2[score]"}},
        {"result": "[step2[image]]"}]}
    _set_code(page, json.dumps(workflow, indent=1))
    page.click("#lego-run-wf-btn")
    status = _wait_status(page, "turn 4")
    assert "hand-edited workflow" in status and "1 RES → 2 FASTINPAINT" in status, status
    _shot(page, "05_hand_edited")

    broken = {"process": "broken", "pipeline": [
        {"step": 1, "model": "RES", "input": {"image": "init[image]"}, "output": {"mask": "step1[mask]"}},
        {"result": "[step1[mask]]"}]}
    _set_code(page, json.dumps(broken))
    page.click("#lego-run-wf-btn")
    page.wait_for_selector("#lego-status:has-text('Workflow not valid')")  # the run's answer, not the live check's
    page.wait_for_selector("#lego-problems:has-text('step 1 (RES)')")
    assert "prompt" in page.inner_text("#lego-problems")
    assert "Traceback" not in page.inner_text("body")
    _shot(page, "06_problems")

    # 6. history: use a result as the new input, then undo
    assert page.locator("#lego-history img").count() == 4
    t0 = time.monotonic()
    page.click("#lego-use-btn")
    page.wait_for_selector("#lego-status:has-text('is now the input')")
    page.click("#lego-undo-btn")
    page.wait_for_selector("#lego-status:has-text('Undid')")
    print(f"[browser] {time.monotonic() - T0:.1f}s use + undo in {time.monotonic() - t0:.1f} s")


def test_bricks_tab_lists_every_brick(page):
    page.get_by_role("tab", name="Bricks").click()
    page.wait_for_selector("#lego-bricks table")
    text = page.inner_text("#lego-bricks")
    for name in ("RES", "FASTINPAINT", "INPAINT", "INVERSE", "RCM", "STYLE"):
        assert name in text
    assert "active" in text
    _shot(page, "07_bricks")


TURN_LINE = re.compile(r"turn \d · semantic \d+\.\d · quality \d+\.\d")


class _SlowCritic:
    """Takes a second per turn and always asks for more, so a loop runs until stopped."""

    name = "slow-test-critic"

    def critique(self, source, edited, instruction, plan=None, run=None):
        from lego_demo.critics.base import Critique

        time.sleep(1.0)
        return Critique(5.0, 10.0, "[FAILED] the test critic is never satisfied", f"{instruction} (stronger)",
                        ["stronger"], [])


def test_think_while_edit_turn_strip_and_stop(page, tmp_path, monkeypatch):
    from lego_demo.editor import Editor
    from lego_demo.synthetic import make_scene

    # an outlined object: turn 1 leaves the outline, the critic asks to expand the mask, turn 2 passes
    scene = make_scene(640, 480, background_kind="checker", seed=3, outline=4)
    path = tmp_path / "outlined.png"
    Image.fromarray(scene.image).save(path)
    page.set_input_files("#lego-input input[type=file]", str(path))
    page.wait_for_selector("#lego-input canvas")
    page.fill("#lego-instruction textarea", f"remove the {scene.objects[0].name}")
    turns = page.locator("#lego-think-turns input[type=number]")
    turns.fill("3")
    turns.press("Enter")
    assert not page.locator("#lego-stop-btn").is_enabled()  # nothing to stop yet
    page.click("#lego-run-btn")
    status = _wait_status(page, "Done — Think-while-Edit")
    assert "good enough at turn 2" in status, status
    strip = page.inner_text("#lego-think-turns-list")
    lines = TURN_LINE.findall(strip)
    assert len(lines) >= 2, strip
    assert "refine: expand the mask" in strip and "GROW" in strip and "cached steps 1" in strip, strip
    assert page.locator("#lego-think-strip img").count() >= 2
    assert "semantic" in page.inner_text("#lego-think-strip")
    assert "✓" in page.inner_text("#lego-critique")
    assert page.locator("#lego-history img").count() == 2  # each turn is in the history
    assert not page.locator("#lego-stop-btn").is_enabled()
    _shot(page, "08_think_while_edit")

    # Stop: a never-satisfied critic keeps a 5-turn loop going; Stop ends it after the current turn
    monkeypatch.setattr(Editor, "critic", property(lambda self: _SlowCritic()))
    page.fill("#lego-instruction textarea", "make it brighter")
    turns.fill("5")
    turns.press("Enter")
    page.click("#lego-run-btn")
    page.wait_for_function("(() => { const t = document.querySelector('#lego-think-turns-list').innerText;"
                           " return t.includes('of 5 turn') && t.includes('turn 1 · semantic'); })()")
    page.click("#lego-stop-btn")  # during turn 2 on a quiet machine (the critic takes a second per turn)
    status = _wait_status(page, "Done — Think-while-Edit")
    stopped = re.search(r"stopped by the user after turn (\d)", status)
    assert stopped and 2 <= int(stopped.group(1)) < 5, status  # the current turn ends, no new one starts
    assert len(TURN_LINE.findall(page.inner_text("#lego-think-turns-list"))) == int(stopped.group(1))
    assert "Traceback" not in page.inner_text("body")
    _shot(page, "09_think_stopped")

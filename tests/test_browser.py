"""The app in headless Chromium (Playwright, /usr/bin/chromium): pick an example, run it,
re-plan with feedback (no RES; cached steps re-used), draw a mask and run a masked edit,
run a hand-edited workflow and see a bad one's problems. Screenshots go to test-artifacts/.

Skips when Chromium or Playwright is missing, unless LEGO_REQUIRE_BROWSER=1 (CI): then it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from pathlib import Path

import pytest

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
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    print(f"[browser] {time.monotonic() - T0:.1f}s {name}")


def _status(page) -> str:
    return page.inner_text("#lego-status")


def _wait_status(page, text: str) -> str:
    page.wait_for_selector(f"#lego-status:has-text('{text}')")
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

    # 2. feedback "don't use RES" → a plan without RES
    page.fill("#lego-feedback textarea", "don't use RES")
    page.click("#lego-replan-btn")
    status = _wait_status(page, "turn 2")
    assert "RES" not in _workflow_line(status).replace("INPAINT", ""), status
    assert "don't use RES" in page.inner_text("#lego-feedback-list")

    # 3. more feedback accumulates; unchanged steps come from the cache
    page.fill("#lego-feedback textarea", "don't use INPAINT")
    page.click("#lego-replan-btn")
    status = _wait_status(page, "turn 3")
    line = _workflow_line(status)
    assert " RES" not in line and " INPAINT" not in line, line
    assert "Re-used from the step cache" in status, status
    assert page.locator("#lego-steps").get_by_text("· cached").count() >= 1
    feedback_list = page.inner_text("#lego-feedback-list")
    assert "don't use RES" in feedback_list and "don't use INPAINT" in feedback_list
    _shot(page, "03_replanned_cached")

    # 4. draw a mask over the middle of the image (the blue square) and run a masked edit
    box = _input_canvas_box(page)
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx - 25, cy - 15)
    page.mouse.down()
    for dx in range(-25, 30, 5):
        page.mouse.move(cx + dx, cy - 15 + (dx % 10), steps=2)
    page.mouse.move(cx + 25, cy + 15, steps=4)
    page.mouse.up()
    page.fill("#lego-instruction textarea", "remove it")
    page.click("#lego-run-btn")
    status = _wait_status(page, "turn 4")
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
    status = _wait_status(page, "turn 5")
    assert "hand-edited workflow" in status and "1 RES → 2 FASTINPAINT" in status, status
    _shot(page, "05_hand_edited")

    broken = {"process": "broken", "pipeline": [
        {"step": 1, "model": "RES", "input": {"image": "init[image]"}, "output": {"mask": "step1[mask]"}},
        {"result": "[step1[mask]]"}]}
    _set_code(page, json.dumps(broken))
    page.click("#lego-run-wf-btn")
    page.wait_for_selector("#lego-problems:has-text('step 1 (RES)')")
    assert "prompt" in page.inner_text("#lego-problems")
    assert "Traceback" not in page.inner_text("body")
    _shot(page, "06_problems")

    # 6. history: use a result as the new input, then undo
    assert page.locator("#lego-history img").count() == 5
    page.click("#lego-use-btn")
    page.wait_for_selector("#lego-status:has-text('is now the input')")
    page.click("#lego-undo-btn")
    page.wait_for_selector("#lego-status:has-text('Undid')")


def test_bricks_tab_lists_every_brick(page):
    page.get_by_role("tab", name="Bricks").click()
    page.wait_for_selector("#lego-bricks table")
    text = page.inner_text("#lego-bricks")
    for name in ("RES", "FASTINPAINT", "INPAINT", "INVERSE", "RCM", "STYLE"):
        assert name in text
    assert "active" in text
    _shot(page, "07_bricks")

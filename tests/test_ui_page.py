"""The page's event streaming without Gradio: events.py (a session's work streamed from a
worker thread, Think-while-Edit turns acknowledged by the page) and page.py (events in, page
updates out: what a run clears, what a failed run leaves, which result may be shown)."""

from __future__ import annotations

import re
import threading
import time

import numpy as np
import pytest

from lego_demo.critics.base import Critique
from lego_demo.editor import Editor, EditorConfig
from lego_demo.errors import BadInput
from lego_demo.executor import Executor, StepCache
from lego_demo.graph import STATUS_COLOURS
from lego_demo.synthetic import make_scene
from lego_demo.ui.events import Event, edit_events, run_events, stream, think_events
from lego_demo.ui.page import FIELDS, run_updates, start_update
from lego_demo.ui.session import Editors, Session
from lego_demo.ui.views import think_strip_markdown


@pytest.fixture(scope="module")
def base_editor() -> Editor:
    return Editor.from_config(EditorConfig())


@pytest.fixture
def editors(base_editor) -> Editors:
    return Editors(Editor(base_editor.registry, executor=Executor(base_editor.registry, cache=StepCache())))


@pytest.fixture(scope="module")
def scene():
    return make_scene(320, 240, objects=[("red", "circle", (80, 120), 40), ("blue", "square", (220, 120), 40)],
                      seed=1)


def _session(editors: Editors, image, instruction: str = "remove the red circle") -> Session:
    s = Session()
    s.set_input(editors, image)
    s.set_instruction(instruction)
    return s


def _final(updates: list[dict]) -> dict:
    """What the page shows after all updates (later fields replace earlier ones)."""
    shown: dict = {}
    for u in updates:
        assert set(u) <= set(FIELDS), set(u) - set(FIELDS)
        shown.update(u)
    return shown


# -- events.py: the worker thread and the page's acknowledgement -----------------------------------
def test_an_acknowledged_event_holds_the_worker_until_the_page_asks_for_more():
    order: list[str] = []

    def work(emit):
        emit("think_turn", 1, wait=True)
        order.append("worker: after turn 1")
        emit("think_turn", 2, wait=True)
        order.append("worker: after turn 2")
        return "done"

    events = stream(work)
    assert next(events).payload == 1
    order.append("page: got turn 1")
    time.sleep(0.3)  # the page sends the update (slow on a busy machine); the worker must wait
    order.append("page: sent turn 1")
    assert next(events).payload == 2
    order.append("page: got turn 2")
    assert next(events).payload == "done"
    assert order == ["page: got turn 1", "page: sent turn 1", "worker: after turn 1", "page: got turn 2",
                     "worker: after turn 2"]


def test_a_page_that_goes_away_releases_the_worker_and_is_told():
    finished = threading.Event()
    closed = []

    def work(emit):
        emit("think_turn", 1, wait=True)
        emit("think_turn", 2, wait=True)  # nobody takes it: must not block
        finished.set()

    events = stream(work, on_close=lambda: closed.append(True))
    next(events)
    events.close()
    assert finished.wait(5) and closed == [True]


def test_stream_reraises_in_the_callers_thread():
    def work(emit):
        emit("text", "a")
        raise BadInput("boom")

    got = []
    with pytest.raises(BadInput, match="boom"):
        for e in stream(work):
            got.append(e.kind)
    assert got == ["text"]


class _NeverSatisfied:
    name = "never-satisfied"

    def critique(self, source, edited, instruction, plan=None, run=None):
        return Critique(5.0, 10.0, "[FAILED] never satisfied", f"{instruction} (stronger)", ["stronger"], [])


def test_stop_seen_on_a_slow_page_ends_the_loop_before_it_runs_ahead(base_editor, scene):
    """The browser flake: on a busy machine the loop finished all 5 turns before the page had
    shown turn 1, so Stop came too late. The loop now waits for the page at each turn."""
    editor = Editor(base_editor.registry, executor=Executor(base_editor.registry, cache=StepCache()),
                    critic=_NeverSatisfied())
    editors = Editors(editor)
    s = _session(editors, scene.image, "make it brighter")
    seen, ran = [], []
    for ev in think_events(s, editors, 5):
        if ev.kind == "think_turn":
            seen.append(ev.payload.index)
            if ev.payload.index == 1:
                time.sleep(0.5)  # the page takes its time to show turn 1 (a turn takes ~0.05 s here)
                ran.append(len(s.turns))  # what had run when the person saw turn 1
                assert s.request_stop()  # and pressed Stop
        if ev.kind == "return":
            run = ev.payload
    assert ran == [1], "the loop ran ahead of the page"
    assert seen == [1] and len(run.turns) == 1 and run.stopped == "stopped by the user after turn 1"


# -- page.py: events in, page updates out ------------------------------------------------------------
def test_a_run_starts_by_clearing_what_the_last_request_showed(editors, scene):
    s = _session(editors, scene.image)
    first = start_update(s)
    assert first["result"] is None and first["gallery"] == [] and first["graph"] is None
    assert first["reasoning"] == "" and first["think_gallery"] == [] and first["critique"] == ""
    assert first["think_md"] == think_strip_markdown(None)  # a plain edit clears an earlier turn strip
    thinking = start_update(s, thinking=3)
    assert thinking["stop"] is True and "0 of 3 turn(s) (running…)" in thinking["think_md"]


def test_a_successful_edit_ends_with_its_result_gallery_and_graph(editors, scene):
    s = _session(editors, scene.image)
    updates = list(run_updates(s, edit_events(s, editors), editors))
    shown = _final(updates)
    assert shown["status"].startswith("**Done — turn 1: remove the red circle.**")
    assert isinstance(shown["result"], np.ndarray) and shown["result"].shape == scene.image.shape
    assert len(shown["gallery"]) >= 3 and shown["graph"] is not None and len(shown["history"]) == 1
    assert shown["reasoning"] and "RES" in shown["code"]
    assert "warning" not in shown
    progress = [u["progress"] for u in updates if "progress" in u]
    assert progress and progress[-1][0] == (3, 3)


FAILING = """{"process": "find a spoon", "pipeline": [
 {"step": 1, "model": "RES", "input": {"image": "init[image]", "prompt": "red circle"},
  "output": {"mask": "step1[mask]", "image": "step1[image]"}},
 {"step": 2, "model": "RES", "input": {"image": "init[image]", "prompt": "spoon"},
  "output": {"mask": "step2[mask]", "image": "step2[image]"}},
 {"step": 3, "model": "INVERSE", "input": {"mask1": "step1[mask]", "mask2": "step2[mask]"},
  "output": {"mask": "step3[mask]"}},
 {"result": "[step3[mask]]"}]}"""


def test_a_failed_run_clears_result_and_gallery_and_shows_the_steps_that_ran(editors, scene):
    s = _session(editors, scene.image)
    ok = _final(list(run_updates(s, edit_events(s, editors), editors)))
    assert ok["result"] is not None and ok["gallery"]
    updates = list(run_updates(s, run_events(s, editors, FAILING), editors))
    shown = _final(updates)
    assert shown["result"] is None and shown["gallery"] == []  # nothing of the earlier task stays
    assert "warning" in shown and shown["warning"].title == "Step 2 cannot run here"
    status = shown["status"]
    assert "I can't find 'spoon' without a model" in status
    assert re.search(r"paint over (it|the spoon) and press Plan & run", status, re.I)  # the next step
    assert "**Steps:** 1 RES — from the cache · 2 RES — failed · 3 INVERSE — not run" in status
    graph = np.asarray(shown["graph"]).astype(int)

    def area(status: str) -> int:  # pixels of a node coloured for this status (the legend's swatch is ~100)
        rgb = np.array([int(STATUS_COLOURS[status][i:i + 2], 16) for i in (1, 3, 5)])
        return int((np.abs(graph - rgb).max(axis=2) < 8).sum())

    # step 1 ran (from the cache: blue), step 2 failed (red), step 3 never ran (grey)
    assert area("cached") > 500 and area("failed") > 500 and area("pending") > 500
    assert len(s.turns) == 1  # the failed run is not a turn


def test_a_result_is_shown_only_beside_the_input_it_came_from(editors, scene):
    s = _session(editors, scene.image)
    turn = s.edit(editors)
    other = scene.image[::-1].copy()
    s.set_input(editors, other)  # the input changed while the run was on its way to the page
    shown = _final(list(run_updates(s, iter([Event("return", turn)]), editors)))
    assert shown["result"] is None and shown["gallery"] == []
    assert "not shown: the input image changed while it ran" in shown["status"]
    s.set_input(editors, scene.image)
    shown = _final(list(run_updates(s, iter([Event("return", turn)]), editors)))
    assert np.array_equal(shown["result"], turn.result_image)


def test_the_graph_is_redrawn_at_most_every_refresh_interval(editors, scene):
    s = _session(editors, scene.image)
    now = [100.0]
    events = list(edit_events(s, editors))
    updates = list(run_updates(s, iter(events), editors, clock=lambda: now[0]))
    steps = [u for u in updates if "progress" in u]
    assert steps and not any("graph" in u for u in steps)  # the clock stood still: no redraw per step
    now[0] += 1.0
    s2 = _session(editors, scene.image)
    ticking = iter(range(1000))
    updates = list(run_updates(s2, edit_events(s2, editors), editors,
                               clock=lambda: 100.0 + next(ticking)))
    assert any("graph" in u for u in updates if "progress" in u)


def test_think_updates_open_with_stop_and_end_with_the_best_turn(base_editor):
    editor = Editor(base_editor.registry, executor=Executor(base_editor.registry, cache=StepCache()))
    editors = Editors(editor)
    scene = make_scene(640, 480, background_kind="checker", seed=3, outline=4)
    s = _session(editors, scene.image, f"remove the {scene.objects[0].name}")
    updates = list(run_updates(s, think_events(s, editors, 3), editors, thinking=3))
    assert updates[0]["stop"] is True
    turn_updates = [u for u in updates if "critique" in u and u is not updates[0]]
    assert len(turn_updates) >= 2 and all("think_gallery" in u for u in turn_updates)
    shown = _final(updates)
    assert shown["stop"] is False and "Best: turn 2" in shown["think_md"]
    assert shown["status"].startswith("**Done — Think-while-Edit, 2 turn(s): good enough at turn 2")
    assert isinstance(shown["result"], np.ndarray) and len(shown["history"]) == 2
    # a plain edit afterwards clears the turn strip instead of leaving the earlier run's
    s.set_instruction("make it brighter")
    plain = list(run_updates(s, edit_events(s, editors), editors))
    assert plain[0]["think_gallery"] == [] and plain[0]["think_md"] == think_strip_markdown(None)

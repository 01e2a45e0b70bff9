"""The Think-while-Edit loop's control flow, with a scripted editor and critic."""

import numpy as np

from lego_demo.builders.base import Plan
from lego_demo.critics.base import Critique
from lego_demo.editor import Inputs
from lego_demo.think import think_while_edit
from lego_demo.workflow import parse_workflow


class FakeRun:
    def __init__(self, value):
        self.results = [np.full((4, 4, 3), value, np.uint8)]
        self.executed, self.cached = [1], []


def tone_plan(brightness: float) -> Plan:
    wf = parse_workflow({"process": "x", "pipeline": [
        {"step": 1, "model": "TONE", "input": {"image": "init[image]", "brightness": brightness},
         "output": {"image": "step1[image]"}}, {"result": "[step1[image]]"}]}).workflow
    return Plan(reasoning="tone", workflow=wf)


class ScriptedEditor:
    """Plans a TONE step whose brightness grows with each "stronger" (or stays put with
    `fixed=True`, like a Builder that ignores the fix); declines at turn `fail_at`."""

    class builder:
        name = "scripted"

    def __init__(self, fail_at=None, fixed=False):
        self.calls, self.runs = [], 0
        self.fail_at, self.fixed = fail_at, fixed

    def plan(self, instruction, inputs, feedback=(), previous=None, on_text=None):
        self.calls.append(list(feedback))
        if self.fail_at == len(self.calls):
            return Plan(reasoning="no", declined="no brick for that")
        return tone_plan(0.1 if self.fixed else 0.1 * (1 + feedback.count("stronger")))

    def run(self, workflow, inputs, on_progress=None, instruction=None):
        self.runs += 1
        return FakeRun(len(self.calls))


class ScriptedCritic:
    name = "scripted"

    def __init__(self, scores):
        self.scores = scores
        self.n = 0

    def critique(self, source, edited, instruction, plan=None, run=None):
        sem, qual = self.scores[self.n]
        self.n += 1
        fix = [] if sem >= 8 and qual >= 8 else ["stronger"]
        return Critique(sem, qual, "r", f"{instruction} (stronger)" if fix else None, fix)


IMG = Inputs(np.zeros((4, 4, 3), np.uint8))


def test_stops_when_good_and_feeds_refinements_back():
    editor = ScriptedEditor()
    out = think_while_edit(editor, ScriptedCritic([(3, 9), (6, 9), (9, 9)]), "make it red", IMG, max_turns=5)
    assert len(out.turns) == 3 and out.best == 2 and "good enough at turn 3" in out.stopped
    assert editor.calls == [[], ["stronger"], ["stronger", "stronger"]]


def test_keeps_the_best_turn_not_the_last():
    out = think_while_edit(ScriptedEditor(), ScriptedCritic([(7, 9), (2, 9), (3, 9)]), "x", IMG, max_turns=3)
    assert out.best == 0 and out.best_turn.result[0, 0, 0] == 1 and "budget of 3" in out.stopped


def test_failure_keeps_earlier_turns():
    out = think_while_edit(ScriptedEditor(fail_at=2), ScriptedCritic([(4, 9)]), "x", IMG, max_turns=3)
    assert len(out.turns) == 2 and out.best == 0 and out.turns[1].error and "turn 2 failed" in out.stopped


def test_user_can_stop():
    out = think_while_edit(ScriptedEditor(), ScriptedCritic([(4, 9), (4, 9)]), "x", IMG, max_turns=3,
                           should_stop=lambda: True)
    assert len(out.turns) == 1 and "stopped by the user" in out.stopped


def test_trace_json_has_every_turn():
    out = think_while_edit(ScriptedEditor(), ScriptedCritic([(4, 9), (9, 9)]), "x", IMG, max_turns=3)
    data = out.to_json()
    assert [t["turn"] for t in data["turns"]] == [1, 2] and data["best_turn"] == 2
    assert data["turns"][0]["critique"]["feedback"] == ["stronger"]


def test_a_turn_that_would_repeat_an_earlier_one_is_not_run():
    editor = ScriptedEditor(fixed=True)  # the fix does not change the plan
    out = think_while_edit(editor, ScriptedCritic([(4, 9), (4, 9), (4, 9)]), "x", IMG, max_turns=3)
    assert editor.runs == 1 and len(out.turns) == 1
    assert "would repeat turn 1" in out.stopped and "no further fix" in out.stopped

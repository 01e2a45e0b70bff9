"""The Think-while-Edit loop's control flow, with a scripted editor and critic."""

import numpy as np

from lego_demo.critics.base import Critique
from lego_demo.errors import Declined
from lego_demo.think import think_while_edit


class FakeRun:
    def __init__(self, value):
        self.results = [np.full((4, 4, 3), value, np.uint8)]
        self.executed, self.cached = [1], []


class ScriptedEditor:
    def __init__(self, fail_at=None):
        self.calls = []
        self.fail_at = fail_at

    def edit(self, instruction, image, mask, feedback=(), previous=None, on_progress=None):
        self.calls.append(list(feedback))
        if self.fail_at == len(self.calls):
            raise Declined("no brick for that")
        return None, FakeRun(len(self.calls))


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


IMG = np.zeros((4, 4, 3), np.uint8)


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

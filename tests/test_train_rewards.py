"""The training rewards: each term on its own, their ordering on real plans run on a scene,
the TRL adapter (one judgement per completion however many terms), and `train score`."""

from __future__ import annotations

import json

import pytest

from lego_demo.cli import main
from lego_demo.editor import Editor
from lego_demo.images import save_png
from lego_demo.synthetic import make_scene
from lego_demo.train.rewards import (
    STAGE_WEIGHTS,
    Rewarder,
    Sample,
    critic_reward,
    executable_reward,
    feedback_reward,
    format_reward,
    length_penalty,
    parse_weights,
    target_reward,
    total,
    validity_reward,
)
from lego_demo.train.rows import completion_text

RECOLOUR = {"process": "make the red circle yellow", "pipeline": [
    {"step": 1, "model": "RES", "input": {"image": "init[image]", "prompt": "red circle"},
     "output": {"mask": "step1[mask]", "image": "step1[image]"}},
    {"step": 2, "model": "RCM", "input": {"image": "init[image]", "mask": "step1[mask]", "prompt": "yellow"},
     "output": {"image": "step2[image]"}},
    {"result": "[step2[image]]"}]}
SOS_RECOLOUR = json.loads(json.dumps(RECOLOUR).replace('"RES", "input": {"image": "init[image]", "prompt": "red circle"}',
                                                       '"SOS", "input": {"image": "init[image]"}'))
UNKNOWN = json.loads(json.dumps(RECOLOUR).replace('"RCM"', '"RECOLOURIZE"'))
ADD_DOG = {"process": "add a dog", "pipeline": [
    {"step": 1, "model": "ADD-PRED", "input": {"image": "init[image]", "prompt": "add a dog on the left"},
     "output": {"mask": "step1[mask]"}},
    {"step": 2, "model": "FILL", "input": {"image": "init[image]", "mask": "step1[mask]", "prompt": "a dog"},
     "output": {"image": "step2[image]"}},
    {"result": "[step2[image]]"}]}


def answer(workflow: dict, thought: str | None = "segment the red circle, then recolour it") -> str:
    return completion_text(thought, workflow)


@pytest.fixture(scope="module")
def scene():
    return make_scene(256, 192, [("red", "circle", (64, 96), 34), ("blue", "square", (190, 96), 30)], seed=1)


@pytest.fixture(scope="module")
def editor(registry):
    return Editor(registry)


@pytest.fixture(scope="module")
def rewarder(registry, editor):
    return Rewarder(registry, editor, editor.critic)


def sample(scene, text, feedback=(), target=None, image=True):
    return Sample(text, "make the red circle yellow", list(feedback), image=scene.image if image else None,
                  target=target)


# -- each term --------------------------------------------------------------------------------
def test_format(rewarder, scene):
    def fmt(text):
        return format_reward(text, rewarder.judge(sample(scene, text)))

    assert fmt(answer(RECOLOUR)) == 1.0
    assert fmt(answer(RECOLOUR, thought=None)) == 0.5  # a workflow, but no reasoning first
    assert fmt("```json\n" + json.dumps(RECOLOUR)[:-1] + ",}\n```") == 0.5  # repaired JSON is still read
    assert fmt("I would recolour the circle.") == 0.0
    assert fmt("") == 0.0


def test_validity(rewarder, scene):
    def valid(workflow):
        return validity_reward(rewarder.judge(sample(scene, answer(workflow))))

    assert valid(RECOLOUR) == 1.0
    assert valid(UNKNOWN) == pytest.approx(1 / (1 + len(rewarder.judge(sample(scene, answer(UNKNOWN))).problems)))
    assert 0 < valid(UNKNOWN) < 1
    missing = json.loads(json.dumps(RECOLOUR))
    del missing["pipeline"][1]["input"]["prompt"]
    assert valid(missing) == 0.5  # one problem: RCM's prompt is missing
    assert validity_reward(rewarder.judge(sample(scene, "no json here"))) == 0.0


def test_executable(rewarder, scene):
    def runs(text, image=True):
        s = sample(scene, text, image=image)
        return executable_reward(rewarder.judge(s), rewarder._can_run(s))

    assert runs(answer(RECOLOUR)) == 1.0
    assert runs(answer(ADD_DOG)) == 0.0  # valid, but FILL has no engine that can draw a dog here
    assert "FILL" in rewarder.judge(sample(scene, answer(ADD_DOG))).run_error
    assert runs(answer(UNKNOWN)) == 0.0  # invalid: not run at all
    assert runs(answer(RECOLOUR), image=False) is None  # nothing to run it on: not applicable


def test_feedback(registry, rewarder, scene):
    def honoured(workflow, feedback):
        return feedback_reward(rewarder.judge(sample(scene, answer(workflow), feedback)), registry)

    assert honoured(RECOLOUR, []) is None  # no bans or requirements: not applicable
    assert honoured(RECOLOUR, ["stronger"]) is None
    assert honoured(RECOLOUR, ["don't use RES"]) == 0.0
    assert honoured(SOS_RECOLOUR, ["don't use RES"]) == 1.0
    assert honoured(SOS_RECOLOUR, ["don't use FLUX-RCM"]) == 0.0  # an alias names the same brick
    assert honoured(RECOLOUR, ["don't use RES", "use RCM"]) == 0.5
    assert honoured({"process": "x"}, ["don't use RES"]) == 0.0  # unreadable: nothing honoured


def test_critic(registry, editor, scene):
    with_critic = Rewarder(registry, editor, editor.critic)
    judged = with_critic.judge(sample(scene, answer(RECOLOUR)))
    assert judged.critique is not None
    assert critic_reward(judged, True) == pytest.approx(judged.critique.overall / 10)
    assert critic_reward(judged, True) > 0.5  # the circle did turn yellow
    assert critic_reward(with_critic.judge(sample(scene, answer(ADD_DOG))), True) == 0.0  # nothing was edited
    assert critic_reward(judged, False) is None  # no critic configured

    class Unsure:
        def critique(self, *a, **k):
            from lego_demo.errors import CannotDo

            raise CannotDo("the critic model's answer could not be read")

    unsure = Rewarder(registry, editor, Unsure()).judge(sample(scene, answer(RECOLOUR)))
    assert critic_reward(unsure, True) is None and "could not be read" in unsure.critic_error


def test_length():
    assert length_penalty("x" * 100, budget=200) == 0.0
    assert length_penalty("x" * 300, budget=200) == -0.5
    assert length_penalty("x" * 5000, budget=200) == -1.0


def test_target(registry, rewarder, scene):
    def match(workflow, target):
        return target_reward(rewarder.judge(sample(scene, answer(workflow))), target, registry)

    assert match(RECOLOUR, None) is None
    assert match(RECOLOUR, RECOLOUR) == 1.0
    assert match(SOS_RECOLOUR, RECOLOUR) == 0.5  # RCM right, SOS instead of RES
    assert match(ADD_DOG, RECOLOUR) == 0.0
    assert target_reward(rewarder.judge(sample(scene, "nothing")), RECOLOUR, registry) == 0.0


def test_weights():
    assert parse_weights("critic=3, length=0", STAGE_WEIGHTS[3])["critic"] == 3.0
    assert total({"format": 1.0, "critic": None, "length": -0.5}, {"format": 1, "critic": 2, "length": 1}) == 0.5
    from lego_demo.errors import BadInput

    with pytest.raises(BadInput, match="TERM=NUMBER"):
        parse_weights("beauty=2", {})


# -- ordering (acceptance) ----------------------------------------------------------------------
@pytest.mark.parametrize("stage", [2, 3])
def test_valid_plan_beats_unknown_brick_unreadable_text_and_broken_ban(rewarder, scene, stage):
    weights = STAGE_WEIGHTS[stage]

    def score(text, feedback=()):
        return total(rewarder.terms(sample(scene, text, feedback, target=RECOLOUR if stage == 2 else None)), weights)

    valid = score(answer(RECOLOUR))
    assert valid > score(answer(UNKNOWN))
    assert valid > score("Sure! I will make the red circle yellow for you.")
    assert score(answer(SOS_RECOLOUR), ["don't use RES"]) > score(answer(RECOLOUR), ["don't use RES"])
    assert score(answer(UNKNOWN)) > score("Sure! I will make the red circle yellow for you.")


# -- the TRL adapter ----------------------------------------------------------------------------
def test_trl_functions_judge_each_completion_once(registry, scene, tmp_path):
    path = str(save_png(scene.image, tmp_path / "scene.png"))
    editor = Editor(registry)
    calls = []
    real_run = editor.run

    def counting_run(*args, **kwargs):
        calls.append(1)
        return real_run(*args, **kwargs)

    editor.run = counting_run
    rw = Rewarder(registry, editor, editor.critic)
    functions, weights = rw.trl_functions(STAGE_WEIGHTS[3])
    assert [f.__name__ for f in functions] == ["format", "validity", "executable", "feedback", "critic", "length"]
    assert weights == [1.0, 1.0, 1.0, 1.0, 2.0, 1.0]
    completions = [[{"role": "assistant", "content": answer(RECOLOUR)}], [{"role": "assistant", "content": "no plan"}]]
    columns = {"image": [path, path], "mask": [None, None], "has_mask": [False, False],
               "instruction": ["make the red circle yellow"] * 2, "feedback": [["don't use RES"]] * 2,
               "workflow": [None, None], "trainer_state": object()}
    scores = {f.__name__: f(prompts=[None, None], completions=completions, **columns) for f in functions}
    assert scores["format"] == [1.0, 0.0] and scores["executable"] == [1.0, 0.0]
    assert scores["feedback"] == [0.0, 0.0]  # the plan uses the banned RES
    assert scores["critic"][0] > 0.5 and scores["critic"][1] == 0.0
    assert len(calls) == 1  # six terms, two completions: the valid one ran once


def test_train_score_prints_every_term(registry, scene, tmp_path, capsys):
    save_png(scene.image, tmp_path / "scene.png")
    rows = [{"id": "good", "image": "scene.png", "instruction": "make the red circle yellow", "feedback": ["no RES"],
             "completion": answer(SOS_RECOLOUR)},
            {"id": "banned", "image": "scene.png", "instruction": "make the red circle yellow", "feedback": ["no RES"],
             "completion": answer(RECOLOUR)},
            {"id": "prose", "image": "scene.png", "instruction": "make the red circle yellow", "completion": "ok!"}]
    (tmp_path / "c.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["train", "score", "--completions", str(tmp_path / "c.jsonl")]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header == ["id", "format", "validity", "executable", "feedback", "critic", "length", "target", "total"]
    assert "no JSON object found" in out and out.splitlines()[-1].startswith("mean")
    assert main(["train", "score", "--completions", str(tmp_path / "c.jsonl"), "--json", "--stage", "3"]) == 0
    scored = {s["id"]: s for s in map(json.loads, capsys.readouterr().out.splitlines())}
    assert scored["good"]["terms"]["feedback"] == 1.0 and scored["banned"]["terms"]["feedback"] == 0.0
    assert scored["good"]["total"] > scored["banned"]["total"] > scored["prose"]["total"]
    assert scored["prose"]["terms"]["feedback"] is None and scored["prose"]["terms"]["target"] is None
    (tmp_path / "bad.jsonl").write_text(json.dumps({"instruction": "x"}) + "\n")
    assert main(["train", "score", "--completions", str(tmp_path / "bad.jsonl")]) == 2
    assert "no \"completion\"" in capsys.readouterr().err

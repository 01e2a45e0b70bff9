"""A workflow step may name its own engine (an optional "engine" key on the wire, which
readers of the official format ignore): the validator checks it, the Executor runs it, and the
step cache keys on it, so switching engines re-runs that step and what depends on it only."""

import json

import numpy as np
import pytest

from lego_demo.errors import CannotDo
from lego_demo.executor import Executor
from lego_demo.registry import Registry
from lego_demo.spec import brick
from lego_demo.validate import validate
from lego_demo.workflow import parse_workflow

SHADE = brick("SHADE", kind="edit", summary="darken or lighten", inputs={"image": "Image"}, outputs={"image": "Image"})


@SHADE.engine("dark")
def _dark(ctx, image):
    return {"image": (image // 2).astype(np.uint8)}


@SHADE.engine("light")
def _light(ctx, image):
    return {"image": (255 - (255 - image) // 2).astype(np.uint8)}


@SHADE.engine("absent", check=lambda options: "needs a model that is not configured")
def _absent(ctx, image):
    raise AssertionError("never runs")


FLIP = brick("FLIPUD", kind="edit", summary="flip", inputs={"image": "Image"}, outputs={"image": "Image"})


@FLIP.engine("numpy")
def _flip(ctx, image):
    return {"image": np.ascontiguousarray(image[::-1])}


def workflow(engine: str | None) -> str:
    step1 = {"step": 1, "model": "SHADE", "input": {"image": "init[image]"}, "output": {"image": "step1[image]"}}
    if engine:
        step1["engine"] = engine
    step2 = {"step": 2, "model": "FLIPUD", "input": {"image": "step1[image]"}, "output": {"image": "step2[image]"}}
    return json.dumps({"process": "shade, flip", "pipeline": [step1, step2, {"result": "[step2[image]]"}]})


@pytest.fixture
def reg():
    return Registry([SHADE, FLIP])


def test_engine_key_reads_and_writes_only_when_given():
    plain = parse_workflow(workflow(None)).workflow
    assert plain.steps[0].engine is None
    assert "engine" not in plain.to_json()["pipeline"][0]  # the official JSON stays as it was
    chosen = parse_workflow(workflow("light")).workflow
    assert chosen.steps[0].engine == "light"
    assert chosen.to_json()["pipeline"][0]["engine"] == "light"
    assert parse_workflow(chosen.dumps()).workflow.steps[0].engine == "light"


def test_validator_names_an_unknown_engine(reg):
    checked = validate(parse_workflow(workflow("bright")).workflow, reg)
    [problem] = checked.problems
    assert (problem.code, problem.step, problem.field) == ("unknown_engine", 1, "engine")
    assert "dark, light, absent" in problem.message


def test_step_engine_beats_the_configured_choice_and_switching_reruns_only_downstream(reg, image):
    reg.engine_choice = {"SHADE": "dark"}
    ex = Executor(reg)
    dark = ex.run(parse_workflow(workflow(None)).workflow, image)
    assert [t.engine for t in dark.trace] == ["dark", "numpy"]
    light = ex.run(parse_workflow(workflow("light")).workflow, image)
    assert [t.engine for t in light.trace] == ["light", "numpy"]
    assert light.executed == [1, 2]  # the flip reads a different image: it runs too
    assert np.array_equal(light.results[0], (255 - (255 - image) // 2)[::-1])
    again = ex.run(parse_workflow(workflow("dark")).workflow, image)
    assert again.cached == [1, 2]  # "dark" named on the step = the configured dark: same key


def test_an_unavailable_step_engine_stops_before_running(reg, image):
    with pytest.raises(CannotDo, match="absent: needs a model"):
        Executor(reg).run(parse_workflow(workflow("absent")).workflow, image)

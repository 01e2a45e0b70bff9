"""Bounds at the edge (issue 21): every oversized, too deep, non-finite or out-of-range part of
a workflow is refused by the reader or the validator with a message naming it (exit 2), before
any engine runs."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lego_demo.errors import WorkflowParseError
from lego_demo.validate import validate
from lego_demo.workflow import MAX_DEPTH, MAX_WORKFLOW_CHARS, parse_workflow

ROOT = Path(__file__).resolve().parents[1]


def one_step(brick: str, inputs: dict, outputs: dict, result: str = "[step1[image]]") -> dict:
    return {"process": "t", "pipeline": [{"step": 1, "model": brick, "input": inputs, "output": outputs},
                                         {"result": result}]}


def problems(registry, obj) -> list:
    return validate(parse_workflow(obj).workflow, registry).problems


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lego_demo", *args], capture_output=True, text=True, input=stdin,
                          timeout=120, cwd=ROOT)


# -- D10: nesting and size --------------------------------------------------------------------------
def test_reader_refuses_a_pipeline_far_over_the_limit():
    obj = {"process": "x", "pipeline": [{"step": i, "model": "BBOX", "input": {}, "output": {}} for i in range(1, 300)]}
    with pytest.raises(WorkflowParseError, match="299 items; the limit is 128"):
        parse_workflow(obj)


def test_numbers_too_long_for_python_are_a_parse_error():
    with pytest.raises(WorkflowParseError, match="more than 1,000 digits"):  # str() of it would raise
        parse_workflow(one_step("TEXT", {"image": "init[image]", "text": 10**5000}, {"image": "step1[image]"}))
    with pytest.raises(WorkflowParseError, match="could not read"):
        parse_workflow('{"process": "x", "pipeline": [{"step": ' + "9" * 5000 + ', "model": "BBOX"}]}')


@pytest.mark.parametrize("text", [
    '{"process": "x", "pipeline": [{"step": 1, "model": "BBOX", "input": {"mask": ' + "[" * 500 + "]" * 500 + "}}]}",
    "{" * 1000,
    '{"a": ' + "[" * 5000,
    "{'" * 20_000,  # json_repair: quadratic here (16 KB took 15 s)
    '{"process": "x", "pipeline": [{"result": ' + "[" * 1500 + '"step1[image]"' + "]" * 1500 + "}]}",
])
def test_deep_nesting_is_a_parse_error_not_a_crash(text):
    """D10: these were exit 1 (RecursionError / ValueError) or hung the repairing parser."""
    with pytest.raises(WorkflowParseError, match=f"levels deep; the limit is {MAX_DEPTH}") as info:
        parse_workflow(text)
    assert info.value.exit_code == 2


def test_deep_or_large_objects_are_refused_without_recursion():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(WorkflowParseError, match="levels deep"):
        parse_workflow({"process": "x", "pipeline": [{"step": 1, "model": "BBOX", "input": {"mask": deep}}]})
    with pytest.raises(WorkflowParseError, match="larger than"):
        parse_workflow({"process": "x" * (MAX_WORKFLOW_CHARS + 1), "pipeline": []})


def test_text_over_the_limit_is_refused_before_parsing():
    with pytest.raises(WorkflowParseError, match="the limit is 65,536"):
        parse_workflow("{" + " " * MAX_WORKFLOW_CHARS + "}")
    with pytest.raises(WorkflowParseError, match="bytes"):
        parse_workflow(b" " * (4 * MAX_WORKFLOW_CHARS + 1))

def test_absurd_step_numbers_and_references_are_not_a_crash(registry):
    obj = one_step("BBOX", {"mask": "step" + "9" * 5000 + "[mask]"}, {"mask": "step1[mask]"}, "[step1[mask]]")
    obj["pipeline"][0]["step"] = 10**70
    parsed = parse_workflow(obj)
    assert parsed.workflow.steps[0].number == 1 and "not a step number" in parsed.repairs[0]
    assert [p.code for p in validate(parsed.workflow, registry).problems] == ["wrong_type"]


@pytest.mark.parametrize("command", ["validate", "run"])
def test_cli_deep_nesting_exits_2(tmp_path, command):
    wf = tmp_path / "deep.json"
    wf.write_text("{" * 1000)
    extra = ["--image", str(tmp_path / "x.png"), "--out", str(tmp_path / "out")] if command == "run" else []
    if command == "run":
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "x.png")
    proc = cli(command, str(wf), *extra)
    assert proc.returncode == 2 and "levels deep" in proc.stderr and "internal error" not in proc.stderr

"""Bounds at the edge (issue 21): every oversized, too deep, non-finite or out-of-range part of
a workflow is refused by the reader or the validator with a message naming it (exit 2), before
any engine runs."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lego_demo.errors import BadInput, WorkflowParseError
from lego_demo.spec import MAX_STR_CHARS
from lego_demo.types import ValueType
from lego_demo.validate import MAX_RESULTS, MAX_STEPS, validate
from lego_demo.workflow import MAX_DEPTH, MAX_WORKFLOW_CHARS, Ref, Step, Workflow, parse_workflow

ROOT = Path(__file__).resolve().parents[1]


def one_step(brick: str, inputs: dict, outputs: dict, result: str = "[step1[image]]") -> dict:
    return {"process": "t", "pipeline": [{"step": 1, "model": brick, "input": inputs, "output": outputs},
                                         {"result": result}]}


def problems(registry, obj) -> list:
    return validate(parse_workflow(obj).workflow, registry).problems


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lego_demo", *args], capture_output=True, text=True, input=stdin,
                          timeout=120, cwd=ROOT)


# -- D1 / D2: long Str inputs ---------------------------------------------------------------------
def test_text_longer_than_its_limit_is_refused(registry):
    wf = one_step("TEXT", {"image": "init[image]", "text": "W" * 5_000}, {"image": "step1[image]"})
    found = problems(registry, wf)
    assert [(p.code, p.field) for p in found] == [("too_long", "text")]
    assert "5,000 characters; the limit is 500" in found[0].message
    assert not problems(registry, one_step("TEXT", {"image": "init[image]", "text": "W" * 500}, {"image": "step1[image]"}))


def test_prompt_longer_than_the_str_limit_is_refused(registry):
    wf = one_step("RES", {"image": "init[image]", "prompt": "the dog " * 2000}, {"mask": "step1[mask]"}, "[step1[mask]]")
    assert [p.code for p in problems(registry, wf)] == ["too_long"]


def test_every_str_input_has_a_limit(registry):
    for spec in registry.specs():
        for name, port in spec.inputs.items():
            if port.type is ValueType.STR:
                assert spec.to_json()["inputs"][name]["max_chars"] <= MAX_STR_CHARS


@pytest.mark.parametrize(("length", "message"), [(100_000, "the limit is 65,536"), (5_000, "the limit is 500")])
def test_cli_refuses_long_text_before_running(tmp_path, length, message):
    """D1: 100,000 W's held the GIL in Pillow's layout for 6.6 s at a time; now exit 2 at once
    (the workflow text is over its limit; a shorter one is over TEXT's limit)."""
    wf = tmp_path / "wf.json"
    wf.write_text(json.dumps(one_step("TEXT", {"image": "init[image]", "text": "W" * length}, {"image": "step1[image]"})))
    image = tmp_path / "in.png"
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(image)
    proc = cli("run", str(wf), "--image", str(image), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


# -- Float ranges and non-finite numbers (D11) -----------------------------------------------------
def float_inputs(registry):
    return [(spec, name, port) for spec in registry.specs() for name, port in spec.inputs.items()
            if port.type is ValueType.FLOAT]


def test_every_float_input_declares_its_range():
    """In bricks/ and every example plugin: the validator enforces it, the Builders plan with it."""
    from lego_demo.registry import Registry

    plugins = sorted(str(p) for p in (ROOT / "examples" / "plugins").glob("*.py"))
    inputs = float_inputs(Registry.discover(plugins))
    assert len(plugins) >= 2 and len(inputs) >= 20
    for spec, name, port in inputs:
        assert port.range is not None, f"{spec.name}.{name} declares no range"
        if port.neutral is not None:
            assert port.range[0] <= port.neutral <= port.range[1]


def _with_value(spec, name, value) -> dict:
    """A one-step workflow giving `spec` this Float value and references for its other inputs."""
    inputs = {}
    for other, port in spec.inputs.items():
        if other == name:
            inputs[other] = value
        elif port.type is ValueType.IMAGE and not port.optional:
            inputs[other] = "init[image]"
        elif port.type is ValueType.MASK and not port.optional:
            inputs[other] = "init[mask]"
    return one_step(spec.name, inputs, {})


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 1e308, -1e308, 10**300])
def test_non_finite_and_huge_numbers_are_refused_for_every_float_input(registry, value):
    for spec, name, _ in float_inputs(registry):
        found = [p for p in problems(registry, _with_value(spec, name, value)) if p.field == name]
        assert [p.code for p in found] == ["out_of_range"], (spec.name, name, found)


def test_range_is_enforced_and_names_the_neutral_value(registry):
    wf = one_step("GROW", {"mask": "init[mask]", "amount": 1}, {"mask": "step1[mask]"}, "[step1[mask]]")
    (p,) = problems(registry, wf)
    assert (p.code, p.field) == ("out_of_range", "amount")
    assert p.message == "must be from -0.25 to 0.25; 0 changes nothing, got 1"
    wf["pipeline"][0]["input"]["amount"] = "0.25"  # text read as a number, at the edge of the range
    assert not problems(registry, wf)


def test_json_nan_and_infinity_literals_are_refused(registry):
    text = json.dumps(one_step("TONE", {"image": "init[image]", "brightness": 0.1}, {"image": "step1[image]"}))
    for literal in ("NaN", "Infinity", "-Infinity", "1e999"):
        found = problems(registry, text.replace("0.1", literal))
        assert [p.code for p in found] == ["out_of_range"], literal

def test_numbers_given_for_text_are_bounded(registry):
    huge = one_step("TEXT", {"image": "init[image]", "text": 10**70}, {"image": "step1[image]"})
    assert [p.code for p in problems(registry, huge)] == ["wrong_type"]
    small = one_step("TEXT", {"image": "init[image]", "text": 2024}, {"image": "step1[image]"})
    assert not problems(registry, small)


# -- D6: steps ------------------------------------------------------------------------------------
def many_steps(n: int) -> Workflow:
    steps = [Step(i, "BBOX", {"mask": Ref(i - 1, "mask") if i > 1 else Ref(None, "mask")}, {"mask": Ref(i, "mask")})
             for i in range(1, n + 1)]
    return Workflow("many", steps, [Ref(n, "mask")])


def test_too_many_steps_stops_validation_at_once(registry):
    """D6: 10k steps took 10–31 s, every other check running on them too (here each step
    would also be reported as an unknown brick)."""
    wf = many_steps(10_000)
    for step in wf.steps:
        step.brick = "NO-SUCH-BRICK"
    found = validate(wf, registry).problems
    assert [p.code for p in found] == ["too_many_steps"]
    assert "10000 steps; the limit is 32" in found[0].message
    assert validate(many_steps(MAX_STEPS), registry).ok


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


# -- D12: results and outputs -----------------------------------------------------------------------
def test_repeated_result_entries_are_written_once(registry):
    """D12: 2000 copies of step1[image] wrote 2003 files."""
    wf = one_step("TONE", {"image": "init[image]", "brightness": 0.2}, {"image": "step1[image]"},
                  "[" + ", ".join(["step1[image]"] * 2000) + "]")
    checked = validate(parse_workflow(wf).workflow, registry)
    assert checked.ok and checked.workflow.result == [Ref(1, "image")]
    assert "dropped 1999 repeated entries" in " ".join(checked.repairs)


def test_too_many_distinct_results_are_refused(registry):
    pipeline = [{"step": i, "model": "TONE", "input": {"image": "init[image]", "brightness": i / 100},
                 "output": {"image": f"step{i}[image]"}} for i in range(1, MAX_RESULTS + 2)]
    pipeline.append({"result": "[" + ", ".join(f"step{i}[image]" for i in range(1, MAX_RESULTS + 2)) + "]"})
    found = problems(registry, {"process": "x", "pipeline": pipeline})
    assert [p.code for p in found] == ["too_many_results"]


def test_an_output_that_is_not_a_reference_is_reported_not_dropped(registry):
    """D12: "score": 0.5 silently became null, and the step lost that output."""
    wf = one_step("FASTINPAINT", {"image": "init[image]", "mask": "init[mask]"},
                  {"image": "step1[image]", "score": 0.5})
    found = problems(registry, wf)
    assert [(p.code, p.field) for p in found] == [("bad_output", "score")]
    assert "must be a reference such as step1[score] (or null), got 0.5" in found[0].message


# -- D2: an engine whose cost grew with its input ---------------------------------------------------
@pytest.mark.parametrize("amount", [0.02, -0.02, 0.1, -0.1, 0.25, -0.25])
def test_grow_margin_is_the_disc_dilation_it_replaced(amount):
    """GROW amount=1 took ≥ 47 s as a dilation (cost ∝ kernel area); the distance transform
    costs the same at any amount and selects the same pixels to within 1% of the larger mask."""
    import cv2

    from bricks.grow import grow

    mask = np.zeros((300, 400), bool)
    cv2.circle(mask.view(np.uint8), (150, 140), 70, 1, -1)
    mask[200:260, 250:390] = True
    radius = round(abs(amount) * 400)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    dilated = (cv2.dilate if amount > 0 else cv2.erode)(mask.view(np.uint8), kernel).astype(bool)
    grown = grow(None, mask, amount)["mask"]
    assert grown.dtype == bool and grown.shape == mask.shape
    assert np.count_nonzero(grown != dilated) <= 0.01 * max(np.count_nonzero(dilated), np.count_nonzero(mask))
    assert (grown >= mask).all() if amount > 0 else (grown <= mask).all()


@pytest.mark.parametrize("text", ["{" + "a:b," * 15_000 + "}", "{" + "step:1,model:RES," * 3_500 + "}"])
def test_a_repair_that_would_take_long_is_refused(text):
    """Shallow, under 64 KB, and still quadratic in json_repair (this one took 60 s)."""
    with pytest.raises(WorkflowParseError, match="too malformed to repair within 0.25 s"):
        parse_workflow(text)


def test_ordinary_slips_are_still_repaired():
    steps = ", ".join(f"{{step: {i}, model: 'BBOX', input: {{mask: 'init[mask]',}}, output: {{mask: 'step{i}[mask]'}}}}"
                      for i in range(1, 33))
    parsed = parse_workflow(f"{{process: 'x', pipeline: [{steps}, {{result: '[step32[mask]]'}}]}}")
    assert len(parsed.workflow.steps) == 32 and "repaired malformed JSON" in parsed.repairs[0]


# -- D14 (CLI half): a mask of the wrong size is refused before anything large is decoded -----------
@pytest.fixture
def decodes(monkeypatch) -> list:
    """The sizes of the images Pillow decodes while the test runs."""
    from PIL import ImageFile

    seen: list = []
    load = ImageFile.ImageFile.load

    def spy(self):
        seen.append(self.size)
        return load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    return seen


@pytest.mark.parametrize("big", ["image", "mask"])
def test_a_mask_of_the_wrong_size_is_refused_from_the_headers(tmp_path, decodes, big):
    """D14: a 6300² PNG was decoded in full (~120 MB) before a 100² mask was refused (PNG's
    getexif decodes the pixels to look for EXIF after them)."""
    from lego_demo.editor import Editor, EditorConfig

    sizes = {"image": (100, 100), "mask": (100, 100), big: (6300, 6300)}
    for name, size in sizes.items():
        Image.new("RGB" if name == "image" else "L", size).save(tmp_path / f"{name}.png")
    with pytest.raises(BadInput, match=r"the mask is .* but the image is .*; they must match"):
        Editor.from_config(EditorConfig()).prepare(tmp_path / "image.png", tmp_path / "mask.png")
    assert (6300, 6300) not in decodes


def test_the_header_check_follows_exif_rotation(tmp_path):
    from lego_demo.editor import Editor, EditorConfig

    photo = Image.new("RGB", (60, 40), (200, 30, 30))  # 60 wide, 40 high; EXIF: turn 90°
    exif = photo.getexif()
    exif[0x0112] = 6
    photo.save(tmp_path / "turned.jpg", exif=exif)
    Image.new("L", (40, 60), 255).save(tmp_path / "mask.png")  # as the photo is shown: 40×60
    inputs = Editor.from_config(EditorConfig()).prepare(tmp_path / "turned.jpg", tmp_path / "mask.png")
    assert inputs.image.shape[:2] == inputs.mask.shape == (60, 40)
    Image.new("L", (60, 40), 255).save(tmp_path / "unturned.png")
    with pytest.raises(BadInput, match="the mask is 60×40 but the image is 40×60"):
        Editor.from_config(EditorConfig()).prepare(tmp_path / "turned.jpg", tmp_path / "unturned.png")


def test_cli_refuses_a_mask_of_the_wrong_size_with_exit_2(tmp_path):
    Image.new("RGB", (6300, 6300)).save(tmp_path / "big.png")
    Image.new("L", (100, 100)).save(tmp_path / "mask.png")
    wf = tmp_path / "wf.json"
    wf.write_text(json.dumps(one_step("BBOX", {"mask": "init[mask]"}, {"mask": "step1[mask]"}, "[step1[mask]]")))
    proc = cli("run", str(wf), "--image", str(tmp_path / "big.png"), "--mask", str(tmp_path / "mask.png"),
               "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "the mask is 100×100 but the image is 6300×6300; they must match" in proc.stderr

"""`Editor` is the only door: the shells go through it, every run names its input, traces are
plain JSON for every brick, and the working size is the same in every flow."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lego_demo.editor import Editor, EditorConfig, Inputs
from lego_demo.errors import BadInput, CannotDo
from lego_demo.images import WORKING_MAX_SIDE
from lego_demo.synthetic import make_scene
from lego_demo.types import ValueType
from lego_demo.workflow import parse_workflow

ROOT = Path(__file__).resolve().parents[1]
SHELLS = ["lego_demo/cli.py", "lego_demo/ui/api.py", "lego_demo/ui/session.py", "lego_demo/ui/events.py",
          "lego_demo/ui/page.py"]
# what a shell must not reach around the Editor for: Builders, parsing/validation, the
# Executor, the think loop, critics, image decoding
FORBIDDEN_MODULES = {"lego_demo.builders.rule", "lego_demo.builders.mllm", "lego_demo.builders.openai_builder",
                     "lego_demo.validate", "lego_demo.critics.offline",
                     "lego_demo.critics.model", "lego_demo.images", "lego_demo.registry"}
FORBIDDEN_NAMES = {"make_builder", "Executor", "StepCache", "think_while_edit", "validate", "parse_workflow",
                   "OfflineCritic", "ModelCritic", "load_image", "load_mask", "fit_working_size", "fit_mask"}


def _imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) for every `from X import name` and `import X` in a file, relative
    imports resolved against the file's package."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")
            module = ".".join(base[: len(base) - node.level + 1] + ([node.module] if node.module else [])) \
                if node.level else node.module
            found += [(module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names]
    return found


@pytest.mark.parametrize("shell", SHELLS)
def test_shells_reach_builders_executor_and_critics_only_through_the_editor(shell):
    bad = [f"{m}.{n}" for m, n in _imports(ROOT / shell)
           if m in FORBIDDEN_MODULES or n in FORBIDDEN_NAMES or (m == "lego_demo" and n in {"think"})]
    assert not bad, f"{shell} bypasses Editor: {bad}"


def test_the_import_reader_sees_a_bypass(tmp_path):
    # the check above must be able to fail
    bad = ROOT / "lego_demo" / "ui" / "_probe_for_test.py"
    bad.write_text("from ..critics.offline import OfflineCritic\nfrom ..images import load_image\n")
    try:
        found = _imports(bad)
    finally:
        bad.unlink()
    assert ("lego_demo.critics.offline", "OfflineCritic") in found and ("lego_demo.images", "load_image") in found


@pytest.fixture(scope="module")
def editor() -> Editor:
    return Editor.from_config(EditorConfig(cache_bytes=32 * 2**20))


def test_prepare_fits_every_flow_to_the_working_size(editor, tmp_path):
    big = np.zeros((3000, 4000, 3), np.uint8)
    big[1000:2000, 1500:2500] = (220, 30, 30)
    path = tmp_path / "big.png"
    Image.fromarray(big).save(path)
    mask = np.zeros((3000, 4000), bool)
    mask[1000:2000, 1500:2500] = True
    for source in (path, big, path.read_bytes()):
        inputs = editor.prepare(source, mask)
        assert max(inputs.image.shape[:2]) == WORKING_MAX_SIDE and inputs.mask.shape == inputs.image.shape[:2]
        assert any("downscaled" in n for n in inputs.notes)
    assert editor.prepare(inputs) is inputs


def test_prepare_refuses_a_mask_of_another_size_before_decoding(editor, tmp_path):
    path = tmp_path / "img.png"
    Image.fromarray(np.zeros((60, 80, 3), np.uint8)).save(path)
    with pytest.raises(BadInput, match="mask is 10×10 but the image is 80×60"):
        editor.prepare(path, np.zeros((10, 10), bool))
    assert editor.prepare(path, np.zeros((60, 80), bool)).mask is None  # an empty mask is no mask


def test_a_run_names_the_input_it_came_from(editor):
    scene = make_scene(160, 120, seed=1)
    wf = parse_workflow({"process": "b", "pipeline": [
        {"step": 1, "model": "TONE", "input": {"image": "init[image]", "brightness": 0.2},
         "output": {"image": "step1[image]"}}, {"result": "[step1[image]]"}]}).workflow
    inputs = editor.prepare(scene.image)
    run = editor.run(wf, inputs)
    assert run.input_key == inputs.key and run.trace_json()["input"] == inputs.key
    other = editor.run(wf, scene.background)
    assert other.input_key != inputs.key
    masked = editor.prepare(scene.image, scene.objects[0].mask)
    assert masked.key != inputs.key and editor.run(wf, masked).input_key == masked.key


# -- plain JSON for a run of every brick ------------------------------------------------------------
STR_INPUTS = {
    ("RES", "prompt"): "red circle", ("RCM", "prompt"): "blue", ("ADD-PRED", "prompt"): "a small box",
    ("CBG", "prompt"): "plain white", ("ENV", "prompt"): "winter", ("POSE", "prompt"): "smiling",
    ("FILL", "prompt"): "a red ball", ("STYLE", "style"): "watercolor", ("STYLE", "prompt"): None,
    ("TEXT", "text"): "HELLO", ("TEXT", "position"): "top", ("TEXT", "replace"): None,
    ("FLIP", "direction"): "horizontal",
}
FLOAT_INPUTS = {("RESIZE", "ratio"): 0.5, ("ROTATE", "angle"): 90.0, ("INPAINT", "score"): 0.5,
                ("BRIGHT", "ratio"): 0.7, ("TONE", "brightness"): 0.2, **{("CMI-PRED", f"{side}_ratio"): 1.2 for side in ("left", "right", "top", "bottom")}}
ONE_KIND = {"INVERSE", "COMPOSE", "RESIZE"}  # masks or images, not both: give masks


def _one_step(spec) -> dict:
    inputs = {}
    for name, inp in spec.inputs.items():
        if spec.name in ONE_KIND and inp.type is ValueType.IMAGE:
            continue
        if inp.type is ValueType.IMAGE:
            inputs[name] = "init[image]"
        elif inp.type is ValueType.MASK:
            inputs[name] = "init[mask]"
        elif inp.type is ValueType.STR:
            inputs[name] = STR_INPUTS.get((spec.name, name), None if inp.optional else "red")
        else:
            inputs[name] = FLOAT_INPUTS.get((spec.name, name), inp.neutral)
    produced = spec.outputs_for(k for k, v in inputs.items() if v is not None)
    shown = sorted(o for o in produced if spec.outputs[o] in (ValueType.IMAGE, ValueType.MASK))
    pipeline = [{"step": 1, "model": spec.name, "input": inputs, "output": {o: f"step1[{o}]" for o in produced}}]
    refs = [f"step1[{o}]" for o in shown]
    if not shown:  # only a caption (CMI-PRED): a later step uses it, as the release's STYLE plans do
        pipeline.append({"step": 2, "model": "TEXT", "input": {"image": "init[image]", "text": "step1[caption]"},
                         "output": {"image": "step2[image]"}})
        refs = ["step2[image]"]
    pipeline.append({"result": "[" + ", ".join(refs) + "]"})
    return {"process": spec.name, "pipeline": pipeline}


def test_every_brick_leaves_a_plain_json_trace(editor, tmp_path):
    scene = make_scene(200, 150, objects=[("red", "circle", (60, 75), 30), ("blue", "square", (150, 75), 30)], seed=2)
    mask = scene.objects[0].mask
    ran, declined = [], {}
    for spec in editor.registry.specs():
        try:
            run = editor.run(_one_step(spec), scene.image, mask)
        except CannotDo as exc:  # honestly not doable offline (a generative brick): nothing to write
            declined[spec.name] = str(exc)
            continue
        out = tmp_path / spec.name
        editor.write_run(out, run, extra={"notes": []})
        trace = json.loads((out / "trace.json").read_text())  # json.dumps in write_run has no default=
        assert trace["steps"][0]["brick"] == spec.name
        ran.append(spec.name)
    assert len(ran) >= 20, (ran, declined)
    assert set(declined) <= {"FILL", "POSE", "ENV", "CBG", "STYLE", "ADD-PRED", "TEXT"}, declined


def test_critique_and_think_turns_are_plain_json(editor):
    """The colour pop on the astronaut once wrote its result, then failed: `Object of type bool
    is not JSON serializable` (a numpy bool in a critic's check)."""
    scene = make_scene(320, 240, objects=[("red", "circle", (80, 120), 40), ("blue", "square", (220, 120), 40)],
                       seed=1)
    outcome = editor.think("make the red circle green", scene.image, turns=2)
    text = json.dumps(outcome.to_json())
    assert '"passed": true' in text or '"passed": false' in text
    for check in outcome.turns[0].critique.checks:
        assert type(check.passed) is bool and (check.value is None or type(check.value) is float)


def test_inputs_key_is_the_content(editor):
    a = np.zeros((8, 8, 3), np.uint8)
    assert Inputs(a).key == Inputs(a.copy()).key != Inputs(a + 1).key

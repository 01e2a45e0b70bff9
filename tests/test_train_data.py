"""`train data`: rows from templates over the registry's bricks, targets from the rule Builder,
each validated; the prompt a trainer uses is the MLLM Builder's own; nothing heavy imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lego_demo.builders.base import PlanRequest
from lego_demo.builders.mllm import MLLMBuilder
from lego_demo.builders.prompt import load_fewshot, render_example
from lego_demo.cli import main
from lego_demo.images import load_image
from lego_demo.train.rows import completion_text, prompt_messages, read_rows
from lego_demo.train.templates import TEMPLATES, Template, fill, templates_for

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data_200(tmp_path_factory):
    out = tmp_path_factory.mktemp("data") / "train.jsonl"
    assert main(["train", "data", "--n", "200", "--out", str(out), "--heldout", "20", "--seed", "7"]) == 0
    return out


def test_200_rows_valid_with_many_bricks_and_distinct_instructions(data_200, registry):
    rows = read_rows(data_200, registry)  # validates every target against the registry and its feedback
    assert len(rows) == 200
    targets = [r for r in rows if r["workflow"] is not None]
    open_rows = [r for r in rows if r["workflow"] is None]
    assert len(targets) == 160 and len(open_rows) == 40  # default --open-share 0.2
    bricks = {s["model"] for r in targets for s in r["workflow"]["pipeline"] if "model" in s}
    assert len(bricks) >= 10, bricks
    instructions = [r["instruction"].lower() for r in rows]
    assert len(set(instructions)) >= 0.9 * len(rows)
    assert any(r["feedback"] for r in targets)  # some rows teach feedback
    for r in rows:
        assert Path(r["image"]).is_file()
        assert (r["mask"] is not None) == r["has_mask"]
        if r["has_mask"]:
            mask = np.asarray(Image.open(r["mask"]))
            assert mask.shape == load_image(r["image"]).shape[:2] and mask.any()
    for r in open_rows:
        assert r["reasoning"] is None and r["bricks"] == []
    assert {"scene", "photo"} <= {r["source"] for r in rows}


def test_heldout_rows_use_only_heldout_templates(data_200, registry):
    heldout = read_rows(data_200.with_name("train.heldout.jsonl"), registry)
    assert len(heldout) == 20 and all(r["workflow"] is not None for r in heldout)
    heldout_texts = {t.text for t in TEMPLATES if t.heldout}
    assert {r["template"] for r in heldout} <= heldout_texts
    assert not {r["template"] for r in read_rows(data_200)} & heldout_texts  # never trained on
    assert not {r["instruction"] for r in heldout} & {r["instruction"] for r in read_rows(data_200)}


def test_feedback_rows_plan_differently_and_honour_it(data_200, registry):
    from lego_demo.feedback import parse_feedback
    from lego_demo.train.pictures import SAMPLE_PHOTOS

    rows = [r for r in read_rows(data_200) if r["feedback"]]
    assert rows
    for r in rows:
        c = parse_feedback(r["feedback"], registry)
        used = set(r["bricks"])
        assert not c.banned & used and c.required <= used
        if ("RES" in c.banned or "SOS" in c.required) and "{obj}" in r["template"]:
            # SOS finds the salient object: only a photo's main subject may be targeted that way
            main = next(subjects[0] for name, (_, subjects) in SAMPLE_PHOTOS.items() if f"photo-{name}." in r["image"])
            assert main in r["instruction"], r


def test_target_rows_use_the_bricks_their_template_is_about(data_200, registry):
    from lego_demo.feedback import parse_feedback

    needs = {t.family: set(t.needs) for t in TEMPLATES}
    for r in read_rows(data_200):
        if r["workflow"] is not None and not r["family"].startswith("use-for:"):
            assert needs[r["family"]] - parse_feedback(r["feedback"], registry).banned <= set(r["bricks"]), r


def test_user_folder_with_subjects(tmp_path, registry):
    import skimage.data

    folder = tmp_path / "mine"
    folder.mkdir()
    Image.fromarray(skimage.data.chelsea()).save(folder / "cat.jpg")
    Image.fromarray(skimage.data.coffee()).save(folder / "cup.png")
    (folder / "subjects.json").write_text(json.dumps({"cat.jpg": ["cat"], "cup.png": ["cup", "spoon"]}))
    out = tmp_path / "d" / "rows.jsonl"
    assert main(["train", "data", "--n", "12", "--out", str(out), "--images", str(folder), "--size", "256",
                 "--open-share", "0"]) == 0
    rows = read_rows(out, registry)
    assert len(rows) == 12
    for r in rows:
        assert max(load_image(r["image"]).shape[:2]) == 256  # written downscaled, next to the data
        assert Path(r["image"]).parent == out.parent / "rows-images"
        named = {"cat", "cup", "spoon"} & set(r["instruction"].split())
        assert named <= ({"cat"} if r["source"] == "user:cat.jpg" else {"cup", "spoon"})
    assert main(["train", "data", "--n", "3", "--out", str(out), "--images", str(tmp_path / "none")]) == 2


def test_registry_decides_which_templates_apply(registry):
    from lego_demo.registry import Registry
    from lego_demo.spec import brick

    assert all(all(b in registry for b in t.needs) for t in templates_for(registry))
    small = Registry([registry.get(n) for n in ("RES", "RCM", "SOS")])
    assert {t.family for t in templates_for(small)} == {"recolor", "recolor-masked", "material", "hide", "open",
                                                        "use-for:RCM"}  # RCM says what it is for (issue 16)
    dehaze = brick("DEHAZE", kind="edit", summary="removes haze", inputs={"image": "Image"}, outputs={"image": "Image"},
                   constraint="whole image", use_for=("remove the haze", "make the photo less hazy"))
    with_plugin = Registry([*registry.specs(), dehaze])
    assert {t.text for t in templates_for(with_plugin) if t.family == "use-for:DEHAZE"} == {
        "remove the haze", "make the photo less hazy"}


def test_fill_never_recolours_an_object_to_its_own_colour():
    import random

    template = Template("recolor", "make the {obj} {colour}")
    rng = random.Random(0)
    texts = {fill(template, ["red circle"], {"red circle": "red"}, [], rng)[0] for _ in range(200)}
    assert "make the red circle red" not in texts and len(texts) > 5
    assert fill(Template("pose", "make the {person} smile"), ["cup"], {}, [], rng) is None
    assert fill(Template("style", "turn it into a {style}"), [], {}, [], random.Random(3)) is not None
    assert "a anime" not in " ".join(fill(Template("s", "a {style}"), [], {}, [], random.Random(i))[0] for i in range(50))
    text, values = fill(Template("two", "make the {obj} {colour}, then remove the {obj2}"), ["a b", "c d"], {}, [], rng)
    assert {values["obj"], values["obj2"]} == {"a b", "c d"} and values["colour"] in text


# -- the prompt a trainer uses is the Builder's --------------------------------------------------
def test_training_prompt_is_the_mllm_builders_prompt(data_200, registry):
    row = next(r for r in read_rows(data_200) if r["feedback"] and r["workflow"])
    image = load_image(row["image"])
    seen = []

    def generate(messages, on_text=None):
        seen.append(messages)
        return completion_text(row["reasoning"], row["workflow"])

    plan = MLLMBuilder(registry, model="unused", generate=generate).plan(
        PlanRequest(row["instruction"], image=image, has_mask=row["has_mask"]), feedback=row["feedback"])
    assert plan.ok  # the target answer, sent back through the Builder's loop, is accepted as is
    assert seen[0] == prompt_messages(registry, row, image)
    assert plan.workflow.to_json() == row["workflow"]


def test_target_answer_has_the_fewshot_format():
    for example in load_fewshot():
        rendered = render_example(1, example)
        assert rendered.endswith("Expected output:\n" + completion_text(example["reasoning"], example["workflow"]))


def test_train_modules_import_no_heavy_library():
    code = ("import sys, lego_demo.cli; from lego_demo.cli import build_parser; build_parser(); "
            "import lego_demo.train.cli, lego_demo.train.data, lego_demo.train.rewards, lego_demo.train.trainers; "
            "heavy = [m for m in ('torch', 'transformers', 'trl', 'peft', 'datasets') if m in sys.modules]; print(heavy)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_score_data_plans_each_row_with_a_builder(data_200, capsys):
    heldout = data_200.with_name("train.heldout.jsonl")
    assert main(["train", "score", "--data", str(heldout), "--builder", "rule", "--no-execute", "--json"]) == 0
    captured = capsys.readouterr()
    scored = [json.loads(line) for line in captured.out.splitlines()]
    assert len(scored) == 20 and "rule Builder: 20 of 20 rows planned" in captured.err
    # the rule Builder wrote these targets: its own plans match them, valid and honouring the feedback
    assert all(s["terms"]["target"] == 1.0 and s["terms"]["validity"] == 1.0 for s in scored)
    assert all(s["terms"]["executable"] is None for s in scored)  # --no-execute
    plans = read_rows(data_200.with_name("train.heldout.rule-plans.jsonl"))
    assert all(p["completion"].startswith("<think>") for p in plans)


def test_misread_plans_never_become_targets():
    from lego_demo.builders.base import Plan
    from lego_demo.train.data import Drawn, misread
    from lego_demo.train.pictures import Picture
    from lego_demo.workflow import parse_workflow

    def plan(*steps):
        pipeline = [{"step": i, "model": m, "input": {"image": "init[image]", **({"prompt": p} if p else {})},
                     "output": {"image": f"step{i}[image]"}} for i, (m, p) in enumerate(steps, 1)]
        return Plan("", workflow=parse_workflow({"process": "x", "pipeline": pipeline}).workflow)

    extract = next(t for t in TEMPLATES if t.family == "extract")
    drawn = Drawn(extract, Picture(Path("x.png")), "separate the blue circle from its background", {"blue circle"})
    assert misread(drawn, plan(("RES", "blue circle"), ("EXTRACT", None))) is None
    assert misread(drawn, plan(("RES", "the blue circle"), ("EXTRACT", None))) is None
    assert "RES looks for" in misread(drawn, plan(("RES", "blue circle from its background"), ("EXTRACT", None)))
    assert "without RES" in misread(drawn, plan(("SOS", None), ("EXTRACT", None)))
    assert misread(drawn, plan(("SOS", None), ("EXTRACT", None)), banned=frozenset({"RES"})) is None
    assert misread(drawn, plan(("RES", "main subject"), ("EXTRACT", None))) is None  # a generic target


def test_sos_never_stands_in_for_res_on_a_scene_of_equal_shapes(registry, tmp_path):
    import random

    from lego_demo.feedback import parse_feedback
    from lego_demo.train.data import RowMaker
    from lego_demo.train.pictures import synthetic_pictures

    rng = random.Random(0)
    maker = RowMaker(registry, synthetic_pictures(tmp_path, 6, 192, rng), rng, tmp_path, feedback_share=1.0)
    rows = [row for row in (maker.target_row() for _ in range(80)) if row is not None]
    with_feedback = [r for r in rows if r["feedback"]]
    assert len(with_feedback) >= 10  # feedback of other kinds is still given
    for r in with_feedback:
        c = parse_feedback(r["feedback"], registry)
        assert not ("{obj}" in r["template"] and ("RES" in c.banned or "SOS" in c.required)), r

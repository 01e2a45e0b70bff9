"""The rule Builder over a corpus of hand-written instructions, feedback re-planning, declines.

The registry is the real one (bricks/ + the BRIGHT plugin). Bricks that other engineers are
adding (EXTRACT, BLUR-REGION, PIXELATE, COLORPOP, TEXT, CROP, ROTATE, FLIP, TONE) get a
stand-in spec here only while their file is not in bricks/ yet; once a real spec is
discovered, the real one is used.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lego_demo.bench.plan_judge import edits, judge
from lego_demo.builders.base import PlanRequest
from lego_demo.builders.rule import RuleBuilder
from lego_demo.feedback import merge_refinement, parse_feedback
from lego_demo.registry import Registry
from lego_demo.spec import Input, brick
from lego_demo.types import ValueType
from lego_demo.validate import validate
from lego_demo.workflow import Ref

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "instructions.jsonl"
BRIGHT = ROOT / "examples" / "plugins" / "bright.py"


def _standins() -> dict:
    img, msk = "Image", "Mask"
    return {
        "EXTRACT": dict(inputs={"image": img, "mask": msk}, outputs={"image": img}),
        "BLUR-REGION": dict(inputs={"image": img, "mask": msk, "strength": Input("Float", optional=True)}, outputs={"image": img}),
        "PIXELATE": dict(inputs={"image": img, "mask": msk, "block_size": Input("Float", optional=True)}, outputs={"image": img}),
        "COLORPOP": dict(inputs={"image": img, "mask": msk}, outputs={"image": img}),
        "TEXT": dict(inputs={"image": img, "text": "Str", "position": Input("Str", optional=True),
                             "mask": Input(msk, optional=True)}, outputs={"image": img}),
        "CROP": dict(inputs={"image": img, "mask": Input(msk, optional=True), "aspect": Input("Str", optional=True)}, outputs={"image": img}),
        "ROTATE": dict(inputs={"image": img, "degrees": "Float"}, outputs={"image": img}),
        "FLIP": dict(inputs={"image": img, "direction": "Str"}, outputs={"image": img}),
        "TONE": dict(inputs={"image": img, **{k: Input("Float", optional=True) for k in ("brightness", "contrast", "saturation")}},
                     outputs={"image": img}),
    }


def make_registry() -> Registry:
    registry = Registry.discover([BRIGHT])
    for name, decl in _standins().items():
        if registry.resolve(name) is None:
            registry.register(brick(name, kind="edit", summary=f"stand-in for {name}", **decl), origin="test stand-in")
    return registry


@pytest.fixture(scope="module")
def registry() -> Registry:
    return make_registry()


@pytest.fixture(scope="module")
def builder(registry) -> RuleBuilder:
    return RuleBuilder(registry)


def rows() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]


# -- the corpus: right plans (bricks, target, value), judged by lego_demo/bench/plan_judge.py -------
def run_corpus(builder) -> tuple[dict, list, list]:
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    failures, invalid = [], []
    for row in rows():
        request = PlanRequest(row["instruction"], has_mask=bool(row.get("has_mask")))
        plan = builder.plan(request)
        if plan.workflow is not None:
            init = {"image": ValueType.IMAGE, **({"mask": ValueType.MASK} if row.get("has_mask") else {})}
            check = validate(plan.workflow, builder.registry, init_values=init)
            if not check.ok or plan.declined:
                invalid.append((row["id"], [str(p) for p in check.problems]))
        elif not plan.declined:
            invalid.append((row["id"], ["no workflow and no decline reason"]))
        verdict = judge(row, plan)
        per[row["family"]][0] += verdict.ok
        per[row["family"]][1] += 1
        if not verdict.ok:
            failures.append((row["id"], row["instruction"], verdict.error, verdict.detail))
    return per, failures, invalid


def test_corpus_is_large_and_varied():
    data = rows()
    assert len(data) >= 400
    assert len({r["id"] for r in data}) == len(data)
    assert all("expect" in r for r in data)
    counts = Counter(r["family"] for r in data)
    assert len(counts) >= 17 and min(counts.values()) >= 15


def test_corpus_right_plans(builder, capsys):
    per, failures, invalid = run_corpus(builder)
    table = ["family       right / total   accuracy"]
    for fam in sorted(per):
        ok, n = per[fam]
        table.append(f"{fam:12} {ok:5d} / {n:<5d}   {ok / n:6.1%}")
    total_ok, total = sum(v[0] for v in per.values()), sum(v[1] for v in per.values())
    table.append(f"{'ALL':12} {total_ok:5d} / {total:<5d}   {total_ok / total:6.1%}")
    with capsys.disabled():
        print("\n" + "\n".join(table))
        for f in failures:
            print("  miss:", f)
    assert not invalid, invalid
    assert total_ok / total >= 0.95
    low = {fam: per[fam][0] / per[fam][1] for fam in per if per[fam][0] / per[fam][1] < 0.85}
    assert not low, f"families under 85%: {low}"


# -- the seed behaviours ------------------------------------------------------------------------------
def bricks_of(plan) -> list[str]:
    assert plan.workflow is not None, plan.declined
    return [s.brick for s in plan.workflow.steps]


def test_swap_decomposes_into_remove_then_add(builder):
    plan = builder.plan(PlanRequest("swap the cat with a dog"))
    assert bricks_of(plan) == ["RES", "FASTINPAINT", "INPAINT", "ADD-PRED", "FILL"]
    steps = plan.workflow.steps
    assert steps[3].inputs["image"] == Ref(3, "image") and steps[3].inputs["mask"] == Ref(1, "mask")
    assert steps[4].inputs["prompt"] == "a dog"
    assert plan.workflow.result == [Ref(5, "image")]
    assert "remove" in plan.reasoning.lower() and "RES" in plan.reasoning


def test_official_few_shot_shapes(builder):
    plan = builder.plan(PlanRequest("remove the dog"))
    s = plan.workflow.steps
    assert [x.brick for x in s] == ["RES", "FASTINPAINT", "INPAINT"]
    assert s[0].inputs == {"image": Ref(None, "image"), "prompt": "dog"}
    assert s[2].inputs["preimage"] == Ref(2, "image") and s[2].inputs["score"] == Ref(2, "score")
    plan = builder.plan(PlanRequest("change the background to a beach"))
    s = plan.workflow.steps
    assert [x.brick for x in s] == ["SOS", "INVERSE", "CBG"]
    assert s[1].inputs["mask1"] is None and s[1].inputs["mask2"] == Ref(1, "mask")
    assert s[2].inputs["prompt"] == "change the background to a beach"
    plan = builder.plan(PlanRequest("make it a watercolor painting"))
    s = plan.workflow.steps
    assert [x.brick for x in s] == ["STYLE"]  # no caption: the engines here read the image itself
    assert s[0].inputs["prompt"] is None and s[0].inputs["style"] == "watercolor style"
    plan = builder.plan(PlanRequest("make it a watercolor painting"), feedback=["use CMI-PRED"])
    s = plan.workflow.steps
    assert [x.brick for x in s] == ["CMI-PRED", "STYLE"]  # the official way, when asked for
    assert s[0].inputs["left_ratio"] is None
    assert s[1].inputs["prompt"] == Ref(1, "caption") and s[1].inputs["style"] == "watercolor style"
    plan = builder.plan(PlanRequest("expand the image 2x"))
    s = plan.workflow.steps
    assert all(s[0].inputs[k] == 2.0 for k in ("left_ratio", "right_ratio", "top_ratio", "bottom_ratio"))
    assert s[1].inputs == {"image": Ref(1, "image"), "mask": Ref(1, "mask"), "prompt": Ref(1, "caption"), "preimage": None}
    plan = builder.plan(PlanRequest("make the car red"))
    assert bricks_of(plan) == ["RES", "RCM"] and plan.workflow.steps[1].inputs["prompt"] == "red"


def test_reflection_removal_replans_without_res(builder):
    request = PlanRequest("remove the reflection")
    first = builder.plan(request)
    assert "RES" in bricks_of(first)
    for fb in (["don't use RES"], ["no RES before INPAINT"], ["without RES"]):
        again = builder.plan(request, feedback=fb, previous=first)
        got = bricks_of(again)
        assert "RES" not in got, (fb, got)
        assert got == ["SOS", "INVERSE", "FASTINPAINT", "INPAINT"], (fb, got)
        assert again.workflow.steps[1].inputs["mask1"] is None
        assert "RES" in again.reasoning  # it says why


def test_add_then_expand_chains(builder):
    plan = builder.plan(PlanRequest("add a cat, then expand the image 2×"))
    assert bricks_of(plan) == ["ADD-PRED", "FILL", "CMI-PRED", "FILL"]
    s = plan.workflow.steps
    assert s[2].inputs["image"] == Ref(2, "image")  # the expansion edits the image with the cat
    assert s[2].inputs["top_ratio"] == 2.0


def test_multi_clause_chains_images(builder):
    plan = builder.plan(PlanRequest("remove the cup and make the wall blue"))
    assert bricks_of(plan) == ["RES", "FASTINPAINT", "INPAINT", "RES", "RCM"]
    s = plan.workflow.steps
    assert s[3].inputs["image"] == Ref(3, "image") and s[4].inputs["image"] == Ref(3, "image")
    assert plan.workflow.result == [Ref(5, "image")]


def test_typos_polite_and_casing(builder):
    for text in ("Could you pleese rmove the DOG, ensuring the background looks natural?", "plz delte the dog",
                 "REMOVE THE DOG!!!", "would you kindly get rid of the dog for me, thanks"):
        plan = builder.plan(PlanRequest(text))
        assert bricks_of(plan) == ["RES", "FASTINPAINT", "INPAINT"], text
        assert plan.workflow.steps[0].inputs["prompt"] == "dog", text


def test_remote_is_not_remove(builder):
    plan = builder.plan(PlanRequest("remove the remote"))
    assert plan.workflow.steps[0].inputs["prompt"] == "remote"


# -- feedback ---------------------------------------------------------------------------------------
def test_feedback_parsing(registry):
    c = parse_feedback(["don't use RES", "use SOS instead", "only the left one", "stronger", "stronger"], registry)
    assert c.banned == {"RES"} and c.required == {"SOS"}
    assert c.refinements == ["left"] and c.strength == 2
    c = parse_feedback(["no RES before INPAINT"], registry)
    assert c.banned == {"RES"} and c.banned_before == {"RES": "before INPAINT"}
    c = parse_feedback(["without flux-fill"], registry)
    assert c.banned == {"FILL"}
    c = parse_feedback(["don't use RES", "actually, use RES"], registry)
    assert c.banned == set() and c.required == {"RES"}
    c = parse_feedback(["stronger", "undo that"], registry)
    assert c.strength == 0 and not c.undo_edit
    c = parse_feedback(["undo that"], registry)
    assert c.undo_edit
    c = parse_feedback(["keep the background"], registry)
    assert c.keep == {"background"}
    c = parse_feedback(["the bigger one"], registry)
    assert c.refinements == ["bigger"]
    assert merge_refinement("dog", ["left"]) == "the dog on the left"
    assert merge_refinement("the dog", ["bigger"]) == "the bigger dog"
    c = parse_feedback(["looks great", "much weaker"], registry)
    assert c.strength == -2 and c.unread == ["looks great"]


def test_bans_are_hard(builder):
    request = PlanRequest("remove the dog")
    plan = builder.plan(request, feedback=["don't use RES", "don't use SOS"])
    assert plan.workflow is None and "RES" in plan.declined and "SOS" in plan.declined
    plan = builder.plan(request, feedback=["don't use INPAINT"])
    assert bricks_of(plan) == ["RES", "FASTINPAINT"]
    plan = builder.plan(PlanRequest("make the car red"), feedback=["no RCM"])
    assert plan.workflow is None and "RCM" in plan.declined


def test_require(builder):
    plan = builder.plan(PlanRequest("remove the dog"), feedback=["use SOS instead"])
    assert bricks_of(plan)[0] == "SOS"
    plan = builder.plan(PlanRequest("remove the dog"), feedback=["use ENV"])
    assert plan.workflow is None and "ENV" in plan.declined


def test_target_refinement(builder):
    plan = builder.plan(PlanRequest("remove the dog"), feedback=["only the left one"])
    assert plan.workflow.steps[0].inputs["prompt"] == "the dog on the left"
    plan = builder.plan(PlanRequest("make the car red"), feedback=["no, the bigger one"])
    assert plan.workflow.steps[0].inputs["prompt"] == "the bigger car"


def test_strength(builder):
    base = builder.plan(PlanRequest("brighten the image"))
    more = builder.plan(PlanRequest("brighten the image"), feedback=["stronger"])
    less = builder.plan(PlanRequest("brighten the image"), feedback=["weaker"])

    def amount(plan) -> float:
        step = plan.workflow.steps[-1]
        vals = [v for v in step.inputs.values() if isinstance(v, float)]
        return vals[0]

    assert amount(more) > amount(base) > amount(less)
    undone = builder.plan(PlanRequest("brighten the image"), feedback=["stronger", "undo that"])
    assert amount(undone) == amount(base)


def test_keep_background_limits_style(builder):
    plan = builder.plan(PlanRequest("make it anime style"), feedback=["keep the background"])
    s = plan.workflow.steps
    style = next(x for x in s if x.brick == "STYLE")
    assert style.inputs["mask"] is not None


def test_undo_without_earlier_feedback_returns_plain_plan(builder):
    plain = builder.plan(PlanRequest("remove the dog"))
    undo = builder.plan(PlanRequest("remove the dog"), feedback=["undo that"], previous=plain)
    assert undo.workflow.to_json() == plain.workflow.to_json()
    assert "history" in undo.reasoning


# -- declines -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["", "   ", "asdf qwer", "make me a sandwich", "upscale the image to 4k"])
def test_declines(builder, text):
    plan = builder.plan(PlanRequest(text))
    assert plan.workflow is None and plan.declined


def test_decline_names_missing_brick():
    registry = Registry.discover()  # no BRIGHT, maybe no TONE
    builder = RuleBuilder(registry)
    if registry.resolve("TONE") is None:
        plan = builder.plan(PlanRequest("brighten the image"))
        assert plan.workflow is None and "TONE" in plan.declined and "BRIGHT" in plan.declined
    if registry.resolve("PIXELATE") is None:
        plan = builder.plan(PlanRequest("pixelate the faces"))
        assert plan.workflow is None and "PIXELATE" in plan.declined


def test_mask_reference_without_mask_declines(builder):
    plan = builder.plan(PlanRequest("remove this"))
    assert plan.workflow is None and "mask" in plan.declined
    plan = builder.plan(PlanRequest("remove this", has_mask=True))
    assert bricks_of(plan) == ["FASTINPAINT", "INPAINT"]


def test_never_raises_on_odd_input(builder):
    for odd in (None, 5, "x" * 5000, "\x00\x01", "remove the " * 300, "🐶 remove 🐶", "rEmOvE tHe DoG"):
        plan = builder.plan(PlanRequest(odd))  # type: ignore[arg-type]
        assert plan.workflow is not None or plan.declined


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=120), has_mask=st.booleans(),
       feedback=st.lists(st.sampled_from(["don't use RES", "use SOS", "stronger", "weaker", "undo that",
                                         "only the left one", "keep the background", "no INPAINT", "blah"]),
                         max_size=3))
def test_property_never_raises_never_invalid(builder, text, has_mask, feedback):
    plan = builder.plan(PlanRequest(text, has_mask=has_mask), feedback=feedback)
    if plan.workflow is None:
        assert plan.declined
    else:
        init = {"image": ValueType.IMAGE, **({"mask": ValueType.MASK} if has_mask else {})}
        c = parse_feedback(feedback, builder.registry)
        assert validate(plan.workflow, builder.registry, banned=c.banned, required=c.required, init_values=init).ok


words = st.sampled_from("remove add the dog cat red make change background to a with and then please style "
                        "watercolor expand 2x blur faces this here night rainy colour pop text \"hi\" swap"
                        " , . ; x".split())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(words, max_size=14), has_mask=st.booleans())
def test_property_word_salad(builder, parts, has_mask):
    plan = builder.plan(PlanRequest(" ".join(parts), has_mask=has_mask))
    if plan.workflow is None:
        assert plan.declined
    else:
        init = {"image": ValueType.IMAGE, **({"mask": ValueType.MASK} if has_mask else {})}
        assert validate(plan.workflow, builder.registry, init_values=init).ok


@pytest.mark.parametrize("text,grow", [("expand the mask", 1), ("include the edges", 1), ("grow the selection", 1),
                                       ("shrink the mask", -1), ("stronger", 0)])
def test_grow_feedback(registry, text, grow):
    assert parse_feedback([text], registry).grow == grow


def test_expand_the_mask_adds_grow_after_segmentation(builder):
    plan = builder.plan(PlanRequest("remove the red circle"), feedback=["expand the mask", "expand the mask"])
    bricks = [s.brick for s in plan.workflow.steps]
    assert bricks[:2] == ["RES", "GROW"] and plan.workflow.steps[1].inputs["amount"] == 0.03
    assert all(s.inputs.get("mask") != Ref(1, "mask") for s in plan.workflow.steps[2:])


# -- the Builder's shape ---------------------------------------------------------------------------------
RULE = ROOT / "lego_demo" / "builders" / "rule"


def test_no_rule_builder_module_over_400_lines():
    sizes = {str(p.relative_to(RULE)): len(p.read_text(encoding="utf-8").splitlines()) for p in RULE.rglob("*.py")}
    assert len(sizes) >= 15 and max(sizes.values()) <= 400, sizes


def test_actions_are_modules_discovered_like_bricks():
    from lego_demo.builders.rule.actions import Action, discover

    found = discover()
    modules = sorted(p.stem for p in (RULE / "actions").glob("*.py") if not p.stem.startswith("_"))
    assert len(found) == len(modules) and len({a.name for a in found}) == len(found)
    for action in found:
        assert isinstance(action, Action) and callable(action.read) and callable(action.plan)
    assert [a.order for a in found] == sorted(a.order for a in found)


def test_a_bug_in_the_reader_is_an_internal_error_not_a_decline(builder, monkeypatch):
    """Issue 21 D15: a reader bug used to become 'cannot plan' with no log."""
    import lego_demo.builders.rule as rule

    def broken(clause, ctx):
        raise IndexError("a bug in a reader")

    monkeypatch.setattr(rule, "_read_one", broken)
    with pytest.raises(IndexError):
        builder.plan(PlanRequest("remove the dog"))


PLUGIN = '''
from lego_demo.spec import Input, brick

HALFTONE = brick("HALFTONE", kind="edit", summary="Halftone dots", inputs={
    "image": "Image", "dots": Input("Float", range=(2, 64), default=8)}, outputs={"image": "Image"},
    use_for=("halftone effect", "make it look like a newspaper print"))
SPARKLE = brick("SPARKLE", kind="edit", summary="Sparkles on an object", inputs={
    "image": "Image", "mask": "Mask", "how": Input("Str", optional=True)}, outputs={"image": "Image"},
    use_for=("add sparkles", "make something glitter"))

@HALFTONE.engine("numpy")
def halftone(ctx, image, dots):
    return {"image": image}

@SPARKLE.engine("numpy")
def sparkle(ctx, image, mask, how=None):
    return {"image": image}
'''


def test_a_plugin_brick_is_planned_from_its_use_for_phrases(tmp_path):
    path = tmp_path / "my_bricks.py"
    path.write_text(PLUGIN, encoding="utf-8")
    registry = Registry.discover([path])
    b = RuleBuilder(registry)
    plan = b.plan(PlanRequest("could you give the photo a halftone effect?"))
    assert bricks_of(plan) == ["HALFTONE"] and plan.workflow.steps[0].inputs["dots"] == 8.0
    assert "halftone effect" in plan.reasoning
    plan = b.plan(PlanRequest("make it look like an old newspaper print"))
    assert bricks_of(plan) == ["HALFTONE"]
    plan = b.plan(PlanRequest("add some sparkles to the red car"))
    assert bricks_of(plan) == ["RES", "SPARKLE"] and plan.workflow.steps[0].inputs["prompt"] == "red car"
    plan = b.plan(PlanRequest("make the ring glitter"))
    assert bricks_of(plan) == ["RES", "SPARKLE"] and plan.workflow.steps[0].inputs["prompt"] == "ring"
    banned = b.plan(PlanRequest("add a halftone effect"), feedback=["don't use HALFTONE"])
    assert banned.workflow is None or "HALFTONE" not in bricks_of(banned)
    assert b.plan(PlanRequest("remove the dog")).workflow is not None  # built-in actions still read first


# -- the failure classes of issue 16 (its own examples, kept as regressions) -------------------------
def only_edit(builder, text, **kw):
    plan = builder.plan(PlanRequest(text, **kw))
    assert plan.workflow is not None, (text, plan.declined)
    found = edits(plan.workflow)
    assert len(found) == 1, (text, [str(e) for e in found])
    return found[0]


@pytest.mark.parametrize("text,do,target,value", [
    ("change the size of the mug to small", "resize", "mug", None),
    ("change the style to cubism", "style", None, "cubist"),
    ("change the action of the dog to sitting", "pose", None, "sitting"),
    ("change the viewpoint of the car to the side", "replace", "car", "side"),
    ("change the shape of the cake to a heart", "replace", "cake", "heart"),
    ("replace the bus with a vintage bicycle", "replace", "bus", "vintage bicycle"),
    ("remove the dog lying in the snow", "remove", "dog lying in snow", None),
    ("remove the man, blending the background", "remove", "man", None),
    ("change the kitchen background to a garden", "background", "@subject", "garden"),
    ("change the background from a street to a forest", "background", "@subject", "forest"),
    ("change the office in the picture to a beach setting", "background", "@subject", "beach"),
    ("raise the woman's right hand", "pose", None, "raise"),
    ("create a colour pop of the boy", "colorpop", "boy", None),
    ("make the window appear open", "replace", "window", "open"),
    ("make the dog bigger", "resize", "dog", None),
    ("turn the lamp on", "replace", "lamp", "on"),
    ("remove the waiter, leaving the tables untouched", "remove", "waiter", None),
    ("change the background to a lake with pine trees", "background", "@subject", "lake with pine trees"),
    ("change the color of the footprint in the sand to red", "recolor", "footprint in sand", "red"),
    ("darken the dog's fur", "tone", "dog's fur", None),
    ("brighten the man in the middle", "tone", "man in middle", None),
    ("make the sky brighter", "tone", "sky", None),
    ("make the coat a shade of brown", "recolor", "coat", "brown"),
    ("make her hair blonde", "recolor", "hair", "blonde"),
    ("paint the door a deeper orange", "recolor", "door", "deeper orange"),
    ("make the van teal-ish", "recolor", "van", "teal"),
    ("paint the boat navy", "recolor", "boat", "navy"),
    ("remove the bin next to the bench", "remove", "bin next to bench", None),
    ("remove the dog but not the cat", "remove", "dog", None),
    ("change the word 'open' to 'closed'", "text", None, "closed"),
    ("make the sweater red", "recolor", "sweater", "red"),
    ("remove the slides on the left", "remove", "slides on left", None),
])
def test_issue_16_failure_classes(builder, text, do, target, value):
    e = only_edit(builder, text)
    assert e.do == do, (text, str(e))
    if target is not None:
        assert e.target == target, (text, str(e))
    if value is not None:
        assert value in e.value.lower(), (text, str(e))


def test_references_point_back(builder):
    plan = builder.plan(PlanRequest("make the car red. Then make it shiny"))
    assert [(e.do, e.target) for e in edits(plan.workflow)] == [("recolor", "car"), ("recolor", "car")]
    plan = builder.plan(PlanRequest("turn the cup into a vase and make it blue"))
    assert [(e.do, e.target) for e in edits(plan.workflow)] == [("replace", "cup"), ("recolor", "vase")]
    plan = builder.plan(PlanRequest("that lamp is ugly, get rid of it"))
    assert [(e.do, e.target) for e in edits(plan.workflow)] == [("remove", "lamp")]
    plan = builder.plan(PlanRequest("remove it"))
    assert plan.workflow is None and "mask" in plan.declined
    assert bricks_of(builder.plan(PlanRequest("remove it", has_mask=True))) == ["FASTINPAINT", "INPAINT"]


def test_quoted_text_is_never_read_as_an_instruction(builder):
    e = only_edit(builder, "add the caption 'remove the dog and make it night'")
    assert e.do == "text" and e.value == "remove the dog and make it night"


def test_resize_plan_shape(builder):
    plan = builder.plan(PlanRequest("make the mug twice as big"))
    assert bricks_of(plan) == ["RES", "FASTINPAINT", "INPAINT", "EXTRACT", "RESIZE", "COMPOSE"]
    s = plan.workflow.steps
    assert s[4].inputs["ratio"] == 2.0 and s[4].inputs["image"] == Ref(4, "image")
    assert s[5].inputs["image1"] == Ref(3, "image") and s[5].inputs["image2"] == Ref(5, "image")
    assert builder.plan(PlanRequest("make the mug smaller")).workflow.steps[4].inputs["ratio"] < 1


def test_only_the_left_one_removes_only_the_left_circle():
    """Issue 14: two identical red circles; "only the left one" must remove the left one only."""
    from lego_demo.editor import Editor
    from lego_demo.synthetic import make_scene

    scene = make_scene(480, 320, objects=[("red", "circle", (120, 160), 50), ("red", "circle", (360, 160), 50)],
                       background_kind="tiles", seed=3)
    editor = Editor(make_registry())
    plan, run = editor.edit("remove the red circle", scene.image, feedback=["only the left one"])
    assert plan.workflow.steps[0].inputs["prompt"] == "the red circle on the left"
    out = run.results[0].astype(int)
    left, right = scene.objects[0].mask, scene.objects[1].mask
    assert np.abs(out - scene.image.astype(int))[right].max() == 0  # the right circle is untouched
    red = (out[..., 0] > 150) & (out[..., 1] < 90) & (out[..., 2] < 90)
    assert red[left].mean() < 0.05 and red[right].mean() > 0.8  # the left one is gone


def test_one_of_two_alike_is_not_guessed():
    """Two red circles of the same size and "remove the red circle": which one is not a guess
    to make silently. The edit is declined with the way to say which; "the left red circle"
    then removes that one only."""
    from lego_demo.editor import Editor
    from lego_demo.errors import CannotDo
    from lego_demo.synthetic import make_scene

    scene = make_scene(480, 320, objects=[("red", "circle", (120, 160), 50), ("red", "circle", (360, 160), 52),
                                          ("blue", "square", (240, 80), 40)], background_kind="tiles", seed=3)
    editor = Editor(make_registry())
    with pytest.raises(CannotDo) as exc:
        editor.edit("remove the red circle", scene.image)
    message = str(exc.value)
    assert "2" in message and "left" in message and "right" in message and "only the left one" in message
    _, run = editor.edit("remove the left red circle", scene.image)
    out = run.results[0].astype(int)
    assert np.abs(out - scene.image.astype(int))[scene.objects[1].mask].max() == 0
    _, run = editor.edit("remove the blue square", scene.image)  # one of its kind: no question
    assert np.abs(run.results[0].astype(int) - scene.image.astype(int))[scene.objects[2].mask].mean() > 20


@pytest.mark.parametrize("instruction,brick_name", [("blur the image", "BLUR-REGION"),
                                                    ("make the photo blurry", "BLUR-REGION"),
                                                    ("pixelate the whole picture", "PIXELATE")])
def test_the_whole_image_is_blurred_or_pixelated_without_a_mask(instruction, brick_name):
    """'blur the image' was declined ('I cannot a blur or pixelation of the whole image'): the
    bricks take a null mask as the whole image, and the plan leaves it out."""
    from skimage import data

    from lego_demo.editor import Editor

    editor = Editor(make_registry())
    image = data.chelsea()[::2, ::2]
    plan, run = editor.edit(instruction, image)
    (step,) = plan.workflow.steps
    assert step.brick == brick_name and step.inputs.get("mask") is None
    changed = np.abs(run.results[0].astype(int) - image.astype(int)).max(axis=2) > 0
    assert changed[:40].mean() > 0.5 and changed[-40:].mean() > 0.5 and changed.mean() > 0.6  # everywhere


def test_a_brick_that_needs_a_region_declines_the_whole_image():
    registry = Registry()  # only a PIXELATE that needs its mask, as a plugin might declare it
    registry.register(brick("PIXELATE", kind="edit", summary="region only", **_standins()["PIXELATE"]))
    plan = RuleBuilder(registry).plan(PlanRequest("pixelate the image"))
    assert plan.workflow is None and plan.declined.startswith("cannot pixelate the whole image: needs an area for PIXELATE")

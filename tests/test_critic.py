"""The offline critic on scenes with known truth, and Think-while-Edit recovering from it."""

import numpy as np
import pytest

from lego_demo.critics.offline import OfflineCritic
from lego_demo.editor import Editor
from lego_demo.metrics import psnr
from lego_demo.synthetic import make_scene


@pytest.fixture(scope="module")
def editor():
    return Editor.from_config()


def critique(editor, scene, instruction):
    plan, run = editor.edit(instruction, scene.image)
    return OfflineCritic(editor.registry).critique(scene.image, run.results[0], instruction, plan, run), run


def test_clean_removal_passes(editor):
    scene = make_scene(640, 480, background_kind="tiles", seed=1)
    obj = scene.objects[0]
    c, _ = critique(editor, scene, f"remove the {obj.name}")
    assert c.semantic >= 8 and c.quality >= 8 and c.refined_instruction is None, c.reasoning


@pytest.mark.parametrize("extra", [{"outline": 4}, {"shadow": 10}])
def test_remnants_fail_with_expand_the_mask(editor, extra):
    scene = make_scene(640, 480, background_kind="stripes", seed=2, **extra)
    obj = scene.objects[1]
    c, _ = critique(editor, scene, f"remove the {obj.name}")
    assert "expand the mask" in c.feedback, c.reasoning
    assert c.refined_instruction and "expand the mask" in c.refined_instruction


@pytest.mark.parametrize("extra", [{"outline": 4}, {"shadow": 10}])
def test_loop_recovers_a_mask_that_missed_part_of_the_object(editor, extra):
    scene = make_scene(640, 480, background_kind="checker", seed=3, **extra)
    obj = scene.objects[0]
    out = editor.think(f"remove the {obj.name}", scene.image, turns=3)
    first, best = out.turns[0], out.best_turn
    assert psnr(first.result, scene.background, obj.extent) < 24  # the first turn left the outline/shadow
    assert best.index > 1 and "GROW" in [s.brick for s in best.plan.workflow.steps]
    assert psnr(best.result, scene.background, obj.extent) >= 24, out.stopped


def test_recolour_hue_is_measured(editor):
    scene = make_scene(640, 480, background_kind="gradient", seed=0)
    obj = scene.objects[0]
    c, run = critique(editor, scene, f"make the {obj.name} red")
    hue = next(ch for ch in c.checks if "hue near 'red'" in ch.name)
    assert hue.passed and hue.value < 20
    wrong = run.results[0].copy()
    wrong[obj.mask] = (40, 200, 60)  # green instead of red
    c2 = OfflineCritic(editor.registry).critique(scene.image, wrong, "x", None, run)
    assert not next(ch for ch in c2.checks if "hue near" in ch.name).passed and "stronger" in c2.feedback


def test_damage_outside_the_mask_lowers_quality(editor):
    scene = make_scene(640, 480, background_kind="tiles", seed=4)
    obj = scene.objects[2]
    plan, run = editor.edit(f"remove the {obj.name}", scene.image)
    damaged = run.results[0].copy()
    damaged[:40] = 255 - damaged[:40]
    c = OfflineCritic(editor.registry).critique(scene.image, damaged, "x", plan, run)
    assert c.quality < 8 and not next(ch for ch in c.checks if "outside" in ch.name).passed
    assert np.isfinite(c.overall)


def test_loop_recovers_a_too_weak_recolour(editor):
    scene = make_scene(640, 480, background_kind="tiles", seed=5, objects=[("blue", "circle", (320, 240), 90)])
    out = editor.think("make the blue circle yellow", scene.image, turns=3)
    first, best = out.turns[0], out.best_turn
    assert "stronger" in first.critique.feedback
    rcm = [s for s in best.plan.workflow.steps if s.brick == "RCM"][0]
    assert rcm.inputs["strength"] is not None and best.index > 1
    light = lambda img: float(img[scene.objects[0].mask].mean())  # noqa: E731
    assert light(best.result) > light(first.result) + 20  # a truly light yellow, not mustard

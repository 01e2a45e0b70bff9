"""'stronger' / 'weaker' move every brick's strength input, and the result changes visibly.

One mechanism: a brick marks its strength input (`Input(strength=True)`, with its neutral value
and what null means); `feedback.apply_strength` moves it a step of x2 away from (or towards)
neutral per "stronger" (or "weaker"). Measured on a real photo: the edit's size (mean absolute
difference from the input over the edited region) must grow with "stronger" and shrink with
"weaker" by several grey levels, and only the changed step runs again (the cache key follows).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from skimage import data

from lego_demo.editor import Editor
from lego_demo.feedback import STRENGTH_STEP, apply_strength, stronger
from lego_demo.registry import Registry
from lego_demo.spec import Input

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def editor() -> Editor:
    return Editor(Registry.discover([ROOT / "examples" / "plugins" / "bright.py"]))


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return data.astronaut()  # 512x512: a person, a textured background


def box(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    m = np.zeros((h, w), bool)
    m[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = True
    return m


CASES = [  # brick, instruction, uses the drawn box
    ("STYLE", "make it a watercolor painting", False),
    ("ENV", "make it rainy", False),
    ("TONE", "brighten the image", False),
    ("BLUR-REGION", "blur this area", True),
    ("PIXELATE", "pixelate this area", True),
    ("RCM", "make this blue", True),
    ("CBG", "blur the background", False),
]


def size_of_edit(before: np.ndarray, after: np.ndarray, where: np.ndarray) -> float:
    diff = np.abs(after[..., :3].astype(np.float32) - before[..., :3].astype(np.float32)).mean(axis=2)
    return float(diff[where].mean())


@pytest.mark.parametrize("brick,instruction,masked", CASES, ids=[c[0] for c in CASES])
def test_stronger_and_weaker_change_the_result(editor, photo, brick, instruction, masked):
    mask = box(photo) if masked else None
    plan, base = editor.edit(instruction, photo, mask)
    assert brick in [s.brick for s in plan.workflow.steps], plan.reasoning
    _, more = editor.edit(instruction, photo, mask, feedback=["stronger"])
    _, less = editor.edit(instruction, photo, mask, feedback=["weaker"])
    a, b, c = (r.results[0] for r in (less, base, more))
    where = mask if masked else np.abs(b[..., :3].astype(int) - photo.astype(int)).max(axis=2) > 0
    sizes = [size_of_edit(photo, x, where) for x in (a, b, c)]
    if brick == "RCM":  # strength is how far the object's lightness moves to the new colour's
        blue = 0.299 * 30 + 0.587 * 70 + 0.114 * 220
        gaps = [abs(float((x[..., :3].astype(np.float32) @ [0.299, 0.587, 0.114])[where].mean()) - blue) for x in (a, b, c)]
        assert gaps[0] > gaps[1] > gaps[2], gaps
    else:
        assert sizes[0] < sizes[1] < sizes[2], (brick, sizes)
    # a visible step, not a rounding difference: several grey levels each way
    assert size_of_edit(b, c, where) >= 3.0, (brick, sizes)
    assert size_of_edit(a, b, where) >= 2.0, (brick, sizes)
    # the cache key follows the literal: the strength step runs again, the steps before it do not
    changed = [t for t in more.trace if not t.cache_hit]
    assert [t.brick for t in changed] == [brick], [(t.brick, t.cache_hit) for t in more.trace]


def test_the_step_is_relative_to_neutral_and_stays_in_range():
    port = Input("Float", optional=True, range=(0, 1), neutral=0, default=0.5, strength=True)
    assert stronger(port, None, 1) == pytest.approx(0.5 * STRENGTH_STEP, abs=1e-3)
    assert stronger(port, None, -1) == pytest.approx(0.5 / STRENGTH_STEP, abs=1e-3)
    assert stronger(port, None, 4) == 1.0  # clamped to the declared range
    assert stronger(port, 0.2, 0) == 0.2
    signed = Input("Float", optional=True, range=(-1, 1), neutral=0, default=0, strength=True)
    assert stronger(signed, -0.2, 1) == pytest.approx(-0.2 * STRENGTH_STEP)  # "darker" gets darker
    assert stronger(signed, None, 1) is None  # an amount the plan leaves unchanged stays unchanged
    sized = Input("Float", optional=True, range=(1, 4096), neutral=1, strength=True,
                  default=lambda w, h: max(w, h) / 48)
    assert stronger(sized, None, 1, (4800, 3000)) > 100 > stronger(sized, None, 1, (480, 300))


def test_steps_add_up_and_undo_drops_one(editor, photo):
    plan = editor.plan("brighten the image", photo, feedback=["stronger", "stronger"])
    assert apply_strength(plan.workflow.copy(), editor.registry, 0) == []
    tone = plan.workflow.steps[-1]
    assert tone.brick == "TONE" and tone.inputs["brightness"] == pytest.approx(0.2 * STRENGTH_STEP ** 2, abs=1e-3)
    assert "stronger" in plan.reasoning
    undone = editor.plan("brighten the image", photo, feedback=["stronger", "stronger", "undo that"])
    assert undone.workflow.steps[-1].inputs["brightness"] == pytest.approx(0.2 * STRENGTH_STEP, abs=1e-3)


def test_a_plugin_brick_follows_feedback_through_its_declared_strength(editor, photo):
    """BRIGHT (examples/plugins/bright.py) marks `ratio` with neutral 0.5: no Builder code knows it."""
    base = editor.plan("darken the image", photo, feedback=["don't use TONE"])
    more = editor.plan("darken the image", photo, feedback=["don't use TONE", "much stronger"])
    ratio = [p.workflow.steps[-1].inputs["ratio"] for p in (base, more)]
    assert [p.workflow.steps[-1].brick for p in (base, more)] == ["BRIGHT", "BRIGHT"]
    assert ratio[1] < ratio[0] < 0.5

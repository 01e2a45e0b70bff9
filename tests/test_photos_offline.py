"""Offline engines on public sample photos, against masks drawn by hand
(tests/data/photo_masks.json): colour parts, hair, clothes, sky, subjects of any kind, and
declines that name the next step."""

from __future__ import annotations

import numpy as np
import pytest

from bricks.res import ground
from bricks.sos import sos
from lego_demo.bench.sample_photos import photo, truth
from lego_demo.errors import CannotDo
from lego_demo.metrics import iou
from lego_demo.spec import RunContext

pytest.importorskip("mediapipe")
CTX = RunContext(step=1)


def _cover(found: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """(share of the target found, share of what was found that lies outside the target)."""
    return float(found[target].mean()), float((found & ~target).sum() / max(1, found.sum()))


def test_colour_part_on_a_person_is_the_whole_garment():
    found = ground(photo("astronaut"), "orange suit")  # "make her orange suit blue": not one shoulder patch
    cover, outside = _cover(found, truth("astronaut", "suit"))
    assert cover >= 0.6 and outside <= 0.1, (cover, outside)


def test_red_parts_are_every_red_region():
    found = ground(photo("motorcycle"), "the red parts")
    cover, _ = _cover(found, truth("motorcycle", "red parts"))
    assert cover >= 0.6


def test_hair_follows_the_head_not_a_cap_shape():
    assert iou(ground(photo("astronaut"), "her hair"), truth("astronaut", "hair")) >= 0.75
    # under a cap, hair is what shows beside the face: never the cap
    hair = ground(photo("grace_hopper"), "her hair")
    cap = np.zeros(hair.shape, bool)
    cap[40:230, 250:640] = True  # the cap's box, placed by hand on the 1024-px photo
    assert hair.any() and (hair & cap).sum() < 0.1 * hair.sum()


def test_a_garment_is_the_clothes_dominant_colour():
    found = ground(photo("grace_hopper"), "jacket")
    cover, outside = _cover(found, truth("grace_hopper", "jacket"))
    assert cover >= 0.8 and outside <= 0.1, (cover, outside)


def test_sky_of_a_dusk_photo():
    sure = ~truth("rocket", "unsure")  # the sky seen through a lattice tower is left out
    assert iou(ground(photo("rocket"), "the sky") & sure, truth("rocket", "sky") & sure) >= 0.85


@pytest.mark.parametrize("name,least", [("astronaut", 0.9), ("grace_hopper", 0.9), ("camera", 0.85), ("coffee", 0.9)])
def test_sos_subjects_keep_what_they_hold(name, least):
    """People with what they hold (the astronaut's helmet, the camera) and objects."""
    assert iou(sos(CTX, photo(name))["mask"], truth(name, "subject")) >= least


@pytest.mark.parametrize("phrase,noun", [("the spoon", "spoon"), ("the motorcycle", "motorcycle")])
def test_a_noun_offline_declines_with_the_next_step(phrase, noun):
    with pytest.raises(CannotDo) as err:
        ground(photo("coffee"), phrase)
    assert f"Paint over the {noun}" in str(err.value) and "--mask" in str(err.value)

"""Offline engines on public sample photos, against masks drawn by hand
(tests/data/photo_masks.json): colour parts, hair, clothes, sky, subjects of any kind, and
declines that name the next step."""

from __future__ import annotations

import numpy as np
import pytest

from bricks.res import ground
from bricks.sos import sos
from lego_demo import subject
from lego_demo.bench.sample_photos import available, photo, truth, truths
from lego_demo.errors import CannotDo
from lego_demo.metrics import iou
from lego_demo.models import ModelManager
from lego_demo.spec import RunContext

pytest.importorskip("mediapipe")
CTX = RunContext(step=1, models=ModelManager())  # the detectors load once for the module


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


def test_an_orange_sky_stays_above_the_clouds():
    """'make the sky orange' crept ~10 px into the cloud bank below the rocket's dusk sky
    (22.8 dB outside the hand-drawn sky grown by 1%); the sky's colour check now looks beside
    a pixel, not above it, and a sky's new colour fades in upwards from its lower edge."""
    import cv2

    from bricks.rcm import rcm
    from lego_demo.metrics import psnr

    image = photo("rocket")
    result = rcm(CTX, image, ground(image, "the sky"), "orange")["image"]
    grown = cv2.dilate(truth("rocket", "sky").astype(np.uint8), np.ones((21, 21), np.uint8)).astype(bool)
    assert psnr(result, image, ~grown & ~truth("rocket", "unsure")) >= 30


def test_a_recoloured_sky_fades_in_at_its_lower_edge_only():
    from bricks.rcm import soft_edge

    img = np.zeros((100, 100, 3), np.uint8)
    out = np.full((100, 100, 3), 200, np.uint8)
    sky = np.zeros((100, 100), bool)
    sky[:60] = True
    sky[:, 45:55] = False  # a mast
    soft = soft_edge(img, out, sky)
    assert soft[20, 44, 0] == 200 and soft[20, 55, 0] == 200  # crisp beside the mast
    assert soft[59, 20, 0] < 200 and soft[50, 20, 0] == 200  # fades in over the last rows
    assert (soft[~sky] == 0).all()
    cup = np.zeros((100, 100), bool)
    cup[40:80, 30:70] = True  # a smooth object that does not hang from the top: no fade
    assert (soft_edge(img, out, cup)[cup] == 200).all()


@pytest.mark.parametrize("name,least", [("astronaut", 0.9), ("grace_hopper", 0.9), ("camera", 0.85), ("coffee", 0.9)])
def test_sos_subjects_keep_what_they_hold(name, least):
    """People with what they hold (the astronaut's helmet, the camera) and objects."""
    assert iou(sos(CTX, photo(name))["mask"], truth(name, "subject")) >= least


def test_faces_on_coins_are_not_people():
    """The Haar fallback finds faces on coins and the selfie segmenter takes the whole tray;
    with no body found by Pose, the subject is the coins, not the tray (IoU was 0.42). The dark
    coins, which GrabCut gave to the tray, are walled off from the frame: their frame saliency's
    core is foreground for sure (IoU was 0.65)."""
    assert iou(sos(CTX, photo("coins"))["mask"], truth("coins", "subject")) >= 0.85


def test_a_rocket_is_not_joined_to_the_ground():
    """GrabCut joined the rocket to the cloud bank and the launch pad below it, and the biggest
    piece (the cloud bank in a corner) won (IoU 0.13); pieces are now weighed by how walled off
    from the frame they are, and the rocket is cut again as a thin subject."""
    assert iou(sos(CTX, photo("rocket"))["mask"], truth("rocket", "subject")) >= 0.6


def test_the_sky_is_never_the_subject():
    """On the rocket photo SOS took a block of dusk sky beside the rocket (IoU 0.04)."""
    found = sos(CTX, photo("rocket"))["mask"]
    assert (found & truth("rocket", "sky")).sum() < 0.05 * found.sum()


def test_a_column_loses_its_stand_a_tower_keeps_its_legs():
    column = np.zeros((100, 60), bool)
    column[10:90, 27:33] = True
    column[90:96, 10:50] = True  # the stand
    trimmed = subject.trim_stand(column)
    assert trimmed[90:].sum() == 0 and (trimmed[:90] == column[:90]).all()
    tower = np.zeros((100, 60), bool)
    for y in range(10, 96):  # widening all the way down
        half = 1 + (y - 10) // 3
        tower[y, 30 - half:30 + half] = True
    assert (subject.trim_stand(tower) == tower).all()


def test_frame_saliency_is_high_where_the_frame_cannot_reach():
    """Barrier distance: a disc walled off from the frame stands out; a region of the same
    colour that touches the frame does not, nor does one joined to the frame by a gradual ramp
    (a cloud bank). Boundary contrast: a subject cut by one side of the frame still stands out."""
    from lego_demo.boundary_saliency import barrier_distance, boundary_contrast

    img = np.full((80, 120, 3), 90, np.uint8)
    img[30:50, 20:40] = 200  # walled off
    img[30:50, 100:] = 200  # the same colour, touching the right side
    img[60:, 50:80] = np.linspace(90, 200, 20, dtype=np.uint8)[:, None, None]  # a ramp up from the bottom
    d = barrier_distance(img)
    assert d[40, 30] > 0.9 and d[40, 110] < 0.1 and d[62, 65] < 0.2
    cut = np.full((80, 100, 3), 90, np.uint8)
    cut[20:60, 70:] = (200, 40, 40)  # cut by the right side: it stands out against the other three
    c = boundary_contrast(cut)
    assert c[40, 90] > 3 * c[10, 10]


def test_a_salient_piece_beats_a_bigger_dull_one():
    fg = np.zeros((60, 100), bool)
    fg[40:60, 0:60] = True  # big, in a corner, blends into the frame
    fg[10:35, 70:76] = True  # small, walled off
    salience = np.where(fg, 0.05, 0.0)
    salience[10:35, 70:76] = 1.0
    kept = subject.main_parts(fg, salience)
    assert kept[20, 72] and not kept[50, 30]


def test_grabcut_gives_the_same_mask_whatever_ran_before():
    import cv2

    image = photo("coffee", 160)
    init = np.full(image.shape[:2], cv2.GC_PR_BGD, np.uint8)
    init[40:100, 50:120] = cv2.GC_PR_FGD
    first = subject.grabcut(image, init)
    cv2.randu(np.zeros((50, 50), np.float32), 0, 1)  # moves OpenCV's random generator on
    assert (subject.grabcut(image, init) == first).all()


BLIND_FLOOR = {"cheetah_face": 0.9, "cheetah_cub": 0.85, "groot": 0.9, "tower": 0.9, "cheetah_run": 0.65}


@pytest.mark.parametrize("name", sorted(BLIND_FLOOR))
def test_blind_subjects_stay_where_they_were_measured(name):
    """The blind set (masks drawn before tuning): floors a little under the figures measured
    once, so a change that breaks generalisation shows (the lion, 0.55, is a known miss)."""
    if not available(name):
        pytest.skip("the blind photos ship inside the gradio wheel")
    sure = ~truth(name, "subject_unsure") if "subject_unsure" in truths()[name] else True
    found = sos(CTX, photo(name))["mask"]
    assert iou(found & sure, truth(name, "subject") & sure) >= BLIND_FLOOR[name]


@pytest.mark.parametrize("phrase,noun", [("the spoon", "spoon"), ("the motorcycle", "motorcycle")])
def test_a_noun_offline_declines_with_the_next_step(phrase, noun):
    with pytest.raises(CannotDo) as err:
        ground(photo("coffee"), phrase)
    assert f"Paint over the {noun}" in str(err.value) and "--mask" in str(err.value)

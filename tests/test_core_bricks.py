"""Exact semantics of the pixel-exact bricks (INVERSE, COMPOSE, RESIZE, BBOX, BRIGHT)."""

import numpy as np
import pytest

from lego_demo.errors import BadInput
from lego_demo.spec import RunContext


def run(registry, name, **inputs):
    return registry.get(name).engines[0].run(RunContext(step=1), **inputs)


def box(h=20, w=30, r0=5, r1=10, c0=4, c1=12):
    m = np.zeros((h, w), bool)
    m[r0:r1, c0:c1] = True
    return m


def test_inverse_masks(registry):
    a, b = box(), box(r0=7, r1=15)
    assert np.array_equal(run(registry, "INVERSE", mask1=a, mask2=b)["mask"], a & ~b)
    assert np.array_equal(run(registry, "INVERSE", mask2=b)["mask"], ~b)


def test_inverse_images_saturate(registry):
    a = np.full((4, 4, 3), 100, np.uint8)
    b = np.full((4, 4, 3), 150, np.uint8)
    assert run(registry, "INVERSE", image1=a, image2=b)["image"].max() == 0
    assert run(registry, "INVERSE", image1=b, image2=a)["image"].min() == 50


def test_compose(registry):
    a, b = box(), box(r0=7, r1=15)
    assert np.array_equal(run(registry, "COMPOSE", mask1=a, mask2=b)["mask"], a | b)
    base = np.zeros((4, 4, 3), np.uint8)
    top = np.zeros((4, 4, 4), np.uint8)
    top[1, 1] = (255, 0, 0, 255)
    out = run(registry, "COMPOSE", image1=base, image2=top)["image"]
    assert out.shape == (4, 4, 3) and tuple(out[1, 1]) == (255, 0, 0) and out.sum() == 255


def test_bbox(registry):
    m = np.zeros((10, 10), bool)
    m[2, 3] = m[6, 8] = True
    out = run(registry, "BBOX", mask=m)["mask"]
    assert out[2:7, 3:9].all() and out.sum() == 5 * 6
    assert not run(registry, "BBOX", mask=np.zeros((5, 5), bool))["mask"].any()


def test_resize_mask_about_its_centre(registry):
    m = box(h=40, w=40, r0=10, r1=20, c0=10, c1=20)
    out = run(registry, "RESIZE", mask=m, ratio=2.0)["mask"]
    assert out.shape == m.shape and out.sum() == 400
    rows, cols = np.flatnonzero(out.any(1)), np.flatnonzero(out.any(0))
    assert (rows[0], rows[-1], cols[0], cols[-1]) == (5, 24, 5, 24)


def test_resize_opaque_image_scales_canvas(registry):
    img = np.zeros((10, 20, 3), np.uint8)
    assert run(registry, "RESIZE", image=img, ratio=0.5)["image"].shape == (5, 10, 3)
    with pytest.raises(BadInput):
        run(registry, "RESIZE", image=img, ratio=0)


def test_sizes_must_match(registry):
    with pytest.raises(BadInput, match="same size"):
        run(registry, "INVERSE", mask1=box(), mask2=box(h=21))


def test_bright_plugin(registry):
    img = np.full((4, 4, 3), 100, np.uint8)
    assert np.array_equal(run(registry, "BRIGHT", image=img, ratio=0.5)["image"], img)
    assert run(registry, "BRIGHT", image=img, ratio=0.75)["image"].mean() == pytest.approx(150, abs=1)
    assert run(registry, "BRIGHT", image=img, ratio=0.0)["image"].max() == 0

"""Procedural scenes with exact ground truth, for tests and the benchmark.

A scene is a textured background (stripes, tiles, checker, gradient) with shapes of named
colours at known places, and optional rendered text. Each object carries its exact mask; the
scene keeps the background without any object, so removal can be scored against the truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .colours import BASIC

COLOURS = BASIC  # the basic colour names and their sRGB values (lego_demo/colours.py)
SHAPES = ("circle", "square", "triangle")
BACKGROUNDS = ("stripes", "tiles", "checker", "gradient")


@dataclass
class SceneObject:
    shape: str
    colour: str
    mask: np.ndarray  # bool H×W, exact: the coloured fill
    centre: tuple[int, int]  # (x, y)
    size: int  # radius / half side in px
    extent: np.ndarray | None = None  # fill + outline + drop shadow: all a removal must clear

    @property
    def name(self) -> str:
        return f"{self.colour} {self.shape}"


@dataclass
class Scene:
    image: np.ndarray  # uint8 H×W×3
    background: np.ndarray  # the same scene with no objects
    objects: list[SceneObject] = field(default_factory=list)
    text: str | None = None
    text_mask: np.ndarray | None = None

    def find(self, colour: str | None = None, shape: str | None = None) -> SceneObject:
        for obj in self.objects:
            if (colour is None or obj.colour == colour) and (shape is None or obj.shape == shape):
                return obj
        raise KeyError(f"no {colour or ''} {shape or 'object'} in the scene")


def background(kind: str, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A hard-edged (stripes, tiles, checker) or smooth (gradient) textured background."""
    yy, xx = np.mgrid[0:height, 0:width]
    base = rng.integers(90, 200, size=3)
    other = np.clip(base + rng.choice([-1, 1], size=3) * rng.integers(40, 70, size=3), 0, 255)
    period = int(rng.integers(18, 34))
    if kind == "stripes":
        angle = rng.uniform(0, np.pi)
        proj = xx * np.cos(angle) + yy * np.sin(angle)
        pick = (proj // period).astype(int) % 2 == 0
    elif kind == "tiles":
        grout = 3
        pick = ((xx % period) < grout) | ((yy % period) < grout)
    elif kind == "checker":
        pick = ((xx // period + yy // period) % 2) == 0
    elif kind == "gradient":
        t = (xx / max(1, width - 1))[..., None]
        img = base[None, None, :] * (1 - t) + other[None, None, :] * t
        return np.clip(img + rng.normal(0, 2, img.shape), 0, 255).astype(np.uint8)
    else:
        raise ValueError(f"unknown background {kind!r}; use one of {BACKGROUNDS}")
    img = np.where(pick[..., None], other[None, None, :], base[None, None, :])
    return img.astype(np.uint8)


def shape_mask(shape: str, centre: tuple[int, int], size: int, width: int, height: int) -> np.ndarray:
    canvas = np.zeros((height, width), np.uint8)
    x, y = centre
    if shape == "circle":
        cv2.circle(canvas, (x, y), size, 1, -1)
    elif shape == "square":
        cv2.rectangle(canvas, (x - size, y - size), (x + size, y + size), 1, -1)
    elif shape == "triangle":
        pts = np.array([[x, y - size], [x - size, y + size], [x + size, y + size]], np.int32)
        cv2.fillPoly(canvas, [pts], 1)
    else:
        raise ValueError(f"unknown shape {shape!r}; use one of {SHAPES}")
    return canvas.astype(bool)


def make_scene(
    width: int = 640,
    height: int = 480,
    objects: list[tuple[str, str, tuple[int, int], int]] | None = None,
    background_kind: str = "stripes",
    text: str | None = None,
    seed: int = 0,
    shading: bool = True,
    outline: int = 0,
    shadow: int = 0,
) -> Scene:
    """Build a scene. `objects` = [(colour, shape, (x, y), size)]; by default three shapes
    in the left, middle and right thirds. Shapes get a soft shading so recolouring has
    structure to keep. `outline` draws a dark outline of that many px around each shape and
    `shadow` a drop shadow offset by that many px: parts of the object that a colour-based
    mask misses (see `SceneObject.extent`)."""
    rng = np.random.default_rng(seed)
    bg = background(background_kind, width, height, rng)
    if objects is None:
        size = min(width, height) // 8
        names = rng.choice(["red", "green", "blue", "yellow", "purple"], size=3, replace=False)
        objects = [
            (str(names[i]), SHAPES[i], (int(width * (i + 1) / 4), int(height / 2)), size) for i in range(3)
        ]
    img = bg.copy()
    placed: list[SceneObject] = []
    for colour, shape, centre, size in objects:
        mask = shape_mask(shape, centre, size, width, height)
        extent = mask.copy()
        if shadow:
            cast = shape_mask(shape, (centre[0] + shadow, centre[1] + shadow), size, width, height) & ~mask
            img = np.where(cast[..., None], (img.astype(np.float32) * 0.45).astype(np.uint8), img)
            extent |= cast
        if outline:
            k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * outline + 1, 2 * outline + 1))
            ring = cv2.dilate(mask.astype(np.uint8), k).astype(bool) & ~mask
            img = np.where(ring[..., None], np.uint8(25), img)
            extent |= ring
        rgb = np.array(COLOURS[colour], np.float32)
        if shading:
            yy, xx = np.mgrid[0:height, 0:width]
            d = np.hypot(xx - centre[0] + size * 0.3, yy - centre[1] + size * 0.3) / max(1, size)
            light = np.clip(1.1 - 0.35 * d, 0.6, 1.1)[..., None]
            fill = np.clip(rgb[None, None, :] * light, 0, 255).astype(np.uint8)
        else:
            fill = np.broadcast_to(rgb.astype(np.uint8), img.shape)
        img = np.where(mask[..., None], fill, img)
        for other in placed:  # a later object hides what it covers
            other.mask &= ~extent
            other.extent &= ~extent
        placed.append(SceneObject(shape, colour, mask, centre, size, extent))
    text_mask = None
    if text:
        layer = np.zeros((height, width), np.uint8)
        scale = max(0.6, width / 640)
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
        org = ((width - tw) // 2, height - th - 10)
        cv2.putText(layer, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, 255, 2, cv2.LINE_AA)
        text_mask = layer > 127
        img = np.where(text_mask[..., None], np.uint8(10), img)
    return Scene(img.astype(np.uint8), bg, placed, text, text_mask)


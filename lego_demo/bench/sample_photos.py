"""Public sample photos that ship with installed packages (scikit-image's data module,
matplotlib's grace_hopper.jpg, the example images inside the gradio wheel), and the masks drawn
by hand for them in tests/data/photo_masks.json: what the photos suite, the graded edits and
tests look at.

BLIND photos had their masks drawn before the subject finder was tuned and are never tuned on:
their figures are reported apart from the others'."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import cv2
import numpy as np

from ..errors import BadInput

MASKS = Path(__file__).resolve().parents[2] / "tests" / "data" / "photo_masks.json"
TRUTH_SIDE = 1024  # the masks' coordinates are in the photo resized to this long side

# name -> how to load it (a skimage.data function, or a matplotlib sample file)
SOURCES = {
    "astronaut": "skimage:astronaut", "chelsea": "skimage:chelsea", "coffee": "skimage:coffee",
    "rocket": "skimage:rocket", "camera": "skimage:camera", "motorcycle": "skimage:stereo_motorcycle",
    "text": "skimage:text", "clock_motion": "skimage:clock", "coins": "skimage:coins", "page": "skimage:page",
    "grace_hopper": "matplotlib:grace_hopper.jpg",
    # blind set (gradio's example images): animals, a figure, a thin tall structure
    "cheetah_run": "gradio:media_assets/images/cheetah.jpg", "cheetah_face": "gradio:media_assets/images/cheetah1.jpg",
    "cheetah_cub": "gradio:test_data/cheetah2.jpg", "lion": "gradio:media_assets/images/lion.jpg",
    "groot": "gradio:media_assets/images/groot.jpeg", "tower": "gradio:media_assets/images/tower.jpg",
}
BLIND = ("cheetah_run", "cheetah_face", "cheetah_cub", "lion", "groot", "tower")


def available(name: str) -> bool:
    """Whether the package that ships photo `name` is installed (gradio is in the app's
    requirements only)."""
    import importlib.util

    return importlib.util.find_spec(SOURCES[name].split(":")[0]) is not None


@functools.cache
def _original(name: str) -> np.ndarray:
    source = SOURCES.get(name)
    if source is None:
        raise BadInput(f"unknown sample photo {name!r}; known: {', '.join(SOURCES)}")
    kind, what = source.split(":")
    if kind == "skimage":
        from skimage import data

        img = getattr(data, what)()
        img = img[0] if isinstance(img, tuple) else img  # stereo_motorcycle: (left, right, disparity)
    elif kind == "matplotlib":
        from matplotlib import cbook
        from PIL import Image

        with cbook.get_sample_data(what) as fh:
            img = np.asarray(Image.open(fh).convert("RGB"))
    else:  # a file inside an installed package, found without importing it
        import importlib.util

        from PIL import Image

        spec = importlib.util.find_spec(kind)
        if spec is None or not spec.submodule_search_locations:
            raise BadInput(f"sample photo {name!r} ships with {kind}, which is not installed")
        with Image.open(Path(spec.submodule_search_locations[0]) / what) as im:
            img = np.asarray(im.convert("RGB"))
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    return np.ascontiguousarray(img[..., :3].astype(np.uint8))


def photo(name: str, side: int = TRUTH_SIDE) -> np.ndarray:
    """The photo as RGB uint8, resized so its long side is `side` px."""
    img = _original(name)
    h, w = img.shape[:2]
    scale = side / max(h, w)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=interp)


@functools.cache
def _masks() -> dict:
    return json.loads(MASKS.read_text(encoding="utf-8"))["photos"]


def truths() -> dict[str, list[str]]:
    """Which hand-drawn masks exist: photo -> mask names."""
    return {name: list(masks) for name, masks in _masks().items()}


def truth(name: str, key: str, shape: tuple[int, int] | None = None) -> np.ndarray:
    """The hand-drawn mask `key` of photo `name`, at `shape` (default: the 1024-px photo)."""
    shapes = _masks()[name][key]
    h, w = photo(name).shape[:2] if shape is None else shape
    f = max(h, w) / TRUTH_SIDE
    m = np.zeros((h, w), np.uint8)
    for s in shapes:
        value = 0 if s.get("cut") else 1
        if "poly" in s:
            cv2.fillPoly(m, [np.round(np.array(s["poly"], np.float64) * f).astype(np.int32)], value)
        else:
            cx, cy, rx, ry, *angle = s["ellipse"]
            cv2.ellipse(m, (round(cx * f), round(cy * f)), (max(1, round(rx * f)), max(1, round(ry * f))),
                        angle[0] if angle else 0, 0, 360, value, -1)
    return m.astype(bool)

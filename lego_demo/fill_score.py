"""How well a filled hole continues its surroundings (0..1): FASTINPAINT's score, INPAINT's
choice between candidate fills, and the critic's check of a removal all use it."""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

from .imaging import rgb


def hole_box(mask: np.ndarray, margin: int) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) of the mask's bounding box grown by `margin`, clipped to the image."""
    ys, xs = np.nonzero(mask)
    h, w = mask.shape
    return (
        max(0, int(ys.min()) - margin),
        min(h, int(ys.max()) + 1 + margin),
        max(0, int(xs.min()) - margin),
        min(w, int(xs.max()) + 1 + margin),
    )


def ring_around(mask: np.ndarray, width: float) -> np.ndarray:
    """Pixels outside `mask` within `width` px of it (Euclidean)."""
    dist = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 3)
    return (dist > 0) & (dist <= width)


def _colour_code(crop: np.ndarray) -> np.ndarray:
    q = (crop // 16).astype(np.int32)
    return (q[..., 0] * 16 + q[..., 1]) * 16 + q[..., 2]


def _palette(code: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Which colour bins occur in `where` (with their neighbours), as a lookup by code."""
    present = np.zeros(16**3, bool)
    present[code[where]] = True
    return ndimage.binary_dilation(present.reshape(16, 16, 16), np.ones((3, 3, 3), bool)).ravel()


def _like_the_rim(crop: np.ndarray, hole: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """The ring without pixels whose colour is absent from the hole's immediate rim (3 px):
    other objects near the hole are not the background the fill must continue. Colours are
    binned 16 levels a channel, and a bin's neighbours count as present (shading, noise).
    Falls back to the whole ring when too little of it would be left."""
    rim = ring_around(hole, 3) & ring
    if rim.sum() < 20:
        return ring
    code = _colour_code(crop)
    kept = ring & _palette(code, rim)[code]
    return kept if kept.sum() >= 0.5 * ring.sum() else ring


def fill_score(image: np.ndarray, mask: np.ndarray) -> float:
    """How well the content inside `mask` continues its surroundings, in [0, 1].

    Measured on a crop around the hole, against a ring around it (width a third of the hole
    size):
    - texture = min/max of the mean gradient magnitude (grey, Sobel) inside the hole and in
      the ring (+2 grey levels each, so flat-on-flat counts as matching). A blurry fill of a
      textured background scores low; a fill as busy as its surroundings scores near 1.
    - colour = max(exp(-d / 25), support²), d = distance between the mean RGB inside the hole
      and in the ring, support = share of hole pixels whose colour (binned) occurs in the ring.
    The ring leaves out pixels whose colour is absent from the hole's 3-px rim (other objects
    nearby). score = texture * colour. It rates consistency, not truth: a well-textured wrong fill can
    still score high.
    """
    if not mask.any():
        return 1.0
    ys, xs = np.nonzero(mask)
    size = int(max(np.ptp(ys), np.ptp(xs))) + 1
    width = max(4, size // 3)
    y0, y1, x0, x1 = hole_box(mask, width + 2)
    crop = rgb(image[y0:y1, x0:x1])
    m = mask[y0:y1, x0:x1]
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32)
    grad = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3))
    ring = _like_the_rim(crop, m, ring_around(m, width))
    if not ring.any():
        return 0.0
    g_in = float(grad[m].mean()) + 2.0
    g_out = float(grad[ring].mean()) + 2.0
    texture = min(g_in, g_out) / max(g_in, g_out)
    d = float(np.linalg.norm(crop[m].mean(axis=0) - crop[ring].mean(axis=0)))
    # a small hole on a coarse texture holds the ring's colours in other proportions: the
    # share of hole pixels whose colour occurs in the ring counts as well as the mean
    code = _colour_code(crop)
    support = float(_palette(code, ring)[code[m]].mean())
    colour = max(np.exp(-d / 25.0), support**2)
    return float(np.clip(texture * colour, 0.0, 1.0))

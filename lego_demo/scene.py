"""Where the sky is and which surfaces face up: what RES's "sky" and ENV's sky gradients and
snow use.

Sky: smooth (little texture at the working size), sky-coloured (blue at any brightness, from
day to night; or pale and bright, for overcast), and connected to the top edge, below which it
changes only gradually (a sky is a smooth gradient, so each row's colour is predicted by the
rows above). Holes smaller than a few percent of the sky (birds, wires, gaps in a lattice) are
filled; large ones (a tower, a rocket) stay out. Edges are fitted to the full-size image.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

from .errors import NotFound
from .subject import fit_edges, work_size

WORK_SIDE = 384


def sky(facts) -> np.ndarray:
    """The sky of a grounding.Facts image as a full-size bool mask (NotFound if there is none)."""
    return facts.memo("sky", lambda: _sky(facts.image))


def _sky(image: np.ndarray) -> np.ndarray:
    small = cv2.resize(image, work_size(image.shape[:2], WORK_SIDE), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV).astype(np.int32)
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)
    grad = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    texture = cv2.blur(grad, (5, 5))
    blue = (hue >= 88) & (hue <= 135) & (sat > 30) & (val > 25)
    pale = (sat < 45) & (val > 150)
    dusk = (hue >= 135) & (hue <= 170) & (sat > 20) & (val > 40)  # a purple-pink band low in the sky
    calm = texture < max(18.0, float(np.percentile(texture, 30)))
    cand = (blue | pale | dusk) & calm
    cand = cv2.morphologyEx(cand.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    n, ids = cv2.connectedComponents(cand, connectivity=4)
    top = np.unique(ids[: max(1, sh // 50)][ids[: max(1, sh // 50)] > 0])
    if not len(top):
        raise NotFound("RES (offline) found no sky: it looks for a smooth blue or pale area touching the "
                       "top edge. Paint over the sky and press Plan & run (CLI: --mask FILE)")
    sizes = np.bincount(ids.ravel())
    top = [i for i in top if sizes[i] >= 0.02 * sh * sw]
    m = np.isin(ids, top)
    if m.mean() < 0.04:
        raise NotFound("RES (offline) found no sky large enough: it looks for a smooth blue or pale area "
                       "touching the top edge. Paint over the sky and press Plan & run (CLI: --mask FILE)")
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).astype(np.float32)
    m &= _gradual(lab, m)
    # small holes (birds, wires, lattice gaps) are sky; large ones (towers) are not
    holes = ndimage.binary_fill_holes(m) & ~m
    hid, nh = ndimage.label(holes)
    if nh:
        hs = np.bincount(hid.ravel())
        small_holes = np.flatnonzero(hs < 0.003 * sh * sw)
        m |= np.isin(hid, small_holes[small_holes > 0])
    m = _grow_to_sky_colour(lab, m)
    m = cv2.morphologyEx(m.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)).astype(bool)
    return _per_pixel_rim(image, fit_edges(image, m))


def beside(k: int) -> int:
    """Height of the window (k wide) in which a pixel compares itself with the sky: short, so
    the sky it is compared with lies beside it. A gap in a lattice has sky beside it; a cloud
    bank's top below the horizon has only sky above it, which it resembles near the horizon —
    with a tall window the sky crept down into the clouds, ragged."""
    return max(3, k // 8) | 1


def _per_pixel_rim(image: np.ndarray, coarse: np.ndarray) -> np.ndarray:
    """Near the sky's outline, each full-size pixel decides for itself: sky where it has the
    colour of the sky beside it (the gaps in a lattice mast), not where it does not (the mast's
    bars), so thin structures are neither painted over nor boxed in."""
    h, w = coarse.shape
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
    k = (max(h, w) // 20) | 1
    window = (k, beside(k))
    weight = cv2.blur(coarse.astype(np.float32), window)
    local = cv2.blur(lab * coarse[..., None], window) / np.maximum(weight, 1e-6)[..., None]
    r = max(2, max(h, w) // 40)
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    rim = cv2.dilate(coarse.astype(np.uint8), disk).astype(bool) & ~cv2.erode(coarse.astype(np.uint8), disk).astype(bool)
    like = (np.linalg.norm(lab - local, axis=2) < 12.0) & (weight > 0.2)
    return (coarse & ~rim) | (rim & like)


def _grow_to_sky_colour(lab: np.ndarray, m: np.ndarray) -> np.ndarray:
    """The sky found by texture misses a rim next to towers, wires and the horizon (texture is
    measured over a window): pixels near it that have the colour of the sky beside them join it."""
    sh, sw = m.shape
    k = 2 * (max(sh, sw) // 24) + 1
    window = (k, beside(k))
    weight = cv2.blur(m.astype(np.float32), window)
    local = cv2.blur(lab * m[..., None], window) / np.maximum(weight, 1e-6)[..., None]
    like = (weight > 0.15) & (np.linalg.norm(lab - local, axis=2) < 12.0)
    n, ids = cv2.connectedComponents((like | m).astype(np.uint8), connectivity=4)
    keep = np.unique(ids[m])
    return np.isin(ids, keep[keep > 0])


def _gradual(lab: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Sky pixels whose colour is close to the sky's a little above them (averaged over nearby
    columns): the sky changes slowly downwards, so a sea, a wall or a field below it is cut
    off. Local, not whole rows: a sky also brightens sideways towards the sun or city lights."""
    sh, sw = m.shape
    keep = m.copy()
    win = max(3, sw // 16)
    band = max(2, sh // 60)
    ref = np.full((sw, 3), np.nan, np.float32)
    for y0 in range(0, sh, band):
        rows = keep[y0:y0 + band]
        if not np.isnan(ref[:, 0]).all():
            known = ~np.isnan(ref[:, 0])
            d = np.linalg.norm(lab[y0:y0 + band] - np.where(known[:, None], ref, 0)[None], axis=2)
            rows &= ~known[None] | (d < 24.0)
            keep[y0:y0 + band] = rows
        count = rows.sum(axis=0).astype(np.float32)
        own = (lab[y0:y0 + band] * rows[..., None]).sum(axis=0)
        weight = cv2.blur(count[None], (win, 1))[0]
        near = cv2.blur(own[None], (win, 1))[0]
        have = weight > 0.05  # a column without sky here borrows its neighbours' colour
        ref[have] = near[have] / weight[have, None]
        ref[count > 0] = own[count > 0] / count[count > 0, None]  # its own sky first
    return keep

"""The main subject of a photo (what SOS returns and "the background" is the rest of).

1. People: mediapipe's selfie segmentation, kept only where a face is found; unlike RES's
   "person" it keeps what the person holds (the astronaut's helmet, the camera).
2. A distinct object on a simple scene (graphics): one compact region of one colour that
   stands out (exact edges).
3. Anything else (animals, vehicles, objects): GrabCut at ≤ 200 px, seeded by the frame. A
   photographer frames the subject, so the frame border is background where it is smooth
   (out of focus, sky, a plain wall); where the border is detailed (the subject itself may be
   cut by the frame, as a close-up cat is) it is only probably background. The mask is then
   fitted to the full-size image's edges with a guided filter.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

from .errors import CannotDo
from .imaging import rgb

WORK_SIDE = 200  # GrabCut costs grow fast with size; 200 px gives the same masks as 256 (measured)
BORDER = 0.04  # share of the short side that counts as the frame border


def work_size(shape: tuple[int, int], max_side: int) -> tuple[int, int]:
    """(w, h) of an image of `shape` scaled so its long side is at most `max_side`."""
    h, w = shape
    s = min(1.0, max_side / max(h, w))
    return max(1, round(w * s)), max(1, round(h * s))


def grabcut(image: np.ndarray, init: np.ndarray, iterations: int = 4) -> np.ndarray:
    """GrabCut from a label map (cv2.GC_BGD / FGD / PR_BGD / PR_FGD), returns bool foreground."""
    labels = init.astype(np.uint8).copy()
    if not (labels == cv2.GC_FGD).any() and not (labels == cv2.GC_PR_FGD).any():
        return np.zeros(init.shape, bool)
    if not ((labels == cv2.GC_BGD) | (labels == cv2.GC_PR_BGD)).any():
        return labels != cv2.GC_BGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    bgr = cv2.cvtColor(rgb(image), cv2.COLOR_RGB2BGR)
    cv2.grabCut(bgr, labels, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    return (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)


def largest_components(mask: np.ndarray, keep_ratio: float = 0.15) -> np.ndarray:
    """The largest component plus any at least `keep_ratio` of its size."""
    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=4)
    if n <= 1:
        return mask.astype(bool)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(areas >= keep_ratio * areas.max()) + 1
    return np.isin(lab, keep)


def saliency_map(image: np.ndarray) -> np.ndarray:
    """Fine-grained static saliency in [0, 1], at the image's size."""
    sal = cv2.saliency.StaticSaliencyFineGrained_create()
    ok, m = sal.computeSaliency(cv2.cvtColor(rgb(image), cv2.COLOR_RGB2BGR))
    if not ok:
        raise CannotDo("OpenCV saliency failed on this image")
    m = m.astype(np.float32)
    return m / max(float(m.max()), 1e-6) if m.max() > 1.0 else m


def detail(image: np.ndarray) -> np.ndarray:
    """Local high-frequency energy (|Laplacian|, smoothed): high where the image is in focus
    and textured, low on blurred or plain areas."""
    grey = cv2.cvtColor(rgb(image), cv2.COLOR_RGB2GRAY).astype(np.float32)
    lap = np.abs(cv2.Laplacian(grey, cv2.CV_32F, ksize=3))
    return cv2.GaussianBlur(lap, (0, 0), max(2.0, min(image.shape[:2]) / 40))


def fit_edges(image: np.ndarray, mask: np.ndarray, side: int = 640) -> np.ndarray:
    """A coarse mask (any size) fitted to the image's edges: upsampled and guided-filtered at
    ≤ `side` px, thresholded, then brought to the image's size."""
    h, w = image.shape[:2]
    size = work_size((h, w), side)
    guide = cv2.resize(rgb(image), size, interpolation=cv2.INTER_AREA)
    soft = cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    radius = max(2, round(max(size) / 120))
    soft = cv2.ximgproc.guidedFilter(guide, soft, radius, 0.02 * 255 * 255)
    return cv2.resize(soft, (w, h), interpolation=cv2.INTER_LINEAR) > 0.5


def framed_object(image: np.ndarray) -> np.ndarray:
    """GrabCut seeded by the frame (see the module docstring); full-size bool mask."""
    image = rgb(image)
    small = cv2.resize(image, work_size(image.shape[:2], WORK_SIDE), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    level = np.log1p(detail(small))
    level8 = cv2.normalize(level, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    threshold, _ = cv2.threshold(level8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    k = max(2, round(BORDER * min(sh, sw)))
    border = np.zeros((sh, sw), bool)
    border[:k], border[-k:], border[:, :k], border[:, -k:] = True, True, True, True
    smooth = level8 <= threshold
    init = np.full((sh, sw), cv2.GC_PR_FGD, np.uint8)
    if (border & smooth).mean() > 0.02 * border.mean():
        init[border & smooth] = cv2.GC_BGD
        init[border & ~smooth] = cv2.GC_PR_BGD
    else:  # a detailed frame all round (a table, a field): the frame is the background
        init[border] = cv2.GC_BGD
    fg = grabcut(small, init, 3)
    fg = largest_components(ndimage.binary_fill_holes(fg), 0.3)
    if not fg.any():
        return np.zeros(image.shape[:2], bool)
    return fit_edges(image, fg)


def people_and_what_they_hold(facts) -> np.ndarray:
    """Selfie-segmentation regions that hold a detected face, as segmented (held objects kept)."""
    m = facts.up(facts.person_prob)
    if not m.any():
        return m
    centres = [poly.mean(axis=0) for poly in facts.faces]
    n, lab = cv2.connectedComponents(m.astype(np.uint8), connectivity=4)
    ids = {int(lab[int(cy), int(cx)]) for cx, cy in centres
           if 0 <= int(cy) < lab.shape[0] and 0 <= int(cx) < lab.shape[1]}
    ids.discard(0)
    return np.isin(lab, sorted(ids)) if ids else np.zeros(m.shape, bool)


def main_subject(facts) -> np.ndarray:
    """The main subject of `facts.image` (a grounding.Facts), as a full-size bool mask."""
    h, w = facts.shape
    try:
        people = people_and_what_they_hold(facts)
    except CannotDo:  # no mediapipe here: the other cues still work
        people = np.zeros((h, w), bool)
    if people.mean() > 0.03:
        return people
    distinct = facts.distinct_object()
    if distinct is not None:
        return distinct
    return framed_object(facts.image)


def salient_object(image: np.ndarray, work_side: int = 320) -> np.ndarray:
    """A second, independent opinion of the subject (the critic compares it with SOS's):
    fine-grained saliency × a centre prior → Otsu seeds → GrabCut at ≤ work_side px."""
    image = rgb(image)
    h, w = image.shape[:2]
    small = cv2.resize(image, work_size((h, w), work_side), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    sal = cv2.GaussianBlur(saliency_map(small), (0, 0), 3)
    yy, xx = np.mgrid[0:sh, 0:sw]
    prior = np.exp(-(((xx - sw / 2) / (0.6 * sw)) ** 2 + ((yy - sh / 2) / (0.6 * sh)) ** 2))
    score = sal * (0.5 + 0.5 * prior)
    s8 = np.clip(score / max(float(score.max()), 1e-6) * 255, 0, 255).astype(np.uint8)
    thr, _ = cv2.threshold(s8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    fg = largest_components(s8 > thr, 0.3)
    init = np.full((sh, sw), cv2.GC_PR_BGD, np.uint8)
    init[fg] = cv2.GC_PR_FGD
    init[(s8 > min(255, thr + 0.5 * (255 - thr))) & fg] = cv2.GC_FGD
    b = max(2, round(0.02 * min(sh, sw)))
    border = np.zeros((sh, sw), bool)
    border[:b], border[-b:], border[:, :b], border[:, -b:] = True, True, True, True
    init[border & ~fg] = cv2.GC_BGD
    out = largest_components(ndimage.binary_fill_holes(grabcut(small, init)), 0.3)
    return cv2.resize(out.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR) > 0.5

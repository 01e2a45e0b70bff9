"""INPAINT: high-quality removal guided by a pre-inpaint image and its score.

Classical engine "offsets": exemplar filling by dominant patch offsets, after He & Sun,
"Statistics of Patch Offsets for Image Completion" (ECCV 2012), the idea behind OpenCV's
xphoto SHIFTMAP, reimplemented here to run on a crop in a fraction of its time:

1. Candidate offsets: the ring of known pixels around the hole is matched (masked squared
   difference, `cv2.matchTemplate`) against the image around it at reduced scale, only where
   the shifted hole and ring land entirely on known pixels. The best few distinct offsets
   (texture periods, repeated structure) are kept and refined at full scale.
2. Each hole pixel copies the image at one of these offsets, chosen by which offset best
   explains the nearby ring (error spread inwards by normalised Gaussian filtering), then the
   label map is smoothed.
3. A membrane correction (the ring's residual spread inwards) hides small colour steps at the
   border, like a cheap seamless clone.
4. The result is scored with FASTINPAINT's `fill_score`; the pre-inpaint image wins when its
   score is higher (the guidance the brick's inputs carry).
   It keeps the pre-inpaint image only if that scores more than 0.2 above the exemplar fill.
Pixels outside the mask are returned unchanged.
"""

from __future__ import annotations

import cv2
import numpy as np

from bricks.fastinpaint import check_hole
from lego_demo.diffusion import model_check
from lego_demo.errors import CannotDo
from lego_demo.fill_score import fill_score, hole_box, ring_around
from lego_demo.imaging import keep_outside, rgb, same_size
from lego_demo.spec import Input, brick
from lego_demo.subject import saliency_map

INPAINT = brick(
    "INPAINT",
    kind="edit",
    summary="Fill the mask area with background, guided by a pre-inpaint image and its score",
    inputs={"image": "Image", "mask": "Mask", "preimage": "Image",
            "score": Input("Float", range=(0.0, 1.0))},
    outputs={"image": "Image"},
    constraint="Removal only (no prompt). preimage and score are required: use FASTINPAINT's "
    "image and score.",
    aliases=("FLUX-INPAINT",),
    use_for=("remove an object", "erase something", "remove reflections", "remove a watermark"),
)

SEARCH_SIDE = 200  # long side of the reduced search crop
CANDIDATES = 6
PREFER_EXEMPLAR = 0.2


def _disk(r: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def _candidate_offsets(img: np.ndarray, hole: np.ndarray, ring_w: int) -> tuple[list[tuple[int, int]], float]:
    """Best distinct (dy, dx) offsets at full scale, found on a reduced copy of a search crop."""
    h, w = hole.shape
    ys, xs = np.nonzero(hole)
    size = max(np.ptp(ys), np.ptp(xs)) + 1
    sy0, sy1, sx0, sx1 = hole_box(hole, int(2.5 * size) + ring_w)
    scale = min(1.0, SEARCH_SIDE / max(sy1 - sy0, sx1 - sx0))
    small = cv2.resize(img[sy0:sy1, sx0:sx1], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    sh = cv2.resize(hole[sy0:sy1, sx0:sx1].astype(np.uint8), (small.shape[1], small.shape[0]),
                    interpolation=cv2.INTER_NEAREST)
    sh = cv2.dilate(sh, np.ones((3, 3), np.uint8))
    rw = max(2, int(round(ring_w * scale)))
    grown = cv2.dilate(sh, _disk(rw))
    ring = (grown > 0) & (sh == 0)
    ty, tx = np.nonzero(grown)
    t0, t1, u0, u1 = ty.min(), ty.max() + 1, tx.min(), tx.max() + 1
    # masked SSD of the ring against every placement, counting only the known (non-hole)
    # pixels under the shifted ring: the ring may overlap the hole (a texture period shorter
    # than the hole + ring), only the shifted hole itself must land on known pixels.
    # SSD = corr(K·I², M) − 2·corr(K·I, M·T) + corr(K, M·T²), K = known, M = ring, T = template
    img01 = small.astype(np.float32) / 255.0
    known = (sh == 0).astype(np.float32)
    m = ring[t0:t1, u0:u1].astype(np.float32)
    templ = img01[t0:t1, u0:u1]
    corr = lambda a, b: cv2.matchTemplate(np.ascontiguousarray(a), np.ascontiguousarray(b), cv2.TM_CCORR)  # noqa: E731
    cost = corr(known * (img01 ** 2).sum(axis=2), m) + corr(known, m * (templ ** 2).sum(axis=2))
    for c in range(3):
        cost -= 2 * corr(known * img01[..., c], m * templ[..., c])
    count = corr(known, m)
    cost = np.maximum(cost, 0) / np.maximum(count, 1.0)
    # a placement is usable only if the shifted hole covers no hole pixel and enough of the
    # shifted ring is known
    overlap = corr(sh.astype(np.float32), (sh[t0:t1, u0:u1] > 0).astype(np.float32))
    cost[(overlap > 0.5) | (count < 0.6 * float(m.sum()))] = np.inf
    # never copy a salient structure (a handle, an edge of another object) into the hole: the
    # source under the shifted hole may be no more salient than the ring around the hole
    sal = cv2.GaussianBlur(saliency_map(small), (0, 0), 2) * known
    hole_t = (sh[t0:t1, u0:u1] > 0).astype(np.float32)
    source_sal = corr(sal, hole_t) / max(float(hole_t.sum()), 1.0)
    cost[source_sal > 1.5 * float(sal[ring].mean()) + 0.05] = np.inf
    found: list[tuple[int, int]] = []
    sup = max(2, int(min(t1 - t0, u1 - u0) * 0.15))
    flat = cost.copy()
    for _ in range(CANDIDATES):
        idx = int(np.argmin(flat))
        py, px = divmod(idx, flat.shape[1])
        if not np.isfinite(flat[py, px]):
            break
        dy = (py - t0) / scale
        dx = (px - u0) / scale
        found.append((int(round(dy)), int(round(dx))))
        flat[max(0, py - sup):py + sup + 1, max(0, px - sup):px + sup + 1] = np.inf
    return found, scale


def _refine(img, hole, ring_idx, hole_idx, dy, dx, radius) -> tuple[float, int, int]:
    """Best offset within ±radius of (dy, dx), by full-scale ring error; inf if unusable."""
    h, w = img.shape[:2]
    ry, rx = ring_idx
    hy, hx = hole_idx
    ref = img[ry, rx].astype(np.float32)
    best = (np.inf, dy, dx)
    for ey in range(-radius, radius + 1):
        for ex in range(-radius, radius + 1):
            oy, ox = dy + ey, dx + ex
            if (hy + oy).min() < 0 or (hy + oy).max() >= h or (hx + ox).min() < 0 or (hx + ox).max() >= w:
                continue
            qy, qx = ry + oy, rx + ox
            ok = (qy >= 0) & (qy < h) & (qx >= 0) & (qx < w)
            ok[ok] = ~hole[qy[ok], qx[ok]]  # compare with known pixels only
            if ok.mean() < 0.6:
                continue
            err = float(np.mean((img[qy[ok], qx[ok]].astype(np.float32) - ref[ok]) ** 2))
            if err < best[0]:
                best = (err, oy, ox)
    return best


def offset_fill(image: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """The exemplar fill described in the module docstring; None when no offset is usable."""
    found = offset_fill_fit(image, mask)
    return None if found is None else found[0]


def offset_fill_fit(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, float] | None:
    """The exemplar fill and how well its best offset matches the ring (squared error relative
    to the ring's own variance: near 0 = the surroundings repeat there, ≥ 0.5 = no real match)."""
    img = rgb(image)
    h, w = mask.shape
    hole = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    ys, xs = np.nonzero(hole)
    size = int(max(np.ptp(ys), np.ptp(xs))) + 1
    ring_w = int(np.clip(size // 6, 4, 24))
    offsets, scale = _candidate_offsets(img, hole, ring_w)
    if not offsets:
        return None
    # work on a crop around the hole at full scale
    y0, y1, x0, x1 = hole_box(hole, max(ring_w + 2, size // 3 + 4))
    ring = ring_around(hole, ring_w)
    ring_idx = tuple(a[::3] for a in np.nonzero(ring))  # a subsample is enough to rank offsets
    hole_idx = np.nonzero(hole)
    step = int(np.ceil(0.6 / scale))
    refined = []
    for dy, dx in offsets:
        err, oy, ox = _refine(img, hole, ring_idx, hole_idx, dy, dx, step)
        # the source of hole pixels must itself be known
        if np.isfinite(err) and not hole[hole_idx[0] + oy, hole_idx[1] + ox].any():
            refined.append((err, oy, ox))
    if not refined:
        return None
    crop = img[y0:y1, x0:x1].astype(np.float32)
    hm = hole[y0:y1, x0:x1]
    rm = ring[y0:y1, x0:x1]
    yy, xx = np.mgrid[y0:y1, x0:x1]
    # an offset whose ring matches can still bring in a foreign object: rate each single-offset
    # copy as a whole with fill_score and keep those close to the best
    rated = []
    for err, oy, ox in sorted(set(refined))[:CANDIDATES]:
        src = img[np.clip(yy + oy, 0, h - 1), np.clip(xx + ox, 0, w - 1)]
        copy = np.where(hm[..., None], src, img[y0:y1, x0:x1])
        rated.append((fill_score(copy, hm), err, oy, ox))
    top = max(r[0] for r in rated)
    refined = sorted(r[1:] for r in rated if r[0] >= 0.8 * top)[:4]
    ring_px = img[ring_idx].astype(np.float32)
    fit = refined[0][0] / (float(ring_px.var(axis=0).mean()) + 25.0)
    sigma = max(3.0, ring_w * 1.5)
    den = cv2.GaussianBlur(rm.astype(np.float32), (0, 0), sigma) + 1e-6
    sources, local = [], []
    for err, oy, ox in refined:
        sy = np.clip(yy + oy, 0, h - 1)
        sx = np.clip(xx + ox, 0, w - 1)
        src = img[sy, sx].astype(np.float32)
        e = np.sum((src - crop) ** 2, axis=2) * rm
        local.append(cv2.GaussianBlur(e, (0, 0), sigma) / den + 0.05 * err)
        sources.append(src)
    labels = np.argmin(np.stack(local), axis=0).astype(np.uint8)
    if len(refined) > 1:
        labels = cv2.medianBlur(labels, 7)
    src = np.take_along_axis(np.stack(sources), labels[None, ..., None].astype(np.intp), axis=0)[0]
    # membrane: spread the ring residual of the chosen sources into the hole
    resid = (crop - src) * rm[..., None]
    corr = cv2.GaussianBlur(resid, (0, 0), sigma) / den[..., None]
    weight = np.clip(cv2.GaussianBlur(rm.astype(np.float32), (0, 0), sigma) * 4, 0, 1)[..., None]
    filled = np.clip(src + corr * weight, 0, 255)
    out = img.copy()
    out[y0:y1, x0:x1] = np.where(hm[..., None], filled + 0.5, crop).astype(np.uint8)
    return keep_outside(img, out, mask), fit


@INPAINT.engine("offsets", kind="classical")
def inpaint(ctx, image, mask, preimage, score):
    check_hole(image, mask)
    same_size("image", image, "preimage", preimage)
    base = rgb(image)
    pre = keep_outside(base, rgb(preimage), mask)
    given = float(score) if score is not None else float("nan")
    pre_score = given if 0.0 <= given <= 1.0 else fill_score(pre, mask)
    candidates = [(pre_score, 1, pre)]
    found = offset_fill_fit(base, mask)
    repeats = False
    if found is not None:
        candidates.append((fill_score(found[0], mask), 2, found[0]))
        repeats = found[1] < POOR_MATCH
    # exemplars continue a texture that repeats nearby (grass, tiles, stripes), which the score
    # only partly sees: there the pre-inpaint image must beat them clearly. Where the ring
    # matches nowhere (a shadow across glazed china), a copied patch brings in foreign
    # structure and the smooth pre-inpaint fill is the better guess.
    if found is not None and not repeats and pre_score >= MIN_SCORE:
        best = candidates[0]
    else:
        best = max(candidates, key=lambda c: c[0] + (PREFER_EXEMPLAR if c[1] == 2 else 0.0))
    expected_quality(mask, best[0])
    return {"image": best[2]}


POOR_MATCH = 0.5  # ring error / ring variance above which no nearby place continues the surroundings
MIN_SCORE = 0.3  # a large hole filled worse than this is declined, not returned
LARGE_HOLE = 0.06  # inscribed radius as a share of the short side


def expected_quality(mask: np.ndarray, score: float) -> None:
    """Decline a removal whose best fill does not continue its surroundings when the hole is
    too wide for that to be a detail: the result would be a smear, not a removal."""
    radius = float(cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 3).max())
    wide = radius / min(mask.shape) > LARGE_HOLE
    if wide and score < MIN_SCORE:
        raise CannotDo(
            f"the best offline fill of this {radius * 2:.0f}-px-wide hole scores {score:.2f} (< {MIN_SCORE}): it "
            "would be a smear, not a removal. A generative engine (--engine INPAINT=diffusers-inpaint:MODEL_DIR, "
            "see docs/MODELS.md) can invent what is behind it; offline, mark a smaller part to remove")


# -- model engine: diffusers inpainting from the pre-inpaint image --------------------------------
def strength_for(score) -> float:
    """A good pre-inpaint image (score near 1) is only refined; a poor one is regenerated."""
    s = float(score) if score is not None else float("nan")
    if not 0.0 <= s <= 1.0:
        return 1.0
    return float(np.clip(1.0 - 0.6 * s, 0.4, 1.0))


@INPAINT.engine("diffusers-inpaint", kind="model", version="1", check=model_check("INPAINT", "diffusers-inpaint"))
def inpaint_diffusers(ctx, image, mask, preimage, score):
    """Background generated in the mask, starting from the pre-inpaint image (strength from score)."""
    from lego_demo.diffusion import check_mask, run_inpaint

    check_mask(image, mask, "INPAINT")
    same_size("image", image, "preimage", preimage)
    prompt = str(ctx.options.get("prompt", "background"))
    negative = str(ctx.options.get("negative_prompt", "object, person, animal, text, watermark"))
    return {"image": run_inpaint(ctx, image, mask, prompt, init=preimage, strength=strength_for(score),
                                 negative=negative)}

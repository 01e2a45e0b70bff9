"""Parts of things named in words, found offline from what can be measured: a named colour's
regions inside the thing they belong to (a person, the main subject, the whole image), a
person's hair, and what a person wears. Every mask is fitted to the image's edges.

- colour part: pixels a person could call that colour (`colours.looks`, tolerant at the
  neighbouring names) inside the scope, skin left out unless skin is asked for, small specks
  dropped, edges fitted with a guided filter.
- hair: sampled beside the face (temples) and above the brow; when the two disagree the top
  is a hat or a cap, so only the temples' colour counts and nothing above the brow is hair.
- clothes: the person without face, skin and hair; a garment ("her jacket") is the clothes'
  dominant colour region (so a white shirt under a dark jacket stays out).
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

from .colours import CATEGORIES, colour_labels, looks
from .errors import CannotDo, NotFound
from .subject import fit_edges, largest_components, people_and_what_they_hold

GARMENTS = frozenset(
    "suit spacesuit jacket coat shirt tshirt blouse dress uniform sweater jumper hoodie top vest cardigan "
    "blazer gown robe overalls outfit clothes clothing trousers pants jeans skirt shorts scarf hat cap beret".split()
)
HEADWEAR = frozenset({"hat", "cap", "beret"})


def _grow(mask: np.ndarray, px: int) -> np.ndarray:
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return cv2.dilate(mask.astype(np.uint8), k).astype(bool)


def _clean(mask: np.ndarray, min_share: float) -> np.ndarray:
    """Open away specks, drop components smaller than `min_share` of the image or a tenth of
    the largest one."""
    h, w = mask.shape
    k = max(1, round(max(h, w) / 400))
    m = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, np.ones((2 * k + 1, 2 * k + 1), np.uint8))
    n, lab, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    if n <= 1:
        return np.zeros(mask.shape, bool)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero((areas >= min_share * h * w) & (areas >= 0.1 * areas.max())) + 1
    return np.isin(lab, keep)


def colour_part(facts, category: str, shade: str | None, scope: np.ndarray, keep_skin: bool = False) -> np.ndarray:
    """Every region of the named colour inside `scope` (bool mask), edges fitted. The pixels
    that clearly have the colour are the core; it grows into the same hue in light and shade
    (folds, shadows) as far as that stays connected to it."""
    core = looks(facts.image, category, shade) & scope
    if not keep_skin and facts.face_masks():
        try:
            scope = scope & ~_grow(facts.skin, 2)
        except CannotDo:
            pass
    core = _clean(core & scope, 0.0005)
    if not core.any():
        return core
    lab = cv2.cvtColor(facts.image, cv2.COLOR_RGB2LAB).astype(np.float32)
    sample = lab[core][:: max(1, int(core.sum()) // 20000)]
    centre = np.median(sample[:, 1:], axis=0)
    tol = np.clip(2.5 * np.percentile(np.abs(sample[:, 1:] - centre), 75, axis=0), 8.0, 18.0)
    low, high = np.percentile(sample[:, 0], 2) - 45.0, np.percentile(sample[:, 0], 98) + 25.0
    like = scope & (np.abs(lab[..., 1:] - centre) < tol).all(axis=2) & (lab[..., 0] > low) & (lab[..., 0] < high)
    n, ids = cv2.connectedComponents((like | core).astype(np.uint8), connectivity=8)
    touching = np.unique(ids[core])
    found = np.isin(ids, touching[touching > 0])
    return fit_edges(facts.image, found) & _grow(scope, 3)


def _lab_model(lab: np.ndarray, where: np.ndarray):
    sample = lab[where]
    centre = np.median(sample, axis=0)
    spread = np.clip(np.percentile(np.abs(sample - centre), 70, axis=0), [10.0, 5.0, 5.0], [30.0, 12.0, 12.0])
    return centre, spread


def hair(facts) -> np.ndarray:
    return facts.memo("hair", lambda: _hair(facts))


def _hair(facts) -> np.ndarray:
    faces = facts.faces
    if not faces:
        raise NotFound("RES (offline) finds hair around a detected face, and found no face: "
                       "paint over the hair and press Plan & run (CLI: --mask FILE)")
    lab = cv2.cvtColor(facts.image, cv2.COLOR_RGB2LAB).astype(np.float32)
    person = people_and_what_they_hold(facts) | facts.person  # the selfie mask keeps the hair's volume
    if not person.any():
        person = np.ones(facts.shape, bool)
    h, w = facts.shape
    yy, xx = np.mgrid[0:h, 0:w]
    out = np.zeros(facts.shape, bool)
    face_all = np.any(facts.face_masks(), axis=0)
    for poly, face in zip(faces, facts.face_masks()):
        x0, y0 = poly.min(0)
        x1, y1 = poly.max(0)
        fw, fh = x1 - x0, y1 - y0
        near = (xx > x0 - 0.7 * fw) & (xx < x1 + 0.7 * fw) & (yy > y0 - 0.8 * fh) & (yy < y1 + 0.7 * fh)
        below = (yy > y1 - 0.15 * fh) & (xx > x0 + 0.1 * fw) & (xx < x1 - 0.1 * fw)  # chin and neck
        region = near & person & ~_grow(face, max(2, round(0.02 * fw))) & ~below
        top = region & (yy > y0 - 0.25 * fh) & (yy < y0 + 0.05 * fh) & (xx > x0 + 0.25 * fw) & (xx < x1 - 0.25 * fw)
        sides = region & (yy > y0 + 0.1 * fh) & (yy < y0 + 0.6 * fh) & (
            ((xx > x0 - 0.2 * fw) & (xx < x0 + 0.05 * fw)) | ((xx > x1 - 0.05 * fw) & (xx < x1 + 0.2 * fw)))
        if sides.sum() < 30 and top.sum() < 30:
            continue
        if sides.sum() >= 30 and top.sum() >= 30:
            (ct, _), (cs, _) = _lab_model(lab, top), _lab_model(lab, sides)
            # a hat differs from hair a lot in lightness or in colour (real Lab units)
            hat = abs(ct[0] - cs[0]) / 2.55 > 45.0 or float(np.linalg.norm(ct[1:] - cs[1:])) > 25.0
        else:
            hat = False
        seed = sides if hat or top.sum() < 30 else (sides | top)
        if hat:  # under a hat, hair shows only beside and below the brim
            region &= yy > y0 - 0.05 * fh
        centre, spread = _lab_model(lab, seed)
        d = (np.abs(lab - centre) / spread).max(axis=2)
        cand = region & (d < 2.2)
        n, ids = cv2.connectedComponents(cand.astype(np.uint8), connectivity=8)
        touching = np.unique(ids[seed & cand])
        out |= np.isin(ids, touching[touching > 0])
    if not out.any():
        raise NotFound("RES (offline) found a face but could not tell its hair from the background: "
                       "paint over the hair and press Plan & run (CLI: --mask FILE)")
    out = ndimage.binary_fill_holes(out) & ~face_all
    return fit_edges(facts.image, _clean(out, 0.0003)) & ~face_all & _grow(person, 3)


def clothes(facts) -> np.ndarray:
    """What the people found wear: the person without faces, skin and hair."""
    return facts.memo("clothes", lambda: _clothes(facts))


def _clothes(facts) -> np.ndarray:
    person = facts.person
    if person.any():  # the selfie mask follows sleeves and hems that the pose mask cuts off
        person = person | people_and_what_they_hold(facts)
    if not person.any():
        raise NotFound("RES (offline) finds clothes on a person and found no person (it needs a visible "
                       "face): paint over them and press Plan & run (CLI: --mask FILE)")
    out = person & ~np.any(facts.face_masks(), axis=0)
    for part in ("skin", "hair"):
        try:
            out &= ~_grow(facts.skin if part == "skin" else hair(facts), 2)
        except CannotDo:
            pass
    return _clean(out, 0.002)


def garment(facts, noun: str) -> np.ndarray:
    """The named garment: the dominant colour region of the clothes below the face (or above
    it, for a hat or a cap)."""
    area = clothes(facts)
    h, w = facts.shape
    yy = np.mgrid[0:h, 0:w][0]
    tops = [poly[:, 1].min() for poly in facts.faces]
    chins = [poly[:, 1].max() for poly in facts.faces]
    if tops:
        area &= (yy < max(tops)) if noun in HEADWEAR else (yy > min(chins))
    if area.sum() < 0.002 * h * w:
        raise NotFound(f"RES (offline) found no {noun} on the person: paint over it and press Plan & run "
                       "(CLI: --mask FILE)")
    # the garment is the clothes' dominant colour, named, then found like "her orange suit"
    lab = cv2.cvtColor(facts.image, cv2.COLOR_RGB2LAB)
    sample = lab[area][:: max(1, int(area.sum()) // 20000)].astype(np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 1.0)
    _, labels, centres = cv2.kmeans(sample, 3, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    main = np.clip(centres[int(np.bincount(labels.ravel(), minlength=3).argmax())], 0, 255).astype(np.uint8)
    colour = cv2.cvtColor(main[None, None], cv2.COLOR_LAB2RGB)
    found = colour_part(facts, CATEGORIES[int(colour_labels(colour)[0, 0])], None, area)
    if not found.any():
        raise NotFound(f"RES (offline) could not tell the {noun} from the rest of the clothes: paint over it and "
                       "press Plan & run (CLI: --mask FILE)")
    return largest_components(found, 0.05)

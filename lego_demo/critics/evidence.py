"""Checks against evidence the plan did not produce: the offline critic must not grade an edit
by the same mask that made it.

- a colour-named target ("her orange suit", "the red parts"): of the pixels a person would
  call that colour where the words say (on the person, in the whole image), the share that
  changed — a recolour of one shoulder patch fails it;
- a background edit: the subject, found independently (the person model, else a saliency
  GrabCut that is not SOS's method), is left alone;
- a removal: the filled area continues its surroundings — FASTINPAINT's fill score, the fine
  grain (a smooth smear on a grainy tray, jacket or table), no streaks radiating from the
  hole's centre (a diffusion fill's wedges), and no outline of the object left along the mask's
  edge ("expand the mask"); a grain or streak failure caps the quality score, and Editor.think
  declines a removal whose best turn still has one (a smear is not a clean removal);
- a stand-in for a named target (SOS for "the red circle"): lego_demo/verify.py.
"""

from __future__ import annotations

import numpy as np

from ..colours import looks
from ..errors import CannotDo
from ..fill_score import fill_score
from ..phrases import parse
from ..verify import inverted, mask_origin, verify_run
from .base import Check

CHANGED = 12.0  # mean abs difference (0-255) at which a pixel counts as changed
COLOUR_SHARE = 0.6
FILL_SCORE = 0.45
GRAIN_RATIO = 0.6  # fine grain inside a fill vs around it (min/max)
OUTLINE_RATIO = 2.0  # edge across the fill's border vs across a parallel line farther out
STREAKS = 0.7  # edges inside a fill lying along radii from its centre (2/π ≈ 0.64: no preference)
SMEAR_CAP = 5.0  # the quality score of a removal that left a smear or an outline


def _changed(source: np.ndarray, edited: np.ndarray) -> np.ndarray:
    return np.abs(edited.astype(np.int16) - source.astype(np.int16)).mean(axis=2) > CHANGED


def _facts(source: np.ndarray, cache: dict):
    from ..grounding import Facts

    if "facts" not in cache:
        cache["facts"] = Facts(source)
    return cache["facts"]


def _people(facts) -> np.ndarray:
    from ..subject import people_and_what_they_hold

    try:
        return people_and_what_they_hold(facts)
    except CannotDo:
        return np.zeros(facts.shape, bool)


def colour_coverage(step, source, edited, run, cache: dict) -> Check | None:
    """For a step whose target was named by colour and what it belongs to."""
    origin = mask_origin(run.workflow, step)
    if origin is None or origin[0] != "RES":
        return None
    prompt = str(origin[1].inputs.get("prompt") or "")
    q = parse(prompt)
    part = q.parts or q.owner or "clothes" in q.categories or (q.unknown and not q.categories)
    if not q.colours or not part or q.shapes or q.positions or q.size:
        return None
    facts = _facts(source, cache)
    if q.parts:
        scope = np.ones(facts.shape, bool)
    else:  # a person's (her suit), or a thing's (the blue car): on people if any, else anywhere
        people = _people(facts)
        scope = people if (q.owner or "clothes" in q.categories) and people.any() else np.ones(facts.shape, bool)
    named = np.any([looks(source, c, shade) for shade, c in q.colours], axis=0) & scope
    if named.sum() < 50:
        return None
    share = float(_changed(source, edited)[named].mean())
    colours = " / ".join(c for _, c in q.colours)
    return Check(f"step {step.number} ({step.brick}) changed the {colours} pixels '{prompt}' names", "semantic",
                 share >= COLOUR_SHARE, share, f">= {COLOUR_SHARE:.0%} of the {colours} pixels there",
                 fix="expand the mask")


def subject_kept(step, source, edited, mask, run, cache: dict) -> list[Check]:
    """For an edit of the background (a mask that is SOS's subject inverted)."""
    origin = mask_origin(run.workflow, step)
    if origin is None or origin[0] != "SOS" or mask is None:
        return []
    from ..subject import salient_object

    facts = _facts(source, cache)
    people = _people(facts)
    independent = people if people.mean() > 0.03 else salient_object(source)
    if not independent.any():
        return []
    if not inverted(run.workflow, step):  # the subject itself was edited: nothing here to keep
        return []
    hit = float(mask[independent].mean())
    checks = [Check(f"step {step.number} ({step.brick}) left the subject alone", "semantic", hit <= 0.15, hit,
                    "<= 15% of the independently found subject inside the edited area")]
    return checks


def fill_quality(step, edited, mask) -> Check:
    score = fill_score(edited, mask)
    return Check(f"step {step.number} ({step.brick}) filled area matches its surroundings", "quality",
                 score >= FILL_SCORE, score, f">= {FILL_SCORE:g} fill score (texture and colour of the ring)")


def _grey(img: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(img[..., :3], cv2.COLOR_RGB2GRAY).astype(np.float32)


def _signed_distance(mask: np.ndarray) -> np.ndarray:
    """Distance to the mask's border, positive outside, negative inside."""
    import cv2

    return (cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 3)
            - cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3))


def fill_grain(step, edited, mask) -> Check:
    """Fine grain (what a 1.5-px blur takes away) deep inside the fill vs in the ring around it:
    a diffusion fill on a grainy surface (a tray, a jacket, a wooden table) is a smooth patch
    a person sees at once, even when its colour and coarse gradients match."""
    import cv2

    grey = _grey(edited)
    fine = np.abs(grey - cv2.GaussianBlur(grey, (0, 0), 1.5))
    ys, xs = np.nonzero(mask)
    size = int(max(np.ptp(ys), np.ptp(xs))) + 1
    d = _signed_distance(mask)
    inside, around = d < -3, (d > 4) & (d <= max(8, size // 3))
    name = f"step {step.number} ({step.brick}) fill has the grain of its surroundings"
    if inside.sum() < 20 or around.sum() < 20:
        return Check(name, "quality", True, None, "no room to compare")
    a, b = float(fine[inside].mean()) + 0.5, float(fine[around].mean()) + 0.5
    ratio = min(a, b) / max(a, b)
    return Check(name, "quality", ratio >= GRAIN_RATIO, ratio, f">= {GRAIN_RATIO:g} (min/max of fine grain inside and "
                 "around)", cap=SMEAR_CAP)


def fill_streaks(step, edited, mask) -> Check:
    """A diffusion fill (Telea) carries the border's colours inwards along straight lines, so
    its edges radiate from the hole's centre (wedges, a starburst); a fill that continues its
    surroundings has edges at any angle to the radius. Measured as the strength-weighted mean
    |cos| between each gradient inside the fill and the tangent of the circle around the
    centre: 2/π ≈ 0.64 for no preference, 1 for pure wedges."""
    import cv2

    grey = cv2.GaussianBlur(_grey(edited), (0, 0), 1.0)
    gx, gy = cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1)
    ys, xs = np.nonzero(mask)
    inside = _signed_distance(mask) < -3
    yy, xx = np.nonzero(inside)
    ry, rx = yy - ys.mean(), xx - xs.mean()
    radius = np.hypot(ry, rx) + 1e-6
    gyy, gxx = gy[inside], gx[inside]
    strength = np.hypot(gxx, gyy) * (radius > 4)
    name = f"step {step.number} ({step.brick}) fill has no streaks radiating from its centre"
    if strength.sum() < 1e-3 or len(yy) < 50:
        return Check(name, "quality", True, None, "nothing to measure")
    along = np.abs(-gxx * ry / radius + gyy * rx / radius) / (np.hypot(gxx, gyy) + 1e-6)
    value = float((along * strength).sum() / strength.sum())
    return Check(name, "quality", value < STREAKS, value, f"< {STREAKS:g} (0.64: edges at any angle)", cap=SMEAR_CAP)


def outline_left(step, edited, mask, grain: float | None) -> Check:
    """The object's outline left along the fill's border (a coin's bright rim, a clock's halo):
    the edge across the border (gradient along its normal) against the edge across a parallel
    line 6–12 px farther out. A fill that continues a tiled background exactly may put tile edges
    on the border, so an outline counts only where the grain also differs (< 0.9)."""
    import cv2

    grey = _grey(edited)
    gx, gy = cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1)
    d = _signed_distance(mask)
    smooth = cv2.GaussianBlur(d.astype(np.float32), (0, 0), 2)
    nx, ny = cv2.Sobel(smooth, cv2.CV_32F, 1, 0), cv2.Sobel(smooth, cv2.CV_32F, 0, 1)
    across = np.abs(gx * nx + gy * ny) / (np.hypot(nx, ny) + 1e-6)
    border, farther = np.abs(d) <= 2, (d > 6) & (d <= 12)
    name = f"step {step.number} ({step.brick}) left no outline of the object"
    if border.sum() < 20 or farther.sum() < 20:
        return Check(name, "quality", True, None, "no room to compare")
    ratio = float(across[border].mean()) / max(float(across[farther].mean()), 2.0)
    ok = ratio <= OUTLINE_RATIO or (grain is not None and grain >= 0.9)
    return Check(name, "quality", ok, ratio, f"<= {OUTLINE_RATIO:g}× the edge across a line farther out (unless the "
                 "grain matches)", fix="expand the mask")


def verification(run, instruction: str, source, registry) -> list[Check]:
    """The stand-in checks, as critic checks; "unverified" ones pass but cap the score."""
    checks = []
    for v in verify_run(run, instruction, source, registry):
        if v.status == "grounded":
            continue
        checks.append(Check(f"target of step {v.step}: '{v.target}'" if v.status != "unverified"
                            else f"target not verified: '{v.target}'", "semantic", v.status != "mismatch", None,
                            "the region looks like the words", v.reason))
    return checks


def smear(checks: list[Check]) -> Check | None:
    """The first failed removal check that says the fill is a smear or left the outline."""
    return next((c for c in checks if not c.passed and c.cap == SMEAR_CAP), None)


def unverified(check: Check) -> bool:
    """A check that says the target could not be confirmed (the semantic score is capped)."""
    return "not verified" in check.name


def structure_kept(source: np.ndarray, edited: np.ndarray) -> Check:
    """A style must still show the picture: where the original has its edges, the styled one
    has edges too (a pencil sketch inverts light and dark areas, but keeps the contours)."""
    import cv2

    def edges(img):
        grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
        grad = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
        return cv2.resize(grad, (48, 48), interpolation=cv2.INTER_AREA).ravel()

    a, b = edges(source), edges(edited)
    r = float(np.corrcoef(a, b)[0, 1]) if a.std() > 1e-3 and b.std() > 1e-3 else 0.0
    return Check("the styled picture keeps the original's contours", "quality", r >= 0.3, r,
                 ">= 0.3 correlation of 48×48 edge strength")

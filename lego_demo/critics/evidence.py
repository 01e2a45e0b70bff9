"""Checks against evidence the plan did not produce: the offline critic must not grade an edit
by the same mask that made it.

- a colour-named target ("her orange suit", "the red parts"): of the pixels a person would
  call that colour where the words say (on the person, in the whole image), the share that
  changed — a recolour of one shoulder patch fails it;
- a background edit: the subject, found independently (the person model, else a saliency
  GrabCut that is not SOS's method), is left alone;
- a removal: the filled area continues its surroundings (FASTINPAINT's fill score);
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

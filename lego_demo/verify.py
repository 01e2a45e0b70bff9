"""Did an edit change the thing the instruction named? The one place the Editor and the
critics ask.

A step's mask is *grounded* when it was found by name (RES with a phrase, the user's own mask)
or when the words name what SOS finds (the subject, the background). When SOS stands in for a
named target ("the red circle" after "don't use RES"), the region is checked against what the
words say and pixels can show: colour, shape, position, person, face, sky, text. A region that
contradicts the words is a *mismatch* (the Editor declines, saying why); words nothing here can
measure ("the cat") leave it *unverified* (said in the result, and the critic's semantic
score stays ≤ 6).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .colours import looks
from .errors import CannotDo, Declined
from .phrases import parse
from .regions import Region, classify_shape
from .workflow import Ref

STAND_INS = {"SOS"}  # predictors that find "the main thing" without being told what
PASS_THROUGH = {"GROW": ("mask",), "RESIZE": ("mask1", "mask"), "BBOX": ("mask",), "INVERSE": ("mask2",),
                "COMPOSE": ("mask1", "mask2")}
SUBJECT_WORDS = {"background", "foreground"}
UNVERIFIED_CAP = 6.0
SUBJECT_AGREE = 0.7  # IoU of SOS's subject with an independent finder's, to trust it  # the critic's semantic score when the target could not be checked


@dataclass
class Verdict:
    step: int  # the edit step whose mask was checked
    target: str  # the words it stands for
    status: str  # "grounded", "matches", "mismatch" or "unverified"
    reason: str

    def to_json(self) -> dict:
        return asdict(self)


def instruction_targets(instruction: str) -> list[str]:
    """The target phrases an instruction names (one per clause that has one)."""
    from .builders.rule import read  # the one English reader there is

    return [i.target for i in read(instruction or "").intents if i.target and i.where in ("res", "sos")]


def mask_origin(workflow, step) -> tuple[str, object] | None:
    """Where an edit step's mask comes from: ("RES", step), ("SOS", step), ("init", None) or
    ("other", step), following mask-only steps (GROW, INVERSE, …) back."""
    ref = step.inputs.get("mask")
    seen: set[int] = set()
    while isinstance(ref, Ref):
        if ref.step is None:
            return ("init", None)
        if ref.step in seen:
            return None
        seen.add(ref.step)
        source = workflow.step(ref.step)
        if source is None:
            return None
        if source.brick in ("RES", "MASK-SEG") or source.brick in STAND_INS:
            return (source.brick if source.brick != "MASK-SEG" else "init", source)
        nxt = next((source.inputs.get(n) for n in PASS_THROUGH.get(source.brick, ()) if isinstance(source.inputs.get(n), Ref)), None)
        if nxt is None:
            return ("other", source)
        ref = nxt
    return None


def inverted(workflow, step) -> bool:
    """Whether the step's mask passes through INVERSE on its way from the predictor (the
    background of SOS's subject)."""
    ref, seen = step.inputs.get("mask"), set()
    while isinstance(ref, Ref) and ref.step is not None and ref.step not in seen:
        seen.add(ref.step)
        source = workflow.step(ref.step)
        if source is None:
            return False
        if source.brick == "INVERSE":
            return True
        ref = next((source.inputs.get(n) for n in PASS_THROUGH.get(source.brick, ()) if isinstance(source.inputs.get(n), Ref)), None)
    return False


def check_region(image: np.ndarray, mask: np.ndarray, phrase: str) -> tuple[str, str]:
    """("matches" | "mismatch" | "unverified", why) for a region said to be `phrase`."""
    from .grounding import Facts

    q = parse(phrase)
    if not mask.any():
        return "mismatch", f"nothing was selected for '{phrase}'"
    facts = Facts(image)
    region = Region.of(mask)
    failed, passed = [], []
    for shade, colour in q.colours:
        share = float(looks(facts.image, colour, shade)[mask].mean())
        (passed if share >= 0.4 else failed).append(f"{share:.0%} of it looks {colour}")
    if q.shapes:
        found = classify_shape(region.crop)
        ok = found in q.shapes or (found == "square" and "rectangle" in q.shapes)
        (passed if ok else failed).append(f"its shape reads as {found or 'no simple shape'}")
    h, w = facts.shape
    cx, cy = region.centroid[0] / w, region.centroid[1] / h
    for pos in q.positions:
        ok = {"left": cx < 0.5, "right": cx > 0.5, "top": cy < 0.5, "bottom": cy > 0.5,
              "middle": abs(cx - 0.5) < 0.25 and abs(cy - 0.5) < 0.25}[pos]
        (passed if ok else failed).append(f"its centre is at {cx:.0%} across, {cy:.0%} down")
    for category in q.categories:
        truth = _category(facts, category)
        if truth is None:
            return "unverified", f"'{category}' cannot be checked offline here"
        share = float(truth[mask].mean())  # how much of the region is the category
        cover = float(mask[truth].mean()) if truth.any() else 0.0  # how much of the category it holds
        ok = share >= 0.7 and cover >= 0.5
        (passed if ok else failed).append(f"{share:.0%} of it is {category}, holding {cover:.0%} of the {category}")
    if failed:
        return "mismatch", f"the region does not look like '{phrase}': " + "; ".join(failed)
    if not passed:
        return "unverified", f"nothing in '{phrase}' can be measured offline"
    if q.unknown:
        return "unverified", ("; ".join(passed) + f", but {', '.join(repr(u) for u in q.unknown)} cannot be "
                              "checked offline")
    return "matches", "; ".join(passed)


def _category(facts, category: str) -> np.ndarray | None:
    from . import parts, scene

    try:
        if category == "person":
            return facts.person
        if category == "face":
            faces = facts.face_masks()
            return np.any(faces, axis=0) if faces else np.zeros(facts.shape, bool)
        if category == "sky":
            return scene.sky(facts)
        if category in ("text", "title"):
            return np.any(facts.text, axis=0) if facts.text else np.zeros(facts.shape, bool)
        if category == "hair":
            return parts.hair(facts)
        if category == "skin":
            return facts.skin
        if category == "clothes":
            return parts.clothes(facts)
    except CannotDo:  # the detector found none: the region cannot be it
        return np.zeros(facts.shape, bool)
    return None


def verify_run(run, instruction: str, image: np.ndarray, registry=None, memo: dict | None = None) -> list[Verdict]:
    """A verdict for every edit step whose mask stands in for a named target. `memo` (owned by
    the caller) keeps subject verdicts by the SOS step's cache key, so a re-plan that reuses the
    step does not measure its subject again."""
    targets = instruction_targets(instruction)
    verdicts: list[Verdict] = []
    for step in run.workflow.steps:
        spec = registry.resolve(step.brick) if registry is not None else None
        if spec is not None and spec.kind != "edit":
            continue
        origin = mask_origin(run.workflow, step)
        if origin is not None and origin[0] == "RES":
            guess = _offline_guess(run, origin[1])
            if guess:
                verdicts.append(Verdict(step.number, str(origin[1].inputs.get("prompt")), "unverified", guess))
            continue
        if origin is None or origin[0] != "SOS":
            continue
        named = [t for t in targets if not SUBJECT_WORDS & set(t.lower().split())]
        source, ref = origin[1], step.inputs.get("mask")
        if not named:
            found = run.values.get(source.number, {}).get("mask")
            if found is not None and found.shape == image.shape[:2]:
                key = next((t.key for t in run.trace if t.step == source.number), None)
                if memo is not None and key in memo:
                    v = memo[key]
                    verdicts.append(Verdict(step.number, v.target, v.status, v.reason))
                    continue
                verdict = _subject_verdict(step.number, source.number, image, found)
                if memo is not None and key is not None:
                    if len(memo) > 256:
                        memo.clear()
                    memo[key] = verdict
                verdicts.append(verdict)
            continue
        region = run.values.get(ref.step, {}).get(ref.name) if isinstance(ref, Ref) and ref.step else None
        if region is None or region.shape != image.shape[:2]:
            continue
        results = [(t, *check_region(image, region, t)) for t in named]
        best = next((r for r in results if r[1] == "matches"), None) or \
            next((r for r in results if r[1] == "unverified"), None) or results[0]
        reason = f"step {source.number} (SOS) stands in for '{best[0]}': {best[2]}"
        verdicts.append(Verdict(step.number, best[0], best[1], reason))
    return verdicts


def _offline_guess(run, res_step) -> str | None:
    """Why a RES step's mask is only partly grounded: the offline engine takes one noun it
    cannot recognise ("the red cup") on trust, finding the colour on the main subject."""
    engine = next((t for t in run.trace if t.step == res_step.number), None)
    if engine is None or engine.engine_kind != "classical":
        return None  # a model engine grounded the words itself
    prompt = str(res_step.inputs.get("prompt") or "")
    q = parse(prompt)
    if not q.unknown or not q.colours:
        return None
    words = ", ".join(repr(u) for u in q.unknown)
    return (f"step {res_step.number} (RES, offline) found the {' / '.join(c for _, c in q.colours)} regions of the main "
            f"subject for '{prompt}'; {words} cannot be checked offline")


def _subject_verdict(step: int, sos_step: int, image: np.ndarray, found: np.ndarray) -> Verdict:
    """SOS's subject against an independent finder (the person model, else a saliency
    GrabCut): when they disagree, nobody knows where the subject ends."""
    from .grounding import Facts
    from .metrics import iou
    from .subject import people_and_what_they_hold, salient_object

    try:
        people = people_and_what_they_hold(Facts(image))
    except CannotDo:
        people = np.zeros(image.shape[:2], bool)
    by, other = ("the person model", people) if people.mean() > 0.03 else ("a saliency GrabCut", salient_object(image))
    agree = iou(found, other)
    if agree >= SUBJECT_AGREE:
        return Verdict(step, "subject", "grounded", f"SOS and {by} agree on the subject (IoU {agree:.2f})")
    return Verdict(step, "subject", "mismatch", f"step {sos_step} (SOS) and {by} disagree about where the "
                   f"subject is (IoU {agree:.2f} < {SUBJECT_AGREE:g})")


def mismatch_error(verdicts: list[Verdict]) -> Declined | None:
    """The decline for the first region that contradicts its words, with the next step."""
    bad = next((v for v in verdicts if v.status == "mismatch"), None)
    if bad is None:
        return None
    by_name = "" if bad.target == "subject" else ", or allow RES to find it by name"
    return Declined(f"{bad.reason}. So the edit was not applied: paint over the {bad.target} and press "
                    f"Plan & run (CLI: --mask FILE){by_name}")


def notes(verdicts: list[Verdict]) -> list[str]:
    return [f"target not verified: {v.reason}" for v in verdicts if v.status == "unverified"]

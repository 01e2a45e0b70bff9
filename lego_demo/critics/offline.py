"""The offline critic: turns the plan into checks and measures them on the pixels.

Semantic checks ask whether the edit happened where it should (the target was found, the
colour is now the named one, the removed object is no longer found, the region changed).
Quality checks ask whether anything else was damaged (pixels outside the edited masks kept,
no seam at the mask border, no clipped colours). Each failure carries a fix in words a
Builder understands ("stronger", "expand the mask", …), which becomes the refinement.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..colours import parse_colour
from ..errors import NotFound, StepError
from ..executor import Executor
from ..imaging import rgb
from ..lazy import lazy
from ..metrics import iou, psnr
from ..registry import Registry
from ..verify import UNVERIFIED_CAP
from ..workflow import Ref, Step
from . import evidence
from .base import Check, Critique

cv2 = lazy("cv2")
spatial = lazy("scipy.spatial")  # ~0.3 s to import: only when a check needs it

REMOVAL = {"INPAINT", "FASTINPAINT"}
MONOCHROME = re.compile(r"black[\s-]*(?:and|&)[\s-]*white|\bgr[ae]y(?:scale)?\b|monochrome|\bb\s*&\s*w\b", re.I)
CHANGES = {"CBG": 10.0, "STYLE": 8.0, "ENV": 6.0, "POSE": 6.0, "FILL": 6.0, "TONE": 4.0, "BRIGHT": 4.0}
KEEP_PSNR_DB = 40.0
OUTSIDE_CAP = 6.0  # damage outside the edited area is never a good edit, however many checks pass
HUE_TOLERANCE_DEG = 20.0
LIGHTNESS_TOLERANCE = 35.0  # on OpenCV's 8-bit L scale (0-255), i.e. about 14 L*
REMNANT_DELTA_E = 18.0  # a colour this far from every colour of the farther band is "not background"
REMNANT_SHARE = 0.35


def _hue_deg(lab_a: float, lab_b: float) -> float:
    return float(np.degrees(np.arctan2(lab_b, lab_a)) % 360)


def _lab(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb(image), cv2.COLOR_RGB2LAB).astype(np.float32) - np.array([0, 128, 128], np.float32)


def _ring(mask: np.ndarray, width: int) -> np.ndarray:
    k = np.ones((2 * width + 1, 2 * width + 1), np.uint8)
    return cv2.dilate(mask.astype(np.uint8), k).astype(bool) & ~mask


class OfflineCritic:
    name = "offline"

    def __init__(self, registry: Registry, executor: Executor | None = None):
        self.registry = registry
        # finders re-run through the Executor: the configured engine, its options, the model
        # manager and the step cache, exactly as in the edit itself
        self.executor = executor or Executor(registry)

    def critique(self, source, edited, instruction, plan=None, run=None) -> Critique:
        source, edited = rgb(source), rgb(edited)
        checks: list[Check] = []
        same_size = source.shape == edited.shape
        masks: list[np.ndarray] = []
        all_masked = True
        seen: dict = {"models": self.executor.models}  # analyses of the source shared by the evidence checks
        if run is not None:
            if same_size:
                checks.extend(evidence.verification(run, instruction, source, self.registry, seen))
            drafts = self._drafts(run.workflow)
            for step in run.workflow.steps:
                spec = self.registry.resolve(step.brick)
                if spec is None or spec.kind != "edit" or step.number in drafts:
                    continue
                mask = self._value(run, step.inputs.get("mask"))
                if spec.keeps_mask and isinstance(mask, np.ndarray):
                    mask = ~mask  # what it edited is everything but the mask (COLORPOP)
                if mask is None or not same_size or mask.shape != source.shape[:2]:
                    all_masked = False
                    mask = None
                else:
                    masks.append(mask)
                    checks.append(self._target_found(step, mask))
                own, judged = self._as_left(run, step, edited, mask)
                checks.extend(self._brick_checks(step, spec.name, source, own, judged, run))
                if same_size:
                    checks.extend(self._evidence(step, spec.name, source, own, judged, run, seen))
        if same_size:
            changed = float(np.abs(edited.astype(np.int16) - source.astype(np.int16)).mean())
            checks.append(Check("the image changed", "semantic", changed > 0.5, changed, "> 0.5 mean abs diff",
                                fix="stronger"))
            if masks and all_masked:
                union = np.logical_or.reduce(masks)
                keep = psnr(source, edited, ~union) if (~union).any() else float("inf")
                checks.append(Check("pixels outside the edited area kept", "quality", keep >= KEEP_PSNR_DB,
                                    min(keep, 99.0), f">= {KEEP_PSNR_DB:g} dB PSNR", cap=OUTSIDE_CAP))
                checks.append(self._seam(source, edited, union))
            styled = run is not None and any(s.brick in ("STYLE", "FLUX-STYLE") for s in run.workflow.steps)
            if styled:  # a pencil sketch's white paper or a noir's black is the style, not damage
                checks.append(evidence.structure_kept(source, edited))
            else:
                checks.append(self._clipping(source, edited))
        return self._score(instruction, checks)

    # -- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _evidence(step, brick, source, edited, mask, run, seen) -> list[Check]:
        """Checks against evidence the plan did not produce (critics/evidence.py)."""
        out = []
        colour = evidence.colour_coverage(step, source, edited, run, seen)
        if colour is not None:
            out.append(colour)
        out.extend(evidence.subject_kept(step, source, edited, mask, run, seen))
        if brick in REMOVAL and mask is not None and mask.shape == edited.shape[:2] and mask.any():
            out.append(evidence.fill_quality(step, edited, mask))
            grain = evidence.fill_grain(step, edited, mask)
            out += [grain, evidence.fill_streaks(step, edited, mask), evidence.outline_left(step, edited, mask, grain.value)]
        return out

    @staticmethod
    def _drafts(workflow) -> set[int]:
        """Steps whose output is only a draft for another step (FASTINPAINT's pre-inpaint
        image feeding INPAINT's `preimage`): the later step is judged instead."""
        uses: dict[int, set[str]] = {}
        for s in workflow.steps:
            for name, ref in s.refs():
                if ref.step is not None:
                    uses.setdefault(ref.step, set()).add(name)
        for ref in workflow.result:
            if isinstance(ref, Ref) and ref.step is not None:
                uses.setdefault(ref.step, set()).add("result")
        return {n for n, names in uses.items() if names <= {"preimage", "score"}}

    @staticmethod
    def _value(run, ref) -> Any:
        if not isinstance(ref, Ref) or ref.step is None:
            return None
        return run.values.get(ref.step, {}).get(ref.name)

    def _as_left(self, run, step, edited: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        """The image to judge this step on and the part of its mask to judge there. A step whose
        output is the result is judged on the image given; one that later steps edited further
        (a removal FILL then paints an apple over) on its own output, or, when the run kept only
        a preview of that, on the image given outside the areas later steps edited (masks are
        always kept at full size)."""
        if mask is None or any(isinstance(r, Ref) and r.step == step.number for r in run.workflow.result):
            return edited, mask  # its output is the result: judge the image given
        own = run.values.get(step.number, {}).get("image")
        if isinstance(own, np.ndarray) and own.shape[:2] == edited.shape[:2]:
            return rgb(own), mask
        later = [self._value(run, s.inputs.get("mask")) for s in run.workflow.steps if s.number > step.number
                 and (spec := self.registry.resolve(s.brick)) is not None and spec.kind == "edit"]
        covered = [m for m in later if isinstance(m, np.ndarray) and m.shape == mask.shape]
        return edited, (mask & ~np.logical_or.reduce(covered)) if covered else mask

    @staticmethod
    def _target_found(step: Step, mask: np.ndarray) -> Check:
        area = float(mask.mean())
        ok = 0.0005 <= area <= 0.95
        detail = "nothing was selected" if area < 0.0005 else ("almost everything was selected" if area > 0.95 else "")
        return Check(f"step {step.number} ({step.brick}) has a plausible target", "semantic", ok, area,
                     "0.05%–95% of the image", detail)

    def _brick_checks(self, step, brick, source, edited, mask, run) -> list[Check]:
        if mask is not None and brick == "RCM":
            return self._colour(step, edited, mask)
        if mask is not None and brick in REMOVAL:
            return self._removal(step, source, edited, mask, run)
        if brick == "CBG" and mask is not None and MONOCHROME.search(str(step.inputs.get("prompt") or "")):
            chroma = float(np.hypot(*_lab(edited)[mask][:, 1:].T).mean())
            return [Check(f"step {step.number} (CBG) background has no colour left", "semantic", chroma <= 5.0, chroma,
                          "<= 5 mean Lab chroma in the area")]
        if brick in CHANGES and source.shape == edited.shape:
            where = mask if mask is not None else np.ones(source.shape[:2], bool)
            diff = float(np.abs(edited.astype(np.int16) - source.astype(np.int16))[where].mean()) if where.any() else 0.0
            need = CHANGES[brick]
            return [Check(f"step {step.number} ({brick}) visibly changed its area", "semantic", diff >= need, diff,
                          f">= {need:g} mean abs diff", fix="stronger")]
        return []

    def _colour(self, step, edited, mask) -> list[Check]:
        prompt = str(step.inputs.get("prompt") or "")
        named = parse_colour(prompt)  # the recolour brick's own colour table
        if named is None:
            return [Check(f"step {step.number} (RCM) colour", "semantic", True, None, "a named colour",
                          f"'{prompt}' names no colour the critic can measure (a material?)")]
        lab = _lab(edited)[mask]
        want = _lab(np.array([[named.rgb]], np.uint8))[0, 0]
        a, b = float(lab[:, 1].mean()), float(lab[:, 2].mean())
        light_err = abs(float(lab[:, 0].mean()) - float(want[0]))
        chroma_want = float(np.hypot(want[1], want[2]))
        if chroma_want < 12:  # white, black, grey: judge lightness and lack of colour
            ok = light_err <= LIGHTNESS_TOLERANCE and np.hypot(a, b) <= 20
            return [Check(f"step {step.number} (RCM) lightness near '{prompt}'", "semantic", ok, light_err,
                          f"<= {LIGHTNESS_TOLERANCE:g} (8-bit L) and no colour", fix="stronger")]
        err = abs((_hue_deg(a, b) - _hue_deg(want[1], want[2]) + 180) % 360 - 180)
        chroma = float(np.hypot(a, b))
        ok = err <= HUE_TOLERANCE_DEG and chroma >= 0.35 * chroma_want
        return [
            Check(f"step {step.number} (RCM) hue near '{prompt}'", "semantic", ok, err,
                  f"<= {HUE_TOLERANCE_DEG:g}° and chroma >= 35% of the target's",
                  f"chroma {chroma:.0f} vs {chroma_want:.0f}", fix="stronger"),
            # a blue object recoloured 'yellow' that keeps its dark shading reads as mustard
            Check(f"step {step.number} (RCM) lightness near '{prompt}'", "semantic",
                  light_err <= LIGHTNESS_TOLERANCE, light_err, f"<= {LIGHTNESS_TOLERANCE:g} (8-bit L) from the named colour",
                  fix="stronger"),
        ]

    def _removal(self, step, source, edited, mask, run) -> list[Check]:
        checks = [self._remnants(step, edited, mask)]
        finder = self._finder(run, step)
        if finder is not None:
            spec, prompt, old = finder
            name = f"'{prompt}' is no longer found where it was"
            try:
                again = self.executor.run_brick(spec.name, edited, {"prompt": prompt}, ("mask",))["mask"]
            except StepError as exc:
                if not isinstance(exc.cause, NotFound):  # could not look: the removal is not verified
                    checks.append(Check(name, "semantic", False, None, "< 0.3 IoU with the removed mask",
                                        f"not verified: {exc.cause}"))
                    return checks
                again = np.zeros_like(mask)  # looked, and nothing matching the phrase is there any more
            overlap = iou(again & mask, old)
            checks.append(Check(name, "semantic", overlap < 0.3, overlap, "< 0.3 IoU with the removed mask",
                                fix="expand the mask"))
        return checks

    @staticmethod
    def _remnants(step, edited, mask) -> Check:
        """Did the mask miss part of the object (an outline, a shadow, a rim)? Just outside a
        good mask lies background like the background a little farther out; remnants are
        colours that the farther band does not have. Judged per direction, since a shadow
        falls on one side."""
        side = max(mask.shape)
        inner = _ring(mask, max(3, int(0.008 * side)))
        far = _ring(mask, int(0.05 * side)) & ~_ring(mask, int(0.03 * side))
        name = f"step {step.number} ({step.brick}) left nothing of the object around its mask"
        if inner.sum() < 20 or far.sum() < 20:
            return Check(name, "semantic", True, None, "no surroundings to compare")
        lab = _lab(edited)
        ys, xs = np.nonzero(mask)
        yy, xx = np.mgrid[0 : mask.shape[0], 0 : mask.shape[1]]
        direction = ((np.arctan2(yy - ys.mean(), xx - xs.mean()) + np.pi) / (2 * np.pi) * 8).astype(int) % 8
        worst = 0.0
        for k in range(8):  # each direction against the background farther out in that direction
            near, away = inner & (direction == k), far & (direction == k)
            if near.sum() < 10 or away.sum() < 10:
                continue
            distance, _ = spatial.cKDTree(lab[away][:: max(1, int(away.sum()) // 2000)]).query(lab[near], k=1)
            worst = max(worst, float((distance > REMNANT_DELTA_E).mean()))
        return Check(name, "semantic", worst <= REMNANT_SHARE, worst,
                     f"<= {REMNANT_SHARE:g} of the band just outside (any direction) in colours not seen farther out",
                     fix="expand the mask")

    def _finder(self, run, step):
        """The RES step whose mask this removal used (directly or through mask steps)."""
        ref = step.inputs.get("mask")
        seen = set()
        while isinstance(ref, Ref) and ref.step is not None and ref.step not in seen:
            seen.add(ref.step)
            source = run.workflow.step(ref.step)
            if source is None:
                return None
            if source.brick == "RES" and isinstance(source.inputs.get("prompt"), str):
                return self.registry.get("RES"), source.inputs["prompt"], run.values[source.number]["mask"]
            ref = source.inputs.get("mask") or source.inputs.get("mask2")
        return None

    @staticmethod
    def _seam(source, edited, mask) -> Check:
        border = _ring(mask, 1) | (mask & ~cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool))

        def grad(img):
            g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
            return np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))

        if not border.any():
            return Check("no seam at the mask border", "quality", True, 0.0, "border gradient ≤ 2× the source's")
        before, after = float(grad(source)[border].mean()), float(grad(edited)[border].mean())
        ratio = after / max(before, 8.0)
        return Check("no seam at the mask border", "quality", ratio <= 2.0, ratio, "border gradient ≤ 2× the source's")

    @staticmethod
    def _clipping(source, edited) -> Check:
        def clipped(img):
            return float(((img == 0) | (img == 255)).all(axis=2).mean())

        more = clipped(edited) - clipped(source)
        return Check("no newly clipped colours", "quality", more <= 0.05, more, "≤ 5% more pixels at 0 or 255")

    @staticmethod
    def _score(instruction: str, checks: list[Check]) -> Critique:
        def score(kind: str) -> float:
            mine = [c for c in checks if c.kind == kind]
            value = 10.0 * sum(c.passed for c in mine) / len(mine) if mine else 5.0
            if kind == "semantic" and any(evidence.unverified(c) for c in checks):
                value = min(value, UNVERIFIED_CAP)  # an unconfirmed target is never a clear success
            caps = [c.cap for c in mine if not c.passed and c.cap is not None]
            return min([value, *caps])

        failed = [c for c in checks if not c.passed]
        fixes = list(dict.fromkeys(c.fix for c in failed if c.fix))
        lines = [c.line() for c in checks] or ["nothing measurable: no step of this plan has an offline check"]
        if failed:
            lines.append("refine: " + (", ".join(fixes) if fixes else "no refinement known for what failed"))
        refined = f"{instruction} ({'; '.join(fixes)})" if fixes else None
        return Critique(score("semantic"), score("quality"), "\n".join(lines), refined, fixes, checks)

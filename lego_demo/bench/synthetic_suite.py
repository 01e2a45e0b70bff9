"""Synthetic scenes with exact ground truth: each edit category with an objective check.

Every case is a real `Editor.edit` (offline Builder + whatever engines run here) on a
procedural scene; the check compares the result with the scene's truth. A case whose plan
is declined, or whose engine cannot do it here, counts as unsupported, not as a success.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from skimage.metrics import structural_similarity

from ..errors import CannotDo, Declined, LegoError
from ..imaging import rgb
from ..metrics import iou, psnr
from ..synthetic import BACKGROUNDS, COLOURS, SHAPES, Scene, make_scene
from .common import percentile

RECOLOURS = ("red", "green", "blue", "yellow", "purple", "orange")


@dataclass
class Case:
    category: str
    instruction: str
    scene: Scene
    check: Callable[[Scene, list[np.ndarray]], tuple[bool, str]]


def _lab_hue(pixels: np.ndarray) -> float:
    lab = cv2.cvtColor(pixels.reshape(-1, 1, 3), cv2.COLOR_RGB2LAB).astype(np.float32).reshape(-1, 3) - [0, 128, 128]
    return float(np.degrees(np.arctan2(lab[:, 2].mean(), lab[:, 1].mean())) % 360)


def _hue_error(result: np.ndarray, mask: np.ndarray, colour: str) -> float:
    want = _lab_hue(np.array([COLOURS[colour]], np.uint8))
    return abs((_lab_hue(result[mask]) - want + 180) % 360 - 180)


def _luma(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb(img), cv2.COLOR_RGB2GRAY)


def _dilate(mask: np.ndarray, px: int) -> np.ndarray:
    return cv2.dilate(mask.astype(np.uint8), np.ones((2 * px + 1, 2 * px + 1), np.uint8)).astype(bool)


# -- checks (stated in the report) --------------------------------------------------------------
CHECKS = {
    "remove": "PSNR inside the object's mask vs the true background >= 24 dB, and outside the mask dilated by 2% >= 40 dB",
    "recolor": "mean Lab hue inside the object within 15° of the named colour, luminance SSIM over the object (eroded by the 7 px SSIM window) >= 0.9, outside >= 40 dB",
    "background": "subject (mask eroded 2 px) kept >= 40 dB and background changed by >= 5 mean abs diff (textured backgrounds)",
    "extract": "result has transparency whose opaque area has IoU >= 0.9 with the object",
    "style": "mean abs change >= 10 and structure kept: SSIM of 1/8-scale luminance >= 0.4",
    "tone": "mean luminance moved >= 5 in the asked direction, SSIM of luminance >= 0.8",
    "text": "OCR of the result finds the requested word",
    "add": "the placed area is now the named colour (hue within 15°) and pixels far from it are kept >= 40 dB",
}


def check_remove(obj):
    def check(scene, results):
        out = rgb(results[0])
        inside = psnr(out, scene.background, obj.mask)
        keep = ~_dilate(obj.mask, max(2, int(0.02 * max(obj.mask.shape))))
        outside = psnr(out, scene.image, keep)
        return inside >= 24 and outside >= 40, f"inside {inside:.1f} dB, outside {min(outside, 99):.1f} dB", min(inside, 99.0)
    return check


def check_recolor(obj, colour):
    def check(scene, results):
        out = rgb(results[0])
        err = _hue_error(out, obj.mask, colour)
        _, ssim_map = structural_similarity(_luma(scene.image), _luma(out), data_range=255, full=True)
        core = cv2.erode(obj.mask.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
        ssim = float(ssim_map[core].mean()) if core.any() else 0.0
        outside = psnr(out, scene.image, ~_dilate(obj.mask, 2))
        return err <= 15 and ssim >= 0.9 and outside >= 40, f"hue error {err:.1f}°, SSIM {ssim:.3f}, outside {min(outside, 99):.1f} dB"
    return check


def check_background(obj):
    def check(scene, results):
        out = rgb(results[0])
        core = cv2.erode(obj.mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        kept = psnr(out, scene.image, core)
        far = ~_dilate(obj.mask, 6)
        changed = float(np.abs(out.astype(np.int16) - scene.image.astype(np.int16))[far].mean())
        return kept >= 40 and changed >= 5, f"subject {min(kept, 99):.1f} dB, background change {changed:.1f}"
    return check


def check_extract(obj):
    def check(scene, results):
        cut = next((r for r in results if r.ndim == 3 and r.shape[2] == 4), None)
        if cut is None:
            return False, "no result with transparency"
        score = iou(cut[..., 3] > 127, obj.mask)
        return score >= 0.9, f"IoU {score:.3f}"
    return check


def check_style(scene, results):
    out = rgb(results[0])
    if out.shape != scene.image.shape:
        return False, f"size changed to {out.shape[1]}×{out.shape[0]}"
    change = float(np.abs(out.astype(np.int16) - scene.image.astype(np.int16)).mean())
    small = lambda im: cv2.resize(_luma(im), None, fx=1 / 8, fy=1 / 8, interpolation=cv2.INTER_AREA)  # noqa: E731
    ssim = structural_similarity(small(scene.image), small(out), data_range=255)
    return change >= 10 and ssim >= 0.4, f"change {change:.1f}, coarse SSIM {ssim:.3f}"


def check_tone(direction):
    def check(scene, results):
        before, after = _luma(scene.image), _luma(results[0])
        moved = (float(after.mean()) - float(before.mean())) * direction
        ssim = structural_similarity(before, after, data_range=255)
        return moved >= 5 and ssim >= 0.8, f"moved {moved:.1f}, SSIM {ssim:.3f}"
    return check


@functools.lru_cache(maxsize=1)
def _ocr():
    from rapidocr import RapidOCR

    return RapidOCR()


def check_text(word):
    def check(scene, results):
        found = _ocr()(np.ascontiguousarray(rgb(results[0])))
        texts = [str(t).upper() for t in (getattr(found, "txts", None) or ())]
        return any(word in t for t in texts), f"OCR read {texts[:4]}"
    return check


def check_add(colour):
    def check(scene, results):
        out = rgb(results[0])
        changed = np.abs(out.astype(np.int16) - scene.image.astype(np.int16)).max(axis=2) > 30
        if changed.sum() < 50:
            return False, "nothing was added"
        err = _hue_error(out, changed, colour)
        outside = psnr(out, scene.image, ~_dilate(changed, 4))
        return err <= 15 and outside >= 40, f"hue error {err:.1f}°, outside {min(outside, 99):.1f} dB, area {changed.mean():.3f}"
    return check


def cases(seeds: list[int], sizes: list[tuple[int, int]]) -> list[Case]:
    out: list[Case] = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        for w, h in sizes:
            bg = BACKGROUNDS[seed % len(BACKGROUNDS)]
            scene = make_scene(w, h, background_kind=bg, seed=seed)
            obj = scene.objects[int(rng.integers(len(scene.objects)))]
            out.append(Case("remove", f"remove the {obj.colour} {obj.shape}", scene, check_remove(obj)))
            new = next(c for c in rng.permutation(RECOLOURS) if c != obj.colour)
            out.append(Case("recolor", f"make the {obj.colour} {obj.shape} {new}", scene, check_recolor(obj, str(new))))
            out.append(Case("extract", f"cut out the {obj.colour} {obj.shape}", scene, check_extract(obj)))
            size = min(w, h) // 5
            textured = ("stripes", "tiles", "checker")[seed % 3]  # blurring a smooth gradient changes nothing
            single = make_scene(w, h, objects=[(obj.colour, SHAPES[seed % 3], (w // 2, h // 2), size)],
                                background_kind=textured, seed=seed)
            how = ["blur the background", "make the background white", "make the background black and white"][seed % 3]
            out.append(Case("background", how, single, check_background(single.objects[0])))
            style = ["turn it into a watercolor painting", "make it a pencil sketch", "make it look like pop art",
                     "give it an oil painting style"][seed % 4]
            out.append(Case("style", style, scene, check_style))
            direction = 1 if seed % 2 == 0 else -1
            out.append(Case("tone", "make it brighter" if direction > 0 else "make the image darker", scene,
                            check_tone(direction)))
            word = ["SALE", "HELLO", "OPEN"][seed % 3]
            out.append(Case("text", f'add the text "{word}"', scene, check_text(word)))
            colour = ["red", "blue", "yellow"][seed % 3]
            out.append(Case("add", f"add a {colour} circle on the left", scene, check_add(colour)))
    return out


def run(editor, quick: bool = False, judge=None) -> dict:
    """`judge`: an optional model critic; each supported case then also gets a VIEScore-style
    judged score (semantic, quality 0–10, overall = √(SC·PQ)) next to the objective check."""
    seeds = [0, 1, 2, 3] if quick else list(range(12))
    sizes = [(320, 240)] if quick else [(320, 240), (640, 480), (1024, 768)]
    results: dict[str, dict] = {}
    for case in cases(seeds, sizes):
        cat = results.setdefault(case.category, {"n": 0, "passed": 0, "unsupported": 0, "seconds": [], "failures": [],
                                                "check": CHECKS[case.category], "judged": [], "at_1024": [], "figures": []})
        cat["n"] += 1
        t0 = time.perf_counter()
        try:
            _, run_result = editor.edit(case.instruction, case.scene.image)
            seconds = time.perf_counter() - t0  # the edit only, not the check (OCR is slow)
            ok, detail, *figure = case.check(case.scene, run_result.results)
            cat["figures"] += figure  # a check's measured figure (removal: PSNR inside the object, dB)
        except (CannotDo, Declined) as exc:
            cat["unsupported"] += 1
            cat["failures"].append(f"{case.instruction!r}: unsupported here: {exc}")
            continue
        except LegoError as exc:
            ok, detail, seconds = False, f"error: {exc}", time.perf_counter() - t0
        cat["seconds"].append(seconds)
        if max(case.scene.image.shape[:2]) == 1024:
            cat["at_1024"].append(seconds)
        cat["passed"] += ok
        if judge is not None and not detail.startswith("error"):
            c = judge.critique(case.scene.image, run_result.results[0], case.instruction)
            cat["judged"].append((c.semantic, c.quality, c.overall))
        if not ok:
            cat["failures"].append(f"{case.instruction!r} ({case.scene.image.shape[1]}px): {detail}")
    categories = {}
    for name, cat in results.items():
        supported = cat["n"] - cat["unsupported"]
        categories[name] = {
            "n": cat["n"],
            "supported": supported,
            "success_rate": round(cat["passed"] / supported, 3) if supported else None,
            "p50_s": percentile(cat["seconds"], 50),
            "p95_s": percentile(cat["seconds"], 95),
            "p50_s_1024": percentile(cat["at_1024"], 50),
            "median_figure": percentile(cat["figures"], 50),
            "check": cat["check"],
            "failures": cat["failures"][:5],
        }
        if cat["judged"]:
            sc, pq, overall = (round(float(np.mean(v)), 2) for v in zip(*cat["judged"]))
            categories[name]["judged"] = {"n": len(cat["judged"]), "semantic": sc, "quality": pq, "overall": overall}
    return {"categories": categories, "seeds": seeds, "sizes": sizes}


def markdown(report: dict) -> str:
    judged = any("judged" in c for c in report["categories"].values())
    extra = " judged SC / PQ / overall |" if judged else ""
    sizes = ", ".join(f"{w}×{h}" for w, h in report["sizes"])
    lines = [f"Times: one edit per case (plan + run) on procedural scenes; p50/p95 pool every size ({sizes}), "
             "the 1024 px column takes the 1024×768 cases alone. Removal's figure: median PSNR inside the object "
             "vs the true background.", "",
             "| category | n | supported offline | success | p50 s (all sizes) | p50 s (1024 px) | p95 s (all sizes) | "
             "figure | check |" + extra,
             "|---|---|---|---|---|---|---|---|---|" + ("---|" if judged else "")]
    for name, c in report["categories"].items():
        rate = "—" if c["success_rate"] is None else f"{c['success_rate'] * 100:.0f}%"
        figure = f"{c['median_figure']:.1f} dB" if c.get("median_figure") is not None else "—"
        at_1024 = "—" if c.get("p50_s_1024") is None else c["p50_s_1024"]
        row = (f"| {name} | {c['n']} | {c['supported']} | {rate} | {c['p50_s']} | {at_1024} | {c['p95_s']} | "
               f"{figure} | {c['check']} |")
        if judged:
            j = c.get("judged")
            row += f" {j['semantic']} / {j['quality']} / {j['overall']} |" if j else " — |"
        lines.append(row)
    return "\n".join(lines)

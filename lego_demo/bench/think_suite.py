"""Think-while-Edit on scenes built to make a first turn fail in known ways — a mask that
misses an outline, a mask that misses a drop shadow, a recolour too weak to lighten a dark
object — measured by ground truth with and without the loop."""

from __future__ import annotations

import time

import cv2
import numpy as np

from ..errors import LegoError
from ..imaging import rgb
from ..metrics import psnr
from ..synthetic import BACKGROUNDS, COLOURS, make_scene
from .common import percentile

CHECKS = {
    "outline": "remove an outlined shape: PSNR vs the true background >= 24 dB over the shape AND its outline, "
               ">= 40 dB outside it grown by 4%",
    "shadow": "remove a shape with a drop shadow: PSNR vs the true background >= 24 dB over the shape AND its shadow, "
              ">= 40 dB outside it grown by 4%",
    "dark-to-light recolour": "recolour a dark shape to a light colour: mean Lab hue within 15° AND mean lightness within "
                              "35 (8-bit L) of the named colour, >= 40 dB outside the shape",
}
LIGHT = ("yellow", "orange", "cyan", "pink")


def _grow(mask: np.ndarray, px: int) -> np.ndarray:
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return cv2.dilate(mask.astype(np.uint8), k).astype(bool)


def removal_check(scene, obj):
    def check(result: np.ndarray) -> tuple[bool, str]:
        out = rgb(result)
        inside = psnr(out, scene.background, obj.extent)
        outside = psnr(out, scene.image, ~_grow(obj.extent, int(0.04 * max(out.shape[:2]))))
        return inside >= 24 and outside >= 40, f"inside {inside:.1f} dB, outside {min(outside, 99):.1f} dB"
    return check


def recolour_check(scene, obj, colour):
    want = cv2.cvtColor(np.uint8([[COLOURS[colour]]]), cv2.COLOR_RGB2LAB)[0, 0].astype(np.float32)

    def check(result: np.ndarray) -> tuple[bool, str]:
        out = rgb(result)
        lab = cv2.cvtColor(out, cv2.COLOR_RGB2LAB).astype(np.float32)[obj.mask]
        hue = lambda a, b: np.degrees(np.arctan2(b - 128, a - 128)) % 360  # noqa: E731
        err = abs((hue(lab[:, 1].mean(), lab[:, 2].mean()) - hue(want[1], want[2]) + 180) % 360 - 180)
        light = abs(float(lab[:, 0].mean()) - float(want[0]))
        outside = psnr(out, scene.image, ~_grow(obj.mask, 2))
        return err <= 15 and light <= 35 and outside >= 40, f"hue error {err:.1f}°, lightness off by {light:.0f}"
    return check


def cases(seeds: list[int]):
    for seed in seeds:
        bg = BACKGROUNDS[seed % 3]  # hard-edged textures
        rng = np.random.default_rng(seed)
        for kind, extra in (("outline", {"outline": 4}), ("shadow", {"shadow": 10})):
            scene = make_scene(640, 480, background_kind=bg, seed=seed, **extra)
            obj = scene.objects[int(rng.integers(len(scene.objects)))]
            yield kind, f"remove the {obj.colour} {obj.shape}", scene, removal_check(scene, obj)
        dark = ("blue", "purple", "brown")[seed % 3]
        scene = make_scene(640, 480, background_kind=bg, seed=seed,
                           objects=[(dark, ("circle", "square", "triangle")[seed % 3], (320, 240), 90)])
        colour = LIGHT[seed % len(LIGHT)]
        yield "dark-to-light recolour", f"make the {scene.objects[0].name} {colour}", scene, \
            recolour_check(scene, scene.objects[0], colour)


def run(editor, quick: bool = False, turns: int = 3) -> dict:
    seeds = list(range(3)) if quick else list(range(10))
    stats: dict[str, dict] = {}
    for kind, instruction, scene, check in cases(seeds):
        s = stats.setdefault(kind, {"n": 0, "single": 0, "loop": 0, "recovered": [], "seconds": [], "turns": [],
                                    "check": CHECKS[kind], "failures": []})
        s["n"] += 1
        t0 = time.perf_counter()
        try:
            outcome = editor.think(instruction, scene.image, turns=turns)
        except LegoError as exc:
            s["failures"].append(f"{instruction!r}: {exc}")
            continue
        s["seconds"].append(time.perf_counter() - t0)
        s["turns"].append(len(outcome.turns))
        first, best = outcome.turns[0], outcome.best_turn
        ok1 = first.result is not None and check(first.result)[0]
        okn, detail = check(best.result) if best is not None and best.result is not None else (False, "no result")
        s["single"] += ok1
        s["loop"] += okn
        if okn and not ok1:
            s["recovered"].append(f"{instruction!r}: turn {best.index} after feedback {best.feedback}")
        if not okn:
            s["failures"].append(f"{instruction!r}: {detail}; {outcome.stopped}")
    report = {}
    for kind, s in stats.items():
        report[kind] = {
            "n": s["n"], "check": s["check"],
            "success_single_turn": round(s["single"] / s["n"], 3),
            "success_with_loop": round(s["loop"] / s["n"], 3),
            "mean_turns": round(float(np.mean(s["turns"])), 2) if s["turns"] else None,
            "p50_s": percentile(s["seconds"], 50),
            "recovered": s["recovered"][:5],
            "failures": s["failures"][:5],
        }
    return {"categories": report, "max_turns": turns, "seeds": seeds}


def markdown(report: dict) -> str:
    lines = [f"| first-turn failure kind | n | success, one turn | success, loop (≤ {report['max_turns']} turns) | "
             "mean turns | p50 s | check |", "|---|---|---|---|---|---|---|"]
    for kind, c in report["categories"].items():
        lines.append(f"| {kind} | {c['n']} | {c['success_single_turn'] * 100:.0f}% | {c['success_with_loop'] * 100:.0f}% "
                     f"| {c['mean_turns']} | {c['p50_s']} | {c['check']} |")
    return "\n".join(lines)

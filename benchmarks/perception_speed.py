"""p50 / p90 wall time of each perception brick at 1024 px on this machine.

    python benchmarks/perception_speed.py [--repeats 7]

Images: a 1024×768 synthetic scene (shapes + text) and skimage's astronaut and coffee photos
resized to 1024 px. Model loading is warmed up first (one call per brick, not timed). Each
call gets fresh inputs, so no per-image cache helps.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bricks.add_pred import add_pred  # noqa: E402
from bricks.blur_region import blur_region  # noqa: E402
from bricks.cmi_pred import cmi_pred  # noqa: E402
from bricks.colorpop import colorpop  # noqa: E402
from bricks.extract import extract  # noqa: E402
from bricks.mask_seg import mask_seg  # noqa: E402
from bricks.pixelate import pixelate  # noqa: E402
from bricks.res import res  # noqa: E402
from bricks.sos import sos  # noqa: E402
from lego_demo.spec import RunContext  # noqa: E402
from lego_demo.synthetic import make_scene  # noqa: E402


def to1024(image):
    h, w = image.shape[:2]
    s = 1024 / max(h, w)
    return cv2.resize(image, (round(w * s), round(h * s)), interpolation=cv2.INTER_CUBIC)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    ctx = RunContext(step=1)
    objects = [("green", "circle", (256, 360), 96), ("red", "square", (512, 360), 96), ("blue", "triangle", (768, 360), 96)]
    scene = make_scene(width=1024, height=768, objects=objects, text="HELLO WORLD", seed=2, background_kind="tiles")
    astro, coffee = to1024(data.astronaut()), to1024(data.coffee())
    box = np.zeros(scene.image.shape[:2], bool)
    ys, xs = np.nonzero(scene.objects[1].mask)
    box[ys.min() - 20 : ys.max() + 20, xs.min() - 20 : xs.max() + 20] = True
    face = res(ctx, astro, "face")["mask"]
    cmask = np.zeros(coffee.shape[:2], bool)
    cmask[150:600, 250:800] = True

    cases = {
        "RES colour+shape ('the red square', synthetic)": lambda im: res(ctx, im, "the red square"),
        "RES position ('the left one', synthetic)": lambda im: res(ctx, im, "the left one"),
        "RES person (astronaut)": lambda im: res(ctx, im, "the person"),
        "RES face (astronaut)": lambda im: res(ctx, im, "face"),
        "RES hair (astronaut)": lambda im: res(ctx, im, "hair"),
        "RES text (synthetic, PP-OCR det)": lambda im: res(ctx, im, "the text"),
        "SOS (synthetic)": lambda im: sos(ctx, im),
        "SOS (astronaut, person path)": lambda im: sos(ctx, im),
        "SOS (coffee, saliency+GrabCut)": lambda im: sos(ctx, im),
        "MASK-SEG (synthetic, GrabCut)": lambda im: mask_seg(ctx, im, box),
        "ADD-PRED (coffee, 'small bird top left')": lambda im: add_pred(ctx, im, "add a small bird at the top left"),
        "CMI-PRED canvas (coffee, 1.5/1.5/1/1)": lambda im: cmi_pred(ctx, im, 1.5, 1.5, 1.0, 1.0),
        "EXTRACT (astronaut face)": lambda im: extract(ctx, im, face),
        "BLUR-REGION (astronaut face)": lambda im: blur_region(ctx, im, face),
        "PIXELATE (astronaut face)": lambda im: pixelate(ctx, im, face),
        "COLORPOP (coffee)": lambda im: colorpop(ctx, im, cmask),
    }
    images = {
        "synthetic": scene.image, "astronaut": astro, "coffee": coffee,
    }
    print(f"{'brick / case':50s} {'size':>10s} {'p50 ms':>8s} {'p90 ms':>8s}")
    for name, fn in cases.items():
        key = "synthetic" if "synthetic" in name else "astronaut" if "astronaut" in name else "coffee"
        image = images[key]
        fn(image.copy())  # warm-up: model loading, first-call costs
        times = []
        for _ in range(args.repeats):
            fresh = image.copy()
            t = time.perf_counter()
            fn(fresh)
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        p90 = times[min(len(times) - 1, int(round(0.9 * (len(times) - 1))))]
        size = f"{image.shape[1]}x{image.shape[0]}"
        print(f"{name:50s} {size:>10s} {statistics.median(times):8.0f} {p90:8.0f}")


if __name__ == "__main__":
    main()

"""Speed of the editing bricks' classical engines at 1024 px, and the docs contact sheet.

    python benchmarks/editing_speed.py            # p50/p90 per brick call, 1024 px inputs
    python benchmarks/editing_speed.py --sheet    # also writes docs/contact_editing.png

Not a test: timings depend on the machine. Inputs are skimage.data photos and synthetic
scenes (lego_demo.synthetic) with exact masks.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import skimage.data as data

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bricks import cbg, crop, env, fastinpaint, fill, flip, inpaint, rcm, rotate, style, text, tone  # noqa: E402
from lego_demo.spec import RunContext  # noqa: E402
from lego_demo.synthetic import make_scene  # noqa: E402

CTX = RunContext(step=1, seed=0)


def photo(name: str, side: int = 1024) -> np.ndarray:
    img = getattr(data, name)()
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    f = side / max(img.shape[:2])
    return cv2.resize(img[..., :3], None, fx=f, fy=f, interpolation=cv2.INTER_CUBIC if f > 1 else cv2.INTER_AREA)


def cat_mask(img):  # the orange fur of skimage's chelsea: a real, irregular object mask
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
    m = ((hsv[..., 0] < 25) & (hsv[..., 1] > 70) & (hsv[..., 2] > 60)).astype(np.uint8)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15))
    m = cv2.morphologyEx(cv2.morphologyEx(m, cv2.MORPH_CLOSE, k), cv2.MORPH_OPEN, k)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(m)
    return lab == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))


def subject_mask(img):  # GrabCut from a box: the astronaut
    h, w = img.shape[:2]
    f = 384 / max(h, w)
    small = cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    m = np.zeros(small.shape[:2], np.uint8)
    rect = (int(0.12 * small.shape[1]), int(0.05 * small.shape[0]), int(0.7 * small.shape[1]), int(0.95 * small.shape[0]))
    cv2.grabCut(cv2.cvtColor(small, cv2.COLOR_RGB2BGR), m, rect, np.zeros((1, 65)), np.zeros((1, 65)), 4,
                cv2.GC_INIT_WITH_RECT)
    fg = ((m == 1) | (m == 3)).astype(np.uint8)
    return cv2.resize(fg, (w, h), interpolation=cv2.INTER_NEAREST) > 0


def disc(shape, centre, r):
    m = np.zeros(shape, np.uint8)
    cv2.circle(m, centre, r, 1, -1)
    return m > 0


def cases():
    astro = photo("astronaut")
    chelsea = photo("chelsea")
    wall = photo("brick")
    scene = make_scene(1024, 768, background_kind="tiles", seed=1)
    obj = scene.objects[1].mask
    f = fastinpaint.fastinpaint(CTX, scene.image, obj)
    wall_hole = disc(wall.shape[:2], (512, 380), 110)
    fw = fastinpaint.fastinpaint(CTX, wall, wall_hole)
    cat = cat_mask(chelsea)
    subj = subject_mask(astro)
    bgm = ~subj
    sign = np.zeros(astro.shape[:2], bool)
    sign[40:200, 560:1000] = True
    texted = text.text_brick(CTX, photo("coffee"), "HELLO WORLD", position="top")["image"]
    return [
        ("FASTINPAINT tiles", lambda: fastinpaint.fastinpaint(CTX, scene.image, obj), scene.image),
        ("INPAINT tiles", lambda: inpaint.inpaint(CTX, scene.image, obj, f["image"], f["score"]), scene.image),
        ("FASTINPAINT brick wall", lambda: fastinpaint.fastinpaint(CTX, wall, wall_hole), wall),
        ("INPAINT brick wall", lambda: inpaint.inpaint(CTX, wall, wall_hole, fw["image"], fw["score"]), wall),
        ("RCM blue (cat)", lambda: rcm.rcm(CTX, chelsea, cat, "make it blue"), chelsea),
        ("RCM dark green (cat)", lambda: rcm.rcm(CTX, chelsea, cat, "dark green"), chelsea),
        ("RCM gold (cat)", lambda: rcm.rcm(CTX, chelsea, cat, "golden"), chelsea),
        ("RCM marble (cat)", lambda: rcm.rcm(CTX, chelsea, cat, "marble"), chelsea),
        ("RCM wooden (cat)", lambda: rcm.rcm(CTX, chelsea, cat, "wooden"), chelsea),
        ("CBG blur", lambda: cbg.cbg(CTX, astro, bgm, "blurred background"), astro),
        ("CBG solid blue", lambda: cbg.cbg(CTX, astro, bgm, "plain blue"), astro),
        ("CBG gradient", lambda: cbg.cbg(CTX, astro, bgm, "a gradient from orange to purple"), astro),
        ("CBG black and white", lambda: cbg.cbg(CTX, astro, bgm, "black and white"), astro),
        *[(f"STYLE {s}", (lambda s=s: style.style(CTX, astro, s)), astro) for s in style.KNOWN],
        ("STYLE cartoon (mask)", lambda: style.style(CTX, astro, "cartoon", mask=subj), astro),
        *[(f"ENV {e}", (lambda e=e: env.env(CTX, chelsea, f"make it {e}")), chelsea) for e in env.KNOWN],
        ("FILL text", lambda: fill.fill(CTX, astro, sign, 'write "LEGO EDIT"'), astro),
        ("FILL stripes", lambda: fill.fill(CTX, astro, sign, "red and white stripes"), astro),
        ("FILL cut-out", lambda: fill.fill(CTX, astro, sign, "the cat",
                                           np.dstack([chelsea, np.where(cat, 255, 0).astype(np.uint8)])), astro),
        ("TEXT add", lambda: text.text_brick(CTX, astro, "Hello space", position="bottom"), astro),
        ("TEXT replace (OCR)", lambda: text.text_brick(CTX, texted, "GOODBYE", replace="HELLO WORLD"), texted),
        ("CROP mask", lambda: crop.crop(CTX, astro, mask=subj), astro),
        ("ROTATE 30", lambda: rotate.rotate(CTX, astro, 30.0), astro),
        ("FLIP horizontal", lambda: flip.flip(CTX, astro, "horizontal"), astro),
        ("TONE +contrast +sat", lambda: tone.tone(CTX, astro, contrast=0.5, saturation=0.6), astro),
    ]


def bench(runs: int):
    rows = []
    for name, fn, src in cases():
        fn()  # warm-up (lazy imports, OCR model load)
        ts = []
        for _ in range(runs):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
        ts.sort()
        rows.append((name, src.shape[1], src.shape[0], statistics.median(ts) * 1000, ts[int(0.9 * (len(ts) - 1))] * 1000))
        print(f"| {name} | {src.shape[1]}×{src.shape[0]} | {rows[-1][3]:.0f} | {rows[-1][4]:.0f} |", flush=True)
    return rows


def sheet(path: Path, tile: int = 256):
    tiles = []
    for name, fn, src in cases():
        out = fn()["image"]
        out = out if out.shape[2] == 3 else (lambda a: (a[..., :3] * (a[..., 3:] / 255) + 255 * (1 - a[..., 3:] / 255)).astype(np.uint8))(out)
        pair = []
        for im in (src, out):
            f = tile / max(im.shape[:2])
            im = cv2.resize(im, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
            canvas = np.full((tile, tile, 3), 255, np.uint8)
            canvas[: im.shape[0], : im.shape[1]] = im
            pair.append(canvas)
        t = np.hstack([pair[0], np.full((tile, 4, 3), 255, np.uint8), pair[1]])
        label = np.full((26, t.shape[1], 3), 255, np.uint8)
        cv2.putText(label, name, (4, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
        tiles.append(np.vstack([label, t, np.full((8, t.shape[1], 3), 255, np.uint8)]))
    cols = 4
    while len(tiles) % cols:
        tiles.append(np.full_like(tiles[0], 255))
    rows = [np.hstack([np.hstack([t, np.full((t.shape[0], 12, 3), 255, np.uint8)]) for t in tiles[i:i + cols]])
            for i in range(0, len(tiles), cols)]
    img = np.vstack(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    print("wrote", path, img.shape)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sheet", action="store_true")
    a = ap.parse_args()
    if a.sheet:
        sheet(ROOT / "docs" / "contact_editing.png")
    else:
        print("| brick call | input | p50 ms | p90 ms |\n|---|---|---|---|")
        bench(a.runs)

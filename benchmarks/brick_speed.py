"""p50 / p95 wall time of every offline (classical) brick engine at 1024 px, on 2 cores.

    python benchmarks/brick_speed.py [--repeats 9] [--cores 2] [--json out/brick_speed.json]

Target (issue 17): every offline brick p50 ≤ 1 s at 1024 px on 2 cores. The process is pinned
to `--cores` CPUs (sched_setaffinity) and OpenCV / OpenMP use that many threads. Inputs are
public sample photos at 1024 px on the long side with realistic masks (the hand-drawn masks in
tests/data/photo_masks.json); each case is warmed up once (model loading is not timed), then
timed `--repeats` times on a fresh copy of its inputs, so no per-image analysis is reused.
Not a test: figures depend on the machine; a quiet machine gives the figures to publish.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def pin(cores: int) -> str:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(cores)
    try:
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:cores]))
        return f"pinned to CPUs {sorted(os.sched_getaffinity(0))}"
    except (AttributeError, OSError):
        return "not pinned (no sched_setaffinity here)"


def cases():
    """(brick, case label, engine function, inputs) for every classical engine."""
    import cv2
    import numpy as np

    from bricks import (
        add_pred,
        bbox,
        blur_region,
        cbg,
        cmi_pred,
        colorpop,
        compose,
        crop,
        env,
        extract,
        fastinpaint,
        fill,
        flip,
        grow,
        inpaint,
        inverse,
        mask_seg,
        pixelate,
        rcm,
        res,
        resize,
        rotate,
        sos,
        style,
        text,
        tone,
    )
    from lego_demo.bench.sample_photos import photo, truth

    astro, coffee, chelsea, rocket = photo("astronaut"), photo("coffee"), photo("chelsea"), photo("rocket")
    camera, moto, grace, page = photo("camera"), photo("motorcycle"), photo("grace_hopper"), photo("page")
    person = truth("astronaut", "person")
    spoon = truth("coffee", "spoon")
    rough = cv2.dilate(spoon.astype(np.uint8), np.ones((41, 41), np.uint8)).astype(bool)
    face = np.zeros(astro.shape[:2], bool)
    face[150:360, 350:550] = True
    yield "RES", "her orange suit (astronaut)", res.res, dict(image=astro, prompt="orange suit")
    yield "RES", "hair (astronaut)", res.res, dict(image=astro, prompt="her hair")
    yield "RES", "the red parts (motorcycle)", res.res, dict(image=moto, prompt="the red parts")
    yield "RES", "her jacket (grace_hopper)", res.res, dict(image=grace, prompt="her jacket")
    yield "RES", "the sky (rocket)", res.res, dict(image=rocket, prompt="the sky")
    yield "RES", "the text (page)", res.res, dict(image=page, prompt="the text")
    yield "RES", "the man (camera)", res.res, dict(image=camera, prompt="the man")
    yield "SOS", "person (astronaut)", sos.sos, dict(image=astro)
    yield "SOS", "framed object (chelsea)", sos.sos, dict(image=chelsea)
    yield "SOS", "framed object (motorcycle)", sos.sos, dict(image=moto)
    yield "SOS", "thin subject against the sky (rocket)", sos.sos, dict(image=rocket)
    yield "MASK-SEG", "spoon in a rough mask (coffee)", mask_seg.mask_seg, dict(image=coffee, mask=rough)
    yield "ADD-PRED", "a small bird top left (coffee)", add_pred.add_pred, dict(image=coffee, prompt="a small bird at the top left", mask=None)
    yield "CMI-PRED", "canvas 1.5 (coffee)", cmi_pred.cmi_pred, dict(image=coffee, top_ratio=1.5, bottom_ratio=1.0, left_ratio=1.5, right_ratio=1.0)
    yield "EXTRACT", "person (astronaut)", extract.extract, dict(image=astro, mask=person)
    yield "BLUR-REGION", "face (astronaut)", blur_region.blur_region, dict(image=astro, mask=face)
    yield "PIXELATE", "face (astronaut)", pixelate.pixelate, dict(image=astro, mask=face)
    yield "COLORPOP", "person (astronaut)", colorpop.colorpop, dict(image=astro, mask=person)
    yield "INVERSE", "mask", inverse.inverse, dict(mask1=None, mask2=person)
    yield "BBOX", "mask", bbox.bbox, dict(mask=person)
    yield "COMPOSE", "masks", compose.compose, dict(mask1=person, mask2=face)
    yield "RESIZE", "mask x0.8", resize.resize, dict(mask=person, ratio=0.8)
    yield "GROW", "mask 2%", grow.grow, dict(mask=person, amount=0.02)
    yield "CROP", "mask box", crop.crop, dict(image=astro, mask=person)
    yield "ROTATE", "30 degrees", rotate.rotate, dict(image=astro, angle=30.0)
    yield "FLIP", "horizontal", flip.flip, dict(image=astro, direction="horizontal")
    yield "FASTINPAINT", "spoon (coffee)", fastinpaint.fastinpaint, dict(image=coffee, mask=spoon)
    pre = fastinpaint.fastinpaint(None, coffee, spoon)
    yield "INPAINT", "spoon (coffee)", inpaint.inpaint, dict(image=coffee, mask=spoon, preimage=pre["image"], score=pre["score"])
    yield "RCM", "suit blue (astronaut)", rcm.rcm, dict(image=astro, mask=truth("astronaut", "suit"), prompt="blue")
    yield "RCM", "sky orange (rocket)", rcm.rcm, dict(image=rocket, mask=truth("rocket", "sky"), prompt="orange")
    background = ~truth("astronaut", "subject")
    for kind in ("blur", "plain white", "black and white"):
        yield "CBG", f"{kind} (astronaut)", cbg.cbg, dict(image=astro, mask=background, prompt=kind)
    for name in style.KNOWN:
        yield "STYLE", f"{name} (astronaut)", style.style, dict(image=astro, style=name)
    for name in env.KNOWN:
        yield "ENV", f"{name} (rocket)", env.env, dict(image=rocket, prompt=name)
    yield "FILL", "red (coffee)", fill.fill, dict(image=coffee, mask=spoon, prompt="red")
    yield "TEXT", "add at the bottom (astronaut)", text.text_brick, dict(image=astro, text="HELLO", position="bottom")
    yield "TEXT", "replace all (page)", text.text_brick, dict(image=page, text="HELLO WORLD", replace="all")
    yield "TEXT", "replace one word (page)", text.text_brick, dict(image=page, text="Edge-based", replace="Region-based")
    yield "TONE", "brightness +0.5 (astronaut)", tone.tone, dict(image=astro, brightness=0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    where = pin(args.cores)
    import cv2
    import numpy as np

    from lego_demo.spec import RunContext

    cv2.setNumThreads(args.cores)
    rows = []
    for brick, label, fn, inputs in cases():
        ctx = RunContext(step=1, seed=0)
        fn(ctx, **inputs)  # warm-up: loads models, not timed
        times = []
        for _ in range(args.repeats):
            fresh = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in inputs.items()}
            t0 = time.perf_counter()
            fn(ctx, **fresh)
            times.append(time.perf_counter() - t0)
        p50, p95 = statistics.median(times), float(np.percentile(times, 95))
        rows.append({"brick": brick, "case": label, "p50_s": round(p50, 3), "p95_s": round(p95, 3)})
        print(f"{brick:12s} {label:34s} p50 {p50 * 1000:7.0f} ms  p95 {p95 * 1000:7.0f} ms"
              f"{'  OVER 1 s' if p50 > 1.0 else ''}", flush=True)
    worst = max(rows, key=lambda r: r["p50_s"])
    print(f"\n{len(rows)} cases, {len({r['brick'] for r in rows})} bricks, {args.cores} cores ({where}); "
          f"slowest p50: {worst['brick']} {worst['case']} {worst['p50_s']} s")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"cores": args.cores, "repeats": args.repeats, "cases": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

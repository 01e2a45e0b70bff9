"""Removal quality and time on synthetic scenes with exact ground truth, trees side by side.

    python benchmarks/removal_quality.py [--tree new=.] [--tree old=/work/baseline] [--seeds 12]
                                         [--sizes 320x240 640x480 1024x768 2048x1536] [--out DIR]

The scenes and instructions are the synthetic suite's removal cases (`python -m lego_demo bench
--suite synthetic`, "remove the <colour> <shape>"), plus the same scenes at 2048 px, the size
phone photos are edited at. Each tree edits them through `Editor.edit` (RES → FASTINPAINT →
INPAINT) in its own worker (benchmarks/sidebyside.py); this script compares every result with
the true background: PSNR inside the object's mask (the suite passes ≥ 24 dB) and outside the
mask grown by 2% (≥ 40 dB). Reports per tree and size: median PSNR inside, pass rate, p50 time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from sidebyside import Trees, write_report  # noqa: E402


def main() -> int:
    import cv2
    from PIL import Image

    from lego_demo.bench.synthetic_suite import cases
    from lego_demo.metrics import psnr

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", action="append", default=[], metavar="NAME=PATH")
    ap.add_argument("--seeds", type=int, default=12)
    ap.add_argument("--sizes", nargs="+", default=["320x240", "640x480", "1024x768", "2048x1536"])
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "out" / "removal_quality"))
    args = ap.parse_args()
    trees = dict(t.split("=", 1) for t in args.tree) or {"new": str(ROOT)}
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, Trees(trees, cores=args.cores) as workers:
        tmp = Path(tmp)
        for i, case in enumerate(c for c in cases(list(range(args.seeds)), sizes) if c.category == "remove"):
            scene = case.scene
            path = tmp / f"{i}.png"
            Image.fromarray(scene.image).save(path, compress_level=1)
            obj = next(o for o in scene.objects if case.instruction == f"remove the {o.colour} {o.shape}")
            row = {"instruction": case.instruction, "size": f"{scene.image.shape[1]}x{scene.image.shape[0]}"}
            for tree in trees:
                save = tmp / f"{i}_{tree}.png"
                answer = workers._ask_one(tree, {"op": "edit", "image": str(path), "instruction": case.instruction,
                                                 "warmup": 1 if i == 0 else 0, "save": str(save)})
                if answer["status"] != "done":
                    row[tree] = {"status": answer["status"]}
                    continue
                result = np.asarray(Image.open(save).convert("RGB"))
                keep = ~cv2.dilate(obj.mask.astype(np.uint8), np.ones((2 * max(2, int(0.02 * max(obj.mask.shape))) + 1,) * 2,
                                                                       np.uint8)).astype(bool)
                inside, outside = psnr(result, scene.background, obj.mask), psnr(result, scene.image, keep)
                row[tree] = {"status": "done", "seconds": answer["seconds"][0], "inside_db": round(min(inside, 99), 2),
                             "outside_db": round(min(outside, 99), 2), "ok": inside >= 24 and outside >= 40}
            rows.append(row)
            print(row, flush=True)
    summary = {}
    for size in dict.fromkeys(r["size"] for r in rows):
        for tree in trees:
            done = [r[tree] for r in rows if r["size"] == size and r[tree]["status"] == "done"]
            n = sum(1 for r in rows if r["size"] == size)
            summary.setdefault(size, {})[tree] = {
                "cases": n, "done": len(done), "passed": sum(d["ok"] for d in done),
                "median_inside_db": round(statistics.median(d["inside_db"] for d in done), 2) if done else None,
                "mean_inside_db": round(statistics.fmean(d["inside_db"] for d in done), 2) if done else None,
                "p50_s": round(statistics.median(d["seconds"] for d in done), 3) if done else None}
    lines = ["| size | " + " | ".join(f"{t}: passed | {t}: PSNR inside, median / mean dB | {t}: p50 s" for t in trees) + " |",
             "|---|" + "---|---|---|" * len(trees)]
    for size, cell in summary.items():
        lines.append(f"| {size} | " + " | ".join(
            f"{c['passed']}/{c['cases']} | {c['median_inside_db']} / {c['mean_inside_db']} | {c['p50_s']}"
            for c in cell.values()) + " |")
    md = "\n".join(lines)
    write_report(out, {"trees": trees, "summary": summary, "rows": rows}, md)
    return 0


if __name__ == "__main__":
    sys.exit(main())

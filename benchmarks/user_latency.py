"""What a user waits for: per category of edit and per image size, on public sample photos,
old tree beside new tree in one run.

    python benchmarks/user_latency.py [--tree new=.] [--tree old=/work/baseline] [--sizes 1024 2048]
                                      [--repeats 3] [--only remove recolour] [--cores 2]
                                      [--out out/user_latency] [--save]

Each case is an instruction (with a painted mask where a user would paint one) on a photo from
scikit-image / matplotlib, resized so its long side is the size asked for (1024, 2048: any phone
photo lands at 2048, the working size). A case runs through `Editor.edit` exactly as the app's
/edit does in-process: the rule Builder plans, the offline engines run, the result is verified.
Every timed run starts with an empty step cache (models stay loaded, as in a running app); each
tree first edits every case once untimed. Per category the report gives p50 and p95 over all
timed runs (cases × repeats) of the cases that tree did, and the ratio new ÷ old of the per-case
medians over the cases both did. Declines are counted, not timed into the figures.

The trees run in their own worker processes (benchmarks/sidebyside.py), alternately, so the
ratio holds on a busy machine; absolute figures are for a quiet one (`--cores 2` pins each
worker's OpenCV and BLAS threads to 2, the laptop the targets assume).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from sidebyside import Trees, write_report  # noqa: E402

# painted masks a user would draw for a removal: ellipses (cx, cy, rx, ry) in the 1024-px photo,
# or the name of a hand-drawn mask in tests/data/photo_masks.json (grown like a brush stroke)
PAINTED = {
    ("coffee", "spoon"): "spoon",
    ("astronaut", "shuttle model"): (815, 280, 125, 290),
    ("rocket", "rocket"): (513, 430, 38, 235),
    ("motorcycle", "box"): (775, 85, 60, 52),
    ("coins", "coin"): (573, 510, 70, 64),
    ("grace_hopper", "name plate"): (210, 853, 88, 42),
    ("camera", "tower"): (835, 310, 42, 88),
}

# category -> (photo, instruction, painted mask key or None)
CASES: dict[str, list[tuple[str, str, str | None]]] = {
    "remove": [("coffee", "remove this", "spoon"), ("astronaut", "remove this", "shuttle model"),
               ("rocket", "remove this", "rocket"), ("motorcycle", "remove this", "box"),
               ("coins", "remove this", "coin"), ("grace_hopper", "remove this", "name plate"),
               ("camera", "remove this", "tower")],
    "recolour": [("astronaut", "make her orange suit blue", None), ("astronaut", "make her hair purple", None),
                 ("motorcycle", "make the red parts blue", None), ("grace_hopper", "make her jacket dark red", None),
                 ("rocket", "make the sky orange", None), ("coffee", "make the red cup blue", None),
                 ("grace_hopper", "make her hair purple", None)],
    "background": [("astronaut", "blur the background", None),
                   ("astronaut", "replace the background with plain white", None),
                   ("grace_hopper", "blur the background", None), ("camera", "blur the background", None),
                   ("chelsea", "blur the background", None), ("coffee", "make the background white", None),
                   ("motorcycle", "blur the background", None)],
    "extract": [("astronaut", "cut out the person", None), ("grace_hopper", "cut out the woman", None),
                ("camera", "cut out the man", None), ("coffee", "cut out the red cup", None),
                ("motorcycle", "cut out the red parts", None), ("rocket", "cut out the sky", None)],
    "style": [("astronaut", "make it look like a cartoon", None), ("chelsea", "turn it into a watercolor painting", None),
              ("coffee", "turn it into a pencil sketch", None), ("grace_hopper", "make it pop art", None),
              ("rocket", "give it an oil painting style", None), ("coins", "make it look vintage", None),
              ("motorcycle", "make it look like a cartoon", None)],
    "tone": [("astronaut", "brighten the image a lot", None), ("chelsea", "make the colors more vivid", None),
             ("coffee", "make it darker", None), ("rocket", "increase the contrast", None),
             ("camera", "make it brighter", None), ("grace_hopper", "make it less saturated", None)],
    "scene": [("chelsea", "make it look like winter", None), ("rocket", "make it look like sunset", None),
              ("motorcycle", "make it night", None), ("camera", "make it look like winter", None),
              ("grace_hopper", "make it look like sunset", None), ("coffee", "make it foggy", None)],
    "face": [("grace_hopper", "pixelate her face", None), ("astronaut", "pixelate the face", None),
             ("astronaut", "blur her face", None), ("grace_hopper", "blur her face", None),
             ("camera", "pixelate his face", None), ("camera", "blur his face", None)],
    "text": [("page", 'replace "Region-based" with "Edge-based"', None),
             ("page", 'change the title to "Colour segmentation"', None),
             ("text", "replace the text with HELLO WORLD", None), ("astronaut", "add text 'hello'", None),
             ("rocket", "add the text 'LAUNCH' at the top", None), ("coffee", 'add the caption "coffee time"', None)],
}


# (photo, instruction, feedback): the re-plans the app and README show; "scene" is a synthetic
# scene with a red circle and a blue square (the app's first example)
FEEDBACK = [("astronaut", "blur the background", "stronger"),
            ("astronaut", "make her orange suit blue", "stronger"),
            ("scene", "make the blue square green", "stronger"),
            ("scene", "remove the red circle", "expand the mask")]


def feedback_photo(name: str, side: int) -> np.ndarray:
    from lego_demo.bench.sample_photos import photo
    from lego_demo.synthetic import make_scene

    if name != "scene":
        return photo(name, side)
    f = side / 1024
    return make_scene(side, round(768 * f), objects=[("red", "circle", (round(300 * f), round(380 * f)), round(150 * f)),
                                                     ("blue", "square", (round(720 * f), round(380 * f)), round(150 * f))],
                      background_kind="stripes", seed=1).image


def painted(name: str, key: str, shape: tuple[int, int]) -> np.ndarray:
    import cv2

    from lego_demo.bench.sample_photos import truth

    spec = PAINTED[(name, key)]
    f = max(shape) / 1024
    if isinstance(spec, str):
        m = truth(name, spec, shape).astype(np.uint8)
        r = max(2, round(0.025 * max(shape)))
        return cv2.dilate(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))) > 0
    cx, cy, rx, ry = spec
    m = np.zeros(shape, np.uint8)
    cv2.ellipse(m, (round(cx * f), round(cy * f)), (round(rx * f), round(ry * f)), 0, 0, 360, 1, -1)
    return m > 0


def inputs(tmp: Path, name: str, side: int, mask_key: str | None) -> tuple[str, str | None]:
    """The photo (and painted mask) at this size as PNG files both trees read."""
    from PIL import Image

    from lego_demo.bench.sample_photos import photo

    image = tmp / f"{name}_{side}.png"
    if not image.exists():
        Image.fromarray(feedback_photo(name, side) if name == "scene" else photo(name, side)).save(image, compress_level=1)
    if mask_key is None:
        return str(image), None
    mask = tmp / f"{name}_{side}_{mask_key.replace(' ', '_')}.png"
    if not mask.exists():
        shape = Image.open(image).size[::-1]
        Image.fromarray(painted(name, mask_key, shape).astype(np.uint8) * 255).save(mask)
    return str(image), str(mask)


def pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None


def summarise(rows: list[dict], trees: list[str]) -> dict:
    """Per category and size: p50/p95 over timed runs per tree, declines, ratio of case medians."""
    out: dict = {}
    for row in rows:
        cell = out.setdefault(row["category"], {}).setdefault(str(row["size"]), {t: {"runs": [], "cases": 0, "not_done": []}
                                                                              for t in trees})
        for t in trees:
            a = row["answers"][t]
            if a["status"] == "done":
                cell[t]["runs"] += a["seconds"]
                cell[t]["cases"] += 1
            else:
                cell[t]["not_done"].append(f"{row['photo']}: {row['instruction']} ({a['status']})")
    for category, sizes in out.items():
        for size, cell in sizes.items():
            for t in trees:
                runs = cell[t].pop("runs")
                cell[t].update({"n_runs": len(runs), "p50_s": pct(runs, 50), "p95_s": pct(runs, 95)})
            if len(trees) == 2:
                a, b = trees
                both = [r for r in rows if r["category"] == category and str(r["size"]) == size
                        and all(r["answers"][t]["status"] == "done" for t in trees)]
                ratios = [statistics.median(r["answers"][a]["seconds"]) / statistics.median(r["answers"][b]["seconds"])
                          for r in both]
                cell["ratio"] = {"of": f"{a} ÷ {b}", "cases": len(both),
                                 "median": round(statistics.median(ratios), 3) if ratios else None}
    return out


def ratio(answer: dict) -> float | None:
    """Re-plan ÷ first run: the medians over the repeats."""
    if answer.get("status") != "done":
        return None
    return round(statistics.median(answer["second"]) / statistics.median(answer["first"]), 3)


def markdown(report: dict) -> str:
    trees = report["trees"]
    head = "| category | size | " + " | ".join(f"{t} p50 s | {t} p95 s | {t} done" for t in trees)
    lines = [head + (" | ratio (median over cases both did) |" if len(trees) == 2 else " |"),
             "|---|---|" + "---|---|---|" * len(trees) + ("---|" if len(trees) == 2 else "")]
    for category, sizes in report["summary"].items():
        for size, cell in sizes.items():
            parts = []
            for t in trees:
                c = cell[t]
                parts.append(f"{c['p50_s']} | {c['p95_s']} | {c['cases']}/{c['cases'] + len(c['not_done'])}")
            both = cell.get("ratio")
            tail = f" {both['median']} ({both['of']}, {both['cases']} cases) |" if both else ""
            lines.append(f"| {category} | {size} px | " + " | ".join(parts) + " |" + tail)
    if report.get("replans"):
        lines += ["", "| re-plan (in-process, with the first plan) | size | "
                  + " | ".join(f"{t}: first s | {t}: re-plan ÷ first (cached → executed)" for t in trees) + " |",
                  "|---|---|" + "---|---|" * len(trees)]
        for r in report["replans"]:
            cells = []
            for t in trees:
                a = r["answers"][t]
                if a.get("status") != "done":
                    cells.append(f"— | {a.get('status')}: {a.get('message', '')[:60]}")
                    continue
                cells.append(f"{statistics.median(a['first']):.3f} | **{ratio(a)}** ({a['cached']} → {a['executed']})")
            lines.append(f"| {r['instruction']} + '{r['feedback']}' | {r['size']} px | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", action="append", default=[], metavar="NAME=PATH",
                    help="a source tree to measure (repeatable; default new=<this tree>)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", nargs="+", choices=sorted(CASES), help="only these categories")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "out" / "user_latency"))
    ap.add_argument("--save", action="store_true", help="keep each tree's result PNGs (to look at them)")
    ap.add_argument("--no-feedback", action="store_true", help="skip the re-plan ÷ first run cases")
    args = ap.parse_args()
    trees = dict(t.split("=", 1) for t in args.tree) or {"new": str(ROOT)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    categories = args.only or list(CASES)
    rows = []
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, Trees(trees, cores=args.cores) as workers:
        tmp = Path(tmp)
        for category in categories:  # warm-up: every case once, untimed (models load here)
            for name, instruction, key in CASES[category]:
                image, mask = inputs(tmp, name, min(args.sizes), key)
                workers.ask({"op": "edit", "image": image, "mask": mask, "instruction": instruction})
        for size in args.sizes:
            for category in categories:
                for name, instruction, key in CASES[category]:
                    image, mask = inputs(tmp, name, size, key)
                    req = {"op": "edit", "image": image, "mask": mask, "instruction": instruction,
                           "repeats": args.repeats}
                    answers = {}
                    for tree, answer in workers.ask(req).items():
                        answers[tree] = answer
                    if args.save and size == min(args.sizes):
                        for tree in trees:
                            save = out / "results" / tree / f"{category}_{name}_{instruction[:40].replace(' ', '_')}.png"
                            save.parent.mkdir(parents=True, exist_ok=True)
                            workers._ask_one(tree, {**req, "repeats": 1, "save": str(save)})
                    rows.append({"category": category, "size": size, "photo": name, "instruction": instruction,
                                 "mask": key, "answers": answers})
                    line = "  ".join(f"{t} {a['status']} {statistics.median(a.get('seconds') or [float('nan')]):.3f}s"
                                    for t, a in answers.items())
                    print(f"{category:10s} {size} {name:12s} {instruction[:40]:40s} {line}", flush=True)
        replans = []
        for size in [] if args.no_feedback else args.sizes:
            for name, instruction, feedback in FEEDBACK:
                image, _ = inputs(tmp, name, size, None)
                answers = workers.ask({"op": "replan", "image": image, "instruction": instruction,
                                       "feedback": [feedback], "repeats": args.repeats})
                replans.append({"size": size, "photo": name, "instruction": instruction, "feedback": feedback,
                                "answers": answers})
                print(size, instruction, feedback, {t: (a.get("status"), ratio(a)) for t, a in answers.items()},
                      flush=True)
    report = {"trees": list(trees), "paths": trees, "sizes": args.sizes, "repeats": args.repeats, "cores": args.cores,
              "took_s": round(time.perf_counter() - t_start, 1), "summary": summarise(rows, list(trees)), "rows": rows,
              "replans": replans}
    from lego_demo.bench.common import machine

    report["machine"] = machine()
    write_report(out, report, markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

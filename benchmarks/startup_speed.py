"""What the command line costs before and after the work: `plan` and `edit` as fresh processes,
trees side by side.

    python benchmarks/startup_speed.py [--tree new=.] [--tree old=/work/baseline] [--runs 7] [--out DIR]

- plan: wall time of `python -m lego_demo plan --instruction "make her orange suit blue" --image
  astronaut.png` (1024 px): start-up, registry discovery, reading the image, planning, printing;
- edit: wall time of `python -m lego_demo edit astronaut.png --instruction "make it brighter"
  --think 1 --out DIR` (a global edit: the work itself is a few tens of milliseconds), and the
  same edit in a warm process (`Editor.edit`, in benchmarks/sidebyside.py's worker); the
  overhead is the difference: imports, discovery, reading, writing the result, graph and trace.
The trees alternate run by run; medians with min–max.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from sidebyside import Trees, write_report  # noqa: E402

PLAN = "make her orange suit blue"
EDIT = "make it brighter"


def wall(cmd: list[str], root: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(root)}
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} in {root} exited {r.returncode}: {r.stderr[-500:]}")
    return seconds


def main() -> int:
    from PIL import Image

    from lego_demo.bench.sample_photos import photo

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", action="append", default=[], metavar="NAME=PATH")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--out", default=str(ROOT / "out" / "startup_speed"))
    args = ap.parse_args()
    trees = {k: Path(v).resolve() for k, v in (t.split("=", 1) for t in args.tree)} or {"new": ROOT}
    times: dict[str, dict[str, list[float]]] = {t: {"plan": [], "edit": [], "in_process": []} for t in trees}
    with tempfile.TemporaryDirectory() as tmp:
        image = Path(tmp) / "astronaut.png"
        Image.fromarray(photo("astronaut", 1024)).save(image)
        py = sys.executable
        for run in range(args.runs):
            for tree in (list(trees) if run % 2 == 0 else list(trees)[::-1]):
                root = trees[tree]
                times[tree]["plan"].append(wall([py, "-m", "lego_demo", "plan", "--instruction", PLAN, "--image",
                                                 str(image)], root))
                times[tree]["edit"].append(wall([py, "-m", "lego_demo", "edit", str(image), "--instruction", EDIT,
                                                 "--think", "1", "--out", str(Path(tmp) / f"out_{tree}")], root))
        with Trees({k: str(v) for k, v in trees.items()}) as workers:
            answers = workers.ask({"op": "edit", "image": str(image), "instruction": EDIT, "warmup": 1,
                                   "repeats": args.runs})
        for tree, a in answers.items():
            times[tree]["in_process"] = a["seconds"]
    summary = {}
    for tree, t in times.items():
        med = {k: statistics.median(v) for k, v in t.items()}
        summary[tree] = {**{f"{k}_s": round(v, 3) for k, v in med.items()},
                         "edit_overhead_s": round(med["edit"] - med["in_process"], 3),
                         "ranges": {k: [round(min(v), 3), round(max(v), 3)] for k, v in t.items()}}
    lines = ["| measure | " + " | ".join(trees) + " |", "|---|" + "---|" * len(trees),
             f"| `plan` (\"{PLAN}\", 1024 px image), fresh process | "
             + " | ".join(f"{s['plan_s']} ({s['ranges']['plan'][0]}–{s['ranges']['plan'][1]})" for s in summary.values()) + " |",
             f"| `edit --think 1` (\"{EDIT}\", 1024 px), fresh process | "
             + " | ".join(f"{s['edit_s']} ({s['ranges']['edit'][0]}–{s['ranges']['edit'][1]})" for s in summary.values()) + " |",
             "| the same edit in a warm process | " + " | ".join(str(s["in_process_s"]) for s in summary.values()) + " |",
             "| `edit` overhead (fresh process − warm edit) | " + " | ".join(str(s["edit_overhead_s"]) for s in summary.values()) + " |"]
    md = "\n".join(lines)
    write_report(args.out, {"trees": trees, "times": times, "summary": summary}, md)
    return 0


if __name__ == "__main__":
    sys.exit(main())

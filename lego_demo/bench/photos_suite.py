"""Real photos from skimage.data at 512/1024/2048 px: latency per brick and end to end, peak
memory, cold start, and what the step cache saves on a re-plan after feedback."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from ..errors import LegoError
from ..images import save_png
from .common import peak_rss_mb, percentile

PHOTOS = {  # skimage.data photo -> an instruction the offline engines can do
    "astronaut": "blur the background",
    "coffee": "turn it into a pencil sketch",
    "chelsea": "make the image brighter",
}
REPLAN = ("astronaut", "blur the background", "stronger")


def photo(name: str, side: int) -> np.ndarray:
    from skimage import data

    img = getattr(data, name)()
    h, w = img.shape[:2]
    scale = side / max(h, w)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=interp)


def cold_start(side: int = 1024) -> float | None:
    """A new process: import, plan and run one edit, write the files."""
    name, instruction = "astronaut", PHOTOS["astronaut"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.png"
        save_png(photo(name, side), path)
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "lego_demo", "edit", str(path), "--instruction", instruction,
                            "--out", str(Path(tmp) / "out")], capture_output=True, text=True,
                           cwd=Path(__file__).resolve().parents[2])
        return round(time.perf_counter() - t0, 3) if r.returncode == 0 else None


def replan_ratio(editor) -> dict:
    name, instruction, feedback = REPLAN
    image = photo(name, 1024)
    editor.executor.cache.clear()
    t0 = time.perf_counter()
    plan, _ = editor.edit(instruction, image)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, again = editor.edit(instruction, image, feedback=[feedback], previous=plan)
    second = time.perf_counter() - t0
    return {"instruction": instruction, "feedback": feedback, "first_s": round(first, 4), "second_s": round(second, 4),
            "ratio": round(second / first, 3), "cached_steps": again.cached, "executed_steps": again.executed}


def run(editor, quick: bool = False) -> dict:
    sides = [512, 1024] if quick else [512, 1024, 2048]
    repeats = 2 if quick else 5
    per_brick: dict[str, list[float]] = defaultdict(list)
    end_to_end: dict[int, list[float]] = defaultdict(list)
    errors = []
    for side in sides:
        for name, instruction in PHOTOS.items():
            image = photo(name, side)
            for _ in range(repeats):
                editor.executor.cache.clear()  # every repeat runs every step
                t0 = time.perf_counter()
                try:
                    _, result = editor.edit(instruction, image)
                except LegoError as exc:
                    errors.append(f"{name} {side}px {instruction!r}: {exc}")
                    break
                end_to_end[side].append(time.perf_counter() - t0)
                for step in result.trace:
                    per_brick[f"{step.brick}@{side}"].append(step.seconds)
    return {
        "end_to_end": {str(s): {"n": len(v), "p50_s": percentile(v, 50), "p95_s": percentile(v, 95)}
                       for s, v in end_to_end.items()},
        "per_brick": {k: {"n": len(v), "p50_s": percentile(v, 50)} for k, v in sorted(per_brick.items())},
        "replan": replan_ratio(editor),
        "cold_start_s": cold_start(),
        "peak_rss_mb": peak_rss_mb(),
        "photos": PHOTOS,
        "errors": errors,
    }


def markdown(report: dict) -> str:
    lines = ["| size (long side) | edits | p50 s | p95 s |", "|---|---|---|---|"]
    for side, e in report["end_to_end"].items():
        lines.append(f"| {side} px | {e['n']} | {e['p50_s']} | {e['p95_s']} |")
    lines += ["", "| brick @ size | runs | p50 s |", "|---|---|---|"]
    lines += [f"| {k} | {v['n']} | {v['p50_s']} |" for k, v in report["per_brick"].items()]
    r = report["replan"]
    lines += ["", f"- re-plan after feedback '{r['feedback']}' on '{r['instruction']}' (1024 px): "
              f"{r['second_s']} s vs first run {r['first_s']} s = **{r['ratio'] * 100:.0f}%** "
              f"(cached steps {r['cached_steps']}, executed {r['executed_steps']})",
              f"- cold start (new process: import, plan, run, write; 1024 px): {report['cold_start_s']} s",
              f"- peak RSS of the benchmark process: {report['peak_rss_mb']} MB"]
    if report["errors"]:
        lines.append("- errors: " + "; ".join(report["errors"]))
    return "\n".join(lines)

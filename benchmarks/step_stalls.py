"""How long each classical step runs and how long it holds the GIL, at the working size, with
the largest inputs the validator lets through (issue 21: can one request stall the others?).

    python benchmarks/step_stalls.py                 # 2048 px (the working size limit)
    python benchmarks/step_stalls.py --side 1024 --only TEXT RES
    python benchmarks/step_stalls.py --stop 0.3       # also: how soon a step is stopped
    python benchmarks/step_stalls.py --cli 1 --only TEXT   # and how soon the CLI exits past a limit

While a step runs in the Executor, a ticker thread sleeps 1 ms at a time and records how late
it wakes: a step running Python code lets it in every 5 ms (the interpreter's switch interval),
a native call that holds the GIL keeps it out for the whole call. "stall" is the longest such
wait; "p99" the 99th percentile. The first run of a case loads its lazy helpers (mediapipe,
the OCR detector); the figures are the slower of two further runs. Not a test: timings depend
on the machine; run it on a quiet one.

With `--stop S`, each case that runs longer than S seconds is run once more under a step time
limit of S, and "stopped" is how long after the limit its thread really ended (it gets the stop
at its next Python instruction, so this is the longest native call still running then).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import skimage.data as data

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lego_demo.errors import LegoError, StepError, StepTimeout  # noqa: E402
from lego_demo.executor import Executor  # noqa: E402
from lego_demo.registry import Registry  # noqa: E402
from lego_demo.workflow import parse_workflow  # noqa: E402

LONG_PROMPT = ("the face of the person on the left with dark hair " * 40)[:1000]


def photo(name: str, side: int) -> np.ndarray:
    if name == "sign":  # a photo with large printed words, for OCR
        img = photo("coffee", side)
        for i, word in enumerate(("OPEN DAILY", "FRESH COFFEE")):
            cv2.putText(img, word, (side // 10, side // 8 * (i + 1)), cv2.FONT_HERSHEY_DUPLEX, side / 400,
                        (255, 255, 255), max(2, side // 200), cv2.LINE_AA)
        return img
    img = getattr(data, name)()
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    f = side / max(img.shape[:2])
    return np.ascontiguousarray(cv2.resize(img[..., :3], None, fx=f, fy=f, interpolation=cv2.INTER_CUBIC))


def one_step(brick: str, inputs: dict, outputs: tuple[str, ...] = ("image",)) -> dict:
    return {"process": brick, "pipeline": [
        {"step": 1, "model": brick, "input": inputs, "output": {o: f"step1[{o}]" for o in outputs}},
        {"result": "[" + ", ".join(f"step1[{o}]" for o in outputs if o in ("image", "mask")) + "]"}]}


IMG, MASK = "init[image]", "init[mask]"
CASES = {  # name: (photo, workflow); the mask is a disc over ~28% of the image
    "TEXT 500 chars": ("astronaut", one_step("TEXT", {"image": IMG, "text": "W" * 500, "position": "top"})),
    "TEXT replace all (OCR)": ("sign", one_step("TEXT", {"image": IMG, "text": "W" * 500, "replace": "all"})),
    "RES 1000-char prompt": ("astronaut", one_step("RES", {"image": IMG, "prompt": LONG_PROMPT}, ("mask",))),
    "RES face (mediapipe)": ("astronaut", one_step("RES", {"image": IMG, "prompt": "the face"}, ("mask",))),
    "RES person": ("astronaut", one_step("RES", {"image": IMG, "prompt": "the person"}, ("mask",))),
    "SOS": ("chelsea", one_step("SOS", {"image": IMG}, ("mask",))),
    "MASK-SEG": ("chelsea", one_step("MASK-SEG", {"image": IMG, "mask": MASK}, ("mask",))),
    "ADD-PRED": ("coffee", one_step("ADD-PRED", {"image": IMG, "prompt": "a small red apple"}, ("mask",))),
    "FASTINPAINT": ("coffee", one_step("FASTINPAINT", {"image": IMG, "mask": MASK})),
    "INPAINT": ("coffee", one_step("INPAINT", {"image": IMG, "mask": MASK, "preimage": IMG, "score": 0})),
    "FILL": ("coffee", one_step("FILL", {"image": IMG, "mask": MASK, "prompt": "a red ball"})),
    "CBG": ("astronaut", one_step("CBG", {"image": IMG, "mask": MASK, "prompt": "blurred"})),
    "ENV": ("astronaut", one_step("ENV", {"image": IMG, "prompt": "snowy winter night"})),
    "STYLE": ("astronaut", one_step("STYLE", {"image": IMG, "style": "oil painting"})),
    "RCM gold": ("chelsea", one_step("RCM", {"image": IMG, "mask": MASK, "prompt": "gold"})),
    "RCM wood": ("chelsea", one_step("RCM", {"image": IMG, "mask": MASK, "prompt": "wood"})),
    "COLORPOP": ("chelsea", one_step("COLORPOP", {"image": IMG, "mask": MASK})),
    "BLUR-REGION 1": ("chelsea", one_step("BLUR-REGION", {"image": IMG, "mask": MASK, "strength": 1})),
    "PIXELATE 2 px": ("chelsea", one_step("PIXELATE", {"image": IMG, "mask": MASK, "block": 2})),
    "GROW 0.25": ("chelsea", one_step("GROW", {"mask": MASK, "amount": 0.25}, ("mask",))),
    "GROW -0.25": ("chelsea", one_step("GROW", {"mask": MASK, "amount": -0.25}, ("mask",))),
    "RESIZE mask ×16": ("chelsea", one_step("RESIZE", {"mask": MASK, "ratio": 16}, ("mask",))),
    "ROTATE 45": ("chelsea", one_step("ROTATE", {"image": IMG, "angle": 45})),
    "CMI-PRED 4,4,4,4": ("chelsea", one_step("CMI-PRED", {"image": IMG, **{f"{s}_ratio": 4 for s in
                                                               ("left", "right", "top", "bottom")}}, ("image", "mask"))),
    "TONE": ("chelsea", one_step("TONE", {"image": IMG, "brightness": 1, "contrast": 1, "saturation": 1})),
    "EXTRACT": ("chelsea", one_step("EXTRACT", {"image": IMG, "mask": MASK})),
    "FLIP": ("chelsea", one_step("FLIP", {"image": IMG, "direction": "vertical"})),
}


class Ticker:
    """Measures how late a 1 ms sleep wakes up while something else runs."""

    def __init__(self):
        self.gaps: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            t = time.perf_counter()
            time.sleep(0.001)
            self.gaps.append(time.perf_counter() - t - 0.001)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def measure(registry: Registry, image: np.ndarray, mask: np.ndarray, workflow: dict) -> dict:
    wf = parse_workflow(workflow).workflow
    Executor(registry).run(wf, image, mask)  # warm: lazy helpers load here
    runs = []
    for _ in range(2):
        executor = Executor(registry)  # a fresh cache: the step runs
        with Ticker() as ticker:
            t = time.perf_counter()
            executor.run(wf, image, mask)
            seconds = time.perf_counter() - t
        gaps = sorted(ticker.gaps) or [0.0]
        runs.append({"seconds": seconds, "stall_ms": 1000 * gaps[-1],
                     "p99_ms": 1000 * gaps[min(len(gaps) - 1, int(0.99 * len(gaps)))]})
    return max(runs, key=lambda r: r["stall_ms"])


def stop_delay(registry: Registry, image: np.ndarray, mask: np.ndarray, workflow: dict, limit: float) -> float | None:
    """Seconds from the step time limit to the end of the step's thread (None: it finished in time)."""
    wf = parse_workflow(workflow).workflow
    t = time.perf_counter()
    try:
        Executor(registry, step_timeout=limit).run(wf, image, mask)
        return None
    except StepTimeout:
        pass
    except StepError as exc:
        if not isinstance(exc.cause, StepTimeout):
            raise
    for thread in threading.enumerate():
        if thread.name.startswith("lego-step"):
            thread.join()
    return time.perf_counter() - t - limit


def cli_exit_delay(image: np.ndarray, mask: np.ndarray, workflow: dict, limit: float) -> float | None:
    """Seconds from the step time limit to the CLI's exit: the step's own report of when it
    failed (its progress line) plus the time from that line to the end of the process (None: the
    step finished in time)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cv2.imwrite(str(folder / "in.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(folder / "mask.png"), mask.astype(np.uint8) * 255)
        (folder / "wf.json").write_text(json.dumps(workflow))
        proc = subprocess.Popen([sys.executable, "-m", "lego_demo", "--step-timeout", str(limit), "run",
                                 str(folder / "wf.json"), "--image", str(folder / "in.png"), "--mask",
                                 str(folder / "mask.png"), "--out", str(folder / "out")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        failed_after = None
        for line in proc.stderr:
            found = re.search(r"· failed (\d+\.\d+) s", line)
            if found:
                failed_after, seen = float(found.group(1)) - limit, time.perf_counter()
        proc.wait()
        if failed_after is None:
            return None
        return failed_after + (time.perf_counter() - seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--side", type=int, default=2048, help="longer side of the photos (default 2048)")
    parser.add_argument("--only", nargs="*", help="case names starting with these words")
    parser.add_argument("--stop", type=float, metavar="S", help="also measure stopping under a limit of S seconds")
    parser.add_argument("--cli", type=float, metavar="S", help="also measure the CLI's exit under a limit of S seconds")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    registry = Registry.discover()
    rows = []
    print(f"| step ({args.side} px) | seconds | longest stall of another thread | p99 stall | stopped after the limit |")
    print("|---|---:|---:|---:|---:|")
    for name, (photo_name, workflow) in CASES.items():
        if args.only and not any(name.startswith(o) for o in args.only):
            continue
        image = photo(photo_name, args.side)
        h, w = image.shape[:2]
        mask = np.zeros((h, w), np.uint8)
        cv2.ellipse(mask, (w // 2, h // 2), (int(0.3 * w), int(0.3 * h)), 0, 0, 360, 1, -1)
        try:
            row = {"case": name, "size": f"{w}x{h}", **measure(registry, image, mask.astype(bool), workflow)}
        except LegoError as exc:
            print(f"| {name} | failed: {str(exc)[:120]} | | | |", flush=True)
            continue
        stopped = ""
        if args.stop and row["seconds"] > args.stop:
            row["stopped_s"] = stop_delay(registry, image, mask.astype(bool), workflow, args.stop)
            stopped = "finished in time" if row["stopped_s"] is None else f"{row['stopped_s']:.2f} s"
        if args.cli and row["seconds"] > args.cli:
            row["cli_exit_s"] = cli_exit_delay(image, mask.astype(bool), workflow, args.cli)
            if row["cli_exit_s"] is not None:
                stopped += f"; CLI exits {row['cli_exit_s']:.2f} s after the limit"
        rows.append(row)
        print(f"| {name} | {row['seconds']:.2f} | {row['stall_ms']:.0f} ms | {row['p99_ms']:.0f} ms | {stopped} |",
              flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()

"""Do small edits wait for a big one running beside them? (issue 21: one request must not stall others)

    python benchmarks/heavy_beside_light.py [--heavy res chain text] [--edits 12]

In one process and one Editor (as the app's sessions share them, without HTTP): 4 threads
each run `--edits` edits on their own 320×240 scene (idle p95), then the same while a fifth
thread runs, over and over, one 2048-px request the bounds accept (the worst-requests
benchmark's): `res` — RES with a 1,000-character prompt, `chain` — the longest SOS + CBG chain
the work budget accepts, `text` — TEXT with 500 characters. Each heavy kind is measured twice,
side by side: with the project's `cached_property` (lego_demo/lazy.py) and with Python 3.11's
`functools.cached_property`, whose one lock per attribute, shared by every instance, made every
request's image analyses (grounding.Facts) wait for the big one's. Step cache off. Prints a
Markdown table; times depend on the machine (name it, and whether it was quiet).
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import app_worst_requests as worst  # noqa: E402  (the worst requests, as that benchmark sends them)
import numpy as np  # noqa: E402

INSTRUCTIONS = worst.INSTRUCTIONS


def locking(enabled: bool) -> None:
    """Use functools' locking cached_property for the image analyses (or the project's again)."""
    from lego_demo import grounding, lazy, regions

    for cls in (grounding.Facts, regions.Region):
        for name, attr in list(vars(cls).items()):
            func = getattr(attr, "func", None)
            if func is None or not isinstance(attr, (functools.cached_property, lazy.cached_property)):
                continue
            new = functools.cached_property(func) if enabled else lazy.cached_property(func)
            new.__set_name__(cls, name)
            setattr(cls, name, new)


def p95(values: list[float]) -> float:
    s = sorted(values)
    return s[int(0.95 * (len(s) - 1))]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--heavy", nargs="+", default=["res", "chain", "text"], choices=["res", "chain", "text"])
    p.add_argument("--edits", type=int, default=12, help="edits per small-edit thread per phase")
    args = p.parse_args(argv)

    from PIL import Image
    from skimage import data

    from lego_demo.editor import Editor, EditorConfig
    from lego_demo.synthetic import make_scene

    editor = Editor.from_config(EditorConfig(cache_bytes=0))
    scenes = [make_scene(*worst.SIZE, background_kind=("stripes", "tiles", "checker", "gradient")[i], seed=200 + i)
              for i in range(4)]
    big = np.asarray(Image.fromarray(data.astronaut()).resize((2048, 2048), Image.LANCZOS))
    caps = worst._caps()
    heavy = {"res": lambda: editor.run(worst._prompt(caps["str"]), big),
             "chain": lambda: editor.run(worst._chain(caps["steps"]), big),
             "text": lambda: editor.run(worst._text(min(500, caps["str"])), big)}

    def small_edits() -> list[float]:
        latencies: list[float] = []

        def one(scene):
            a, b = scene.objects[0].name, scene.objects[1].name
            for k in range(args.edits):
                t0 = time.perf_counter()
                try:
                    editor.edit(INSTRUCTIONS[k % len(INSTRUCTIONS)].format(a=a, b=b), scene.image)
                except Exception:  # a declined edit still did its work
                    pass
                latencies.append(time.perf_counter() - t0)

        threads = [threading.Thread(target=one, args=(s,)) for s in scenes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return latencies

    def beside(kind: str) -> list[float]:
        stop = threading.Event()

        def loop():
            while not stop.is_set():
                try:
                    heavy[kind]()
                except Exception:  # refused, too heavy, found nothing: it still ran
                    pass

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        time.sleep(0.5)
        try:
            return small_edits()
        finally:
            stop.set()
            thread.join(120)

    small_edits()  # warm-up: lazy helpers load
    rows = []
    for kind in args.heavy:
        for lock in (False, True):
            locking(lock)
            idle, loaded = small_edits(), beside(kind)
            rows.append((kind, "functools (3.11, one lock)" if lock else "lego_demo.lazy (no lock)",
                         statistics.median(idle), p95(idle), statistics.median(loaded), p95(loaded)))
            print(rows[-1], flush=True)
    locking(False)
    print(f"\n4 threads × {args.edits} edits at {worst.SIZE[0]}×{worst.SIZE[1]} beside one looping 2048-px request, "
          f"Python {platform.python_version()}; machine: {platform.node()} · "
          f"{platform.processor() or platform.machine()} · {os.cpu_count()} CPUs\n")
    print("| beside | cached_property | idle p50 s | idle p95 s | p50 s | p95 s | p95 ratio |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for kind, lock, i50, i95, l50, l95 in rows:
        print(f"| {kind} | {lock} | {i50:.3f} | {i95:.3f} | {l50:.3f} | {l95:.3f} | {l95 / i95:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

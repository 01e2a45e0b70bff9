"""Foundation figures: import time of `lego_demo`, and what the step cache saves when a
4-step workflow is re-run with only its last step's literal changed.

Usage: python benchmarks/core_bench.py   (prints a Markdown section for BENCHMARKS.md)
"""

from __future__ import annotations

import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lego_demo.executor import Executor  # noqa: E402
from lego_demo.registry import Registry  # noqa: E402
from lego_demo.workflow import parse_workflow  # noqa: E402

WF = """{{"process": "box, invert, resize, brighten", "pipeline": [
  {{"step": 1, "model": "BBOX", "input": {{"mask": "init[mask]"}}, "output": {{"mask": "step1[mask]"}}}},
  {{"step": 2, "model": "INVERSE", "input": {{"mask1": null, "mask2": "step1[mask]"}}, "output": {{"mask": "step2[mask]"}}}},
  {{"step": 3, "model": "RESIZE", "input": {{"image": "init[image]", "ratio": 0.9}}, "output": {{"image": "step3[image]"}}}},
  {{"step": 4, "model": "BRIGHT", "input": {{"image": "step3[image]", "ratio": {ratio}}}, "output": {{"image": "step4[image]"}}}},
  {{"result": "[step2[mask], step4[image]]"}}]}}"""


def import_seconds(runs: int = 7) -> list[float]:
    code = "import time; t=time.perf_counter(); import lego_demo, lego_demo.cli; print(time.perf_counter()-t)"
    out = []
    for _ in range(runs):
        r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
        out.append(float(r.stdout))
    return out


def cache_figures(size: int = 1024, repeats: int = 5) -> tuple[float, float, list[int]]:
    registry = Registry.discover([ROOT / "examples/plugins/bright.py"])
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    mask = np.zeros((size, size), bool)
    mask[size // 4 : size // 2, size // 3 : size // 2] = True
    firsts, seconds, executed = [], [], []
    for i in range(repeats):
        ex = Executor(registry)
        t = time.perf_counter()
        ex.run(parse_workflow(WF.format(ratio=0.6)).workflow, image, mask)
        firsts.append(time.perf_counter() - t)
        t = time.perf_counter()
        again = ex.run(parse_workflow(WF.format(ratio=0.7 + i / 100)).workflow, image, mask)
        seconds.append(time.perf_counter() - t)
        executed = again.executed
    return statistics.median(firsts), statistics.median(seconds), executed


def main() -> None:
    imports = import_seconds()
    first, second, executed = cache_figures()
    print(f"### Foundation ({time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, "
          f"{__import__('os').cpu_count()} cores, Python {platform.python_version()})\n")
    print("| figure | value |\n|---|---|")
    print(f"| `import lego_demo, lego_demo.cli` (fresh interpreter, median of {len(imports)}) | "
          f"{statistics.median(imports) * 1000:.0f} ms (max {max(imports) * 1000:.0f} ms) |")
    print(f"| 4-step workflow at 1024 px, first run (median of 5) | {first * 1000:.1f} ms |")
    print(f"| same workflow, last step's literal changed (steps executed: {executed}) | {second * 1000:.1f} ms |")
    print(f"| re-run ÷ first run | {second / first:.2f} |")


if __name__ == "__main__":
    main()

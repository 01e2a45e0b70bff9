"""How fast the rule Builder plans: every instruction of tests/data/instructions.jsonl,
parse + plan + validate, cold (first pass, empty caches) and warm (best of N further passes); and
end to end through `python -m lego_demo plan --batch` on each instruction set, start-up included
(a fresh process per run: wall time and the process's CPU time, median of N runs).

Usage: python benchmarks/planning_speed.py [--repeat 5]   (prints a Markdown section for BENCHMARKS.md)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lego_demo.builders.base import PlanRequest  # noqa: E402
from lego_demo.builders.rule import RuleBuilder  # noqa: E402
from lego_demo.registry import Registry  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rows = [json.loads(x) for x in (ROOT / "tests/data/instructions.jsonl").read_text().splitlines() if x.strip()]
    requests = [PlanRequest(r["instruction"], has_mask=bool(r.get("has_mask"))) for r in rows]
    registry = Registry.discover([ROOT / "examples/plugins/bright.py"])
    builder = RuleBuilder(registry)

    def one_pass() -> tuple[float, int, int]:
        start = time.perf_counter()
        planned = declined = 0
        for req in requests:
            plan = builder.plan(req)
            planned += plan.workflow is not None
            declined += plan.workflow is None
        return time.perf_counter() - start, planned, declined

    cold, planned, declined = one_pass()
    warm = min(one_pass()[0] for _ in range(max(1, args.repeat)))
    n = len(requests)
    print("## Rule Builder planning speed\n")
    print(f"{n} instructions (tests/data/instructions.jsonl), parse + plan + validate each, one process, "
          f"Python {platform.python_version()} on {platform.machine()} ({platform.processor() or 'cpu'})\n")
    print("| pass | seconds | instructions/s | ms/instruction |")
    print("|---|---|---|---|")
    print(f"| cold (first) | {cold:.3f} | {n / cold:.0f} | {1000 * cold / n:.2f} |")
    print(f"| warm (best of {args.repeat}) | {warm:.3f} | {n / warm:.0f} | {1000 * warm / n:.2f} |")
    print(f"\nplanned {planned}, declined {declined} (registry: {len(registry)} bricks)")
    print("\n`plan --batch` end to end, one fresh process per run (import, brick discovery, planning, writing "
          f"the JSONL), median of {args.repeat}:\n")
    print("| set | instructions | wall s | instructions/s (wall) | CPU s | instructions/s (CPU) |")
    print("|---|---|---|---|---|---|")
    for name in ("instructions", "blind1", "blind2", "blind3", "blind4", "blind5"):
        path = ROOT / "tests/data" / f"{name}.jsonl"
        if not path.is_file():
            continue
        count = sum(1 for x in path.read_text(encoding="utf-8").splitlines() if x.strip())
        walls, cpus = [], []
        for _ in range(max(1, args.repeat)):
            wall, cpu = _batch(path)
            walls.append(wall)
            cpus.append(cpu)
        w, c = statistics.median(walls), statistics.median(cpus)
        print(f"| {path.name} | {count} | {w:.2f} | {count / w:.0f} | {c:.2f} | {count / c:.0f} |")


def _batch(path: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one `plan --batch` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "lego_demo", "--bricks", str(ROOT / "examples/plugins/bright.py"), "plan",
                        "--batch", str(path), "--out", os.path.join(tmp, "out.jsonl")], cwd=ROOT, check=True,
                       capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


if __name__ == "__main__":
    main()

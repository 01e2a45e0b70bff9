"""How fast the rule Builder plans: every instruction of tests/data/instructions.jsonl,
parse + plan + validate, cold (first pass, empty caches) and warm (best of N further passes).

Usage: python benchmarks/planning_speed.py [--repeat 5]   (prints a Markdown section for BENCHMARKS.md)
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
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


if __name__ == "__main__":
    main()

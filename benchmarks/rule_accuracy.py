"""How often the offline rule Builder writes the right plan (bricks, target, value) on the
instruction sets in tests/data, with the error classes of the misses.

    python benchmarks/rule_accuracy.py [--set tests/data/blind1.jsonl ...] [--misses]

Prints a Markdown table for BENCHMARKS.md. The registry is the one the tests use (bricks/ +
the BRIGHT plugin).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lego_demo.bench.plan_judge import evaluate  # noqa: E402
from lego_demo.builders.rule import RuleBuilder  # noqa: E402
from lego_demo.registry import Registry  # noqa: E402

SETS = ("instructions.jsonl", "blind1.jsonl", "blind2.jsonl", "blind3.jsonl", "blind4.jsonl", "blind5.jsonl")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--set", action="append", help="JSONL instruction set(s) with expected plans")
    ap.add_argument("--misses", action="store_true", help="list every miss")
    args = ap.parse_args()
    paths = [Path(p) for p in args.set] if args.set else [ROOT / "tests/data" / n for n in SETS]
    builder = RuleBuilder(Registry.discover([ROOT / "examples/plugins/bright.py"]))
    print("| set | instructions | right plan | accuracy | error classes (count) |")
    print("|---|---|---|---|---|")
    reports = []
    for path in paths:
        if not path.is_file():
            continue
        rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
        rows = [r for r in rows if "expect" in r]
        rep = evaluate(builder, rows)
        reports.append((path, rows, rep))
        errs = ", ".join(f"{k} {v}" for k, v in rep["errors"].items()) or "—"
        print(f"| {path.name} | {rep['n']} | {rep['right']} | {rep['accuracy']:.1%} | {errs} |")
    for path, rows, rep in reports:
        styles = Counter(r.get("style", r.get("family", "?")) for r in rows)
        wrong = Counter(r.get("style", r.get("family", "?")) for r in rows
                        if any(m["id"] == r.get("id") for m in rep["misses"]))
        print(f"\n{path.name} by style: " + ", ".join(
            f"{s} {styles[s] - wrong[s]}/{styles[s]}" for s in sorted(styles)))
        if args.misses:
            for m in rep["misses"]:
                print(f"  {m['id']} [{m['error']}] {m['instruction']!r} -> {m['got']}")


if __name__ == "__main__":
    main()

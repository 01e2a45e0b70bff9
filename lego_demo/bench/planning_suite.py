"""Throughput and validity of a Builder over an instruction file (JSONL with "instruction",
optional "family", "has_mask", "feedback")."""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..builders.base import PlanRequest

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "tests" / "data" / "instructions.jsonl"


def run(editor, path: str | Path = DEFAULT_FILE, quick: bool = False) -> dict:
    rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    if quick:
        rows = rows[:200]
    builder = editor.builder
    valid = declined = invalid = 0
    t0 = time.perf_counter()
    for row in rows:
        feedback = row.get("feedback") or []
        plan = builder.plan(PlanRequest(row["instruction"], has_mask=bool(row.get("has_mask"))),
                            feedback=[feedback] if isinstance(feedback, str) else feedback)
        if plan.workflow is not None and not plan.problems:
            valid += 1
        elif plan.workflow is None and plan.declined:
            declined += 1
        else:
            invalid += 1
    seconds = time.perf_counter() - t0
    return {"file": str(path), "builder": builder.name, "n": len(rows), "valid": valid, "declined": declined,
            "invalid": invalid, "seconds": round(seconds, 3), "per_second": round(len(rows) / max(seconds, 1e-9), 1)}


def markdown(report: dict) -> str:
    return (f"| builder | instructions | valid plans | declined | invalid | instructions/s |\n|---|---|---|---|---|---|\n"
            f"| {report['builder']} | {report['n']} | {report['valid']} | {report['declined']} | {report['invalid']} | "
            f"{report['per_second']} |")

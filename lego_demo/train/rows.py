"""Training rows on disk (JSONL) and what a trainer makes of them: the Builder's prompt and the
target answer.

A row: {"id", "image", "mask" | null, "has_mask", "instruction", "feedback": [...],
"reasoning" | null, "workflow" | null, "family", "bricks"}. Paths are relative to the JSONL's
folder. A row with a workflow (the target) serves stage 1 (SFT) and stage 2 (RL with targets);
a row without one is an open-domain row for stage 3.

The prompt is the one the model Builders send at inference (`build_prompt` + `first_messages`,
the image first in one user turn), and the target answer is written the way the few-shot
examples in that prompt are (`<think>reasoning</think>` + indented official JSON), so a trained
model answers in the format it is shown.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..builders.base import PlanRequest
from ..builders.llm_loop import first_messages
from ..builders.prompt import build_prompt, init_values
from ..errors import BadInput
from ..feedback import parse_feedback
from ..registry import Registry
from ..validate import validate
from ..workflow import parse_workflow


def completion_text(reasoning: str | None, workflow: dict) -> str:
    """The answer a trained Builder should write: the few-shot examples' format."""
    think = f"<think>{reasoning.strip()}</think>\n" if reasoning and reasoning.strip() else ""
    return think + json.dumps(workflow, indent=2, ensure_ascii=False)


def prompt_messages(registry: Registry, row: dict, image: Any, system_role: bool = False) -> list[dict]:
    """The Builder's opening turn(s) for this row, as backend-neutral messages with one
    {"type": "image"} placeholder (the MLLM Builder's prompt, byte for byte)."""
    request = PlanRequest(row["instruction"], image=image, has_mask=bool(row.get("has_mask")))
    prompt = build_prompt(registry, request, list(row.get("feedback") or []))
    return first_messages(prompt, with_image=image is not None, system_role=system_role)


def check_target(registry: Registry, row: dict) -> list[str]:
    """Problems of the row's target workflow against this registry and the row's feedback
    (empty: the target is valid and honours every ban and requirement)."""
    try:
        parsed = parse_workflow(row["workflow"])
    except BadInput as exc:
        return [str(exc)]
    constraints = parse_feedback(list(row.get("feedback") or []), registry)
    checked = validate(parsed.workflow, registry, banned=constraints.banned, required=constraints.required,
                       init_values=init_values(bool(row.get("has_mask"))))
    return [str(p) for p in checked.problems]


def write_rows(path: Path, rows: Iterable[dict]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def relative(path: Path, folder: Path) -> str:
    """`path` as written in a row: relative to the JSONL's folder where it lies below it."""
    try:
        return str(path.resolve().relative_to(folder.resolve()))
    except ValueError:
        return str(path.resolve())


def read_rows(path: str | Path, registry: Registry | None = None) -> list[dict]:
    """Rows with their image/mask paths made absolute. With a registry, every target is
    validated against it (a dataset made with other plugins fails here, naming the row)."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"data file {str(path)!r}: no such file (make one with `train data`)")
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict) or not isinstance(row.get("instruction"), str):
                raise ValueError("no instruction")
        except (json.JSONDecodeError, ValueError):
            raise BadInput(f"{path} line {lineno}: expected a JSON object with an \"instruction\"") from None
        for key in ("image", "mask"):
            if row.get(key):
                file = Path(row[key])
                row[key] = str(file if file.is_absolute() else (path.parent / file).resolve())
        feedback = row.get("feedback") or []
        row["feedback"] = [feedback] if isinstance(feedback, str) else list(feedback)
        row.setdefault("id", f"line-{lineno}")
        if registry is not None and row.get("workflow") is not None:
            problems = check_target(registry, row)
            if problems:
                raise BadInput(f"{path} line {lineno}: the target workflow is not valid here: {'; '.join(problems[:3])}")
        rows.append(row)
    if not rows:
        raise BadInput(f"data file {str(path)!r} holds no rows")
    return rows

"""What the page shows, computed from session objects: captions, problem lists, the bricks
table, the graph image. Plain functions returning PIL images / strings (no Gradio)."""

from __future__ import annotations

import html
import io
import json
from collections.abc import Mapping

import numpy as np
from PIL import Image

from ..executor import RunResult, StepEvent
from ..images import to_pil
from ..registry import Registry
from ..workflow import Workflow
from .session import Session, ThinkRun, Turn

GALLERY_MAX_SIDE = 384
HISTORY_MAX_SIDE = 256


def caption(step: int, brick: str, engine: str, seconds: float, cached: bool, output: str = "",
            extra: str = "") -> str:
    """`step 2 · RES · grounding · 0.12 s · cached · mask`."""
    text = f"step {step} · {brick} · {engine} · {seconds:.2f} s"
    if cached:
        text += " · cached"
    if output:
        text += f" · {output}"
    if extra:
        text += f" ({extra})"
    return text


def thumbnail(value: np.ndarray, max_side: int = GALLERY_MAX_SIDE) -> Image.Image:
    im = to_pil(value)
    im.thumbnail((max_side, max_side))
    return im


def gallery_items(run: RunResult) -> list[tuple[Image.Image, str]]:
    """Every step's image and mask outputs, in run order, each captioned with its step."""
    items = []
    for t in run.trace:
        outputs = run.values.get(t.step, {})
        scalars = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k}: {str(v)[:60]}"
                            for k, v in outputs.items() if not isinstance(v, np.ndarray))
        for name, value in outputs.items():
            if isinstance(value, np.ndarray):
                items.append((thumbnail(value),
                              caption(t.step, t.brick, t.engine, t.seconds, t.cache_hit, name, scalars)))
    return items


def problems_markdown(problems) -> str:
    if not problems:
        return ""
    lines = [f"**{len(problems)} problem(s) in the workflow:**"]
    lines += [f"- {html.escape(str(p))}" for p in problems]
    return "\n".join(lines)


def graph_image(workflow: Workflow | None, registry: Registry, status: Mapping[int, str] | None = None,
                width_px: int = 900) -> Image.Image | None:
    if workflow is None:
        return None
    from ..graph import render_png

    try:
        png = render_png(workflow, registry, status=status, width_px=width_px)
    except Exception:  # a graph that cannot be drawn must not hide the result
        return None
    return Image.open(io.BytesIO(png)).convert("RGB")


def png_result(image: np.ndarray | None) -> str | None:
    """A result as a PNG file in Gradio's cache, written with zlib level 1 (lossless): Gradio's
    own encoding of an array uses the default level, ~4× slower (~0.2 s for a 1024-px result,
    ~0.8 s at 2048 px, on every API call). Named by content, as Gradio names its files."""
    if image is None:
        return None
    import hashlib
    from pathlib import Path

    from gradio.utils import get_upload_folder

    buf = io.BytesIO()
    to_pil(image).save(buf, format="PNG", compress_level=1)
    data = buf.getvalue()
    path = Path(get_upload_folder()) / hashlib.sha256(data).hexdigest()[:40] / "result.png"
    if not path.exists():  # written under another name, then renamed: never seen half-written
        import os
        import tempfile

        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    return str(path)


def step_line(event: StepEvent) -> str:
    if event.status == "running":
        return f"step {event.step} ({event.index}/{event.total}) · {event.brick} · {event.engine} · running…"
    extra = f" — {event.error}" if event.error else ""
    return (f"step {event.step} ({event.index}/{event.total}) · {event.brick} · {event.engine} · "
            f"{event.status} in {event.seconds:.2f} s{extra}")


def turn_status(turn: Turn) -> str:
    h, w = turn.image.shape[:2]
    bricks = " → ".join(f"{s.number} {s.brick}" for s in turn.workflow.steps)
    lines = [f"**Done — {html.escape(turn.title)}.** {turn.summary().capitalize()}.",
             f"Workflow: {bricks}. Input: {w}×{h} image" + (" + your mask." if turn.mask is not None else ".")]
    if turn.cached:
        lines.append(f"Re-used from the step cache: step(s) {', '.join(map(str, turn.cached))} "
                     "(shown blue in the graph, marked *cached* in the gallery).")
    if turn.run.repairs:
        lines.append("Repaired while reading the workflow: " + "; ".join(html.escape(r) for r in turn.run.repairs))
    return "\n\n".join(lines)


def feedback_markdown(session: Session) -> str:
    if not session.feedback:
        return "*No feedback yet. Tell the Builder what to change, e.g. “don't use RES”, then Re-plan.*"
    items = "\n".join(f"{i}. {html.escape(f)}" for i, f in enumerate(session.feedback, 1))
    return f"**Feedback for this task** (sent with every re-plan):\n{items}"


def history_items(session: Session) -> list[tuple[Image.Image, str]]:
    """One item per kept turn (a grey tile for a turn whose result is not an image), so the
    gallery's index is the turn's index. Each thumbnail is made once, when the turn is first
    shown: a longer history costs no new resizing."""
    items = []
    for turn in session.turns:
        if turn.thumbnail is None:
            image = turn.result_image
            turn.thumbnail = thumbnail(image, HISTORY_MAX_SIDE) if image is not None else \
                Image.new("RGB", (HISTORY_MAX_SIDE, HISTORY_MAX_SIDE // 2), (128, 128, 128))
        items.append((turn.thumbnail, turn.title))
    return items


# -- Think-while-Edit -----------------------------------------------------------------------------
def think_turn_line(turn, best: bool = False) -> str:
    """`turn 2 · semantic 10.0 · quality 10.0 · plan RES → GROW → … · cached steps 1 · 0.35 s`."""
    parts = [f"turn {turn.index}"]
    c = turn.critique
    if c is not None:
        parts += [f"semantic {c.semantic:.1f}", f"quality {c.quality:.1f}"]
        if c.feedback:
            parts.append("refine: " + ", ".join(c.feedback))
    elif turn.exception is not None:
        parts.append(f"failed: {turn.error}")
    else:
        parts.append("no image to judge")
    if turn.plan is not None and turn.plan.workflow is not None:
        parts.append("plan " + " → ".join(s.brick for s in turn.plan.workflow.steps))
    if turn.run is not None and turn.run.cached:
        parts.append("cached steps " + ",".join(map(str, turn.run.cached)))
    parts.append(f"{turn.seconds:.2f} s")
    return ("★ " if best else "") + " · ".join(parts)


def think_strip_markdown(run: ThinkRun | None) -> str:
    """The turn strip as text: one line per turn with its scores; the best one starred."""
    if run is None:
        return ("*Think-while-Edit: set the turns above 1 and press Plan & run; each turn is planned, run and "
                "critiqued, and the critic's refinement feeds the next turn.*")
    best = run.best if not run.running else run.best_so_far()
    head = f"**Think-while-Edit — {len(run.turns)} of {run.requested} turn(s)"
    head += " (running…)**" if run.running else f"** — {html.escape(run.stopped)}."
    if best is not None:
        head += f" Best: turn {run.turns[best].index}{' so far' if run.running else ''}."
    lines = [head, ""]
    lines += [f"- {html.escape(think_turn_line(t, i == best))}" for i, t in enumerate(run.turns)]
    return "\n".join(lines)


def think_strip_items(run: ThinkRun | None) -> list[tuple[Image.Image, str]]:
    """Each turn's result, captioned with its scores (the gallery half of the turn strip)."""
    items = []
    if run is None:
        return items
    best = run.best if not run.running else run.best_so_far()
    for i, t in enumerate(run.turns):
        if t.result is None or not isinstance(t.result, np.ndarray):
            continue
        c = t.critique
        text = f"turn {t.index}" + (f" · semantic {c.semantic:.1f} · quality {c.quality:.1f}" if c else "")
        items.append((thumbnail(t.result, 256), ("★ " if i == best else "") + text))
    return items


def critique_markdown(turn) -> str:
    """The critic's reasoning for one turn: every check, passed or failed, and the refinement."""
    if turn is None:
        return ""
    c = turn.critique
    if c is None:
        why = turn.error or "no image to judge"
        return f"**Turn {turn.index}:** not judged — {html.escape(why)}"
    lines = [f"**Turn {turn.index} critique** — semantic {c.semantic:.1f} · quality {c.quality:.1f} · "
             f"overall {c.overall:.1f}", ""]
    for check in c.checks:
        mark = "✓" if check.passed else "✗"
        value = "" if check.value is None else f" = {check.value:.3g}"
        detail = f": {check.detail}" if check.detail else ""
        lines.append(f"- {mark} *{check.kind}* — {html.escape(check.name)}{value} "
                     f"(target {html.escape(check.target)}){html.escape(detail)}")
    if not c.checks:
        lines.append("- nothing measurable: no step of this plan has an offline check")
    if c.refined_instruction:
        lines += ["", f"**Refined instruction:** {html.escape(c.refined_instruction)}"]
    return "\n".join(lines)


def think_status(run: ThinkRun, turn: Turn) -> str:
    """The status line at the end of a Think-while-Edit run (the best turn is the result)."""
    best = run.best_turn
    head = (f"**Done — Think-while-Edit, {len(run.turns)} turn(s): {html.escape(run.stopped)}.** "
            f"The result is the best turn (think turn {best.index}, history turn {turn.number}): "
            f"{turn.summary()}.")
    return "\n\n".join([head, *turn_status(turn).split("\n\n")[1:]])


def trace_json(run: RunResult) -> str:
    return json.dumps(run.trace_json(), indent=2, ensure_ascii=False)


# -- the Bricks tab -----------------------------------------------------------------------------
def bricks_markdown(registry: Registry) -> str:
    """One table row per brick, from registry.to_json(): what it takes, gives, and runs on here."""
    rows = [
        "| brick | inputs → outputs | engines here | constraint for the Builder |",
        "|---|---|---|---|",
    ]
    for b in registry.to_json():
        ins = ", ".join(f"{n}: {i['type']}{'?' if i['optional'] else ''}" for n, i in b["inputs"].items())
        outs = ", ".join(f"{n}: {t}" for n, t in b["outputs"].items())
        rows.append(
            f"| **{b['name']}** <small>({b['kind']})</small><br><small>{_cell(b['summary'])}</small> "
            f"| {_cell(ins)} → {_cell(outs)} "
            f"| {_engines_cell(registry, b)} | {_cell(b['constraint'])} |"
        )
    n_ok = sum(1 for b in registry.to_json() if any(e["available"] for e in b["engines"]))
    head = (f"**{n_ok} of {len(registry.to_json())} bricks can run on this machine.** The Builder only plans "
            "bricks that can run; the others need a model engine (see README, 'Model engines'). "
            "Aliases such as `FLUX-FILL` for `FILL` are accepted in workflows.\n\n")
    return head + "\n".join(rows)


def _engines_cell(registry: Registry, b: dict) -> str:
    if not b["engines"]:
        return "**none here** — needs a model engine"
    try:
        active = registry.choose_engine(registry.get(b["name"])).name
    except Exception:
        active = None
    parts = []
    for e in b["engines"]:
        vram = e.get("vram")
        gb = "" if not vram else (f", GPU ≈ {vram['gb']} GB" + (f" (≈ {vram['gb_with_offload']} GB with offload)"
                                                               if vram.get("gb_with_offload") else ""))
        if e["available"]:
            mark = "**active**" if e["name"] == active else "available"
            parts.append(f"{mark} `{e['name']}` ({e['kind']}{gb})")
        else:
            parts.append(f"unavailable `{e['name']}` ({e['kind']}{gb}): {_cell(e['reason'] or '?')}")
    return "<br>".join(parts)


def _cell(text: str) -> str:
    return html.escape(str(text)).replace("|", "\\|").replace("\n", " ")

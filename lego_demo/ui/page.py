"""What the page shows while a run streams: session events in, page updates out (no Gradio).

An update is a dict from a field name (`FIELDS`) to its new value; fields left out keep what
they show. blocks.py maps the names to components, so the whole sequence — what is cleared
when a run starts, what a failed run leaves, which result may appear beside which input — is
unit-tested without a browser.

Rules it keeps:
- each result belongs to one request: a run starts by clearing Result, the step gallery and
  the turn strip, and a result is shown only while the session's input is the one it came
  from (`RunResult.input_key` == `Inputs.key`);
- a failed run leaves no result and no gallery; the graph shows the steps that ran (green) and
  the one that failed (red), and the status lists them with an error that names the next step.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Iterator
from typing import Any

from .errors import describe
from .events import Event
from .session import Editors, Session, ThinkRun, Turn
from .views import (
    critique_markdown,
    feedback_markdown,
    gallery_items,
    graph_image,
    history_items,
    problems_markdown,
    step_line,
    think_status,
    think_strip_items,
    think_strip_markdown,
    turn_status,
)

# state, status (markdown), reasoning, graph (PIL | None), code (workflow JSON), problems,
# gallery / history / think_gallery ([(image, caption)]), result (array | None), feedback_md,
# feedback (the feedback box), think_md, critique, stop (is the Stop button enabled), turn_shown
# (the Think-while-Edit turn this update puts on screen: the browser reports it back),
# progress (((done, total), description)), warning (errors.UserMessage, shown as a toast)
FIELDS = ("state", "status", "reasoning", "graph", "code", "problems", "gallery", "result", "feedback_md",
          "history", "feedback", "think_md", "think_gallery", "critique", "stop", "turn_shown", "progress",
          "warning")
GRAPH_REFRESH_S = 0.3  # re-draw the running graph at most this often (a draw takes ~0.2 s)
Update = dict[str, Any]


def start_update(session: Session, thinking: int = 0) -> Update:
    """The first update of a run: everything the previous request showed goes."""
    update: Update = {"state": session, "status": "Planning…", "problems": "", "reasoning": "", "graph": None,
                      "result": None, "gallery": [], "feedback_md": feedback_markdown(session),
                      "think_gallery": [], "critique": ""}
    if thinking:
        update.update({"status": f"Think-while-Edit turn 1 of {thinking}: planning…", "turn_shown": 0,
                       "think_md": f"**Think-while-Edit — 0 of {thinking} turn(s) (running…)**", "stop": True})
    else:
        update["think_md"] = think_strip_markdown(None)
    return update


def run_updates(session: Session, events: Iterator[Event], editors: Editors, thinking: int = 0,
                clear_feedback_box: bool = False, clock: Callable[[], float] = time.monotonic) -> Iterator[Update]:
    """Page updates for a stream of session events (events.py). `thinking`: the number of
    Think-while-Edit turns (0 = a single run). Never raises: an error becomes an update."""
    registry = editors.registry
    workflow = None
    steps: dict[int, str] = {}
    lines: list[str] = []
    last_draw = 0.0
    n_plans = 0
    yield start_update(session, thinking)
    try:
        for ev in events:
            if ev.kind == "text":
                yield {"reasoning": ev.payload}
            elif ev.kind == "plan":
                n_plans += 1
                workflow = ev.payload.workflow
                if workflow is None:  # declined: the error follows
                    yield {"reasoning": ev.payload.reasoning}
                    continue
                steps = {s.number: "pending" for s in workflow.steps}
                lines = []
                last_draw = clock()
                where = f"Think-while-Edit turn {n_plans} of {thinking}: " if thinking else ""
                yield {"reasoning": ev.payload.reasoning, "code": workflow.dumps(),
                       "graph": graph_image(workflow, registry, steps), "status": where + "running the workflow…",
                       "feedback_md": feedback_markdown(session)}
            elif ev.kind == "step":
                e = ev.payload
                steps[e.step] = e.status
                if e.status != "running":
                    lines.append(step_line(e))
                where = f"turn {n_plans}/{thinking} · " if thinking else ""
                prefix = f"Think-while-Edit turn {n_plans} of {thinking}: " if thinking else "Running: "
                update: Update = {"status": prefix + (lines[-1] if lines else step_line(e)),
                                  "progress": ((e.index - (e.status == "running"), e.total),
                                               f"{where}step {e.step} · {e.brick} · {e.status}")}
                if clock() - last_draw >= GRAPH_REFRESH_S:
                    update["graph"] = graph_image(workflow, registry, steps)
                    last_draw = clock()
                yield update
            elif ev.kind == "think_turn":
                yield _think_turn_update(session, ev.payload, registry, thinking)
            elif ev.kind == "return" and isinstance(ev.payload, ThinkRun):
                yield _think_done_update(session, ev.payload, registry)
            elif ev.kind == "return":
                update = _turn_update(session, ev.payload, registry)
                if clear_feedback_box:
                    update["feedback"] = ""
                yield update
    except Exception as exc:
        yield failure_update(session, exc, registry, workflow, steps, thinking)


def belongs(session: Session, run) -> bool:
    """A run's result may be shown only beside the input it came from."""
    return run is not None and session.inputs is not None and run.input_key == session.inputs.key


_RAN = {"done": "done", "cached": "from the cache", "failed": "failed", "running": "stopped while running"}
_MOVED_ON = ("*This result is not shown: the input image changed while it ran.* It is kept in the history; "
             "press Plan & run to edit the new image.")


def _turn_update(session: Session, turn: Turn, registry) -> Update:
    update: Update = {"state": session, "history": history_items(session), "feedback_md": feedback_markdown(session),
                      "code": turn.workflow.dumps()}
    if not belongs(session, turn.run):
        return update | {"status": f"**Turn {turn.number} finished.** {_MOVED_ON}"}
    return update | {"graph": graph_image(turn.workflow, registry, turn.run.status()),
                     "gallery": gallery_items(turn.run), "result": turn.result_image, "status": turn_status(turn)}


def _think_turn_update(session: Session, t, registry, thinking: int) -> Update:
    run = session.last_think
    update: Update = {"state": session, "think_md": think_strip_markdown(run), "think_gallery": think_strip_items(run),
                      "critique": critique_markdown(t), "history": history_items(session),
                      "feedback_md": feedback_markdown(session), "turn_shown": t.index}
    if t.run is not None and belongs(session, t.run):
        update.update({"result": t.result, "gallery": gallery_items(t.run),
                       "graph": graph_image(t.run.workflow, registry, t.run.status())})
    c = t.critique
    if c is not None:
        nxt = f" Refining: {', '.join(c.feedback)}…" if c.feedback and t.index < thinking else ""
        update["status"] = (f"Think-while-Edit turn {t.index} of {thinking}: semantic {c.semantic:.1f} · "
                            f"quality {c.quality:.1f}.{nxt}")
    return update


def _think_done_update(session: Session, run: ThinkRun, registry) -> Update:
    turn = session.turns[session.selected]
    update: Update = {"state": session, "code": turn.workflow.dumps(), "reasoning": turn.reasoning,
                      "history": history_items(session), "feedback_md": feedback_markdown(session),
                      "think_md": think_strip_markdown(run), "think_gallery": think_strip_items(run),
                      "critique": critique_markdown(run.best_turn), "stop": False}
    if not belongs(session, turn.run):
        return update | {"status": f"**Think-while-Edit finished.** {_MOVED_ON}", "result": None, "gallery": []}
    return update | {"graph": graph_image(turn.workflow, registry, turn.run.status()), "gallery": gallery_items(turn.run),
                     "result": turn.result_image, "status": think_status(run, turn)}


def failure_update(session: Session, exc: BaseException, registry=None, workflow=None,
                   steps: dict[int, str] | None = None, thinking: int = 0) -> Update:
    """A run that failed leaves no result: Result and the step gallery are cleared, the graph
    shows what ran (done green, failed red), the status says what went wrong, what to do
    next, and what became of each step."""
    msg = describe(exc, workflow, registry)
    status = msg.markdown()
    if workflow is not None and steps and any(v != "pending" for v in steps.values()):
        ran = [f"{s.number} {s.brick} — {_RAN.get(steps.get(s.number, 'pending'), 'not run')}" for s in workflow.steps]
        status += "\n\n**Steps:** " + html.escape(" · ".join(ran))
    update: Update = {"state": session, "status": status, "warning": msg, "result": None, "gallery": [],
                      "feedback_md": feedback_markdown(session)}
    if workflow is not None and steps and registry is not None:
        update["graph"] = graph_image(workflow, registry, steps)
    if getattr(exc, "problems", None):
        update["problems"] = problems_markdown(exc.problems)
    if thinking:
        update.update({"think_md": think_strip_markdown(session.last_think),
                       "think_gallery": think_strip_items(session.last_think), "stop": False})
    return update

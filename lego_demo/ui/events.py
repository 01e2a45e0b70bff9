"""A session's work, streamed: a worker thread runs a Session method and reports each step
through callbacks; the page's generator handler reads them as `Event`s (no Gradio here).

A Think-while-Edit loop is paced by what the person sees. Each turn's event is
*acknowledged*: the worker waits until the page's generator has taken it and come back for
the next (Gradio resumes a generator only after it has sent the previous update); and, in the
browser, until the page reports the turn on screen (`Session.page_showed`). So the loop is
never more than one turn ahead of the screen, and Stop, pressed while looking at turn k, ends
it after turn k + 1 at the latest. Without this a busy machine finished all five turns before
the browser had drawn the first, and Stop came too late.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..builders.base import Plan
from .session import Editors, Session

ACK_TIMEOUT_S = 120.0  # a page that never comes back (closed tab) releases the worker after this
PAGE_WAIT_S = 20.0  # how long a turn waits for the browser to report the previous one on screen


@dataclass
class Event:
    kind: str  # text | plan | step | think_turn | return
    payload: Any
    acked: threading.Event | None = field(default=None, repr=False)  # set once the page has taken it


Emit = Callable[..., None]


def stream(work: Callable[[Emit], Any], on_close: Callable[[], None] | None = None) -> Iterator[Event]:
    """Run `work(emit)` in a thread and yield each `emit(kind, payload)` as it happens, so a
    Gradio generator handler can update the page per streamed token and per step. The work's
    return value comes last as Event("return", value); its exception is re-raised here.

    `emit(kind, payload, wait=True)` blocks the worker until the consumer has taken the event
    and asked for the next one. When the consumer stops early (the page went away),
    `on_close()` is called (e.g. to stop a Think-while-Edit loop) and no emit blocks again."""
    events: queue.Queue = queue.Queue()
    done = object()
    closed = threading.Event()

    def emit(kind: str, payload: Any, wait: bool = False) -> None:
        event = Event(kind, payload, threading.Event() if wait else None)
        events.put(event)
        # put before the check: a consumer that closes after it finds the event and releases it
        if event.acked is not None and not closed.is_set():
            event.acked.wait(ACK_TIMEOUT_S)

    def target() -> None:
        try:
            events.put(Event("return", work(emit)))
        except BaseException as exc:  # handed to the caller's thread
            events.put(Event("raise", exc))
        finally:
            events.put(done)

    threading.Thread(target=target, name="lego-ui-work", daemon=True).start()
    taken: Event | None = None
    finished = False
    try:
        while True:
            if taken is not None and taken.acked is not None:
                taken.acked.set()  # the page has sent the previous update and asks for more
            event = events.get()
            if event is done:
                finished = True
                return
            if event.kind == "raise":
                finished = True
                raise event.payload
            taken = event
            yield event
    finally:
        closed.set()
        for event in [taken, *list(events.queue)]:  # unblock a worker waiting on an event nobody takes
            if isinstance(event, Event) and event.acked is not None:
                event.acked.set()
        if on_close is not None and not finished:
            on_close()


def _reasoning_stream(emit: Emit) -> tuple[Callable[[str], None], list[str]]:
    reasoning: list[str] = []

    def on_text(chunk: str) -> None:
        reasoning.append(chunk)
        emit("text", "".join(reasoning))

    return on_text, reasoning


def edit_events(session: Session, editors: Editors, feedback: str | None = None,
                replan: bool = False) -> Iterator[Event]:
    """Session.edit (or .replan with `feedback`), streamed: text (reasoning so far), plan,
    step (StepEvent), return (Turn)."""
    def work(emit):
        on_text, _ = _reasoning_stream(emit)
        callbacks = {"on_text": on_text, "on_plan": lambda p: emit("plan", p),
                     "on_progress": lambda e: emit("step", e)}
        if replan:
            return session.replan(editors, feedback, **callbacks)
        return session.edit(editors, **callbacks)

    return stream(work)


def think_events(session: Session, editors: Editors, turns: int, page_reports: bool = False) -> Iterator[Event]:
    """Session.think, streamed: per turn text (reasoning so far), plan, step (StepEvent) and
    think_turn (think.Turn, after its critique; acknowledged, see the module docstring); then
    return (ThinkRun). `page_reports`: the browser reports each turn it shows
    (Session.page_showed), and the next turn waits for that report (at most PAGE_WAIT_S)."""
    def work(emit):
        on_text, reasoning = _reasoning_stream(emit)

        def on_plan(plan: Plan) -> None:
            reasoning.clear()
            emit("plan", plan)

        def on_turn(turn) -> None:
            emit("think_turn", turn, wait=True)
            if page_reports:
                session.wait_for_page(turn.index, PAGE_WAIT_S)

        return session.think(editors, turns, on_turn=on_turn, on_text=on_text, on_plan=on_plan,
                             on_progress=lambda e: emit("step", e))

    # from here a Stop counts, even one that arrives before the worker thread starts the loop
    session.thinking, session.stop_requested, session.shown_turn = True, False, 0
    return stream(work, on_close=session.request_stop)


def run_events(session: Session, editors: Editors, workflow: str) -> Iterator[Event]:
    """Session.run_workflow on a hand-edited workflow, streamed."""
    def work(emit):
        wf = editors.get(session.builder).load_workflow(workflow, has_mask=session.mask is not None)
        emit("plan", Plan(reasoning="(workflow edited by hand)", workflow=wf))
        return session.run_workflow(editors, wf, reasoning="(workflow edited by hand)", source="manual",
                                    on_progress=lambda e: emit("step", e))

    return stream(work)

"""Per-browser-session state and the handler logic, with no Gradio in it (unit-testable).

A `Session` holds one person's work: the current input image, the task (instruction +
accumulated feedback + the last plan), the turns run so far and an undo stack. The shared
`Editors` (one registry, one Executor and step cache, one Builder per name) are passed in, so
two sessions never share state except the content-addressed step cache.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..builders.base import Plan
from ..editor import Editor, Inputs
from ..errors import BadInput, LegoError
from ..executor import RunResult, StepEvent
from ..think import DEFAULT_THRESHOLD
from ..think import Turn as ThinkTurn
from ..workflow import Workflow

MAX_UNDO = 20
MAX_THINK_TURNS = 5  # the app's bound on Think-while-Edit turns (each turn is a full plan + run + critique)


class Editors:
    """The app's editors: the configured one, and the offline rule Builder beside it, all
    sharing the registry, Executor, step cache and model manager. A visitor can only pick
    among these: loading another model is the operator's decision (config and flags)."""

    def __init__(self, base: Editor, default: str | None = None):
        self.base = base
        self.default = default or base.config.builder
        self._by_name: dict[str, Editor] = {self.default: base}
        self._lock = threading.Lock()

    @property
    def registry(self):
        return self.base.registry

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys([self.default, "rule"]))

    def get(self, name: str | None = None) -> Editor:
        name = name or self.default
        if name not in self.names:
            raise BadInput(f"builder {name!r} is not offered here; available: {', '.join(self.names)} "
                           "(the operator chooses the Builder with --builder or lego.toml)")
        with self._lock:
            if name not in self._by_name:
                self._by_name[name] = self.base.with_builder(name)
            return self._by_name[name]


# -- inputs ------------------------------------------------------------------------------------
def read_editor_value(value: Any) -> tuple[Any, np.ndarray | None]:
    """(image, mask) from a gr.ImageEditor/ImageMask value (dict of background, layers,
    composite as numpy arrays) or a plain image, still undecoded (Editor.prepare reads it). The
    mask is every painted pixel of any layer; None when nothing was painted."""
    if value is None:
        return None, None
    if not isinstance(value, dict):
        return value, None
    background = value.get("background")
    if background is None:
        background = value.get("composite")
    if background is None:
        return None, None
    image = _flatten_alpha(np.asarray(background))
    mask = None
    for layer in value.get("layers") or []:
        if layer is None:
            continue
        arr = np.asarray(layer)
        painted = arr[..., 3] > 0 if arr.ndim == 3 and arr.shape[2] == 4 else (arr.reshape(arr.shape[:2] + (-1,)).max(axis=2) > 0)
        if painted.shape != image.shape[:2]:
            painted = _resize_mask(painted, image.shape[1], image.shape[0])
        mask = painted if mask is None else (mask | painted)
    if mask is not None and not mask.any():
        mask = None
    return image, mask


def _flatten_alpha(arr: np.ndarray) -> np.ndarray:
    """Editors hand back RGBA; a fully opaque image becomes RGB, a transparent one stays RGBA."""
    if arr.ndim == 3 and arr.shape[2] == 4 and arr.dtype == np.uint8 and arr[..., 3].min() == 255:
        return arr[..., :3]
    return arr


def _resize_mask(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    from PIL import Image

    im = Image.fromarray(mask.astype(np.uint8) * 255, "L").resize((width, height), Image.NEAREST)
    return np.asarray(im) > 127


def parse_feedback(text: str | None) -> list[str]:
    """Feedback box text: one item per non-empty line."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


# -- turns -------------------------------------------------------------------------------------
@dataclass
class Turn:
    """One run: what went in, what the Builder (or the person) planned, what came out."""

    number: int
    instruction: str
    feedback: list[str]
    inputs: Inputs
    reasoning: str
    workflow: Workflow
    run: RunResult
    source: str = "plan"  # plan | replan | manual | think
    critique: Any = None  # the critic's Critique, for Think-while-Edit turns
    think_index: int | None = None  # which turn of its Think-while-Edit run

    @property
    def image(self) -> np.ndarray:
        return self.inputs.image

    @property
    def mask(self) -> np.ndarray | None:
        return self.inputs.mask

    @property
    def result_image(self) -> np.ndarray | None:
        return self.run.first_image()

    @property
    def cached(self) -> list[int]:
        return self.run.cached

    @property
    def executed(self) -> list[int]:
        return self.run.executed

    @property
    def title(self) -> str:
        what = self.instruction if self.source != "manual" else f"hand-edited workflow: {self.workflow.process}"
        extra = f" + feedback: {'; '.join(self.feedback)}" if self.feedback else ""
        if self.critique is not None:
            extra += (f" · think {self.think_index} · semantic {self.critique.semantic:.1f}"
                      f" · quality {self.critique.quality:.1f}")
        return f"turn {self.number}: {what}{extra}"

    def summary(self) -> str:
        n = len(self.run.trace)
        parts = [f"ran {n} step(s) in {self.run.seconds:.2f} s"]
        if self.cached:
            parts.append(f"re-used cached step(s) {', '.join(map(str, self.cached))}")
        if self.executed:
            parts.append(f"executed step(s) {', '.join(map(str, self.executed))}")
        return "; ".join(parts)


@dataclass
class ThinkRun:
    """One Think-while-Edit run in a session: every turn (failed ones too), which of them went
    into the history, the best one and why the loop stopped."""

    requested: int
    turns: list[ThinkTurn] = field(default_factory=list)
    recorded: dict[int, int] = field(default_factory=dict)  # think turn index -> index in Session.turns
    best: int | None = None  # index into .turns
    stopped: str = ""
    running: bool = True

    @property
    def best_turn(self) -> ThinkTurn | None:
        return self.turns[self.best] if self.best is not None else None

    def best_so_far(self) -> int | None:
        """While running: the turn with the highest overall score so far (earliest on ties)."""
        best = None
        for i, t in enumerate(self.turns):
            if t.critique is not None and (best is None or t.critique.overall > self.turns[best].critique.overall):
                best = i
        return best

    def to_json(self) -> dict:
        return {"turns": [t.to_json() for t in self.turns],
                "best_turn": None if self.best is None else self.turns[self.best].index,
                "stopped": self.stopped}


@dataclass
class _Snapshot:
    inputs: Inputs | None
    instruction: str
    feedback: list[str]
    plan: Plan | None
    turns: int
    what: str


@dataclass
class Session:
    """One browser session's state. Every method that changes it is a plain function of its
    arguments, so the whole flow is testable without Gradio. All editing goes through the
    session's `Editor` (picked from `Editors`)."""

    builder: str = "rule"
    inputs: Inputs | None = None  # the current input, prepared (working size, content key)
    instruction: str = ""
    feedback: list[str] = field(default_factory=list)
    plan: Plan | None = None
    turns: list[Turn] = field(default_factory=list)
    selected: int | None = None  # index into turns picked in the history
    undo_stack: list[_Snapshot] = field(default_factory=list)
    last_think: ThinkRun | None = None  # the latest Think-while-Edit run (for the turn strip)
    stop_requested: bool = False  # set by the Stop button; read between Think-while-Edit turns
    thinking: bool = False  # a Think-while-Edit loop is starting or running

    @property
    def image(self) -> np.ndarray | None:
        return None if self.inputs is None else self.inputs.image

    @property
    def mask(self) -> np.ndarray | None:
        return None if self.inputs is None else self.inputs.mask

    # -- the task ------------------------------------------------------------------------------
    def set_input(self, editors: Editors, image: Any, mask: Any = None) -> Inputs:
        """Read the image (and painted mask) through the Editor: working size, content key. A
        different image starts a new task."""
        if image is None:
            raise BadInput("upload an image first (or pick an example)")
        inputs = editors.get(self.builder).prepare(image, mask)
        if self.inputs is None or inputs.key != self.inputs.key:
            self._new_task()
        self.inputs = inputs
        return inputs

    def set_instruction(self, instruction: str) -> str:
        instruction = (instruction or "").strip()
        if not instruction:
            raise BadInput("type an instruction first, e.g. \"remove the red circle\"")
        if instruction != self.instruction:
            self._new_task()
        self.instruction = instruction
        return instruction

    def _new_task(self) -> None:
        """A new image or instruction starts a new task: feedback and the plan belong to the old one."""
        self.feedback = []
        self.plan = None

    def add_feedback(self, text: str | None) -> list[str]:
        new = [f for f in parse_feedback(text) if f not in self.feedback]
        self.feedback.extend(new)
        return new

    def clear_feedback(self) -> None:
        self.feedback = []

    def _ready(self) -> None:
        if self.inputs is None:
            raise BadInput("upload an image first (or pick an example)")
        if not self.instruction:
            raise BadInput("type an instruction first, e.g. \"remove the red circle\"")

    # -- planning and running -------------------------------------------------------------------
    def make_plan(self, editors: Editors, on_text: Callable[[str], None] | None = None) -> Plan:
        """Plan the current task (instruction + all feedback, previous plan as context)."""
        self._ready()
        editor = editors.get(self.builder)
        plan = editor.plan(self.instruction, self.inputs, feedback=list(self.feedback),
                           previous=self.plan, on_text=on_text)
        if plan.workflow is not None:
            self.plan = plan  # a declined plan keeps the last good one as context
        plan.require(editor.builder.name)
        return plan

    def run_workflow(self, editors: Editors, workflow: Workflow | str, reasoning: str = "",
                     source: str = "plan", on_progress: Callable[[StepEvent], None] | None = None,
                     before: _Snapshot | None = None) -> Turn:
        """Run a workflow (or workflow text) on the current input; a successful run becomes a
        turn (undoable)."""
        if self.inputs is None:
            raise BadInput("upload an image first (or pick an example)")
        before = before or self._snapshot(f"turn {len(self.turns) + 1}")
        result = editors.get(self.builder).run(workflow, self.inputs, on_progress=on_progress)
        self._push_undo(before)
        return self._record(Turn(
            number=len(self.turns) + 1, instruction=self.instruction or result.workflow.process,
            feedback=list(self.feedback), inputs=self.inputs, reasoning=reasoning, workflow=result.workflow,
            run=result, source=source,
        ))

    def _record(self, turn: Turn) -> Turn:
        self.turns.append(turn)
        self.selected = len(self.turns) - 1
        return turn

    def edit(self, editors: Editors, on_text: Callable[[str], None] | None = None,
             on_plan: Callable[[Plan], None] | None = None,
             on_progress: Callable[[StepEvent], None] | None = None, source: str = "plan",
             before: _Snapshot | None = None) -> Turn:
        before = before or self._snapshot(f"turn {len(self.turns) + 1}")  # undo also forgets this plan
        self._ready()

        def planned(plan: Plan) -> None:
            if plan.workflow is not None:
                self.plan = plan  # the next re-plan's context, even if this run fails
            if on_plan is not None:
                on_plan(plan)

        plan, result = editors.get(self.builder).edit(
            self.instruction, self.inputs, feedback=list(self.feedback), previous=self.plan, on_text=on_text,
            on_plan=planned, on_progress=on_progress)
        self._push_undo(before)
        return self._record(Turn(
            number=len(self.turns) + 1, instruction=self.instruction, feedback=list(self.feedback),
            inputs=self.inputs, reasoning=plan.reasoning, workflow=result.workflow, run=result, source=source,
        ))

    def replan(self, editors: Editors, feedback_text: str | None, **callbacks) -> Turn:
        """Add feedback (accumulated for this task) and plan again with the previous plan as
        context; unchanged steps come from the step cache. Undo forgets the feedback too."""
        before = self._snapshot(f"turn {len(self.turns) + 1} (re-plan)")
        if not self.add_feedback(feedback_text) and not self.feedback:
            raise BadInput("type feedback first, e.g. \"don't use RES\", then press Re-plan")
        return self.edit(editors, source="replan", before=before, **callbacks)

    def think(self, editors: Editors, turns: int = 3, instruction: str | None = None,
              should_stop: Callable[[], bool] | None = None, on_turn: Callable[[ThinkTurn], None] | None = None,
              on_text: Callable[[str], None] | None = None, on_plan: Callable[[Plan], None] | None = None,
              on_progress: Callable[[StepEvent], None] | None = None, critic: Any = None,
              threshold: float = DEFAULT_THRESHOLD) -> ThinkRun:
        """Think-while-Edit on the current task (Editor.think): each turn that produced a result
        becomes a history turn (undoable, usable as the next input); the best one is selected at
        the end. The loop stops after the current turn when `should_stop()` (default: the Stop
        button's flag) is true. Raises the first turn's error when no turn produced a result."""
        self.thinking = True  # a Stop from now on counts (think_events sets it before the thread starts)
        try:
            if instruction is not None:
                self.set_instruction(instruction)
            self._ready()
            run = ThinkRun(requested=max(1, min(MAX_THINK_TURNS, int(turns))))
            self.last_think = run

            def record(t: ThinkTurn) -> None:
                if t.run is not None:
                    self._push_undo(self._snapshot(f"turn {len(self.turns) + 1} (think {t.index})"))
                    self._record(Turn(
                        number=len(self.turns) + 1, instruction=self.instruction, feedback=list(t.feedback),
                        inputs=self.inputs, reasoning=t.plan.reasoning if t.plan else "", workflow=t.run.workflow,
                        run=t.run, source="think", critique=t.critique, think_index=t.index,
                    ))
                    self.plan, self.feedback = t.plan, list(t.feedback)
                    run.recorded[t.index] = self.selected
                run.turns.append(t)
                if on_turn is not None:
                    on_turn(t)

            try:
                outcome = editors.get(self.builder).think(
                    self.instruction, self.inputs, feedback=list(self.feedback), turns=run.requested,
                    threshold=threshold, critic=critic, on_turn=record,
                    should_stop=should_stop or (lambda: self.stop_requested),
                    on_text=on_text, on_plan=on_plan, on_progress=on_progress,
                )
            except LegoError as exc:
                run.stopped = str(exc)
                raise
            finally:
                run.running = False
            run.best, run.stopped = outcome.best, outcome.stopped
            self.selected = run.recorded[outcome.best_turn.index]
            self.plan, self.feedback = outcome.best_turn.plan, list(outcome.best_turn.feedback)
            return run
        finally:
            self.thinking = False
            self.stop_requested = False

    def request_stop(self) -> bool:
        """The Stop button: end a running Think-while-Edit loop after its current turn.
        False when nothing is running."""
        if not self.thinking:
            return False
        self.stop_requested = True
        return True

    # -- history -------------------------------------------------------------------------------
    @property
    def last(self) -> Turn | None:
        return self.turns[-1] if self.turns else None

    def select(self, index: int | None) -> Turn | None:
        if index is None or not 0 <= index < len(self.turns):
            return None
        self.selected = index
        return self.turns[index]

    def use_result(self, index: int | None = None) -> np.ndarray:
        """Make a turn's result (default: the selected or last one) the new input image."""
        index = self.selected if index is None else index
        if index is None or not 0 <= index < len(self.turns):
            raise BadInput("run an edit first: there is no result to use yet")
        result = self.turns[index].result_image
        if result is None:
            raise BadInput(f"turn {index + 1} has no image result to use")
        self._push_undo(self._snapshot(f"use turn {index + 1} as input"))
        self.inputs = Inputs(result)  # already at the working size: the edit's own output
        self._new_task()
        return result

    def undo(self) -> str:
        """Go back to the state before the last turn or 'use as input'; says what was undone."""
        if not self.undo_stack:
            raise BadInput("nothing to undo")
        snap = self.undo_stack.pop()
        self.inputs = snap.inputs
        self.instruction, self.feedback, self.plan = snap.instruction, list(snap.feedback), snap.plan
        del self.turns[snap.turns:]
        self.selected = len(self.turns) - 1 if self.turns else None
        return snap.what

    def _snapshot(self, what: str) -> _Snapshot:
        return _Snapshot(self.inputs, self.instruction, list(self.feedback), self.plan, len(self.turns), what)

    def _push_undo(self, snapshot: _Snapshot) -> None:
        self.undo_stack.append(snapshot)
        del self.undo_stack[:-MAX_UNDO]


# -- streaming callbacks into a generator ---------------------------------------------------------
@dataclass
class Event:
    kind: str  # text | plan | step | think_turn | return
    payload: Any


def stream(work: Callable[[Callable[[str, Any], None]], Any]) -> Iterator[Event]:
    """Run `work(emit)` in a thread and yield each `emit(kind, payload)` as it happens, so a
    Gradio generator handler can update the page per streamed token and per step. The work's
    return value comes last as Event("return", value); its exception is re-raised here."""
    events: queue.Queue = queue.Queue()
    done = object()

    def emit(kind: str, payload: Any) -> None:
        events.put(Event(kind, payload))

    def target() -> None:
        try:
            events.put(Event("return", work(emit)))
        except BaseException as exc:  # handed to the caller's thread
            events.put(Event("raise", exc))
        finally:
            events.put(done)

    threading.Thread(target=target, name="lego-ui-work", daemon=True).start()
    while True:
        event = events.get()
        if event is done:
            return
        if event.kind == "raise":
            raise event.payload
        yield event


def edit_events(session: Session, editors: Editors, feedback: str | None = None,
                replan: bool = False) -> Iterator[Event]:
    """Session.edit (or .replan with `feedback`), streamed: text (reasoning so far), plan,
    step (StepEvent), return (Turn)."""
    def work(emit):
        reasoning: list[str] = []

        def on_text(chunk: str) -> None:
            reasoning.append(chunk)
            emit("text", "".join(reasoning))

        callbacks = {"on_text": on_text, "on_plan": lambda p: emit("plan", p),
                     "on_progress": lambda e: emit("step", e)}
        if replan:
            return session.replan(editors, feedback, **callbacks)
        return session.edit(editors, **callbacks)

    return stream(work)


def think_events(session: Session, editors: Editors, turns: int) -> Iterator[Event]:
    """Session.think, streamed: per turn text (reasoning so far), plan, step (StepEvent) and
    think_turn (think.Turn, after its critique); then return (ThinkRun)."""
    def work(emit):
        reasoning: list[str] = []

        def on_text(chunk: str) -> None:
            reasoning.append(chunk)
            emit("text", "".join(reasoning))

        def on_plan(plan: Plan) -> None:
            reasoning.clear()
            emit("plan", plan)

        return session.think(editors, turns, on_turn=lambda t: emit("think_turn", t), on_text=on_text,
                             on_plan=on_plan, on_progress=lambda e: emit("step", e))

    # from here a Stop counts, even one that arrives before the worker thread starts the loop
    session.thinking, session.stop_requested = True, False
    return stream(work)


def run_events(session: Session, editors: Editors, workflow: str) -> Iterator[Event]:
    """Session.run_workflow on a hand-edited workflow, streamed."""
    def work(emit):
        wf = editors.get(session.builder).load_workflow(workflow, has_mask=session.mask is not None)
        emit("plan", Plan(reasoning="(workflow edited by hand)", workflow=wf))
        return session.run_workflow(editors, wf, reasoning="(workflow edited by hand)", source="manual",
                                    on_progress=lambda e: emit("step", e))

    return stream(work)

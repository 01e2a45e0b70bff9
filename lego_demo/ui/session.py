"""Per-browser-session state and the handler logic, with no Gradio in it (unit-testable).

A `Session` holds one person's work: the current input image, the task (instruction +
accumulated feedback + the last plan), the turns run so far and an undo stack. The shared
`Editors` (one registry, one Executor and step cache, one Builder per name) are passed in, so
two sessions never share state except the content-addressed step cache.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
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

MAX_TURNS = 12  # turns a session keeps (results, plans, traces); older ones are dropped
KEEP_STEP_OUTPUTS = 3  # of those, the latest keep every step's outputs; older ones keep only their results
MAX_UNDO = MAX_TURNS
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
def read_editor_value(value: Any) -> tuple[Any, Any]:
    """(image, mask) from a gr.ImageMask value (a dict of background, layers and composite), the
    page's copy of it ([background, *layers]) or a plain image, still undecoded:
    `Editor.prepare` reads both, so an upload meets the same size limits and decoding as the
    CLI. The painted layer is the mask (opaque = painted); an unpainted layer is an empty mask,
    which `prepare` treats as no mask."""
    if value is None:
        return None, None
    if isinstance(value, list):
        value = {"background": value[0] if value else None, "layers": value[1:]}
    if not isinstance(value, dict):
        return value, None
    background = value.get("background")
    if background is None:
        background = value.get("composite")
    if background is None:
        return None, None
    layers = [layer for layer in value.get("layers") or [] if layer is not None]
    if len(layers) > 1:
        raise BadInput("paint the mask on one layer (the editor sent several)")
    return background, (layers[0] if layers else None)


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
    thumbnail: Any = field(default=None, repr=False, compare=False)  # made once by the views

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
    recorded: dict[int, int] = field(default_factory=dict)  # think turn index -> history turn number
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
    last_turn: int  # the number of the last turn then: undo drops every later one
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
    turns: list[Turn] = field(default_factory=list)  # the last MAX_TURNS turns, oldest first
    numbered: int = 0  # the number of the last turn made (numbers keep counting past dropped turns)
    selected: int | None = None  # index into turns picked in the history
    undo_stack: list[_Snapshot] = field(default_factory=list)
    last_think: ThinkRun | None = None  # the latest Think-while-Edit run (for the turn strip)
    stop_requested: bool = False  # set by the Stop button; read between Think-while-Edit turns
    thinking: bool = False  # a Think-while-Edit loop is starting or running
    shown_turn: int = 0  # the last Think-while-Edit turn the browser reported on screen
    _page: threading.Condition = field(default_factory=threading.Condition, repr=False, compare=False)

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
        before = before or self._snapshot(f"turn {self.numbered + 1}")
        result = editors.get(self.builder).run(workflow, self.inputs, on_progress=on_progress)
        self._push_undo(before)
        return self._record(Turn(
            number=self.numbered + 1, instruction=self.instruction or result.workflow.process,
            feedback=list(self.feedback), inputs=self.inputs, reasoning=reasoning, workflow=result.workflow,
            run=result, source=source,
        ))

    def _record(self, turn: Turn) -> Turn:
        """Keep a finished turn: the history holds the last MAX_TURNS; of those only the latest
        KEEP_STEP_OUTPUTS keep every step's outputs (older ones keep their results and trace),
        so a long session's memory stays bounded."""
        self.numbered = turn.number
        self.turns.append(turn)
        del self.turns[:-MAX_TURNS]
        for old in self.turns[:-KEEP_STEP_OUTPUTS]:
            old.run.values = {}
        self.selected = len(self.turns) - 1
        return turn

    def turn_numbered(self, number: int) -> Turn | None:
        return next((t for t in self.turns if t.number == number), None)

    def edit(self, editors: Editors, on_text: Callable[[str], None] | None = None,
             on_plan: Callable[[Plan], None] | None = None,
             on_progress: Callable[[StepEvent], None] | None = None, source: str = "plan",
             before: _Snapshot | None = None) -> Turn:
        before = before or self._snapshot(f"turn {self.numbered + 1}")  # undo also forgets this plan
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
            number=self.numbered + 1, instruction=self.instruction, feedback=list(self.feedback),
            inputs=self.inputs, reasoning=plan.reasoning, workflow=result.workflow, run=result, source=source,
        ))

    def replan(self, editors: Editors, feedback_text: str | None, **callbacks) -> Turn:
        """Add feedback (accumulated for this task) and plan again with the previous plan as
        context; unchanged steps come from the step cache. Undo forgets the feedback too."""
        before = self._snapshot(f"turn {self.numbered + 1} (re-plan)")
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
                    self._push_undo(self._snapshot(f"turn {self.numbered + 1} (think {t.index})"))
                    self._record(Turn(
                        number=self.numbered + 1, instruction=self.instruction, feedback=list(t.feedback),
                        inputs=self.inputs, reasoning=t.plan.reasoning if t.plan else "", workflow=t.run.workflow,
                        run=t.run, source="think", critique=t.critique, think_index=t.index,
                    ))
                    self.plan, self.feedback = t.plan, list(t.feedback)
                    run.recorded[t.index] = self.numbered
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
            best = self.turn_numbered(run.recorded[outcome.best_turn.index])
            self.selected = self.turns.index(best) if best is not None else len(self.turns) - 1
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
        with self._page:
            self.stop_requested = True
            self._page.notify_all()  # a loop waiting for the page stops waiting
        return True

    def page_showed(self, turn: int) -> None:
        """The browser has put Think-while-Edit turn `turn` on screen."""
        with self._page:
            self.shown_turn = max(self.shown_turn, int(turn))
            self._page.notify_all()

    def wait_for_page(self, turn: int, timeout: float) -> bool:
        """Block until the browser shows turn `turn` (or Stop is pressed, or `timeout` passes),
        so the loop is never turns ahead of what the person sees. True when shown."""
        with self._page:
            return self._page.wait_for(lambda: self.shown_turn >= turn or self.stop_requested, timeout)

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
            raise BadInput(f"turn {self.turns[index].number} has no image result to use")
        self._push_undo(self._snapshot(f"use turn {self.turns[index].number} as input"))
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
        self.turns = [t for t in self.turns if t.number <= snap.last_turn]
        self.numbered = snap.last_turn
        self.selected = len(self.turns) - 1 if self.turns else None
        return snap.what

    def _snapshot(self, what: str) -> _Snapshot:
        return _Snapshot(self.inputs, self.instruction, list(self.feedback), self.plan, self.numbered, what)

    def _push_undo(self, snapshot: _Snapshot) -> None:
        self.undo_stack.append(snapshot)
        del self.undo_stack[:-MAX_UNDO]

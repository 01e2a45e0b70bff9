"""The one door: every flow (CLI, app, API, MCP, benchmarks) edits through `Editor`.

Composition happens here and nowhere else: the registry, the Builder, the Executor (with its
step cache and model manager) and the critic are built once from an `EditorConfig`. The
shells only translate arguments and render results, so a fix made here holds in every flow:
inputs are read and fitted to the working size in `prepare`, workflows are parsed and
validated in `load_workflow`, a declined or invalid plan raises in one place, the
Think-while-Edit loop runs in `think`, and every run names the input it came from.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .builders.base import Builder, Plan, PlanRequest
from .errors import BadInput, Declined, InvalidWorkflow
from .executor import DEFAULT_CACHE_BYTES, DEFAULT_STEP_TIMEOUT_S, Executor, RunResult, StepCache, StepEvent
from .lazy import cached_property
from .models import ModelManager
from .registry import Registry
from .run_limits import DEFAULT_PIXELS_AT_ONCE, DEFAULT_RUN_BUDGET_S, DEFAULT_WORK_BUDGET
from .slots import Slots
from .types import ValueType, content_key, input_key
from .validate import Validation, validate
from .verify import mismatch_error, verify_run
from .verify import notes as verification_notes
from .workflow import Parsed, Workflow, parse_workflow

BUILDERS = ("rule", "mllm", "openai")
CRITICS = ("offline", "model")


@dataclass
class EditorConfig:
    plugins: list[str] = field(default_factory=list)  # extra brick files (--bricks)
    builder: str = "rule"
    critic: str = "offline"  # who judges Think-while-Edit turns: offline | model
    engine_choice: dict[str, str] = field(default_factory=dict)
    engine_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    cache_bytes: int = DEFAULT_CACHE_BYTES
    seed: int = 0
    model: str | None = None  # mllm: hub id or directory; openai: the served model name
    quant: str | None = None  # mllm: 4bit | 8bit | none (None: 4bit on CUDA, none on CPU)
    base_url: str | None = None  # openai: e.g. http://127.0.0.1:8000/v1 (else $OPENAI_BASE_URL)
    models_max_bytes: int | None = None  # model manager budget (None: free only on out-of-memory)
    prompt_file: str | None = None  # mllm/openai: the release's system_prompt.txt (official profile)
    critic_prompt_file: str | None = None  # model critic: EditThinker's prompt_template.txt
    preload: bool = False  # load every configured model at start (ZeroGPU needs it)
    model_calls_per_device: int = 1  # heavy model calls at once per device, across all sessions
    ray: dict[str, Any] = field(default_factory=dict)  # lego.toml [ray]: address → call the deployments
    ray_bricks: list[str] = field(default_factory=list)  # --engine BRICK=ray:ENGINE
    step_timeout: float = DEFAULT_STEP_TIMEOUT_S  # seconds; a step running longer is stopped
    # what one run may take (lego_demo/run_limits.py): classical step seconds, steps × image pixels,
    # and the image pixels of the runs going on at once
    run_budget: float = DEFAULT_RUN_BUDGET_S
    work_budget: int = DEFAULT_WORK_BUDGET
    pixels_at_once: int = DEFAULT_PIXELS_AT_ONCE


@dataclass(frozen=True)
class Inputs:
    """An image (and optional mask) ready to edit: decoded, fitted to the working size, and
    identified by its content, so a result can always be matched to the input it came from."""

    image: np.ndarray
    mask: np.ndarray | None = None
    notes: tuple[str, ...] = ()  # what reading changed (downscaled, first frame of a GIF, …)

    @cached_property
    def key(self) -> str:
        """The same key the Executor gives the RunResult of a run on these inputs."""
        return input_key(content_key(self.image), None if self.mask is None else content_key(self.mask))

    @property
    def size(self) -> tuple[int, int]:
        return int(self.image.shape[1]), int(self.image.shape[0])


def make_builder(name: str, registry: Registry, config: EditorConfig | None = None,
                 models: ModelManager | None = None) -> Builder:
    config = config or EditorConfig(builder=name)
    if name == "rule":
        from .builders.rule import RuleBuilder

        return RuleBuilder(registry)
    if name == "mllm":
        from .builders.mllm import DEFAULT_MODEL, MLLMBuilder

        return MLLMBuilder(registry, model=config.model or DEFAULT_MODEL, quant=config.quant, manager=models,
                           prompt_file=config.prompt_file)
    if name == "openai":
        from .builders.openai_builder import OpenAIBuilder

        if not config.model:
            raise BadInput("the openai Builder needs --model NAME (the model the server serves)")
        return OpenAIBuilder(registry, model=config.model, base_url=config.base_url, prompt_file=config.prompt_file)
    raise BadInput(f"unknown builder {name!r}; available: {', '.join(BUILDERS)}")


def check_engine_settings(registry: Registry) -> None:
    """Engine choice/options from lego.toml or --engine name real bricks and engines; brick
    spellings (FLUX-FILL, fill) become the canonical name the registry looks up."""
    choice, options = {}, {}
    for brick, engine in registry.engine_choice.items():
        spec = registry.get(brick)
        if not any(e.name == engine for e in spec.engines):
            known = ", ".join(e.name for e in spec.engines) or "none"
            raise BadInput(f"engine {engine!r} for brick {spec.name} is not one of its engines ({known})")
        choice[spec.name] = engine
    for brick, opts in registry.engine_options.items():
        options.setdefault(registry.get(brick).name, {}).update(opts)
    registry.engine_choice, registry.engine_options = choice, options


class Editor:
    def __init__(self, registry: Registry, builder: Builder | None = None, executor: Executor | None = None,
                 config: EditorConfig | None = None, models: ModelManager | None = None, critic: Any = None):
        self.registry = registry
        # one model manager, shared by the engines and detectors (through the Executor) and a model Builder
        self.executor = executor or Executor(registry, models=models)
        self.models = models or self.executor.models
        self._builder = builder
        self._critic = critic
        self.config = config or EditorConfig()
        self._verified: dict = {}  # subject verdicts by SOS step cache key (lego_demo/verify.py)

    @classmethod
    def from_config(cls, config: EditorConfig | None = None) -> Editor:
        config = config or EditorConfig()
        registry = Registry.discover(
            config.plugins, engine_choice=config.engine_choice, engine_options=config.engine_options
        )
        check_engine_settings(registry)
        if config.ray.get("address") or config.ray_bricks:
            from .ray_serve import place_on_ray

            place_on_ray(registry, config)  # connects lazily, on the first call or availability check
        models = ModelManager(max_bytes=config.models_max_bytes)  # loads nothing until a step needs it
        executor = Executor(registry, cache=StepCache(config.cache_bytes), seed=config.seed, models=models,
                            slots=Slots(config.model_calls_per_device), step_timeout=config.step_timeout,
                            run_budget=config.run_budget, work_budget=config.work_budget,
                            pixels_at_once=config.pixels_at_once)
        editor = cls(registry, executor=executor, config=config, models=models)
        from .startup import start_models

        start_models(editor)  # the configured models fit the GPU (else CannotDo with the numbers); preload
        return editor

    def with_builder(self, name: str) -> Editor:
        """The same editor (registry, Executor, step cache, model manager) planning with
        another Builder."""
        from dataclasses import replace

        if name not in BUILDERS:
            raise BadInput(f"unknown builder {name!r}; available: {', '.join(BUILDERS)}")
        return Editor(self.registry, executor=self.executor, config=replace(self.config, builder=name),
                      models=self.models)

    @property
    def builder(self) -> Builder:
        if self._builder is None:  # built on first use: a model Builder loads nothing before
            self._builder = make_builder(self.config.builder, self.registry, self.config, self.models)
        return self._builder

    @property
    def critic(self):
        """The Think-while-Edit critic (config.critic). "model" judges with the Builder's own
        model (EditThinker uses one MLLM for both), so it needs a model Builder."""
        if self._critic is None:
            self._critic = self._make_critic(self.config.critic)
        return self._critic

    def _make_critic(self, name: str):
        if name == "offline":
            from .critics.offline import OfflineCritic

            return OfflineCritic(self.registry, self.executor)
        if name == "model":
            builder = self.builder
            if not hasattr(builder, "chat"):
                raise BadInput(f"the model critic needs a model Builder (--builder mllm or openai), not {builder.name!r}")
            from .critics.model import ModelCritic

            return ModelCritic(builder, prompt_file=self.config.critic_prompt_file)
        raise BadInput(f"unknown critic {name!r}; available: {', '.join(CRITICS)}")

    def judge(self, builder: str, model: str, base_url: str | None = None):
        """A model critic over a model other than the Builder's (a benchmark's VIEScore-style
        judge), sharing this editor's model manager."""
        from dataclasses import replace

        from .critics.model import ModelCritic

        config = replace(self.config, builder=builder, model=model, base_url=base_url)
        return ModelCritic(make_builder(builder, self.registry, config, self.models))

    # -- inputs -------------------------------------------------------------------------------
    def prepare(self, image: Any, mask: Any = None) -> Inputs:
        """Read an image (path, bytes, PIL image or array) and an optional mask, check the mask
        against the image's size before decoding the image, and fit both to the working size.
        An all-empty mask counts as no mask. Inputs pass through unchanged."""
        from .images import WORKING_MAX_SIDE, fit_mask, image_size, load_image, load_mask

        if isinstance(image, Inputs):
            if mask is not None:
                raise BadInput("give the mask together with the image to prepare")
            return image
        if image is None:
            raise BadInput("no image given: upload an image (or pick an example) first")
        notes: list[str] = []
        m = None
        if mask is not None:
            m = load_mask(mask, image_size(image))
            if not m.any():
                m = None
        arr = load_image(image, notes=notes, max_side=WORKING_MAX_SIDE)  # fitted while decoding
        if m is not None:
            m = fit_mask(m, arr.shape[:2])
        return Inputs(arr, m, tuple(notes))

    # -- workflows ----------------------------------------------------------------------------
    def read_workflow(self, source: Any, banned: Sequence[str] = (), has_mask: bool = True) -> tuple[Parsed, Validation]:
        """Parse (tolerantly) and validate (strictly), without raising on problems: for
        `validate`, which reports them."""
        parsed = parse_workflow(source)
        init_values = {"image": ValueType.IMAGE}
        if has_mask:
            init_values["mask"] = ValueType.MASK
        checked = validate(parsed.workflow, self.registry, banned=banned, init_values=init_values)
        checked.repairs[:0] = parsed.repairs
        return parsed, checked

    def load_workflow(self, source: Any, has_mask: bool, banned: Sequence[str] = ()) -> Workflow:
        """A valid workflow from text (or JSON data), or an error that lists each problem by
        step and field."""
        return self._checked(source, has_mask, banned).workflow

    def _checked(self, source: Any, has_mask: bool, banned: Sequence[str] = ()) -> Validation:
        if source is None or (isinstance(source, str) and not source.strip()):
            raise BadInput("the workflow is empty: plan an edit first or paste a workflow JSON")
        _, checked = self.read_workflow(source, banned=banned, has_mask=has_mask)
        if not checked.ok:
            if not has_mask and any(p.code == "missing_value" and p.message.startswith("init[mask]")
                                    for p in checked.problems):
                # an all-black mask counts as none (prepare): say so, in every flow alike
                raise BadInput("the workflow uses init[mask], but no mask was given or it selects nothing "
                               "(white = selected): paint or pass a mask, or take init[mask] out of the workflow")
            raise InvalidWorkflow(checked.problems)
        return checked

    # -- planning and running -----------------------------------------------------------------
    def plan(self, instruction: str, image: Any = None, mask: Any = None, feedback: Sequence[str] = (),
             previous: Plan | None = None, on_text: Callable[[str], None] | None = None) -> Plan:
        """The Builder's plan (or its reasons for declining); raises nothing for a decline."""
        inputs = None if image is None else self.prepare(image, mask)
        request = PlanRequest(instruction=instruction, image=None if inputs is None else inputs.image,
                              has_mask=inputs is not None and inputs.mask is not None)
        return self.builder.plan(request, feedback=list(feedback), previous=previous, on_text=on_text)

    def run(self, workflow: Workflow | Any, image: Any, mask: Any = None,
            on_progress: Callable[[StepEvent], None] | None = None, instruction: str | None = None) -> RunResult:
        """Run a workflow (a Workflow, or text/JSON data that is parsed and validated here) on
        the prepared inputs; the result carries the inputs' key. With the `instruction` it was
        planned for, a stand-in for a named target (SOS for "the red circle") is checked against
        the words (lego_demo/verify.py): a contradiction raises Declined with the next step, an
        unconfirmable target is noted in `run.caveats`."""
        inputs = self.prepare(image, mask)
        repairs: list[str] = []
        if not isinstance(workflow, Workflow):
            checked = self._checked(workflow, has_mask=inputs.mask is not None)
            workflow, repairs = checked.workflow, checked.repairs
        result = self.executor.run(workflow, inputs.image, inputs.mask, on_progress=on_progress)
        result.repairs = list(dict.fromkeys(repairs + result.repairs))
        if instruction is not None:
            verdicts = verify_run(result, instruction, inputs.image, self.registry, memo=self._verified,
                                  models=self.models)
            error = mismatch_error(verdicts)
            if error is not None:
                raise error
            result.caveats.extend(verification_notes(verdicts))
        return result

    def edit(self, instruction: str, image: Any, mask: Any = None, feedback: Sequence[str] = (),
             previous: Plan | None = None, on_progress: Callable[[StepEvent], None] | None = None,
             on_text: Callable[[str], None] | None = None,
             on_plan: Callable[[Plan], None] | None = None) -> tuple[Plan, RunResult]:
        """Plan and run; a decline or an invalid plan raises (after `on_plan` has seen it)."""
        inputs = self.prepare(image, mask)
        plan = self.plan(instruction, inputs, feedback=feedback, previous=previous, on_text=on_text)
        if on_plan is not None:
            on_plan(plan)
        workflow = plan.require(self.builder.name)
        return plan, self.run(workflow, inputs, on_progress=on_progress, instruction=instruction)

    def think(self, instruction: str, image: Any, mask: Any = None, feedback: Sequence[str] = (),
              turns: int | None = None, threshold: float | None = None, critic: Any = None,
              on_turn: Callable | None = None, should_stop: Callable[[], bool] | None = None,
              on_text: Callable[[str], None] | None = None, on_plan: Callable[[Plan], None] | None = None,
              on_progress: Callable[[StepEvent], None] | None = None):
        """Think-while-Edit: plan, run, critique, refine, for at most `turns` turns; the best turn
        wins. Raises the first turn's error when no turn produced an image, and Declined when the
        best turn is a removal whose fill the critic found to be a smear."""
        from .critics.evidence import smear
        from .think import DEFAULT_THRESHOLD, DEFAULT_TURNS, think_while_edit

        inputs = self.prepare(image, mask)
        outcome = think_while_edit(
            self, critic or self.critic, instruction, inputs, feedback=feedback,
            max_turns=DEFAULT_TURNS if turns is None else turns,
            threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
            on_turn=on_turn, should_stop=should_stop, on_text=on_text, on_plan=on_plan, on_progress=on_progress,
        )
        if outcome.best_turn is None:
            first = outcome.turns[0]
            raise first.exception or Declined(f"the edit produced no image to judge ({outcome.stopped})")
        smeared = smear(outcome.best_turn.critique.checks) if outcome.best_turn.critique else None
        if smeared is not None:  # a removal that leaves a smudge is not done: say so, with the next step
            raise Declined(f"the best offline removal (of {len(outcome.turns)} tried) is a smear, not a clean removal: "
                           f"{smeared.name} = {smeared.value or 0:.2f} (target {smeared.target}). So the edit was not "
                           "applied: mark a smaller part to remove, or configure the generative engine "
                           "(--engine INPAINT=diffusers-inpaint:MODEL_DIR, see docs/MODELS.md)")
        return outcome

    # -- results ------------------------------------------------------------------------------
    def write_run(self, out_dir: str | Path, result: RunResult, plan: Plan | None = None,
                  extra: dict | None = None) -> list[Path]:
        """The files a run leaves: result_N.png, workflow.json, graph.png, trace.json (+ reasoning.txt)."""
        from .graph import render_png
        from .images import save_png

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = [save_png(value, out / f"result_{i}.png") for i, value in enumerate(result.results, 1)
                   if isinstance(value, np.ndarray)]
        (out / "workflow.json").write_text(result.workflow.dumps() + "\n", encoding="utf-8")
        (out / "graph.png").write_bytes(render_png(result.workflow, self.registry, status=result.status()))
        trace = {**result.trace_json(), "seed": self.executor.seed, **(extra or {})}
        if plan is not None:
            (out / "reasoning.txt").write_text(plan.reasoning + "\n", encoding="utf-8")
            trace["reasoning"] = plan.reasoning
        # plain JSON only: a value json cannot write is a bug to fix where it is made, not to stringify here
        (out / "trace.json").write_text(json.dumps(trace, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return written + [out / n for n in ("workflow.json", "graph.png", "trace.json")]

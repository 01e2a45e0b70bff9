"""The one service object that CLI and UI both drive: registry + Builder + Executor.

Composition happens here and nowhere else; everything below receives what it needs.
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
from .executor import Executor, RunResult, StepCache, StepEvent
from .models import ModelManager
from .registry import Registry
from .slots import Slots
from .types import ValueType
from .validate import Validation, validate
from .workflow import Parsed, Workflow, parse_workflow

BUILDERS = ("rule", "mllm", "openai")


@dataclass
class EditorConfig:
    plugins: list[str] = field(default_factory=list)  # extra brick files (--bricks)
    builder: str = "rule"
    engine_choice: dict[str, str] = field(default_factory=dict)
    engine_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    cache_bytes: int = 512 * 2**20
    seed: int = 0
    model: str | None = None  # mllm: hub id or directory; openai: the served model name
    quant: str | None = None  # mllm: 4bit | 8bit | none (None: 4bit on CUDA, none on CPU)
    base_url: str | None = None  # openai: e.g. http://127.0.0.1:8000/v1 (else $OPENAI_BASE_URL)
    models_max_bytes: int | None = None  # model manager budget (None: free only on out-of-memory)
    model_calls_per_device: int = 1  # heavy model calls at once per device, across all sessions
    ray: dict[str, Any] = field(default_factory=dict)  # lego.toml [ray]: address → call the deployments
    ray_bricks: list[str] = field(default_factory=list)  # --engine BRICK=ray:ENGINE


def make_builder(name: str, registry: Registry, config: EditorConfig | None = None,
                 models: ModelManager | None = None) -> Builder:
    config = config or EditorConfig(builder=name)
    if name == "rule":
        from .builders.rule import RuleBuilder

        return RuleBuilder(registry)
    if name == "mllm":
        from .builders.mllm import DEFAULT_MODEL, MLLMBuilder

        return MLLMBuilder(registry, model=config.model or DEFAULT_MODEL, quant=config.quant, manager=models)
    if name == "openai":
        from .builders.openai_builder import OpenAIBuilder

        if not config.model:
            raise BadInput("the openai Builder needs --model NAME (the model the server serves)")
        return OpenAIBuilder(registry, model=config.model, base_url=config.base_url)
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


CRITICS = ("offline", "model")


def make_critic(name: str, editor: Editor):
    """The Think-while-Edit critic. "model" judges with the Builder's own model (EditThinker
    uses one MLLM for both), so it needs --builder mllm or openai."""
    if name == "offline":
        from .critics.offline import OfflineCritic

        return OfflineCritic(editor.registry)
    if name == "model":
        builder = editor.builder
        if not hasattr(builder, "chat"):
            raise BadInput(f"the model critic needs a model Builder (--builder mllm or openai), not {builder.name!r}")
        from .critics.model import ModelCritic

        return ModelCritic(builder)
    raise BadInput(f"unknown critic {name!r}; available: {', '.join(CRITICS)}")


class Editor:
    def __init__(self, registry: Registry, builder: Builder | None = None, executor: Executor | None = None,
                 config: EditorConfig | None = None, models: ModelManager | None = None):
        self.registry = registry
        # one model manager, shared by the model engines (through the Executor) and a model Builder
        self.models = models or (executor.models if executor is not None else None) or ModelManager()
        self.executor = executor or Executor(registry, models=self.models)
        if self.executor.models is None:
            self.executor.models = self.models
        self._builder = builder
        self.config = config or EditorConfig()

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
                            slots=Slots(config.model_calls_per_device))
        return cls(registry, executor=executor, config=config, models=models)

    @property
    def builder(self) -> Builder:
        if self._builder is None:  # built on first use: a model Builder loads nothing before
            self._builder = make_builder(self.config.builder, self.registry, self.config, self.models)
        return self._builder

    # -- workflows ----------------------------------------------------------------------------
    def read_workflow(self, source: Any, banned: Sequence[str] = (), has_mask: bool = True) -> tuple[Parsed, Validation]:
        parsed = parse_workflow(source)
        init_values = {"image": ValueType.IMAGE}
        if has_mask:
            init_values["mask"] = ValueType.MASK
        checked = validate(parsed.workflow, self.registry, banned=banned, init_values=init_values)
        checked.repairs[:0] = parsed.repairs
        return parsed, checked

    def run(self, workflow: Workflow | Any, image: np.ndarray, mask: np.ndarray | None = None,
            on_progress: Callable[[StepEvent], None] | None = None) -> RunResult:
        if not isinstance(workflow, Workflow):
            parsed, checked = self.read_workflow(workflow, has_mask=mask is not None)
            if not checked.ok:
                raise InvalidWorkflow(checked.problems)
            workflow = checked.workflow
        return self.executor.run(workflow, image, mask, on_progress=on_progress)

    # -- planning -----------------------------------------------------------------------------
    def plan(self, instruction: str, image: np.ndarray | None = None, mask: np.ndarray | None = None,
             feedback: Sequence[str] = (), previous: Plan | None = None,
             on_text: Callable[[str], None] | None = None) -> Plan:
        request = PlanRequest(instruction=instruction, image=image, has_mask=mask is not None)
        return self.builder.plan(request, feedback=list(feedback), previous=previous, on_text=on_text)

    def edit(self, instruction: str, image: np.ndarray, mask: np.ndarray | None = None,
             feedback: Sequence[str] = (), previous: Plan | None = None,
             on_progress: Callable[[StepEvent], None] | None = None,
             on_text: Callable[[str], None] | None = None) -> tuple[Plan, RunResult]:
        plan = self.plan(instruction, image, mask, feedback, previous, on_text)
        if plan.workflow is None:
            raise Declined(f"the {self.builder.name} Builder declined: {plan.declined}")
        if plan.problems:
            raise InvalidWorkflow(plan.problems)
        return plan, self.run(plan.workflow, image, mask, on_progress=on_progress)


def write_run(out_dir: str | Path, result: RunResult, registry: Registry, plan: Plan | None = None,
              extra: dict | None = None) -> list[Path]:
    """The files a run leaves: result_N.png, workflow.json, graph.png, trace.json (+ reasoning.txt)."""
    from .graph import render_png
    from .images import save_png

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [save_png(value, out / f"result_{i}.png") for i, value in enumerate(result.results, 1)]
    (out / "workflow.json").write_text(result.workflow.dumps() + "\n", encoding="utf-8")
    (out / "graph.png").write_bytes(render_png(result.workflow, registry, status=result.status()))
    trace = {**result.trace_json(), **(extra or {})}
    if plan is not None:
        (out / "reasoning.txt").write_text(plan.reasoning + "\n", encoding="utf-8")
        trace["reasoning"] = plan.reasoning
    (out / "trace.json").write_text(json.dumps(trace, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return written + [out / n for n in ("workflow.json", "graph.png", "trace.json")]

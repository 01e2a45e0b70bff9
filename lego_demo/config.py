"""Configuration: a `lego.toml` (path from --config or $LEGO_CONFIG) plus CLI overrides.

    builder = "rule"            # rule | mllm | openai (with model / quant / base_url)
    critic = "offline"          # Think-while-Edit judge: offline | model (the Builder's model)
    prompt_file = "system_prompt.txt"   # mllm/openai: the official release's prompt (docs/BUILDERS.md)
    critic_prompt_file = "prompt_template.txt"  # --critic model: EditThinker's template
    preload = false             # load every configured model at start (ZeroGPU Spaces need it)
    seed = 0
    cache_mb = 256              # step cache size (benchmarks/step_cache_rss.py)
    step_timeout = 300          # seconds; a step running longer is stopped
    run_budget = 20             # seconds of classical step time one run may take (lego_demo/run_limits.py)
    work_budget = 50.3          # megapixels of step work one run may ask for (steps × image megapixels)
    megapixels_at_once = 8.4    # image megapixels of the runs going on at once (2 at 2048×2048)
    bricks = ["plugins/my_brick.py"]

    model_calls_per_device = 1  # heavy model calls at once per device (see lego_demo/slots.py)

    [engines.FILL]              # per brick: which engine, and its options
    engine = "diffusers-inpaint"
    model = "/models/sd2-inpainting"

    [images]                    # defaults for every openai-images engine (engines/openai_images.py)
    base_url = "http://127.0.0.1:8091/v1"
    concurrency = 2

    [ray]                       # model engines on Ray Serve (lego_demo/ray_serve.py, docs/SCALING.md)
    address = "auto"            # set: the app and CLI call the deployments instead of running here
    [ray.FILL]                  # per brick: the deployment's GPU share, replicas, autoscaling
    num_gpus = 0.5

Command-line flags override the file (`--builder`, `--seed`, `--model`, …, `--engine
BRICK=ENGINE[:MODEL]` for engines, `--engine BRICK=ray:ENGINE` to call a Ray deployment, and
`--images-base-url URL`, else $LEGO_IMAGES_BASE_URL).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from .errors import BadInput

ENV_VAR = "LEGO_CONFIG"
IMAGES_ENV_VAR = "LEGO_IMAGES_BASE_URL"
IMAGES_ENGINE = "openai-images"
RAY = "ray"


def load_config(path: str | Path | None = None) -> dict[str, Any]:
    """The parsed lego.toml, or {} when none is named (no file is searched for implicitly)."""
    path = path or os.environ.get(ENV_VAR)
    if not path:
        return {}
    p = Path(path)
    if not p.is_file():
        raise BadInput(f"config file {str(p)!r}: no such file")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"config file {str(p)!r} is not valid TOML: {exc}") from None
    engines = data.get("engines", {})
    if not isinstance(engines, dict) or not all(isinstance(v, dict) for v in engines.values()):
        raise BadInput(f"config file {str(p)!r}: [engines.BRICK] sections must be tables")
    for table in ("images", "ray"):
        if not isinstance(data.get(table, {}), dict):
            raise BadInput(f"config file {str(p)!r}: [{table}] must be a table")
    return data


def parse_engine_flag(flag: str) -> tuple[str, str, str | None]:
    """`BRICK=ENGINE[:MODEL]` -> (BRICK, ENGINE, MODEL or None)."""
    brick, sep, rest = flag.partition("=")
    if not sep or not brick.strip() or not rest.strip():
        raise BadInput(f"--engine {flag!r}: expected BRICK=ENGINE[:MODEL], e.g. FILL=diffusers-inpaint:/models/sd")
    engine, _, model = rest.partition(":")
    return brick.strip().upper(), engine.strip(), model.strip() or None


def engine_settings(config: dict[str, Any], flags: list[str], images_base_url: str | None = None,
                    ) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """(engine choice per brick, engine options per brick) from the file, then the flags.
    `BRICK=ray:ENGINE` chooses ENGINE (where it runs: `ray_bricks`). Bricks on the
    openai-images engine take `[images]` (and the server URL) as defaults for their options."""
    choice: dict[str, str] = {}
    options: dict[str, dict[str, Any]] = {}
    for brick, table in config.get("engines", {}).items():
        table = dict(table)
        if "engine" in table:
            choice[brick.upper()] = str(table.pop("engine"))
        options[brick.upper()] = table
    for flag in flags:
        brick, engine, model = parse_engine_flag(flag)
        if engine == RAY:
            choice[brick] = _ray_engine(flag, model)
            continue
        choice[brick] = engine
        if model:
            options.setdefault(brick, {})["model"] = model
    images = dict(config.get("images", {}))
    url = images_base_url or os.environ.get(IMAGES_ENV_VAR) or images.get("base_url")
    if url:
        images["base_url"] = str(url).strip()
    for brick, engine in choice.items():
        if engine == IMAGES_ENGINE:
            options[brick] = {**images, **options.get(brick, {})}
    return choice, options


def _ray_engine(flag: str, engine: str | None) -> str:
    if not engine or ":" in engine:
        raise BadInput(f"--engine {flag!r}: expected BRICK=ray:ENGINE, the engine the Ray deployment runs, e.g. "
                       "FILL=ray:diffusers-inpaint (its model is set where it is served)")
    return engine


def _whole(value: Any, name: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1 or number != value:
        raise BadInput(f"config {name} must be a whole number of at least 1, not {value!r}")
    return number


def ray_bricks(flags: list[str]) -> list[str]:
    """Bricks that `--engine BRICK=ray:ENGINE` sends to a Ray Serve deployment."""
    return [brick for brick, engine, _ in map(parse_engine_flag, flags) if engine == RAY]


def editor_config(path: str | Path | None = None, engine_flags: list[str] | None = None, plugins: list[str] | None = None,
                  cache_mb: float | None = None, images_base_url: str | None = None, **given: Any):
    """The EditorConfig for a CLI or app start: a flag that was given (not None) wins over the
    config file, which wins over the defaults. `given`: builder, critic, seed, model, quant, base_url,
    prompt_file, critic_prompt_file, step_timeout, run_budget."""
    from .editor import EditorConfig

    data = load_config(path)
    flags = list(engine_flags or [])
    choice, options = engine_settings(data, flags, images_base_url)

    def pick(name: str, default: Any = None) -> Any:
        value = given.get(name)
        return value if value is not None else data.get(name, default)

    megabytes = cache_mb if cache_mb is not None else data.get("cache_mb", EditorConfig.cache_bytes / 2**20)
    return EditorConfig(
        plugins=list(plugins or []) + list(data.get("bricks", [])),
        builder=pick("builder", "rule"),
        critic=pick("critic", "offline"),
        seed=int(pick("seed", 0)),
        engine_choice=choice,
        engine_options=options,
        cache_bytes=int(max(0.0, float(megabytes)) * 2**20),
        model=pick("model"),
        quant=pick("quant"),
        base_url=pick("base_url"),
        prompt_file=pick("prompt_file"),
        critic_prompt_file=pick("critic_prompt_file"),
        preload=bool(pick("preload", False)),
        model_calls_per_device=_whole(data.get("model_calls_per_device", 1), "model_calls_per_device"),
        ray=dict(data.get("ray", {})),
        ray_bricks=ray_bricks(flags),
        step_timeout=_seconds(pick("step_timeout", EditorConfig.step_timeout)),
        run_budget=_seconds(pick("run_budget", EditorConfig.run_budget), "run_budget"),
        work_budget=round(_positive(data.get("work_budget", EditorConfig.work_budget / 1e6), "work_budget") * 1e6),
        pixels_at_once=round(_positive(data.get("megapixels_at_once", EditorConfig.pixels_at_once / 1e6),
                                       "megapixels_at_once") * 1e6),
    )


def _positive(value: Any, name: str, unit: str = "megapixels") -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not 0 < number < float("inf"):
        raise BadInput(f"{name} must be a positive number of {unit}, got {value!r}")
    return number


def _seconds(value: Any, name: str = "step_timeout") -> float:
    return _positive(value, name, "seconds")

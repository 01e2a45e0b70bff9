"""Configuration: a `lego.toml` (path from --config or $LEGO_CONFIG) plus CLI overrides.

    builder = "rule"            # rule | mllm | openai (with model / quant / base_url)
    critic = "offline"          # Think-while-Edit judge: offline | model (the Builder's model)
    prompt_file = "system_prompt.txt"   # mllm/openai: the official release's prompt (docs/BUILDERS.md)
    critic_prompt_file = "prompt_template.txt"  # --critic model: EditThinker's template
    preload = false             # load every configured model at start (ZeroGPU Spaces need it)
    seed = 0
    cache_mb = 512              # step cache size
    step_timeout = 300          # seconds; a step running longer is stopped
    bricks = ["plugins/my_brick.py"]

    [engines.FILL]              # per brick: which engine, and its options
    engine = "diffusers-inpaint"
    model = "/models/sd2-inpainting"

Command-line flags override the file (`--builder`, `--seed`, `--model`, …, and
`--engine BRICK=ENGINE[:MODEL]` for engines).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from .errors import BadInput

ENV_VAR = "LEGO_CONFIG"


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
    return data


def parse_engine_flag(flag: str) -> tuple[str, str, str | None]:
    """`BRICK=ENGINE[:MODEL]` -> (BRICK, ENGINE, MODEL or None)."""
    brick, sep, rest = flag.partition("=")
    if not sep or not brick.strip() or not rest.strip():
        raise BadInput(f"--engine {flag!r}: expected BRICK=ENGINE[:MODEL], e.g. FILL=diffusers-inpaint:/models/sd")
    engine, _, model = rest.partition(":")
    return brick.strip().upper(), engine.strip(), model.strip() or None


def engine_settings(config: dict[str, Any], flags: list[str]) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """(engine choice per brick, engine options per brick) from the file, then the flags."""
    choice: dict[str, str] = {}
    options: dict[str, dict[str, Any]] = {}
    for brick, table in config.get("engines", {}).items():
        table = dict(table)
        if "engine" in table:
            choice[brick.upper()] = str(table.pop("engine"))
        options[brick.upper()] = table
    for flag in flags:
        brick, engine, model = parse_engine_flag(flag)
        choice[brick] = engine
        if model:
            options.setdefault(brick, {})["model"] = model
    return choice, options


def editor_config(path: str | Path | None = None, engine_flags: list[str] | None = None, plugins: list[str] | None = None,
                  cache_mb: float | None = None, **given: Any):
    """The EditorConfig for a CLI or app start: a flag that was given (not None) wins over the
    config file, which wins over the defaults. `given`: builder, critic, seed, model, quant, base_url,
    prompt_file, critic_prompt_file, step_timeout."""
    from .editor import EditorConfig

    data = load_config(path)
    choice, options = engine_settings(data, list(engine_flags or []))

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
        step_timeout=_seconds(pick("step_timeout", EditorConfig.step_timeout)),
    )


def _seconds(value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise BadInput(f"step_timeout must be a positive number of seconds, got {value!r}")
    return seconds

"""What an Editor checks about its models when it starts: do the configured models fit the
GPU (`vram.check_fit`: refused with the numbers, not found out as an out-of-memory error in
the middle of an edit), and, with `preload = true`, load them all now.

Nothing is imported or loaded when no model is configured: the offline app starts as fast
as before and never imports torch.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def model_engines(registry: Any) -> list[tuple[Any, Any, dict]]:
    """(brick spec, engine, options) for every brick whose chosen engine is a model engine."""
    found = []
    for spec in registry.specs():
        try:
            engine = registry.choose_engine(spec)
        except Exception:  # no engine can run: nothing will load
            continue
        if engine.kind == "model":
            found.append((spec, engine, registry.options_for(spec)))
    return found


def builder_model(config: Any) -> str | None:
    """The model the mllm Builder would load, or None for other Builders."""
    if config.builder != "mllm":
        return None
    from .builders.mllm import DEFAULT_MODEL

    return config.model or DEFAULT_MODEL


def start_models(editor: Any) -> Any:
    """The fit check (CannotDo with the numbers when the models cannot fit even with offload),
    then `preload`. Returns the `vram.Fit`, or None when no model is configured."""
    config = editor.config
    engines = model_engines(editor.registry)
    vlm = builder_model(config)
    if not engines and vlm is None:
        return None
    from .gpu import import_spaces_first

    import_spaces_first()  # before torch initialises CUDA (ZeroGPU refuses to start otherwise)
    from .vram import check_fit, configured_estimates

    fit = check_fit(configured_estimates(editor.registry, vlm, config.quant))
    if config.preload:
        for spec, engine, options in engines:
            load = getattr(engine.check, "load", None)
            if load is not None:
                log.info("preloading %s (%s)", spec.name, engine.name)
                load(options, editor.models)
        if vlm is not None:
            editor.builder._loaded()
    return fit

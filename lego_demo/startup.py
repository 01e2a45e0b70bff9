"""What an Editor checks about its models when it starts: do the configured models fit the
GPU (`vram.check_fit`: refused with the numbers, not found out as an out-of-memory error in
the middle of an edit), and, with `preload = true`, load them all now.

Nothing is imported or loaded when no model is configured: the offline app starts as fast
as before and never imports torch.
"""

from __future__ import annotations

import logging
import threading
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


WARM_EDITS = ("remove the red circle", "blur the background")  # colour grounding + removal; the subject path


def warm_offline(editor: Any) -> threading.Thread:
    """In a background thread: load the person and face models (lego_demo/detectors.py) into the
    editor's model manager and run a few tiny edits on a 160×120 synthetic scene, so the
    libraries the offline engines use (OpenCV, SciPy, scikit-image) are imported and a visitor's
    first edit does not wait for them. The app calls it once it serves; failures are logged."""

    def warm() -> None:
        from .detectors import warm as load_models
        from .synthetic import make_scene

        for problem in load_models(editor.models):
            log.info("not preloaded: %s", problem)
        image = make_scene(160, 120, objects=[("red", "circle", (50, 60), 24), ("blue", "square", (112, 60), 24)],
                           background_kind="stripes", seed=0).image
        for instruction in WARM_EDITS:
            try:
                editor.edit(instruction, image)
            except Exception as exc:  # noqa: BLE001 - a warm-up must never take the app down
                log.info("warm-up edit %r: %s", instruction, exc)

    thread = threading.Thread(target=warm, name="lego-warm-up", daemon=True)
    thread.start()
    return thread

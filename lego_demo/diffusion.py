"""Glue shared by the model engines: availability checks, loading through the model manager,
PIL conversion, size rounding, seeded generators and exact compositing.

Nothing heavy is imported at module level: torch, diffusers and transformers are imported
inside the functions that need them, so `import bricks.*` stays light.

Engine options (from `[engines.BRICK]` in lego.toml or `--engine BRICK=ENGINE:MODEL`):
  model     hub id or local directory (required)
  steps     denoising steps            guidance  classifier-free guidance scale
  device    cuda | mps | cpu | auto    dtype     fp32 | fp16 | bf16 | auto
  quant     none | 4bit | 8bit (bitsandbytes; 4bit = nf4, on the big transformer/UNet and T5)
  offload   true | false | "auto" (diffusers enable_model_cpu_offload; auto = when VRAM is short)
  size      longest side the model works at (default 512 for SD, 1024 for FLUX)
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import BadInput, CannotDo, LegoError
from .imaging import keep_outside, rgb, same_size

log = logging.getLogger(__name__)

INPAINT_FAMILIES = {"FluxFillPipeline": "flux-fill"}  # anything else: AutoPipelineForInpainting
INSTRUCT_FAMILIES = {
    "StableDiffusionInstructPix2PixPipeline": "ip2p",
    "StableDiffusionXLInstructPix2PixPipeline": "ip2p-xl",
    "FluxKontextPipeline": "flux-kontext",
}
# per family: (size multiple, default working side, default steps, default guidance)
FAMILY_DEFAULTS = {
    "sd-inpaint": (8, 512, 30, 7.5),
    "flux-fill": (16, 1024, 28, 30.0),
    "ip2p": (8, 512, 20, 7.5),
    "ip2p-xl": (8, 768, 20, 7.5),
    "flux-kontext": (16, 1024, 28, 2.5),
}
# components quantized with quant = 4bit/8bit (those that exist in the loaded pipeline)
QUANT_COMPONENTS = ("transformer", "text_encoder_2", "unet")


# -- availability (cheap: no imports of torch/diffusers) -------------------------------------
def _looks_like_path(model: str) -> bool:
    return model.startswith(("/", "./", "../", "~", ".\\")) or model.count("/") > 1 or "\\" in model


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip() not in ("", "0", "false", "False")


DIFFUSERS = ("torch", "diffusers", "transformers")
TRANSFORMERS = ("torch", "transformers")


def model_check(brick: str, engine: str, packages: tuple[str, ...] = DIFFUSERS,
                needs_file: str | None = "model_index.json", example: str = "DIR") -> ModelCheck:
    """A model engine's `check` (see `spec.Engine`): `model_reason` for these options; it also
    estimates the engine's GPU memory (`bricks --json`, the fit check at start)."""
    return ModelCheck(brick, engine, packages, needs_file, example)


@dataclass(frozen=True)
class ModelCheck:
    brick: str
    engine: str
    packages: tuple[str, ...]
    needs_file: str | None
    example: str

    def __call__(self, options: Mapping[str, Any]) -> str | None:
        return model_reason(options, self.brick, self.engine, self.packages, self.needs_file, self.example)

    def estimate(self, options: Mapping[str, Any]) -> Any:
        """A `vram.Estimate` of this engine with these options, or None (no model configured)."""
        from .vram import engine_estimate

        return engine_estimate(self.engine, options, f"{self.brick} ({self.engine})")

    def load(self, options: Mapping[str, Any], models: Any) -> None:
        """Load this engine's model into the manager now (`preload`), as its first step would."""
        from .spec import RunContext

        ctx = RunContext(step=0, options=options, models=models)
        if self.engine == "diffusers-inpaint":
            inpaint_pipeline(ctx)
        elif self.engine == "instruct":
            instruct_pipeline(ctx)
        elif self.engine == "clipseg":
            clipseg_model(ctx)
        elif self.engine == "vlm":
            from .vlm import load_mllm, vlm_key, vlm_settings

            s = vlm_settings(options)
            models.get(vlm_key(str(options["model"]), s), lambda: load_mllm(str(options["model"]), **s))


def model_reason(options: Mapping[str, Any], brick: str, engine: str, packages: tuple[str, ...],
                 needs_file: str | None = None, example: str = "DIR") -> str | None:
    """Why a model engine cannot run with these options, or None. Checks the packages are
    installed, a model is configured, and a local model directory exists (with `needs_file`)."""
    missing = [p for p in packages if importlib.util.find_spec(p) is None]
    if missing:
        return f"package {', '.join(missing)} missing (pip install {' '.join(missing)})"
    model = str(options.get("model") or "").strip()
    if not model:
        return (f"no model configured: set [engines.{brick}] engine = \"{engine}\" and model = … in "
                f"lego.toml or --engine {brick}={engine}:{example}")
    path = Path(model).expanduser()
    if path.is_dir():
        if needs_file and not (path / needs_file).is_file():
            return f"weights not found at {model} (no {needs_file} in that directory)"
        return None
    if _looks_like_path(model) or path.exists():
        return f"weights not found at {model}"
    if _offline() and needs_file:  # a hub id, but the hub is off: it must be in the local cache
        try:
            from huggingface_hub import try_to_load_from_cache

            if not isinstance(try_to_load_from_cache(model, needs_file), str):
                return f"weights not found for {model} in the local Hugging Face cache (HF_HUB_OFFLINE=1)"
        except ImportError:
            pass
    return None


def pipeline_class(model: str) -> str | None:
    """`_class_name` from a diffusers model_index.json (local dir or the local hub cache)."""
    path = Path(model).expanduser() / "model_index.json"
    if not path.is_file():
        try:
            from huggingface_hub import hf_hub_download

            path = Path(hf_hub_download(model, "model_index.json", local_files_only=_offline()))
        except Exception:  # no hub, not cached: fall back to the default family
            return None
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("_class_name")
    except (OSError, ValueError):
        return None


# -- settings ----------------------------------------------------------------------------------
@dataclass
class Settings:
    model: str
    family: str
    device: str
    dtype: Any  # torch dtype
    quant: str
    offload: bool | str  # True, False or "auto" (decided when the pipeline loads)
    steps: int
    guidance: float
    size: int
    multiple: int

    def key(self) -> tuple:
        from .models import model_key

        offload = {True: "offload", False: "resident"}.get(self.offload, "auto")
        return model_key(self.family, self.model, str(self.dtype).replace("torch.", ""), self.quant,
                         self.device, offload)


def _bool(value: Any) -> bool | str:
    if isinstance(value, str):
        low = value.strip().lower()
        if low == "auto":
            return "auto"
        return low in ("1", "true", "yes", "on")
    return bool(value)


def settings(options: Mapping[str, Any], family: str) -> Settings:
    from .models import default_dtype, pick_device

    multiple, side, steps, guidance = FAMILY_DEFAULTS[family]
    model = str(options.get("model") or "").strip()
    if not model:
        raise CannotDo("no model configured for this engine (set model = … in lego.toml)")
    device = pick_device(options.get("device"))
    dtype = default_dtype(device, options.get("dtype"))
    quant = str(options.get("quant") or "none").lower()
    if quant not in ("none", "4bit", "8bit"):
        raise BadInput(f"unknown quant {quant!r}; use none, 4bit or 8bit")
    offload = _bool(options.get("offload", "auto"))
    if not device.startswith("cuda"):
        if offload is True:
            log.info("offload asked for, but the device is %s: ignored", device)
        offload = False
    try:
        steps = int(options.get("steps", steps))
        guidance = float(options.get("guidance", guidance))
        side = int(options.get("size", side))
    except (TypeError, ValueError) as exc:
        raise BadInput(f"engine options steps/guidance/size must be numbers: {exc}") from None
    if steps < 1:
        raise BadInput("engine option steps must be at least 1")
    return Settings(model, family, device, dtype, quant, offload, steps, guidance, max(side, multiple), multiple)


# -- loading -----------------------------------------------------------------------------------
def manager_of(ctx: Any) -> Any:
    """The Editor's one model manager, which the Executor puts in every step's context (there
    is no process-wide fallback: two managers would hold two copies of a model)."""
    models = getattr(ctx, "models", None)
    if models is None:
        raise LegoError("a model engine ran without the Editor's model manager; run steps through the Executor")
    return models


def load_pipeline(cls: Any, s: Settings) -> Any:
    """from_pretrained(model) with dtype, optional bitsandbytes quantization and offload."""
    import torch

    local = Path(s.model).expanduser().is_dir()
    kwargs: dict[str, Any] = {_dtype_kwarg(): s.dtype, "local_files_only": local or _offline()}
    if s.quant != "none":
        if importlib.util.find_spec("bitsandbytes") is None:
            raise CannotDo(f"quant = {s.quant} needs the bitsandbytes package (pip install bitsandbytes)")
        if not s.device.startswith("cuda"):
            raise CannotDo(f"quant = {s.quant} for diffusers pipelines needs a CUDA GPU (device here: {s.device}); "
                           "set quant = \"none\"")
        from diffusers.quantizers import PipelineQuantizationConfig

        present = set(_component_names(s.model))
        components = [c for c in QUANT_COMPONENTS if c in present] or ["transformer"]
        quant_kwargs = ({"load_in_4bit": True, "bnb_4bit_quant_type": "nf4", "bnb_4bit_compute_dtype": s.dtype}
                        if s.quant == "4bit" else {"load_in_8bit": True})
        kwargs["quantization_config"] = PipelineQuantizationConfig(
            quant_backend=f"bitsandbytes_{s.quant}", quant_kwargs=quant_kwargs, components_to_quantize=components)
    try:
        # bitsandbytes puts quantized weights on the *current* CUDA device: make it s.device
        with _current_cuda_device(s.device):
            pipe = cls.from_pretrained(s.model, **kwargs)
    except (OSError, ValueError) as exc:
        where = "the local directory" if local else "the hub / local cache"
        raise BadInput(f"cannot load diffusers pipeline {s.model!r} from {where}: {_first_line(exc)}") from exc
    offload = s.offload
    if offload == "auto":
        from .vram import needs_offload

        offload = needs_offload(s)
    if offload:
        pipe.enable_model_cpu_offload(device=s.device)
    elif s.quant == "none":
        pipe.to(s.device)
    else:  # quantized modules are placed on the GPU when loaded; move the rest
        for name, component in pipe.components.items():
            if isinstance(component, torch.nn.Module) and name not in QUANT_COMPONENTS:
                component.to(s.device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _current_cuda_device(device: str) -> Any:
    """A context in which torch's current CUDA device is `device` ("cuda:1"); a no-op for
    "cuda" (the current one) and off CUDA."""
    import contextlib

    import torch

    if not device.startswith("cuda:"):
        return contextlib.nullcontext()
    return torch.cuda.device(int(device.split(":", 1)[1]))


def _dtype_kwarg() -> str:
    """diffusers >= 0.36 takes `dtype` (and warns on `torch_dtype`); older ones `torch_dtype`."""
    try:
        from diffusers.utils.deprecation_utils import _resolve_dtype  # noqa: F401
    except ImportError:
        return "torch_dtype"
    return "dtype"


def _component_names(model: str) -> list[str]:
    path = Path(model).expanduser() / "model_index.json"
    try:
        return [k for k in json.loads(path.read_text(encoding="utf-8")) if not k.startswith("_")]
    except (OSError, ValueError):
        return list(QUANT_COMPONENTS)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def inpaint_pipeline(ctx: Any) -> tuple[Any, Settings]:
    """The shared inpainting pipeline for ctx.options: FLUX.1-Fill when the model's
    model_index.json says FluxFillPipeline, else AutoPipelineForInpainting (SD family)."""
    model = str(ctx.options.get("model") or "")
    family = INPAINT_FAMILIES.get(pipeline_class(model) or "", "sd-inpaint")
    s = settings(ctx.options, family)

    def load() -> Any:
        import diffusers

        cls = diffusers.FluxFillPipeline if family == "flux-fill" else diffusers.AutoPipelineForInpainting
        return load_pipeline(cls, s)

    return manager_of(ctx).get(s.key(), load), s


def instruct_pipeline(ctx: Any) -> tuple[Any, Settings]:
    """The shared instruction-editing pipeline: InstructPix2Pix (SD / SDXL) or FLUX.1-Kontext."""
    model = str(ctx.options.get("model") or "")
    name = pipeline_class(model)
    family = INSTRUCT_FAMILIES.get(name or "", "ip2p")
    if name and name not in INSTRUCT_FAMILIES:
        raise BadInput(f"model {model!r} is a {name}, not an instruction-editing pipeline "
                       f"(use one of {', '.join(INSTRUCT_FAMILIES)})")
    s = settings(ctx.options, family)

    def load() -> Any:
        import diffusers

        cls = {"ip2p": diffusers.StableDiffusionInstructPix2PixPipeline,
               "ip2p-xl": diffusers.StableDiffusionXLInstructPix2PixPipeline,
               "flux-kontext": diffusers.FluxKontextPipeline}[family]
        return load_pipeline(cls, s)

    return manager_of(ctx).get(s.key(), load), s


def clipseg_model(ctx: Any) -> tuple[tuple[Any, Any], tuple, Any]:
    """((CLIPSeg model, processor), its key, the manager) for ctx.options (RES's clipseg engine)."""
    from .models import default_dtype, model_key, pick_device

    model = str(ctx.options.get("model") or "").strip()
    device = pick_device(ctx.options.get("device"))
    dtype = default_dtype(device, ctx.options.get("dtype", "fp32"))
    key = model_key("clipseg", model, str(dtype).replace("torch.", ""), "none", device)

    def load() -> tuple[Any, Any]:
        from transformers import CLIPSegForImageSegmentation, CLIPSegProcessor

        local = Path(model).expanduser().is_dir()
        try:
            processor = CLIPSegProcessor.from_pretrained(model, local_files_only=local or _offline())
            net = CLIPSegForImageSegmentation.from_pretrained(model, dtype=dtype, local_files_only=local or _offline())
        except (OSError, ValueError) as exc:
            raise BadInput(f"cannot load CLIPSeg model {model!r}: {_first_line(exc)}") from exc
        return net.to(device).eval(), processor

    manager = manager_of(ctx)
    return manager.get(key, load), key, manager


# -- images --------------------------------------------------------------------------------------
def work_size(width: int, height: int, side: int, multiple: int) -> tuple[int, int]:
    """(w, h) no larger than `side` on the longer edge (never upscaled), multiples of `multiple`."""
    scale = min(1.0, side / max(width, height))
    w = max(multiple, int(round(width * scale / multiple)) * multiple)
    h = max(multiple, int(round(height * scale / multiple)) * multiple)
    return w, h


def to_pil(image: np.ndarray, size: tuple[int, int] | None = None) -> Any:
    from PIL import Image

    pil = Image.fromarray(np.ascontiguousarray(rgb(image)[..., :3]), "RGB")
    return pil.resize(size, Image.LANCZOS) if size and size != pil.size else pil


def mask_pil(mask: np.ndarray, size: tuple[int, int] | None = None) -> Any:
    """White = the area to generate. Resized with a max filter so no selected pixel is lost."""
    from PIL import Image

    pil = Image.fromarray(mask.astype(np.uint8) * 255, "L")
    if size and size != pil.size:
        pil = pil.resize(size, Image.BOX).point(lambda v: 255 if v > 0 else 0)
    return pil


def from_output(images: Any, size: tuple[int, int]) -> np.ndarray:
    """The first image of a pipeline's output_type="np" result, as uint8 at `size` (w, h)."""
    from PIL import Image

    arr = np.asarray(images[0] if not isinstance(images, np.ndarray) or images.ndim == 4 else images)
    if arr.dtype != np.uint8:
        arr = np.clip(arr * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if (arr.shape[1], arr.shape[0]) != size:
        arr = np.asarray(Image.fromarray(arr[..., :3], "RGB").resize(size, Image.LANCZOS))
    return arr[..., :3]


def step_seed(ctx: Any) -> int:
    """A 63-bit seed from (run seed, step number): same run seed + step = same noise."""
    return int(np.random.SeedSequence([int(ctx.seed) & 0xFFFFFFFF, int(ctx.step)]).generate_state(2, np.uint64)[0]
               & 0x7FFF_FFFF_FFFF_FFFF)


def check_mask(image: np.ndarray, mask: np.ndarray, brick: str) -> None:
    same_size("image", image, "mask", mask)
    if not mask.any():
        raise BadInput(f"{brick}: the mask is empty")


# -- the two kinds of generative call ---------------------------------------------------------
def pipeline_images(pipe: Any, kwargs: dict[str, Any], seed: int) -> Any:
    """`pipe(**kwargs, generator=CPU generator seeded with seed).images`: module-level with
    plain arguments, so `ModelManager.call` can run it in a GPU worker."""
    import torch

    return pipe(**kwargs, generator=torch.Generator("cpu").manual_seed(seed)).images


def generation_seconds(s: Settings, size: tuple[int, int]) -> int:
    """A duration estimate for a GPU time slot (ZeroGPU): per denoising step at this size."""
    per_step = (0.6 if s.family.startswith("flux") else 0.12) * (size[0] * size[1]) / 1024**2
    return int(20 + s.steps * max(per_step, 0.05) * (1 if s.offload is False else 2))


def run_inpaint(ctx: Any, image: np.ndarray, mask: np.ndarray, prompt: str, init: np.ndarray | None = None,
                strength: float = 1.0, negative: str | None = None) -> np.ndarray:
    """Generate `prompt` inside `mask`; pixels outside the mask come back exactly."""
    _, s = inpaint_pipeline(ctx)
    base = rgb(image)[..., :3]
    h, w = base.shape[:2]
    size = work_size(w, h, s.size, s.multiple)
    start = base if init is None else keep_outside(base, rgb(init)[..., :3], mask)
    strength = float(min(1.0, max(strength, 1.0 / s.steps + 1e-6)))  # at least one denoising step
    kwargs: dict[str, Any] = dict(
        prompt=prompt, image=to_pil(start, size), mask_image=mask_pil(mask, size), width=size[0], height=size[1],
        num_inference_steps=s.steps, guidance_scale=s.guidance, strength=strength, output_type="np")
    if s.family == "flux-fill":
        kwargs["max_sequence_length"] = int(ctx.options.get("max_sequence_length", 512))
    elif negative:
        kwargs["negative_prompt"] = negative
    out = manager_of(ctx).call(s.key(), pipeline_images, kwargs, step_seed(ctx), what=f"running {s.model}",
                               seconds=generation_seconds(s, size))
    return keep_outside(base, from_output(out, (w, h)), mask)


def run_instruct(ctx: Any, image: np.ndarray, instruction: str, mask: np.ndarray | None = None) -> np.ndarray:
    """Edit the image as the instruction says; with a mask, only inside it."""
    _, s = instruct_pipeline(ctx)
    base = rgb(image)[..., :3]
    h, w = base.shape[:2]
    size = work_size(w, h, s.size, s.multiple)
    kwargs: dict[str, Any] = dict(prompt=instruction, image=to_pil(base, size), num_inference_steps=s.steps,
                                  guidance_scale=s.guidance, output_type="np")
    if s.family == "flux-kontext":
        # Kontext generates at max_area (default 1024²) whatever width/height say
        kwargs.update(width=size[0], height=size[1], max_area=size[0] * size[1], _auto_resize=False,
                      max_sequence_length=int(ctx.options.get("max_sequence_length", 512)))
    else:
        kwargs["image_guidance_scale"] = float(ctx.options.get("image_guidance", 1.5))
    out = manager_of(ctx).call(s.key(), pipeline_images, kwargs, step_seed(ctx), what=f"running {s.model}",
                               seconds=generation_seconds(s, size))
    return keep_outside(base, from_output(out, (w, h)), mask)


# -- prompt wording ------------------------------------------------------------------------------
_LEAD = re.compile(r"^\s*(?:please\s+)?(?:change|turn|make|replace|set|paint|recolou?r|convert|swap)\b.*?"
                   r"\b(?:to|into|with|as)\s+(.+)$", re.I)


def target_words(prompt: str) -> str:
    """'change the colour to dark red' -> 'dark red'; a bare target stays as it is."""
    text = (prompt or "").strip().rstrip(".")
    m = _LEAD.match(text)
    return (m.group(1) if m else text).strip()

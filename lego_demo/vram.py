"""GPU memory estimates for model engines and the model Builder, and the fit check at start.

An estimate counts parameters, not file bytes: from the safetensors headers of the files the
model would load (a local directory, or the hub id's snapshot in the local Hugging Face
cache), else from a table of well-known checkpoints, else from the family's usual size. Only
the files a pipeline loads count: the component folders named in `model_index.json` (a FLUX
snapshot also holds a single-file checkpoint at its root, which diffusers does not load), one
format per folder (safetensors before .bin) and no precision variants beside the main files.

Bytes = parameters × bytes per parameter of the load dtype (bf16/fp16 2, fp32 4; bitsandbytes
4-bit ≈ 0.55 and 8-bit ≈ 1.05 on the quantized components) + working memory (activations,
KV cache) that grows with the image size. With CPU offload (diffusers) the peak is the largest
component + working memory. These are estimates (docs/MODELS.md): measure on your card.

`check_fit` sums, per CUDA device, what the configured models need at the same time (one copy
per model key, as the `ModelManager` shares them): every model that stays on the GPU (VLMs,
CLIPSeg, pipelines with offload = false) plus the peak of the largest pipeline allowed to
offload (steps run one at a time, and an offloaded pipeline holds no GPU memory between
calls). A combination that cannot fit even so is refused with the numbers before the first edit.
"""

from __future__ import annotations

import json
import logging
import math
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import CannotDo

log = logging.getLogger(__name__)

GB = 1e9
QUANT_BYTES = {"none": None, "4bit": 0.55, "8bit": 1.05}
CUDA_CONTEXT = int(0.5 * GB)  # the CUDA context and allocator slack, once per device
VARIANTS = {"fp16", "bf16", "fp32", "fp8", "ema", "non_ema"}
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")

# parameters (billions) per component of well-known checkpoints (from their model cards)
FLUX = {"transformer": 11.9, "text_encoder_2": 4.76, "text_encoder": 0.123, "vae": 0.084}
SD2_INPAINT = {"unet": 0.866, "text_encoder": 0.340, "vae": 0.084}
SD15 = {"unet": 0.86, "text_encoder": 0.123, "vae": 0.084}
SDXL = {"unet": 2.57, "text_encoder": 0.123, "text_encoder_2": 0.695, "vae": 0.084}
KNOWN = {
    "black-forest-labs/flux.1-fill-dev": FLUX,
    "black-forest-labs/flux.1-kontext-dev": FLUX,
    "stabilityai/stable-diffusion-2-inpainting": SD2_INPAINT,
    "timbrooks/instruct-pix2pix": SD15,
    "diffusers/sdxl-instructpix2pix-768": SDXL,
    "qwen/qwen2.5-vl-3b-instruct": {"model": 3.75},
    "qwen/qwen2.5-vl-7b-instruct": {"model": 8.29},
    "xiaomimimo/mimo-vl-7b-rl": {"model": 8.31},
    "cidas/clipseg-rd64-refined": {"model": 0.15},
}
FAMILY = {"flux-fill": FLUX, "flux-kontext": FLUX, "sd-inpaint": SD2_INPAINT, "ip2p": SD15, "ip2p-xl": SDXL,
          "clipseg": {"model": 0.15}}
# working memory: (fixed bytes, bytes per megapixel generated) for pipelines
WORKING = {"flux-fill": (0.5, 3.0), "flux-kontext": (0.5, 4.5), "sd-inpaint": (0.3, 4.5), "ip2p": (0.3, 4.5),
           "ip2p-xl": (0.5, 2.0)}
# components that bitsandbytes quantizes (diffusion.QUANT_COMPONENTS; the whole model for a VLM)
QUANTIZED = ("transformer", "text_encoder_2", "unet", "model")
VLM_UNQUANTIZED_SHARE = 0.13  # embeddings and lm_head of a ~7B VLM stay in 16 bit


@dataclass
class Estimate:
    what: str  # "FILL: flux-fill black-forest-labs/FLUX.1-Fill-dev (4bit)"
    model: str
    device: str  # as configured: auto, cuda, cuda:1, cpu, mps
    resident_bytes: int  # every weight on the GPU + working memory
    offload_bytes: int | None  # with CPU offload: largest component + working; None: no offload
    offload: bool | str = "auto"  # the engine's offload option
    source: str = ""  # where the parameter counts came from
    key: tuple = ()  # equal keys on one device = one shared copy in the ModelManager
    users: list[str] = field(default_factory=list)  # bricks / Builder using this copy

    @property
    def offloadable(self) -> bool:
        """A pipeline that may run with CPU offload (offload = true or "auto"): idle, it holds
        no GPU memory (diffusers moves every component back after a call); running, its peak."""
        return self.offload is not False and self.offload_bytes is not None

    def to_json(self) -> dict:
        return {"gb": round(self.resident_bytes / GB, 1),
                "gb_with_offload": None if self.offload_bytes is None else round(self.offload_bytes / GB, 1),
                "device": self.device, "source": self.source}

    def line(self) -> str:
        off = "" if self.offload_bytes is None else f", ≈ {self.offload_bytes / GB:.1f} GB with offload"
        return f"{self.what}: ≈ {self.resident_bytes / GB:.1f} GB{off} ({self.source})"


# -- parameter counts --------------------------------------------------------------------------
def safetensors_params(path: Path) -> int:
    """Parameters declared in a safetensors header (reads the header only)."""
    with path.open("rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    return sum(math.prod(v["shape"]) for k, v in header.items() if k != "__metadata__")


def _variant(name: str) -> str | None:
    """'fp16' for 'model.fp16.safetensors' or 'model.fp16-00001-of-00002.safetensors'."""
    parts = name.split(".")
    tag = parts[-2].split("-")[0] if len(parts) > 2 else ""
    return tag if tag in VARIANTS else None


def folder_params(folder: Path) -> int:
    """Parameters of the weights in one folder (not recursive): safetensors before .bin, main
    files before precision variants; a .bin counts as fp32 (fp16 for a 16-bit variant)."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(WEIGHT_SUFFIXES))
    chosen = [p for p in files if p.suffix == ".safetensors"] or files
    main = [p for p in chosen if _variant(p.name) is None]
    if not main and chosen:  # only variants: one of them, as diffusers loads one
        first = _variant(chosen[0].name)
        main = [p for p in chosen if _variant(p.name) == first]
    total = 0
    for p in main:
        if p.suffix == ".safetensors":
            total += safetensors_params(p)
        else:
            total += p.stat().st_size // (2 if _variant(p.name) in ("fp16", "bf16") else 4)
    return total


def component_params(root: Path) -> dict[str, int]:
    """{component: parameters} of a diffusers folder (the components model_index.json names)
    or a transformers folder ({"model": …})."""
    index = root / "model_index.json"
    if index.is_file():
        names = [k for k, v in json.loads(index.read_text(encoding="utf-8")).items()
                 if not k.startswith("_") and isinstance(v, list) and v and v[0] is not None]
        counts = {n: folder_params(root / n) for n in names if (root / n).is_dir()}
    else:
        counts = {"model": folder_params(root)}
    return {n: c for n, c in counts.items() if c}  # tokenizers, schedulers: no weights


def local_dir(model: str) -> Path | None:
    """A local directory for `model`: itself, or its snapshot in the Hugging Face cache (never
    downloads)."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(model, local_files_only=True))
    except Exception:  # not cached, not a hub id, or no huggingface_hub
        return None


def params_of(model: str, family: str) -> tuple[dict[str, int], str]:
    """({component: parameters}, where the counts came from)."""
    root = local_dir(model)
    if root is not None:
        counts = component_params(root)
        if counts:
            return counts, f"safetensors headers in {root}"
    known = KNOWN.get(model.strip().lower())
    if known:
        return {k: int(v * 1e9) for k, v in known.items()}, f"published size of {model}"
    if family == "vlm":
        m = re.search(r"(\d+(?:\.\d+)?)\s*[bB]\b", model)
        billions = float(m.group(1)) if m else 8.0
        return {"model": int(billions * 1e9)}, f"{billions:g}B from the name" if m else "a typical 8B VLM"
    return {k: int(v * 1e9) for k, v in FAMILY[family].items()}, f"typical {family} sizes"


# -- estimates ----------------------------------------------------------------------------------
def _dtype_bytes(device: str, dtype: Any) -> int:
    name = str(dtype or "").replace("torch.", "").lower()
    if name in ("fp32", "float32"):
        return 4
    if name in ("fp16", "float16", "bf16", "bfloat16"):
        return 2
    return 4 if device == "cpu" else 2  # the default dtype: fp32 on CPU, 16 bit on a GPU


def _component_bytes(name: str, params: int, quant: str, base: int, vlm: bool = False) -> int:
    per = QUANT_BYTES.get(quant)
    if per is None or name not in QUANTIZED:
        return params * base
    if vlm:
        kept = int(params * VLM_UNQUANTIZED_SHARE)
        return int((params - kept) * per) + kept * base
    return int(params * per)


def pipeline_estimate(model: str, family: str, options: Mapping[str, Any], what: str = "") -> Estimate:
    """A diffusers pipeline (family from diffusion.FAMILY_DEFAULTS) with these engine options."""
    from .diffusion import FAMILY_DEFAULTS

    device = str(options.get("device") or "auto")
    quant = str(options.get("quant") or "none").lower()
    counts, source = params_of(model, family)
    base = _dtype_bytes(device, options.get("dtype"))
    parts = {n: _component_bytes(n, p, quant, base) for n, p in counts.items()}
    side = int(options.get("size", FAMILY_DEFAULTS[family][1]))
    fixed, per_mp = WORKING[family]
    working = int((fixed + per_mp * side * side / 1024**2) * GB)
    offload = options.get("offload", "auto")
    offload = offload if isinstance(offload, bool) else str(offload).strip().lower()
    offload = {"true": True, "false": False, "1": True, "0": False}.get(offload, offload)
    return Estimate(what or f"{family} {model} ({quant})", model, device, sum(parts.values()) + working,
                    max(parts.values(), default=0) + working, offload, source,
                    (family, model, quant))


def vlm_estimate(model: str, options: Mapping[str, Any], what: str = "") -> Estimate:
    """A vision-language model (Builder, critic, vlm engines): no offload; quant as vlm.vlm_settings."""
    device = str(options.get("device") or "auto")
    quant = str(options.get("quant") or ("none" if device in ("cpu", "mps") else "4bit")).lower()
    counts, source = params_of(model, "vlm")
    total = sum(counts.values())
    weights = sum(_component_bytes("model", p, quant, _dtype_bytes(device, None), vlm=True) for p in counts.values())
    working = int((0.8 + 0.15 * total / 1e9) * GB)  # image tokens, KV cache of a ~5k-token prompt
    return Estimate(what or f"VLM {model} ({quant})", model, device, weights + working, None, False, source,
                    ("mllm", model, quant))


def clipseg_estimate(model: str, options: Mapping[str, Any], what: str = "") -> Estimate:
    device = str(options.get("device") or "auto")
    counts, source = params_of(model, "clipseg")
    size = sum(counts.values()) * _dtype_bytes(device, options.get("dtype", "fp32")) + int(0.2 * GB)
    return Estimate(what or f"CLIPSeg {model}", model, device, size, None, False, source, ("clipseg", model))


def guess_family(model: str, kind: str) -> str:
    """The pipeline family from model_index.json (local), else from the model's name."""
    from .diffusion import INPAINT_FAMILIES, INSTRUCT_FAMILIES

    root = local_dir(model)
    name = None
    if root is not None and (root / "model_index.json").is_file():
        try:
            name = json.loads((root / "model_index.json").read_text(encoding="utf-8")).get("_class_name")
        except (OSError, ValueError):
            name = None
    low = model.lower()
    if kind == "inpaint":
        return INPAINT_FAMILIES.get(name or "", "flux-fill" if "flux" in low and not name else "sd-inpaint")
    if name in INSTRUCT_FAMILIES:
        return INSTRUCT_FAMILIES[name]
    return "flux-kontext" if "kontext" in low else ("ip2p-xl" if "xl" in low else "ip2p")


def engine_estimate(engine: str, options: Mapping[str, Any], what: str = "") -> Estimate | None:
    """The estimate for a model engine by its name (diffusers-inpaint, instruct, vlm, clipseg)
    with these options; None without a model."""
    model = str(options.get("model") or "").strip()
    if not model:
        return None
    if engine == "diffusers-inpaint":
        return pipeline_estimate(model, guess_family(model, "inpaint"), options, what)
    if engine == "instruct":
        return pipeline_estimate(model, guess_family(model, "instruct"), options, what)
    if engine == "vlm":
        return vlm_estimate(model, options, what)
    if engine == "clipseg":
        return clipseg_estimate(model, options, what)
    return None


def needs_offload(s: Any) -> bool:
    """offload = "auto": does this pipeline (diffusion.Settings) fit in the free memory of its
    device with 20 % to spare? Decided when it loads, so other models already held count."""
    from .models import free_vram_bytes

    free = free_vram_bytes(s.device)
    if free is None:
        return False
    est = pipeline_estimate(s.model, s.family, {"device": s.device, "quant": s.quant, "dtype": s.dtype,
                                                "size": s.size})
    short = est.resident_bytes * 1.2 > free
    if short:
        log.info("%s needs about %.1f GB, %.1f GB free on %s: using CPU offload",
                 s.model, est.resident_bytes / GB, free / GB, s.device)
    return short


# -- the fit check at start --------------------------------------------------------------------
@dataclass
class Fit:
    """What the configured models need per device, against what the GPUs have free."""

    estimates: list[Estimate]
    free: dict[str, int]  # cuda:N -> free bytes at start
    need: dict[str, int]  # cuda:N -> smallest total footprint

    def lines(self) -> list[str]:
        out = [e.line() + f" on {e.device}" + (f" — {', '.join(e.users)}" if e.users else "")
               for e in self.estimates]
        for device, need in self.need.items():
            free = self.free.get(device)
            have = "no such GPU" if free is None else f"{free / GB:.1f} GB free"
            out.append(f"{device}: needs ≈ {need / GB:.1f} GB at least (models that stay on the GPU + the "
                       f"largest offloaded pipeline while it runs), {have}")
        return out


def detect_gpus() -> dict[str, int]:
    """{"cuda:N": free bytes} for every visible CUDA device (imports torch). Where CUDA cannot
    be queried yet (ZeroGPU's main process emulates one device), its total memory."""
    import torch

    if not torch.cuda.is_available():
        return {}
    found = {}
    for i in range(torch.cuda.device_count()):
        try:
            found[f"cuda:{i}"] = int(torch.cuda.mem_get_info(i)[0])
        except Exception:  # no CUDA context may be made here (ZeroGPU)
            found[f"cuda:{i}"] = int(torch.cuda.get_device_properties(i).total_memory)
    return found


def _resolve(device: str) -> str:
    from .models import pick_device

    device = pick_device(None if device in ("", "auto") else device)
    if device == "cuda":
        import torch

        device = f"cuda:{torch.cuda.current_device()}"
    return device


def configured_estimates(registry: Any, builder_model: str | None = None,
                         builder_quant: str | None = None) -> list[Estimate]:
    """One estimate per model copy the configuration would load: every brick whose chosen
    engine is a model engine with an estimate, and the mllm Builder's model when given."""
    found: dict[tuple, Estimate] = {}
    for spec in registry.specs():
        try:
            engine = registry.choose_engine(spec)
        except Exception:  # no engine can run: nothing will load
            continue
        estimate = getattr(engine.check, "estimate", None)
        if engine.kind != "model" or estimate is None:
            continue
        est = estimate(registry.options_for(spec))
        if est is not None:
            found.setdefault((est.key, est.device), est).users.append(spec.name)
    if builder_model:
        est = vlm_estimate(builder_model, {"quant": builder_quant} if builder_quant else {})
        found.setdefault((est.key, est.device), est).users.append("Builder")
    return list(found.values())


def check_fit(estimates: list[Estimate], gpus: dict[str, int] | None = None) -> Fit:
    """Sum the smallest footprints per CUDA device and compare with the free memory; CannotDo
    with the numbers when the configured models cannot fit even with offload."""
    if not estimates:
        return Fit([], {}, {})
    merged: dict[tuple, Estimate] = {}
    for est in estimates:  # "auto" and "cuda" may name the same device: one copy there
        est.device = _resolve(est.device)
        same = merged.setdefault((est.key, est.device), est)
        if same is not est:
            same.users += est.users
    estimates = list(merged.values())
    gpus = detect_gpus() if gpus is None else gpus
    need: dict[str, int] = {}
    for device in {e.device for e in estimates if e.device.startswith("cuda")}:
        here = [e for e in estimates if e.device == device]
        resident = sum(e.resident_bytes for e in here if not e.offloadable)  # stay on the GPU
        peak = max((e.offload_bytes for e in here if e.offloadable), default=0)  # one step runs at a time
        need[device] = CUDA_CONTEXT + resident + peak
    fit = Fit(estimates, gpus, dict(sorted(need.items())))
    short = [d for d, n in need.items() if n > gpus.get(d, 0)]
    if short:
        raise CannotDo("the configured models do not fit on " + ", ".join(short) + ":\n  " + "\n  ".join(fit.lines())
                       + "\nUse quant = \"4bit\" or offload = true for the engines, a smaller model, another "
                       "device (device = \"cuda:1\" / \"cpu\") or fewer model engines (docs/MODELS.md).")
    for line in fit.lines():
        log.info("%s", line)
    return fit

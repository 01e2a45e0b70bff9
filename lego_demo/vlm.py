"""Vision-language models (Qwen2.5-VL family, the official Lego-Edit Builder): loading, the
images they see, and one-question answers for the VLM engines (CMI-PRED, ADD-PRED).

Shared by the MLLM Builder, the model critic and the `vlm` engines: all of them key a model
as ("mllm", model, quant, device), so a Builder and an engine naming the same model share
one loaded copy through the `ModelManager`.

Loading: `AutoProcessor` + `AutoModelForImageTextToText`. On CUDA the model goes to exactly
one device (`device_map={"": "cuda:N"}`): with `"auto"`, accelerate spreads layers over the
CPU when the GPU is partly full and bitsandbytes then refuses the model with a ValueError
that reads like a wrong checkpoint. That refusal, and a CUDA out-of-memory error, reach the
model manager as out-of-memory, so it frees least-recently-used models and retries once.

Nothing heavy is imported at module level.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .errors import BadInput, CannotDo, LegoError

log = logging.getLogger(__name__)

QUANTS = ("4bit", "8bit", "none")
# bitsandbytes' refusal when accelerate put some layers on the CPU or disk: the GPU is too full
CPU_DISPATCH = "dispatched on the cpu or the disk"


def vlm_settings(options: Mapping[str, Any]) -> dict[str, Any]:
    """Device and quantization for a VLM: quant defaults to 4bit on CUDA, none elsewhere."""
    from .models import pick_device

    device = pick_device(options.get("device"))
    cuda = device.startswith("cuda")
    quant = str(options.get("quant") or ("4bit" if cuda else "none")).lower()
    if quant not in QUANTS:
        raise BadInput(f"unknown quant {quant!r}; use one of {', '.join(QUANTS)}")
    return {"device": device, "quant": quant, "cuda": cuda, "explicit_quant": options.get("quant") is not None}


def vlm_key(model: str, settings: Mapping[str, Any]) -> tuple:
    """The model manager key: the same for a Builder, a critic and an engine on one model."""
    return ("mllm", str(model), settings["quant"], settings["device"])


def _looks_like_path(model: str) -> bool:
    """A filesystem path rather than a hub id ("org/name")."""
    return model.startswith(("/", "./", "../", "~", ".\\")) or model.count("/") > 1 or "\\" in model


def cuda_device(device: str) -> str:
    """'cuda' -> 'cuda:N' (the current device); 'cuda:1' stays."""
    import torch

    return device if ":" in device else f"cuda:{torch.cuda.current_device()}"


def load_mllm(model: str, device: str, quant: str, cuda: bool, explicit_quant: bool = False) -> tuple[Any, Any]:
    """(model, processor) for a hub id or a local directory; errors say what to do. Out of
    memory (including bitsandbytes' refusal of a CPU-dispatched model) is raised as
    `torch.cuda.OutOfMemoryError` for the model manager to free memory and retry."""
    import torch
    from transformers import AutoModelForImageTextToText

    local = Path(model).expanduser().is_dir()
    if not local and _looks_like_path(model):
        raise BadInput(f"model directory {model!r} does not exist")
    offline = local or os.environ.get("HF_HUB_OFFLINE", "").strip() not in ("", "0", "false", "False")
    kwargs: dict[str, Any] = {"local_files_only": offline}
    if cuda:
        compute = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        kwargs["device_map"] = {"": cuda_device(device)}
    else:
        compute = torch.float32
    kwargs["dtype"] = compute
    if quant in ("4bit", "8bit"):
        try:
            import bitsandbytes  # noqa: F401
        except ImportError as exc:
            raise CannotDo(f"--quant {quant} needs the bitsandbytes package (pip install bitsandbytes), "
                           "or use --quant none") from exc
        from transformers import BitsAndBytesConfig

        if quant == "4bit":
            kwargs["quantization_config"] = BitsAndBytesConfig(
                load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=compute,
                bnb_4bit_use_double_quant=True,
            )
        else:
            kwargs["quantization_config"] = BitsAndBytesConfig(load_in_8bit=True)
    where = "the local directory" if local else ("the local cache (HF_HUB_OFFLINE=1)" if offline else "the hub")
    try:
        processor = load_processor(model, local_files_only=offline)
        mllm = AutoModelForImageTextToText.from_pretrained(model, **kwargs)
    except LegoError:
        raise
    except ValueError as exc:
        if CPU_DISPATCH in str(exc).lower():
            raise torch.cuda.OutOfMemoryError(
                f"{model} with --quant {quant} does not fit in the free memory of {kwargs.get('device_map')} "
                f"(bitsandbytes: {_first_line(exc)})") from exc
        raise BadInput(f"cannot load the vision-language model {model!r} from {where}: {_first_line(exc)}. "
                       "Give a Qwen2.5-VL-family hub id or a model directory (--model).") from exc
    except OSError as exc:
        raise BadInput(f"cannot load the vision-language model {model!r} from {where}: {_first_line(exc)}. "
                       "Give a Qwen2.5-VL-family hub id or a model directory (--model).") from exc
    if not cuda and device != "cpu":
        mllm.to(device)  # e.g. mps: device_map is only used for CUDA
    mllm.eval()
    return mllm, processor


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def load_processor(model: str, local_files_only: bool = False) -> Any:
    """`AutoProcessor`, or, where the stock Qwen2.5-VL processor cannot be built because its
    video processor needs torchvision, an image-only processor made of the same parts."""
    from transformers import AutoProcessor

    try:
        processor = AutoProcessor.from_pretrained(model, local_files_only=local_files_only)
        if hasattr(processor, "image_processor"):
            return processor
        # a bare tokenizer: the directory names a processor class AutoProcessor does not know,
        # e.g. one saved by the image-only processor below (a trained adapter's directory)
        log.info("AutoProcessor gave a %s for %s; using an image-only processor", type(processor).__name__, model)
    except ImportError as exc:
        if "torchvision" not in str(exc).lower() and "video" not in str(exc).lower():
            raise
        log.info("AutoProcessor needs a video processor (%s); using an image-only processor", _first_line(exc))
    from transformers import AutoImageProcessor, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model, local_files_only=local_files_only)
    image_processor = AutoImageProcessor.from_pretrained(model, local_files_only=local_files_only)
    return image_only_processor_class()(image_processor=image_processor, tokenizer=tokenizer,
                                        chat_template=getattr(tokenizer, "chat_template", None))


@functools.cache
def image_only_processor_class() -> type:
    """A Qwen2.5-VL processor without the video part (built on first use: imports transformers)."""
    from transformers import ProcessorMixin
    from transformers.models.qwen2_5_vl.processing_qwen2_5_vl import Qwen2_5_VLProcessor

    class ImageOnlyQwenVLProcessor(Qwen2_5_VLProcessor):
        """Qwen2.5-VL processor for images only: needs no torchvision."""

        def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
            self.image_token = getattr(tokenizer, "image_token", None) or "<|image_pad|>"
            self.video_token = getattr(tokenizer, "video_token", None) or "<|video_pad|>"
            self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
            self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
            ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)

    return ImageOnlyQwenVLProcessor


# -- images -------------------------------------------------------------------------------------
def vlm_image(image: np.ndarray, side: int | None = None, exact: bool = False):
    """An RGB PIL image from an HxW, HxWx3 or HxWx4 array (alpha composited over white).
    `side`: the longest side at most (`exact=False`) or exactly (`exact=True`, scaled up or down
    with the short side truncated, as the official Lego-Edit demo resizes to 448)."""
    from PIL import Image

    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = np.clip(arr * (255.0 if arr.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        pil = Image.fromarray(arr, "L").convert("RGB")
    elif arr.shape[2] == 4:
        rgba = Image.fromarray(arr, "RGBA")
        pil = Image.new("RGB", rgba.size, (255, 255, 255))
        pil.paste(rgba, mask=rgba.getchannel("A"))
    else:
        pil = Image.fromarray(arr[..., :3], "RGB")
    if side and (exact or max(pil.size) > side):
        w, h = pil.size
        size = (side, max(1, int(h / w * side))) if w >= h else (max(1, int(w / h * side)), side)
        if size != pil.size:
            pil = pil.resize(size, Image.BICUBIC if exact else Image.LANCZOS)
    return pil


# -- one question, one answer (the VLM engines) --------------------------------------------------
def ask_vlm(ctx: Any, image: np.ndarray, question: str, max_new_tokens: int = 64) -> str:
    """One greedy answer from the configured vision-language model (engine options: model,
    device, quant, size = longest image side (768), max_new_tokens)."""
    from .diffusion import manager_of, work_size

    model_id = str(ctx.options.get("model") or "").strip()
    if not model_id:
        raise CannotDo("no vision-language model configured (set model = … in lego.toml)")
    s = vlm_settings(ctx.options)
    key = vlm_key(model_id, s)
    manager = manager_of(ctx)
    model, processor = manager.get(key, lambda: load_mllm(model_id, **s))
    max_side = int(ctx.options.get("size", 768))
    from PIL import Image

    pil = vlm_image(image).resize(work_size(image.shape[1], image.shape[0], max_side, 28), Image.LANCZOS)
    chat = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
    text = processor.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
    tokens = int(ctx.options.get("max_new_tokens", max_new_tokens))
    return manager.call(key, generate_text, text, [pil], tokens, None, what=f"running {model_id}",
                        seconds=generation_seconds(tokens))


def generate_text(loaded: tuple[Any, Any], text: str, images: list, max_new_tokens: int,
                  on_text: Any = None) -> str:
    """Greedy generation (the same inputs give the same answer); streams to `on_text` when
    given. Runs where the model is (`ModelManager.call`): module-level, picklable arguments."""
    import threading

    import torch

    model, processor = loaded
    inputs = processor(text=[text], images=images or None, return_tensors="pt")
    device = getattr(model, "device", None)
    inputs = inputs.to(device if device is not None else "cpu")
    tokenizer = getattr(processor, "tokenizer", processor)
    if on_text is None:
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
        return tokenizer.batch_decode(out[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)[0].strip()

    from transformers import TextIteratorStreamer

    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with torch.no_grad():
                model.generate(**inputs, streamer=streamer, max_new_tokens=max_new_tokens, do_sample=False)
        except BaseException as exc:  # raised again in the caller's thread below
            failure.append(exc)
            streamer.end()

    thread = threading.Thread(target=run, name="vlm-generate", daemon=True)
    thread.start()
    chunks: list[str] = []
    for chunk in streamer:
        if chunk:
            chunks.append(chunk)
            on_text(chunk)
    thread.join()
    if failure:
        raise failure[0]
    return "".join(chunks)


def generation_seconds(max_new_tokens: int) -> int:
    """A duration estimate for a GPU time slot (ZeroGPU): load-free generation at ~20 tokens/s."""
    return int(15 + max_new_tokens / 20)

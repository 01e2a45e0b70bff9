"""The local MLLM Builder: a Qwen2.5-VL-family model run with transformers.

Works with Qwen2.5-VL-*-Instruct checkpoints and the official Lego-Edit Builder directory
(a MiMo-VL / Qwen2.5-VL-architecture model): both load through `AutoProcessor` +
`AutoModelForImageTextToText`. The model is loaded lazily, once, on the first `plan()`,
through the shared `ModelManager`. On a CUDA GPU it is 4-bit NF4 (bf16 compute) with
`device_map="auto"` unless `quant` says otherwise; on CPU it runs unquantized unless a
quantization is asked for explicitly (bitsandbytes also runs on CPU, slowly).

Text streams to `on_text` through a `TextIteratorStreamer` while `generate` runs in a thread.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BadInput, CannotDo, LegoError
from ..models import ModelManager, shared_manager
from ..registry import Registry
from .base import Plan, PlanRequest
from .llm_loop import MAX_RETRIES, Generate, plan_with_retries

log = logging.getLogger(__name__)

DEFAULT_MODEL = "Qwen/Qwen2.5-VL-7B-Instruct"
QUANTS = ("4bit", "8bit", "none")
CPU_NOTE = "no CUDA GPU: running unquantized on CPU — slow"


class MLLMBuilder:
    name = "mllm"

    def __init__(
        self,
        registry: Registry,
        model: str = DEFAULT_MODEL,
        quant: str | None = None,  # None: 4bit on CUDA, none on CPU
        device: str | None = None,  # None: cuda if available, else cpu
        manager: ModelManager | None = None,
        max_new_tokens: int = 2048,
        max_retries: int = MAX_RETRIES,
        max_image_side: int = 1024,
        system_role: bool = False,
        generate: Generate | None = None,  # inject a generate function (tests, other runtimes)
    ):
        if quant is not None and quant not in QUANTS:
            raise BadInput(f"unknown quantization {quant!r}; use one of {', '.join(QUANTS)}")
        if not model or not str(model).strip():
            raise BadInput("the mllm Builder needs --model (a hub id such as Qwen/Qwen2.5-VL-7B-Instruct or a directory)")
        self.registry = registry
        self.model = str(model)
        self.quant = quant
        self.device = device
        self.manager = manager
        self.max_new_tokens = max_new_tokens
        self.max_retries = max_retries
        self.max_image_side = max_image_side
        self.system_role = system_role
        self._generate_fn = generate
        self.notes: list[str] = []

    # -- Builder protocol ---------------------------------------------------------------------
    def plan(
        self,
        request: PlanRequest,
        feedback: Sequence[str] = (),
        previous: Plan | None = None,
        on_text: Callable[[str], None] | None = None,
    ) -> Plan:
        def generate(messages: list[dict], on_text: Callable[[str], None] | None = None) -> str:
            if self._generate_fn is not None:
                return self._generate_fn(messages, on_text)
            return self.chat(messages, [request.image] if request.image is not None else [], on_text)

        if self._generate_fn is None:
            self._loaded()  # load before the loop, so the notes are known
        return plan_with_retries(
            self.registry, request, generate, feedback, previous, on_text,
            max_retries=self.max_retries, notes=self.notes, system_role=self.system_role,
            builder_name=self.name,
        )

    # -- loading ------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """Device and quantization this Builder uses here (imports torch)."""
        import torch

        cuda = torch.cuda.is_available()
        device = self.device or ("cuda" if cuda else "cpu")
        on_cuda = device.startswith("cuda")
        if on_cuda and not cuda:
            raise CannotDo(f"device {device!r} asked for, but no CUDA GPU is available here")
        quant = self.quant or ("4bit" if on_cuda else "none")
        return {"device": device, "quant": quant, "cuda": on_cuda, "explicit_quant": self.quant is not None}

    def _key(self) -> tuple:
        s = self.settings()
        return ("mllm", self.model, s["quant"], s["device"])

    def _loaded(self) -> tuple[Any, Any]:
        manager = self.manager or shared_manager()
        settings = self.settings()
        if not settings["cuda"] and settings["quant"] == "none" and CPU_NOTE not in self.notes:
            self.notes.append(CPU_NOTE)
            log.warning(CPU_NOTE)
        return manager.get(self._key(), lambda: load_mllm(self.model, **settings))

    # -- generation ---------------------------------------------------------------------------
    def chat(self, messages: list[dict], images: Sequence[np.ndarray],
             on_text: Callable[[str], None] | None = None) -> str:
        """One generation: backend-neutral messages whose {"type": "image"} parts take `images`
        in order (the critic sends the source and the edited image)."""
        from transformers import TextIteratorStreamer

        model, processor = self._loaded()
        images = [to_pil(image, self.max_image_side) for image in images]
        chat = [_hf_turn(m) for m in messages]
        n_image_parts = sum(1 for m in chat for c in m["content"] if c.get("type") == "image")
        if n_image_parts != len(images):
            raise BadInput(f"the prompt has {n_image_parts} image part(s) but {len(images)} image(s) were given")
        text = processor.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
        inputs = processor(text=[text], images=images or None, return_tensors="pt")
        inputs = inputs.to(_input_device(model))
        tokenizer = getattr(processor, "tokenizer", processor)
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        failure: list[BaseException] = []

        def run() -> None:
            try:
                model.generate(**inputs, streamer=streamer, max_new_tokens=self.max_new_tokens, do_sample=False)
            except BaseException as exc:  # reported by the caller's thread below
                failure.append(exc)
                streamer.end()

        thread = threading.Thread(target=run, name="mllm-generate", daemon=True)
        thread.start()
        chunks: list[str] = []
        for chunk in streamer:
            if chunk:
                chunks.append(chunk)
                if on_text is not None:
                    on_text(chunk)
        thread.join()
        if failure:
            exc = failure[0]
            if "out of memory" in str(exc).lower():
                raise CannotDo(f"the Builder model {self.model} ran out of memory while generating; "
                               "try --quant 4bit, a smaller model, or a shorter image side") from exc
            raise CannotDo(f"the Builder model {self.model} failed while generating: {type(exc).__name__}: {exc}") from exc
        return "".join(chunks)


# -- loading, shared by anything that runs a Qwen2.5-VL-family model --------------------------
def _is_local(model: str) -> bool:
    return Path(model).expanduser().is_dir()


def _looks_like_path(model: str) -> bool:
    """A filesystem path rather than a hub id ("org/name")."""
    return model.startswith(("/", "./", "../", "~", ".\\")) or model.count("/") > 1 or "\\" in model


def load_mllm(model: str, device: str, quant: str, cuda: bool, explicit_quant: bool = False) -> tuple[Any, Any]:
    """(model, processor) for a hub id or a local directory; errors say what to do."""
    import torch
    from transformers import AutoModelForImageTextToText

    local = _is_local(model)
    if not local and _looks_like_path(model):
        raise BadInput(f"Builder model directory {model!r} does not exist")
    offline = local or os.environ.get("HF_HUB_OFFLINE", "").strip() not in ("", "0", "false", "False")
    kwargs: dict[str, Any] = {"local_files_only": offline}
    if cuda:
        compute = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        kwargs["device_map"] = "auto" if device == "cuda" else {"": device}
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
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot load the Builder model {model!r} from {where}: {_first_line(exc)}. "
                       "Give a Qwen2.5-VL-family hub id or a model directory (--model).") from exc
    except torch.cuda.OutOfMemoryError as exc:
        raise CannotDo(f"the Builder model {model!r} does not fit in GPU memory with --quant {quant}; "
                       "try --quant 4bit or a smaller model (Qwen2.5-VL-3B-Instruct)") from exc
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


_IMAGE_ONLY: type | None = None


def image_only_processor_class() -> type:
    """A Qwen2.5-VL processor without the video part (built on first use: imports transformers)."""
    global _IMAGE_ONLY
    if _IMAGE_ONLY is None:
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

        _IMAGE_ONLY = ImageOnlyQwenVLProcessor
    return _IMAGE_ONLY


# -- helpers ------------------------------------------------------------------------------------
def _hf_turn(message: dict) -> dict:
    content = message["content"]
    if isinstance(content, str):
        content = [{"type": "text", "text": content}]
    return {"role": message["role"], "content": [dict(c) for c in content]}


def _input_device(model: Any) -> Any:
    device = getattr(model, "device", None)
    return device if device is not None else "cpu"


def to_pil(image: np.ndarray, max_side: int | None = None):
    """An RGB PIL image from an HxW, HxWx3 or HxWx4 array (alpha composited over white)."""
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
    if max_side and max(pil.size) > max_side:
        scale = max_side / max(pil.size)
        pil = pil.resize((max(1, round(pil.width * scale)), max(1, round(pil.height * scale))), Image.LANCZOS)
    return pil

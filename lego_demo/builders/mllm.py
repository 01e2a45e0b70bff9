"""The local MLLM Builder: a Qwen2.5-VL-family model run with transformers.

Works with Qwen2.5-VL-*-Instruct checkpoints and the official Lego-Edit Builder directory
(a MiMo-VL / Qwen2.5-VL-architecture model): both load through `AutoProcessor` +
`AutoModelForImageTextToText` (`lego_demo/vlm.py`). The model is loaded lazily, once, on the
first `plan()`, through the shared `ModelManager`. On a CUDA GPU it is 4-bit NF4 (bf16
compute) on one device unless `quant` says otherwise; on CPU it runs unquantized unless a
quantization is asked for explicitly (bitsandbytes also runs on CPU, slowly).

With `prompt_file` (the release's system_prompt.txt) it talks as the official demo does
(`builders/official.py`): that text with the instruction in place, the image at 448 px,
up to 4096 new tokens.

Text streams to `on_text` while `generate` runs in a thread (not on ZeroGPU, where the call
runs in another process: the text then arrives at once).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import BadInput, CannotDo, LegoError
from ..models import ModelManager
from ..registry import Registry
from ..vlm import QUANTS, generate_text, generation_seconds, load_mllm, vlm_image, vlm_key, vlm_settings
from .base import Plan, PlanRequest
from .llm_loop import MAX_RETRIES, Generate, plan_with_retries
from .official import IMAGE_SIDE, MAX_NEW_TOKENS, OfficialPrompt

log = logging.getLogger(__name__)

DEFAULT_MODEL = "Qwen/Qwen2.5-VL-7B-Instruct"
DEFAULT_MAX_NEW_TOKENS = 2048
CPU_NOTE = "no CUDA GPU: running unquantized on CPU — slow"


class MLLMBuilder:
    name = "mllm"

    def __init__(
        self,
        registry: Registry,
        model: str = DEFAULT_MODEL,
        quant: str | None = None,  # None: 4bit on CUDA, none on CPU
        device: str | None = None,  # None: cuda if available, else mps, else cpu
        manager: ModelManager | None = None,
        max_new_tokens: int | None = None,  # None: 2048, or 4096 with a prompt file
        max_retries: int = MAX_RETRIES,
        max_image_side: int = 1024,
        system_role: bool = False,
        prompt_file: str | None = None,  # the release's system_prompt.txt: the official profile
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
        self.official = OfficialPrompt.read(prompt_file) if prompt_file else None
        self.max_new_tokens = max_new_tokens or (MAX_NEW_TOKENS if self.official else DEFAULT_MAX_NEW_TOKENS)
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
        images = [request.image] if request.image is not None else []

        def generate(messages: list[dict], on_text: Callable[[str], None] | None = None) -> str:
            if self._generate_fn is not None:
                return self._generate_fn(messages, on_text)
            return self.chat(messages, images, on_text, official=self.official is not None)

        if self._generate_fn is None:
            self._loaded()  # load before the loop, so the notes are known
        return plan_with_retries(
            self.registry, request, generate, feedback, previous, on_text,
            max_retries=self.max_retries, notes=self.notes, system_role=self.system_role,
            builder_name=self.name, official=self.official,
        )

    # -- loading ------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """Device and quantization this Builder uses here (imports torch)."""
        return vlm_settings({"device": self.device, "quant": self.quant})

    def _key(self) -> tuple:
        return vlm_key(self.model, self.settings())

    def _manager(self) -> ModelManager:
        if self.manager is None:  # a Builder made outside an Editor keeps its own
            self.manager = ModelManager()
        return self.manager

    def _loaded(self) -> tuple[Any, Any]:
        settings = self.settings()
        if settings["device"] == "cpu" and settings["quant"] == "none" and CPU_NOTE not in self.notes:
            self.notes.append(CPU_NOTE)
            log.warning(CPU_NOTE)
        return self._manager().get(vlm_key(self.model, settings), lambda: load_mllm(self.model, **settings))

    # -- generation ---------------------------------------------------------------------------
    def chat(self, messages: list[dict], images: Sequence[np.ndarray],
             on_text: Callable[[str], None] | None = None, official: bool = False,
             max_tokens: int | None = None) -> str:
        """One generation: backend-neutral messages whose {"type": "image"} parts take `images`
        in order (the critic sends the source and the edited image). `official`: images as
        the release's demo sends them (448 px on the long side)."""
        _, processor = self._loaded()
        side, exact = (IMAGE_SIDE, True) if official else (self.max_image_side, False)
        pils = [vlm_image(image, side, exact) for image in images]
        chat = [_hf_turn(m) for m in messages]
        n_image_parts = sum(1 for m in chat for c in m["content"] if c.get("type") == "image")
        if n_image_parts != len(pils):
            raise BadInput(f"the prompt has {n_image_parts} image part(s) but {len(pils)} image(s) were given")
        text = processor.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
        manager = self._manager()
        stream = None if manager.gpu.isolated else on_text  # a callback cannot cross to a GPU worker
        tokens = max_tokens or self.max_new_tokens
        try:
            out = manager.call(self._key(), generate_text, text, pils, tokens, stream,
                               what=f"generating with the Builder model {self.model}",
                               seconds=generation_seconds(tokens))
        except LegoError:  # out of memory even after freeing other models: CannotDo, with advice
            raise
        except Exception as exc:
            raise CannotDo(f"the Builder model {self.model} failed while generating: "
                           f"{type(exc).__name__}: {exc}") from exc
        if stream is None and on_text is not None:
            on_text(out)
        return out


# -- helpers ------------------------------------------------------------------------------------
def _hf_turn(message: dict) -> dict:
    content = message["content"]
    if isinstance(content, str):
        content = [{"type": "text", "text": content}]
    return {"role": message["role"], "content": [dict(c) for c in content]}

"""The remote Builder: any OpenAI-compatible chat server (vLLM, Ollama, llama.cpp, SGLang, …).

The image goes as a base64 PNG data URL (`image_url` content part) next to the prompt
rendered from the registry (or, with `prompt_file`, the release's own prompt as its demo sends
it: `builders/official.py`), to `/v1/chat/completions`. With `stream=True` (the default when
`on_text` is given) text arrives in chunks. Configuration errors (a malformed URL, a wrong
model or path, a refused key) are `BadInput` (exit 2); an unreachable server or a timeout is
`CannotDo` (exit 3) — never a traceback.
"""

from __future__ import annotations

import base64
import io
import logging
import os
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlparse

import numpy as np

from ..errors import BadInput, CannotDo
from ..registry import Registry
from .base import Plan, PlanRequest
from .llm_loop import MAX_RETRIES, Generate, plan_with_retries
from .official import IMAGE_SIDE, MAX_NEW_TOKENS, OfficialPrompt

log = logging.getLogger(__name__)

DEFAULT_API_KEY = "EMPTY"  # local servers (vLLM, Ollama) accept any key
DEFAULT_MAX_TOKENS = 2048


def png_data_url(image: np.ndarray, max_side: int | None = 1024, exact: bool = False) -> str:
    """A PNG data URL; `exact`: the long side is exactly `max_side` (the official demo's resize)."""
    from ..vlm import vlm_image

    buf = io.BytesIO()
    vlm_image(image, max_side, exact).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


class OpenAIBuilder:
    name = "openai"

    def __init__(
        self,
        registry: Registry,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 60,
        stream: bool | None = None,  # None: stream when on_text is given
        max_retries: int = MAX_RETRIES,
        max_tokens: int | None = None,  # None: 2048, or 4096 with a prompt file
        temperature: float = 0.0,
        max_image_side: int = 1024,
        system_role: bool = False,
        prompt_file: str | None = None,  # the release's system_prompt.txt: the official profile
        generate: Generate | None = None,
    ):
        if not model or not str(model).strip():
            raise BadInput("the openai Builder needs --model (the model name the server serves, "
                           "e.g. Qwen/Qwen2.5-VL-7B-Instruct)")
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        if base_url is not None:
            parsed = urlparse(base_url)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise BadInput(f"--base-url {base_url!r} is not an http(s) URL; "
                               "for a local vLLM server use http://127.0.0.1:8000/v1")
        if timeout is None or float(timeout) <= 0:
            raise BadInput(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.registry = registry
        self.model = str(model)
        self.base_url = base_url
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY") or DEFAULT_API_KEY
        self.timeout = float(timeout)
        self.stream = stream
        self.max_retries = max_retries
        self.official = OfficialPrompt.read(prompt_file) if prompt_file else None
        self.max_tokens = max_tokens or (MAX_NEW_TOKENS if self.official else DEFAULT_MAX_TOKENS)
        self.temperature = temperature
        self.max_image_side = max_image_side
        self.system_role = system_role
        self._generate_fn = generate
        self._client: Any = None

    @property
    def where(self) -> str:
        return self.base_url or "the default OpenAI endpoint"

    def client(self) -> Any:
        if self._client is None:
            try:
                import openai
            except ImportError as exc:
                raise CannotDo("the openai Builder needs the openai package (pip install openai)") from exc
            # no client-side retries: the plan loop retries with reasons, and a dead server fails fast
            self._client = openai.OpenAI(base_url=self.base_url, api_key=self.api_key, timeout=self.timeout,
                                         max_retries=0)
        return self._client

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

        return plan_with_retries(
            self.registry, request, generate, feedback, previous, on_text,
            max_retries=self.max_retries, system_role=self.system_role, builder_name=self.name,
            official=self.official,
        )

    def chat(self, messages: list[dict], images: Sequence[np.ndarray],
             on_text: Callable[[str], None] | None = None, official: bool = False,
             max_tokens: int | None = None) -> str:
        """One completion: backend-neutral messages whose {"type": "image"} parts take `images`
        in order, sent as PNG data URLs. `official`: images as the release's demo sends them
        (448 px on the long side)."""
        side, exact = (IMAGE_SIDE, True) if official else (self.max_image_side, False)
        urls = [png_data_url(image, side, exact) for image in images]
        return self._complete(_openai_messages(messages, urls), on_text, max_tokens or self.max_tokens)

    # -- the HTTP call --------------------------------------------------------------------------
    def _complete(self, messages: list[dict], on_text: Callable[[str], None] | None, max_tokens: int) -> str:
        import openai

        stream = self.stream if self.stream is not None else on_text is not None
        args = dict(model=self.model, messages=messages, max_tokens=max_tokens, temperature=self.temperature)
        try:
            if not stream:
                response = self.client().chat.completions.create(**args)
                return _message_text(response)
            parts: list[str] = []
            thinking = False
            for chunk in self.client().chat.completions.create(**args, stream=True):
                for piece, is_reasoning in _chunk_pieces(chunk):
                    if is_reasoning and not thinking:  # servers with a reasoning parser split it off
                        piece, thinking = "<think>" + piece, True
                    elif thinking and not is_reasoning:
                        piece, thinking = "</think>" + piece, False
                    parts.append(piece)
                    if on_text is not None:
                        on_text(piece)
            if thinking:
                parts.append("</think>")
            return "".join(parts)
        except openai.APITimeoutError as exc:
            raise CannotDo(f"the OpenAI-compatible server at {self.where} did not answer within "
                           f"{self.timeout:g} s (model {self.model}); raise the timeout or check the server") from exc
        except openai.APIConnectionError as exc:
            raise CannotDo(f"cannot reach the OpenAI-compatible server at {self.where}: {_cause(exc)}. "
                           "Start it (e.g. `vllm serve Qwen/Qwen2.5-VL-7B-Instruct`) or fix --base-url") from exc
        except openai.AuthenticationError as exc:
            raise BadInput(f"the server at {self.where} refused the API key (set OPENAI_API_KEY): "
                           f"{_status_text(exc)}") from exc
        except openai.NotFoundError as exc:
            raise BadInput(f"the server at {self.where} has no model {self.model!r} or no chat endpoint "
                           f"(check --model, and that --base-url ends in /v1): {_status_text(exc)}") from exc
        except openai.BadRequestError as exc:
            raise BadInput(f"the server at {self.where} rejected the request for model {self.model!r} "
                           f"(does it accept images?): {_status_text(exc)}") from exc
        except openai.APIStatusError as exc:
            raise CannotDo(f"the server at {self.where} answered HTTP {exc.status_code}: {_status_text(exc)}") from exc
        except (openai.APIError, ValueError) as exc:  # an answer that is not the protocol
            raise CannotDo(f"the server at {self.where} sent an answer that is not an OpenAI chat "
                           f"completion ({type(exc).__name__}: {_first_line(exc)})") from exc


# -- message and response shapes ---------------------------------------------------------------
def _openai_messages(messages: list[dict], image_urls: Sequence[str]) -> list[dict]:
    out = []
    urls = iter(image_urls)
    for m in messages:
        parts = []
        for c in m["content"]:
            if c.get("type") == "image":
                url = next(urls, None)
                if url is None:
                    raise BadInput("the prompt has more image parts than images given")
                parts.append({"type": "image_url", "image_url": {"url": url}})
            else:
                parts.append({"type": "text", "text": c["text"]})
        if m["role"] != "user" and all(p["type"] == "text" for p in parts):
            out.append({"role": m["role"], "content": "".join(p["text"] for p in parts)})
        else:
            out.append({"role": m["role"], "content": parts})
    return out


def _reasoning_of(obj: Any) -> str | None:
    value = getattr(obj, "reasoning_content", None) or getattr(obj, "reasoning", None)
    if value is None and getattr(obj, "model_extra", None):
        value = obj.model_extra.get("reasoning_content") or obj.model_extra.get("reasoning")
    return value if isinstance(value, str) and value else None


def _message_text(response: Any) -> str:
    choices = getattr(response, "choices", None) or []
    if not choices:
        return ""
    message = getattr(choices[0], "message", None)
    if message is None:
        return ""
    content = message.content if isinstance(getattr(message, "content", None), str) else ""
    reasoning = _reasoning_of(message)
    if reasoning and "<think>" not in content:
        content = f"<think>{reasoning}</think>\n{content}"
    return content


def _chunk_pieces(chunk: Any) -> list[tuple[str, bool]]:
    pieces = []
    for choice in getattr(chunk, "choices", None) or []:
        delta = getattr(choice, "delta", None)
        if delta is None:
            continue
        reasoning = _reasoning_of(delta)
        if reasoning:
            pieces.append((reasoning, True))
        content = getattr(delta, "content", None)
        if isinstance(content, str) and content:
            pieces.append((content, False))
    return pieces


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].rstrip(".") if text else type(exc).__name__


def _cause(exc: BaseException) -> str:
    """What lies under a connection error (refused, reset, DNS), in one line."""
    return _first_line(exc.__cause__ or exc)


def _status_text(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error")
        message = error.get("message") if isinstance(error, dict) else body.get("message")
        if message:
            return str(message)[:300]
    return str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__

"""The openai-images engine: generative bricks on any server that speaks the OpenAI Images API
(`images.edit`): vLLM-Omni (`vllm serve Qwen/Qwen-Image-Edit-2511 --omni`), SGLang's diffusion
serving, hosted image-editing APIs.

One table (REQUESTS) says, per brick, which image and mask go to the server and how the
prompt is worded; the call, the size mapping and the compositing are shared. The mask goes in
the API's convention (an RGBA PNG, transparent = edit); the image is letterboxed (reflected
borders, kept) into a size the server accepts, and the answer is cropped and scaled back, then
composited so every pixel outside the mask is exactly the input's. Timeouts, refusals and
malformed answers fail the step with the server's reason (CannotDo, exit 3).

Options (`[engines.FILL] engine = "openai-images"` + `model = …`, or `--engine
FILL=openai-images:MODEL`; server-wide defaults in `[images]`):
  model        the model the server serves (required)
  base_url     the server: --images-base-url, $LEGO_IMAGES_BASE_URL or [images] base_url
  sizes        sizes the server accepts: a list of "WxH" (default the API's 1024x1024,
               1536x1024, 1024x1536), or "any" (any multiple of 16 up to max_side)
  max_side     with sizes = "any": the longest side sent (default 1024)
  timeout      seconds per request (default 120)
  concurrency  requests in flight to one server at once, across all sessions (default 2)
  seed         true: also send the step's seed (servers such as vLLM-Omni accept it)
  quality      passed through when set ("low", "medium", "high", …)
The API key is $OPENAI_API_KEY (local servers accept any).
"""

from __future__ import annotations

import base64
import io
import os
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlparse

import numpy as np

from bricks.cbg import CBG
from bricks.env import ENV
from bricks.fill import FILL
from bricks.inpaint import INPAINT
from bricks.pose import POSE
from bricks.rcm import RCM
from bricks.style import STYLE
from lego_demo.errors import BadInput, CannotDo, LegoError
from lego_demo.imaging import keep_outside, rgb, same_size

ENGINE = "openai-images"
DEFAULT_SIZES = ("1024x1024", "1536x1024", "1024x1536")
DEFAULT_TIMEOUT_S = 120.0
DEFAULT_CONCURRENCY = 2
DEFAULT_MAX_SIDE = 1024
INPAINT_PROMPT = ("Remove the object in the transparent area and fill it with the background around it, "
                  "continuing its texture and lines, so that nothing is there")


# -- what each brick asks the server ------------------------------------------------------------
def _text(value: Any, brick: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadInput(f"{brick} needs a prompt {what}")
    return value.strip().rstrip(".")


def _masked(brick: str, image: np.ndarray, mask: np.ndarray | None) -> None:
    if mask is not None:
        same_size("image", image, "mask", mask)
        if not mask.any():
            raise BadInput(f"{brick}: the mask is empty")


def fill_request(ctx, image, mask, prompt, preimage=None):
    _masked("FILL", image, mask)
    return image, mask, _text(prompt, "FILL", "saying what to generate in the mask")


def inpaint_request(ctx, image, mask, preimage, score):
    """The pre-inpaint image goes as the image (the object already mostly gone guides the server)."""
    _masked("INPAINT", image, mask)
    same_size("image", image, "preimage", preimage)
    start = keep_outside(rgb(image), rgb(preimage), mask)
    return start, mask, str(ctx.options.get("prompt") or INPAINT_PROMPT)


def rcm_request(ctx, image, mask, prompt, strength=None):
    from lego_demo.diffusion import target_words

    _masked("RCM", image, mask)
    target = target_words(_text(prompt, "RCM", "naming the new colour or material"))
    return image, mask, f"Make the object in the transparent area {target}; keep its shape, shading and texture"


def cbg_request(ctx, image, mask, prompt, strength=None):  # the Images API has no strength knob
    from lego_demo.diffusion import target_words

    _masked("CBG", image, mask)
    scene = target_words(_text(prompt, "CBG", "describing the new background"))
    return image, mask, f"Replace the background with {scene}; keep the subject exactly as it is"


def style_request(ctx, image, style, mask=None, prompt=None, strength=None):
    from lego_demo.diffusion import target_words

    _masked("STYLE", image, mask)
    name = target_words(_text(style, "STYLE", "naming the style, e.g. 'watercolour'"))
    if "style" not in name.lower() and "painting" not in name.lower():
        name = f"{name} style"
    subject = prompt.strip().rstrip(".") if isinstance(prompt, str) and prompt.strip() else "the image"
    return image, mask, f"Turn {subject} into {name}"


def env_request(ctx, image, prompt, strength=None):
    return image, None, _text(prompt, "ENV", "naming the weather, season or time of day")


def pose_request(ctx, image, prompt):
    return image, None, _text(prompt, "POSE", "describing the subject and the new pose")


REQUESTS: list[tuple[Any, Callable[..., tuple[np.ndarray, np.ndarray | None, str]]]] = [
    (FILL, fill_request), (INPAINT, inpaint_request), (RCM, rcm_request), (CBG, cbg_request),
    (STYLE, style_request), (ENV, env_request), (POSE, pose_request),
]


# -- availability and concurrency -----------------------------------------------------------------
def base_url(options: Mapping[str, Any]) -> str:
    """The server (lego_demo.config puts --images-base-url, $LEGO_IMAGES_BASE_URL or [images]
    base_url into the options, so it is part of the cache key)."""
    return str(options.get("base_url") or "").strip()


def check(brick: str):
    def reason(options: Mapping[str, Any]) -> str | None:
        import importlib.util

        if importlib.util.find_spec("openai") is None:
            return "package openai missing (pip install openai)"
        if not str(options.get("model") or "").strip():
            return f"no model configured: --engine {brick}={ENGINE}:MODEL or [engines.{brick}] model = …"
        url = base_url(options)
        if not url:
            return ("no server configured: --images-base-url URL, $LEGO_IMAGES_BASE_URL or [images] base_url "
                    "in lego.toml (e.g. http://127.0.0.1:8091/v1)")
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            return f"images base_url {url!r} is not an http(s) URL"
        return None

    return reason


def slot(options: Mapping[str, Any]) -> tuple[str, int]:
    """At most `concurrency` requests in flight to one server, whichever brick sends them."""
    try:
        limit = int(options.get("concurrency", DEFAULT_CONCURRENCY))
    except (TypeError, ValueError):
        limit = DEFAULT_CONCURRENCY
    return f"images {base_url(options)}", max(1, limit)


# -- sizes ----------------------------------------------------------------------------------------
def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in str(text).lower().split("x"))
    except ValueError:
        raise BadInput(f"image size {text!r} must look like 1024x768") from None
    if w < 16 or h < 16:
        raise BadInput(f"image size {text!r} is too small")
    return w, h


def send_size(width: int, height: int, options: Mapping[str, Any]) -> tuple[int, int]:
    """The size to ask the server for: the accepted size closest in aspect ratio, or with
    sizes = "any" the image's own (at most max_side, multiples of 16)."""
    sizes = options.get("sizes", DEFAULT_SIZES)
    if isinstance(sizes, str) and sizes.strip().lower() == "any":
        from lego_demo.diffusion import work_size

        return work_size(width, height, int(options.get("max_side", DEFAULT_MAX_SIDE)), 16)
    if isinstance(sizes, str):
        sizes = [s for s in sizes.replace(",", " ").split() if s]
    if not sizes:
        raise BadInput("option sizes is empty: list the sizes the server accepts, or \"any\"")
    aspect = np.log(width / height)
    return min((parse_size(s) for s in sizes), key=lambda wh: abs(np.log(wh[0] / wh[1]) - aspect))


def letterbox(image: np.ndarray, mask: np.ndarray | None, size: tuple[int, int]):
    """(image, edit mask, box) at `size`: scaled to fit, borders reflected and kept (not edited);
    `box` = (x0, y0, x1, y1) where the image lies."""
    import cv2

    h, w = image.shape[:2]
    sw, sh = size
    scale = min(sw / w, sh / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    x0, y0 = (sw - nw) // 2, (sh - nh) // 2
    small = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    pad = (y0, sh - nh - y0, x0, sw - nw - x0)
    big = cv2.copyMakeBorder(small, *pad, borderType=cv2.BORDER_REFLECT_101 if min(nw, nh) > 1 else cv2.BORDER_REPLICATE)
    edit = np.zeros((sh, sw), bool)
    if mask is None:
        edit[y0:y0 + nh, x0:x0 + nw] = True
    else:  # any selected source pixel selects its scaled pixel (area > 0)
        scaled = cv2.resize(mask.astype(np.float32), (nw, nh), interpolation=cv2.INTER_AREA)
        edit[y0:y0 + nh, x0:x0 + nw] = scaled > 0
    return big, edit, (x0, y0, x0 + nw, y0 + nh)


def png_bytes(array: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def api_mask(edit: np.ndarray) -> np.ndarray:
    """The API's mask: an RGBA image whose transparent pixels (alpha 0) are the ones to edit."""
    out = np.zeros(edit.shape + (4,), np.uint8)
    out[..., 3] = np.where(edit, 0, 255)
    return out


# -- the call -------------------------------------------------------------------------------------
def edit_image(ctx, image: np.ndarray, mask: np.ndarray | None, prompt: str) -> np.ndarray:
    """`prompt` applied by the server inside `mask` (None: the whole image), at the input's size;
    pixels outside the mask are exactly the input's."""
    import openai

    options = ctx.options
    base = rgb(image)[..., :3]
    h, w = base.shape[:2]
    size = send_size(w, h, options)
    sent, edit, (x0, y0, x1, y1) = letterbox(base, mask, size)
    url, model = base_url(options), str(options["model"])
    timeout = float(options.get("timeout", DEFAULT_TIMEOUT_S))
    args: dict[str, Any] = {"image": ("image.png", png_bytes(sent), "image/png"), "prompt": prompt,
                            "model": model, "size": f"{size[0]}x{size[1]}", "n": 1}
    if mask is not None or (x1 - x0, y1 - y0) != size:  # letterbox borders are kept, so they need a mask
        args["mask"] = ("mask.png", png_bytes(api_mask(edit)), "image/png")
    if options.get("quality"):
        args["quality"] = str(options["quality"])
    if _true(options.get("seed")):
        from lego_demo.diffusion import step_seed

        args["extra_body"] = {"seed": step_seed(ctx)}
    where = f"the Images API server at {url} (model {model})"
    client = openai.OpenAI(base_url=url, api_key=os.environ.get("OPENAI_API_KEY") or "EMPTY",
                           timeout=timeout, max_retries=0)
    try:
        with client:
            response = client.images.edit(**args)
    except openai.APITimeoutError as exc:
        raise CannotDo(f"{where} did not answer within {timeout:g} s; raise [images] timeout or check the "
                       "server") from exc
    except openai.APIConnectionError as exc:
        raise CannotDo(f"cannot reach {where}: {_cause(exc)}; start it or fix --images-base-url") from exc
    except openai.AuthenticationError as exc:
        raise BadInput(f"{where} refused the API key (set OPENAI_API_KEY): {_status_text(exc)}") from exc
    except openai.NotFoundError as exc:
        raise BadInput(f"{where} has no model {model!r} or no /images/edits endpoint (check the model name, and "
                       f"that the base URL ends in /v1): {_status_text(exc)}") from exc
    except openai.APIStatusError as exc:  # refusals (content policy), unsupported sizes, server errors
        raise CannotDo(f"{where} refused the edit (HTTP {exc.status_code}): {_status_text(exc)}") from exc
    except (openai.APIError, ValueError) as exc:
        raise CannotDo(f"{where} sent an answer that is not an Images API response "
                       f"({type(exc).__name__}: {_first_line(exc)})") from exc
    answer = _answer_image(response, where, timeout)
    return _map_back(base, answer, size, (x0, y0, x1, y1), mask)


def _answer_image(response: Any, where: str, timeout: float) -> np.ndarray:
    from lego_demo.images import load_image

    data = getattr(response, "data", None) or []
    if not data:
        raise CannotDo(f"{where} answered without an image")
    item = data[0]
    if getattr(item, "b64_json", None):
        try:
            raw = base64.b64decode(item.b64_json, validate=False)
        except (ValueError, TypeError) as exc:
            raise CannotDo(f"{where} sent an image that is not base64: {exc}") from exc
    elif getattr(item, "url", None):
        raw = _fetch(item.url, timeout, where)
    else:
        raise CannotDo(f"{where} answered with neither b64_json nor url")
    try:
        return rgb(load_image(raw, what="server's image"))[..., :3]
    except LegoError as exc:
        raise CannotDo(f"{where} sent an image that cannot be read: {exc}") from exc


def _fetch(url: str, timeout: float, where: str) -> bytes:
    if url.startswith("data:"):
        try:
            return base64.b64decode(url.split(",", 1)[1])
        except (IndexError, ValueError) as exc:
            raise CannotDo(f"{where} sent a malformed data URL") from exc
    if urlparse(url).scheme not in ("http", "https"):
        raise CannotDo(f"{where} sent an image URL that is not http(s): {url[:80]!r}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (scheme checked above)
            return r.read()
    except OSError as exc:
        raise CannotDo(f"cannot download the image {where} made ({url[:80]}): {exc}") from exc


def _map_back(base: np.ndarray, answer: np.ndarray, size: tuple[int, int], box: tuple[int, int, int, int],
              mask: np.ndarray | None) -> np.ndarray:
    """The answer at the size that was sent (servers may answer another), the letterbox cut
    off, scaled to the input's size, and composited: outside the mask stays the input's."""
    import cv2

    if (answer.shape[1], answer.shape[0]) != size:
        answer = cv2.resize(answer, size, interpolation=cv2.INTER_LANCZOS4)
    x0, y0, x1, y1 = box
    h, w = base.shape[:2]
    crop = np.ascontiguousarray(answer[y0:y1, x0:x1])
    back = cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA if crop.shape[1] > w else cv2.INTER_LANCZOS4)
    return keep_outside(base, back, mask)


def _true(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _status_text(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:300]
    return _first_line(exc)


def _cause(exc: BaseException) -> str:
    return _first_line(exc.__cause__) if exc.__cause__ is not None else _first_line(exc)


def _first_line(exc: Any) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:300]


# -- registration: the same engine on every brick it serves --------------------------------------
def _engine_for(request: Callable[..., tuple[np.ndarray, np.ndarray | None, str]]):
    def run(ctx, **inputs):
        image, mask, prompt = request(ctx, **inputs)
        return {"image": edit_image(ctx, image, mask, prompt)}

    run.__doc__ = request.__doc__
    return run


for _spec, _request in REQUESTS:
    _spec.engine(ENGINE, kind="model", version="1", check=check(_spec.name), slot=slot)(_engine_for(_request))

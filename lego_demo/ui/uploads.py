"""Image inputs that hand the app the uploaded bytes, undecoded.

Gradio's own image components decode an upload before the app sees it (a 164 KB PNG that
claims 13000×13000 px peaked at 2 GB there), drop or reinterpret alpha, palettes and 16-bit
samples, and answer a junk file with Pillow's error and the server's temp path. These
inputs only read the bytes (size-capped); `Editor.prepare` then decodes them with the
project's reader, exactly as the CLI does: limits apply before decoding, and the messages are
the app's own. `hand_over_bytes` makes a Gradio image input do this.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

import gradio as gr

from ..errors import BadInput
from ..images import MAX_FILE_BYTES
from .errors import as_gradio_error


def upload_bytes(payload, what: str = "image") -> bytes | None:
    """The bytes of one uploaded file (a Gradio FileData: a server path or a data: URL)."""
    if payload is None:
        return None
    url = getattr(payload, "url", None) or ""
    if url.startswith("data:"):
        head, _, data = url.partition(",")
        if len(data) * 3 // 4 > MAX_FILE_BYTES:
            raise BadInput(f"the {what} is over {MAX_FILE_BYTES // 2**20} MiB; the limit is "
                           f"{MAX_FILE_BYTES // 2**20} MiB")
        if not head.endswith(";base64"):
            raise BadInput(f"the {what} data: URL is not base64-encoded")
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise BadInput(f"the {what} data: URL is not valid base64") from None
    path = getattr(payload, "path", None)
    if not path:
        raise BadInput(f"the {what} upload has no file")
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise BadInput(f"the {what} is {size / 2**20:.0f} MiB; the limit is {MAX_FILE_BYTES // 2**20} MiB")
        return path.read_bytes()
    except OSError:
        raise BadInput(f"the {what} upload could not be read (it may have expired): upload it again") from None


def _read(payload, what: str) -> bytes | None:
    try:
        return upload_bytes(payload, what)
    except BadInput as exc:
        raise as_gradio_error(exc) from None


def hand_over_bytes(component: gr.Image | gr.ImageEditor | gr.File):
    """Make an image input hand its handler the uploaded bytes instead of a decoded image: a
    gr.Image gives `bytes | None`, a gr.ImageMask / gr.ImageEditor gives {"background": bytes,
    "layers": [bytes], "composite": bytes} (PNG files as the browser sent them;
    `session.read_editor_value` reads it), a gr.File(file_count="multiple") a list of bytes. The browser side is unchanged. (An instance
    attribute, not a subclass: Gradio's component metaclass writes a .pyi file next to any
    module that subclasses a component.)"""
    if isinstance(component, gr.ImageEditor):
        component.preprocess = lambda payload: _editor_bytes(component, payload)
    elif isinstance(component, gr.File):  # file_count="multiple": a list of bytes
        component.preprocess = lambda payload: None if payload is None else [
            _read(f, component.label or "file") for f in (payload.root if hasattr(payload, "root") else [payload])]
    else:
        component.preprocess = lambda payload: _read(payload, component.label or "image")
    return component


def _editor_bytes(component: gr.ImageEditor, payload) -> dict | None:
    if payload is None:
        return None
    if payload.id is not None:  # realtime mode keeps the blobs server-side
        blobs = component.blob_storage.pop(payload.id, None)
        if blobs is None:
            return None
        return {"background": blobs.background, "layers": [b for b in blobs.layers if b is not None],
                "composite": blobs.composite}
    return {"background": _read(payload.background, "image"),
            "layers": [b for b in (_read(layer, "mask layer") for layer in payload.layers) if b is not None],
            "composite": _read(payload.composite, "image")}

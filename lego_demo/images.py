"""Reading and writing images and masks safely: size limits before decoding, clear errors.

Images become uint8 RGB (or RGBA when the file has real transparency); masks become bool.
An image read for editing is fitted to the working size while it is decoded (`max_side`):
a JPEG decodes at a reduced scale, other formats are reduced before their mode is converted,
so a photo just under the pixel limit never exists in memory more than once at full size.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import BadInput

MAX_PIXELS = 40_000_000  # refuse anything larger before decoding it
MAX_FILE_BYTES = 64 * 2**20


def _open(source: Any, what: str) -> tuple[Image.Image, str]:
    if isinstance(source, Image.Image):
        return source, what
    if isinstance(source, (bytes, bytearray)):
        if not source:
            raise BadInput(f"the {what} is empty (0 bytes)")
        data, name = bytes(source), what
    else:
        path = Path(source)
        name = f"{what} {str(path)!r}"
        if not path.is_file():
            raise BadInput(f"{name}: no such file")
        size = path.stat().st_size
        if size == 0:
            raise BadInput(f"{name} is empty (0 bytes)")
        if size > MAX_FILE_BYTES:
            raise BadInput(f"{name} is {size / 2**20:.0f} MiB; the limit is {MAX_FILE_BYTES // 2**20} MiB")
        data = path.read_bytes()
    try:
        return Image.open(io.BytesIO(data)), name
    except UnidentifiedImageError:
        raise BadInput(f"{name} is not an image this tool can read (PNG, JPEG, WebP, BMP, TIFF, GIF)") from None
    except Image.DecompressionBombError as exc:
        claimed = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"claims {int(claimed.group(1)) / 1e6:.0f} MP" if claimed else "is far too large"
        raise BadInput(f"{name} {size}; refused before decoding (decompression-bomb guard)") from None


def _within_limit(im: Image.Image, name: str, max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    w, h = im.size
    if w * h > max_pixels:
        raise BadInput(
            f"{name} is {w}×{h} ({w * h / 1e6:.0f} MP); the limit is {max_pixels / 1e6:.0f} MP — "
            "downscale it first"
        )
    return w, h


def image_size(source: Any, what: str = "image") -> tuple[int, int]:
    """(width, height) from the header only, so a mismatched mask is refused before a large
    image is decoded."""
    if isinstance(source, np.ndarray):
        return int(source.shape[1]), int(source.shape[0])
    im, name = _open(source, what)
    w, h = _within_limit(im, name)
    try:  # EXIF orientation: load_image turns these. The base class reads EXIF from the header;
        # PNG's own getexif decodes every pixel first (it looks for an eXIf chunk after the data)
        turned = Image.Image.getexif(im).get(0x0112) in (5, 6, 7, 8)
    except (OSError, SyntaxError, ValueError):  # unreadable EXIF: load_image reports the real problem
        turned = False
    return (h, w) if turned else (w, h)


def load_image(source: Any, what: str = "image", max_pixels: int = MAX_PIXELS, notes: list[str] | None = None,
               max_side: int | None = None) -> np.ndarray:
    """An RGB/RGBA uint8 array from a path, bytes, PIL image or array; BadInput names the problem.
    With `max_side`, the image is fitted to it as `fit_working_size` would, while decoding."""
    if isinstance(source, np.ndarray):
        arr = _from_array(source, what)
        return arr if max_side is None else fit_working_size(arr, max_side, notes)
    im, name = _open(source, what)
    w, h = _within_limit(im, name, max_pixels)
    if getattr(im, "is_animated", False):
        im.seek(0)
        if notes is not None:
            notes.append(f"{name} is animated: its first frame is used")
    size = None
    if max_side is not None and max(w, h) > max_side:
        scale = max_side / max(w, h)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))  # in the file's orientation
        if im.format == "JPEG":  # decode at 1/2, 1/4 or 1/8 scale, still at least `size`
            im.draft(im.mode, size)
    try:
        im.load()
        if size is None:
            im = ImageOps.exif_transpose(im)
        else:  # reduced first, then turned (a TIFF's orientation does not survive a resize)
            turn = _TURNS.get(im.getexif().get(0x0112))
            im = _fitted(im, size)
            if turn is not None:
                im = im.transpose(turn)
                w, h, size = h, w, size[::-1]
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadInput(f"{name} is truncated or corrupt ({exc})") from None
    if size is not None and notes is not None:
        notes.append(_downscaled_note(w, h, size, max_side))
    return _to_rgb(im)


# EXIF orientation → the turn that shows the picture upright (as ImageOps.exif_transpose)
_TURNS = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
          5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
          8: Image.Transpose.ROTATE_90}


def _fitted(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`im` resized to `size` (Lanczos after an integer box reduction: Pillow's reducing_gap), in
    a mode that resizes without losing what `_to_rgb` reads (16-bit samples, alpha)."""
    if im.mode.startswith("I") or im.mode == "F":  # to 8 bits first, scaled as `_to_rgb` does
        lo, hi = im.getextrema()
        if im.mode == "F":
            im = im.point(lambda v: (v - lo) * (255 / max(hi - lo, 1e-9)) + 0.5)
        else:
            im = im.convert("I").point(lambda v: v * (255 / max(hi, 255)) + 0.5)
        im = im.convert("L")
    elif im.mode not in ("RGB", "RGBA", "L", "LA"):
        im = im.convert("RGBA" if _has_alpha(im) else "L" if im.mode == "1" else "RGB")
    return im.resize(size, Image.LANCZOS, reducing_gap=3.0)


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)


def _to_rgb(im: Image.Image) -> np.ndarray:
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im, dtype=np.float64)
        top = arr.max() if arr.max() > 255 else 255.0
        im = Image.fromarray((arr / max(top, 1) * 255 + 0.5).astype(np.uint8), "L")
    if im.mode == "F":
        arr = np.asarray(im, dtype=np.float64)
        span = max(arr.max() - arr.min(), 1e-9)
        im = Image.fromarray(((arr - arr.min()) / span * 255 + 0.5).astype(np.uint8), "L")
    has_alpha = _has_alpha(im)
    mode = "RGBA" if has_alpha else "RGB"
    arr = np.array(im if im.mode == mode else im.convert(mode))  # one copy, writable
    if has_alpha and arr[..., 3].min() == 255:
        arr = arr[..., :3].copy()
    return arr


def _from_array(arr: np.ndarray, what: str) -> np.ndarray:
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise BadInput(f"the {what} array has shape {arr.shape}; expected H×W×3 or H×W×4")
    if arr.dtype != np.uint8:
        if np.issubdtype(arr.dtype, np.floating) and arr.max() <= 1.0:
            arr = arr * 255.0
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.shape[0] * arr.shape[1] > MAX_PIXELS:
        raise BadInput(f"the {what} is {arr.shape[1]}×{arr.shape[0]}; the limit is {MAX_PIXELS / 1e6:.0f} MP")
    return np.ascontiguousarray(arr)


def load_mask(source: Any, size: tuple[int, int] | None = None, what: str = "mask") -> np.ndarray:
    """A bool mask: white (or opaque, for images with alpha) = selected. `size` is (w, h)."""
    if size is not None and not isinstance(source, np.ndarray):
        _same_size(image_size(source, what), size, what)  # from the header: a wrong size is not decoded
    if isinstance(source, np.ndarray) and source.dtype == bool:
        mask = source
    else:
        arr = load_image(source, what) if not isinstance(source, np.ndarray) else _from_array(source, what)
        if arr.shape[2] == 4 and arr[..., 3].min() < 255:
            mask = arr[..., 3] > 127
        else:  # mean of R, G, B > 127, in 2 bytes a pixel (a float mean took 8)
            mask = arr[..., 0].astype(np.uint16) + arr[..., 1] + arr[..., 2] > 381
    if size is not None:
        _same_size((mask.shape[1], mask.shape[0]), size, what)
    return mask


def _same_size(mask_size: tuple[int, int], size: tuple[int, int], what: str) -> None:
    if tuple(mask_size) != tuple(size):
        raise BadInput(f"the {what} is {mask_size[0]}×{mask_size[1]} but the image is {size[0]}×{size[1]}; "
                       "they must match")


def to_pil(value: np.ndarray) -> Image.Image:
    if value.dtype == bool:
        return Image.fromarray(np.where(value, 255, 0).astype(np.uint8), "L")
    return Image.fromarray(value, "RGBA" if value.shape[2] == 4 else "RGB")


def save_png(value: np.ndarray, path: str | Path) -> Path:
    """A lossless PNG, written with fast compression (zlib level 1: a few times faster than the
    default at 10–30% more bytes)."""
    path = Path(path)
    to_pil(value).save(path, format="PNG", compress_level=1)
    return path


WORKING_MAX_SIDE = 2048


def fit_working_size(image: np.ndarray, max_side: int = WORKING_MAX_SIDE, notes: list[str] | None = None) -> np.ndarray:
    """Downscale so the longer side is at most `max_side` (bricks run at the working size and
    results come back at it). Smaller images are untouched."""
    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image
    scale = max_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    resized = np.asarray(to_pil(image).resize(size, Image.LANCZOS))
    if notes is not None:
        notes.append(_downscaled_note(w, h, size, max_side))
    return resized


def _downscaled_note(w: int, h: int, size: tuple[int, int], max_side: int) -> str:
    return (f"the image was downscaled from {w}×{h} to {size[0]}×{size[1]} (working size, longest side {max_side} px); "
            "results are at that size")


def fit_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A mask resized (nearest) to an image's (h, w) after the image was fitted."""
    if mask.shape == tuple(shape):
        return mask
    return np.asarray(to_pil(mask).resize((shape[1], shape[0]), Image.NEAREST)) > 127

"""RESIZE: scale the valid part of a mask or image by a ratio, about its own centre."""

import cv2
import numpy as np

from lego_demo.errors import BadInput
from lego_demo.imaging import opaque
from lego_demo.spec import Input, brick, one_kind_per_step

_rules, _produces = one_kind_per_step(masks=("mask",), images=("image",))
MAX_SIDE = 8192

RESIZE = brick(
    "RESIZE",
    kind="edit",
    summary="Resize the width and height of the valid part of a mask or image to ratio times "
    "its size",
    inputs={
        "mask": Input("Mask", optional=True),
        "image": Input("Image", optional=True),
        "ratio": Input("Float", range=(0.01, 16.0), neutral=1.0),
    },
    outputs={"mask": "Mask", "image": "Image"},
    constraint="Exactly one of mask and image is given; ratio is from 0.01 to 16 (1 = unchanged). The valid part of a mask is its "
    "selected area and of a transparent image its opaque part: it is scaled about its centre on "
    "a canvas of the same size. An opaque image is resized as a whole.",
    rules=_rules,
    produces=_produces,
    use_for=("make an object bigger or smaller", "scale a cut-out"),
)


def _scale_about_centre(layer: np.ndarray, valid: np.ndarray, ratio: float) -> np.ndarray:
    """Scale the part of `layer` inside `valid`'s box about the box centre; same canvas size."""
    h, w = valid.shape
    out = np.zeros_like(layer)
    rows, cols = np.any(valid, axis=1), np.any(valid, axis=0)
    if not rows.any():
        return out
    r0, r1 = np.flatnonzero(rows)[[0, -1]]
    c0, c1 = np.flatnonzero(cols)[[0, -1]]
    crop = layer[r0 : r1 + 1, c0 : c1 + 1]
    nh, nw = max(1, round(crop.shape[0] * ratio)), max(1, round(crop.shape[1] * ratio))
    interp = cv2.INTER_NEAREST if layer.dtype == np.uint8 and layer.ndim == 2 else cv2.INTER_LINEAR
    scaled = cv2.resize(crop, (nw, nh), interpolation=interp)
    cy, cx = (r0 + r1 + 1) / 2, (c0 + c1 + 1) / 2
    top, left = round(cy - nh / 2), round(cx - nw / 2)
    # clip the scaled patch to the canvas
    y0, x0 = max(0, top), max(0, left)
    y1, x1 = min(h, top + nh), min(w, left + nw)
    if y1 > y0 and x1 > x0:
        out[y0:y1, x0:x1] = scaled[y0 - top : y1 - top, x0 - left : x1 - left]
    return out


@RESIZE.engine("opencv")
def resize(ctx, ratio, mask=None, image=None):
    ratio = float(ratio)
    if not 0 < ratio <= 16:
        raise BadInput(f"RESIZE ratio must be in (0, 16], got {ratio}")
    if mask is not None:
        scaled = _scale_about_centre(mask.astype(np.uint8), mask, ratio)
        return {"mask": scaled.astype(bool)}
    if image.shape[2] == 4 and not opaque(image).all():
        return {"image": _scale_about_centre(image, opaque(image), ratio)}
    h, w = image.shape[:2]
    nh, nw = max(1, round(h * ratio)), max(1, round(w * ratio))
    if max(nh, nw) > MAX_SIDE:
        raise BadInput(f"RESIZE by {ratio} would make a {nw}×{nh} image (limit {MAX_SIDE} px a side)")
    interp = cv2.INTER_AREA if ratio < 1 else cv2.INTER_CUBIC
    return {"image": cv2.resize(image, (nw, nh), interpolation=interp)}

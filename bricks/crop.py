"""CROP: cut the image down to a mask's box or to a box given by ratios."""

from __future__ import annotations

import numpy as np

from lego_demo.errors import BadInput
from lego_demo.imaging import same_size
from lego_demo.spec import Input, brick


def _rules(given: frozenset[str]) -> list[str]:
    sides = [n for n in ("left", "top", "right", "bottom") if n in given]
    if "mask" in given and sides:
        return ["give a mask or the four ratios (left, top, right, bottom), not both"]
    if "mask" not in given and len(sides) != 4:
        return ["give a mask, or all four ratios left, top, right, bottom"]
    return []


CROP = brick(
    "CROP",
    kind="edit",
    summary="Crop the image to the box of a mask, or to a box given as ratios of the size",
    inputs={
        "image": "Image",
        "mask": Input("Mask", optional=True),
        "left": Input("Float", optional=True, doc="0..1 of the width", range=(0, 1)),
        "top": Input("Float", optional=True, doc="0..1 of the height", range=(0, 1)),
        "right": Input("Float", optional=True, range=(0, 1)),
        "bottom": Input("Float", optional=True, range=(0, 1)),
    },
    outputs={"image": "Image"},
    constraint="Give a mask (e.g. from RES or BBOX: the crop is its box plus a 5% margin) or "
    "the four box corners as ratios 0..1 (left < right, top < bottom). The result is smaller, "
    "so no later step may combine it with masks of the original image.",
    rules=_rules,
    use_for=("crop the image", "crop to an object", "change the aspect ratio by cropping"),
)


@CROP.engine("numpy", kind="classical")
def crop(ctx, image, mask=None, left=None, top=None, right=None, bottom=None):
    h, w = image.shape[:2]
    if mask is not None:
        same_size("image", image, "mask", mask)
        if not mask.any():
            raise BadInput("CROP: the mask is empty")
        ys, xs = np.nonzero(mask)
        my, mx = int(0.05 * (np.ptp(ys) + 1)), int(0.05 * (np.ptp(xs) + 1))
        y0, y1 = max(0, ys.min() - my), min(h, ys.max() + 1 + my)
        x0, x1 = max(0, xs.min() - mx), min(w, xs.max() + 1 + mx)
    else:
        vals = [left, top, right, bottom]
        if any(v is None for v in vals):
            raise BadInput("CROP needs a mask or all four ratios left, top, right, bottom")
        left, top, right, bottom = (float(v) for v in vals)
        if not (0 <= left < right <= 1 and 0 <= top < bottom <= 1):
            raise BadInput(f"CROP ratios must satisfy 0 <= left < right <= 1 and 0 <= top < bottom <= 1; "
                           f"got {left}, {top}, {right}, {bottom}")
        x0, x1 = int(round(left * w)), max(int(round(left * w)) + 1, int(round(right * w)))
        y0, y1 = int(round(top * h)), max(int(round(top * h)) + 1, int(round(bottom * h)))
    return {"image": np.ascontiguousarray(image[y0:y1, x0:x1])}

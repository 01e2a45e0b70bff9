"""FLIP: mirror the image."""

from __future__ import annotations

import numpy as np

from lego_demo.errors import BadInput
from lego_demo.spec import brick

FLIP = brick(
    "FLIP",
    kind="edit",
    summary="Mirror the image horizontally (left-right) or vertically (upside down)",
    inputs={"image": "Image", "direction": "Str"},
    outputs={"image": "Image"},
    constraint="direction is 'horizontal' (mirror left-right) or 'vertical' (upside down).",
    aliases=("MIRROR",),
    use_for=("flip the image", "mirror the image"),
)

WORDS = {
    "horizontal": 1, "horizontally": 1, "left-right": 1, "left right": 1, "mirror": 1, "sideways": 1,
    "vertical": 0, "vertically": 0, "upside down": 0, "upside-down": 0, "top-bottom": 0, "up-down": 0,
}


@FLIP.engine("numpy", kind="classical")
def flip(ctx, image, direction):
    d = (direction or "").strip().lower()
    axis = next((v for k, v in WORDS.items() if k in d), None)
    if axis is None:
        raise BadInput(f"FLIP: direction {direction!r} is not 'horizontal' or 'vertical'")
    return {"image": np.ascontiguousarray(np.flip(image, axis=axis))}

"""TONE: brightness, contrast and saturation, for the whole image or a masked part.

The release's plugin example BRIGHT (examples/plugins/bright.py) does brightness only; TONE
covers contrast and saturation too. Each amount is in [-1, 1]: 0 = unchanged, +1 = double,
-1 = none (black / flat grey / greyscale).
"""

from __future__ import annotations

import numpy as np

from lego_demo.errors import BadInput
from lego_demo.imaging import keep_outside, same_size
from lego_demo.spec import Input, brick


def _rules(given: frozenset[str]) -> list[str]:
    if not {"brightness", "contrast", "saturation"} & given:
        return ["give at least one of brightness, contrast, saturation"]
    return []


TONE = brick(
    "TONE",
    kind="edit",
    summary="Adjust brightness, contrast and/or saturation of the image or of the mask area",
    inputs={
        "image": "Image",
        **{k: Input("Float", optional=True, range=(-1, 1), neutral=0, default=0, strength=True)
           for k in ("brightness", "contrast", "saturation")},
        "mask": Input("Mask", optional=True),
    },
    outputs={"image": "Image"},
    constraint="Amounts in [-1, 1]: 0 = unchanged, 0.3 = 30% more, -0.3 = 30% less; give at "
    "least one. mask null = whole image.",
    rules=_rules,
    use_for=("brighten the image", "darken the image", "increase the contrast", "reduce the contrast",
             "make the colours more vivid", "desaturate the colours", "adjust the exposure"),
)


@TONE.engine("numpy", kind="classical")
def tone(ctx, image, brightness=None, contrast=None, saturation=None, mask=None):
    amounts = {"brightness": brightness, "contrast": contrast, "saturation": saturation}
    for k, v in amounts.items():
        if v is not None and not -1.0 <= float(v) <= 1.0:
            raise BadInput(f"TONE {k} must be in [-1, 1] (0 = unchanged), got {v}")
    if mask is not None:
        same_size("image", image, "mask", mask)
    f = image[..., :3].astype(np.float32)
    if brightness:
        f = f * (1 + float(brightness))
    if contrast:
        mean = float(f.mean())
        f = mean + (f - mean) * (1 + float(contrast))
    if saturation:
        grey = f @ np.array([0.299, 0.587, 0.114], np.float32)
        f = grey[..., None] + (f - grey[..., None]) * (1 + float(saturation))
    out = np.clip(f + 0.5, 0, 255).astype(np.uint8)
    if image.shape[2] == 4:
        out = np.dstack([out, image[..., 3]])
        if mask is not None:
            return {"image": np.where(mask[..., None], out, image)}
        return {"image": out}
    return {"image": keep_outside(image, out, mask)}

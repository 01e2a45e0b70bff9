"""BRIGHT: the Lego-Edit release's example of adding a tool — one file, nothing else edited.

Use it with `python -m lego_demo --bricks examples/plugins/bright.py bricks`.
"""

import numpy as np
from PIL import Image, ImageEnhance

from lego_demo.errors import BadInput
from lego_demo.spec import Input, brick

BRIGHT = brick(
    "BRIGHT",
    kind="edit",
    summary="Adjust the brightness of the image by a ratio",
    inputs={"image": "Image", "ratio": Input("Float", range=(0, 1), neutral=0.5, strength=True)},
    outputs={"image": "Image"},
    constraint="ratio from 0 to 1: 0 is darkest, 0.5 leaves the image unchanged, above 0.5 is "
    "brighter (1.0 doubles the brightness).",
    aliases=("FLUX-BRIGHT",),
    use_for=("brighten the image", "darken the image", "change the brightness"),
)


@BRIGHT.engine("pillow")
def bright(ctx, image, ratio):
    ratio = float(ratio)
    if ratio < 0:
        raise BadInput(f"BRIGHT ratio must be >= 0, got {ratio}")
    factor = 2.0 * min(ratio, 1.0)  # the release's mapping: 0.5 -> 1.0 (unchanged)
    out = np.asarray(ImageEnhance.Brightness(Image.fromarray(image[..., :3], "RGB")).enhance(factor))
    if image.shape[2] == 4:  # brightness changes colour, never transparency
        out = np.dstack([out, image[..., 3]])
    return {"image": out}

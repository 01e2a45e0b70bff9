"""EXTRACT: cut the mask area out as an image with transparency."""

import numpy as np

from lego_demo.imaging import rgb, same_size
from lego_demo.spec import brick

EXTRACT = brick(
    "EXTRACT",
    kind="edit",
    summary="Cut out the mask area as a transparent image (RGBA: opaque inside the mask, "
    "transparent outside)",
    inputs={"image": "Image", "mask": "Mask"},
    outputs={"image": "Image"},
    constraint="Use it when the user wants the object cut out or the background removed; the "
    "mask comes from RES, SOS or MASK-SEG. COMPOSE can lay the cut-out over another image.",
    aliases=("CUTOUT",),
    use_for=("cut out an object", "make a sticker", "remove the background to transparent"),
)


@EXTRACT.engine("numpy", kind="classical")
def extract(ctx, image, mask):
    same_size("image", image, "mask", mask)
    alpha = np.where(mask, 255, 0).astype(np.uint8)
    return {"image": np.dstack([rgb(image), alpha])}

"""COMPOSE: lay a second mask or image over the first."""

import numpy as np

from lego_demo.imaging import opaque, rgb, same_size
from lego_demo.spec import Input, brick, one_kind_per_step

_rules, _produces = one_kind_per_step(masks=("mask1", "mask2"), images=("image1", "image2"))

COMPOSE = brick(
    "COMPOSE",
    kind="edit",
    summary="Compose two masks (union) or two images; where both have content, the second "
    "covers the first",
    inputs={
        "mask1": Input("Mask", optional=True),
        "mask2": Input("Mask", optional=True),
        "image1": Input("Image", optional=True),
        "image2": Input("Image", optional=True),
    },
    outputs={"mask": "Mask", "image": "Image"},
    constraint="One kind of input per step: two masks (images null) give a mask, two images "
    "(masks null) give an image. A transparent (cut-out) second image covers only where it is "
    "opaque.",
    rules=_rules,
    produces=_produces,
    use_for=("lay one image over another", "combine two masks"),
)


@COMPOSE.engine("numpy")
def compose(ctx, mask1=None, mask2=None, image1=None, image2=None):
    if mask1 is not None:
        same_size("mask1", mask1, "mask2", mask2)
        return {"mask": mask1 | mask2}
    same_size("image1", image1, "image2", image2)
    cover = opaque(image2)
    return {"image": np.where(cover[..., None], rgb(image2), rgb(image1))}

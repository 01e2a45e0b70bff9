"""GROW: widen (or narrow) a mask by a margin, so an edit also covers an object's edges."""

import cv2
import numpy as np

from lego_demo.spec import Input, brick

GROW = brick(
    "GROW",
    kind="predict",
    summary="Grow a mask outward (or shrink it inward) by a margin",
    inputs={"mask": "Mask", "amount": Input("Float", optional=True, range=(-0.25, 0.25), neutral=0.0)},
    outputs={"mask": "Mask"},
    constraint="amount is a fraction of the image's longer side: 0.02 (the default) grows the mask by 2%; "
    "a negative amount shrinks it; from -0.25 to 0.25. Use it when a removal or recolour leaves the object's edges behind.",
    aliases=("MASK-GROW", "DILATE"),
)


@GROW.engine("opencv")
def grow(ctx, mask, amount=None):
    amount = 0.02 if amount is None else float(amount)
    radius = round(abs(amount) * max(mask.shape))
    if radius == 0:
        return {"mask": mask}
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    op = cv2.dilate if amount > 0 else cv2.erode
    return {"mask": op(mask.astype(np.uint8), kernel).astype(bool)}

"""FASTINPAINT: quick removal, plus a score of how well it went.

Classical engine: OpenCV Telea inpainting on a crop around the hole (diffusion: smooth,
fast, blurs texture). The score (0..1) says how well the fill matches its surroundings;
`fill_score` is shared with INPAINT, which uses it to choose between candidate fills.
"""

from __future__ import annotations

import cv2
import numpy as np

from lego_demo.errors import BadInput, CannotDo
from lego_demo.fill_score import fill_score, hole_box
from lego_demo.imaging import keep_outside, rgb, same_size
from lego_demo.spec import brick

FASTINPAINT = brick(
    "FASTINPAINT",
    kind="edit",
    summary="Quickly fill the mask area with background and score the result",
    inputs={"image": "Image", "mask": "Mask"},
    outputs={"image": "Image", "score": "Float"},
    constraint="Rough: use it as the pre-inpaint image for INPAINT, or as the result when the "
    "user is in a hurry.",
    use_for=("quickly remove an object", "fill a hole roughly"),
)


MAX_CLASSICAL_HOLE = 0.35  # beyond this share of the image, copying texture is no longer a removal


def check_hole(image: np.ndarray, mask: np.ndarray) -> None:
    same_size("image", image, "mask", mask)
    if not mask.any():
        raise BadInput("the mask is empty: there is nothing to remove")
    if mask.all():
        raise BadInput("the mask covers the whole image: there is no background left to fill from")
    share = float(mask.mean())
    if share > MAX_CLASSICAL_HOLE:
        raise CannotDo(
            f"the area to fill covers {share:.0%} of the image; the classical fill copies texture from the "
            f"rest of the image and cannot invent that much (limit {MAX_CLASSICAL_HOLE:.0%}): a model engine "
            "(diffusers inpainting, see docs/MODELS.md) is needed, or a smaller mask"
        )


@FASTINPAINT.engine("telea", kind="classical")
def fastinpaint(ctx, image, mask):
    check_hole(image, mask)
    base = rgb(image)
    hole = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0  # cover AA edges
    y0, y1, x0, x1 = hole_box(mask, 8)
    crop = np.ascontiguousarray(base[y0:y1, x0:x1])
    sub = hole[y0:y1, x0:x1].astype(np.uint8) * 255
    filled = cv2.inpaint(crop, sub, 5, cv2.INPAINT_TELEA)
    out = base.copy()
    out[y0:y1, x0:x1] = filled
    out = keep_outside(base, out, mask)
    return {"image": out, "score": round(fill_score(out, mask), 4)}

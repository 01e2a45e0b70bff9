"""PIXELATE: mosaic the mask area."""

import numpy as np

from lego_demo.errors import BadInput
from lego_demo.imaging import keep_outside, mask_window, rgb, same_size
from lego_demo.lazy import lazy
from lego_demo.spec import Input, brick

cv2 = lazy("cv2")

PIXELATE = brick(
    "PIXELATE",
    kind="edit",
    summary="Pixelate (mosaic) the mask area, e.g. to anonymise a face or a licence plate, or the whole "
    "image when the mask is null",
    inputs={"image": "Image", "mask": Input("Mask", optional=True),
            "block": Input("Float", optional=True, range=(1, 4096), neutral=1, strength=True,
                           default=lambda width, height: max(6, round(max(width, height) / 48)))},
    outputs={"image": "Image"},
    constraint="block is the mosaic cell size in pixels, 1 to 4096 (1 = unchanged; null = 1/48 of the image's longer "
    "side, at least 6). Only the mask area changes; a null mask pixelates the whole image.",
    aliases=("MOSAIC",),
    use_for=("pixelate faces", "pixelate a licence plate", "mosaic part of the image", "censor something"),
)


@PIXELATE.engine("opencv", kind="classical")
def pixelate(ctx, image, mask=None, block=None):
    if mask is None:  # the whole image
        mask = np.ones(image.shape[:2], bool)
    same_size("image", image, "mask", mask)
    image = rgb(image)
    h, w = mask.shape
    block = PIXELATE.inputs["block"].default_for(w, h) if block is None else float(block)
    block = int(round(block))
    if not 1 <= block <= max(h, w):
        raise BadInput(f"PIXELATE block must be 1..{max(h, w)} px, got {block}")
    if not mask.any():
        return {"image": image.copy()}
    rows, cols = mask_window(mask)
    # cells on a grid anchored at the image origin, covering the mask's box
    y0, x0 = rows.start // block * block, cols.start // block * block
    y1, x1 = min(h, -(-rows.stop // block) * block), min(w, -(-cols.stop // block) * block)
    crop = image[y0:y1, x0:x1]
    ch, cw = -(-crop.shape[0] // block), -(-crop.shape[1] // block)
    cells = cv2.resize(crop, (cw, ch), interpolation=cv2.INTER_AREA)
    mosaic = np.repeat(np.repeat(cells, block, axis=0), block, axis=1)[: crop.shape[0], : crop.shape[1]]
    out = image.copy()
    out[y0:y1, x0:x1] = mosaic
    return {"image": keep_outside(image, out, mask)}

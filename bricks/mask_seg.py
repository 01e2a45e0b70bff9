"""MASK-SEG: the object inside a given (rough) mask."""

import cv2
import numpy as np
from scipy import ndimage

from lego_demo.errors import BadInput, NotFound
from lego_demo.imaging import checkerboard_cutout, rgb, same_size
from lego_demo.spec import brick
from lego_demo.subject import grabcut, largest_components

MASK_SEG = brick(
    "MASK-SEG",
    kind="predict",
    summary="Segment the object inside the given mask area",
    inputs={"image": "Image", "mask": "Mask"},
    outputs={"mask": "Mask", "image": "Image"},
    constraint="Needs both an image and a mask (e.g. the user's init[mask]).",
)

WORK_SIDE = 384  # GrabCut runs on the crop around the mask at most this big


@MASK_SEG.engine("grabcut", kind="classical")
def mask_seg(ctx, image, mask):
    """GrabCut on a crop around the mask: outside the mask is background, inside it is
    'probably object', its eroded core 'probably object' too; the result stays inside the mask."""
    same_size("image", image, "mask", mask)
    if not mask.any():
        raise BadInput("MASK-SEG got an empty mask: draw or predict the area the object is in")
    image = rgb(image)
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    pad = max(8, int(0.1 * max(y1 - y0, x1 - x0)))
    y0, y1, x0, x1 = max(0, y0 - pad), min(h, y1 + pad), max(0, x0 - pad), min(w, x1 + pad)
    crop, m = image[y0:y1, x0:x1], mask[y0:y1, x0:x1]
    s = min(1.0, WORK_SIDE / max(crop.shape[:2]))
    size = (max(1, round(crop.shape[1] * s)), max(1, round(crop.shape[0] * s)))
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    ms = cv2.resize(m.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    init = np.where(ms, cv2.GC_PR_FGD, cv2.GC_BGD).astype(np.uint8)
    if ms.all():  # the mask covers the whole crop: its rim is the best guess of background
        b = max(1, round(0.03 * min(size)))
        init[:b], init[-b:], init[:, :b], init[:, -b:] = (cv2.GC_PR_BGD,) * 4
    # a box-shaped mask: its margin is probably background
    rim = ms & ~cv2.erode(ms.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    init[rim] = cv2.GC_PR_BGD
    fg = grabcut(small, init, iterations=5)
    fg = largest_components(ndimage.binary_fill_holes(fg), 0.08)  # parts cut apart by what lies over them
    out_crop = cv2.resize(fg.astype(np.float32), (crop.shape[1], crop.shape[0])) > 0.5
    out = np.zeros_like(mask)
    out[y0:y1, x0:x1] = out_crop & m
    if out.sum() < 0.02 * mask.sum():
        raise NotFound("MASK-SEG (offline) found no distinct object inside the mask")
    return {"mask": out, "image": checkerboard_cutout(image, out)}

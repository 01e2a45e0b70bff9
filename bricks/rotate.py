"""ROTATE: turn the image by an angle."""

from __future__ import annotations

import cv2
import numpy as np

from lego_demo.errors import BadInput
from lego_demo.spec import Input, brick

ROTATE = brick(
    "ROTATE",
    kind="edit",
    summary="Rotate the image counter-clockwise by an angle in degrees",
    inputs={"image": "Image", "angle": Input("Float", range=(-360.0, 360.0), neutral=0.0)},
    outputs={"image": "Image"},
    constraint="angle in degrees from -360 to 360, counter-clockwise (negative = clockwise). Multiples of 90 are "
    "exact; other angles enlarge the canvas and leave its corners transparent.",
    use_for=("rotate the image", "turn the image upside down"),
)


@ROTATE.engine("opencv", kind="classical")
def rotate(ctx, image, angle):
    a = float(angle)
    if not np.isfinite(a):
        raise BadInput(f"ROTATE: angle must be a number of degrees, got {angle!r}")
    a = a % 360
    if abs(a - round(a / 90) * 90) < 1e-9:
        return {"image": np.ascontiguousarray(np.rot90(image, int(round(a / 90)) % 4))}
    h, w = image.shape[:2]
    rgba = image if image.shape[2] == 4 else np.dstack([image, np.full((h, w), 255, np.uint8)])
    m = cv2.getRotationMatrix2D((w / 2, h / 2), a, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(np.ceil(h * sin + w * cos)), int(np.ceil(h * cos + w * sin))
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    out = cv2.warpAffine(rgba, m, (nw, nh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                         borderValue=(0, 0, 0, 0))
    return {"image": out}

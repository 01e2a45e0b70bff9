"""BBOX: the filled bounding box of a mask."""

import numpy as np

from lego_demo.spec import brick

BBOX = brick(
    "BBOX",
    kind="predict",
    summary="Given a mask, output the mask of its bounding box",
    inputs={"mask": "Mask"},
    outputs={"mask": "Mask"},
    constraint="None",
)


@BBOX.engine("numpy")
def bbox(ctx, mask):
    out = np.zeros_like(mask, dtype=bool)
    rows, cols = np.any(mask, axis=1), np.any(mask, axis=0)
    if rows.any():
        r0, r1 = np.flatnonzero(rows)[[0, -1]]
        c0, c1 = np.flatnonzero(cols)[[0, -1]]
        out[r0 : r1 + 1, c0 : c1 + 1] = True
    return {"mask": out}

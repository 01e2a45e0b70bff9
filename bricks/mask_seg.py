"""MASK-SEG: the object inside a given (rough) mask."""

from lego_demo.spec import brick

MASK_SEG = brick(
    "MASK-SEG",
    kind="predict",
    summary="Segment the object inside the given mask area",
    inputs={"image": "Image", "mask": "Mask"},
    outputs={"mask": "Mask", "image": "Image"},
    constraint="Needs both an image and a mask (e.g. the user's init[mask]).",
)

"""FASTINPAINT: quick removal, plus a score of how well it went."""

from lego_demo.spec import brick

FASTINPAINT = brick(
    "FASTINPAINT",
    kind="edit",
    summary="Quickly fill the mask area with background and score the result",
    inputs={"image": "Image", "mask": "Mask"},
    outputs={"image": "Image", "score": "Float"},
    constraint="Rough: use it as the pre-inpaint image for INPAINT, or as the result when the "
    "user is in a hurry.",
)

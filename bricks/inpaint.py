"""INPAINT: high-quality removal guided by a pre-inpaint image and its score."""

from lego_demo.spec import brick

INPAINT = brick(
    "INPAINT",
    kind="edit",
    summary="Fill the mask area with background, guided by a pre-inpaint image and its score",
    inputs={"image": "Image", "mask": "Mask", "preimage": "Image", "score": "Float"},
    outputs={"image": "Image"},
    constraint="Removal only (no prompt). preimage and score are required: use FASTINPAINT's "
    "image and score.",
    aliases=("FLUX-INPAINT",),
)

"""FILL: draw what the prompt says inside the mask."""

from lego_demo.spec import Input, brick

FILL = brick(
    "FILL",
    kind="edit",
    summary="Generate the prompt's content inside the mask area (not for recolouring)",
    inputs={
        "image": "Image",
        "mask": "Mask",
        "prompt": "Str",
        "preimage": Input("Image", optional=True),
    },
    outputs={"image": "Image"},
    constraint="If the mask comes from CMI-PRED, the image must be CMI-PRED's image too. "
    "preimage is optional: the original or a reference image; with a reference, the prompt "
    "describes it in detail.",
    aliases=("FLUX-FILL",),
)

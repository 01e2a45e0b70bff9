"""STYLE: render the whole image, or the masked part, in a style."""

from lego_demo.spec import Input, brick

STYLE = brick(
    "STYLE",
    kind="edit",
    summary="Convert the image, or the object in the mask, to a style such as 'anime style'",
    inputs={
        "image": "Image",
        "mask": Input("Mask", optional=True),
        "prompt": Input("Str", optional=True),
        "style": "Str",
    },
    outputs={"image": "Image"},
    constraint="The prompt comes from CMI-PRED's caption (it may be null for engines that do "
    "not need it). mask null = whole image; a mask = only that part.",
    aliases=("FLUX-STYLE",),
)

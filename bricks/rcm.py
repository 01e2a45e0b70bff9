"""RCM: recolour, or change the material of, the object in the mask."""

from lego_demo.spec import brick

RCM = brick(
    "RCM",
    kind="edit",
    summary="Replace the color or material of an object",
    inputs={"image": "Image", "mask": "Mask", "prompt": "Str"},
    outputs={"image": "Image"},
    constraint="The prompt names the new colour or material; only the mask area changes.",
    aliases=("FLUX-RCM",),
)

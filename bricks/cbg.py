"""CBG: a new background behind the subject."""

from lego_demo.spec import brick

CBG = brick(
    "CBG",
    kind="edit",
    summary="Change the background (the mask area) into a new scene",
    inputs={"image": "Image", "mask": "Mask", "prompt": "Str"},
    outputs={"image": "Image"},
    constraint="The prompt is 'change the background to XXX'. The mask is the background: "
    "segment the subject (RES for a named one, else SOS) and INVERSE it.",
    aliases=("FLUX-CBG",),
)

"""RES: referring segmentation — the object a phrase names, as a mask and a cut-out."""

from lego_demo.spec import brick

RES = brick(
    "RES",
    kind="predict",
    summary="Segment the object named by the prompt",
    inputs={"image": "Image", "prompt": "Str"},
    outputs={"mask": "Mask", "image": "Image"},
    constraint="The prompt is English and keeps any position words or adjectives "
    "('the red cup on the left'). The output image is the cut-out over a checkerboard; use it "
    "as a result only when the user asks for the segmentation.",
)

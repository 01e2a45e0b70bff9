"""SOS: segment the most salient object of the image."""

from lego_demo.spec import brick

SOS = brick(
    "SOS",
    kind="predict",
    summary="Segment the main (most salient) object of the image",
    inputs={"image": "Image"},
    outputs={"mask": "Mask", "image": "Image"},
    constraint="Cannot be told which object: it finds the most prominent one. The output image "
    "is the cut-out over a checkerboard.",
)

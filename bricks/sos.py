"""SOS: segment the main subject of the image."""

from lego_demo import grounding as g
from lego_demo.errors import NotFound
from lego_demo.imaging import checkerboard_cutout
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


@SOS.engine("subject", kind="classical", version="2")
def sos(ctx, image):
    """People with what they hold (mediapipe, face-verified); a distinct object on simple
    scenes; otherwise GrabCut seeded by the frame (lego_demo/subject.py)."""
    mask = g.Facts(image).subject
    if not mask.any():
        raise NotFound("SOS (offline) found no subject that stands out from the background: "
                       "paint over the subject and press Plan & run (CLI: --mask FILE)")
    return {"mask": mask, "image": checkerboard_cutout(image, mask)}

"""SOS: segment the most salient object of the image."""

from lego_demo import grounding as g
from lego_demo.errors import CannotDo, NotFound
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


@SOS.engine("saliency-grabcut", kind="classical")
def sos(ctx, image):
    """People first (mediapipe selfie segmentation); otherwise OpenCV fine-grained saliency
    seeds a GrabCut at ≤ 320 px, upsampled to the image size."""
    facts = g.Facts(image)
    try:
        mask = facts.foreground
    except CannotDo:  # no mediapipe here: saliency alone
        mask = g.salient_object(facts.image)
    if not mask.any():
        raise NotFound("SOS (offline) found no object that stands out from the background")
    return {"mask": mask, "image": checkerboard_cutout(image, mask)}

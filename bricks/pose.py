"""POSE: change a subject's posture or expression."""

from lego_demo.spec import brick

POSE = brick(
    "POSE",
    kind="edit",
    summary="Change the posture or expression of the subject",
    inputs={"image": "Image", "prompt": "Str"},
    outputs={"image": "Image"},
    constraint="The prompt describes the subject in detail (gender, clothing, accessories) and "
    "the new pose; no PREDICT step before it.",
    aliases=("FLUX-POSE",),
)

"""POSE: change a subject's posture or expression."""

from lego_demo.diffusion import model_check
from lego_demo.errors import BadInput
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
    use_for=("change a pose", "change a facial expression", "make someone smile"),
)


# -- model engine (the only one: no classical engine can change a pose) -------------------------
@POSE.engine("instruct", kind="model", version="1", check=model_check("POSE", "instruct"))
def pose_instruct(ctx, image, prompt):
    """The prompt (subject + new pose or expression) as the edit instruction."""
    from lego_demo.diffusion import run_instruct

    if not isinstance(prompt, str) or not prompt.strip():
        raise BadInput("POSE needs a prompt describing the subject and the new pose")
    return {"image": run_instruct(ctx, image, prompt.strip())}

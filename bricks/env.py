"""ENV: weather, season or time of day."""

from lego_demo.spec import brick

ENV = brick(
    "ENV",
    kind="edit",
    summary="Change the environment: weather, season or time of day",
    inputs={"image": "Image", "prompt": "Str"},
    outputs={"image": "Image"},
    constraint="No PREDICT step before it. The prompt says the change, e.g. 'change the "
    "weather to rainy'.",
    aliases=("FLUX-ENV",),
)

"""ADD-PRED: where to put a new object."""

from lego_demo.spec import Input, brick

ADD_PRED = brick(
    "ADD-PRED",
    kind="predict",
    summary="Predict the best place to add what the prompt describes; with a mask, the place "
    "lies inside it",
    inputs={"image": "Image", "prompt": "Str", "mask": Input("Mask", optional=True)},
    outputs={"mask": "Mask"},
    constraint="The prompt is a full phrase with any position words or adjectives ('add a "
    "black dog on the left'). Follow it with FILL to draw the object.",
)

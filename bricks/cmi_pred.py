"""CMI-PRED: a caption of the image, and for outpainting an expanded canvas + its mask."""

from lego_demo.spec import Input, brick

RATIOS = ("left_ratio", "right_ratio", "top_ratio", "bottom_ratio")


def _rules(given: frozenset[str]) -> list[str]:
    n = sum(r in given for r in RATIOS)
    if 0 < n < len(RATIOS):
        return ["give all four side ratios or none"]
    return []


def _produces(given: frozenset[str]) -> frozenset[str]:
    if all(r in given for r in RATIOS):
        return frozenset({"caption", "image", "mask"})
    return frozenset({"caption"})


CMI_PRED = brick(
    "CMI-PRED",
    kind="predict",
    summary="Describe the image in English (a prompt for generation); for image expansion, "
    "also give the expanded canvas and the mask of its new area",
    inputs={"image": "Image", **{r: Input("Float", optional=True) for r in RATIOS}},
    outputs={"caption": "Str", "image": "Image", "mask": "Mask"},
    constraint="The four ratios are all null (caption only) or all given. A side ratio is the "
    "new distance from the image centre to that edge relative to the old one: 1 = unchanged, "
    "2 = that side grows by half the image. For expansion, pass the output image and mask "
    "together to FILL.",
    input_aliases={"ratio": RATIOS},
    rules=_rules,
    produces=_produces,
)

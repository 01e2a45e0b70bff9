"""COLORPOP: keep the colour only inside the mask, the rest turns grey."""

import numpy as np

from lego_demo.imaging import keep_outside, rgb, same_size
from lego_demo.lazy import lazy
from lego_demo.spec import brick

cv2 = lazy("cv2")

COLORPOP = brick(
    "COLORPOP",
    kind="edit",
    summary="Colour pop: keep the colour of the mask area and turn the rest of the image black "
    "and white",
    inputs={"image": "Image", "mask": "Mask"},
    outputs={"image": "Image"},
    constraint="The mask is what keeps its colour (the subject, from RES or SOS); its pixels "
    "stay exactly as they were, everything else becomes greyscale.",
    aliases=("COLOR-POP", "COLOUR-POP"),
    use_for=("colour pop", "keep one object in colour and the rest black and white"),
    keeps_mask=True,
)


@COLORPOP.engine("opencv", kind="classical")
def colorpop(ctx, image, mask):
    same_size("image", image, "mask", mask)
    image = rgb(image)
    grey = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    # the edited area is everything outside the mask: the mask itself is kept exactly
    return {"image": keep_outside(image, grey, ~np.asarray(mask, bool))}

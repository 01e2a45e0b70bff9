"""INVERSE: subtract one mask (or image) from another; a null mask1 means "everything"."""


from lego_demo.imaging import rgb, same_size
from lego_demo.lazy import lazy
from lego_demo.spec import Input, brick, one_kind_per_step

cv2 = lazy("cv2")

_rules, _produces = one_kind_per_step(
    masks=("mask1", "mask2"), images=("image1", "image2"), need_masks=("mask2",)
)

INVERSE = brick(
    "INVERSE",
    kind="predict",
    summary="Subtract mask2 from mask1, or image2 from image1; a null mask1 means a full mask, "
    "so the result is the inverse of mask2",
    inputs={
        "mask1": Input("Mask", optional=True),
        "mask2": Input("Mask", optional=True),
        "image1": Input("Image", optional=True),
        "image2": Input("Image", optional=True),
    },
    outputs={"mask": "Mask", "image": "Image"},
    constraint="One kind of input per step: masks (images null) give only a mask, images (masks "
    "null) give only an image. mask1 may be null (full mask minus mask2); the images must both "
    "be given.",
    aliases=("MASK-INVERSE",),
    rules=_rules,
    produces=_produces,
)


@INVERSE.engine("numpy")
def inverse(ctx, mask1=None, mask2=None, image1=None, image2=None):
    if mask2 is not None:
        if mask1 is None:
            return {"mask": ~mask2}
        same_size("mask1", mask1, "mask2", mask2)
        return {"mask": mask1 & ~mask2}
    same_size("image1", image1, "image2", image2)
    return {"image": cv2.subtract(rgb(image1), rgb(image2))}

"""BLUR-REGION: blur the mask area (faces, number plates, a busy background)."""

import numpy as np

from lego_demo.errors import BadInput
from lego_demo.imaging import keep_outside, mask_window, rgb, same_size
from lego_demo.lazy import lazy
from lego_demo.spec import Input, brick

cv2 = lazy("cv2")

BLUR_REGION = brick(
    "BLUR-REGION",
    kind="edit",
    summary="Blur the mask area (e.g. to hide a face or soften the background), or the whole image "
    "when the mask is null; pixels outside the mask stay unchanged",
    inputs={"image": "Image", "mask": Input("Mask", optional=True),
            "strength": Input("Float", optional=True, range=(0, 1), neutral=0, default=0.5, strength=True)},
    outputs={"image": "Image"},
    constraint="strength is 0-1 (null = 0.5; 0 = unchanged; 1 = heaviest, about 4% of the image size as "
    "Gaussian sigma). A null mask blurs the whole image. For a blurred background, mask the subject and "
    "INVERSE it first.",
    aliases=("BLUR",),
    use_for=("blur faces", "blur a licence plate", "hide a face", "anonymise people", "blur part of the image"),
)


@BLUR_REGION.engine("opencv", kind="classical", version="2")
def blur_region(ctx, image, mask=None, strength=None):
    if mask is None:  # the whole image
        mask = np.ones(image.shape[:2], bool)
    same_size("image", image, "mask", mask)
    strength = 0.5 if strength is None else float(strength)
    if not 0 <= strength <= 1:
        raise BadInput(f"BLUR-REGION strength must be in [0, 1], got {strength}")
    image = rgb(image)
    if not mask.any() or strength == 0:  # 0: the declared neutral, no blur
        return {"image": image.copy()}
    h, w = mask.shape
    sigma = max(1.0, strength * 0.04 * max(h, w))
    rows, cols = mask_window(mask, margin=int(3 * sigma) + 1)
    y0, y1, x0, x1 = rows.start, rows.stop, cols.start, cols.stop
    crop = image[y0:y1, x0:x1]
    # blur a quarter-size copy for big sigmas: the same look, a fraction of the time
    f = 4 if sigma > 8 else 1
    size = (max(1, crop.shape[1] // f), max(1, crop.shape[0] // f))
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    inside = cv2.resize(mask[y0:y1, x0:x1].astype(np.float32), size, interpolation=cv2.INTER_AREA)
    # only the area's own pixels are averaged (normalised convolution): blurring a background
    # does not smear the subject next to it into a dark halo
    num = cv2.GaussianBlur(small * inside[..., None], (0, 0), sigma / f)
    den = cv2.GaussianBlur(inside, (0, 0), sigma / f)[..., None]
    blurred = np.where(den > 1e-3, num / np.maximum(den, 1e-3), small)
    blurred = cv2.resize(np.clip(blurred + 0.5, 0, 255).astype(np.uint8), (crop.shape[1], crop.shape[0]),
                         interpolation=cv2.INTER_LINEAR)
    out = image.copy()
    out[y0:y1, x0:x1] = blurred
    return {"image": keep_outside(image, out, mask)}

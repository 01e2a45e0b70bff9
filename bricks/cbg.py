"""CBG: a new background behind the subject.

Classical engine "simple": only backgrounds that need no generation — blurred (the old
background, blurred without bleeding the subject in), black-and-white, a solid named colour,
a gradient between named colours, or transparent. The new background is feathered 2 px into
the mask only, so the subject (outside the mask) is kept exactly. A scene ("a beach") needs a
generative model and is refused with CannotDo.
"""

from __future__ import annotations

import re

import cv2
import numpy as np

from lego_demo.colours import find_colours, unknown_words
from lego_demo.diffusion import model_check
from lego_demo.errors import BadInput, CannotDo
from lego_demo.imaging import keep_outside, rgb, same_size
from lego_demo.spec import Input, brick

CBG = brick(
    "CBG",
    kind="edit",
    summary="Change the background (the mask area) into a new scene",
    inputs={"image": "Image", "mask": "Mask", "prompt": "Str",
            "strength": Input("Float", optional=True, range=(0, 2), neutral=0, default=1, strength=True,
                              doc="how strong the new background is: for a blurred one, the blur (1 = null = the "
                                  "default, 2 = twice the blur)")},
    outputs={"image": "Image"},
    constraint="The prompt is 'change the background to XXX'. The mask is the background: "
    "segment the subject (RES for a named one, else SOS) and INVERSE it.",
    aliases=("FLUX-CBG",),
    use_for=("change the background", "replace the background", "blur the background", "remove the background"),
)

KINDS = ("blur", "black and white", "solid colour", "gradient", "transparent")
KEYWORDS = {
    "blur": ("blur", "blurred", "blurry", "bokeh", "out of focus", "defocus", "defocused", "soft"),
    "bw": ("black and white", "black & white", "grayscale", "greyscale", "monochrome", "b&w",
           "desaturated", "colorless", "colourless"),
    "transparent": ("transparent", "remove the background", "no background", "cut out", "cutout"),
    "gradient": ("gradient", "fade", "fading"),
}
OWN = {"background", "backdrop", "blur", "blurred", "blurry", "bokeh", "out", "focus", "defocus",
       "defocused", "soft", "grayscale", "greyscale", "monochrome", "desaturated", "gradient",
       "fade", "fading", "from", "transparent", "remove", "cut", "cutout", "studio", "color",
       "colour", "solid", "plain", "behind", "subject", "b", "w"}


def _has(text: str, key: str) -> bool:
    return any(re.search(rf"(?<![a-z]){re.escape(k)}(?![a-z])", text) for k in KEYWORDS[key])


def _feather(mask: np.ndarray, px: float = 2.0) -> np.ndarray:
    """Weight of the new background: 1 deep in the mask, ramping to 0 at its edge (inside)."""
    dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    return np.clip(dist / px, 0, 1)[..., None]


def masked_blur(img: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    """Blur only the mask's pixels (normalised convolution), at reduced scale for speed."""
    h, w = mask.shape
    f = min(1.0, 256.0 / max(h, w))
    small = cv2.resize(img.astype(np.float32) * mask[..., None], None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    wts = cv2.resize(mask.astype(np.float32), (small.shape[1], small.shape[0]), interpolation=cv2.INTER_AREA)
    s = max(1.0, sigma * f)
    num = cv2.GaussianBlur(small, (0, 0), s)
    den = cv2.GaussianBlur(wts, (0, 0), s)[..., None]
    out = num / np.maximum(den, 1e-4)
    return np.clip(cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR), 0, 255)


@CBG.engine("simple", kind="classical")
def cbg(ctx, image, mask, prompt, strength=None):
    same_size("image", image, "mask", mask)
    if not mask.any():
        raise BadInput("CBG: the background mask is empty")
    img = rgb(image)
    text = (prompt or "").lower().strip()
    h, w = mask.shape
    colours = find_colours(text)
    if _has(text, "transparent"):
        alpha = np.where(mask, 0, 255).astype(np.uint8)
        return {"image": np.dstack([img, alpha])}
    if _has(text, "blur"):
        scale = 1.0 if strength is None else float(strength)  # how much blur: 1 = the default, 0 = none
        new = masked_blur(img, mask, sigma=max(h, w) / 60 * scale) if scale > 0 else img.astype(np.float32)
    elif _has(text, "bw"):
        grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        new = np.repeat(grey[..., None], 3, axis=2).astype(np.float32)
    elif _has(text, "gradient") or len(colours) >= 2:
        c0 = np.array(colours[0].rgb if colours else (250, 250, 250), np.float32)
        c1 = np.array(colours[1].rgb if len(colours) > 1 else (c0 * 0.35), np.float32)
        t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
        new = np.broadcast_to(c0 * (1 - t) + c1 * t, (h, w, 3))
    elif colours:
        leftover = unknown_words(text, OWN)
        if leftover:  # "a red car park" is a scene, not a colour
            raise CannotDo(
                f"CBG (classical engine) cannot draw the background {prompt.strip()!r}: only "
                f"{', '.join(KINDS)} or a named colour; {' '.join(leftover)!r} needs a model engine "
                "(diffusers inpainting)"
            )
        new = np.broadcast_to(np.array(colours[-1].rgb, np.float32), (h, w, 3))
    else:
        raise CannotDo(
            f"CBG (classical engine) cannot draw the background {prompt.strip()!r}: a scene needs "
            f"generation, which needs a model engine (diffusers inpainting). It can do: "
            f"{', '.join(KINDS)} or a named colour."
        )
    wgt = _feather(mask)
    out = new * wgt + img.astype(np.float32) * (1 - wgt)
    return {"image": keep_outside(img, np.clip(out + 0.5, 0, 255).astype(np.uint8), mask)}


# -- model engine: diffusers inpainting of the background ----------------------------------------
@CBG.engine("diffusers-inpaint", kind="model", version="1", check=model_check("CBG", "diffusers-inpaint"))
def cbg_diffusers(ctx, image, mask, prompt, strength=None):
    """The new scene generated in the background mask; the subject (outside it) is kept exactly."""
    from lego_demo.diffusion import check_mask, run_inpaint, target_words

    check_mask(image, mask, "CBG")
    if not isinstance(prompt, str) or not prompt.strip():
        raise BadInput("CBG needs a prompt describing the new background")
    return {"image": run_inpaint(ctx, image, mask, target_words(prompt))}

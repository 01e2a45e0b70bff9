"""FILL: draw what the prompt says inside the mask.

Classical engine "draw" does only what it can draw honestly:
- quoted text ('write "SALE"') → the text, in Pillow's bundled font, fitted to the mask's box,
  in black or white (whichever contrasts with the area);
- a colour ("fill it with red"), optionally a pattern of it ("red stripes", "blue and white
  checker", "green dots") → that colour or pattern;
- a transparent cut-out `preimage` (e.g. from RES or SOS) → its opaque part, scaled to fit the
  mask's box and blended in with Poisson seamless cloning.
Anything else ("a cat", "a red bow tie") needs generation: CannotDo naming the engine that
would do it; a colour word beside an object never becomes a painted blob. Pixels outside the mask are untouched.
"""

from __future__ import annotations

import re

import cv2
import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from lego_demo.colours import find_colours, unknown_words
from lego_demo.diffusion import model_check
from lego_demo.errors import BadInput, CannotDo
from lego_demo.imaging import keep_outside, rgb, same_size
from lego_demo.spec import Input, brick

FILL = brick(
    "FILL",
    kind="edit",
    summary="Generate the prompt's content inside the mask area (not for recolouring)",
    inputs={
        "image": "Image",
        "mask": "Mask",
        "prompt": "Str",
        "preimage": Input("Image", optional=True),
    },
    outputs={"image": "Image"},
    constraint="If the mask comes from CMI-PRED, the image must be CMI-PRED's image too. "
    "preimage is optional: the original or a reference image; with a reference, the prompt "
    "describes it in detail.",
    aliases=("FLUX-FILL",),
    use_for=("draw something in an area", "fill an area with new content", "paint new content into a region"),
)

QUOTED = re.compile(r"[\"“”'‘’«»]([^\"“”'‘’«»]+)[\"“”'‘’«»]")
# words that say nothing beyond "this colour in the mask's shape" (ADD-PRED's masks are round)
DRAWABLE = {"pattern", "patterned", "fill", "filled", "with", "circle", "circles", "dot", "dots", "disc", "disk",
            "ellipse", "oval", "blob", "spot", "round", "solid", "flat"}
PATTERNS = ("stripes", "striped", "checker", "checkered", "checkerboard", "dots", "dotted", "polka")


def box(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1


def draw_text(img: np.ndarray, mask: np.ndarray, text: str, colour=None, align: str = "centre",
              height: int | None = None, top_at: int | None = None) -> np.ndarray:
    """`text` drawn as large as fits in the mask's box, centred (or left-aligned, as the line it
    replaces was); with `height` (px), as tall as that (the old words' ink) where it fits, its
    top at `top_at`. Returns the full image."""
    y0, y1, x0, x1 = box(mask)
    bw, bh = x1 - x0, y1 - y0
    area = img[y0:y1, x0:x1][mask[y0:y1, x0:x1]]
    if colour is None:
        colour = (15, 15, 15) if area.mean() > 128 else (245, 245, 245)
    limit = bh * 0.9 if height is None else min(height, bh)
    size = max(6, int(bh * 0.8 if height is None else height * 1.4))
    canvas = PILImage.fromarray(img.copy())
    draw = ImageDraw.Draw(canvas)
    for _ in range(40):
        font = ImageFont.load_default(size=size)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        if right - left <= bw * 0.92 and bottom - top <= limit:
            break
        size = max(6, int(size * 0.92))
    tx = x0 + ((bw - (right - left)) // 2 if align == "centre" else round(0.02 * bw)) - left
    ty = (y0 + (bh - (bottom - top)) // 2 if top_at is None else top_at) - top
    draw.text((tx, ty), text, fill=tuple(int(c) for c in colour), font=font)
    return np.asarray(canvas)


def pattern(h, w, kind, c0, c1, period):
    yy, xx = np.mgrid[0:h, 0:w]
    if kind.startswith("strip"):
        pick = ((xx + yy) // period) % 2 == 0
    elif kind.startswith("check"):
        pick = ((xx // period + yy // period) % 2) == 0
    else:
        pick = ((xx % period - period / 2) ** 2 + (yy % period - period / 2) ** 2) < (period * 0.3) ** 2
        pick = ~pick
    return np.where(pick[..., None], np.uint8(c0), np.uint8(c1))


def paste_cutout(img: np.ndarray, mask: np.ndarray, cut: np.ndarray) -> np.ndarray:
    alpha = cut[..., 3] > 127
    if not alpha.any():
        raise BadInput("FILL: the preimage cut-out is fully transparent")
    sy0, sy1, sx0, sx1 = box(alpha)
    src, smask = cut[sy0:sy1, sx0:sx1, :3], alpha[sy0:sy1, sx0:sx1]
    y0, y1, x0, x1 = box(mask)
    f = min((x1 - x0) / src.shape[1], (y1 - y0) / src.shape[0])
    nw, nh = max(1, int(src.shape[1] * f)), max(1, int(src.shape[0] * f))
    src = cv2.resize(np.ascontiguousarray(src), (nw, nh), interpolation=cv2.INTER_AREA)
    smask = cv2.resize(smask.astype(np.uint8) * 255, (nw, nh), interpolation=cv2.INTER_NEAREST)
    py, px = y0 + (y1 - y0 - nh) // 2, x0 + (x1 - x0 - nw) // 2
    placed = np.zeros(mask.shape, bool)
    placed[py:py + nh, px:px + nw] = smask > 0
    placed &= mask
    if not placed.any():
        raise BadInput("FILL: the cut-out does not overlap the mask")
    h, w = mask.shape
    # seamlessClone needs the source region strictly inside the destination
    layer = img.copy()
    layer[py:py + nh, px:px + nw] = src
    inner = cv2.erode(placed.astype(np.uint8), np.ones((3, 3), np.uint8))
    inner[0, :] = inner[-1, :] = inner[:, 0] = inner[:, -1] = 0
    if inner.sum() < 9:
        out = np.where(placed[..., None], layer, img)
    else:
        ys, xs = np.nonzero(inner)
        cy, cx = (ys.min() + ys.max() + 1) // 2, (xs.min() + xs.max() + 1) // 2
        out = cv2.seamlessClone(layer, img, inner * 255, (int(cx), int(cy)), cv2.NORMAL_CLONE)
        out = np.where(inner[..., None] > 0, out, np.where(placed[..., None], layer, img))
    return keep_outside(img, out, placed)


@FILL.engine("draw", kind="classical")
def fill(ctx, image, mask, prompt, preimage=None):
    same_size("image", image, "mask", mask)
    if not mask.any():
        raise BadInput("FILL: the mask is empty")
    img = rgb(image)
    text = prompt or ""
    if preimage is not None and preimage.ndim == 3 and preimage.shape[2] == 4 and (preimage[..., 3] < 128).any():
        return {"image": paste_cutout(img, mask, preimage)}
    quoted = QUOTED.search(text)
    if quoted:
        colours = find_colours(text[: quoted.start()] + text[quoted.end():])
        drawn = draw_text(img, mask, quoted.group(1).strip(), colours[-1].rgb if colours else None)
        return {"image": keep_outside(img, drawn, mask)}
    colours = find_colours(text)
    extra = unknown_words(text, set(PATTERNS) | DRAWABLE)
    if colours and not extra:  # only a colour or a pattern of colours: nothing to invent
        low = text.lower()
        kind = next((p for p in PATTERNS if p in low), None)
        h, w = mask.shape
        if kind:
            c1 = colours[1].rgb if len(colours) > 1 else (245, 245, 245)
            y0, y1, x0, x1 = box(mask)
            layer = pattern(h, w, kind, colours[0].rgb, c1, max(6, max(y1 - y0, x1 - x0) // 8))
        else:
            layer = np.broadcast_to(np.uint8(colours[-1].rgb), (h, w, 3))
        return {"image": keep_outside(img, layer, mask)}
    raise CannotDo(
        f"FILL's classical engine does not invent {text.strip()!r} (it never paints a stand-in): that needs "
        "the generative engine diffusers-inpaint (--engine FILL=diffusers-inpaint:MODEL_DIR, see "
        "docs/MODELS.md). Offline it can draw quoted text, a colour or a pattern, or paste a cut-out."
    )


# -- model engine: a diffusers inpainting pipeline (SD inpainting, or FLUX.1-Fill) ---------------
@FILL.engine("diffusers-inpaint", kind="model", version="1", check=model_check("FILL", "diffusers-inpaint"))
def fill_diffusers(ctx, image, mask, prompt, preimage=None):
    """The prompt generated inside the mask (the preimage is not used by this engine)."""
    from lego_demo.diffusion import check_mask, run_inpaint

    check_mask(image, mask, "FILL")
    if not isinstance(prompt, str) or not prompt.strip():
        raise BadInput("FILL needs a prompt saying what to generate in the mask")
    return {"image": run_inpaint(ctx, image, mask, prompt.strip())}

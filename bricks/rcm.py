"""RCM: recolour, or change the material of, the object in the mask.

Classical engine "lab": each pixel gets the named colour's hue and saturation at the
object's own luma (shading and texture kept exactly; the mean luma moved a fifth of the way
towards the new colour's, or 0.6 of it on a large smooth area such as a sky, where there is no
structure to keep); white/black/grey set L* (moved most of the way) with a/b neutral. Materials are colour + a lightness treatment: metals (gold, silver, bronze, copper,
chrome) get a contrast-stretched, mirror-like tone curve; wood gets procedural grain and
marble procedural veins (seeded noise), both multiplied into the object's own shading.
"""

from __future__ import annotations

import numpy as np

from lego_demo.colours import ACHROMATIC, NAMED, find_colours, unknown_words
from lego_demo.diffusion import model_check
from lego_demo.errors import BadInput, CannotDo
from lego_demo.imaging import keep_outside, mask_window, rgb, same_size
from lego_demo.lazy import lazy
from lego_demo.spec import Input, brick

cv2 = lazy("cv2")

RCM = brick(
    "RCM",
    kind="edit",
    summary="Replace the color or material of an object",
    inputs={"image": "Image", "mask": "Mask", "prompt": "Str",
            "strength": Input("Float", optional=True, range=(0, 1), neutral=0, default=0.2, strength=True)},
    outputs={"image": "Image"},
    constraint="The prompt names the new colour or material; only the mask area changes. strength "
    "0-1 (null = 0.2) is how far the object's lightness moves towards the new colour's: low keeps "
    "its shading structure, high makes a dark object truly light (blue -> bright yellow); white, black "
    "and grey start further (0.85) and scale in proportion.",
    aliases=("FLUX-RCM",),
    use_for=("recolour an object", "change the colour of an object", "change the material of an object",
             "make something a different colour"),
)

METALS = {
    "gold": (212, 175, 55), "golden": (212, 175, 55), "silver": (190, 192, 198),
    "chrome": (200, 202, 208), "metal": (170, 172, 178), "metallic": (170, 172, 178),
    "steel": (160, 165, 172), "bronze": (170, 110, 50), "copper": (190, 100, 60),
}
WOOD = {"wood": (150, 95, 50), "wooden": (150, 95, 50)}
MARBLE = {"marble": (232, 230, 224)}
MATERIALS = {**METALS, **WOOD, **MARBLE}
HELP = "a colour (red, dark blue, light green, …) or a material (" + ", ".join(sorted(MATERIALS)) + ")"
ACHROMATIC_PULL = 0.85  # white/black/grey are lightness itself
# chromatic colours: how far the object's mean luma moves towards the new colour's. Beyond
# ~0.2 a large jump (blue -> yellow, luma 61 -> 200) costs the object's local structure
# (luminance SSIM < 0.9); the hue is exact at any lightness
LUMA_PULL = 0.2
LUMA = np.array([0.299, 0.587, 0.114], np.float32)
SMOOTH_PULL = 0.6
SMOOTH_GRADIENT = 4.0  # median luma gradient (grey levels per px) below which an area is smooth


def stretched(img: np.ndarray, mask: np.ndarray, gain: float = 2.0) -> np.ndarray:
    """The masked area's lightness spread `gain` times around its mean (a dusk sky's gradient
    from dark to light reads as a gradient again once it is orange)."""
    f = img.astype(np.float32)
    y = f @ LUMA
    mean = float(y[mask].mean())
    scale = np.clip((mean + (y - mean) * gain) / np.maximum(y, 1.0), 0.2, 4.0)[..., None]
    return np.clip(f * scale, 0, 255).astype(np.uint8)


def smooth(img: np.ndarray, mask: np.ndarray, share: float | None = None) -> bool:
    """Whether the masked area is a smooth surface (sky, wall, backdrop) rather than an object
    with folds and texture. `share`: the area's share of the whole picture, when `img` is a
    window of it (default: of `img`)."""
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    grad = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1)) / 4.0
    share = float(mask.mean()) if share is None else share
    return float(np.median(grad[mask])) < SMOOTH_GRADIENT and share > 0.1


def soft_edge(img: np.ndarray, out: np.ndarray, mask: np.ndarray, side: int | None = None) -> np.ndarray:
    """A sky meets what lies below it (a cloud bank, a haze, hills) along an edge that is a
    guess, not an object's outline: where a smooth area hangs from the top of the frame, its new
    colour fades in over ~1% of the long side upwards from its lower edge instead of stopping in
    a hard, ragged line. Its sides (masts, a rocket, lattice gaps) stay crisp, and so does a
    smooth object (a cup, a wall's lower edge) that does not reach the top. `side`: the whole
    picture's long side, when `img` is a window of it."""
    px = max(2.0, 0.008 * (side or max(mask.shape)))
    below = np.empty(mask.shape, np.float32)  # how far each pixel's column stays in the mask downwards
    run = np.full(mask.shape[1], px, np.float32)  # the image's bottom edge is not a boundary
    for y in range(mask.shape[0] - 1, -1, -1):
        run = np.where(mask[y], run + 1, 0)
        below[y] = run
    hanging = np.cumprod(mask, axis=0).astype(bool)  # in the mask all the way up to the top row
    weight = np.where(hanging, np.clip(below / px, 0, 1), mask.astype(np.float32))[..., None]
    return np.clip(img.astype(np.float32) * (1 - weight) + out.astype(np.float32) * weight + 0.5, 0, 255).astype(np.uint8)


def smooth_noise(shape, rng: np.random.Generator, cell: int) -> np.ndarray:
    """Value noise in [-1, 1]: random grid, bicubic upsampling."""
    h, w = shape
    grid = rng.uniform(-1, 1, (h // cell + 3, w // cell + 3)).astype(np.float32)
    big = cv2.resize(grid, ((w // cell + 3) * cell, (h // cell + 3) * cell), interpolation=cv2.INTER_CUBIC)
    return big[:h, :w]


def _lab(img):
    return cv2.cvtColor(img, cv2.COLOR_RGB2LAB).astype(np.float32)


def _target_lab(colour):
    return _lab(np.uint8([[colour]]))[0, 0]


def luma_recolour(img: np.ndarray, mask: np.ndarray, colour, pull: float) -> np.ndarray:
    """The named colour's hue and saturation at each pixel's own luma (Rec. 601), the luma's
    mean moved `pull` of the way to the colour's: the object's shading and texture are kept
    exactly (only their mean shifts) and the hue is exact. Each pixel is the colour scaled
    (darker) or, where that would leave the gamut, mixed with white (lighter)."""
    f = img.astype(np.float32)
    y = f @ LUMA
    c = np.array(colour, np.float32)
    yc = max(float(c @ LUMA), 1e-3)
    t = np.clip(y + pull * (yc - float(y[mask].mean())), 0, 255)[..., None]
    scaled = t / yc * c
    a = (255 - t) / max(float(c.max()) - yc, 1e-3)
    mixed = a * c + (t - a * yc)
    out = np.where(t / yc * float(c.max()) <= 255, scaled, mixed)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def recolour(img: np.ndarray, mask: np.ndarray, colour, pull: float) -> np.ndarray:
    if not colour[0] == colour[1] == colour[2]:
        return luma_recolour(img, mask, colour, pull)
    lab = _lab(img)
    t = _target_lab(colour)
    L = lab[..., 0]
    mean = float(L[mask].mean())
    out = lab.copy()
    out[..., 0] = L + pull * (t[0] - mean)
    out[..., 1] = t[1]
    out[..., 2] = t[2]
    return cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)


def _normalised_l(lab, mask):
    L = lab[..., 0]
    lo, hi = np.percentile(L[mask], [2, 98])
    return np.clip((L - lo) / max(hi - lo, 1.0), 0, 1)


def metal(img, mask, colour):
    lab = _lab(img)
    t = _target_lab(colour)
    s = _normalised_l(lab, mask)
    # mirror-like: strong contrast with a bright band, as polished metal reflects its surroundings
    curve = 0.5 - 0.5 * np.cos(np.pi * np.clip(s * 1.3, 0, 1.3))
    spec = np.clip((s - 0.8) / 0.2, 0, 1) ** 2
    out = np.empty_like(lab)
    out[..., 0] = np.clip(t[0] * 0.45 + curve * t[0] * 0.75 + spec * 60, 0, 255)
    chroma = 1.0 - 0.6 * spec
    out[..., 1] = 128 + (t[1] - 128) * chroma
    out[..., 2] = 128 + (t[2] - 128) * chroma
    return cv2.cvtColor(out.astype(np.uint8), cv2.COLOR_LAB2RGB)


def _shading(img, mask):
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return grey / max(float(grey[mask].mean()), 1.0)


def wood(img, mask, colour, rng):
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    size = max(8, int(max(np.ptp(ys), np.ptp(xs))))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    warp = smooth_noise((h, w), rng, max(8, size // 3)) * size * 0.08
    fine = smooth_noise((h, w), rng, 3) * 0.5
    rings = np.sin((yy + warp + 0.15 * xx) * (2 * np.pi / max(6, size / 9)) + fine)
    grain = 0.82 + 0.18 * rings
    base = np.array(colour, np.float32)
    out = base[None, None, :] * (grain * np.clip(_shading(img, mask), 0.3, 1.8))[..., None]
    return np.clip(out, 0, 255).astype(np.uint8)


def marble(img, mask, colour, rng):
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    size = max(8, int(max(np.ptp(ys), np.ptp(xs))))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    turb = sum(np.abs(smooth_noise((h, w), rng, max(4, size // (3 * 2**k)))) / 2**k for k in range(3))
    v = np.abs(np.sin((xx + yy) * (2 * np.pi / max(8, size / 2.5)) + 5.0 * turb))
    vein = 1.0 - 0.55 * (1.0 - v) ** 6
    base = np.array(colour, np.float32)
    out = base[None, None, :] * (vein * np.clip(_shading(img, mask), 0.5, 1.3))[..., None]
    out[..., 2] *= 1.0 + 0.03 * (1 - vein)  # veins a little cool
    return np.clip(out, 0, 255).astype(np.uint8)


@RCM.engine("lab", kind="classical")
def rcm(ctx, image, mask, prompt, strength=None):
    same_size("image", image, "mask", mask)
    if not mask.any():
        raise BadInput("RCM: the mask is empty, so there is no object to recolour")
    if not prompt or not prompt.strip():
        raise BadInput("RCM needs a prompt naming the new colour or material")
    whole = rgb(image)
    # a colour reads a pixel's 3×3 neighbourhood at most, or the area's own statistics: computed
    # in the mask's window (2 px of context), the same pixels at a fraction of the cost (wood and
    # marble draw their grain over the window)
    window = mask_window(mask, margin=2)
    img, share, mask = whole[window], float(mask.mean()), mask[window]
    text = prompt.lower()
    ws = text.replace("-", " ").split()
    material = next((w.strip(".,!") for w in reversed(ws) if w.strip(".,!") in MATERIALS), None)
    if material in METALS:
        out = metal(img, mask, METALS[material])
    elif material in WOOD:
        out = wood(img, mask, WOOD[material], ctx.rng())
    elif material in MARBLE:
        out = marble(img, mask, MARBLE[material], ctx.rng())
    else:
        found = find_colours(text)
        if not found:
            unknown = unknown_words(text, set(MATERIALS))
            what = " ".join(unknown) if unknown else prompt.strip()
            raise CannotDo(
                f"RCM (classical engine) does not know the colour or material {what!r}; it knows {HELP}. "
                "Other materials and textures need a model engine (diffusers inpainting)."
            )
        c = found[-1]
        pull = ACHROMATIC_PULL if c.base in ACHROMATIC else LUMA_PULL
        flat = pull < SMOOTH_PULL and smooth(img, mask, share)
        if flat:  # a sky or a wall: no structure to keep, so the colour may take its own lightness
            pull = SMOOTH_PULL  # (a dark sky turns orange, not brown) …
        if strength is not None:  # relative to the default 0.2: white/black/grey scale their own pull alike
            pull = min(1.0, max(0.0, pull * float(strength) / LUMA_PULL))
        # … and its gentle gradient is stretched so it still reads in the new colour
        out = recolour(stretched(img, mask) if flat else img, mask, c.rgb, pull)
        if flat:
            out = soft_edge(img, out, mask, side=max(whole.shape[:2]))
    edited = whole.copy()
    edited[window] = keep_outside(img, out, mask)
    return {"image": edited}


__all__ = ["RCM", "NAMED"]


# -- model engine: diffusers inpainting with the new colour/material -----------------------------
@RCM.engine("diffusers-inpaint", kind="model", version="1", check=model_check("RCM", "diffusers-inpaint"))
def rcm_diffusers(ctx, image, mask, prompt, strength=None):
    """'a {colour/material} object' generated in the mask, starting from the object itself."""
    from lego_demo.diffusion import check_mask, run_inpaint, target_words

    check_mask(image, mask, "RCM")
    if not isinstance(prompt, str) or not prompt.strip():
        raise BadInput("RCM needs a prompt naming the new colour or material")
    wording = f"a {target_words(prompt)} object"
    # denoising strength < 1 keeps the object's shape; a stronger recolour denoises more
    base = float(ctx.options.get("strength", 0.9))
    strength = base if strength is None else min(1.0, base + 0.1 * float(strength))
    return {"image": run_inpaint(ctx, image, mask, wording, init=image, strength=strength)}

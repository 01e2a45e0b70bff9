"""STYLE: render the whole image, or the masked part, in a style.

Classical engine "opencv": each style is a real non-photorealistic rendering built from
OpenCV/Pillow filters (edge-preserving smoothing, colour quantisation, edge maps, halftone,
grain). "anime", "comic" and "manga" are rendered with the cartoon filter (flat colours + ink
outlines) — that is what this engine can honestly offer for them; a model engine is needed
for a real anime look. Unknown styles are refused, listing the known ones.
"""

from __future__ import annotations

import re

import cv2
import numpy as np
from PIL import Image as PILImage

from lego_demo.diffusion import model_check
from lego_demo.errors import BadInput, CannotDo
from lego_demo.imaging import keep_outside, rgb, same_size, scale_edit
from lego_demo.spec import Input, brick

STYLE = brick(
    "STYLE",
    kind="edit",
    summary="Convert the image, or the object in the mask, to a style such as 'anime style'",
    inputs={
        "image": "Image",
        "mask": Input("Mask", optional=True),
        "prompt": Input("Str", optional=True),
        "style": "Str",
        "strength": Input("Float", optional=True, range=(0, 1.5), neutral=0, default=1, strength=True,
                          doc="how strong the style is: 1 (null) as rendered, 0.5 half-way from the photo, 1.5 its "
                              "changes half again as strong"),
    },
    outputs={"image": "Image"},
    constraint="The prompt comes from CMI-PRED's caption (it may be null for engines that do "
    "not need it). mask null = whole image; a mask = only that part.",
    aliases=("FLUX-STYLE",),
    use_for=("apply an art style", "make it look like a painting", "turn the photo into a cartoon",
             "make it black and white", "make it look vintage"),
)

ALIASES = {
    "watercolour": ("watercolour", "watercolor", "aquarelle"),
    "oil painting": ("oil painting", "oil paint", "oil", "impasto"),
    "pencil sketch": ("pencil sketch", "pencil drawing", "pencil", "sketch", "drawing", "charcoal"),
    "cartoon": ("cartoon", "anime", "comic", "manga", "cel shaded", "cel shading", "toon"),
    "pixel art": ("pixel art", "pixel", "pixelated", "8 bit", "8-bit", "16 bit", "retro game"),
    "black and white": ("black and white", "black & white", "b&w", "grayscale", "greyscale",
                        "monochrome"),
    "film noir": ("film noir", "noir"),
    "sepia": ("sepia",),
    "pop art": ("pop art", "warhol", "pop"),
    "posterize": ("posterize", "posterise", "poster", "posterized", "posterised"),
    "vintage": ("vintage", "retro", "old photo", "faded", "70s", "1970s"),
}
KNOWN = tuple(ALIASES)
WORK_SIDE = 640  # heavy filters run at this long side and are upsampled


def parse_style(text: str) -> str:
    t = (text or "").lower().replace("-", " ")
    best = None
    for name, keys in ALIASES.items():
        for k in keys:
            m = re.search(rf"(?<![a-z]){re.escape(k)}(?![a-z])", t)
            if m and (best is None or len(k) > best[1]):
                best = (name, len(k))
    if best is None:
        raise CannotDo(
            f"STYLE (classical engine) does not know the style {text.strip()!r}; it knows: "
            f"{', '.join(KNOWN)} (anime/comic/manga are rendered as cartoon). Other styles need a "
            "model engine (instruction-edit diffusion)."
        )
    return best[0]


def _work(img, side=WORK_SIDE):
    h, w = img.shape[:2]
    f = min(1.0, side / max(h, w))
    small = cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else img
    return small, (w, h)


def _up(small, size):
    return cv2.resize(small, size, interpolation=cv2.INTER_LINEAR) if small.shape[1::-1] != size else small


def _edges(grey, block=9, c=5):
    g = cv2.medianBlur(grey, 5)
    return cv2.adaptiveThreshold(g, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, c)


def _quantise(img, levels):
    step = 256 // levels
    return (img // step * step + step // 2).astype(np.uint8)


def watercolour(img, rng):
    """Flat washes (recursive edge-preserving filter; cv2.stylization's sigma_r 0.45 merged
    regions up to ~40 grey levels apart, so stripes and tiles vanished), pigment pooled
    darker at each wash's rim, uneven pigment density, paper grain, and the paper showing
    through."""
    small, size = _work(img, 512)
    h, w = small.shape[:2]
    flat = cv2.edgePreservingFilter(small, flags=cv2.RECURS_FILTER, sigma_s=40, sigma_r=0.3)
    f = flat.astype(np.float32) / 255
    grey = cv2.cvtColor(flat, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    grad = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    rim = np.clip(cv2.GaussianBlur(grad, (0, 0), 1.0) * 2, 0, 1)
    f = f * (1 - 0.25 * rim[..., None])
    cell = max(8, max(h, w) // 8)
    density = cv2.resize(rng.normal(0, 1, (h // cell + 2, w // cell + 2)).astype(np.float32), (w, h),
                         interpolation=cv2.INTER_CUBIC)
    paper = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 1.2)
    f = f * (1 + 0.05 * density[..., None]) * (1 + 0.06 * paper[..., None])
    f = 0.85 * f + 0.15  # washed: the paper shows through
    return _up(np.clip(f * 255, 0, 255).astype(np.uint8), size)


STROKE_ORIENTATIONS = 8


def _stroke_kernels(length: int) -> list[np.ndarray]:
    """Line kernels (motion blur) at STROKE_ORIENTATIONS angles over 180°."""
    ks = []
    c = (length - 1) / 2
    for i in range(STROKE_ORIENTATIONS):
        a = np.pi * i / STROKE_ORIENTATIONS
        k = np.zeros((length, length), np.float32)
        dx, dy = np.cos(a) * c, np.sin(a) * c
        cv2.line(k, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1, cv2.LINE_AA)
        ks.append(k / k.sum())
    return ks


def _brush_strokes(small: np.ndarray, rng) -> np.ndarray:
    """A paint-height field of brush strokes (unit std): noise smeared along the local edge
    direction (structure tensor), and in flat areas along a slowly varying random direction,
    so strokes follow contours as a painter's do."""
    h, w = small.shape[:2]
    side = max(h, w)
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gx, gy = cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1)
    s = max(2.0, side / 128)
    jxx, jyy, jxy = (cv2.GaussianBlur(v, (0, 0), s) for v in (gx * gx, gy * gy, gx * gy))
    along = 0.5 * np.arctan2(2 * jxy, jxx - jyy) + np.pi / 2  # edge tangent
    strength = np.sqrt((jxx - jyy) ** 2 + 4 * jxy**2)
    cell = max(8, side // 6)
    free = cv2.resize(rng.uniform(0, np.pi, (h // cell + 2, w // cell + 2)).astype(np.float32), (w, h),
                      interpolation=cv2.INTER_CUBIC)
    wgt = np.clip(strength / (np.percentile(strength, 75) + 1e-3), 0, 1)
    ca = wgt * np.cos(2 * along) + (1 - wgt) * np.cos(2 * free)
    sa = wgt * np.sin(2 * along) + (1 - wgt) * np.sin(2 * free)
    angle = (0.5 * np.arctan2(sa, ca)) % np.pi
    bins = np.round(angle / (np.pi / STROKE_ORIENTATIONS)).astype(int) % STROKE_ORIENTATIONS
    noise = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), max(0.7, side / 600))
    height = np.zeros((h, w), np.float32)
    for i, k in enumerate(_stroke_kernels(max(7, side // 40) | 1)):
        height = np.where(bins == i, cv2.filter2D(noise, -1, k), height)
    return height / max(float(height.std()), 1e-6)


def oil(img, rng):
    """Colour abstraction (xphoto.oilPainting), richer colours, and brush strokes rendered as
    impasto: the paint's relief lit from the top left plus its thickness variation. Without
    the strokes, flat areas (graphics, skies) came out unchanged."""
    small, size = _work(img, 512)
    side = max(small.shape[:2])
    base = cv2.xphoto.oilPainting(small, max(2, side // 170), 1, cv2.COLOR_RGB2Lab).astype(np.float32)
    height = _brush_strokes(small, rng)
    relief = cv2.Sobel(height, cv2.CV_32F, 1, 0) + cv2.Sobel(height, cv2.CV_32F, 0, 1)
    relief /= max(float(relief.std()), 1e-6)
    shade = 1.0 + 0.10 * np.clip(relief, -2.5, 2.5) + 0.05 * np.clip(height, -2.5, 2.5)
    grey = base.mean(axis=2, keepdims=True)
    rich = grey + (base - grey) * 1.2
    out = np.clip(rich * shade[..., None], 0, 255).astype(np.uint8)
    return _up(out, size)


def pencil(img, rng):
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    blur = cv2.GaussianBlur(255 - grey, (0, 0), max(2.0, max(img.shape[:2]) / 250))
    sketch = cv2.divide(grey, 255 - blur, scale=256)  # colour dodge: strokes at edges only
    sketch = cv2.multiply(sketch, np.full_like(sketch, 255), scale=1 / 255)
    hatch = rng.normal(0, 6, grey.shape).astype(np.float32)
    hatch = cv2.blur(hatch, (1, 9))  # faint vertical pencil texture
    out = np.clip(sketch.astype(np.float32) + hatch, 0, 255).astype(np.uint8)
    return np.repeat(out[..., None], 3, axis=2)


def cartoon(img, rng):
    small, size = _work(img)
    flat = small
    for _ in range(2):
        flat = cv2.bilateralFilter(flat, 9, 60, 7)
    flat = _quantise(flat, 6)
    flat = cv2.medianBlur(flat, 5)
    edges = _edges(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), 9, 6)
    out = np.where(edges[..., None] > 0, flat, 20).astype(np.uint8)
    return _up(out, size)


def pixel_art(img, rng):
    h, w = img.shape[:2]
    cells = 64
    f = cells / max(h, w)
    small = cv2.resize(img, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    pal = PILImage.fromarray(small).quantize(colors=16, method=PILImage.Quantize.MEDIANCUT)
    small = np.asarray(pal.convert("RGB"))
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


def black_white(img, rng):
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    grey = cv2.createCLAHE(2.0, (8, 8)).apply(grey)
    return np.repeat(grey[..., None], 3, axis=2)


def _vignette(h, w, strength):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.hypot((xx - w / 2) / (w / 2), (yy - h / 2) / (h / 2)) / np.sqrt(2)
    return (1 - strength * d**2)[..., None]


def noir(img, rng):
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    s = 1 / (1 + np.exp(-(grey - 0.5) * 10))  # hard S-curve: deep shadows, bright highlights
    s = (s - s.min()) / max(float(s.max() - s.min()), 1e-6)
    h, w = grey.shape
    out = s[..., None] * _vignette(h, w, 0.7) * 255 + rng.normal(0, 8, (h, w, 1))
    return np.clip(np.repeat(out, 3, axis=2), 0, 255).astype(np.uint8)


def sepia(img, rng):
    k = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]], np.float32)
    return np.clip(img.astype(np.float32) @ k.T, 0, 255).astype(np.uint8)


def pop_art(img, rng):
    """4 luminance bands -> vivid palette (its luma rises band by band, so the tonal structure
    survives), halftone dots, ink outlines on real edges (Canny). The tones are stretched
    only where the image's range is narrow: equalising a two-tone image threw its two tones
    to the extreme bands."""
    small, size = _work(img)
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    lo, hi = np.percentile(grey, [2, 98])
    lo, hi = min(float(lo), 40.0), max(float(hi), 215.0)
    levels = np.clip((grey.astype(np.float32) - lo) * 255 / (hi - lo), 0, 255)
    # navy, magenta, cyan, yellow: luma 31, 100, 138, 208
    palette = np.array([[25, 20, 90], [230, 30, 120], [0, 185, 235], [255, 225, 0]], np.uint8)
    band = np.minimum(levels.astype(int) * 4 // 256, 3)
    out = palette[band]
    h, w = grey.shape
    yy, xx = np.mgrid[0:h, 0:w]
    cell = max(4, max(h, w) // 120)
    dots = (((yy % cell) - cell / 2) ** 2 + ((xx % cell) - cell / 2) ** 2) < (cell * 0.3) ** 2
    out = np.where((dots & (band == 2))[..., None], np.uint8([230, 30, 120]), out)  # halftone
    edges = cv2.Canny(cv2.GaussianBlur(grey, (0, 0), 1.5), 40, 100)
    edges = cv2.dilate(edges, np.ones((2, 2), np.uint8))
    out = np.where(edges[..., None] > 0, 0, out).astype(np.uint8)
    return _up(out, size)


def posterize(img, rng):
    out = _quantise(cv2.bilateralFilter(img, 7, 40, 5), 4)
    return out


def vintage(img, rng):
    f = img.astype(np.float32) / 255
    grey = f.mean(axis=2, keepdims=True)
    f = grey + (f - grey) * 0.55  # faded colours
    f = f * np.float32([1.08, 1.0, 0.82]) + np.float32([0.06, 0.04, 0.0])  # warm, lifted blacks
    f = np.float32(0.12) + np.float32(0.8) * f  # low contrast, milky shadows
    h, w = img.shape[:2]
    f = f * _vignette(h, w, 0.45) + rng.normal(0, 0.025, (h, w, 1)).astype(np.float32)
    out = np.clip(f * 255, 0, 255).astype(np.uint8)
    return cv2.GaussianBlur(out, (3, 3), 0.8)


RENDER = {
    "watercolour": watercolour, "oil painting": oil, "pencil sketch": pencil, "cartoon": cartoon,
    "pixel art": pixel_art, "black and white": black_white, "film noir": noir, "sepia": sepia,
    "pop art": pop_art, "posterize": posterize, "vintage": vintage,
}


@STYLE.engine("opencv", kind="classical")
def style(ctx, image, style, mask=None, prompt=None, strength=None):
    if mask is not None:
        same_size("image", image, "mask", mask)
        if not mask.any():
            raise BadInput("STYLE: the mask is empty; give null for the whole image")
    name = parse_style(style or prompt or "")
    img = rgb(image)
    out = scale_edit(img, RENDER[name](img, ctx.rng()), strength)
    return {"image": keep_outside(img, out, mask)}


# -- model engine: an instruction-editing pipeline (InstructPix2Pix, or FLUX.1-Kontext) ----------
@STYLE.engine("instruct", kind="model", version="1", check=model_check("STYLE", "instruct"))
def style_instruct(ctx, image, style, mask=None, prompt=None, strength=None):
    """'turn it into {style}' (with the caption when given); with a mask, only inside it."""
    from lego_demo.diffusion import run_instruct, target_words

    if mask is not None:
        same_size("image", image, "mask", mask)
        if not mask.any():
            raise BadInput("STYLE: the mask is empty; give null for the whole image")
    name = target_words(style or "")
    if not name:
        raise BadInput("STYLE needs a style, e.g. 'watercolour' or 'anime style'")
    if "style" not in name.lower() and "painting" not in name.lower():
        name = f"{name} style"
    instruction = f"turn {prompt.strip().rstrip('.') if prompt and prompt.strip() else 'it'} into {name}"
    return {"image": run_instruct(ctx, image, instruction, mask)}

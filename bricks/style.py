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
from lego_demo.grounding import Facts
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


def _ink(grey: np.ndarray, sigma: float, strength: float = 0.985, threshold: float = -0.01) -> np.ndarray:
    """Ink lines from a difference of Gaussians (lines where a pixel is darker than its wider
    surroundings): bold, continuous contours rather than speckled edge-detector noise."""
    g = grey.astype(np.float32) / 255
    dog = cv2.GaussianBlur(g, (0, 0), sigma) - strength * cv2.GaussianBlur(g, (0, 0), sigma * 1.6)
    lines = (dog < threshold).astype(np.uint8)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
    keep = np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] >= max(12, grey.size // 8000)) + 1  # no speckle
    return np.isin(lab, keep)


def _palette(img: np.ndarray, colours: int, rng) -> np.ndarray:
    """The image in `colours` flat colours chosen in Lab (k-means), each region one colour."""
    weight = np.float32([1.0, 2.0, 2.0])  # hue differences count double: skin is not the grey wall
    lab = cv2.cvtColor(img, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32) * weight
    sample = lab[rng.choice(len(lab), min(len(lab), 12000), replace=False)]
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 15, 1.0)
    cv2.setRNGSeed(int(rng.integers(1 << 30)))
    _, _, centres = cv2.kmeans(sample, colours, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
    d = ((lab[:, None, :] - centres[None]) ** 2).sum(axis=2)
    labels = d.argmin(axis=1).reshape(img.shape[:2]).astype(np.uint8)
    labels = cv2.medianBlur(labels, 5)
    return cv2.cvtColor(np.clip(centres / weight, 0, 255).astype(np.uint8)[labels], cv2.COLOR_LAB2RGB)


def watercolour(img, rng):
    """Washes, not a blur: the picture abstracted into soft flat areas, lightened so the paper
    shows through, painted with a slight wobble; pigment pooled darker at each wash's edge,
    granulated (more in the dark washes), on textured paper."""
    small, size = _work(img, 640)
    h, w = small.shape[:2]
    side = max(h, w)
    soft = cv2.edgePreservingFilter(small, flags=cv2.RECURS_FILTER, sigma_s=60, sigma_r=0.4)
    washes = _palette(soft, 12, rng)  # each wash one pigment, with a hard dried edge
    flat = cv2.addWeighted(washes, 0.45, soft, 0.55, 0)  # … and some of the gradation under it
    cell = max(6, side // 24)  # the brush's wobble: edges of washes are not ruled lines
    dx, dy = (cv2.resize(rng.normal(0, side / 320, (h // cell + 2, w // cell + 2)).astype(np.float32), (w, h),
                         interpolation=cv2.INTER_CUBIC) for _ in range(2))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    flat = cv2.remap(flat, xx + dx, yy + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    washes = cv2.remap(washes, xx + dx, yy + dy, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT)
    f = flat.astype(np.float32) / 255
    grey = f.mean(axis=2)
    sat = grey[..., None] + (f - grey[..., None]) * 1.15
    f = 1 - (1 - np.clip(sat, 0, 1)) * 0.82  # transparent washes on white paper
    g = cv2.cvtColor(flat, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    grad = np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))
    edge = (grad > max(0.25, float(np.percentile(grad, 90)))).astype(np.float32)  # real edges only
    rim = np.clip(cv2.GaussianBlur(edge, (0, 0), max(1.0, side / 400)) * 2.5, 0, 1)
    f = f * (1 - 0.3 * rim[..., None])  # pigment pools where a wash dries
    density = cv2.resize(rng.normal(0, 1, (h // (4 * cell) + 2, w // (4 * cell) + 2)).astype(np.float32), (w, h),
                         interpolation=cv2.INTER_CUBIC)
    f = 1 - (1 - f) * (1 + 0.12 * density[..., None])  # uneven pigment within a wash
    grain = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), max(0.8, side / 700))
    pigment = 1 - f.mean(axis=2, keepdims=True)  # granulation shows in the pigment, not on white
    f = f * (1 - 0.3 * pigment * np.clip(grain, -2, 2)[..., None] / 2)
    fibre = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 0.7)
    paper = cv2.Sobel(fibre, cv2.CV_32F, 1, 1) * 0.05
    f = f * (1 + paper[..., None]) * np.float32([1.0, 0.99, 0.96])  # warm cold-press paper
    sketch = _ink(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), max(1.0, side / 640), threshold=-0.012)
    sketch = cv2.GaussianBlur(sketch.astype(np.float32), (0, 0), 0.8)[..., None]
    f = f * (1 - 0.35 * sketch * np.float32([0.9, 1.0, 1.1]))  # a faint underdrawing keeps eyes and edges
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
    """Cel shading: edge-preserving smoothing, the colours reduced to a few flat ones chosen
    in Lab (k-means, so skin, sky and clothes each keep a colour of their own), a little more
    colour, and bold ink contours from a difference of Gaussians."""
    small, size = _work(img)
    flat = cv2.edgePreservingFilter(small, flags=cv2.RECURS_FILTER, sigma_s=50, sigma_r=0.35)
    for _ in range(2):
        flat = cv2.bilateralFilter(flat, 7, 40, 7)
    cels = _palette(flat, 14, rng).astype(np.float32)
    grey = cels.mean(axis=2, keepdims=True)
    cels = np.clip(grey + (cels - grey) * 1.25, 0, 255)
    lines = _ink(cv2.cvtColor(flat, cv2.COLOR_RGB2GRAY), max(1.0, max(small.shape[:2]) / 420), threshold=-0.006)
    lines = cv2.dilate(lines.astype(np.uint8), np.ones((2, 2), np.uint8)).astype(bool)
    out = np.where(lines[..., None], np.float32([25, 22, 30]), cels)
    return _up(out.astype(np.uint8), size)


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


def pop_art(img, rng, subject=None):
    """Warhol-like: the subject in three flat, vivid tones by its own light and shade (halftone
    dots in the middle tone), bold ink contours, on a flat background of a contrasting colour.
    Without a subject mask the whole picture is toned."""
    small, size = _work(img)
    h, w = small.shape[:2]
    grey = cv2.cvtColor(cv2.bilateralFilter(small, 7, 50, 7), cv2.COLOR_RGB2GRAY).astype(np.float32)
    sub = None if subject is None else cv2.resize(subject.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
    where = sub if sub is not None and sub.mean() > 0.03 else np.ones((h, w), bool)
    lo, hi = np.percentile(grey[where], [5, 95])
    levels = np.clip((grey - lo) / max(hi - lo, 1.0), 0, 1)
    band = np.minimum((levels * 3).astype(int), 2)
    palette = np.array([[40, 20, 110], [240, 60, 140], [255, 215, 60]], np.uint8)  # shade, middle, light
    out = palette[band]
    cell = max(4, max(h, w) // 110)
    yy, xx = np.mgrid[0:h, 0:w]
    radius = cell * (0.25 + 0.25 * (1 - levels))  # bigger dots in darker parts of the middle tone
    dots = ((yy % cell) - cell / 2) ** 2 + ((xx % cell) - cell / 2) ** 2 < radius**2
    out = np.where((dots & (band == 1))[..., None], palette[0], out)
    if sub is not None and sub.mean() > 0.03:
        out = np.where(sub[..., None], out, np.uint8([0, 190, 230]))  # flat cyan background
    lines = _ink(grey.astype(np.uint8), max(1.0, max(h, w) / 450), threshold=-0.015)
    if sub is not None and sub.mean() > 0.03:
        rim = sub ^ cv2.erode(sub.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        lines = (lines & sub) | rim
    out = np.where(lines[..., None], np.uint8([15, 10, 20]), out).astype(np.uint8)
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
    if name == "pop art" and mask is None:  # a Warhol print tones its subject, not the backdrop
        styled = pop_art(img, ctx.rng(), subject=Facts(img).subject)
    else:
        styled = RENDER[name](img, ctx.rng())
    out = scale_edit(img, styled, strength)
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

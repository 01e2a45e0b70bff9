"""ENV: weather, season or time of day.

Classical engine "grade": a colour grade (exposure, white balance, saturation, contrast) plus,
where the change has them, parts drawn from the scene, seeded with ctx.rng() so a run is
reproducible: a sunset or night sky (lego_demo/scene.py's sky mask, given a vertical gradient
that keeps its clouds), lamps and lit windows that stay lit at night, snow lying on what faces
up in winter (level edges' tops and flat ground, not the sky or people), rain streaks,
snow flakes, fog thickening towards the top. Autumn turns greens into oranges and reds. It
relights nothing and adds no objects (no sun, no puddles).
"""

from __future__ import annotations

import re

import cv2
import numpy as np
from scipy import ndimage

from lego_demo import scene
from lego_demo.diffusion import model_check
from lego_demo.errors import BadInput, CannotDo
from lego_demo.grounding import Facts
from lego_demo.imaging import rgb, scale_edit
from lego_demo.spec import Input, brick
from lego_demo.subject import people_and_what_they_hold

ENV = brick(
    "ENV",
    kind="edit",
    summary="Change the environment: weather, season or time of day",
    inputs={"image": "Image", "prompt": "Str",
            "strength": Input("Float", optional=True, range=(0, 2), neutral=0, default=1, strength=True,
                          doc="how strong the effect is: 1 (null) as rendered, 0.5 half-way from the photo, 2 exaggerated")},
    outputs={"image": "Image"},
    constraint="No PREDICT step before it. The prompt says the change, e.g. 'change the "
    "weather to rainy'.",
    aliases=("FLUX-ENV",),
    use_for=("change the weather", "make it rain", "make it snow", "make it night", "change the season",
             "change the time of day"),
)

ALIASES = {
    "night": ("night", "nighttime", "night time", "midnight", "dark"),
    "sunset": ("sunset", "golden hour", "sunrise", "dawn", "evening sun"),
    "dusk": ("dusk", "twilight", "blue hour", "evening"),
    "foggy": ("fog", "foggy", "mist", "misty", "haze", "hazy"),
    "rainy": ("rain", "rainy", "raining", "storm", "stormy", "drizzle"),
    "snowy": ("snow", "snowy", "snowing", "snowfall", "blizzard"),
    "autumn": ("autumn", "fall", "autumnal"),
    "winter": ("winter", "wintry", "cold", "frost", "frosty", "icy"),
}
KNOWN = tuple(ALIASES)


def parse_env(text: str) -> str:
    t = (text or "").lower()
    hits = []
    for name, keys in ALIASES.items():
        for k in keys:
            m = re.search(rf"(?<![a-z]){re.escape(k)}(?![a-z])", t)
            if m:
                hits.append((m.start(), -len(k), name))
    if not hits:
        raise CannotDo(
            f"ENV (classical engine) does not know the environment {text.strip()!r}; it knows: "
            f"{', '.join(KNOWN)}. Others need a model engine (instruction-edit diffusion)."
        )
    return max(hits)[2]  # the last one named ("from winter to autumn" -> autumn)


def _sat(f, s):
    grey = f @ np.array([0.299, 0.587, 0.114], np.float32)
    return grey[..., None] + (f - grey[..., None]) * s


def _vertical(h, w, top, bottom):
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    return np.broadcast_to(np.float32(top) * (1 - t) + np.float32(bottom) * t, (h, w, 3))


def _sky_of(ctx_image) -> np.ndarray | None:
    """The sky as a soft 0..1 map (lego_demo/scene.py), or None if there is none."""
    try:
        m = scene.sky(Facts(ctx_image))
    except CannotDo:
        return None
    h, w = m.shape
    return cv2.GaussianBlur(m.astype(np.float32), (0, 0), max(0.7, max(h, w) / 1200))[..., None]  # thin masts stay sharp


def _sky_gradient(f, sky, top, horizon):
    """A new sky: a vertical gradient from `top` to `horizon` across the sky's own height,
    keeping the old sky's light and dark (clouds) as texture."""
    h, w = f.shape[:2]
    rows = np.flatnonzero(sky[..., 0].max(axis=1) > 0.5)
    y0, y1 = (rows.min(), rows.max() + 1) if len(rows) else (0, h)
    t = np.clip((np.arange(h, dtype=np.float32) - y0) / max(1, y1 - y0), 0, 1)[:, None, None] ** 0.8
    colour = np.float32(top) * (1 - t) + np.float32(horizon) * t
    light = f.mean(axis=2, keepdims=True)
    inside = light[sky[..., 0] > 0.5]
    lo, hi = (np.percentile(inside, 2), np.percentile(inside, 98)) if inside.size else (0.0, 1.0)
    texture = np.clip((light - lo) / max(hi - lo, 1e-3), 0, 1)
    return colour * (0.8 + 0.35 * texture)


def _lights(f):
    """Lamps and lit windows: small areas much brighter than their surroundings."""
    grey = cv2.cvtColor(np.clip(f * 255, 0, 255).astype(np.uint8), cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    k = max(3, (min(f.shape[:2]) // 30) | 1)
    tophat = grey - cv2.morphologyEx(grey, cv2.MORPH_OPEN, np.ones((k, k), np.uint8))
    lit = np.clip((tophat - 0.12) / 0.2, 0, 1) * np.clip((grey - 0.55) / 0.25, 0, 1)
    return cv2.GaussianBlur(lit, (0, 0), 1.5)[..., None]


def night(f, rng, image):
    """Darker and moonlit blue; lamps and lit windows keep their light and glow."""
    lit = _lights(f)
    dark = cv2.pow(np.clip(_sat(f, 0.45), 0, 1).astype(np.float32), 1.35) * 0.38
    dark = dark * np.array([0.72, 0.88, 1.35], np.float32)
    sky = _sky_of(image)
    if sky is not None:
        dark = dark * (1 - sky) + sky * _sky_gradient(f, sky, (0.01, 0.02, 0.07), (0.05, 0.08, 0.2))
    glow = cv2.GaussianBlur(lit, (0, 0), max(3.0, max(f.shape[:2]) / 150))[..., None] * np.float32([0.5, 0.36, 0.12])
    out = dark * (1 - lit) + f * 1.05 * lit + glow
    return out + rng.normal(0, 0.01, f.shape[:2] + (1,)).astype(np.float32)


def sunset(f, rng, image):
    """Warm, low light; the sky (if there is one) becomes an orange-to-gold gradient."""
    warm = _sat(f, 1.15) * np.array([1.12, 0.95, 0.72], np.float32) * 0.92
    warm = 0.5 + (warm - 0.5) * 1.08
    sky = _sky_of(image)
    if sky is None:
        return warm
    return warm * (1 - sky) + sky * _sky_gradient(f, sky, (0.42, 0.2, 0.32), (1.0, 0.62, 0.24))


def dusk(f, rng, image=None):
    h, w = f.shape[:2]
    f = _sat(f, 0.7) * 0.65 * np.array([0.95, 0.88, 1.15], np.float32)
    return f + _vertical(h, w, (0.2, 0.12, 0.3), (0.02, 0.02, 0.06))


def foggy(f, rng, image=None):
    h, w = f.shape[:2]
    blur = cv2.GaussianBlur(f, (0, 0), max(2.0, max(h, w) / 300))
    depth = np.linspace(0.85, 0.45, h, dtype=np.float32)[:, None, None]
    small = cv2.resize(rng.uniform(0, 1, (6, 8)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    veil = np.clip(depth + 0.1 * (small[..., None] - 0.5), 0, 1)
    return blur * (1 - veil) + np.float32(0.82) * veil


def _streaks(h, w, rng, count, length, angle, width):
    layer = np.zeros((h, w), np.float32)
    x = rng.uniform(0, w, count)
    y = rng.uniform(0, h, count)
    dx, dy = np.sin(np.radians(angle)) * length, np.cos(np.radians(angle)) * length
    for xi, yi, a in zip(x, y, rng.uniform(0.3, 1.0, count)):
        cv2.line(layer, (int(xi), int(yi)), (int(xi + dx), int(yi + dy)), float(a), width, cv2.LINE_AA)
    return cv2.GaussianBlur(layer, (0, 0), 0.8)


def rainy(f, rng, image=None):
    h, w = f.shape[:2]
    f = _sat(f, 0.6) * 0.72 * np.array([0.92, 0.97, 1.05], np.float32)
    scale = max(h, w) / 1000
    rain = _streaks(h, w, rng, int(1800 * (h * w) / 1e6) + 50, 28 * scale + 6, 12, 1)
    return f * (1 - 0.35 * rain[..., None]) + 0.35 * rain[..., None] * np.float32(0.85)


def snowy(f, rng, image=None):
    h, w = f.shape[:2]
    f = _sat(f, 0.55)
    f = 0.25 + 0.8 * f * np.array([0.95, 0.98, 1.05], np.float32)
    snow = np.zeros((h, w), np.float32)
    scale = max(h, w) / 1000
    for r, n in ((1, 1500), (2, 500), (4, 120)):
        r_px = max(1, round(r * scale))
        for x, y in zip(rng.integers(0, w, int(n * h * w / 1e6) + 10), rng.integers(0, h, int(n * h * w / 1e6) + 10)):
            cv2.circle(snow, (int(x), int(y)), r_px, 1.0, -1, cv2.LINE_AA)
    snow = cv2.GaussianBlur(snow, (0, 0), 0.7 * max(1.0, scale))[..., None]
    return f * (1 - snow) + snow


def autumn(f, rng, image=None):
    hsv = cv2.cvtColor((np.clip(f, 0, 1) * 255).astype(np.uint8), cv2.COLOR_RGB2HSV).astype(np.float32)
    hue, sat = hsv[..., 0], hsv[..., 1]  # OpenCV hue 0..180
    green = np.clip(1 - np.abs(hue - 50) / 30, 0, 1) * np.clip(sat / 60, 0, 1)
    target = 12 + 10 * cv2.resize(rng.uniform(0, 1, (8, 8)).astype(np.float32), (f.shape[1], f.shape[0]))
    hsv[..., 0] = hue * (1 - green) + target * green
    hsv[..., 1] = np.clip(sat * (1 + 0.35 * green), 0, 255)
    out = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32) / 255
    return out * np.array([1.06, 1.0, 0.9], np.float32)


def upward(image) -> np.ndarray:
    """Where snow would settle (0..1): the tops of things (a band below edges that run roughly
    level, with darker or farther things above) and flat ground low in the frame; never the
    sky or the main subject (a person's or a cat's head is not a ledge)."""
    img = rgb(image)
    h, w = img.shape[:2]
    facts = Facts(img)
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gx, gy = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    level = (np.abs(gy) > 2.0 * np.abs(gx)) & (np.abs(gy) > 40)
    run = max(3, w // 80)  # a ledge, a roof, a bar: level for a while, not a lattice's crossing
    level = cv2.morphologyEx(level.astype(np.uint8), cv2.MORPH_OPEN, np.ones((1, run), np.uint8)).astype(bool)
    band = max(2, round(min(h, w) / 250))  # snow on a bar or a ledge is a thin layer
    tops = cv2.dilate(level.astype(np.uint8), np.ones((band, 1), np.uint8), anchor=(0, 0)).astype(np.float32)
    sky = _sky_of(img)
    if sky is None:  # a close-up or an indoor scene: nothing faces an open sky
        return np.zeros((h, w), np.float32)
    snow = tops * 0.6
    if sky is not None:  # outdoors: flat ground below the horizon takes snow too
        # the horizon: per column the lowest sky row, raised to its neighbours' over a tenth of the
        # width, so a mast or a tower standing in the sky is not taken for ground
        open_sky = sky[..., 0] > 0.5
        has = np.flatnonzero(open_sky.any(axis=0))
        lowest = (h - 1 - np.argmax(open_sky[::-1], axis=0)).astype(np.float32)
        lowest = np.interp(np.arange(w), has, lowest[has]) if len(has) else np.zeros(w, np.float32)
        lowest = ndimage.maximum_filter1d(lowest, size=max(3, w // 10))
        rows = np.arange(h, dtype=np.float32)[:, None]
        near = np.clip((rows - 0.5 * h) / (0.3 * h), 0, 1)  # near ground, not a distant treeline
        ground = (rows > lowest[None, :]) * near
        texture = cv2.blur(np.hypot(gx, gy), (9, 9))
        snow = np.maximum(snow, ground * np.clip(1.3 - texture / 150, 0, 0.9))
        snow *= 1 - sky[..., 0]
    try:  # no snow on people: a head is not a ledge
        people = people_and_what_they_hold(facts).astype(np.float32)
        snow *= 1 - cv2.GaussianBlur(people, (0, 0), 3)
    except CannotDo:
        pass
    return cv2.GaussianBlur(snow, (0, 0), 1.2)


def winter(f, rng, image):
    """Cool, pale and desaturated, with snow lying on what faces up."""
    out = _sat(f, 0.45) * np.array([0.9, 0.97, 1.1], np.float32)
    out = 0.12 + 0.88 * cv2.pow(np.clip(out, 0, 1).astype(np.float32), 0.85)
    h, w = f.shape[:2]
    grain = cv2.resize(rng.uniform(0, 1, (max(2, h // 6), max(2, w // 6))).astype(np.float32), (w, h),
                       interpolation=cv2.INTER_CUBIC)
    cover = np.clip(upward(image) * (0.75 + 0.5 * grain), 0, 1)[..., None]
    light = float(np.clip(0.35 + 1.2 * f.mean(), 0.45, 1.0))  # snow at dusk is as dim as the scene's light
    snow = np.float32([0.93, 0.95, 1.0]) * light * (0.92 + 0.08 * grain[..., None])
    return out * (1 - cover) + snow * cover


GRADE = {"night": night, "sunset": sunset, "dusk": dusk, "foggy": foggy, "rainy": rainy,
         "snowy": snowy, "autumn": autumn, "winter": winter}


@ENV.engine("grade", kind="classical")
def env(ctx, image, prompt, strength=None):
    if not prompt or not prompt.strip():
        raise BadInput("ENV needs a prompt naming the weather, season or time of day")
    name = parse_env(prompt)
    f = rgb(image).astype(np.float32) / 255
    out = np.clip(GRADE[name](f, ctx.rng(), image) * 255 + 0.5, 0, 255).astype(np.uint8)
    return {"image": scale_edit(rgb(image), out, strength)}  # 1 = as graded, 0.5 half-way, 2 twice as far


# -- model engine: an instruction-editing pipeline (InstructPix2Pix, or FLUX.1-Kontext) ----------
@ENV.engine("instruct", kind="model", version="1", check=model_check("ENV", "instruct"))
def env_instruct(ctx, image, prompt, strength=None):
    """The prompt as the edit instruction ('make it snowy'), on the whole image."""
    from lego_demo.diffusion import run_instruct

    if not isinstance(prompt, str) or not prompt.strip():
        raise BadInput("ENV needs a prompt naming the weather, season or time of day")
    return {"image": run_instruct(ctx, image, prompt.strip())}

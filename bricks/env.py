"""ENV: weather, season or time of day.

Classical engine "grade": a colour grade (exposure, white balance, saturation, contrast) plus,
where the weather has them, procedural overlays seeded with ctx.rng() so a run is
reproducible: rain streaks (motion-blurred random drops), snow flakes (random discs at three
sizes), fog (a veil that thickens towards the top of the frame, with blur). Autumn turns
greens into oranges and reds. It relights nothing and adds no objects (no sun, no puddles).
"""

from __future__ import annotations

import re

import cv2
import numpy as np

from lego_demo.diffusion import model_check
from lego_demo.errors import BadInput, CannotDo
from lego_demo.imaging import rgb, scale_edit
from lego_demo.spec import Input, brick

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


def night(f, rng):
    f = cv2.pow(np.clip(_sat(f, 0.45), 0, 1).astype(np.float32), 1.3) * 0.42
    f = f * np.array([0.75, 0.9, 1.35], np.float32)  # moonlight blue
    bright = (f.mean(axis=2, keepdims=True) > 0.3).astype(np.float32)  # lit windows stay warm
    glow = cv2.GaussianBlur(bright, (0, 0), 6)[..., None] * np.array([0.25, 0.18, 0.05], np.float32)
    return f + glow + rng.normal(0, 0.012, f.shape[:2] + (1,)).astype(np.float32)


def sunset(f, rng):
    h, w = f.shape[:2]
    f = _sat(f, 1.25) * np.array([1.18, 0.98, 0.72], np.float32)
    sky = _vertical(h, w, (1.0, 0.55, 0.25), (0.4, 0.15, 0.05))
    f = f * 0.85 + sky * 0.22 * f.mean(axis=2, keepdims=True) + sky * 0.08
    return 0.5 + (f - 0.5) * 1.1


def dusk(f, rng):
    h, w = f.shape[:2]
    f = _sat(f, 0.7) * 0.65 * np.array([0.95, 0.88, 1.15], np.float32)
    return f + _vertical(h, w, (0.2, 0.12, 0.3), (0.02, 0.02, 0.06))


def foggy(f, rng):
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


def rainy(f, rng):
    h, w = f.shape[:2]
    f = _sat(f, 0.6) * 0.72 * np.array([0.92, 0.97, 1.05], np.float32)
    scale = max(h, w) / 1000
    rain = _streaks(h, w, rng, int(1800 * (h * w) / 1e6) + 50, 28 * scale + 6, 12, 1)
    return f * (1 - 0.35 * rain[..., None]) + 0.35 * rain[..., None] * np.float32(0.85)


def snowy(f, rng):
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


def autumn(f, rng):
    hsv = cv2.cvtColor((np.clip(f, 0, 1) * 255).astype(np.uint8), cv2.COLOR_RGB2HSV).astype(np.float32)
    hue, sat = hsv[..., 0], hsv[..., 1]  # OpenCV hue 0..180
    green = np.clip(1 - np.abs(hue - 50) / 30, 0, 1) * np.clip(sat / 60, 0, 1)
    target = 12 + 10 * cv2.resize(rng.uniform(0, 1, (8, 8)).astype(np.float32), (f.shape[1], f.shape[0]))
    hsv[..., 0] = hue * (1 - green) + target * green
    hsv[..., 1] = np.clip(sat * (1 + 0.35 * green), 0, 255)
    out = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32) / 255
    return out * np.array([1.06, 1.0, 0.9], np.float32)


def winter(f, rng):
    f = _sat(f, 0.5) * np.array([0.9, 0.97, 1.1], np.float32)
    f = 0.15 + 0.85 * cv2.pow(np.clip(f, 0, 1).astype(np.float32), 0.9)  # pale, cold light
    grey = f.mean(axis=2, keepdims=True)
    frost = np.clip((grey - 0.6) / 0.3, 0, 1)  # bright surfaces turn white like frost
    return f * (1 - 0.6 * frost) + 0.6 * frost


GRADE = {"night": night, "sunset": sunset, "dusk": dusk, "foggy": foggy, "rainy": rainy,
         "snowy": snowy, "autumn": autumn, "winter": winter}


@ENV.engine("grade", kind="classical")
def env(ctx, image, prompt, strength=None):
    if not prompt or not prompt.strip():
        raise BadInput("ENV needs a prompt naming the weather, season or time of day")
    name = parse_env(prompt)
    f = rgb(image).astype(np.float32) / 255
    out = np.clip(GRADE[name](f, ctx.rng()) * 255 + 0.5, 0, 255).astype(np.uint8)
    return {"image": scale_edit(rgb(image), out, strength)}  # 1 = as graded, 0.5 half-way, 2 twice as far


# -- model engine: an instruction-editing pipeline (InstructPix2Pix, or FLUX.1-Kontext) ----------
@ENV.engine("instruct", kind="model", version="1", check=model_check("ENV", "instruct"))
def env_instruct(ctx, image, prompt, strength=None):
    """The prompt as the edit instruction ('make it snowy'), on the whole image."""
    from lego_demo.diffusion import run_instruct

    if not isinstance(prompt, str) or not prompt.strip():
        raise BadInput("ENV needs a prompt naming the weather, season or time of day")
    return {"image": run_instruct(ctx, image, prompt.strip())}

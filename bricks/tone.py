"""TONE: brightness, contrast and saturation, for the whole image or a masked part.

The release's plugin example BRIGHT (examples/plugins/bright.py) does brightness only; TONE
covers contrast and saturation too. Each amount is in [-1, 1]: 0 = unchanged. The curves work
on Lab lightness so nothing clips: brightness is a gamma curve up to the image's brightest
tone (black and that tone stay put),
contrast rolls off softly near black and white, and saturation gains less on colours that
are already strong.
"""

from __future__ import annotations

import cv2
import numpy as np

from lego_demo.errors import BadInput
from lego_demo.imaging import keep_outside, same_size
from lego_demo.spec import Input, brick


def _rules(given: frozenset[str]) -> list[str]:
    if not {"brightness", "contrast", "saturation"} & given:
        return ["give at least one of brightness, contrast, saturation"]
    return []


TONE = brick(
    "TONE",
    kind="edit",
    summary="Adjust brightness, contrast and/or saturation of the image or of the mask area",
    inputs={
        "image": "Image",
        **{k: Input("Float", optional=True, range=(-1, 1), neutral=0, default=0, strength=True)
           for k in ("brightness", "contrast", "saturation")},
        "mask": Input("Mask", optional=True),
    },
    outputs={"image": "Image"},
    constraint="Amounts in [-1, 1]: 0 = unchanged, 0.3 = 30% more, -0.3 = 30% less; give at "
    "least one. mask null = whole image.",
    rules=_rules,
    use_for=("brighten the image", "darken the image", "increase the contrast", "reduce the contrast",
             "make the colours more vivid", "desaturate the colours", "adjust the exposure"),
)


def _in_gamut(light: np.ndarray, ab: np.ndarray, steps: int = 6) -> np.ndarray:
    """Lab to RGB (0..1) where a colour too vivid for its new lightness loses chroma, not a
    channel: a brightened orange stays orange instead of clipping its red to 255."""
    rgb = cv2.cvtColor(np.dstack([light, ab]).astype(np.float32), cv2.COLOR_LAB2RGB)
    out = (rgb > 1.0).any(axis=2) | (rgb < 0.0).any(axis=2)
    if out.any():
        lo, hi = np.zeros(int(out.sum()), np.float32), np.ones(int(out.sum()), np.float32)
        pl, pab = light[out], ab[out]
        for _ in range(steps):  # bisect the chroma scale that just fits
            mid = (lo + hi) / 2
            trial = cv2.cvtColor(np.dstack([pl, pab * mid[:, None]])[None].astype(np.float32), cv2.COLOR_LAB2RGB)[0]
            fits = ((trial <= 1.0) & (trial >= 0.0)).all(axis=1)
            lo, hi = np.where(fits, mid, lo), np.where(fits, hi, mid)
        rgb[out] = cv2.cvtColor(np.dstack([pl, pab * lo[:, None]])[None].astype(np.float32), cv2.COLOR_LAB2RGB)[0]
    return np.clip(rgb, 0, 1)


def _soft_range(x: np.ndarray, knee: float = 0.12) -> np.ndarray:
    """Values pushed past black or white roll off smoothly into the last `knee` of the range
    instead of clipping (highlight and shadow protection)."""
    hi, lo = 1 - knee, knee
    x = np.where(x > hi, hi + knee * (1 - np.exp(-(x - hi) / knee)), x)
    return np.where(x < lo, lo - knee * (1 - np.exp(-(lo - x) / knee)), x)


@TONE.engine("numpy", kind="classical", version="2")
def tone(ctx, image, brightness=None, contrast=None, saturation=None, mask=None):
    amounts = {"brightness": brightness, "contrast": contrast, "saturation": saturation}
    for k, v in amounts.items():
        if v is not None and not -1.0 <= float(v) <= 1.0:
            raise BadInput(f"TONE {k} must be in [-1, 1] (0 = unchanged), got {v}")
    if mask is not None:
        same_size("image", image, "mask", mask)
    lab = cv2.cvtColor(image[..., :3].astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
    light, ab = lab[..., 0] / 100, lab[..., 1:]
    if brightness:  # a gamma curve on L* up to the image's own brightest tone, which stays put:
        b = float(brightness)  # shadows and mid-tones rise, highlights only gather, nothing clips
        top = max(float(np.percentile(light, 99.5)), 1e-3)
        curved = top * (np.minimum(light, top) / top) ** (1 / (1 + 1.5 * b) if b > 0 else 1 - 1.5 * b)
        light = np.where(light > top, light, curved)
    if contrast:
        c = float(contrast)
        mean = float(light.mean())
        light = _soft_range(mean + (light - mean) * (1 + (1.5 * c if c > 0 else c)))  # soft ends allow a steeper curve
        ab = ab * (1 + 0.5 * c if c < 0 else 1 + 0.2 * c)  # flatter light also looks less colourful
    if saturation:
        chroma = np.hypot(ab[..., 0], ab[..., 1])[..., None]
        gain = 1 + float(saturation)
        if gain > 1:  # the more colourful a pixel already is, the less it gains (no gamut clipping)
            gain = 1 + (gain - 1) * np.clip(1.2 - chroma / 130, 0.2, 1)
        ab = ab * gain
    f = _in_gamut(np.clip(light, 0, 1) * 100, ab) * 255
    out = np.clip(f + 0.5, 0, 255).astype(np.uint8)
    if image.shape[2] == 4:
        out = np.dstack([out, image[..., 3]])
        if mask is not None:
            return {"image": np.where(mask[..., None], out, image)}
        return {"image": out}
    return {"image": keep_outside(image, out, mask)}

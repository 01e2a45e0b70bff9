"""Colour names a person uses in an instruction, and a tolerant parser for them.

`parse_colour("make it dark blue")` -> ColourMatch(name="dark blue", rgb=(...)).
The basic names share their values with `lego_demo.synthetic.COLOURS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .synthetic import COLOURS as _BASIC

NAMED: dict[str, tuple[int, int, int]] = {
    **_BASIC,
    "grey": (128, 128, 128),
    "gray": (128, 128, 128),
    "magenta": (220, 40, 200),
    "violet": (150, 80, 220),
    "teal": (20, 140, 140),
    "turquoise": (50, 210, 200),
    "navy": (20, 30, 110),
    "maroon": (120, 20, 35),
    "beige": (225, 205, 165),
    "lime": (150, 230, 40),
    "olive": (120, 120, 30),
    "indigo": (75, 30, 150),
    "gold": (212, 175, 55),
    "golden": (212, 175, 55),
    "silver": (192, 192, 196),
    "crimson": (200, 20, 60),
    "lavender": (190, 160, 230),
    "cream": (245, 235, 200),
    "tan": (210, 180, 140),
    "khaki": (195, 180, 120),
    "mint": (150, 230, 180),
    "coral": (250, 120, 90),
    "salmon": (245, 140, 120),
    "amber": (245, 180, 20),
    "emerald": (20, 160, 90),
    "scarlet": (235, 35, 20),
}
ACHROMATIC = {"white", "black", "grey", "gray", "silver"}
MODIFIERS = {"dark": 0.55, "deep": 0.6, "light": 1.45, "pale": 1.6, "bright": 1.15, "pastel": 1.55}
# words an instruction wraps a colour in; anything else unknown is reported by name
FILLER = set(
    """a an the it its it's to into in of with and make turn change changed paint painted
    recolor recolour color colour colored coloured recolored recoloured set be please so that
    this that object thing them all some new shade tone look looks like made material texture
    become becomes entirely completely whole background solid plain simple just only""".split()
)


@dataclass(frozen=True)
class ColourMatch:
    name: str
    rgb: tuple[int, int, int]
    base: str
    start: int  # index range of the words it used
    end: int


def words(text: str) -> list[str]:
    return re.findall(r"[a-z]+(?:'[a-z]+)?", text.lower())


def modified(rgb: tuple[int, int, int], modifier: str | None) -> tuple[int, int, int]:
    """Darken or lighten a colour in Lab lightness, keeping its hue."""
    if not modifier:
        return rgb
    import cv2

    lab = cv2.cvtColor(np.uint8([[rgb]]), cv2.COLOR_RGB2LAB).astype(np.float32)
    f = MODIFIERS[modifier]
    if f < 1:
        lab[..., 0] *= f
    else:
        lab[..., 0] = 255 - (255 - lab[..., 0]) / f
        if modifier in ("pale", "pastel"):
            lab[..., 1:] = 128 + (lab[..., 1:] - 128) * 0.55
    out = cv2.cvtColor(np.clip(lab, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)[0, 0]
    return tuple(int(v) for v in out)


def find_colours(text: str) -> list[ColourMatch]:
    """Every colour phrase in `text`, in order ("dark blue", "red", "light green"...)."""
    ws = words(text)
    found = []
    i = 0
    while i < len(ws):
        w = ws[i]
        mod = w if w in MODIFIERS else None
        j = i + 1 if mod else i
        if j < len(ws):
            base = ws[j].removesuffix("ish") if ws[j].endswith("ish") and ws[j][:-3] in NAMED else ws[j]
            if base in NAMED:
                rgb = modified(NAMED[base], mod)
                name = f"{mod} {base}" if mod else base
                found.append(ColourMatch(name, rgb, base, i, j + 1))
                i = j + 1
                continue
        i += 1
    return found


def parse_colour(text: str) -> ColourMatch | None:
    found = find_colours(text)
    return found[-1] if found else None


def unknown_words(text: str, known: set[str]) -> list[str]:
    """Words of `text` that are neither filler, modifiers, colours nor in `known`."""
    return [w for w in words(text) if w not in FILLER and w not in MODIFIERS and w not in NAMED and w not in known]


def hue_deg(rgb) -> float:
    """HSV hue in degrees of an RGB triple."""
    import colorsys

    r, g, b = (float(v) / 255.0 for v in rgb)
    return colorsys.rgb_to_hsv(r, g, b)[0] * 360.0

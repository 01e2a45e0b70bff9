"""Colour names: the one table of named colours, the parser for colour phrases in
instructions, and per-pixel colour naming.

Each name has an sRGB value (what RCM paints, what synthetic scenes draw) and the basic
category a pixel of that colour is labelled with (what RES looks for, what the critic checks):
"navy" paints (20, 30, 110) and is found as dark blue.

`parse_colour("make it dark blue")` -> ColourMatch(name="dark blue", rgb=(...)).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import cv2
import numpy as np

from .imaging import rgb

# the basic categories a pixel can be named with (exclusive labels), in label order
CATEGORIES = ("red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink", "brown", "white", "grey",
              "black")


@dataclass(frozen=True)
class Named:
    rgb: tuple[int, int, int]
    category: str  # one of CATEGORIES
    shade: str | None = None  # "dark" / "light": how it differs from the category's usual look


TABLE: dict[str, Named] = {
    # the basic names (synthetic scenes draw these values)
    "red": Named((220, 30, 30), "red"),
    "green": Named((40, 170, 60), "green"),
    "blue": Named((30, 70, 220), "blue"),
    "yellow": Named((240, 210, 40), "yellow"),
    "orange": Named((245, 140, 20), "orange"),
    "purple": Named((130, 50, 170), "purple"),
    "pink": Named((245, 130, 190), "pink"),
    "cyan": Named((40, 200, 220), "cyan"),
    "white": Named((245, 245, 245), "white"),
    "black": Named((15, 15, 15), "black"),
    "brown": Named((120, 70, 30), "brown"),
    "grey": Named((128, 128, 128), "grey"),
    # other names and the category they are found as
    "gray": Named((128, 128, 128), "grey"),
    "silver": Named((192, 192, 196), "grey", "light"),
    "magenta": Named((220, 40, 200), "pink"),
    "violet": Named((150, 80, 220), "purple"),
    "lavender": Named((190, 160, 230), "purple", "light"),
    "indigo": Named((75, 30, 150), "purple", "dark"),
    "teal": Named((20, 140, 140), "cyan", "dark"),
    "turquoise": Named((50, 210, 200), "cyan"),
    "aqua": Named((40, 220, 220), "cyan"),
    "navy": Named((20, 30, 110), "blue", "dark"),
    "maroon": Named((120, 20, 35), "red", "dark"),
    "crimson": Named((200, 20, 60), "red"),
    "scarlet": Named((235, 35, 20), "red"),
    "coral": Named((250, 120, 90), "orange", "light"),
    "salmon": Named((245, 140, 120), "pink"),
    "amber": Named((245, 180, 20), "orange"),
    "gold": Named((212, 175, 55), "yellow"),
    "golden": Named((212, 175, 55), "yellow"),
    "olive": Named((120, 120, 30), "yellow", "dark"),
    "khaki": Named((195, 180, 120), "yellow", "light"),
    "cream": Named((245, 235, 200), "white"),
    "beige": Named((225, 205, 165), "brown", "light"),
    "tan": Named((210, 180, 140), "brown", "light"),
    "lime": Named((150, 230, 40), "green"),
    "mint": Named((150, 230, 180), "green", "light"),
    "emerald": Named((20, 160, 90), "green"),
}
NAMED: dict[str, tuple[int, int, int]] = {name: t.rgb for name, t in TABLE.items()}
BASIC: dict[str, tuple[int, int, int]] = {name: TABLE[name].rgb for name in CATEGORIES if name != "grey"}
ACHROMATIC = {"white", "black", "grey", "gray", "silver"}
MODIFIERS = {"dark": 0.55, "deep": 0.6, "light": 1.45, "pale": 1.6, "bright": 1.15, "pastel": 1.55}
SHADES = {"dark": "dark", "deep": "dark", "light": "light", "pale": "light", "bright": "light", "pastel": "light"}
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


def _base(word: str) -> str | None:
    """The table name a word stands for ("reddish" -> "red"), or None."""
    if word in TABLE:
        return word
    stem = word.removesuffix("ish")
    return stem if word.endswith("ish") and stem in TABLE else None


def category_of(word: str) -> tuple[str | None, str] | None:
    """(shade, category) a colour word is found as: "navy" -> ("dark", "blue"); None if no colour."""
    base = _base(word)
    if base is None:
        return None
    t = TABLE[base]
    return t.shade, t.category


def modified(rgb: tuple[int, int, int], modifier: str | None) -> tuple[int, int, int]:
    """Darken or lighten a colour in Lab lightness, keeping its hue."""
    if not modifier:
        return rgb
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
        mod = ws[i] if ws[i] in MODIFIERS else None
        j = i + 1 if mod else i
        base = _base(ws[j]) if j < len(ws) else None
        if base is not None:
            name = f"{mod} {base}" if mod else base
            found.append(ColourMatch(name, modified(NAMED[base], mod), base, i, j + 1))
            i = j + 1
            continue
        i += 1
    return found


def parse_colour(text: str) -> ColourMatch | None:
    found = find_colours(text)
    return found[-1] if found else None


def unknown_words(text: str, known: set[str]) -> list[str]:
    """Words of `text` that are neither filler, modifiers, colours nor in `known`."""
    return [w for w in words(text) if w not in FILLER and w not in MODIFIERS and _base(w) is None and w not in known]


def hue_deg(rgb) -> float:
    """HSV hue in degrees of an RGB triple."""
    import colorsys

    r, g, b = (float(v) / 255.0 for v in rgb)
    return colorsys.rgb_to_hsv(r, g, b)[0] * 360.0


# -- naming pixels -------------------------------------------------------------------------------
# Hue bins on OpenCV's 0..180 scale; each pixel gets at most one category (exclusive labels).
HUE_BINS: dict[str, tuple[tuple[int, int], ...]] = {
    "red": ((0, 8), (170, 181)),
    "orange": ((8, 20),),
    "yellow": ((20, 35),),
    "green": ((35, 85),),
    "cyan": ((85, 100),),
    "blue": ((100, 128),),
    "purple": ((128, 155),),
    "pink": ((155, 170),),
}
# Wider, overlapping hue windows for finding a named target: a person calls a red-orange suit
# "orange" and a red-orange cup "red", so both names accept the pixels between them.
HUE_WINDOWS: dict[str, tuple[tuple[int, int], ...]] = {
    "red": ((0, 11), (165, 181)),
    "orange": ((4, 22),),
    "yellow": ((17, 38),),
    "green": ((32, 90),),
    "cyan": ((80, 104),),
    "blue": ((95, 132),),
    "purple": ((122, 160),),
    "pink": ((140, 181), (0, 6)),
}
MIN_SAT = 56  # of 255: below this a pixel is achromatic (white / grey / black)
MIN_VAL = 40  # of 255: below this a pixel is black whatever its hue


def colour_labels(image: np.ndarray) -> np.ndarray:
    """Per-pixel index into CATEGORIES (exclusive), computed in HSV."""
    hsv = cv2.cvtColor(rgb(image), cv2.COLOR_RGB2HSV)
    h, s, v = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    lut = np.zeros(181, np.uint8)
    for i, name in enumerate(HUE_BINS):
        for lo, hi in HUE_BINS[name]:
            lut[lo:hi] = i
    labels = lut[h]
    brown = (h >= 8) & (h < 25) & (v < 140)  # dark orange / dark warm yellow reads as brown
    labels = np.where(brown, CATEGORIES.index("brown"), labels)
    grey = np.where(v > 190, CATEGORIES.index("white"), CATEGORIES.index("grey"))
    labels = np.where(s < MIN_SAT, grey, labels)
    labels = np.where(v < MIN_VAL, CATEGORIES.index("black"), labels)
    return labels.astype(np.uint8)


def looks(image: np.ndarray, category: str, shade: str | None = None) -> np.ndarray:
    """Pixels a person could call `category` (tolerant, overlapping with the neighbouring
    names): the mask a named target is looked for in. Skin is left out of the warm colours by
    saturation, which a cheek does not reach."""
    hsv = cv2.cvtColor(rgb(image), cv2.COLOR_RGB2HSV)
    h, s, v = (hsv[..., i].astype(np.int16) for i in range(3))
    if category in HUE_WINDOWS:
        lut = np.zeros(181, bool)
        for lo, hi in HUE_WINDOWS[category]:
            lut[lo:hi] = True
        m = lut[h] & (s >= 90) & (v >= 50)
        if category == "pink":  # light reds are pink too
            m |= ((h < 10) | (h >= 165)) & (s >= 40) & (s < 150) & (v >= 170)
        if category == "orange":  # a dark orange is brown, not orange
            m &= v >= 110
        if category == "red":  # a dark red-orange is red where it shades a clearly red thing, else
            brownish = (h >= 6) & (h < 12) & (v < 140)  # brown (wood, leather)
            clearly = m & ~brownish
            n, ids = cv2.connectedComponents(m.astype(np.uint8), connectivity=8)
            share = np.bincount(ids[clearly], minlength=n) / np.maximum(np.bincount(ids.ravel(), minlength=n), 1)
            m &= (share >= 0.3)[ids]  # mostly clearly red: a red thing and its shading
    elif category == "brown":
        m = (h >= 3) & (h < 28) & (s >= 60) & (v >= 25) & (v < 170)
    elif category == "white":
        m = (s < 45) & (v >= 185)
    elif category == "grey":
        m = (s < 45) & (v >= 45) & (v < 200)
    elif category == "black":
        m = (v < 60) | ((v < 85) & (s < 80))
    else:
        raise ValueError(f"unknown colour category {category!r}")
    if shade == "dark":
        m &= v < 150
    elif shade == "light":
        m &= v >= 150
    return m

"""What a target phrase says that can be measured on pixels: colours, shapes, positions, size,
categories (person, face, hair, sky, clothes…), whose it is, and the words nothing here can
measure. RES grounds a phrase with it; the verifier checks a stand-in region against it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .colours import SHADES, category_of
from .parts import GARMENTS

FILLER = set(
    "the a an please object objects thing things one ones item items shape shapes region "
    "area part in on at of to with and is are that which who side corner "
    "select segment find mask image picture photo all its this those these some any coloured "
    "colored color colour there from just only me my s far very most whole entire "
    "out cut extract show highlight each every both".split()
)
SHAPE_WORDS = {
    "circle": "circle", "circles": "circle", "round": "circle", "circular": "circle",
    "disc": "circle", "disk": "circle", "ball": "circle", "balls": "circle", "dot": "circle",
    "square": "square", "squares": "square",
    "rectangle": "rectangle", "rectangles": "rectangle", "rectangular": "rectangle",
    "box": "rectangle", "boxes": "rectangle", "block": "rectangle", "blocks": "rectangle",
    "triangle": "triangle", "triangles": "triangle", "triangular": "triangle",
}
POSITION_WORDS = {
    "left": "left", "leftmost": "left", "right": "right", "rightmost": "right",
    "top": "top", "upper": "top", "topmost": "top", "above": "top",
    "bottom": "bottom", "lower": "bottom", "bottommost": "bottom", "below": "bottom",
    "middle": "middle", "center": "middle", "centre": "middle", "central": "middle",
}
SIZE_WORDS = {
    "biggest": "big", "largest": "big", "big": "big", "large": "big", "bigger": "big",
    "larger": "big", "huge": "big", "smallest": "small", "small": "small", "smaller": "small",
    "tiny": "small", "little": "small",
}
CATEGORY_WORDS = {
    **dict.fromkeys(
        "person persons people man men woman women child children kid kids boy boys girl girls "
        "human humans lady ladies guy guys".split(), "person"),
    "face": "face", "faces": "face",
    "hair": "hair",
    "skin": "skin",
    "sky": "sky",
    **dict.fromkeys("text texts word words letters lettering writing caption".split(), "text"),
    **dict.fromkeys("title heading headline".split(), "title"),  # the text line in the largest letters
    **dict.fromkeys("background backdrop".split(), "background"),
    **dict.fromkeys("foreground subject".split(), "foreground"),
    **dict.fromkeys(GARMENTS, "clothes"),
}
PLURAL = {"people", "men", "women", "children", "kids", "boys", "girls", "humans", "persons",
          "faces", "ladies", "guys", "all", "both", "every", "each"}
OWNERS = {"her", "his", "their", "hers", "theirs"}  # a person's: what they wear or have
PARTS = {"parts", "bits", "areas", "regions", "pieces", "stuff", "everything", "anything"}
MASS = {"hair", "skin", "sky", "text", "background", "foreground"}  # always the whole area


@dataclass
class Query:
    colours: list[tuple[str | None, str]] = field(default_factory=list)  # (shade, category)
    shapes: set[str] = field(default_factory=set)
    positions: set[str] = field(default_factory=set)
    size: str | None = None
    categories: list[str] = field(default_factory=list)
    garment: str | None = None  # the clothes word ("suit", "hat")
    owner: bool = False  # "her …", "his …": a person's
    parts: bool = False  # "the red parts": every region of that colour
    unknown: list[str] = field(default_factory=list)
    plural: bool = False

    @property
    def measurable(self) -> bool:
        """Whether any word says something that pixels can confirm or refute."""
        return bool(self.colours or self.shapes or self.positions or self.size or self.categories)


def parse(prompt: str) -> Query:
    """What the words say, each distinct word or colour once: a prompt of repeated words
    ("red circle red circle …", up to the 1,000-character limit) asks for no more work than
    saying it once."""
    q = Query()
    shade = None
    for word in re.findall(r"[a-z]+", str(prompt).lower()):
        if word in SHADES:
            shade = SHADES[word]
            continue
        colour = category_of(word)
        if colour is not None:
            named = (shade or colour[0], colour[1])
            if named not in q.colours:  # each distinct colour once: RES grounds every one it is given
                q.colours.append(named)
        elif word in SHAPE_WORDS:
            q.shapes.add(SHAPE_WORDS[word])
            q.plural |= word.endswith("s") and word not in ("box",)
        elif word in POSITION_WORDS:
            q.positions.add(POSITION_WORDS[word])
        elif word in SIZE_WORDS:
            q.size = SIZE_WORDS[word]
        elif word in CATEGORY_WORDS:
            if CATEGORY_WORDS[word] not in q.categories:
                q.categories.append(CATEGORY_WORDS[word])
            if CATEGORY_WORDS[word] == "clothes":
                q.garment = word
            q.plural |= word in PLURAL or CATEGORY_WORDS[word] in MASS
        elif word in OWNERS:
            q.owner = True
        elif word in PARTS:
            q.parts = q.plural = True
        elif word in PLURAL:
            q.plural = True
        elif word not in FILLER and word not in q.unknown:
            q.unknown.append(word)
        shade = None if word not in FILLER else shade
    return q

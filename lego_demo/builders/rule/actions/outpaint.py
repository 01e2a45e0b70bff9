"""Outpainting: CMI-PRED makes a larger canvas (and a caption), FILL paints the new area."""

from __future__ import annotations

import re

from ....workflow import Ref
from ..clauses import Clause, Intent
from ..phrases import ASPECT_RE, factor, noun_phrase
from ..planner import Missing, Writer
from . import Action

_VERB = re.compile(
    r"^(?:zoom\s+out|make\s+(?:the\s+)?(?:image|picture|photo|canvas|frame|it|scene|view)\s+(?:\w+\s+)?(?:wider|taller|larger|"
    r"bigger|longer|panoramic|square|more\s+(?:wide|tall|big|large|long))|show\s+more\s+of|reveal\s+more|(?:add|make|give|create)\s+(?:me\s+)?(?:more|some|extra)\s+"
    r"(?:space|room|canvas|scenery|background|headroom)|(?:change|convert|turn|make|reframe)\s+(?:the\s+)?(?:image|picture|photo|"
    r"it|aspect(?:\s+ratio)?)\s+(?:to|into|in)?\s*(?:a\s+)?(?:\d{1,2}\s*[:/]\s*\d{1,2}|widescreen|panorama|panoramic)|"
    r"pull\s+back|go\s+wider|widen\s+the\s+(?:view|shot|frame))")
_NOT_AN_OBJECT = re.compile(
    r"^(?:image|picture|photo|photograph|pic|canvas|frame|scene|view|shot|it|this|borders?|edges?|sides?|field\s+of\s+view|"
    r"composition|sky|ground|floor|background|landscape|scenery|surroundings|horizon|left|right|top|bottom|out|by|to|on|in|the|"
    r"\d|twice|double|outwards?|upwards?|downwards?|sideways|horizontally|vertically|wider|taller|bit|little|slightly|more|"
    r"a\s+(?:bit|little|lot)|both|all|each|every)")


def read(c: Clause, ctx) -> Intent | None:
    t = c.text
    if not (c.group == "expand" and c.verb != "shrink") and not _VERB.match(t):
        return None
    if c.group == "expand" and c.verb != "zoom":
        obj = noun_phrase(re.sub(r"^(?:out\s+)?", "", c.rest))
        if obj and not _NOT_AN_OBJECT.match(obj):
            return None  # "enlarge the dog": a resize, not an outpaint
    if c.verb == "zoom" and re.match(r"^zoom\s+in\b", t):
        return None
    if c.topic and re.match(r"^make\s+(?:it|them)\s+(?:\w+\s+)?(?:bigger|larger|smaller)$", t):
        return None  # "the bird is too small, make it bigger": the bird, not the canvas
    aspect = None
    am = ASPECT_RE.search(t)
    if am and not re.search(r"\d\s*(?:x|times)\b", t[am.start():am.end() + 6]):
        aspect = (int(am.group(1)), int(am.group(2)))
    elif re.search(r"\bsquare\b", t):
        aspect = (1, 1)
    elif re.search(r"\b(?:widescreen|cinematic\s+aspect)\b", t):
        aspect = (16, 9)
    elif re.search(r"\b(?:panorama|panoramic)\b", t):
        aspect = (3, 1)
    sides = set()
    for side, words in (("left", r"left|leftwards?"), ("right", r"right|rightwards?"),
                        ("top", r"top|up|upwards?|above|sky|upper|taller|vertically|height|headroom"),
                        ("bottom", r"bottom|down|downwards?|below|ground|floor|lower|vertically|taller|height")):
        if re.search(r"\b(?:" + words + r")\b", t):
            sides.add(side)
    if re.search(r"\b(?:sides|horizontally|wider|width|sideways|panoramic|panorama)\b", t):
        sides |= {"left", "right"}
    if re.search(r"\b(?:all\s+(?:four\s+)?(?:sides|directions|around)|every\s+(?:side|direction)|around|each\s+side|zoom\s+out|"
                 r"outwards?)\b", t) or ("zoom" in t and not sides):
        sides = {"left", "right", "top", "bottom"}
    return Intent("outpaint", c.raw, None, None, "none", {"ratio": factor(t), "aspect": aspect, "sides": sorted(sides)})


def plan(w: Writer, it: Intent, image: Ref) -> Ref:
    sides = list(it.params.get("sides") or [])
    ratio = it.params.get("ratio")
    aspect = it.params.get("aspect")
    r = {"left": 1.0, "right": 1.0, "top": 1.0, "bottom": 1.0}
    if aspect:
        aw, ah = aspect
        assumed = (4, 3) if (aw, ah) != (4, 3) else (1, 1)
        width, height = w.image_size or assumed
        if w.image_size is None:
            w.note(f"The image size is not known here, so I assume a {assumed[0]}:{assumed[1]} image for the aspect ratio.")
        cur, want = width / height, aw / ah
        if want >= cur:
            r["left"] = r["right"] = max(1.0, round(want / cur, 3))
        else:
            r["top"] = r["bottom"] = max(1.0, round(cur / want, 3))
        if r == {"left": 1.0, "right": 1.0, "top": 1.0, "bottom": 1.0}:
            raise Missing("a crop (the image is already wider than that aspect)", ["CROP"])
        w.note(f"To reach {aw}:{ah}, the canvas grows on the {'left and right' if r['left'] > 1 else 'top and bottom'}.")
    else:
        grow = ratio if ratio and ratio > 1 else 1.5
        sides = sides or ["left", "right", "top", "bottom"]
        for s in sides:
            r[s] = float(grow)
        w.note(f"Outpainting: the {', '.join(sides)} side{'s' if len(sides) > 1 else ''} move to {grow}× their "
               "distance from the centre (1 = unchanged).")

    def run() -> Ref:
        c = w.add("CMI-PRED", {"image": image, "left_ratio": r["left"], "right_ratio": r["right"],
                               "top_ratio": r["top"], "bottom_ratio": r["bottom"]})
        a = w.add("FILL", {"image": Ref(c, "image"), "mask": Ref(c, "mask"), "prompt": Ref(c, "caption"), "preimage": None})
        w.note(f"CMI-PRED makes the larger canvas, its new-area mask and a caption (step {c}); FILL paints the "
               f"new area from the caption on that canvas (step {a}).")
        return Ref(a, "image")

    return w.choose([(("CMI-PRED", "FILL"), run)], "expand the image")


ACTION = Action("outpaint", read, plan, bricks=("CMI-PRED",), order=50, says="expand the image")

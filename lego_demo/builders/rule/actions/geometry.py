"""Rotate, flip and crop: the whole image, or (where the brick takes a mask) one object."""

from __future__ import annotations

import re

from ....types import ValueType
from ....workflow import Ref
from ..clauses import Clause, Intent
from ..phrases import ASPECT_RE, DEGREES_RE, is_whole, noun_phrase
from ..planner import Missing, Writer, float_inputs
from . import Action

_DIRECTION_WORDS = re.compile(r"\s*(?:by\s+)?-?\d+\s*(?:°|degrees?|deg)?.*$|\s+(?:counter|anti)?[\s-]*clockwise.*$|\s+upside\s+down.*$|"
                              r"\s+(?:to\s+the\s+|towards?\s+the\s+)?(?:left|right)(?:\s+side)?.*$|\s+(?:a\s+)?(?:little|bit|slightly).*$|"
                              r"\s+(?:horizontal(?:ly)?|vertical(?:ly)?|sideways|around|over|along.*|left\s+to\s+right.*|top\s+to\s+"
                              r"bottom.*|upside.*)$")


def read(c: Clause, ctx) -> Intent | None:
    t = c.text
    turned = re.match(r"^turn\s+(?:the\s+)?(?:image|picture|photo|it)\s+(?:\d+|upside|sideways|clockwise|counter|anti|to\s+the\s+"
                      r"(?:left|right)\s+(?:side\s+)?\d)", t)
    if c.group == "rotate" or turned or (re.search(r"\bupside\s+down\b", t) and c.group in ("make", "change", "rotate", None)):
        if re.search(r"\bstraighten\b", t) and not DEGREES_RE.search(t):
            return None
        m = DEGREES_RE.search(t) or re.search(r"^\w+\s+(?:it\s+|the\s+\w+\s+)?(?:by\s+)?(-?\d{2,3})\b", t)
        deg = float(m.group(1)) if m else (180.0 if re.search(r"upside\s+down|\b180\b", t) else 90.0)
        if re.search(r"\b(?:counter[\s-]*clockwise|anti[\s-]*clockwise|to\s+the\s+left|left)\b", t):
            deg = abs(deg)
        elif re.search(r"\b(?:clockwise|to\s+the\s+right|right)\b", t):
            deg = -abs(deg)
        obj = noun_phrase(_DIRECTION_WORDS.sub("", " " + c.rest))
        target = obj if obj and not is_whole(obj) else None
        return Intent("geometry", c.raw, target, None, "res" if target else "none", {"op": "rotate", "degrees": deg})
    if c.group == "flip" and c.verb not in ("invert", "reflect"):
        direction = "vertical" if re.search(r"\b(?:vertical(?:ly)?|upside|top\s+to\s+bottom|up\s+and\s+down|over|v)\b", t) else "horizontal"
        obj = noun_phrase(_DIRECTION_WORDS.sub("", " " + c.rest))
        target = obj if obj and not is_whole(obj) and obj not in ("vertical", "horizontal", "h", "v") else None
        return Intent("geometry", c.raw, target, None, "res" if target else "none", {"op": "flip", "direction": direction})
    zoom = re.match(r"^zoom\s+in\s+(?:on|to)\s+(?P<t>.+)$", t)
    if c.group == "crop" or zoom:
        rest = zoom.group("t") if zoom else re.sub(r"\s+(?:tightly|closely|closer|in)\b", "", c.rest)
        if re.match(r"^out\b", rest):
            return None  # "crop out X" removes X
        am = ASPECT_RE.search(t)
        aspect = (int(am.group(1)), int(am.group(2))) if am else (1, 1) if re.search(r"\bsquare\b", t) else None
        target = None
        focus = re.search(r"\bto\s+(?:focus|zoom)\s+(?:in\s+)?on\s+(?P<t>.+)$", c.full)
        if focus and not re.search(r"\b(?:around|on|to)\s+(?:the|a)\s", rest):
            rest = focus.group("t")
        only = re.search(r"\bso\s+(?:that\s+)?(?:only|just)\s+(?P<t>.+?)\s+(?:remains?|(?:is|are)\s+(?:left|visible|in\s+it|in\s+the\s+"
                         r"(?:frame|picture|shot|photo))|shows?|stays?)\b", c.full)
        if only:
            rest = only.group("t")
        m = re.match(r"(?:(?:the\s+)?(?:image|picture|photo)\s+|it\s+|this\s+)?(?:(?:to|around|on|in\s+on|onto|so\s+only)\s+)?"
                     r"(?:the\s+|a\s+)?(.+)$", rest)
        if m and not aspect:
            cand = noun_phrase(m.group(1))
            if cand and not is_whole(cand) and not re.match(r"^(?:square|portrait|landscape|center|centre|middle|it)\b", cand):
                target = cand
        return Intent("geometry", c.raw, target, None, "res" if target else "none", {"op": "crop", "aspect": aspect})
    return None


def plan(w: Writer, it: Intent, image: Ref) -> Ref:
    op = it.params["op"]
    if op == "rotate":
        deg = float(it.params.get("degrees", 90.0))
        w.note(f"Rotate by {deg:g} degrees ({'counter-clockwise' if deg > 0 else 'clockwise'}).")
        return _run(w, it, image, "ROTATE", {"degrees": deg, "angle": deg}, "rotation")
    if op == "flip":
        d = it.params.get("direction", "horizontal")
        w.note(f"Mirror the image {d}ly.")
        return _run(w, it, image, "FLIP", {"direction": d, "axis": d, "mode": d}, f"{d} flip")
    aspect = it.params.get("aspect")
    values: dict = {}
    if aspect:
        aw, ah = aspect
        assumed = (4, 3) if (aw, ah) != (4, 3) else (1, 1)
        width, height = w.image_size or assumed
        if w.image_size is None:
            w.note(f"The image size is not known here, so I assume a {assumed[0]}:{assumed[1]} image.")
        cur, want = width / height, aw / ah
        box = {"left": 0.0, "top": 0.0, "right": 1.0, "bottom": 1.0}
        if want < cur:
            f = want / cur
            box["left"], box["right"] = round((1 - f) / 2, 4), round(1 - (1 - f) / 2, 4)
        else:
            f = cur / want
            box["top"], box["bottom"] = round((1 - f) / 2, 4), round(1 - (1 - f) / 2, 4)
        values = {**box, "aspect": f"{aw}:{ah}"}
        w.note(f"Crop the centre of the image to {aw}:{ah} (box left {box['left']}, top {box['top']}, "
               f"right {box['right']}, bottom {box['bottom']} as fractions of the size).")
    elif it.target:
        w.note(f"Crop to the {it.target}: its mask gives the box.")
    else:
        raise Missing("what to crop to (an object or an aspect ratio such as 1:1)", ["a crop target"])
    return _run(w, it, image, "CROP", values, "crop")


def _run(w: Writer, it: Intent, image: Ref, brick: str, values: dict, what: str) -> Ref:
    def run() -> Ref:
        spec = w.registry.resolve(brick)
        assert spec is not None
        mask = None
        if it.target or it.where in ("init", "maskseg"):
            if not any(p.type is ValueType.MASK for p in spec.inputs.values()):
                raise Missing(f"{what} of one object", [f"{brick} with a mask input"])
            mask = w.locate(image, it)
        vals = {k: v for k, v in values.items() if k in spec.inputs}
        floats = [n for n in float_inputs(spec) if n not in vals]
        strs = [n for n, p in spec.inputs.items() if p.type is ValueType.STR and n not in vals]
        for k, v in values.items():
            if k in spec.inputs or (k == "aspect" and any(n in spec.inputs for n in ("left", "top"))):
                continue
            if k in ("degrees", "angle", "direction", "axis", "mode") and any(x in vals for x in ("degrees", "angle", "direction", "axis", "mode")):
                continue
            if isinstance(v, float) and floats:
                vals[floats.pop(0)] = v
            elif isinstance(v, str) and strs:
                vals[strs.pop(0)] = v
        a = w.generic(brick, image, mask, values=vals)
        w.note(f"{brick} does the {what} (step {a}).")
        return Ref(a, "image")

    return w.choose([((brick,), run)], what)


ACTION = Action("geometry", read, plan, bricks=("ROTATE", "FLIP", "CROP"), order=55, says="crop, rotate, flip")

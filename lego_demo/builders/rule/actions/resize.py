"""Resize one object: cut it out, scale the cut-out about its centre, clear the original spot,
and lay the scaled cut-out over it (EXTRACT → RESIZE → FASTINPAINT/INPAINT → COMPOSE)."""

from __future__ import annotations

import re

from ....workflow import Ref
from ..clauses import Clause, Intent
from ..phrases import attribute, factor, is_whole
from ..planner import Writer
from . import Action, on_target

_BIGGER = r"bigger|larger|huge|huger|enormous|giant|taller|wider|longer|big|large|tall"
_SMALLER = r"smaller|tinier|tiny|little|small|shorter|narrower|thinner|less\s+big|more\s+small|half\s+(?:its|the)\s+size"
_AMOUNT = r"(?:(?:a\s+)?(?:bit|little|lot|tad)\s+|much\s+|way\s+|slightly\s+|noticeably\s+|significantly\s+|even\s+|more\s+|" \
          r"about\s+|twice\s+as\s+|half\s+as\s+|\d+(?:\.\d+)?\s*(?:x|times|%)\s+)*"


def read(c: Clause, ctx) -> Intent | None:
    t = c.text
    m = re.match(r"^(?:make|get|have|render|turn)\s+(?P<obj>.+?)\s+(?:about\s+|roughly\s+|around\s+)?(?P<f>twice|double|half|"
                 r"three\s+times|\d+(?:\.\d+)?\s*(?:x|times))\s+(?:as\s+big\s+as\s+)?(?:its|the|their)\s+(?:current\s+|original\s+|"
                 r"present\s+)?size$", t)
    if m:
        return _intent(c, m.group("obj"), -1 if m.group("f") == "half" else 1, t)
    m = re.match(r"^(?:make|get|have|render|turn)\s+(?P<obj>.+?)\s+(?:look\s+|appear\s+|be\s+)?" + _AMOUNT
                 + r"(?P<dir>" + _BIGGER + "|" + _SMALLER + r")(?:\s+(?:than\s+.+|in\s+size|size))?$", t)
    if m:
        return _intent(c, m.group("obj"), 1 if re.match(_BIGGER, m.group("dir")) else -1, t)
    m = re.match(r"^(?P<v>enlarge|upsize|grow|scale\s+up|blow\s+up|magnify|shrink|downsize|scale\s+down|reduce|minimi[sz]e|"
                 r"resize|scale)\s+(?P<obj>.+?)(?:\s+(?:by|to)\s+.+|\s+" + _AMOUNT.rstrip("*") + r"*)?$", t)
    if m and not re.match(r"^(?:reduce)\s+(?:the\s+)?(?:brightness|contrast|saturation|noise|size\s+of\s+the\s+(?:image|file))", t):
        verb = m.group("v")
        obj = m.group("obj")
        size_of = re.match(r"^(?:the\s+)?size\s+of\s+(?P<o>.+)$", obj)
        if size_of:
            obj = size_of.group("o")
        elif verb in ("reduce",):
            return None
        direction = -1 if re.match(r"shrink|downsize|scale\s+down|reduce|minimi", verb) else 1
        if verb in ("resize", "scale"):
            f = factor(t)
            if f is None and not re.search(r"\b(?:" + _BIGGER + "|" + _SMALLER + r")\b", t):
                return None
            direction = -1 if (f is not None and f < 1) or re.search(r"\b(?:" + _SMALLER + r")\b", t) else 1
        return _intent(c, obj, direction, t)
    m = re.match(r"^(?:increase|decrease|double|halve|change|set|adjust)\s+(?:the\s+)?(?P<attr>.+?)(?:\s+(?:to|by)\s+(?P<val>.+))?$", t)
    if m:
        attr = attribute(m.group("attr"))
        if attr and attr[0] == "size":
            val = m.group("val") or ""
            down = c.verb in ("decrease", "halve") or re.search(r"\b(?:" + _SMALLER + r"|half|smaller)\b", val)
            if c.verb in ("change", "set", "adjust") and not val:
                return None
            return _intent(c, attr[1], -1 if down else 1, t)
    return None


def _intent(c: Clause, obj: str, direction: int, text: str) -> Intent | None:
    if is_whole(obj) and obj.strip() not in ("it", "them"):
        return None  # the whole picture bigger: an outpaint or an upscale, not an object resize
    if re.search(r"\b(?:back\s*ground|text|font|letters?|brush|blur)\b", obj):
        return None
    f = factor(text)
    if f is None:
        f = 0.5 if re.search(r"\bhalf\b", text) else (1.5 if direction > 0 else 0.67)
    if direction < 0 and f > 1:
        f = round(1 / f, 3)
    if direction > 0 and f < 1:
        f = round(1 / f, 3)
    intent = on_target(c, "resize", obj, None, ratio=round(f, 3))
    return None if intent.where == "none" else intent


def plan(w: Writer, it: Intent, image: Ref) -> Ref:
    what = it.target or "marked object"
    ratio = float(it.params.get("ratio", 1.5))
    w.note(f"The {what} becomes {'larger' if ratio > 1 else 'smaller'} ({ratio:g}× its size) where it stands.")

    def run() -> Ref:
        mask = w.locate(image, it)
        cleared = w.erase(image, mask, what)
        cut = w.add("EXTRACT", {"image": image, "mask": mask})
        scaled = w.add("RESIZE", {"image": Ref(cut, "image"), "mask": None, "ratio": ratio})
        w.note(f"EXTRACT cuts the {what} out of the original (step {cut}); RESIZE scales the cut-out about its centre "
               f"(step {scaled}).")
        top = w.add("COMPOSE", {"image1": cleared, "image2": Ref(scaled, "image"), "mask1": None, "mask2": None})
        w.note(f"COMPOSE lays the scaled {what} over the cleared image (step {top}).")
        return Ref(top, "image")

    return w.choose([(("EXTRACT", "RESIZE", "COMPOSE"), run)], f"resize the {what}")


ACTION = Action("resize", read, plan, bricks=("RESIZE", "COMPOSE"), order=60, says="make an object bigger or smaller")

"""Colour pop: the named object keeps its colour, everything else turns black and white."""

from __future__ import annotations

import re

from ....workflow import Ref
from ..clauses import Clause, Intent
from ..phrases import is_whole
from ..planner import Writer
from . import Action, on_target

_BW = r"(?:black\s+(?:and|&)\s+white|b&w|gr[ae]y(?:scale)?|monochrome|desaturated|colou?rless|without\s+colou?r|in\s+gr[ae]y)"
_BUT = r"(?:except|but|apart\s+from|other\s+than|besides|save\s+for|aside\s+from|excluding|while\s+keeping|keeping)\s+(?:for\s+)?"
_PATTERNS = tuple(re.compile(p) for p in (
    r"^(?:create|make|do|apply|add|use|give|want|need)?\s*(?:me\s+)?(?:a\s+|an\s+)?(?:selective\s+colou?r(?:ing)?|colou?r[\s-]*"
    r"(?:pop|splash)|splash\s+of\s+colou?r)\s*(?:effect\s+|look\s+)?(?:on|for|to|with|of|where)?\s*(?P<t>.+)$",
    r"\b" + _BW + r"\s+" + _BUT + r"(?P<t>.+?)(?:\s+(?:in|which|that)\s+(?:stays?|remains?|keeps?).*)?$",
    r"^(?:make|turn|convert|render|change)\s+(?:everything|all|the\s+(?:image|photo|picture|rest))\s+" + _BUT
    + r"(?P<t>.+?)\s+(?:to\s+|into\s+)?" + _BW + "$",
    r"^(?:keep|leave)\s+(?:only\s+|just\s+)?(?P<t>.+?)\s+(?:in\s+)?(?:(?:its|their|his|her)\s+)?(?:own\s+|original\s+|natural\s+|"
    r"real\s+|true\s+)?(?:colou?r(?:s|ed|ful)?)(?:\s+(?:and|while|but)\s+.*)?$",
    r"^(?:make\s+(?:it\s+)?(?:so\s+)?(?:that\s+)?)?(?:only|just)\s+(?P<t>.+?)\s+(?:should\s+be|stays?|remains?|is|are|in|has|"
    r"have|keeps?)\s+(?:in\s+)?(?:colou?r(?:ed|s)?|its\s+colou?rs?)\b.*$",
    r"^desaturate\s+(?:everything|all|the\s+(?:image|photo|picture|rest|background))\s+" + _BUT + r"(?P<t>.+)$",
    r"^(?:i\s+)?(?:want|need|would\s+like|'d\s+like)\s+(?:only\s+|just\s+)?(?P<t>.+?)\s+in\s+colou?r$",
    r"^(?:pop|splash)\s+(?:the\s+)?colou?rs?\s+(?:of|on)\s+(?P<t>.+)$",
))


def read(c: Clause, ctx) -> Intent | None:
    for rx in _PATTERNS:
        m = rx.search(c.full)
        if m:
            target = m.group("t").strip()
            target = re.sub(r"\s+(?:in\s+colou?r|colou?red|and\s+(?:make|turn)\s+.*|(?:,\s*)?(?:then|and)\s+.*)$", "", target)
            if not target or is_whole(target):
                return None
            intent = on_target(c, "colorpop", target)
            return None if intent.where == "none" else intent
    return None


def plan(w: Writer, it: Intent, image: Ref) -> Ref:
    what = it.target or "marked object"
    w.note(f"The {what} keeps its colour while everything else turns black and white.")

    def pop() -> Ref:
        mask = w.locate(image, it)
        a = w.generic("COLORPOP", image, mask)
        w.note(f"COLORPOP desaturates everything outside the mask (step {a}).")
        return Ref(a, "image")

    def via_style() -> Ref:
        mask = w.locate(image, it)
        n = w.add("INVERSE", {"mask1": None, "mask2": mask})
        a = w.add("STYLE", {"image": image, "mask": Ref(n, "mask"), "prompt": None, "style": "black and white style"})
        w.note(f"Without COLORPOP, INVERSE selects everything but the {what} (step {n}) and STYLE turns it black and "
               f"white (step {a}).")
        return Ref(a, "image")

    return w.choose([(("COLORPOP",), pop), (("INVERSE", "STYLE"), via_style)], f"colour-pop the {what}")


ACTION = Action("colorpop", read, plan, bricks=("COLORPOP",), order=30, says="colour pop")

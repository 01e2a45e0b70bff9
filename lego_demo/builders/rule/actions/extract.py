"""Cut-outs: the named object (or the main subject) on a transparent background, or its mask."""

from __future__ import annotations

import re

from ....workflow import Ref
from ..clauses import Clause, Intent
from ..planner import INIT_MASK, Missing, Writer
from . import Action, on_target

_CUT = re.compile(r"^(?:cut\s+out|cutout|cut|crop\s+out|clip\s+out|lift\s+out|pull\s+out|pick\s+out|extract|isolate|segment|separate|"
                  r"select|mask\s+out|mask|get|give\s+me)\s+(?:only\s+|just\s+)?(?P<t>.+?)(?:\s+(?:out|from\s+(?:the\s+)?"
                  r"(?:back\s*ground|image|picture|photo|rest(?:\s+of\s+the\s+\w+)?|scene)|of\s+the\s+back\s*ground|as\s+(?:a\s+)?"
                  r"(?:png|cut-?out|sticker|mask|layer|separate\s+(?:image|layer|file|object)|new\s+layer).*|(?:and\s+(?:place|put)\s+it\s+)?on\s+(?:a\s+)?transparent.*|with\s+(?:a\s+)?"
                  r"transparent.*|alone|only))*$")
_MAKE = re.compile(r"^(?:make|create|give\s+me|produce|generate)\s+(?:me\s+)?(?:a\s+)?(?:cut-?out|sticker|mask|segmentation|png)\s+"
                   r"(?:of|for|from)\s+(?P<t>.+)$")


def read(c: Clause, ctx) -> Intent | None:
    t = c.text
    m = _CUT.match(t) or _MAKE.match(t)
    if m is None:
        return None
    verb = t.split(" ", 1)[0]
    if verb in ("get", "give", "cut", "select", "mask", "crop", "pull", "pick", "lift", "clip", "separate") and not re.search(
            r"\b(?:out|cut-?out|isolate|transparent|png|sticker|from\s+the\s+back\s*ground|only|just|mask|alone|segment|"
            r"from\s+(?:the|this)\s+(?:image|picture|photo)|(?:of|from)\s+the\s+back\s*ground)\b", t):
        return None
    if re.match(r"^crop\s+out\b", t) and not re.search(r"\b(?:png|transparent|cut-?out|sticker)\b", t):
        return None  # "crop out X" removes X
    mask_only = bool(re.search(r"\b(?:mask|segmentation)\b", t) and not re.search(r"\b(?:png|cut-?out|sticker|transparent)\b", t))
    phrase = m.group("t")
    if re.fullmatch(r"(?:the\s+)?(?:main\s+)?(?:subject|object|foreground|person\s+in\s+front)", phrase.strip()):
        return Intent("extract", c.raw, None, None, "sos", {"mask_only": mask_only})
    intent = on_target(c, "extract", phrase, None, mask_only=mask_only)
    if intent.where == "none":
        intent.where = "sos"
    return intent


def plan(w: Writer, it: Intent, image: Ref) -> list[Ref]:
    what = it.target or "main subject"
    w.note(f"The user wants the {what} on its own (a cut-out), not an edited photo.")
    mask_only = it.params.get("mask_only")

    def with_extract() -> list[Ref]:
        mask = w.locate(image, it) if it.target or it.where in ("init", "maskseg") else w.subject(image)
        if mask_only:
            w.note("The mask itself is the result.")
            return [mask]
        a = w.generic("EXTRACT", image, mask)
        w.note(f"EXTRACT cuts the {what} out with a transparent background (step {a}).")
        return [Ref(a, "image")]

    def seg_image() -> list[Ref]:
        if it.where == "init":
            raise Missing("a cut-out of the marked area", ["EXTRACT"])
        if it.target and it.where != "sos":
            n, brick = w.add("RES", {"image": image, "prompt": w.refine(it.target)}), "RES"
        elif it.where == "maskseg":
            n, brick = w.add("MASK-SEG", {"image": image, "mask": INIT_MASK}), "MASK-SEG"
        else:
            n, brick = w.add("SOS", {"image": image}), "SOS"
        w.note(f"{brick} segments the {what} (step {n}); as in the official release its cut-out image is the result.")
        return [Ref(n, "mask")] if mask_only else [Ref(n, "image")]

    seg = ("MASK-SEG",) if it.where == "maskseg" else ("RES",) if it.target and it.where != "sos" else ("SOS",)
    return w.choose([(("EXTRACT",), with_extract), (seg, seg_image)], f"cut out the {what}")


ACTION = Action("extract", read, plan, bricks=("EXTRACT",), order=57, says="cut out")

"""Recolour an object or change its material: segment it, RCM it (RCM keeps its shading)."""

from __future__ import annotations

import re

from ....workflow import Ref
from ..clauses import Clause, Intent
from ..phrases import attribute, colour_in, colour_value, is_colour, is_whole, strip_instead
from ..planner import Writer
from ..words import COLOR_PHRASE, MATERIALS
from . import Action, on_target

_VERBS = r"(?:make|turn|change|switch|convert|render|transform|alter|modify|set|get|update|adjust|colou?r|paint|dye|tint|" \
         r"recolou?r|repaint|spray\s*paint|have|keep)"
_LINK = re.compile(r"\s+(?:to|into|in|of|look|looks|appear|seem|be|become|with|for|more|all|completely|so\s+(?:it|they)\s+(?:is|are)|"
                   r"look\s+like\s+(?:it'?s|they'?re)?|colou?r(?:ed)?|painted|a|an)$")
_PATTERN = re.compile(r"(?:(?:(?!to\b|into\b|with\b|the\b|a\b|an\b|of\b)\w+\s+){0,2})(?:stripes|striped|polka\s+dots|dots|dotted|checks|checked|checkered|plaid|tartan|"
                      r"floral|spots|spotted|camo|camouflage|leopard\s+print|zebra\s+print)")
_BW = re.compile(r"^(?:black\s+(?:and|&)\s+white|b&w|gr[ae]y\s*scale|monochrome)$")
_MATERIAL_RE = "|".join(sorted((re.escape(m) for m in MATERIALS), key=len, reverse=True))


def read(c: Clause, ctx) -> Intent | None:
    t = c.text
    for rx in (r"^" + _VERBS + r"\s+(?P<obj>.+)\s+(?:from\s+.+?\s+)?(?:to|into)\s+(?P<val>.+)$",
               r"^" + _VERBS + r"\s+(?P<obj>.+?)\s+(?:in|with)\s+(?P<val>.+)$"):
        m = re.match(rx, t)
        attr = attribute(re.sub(r"\s+from\s+.+$", "", m.group("obj"))) if m else None
        if attr and attr[0] in ("colour", "material"):
            return _intent(c, attr[1], m.group("val"), whole_ok=True)
    m = re.match(r"^" + _VERBS + r"\s+(?P<obj>(?:the\s+)?(?:colou?r|shade|material|texture|finish)\s+of\s+.+?)\s+(?P<val>"
                 + COLOR_PHRASE + r")$", t)
    if m:
        return _intent(c, attribute(m.group("obj"))[1], m.group("val"), whole_ok=True)
    m = re.match(r"^give\s+(?P<obj>.+?)\s+(?:a|an|some)\s+(?:(?:fresh|new|nice)\s+)?(?:coat\s+of\s+)?(?P<val>" + COLOR_PHRASE
                 + r")(?:\s+(?:colou?r|finish|paint(?:\s*job)?|coat|look|tint|shade|tone|makeover))?$", t)
    if m:
        return _intent(c, m.group("obj"), m.group("val"))
    m = re.match(r"^" + _VERBS + r"\s+(?P<obj>.+?)\s+(?:look\s+like\s+(?:it'?s|they'?re|it\s+is|they\s+are)\s+|to\s+be\s+|be\s+)?"
                 r"(?:made\s+(?:out\s+)?of|out\s+of|from)\s+(?P<val>(?:" + _MATERIAL_RE + r")(?:\s+\w+)?)$", t)
    if m:
        return _intent(c, m.group("obj"), m.group("val"))
    m = re.match(r"^make\s+(?P<obj>.+?)\s+with\s+(?P<val>" + COLOR_PHRASE + r")\s+(?P<part>hair|eyes|fur|skin|lips|nails|"
                 r"wings|feathers|leaves|petals|roof|door|wheels)$", t)
    if m:
        owner = re.sub(r"^(?:the|a|an)\s+", "", m.group("obj"))
        return _intent(c, f"{owner}'s {m.group('part')}", m.group("val"))
    m = re.match(r"^(?:make|turn|paint|change|give)\s+(?P<obj>.+?)\s+(?:to\s+|into\s+|with\s+|a\s+)?(?P<val>" + _PATTERN.pattern
                 + r")(?:\s+pattern)?$", t)
    if m and attribute(m.group("obj")) is None:
        return _intent(c, m.group("obj"), m.group("val"))
    m = re.match(r"^" + _VERBS + r"\s+(?P<rest>.+)$", t)
    if m:
        rest = strip_instead(m.group("rest"))
        colour = colour_in(rest)
        if colour:
            cm = re.search(r"(?:^|\s)(" + COLOR_PHRASE + r")\s*$", rest)
            obj, phrase = rest[: cm.start()].strip(), cm.group(1)
            while (not obj or re.fullmatch(r"(?:the|a|an|my|his|her|their|its|this|that)", obj)) and " " in phrase \
                    and colour_in(phrase.split(" ", 1)[1]):
                head, phrase = phrase.split(" ", 1)  # "the" + "sky orange" -> "the sky" + "orange"
                obj = f"{obj} {head}".strip()
            for _ in range(4):
                obj = _LINK.sub("", obj).strip()
            obj = re.split(r"\s+(?:look|looks|appear|seem)\s+", obj)[0]
            if obj:
                return _intent(c, obj, phrase)
    return None


# colour words that are things too: "turn the apple into an orange" swaps the apple
_THINGS = frozenset("orange lime peach rose lemon cherry plum chocolate caramel ivory gold jade ruby sapphire amber coral "
                    "salmon olive mint wine sand rust cream pearl copper bronze silver brick stone glass ice paper".split())


def _intent(c: Clause, obj: str, value: str, whole_ok: bool = False) -> Intent | None:
    if re.fullmatch(r"(?:a|an)\s+(\w+)", value.strip()) and value.split()[-1] in _THINGS:
        return None
    value = colour_value(strip_instead(value.strip(" ,.")))
    if not value or _BW.match(value):
        return None  # black and white is a style
    if re.search(r"\b(?:back\s*ground|backdrop)\b", obj):
        return None
    if is_whole(obj) and obj.strip() not in ("it", "them", "this", "that") and not whole_ok:
        return None
    if not is_colour(value) and not re.search(r"\b(?:" + _MATERIAL_RE + r")\b", value) and not _PATTERN.fullmatch(value):
        return None
    intent = on_target(c, "recolor", obj, value)
    if intent.where == "none":
        return None
    return intent


def plan(w: Writer, it: Intent, image: Ref) -> Ref:
    what = it.target or "marked area"
    colour = it.value or "a new colour"
    w.note(f"The object is '{what}'; only its colour or material changes, to {colour}.")
    mask = w.locate(image, it)

    def rcm() -> Ref:
        a = w.add("RCM", {"image": image, "mask": mask, "prompt": colour})
        w.note(f"RCM recolours the masked {what} to {colour} (step {a}).")
        return Ref(a, "image")

    return w.choose([(("RCM",), rcm)], f"recolour the {what}")


ACTION = Action("recolor", read, plan, bricks=("RCM",), order=70, says="recolour or change the material")

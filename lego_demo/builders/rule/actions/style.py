"""Styles: the whole image, or one object, rendered in a style (STYLE; the official way adds a
CMI-PRED caption, used when asked for)."""

from __future__ import annotations

import re

from ....workflow import Ref
from ..clauses import Clause, Intent
from ..phrases import attribute, is_whole, noun_phrase
from ..planner import Writer
from ..words import STYLE_RE, STYLES, WEAK_STYLES
from . import Action, on_target

_TAIL = r"(?:\s+(?:style|painting|look|version|filter|effect|illustration|render(?:ing)?|drawing|art(?:work)?|photo(?:graph)?|" \
        r"picture|image|scene|aesthetic|movie|film|game|video\s+game|poster|comic|scene|sketch|print|kind\s+of\s+thing|tone|tones|" \
        r"animation|frame|still|artwork|piece|vibe|vibes|feel|mood|treatment|edition|shot|pic))*" \
        r"(?:\s+on\s+(?:\w+\s+)?(?:paper|canvas|parchment|board|wood))?" \
        r"(?:\s+(?:to|on|for)\s+(?:the\s+)?(?:whole\s+|entire\s+)?(?:image|picture|photo|scene|thing|it|everything))?" \
        r"(?:,?\s+with\s+.+)?"
_LINK = r"(?:into|to|in|as|like|look\s+like|looks\s+like|seem\s+like|feel\s+like|appear|with|using|in\s+the\s+style\s+of|a|an|" \
        r"the\s+style\s+of)"
_ARTIST = re.compile(r"\blike\s+(?P<w>[a-z][\w\s.-]{1,30}?)\s+would(?:\s+(?:paint|draw|do|make)\s+it)?$|"
                     r"\b(?:in\s+(?:the\s+)?style\s+of|like\s+(?:a\s+)?(?:painting|picture|work|drawing)\s+(?:by|of)|(?:as|like)\s+"
                     r"(?:if\s+)?(?:painted|drawn)\s+by|painted\s+by|by\s+the\s+painter)\s+(?P<a>.+)$")


def read(c: Clause, ctx) -> Intent | None:
    t = c.text
    if c.verb in ("cartoonify", "cartoonize", "cartoonise"):
        return _intent(c, c.rest or None, "cartoon style")
    if re.match(r"^(?:remove|drop|strip|take\s+out)\s+(?:all\s+)?(?:the\s+)?colou?rs?$", t):
        return Intent("style", c.raw, None, "black and white style", "none")
    m = re.match(r"^(?:change|set|switch|update|alter|make)\s+(?P<obj>.+?)\s+(?:to|into|as)\s+(?P<val>.+)$", t)
    if m and re.fullmatch(r"(?:the\s+)?(?:art\s+|image\s+|photo\s+|overall\s+)?style", m.group("obj")):
        return _intent(c, None, _style_name(m.group("val")))
    if m and attribute(m.group("obj")) and attribute(m.group("obj"))[0] == "style":
        return _intent(c, attribute(m.group("obj"))[1], _style_name(m.group("val")))
    m = _ARTIST.search(t)
    if m and c.group in ("make", "change", "style", "recolor", None):
        head = re.sub(r"\s+(?:into|as|in)\s+(?:a|an)\s+(?:painting|drawing|picture|sketch|illustration)\s*$", "", t[: m.start()])
        obj = re.match(r"^(?:make|turn|render|convert|change|paint|draw|redo|redraw|reimagine|restyle)\s+(?P<o>.+?)\s+" + _LINK
                       + r"?\s*$", head + " ")
        name = m.group("a") or m.group("w")
        known = STYLE_RE.search(name)
        artist = re.split(r",|\s+with\s+", noun_phrase(name) or name)[0].strip()
        return _intent(c, obj.group("o") if obj else None, STYLES[known.group(1)] if known else f"{artist} style")
    if c.group in ("remove", "hide", "extract", "rotate", "flip", "crop", "brighten", "write"):
        return None
    hits = list(STYLE_RE.finditer(t))
    if not hits:
        m = re.search(r"(?:^|\s)(?:an?\s+|the\s+)?(?P<s>[\w-]+(?:\s+[\w-]+)?)\s+style\b(?!\s+of)", t)
        if m and c.group in ("make", "change", "style", "add", None) and not re.match(
                r"^(?:the|a|an|different|new|another|this|that|same|some|hair|its|his|her|my|it|art)$", m.group("s")):
            return _placed(c, t, m.start("s"), f"{m.group('s')} style")
        return None
    hit = next((h for h in hits if re.fullmatch(_TAIL + r"(?:\s+(?:please|instead|for\s+me))?\s*", t[h.end():])), None)
    if hit is None:
        return None  # the style word describes something else ("a vintage bicycle")
    key = hit.group(1)
    if key in WEAK_STYLES and t[: hit.start()].strip() and not re.search(r"\b(?:style|look|like|into|as|version|filter|effect|render|drawn|painted|turn|convert|"
                                            r"make\s+(?:it|this|the\s+\w+)\s+(?:a|an)|apply|in\s+(?:a\s+)?(?:pencil\s+)?(?:sketch|"
                                            r"painting|drawing))\b", t) and c.group is not None:
        return None
    return _placed(c, t, hit.start(), STYLES[key])


def _placed(c: Clause, t: str, start: int, style: str) -> Intent | None:
    """The style's target: what stands between the verb and the style words."""
    head = re.sub(r"\b(?:really|very|super|quite|totally|kind\s+of|sort\s+of|more|a\s+bit|a\s+little|cool|nice|beautiful|proper|"
                  r"classic|real|full|true|way)\b", " ", t[:start])
    head = re.sub(r"\s+", " ", head).strip()
    if not head:
        return _intent(c, None, style)
    m = re.match(r"^(?:make|turn|render|convert|change|transform|paint|draw|redo|redraw|reimagine|restyle|stylize|stylise|"
                 r"set|get|do|give|have|keep|switch|show|style|photo|picture|image|put|place|redo)\b\s*(?P<o>.*?)(?:\s*\b(?:" + _LINK + r"))*\s*$", head)
    if m is None:
        am = re.match(r"^(?:apply|add|use|give)\b", head)
        if am:
            on = re.search(r"\b(?:to|on)\s+(?:only\s+|just\s+)?(?P<o>.+)$", t[start:])
            return _intent(c, on.group("o") if on else None, style)
        return None
    obj = re.split(r"\s+(?:into|to|as|like|look\s+like|looks\s+like|in|of)\s+", " " + m.group("o") + " ", maxsplit=1)[0].strip()
    obj = re.sub(r"\s+(?:looks?|appears?|seems?)$", "", obj)
    return _intent(c, obj or None, style)


def _style_name(value: str) -> str:
    value = value.strip(" ,.")
    hit = STYLE_RE.search(value)
    if hit:
        return STYLES[hit.group(1)]
    value = re.sub(r"^(?:a|an|the)\s+", "", value)
    return value if value.endswith("style") else f"{value} style"


def _intent(c: Clause, obj: str | None, style: str) -> Intent | None:
    if obj is None or is_whole(obj) or re.match(r"^(?:only\s+)?(?:the\s+)?(?:style|look|image|whole\s+thing)$", obj.strip()) \
            or STYLE_RE.fullmatch(obj.strip()):
        return Intent("style", c.raw, None, style, "none")
    if re.search(r"\b(?:style|filter|effect|look)\b", obj):
        return Intent("style", c.raw, None, style, "none")
    return on_target(c, "style", re.sub(r"^(?:only|just)\s+", "", obj), style)


def plan(w: Writer, it: Intent, image: Ref) -> Ref:
    name = it.value or "painting style"
    mask = None
    if it.target is not None or it.where in ("init", "maskseg"):
        w.note(f"Only the {it.target or 'marked area'} takes the {name}.")
        mask = w.locate(image, it)
    elif "background" in w.keep:
        w.note("The feedback keeps the background, so the style applies to the main subject only.")
        mask = w.subject(image)
    else:
        w.note(f"The whole image is rendered in {name}.")

    def with_caption() -> Ref:
        c = w.add("CMI-PRED", {"image": image})
        a = w.generic("STYLE", image, mask, values={"prompt": Ref(c, "caption"), "style": name})
        w.note(f"CMI-PRED captions the image (step {c}) so STYLE keeps its content while drawing it in {name} (step {a}).")
        return Ref(a, "image")

    def bare() -> Ref:
        a = w.generic("STYLE", image, mask, values={"prompt": None, "style": name})
        w.note(f"STYLE renders it in {name} (step {a}); its caption prompt is left null, since the style "
               "engines here read the image itself (a CMI-PRED caption is used when asked for).")
        return Ref(a, "image")

    # the caption only helps a generative STYLE engine, and captioning needs a model: plain STYLE first
    return w.choose([(("STYLE",), bare), (("CMI-PRED", "STYLE"), with_caption)], f"apply {name}")


ACTION = Action("style", read, plan, bricks=("STYLE",), order=52, says="style transfer")

"""Text: write words on the image, or replace words already in it (TEXT finds them by OCR)."""

from __future__ import annotations

import re

from ....types import ValueType
from ....workflow import Ref
from ..clauses import Clause, Intent
from ..phrases import noun_phrase
from ..planner import INIT_MASK, Missing, Writer
from . import Action

_TEXTY = r"\b(?:text|caption|title|words?|writing|label|saying|that\s+says|reading|watermark|slogan|headline|quote|message|" \
         r"signature|banner|sign|letters?|lettering)\b"


def as_typed(instruction: str, words: str) -> str:
    """Words to write as the user typed them: clauses are read in lower case, but new text keeps
    its capitals ("replace the text with HELLO WORLD")."""
    at = instruction.lower().find(words.lower())
    return instruction[at:at + len(words)] if at >= 0 else words


def read(c: Clause, ctx) -> Intent | None:
    t = c.text
    q = c.quoted()
    m = re.search(r"\b(?:replace|change|swap|switch|edit|alter|update|correct|fix|turn|rename)\s+(?:the\s+)?(?:text|word|words|"
                  r"writing|sign|label|caption|title|banner)?\s*(?:on\s+(?:the\s+)?[\w\s]+?\s+)?(?:from\s+)?qtx(\d+)\s+"
                  r"(?:(?:on|in|at)\s+(?:the\s+)?[\w\s]+?\s+)?"
                  r"(?:with|to|into|for|by)\s+(?:the\s+(?:text|word|words)\s+)?qtx(\d+)", t)
    if m:
        return Intent("text", c.raw, None, c.quotes[int(m.group(2))], "none", {"mode": "replace", "old": c.quotes[int(m.group(1))]})
    m = re.search(r"\b(?:change|make|edit|update|set|have)\s+(?:the\s+)?(.{0,40}?)\s*(?:to\s+(?:say|read)|so\s+(?:that\s+)?it\s+"
                  r"(?:says|reads)|say|read)\s+qtx(\d+)", t)
    if m:
        return Intent("text", c.raw, noun_phrase(m.group(1)), c.quotes[int(m.group(2))], "none", {"mode": "replace", "old": None})
    # "replace the text with …": the text already there, whatever it says (TEXT replace="all")
    m = re.search(r"\b(?:replace|change|swap|switch|edit|update|turn)\s+(?:all\s+(?:of\s+)?)?(?:the\s+)?"
                  r"(?:text|writing|words|lettering)\s+(?:with|to|into|for|by)\s+(?:the\s+(?:text|words?)\s+)?"
                  r"(qtx(\d+)|[^,;]+)$", t)
    if m:
        new = c.quotes[int(m.group(2))] if m.group(2) else m.group(1).strip()
        return Intent("text", c.raw, None, new, "none", {"mode": "replace", "old": None})
    # "change the title to "…"": one line of the text, found by RES
    m = re.search(r"\b(?:replace|change|swap|switch|edit|update|turn)\s+(?:the\s+)?(title|heading|headline|caption|"
                  r"label|sign)\s+(?:with|to|into|for|by)\s+qtx(\d+)", t)
    if m:
        return Intent("text", c.raw, m.group(1), c.quotes[int(m.group(2))], "none", {"mode": "replace", "old": None})
    if q and (c.group in ("add", "write") or re.search(_TEXTY, t)):
        where = re.search(r"qtx\d+\s+(?:on|at|in|to|across|along|over|under|above|below|onto)\s+(?:the\s+)?(.+)$", t) or \
            re.search(r"\b(?:on|at|in|across|over|onto)\s+(?:the\s+)?(.+?)\s+qtx\d+", t)
        place = noun_phrase(where.group(1)) if where else None
        if place and re.match(r"^(?:image|picture|photo|it)$", place):
            place = None
        return Intent("text", c.raw, None, q[0], "none", {"mode": "add", "place": place})
    m = re.match(r"(?:write|type|print)\s+(?:the\s+(?:text|words?)\s+)?(.+?)(?:\s+(?:on|at|in|across|over|onto)\s+(?:the\s+)?(.+))?$", t)
    if m and c.group == "write" and not re.match(r"^(?:it|this|that|them|something|anything)$", m.group(1).strip()):
        return Intent("text", c.raw, None, m.group(1).strip(), "none", {"mode": "add", "place": noun_phrase(m.group(2))})
    m = re.match(r"(?:add|put|place|insert)\s+(?:a\s+|the\s+)?(?:text|caption|title|label|headline|slogan)\s+(?:saying|that\s+says|"
                 r"reading|with|of)\s+(.+?)(?:\s+(?:on|at|in|across|over|onto)\s+(?:the\s+)?(.+))?$", t)
    if m:
        return Intent("text", c.raw, None, m.group(1).strip(), "none", {"mode": "add", "place": noun_phrase(m.group(2))})
    return None


_POSITIONS = (("top left", "top-left"), ("top right", "top-right"), ("bottom left", "bottom-left"),
              ("bottom right", "bottom-right"), ("upper left", "top-left"), ("upper right", "top-right"),
              ("lower left", "bottom-left"), ("lower right", "bottom-right"), ("corner", "bottom-right"),
              ("top", "top"), ("bottom", "bottom"), ("middle", "centre"), ("center", "centre"),
              ("centre", "centre"), ("left", "left"), ("right", "right"))


def position(place: str) -> str | None:
    p = place.lower()
    if not re.fullmatch(r"(?:the\s+)?(?:very\s+)?(?:top|bottom|upper|lower|middle|center|centre|left|right|corner)(?:[\s-]+(?:left|"
                        r"right|corner|side|edge|part|of\s+the\s+(?:image|picture|photo)))*", p):
        return None
    return next((pos for word, pos in _POSITIONS if re.search(r"\b" + word + r"\b", p)), None)


def plan(w: Writer, it: Intent, image: Ref) -> Ref:
    words = it.value or ""
    mode = it.params.get("mode", "add")
    spec = w.registry.resolve("TEXT")
    w.note(f"The request {'replaces text with' if mode == 'replace' else 'writes'} \"{words}\".")

    def run() -> Ref:
        assert spec is not None
        strs = [n for n, p in spec.inputs.items() if p.type is ValueType.STR]
        text_key = next((n for n in strs if n in ("text", "content", "words", "prompt", "new_text", "new")), strs[0] if strs else None)
        if text_key is None:
            raise Missing("text to write", ["TEXT with a Str input"])
        values: dict = {text_key: words}
        old_key = next((n for n in strs if n in ("old", "old_text", "replace", "find", "target")), None)
        pos_key = next((n for n in strs if n in ("position", "place", "where", "location", "anchor")), None)
        if old_key:
            values[old_key] = (it.params.get("old") or "all") if mode == "replace" else None
        place = it.params.get("place")
        pos = position(place) if place else None
        if pos_key and pos:
            values[pos_key] = pos
        mask = None
        has_mask_input = any(p.type is ValueType.MASK for p in spec.inputs.values())
        if has_mask_input and mode == "add":
            if it.where == "init" or w.has_mask:
                mask = INIT_MASK
            elif place and not pos:
                mask = w.locate_named(image, place)
                w.note(f"The text goes on the {place}, so its mask says where to write.")
        elif has_mask_input and mode == "replace" and it.target and not it.params.get("old"):
            mask = w.locate_named(image, it.target)
        for n in strs:
            if n not in values and not spec.inputs[n].optional:
                values[n] = words
        a = w.generic("TEXT", image, mask, values=values)
        w.note(f"TEXT renders the words (step {a}).")
        return Ref(a, "image")

    return w.choose([(("TEXT",), run)], "write text")


ACTION = Action("text", read, plan, bricks=("TEXT",), order=10, says="add or replace text")

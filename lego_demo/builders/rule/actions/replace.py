"""Replace an object with another, or redraw it with a new shape, viewpoint or pattern:
remove it, then add the new one where it was (two atomic edits, as the official Builder does)."""

from __future__ import annotations

import re

from ....workflow import Ref
from ..clauses import Clause, Intent
from ..phrases import (
    area,
    article,
    attribute,
    bare,
    is_colour,
    is_pronoun,
    is_whole,
    noun_phrase,
    strip_instead,
)
from ..planner import Writer
from ..words import ENV_RE, SCENE_RE, STYLE_RE
from . import Action, on_target

_PATTERNS = tuple(re.compile(p) for p, _ in (
    (r"^substitute\s+(?P<b>.+?)\s+for\s+(?P<a>.+)$", False),
    (r"^(?:replace|swap|exchange|switch|substitute|trade)\s+(?:out\s+)?(?P<a>.+\s+(?:held|worn|carried|owned|used|driven|"
     r"ridden)\s+by\s+.+?)\s+(?:with|for|by)\s+(?P<b>(?:a|an|the|some|one)\s.+)$", False),
    (r"^(?:replace|swap|exchange|switch|substitute|trade)\s+(?:out\s+)?(?P<a>.+?)\s+(?:with|for|by|to|into|and\s+put|"
     r"and\s+use)\s+(?P<b>.+)$", False),
    (r"^(?:turn|change|transform|convert|morph|make|modify|alter|redraw|redo|reimagine)\s+(?P<a>.+?)\s+(?:into|in\s+to|"
     r"to\s+become|become|as)\s+(?P<b>.+)$", False),
    (r"^(?:change|switch|modify|alter|update|set|transform|convert|morph)\s+(?P<a>.+?)\s+(?:to|for|with)\s+(?P<b>.+)$", False),
    (r"^make\s+(?P<a>.+?)\s+(?P<b>(?:a|an)\s+(?!bit\b|little\b|lot\b|tad\b).+)$", False),
    (r"^make\s+(?P<a>.+?)\s+(?P<b>with\s+.+)$", False),
    (r"^(?:put|place|use|add|draw|insert|have|show)\s+(?P<b>.+?)\s+instead\s+of\s+(?P<a>.+)$", False),
    (r"^instead\s+of\s+(?P<a>.+?),?\s+(?:put|place|use|add|have|show|draw|insert|i\s+want)\s+(?P<b>.+)$", False),
    (r"^(?:i\s+want|let'?s\s+have|have)\s+(?P<b>.+?)\s+instead\s+of\s+(?P<a>.+)$", False),
    (r"^(?P<b>[^,]+?)\s+instead\s+of\s+(?P<a>.+)$", False),
))
_NOT_OBJECTS = ("here", "there", "me", "us", "you")
# how each redrawn attribute reads in the new object's description
_REDRAW = {"viewpoint": "{obj} seen from {val}", "view": "{obj} seen from {val}", "angle": "{obj} seen from {val}",
           "perspective": "{obj} seen from {val}", "pattern": "{obj} with a {val} pattern",
           "design": "{obj} with a {val} design", "print": "{obj} with a {val} print"}


_STATE = re.compile(r"^(?:make|have|get)\s+(?P<a>.+?)\s+(?:look\s+|appear\s+|seem\s+)?(?:to\s+be\s+)?(?P<s>open|opened|closed|shut|"
                    r"lit|on|off|broken|new|brand\s+new|old|older|clean|cleaner|dirty|wet|dry|empty|full|ripe|rotten|melted|frozen|"
                    r"burning|on\s+fire|cracked|rusty|shiny|glowing|turned\s+on|switched\s+on|turned\s+off|switched\s+off)$")
_SWITCH = re.compile(r"^(?:turn|switch|light)\s+(?P<a>.+?)\s+(?P<s>on|off|up)$|^(?:turn|switch)\s+(?P<s2>on|off)\s+(?P<a2>.+)$")


def read(c: Clause, ctx) -> Intent | None:
    t = c.text
    m = _STATE.match(t)
    if m and not is_whole(m.group("a")):
        state = {"on": "switched on", "off": "switched off", "lit": "lit"}.get(m.group("s"), m.group("s"))
        intent = on_target(c, "replace", m.group("a"), article(f"{state} {bare(m.group('a'))}" if " " not in state
                                                               else f"{bare(m.group('a'))} {state}"))
        if intent.where != "none":
            intent.params["old"] = intent.target or "marked object"
            return intent
    m = _SWITCH.match(t)
    if m:
        obj, state = (m.group("a"), m.group("s")) if m.group("a") else (m.group("a2"), m.group("s2"))
        state = {"on": "switched on", "up": "lit up", "off": "switched off"}[state]
        intent = on_target(c, "replace", obj, article(f"{bare(obj)} {state}"))
        if intent.where != "none":
            intent.params["old"] = intent.target or "marked object"
            return intent
    for rx in _PATTERNS:
        m = rx.match(t)
        if not m:
            continue
        old, new = m.group("a").strip(), strip_instead(m.group("b").strip(" ,."))
        new = re.sub(r"^(?:be|become)\s+", "", new)  # "change the cup to be a glass"
        if old in _NOT_OBJECTS or (rx.pattern.startswith("^make") and re.search(
                r"\b(?:wear|wearing|hold|holding|carry|have|get|look|be|become|seem|appear)\b", old)):
            continue
        attr = attribute(old)
        if attr is not None:
            return _redraw(c, attr, new)
        new_bare = bare(new)
        named = bool(re.match(r"^(?:a|an)\s", new)) and not re.search(r"\bone$", new)
        if not new_bare or (is_whole(old) and not area(old) and not is_pronoun(old)) or re.search(r"\bback\s*ground|backdrop\b", old):
            continue
        if (is_colour(new_bare) and not named) or re.match(r"^(?:made\s+of|out\s+of|from)\s", new_bare):
            return None  # a recolour
        colour_one = re.match(r"^(?:a\s+|an\s+)?(.+?)\s+one$", new)
        if colour_one and is_colour(colour_one.group(1)):
            return None  # "the blue chair for a red one": a recolour
        if (STYLE_RE.fullmatch(new_bare) and not named) or re.search(r"\bstyle\b", new_bare):
            return None
        if ENV_RE.fullmatch(new_bare) or re.match(r"^(?:look|be|become|appear)\b", new_bare):
            return None
        if re.search(r"\b(?:video|gif|animation|movie|film|3d\s+model|sound|song|pdf|document|painting|drawing|sketch|"
                     r"cartoon|illustration)\b", new_bare) and is_whole(old):
            return None  # another medium: nothing here makes it
        if re.fullmatch(r"[\w\s-]{1,30}\s+(?:setting|scene|scenery|background|backdrop|surroundings|environment)", new_bare) or (
                SCENE_RE.fullmatch(bare(old)) and SCENE_RE.search(new_bare) and not named):
            return None  # "the office … to a beach setting": a new background
        ones = re.match(r"^(?P<d>.*?)\b(?P<n>ones?)$", new)
        if ones and noun_phrase(old):  # "replace the clouds with real looking ones"
            head = noun_phrase(old).split(" ")[-1]
            new = ones.group("d") + (head if ones.group("n") == "ones" or not head.endswith("s") else head[:-1])
        value = article(new) if not new.startswith("with ") else f"{bare(old)} {new}"
        intent = on_target(c, "replace", old, value)
        if intent.where == "none":
            continue
        intent.params["old"] = intent.target or "marked object"
        return intent
    return None


def _redraw(c: Clause, attr: tuple[str, str], value: str) -> Intent | None:
    kind, obj = attr
    if kind not in ("redraw", "hairstyle"):
        return None  # colour, size, style, … have their own actions
    word = re.search(r"\b(shape|form|viewpoint|view|angle|perspective|pattern|design|type|kind|breed|species|model|print|"
                     r"brand|make|age|number)\b", c.text)
    name = word.group(1) if word else "look"
    target = obj
    val = bare(value)
    if kind == "hairstyle":
        obj = {"him": "his", "her": "her", "them": "their", "me": "my", "us": "our"}.get(obj.strip(), f"{bare(obj)}'s")
        target, phrase = f"{obj} hair", f"{val} hairstyle" if "cut" not in val else val
    elif name in _REDRAW:
        phrase = _REDRAW[name].format(obj=bare(obj), val=val)
    elif name in ("shape", "form"):
        phrase = f"{val}-shaped {bare(obj)}" if " " not in val else f"{bare(obj)} in the shape of {article(val)}"
    else:  # type, breed, model, …: the value is the new thing
        phrase = val if len(val.split()) > 1 else f"{val} {bare(obj)}"
    intent = on_target(c, "replace", target, article(phrase))
    intent.params["old"] = intent.target or "marked object"
    return intent


def plan(w: Writer, it: Intent, image: Ref) -> Ref:
    old = it.target or it.params.get("old") or "marked object"
    new = it.value or "an object"
    w.note(f"Swapping '{old}' for '{new}' is two atomic edits: remove the {old}, then add {new} in its place.")
    mask = w.locate(image, it)
    cleared = w.erase(image, mask, old)
    out = w.place(cleared, f"{new} where the {old} was", new, mask)
    w.last_mask = mask
    return out


ACTION = Action("replace", read, plan, bricks=("FASTINPAINT", "INPAINT", "ADD-PRED", "FILL"), order=80,
                says="replace/swap")

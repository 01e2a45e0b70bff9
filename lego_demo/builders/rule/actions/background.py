"""A new background: segment the subject (RES for a named one, else SOS), INVERSE it, then CBG
paints the new background there (or BLUR-REGION blurs it)."""

from __future__ import annotations

import re

from ....workflow import Ref
from ..clauses import Clause, Intent
from ..phrases import is_whole, noun_phrase, strip_instead
from ..planner import Writer
from ..words import SCENE_RE
from . import Action, on_target

_BG = r"(?:back\s*ground|backdrop|setting|scenery|surroundings|environment|bg)"
_BLUR = re.compile(r"\b(?:blur(?:red|ry)?|bokeh|soften(?:ed)?|defocus(?:ed)?|out\s+of\s+focus|shallow\s+depth(?:[\s-]+of[\s-]+field)?|"
                   r"more\s+blur|less\s+sharp|fuzzy|hazy)\b")
_REMOVE = re.compile(r"^(?:remove|delete|erase|clear|get\s+rid\s+of|drop|take\s+out|eliminate|cut\s+out|strip|lose|no)\b")
_HEAD = r"^(?:change|replace|swap|switch|set|make|turn|use|give|update|alter|transform|convert|put|paint|colou?r|edit|modify|redo)\s+" \
        r"(?:the\s+|my\s+|this\s+|its\s+|his\s+|her\s+|their\s+)?(?:(?P<old>[\w\s'-]{1,30}?)\s+)?" + _BG
_CHANGE_TO = re.compile(_HEAD + r"(?:\s+(?:of|behind|around)\s+(?P<subj>.+?))?\s+(?:from\s+.+?\s+)?(?:to|with|into|for|by|as|so\s+"
                        r"(?:it|that\s+it)\s+(?:is|shows|looks\s+like)|look\s+like|looks\s+like|like|be|in)\s+(?P<val>.+)$")
_CHANGE_BARE = re.compile(_HEAD + r"\s+(?P<subj>)(?P<val>.+)$")
_MOVE = re.compile(r"^(?:put|place|move|transport|teleport|set|show|bring|take|send|drop)\s+(?P<subj>.+?)\s+(?:in|on|into|at|onto|"
                   r"inside|under|to|in\s+front\s+of|by|near)\s+(?P<val>.+)$")
_SCENE_CHANGE = re.compile(r"^(?:change|turn|transform|convert|make)\s+(?P<old>.+?)\s+(?:to|into)\s+(?P<val>.+?)\s+"
                           r"(?:setting|scene|scenery|background|backdrop|environment|location)$")


def read(c: Clause, ctx) -> Intent | None:
    t = c.text
    m = _SCENE_CHANGE.match(t)
    if m and SCENE_RE.search(m.group("old")):
        return _intent(c, None, "scene", _scene(m.group("val")))
    m = re.match(r"^(?:put|place|set|show|paste|move)\s+(?P<subj>.+)\s+(?:on|onto|against|in\s+front\s+of|over)\s+(?:a\s+|an\s+|the\s+)?"
                 r"(?P<val>[\w-]+(?:\s+[\w-]+)?)\s+" + _BG + r"$", t)
    if m:
        if re.match(r"^(?:transparent|clear|see-?through|empty|alpha)$", m.group("val")):
            return on_target(c, "extract", m.group("subj"), None, transparent=True)
        return _intent(c, m.group("subj"), "scene", m.group("val"))
    if not re.search(r"\b" + _BG + r"\b", t):
        m = _MOVE.match(t)
        moved = m is not None and re.match(r"^(?:move|transport|teleport)\b", t) is not None
        if m and (SCENE_RE.search(m.group("val")) or moved) and not re.search(r"\b(?:sky|wall|table|floor)\b", m.group("subj")) \
                and not re.match(r"^(?:a|an|some|two|three|several|\d+)\s", m.group("subj")):
            subj = m.group("subj")
            if subj.strip() in ("it", "them") and c.topic:
                return Intent("background", c.raw, subj.strip(), _scene(m.group("val")), "pronoun", {"mode": "scene"})
            subject = None if re.match(r"^(?:him|her|them|it|this|me|us|the\s+subject|everyone|everything)$", subj) else subj
            return _intent(c, subject, "scene", _scene(m.group("val")))
        return None
    if _REMOVE.match(t) and re.match(r"^\w+(?:\s+rid\s+of|\s+out)?\s+(?:the\s+|my\s+|this\s+)?" + _BG + r"\b", t):
        sub = re.search(r"\b(?:behind|around|of)\s+(?P<s>.+)$", t)
        return _intent(c, sub.group("s") if sub else None, "remove", "plain white")
    if re.match(r"^(?:blur|soften|defocus|bokeh)\s+(?:out\s+)?(?:the\s+|my\s+|this\s+)?" + _BG + r"\b", t):
        sub = re.search(r"\b(?:behind|around|of)\s+(?P<s>.+)$", t)
        return _intent(c, sub.group("s") if sub else None, "blur", "blur")
    m = _CHANGE_TO.match(t) or _CHANGE_BARE.match(t)
    if m is None:
        m2 = re.match(r"^(?:give\s+(?:me\s+|it\s+|this\s+)?|i\s+want\s+|add\s+)(?:a\s+)?(?:new|different|another|nicer|better)\s+"
                      + _BG + r"(?:\s+(?:of|with|showing)\s+(?P<val>.+))?$", t)
        if m2:
            return _intent(c, None, "scene", _scene(m2.group("val")) if m2.group("val") else "a different scene")
        return None
    subject = m.group("subj") or None
    value = strip_instead(m.group("val").strip(" ,."))
    value = re.sub(r"^(?:a\s+|an\s+)?(?:new\s+)?" + _BG + r"\s+(?:of|with|showing)\s+", "", value)
    value = re.sub(r"\s+" + _BG + r"$", "", value)
    if not value:
        return None
    if _BLUR.search(value):
        return _intent(c, subject, "blur", "blur")
    if re.match(r"^(?:transparent|alpha|see-?through|invisible)$", value):
        return Intent("extract", c.raw, noun_phrase(subject) if subject else None, None,
                      "res" if subject else "sos", {"transparent": True})
    if re.match(r"^(?:darker|brighter|lighter|dimmer|more\s+\w+|less\s+\w+)$", value):
        return None  # a tone change of the background
    return _intent(c, subject, "scene", _scene(value))


def _scene(value: str | None) -> str:
    return re.sub(r"\s+(?:instead|please|now)$", "", (value or "").strip(" ,."))


def _intent(c: Clause, subject: str | None, mode: str, value: str) -> Intent:
    subj = noun_phrase(subject) if subject else None
    if subj and (is_whole(subj) or subj in ("him", "her", "them", "me", "us", "subject", "main subject")):
        subj = None
    return Intent("background", c.raw, subj, value, "res" if subj else "sos", {"mode": mode})


def plan(w: Writer, it: Intent, image: Ref) -> Ref:
    mode = it.params.get("mode", "scene")
    value = it.value or "a different scene"
    subject = it.target
    w.note(f"The background changes ({'blurred' if mode == 'blur' else value}); the "
           f"{subject or 'main subject'} stays.")

    def bg_mask() -> Ref:
        sub = w.locate_named(image, subject) if subject else w.subject(image)
        n = w.add("INVERSE", {"mask1": None, "mask2": sub})
        w.note(f"INVERSE with a null mask1 turns the subject mask into the background mask (step {n}).")
        return Ref(n, "mask")

    prompt = {"blur": "change the background to a blurred, out-of-focus version of itself",
              "remove": "change the background to plain white"}.get(mode, f"change the background to {value}")

    def cbg() -> Ref:
        m = bg_mask()
        a = w.add("CBG", {"image": image, "mask": m, "prompt": prompt})
        w.note(f"CBG paints the new background: '{prompt}' (step {a}).")
        return Ref(a, "image")

    def blur_region() -> Ref:
        m = bg_mask()
        a = w.generic("BLUR-REGION", image, m)
        w.note(f"BLUR-REGION blurs the background (step {a}).")
        return Ref(a, "image")

    options = [(("CBG", "INVERSE"), cbg)]
    if mode == "blur":
        options.append((("BLUR-REGION", "INVERSE"), blur_region))
    return w.choose(options, "change the background")


ACTION = Action("background", read, plan, bricks=("CBG", "INVERSE", "BLUR-REGION"), order=40,
                says="change or blur the background")

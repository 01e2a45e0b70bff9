"""Add an object: ADD-PRED predicts where it fits (inside the user's mask, if any), FILL draws it."""

from __future__ import annotations

import re

from ....workflow import Ref
from ..clauses import Clause, Intent
from ..phrases import article, noun_phrase
from ..planner import INIT_MASK, Missing, Writer
from . import Action

_ADD = re.compile(r"^(?:add|put|place|insert|include|draw|attach|plant|stick|position|introduce|create|generate|paint|sketch|"
                  r"drop|bring|throw|pop|hang|set|let\s+there\s+be|append)\s+(?:in\s+)?(?P<b>.+)$")
_WANT = re.compile(r"^(?:there\s+(?:should|needs\s+to|must)\s+be|i\s+want|i\s+need|i'?d\s+like|i\s+would\s+like|show|have|"
                   r"get(?=\s+(?:a|an|some|two|three|more)\s)|"
                   r"can\s+there\s+be|could\s+there\s+be|i\s+wish\s+there\s+(?:was|were)|we\s+need|make\s+there\s+be)\s+"
                   r"(?P<b>.+?)(?:\s+in\s+(?:the|this)\s+(?:image|picture|photo|scene))?(?:\s+too|\s+as\s+well)?$")
_GIVE = re.compile(r"^give\s+(?P<owner>.+?)\s+(?P<thing>(?:a|an|some|one|two|\d+)\s+.+|sunglasses|glasses|[a-z]+s)$")
_WEAR = re.compile(r"^(?:make|let|have)\s+(?P<owner>.+?)\s+(?P<v>wear|hold|carry|have)\s+(?:a\s+|an\s+|some\s+|the\s+)?(?P<thing>.+)$")
_WHERE = re.compile(r"\s+(?P<pos>(?:on|in|at|to|into|onto|under|underneath|beneath|above|over|below|behind|beside|besides|near|"
                    r"next\s+to|in\s+front\s+of|on\s+top\s+of|inside|between|among|around|by|along|across|against|"
                    r"in\s+the\s+(?:left|right|top|bottom|middle|center|centre|corner|foreground|background))\b.*)$")
_THERE = re.compile(r"\s*,?\s*(?:there|in\s+its\s+place|where\s+it\s+was|in\s+the\s+same\s+(?:spot|place)|instead)$")
_MARKED = re.compile(r"\b(?:here|this\s+(?:area|spot|place|region)|the\s+(?:selected|marked|masked|highlighted)\s+(?:area|region|"
                     r"spot|part))\b")


def read(c: Clause, ctx) -> Intent | None:
    t = c.text
    m = _GIVE.match(t)
    if m and c.verb == "give":
        owner, thing = noun_phrase(m.group("owner")), m.group("thing")
        if owner and owner not in ("me", "us"):
            return _intent(c, article(thing), f"on the {owner}")
    m = _WEAR.match(t)
    if m:
        owner = noun_phrase(m.group("owner"))
        prep = "held by" if m.group("v") in ("hold", "carry") else "on"
        return _intent(c, article(m.group("thing")), f"{prep} the {owner}")
    m = _ADD.match(t) or _WANT.match(t)
    if m is None:
        return None
    body = re.sub(r"\s+(?:to|in|into|onto)\s+(?:the|this)\s+(?:image|picture|photo|scene|frame|whole\s+scene)$", "", m.group("b").strip())
    if re.match(r"^(?:more|some|less|extra)\s+(?:contrast|brightness|saturation|light|exposure)\b", body):
        return None
    there = bool(_THERE.search(body))
    body = _THERE.sub("", body)
    pos = None
    pm = _WHERE.search(body)
    obj = body
    if pm:
        pos = pm.group("pos").strip()
        obj = body[: pm.start()].strip()
    if not obj or re.match(r"^(?:it|this|that|them|something|anything|one)$", obj):
        return None
    if re.search(r"\b(?:3d\s+model|video|gif|animation|pdf|sound|song)\b", obj):
        return None  # another medium: nothing here makes it
    marked = bool(_MARKED.search(pos or "")) or bool(re.search(r"\s(?:here)$", obj))
    obj = re.sub(r"\s+here$", "", obj)
    intent = _intent(c, article(obj), None if marked else pos)
    if marked:
        intent.where = "init"
    intent.params["there"] = there
    return intent


def _intent(c: Clause, obj: str, position: str | None) -> Intent:
    phrase = obj + (f" {position}" if position else "")
    return Intent("add", c.raw, None, phrase, "init" if c.has_mask else "none", {"obj": obj, "position": position})


def plan(w: Writer, it: Intent, image: Ref) -> Ref:
    phrase = it.value or "an object"
    obj = it.params.get("obj") or phrase
    w.note(f"The request adds {phrase}; nothing existing is segmented.")
    region = None
    if it.where == "init":
        if not w.has_mask:
            raise Missing("a mask of where to add it", ["init[mask] (no mask was drawn)"])
        region = INIT_MASK
        w.note("The user's mask (init[mask]) bounds where it goes.")
    elif it.params.get("there") and w.last_mask is not None:
        region = w.last_mask
        w.note("It goes where the removed object was, so that object's mask bounds where it goes.")
    return w.place(image, phrase, obj, region)


ACTION = Action("add", read, plan, bricks=("ADD-PRED", "FILL"), order=95, says="add")

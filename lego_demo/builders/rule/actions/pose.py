"""Posture and expression: POSE takes a description of the subject and the new pose, with no
segmentation before it (the official recipe)."""

from __future__ import annotations

import re

from ....workflow import Ref
from ..clauses import Clause, Intent
from ..phrases import attribute, is_whole, noun_phrase
from ..planner import Writer
from ..words import BEINGS, EXPRESSIONS, POSE_VERBS
from . import Action

_EXPR = "|".join(sorted(EXPRESSIONS, key=len, reverse=True))
_POSE = "|".join(sorted((re.escape(p) for p in POSE_VERBS), key=len, reverse=True))
_BODY = r"(?:hands?|arms?|legs?|head|eyes|eye|mouth|fists?|thumbs?|fingers?|knees?|feet|foot|tail|wings?|paws?|ears?|eyebrows?|lips)"
_MAKE = re.compile(r"^(?:make|have|let|get|show)\s+(?P<s>.+?)\s+(?:to\s+)?(?:look\s+|appear\s+|seem\s+|be\s+|act\s+|start\s+)?"
                   r"(?:(?:like|as\s+if)\s+(?:he|she|it|they)(?:'s|\s+is|\s+are|'re|\s+was|\s+were)?\s+)?"
                   r"(?:(?:more|very|a\s+bit|slightly|much|a\s+lot|super|really)\s+)*(?P<p>" + _EXPR + "|" + _POSE + r")\b(?P<rest>.*)$")
_CHANGE = re.compile(r"^(?:change|alter|modify|adjust|switch|set|make|update)\s+(?P<obj>.+?)\s*(?:to|into|so\s+(?:that\s+)?|:|as)\s+"
                     r"(?P<val>.+)$")
_BODY_VERB = re.compile(r"^(?P<v>raise|lift|wave|cross|fold|open|close|shut|bend|lower|put\s+up|hold\s+up|spread|clench|turn|tilt|"
                        r"nod|shake|point|stretch)\s+(?P<obj>(?:[\w']+\s+){0,4}?" + _BODY + r")\b(?P<rest>.*)$")
_GIVE = re.compile(r"^(?:give|put|add)\s+(?P<s>.+?)\s+(?:a|an)\s+(?:[\w,-]+\s+){0,3}(?P<p>smile|frown|grin|pose|expression|wink|"
                   r"thumbs[\s-]+up|sad\s+face|happy\s+face|surprised\s+look|angry\s+look|smirk|pout|laugh)\b")


def _being(subject: str | None) -> bool:
    if subject is None:
        return False
    s = subject.strip()
    if re.search(r"\b(?:into|where|video|gif|animation|movie|film)\b", s) or len(s.split()) > 10:
        return False
    if s in ("him", "her", "them", "he", "she", "they", "me", "us"):
        return True
    head = re.split(r"\s+(?:in|on|at|with|wearing|holding|near|next|by|from|who|that)\s+", noun_phrase(s) or "")[0].split(" ")
    return bool(head) and (head[-1] in BEINGS or head[-1].rstrip("s") in BEINGS or head[-1].endswith("'s"))


def read(c: Clause, ctx) -> Intent | None:
    t = c.text
    m = _CHANGE.match(t)
    if m:
        attr = attribute(m.group("obj"))
        if attr and attr[0] in ("pose", "expression"):
            return _intent(c, attr[1])
    m = _GIVE.match(t)
    if m:
        return _intent(c, m.group("s"))
    m = _BODY_VERB.match(t)
    if m and c.group not in ("remove", "hide", "recolor"):
        return _intent(c, m.group("obj"))
    m = _MAKE.match(t)
    if m and attribute(m.group("s")) and attribute(m.group("s"))[0] in ("pose", "expression"):
        return _intent(c, attribute(m.group("s"))[1])  # "make the cat's expression look surprised"
    if m:
        subject = m.group("s")
        if (subject.strip() in ("him", "her", "them") or not is_whole(subject)) and _being(subject) and not re.search(r"\b(?:colou?r|back\s*ground)\b", subject):
            return _intent(c, subject)
    if c.group is None and re.fullmatch(r"(?:(?:a|the|big|more|happy|sad)\s+)*(?:" + _EXPR + "|" + _POSE + r")(?:\s+face)?", t):
        return _intent(c, None)
    return None


def _intent(c: Clause, subject: str | None) -> Intent:
    prompt = c.restore(c.text)
    return Intent("pose", c.raw, None, prompt, "none", {"subject": noun_phrase(subject) if subject else None})


def plan(w: Writer, it: Intent, image: Ref) -> Ref:
    prompt = it.value or "change the pose"
    subject = it.params.get("subject")
    w.note(f"The subject{f' ({subject})' if subject else ''} changes posture or expression; POSE takes the description, "
           "with no PREDICT step before it.")

    def run() -> Ref:
        a = w.generic("POSE", image, values={"prompt": prompt})
        w.note(f"POSE: '{prompt}' (step {a}).")
        return Ref(a, "image")

    return w.choose([(("POSE",), run)], "change a pose or expression")


ACTION = Action("pose", read, plan, bricks=("POSE",), order=65, says="pose or expression")

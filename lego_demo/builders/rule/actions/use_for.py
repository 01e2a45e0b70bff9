"""Bricks no action knows (plugins): planned from the `use_for` phrases they declare.

A phrase matches a clause when each of its content words does: a verb by its group ("remove"
matches "erase", "get rid of"), any other word by its stem ("reflections" matches "reflection").
The longest matching phrase wins; the brick's inputs are filled from its spec (the image, a mask
of the named object if it takes one, the clause as its text, declared defaults for numbers).
"""

from __future__ import annotations

import re

from ....types import ValueType
from ....workflow import Ref
from ..clauses import Clause, Intent
from ..planner import Missing, Writer
from ..words import VERB_OF
from . import Action, on_target

_STOP = frozenset("a an the of in on from to for with and or any all some my your this that its it image images photo photos "
                  "something someone somebody object objects thing things "
                  "picture pictures".split())
_PHRASAL = {"get rid of": "remove", "take out": "remove", "take away": "remove", "cut out": "extract"}


def _stem(word: str) -> str:
    for suffix in ("ations", "ation", "ings", "ing", "ies", "es", "s", "ed", "al", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z]+", text.lower()) if w not in _STOP]


def score(phrase: str, c: Clause) -> int:
    """How many content words of `phrase` the clause has (0 unless it has them all)."""
    text = c.text
    for phrasal, verb in _PHRASAL.items():
        text = re.sub(r"^" + phrasal + r"\b", verb, text)
    clause_stems = {_stem(w) for w in _words(text)}
    group = VERB_OF.get(text.split(" ", 1)[0])
    words = _words(phrase)
    if not words:
        return 0
    for i, w in enumerate(words):
        if i == 0 and w in VERB_OF:
            if group != VERB_OF[w] and _stem(w) not in clause_stems:
                return 0
        elif _stem(w) not in clause_stems:
            return 0
    return len(words)


def read(c: Clause, ctx) -> Intent | None:
    if ctx is None or ctx.registry is None:
        return None
    best: tuple[int, str, str] | None = None
    for spec in ctx.registry.specs():
        if spec.name in ctx.covered or spec.name in ctx.banned or not spec.use_for or spec.kind != "edit":
            continue
        for phrase in spec.use_for:
            s = score(phrase, c)
            if s and (best is None or s > best[0]):
                best = (s, spec.name, phrase)
    if best is None:
        return None
    spec = ctx.registry.resolve(best[1])
    wants_mask = any(p.type is ValueType.MASK and not p.optional for p in spec.inputs.values())
    params = {"brick": spec.name, "use_for": best[2]}
    if wants_mask:  # the object is what the clause says besides the phrase: "add sparkles to the car" -> "the car"
        obj = c.rest
        for w in _words(best[2])[1:] if _words(best[2])[0] in VERB_OF else _words(best[2]):
            obj = re.sub(r"\b" + re.escape(_stem(w)) + r"\w*\b", " ", obj, count=1)
        obj = re.sub(r"^\s*(?:(?:some|a|an|the|few|more|lots\s+of|to|on|onto|from|in|of|for|at|over)\s+)+", "",
                     re.sub(r"\s+", " ", obj).strip())
        return on_target(c, "use_for", obj or None, c.restore(c.text), **params)
    return Intent("use_for", c.raw, None, c.restore(c.text), "none", params)


def plan(w: Writer, it: Intent, image: Ref) -> Ref:
    name = it.params["brick"]
    spec = w.registry.resolve(name)
    if spec is None:
        raise Missing(f"use {name}", [f"{name} (not in the registry)"])
    w.note(f"{name} says it is for '{it.params['use_for']}', which is what the request asks.")

    def run() -> Ref:
        mask = w.locate(image, it) if it.target is not None or it.where in ("init", "maskseg") else None
        a = w.generic(name, image, mask, text=it.value)
        out = "image" if "image" in spec.outputs else next(iter(spec.outputs))
        w.note(f"{name} does it (step {a}).")
        return Ref(a, out)

    return w.choose([((name,), run)], f"use {name}")


ACTION = Action("use_for", read, plan, bricks=(), order=5, says="what a plugin brick says it is for")

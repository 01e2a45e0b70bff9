"""Hide something: blur or pixelate a named region (faces, plates, a screen), nothing else."""

from __future__ import annotations

import re

from ....workflow import Ref
from ..clauses import Clause, Intent
from ..phrases import area, is_pronoun, is_whole, noun_phrase
from ..planner import Missing, Writer
from . import Action, on_target

_VERB = re.compile(r"^(?:blur(?:\s+out)?|pixelate|pixelize|pixellate|hide|anonymi[sz]e|censor|obscure|mosaic|redact|blot\s+out|"
                   r"conceal|cover(?:\s+up)?|black\s+out|smudge|fuzz|make\s+(?P<obj>.+?)\s+(?:blurry|blurred|unrecognizable|"
                   r"unrecognisable|pixelated|anonymous|unreadable|illegible))\b\s*(?P<rest>.*)$")
_PEOPLE = re.compile(r"^(?:people|persons?|everyone|everybody|identit(?:y|ies)|them|him|her|individuals|bystanders|"
                     r"passers-?by|pedestrians|crowd|kids|children)$")


def read(c: Clause, ctx) -> Intent | None:
    m = _VERB.match(c.text)
    if m is None:
        return None
    rest_all = m.group("rest") or ""
    but = re.match(r"^(?:everything|all|the\s+rest)\s+(?:but|except|apart\s+from|other\s+than)\s+(?P<s>.+)$", rest_all)
    if but and not re.search(r"pixel|mosaic", c.text):  # "blur everything but me": a blurred background
        subject = None if re.match(r"^(?:me|us|him|her|them|the\s+subject)$", but.group("s")) else noun_phrase(but.group("s"))
        return Intent("background", c.raw, subject, "blur", "res" if subject else "sos", {"mode": "blur"})
    verb = c.text.split(" ", 1)[0]
    if verb == "cover" and not re.search(r"\b(?:face|faces|plate|plates|identity|eyes|name|screen|number)\b", c.text):
        return None
    mode = "pixelate" if re.search(r"\b(?:pixelat\w*|pixeli[sz]\w*|pixellat\w*|mosaic|8-?bit|pixels?)\b", c.text) else "blur"
    rest = m.group("obj") or m.group("rest") or ""
    rest = re.sub(r"\s+(?:with|using|by)\s+(?:a\s+)?(?:blur|pixelation|mosaic|pixels|black\s+box).*$|"
                  r"\s+(?:heavily|lightly|strongly|a\s+bit|slightly|a\s+lot|more|less)$|\s+(?:out|so\s+.*)$", "", rest)
    if is_pronoun(rest.strip()) or area(rest.strip()):
        return on_target(c, "hide", rest.strip(), None, mode=mode, level=0)
    target = noun_phrase(rest)
    if target and re.search(r"^(?:the\s+)?(?:back\s*ground|backdrop)\b", target):
        return None  # the background action blurs backgrounds
    if target is None or _PEOPLE.match(target):
        target = "faces" if target is None or target in ("people", "everyone", "everybody", "them", "individuals") else \
            (f"{target} faces" if target in ("bystanders", "pedestrians", "kids", "children", "crowd") else "face")
        if verb.startswith("anonymi"):
            target = "faces"
    level = 1 if re.search(r"\b(?:heavily|strongly|a\s+lot|completely|fully|very|much)\b", c.text) else \
        -1 if re.search(r"\b(?:lightly|slightly|a\s+bit|a\s+little|subtly|gently)\b", c.text) else 0
    if is_whole(target):
        return Intent("hide", c.raw, None, None, "none", {"mode": mode, "whole": True, "level": level})
    return on_target(c, "hide", target, None, mode=mode, level=level)


def plan(w: Writer, it: Intent, image: Ref) -> Ref:
    mode = it.params.get("mode", "blur")
    brick = "PIXELATE" if mode == "pixelate" else "BLUR-REGION"
    what = it.target or "marked area"
    if it.params.get("whole"):
        return _whole(w, it, image, brick, mode)
    w.note(f"The {what} must become unrecognisable: {'pixelate' if mode == 'pixelate' else 'blur'} it.")

    def run() -> Ref:
        mask = w.locate(image, it)
        a = w.generic(brick, image, mask)
        w.strengthen(a, int(it.params.get("level", 0)))
        w.note(f"{brick} {'pixelates' if mode == 'pixelate' else 'blurs'} the masked {what} (step {a}).")
        return Ref(a, "image")

    return w.choose([((brick,), run)], f"{mode} the {what}")


def _whole(w: Writer, it: Intent, image: Ref, brick: str, mode: str) -> Ref:
    """'blur the image': the brick without a mask, where its spec allows that."""
    spec = w.registry.resolve(brick)
    if spec is None or "mask" not in spec.inputs or not spec.inputs["mask"].optional:
        raise Missing(f"{mode} the whole image", [f"an area for {brick}, which works on a region here (name one: "
                                                 f"'{mode} the face', or paint it)"])

    def run() -> Ref:
        a = w.add(spec.name, {"image": image})
        w.strengthen(a, int(it.params.get("level", 0)))
        w.note(f"{spec.name} {'pixelates' if mode == 'pixelate' else 'blurs'} the whole image (step {a}, no mask).")
        return Ref(a, "image")

    return w.choose([((brick,), run)], f"{mode} the whole image")


ACTION = Action("hide", read, plan, bricks=("BLUR-REGION", "PIXELATE"), order=35, says="blur or pixelate faces")

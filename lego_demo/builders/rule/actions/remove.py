"""Remove an object: segment it, inpaint it away (FASTINPAINT's quick fill guides INPAINT)."""

from __future__ import annotations

import re

from ....workflow import Ref
from ..clauses import Clause, Intent
from ..planner import Writer
from . import Action, on_target

# things that are not objects in front of a background (a segmenter finds them poorly by name)
BACKGROUNDISH = ("reflection", "glare", "shadow", "watermark", "logo", "text", "caption", "noise", "dust",
                 "scratch", "smudge", "haze", "lens flare", "flare", "blemish", "stain", "graffiti", "crowd",
                 "tourists", "people in the background", "clutter", "wire", "wires", "power line", "power lines")
_PATTERNS = tuple(re.compile(p) for p in (
    r"^(?:remove|erase|delete|eliminate|clear|wipe|strip|omit|eradicate|lose|ditch|scrub|purge|banish|exclude|rm|"
    r"get\s+rid\s+of|take\s+(?:out|away|off)|crop\s+out|clean\s+(?:up|out|off|away)|clean|edit\s+out|photoshop\s+out|"
    r"retouch\s+out|paint\s+out|wipe\s+(?:out|away|off)|blot\s+out|zap|drop|kill|nuke|cut\s+away)\s+"
    r"(?:away\s+|off\s+|out\s+|up\s+)?(?P<t>.+?)(?:\s+(?:out|away|off))?$",
    r"^take\s+(?P<t>.+?)\s+(?:out|away|off|down)(?:\s+(?:of|from|the|him|her|them|it)\b.*)?$",
    r"^(?:i\s+(?:don'?t|do\s+not)\s+want|without|lose)\s+(?P<t>.+?)(?:\s+(?:in|on)\s+(?:the|this)\s+(?:image|picture|photo))?$",
    r"^(?P<t>.+?)\s+(?:must\s+go|has\s+to\s+go|needs\s+to\s+go|is\s+not\s+needed|can\s+go)$",
))


def read(c: Clause, ctx) -> Intent | None:
    for rx in _PATTERNS:
        m = rx.match(c.text)
        if m:
            phrase = m.group("t")
            if re.match(r"^(?:the\s+)?(?:colou?rs?|saturation)$", phrase.strip()):
                return None  # "remove the colours": black and white (the style action)
            if re.match(r"^(?:the\s+)?(?:back\s*ground|backdrop)\b", phrase.strip()):
                return None
            if re.match(r"^(?:the\s+|all\s+(?:the\s+)?)?(?:noise|grain|graininess|blur|blurriness|artifacts?|compression|jpe?g|"
                        r"pixelation|banding|moire|red[\s-]+eyes?|wrinkles|acne|pimples)\b", phrase.strip()):
                return None  # image restoration or retouching: no brick here does it
            phrase = re.sub(r"(?<!next)(?<!close)(?<!due)\s+(?:from|to)\s+(?=(?:the|a|an|his|her|their|my)\s(?!(?:left|right|top|bottom|front|back|end|middle)\b))",
                            " on ", phrase)
            intent = on_target(c, "remove", phrase)
            if intent.where == "none":
                return None
            intent.params["background_like"] = bool(intent.target and any(w in intent.target for w in BACKGROUNDISH))
            return intent
    return None


def plan(w: Writer, it: Intent, image: Ref) -> Ref:
    what = it.target or "marked area"
    w.note(f"The object is '{what}' and the action is removal.")
    mask = w.locate(image, it, background_like=bool(it.params.get("background_like")))
    out = w.erase(image, mask, what)
    w.last_mask = mask
    return out


ACTION = Action("remove", read, plan, bricks=("FASTINPAINT", "INPAINT"), order=90, says="remove")

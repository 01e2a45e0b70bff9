"""Brightness, contrast and saturation, of the whole image or of one object (TONE takes a
mask); the release's BRIGHT plugin does whole-image brightness when TONE is not there."""

from __future__ import annotations

import re

from ....types import ValueType
from ....workflow import Ref
from ..clauses import Clause, Intent
from ..phrases import PERCENT_RE, area, has_style, is_whole, noun_phrase
from ..planner import Missing, Writer
from ..words import COLOR_WORDS
from . import Action, on_target

KINDS = {
    "brightness": r"bright(?:ness|er|en|ened)?|light(?:er|en|ness)?|exposure|exposed|luminosity|dark(?:er|en|ness)?|dim(?:mer)?|"
                  r"gloomy|dull|more\s+light|less\s+light|shadows",
    "contrast": r"contrast(?:y)?|punch(?:y|ier)?|crisp(?:er)?|flat(?:ter)?|pop\s+more",
    "saturation": r"(?:de)?saturat(?:ion|ed|e)|vivid|vibran(?:t|ce)|colou?rful|muted|washed[\s-]*out|pop(?:py)?(?!\s+art)|"
                  r"intense\s+colou?rs|richer\s+colou?rs|colou?rs?\s+(?:more|less)|(?:more|less)\s+(?:strong\s+)?colou?rs?|"
                  r"colou?rs?\s+(?:less|more)\s+strong|punch\s+(?:them|the\s+colou?rs)\s+up",
}
_UP = r"\b(?:increase|boost|raise|more|higher|brighter|brighten|lighten|lighter|up|punchier|crisper|vivid|vibrant|saturate|" \
      r"colou?rful|pop|enhance|stronger|too\s+dark|underexposed|bump|crank|amp|richer|intense|more\s+light)\b"
_DOWN = r"\b(?:decrease|reduce|lower|less|darker|darken|dim|dimmer|down|flatter|flat|muted|desaturate|desaturated|washed|" \
        r"too\s+bright|overexposed|weaker|tone\s+(?:it\s+)?down|soften|gloomy|dull|too\s+saturated|too\s+vivid|too\s+colou?rful)\b"
_VERB_TARGET = re.compile(r"^(?:brighten|lighten|darken|dim|saturate|desaturate)\s+(?:up\s+)?(?P<t>.+?)(?:\s+(?:a\s+bit|a\s+little|"
                          r"slightly|a\s+lot|much|more|up|by\s+.*))?$")
_MAKE_TARGET = re.compile(r"^(?:make|turn|get|render|have)\s+(?P<t>.+?)\s+(?:look\s+|appear\s+)?(?:(?:a\s+)?(?:bit|little|lot|tad)\s+|much\s+|"
                          r"slightly\s+|way\s+|far\s+|more\s+|less\s+|even\s+|a\s+)*(?:brighter|darker|lighter|dimmer|more|less|pop|stand\s+out|"
                          r"punchier|crisper|flatter|vivid|vibrant|bright|dark|colou?rful|saturated|muted|lit)\b")
_OF_TARGET = re.compile(r"\b(?:brightness|contrast|saturation|exposure|vibrance)\s+(?:of|on|in)\s+(?P<t>.+?)(?:\s+(?:by|to)\s+.*)?$")


def read(c: Clause, ctx) -> Intent | None:
    t = c.text
    if re.match(r"^(?:tone|calm|turn)\s+(?:it|them|this|that|everything|the\s+\w+)?\s*down\b", t):
        said = [k for k, p in KINDS.items() if c.remark and re.search(r"\b(?:" + p + r")\b", c.remark)]
        return Intent("tone", c.raw, None, None, "none", {"kind": said[0] if said else None, "direction": -1, "amount": 1,
                                                          "percent": None})
    found = [k for k, p in KINDS.items() if re.search(r"\b(?:" + p + r")\b", t)]
    if not found or re.search(r"\btime\s+of\s+(?:the\s+)?day\b|\bweather\b|\bseason\b", t):
        return None
    if re.search(r"\b(?:colou?r|shade|hue)\s+of\b|\bcolou?r\s+(?:to|into)\b", t):
        return None  # "change the colour of the raincoat to a bright yellow": a recolour
    if has_style(t) and re.search(r"\b(?:into|as|look\s+like|in\s+the\s+style\s+of)\b", t):
        return None  # "turn it into a vibrant pop art poster": a style
    if c.group in ("remove", "replace", "add", "hide", "extract") and not re.search(r"\b(?:more|less|some|extra|a\s+bit\s+of)\b", t):
        return None
    if re.search(r"\b(?:bright|dark|light|deep|pale)[\s-]+(?:" + "|".join(COLOR_WORDS) + r")\b", t):
        return None  # "make the car dark blue" is a recolour
    if c.verb in ("give",) and not re.search(r"\b(?:more|less)\s+(?:light|contrast|brightness|saturation)\b", t):
        return None
    target = phrase = None
    for rx in (_VERB_TARGET, _MAKE_TARGET, _OF_TARGET):
        m = rx.search(t)
        if m:
            phrase = re.sub(r"\s+(?:with|to|in|for)$", "", m.group("t"))
            if phrase.strip() in ("this", "that", "it") and not c.has_mask:
                phrase = None  # "this needs to be brighter": the picture
            target = noun_phrase(phrase)
            break
    if target and (is_whole(target) or is_whole(phrase) or re.match(r"^(?:colou?rs?|exposure|contrast|saturation|brightness|lighting|it\s+all|"
                                               r"(?:the\s+)?shadows|everything)$", target)):
        target = None
    if target and re.search(r"\b(?:brightness|contrast|saturation|exposure|vibrance)\b", target):
        target = None
    if target and target in COLOR_WORDS:
        return None
    direction = (1 if re.search(_UP, t) else 0) - (1 if re.search(_DOWN, t) else 0)
    if direction == 0:
        direction = -1 if c.verb in ("darken", "dim", "desaturate", "lower", "reduce", "decrease") else 1
    if re.search(r"\btoo\s+(?:dark|dim|gloomy|flat|dull|muted)\b|\bunderexposed\b|\blighten\s+the\s+shadows\b", t):
        direction = 1
    if re.search(r"\btoo\s+(?:bright|light|saturated|vivid|contrasty|colou?rful)\b|\boverexposed\b|\bless\s+(?:intense|vivid|"
                 r"vibrant|saturated|colou?rful|bright|strong|contrasty|punchy)\b|\bmore\s+(?:muted|subtle|faded)\b", t):
        direction = -1
    kind = "saturation" if "saturation" in found and re.search(r"\b(?:colou?rs?|pop)\b", t) else found[0]
    if kind == "brightness" and re.search(r"\b(?:darken|darker|dark|dim|dimmer|gloomy)\b", t) and not re.search(r"\b(?:contrast|saturat)", t):
        direction = 1 if re.search(r"\btoo\s+dark|\bless\s+dark", t) else -1
    if c.verb in ("brighten", "lighten"):
        direction = 1  # "lighten the dark shadows": the verb says which way
    elif c.verb in ("darken", "dim"):
        direction = -1
    amount = 2 if re.search(r"\b(?:a\s+lot|much|way|significantly|strongly|very|dramatically|far|a\s+bunch)\b", t) else \
        0.5 if re.search(r"\b(?:a\s+(?:bit|little|touch)|slightly|somewhat|subtly|a\s+tad|a\s+smidge)\b", t) else 1
    pct = PERCENT_RE.search(t)
    params = {"kind": kind, "kinds": found, "direction": direction, "amount": amount,
              "percent": float(pct.group(1)) if pct else None}
    if target is None and not (phrase and area(phrase)):
        return Intent("tone", c.raw, None, None, "none", params)
    return on_target(c, "tone", phrase, None, **params)


_STEP = {0.5: 0.1, 1: 0.2, 2: 0.4}


def plan(w: Writer, it: Intent, image: Ref) -> Ref:
    kind = it.params.get("kind") or "saturation"
    direction = it.params.get("direction", 1) or 1
    pct = it.params.get("percent")
    delta = min(0.9, (pct / 100.0) if pct else _STEP.get(it.params.get("amount", 1), 0.2))
    word = {"brightness": ("brighter", "darker"), "contrast": ("more contrast", "less contrast"),
            "saturation": ("more saturated", "less saturated")}[kind]
    local = it.target is not None or it.where in ("init", "maskseg")
    what = it.target or ("marked area" if local else "image")
    w.note(f"The {what} should be {word[0] if direction > 0 else word[1]}: a tone change, no new content.")

    def tone_brick() -> Ref:
        spec = w.registry.resolve("TONE")
        assert spec is not None
        mask = None
        if local:
            if not any(p.type is ValueType.MASK for p in spec.inputs.values()):
                raise Missing(f"a tone change of the {what} only", ["TONE with a mask input"])
            mask = w.locate(image, it)
        values = {n: None for n, p in spec.inputs.items() if p.type is ValueType.FLOAT}
        if kind not in values:
            raise Missing(f"a {kind} change", [f"TONE with a {kind} input"])
        values[kind] = round(_neutral(spec, kind) + direction * delta, 3)
        a = w.generic("TONE", image, mask, values=values)
        w.note(f"TONE sets {kind} {values[kind]:+g} ({_neutral(spec, kind):g} = unchanged) (step {a}).")
        return Ref(a, "image")

    def bright() -> Ref:
        if kind != "brightness":
            raise Missing(f"a {kind} change", ["TONE (BRIGHT only changes brightness)"])
        if local:
            raise Missing(f"a brightness change of the {what} only", ["TONE (BRIGHT edits the whole image)"])
        spec = w.registry.resolve("BRIGHT")
        port = spec.inputs.get("ratio") if spec else None
        neutral = port.neutral if port is not None and port.neutral is not None else 0.5
        ratio = round(neutral + direction * delta * neutral, 3)
        a = w.add("BRIGHT", {"image": image, "ratio": ratio})
        w.note(f"BRIGHT scales brightness by ratio {ratio} ({neutral:g} = unchanged) (step {a}).")
        return Ref(a, "image")

    return w.choose([(("TONE",), tone_brick), (("BRIGHT",), bright)], f"change the {kind}")


def _neutral(spec, name: str) -> float:
    port = spec.inputs[name]
    return port.neutral if port.neutral is not None else 0.0


ACTION = Action("tone", read, plan, bricks=("TONE", "BRIGHT"), order=45, says="brightness/contrast/saturation")

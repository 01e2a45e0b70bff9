"""Noun phrases and values inside a clause: what to segment, what to write, numbers.

`noun_phrase("all the red cups from the picture")` -> "red cups"; `attribute("the size of the
mug to small")` -> ("size", "the mug", "small"); `area("the selected area")` -> "init". Shared by
every action, so a fix to how targets are cut reaches all of them.
"""

from __future__ import annotations

import re

from .words import COLOR_FULL_RE, COLOR_PHRASE, ENV_RE, STYLE_RE

DET_RE = re.compile(r"^(?:(?:the|a|an|all|all\s+of\s+the|all\s+the|every|each|any|those|these|that|this|my|his|her|its|"
                    r"their|our|your|some|one|both|entire|whole)\s+)+")
# trailing words that are not part of what to find: "from the picture", "out", "please", "completely"
_TAIL_RE = re.compile(
    r"\s+(?:(?:from|in|out\s+of|off|on|of|within|inside)\s+(?:the|this|my|our)\s+(?:image|picture|photo|photograph|pic|"
    r"scene|shot|frame|canvas|view)|from\s+(?:it|here|there)|off|out|away|completely|entirely|please|too|as\s+well|"
    r"here|there|for\s+me|now|only|alone|at\s+all|altogether|out\s+of\s+there|out\s+of\s+here|slightly|a\s+bit|a\s+little|"
    r"a\s+lot|a\s+tad|heavily|gently|noticeably|significantly|somewhat|more|less|a\s+bunch|up)\s*$"
)
# a clause tail that says why or how, never what: "restoring the water", "before i post this"
_REASON_RE = re.compile(
    r"(?:,\s*|\s+)(?:restoring|filling|leaving|keeping|making|ensuring|preserving|maintaining|blending|matching|"
    r"without|while|so\s+(?:that|it|the|they|i|we)|so\s+as|such\s+that|before\s+(?:i|we|you)|because|since|"
    r"and\s+fill\s+(?:in\s+)?(?:the|its)\s+|to\s+look\s+(?:natural|realistic|seamless|real|good|better|nice|right)|"
    r"to\s+(?:protect|make|give|create|show|match|keep|get|blend|fill|hide|avoid|"
    r"improve|add|bring|enhance|emphasi[sz]e|"
    r"highlight|fit|suit|focus)|for\s+(?:(?:a|an|my|the|our|his|her|their)\s+)?(?:flyer|poster|post|website|blog|profile|"
    r"presentation|card|wedding|party|print(?:ing)?|wall|instagram|insta|linkedin|facebook|social\s+media|thumbnail|banner|"
    r"cover|ad|advert|brochure|magazine|wallpaper|privacy|reasons?|me\s+to|fun|a\s+joke)\b|as\s+in\b|"
    r"as\s+if|as\s+though|like\s+a\s+typical|in\s+order\s+to|with\s+(?:natural|realistic|matching|consistent|"
    r"seamless|proper)|in\s+a\s+(?:realistic|natural|seamless|convincing|subtle)\s+way|who\s+(?:is|are)\s+"
    r"(?:ruining|annoying|blocking|distracting)|that\s+(?:is|are|looks?)\s+(?:ugly|distracting|annoying|"
    r"ruining|weird|bad)|if\s+(?:possible|you\s+can)|it\s+should|thanks?|"
    r"caused\s+by|that\s+(?:fits|matches|suits|blends|goes\s+with))\b.*$"
)
_WHOLE_RE = re.compile(
    r"^(?:it|this|that|everything|all|(?:the\s+)?(?:whole|entire|full|overall)?\s*(?:image|picture|photo|photograph|pic|scene|"
    r"shot|frame|thing|view|canvas|painting|composition|everything|portrait|landscape|scenery|snapshot|selfie)|"
    r"this\s+(?:one|shot)|the\s+rest)$"
)
_AREA_RE = re.compile(
    r"^(?:(?:the|this|that|my)\s+)?(?:(?:selected|masked|marked|highlighted|painted|drawn|circled|outlined|chosen|brushed)\s+"
    r"(?:area|region|part|zone|spot|section|bit|portion|pixels)|(?:area|region|part|zone|spot|section|portion)\s+"
    r"(?:i|you|we)\s+(?:selected|marked|drew|painted|highlighted|circled|brushed|outlined|masked)|"
    r"(?:area|region|part|spot|bit)\s+(?:here|there)|(?:area|region|spot|part)\s+(?:in|inside|under|within)\s+the\s+"
    r"(?:mask|selection|brush\s+strokes?)|mask(?:ed)?\s*(?:area|region|part)?|selection|this\s+(?:area|region|part|spot|"
    r"bit|patch|thing|stuff)|that\s+(?:area|region|part|spot|bit|patch)|here|there|this|that|what\s*(?:i|you)\s+"
    r"(?:selected|marked|circled|highlighted|painted)|whatever\s+this\s+is)$"
)
_IN_AREA_RE = re.compile(
    r"^(?:(?:the|this|that)\s+)?(?:object|thing|item|stuff|one|subject|person|animal)?\s*"
    r"(?:(?:in|inside|within|under)\s+(?:the|this|my)\s+(?:selected|masked|marked|highlighted|circled|drawn)?\s*"
    r"(?:area|region|part|mask|selection|box|circle|outline|zone)|(?:i|you|we)\s+(?:selected|marked|circled|"
    r"highlighted|outlined|painted\s+over|brushed\s+over|drew\s+(?:on|over|around))|(?:here|there))$"
)
PRONOUNS = frozenset({"it", "them", "him", "her", "this one", "that one", "these", "those", "they", "this", "that",
                      "us", "me", "he", "she"})
_OF_PRONOUN = {"him": "his", "her": "her", "them": "their", "it": "its", "me": "my", "us": "our"}


def noun_phrase(phrase: str | None) -> str | None:
    """'all the red cups from the picture, leaving the table' -> 'red cups'. None when nothing is left."""
    if phrase is None:
        return None
    phrase = _REASON_RE.sub("", " " + phrase).strip(" ,.!?:;'\"")
    for _ in range(3):
        new = _TAIL_RE.sub("", phrase).strip(" ,.")
        if new == phrase:
            break
        phrase = new
    phrase = re.sub(r"^(?:only|just|also|even|too)\s+", "", phrase)
    phrase = DET_RE.sub("", phrase + " ").strip(" ,.")
    phrase = re.sub(r"^(?:of\s+(?:the\s+)?)", "", phrase)
    phrase = re.sub(r"\b(?:please|pls|thanks)\b", "", phrase)
    # "the jacket of him" -> "his jacket"
    m = re.match(r"^(.+?)\s+of\s+(him|her|them|it|me|us)$", phrase)
    if m:
        phrase = f"{_OF_PRONOUN[m.group(2)]} {m.group(1)}"
    phrase = re.sub(r"\s+", " ", phrase).strip(" ,.")
    if not phrase or re.fullmatch(r"(?:the|a|an|all|some|any|of|my|his|her|their|its|our|your|one|ones|bit|lot)", phrase):
        return None
    return phrase


def is_whole(phrase: str | None) -> bool:
    if phrase is None:
        return True
    p = DET_RE.sub("", phrase.strip() + " ").strip()
    return not p or bool(_WHOLE_RE.match(phrase.strip()) or _WHOLE_RE.match(p))


def area(phrase: str | None) -> str | None:
    """'init' when the phrase is the user's marked area, 'maskseg' when it is the object inside it."""
    if phrase is None:
        return None
    p = phrase.strip()
    if _AREA_RE.match(p):
        return "init"
    if _IN_AREA_RE.match(p):
        return "maskseg"
    return None


def is_pronoun(phrase: str | None) -> bool:
    return phrase is not None and phrase.strip() in PRONOUNS


def article(phrase: str) -> str:
    """'cat' -> 'a cat'; plurals, numbers and phrases that already have a determiner stay."""
    phrase = phrase.strip(" ,.")
    if re.match(r"^(?:a|an|the|some|two|three|four|five|several|many|few|\d+|one|my|his|her|their|more|lots\s+of|"
                r"a\s+few|another|no)\b", phrase):
        return re.sub(r"^one\s+", "a ", phrase)
    head = phrase.split(" ")[0]
    if head.endswith("s") and not head.endswith("ss"):
        return phrase
    return ("an " if phrase[:1] in "aeiou" else "a ") + phrase


def bare(phrase: str) -> str:
    return re.sub(r"^(?:a|an|the|some)\s+", "", phrase.strip(" ,."))


def is_colour(text: str | None) -> bool:
    return bool(text) and bool(COLOR_FULL_RE.match(text.strip()))


def colour_value(text: str) -> str:
    """'a deep metallic blue colour' -> 'deep metallic blue'; 'a shade of brown' -> 'brown'."""
    text = re.sub(r"^(?:(?:a|an|the)\s+)?(?:(?:a\s+)?(?:shade|tone|hue|kind)\s+of\s+|more\s+)", "", text.strip(" ,."))
    text = re.sub(r"^(?:a|an|the)\s+", "", text)
    text = re.sub(r"\s+(?:colou?r(?:ed)?|one|instead|tone|tones|shade|paint(?:job)?)$", "", text)
    return re.sub(r"[\s-]*ish$", "", text).strip()


def strip_instead(value: str) -> str:
    """'the beach instead of my messy room' -> 'the beach'."""
    return re.sub(r"\s*,?\s+(?:instead\s+of|rather\s+than|in\s+place\s+of|not)\b.*$", "", value).strip(" ,.")


def has_style(text: str) -> bool:
    return bool(STYLE_RE.search(text))


def has_env(text: str) -> bool:
    return bool(ENV_RE.search(text))


# -- the attribute-of-object pattern ------------------------------------------------------------
ATTRIBUTES = {
    "colour": r"colou?rs?|shade|hue|paint(?:\s*job)?|tint",
    "material": r"material|texture|finish|fabric|surface",
    "size": r"size|scale|dimensions?",
    "style": r"(?:art\s+)?style|look|aesthetic|art\s+form",
    "pose": r"pose|posture|position\s+of\s+(?:the\s+)?body|action|gesture|stance|activity|movement|motion",
    "expression": r"(?:facial\s+)?expression|emotion|mood\s+of\s+(?:the\s+)?face|face\s+expression",
    "background": r"back\s*ground|backdrop|setting|surroundings|scenery|environment|location|place",
    "weather": r"weather|climate",
    "season": r"season",
    "time": r"time\s+of\s+(?:the\s+)?day|time|lighting\s+time",
    "brightness": r"brightness|exposure|lighting",
    "contrast": r"contrast",
    "saturation": r"saturation|vibrance",
    "text": r"text|word|words|wording|writing|caption|title|label|inscription|lettering",
    "redraw": r"shape|form|viewpoint|view|angle|perspective|pattern|design|type|kind|breed|species|model|"
              r"hair\s*style|haircut|hair\s+cut|print|brand|make|age|number",
}
_ATTR_RE = "|".join(f"(?P<{k}>{v})" for k, v in ATTRIBUTES.items())
_ATTR_OF = re.compile(r"^(?:the\s+|its\s+|his\s+|her\s+|their\s+)?(?P<part>(?:hair|eye|skin|fur|lip|nail|wall|roof|door|"
                      r"leaf|leaves|petal|wing|feather|shirt|dress|car|body|paint|font|text)\s+)?(?:" + _ATTR_RE
                      + r")\s+of\s+(?P<obj>.+?)$")
_OBJ_ATTR = re.compile(r"^(?P<obj>.+?)(?:'s|s'|’s)\s+(?:" + _ATTR_RE + r")$")
_NOUN_ATTR = re.compile(r"^(?P<obj>(?:the\s+)?[\w'-]+(?:\s+[\w'-]+)?)\s+(?:" + _ATTR_RE + r")$")


_PERSON = {"his": "him", "her": "her", "their": "them", "its": "it", "my": "me", "your": "you", "our": "us"}
_PRONOUN_ATTR = re.compile(r"^(?P<p>his|her|their|its|my|your|our)\s+(?:" + _ATTR_RE + r")$")


def attribute(phrase: str) -> tuple[str, str] | None:
    """'the size of the mug' / "the mug's size" / 'the car colour' -> ('size', 'the mug')."""
    phrase = phrase.strip()
    m = _PRONOUN_ATTR.match(phrase)
    if m:
        return next(k for k in ATTRIBUTES if m.group(k)), _PERSON[m.group("p")]
    for rx in (_ATTR_OF, _OBJ_ATTR, _NOUN_ATTR):
        m = rx.match(phrase)
        if m:
            kind = next(k for k in ATTRIBUTES if m.group(k))
            obj = m.group("obj")
            if rx is _ATTR_OF and m.group("part"):
                obj = f"{obj}'s {m.group('part').strip()}"  # "the hair colour of the boy" -> "the boy's hair"
            if rx is _NOUN_ATTR and (kind in ("redraw", "background", "time", "style") or is_whole(obj)):
                if not (kind in ("background", "style", "time") and is_whole(obj)):
                    return None
            if kind == "redraw" and re.search(r"\b(?:hair\s*style|haircut|hair\s+cut)\b", m.group(0)):
                return "hairstyle", obj
            if kind == "style" and re.search(r"(?:'s|s')?\s*hair$", obj):  # "the style of the man's hair"
                return "hairstyle", re.sub(r"(?:'s|s')?\s*hair$", "", obj)
            return kind, obj
    return None


# -- numbers ----------------------------------------------------------------------------------------
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "half": 0.5, "twice": 2, "double": 2,
                 "triple": 3, "thrice": 3, "quadruple": 4}
FACTOR_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(?:x|×|times|fold|-fold)(?![a-z])|\b(twice|double|triple|thrice|quadruple|two|"
                       r"three|four)\s*(?:times|x|fold)?\b(?!\s*(?:degrees|°))")
PERCENT_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(?:%|percent|per\s+cent)")
ASPECT_RE = re.compile(r"\b(\d{1,2})\s*[:x/]\s*(\d{1,2})\b(?!\s*(?:x|times))")
DEGREES_RE = re.compile(r"(-?\d{1,3})\s*(?:°|degrees?|deg)\b")


def factor(text: str) -> float | None:
    m = PERCENT_RE.search(text)
    if m:
        return 1.0 + float(m.group(1)) / 100.0
    m = FACTOR_RE.search(text)
    if m:
        return float(m.group(1)) if m.group(1) else float(_NUMBER_WORDS[m.group(2)])
    if re.search(r"\bby\s+(?:a\s+)?half\b|\bhalf\s+(?:again|more)\b", text):
        return 1.5
    return None


def colour_in(text: str) -> str | None:
    """The colour phrase a clause ends with ('… to a deeper orange' -> 'deeper orange')."""
    m = re.search(r"(?:^|\s)(" + COLOR_PHRASE + r")\s*$", text)
    return colour_value(m.group(1)) if m else None

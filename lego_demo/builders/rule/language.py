"""English edit instructions -> a list of `Intent`s (one per clause).

Pipeline: pull out quoted text → lower case, typo-correct keywords → split into clauses
("first …, then …", "; ", ". ", "and"/"," before a verb) → per clause: drop politeness and
quality wishes ("please", "ensuring it looks natural") → correct the first word against the
verb vocabulary → try the clause readers in order (most specific first).

Nothing here knows about bricks: the planner turns intents into steps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .lexicon import (
    COLOR_RE,
    COLOR_WORDS,
    ENV_RE,
    ENV_WORDS,
    EXPRESSIONS,
    POSE_VERBS,
    SCENE_RE,
    STYLE_RE,
    STYLES,
    VERB_OF,
    correct_verb,
    correct_words,
)


@dataclass
class Intent:
    action: str  # remove replace recolor add background style env pose tone extract outpaint
    #              colorpop hide text crop rotate flip
    clause: str
    target: str | None = None  # what to segment (a phrase for RES); None = whole image / none
    value: str | None = None  # new object, colour, scene, style, prompt, text …
    where: str = "res"  # res | sos | init (the user's mask) | maskseg (object in the user's mask) | none
    params: dict = field(default_factory=dict)


@dataclass
class Parsed:
    intents: list[Intent]
    unread: list[str]  # clauses nothing could be read from
    quotes: list[str]
    needs_mask: list[str] = field(default_factory=list)  # clauses pointing at a mask that is missing


# -- text clean-up -------------------------------------------------------------------------
_QUOTE_RE = re.compile(r"\"([^\"]{1,200})\"|“([^”]{1,200})”|‘([^’]{1,200})’|(?<![\w])'([^']{1,200})'(?![\w])")
_SPACE_RE = re.compile(r"\s+")
_POLITE_HEAD_RE = re.compile(
    r"^(?:(?:hey|hi|hello|ok|okay|so|now|alright|um|uh|yo)[,!]?\s+)*"
    r"(?:(?:could|can|would|will|might)\s+(?:you|u|ya)\s+(?:please\s+|kindly\s+|possibly\s+|maybe\s+|just\s+)*|"
    r"(?:please|pls|plz|kindly|just|simply)\s+|"
    r"i\s*(?:would|'d|d)\s+(?:really\s+)?(?:like|love)\s+(?:you\s+)?to\s+|i\s+(?:want|need|wish)\s+(?:you\s+)?to\s+|"
    r"(?:help\s+me|let'?s|lets|go\s+ahead\s+and|try\s+to|try\s+and|you\s+should|we\s+should|we\s+need\s+to|"
    r"i\s+need\s+to|time\s+to|be\s+sure\s+to|make\s+sure\s+to|can\s+we|could\s+we|can\s+i|could\s+i|"
    r"is\s+it\s+possible\s+to|would\s+it\s+be\s+possible\s+to|do\s+me\s+a\s+favou?r\s+and|"
    r"i\s+think\s+you\s+should|it\s+would\s+be\s+nice\s+to|it\s+would\s+be\s+great\s+if\s+you\s+could)\s*)+"
)
_POLITE_TAIL_RE = re.compile(
    r"(?:[\s,]+(?:please|pls|plz|thanks|thank\s+you|thx|for\s+me|if\s+you\s+can|if\s+possible|if\s+you\s+could|"
    r"for\s+me\s+please|now|asap|quickly|real\s+quick|thank\s+you\s+so\s+much|ty|\?|!|\.|:\)|:d))+\s*$"
)
_WISH_RE = re.compile(
    r"(?:,?\s*(?:while\s+|and\s+|but\s+)?(?:ensuring|ensure|making\s+sure|make\s+sure|so\s+that|so\s+it|such\s+that|"
    r"while\s+(?:keeping|maintaining|preserving|retaining|leaving)|keeping\s+(?:the\s+rest|everything|all\s+else|"
    r"the\s+(?:lighting|composition|perspective|shadows?|details?|quality))|but\s+keep\s+(?:the\s+rest|everything)|"
    r"without\s+(?:changing|affecting|altering|touching|modifying)|leaving\s+(?:the\s+rest|everything)|"
    r"make\s+(?:it|the\s+result|the\s+edit)\s+(?:look\s+)?(?:natural|realistic|seamless|believable|"
    r"photorealistic|convincing)|in\s+a\s+(?:realistic|natural|seamless|convincing|subtle)\s+way|as\s+if|"
    r"with\s+(?:natural|realistic|matching|consistent)\s+(?:lighting|shadows|colou?rs|perspective)|"
    r"that\s+(?:looks|blends)|to\s+(?:look|blend)\s+(?:natural|realistic|in)|it\s+should\s+look)\b.*$)"
    r"|\s+(?:realistically|naturally|seamlessly|carefully|neatly|cleanly|completely|entirely|fully|"
    r"totally|properly|nicely|smoothly|gently|subtly)\b"
)
_SENTENCE_RE = re.compile(r"(?<!\d)[.!?;\n]+(?!\d)|(?<=\d)[.!?;\n]+(?!\d)(?=\s)|\s*[.!?;]\s*$")
_SEQUENCE_RE = re.compile(
    r"(?:^|,?\s+)(?:and\s+then|and\s+after\s+that|and\s+afterwards|and\s+finally|and\s+also|after\s+that|"
    r"afterwards|then|next(?!\s+to\b)|finally|lastly|also|plus|as\s+well\s+as|followed\s+by|after\s+which|once\s+done)[,:]?\s+"
    r"|^(?:first(?:ly)?|to\s+start|step\s+\d|1\)|2\)|3\))[,:]?\s+|,\s*(?:second(?:ly)?|third(?:ly)?)[,:]?\s+"
    r"|\s+(?:step\s+\d|\d\))[,:]?\s+"
)
_AND_RE = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+|\s+&\s+|\s+plus\s+")
_DET_RE = re.compile(r"^(?:(?:the|a|an|all|all\s+of\s+the|all\s+the|every|each|any|those|these|that|this|my|his|her|its|their|our|your|some)\s+)+")
_TARGET_TAIL_RE = re.compile(
    r"\s+(?:(?:from|in|out\s+of|off|on|of)\s+(?:the|this|my|our)\s+(?:image|picture|photo|photograph|pic|scene|shot|frame|"
    r"foreground|background|canvas)|from\s+(?:it|here|there)|off|out|away|completely|entirely|please|too|as\s+well|"
    r"here|there|for\s+me|now)\s*$"
)
_WHOLE_RE = re.compile(
    r"^(?:it|this|that|everything|all|the\s+(?:whole\s+|entire\s+|full\s+)?(?:image|picture|photo|photograph|pic|scene|shot|"
    r"frame|thing|view|canvas|painting|composition)|(?:whole|entire)\s+(?:image|picture|photo|scene|thing)|"
    r"this\s+(?:image|picture|photo|pic|scene|one|shot)|the\s+(?:overall\s+)?(?:image|photo))$"
)
_AREA_RE = re.compile(
    r"^(?:(?:the|this|that|my)\s+)?(?:(?:selected|masked|marked|highlighted|painted|drawn|circled|outlined|chosen|brushed)\s+"
    r"(?:area|region|part|zone|spot|section|bit|portion|pixels)|(?:area|region|part|zone|spot|section|portion)\s+"
    r"(?:i|you|we)\s+(?:selected|marked|drew|painted|highlighted|circled|brushed|outlined|masked)|"
    r"(?:area|region|part|spot|bit)\s+(?:here|there)|(?:area|region|spot|part)\s+(?:in|inside|under|within)\s+the\s+"
    r"(?:mask|selection|brush\s+strokes?)|mask(?:ed)?\s*(?:area|region|part)?|selection|this\s+(?:area|region|part|spot|bit|patch)|"
    r"that\s+(?:area|region|part|spot|bit|patch)|here|there|this|that)$"
)
_IN_AREA_RE = re.compile(
    r"^(?:(?:the|this|that)\s+)?(?:object|thing|item|stuff|one|subject|person|animal)?\s*"
    r"(?:(?:in|inside|within|under)\s+(?:the|this|my)\s+(?:selected|masked|marked|highlighted|circled|drawn)?\s*"
    r"(?:area|region|part|mask|selection|box|circle|outline|zone)|(?:i|you|we)\s+(?:selected|marked|circled|"
    r"highlighted|outlined|painted\s+over|brushed\s+over|drew\s+(?:on|over|around))|(?:here|there))$"
)
_BACKGROUNDISH = ("reflection", "glare", "shadow", "watermark", "logo", "text", "caption", "noise", "dust",
                  "scratch", "smudge", "haze", "lens flare", "flare", "blemish", "stain", "graffiti", "crowd",
                  "tourists", "people in the background", "clutter", "wire", "wires", "power line", "power lines")


def _original_case(raw: str, lowered: str) -> str:
    """`lowered` as the user typed it (new text keeps its capitals: "HELLO WORLD")."""
    at = raw.lower().find(lowered)
    return raw[at:at + len(lowered)] if at >= 0 else lowered


def _norm(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'").replace("×", "x").replace("–", "-").replace("—", "-")
    return _SPACE_RE.sub(" ", text.lower()).strip()


def clean_target(phrase: str | None) -> str | None:
    """'all the red cups from the picture' -> 'red cups'. None when nothing is left."""
    if phrase is None:
        return None
    phrase = phrase.strip(" ,.!?:;'\"")
    for _ in range(3):
        new = _TARGET_TAIL_RE.sub("", phrase).strip(" ,.")
        if new == phrase:
            break
        phrase = new
    phrase = _DET_RE.sub("", phrase + " ").strip(" ,.")
    if re.fullmatch(r"(?:the|a|an|all|some|any|of|my|his|her|their|its|our|your)?", phrase):
        return None
    phrase = re.sub(r"\b(?:please|pls|thanks)\b", "", phrase).strip(" ,.")
    return phrase or None


_BARE_WHOLE_RE = re.compile(r"^(?:(?:whole|entire|full|overall)\s+)?(?:image|picture|photo|photograph|pic|scene|shot|frame|canvas|view|everything)$")


def _is_whole(phrase: str | None) -> bool:
    return phrase is None or bool(_WHOLE_RE.match(phrase.strip()) or _BARE_WHOLE_RE.match(phrase.strip()))


def _strip_clause(clause: str) -> str:
    clause = clause.strip(" ,.;:!?-")
    for _ in range(3):
        new = _POLITE_HEAD_RE.sub("", clause)
        new = _POLITE_TAIL_RE.sub("", new).strip(" ,.;:!?-")
        new = _WISH_RE.sub("", new).strip(" ,.;:!?-")
        if new == clause:
            break
        clause = new
    return clause


def _first_verb(clause: str) -> tuple[str | None, str, str]:
    """(verb group, corrected verb word, rest of the clause)."""
    m = re.match(r"([a-z']+)\s*(.*)$", clause)
    if not m:
        return None, "", clause
    word = correct_verb(m.group(1))
    return VERB_OF.get(word), word, m.group(2)


_VERBISH = re.compile(r"^(?:get\s+rid|take\s+(?:out|away|off)|cut\s+out|zoom\s+out|colou?r\s+pop|make|turn|give|"
                      r"let|have|set|bring|show|keep|swap|replace|change|add|remove)\b")


def _starts_with_verb(text: str) -> bool:
    text = _strip_clause(text)
    if not text:
        return False
    if _VERBISH.match(text):
        return True
    group, _word, _rest = _first_verb(text)
    return group is not None


_GERUND_RE = re.compile(r"^(.+?),?\s+(after|before)\s+([a-z]+ing)\s+(.+)$")
_REST_RE = re.compile(r"^(?:make|turn|render|set|leave)\s+(?:the\s+rest|everything\s+else|all\s+else|the\s+background)\b")


def _base_verb(gerund: str) -> str:
    stem = gerund[:-3]
    for cand in (stem, stem + "e", stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2] else stem):
        if cand in VERB_OF:
            return cand
    return correct_verb(stem + "e") if correct_verb(stem + "e") in VERB_OF else stem


def split_clauses(sentence: str) -> list[str]:
    m = _GERUND_RE.match(sentence)
    if m and _starts_with_verb(m.group(1)):
        later, when, gerund, obj = m.groups()
        first = f"{_base_verb(gerund)} {obj}"
        ordered = [first, later] if when == "after" else [later, first]
        return [c for part in ordered for c in split_clauses(part)]
    parts = [p for p in _SEQUENCE_RE.split(sentence) if p and p.strip(" ,")]
    out: list[str] = []
    for part in parts:
        pieces = _AND_RE.split(part)
        current = pieces[0]
        seps = _AND_RE.findall(part)
        for sep, piece in zip(seps, pieces[1:]):
            verb_next = _starts_with_verb(piece)
            if verb_next and re.match(r"^\s*instead\s+of\b", current) and not _starts_with_verb(current):
                verb_next = False  # "instead of the car, put a tree"
            if verb_next and _REST_RE.match(piece.strip()) and re.match(r"^\s*(?:keep|leave)\b", current):
                verb_next = False  # "keep the car in colour and make the rest black and white"
            if not verb_next and current.strip():
                ellipsis = _ELLIPSIS_RE.match(current.strip())
                if ellipsis and _ELLIPSIS_TAIL_RE.match(piece.strip()):
                    out.append(current)
                    current = f"{ellipsis.group(1)} {piece.strip()}"  # "make the sofa green and the wall white"
                    continue
            if verb_next and current.strip():
                out.append(current)
                current = piece
            else:
                current = current + sep + piece
        out.append(current)
    return [c for c in (x.strip(" ,") for x in out) if c]


# -- numbers -------------------------------------------------------------------------------
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "half": 0.5, "a half": 0.5,
                 "twice": 2, "double": 2, "triple": 3, "thrice": 3, "quadruple": 4}
_FACTOR_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(?:x|times|fold|-fold)(?![a-z])|\b(twice|double|triple|thrice|quadruple|two|three|four)\s*(?:times|x|fold)?\b(?!\s*(?:degrees|°))")
_PERCENT_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(?:%|percent|per\s+cent)")
_ASPECT_RE = re.compile(r"\b(\d{1,2})\s*[:x/]\s*(\d{1,2})\b(?!\s*(?:x|times))")
_DEGREES_RE = re.compile(r"(-?\d{1,3})\s*(?:°|degrees?|deg)\b")


def _factor(text: str) -> float | None:
    m = _PERCENT_RE.search(text)
    if m:
        return 1.0 + float(m.group(1)) / 100.0
    m = _FACTOR_RE.search(text)
    if m:
        if m.group(1):
            return float(m.group(1))
        return float(_NUMBER_WORDS[m.group(2)])
    if re.search(r"\bby\s+(?:a\s+)?half\b|\bhalf\s+(?:again|more)\b", text):
        return 1.5
    return None


# -- the clause readers --------------------------------------------------------------------
class _Reader:
    def __init__(self, clause: str, raw: str, has_mask: bool, quotes: list[str]):
        self.t = clause
        self.raw = raw
        self.has_mask = has_mask
        self.quotes = quotes
        self.original = raw  # the instruction as typed (parse sets it), for text that keeps its case
        self.group, self.verb, self.rest = _first_verb(clause)
        self.needs_mask = False

    # a target phrase -> where to find it
    def locate(self, phrase: str | None) -> tuple[str | None, str]:
        if phrase is not None:
            p = phrase.strip()
            if _AREA_RE.match(p):
                if self.has_mask:
                    return None, "init"
                self.needs_mask = True
                return None, "init"
            if _IN_AREA_RE.match(p):
                if not self.has_mask:
                    self.needs_mask = True
                return None, "maskseg"
        target = clean_target(phrase)
        if target is None:
            return None, ("init" if self.has_mask else "none")
        if self.has_mask:
            return target, "maskseg"
        return target, "res"

    def intent(self, action: str, target: str | None = None, value: str | None = None,
               where: str | None = None, **params) -> Intent:
        if where is None:
            target, where = self.locate(target)
        return Intent(action, self.raw, target, value, where, params)

    # -- readers, most specific first ------------------------------------------------------
    def read(self) -> Intent | None:
        for reader in (self.text, self.colorpop, self.background, self.outpaint, self.geometry, self.hide,
                       self.extract, self.tone, self.env, self.style, self.pose, self.replace, self.recolor,
                       self.add, self.remove):
            self.needs_mask = False
            found = reader()
            if found is not None:
                return found
        return None

    def _quote(self) -> list[str]:
        return [self.quotes[int(i)] for i in re.findall(r"qtx(\d+)", self.t)]

    def text(self) -> Intent | None:
        t = self.t
        qs = self._quote()
        m = re.search(r"\b(?:replace|change|swap|switch|edit|alter|update|correct|fix|turn)\s+(?:the\s+)?(?:text|word|words|writing|sign|label|caption|title)?\s*"
                      r"qtx(\d+)\s+(?:with|to|into|for|by)\s+(?:the\s+(?:text|word|words)\s+)?qtx(\d+)", t)
        if m:
            return Intent("text", self.raw, None, self.quotes[int(m.group(2))], "none",
                          {"mode": "replace", "old": self.quotes[int(m.group(1))]})
        m = re.search(r"\b(?:change|make|edit|update|set)\s+(?:the\s+)?(.{0,40}?)\s*(?:to\s+(?:say|read)|so\s+(?:that\s+)?it\s+(?:says|reads)|say|read)\s+qtx(\d+)", t)
        if m:
            return Intent("text", self.raw, clean_target(m.group(1)), self.quotes[int(m.group(2))], "none",
                          {"mode": "replace", "old": None})
        # "replace the text with …": the text already there, whatever it says
        m = re.search(r"\b(?:replace|change|swap|switch|edit|update|turn)\s+(?:all\s+(?:of\s+)?)?(?:the\s+)?"
                      r"(?:text|writing|words|lettering)\s+(?:with|to|into|for|by)\s+"
                      r"(?:the\s+(?:text|words?)\s+)?(qtx(\d+)|[^,;]+)$", t)
        if m:
            new = self.quotes[int(m.group(2))] if m.group(2) else _original_case(self.original, m.group(1).strip())
            return Intent("text", self.raw, None, new, "none", {"mode": "replace", "old": None})
        # "change the title to "…"": one line of the text, found by RES
        m = re.search(r"\b(?:replace|change|swap|switch|edit|update|turn)\s+(?:the\s+)?(title|heading|headline|"
                      r"caption|label|sign)\s+(?:with|to|into|for|by)\s+qtx(\d+)", t)
        if m:
            return Intent("text", self.raw, m.group(1), self.quotes[int(m.group(2))], "none",
                          {"mode": "replace", "old": None})
        if qs and (self.group in ("add", "write") or re.search(r"\b(?:text|caption|title|words?|label|saying|that\s+says|reading|watermark|slogan|headline|quote|message|signature)\b", t)):
            where_m = re.search(r"qtx\d+\s+(?:on|at|in|to|across|along|over|under|above|below|onto)\s+(?:the\s+)?(.+)$", t)
            place = clean_target(where_m.group(1)) if where_m else None
            return Intent("text", self.raw, None, qs[0], "none", {"mode": "add", "place": place})
        m = re.match(r"(?:write|type|print)\s+(?:the\s+(?:text|words?)\s+)?(.+?)(?:\s+(?:on|at|in|across|over|onto)\s+(?:the\s+)?(.+))?$", t)
        if m and self.group == "write" and not re.match(r"^(?:it|this|that|them|something|anything)$", m.group(1).strip()):
            return Intent("text", self.raw, None, m.group(1).strip(), "none",
                          {"mode": "add", "place": clean_target(m.group(2))})
        m = re.match(r"(?:add|put|place|insert)\s+(?:a\s+|the\s+)?(?:text|caption|title|label|headline|slogan)\s+(?:saying|that\s+says|reading|with|of)\s+(.+?)(?:\s+(?:on|at|in|across|over|onto)\s+(?:the\s+)?(.+))?$", t)
        if m:
            return Intent("text", self.raw, None, m.group(1).strip(), "none",
                          {"mode": "add", "place": clean_target(m.group(2))})
        return None

    def colorpop(self) -> Intent | None:
        t = self.t
        bw = r"(?:black\s+(?:and|&)\s+white|b&w|gr[ae]y(?:scale)?|monochrome|desaturated|colou?rless|without\s+colou?r|in\s+gr[ae]y)"
        pats = (
            r"^colou?r[\s-]*(?:pop|splash)\s+(?:effect\s+)?(?:on|for|to|of)?\s*(?:the\s+)?(.+)$",
            r"^(?:apply|add|use|do|give|make)\s+(?:a\s+)?(?:selective\s+colou?r|colou?r[\s-]*(?:pop|splash))\s+(?:effect\s+)?(?:on|for|to|with|of)?\s*(?:the\s+)?(.+)$",
            r"^(?:make|turn|render|set|convert|change)\s+(?:everything|the\s+rest(?:\s+of\s+the\s+(?:image|picture|photo))?|the\s+(?:image|picture|photo|background|scene)|it|all)\s+(?:to\s+|into\s+)?" + bw + r"\s+(?:except|but|apart\s+from|other\s+than|besides|save\s+for|aside\s+from)\s+(?:for\s+)?(.+)$",
            r"^(?:make|turn|convert|render)\s+(?:everything|all)\s+(?:except|but|apart\s+from|other\s+than|besides)\s+(?:for\s+)?(.+?)\s+(?:to\s+|into\s+)?" + bw + "$",
            r"^desaturate\s+(?:everything|all|the\s+(?:image|photo|picture|rest|background))\s+(?:except|but|apart\s+from|other\s+than|besides)\s+(?:for\s+)?(.+)$",
            r"^keep\s+(?:only\s+)?(.+?)\s+(?:in\s+)?(?:colou?r(?:ed|ful)?|colou?rful)(?:\s+and\s+.*)?$",
            r"^(?:only|just)\s+(.+?)\s+(?:should\s+be|stays?|remains?|is|in)\s+(?:in\s+)?colou?r(?:ed)?(?:\s*,?\s*.*)?$",
            r"^(?:leave|keep)\s+(.+?)\s+(?:in\s+)?colou?r(?:ed)?\s+and\s+(?:make|turn)\s+(?:the\s+rest|everything\s+else).*$",
            r"^(?:selective\s+colou?r|colou?r[\s-]*(?:pop|splash))\s*(?:on|for)?\s*(?:the\s+)?(.+)$",
        )
        for p in pats:
            m = re.match(p, t)
            if m:
                target = m.group(1)
                if target is None or _is_whole(target):
                    return None
                return self.intent("colorpop", target)
        return None

    def background(self) -> Intent | None:
        t = self.t
        if not re.search(r"\b(?:back\s*ground|backdrop|surroundings|setting|bg)\b", t) and not re.match(
            r"^(?:put|place|move|transport|teleport|set|show)\s+(?:the|him|her|them|it|this|my)\b", t):
            return None
        subject = None
        sm = re.search(r"\b(?:behind|around|of|for)\s+(?:the\s+)?(.+?)(?=\s+(?:to|with|into|by|for)\s|$)", t)
        if sm and re.search(r"back\s*ground|backdrop", t[: sm.start()] or ""):
            cand = clean_target(sm.group(1))
            if cand and not re.match(r"^(?:image|picture|photo|scene|it|this)$", cand):
                subject = cand
        # blur
        if re.search(r"\b(?:blur(?:red|ry)?|bokeh|soften|defocus(?:ed)?|out\s+of\s+focus|shallow\s+depth)\b", t):
            return self.intent("background", subject, "blur", where="res" if subject else "sos", mode="blur")
        if re.search(r"\b(?:transparent|alpha|see-?through)\b", t):
            return self.intent("extract", subject, None, where="res" if subject else "sos", transparent=True)
        if re.match(r"^(?:remove|delete|erase|clear|get\s+rid\s+of|drop|take\s+out|eliminate|cut\s+out|strip)\b", t) and not re.search(r"\b(?:from|in|on)\s+the\s+back\s*ground\b", t):
            return self.intent("background", subject, "plain white", where="res" if subject else "sos", mode="remove")
        m = re.search(r"\b(?:back\s*ground|backdrop|surroundings|setting|bg)\b(?:\s+colou?r)?(?:\s+(?:of|behind|around)\s+(?:the\s+)?[\w\s]+?)?\s*(?:to|with|into|for|by|as|so\s+(?:it|that\s+it)\s+(?:is|shows|looks\s+like))\s+(.+)$", t)
        if m is None:
            m = re.search(r"^(?:make|turn|set|paint|colou?r)\s+(?:the\s+)?(?:back\s*ground|backdrop|bg)\s+(?:(?:look\s+)?like\s+|into\s+|to\s+|be\s+)?(.+)$", t)
        if m is None:
            m = re.search(r"^(?:put|place|move|transport|teleport|set|show|bring|take)\s+(?:the\s+)?(.+?)\s+(?:in|on|into|at|onto|inside|under|to|in\s+front\s+of)\s+(.+)$", t)
            if m and SCENE_RE.search(m.group(2)) and not re.search(r"back\s*ground", m.group(1)):
                subject = clean_target(m.group(1))
                if subject in ("him", "her", "them", "it", "this", "me", "us", "subject"):
                    subject = None
                scene = clean_target(m.group(2)) or m.group(2)
                return self.intent("background", subject, _article(scene), where="res" if subject else "sos", mode="scene")
            if m is None and re.search(r"\b(?:new|different|another|nicer|better)\s+(?:back\s*ground|backdrop)", t):
                return self.intent("background", subject, "a different scene", where="res" if subject else "sos", mode="scene")
            if m is None:
                return None
            return None
        value = m.group(1).strip(" ,.")
        value = re.sub(r"^(?:a\s+|an\s+)?(?:new\s+)?(?:back\s*ground|backdrop)\s+(?:of|with|showing)\s+", "", value)
        value = re.sub(r"\s+(?:back\s*ground|backdrop)$", "", value)
        if not value:
            return None
        if re.match(r"^(?:blur(?:red|ry)?|out\s+of\s+focus)$", value):
            return self.intent("background", subject, "blur", where="res" if subject else "sos", mode="blur")
        if re.match(r"^(?:transparent|alpha)$", value):
            return self.intent("extract", subject, None, where="res" if subject else "sos", transparent=True)
        return self.intent("background", subject, value, where="res" if subject else "sos", mode="scene")

    def outpaint(self) -> Intent | None:
        t = self.t
        verb_ok = self.group == "expand" or re.match(
            r"^(?:zoom\s+out|make\s+(?:the\s+)?(?:image|picture|photo|canvas|frame|it)\s+(?:wider|taller|larger|bigger|longer|panoramic|square)|"
            r"show\s+more\s+of|reveal\s+more|add\s+more\s+(?:space|room|canvas|scenery|background)|"
            r"(?:change|convert|turn|make|reframe)\s+(?:the\s+)?(?:image|picture|photo|it|aspect(?:\s+ratio)?)\s+(?:to|into|in)?\s*(?:a\s+)?(?:\d{1,2}\s*[:/]\s*\d{1,2}|widescreen|panorama|panoramic)|"
            r"pull\s+back|go\s+wider|widen\s+the\s+(?:view|shot|frame))", t)
        if not verb_ok:
            return None
        if self.group == "expand":
            obj = clean_target(re.sub(r"^(?:out\s+)?", "", self.rest))
            object_like = obj and not re.match(
                r"^(?:image|picture|photo|photograph|pic|canvas|frame|scene|view|shot|it|this|borders?|edges?|sides?|"
                r"field\s+of\s+view|composition|sky|ground|floor|background|landscape|scenery|surroundings|horizon|"
                r"left|right|top|bottom|out|by|to|on|in|the|\d|twice|double|outwards?|upwards?|downwards?|sideways|"
                r"horizontally|vertically|wider|taller|bit|little|slightly|more|a\s+(?:bit|little|lot))", obj)
            if object_like:
                return None  # "enlarge the dog": not an outpaint
        ratio = _factor(t)
        aspect = None
        am = _ASPECT_RE.search(t)
        if am and not re.search(r"\d\s*(?:x|times)\b", t[am.start():am.end() + 6]):
            aspect = (int(am.group(1)), int(am.group(2)))
        elif re.search(r"\bsquare\b", t):
            aspect = (1, 1)
        elif re.search(r"\b(?:widescreen|cinematic\s+aspect)\b", t):
            aspect = (16, 9)
        elif re.search(r"\b(?:panorama|panoramic)\b", t):
            aspect = (3, 1)
        sides = set()
        if re.search(r"\b(?:left|leftwards?)\b", t):
            sides.add("left")
        if re.search(r"\b(?:right|rightwards?)\b", t):
            sides.add("right")
        if re.search(r"\b(?:top|up|upwards?|above|sky|upper|taller|vertically|height)\b", t):
            sides.add("top")
        if re.search(r"\b(?:bottom|down|downwards?|below|ground|floor|lower|vertically|taller|height)\b", t) and "down" not in ("",):
            sides.add("bottom")
        if re.search(r"\b(?:sides|horizontally|wider|width|sideways|panoramic|panorama)\b", t):
            sides |= {"left", "right"}
        if re.search(r"\b(?:all\s+(?:four\s+)?(?:sides|directions|around)|every\s+(?:side|direction)|around|each\s+side|zoom\s+out|outwards?)\b", t):
            sides = {"left", "right", "top", "bottom"}
        if "zoom" in t and not sides:
            sides = {"left", "right", "top", "bottom"}
        return self.intent("outpaint", None, None, where="none", ratio=ratio, aspect=aspect, sides=sorted(sides))

    def geometry(self) -> Intent | None:
        t = self.t
        if self.group == "rotate" or re.match(r"^turn\s+(?:the\s+)?(?:image|picture|photo|it)\s+(?:\d+|upside|sideways|clockwise|counter|anti)", t) or re.search(r"\bupside\s+down\b", t) and self.group in ("make", "change", "flip", "rotate", None):
            if re.search(r"\bupside\s+down\b", t) and self.group == "flip":
                return self.intent("flip", None, None, where="none", direction="vertical")
            m = _DEGREES_RE.search(t)
            deg = float(m.group(1)) if m else (180.0 if re.search(r"upside\s+down|\b180\b", t) else 90.0)
            if re.search(r"\b(?:counter[\s-]*clockwise|anti[\s-]*clockwise|to\s+the\s+left|left)\b", t):
                deg = abs(deg)
            elif re.search(r"\b(?:clockwise|to\s+the\s+right|right)\b", t):
                deg = -abs(deg)
            target = None
            obj = clean_target(re.sub(r"\s*(?:by\s+)?-?\d+\s*(?:°|degrees?|deg)?.*$|\s+(?:counter|anti)?[\s-]*clockwise.*$|\s+upside\s+down.*$|\s+to\s+the\s+(?:left|right).*$", "", self.rest))
            if obj and not _is_whole(obj):
                target = obj
            return self.intent("rotate", target, None, where="res" if target else "none", degrees=deg)
        if self.group == "flip" and self.verb != "invert":
            direction = "vertical" if re.search(r"\b(?:vertical(?:ly)?|upside|top\s+to\s+bottom|up\s+and\s+down|over)\b", t) else "horizontal"
            obj = clean_target(re.sub(r"\s+(?:horizontal(?:ly)?|vertical(?:ly)?|upside.*|left\s+to\s+right.*|top\s+to\s+bottom.*|sideways|around|over|along.*)$", "", self.rest))
            target = obj if obj and not _is_whole(obj) else None
            return self.intent("flip", target, None, where="res" if target else "none", direction=direction)
        if self.group == "crop":
            rest = self.rest
            m = re.match(r"(?:the\s+(?:image|picture|photo)\s+)?(?:to|around|on|in\s+on)\s+(?:the\s+|a\s+)?(.+)$", rest)
            aspect = None
            am = _ASPECT_RE.search(t)
            if am:
                aspect = (int(am.group(1)), int(am.group(2)))
            elif re.search(r"\bsquare\b", t):
                aspect = (1, 1)
            target = None
            if m and not aspect:
                cand = clean_target(m.group(1))
                if cand and not _is_whole(cand) and not re.match(r"^(?:square|portrait|landscape|center|centre|middle)", cand):
                    target = cand
            if re.match(r"^out\b", rest):
                return None  # "crop out X" means remove X
            return self.intent("crop", target, None, where="res" if target else "none", aspect=aspect)
        return None

    def hide(self) -> Intent | None:
        t = self.t
        if self.group != "hide" and not re.match(r"^(?:cover\s+up|black\s+out|blot\s+out|smudge|fuzz|make\s+(?:the\s+)?.+?\s+(?:blurry|blurred|unrecognizable|unrecognisable|pixelated|anonymous))\b", t):
            return None
        if self.verb == "cover" and not re.search(r"\b(?:face|faces|plate|plates|identity|eyes|name)\b", t):
            return None
        mode = "pixelate" if re.search(r"\b(?:pixelat\w*|pixeli[sz]\w*|pixellat\w*|mosaic|8-?bit|pixels?)\b", t) else "blur"
        mm = re.match(r"^make\s+(?:the\s+)?(.+?)\s+(?:blurry|blurred|unrecognizable|unrecognisable|pixelated|anonymous)\b", t)
        if mm:
            rest = mm.group(1)
        else:
            rest = re.sub(r"^(?:up|out)\s+", "", self.rest if self.group == "hide" else t.split(" ", 2)[-1])
        rest = re.sub(r"\s+(?:with|using|by)\s+(?:a\s+)?(?:blur|pixelation|mosaic|pixels|black\s+box).*$|\s+(?:heavily|lightly|strongly|a\s+bit|slightly)$|\s+(?:out|so\s+.*)$", "", rest)
        target = clean_target(rest)
        if target is None or re.match(r"^(?:people|persons?|everyone|everybody|the\s+people|identit(?:y|ies)|them|him|her|individuals)$", target or ""):
            target = "face" if target is None or self.verb in ("anonymize", "anonymise") else target + " faces" if target in ("people",) else "face"
        if re.search(r"\bback\s*ground\b", target):
            return None  # blur the background: the background reader
        if _is_whole(target):
            return self.intent("hide", None, None, where="none", mode=mode, whole=True)
        strength = 0
        if re.search(r"\b(?:heavily|strongly|a\s+lot|completely|fully|very)\b", t):
            strength = 1
        elif re.search(r"\b(?:lightly|slightly|a\s+bit|a\s+little|subtly)\b", t):
            strength = -1
        return self.intent("hide", target, None, mode=mode, strength=strength)

    def extract(self) -> Intent | None:
        t = self.t
        m = re.match(r"^(?:cut\s+out|cut|crop\s+out|clip\s+out|lift\s+out|pull\s+out|pick\s+out|extract|isolate|segment|separate|select|mask\s+out|mask|get|give\s+me)\s+(?:only\s+|just\s+)?(.+?)(?:\s+(?:out|from\s+(?:the\s+)?(?:back\s*ground|image|picture|photo|rest)|as\s+(?:a\s+)?(?:png|cut-?out|sticker|mask|layer|separate\s+image).*|on\s+(?:a\s+)?transparent.*|with\s+(?:a\s+)?transparent.*))*$", t)
        if m is None:
            m = re.match(r"^(?:make|create|give\s+me|produce|generate)\s+(?:me\s+)?(?:a\s+)?(?:cut-?out|sticker|mask|segmentation|png)\s+(?:of|for|from)\s+(.+)$", t)
        if m is None:
            return None
        verb = t.split(" ", 1)[0]
        if verb in ("get", "give", "cut", "select", "mask", "crop", "pull", "pick", "lift", "clip") and not re.search(
                r"\b(?:out|cut-?out|isolate|transparent|png|sticker|from\s+the\s+back\s*ground|only|just|mask|alone|segment)\b", t):
            return None
        if verb == "crop" and re.match(r"^crop\s+out\b", t) and not re.search(r"\b(?:png|transparent|cut-?out|sticker)\b", t):
            return None  # "crop out X" = remove
        phrase = re.sub(r"\s+(?:alone|only)$", "", m.group(1))
        target, where = self.locate(phrase)
        mask_only = bool(re.search(r"\b(?:mask|segmentation)\b", t) and not re.search(r"\b(?:png|cut-?out|sticker|transparent)\b", t))
        if target is None and where == "none":
            where = "sos"
        return Intent("extract", self.raw, target, None, where, {"mask_only": mask_only})

    def tone(self) -> Intent | None:
        t = self.t
        kinds = {"brightness": r"bright(?:ness|er|en)?|light(?:er|en|ness)?|exposure|exposed|luminosity|dark(?:er|en|ness)?|dim(?:mer)?|gloomy|dull",
                 "contrast": r"contrast(?:y)?|punch(?:y|ier)|crisp(?:er)?|flat(?:ter)?",
                 "saturation": r"(?:de)?saturat(?:ion|ed|e)|vivid|vibran(?:t|ce)|colou?rful|muted|washed[\s-]*out|pop(?:py)?(?!\s+art)|intense\s+colou?rs|richer\s+colou?rs|colou?rs?\s+(?:more|less)"}
        found = [k for k, p in kinds.items() if re.search(r"\b(?:" + p + r")\b", t)]
        if not found:
            return None
        if self.group in ("remove", "replace", "add") and not re.search(r"\b(?:more|less|some|extra|a\s+bit\s+of)\b", t):
            return None
        if re.search(r"\b(?:bright|dark|light)[\s-]+(?:" + "|".join(COLOR_WORDS) + r")\b", t) and not re.search(r"\b(?:image|photo|picture|it)\b", t):
            return None  # "make the car dark blue" is a recolour
        # which object? "brighten the sky" -> target sky
        target = None
        m = re.match(r"^(?:brighten|lighten|darken|dim|saturate|desaturate)\s+(?:up\s+)?(.+?)(?:\s+(?:a\s+bit|a\s+little|slightly|a\s+lot|much|more|by\s+.*))?$", t)
        if m:
            target = clean_target(m.group(1))
        m = re.match(r"^(?:make|turn|get|render)\s+(.+?)\s+(?:look\s+)?(?:a\s+(?:bit|little|lot)\s+|much\s+|slightly\s+|way\s+|far\s+|more\s+|less\s+|even\s+)*(?:brighter|darker|lighter|dimmer|more|less|punchier|crisper|flatter|vivid|vibrant|bright|dark|colou?rful|saturated|muted)\b", t)
        if m:
            target = clean_target(m.group(1))
        if target and (_is_whole(target) or re.match(r"^(?:colou?rs?|exposure|contrast|saturation|brightness|lighting|it\s+all)$", target)):
            target = None
        if target and (re.search(r"\b(?:brightness|contrast|saturation|exposure|vibrance)\b", target)):
            target = None
        if target and target in COLOR_WORDS:
            return None
        up_words = r"\b(?:increase|boost|raise|more|higher|brighter|brighten|lighten|lighter|up|punchier|crisper|vivid|vibrant|saturate|colou?rful|pop|enhance|stronger|too\s+dark|underexposed|bump|crank|amp|richer|intense)\b"
        down_words = r"\b(?:decrease|reduce|lower|less|darker|darken|dim|dimmer|down|flatter|flat|muted|desaturate|desaturated|washed|too\s+bright|overexposed|weaker|tone\s+down|soften|gloomy|dull)\b"
        direction = 0
        if re.search(up_words, t):
            direction += 1
        if re.search(down_words, t):
            direction -= 1
        if direction == 0:
            direction = 1 if self.group == "brighten" and self.verb != "darken" else (-1 if self.verb in ("darken", "dim") else 1)
        if re.search(r"\btoo\s+(?:dark|dim|gloomy|flat|dull|muted)\b|\bunderexposed\b", t):
            direction = 1
        if re.search(r"\btoo\s+(?:bright|light|saturated|vivid|contrasty)\b|\boverexposed\b", t):
            direction = -1
        kind = found[0]
        if "brightness" in found and re.search(r"\b(?:darken|darker|dark|dim|dimmer|gloomy)\b", t) and not re.search(r"\b(?:contrast|saturat)", t):
            direction = -1 if not re.search(r"\btoo\s+dark|\bless\s+dark", t) else 1
        amount = 1
        if re.search(r"\b(?:a\s+lot|much|way|significantly|strongly|very|really|dramatically|far)\b", t):
            amount = 2
        elif re.search(r"\b(?:a\s+(?:bit|little|touch)|slightly|somewhat|subtly|a\s+tad|a\s+smidge)\b", t):
            amount = 0.5
        pct = _PERCENT_RE.search(t)
        return self.intent("tone", target, None, where="res" if target else "none", kind=kind, kinds=found,
                           direction=direction, amount=amount,
                           percent=float(pct.group(1)) if pct else None)

    def env(self) -> Intent | None:
        t = self.t
        found = list(ENV_RE.finditer(t))
        if not found:
            return None
        strong = [f for f in found if f.group(1) not in ("day", "sun", "morning", "afternoon")]
        m = (strong or found)[-1]
        if self.group in ("remove",) or re.match(r"^(?:get\s+rid\s+of|take\s+away)\b", t):
            word = m.group(1)
            kind, _value = ENV_WORDS[word]
            if kind == "weather":
                return self.intent("env", None, f"remove the {word} and make the weather clear", where="none", kind=kind)
            return None
        if re.search(r"\b(?:cloud|sun|moon|rainbow)\b", m.group(1)) and self.group == "add":
            return None
        if m.group(1) in ("sunset", "sunrise", "spring", "fall", "day", "sun", "clouds", "ice") and self.group in ("add", "remove", "replace") and not re.search(r"\b(?:make|turn|change|set)\b", t):
            if not (m.group(1) in ("sunset", "sunrise") and self.group == "add"):
                return None
        if m.group(1) in ("fall", "spring", "day", "mist", "rain", "snow", "fog", "storm", "sun", "haze", "hail") and self.group not in (
                "make", "change", "add", None, "brighten") and not re.search(r"\b(?:weather|season|time)\b", t):
            return None
        if m.group(1) in ("fall", "spring") and not re.search(r"\b(?:season|in\s+(?:the\s+)?(?:fall|spring)|look\s+like|into|to|during|autumn|make\s+it)\b", t):
            return None
        if m.group(1) == "day" and not re.search(r"\b(?:day\s*time|during\s+the\s+day|day\s+time|into\s+day|to\s+day|make\s+it\s+day)\b", t):
            return None
        # reject when an object is the real subject ("make the dog look sunny"? rare) or a style
        if STYLE_RE.search(t) and not re.search(r"\b(?:weather|season|time\s+of\s+day)\b", t):
            return None
        if re.search(r"\bback\s*ground\b", t):
            return None
        kind, value = ENV_WORDS[m.group(1)]
        if self.group in ("remove",):
            return None
        prompt = {"weather": f"change the weather to {value}", "season": f"change the season to {value}",
                  "time": f"change the time of day to {value}"}[kind]
        if value == "snowy" and self.group == "add":
            prompt = "make it snow"
        return self.intent("env", None, prompt, where="none", kind=kind)

    def style(self) -> Intent | None:
        t = self.t
        m = STYLE_RE.search(t)
        sm = re.search(r"\bin\s+(?:the\s+)?style\s+of\s+(.+)$|\blike\s+(?:a\s+)?(?:painting|picture|work)\s+by\s+(.+)$|\b(?:as|like)\s+if\s+(?:painted|drawn)\s+by\s+(.+)$|\bpainted\s+by\s+(.+)$", t)
        if m is None and sm is None:
            if re.search(r"\bstyle\b", t) and self.group in ("make", "change", "style", "add", None):
                m2 = re.search(r"(?:(?:in|into|to)\s+(?:an?\s+)?)?([\w\s-]{2,30}?)\s+style\b", t)
                if m2 and not re.match(r"^(?:the|a|an|different|new|another|this|that|same|some|hair|its)$", m2.group(1).strip()):
                    style = m2.group(1).strip()
                    style = re.sub(r"^(?:make|turn|change|convert|render|apply|it|the|image|photo|picture|into|to|in|a|an|\s)+", "", style).strip()
                    if style:
                        return self._style_intent(f"{style} style")
            return None
        if sm is not None:
            artist = next(g for g in sm.groups() if g)
            style = f"{clean_target(artist) or artist} style"
        else:
            key = m.group(1)
            style = STYLES[key]
            if key in ("drawing", "painting", "sketch", "illustration", "pencil", "hand drawn", "hand-drawn") and (self.group in ("add", "remove", "replace") or not re.search(
                    r"\b(?:into|as|like|look|looks|style|render|convert|turn|make\s+(?:it|this|the\s+\w+)\s+(?:a|an)|apply|in\s+(?:a\s+)?(?:pencil\s+)?(?:sketch|painting|drawing))\b", t)):
                return None
            if key in ("oil", "clay", "ink", "neon", "lego", "comic", "pastel", "dreamy", "fantasy", "gothic") and not re.search(
                    r"\b(?:style|painting|look|like|into|as|version|filter|effect|render|made|drawn|paint)\b", t):
                return None
            if key in ("black and white", "black-and-white", "black & white") and self.group in ("recolor",):
                return None
        if self.group in ("remove",):
            return None
        return self._style_intent(style)

    def _style_intent(self, style: str) -> Intent | None:
        t = self.t
        target = None
        m = re.match(r"^(?:make|turn|render|convert|change|transform|paint|draw|redo|redraw|reimagine|restyle|stylize|stylise|apply)\s+(?:only\s+|just\s+)?(.+?)\s+(?:look\s+like|into|to|in|as|like|with|using|a\s+)\b", t)
        if m:
            target = m.group(1)
        if re.match(r"^(?:apply|add|use|give)\b", t):
            m = re.search(r"\b(?:to|on)\s+(?:only\s+|just\s+)?(.+)$", t)
            target = m.group(1) if m else None
        if target is not None:
            target = clean_target(re.sub(r"\s+(?:looks?|appears?|seems?)$", "", target))
        if target and (_is_whole(target) or re.match(r"^(?:(?:the\s+)?(?:whole|entire)\s+)?(?:image|picture|photo|photograph|pic|scene|everything|it|this|the\s+\w+\s+(?:image|photo))$", target) or STYLE_RE.fullmatch(target)):
            target = None
        if target and re.search(r"\b(?:style|filter|effect|look)\b", target):
            target = None
        if target is None:
            am = re.search(r"\b(?:(?:this|that)\s+(?:part|area|region|bit|spot|section|object)|the\s+(?:selected|marked|masked|highlighted)\s+(?:part|area|region|object)|(?:the\s+)?(?:object|thing)\s+(?:i|you)\s+(?:selected|marked|circled))\b", t)
            if am:
                return self.intent("style", am.group(0), style)
            return self.intent("style", None, style, where="none")
        return self.intent("style", target, style)

    def pose(self) -> Intent | None:
        t = self.t
        expr = r"(?:" + "|".join(EXPRESSIONS) + r")"
        pv = r"(?:" + "|".join(sorted(POSE_VERBS, key=len, reverse=True)) + r")"
        m = re.match(r"^(?:make|have|let|get)\s+(?:the\s+)?(.+?)\s+(?:to\s+)?(?:look\s+|appear\s+|seem\s+|be\s+)?(?:more\s+|very\s+|a\s+bit\s+|slightly\s+)?(" + expr + r"|" + pv + r")\b(.*)$", t)
        if m and not re.match(r"^(?:it|this|image|picture|photo|everything)$", m.group(1)):
            subject = clean_target(m.group(1)) or (m.group(1) if m.group(1) in ("him", "her", "them", "he", "she", "they") else None)
            if subject and not re.search(r"\b(?:colou?r|back\s*ground)\b", subject):
                if m.group(2) in ("open", "close", "shut", "put", "stick", "roll", "read", "play", "face", "turn", "rest") and self.group == "make" and not re.search(r"\b(?:his|her|their|its|the\s+(?:arms?|hands?|eyes|mouth|head|legs?))\b", t):
                    pass
                else:
                    return self.intent("pose", None, self.raw_prompt(), where="none", subject=subject)
        m = re.match(r"^(?:change|alter|modify|adjust|switch)\s+(?:the\s+|his\s+|her\s+|their\s+|its\s+)?(?:(.+?)(?:'s|s')\s+)?(?:pose|posture|expression|facial\s+expression|gesture|stance|position)(?:\s+of\s+(?:the\s+)?(.+?))?\s*(?:to|so|into|:)\s+(.+)$", t)
        if m:
            return self.intent("pose", None, self.raw_prompt(), where="none", subject=clean_target(m.group(1) or m.group(2)))
        m = re.match(r"^(?:the\s+)?(.+?)\s+(?:should|must|needs\s+to|has\s+to)\s+(?:be\s+)?(?:look\s+)?(" + expr + r"|" + pv + r")\b", t)
        if m:
            return self.intent("pose", None, self.raw_prompt(), where="none", subject=clean_target(m.group(1)))
        if re.match(r"^(?:give|put)\s+(?:the\s+)?(.+?)\s+(?:a|an)\s+(?:\w+\s+)?(?:smile|frown|grin|pose|expression|wink|thumbs[\s-]+up)\b", t):
            return self.intent("pose", None, self.raw_prompt(), where="none")
        return None

    def raw_prompt(self) -> str:
        text = self.t
        for i, q in enumerate(self.quotes):
            text = text.replace(f"qtx{i}", f'"{q}"')
        return text

    def replace(self) -> Intent | None:
        t = self.t
        pats = (
            (r"^(?:replace|swap|exchange|switch|substitute|trade)\s+(?:out\s+)?(.+?)\s+(?:with|for|by|to|into|and\s+put|and\s+use)\s+(.+)$", False),
            (r"^substitute\s+(.+?)\s+for\s+(.+)$", True),
            (r"^(?:turn|change|transform|convert|morph|make|modify|alter)\s+(.+?)\s+(?:into|in\s+to|to\s+become|become)\s+(.+)$", False),
            (r"^(?:change|switch|modify|alter)\s+(.+?)\s+(?:to|for|with)\s+(.+)$", False),
            (r"^make\s+(.+?)\s+(?:an?|some)\s+(.+)$", False),
            (r"^(?:put|place|use|add|draw|insert)\s+(.+?)\s+instead\s+of\s+(.+)$", True),
            (r"^instead\s+of\s+(.+?),?\s+(?:put|place|use|add|have|show|draw|insert|i\s+want)\s+(.+)$", False),
            (r"^(.+?)\s+(?:->|=>|→|to)\s+(.+)$", False),
            (r"^(?:i\s+want|let'?s\s+have|have)\s+(.+?)\s+instead\s+of\s+(.+)$", True),
            (r"^(?:(?:put|place|use|add|have|show|draw|insert)\s+)?(.+?)\s+instead\s+of\s+(.+)$", True),
            (r"^(.+?)\s+should\s+be\s+(?:replaced\s+(?:with|by)\s+)?(?:an?\s+)(.+)$", False),
            (r"^(.+?)\s+(?:should\s+be|is)\s+replaced\s+(?:with|by)\s+(.+)$", False),
        )
        for pattern, reverse in pats:
            m = re.match(pattern, t)
            if not m:
                continue
            old, new = (m.group(2), m.group(1)) if reverse else (m.group(1), m.group(2))
            if old.strip() in ("here", "there", "me", "us", "you") or (
                    pattern.startswith("^make") and re.search(r"\b(?:wear|wearing|hold|holding|carry|have|get|look|be|become)\b", old)):
                continue
            if pattern.startswith("^(.+?)\\s+(?:->") and not (re.search(r"->|=>|→", t)):
                continue
            old_c = clean_target(old)
            new = new.strip(" ,.")
            new_c = re.sub(r"^(?:a|an|the|some)\s+", "", new)
            area = bool(_AREA_RE.match(old.strip()) or _IN_AREA_RE.match(old.strip()))
            if (not old_c and not area) or not new_c:
                continue
            if re.search(r"\b(?:colou?r|material|texture|finish|shade|hue|tone)\b", old_c or ""):
                return None  # "change the colour of X to C": recolour
            named_thing = bool(re.match(r"^(?:a|an)\s", new)) and not re.search(r"\bone$", new)
            if (_is_colorish(new_c) and not named_thing) or re.match(r"^(?:made\s+of|out\s+of|from)\s+", new_c):
                return None
            if (STYLE_RE.fullmatch(new_c) and not named_thing) or re.search(r"\bstyle\b", new_c):
                return None
            if (_is_whole(old_c) and not area) or re.search(r"\bback\s*ground\b", old_c or ""):
                return None
            if ENV_RE.fullmatch(new_c):
                return None
            if re.match(r"^(?:look|be|become|appear|seem)\b", new_c):
                return None
            target, where = self.locate(old)
            return Intent("replace", self.raw, target, _article(new), where, {"old": old_c or "marked object"})
        return None

    def recolor(self) -> Intent | None:
        t = self.t
        pats = (
            r"^(?:change|alter|switch|modify|set|make|turn|update|adjust)\s+(?:the\s+)?(?:colou?r|material|texture|finish|shade|hue|paint)s?\s+of\s+(.+?)\s+(?:to|into|in|from\s+\w+\s+to)\s+(.+)$",
            r"^(?:change|alter|switch|modify|set|make|turn|update|adjust)\s+(.+?)(?:'s|s')\s+(?:colou?r|material|texture|finish|shade|hue)\s+(?:to|into|in)\s+(.+)$",
            r"^(?:recolou?r|paint|colou?r|dye|tint|repaint|spray\s*paint)\s+(.+?)\s+(?:in\s+|to\s+|with\s+|using\s+)?(" + _COLOR_PHRASE + r")$",
            r"^(?:recolou?r|paint|colou?r|dye|tint|repaint)\s+(.+?)\s+(?:in|to|with|using)\s+(.+)$",
            r"^(?:make|turn|change|switch|convert|render|transform|alter|modify|set|i\s+want|i\s+need|i'?d\s+like)\s+(.+?)\s+(?:to\s+|into\s+|look\s+|appear\s+|be\s+|become\s+|in\s+|to\s+be\s+|to\s+look\s+)?(?:a\s+)?(" + _COLOR_PHRASE + r")$",
            r"^(?:make|turn|change|switch|convert|render|transform|alter|modify|set)\s+(.+?)\s+(?:to\s+|into\s+|look\s+like\s+|be\s+)?(?:made\s+(?:of|from|out\s+of)|out\s+of|from)\s+(.+)$",
            r"^(.+?)\s+(?:should\s+be|must\s+be|needs\s+to\s+be|in)\s+(?:coloured\s+|colored\s+|painted\s+)?(" + _COLOR_PHRASE + r")$",
            r"^(?:give)\s+(.+?)\s+(?:a|an)\s+(" + _COLOR_PHRASE + r")\s+(?:colou?r|finish|paint\s+job|look|tint|shade)$",
        )
        for p in pats:
            m = re.match(p, t)
            if not m:
                continue
            obj, colour = m.group(1), m.group(2).strip(" ,.")
            while clean_target(obj) is None and " " in colour and _is_colorish(colour.split(" ", 1)[1]):
                head, colour = colour.split(" ", 1)  # "the" + "sky purple" -> "the sky" + "purple"
                obj = f"{obj} {head}"
            if re.search(r"\b(?:on|of|in|at|to|the|a|an|with|rid)$", obj.strip()) or re.match(r"^(?:rid\s+of)\b", obj.strip()):
                continue
            if re.search(r"\b(?:back\s*ground|backdrop)\b", obj or ""):
                return None
            if _is_whole(clean_target(obj)) and not re.search(r"\bof\b", t.split(" ", 3)[1] if len(t.split(" ")) > 2 else ""):
                # "make it red" -> whole image tint: treat as colour of "everything" -> not a recolour
                if not re.search(r"colou?r\s+of", t):
                    return None
            colour = re.sub(r"\s+(?:colou?r(?:ed)?|instead|one|please)$", "", colour)
            colour = re.sub(r"^(?:the\s+)?(?:colou?r|material)\s+", "", colour)
            if not colour:
                continue
            target, where = self.locate(obj)
            if target is None and where == "none":
                return None
            return Intent("recolor", self.raw, target, colour, where, {})
        return None

    def add(self) -> Intent | None:
        t = self.t
        m = re.match(r"^(?:add|put|place|insert|include|draw|attach|plant|stick|position|introduce|create|generate|paint|sketch|drop|bring|throw|pop|stick)\s+(?:in\s+)?(.+)$", t)
        if m is None:
            m = re.match(r"^(?:there\s+should\s+be|there\s+needs\s+to\s+be|i\s+want|i\s+need|i'?d\s+like|show|have|let\s+there\s+be|can\s+there\s+be|could\s+there\s+be|i\s+wish\s+there\s+was|i\s+wish\s+there\s+were|we\s+need)\s+(.+?)(?:\s+in\s+(?:the|this)\s+(?:image|picture|photo|scene))?(?:\s+too|\s+as\s+well)?$", t)
        if m is None:
            m2 = re.match(r"^(?:give|make)\s+(?:the\s+)?(.+?)\s+(?:a|an|some)\s+(.+)$", t)
            if m2 and re.match(r"^give\b", t):
                owner, thing = clean_target(m2.group(1)), m2.group(2)
                phrase = f"a {thing} on the {owner}"
                return self.intent("add", None, phrase, where="init" if self.has_mask else "none", obj=f"a {thing}", position=f"on the {owner}")
            m3 = re.match(r"^(?:make|let|have)\s+(?:the\s+)?(.+?)\s+(?:wear|hold|carry|have)\s+(?:a|an|some|the)?\s*(.+)$", t)
            if m3:
                owner, thing = clean_target(m3.group(1)), m3.group(2)
                verb = re.match(r"^\w+\s+(?:the\s+)?.+?\s+(wear|hold|carry|have)\b", t).group(1)
                prep = "held by" if verb in ("hold", "carry") else "on"
                return self.intent("add", None, f"a {thing} {prep} the {owner}", where="init" if self.has_mask else "none", obj=f"a {thing}", position=f"{prep} the {owner}")
            return None
        body = m.group(1).strip()
        if re.match(r"^(?:more|some|less|extra)\s+(?:contrast|brightness|saturation|light|exposure)\b", body):
            return None
        body = re.sub(r"\s+(?:to|in|into|onto)\s+(?:the|this)\s+(?:image|picture|photo|scene|frame)$", "", body)
        pos = None
        pm = re.search(r"\s+((?:on|in|at|to|into|onto|under|underneath|beneath|above|over|below|behind|beside|besides|near|next\s+to|in\s+front\s+of|on\s+top\s+of|inside|between|among|around|by|along|across|against|in\s+the\s+(?:left|right|top|bottom|middle|center|centre|corner|foreground|background))\b.*)$", body)
        obj = body
        if pm:
            pos = pm.group(1).strip()
            obj = body[: pm.start()].strip()
        if not obj or re.match(r"^(?:it|this|that|them)$", obj):
            return None
        if re.search(r"\b(?:here|there|this\s+(?:area|spot|place|region)|the\s+(?:selected|marked|masked|highlighted)\s+(?:area|region|spot|part))\b", pos or "") or re.search(r"\s(?:here|there)$", obj):
            obj = re.sub(r"\s+(?:here|there)$", "", obj)
            where = "init" if self.has_mask else "none"
            if not self.has_mask and re.search(r"\b(?:selected|marked|masked|highlighted|this\s+(?:area|spot|region))\b", pos or ""):
                self.needs_mask = True
                where = "init"
            phrase = f"{_article(obj)}"
            return Intent("add", self.raw, None, phrase, where, {"obj": _article(obj), "position": None})
        obj_a = _article(obj)
        phrase = obj_a + (f" {pos}" if pos else "")
        return Intent("add", self.raw, None, phrase, "init" if self.has_mask else "none",
                      {"obj": obj_a, "position": pos})

    def remove(self) -> Intent | None:
        t = self.t
        m = re.match(r"^(?:remove|erase|delete|eliminate|clear|wipe|strip|omit|eradicate|get\s+rid\s+of|take\s+(?:out|away|off)|"
                     r"cut|crop\s+out|clean\s+up|clean\s+out|clean|edit\s+out|photoshop\s+out|retouch\s+out|paint\s+out|"
                     r"lose|ditch|drop|kill|nuke|scrub|wipe\s+out|wipe\s+away|blot\s+out|zap|purge|banish|exclude)\s+(?:away\s+|off\s+|out\s+|up\s+)?(.+?)(?:\s+(?:out|away|off))?$", t)
        if m is None:
            m = re.match(r"^take\s+(.+?)\s+(?:out|away|off)$", t)
        if m is None:
            m = re.match(r"^(?:make|let)\s+(.+?)\s+(?:disappear|vanish|go\s+away|gone|invisible)$", t)
        if m is None:
            m = re.match(r"^(?:i\s+(?:don'?t|do\s+not)\s+want|no\s+more|without|no)\s+(.+?)(?:\s+(?:in|on)\s+(?:the|this)\s+(?:image|picture|photo))?(?:,?\s+please)?$", t)
        if m is None:
            m = re.match(r"^(.+?)\s+(?:should\s+be\s+(?:gone|removed|deleted|erased)|must\s+go|has\s+to\s+go|needs\s+to\s+go|is\s+not\s+needed)$", t)
        if m is None:
            return None
        phrase = m.group(1)
        if re.match(r"^(?:the\s+)?(?:colou?rs?|saturation)$", phrase.strip()):
            return self.intent("style", None, "black and white style", where="none")
        target, where = self.locate(phrase)
        if target is None and where == "none":
            return None
        bg_like = bool(target and any(w in target for w in _BACKGROUNDISH))
        return Intent("remove", self.raw, target, None, where, {"background_like": bg_like})


_COLOR_PHRASE = r"(?:(?:(?:a|an)\s+)?(?:(?:light|dark|bright|pale|deep|pastel|neon|vivid|hot|baby|royal|sky|navy|forest|lime|matte|glossy|metallic|shiny|dull|rich|soft|warm|cool|electric|shocking|blood|jet|snow|off)[\s-]+)*(?:" + "|".join(
    re.escape(c) for c in sorted(COLOR_WORDS, key=len, reverse=True)) + r")(?:[\s-]*(?:ish))?(?:\s+(?:and|&|with)\s+(?:(?:light|dark|bright|pale|deep)[\s-]+)?(?:" + "|".join(
    re.escape(c) for c in sorted(COLOR_WORDS, key=len, reverse=True)) + r"))*(?:\s+(?:colou?r(?:ed)?|material|finish|one|stripes|polka\s+dots|paint|texture|instead|tone|tones|shade))?)"
_COLOR_FULL_RE = re.compile("^" + _COLOR_PHRASE + "$")
_ELLIPSIS_RE = re.compile(r"^(make|paint|colou?r|turn|dye|recolou?r)\s+.+?\s+" + _COLOR_PHRASE + "$")
_ELLIPSIS_TAIL_RE = re.compile(r"^(?:the|his|her|their|its|my)\s+[\w\s'-]+?\s+" + _COLOR_PHRASE + "$")


def _is_colorish(text: str) -> bool:
    return bool(_COLOR_FULL_RE.match(text.strip()) or COLOR_RE.match(text.strip()))


def _article(phrase: str) -> str:
    phrase = phrase.strip(" ,.")
    if re.match(r"^(?:a|an|the|some|two|three|four|five|several|many|few|\d+|one|my|his|her|their|more|lots\s+of|a\s+few)\b", phrase):
        return phrase
    if re.search(r"s$", phrase.split(" ")[0]) and not re.search(r"ss$", phrase.split(" ")[0]):
        return phrase
    return ("an " if phrase[:1] in "aeiou" else "a ") + phrase


# -- the whole instruction -----------------------------------------------------------------
def parse(instruction: str, has_mask: bool = False) -> Parsed:
    if not isinstance(instruction, str):
        return Parsed([], [], [])
    quotes: list[str] = []

    def keep_quote(m: re.Match) -> str:
        quotes.append(next(g for g in m.groups() if g is not None))
        return f" qtx{len(quotes) - 1} "

    text = _QUOTE_RE.sub(keep_quote, instruction[:2000])
    text = _norm(text)
    text = correct_words(text)
    intents: list[Intent] = []
    unread: list[str] = []
    needs_mask: list[str] = []
    for sentence in _SENTENCE_RE.split(text):
        sentence = sentence.strip(" ,")
        if not sentence:
            continue
        for clause in split_clauses(sentence):
            stripped = _strip_clause(clause)
            if not stripped or re.fullmatch(r"(?:thanks?(?:\s+you)?|thx|ty|please|ok(?:ay)?|cheers|that'?s\s+(?:it|all)|nothing|hi|hello|hey)", stripped):
                continue
            first, rest = (stripped.split(" ", 1) + [""])[:2]
            fixed = correct_verb(first)
            if fixed != first:
                stripped = (fixed + " " + rest).strip()
            reader = _Reader(stripped, clause.strip(), has_mask, quotes)
            reader.original = instruction  # new text keeps the case it was typed in
            try:
                intent = reader.read()
            except (IndexError, AttributeError, KeyError, ValueError):
                intent = None
            if reader.needs_mask and intent is not None and intent.where in ("init", "maskseg") and not has_mask:
                needs_mask.append(clause.strip())
                continue
            if intent is None:
                unread.append(clause.strip())
            else:
                intent.clause = _restore(clause.strip(), quotes)
                intents.append(intent)
    return Parsed(intents, unread, quotes, needs_mask)


def _restore(text: str, quotes: list[str]) -> str:
    for i, q in enumerate(quotes):
        text = text.replace(f"qtx{i}", f'"{q}"')
    return _SPACE_RE.sub(" ", text).strip()

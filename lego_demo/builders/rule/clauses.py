"""The shared clause layer: an instruction -> clean clauses every action reads the same way.

    read_clauses("Could you pls remove the dog, then make it night!", has_mask=False)
    -> [Clause(text="remove the dog", verb="remove", …), Clause(text="make it night", …)]

Steps: quotes become placeholders (`qtx0`) so nothing inside them is read as an instruction →
lower case, chat shorthand expanded, keyword typos corrected → sentences → clauses ("first …,
then …", "; ", "and"/"," before a verb, "after removing X, …" reordered, "make the sofa green
and the wall white" distributed) → per clause: politeness dropped, canonical rewrites
(`canon.py`: non-native and terse forms, "the dog, remove it"), the first word's typo corrected,
and the trailing reasons and wishes ("…, leaving the table untouched") cut into `text`.
Actions read `text`; `full` keeps the wishes for the few that need them ("… while keeping the
dog in colour").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .canon import canonical, statement_topic, topic_first
from .phrases import PRONOUNS
from .words import COLOR_PHRASE, EXPRESSIONS, POSE_VERBS, VERB_OF, correct_verb, correct_words

_POSE_WORDS = "|".join(sorted((re.escape(w) for w in (*POSE_VERBS, *EXPRESSIONS) if " " not in w), key=len, reverse=True))


@dataclass
class Intent:
    action: str  # the action module that read it
    clause: str  # the clause as written
    target: str | None = None  # what to segment (a RES phrase); None = whole image / nothing
    value: str | None = None  # new object, colour, scene, style, prompt, text …
    where: str = "res"  # res | sos | init (the user's mask) | maskseg (object in the user's mask) | none
    params: dict = field(default_factory=dict)


@dataclass
class Clause:
    raw: str  # as written, quotes restored
    plain: str  # lower case, politeness gone, before the canonical rewrites
    full: str  # lower case, quotes as qtxN, canonical form, wishes kept
    text: str  # `full` without trailing reasons and wishes: what actions read
    verb: str  # first word, typo-corrected
    group: str | None  # its verb group (words.VERBS), None when it is not a known verb
    rest: str  # `text` after the first word
    quotes: list[str]
    has_mask: bool
    topic: str | None = None  # the object an earlier clause talked about ("the dog, remove it")
    remark: str | None = None  # the remark just before ("it's too bright, tone it down")

    def quoted(self, text: str | None = None) -> list[str]:
        return [self.quotes[int(i)] for i in re.findall(r"qtx(\d+)", self.text if text is None else text)]

    def restore(self, text: str) -> str:
        for i, q in enumerate(self.quotes):
            text = text.replace(f"qtx{i}", f'"{q}"')
        return re.sub(r"\s+", " ", text).strip()


# -- text clean-up ---------------------------------------------------------------------------
_QUOTE_RE = re.compile(r"\"([^\"]{1,200})\"|“([^”]{1,200})”|‘([^’]{1,200})’|«([^»]{1,200})»|(?<![\w])'([^']{1,200})'(?![\w])")
_SLANG = {
    "u": "you", "ya": "you", "ur": "your", "pls": "please", "plz": "please", "plese": "please", "pleas": "please",
    "gimme": "give me", "gotta": "have to", "wanna": "want to", "outta": "out of", "thx": "thanks", "ty": "thanks",
    "bg": "background", "pic": "picture", "pics": "pictures", "img": "image", "photo's": "photo is",
    "w/": "with", "w/o": "without", "b/w": "b&w", "n": "and", "abt": "about", "rn": "now", "cuz": "because",
    "coz": "because", "tho": "though", "lemme": "let me", "dunno": "do not know", "alot": "a lot",
    "tshirt": "t-shirt", "yeet": "remove",
}
_FILLER_RE = re.compile(r"\b(?:lol|lmao|haha+|hehe+|omg|ugh+|umm*|hmm+|uhh*|idk|tbh|btw|kinda|sorta|like,|literally|"
                        r"basically|honestly|actually|really|just|maybe|perhaps|somehow|a\s+bunch|pleas+e+)\b")
_SPACE_RE = re.compile(r"\s+")


def prepare(instruction: str) -> tuple[str, list[str]]:
    """Quotes out, lower case, shorthand expanded, keyword typos corrected."""
    quotes: list[str] = []

    def keep(m: re.Match) -> str:
        quotes.append(next(g for g in m.groups() if g is not None))
        return f" qtx{len(quotes) - 1} "

    text = _QUOTE_RE.sub(keep, instruction[:2000])
    text = (text.replace("’", "'").replace("‘", "'").replace("×", "x").replace("–", "-").replace("—", "-")
            .replace("…", ". ").replace("→", " -> ").replace("=>", " -> "))
    text = _SPACE_RE.sub(" ", text.lower()).strip()
    text = re.sub(r"(?<![\w/])w/o(?!\w)", "without", text)
    text = re.sub(r"(?<![\w/])w/(?=\s|\w)", "with ", text)
    text = re.sub(r"[\w'/]+", lambda m: _SLANG.get(m.group(0), m.group(0)), text)
    text = _FILLER_RE.sub(" ", text)
    text = re.sub(r"\bits\s+(?=(?:so|too|very|kinda|really|a\s+bit|way|pretty|quite|not)\b)", "it's ", text)
    text = re.sub(r"(?:(?<=\bin\s)|(?<=\bto\s)|(?<=\bis\s)|(?<=\bat\s))like\s+(?=(?:a|an|the|\d)\b)|(?<=,\s)like\s+(?=\d)", "",
                  text)
    return _SPACE_RE.sub(" ", correct_words(text)).strip(), quotes


# -- sentences and clauses ---------------------------------------------------------------------
_SENTENCE_RE = re.compile(r"(?<!\d)[.!?;\n]+(?!\d)|(?<=\d)[.!?;\n]+(?!\d)(?=\s)|\s*[.!?;]\s*$")
_SEQUENCE_RE = re.compile(
    r"(?:^|,?\s+)(?:and\s+then|and\s+after\s+that|and\s+afterwards|and\s+finally|and\s+also|after\s+that|"
    r"afterwards|then|next(?!\s+to\b)|finally|lastly|also|plus|as\s+well\s+as|followed\s+by|after\s+which|once\s+done|"
    r"and\s+lastly)[,:]?\s+"
    r"|^(?:first(?:ly)?|to\s+start|step\s+\d|1\)|2\)|3\))[,:]?\s+|,\s*(?:second(?:ly)?|third(?:ly)?)[,:]?\s+"
    r"|\s+(?:step\s+\d|\d\))[,:]?\s+"
)
_AND_RE = re.compile(r"\s*,\s*(?:and\s+|but\s+)?|\s+and\s+|\s+&\s+")
_GERUND_RE = re.compile(r"^(.+?),?\s+(after|before)\s+([a-z]+ing)\s+(.+)$")
_LEADING_GERUND_RE = re.compile(r"^(after|before)\s+([a-z]+ing)\s+(.+?),\s*(.+)$")
_REST_RE = re.compile(r"^(?:(?:make|turn|render|set|leave|convert|desaturate|grey\s+out|gray\s+out|decolou?r)\s+)?(?:the\s+)?"
                      r"(?:rest|everything\s+else|all\s+else|the\s+background)\b")
_ELLIPSIS_HEAD_RE = re.compile(r"^(make|paint|colou?r|turn|dye|recolou?r|change|set)\s+")
_ELLIPSIS_TAIL_RE = re.compile(r"^(?:the|his|her|their|its|my)\s+[\w\s'-]+?\s+(?:(?:to|into)\s+.+|" + COLOR_PHRASE
                               + r"|bigger|smaller|larger|brighter|darker|lighter|sharper|wider|" + _POSE_WORDS + r")$")
_VERBISH_RE = re.compile(r"^(?:get\s+rid|take\s+(?:out|away|off)|cut\s+out|zoom\s+out|colou?r\s+pop|make|turn|give|"
                         r"let|have|set|bring|show|keep|swap|replace|change|add|remove|try|move|send|teleport|transport|take)\b")


def _base_verb(gerund: str) -> str:
    stem = gerund[:-3]
    for cand in (stem, stem + "e", stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2] else stem):
        if cand in VERB_OF:
            return cand
    return correct_verb(stem + "e") if correct_verb(stem + "e") in VERB_OF else stem


_WISH_START_RE = re.compile(r"^(?:making\s+sure|make\s+sure|ensuring|ensure|keeping|leaving|while|so\s+that|so\s+it|without|"
                            r"preserving|maintaining|restoring|blending|matching|filling)\b")


def starts_with_verb(text: str) -> bool:
    if _WISH_START_RE.match(text.strip()):
        return False  # "…, making sure the floor looks natural" is a wish, not a second edit
    text = canonical(text, terse=False)
    if not text:
        return False
    if _VERBISH_RE.match(text):
        return True
    return correct_verb(text.split(" ", 1)[0]) in VERB_OF


def is_statement(text: str) -> bool:
    """A remark about the picture rather than a request ('he looks grumpy', 'i just want the building')."""
    t = text.strip()
    return bool(re.match(r"^(?:there(?:'s|\s+is|\s+are|\s+was)|it'?s|it\s+is|(?:it|that|this)(?:'d|\s+would|\s+will|'ll)\b|"
                         r"(?:he|she|they|we)\s+(?!should\b|must\b|needs?\b)\w+|(?:they|we|you|he|she)'(?:re|s|ve)\b|"
                         r"(?:the|my|that|this|his|her)\s+[\w-]+'s\s+[\w-]+$|i\s+(?:don'?t|do\s+not|really|also|just|love|"
                         r"loved|hate)\b|(?:the|my|your|these|those)\s+[\w' -]+?\s+(?:is|are|was|were|looks?|seems?)\s+(?:so\s+|too\s+|way\s+|"
                         r"very\s+|really\s+|kind\s+of\s+|a\s+bit\s+)*\w+$|(?:keep|leave)\s+.+?\s+(?:as\s+(?:it\s+is|they\s+are|is)|unchanged|untouched|the\s+same|"
                         r"alone|intact)$|(?:he|she|they|this|that|these|those|it)\s+"
                         r"(?:is|are|was|were|looks?|seems?|has|have|'s|'re)\b|i'?m\b|i\s+(?:am|think|feel|hate|love|"
                         r"like|want|need|just\s+want|only\s+want)\b|we\s+(?:are|were)\b)", t)) or statement_topic(t) is not None


def split_clauses(sentence: str) -> list[str]:
    m = _LEADING_GERUND_RE.match(sentence)
    if m:
        when, gerund, obj, later = m.groups()
        first = f"{_base_verb(gerund)} {obj}"
        ordered = [first, later] if when == "after" else [later, first]
        return [c for part in ordered for c in split_clauses(part)]
    m = _GERUND_RE.match(sentence)
    if m and starts_with_verb(m.group(1)):
        later, when, gerund, obj = m.groups()
        first = f"{_base_verb(gerund)} {obj}"
        ordered = [first, later] if when == "after" else [later, first]
        return [c for part in ordered for c in split_clauses(part)]
    parts = [p for p in _SEQUENCE_RE.split(sentence) if p and p.strip(" ,")]
    out: list[str] = []
    for part in parts:
        pieces = _AND_RE.split(part)
        seps = _AND_RE.findall(part)
        current = pieces[0]
        for sep, piece in zip(seps, pieces[1:]):
            p = piece.strip()
            verb_next = starts_with_verb(p)
            if verb_next and re.match(r"^\s*instead\s+of\b", current) and not starts_with_verb(current):
                verb_next = False  # "instead of the car, put a tree"
            if _REST_RE.match(p) and re.search(r"\b(?:keep|leave|only|just)\b", current):
                verb_next = False  # "keep the car in colour and make the rest black and white"
            if not verb_next and current.strip():
                head = _ELLIPSIS_HEAD_RE.match(current.strip())
                if head and _ELLIPSIS_TAIL_RE.match(p):
                    out.append(current)
                    current = f"{head.group(1)} {p}"  # "make the sofa green and the wall white"
                    continue
                if "," in sep and is_statement(p) and not is_statement(current.strip()):
                    out.append(current)  # "remove the people, i just want the building"
                    current = piece
                    continue
            if (verb_next or ("," in sep and is_statement(current.strip()))) and current.strip():
                out.append(current)
                current = piece
            else:
                current = current + sep + piece
        out.append(current)
    return [c for c in (x.strip(" ,") for x in out) if c]


# -- politeness and wishes -------------------------------------------------------------------
_POLITE_HEAD_RE = re.compile(
    r"^(?:(?:hey|hi|hello|ok|okay|so|now|alright|yo|oh|well|wait|right|yes|yeah|hmm|alright then)[,!]?\s+)*"
    r"(?:(?:could|can|would|will|might)\s+(?:you|we|i|ya)\s+(?:please\s+|kindly\s+|possibly\s+|maybe\s+|just\s+|also\s+)*|"
    r"(?:please|kindly|just|simply|also|now|then|ok|okay|so)\s+|"
    r"i\s*(?:would|'d|d)\s+(?:really\s+)?(?:like|love)\s+(?:you\s+)?to\s+(?!see\b|have\b)|i\s+(?:want|need|wish)\s+(?:you\s+)?to\s+"
    r"(?!see\b|have\b)|"
    r"(?:help\s+me|let'?s|lets|go\s+ahead\s+and|try\s+to|try\s+and|you\s+should|we\s+should|we\s+need\s+to|please\s+to|"
    r"i\s+need\s+to|time\s+to|be\s+sure\s+to|make\s+sure\s+to|is\s+it\s+possible\s+to|would\s+it\s+be\s+possible\s+to|"
    r"do\s+me\s+a\s+favou?r\s+and|i\s+think\s+you\s+should|it\s+would\s+be\s+nice\s+to|"
    r"it\s+would\s+be\s+great\s+if\s+you\s+could|can\s+you\s+please|please\s+to|pls\s+to)\s*)*"
)
_POLITE_TAIL_RE = re.compile(
    r"(?:[\s,]+(?:please|thanks|thank\s+you|for\s+me|if\s+you\s+can|if\s+possible|if\s+you\s+could|now|asap|quickly|again|"
    r"real\s+quick|thank\s+you\s+so\s+much|\?|!|\.|:\)|:d|haha|lol|a\s+bit\s+thanks|okay|ok|instead|too)"
    r")+\s*$"
)
_ADVERB_RE = re.compile(r"\s+(?:realistically|naturally|seamlessly|carefully|neatly|cleanly|completely|entirely|fully|"
                        r"totally|properly|nicely|smoothly|gently|subtly|noticeably|significantly|please)\b")
_NEGATION_RE = re.compile(r",?\s+(?:but|and)\s+(?:not|keep|leave|let|don'?t\s+\w+|do\s+not\s+\w+)\b.*$"
                          r"|,\s*(?:not|don'?t\s+(?:touch|change|remove|move))\b.*$")


def strip_politeness(clause: str) -> str:
    clause = clause.strip(" ,.;:!?-")
    for _ in range(3):
        new = _POLITE_HEAD_RE.sub("", clause)
        new = _POLITE_TAIL_RE.sub("", new).strip(" ,.;:!?-")
        if new == clause:
            break
        clause = new
    return clause


def strip_wishes(text: str) -> str:
    """Cut what says why or how ('…, leaving the pavement intact') and what must stay ('but not the cat')."""
    from .phrases import _REASON_RE

    if not text:
        return text
    verb, _, rest = text.partition(" ")
    rest = _NEGATION_RE.sub("", " " + rest)
    rest = _REASON_RE.sub("", rest)
    rest = _ADVERB_RE.sub("", rest)
    return f"{verb} {rest.strip()}".strip(" ,.")


# a trailing wish after a comma belongs to no edit: "…, keeping the font and colour the same"
_SENTENCE_WISH_RE = re.compile(r",\s*(?:keeping|leaving|ensuring|making\s+sure|make\s+sure|while\s+(?:keeping|preserving|maintaining|"
                               r"leaving|making)|without\s+(?:changing|affecting|altering|touching|losing)|so\s+that|preserving|"
                               r"maintaining|but\s+(?:keep|leave|don'?t)|like\s+(?:a|an|the)\b)\b.*$")
_PHRASAL = {"get rid of": "remove", "take out": "remove", "take away": "remove", "take off": "remove", "cut out": "extract",
            "clean up": "remove", "wipe out": "remove", "zoom out": "expand", "zoom in": "crop", "colour pop": "pop",
            "color pop": "pop", "black out": "hide", "cover up": "hide", "blur out": "hide"}
_NOISE_RE = re.compile(r"(?:thanks?(?:\s+you)?|thx|ty|please|ok(?:ay)?|cheers|that'?s\s+(?:it|all)|nothing|hi|hello|hey|"
                       r"good|great|nice|cool|perfect|awesome|yes|no|sure)")


def read_clauses(instruction: str, has_mask: bool = False) -> list[Clause]:
    text, quotes = prepare(instruction)
    out: list[Clause] = []
    for sentence in _SENTENCE_RE.split(text):
        sentence = sentence.strip(" ,")
        if not sentence:
            continue
        for piece in split_clauses(topic_first(_SENTENCE_WISH_RE.sub("", sentence))):
            raw = piece.strip()
            plain = strip_politeness(piece)
            full = canonical(plain)
            if not full or _NOISE_RE.fullmatch(full):
                continue
            first, _, rest = full.partition(" ")
            fixed = correct_verb(first)
            full = f"{fixed} {rest}".strip()
            text_ = strip_wishes(full)
            verb, _, rest_ = text_.partition(" ")
            group = next((g for p, g in _PHRASAL.items() if text_.startswith(p + " ") or text_ == p), VERB_OF.get(verb))
            clause = Clause(raw=_restore(raw, quotes), plain=plain, full=full, text=text_, verb=verb, group=group,
                            rest=rest_, quotes=quotes, has_mask=has_mask)
            out.append(clause)
    return out


def _restore(text: str, quotes: list[str]) -> str:
    for i, q in enumerate(quotes):
        text = text.replace(f"qtx{i}", f'"{q}"')
    return _SPACE_RE.sub(" ", text).strip()


__all__ = ["Clause", "Intent", "read_clauses", "is_statement", "statement_topic", "PRONOUNS"]

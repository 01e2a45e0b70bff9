"""Canonical forms: the many ways people phrase a request -> the few forms actions read.

Each rewrite is one line of pattern -> template, applied to a clause (lower case, politeness
gone) until nothing changes:

    "the dog, remove it"                  -> "remove the dog"
    "i want that the sky become more blue" -> "make the sky more blue"
    "make disappear the bottle"            -> "make the bottle disappear"
    "the car should be red"                -> "make the car red"
    "dog -> wolf", "car red", "bg beach"   -> "replace dog with wolf", "make car red", "change the background to beach"

`statement_topic` finds what a remark is about ("that trash can is ruining the shot" -> "that
trash can"), so a later "delete it" knows what "it" is.
"""

from __future__ import annotations

import re

from .words import COLOR_PHRASE, ENV_RE, POSE_VERBS, STYLE_RE, VERB_OF

_NP = r"(?:the|this|that|these|those|my|his|her|their|our|your|its|a|an)\s+[^,]+?"
_EDIT_VERBS = r"(?:remove|delete|erase|make|change|turn|paint|colou?r|recolou?r|blur|pixelate|replace|swap|crop|cut\s+out|" \
              r"brighten|darken|hide|move|rotate|flip|extract|put|place|add|get\s+rid\s+of|take\s+out|dye|resize|enlarge|shrink)"
_PRONOUN = r"(?:it|them|him|her|this|that)"
_POSE_BASE = "|".join(sorted((re.escape(p) for p in POSE_VERBS if not p.endswith(("ing", "s")) and " " not in p),
                             key=len, reverse=True))
_POSE_ING = "|".join(sorted((re.escape(p) for p in POSE_VERBS if p.endswith("ing")), key=len, reverse=True))
_COMPARATIVE = r"(?:bigger|larger|smaller|tinier|brighter|darker|lighter|dimmer|wider|taller|sharper|more\s+\w+|less\s+\w+)"
_PARTICIPLE = {"cut out": "cut out", "removed": "remove", "gone": "remove", "deleted": "remove", "erased": "remove",
               "blurred": "blur", "blurry": "blur", "pixelated": "pixelate", "cropped": "crop", "isolated": "isolate",
               "extracted": "extract", "brightened": "brighten", "darkened": "darken", "flipped": "flip"}

RULES: list[tuple[re.Pattern, str]] = [(re.compile(p), t) for p, t in (
    # gerunds and non-native verb forms
    (r"^(chang|remov|mak|add|replac|turn|putt|paint|eras|delet|blurr|swapp|recolor|recolour)ing\s+(?!sure\b)",
     "{0}e "),
    (r"^(?P<v>\w+)\s+please\s+", r"\g<v> "),
    (r"^make\s+(?P<v>disappear|vanish|go\s+away|gone)\s+(?P<np>.+)$", r"remove \g<np>"),
    (r"^make\s+(?P<np>.+?)\s+(?:disappear|vanish|go\s+away|be\s+gone|gone)(?:\s+from\s+.+)?$", r"remove \g<np>"),
    (r"^make\s+(?P<v>blur|blurry|pixelate|pixelated)\s+(?P<np>.+)$", r"blur \g<np>"),
    (r"^make\s+(?:more\s+)?(?P<c>bigger|larger|smaller|tinier|darker|brighter|lighter|wider|taller)\s+(?P<np>(?:the\s+|this\s+|"
     r"my\s+)?[\w'-]+)(?P<t>\s+(?:on|at|to|in|from|towards?)\s+.+)?$", r"make \g<np> \g<c>\g<t>"),
    (r"^to\s+(?=\w)", ""),
    (r"^make\s+(?=(?:change|turn|paint|colou?r|remove|delete|add|put|replace|blur|crop)\s)", ""),
    (r"^make\s+(?P<c>more\s+\w+|less\s+\w+)\s+(?P<np>(?:the|this|that|my|his|her)\s+.+)$", r"make \g<np> \g<c>"),
    (r"^(?:i\s+(?:need|want|'d\s+like|would\s+like)|give\s+me|make|create)\s+(?:a|an)\s+(?P<a>square|\d+\s*:\s*\d+|portrait|"
     r"landscape)\s+(?:version|crop|copy|format|one|image|picture)\b.*$", r"crop to \g<a>"),
    (r"^(?:get|have)\s+(?P<np>.+?)\s+(?P<v>cut\s+out|removed|erased|deleted|blurred|pixelated|cropped|isolated)\b(?P<t>.*)$",
     "{participle}"),
    (r"^i\s+(?:want|wish|would\s+like|'d\s+like|need)\s+(?:that\s+)?(?P<np>(?:the|my|his|her|this|that)\s+[\w' -]+?)\s+"
     r"(?P<v>" + _POSE_BASE + r")\b(?P<t>.*)$", r"make \g<np> \g<v>\g<t>"),
    (r"^try\s+(?:a\s+|an\s+|some\s+)?(?P<p>stripes|striped|polka\s+dots|dots|checks|checked|plaid|tartan|floral|flowers|"
     r"spots|spotted|camo|camouflage|leopard\s+print|zebra\s+print)$", r"make it \g<p>"),
    (r"^(?:could|can|would|will|should)\s+(?P<np>(?:the|this|that|my|these|those|his|her)\s+.+?)\s+(?:be|become|look|get)\s+(?P<p>.+)$",
     r"make \g<np> \g<p>"),
    (r"^(?:i\s*)?(?:would|'d)\s+(?:love|like|prefer)\s+(?:this|it|the\s+\w+)\s+(?:as|in)\s+(?P<p>.+)$", r"make it \g<p>"),
    (r"^i\s+(?:need|want|would\s+like|'d\s+like)\s+(?:the\s+|a\s+)?(?:back\s*ground|backdrop)\s+(?:of|in|to\s+be|with|as|"
     r"that\s+is)?\s*(?P<p>.+)$", r"change the background to \g<p>"),
    (r"^(?P<v>make|get|have)\s+(?P<np>.+?)\s+(?:shine|sparkle|gleam)$", r"make \g<np> shiny"),
    (r"^(?:the\s+)?(?:mask|selection|masked\s+area|selected\s+area)\s+(?P<c>" + COLOR_PHRASE + r")$", r"make the masked area \g<c>"),
    (r"^(?P<a>clear|sunny|rainy|snowy|foggy|cloudy|stormy)\s+(?:weather|sky|day)$", r"make the weather \g<a>"),
    (r"^do\s+(?P<np>.+?)\s+(?P<c>more|less)\s+(?P<a>\w+)$", r"make \g<np> \g<c> \g<a>"),
    (r"^make\s+(?P<np>.+?)\s+(?:is|are|to\s+be|to\s+become|become|becomes|be)\s+(?P<p>.+)$", r"make \g<np> \g<p>"),
    (r"^make\s+(?P<np>.+?)\s+to\s+(?P<v>\w+)\b(?P<t>.*)$", r"make \g<np> \g<v>\g<t>"),
    (r"\bhow\s+(?=a\s+|an\s+)", "like "),
    (r"^give\s+to\s+", "give "),
    (r"\b(?P<a>colou?r|shade)\s+of\s+(?P<np>.+?)\s+in\s+(?P<c>" + COLOR_PHRASE + r")$", r"\g<a> of \g<np> to \g<c>"),
    (r"^get\s+(?P<np>.+?)\s+out(?:\s+of\s+(?:there|here|the\s+\w+|it))?$", r"remove \g<np>"),
    (r"^(?:give|show)\s+me\s+(?:a\s+)?(?:version|picture|photo|one)\s+(?:where|in\s+which|with)\s+", ""),
    # topic first: "the dog, remove it", "the house color make it white", "the text 'cafe' change to 'bar'"
    (r"^(?P<np>" + _NP + r")\s*,?\s+(?P<v>" + _EDIT_VERBS + r")\s+" + _PRONOUN + r"\b(?P<t>.*)$", r"\g<v> \g<np>\g<t>"),
    (r"^(?P<np>" + _NP + r")\s*,?\s+(?P<v>change|turn|make|replace|swap)\s+(?P<t>(?:to|into|with|for)\s+.+)$",
     r"\g<v> \g<np> \g<t>"),
    (r"^(?P<np>" + _NP + r")\s+(?:i|we)\s+(?:want|need|would\s+like|'d\s+like|like)\s+" + _PRONOUN
     + r"\s+(?:to\s+be\s+|to\s+look\s+)?(?P<p>.+)$", r"make \g<np> \g<p>"),
    (r"^(?P<np>" + _NP + r")\s+(?:is|are)\s+not\s+(?:necessary|needed|wanted|nice|good|welcome|required)\b.*$", r"remove \g<np>"),
    # wishes: "i want that X become Y", "i wish X is Y", "it would be great if X were Y"
    (r"^i(?:\s+want|\s+wish|\s+need|\s+would\s+like|'d\s+like|\s+'d\s+like|\s+like|\s+hope)\s+(?:that\s+)?(?P<np>.+?)\s+(?:to\s+)?(?:become|becomes|became|be|is|"
     r"are|was|were|to\s+be|to\s+look|look|looks|get|gets|turn|turns|appear)\s+(?P<p>.+)$", r"make \g<np> \g<p>"),
    (r"^i\s+(?:want|would\s+like|'d\s+like|like)\s+to\s+(?:see|have)\s+(?P<np>.+?)\s+(?P<p>with\s+.+|more\s+.+|"
     + COLOR_PHRASE + r")$", r"make \g<np> \g<p>"),
    (r"^(?:i\s+)?(?:want|would\s+(?:like|love)|'d\s+(?:like|love)|i'd\s+(?:like|love))\s+to\s+see\s+(?:what\s+)?(?P<np>.+?)"
     r"(?:\s+(?:looks?|would\s+look)\s+like)?(?P<t>\s+(?:in|at|on|with|as|during)\s+.+)?$", r"show \g<np>\g<t>"),
    (r"^(?:let\s+me\s+)?see\s+(?P<np>it|this|the\s+\w+)\s+(?P<t>(?:in|at|on|during|with|as)\s+.+)$", r"show \g<np> \g<t>"),
    (r"^(?:what|how)\s+(?:would|does|will|might)\s+(?P<np>it|this|the\s+\w+)\s+look(?:\s+like)?\s+(?P<t>(?:in|at|during|as|with)\s+.+)$",
     r"show \g<np> \g<t>"),
    (r"^(?P<v>whiten|blacken|redden)\s+(?P<np>.+)$", "{colour_verb}"),
    (r"^make\s+(?P<np>.+?)\s+(?:look\s+)?(?:like\s+)?(?:old|older|aged)$", r"make \g<np> look vintage"),
    (r"^(?:you|u)\s+(?=(?:remove|delete|erase|make|change|add|put|paint|replace|blur|crop)\b)", ""),
    (r"^(?P<v>\w+)\s+for\s+me\s+", r"\g<v> "),
    (r"^i\s+(?:need|want|would\s+like|'d\s+like)\s+(?P<np>.+?)\s+(?P<v>" + "|".join(_PARTICIPLE) + r")\b(?P<t>.*)$",
     "{participle}"),
    (r"^(?:it\s+)?would\s+be\s+(?:\w+\s+)?(?:awesome|great|nice|cool|better|good|lovely|amazing|perfect|fun)\s+if\s+"
     r"(?P<np>.+?)\s+(?:were|was|is|are|could\s+be|would\s+be|looked)\s+(?P<p>.+)$", r"make \g<np> \g<p>"),
    (r"^(?:this|it|the\s+(?:image|photo|picture))\s+would\s+look\s+(?:\w+\s+)?(?:better|cooler|nicer|great|good|awesome|"
     r"amazing)\s+(?:in|as)\s+(?P<p>.+)$", r"make it \g<p>"),
    (r"^(?P<np>.+?)\s+(?:should|must|needs\s+to|has\s+to|ought\s+to|shall)\s+(?:be\s+)?(?:replaced|swapped)\s+(?:with|by|for)\s+"
     r"(?P<p>.+)$", r"replace \g<np> with \g<p>"),
    (r"^(?P<np>.+?)\s+(?:should|must|needs\s+to|has\s+to|ought\s+to)\s+(?:be\s+)?(?:gone|removed|deleted|erased|go)$", r"remove \g<np>"),
    (r"^(?!only\b|just\b|there\b)(?P<np>.+?)\s+(?:should|must|needs\s+to|has\s+to|ought\s+to|shall)\s+(?:be\s+|become\s+|look\s+|get\s+)?"
     r"(?P<p>(?!in\s+colou?r)(?!colou?r).+)$", r"make \g<np> \g<p>"),
    (r"^(?P<np>(?:the|a|an|this|that|my)\s+.+?)\s+to\s+be\s+(?P<p>.+)$", r"make \g<np> \g<p>"),
    (r"^try\s+(?:a\s+|an\s+|some\s+)?(?P<np>[\w\s-]+?)\s+(?P<p>in|on|inside|over|next\s+to)\s+(?P<w>it|them|there|"
     r"the\s+[\w\s]+)$", r"add \g<np> \g<p> \g<w>"),
    (r"^try\s+(?P<np>.+?)\s+(?:in|as)\s+(?P<p>.+)$", r"make \g<np> \g<p>"),
    (r"^try\s+(?P<p>(?:a\s+|an\s+)?" + COLOR_PHRASE + r")$", r"make it \g<p>"),
    (r"^(?:remove|delete|erase|ditch)$", "remove it"),
    # terse, verbless forms
    (r"^(?P<a>[^,:>]+?)\s*->\s*(?P<b>.+)$", r"replace \g<a> with \g<b>"),
    (r"^(?:no\s+more|no)\s+(?P<np>.+)$", r"remove \g<np>"),
    (r"^background\s*(?::|->|to)?\s+(?!is\b|of\b|and\b)(?P<p>.+)$", r"change the background to \g<p>"),
)]
# forms read only when the clause has no verb we know
TERSE: list[tuple[re.Pattern, str]] = [(re.compile(p), t) for p, t in (
    (r"^(?P<c>bigger|larger|smaller|tinier)\s+(?P<np>[\w' -]+)$", r"make \g<np> \g<c>"),
    (r"^(?P<c>" + COLOR_PHRASE + r")\s+(?P<np>[a-z][\w'-]*(?:\s+[a-z][\w'-]*)?)$", r"make \g<np> \g<c>"),
    (r"^(?P<np>(?!a\s|an\s)[a-z][\w'-]*(?:\s+(?!is\b|are\b)[a-z][\w'-]*)?)\s+(?P<c>" + COLOR_PHRASE + r")$",
     r"make \g<np> \g<c>"),
    (r"^(?P<p>black\s+and\s+white|b&w|gr[ae]yscale|monochrome)\s+(?:except|but)\s+(?P<np>.+)$",
     r"make everything \g<p> except \g<np>"),
    (r"^(?P<np>(?:the\s+)?(?!he\b|she\b|it\b|they\b|i\b|we\b|you\b)[a-z][\w'-]*)\s+(?P<v>" + _POSE_ING + r"|smiling|laughing|"
     r"crying|frowning|winking|grinning|yawning)\b(?P<t>.*)$",
     r"make \g<np> \g<v>\g<t>"),
    (r"^(?P<np>(?:a\s+|an\s+)?[a-z][\w'-]*)\s+(?P<p>on|onto|over|above|next\s+to|beside)\s+(?P<np2>(?:the\s+)?[a-z][\w'-]*)$",
     r"add \g<np> \g<p> \g<np2>"),
    (r"^(?P<t>(?:the\s+)?(?:text|caption|title|words?)\s+qtx\d+.*)$", r"add \g<t>"),
    (r"^(?P<np>[a-z][a-z' -]*?)\s*:\s*(?P<p>[a-z].*)$", r"make \g<np> \g<p>"),
    (r"^(?P<a>square|\d+:\d+|portrait|landscape)\s+crop$", r"crop to \g<a>"),
)]


def _apply(rx: re.Pattern, template: str, text: str) -> str | None:
    m = rx.search(text)
    if not m:
        return None
    if template == "{0}e ":
        stem = m.group(1)
        base = {"putt": "put", "blurr": "blur", "swapp": "swap", "paint": "paint", "add": "add", "turn": "turn",
                "recolor": "recolor", "recolour": "recolour"}.get(stem, stem + "e")
        return base + " " + text[m.end():]
    if template == "{colour_verb}":
        colour = {"whiten": "white", "blacken": "black", "redden": "red"}[m.group("v")]
        return f"make {m.group('np')} {colour}"
    if template == "{participle}":
        verb = _PARTICIPLE[m.group("v")]
        return f"{verb} {m.group('np')}{m.group('t')}"
    return text[: m.start()] + m.expand(template) + text[m.end():]


_TOPIC_FIRST = re.compile(r"^(?P<np>(?:the|this|that|these|those|my|his|her|their|our|your|its|a|an)\s+(?:(?!\b(?:is|are|was|were|"
                          r"looks?|seems?|has|have|'s)\b)[^,])+?)\s*,\s*(?:(?:please|pls|can\s+you|could\s+you)\s+)?(?P<v>" + _EDIT_VERBS
                          + r")\s+" + _PRONOUN + r"\b(?P<t>.*)$")


_TOPIC_WANT = re.compile(r"^(?P<np>(?:the|this|that|my|his|her)\s+[^,]+?)\s*,\s*(?:i|we)\s+(?:want|need|would\s+like|'d\s+like|like)\s+"
                         r"(?:it|them)\s+(?:to\s+be\s+)?(?P<p>.+)$")
_TOPIC_TO = re.compile(r"^(?P<np>(?:the|this|that|my|his|her)\s+[^,]+?)\s*,\s*(?:(?:please|pls)\s+)?(?P<v>change|turn|make|set)\s+"
                       r"(?P<t>(?:it\s+|them\s+)?(?:to|into)\s+.+)$")


def topic_first(sentence: str) -> str:
    """'the sign "exit", change it to "entry"' -> 'change the sign "exit" to "entry"' (before splitting)."""
    m = _TOPIC_FIRST.match(sentence.strip())
    if m and re.search(r"'s\s+[\w-]+$", m.group("np")):
        m = None  # "the chair's broken, delete it": a remark, then the request
    if m:
        return f"{m.group('v')} {m.group('np')}{m.group('t')}"
    m = _TOPIC_WANT.match(sentence.strip())
    if m:  # "the colour of the flowers, i want it blue"
        return f"make {m.group('np')} {m.group('p')}"
    m = _TOPIC_TO.match(sentence.strip())
    if m:  # "the color of the bag, change to brown"
        return f"{m.group('v')} {m.group('np')} " + re.sub(r"^(?:it|them)\s+", "", m.group("t"))
    return sentence


def canonical(text: str, terse: bool = True) -> str:
    text = text.strip(" ,.")
    for _ in range(4):
        before = text
        for rx, template in RULES:
            new = _apply(rx, template, text)
            if new is not None and new != text:
                text = re.sub(r"\s+", " ", new).strip(" ,.")
        first = text.split(" ", 1)[0] if text else ""
        if terse and first not in VERB_OF and first not in ("get", "take", "cut", "keep", "try", "show", "zoom", "only", "just") \
                and len(text.split()) <= 6:
            for rx, template in TERSE:
                new = _apply(rx, template, text)
                if new is not None:
                    text = re.sub(r"\s+", " ", new).strip(" ,.")
                    break
        if text == before:
            break
    return text


_STATEMENT_RE = re.compile(
    r"^(?:there(?:'s|\s+is|\s+are|\s+was|\s+were)\s+(?P<a>.+)"
    r"|(?P<b>(?:the|that|this|my|those|these|his|her|our)\s+[\w' -]+?)(?:\s+(?:is|are|was|were|looks?|seems?|has|have|'s|'re)|"
    r"'s(?=\s+(?:kinda|so|too|very|really|way|a\s+bit|pretty|quite|not|super|boring|ugly|dull|flat|weird|dark|bright|off|"
    r"wrong|bad|dead|empty|plain|small|big|tiny|huge)\b))"
    r"\s+(?:way\s+|so\s+|too\s+|kind\s+of\s+|very\s+|a\s+bit\s+|not\s+)*(?P<c>.*))$"
)


def statement_topic(text: str) -> str | None:
    """What a remark is about: "there's a bag stuck in the tree" -> "a bag stuck in the tree"."""
    m = re.match(r"^(?P<np>(?:the|that|this|my|his|her)\s+[\w -]+?)'s\s+[\w-]+$", text.strip())
    if m:  # "the chair's broken"
        return m.group("np")
    m = _STATEMENT_RE.match(text.strip())
    if not m:
        return None
    if m.group("a"):
        return m.group("a").strip()
    np = m.group("b").strip()
    if re.search(r"\b(?:image|photo|picture|pic|shot|colou?rs?)$", np):
        return None  # a remark about the whole picture
    if STYLE_RE.fullmatch(np) or ENV_RE.fullmatch(np):
        return None
    return np

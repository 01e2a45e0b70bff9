"""Weather, season or time of day: ENV changes the whole scene, with no segmentation first."""

from __future__ import annotations

import re

from ....workflow import Ref
from ..clauses import Clause, Intent
from ..phrases import is_whole
from ..planner import Writer
from ..words import ENV_RE, ENV_WORDS
from . import Action

# a whole-scene object: "make it", "turn the scene", "change the weather", "turn the daytime street scene"
_SCENE_OBJ = re.compile(r"^(?:it|this|everything|day|daytime|(?:the\s+|this\s+|my\s+)?(?:whole\s+|entire\s+)?(?:[\w-]+\s+){0,2}"
                        r"(?:scene|image|photo|picture|pic|shot|view|landscape|weather|season|time(?:\s+of\s+(?:the\s+)?day)?|day|"
                        r"daytime|sky|lighting|setting|atmosphere|world|street|city|town|photograph))"
                        r"(?:\s+(?:of|in)\s+(?:the\s+)?(?:scene|image|photo|picture))?$")
_LINK = re.compile(r"\s+(?:into|in\s+to|to|for|with|look\s+like|looks\s+like|like|as|at|during|from\s+[\w\s]+?\s+to)\s+")
_LEAD = re.compile(r"^(?:(?:a\s+bit|a\s+little|a\s+lot|lots\s+of|middle\s+of\s+the|it\s+is|(?:warmer|cooler|colder|brighter)\s+and|"
                   r"a|an|the|it'?s|its|late|early|heavy|light|deep|bright|dark|cold|warm|beautiful|clear|very|really|more|some|"
                   r"full|proper)\s+)*")
_TAIL = re.compile(r"^(?:\s+(?:time|scene|day|weather|season|evening|version|look|mood|atmosphere|setting|instead|landscape|one|"
                   r"vibes?|lit\s+by\s+.+|with\s+.+|and\s+[\w\s]+))*$")
_ADD = re.compile(r"^(?:add|put|bring|throw|include|let\s+there\s+be|start|apply)\s+(?:some\s+|a\s+|an\s+|the\s+|heavy\s+|light\s+|"
                  r"effect\s+of\s+|look\s+of\s+|feel\s+of\s+|"
                  r"falling\s+|gentle\s+|more\s+)*(?P<env>rain|snow|fog|mist|haze|snowfall|rainfall|a\s+storm|storm|drizzle|hail|"
                  r"lightning|thunderstorm|blizzard|sunshine|night|darkness|sunset|dusk|winter|autumn|snowflakes)"
                  r"(?:\s+(?:to|in|on|over|into)\s+.+|\s+falling)?$")
_REMOVE = re.compile(r"^(?:remove|erase|delete|get\s+rid\s+of|take\s+away|clear|stop)\s+(?:the\s+|all\s+the\s+)?(?P<env>rain|snow|fog|"
                     r"mist|haze|storm|snowfall|hail)$")
_MAKE = re.compile(r"^(?:make|turn|change|set|render|get|have|convert|transform|switch|let|show|replace|swap)\s+(?P<rest>.+)$")
_FILLER = re.compile(r"\b(?:time|scene|please|the|a|an|vibes?|mode|look|weather|season|day|leaves|landscape|it|make|sky)\b")


def read(c: Clause, ctx) -> Intent | None:
    found = _read(c, c.text)
    if found is None and c.full != c.text and re.match(r"^(?:make|turn|change)\b", c.full):
        m = re.match(r"^(?:make|turn|change)\s+(?:it|this|the\s+[\w\s]{1,30}?)\s+(?:look\s+)?as\s+(?:if|though)\s+.*?"
                     r"\b(?:during|in|at)\s+(?P<v>.+)$", c.full)
        if m:  # "make the scene look as if it were taken during a heavy snowstorm"
            found = _read(c, f"make it {m.group('v')}")
    return found


def _read(c: Clause, text: str) -> Intent | None:
    t = text.split(",")[0].strip()
    have = re.match(r"^(?:have|get|give\s+(?:it|me))\s+(?:a|an|some)\s+(?P<v>[\w\s]+?)\s+(?:sky|day|weather|evening|night|scene|"
                    r"morning|afternoon)(?:\s+instead)?$", t)
    if have and ENV_RE.fullmatch(have.group("v").split(" ")[-1]):
        return _from_word(c, have.group("v").split(" ")[-1])
    so = re.match(r"^(?:change|make|set)\s+(?:the\s+)?(?:weather|scene|sky|season|time\s+of\s+day)\s+so\s+(?:that\s+)?(?:it|the\s+"
                  r"\w+)\s+(?:looks?|is|feels?|becomes?|seems?)\s+(?P<v>.+)$", c.full)
    if so:  # "change the weather so that it looks foggy": the wish is the value
        t = f"make it {so.group('v')}"
    m = _REMOVE.match(t)
    if m:
        return _intent(c, "weather", f"remove the {m.group('env')} and make the weather clear")
    m = _ADD.match(t)
    if m:
        word = {"darkness": "night", "snowflakes": "snow"}.get(m.group("env"), m.group("env")).replace("a ", "")
        kind, value = ENV_WORDS.get({"sunshine": "sunny"}.get(word, word), ("weather", word))
        return _intent(c, kind, "make it snow" if value == "snowy" else f"change the weather to {value}")
    if c.group is None and not _MAKE.match(t):
        words = _FILLER.sub(" ", t).split()
        found = [w for w in words if w in ENV_WORDS]
        if found and len(found) == len(words):
            return _from_word(c, found[-1])
        return None
    m = _MAKE.match(t)
    if m is None:
        return None
    rest = m.group("rest")
    parts = _LINK.split(" " + rest)
    if len(parts) > 1:
        obj, value = parts[0].strip(), parts[-1].strip()
    else:
        om = re.match(r"^(it|this|everything|(?:the\s+)?(?:whole\s+|entire\s+)?(?:scene|image|photo|picture|pic|weather|sky|day|"
                      r"season|lighting|time\s+of\s+day)|"
                      r"the\s+weather)\s+(.+)$", rest)
        if om is None:
            return None
        obj, value = om.group(1), om.group(2)
    if obj and not (_SCENE_OBJ.match(obj) or is_whole(obj)):
        return None
    value = _LEAD.sub("", value)
    words = value.split(" ")
    for skip in range(3):  # "a starry midnight": up to two describing words before the env word
        rest = " ".join(words[skip:])
        hit = ENV_RE.match(rest)
        if hit is not None and _TAIL.match(rest[hit.end():]):
            return _from_word(c, hit.group(1))
    return None


def _from_word(c: Clause, word: str) -> Intent:
    kind, value = ENV_WORDS[word]
    prompt = {"weather": f"change the weather to {value}", "season": f"change the season to {value}",
              "time": f"change the time of day to {value}"}[kind]
    return _intent(c, kind, prompt)


def _intent(c: Clause, kind: str, prompt: str) -> Intent:
    return Intent("env", c.raw, None, prompt, "none", {"kind": kind})


def plan(w: Writer, it: Intent, image: Ref) -> Ref:
    prompt = it.value or "change the weather"
    w.note(f"This changes the environment ({it.params.get('kind', 'scene')}), so no object is segmented.")

    def run() -> Ref:
        a = w.generic("ENV", image, values={"prompt": prompt})
        w.note(f"ENV applies '{prompt}' to the whole scene (step {a}).")
        return Ref(a, "image")

    return w.choose([(("ENV",), run)], "change the weather, season or time of day")


ACTION = Action("env", read, plan, bricks=("ENV",), order=48, says="weather/season/time of day")

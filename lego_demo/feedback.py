"""Reading user feedback into constraints every Builder can use (rule, MLLM, OpenAI).

Feedback strings accumulate over a session; each call gets all of them, oldest first, and
`parse_feedback` folds them into one `Constraints`:

- bans      "don't use RES", "without SOS", "no RES before INPAINT", "avoid FASTINPAINT"
            → `banned` (hard: Builders pass it to `validate(banned=...)`). "before INPAINT"
            is kept in `banned_before` for the prompt text, but the ban itself is global:
            the validator has no positional bans, and a plan without the brick at all
            satisfies the positional one too.
- requires  "use SOS instead", "please use MASK-SEG", "try with SOS" → `required`.
            A later "use X" lifts an earlier ban of X, and a later ban lifts a requirement.
- targets   "only the left one", "the bigger one", "the one on the right", "not that one,
            the red one" → `refinements` (words that narrow the segmentation phrase).
- strength  "stronger"/"more"/"much more" → +1/+2, "weaker"/"less"/"softer" → -1 …
            summed into `strength`. `apply_strength` moves every input a brick marks as its
            strength (`Input(strength=True)`) that many steps away from (or towards) the
            input's neutral value: one mechanism for every brick, plugins included.
- grow      "expand the mask" / "include the edges" → +1, "shrink the mask" → -1, summed into
            `grow` (the rule Builder adds a GROW step after the segmentation).
- keep      "keep the background" / "don't touch the background" → `keep` (regions that
            must not change: the rule Builder restricts a whole-image edit to the subject).
- undo      "undo that" / "revert" / "go back" drops the effect of the feedback item before
            it (so "stronger", "undo that" = neither). When there is no earlier feedback to
            drop, `undo_edit` is set: the edit itself is to be undone, which the app does from
            its turn history; a Builder then returns its plain plan for the instruction.

Brick names are matched against the registry when one is given (aliases such as FLUX-FILL
count), else any UPPER-KEBAB word is taken as a brick name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = ["Constraints", "parse_feedback", "describe", "stronger", "apply_strength"]

STRENGTH_STEP = 2.0  # one "stronger" doubles the distance from the neutral value (a visible step), "weaker" halves it

_NAME = r"([A-Za-z][A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)*)"
_BAN_RE = re.compile(
    r"\b(?:do\s*n[o']?t|dont|never|no\s+more|stop|avoid|without|not|no|skip|ban|drop|exclude|remove)\s+"
    r"(?:using\s+|use\s+|with\s+|the\s+)?(?:brick\s+|tool\s+|model\s+)?" + _NAME
    + r"(?:\s+(?:brick|tool|model|step))?(?:\s+(before|after)\s+" + _NAME + r")?",
    re.I,
)
_REQUIRE_RE = re.compile(
    r"\b(?:use|using|try|with|prefer|instead\s+use)\s+(?:the\s+)?(?:brick\s+|tool\s+|model\s+)?" + _NAME,
    re.I,
)
_UNDO_RE = re.compile(r"^\s*(?:please\s+)?(?:undo|revert|go\s+back|roll\s*back|cancel)\b(?:\s+(?:that|this|it|the\s+last(?:\s+\w+)?))?", re.I)
_KEEP_RE = re.compile(
    r"\b(?:keep|preserve|leave|don'?t\s+(?:touch|change|alter)|do\s+not\s+(?:touch|change|alter))\s+"
    r"(?:the\s+)?(background|foreground|subject|face|faces|person|people|sky|colou?rs?)\b",
    re.I,
)
_STRONGER_RE = re.compile(
    r"\b(much\s+|way\s+|a\s+lot\s+|even\s+|far\s+)?(stronger|more|harder|intenser|more\s+intense|increase|higher|bigger\s+effect|heavier|amplify|boost)\b",
    re.I,
)
_WEAKER_RE = re.compile(
    r"\b(much\s+|way\s+|a\s+lot\s+|even\s+|far\s+)?(weaker|less|softer|lighter\s+touch|subtler|more\s+subtle|gentler|decrease|lower|tone\s+it\s+down|reduce|too\s+(?:much|strong))\b",
    re.I,
)
_ONE_RE = re.compile(
    r"\b(?:only\s+|just\s+)?(?:the\s+)?(?:(left|right|top|bottom|middle|center|centre|front|back|upper|lower|"
    r"leftmost|rightmost|bigger|biggest|larger|largest|smaller|smallest|closer|closest|nearest|farther|"
    r"further|furthest|taller|tallest|shorter|first|second|third|last|other|[a-z]+(?:er|est)?)"
    r"(?:\s+(?:most))?\s+one|one\s+on\s+the\s+(left|right|top|bottom)|one\s+in\s+the\s+(front|back|middle|center|centre|background|foreground))\b",
    re.I,
)
_GROW_RE = re.compile(
    r"\b(?:(expand|grow|enlarge|widen|dilate|extend|bigger|larger|wider)|(shrink|tighten|narrow|erode|smaller|tighter))"
    r"\s+(?:the\s+)?(?:mask|selection|area|region|outline)\b|\binclud(?:e|ing)\s+(?:the\s+|its\s+)?(?:edges?|outline|border|rim)\b",
    re.I,
)
_NOT_ONE_RE = re.compile(r"\bnot\s+(?:that|this|the\s+\w+)\s+one\b", re.I)
POSITION_WORDS = {"left", "right", "top", "bottom", "middle", "center", "centre", "front", "back",
                  "upper", "lower", "leftmost", "rightmost", "background", "foreground"}
_NON_BRICK_WORDS = {
    "a", "an", "the", "it", "that", "this", "one", "more", "less", "so", "much", "too", "change",
    "changes", "changing", "effect", "background", "color", "colour", "colors", "colours", "blur",
    "mask", "touching", "touch", "i", "me", "any", "other", "step", "steps", "again", "instead",
    "brick", "tool", "model", "filter", "strong", "weak", "longer", "way", "something",
}


@dataclass
class Constraints:
    banned: set[str] = field(default_factory=set)
    required: set[str] = field(default_factory=set)
    banned_before: dict[str, str] = field(default_factory=dict)  # banned brick -> "before INPAINT"
    refinements: list[str] = field(default_factory=list)  # words narrowing the target phrase
    strength: int = 0  # + stronger, - weaker
    grow: int = 0  # + grow the target mask ("expand the mask"), - shrink it
    keep: set[str] = field(default_factory=set)
    undo_edit: bool = False
    unread: list[str] = field(default_factory=list)  # feedback nothing could be read from

    def is_empty(self) -> bool:
        return not (self.banned or self.required or self.refinements or self.strength or self.grow
                    or self.keep or self.undo_edit)

    def to_json(self) -> dict:
        return {
            "banned": sorted(self.banned),
            "required": sorted(self.required),
            "banned_before": dict(self.banned_before),
            "refinements": list(self.refinements),
            "strength": self.strength,
            "grow": self.grow,
            "keep": sorted(self.keep),
            "undo_edit": self.undo_edit,
            "unread": list(self.unread),
        }


def _brick_name(word: str, registry) -> str | None:
    if not word or word.lower() in _NON_BRICK_WORDS:
        return None
    if registry is not None:
        spec = registry.resolve(word)
        return spec.name if spec is not None else None
    # without a registry: only words written as brick names (upper case, or known shape)
    if word.isupper() and len(word) >= 2:
        return word.replace("_", "-")
    return None


def _one(text: str, registry) -> Constraints:
    """What one feedback string says, on its own."""
    c = Constraints()
    low = text.strip()
    if not low:
        return c
    for m in _BAN_RE.finditer(low):
        name = _brick_name(m.group(1), registry)
        if name:
            c.banned.add(name)
            if m.group(2) and m.group(3):
                other = _brick_name(m.group(3), registry) or m.group(3).upper()
                c.banned_before[name] = f"{m.group(2).lower()} {other}"
    banned_spans = [m.span() for m in _BAN_RE.finditer(low)]
    for m in _REQUIRE_RE.finditer(low):
        if any(a <= m.start() < b for a, b in banned_spans):
            continue
        name = _brick_name(m.group(1), registry)
        if name and name not in c.banned:
            c.required.add(name)
    for m in _KEEP_RE.finditer(low):
        c.keep.add(m.group(1).lower().rstrip("s") if m.group(1).lower() != "faces" else "face")
    for m in _GROW_RE.finditer(low):
        c.grow += -1 if m.group(2) else 1
    names_mentioned = bool(c.banned or c.required)
    if not names_mentioned and not c.grow:
        ones = list(_ONE_RE.finditer(low))
        for m in ones:
            word = next(g for g in m.groups() if g)
            if word.lower() in ("that", "this", "which", "each", "every", "any", "no", "some"):
                continue
            c.refinements.append(word.lower())
        if not ones and not c.keep:
            delta = 0
            for m in _STRONGER_RE.finditer(low):
                delta += 2 if m.group(1) else 1
            for m in _WEAKER_RE.finditer(low):
                delta -= 2 if m.group(1) else 1
            c.strength = max(-3, min(3, delta))
    return c


def parse_feedback(feedback: Iterable[str] | str | None, registry=None) -> Constraints:
    """Fold every feedback string (oldest first) into one `Constraints`."""
    if feedback is None:
        return Constraints()
    if isinstance(feedback, str):
        feedback = [feedback]
    items: list[Constraints] = []
    raw: list[str] = []
    undo_edit = False
    for text in feedback:
        text = str(text) if text is not None else ""
        if _UNDO_RE.match(text):
            if items:
                items.pop()
                raw.pop()
            else:
                undo_edit = True
            continue
        items.append(_one(text, registry))
        raw.append(text)
    out = Constraints(undo_edit=undo_edit)
    for text, c in zip(raw, items):
        for name in c.banned:
            out.required.discard(name)
            out.banned.add(name)
        out.banned_before.update(c.banned_before)
        for name in c.required:
            out.banned.discard(name)
            out.banned_before.pop(name, None)
            out.required.add(name)
        for word in c.refinements:
            if word not in out.refinements:
                out.refinements.append(word)
        out.strength = max(-4, min(4, out.strength + c.strength))
        out.grow = max(-4, min(4, out.grow + c.grow))
        out.keep |= c.keep
        if c.is_empty() and text.strip():
            out.unread.append(text.strip())
    return out


def describe(c: Constraints) -> list[str]:
    """One sentence per constraint, for reasoning text and prompts."""
    lines = []
    for name in sorted(c.banned):
        where = c.banned_before.get(name)
        lines.append(f"Do not use {name}" + (f" (asked: not {where}; I avoid it everywhere)" if where else "") + ".")
    for name in sorted(c.required):
        lines.append(f"Use {name}.")
    if c.refinements:
        lines.append("Narrow the target to the " + " ".join(c.refinements) + " one.")
    if c.strength:
        lines.append(("Make the effect stronger" if c.strength > 0 else "Make the effect weaker") + f" ({c.strength:+d}).")
    if c.grow:
        lines.append(("Grow" if c.grow > 0 else "Shrink") + f" the target mask ({c.grow:+d}) so the edit "
                     + ("also covers the object's edges." if c.grow > 0 else "stays inside the object."))
    for region in sorted(c.keep):
        lines.append(f"Keep the {region} unchanged.")
    if c.undo_edit:
        lines.append("Undo the edit (the app restores the earlier image from its history).")
    return lines


def merge_refinement(target: str, refinements: Sequence[str]) -> str:
    """'dog' + ['left'] -> 'the dog on the left'; + ['bigger'] -> 'the bigger dog'."""
    target = (target or "").strip()
    core = re.sub(r"^(?:the|a|an)\s+", "", target, flags=re.I)
    positions = [w for w in refinements if w in POSITION_WORDS]
    adjectives = [w for w in refinements if w not in POSITION_WORDS]
    phrase = " ".join([*adjectives, core]).strip()
    phrase = "the " + phrase
    if positions:
        where = positions[-1]
        if where in ("front", "back", "middle", "center", "centre", "background", "foreground"):
            phrase += f" in the {where}"
        elif where in ("leftmost", "rightmost"):
            phrase = f"the {where} " + " ".join([*adjectives, core]).strip()
        else:
            phrase += f" on the {where}"
    return phrase


def stronger(port, value: float | None, level: int, size: tuple[int, int] | None = None) -> float | None:
    """A strength input's value `level` steps stronger (negative: weaker): its distance from the
    neutral value times STRENGTH_STEP per step, kept inside the declared range. Null starts from
    the declared default. Returns `value` unchanged where nothing can be scaled."""
    if not level or port.neutral is None:
        return value
    width, height = size or (512, 512)
    base = float(value) if value is not None else port.default_for(width, height)
    if base is None or base == port.neutral:
        return value  # e.g. a TONE amount the plan leaves at "unchanged"
    new = port.neutral + (base - port.neutral) * STRENGTH_STEP ** level
    if port.range is not None:
        new = min(max(new, port.range[0]), port.range[1])
    return round(new, 4)


def apply_strength(workflow, registry, level: int, size: tuple[int, int] | None = None) -> list[str]:
    """Move every strength input of every step `level` steps; the notes say what changed."""
    notes: list[str] = []
    if not level:
        return notes
    for step in workflow.steps:
        spec = registry.resolve(step.brick)
        if spec is None:
            continue
        for name, port in spec.inputs.items():
            if not port.strength:
                continue
            old = step.inputs.get(name)
            if old is not None and not isinstance(old, (int, float)):
                continue  # a reference: not a number to move
            new = stronger(port, old, level, size)
            if new is not None and new != old:
                step.inputs[name] = new
                was = "its default" if old is None else f"{old:g}"
                notes.append(f"{spec.name} {name} {was} -> {new:g} (step {step.number})")
    return notes

"""The offline rule Builder: reads English edit instructions, plans with the registry's bricks.

    builder = RuleBuilder(registry)
    plan = builder.plan(PlanRequest("remove the dog"), feedback=["don't use RES"])

`clauses.py` (with `canon.py` and `phrases.py`) turns the instruction into clean clauses; each
clause is read by the first action (`actions/`, one module per edit family, discovered like
bricks) that recognises it; pronouns ("make it blue", "the dog, remove it") point at the object
the previous clause or remark named; each intent's action writes its steps through the
`Writer` (`planner.py`), honouring bans and requirements from `lego_demo.feedback`; every plan
is validated before it is returned: the result is a valid workflow or a declined Plan whose
reason names what is missing. A bug in here raises (an internal error), never a quiet decline.

Feedback semantics (see `lego_demo/feedback.py`): bans and requirements are hard; "only the
left one" narrows every segmentation phrase; "stronger"/"weaker" move every input a brick marks
as its strength; "keep the background" limits whole-image styles to the subject; "undo that"
drops the previous feedback item, and with none left it returns the plain plan for the
instruction (restoring the earlier image is the app's job, from its turn history).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ...feedback import Constraints, apply_strength, describe, parse_feedback
from ...registry import Registry
from ...types import ValueType
from ...validate import validate
from ...workflow import Ref
from ..base import Plan, PlanRequest
from .actions import ReadContext, by_name, discover
from .actions.text import as_typed
from .canon import statement_topic
from .clauses import Clause, Intent, is_statement, read_clauses
from .phrases import bare
from .planner import INIT_IMAGE, Missing, Writer
from .words import VERB_OF

__all__ = ["RuleBuilder", "read", "Reading", "Intent"]


@dataclass
class Reading:
    intents: list[Intent] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)  # clauses that ask for something no action reads
    remarks: list[str] = field(default_factory=list)  # clauses that only comment ("he looks grumpy")
    needs_mask: list[str] = field(default_factory=list)  # clauses pointing at a mask that is missing


_PRONOUN_RE = r"\b(?:it|them|him|her|this\s+one|that\s+one|this|that|these|those)\b"


def read(instruction: str, has_mask: bool = False, ctx: ReadContext | None = None) -> Reading:
    """The instruction's intents, in order; pronouns resolved to what an earlier clause named."""
    out = Reading()
    topic: str | None = None
    clauses = read_clauses(instruction, has_mask)
    # a remark beside a request is only a remark ("make him smile, he looks grumpy"); alone it may be
    # the request itself ("the photo is too dark")
    remarks = [is_statement(c.plain) or (_bare_noun_phrase(c.plain) is not None and c.full == c.plain) for c in clauses]
    asks = not all(remarks)
    for i, clause in enumerate(clauses):
        clause.topic = topic
        clause.remark = clauses[i - 1].plain if i and remarks[i - 1] else None
        intent = None if (remarks[i] and asks) else _read_one(clause, ctx)
        if intent is not None and intent.where == "pronoun":
            if clause.topic is None and i + 1 < len(clauses):
                clause.topic = _referent(_read_one(clauses[i + 1], ctx) or Intent("", "")) or None  # "…, after making it yellow"
            intent = _resolve(clause, intent, ctx)
        if intent is None:
            said = statement_topic(clause.plain) or _bare_noun_phrase(clause.plain)
            if said is not None or remarks[i]:
                out.remarks.append(clause.raw)
                topic = said or topic
            else:
                out.unread.append(clause.raw)
            continue
        if intent.where in ("init", "maskseg", "pronoun") and not has_mask:
            out.needs_mask.append(clause.raw)
            continue
        if out.intents and _same(out.intents[-1], intent):
            continue  # "it's too saturated, tone it down": one edit said twice
        out.intents.append(intent)
        topic = _referent(intent) or topic
    return out


def _bare_noun_phrase(text: str) -> str | None:
    """'the dog' in 'the dog, remove it': a topic named on its own."""
    m = re.fullmatch(r"(?:the|this|that|these|those|my|his|her|their|our|your)\s+[\w' -]{1,40}", text)
    return m.group(0) if m and not any(w in VERB_OF for w in text.split()[1:2]) else None


def _read_one(clause: Clause, ctx) -> Intent | None:
    for action in discover():
        intent = action.read(clause, ctx)
        if intent is not None:
            return intent
    return None


def _resolve(clause: Clause, intent: Intent, ctx) -> Intent | None:
    """'delete it' after 'the trash can is ruining the shot' -> 'delete the trash can'."""
    if not clause.topic:
        if clause.has_mask:
            intent.where, intent.target = "init", None
        return intent
    topic = clause.topic
    word = re.escape(intent.target or "it")
    text = re.sub(r"\b" + word + r"\b", topic, clause.text, count=1)
    full = re.sub(r"\b" + word + r"\b", topic, clause.full, count=1)
    verb, _, rest = text.partition(" ")
    again = dataclasses.replace(clause, full=full, text=text, verb=verb, rest=rest, topic=None)
    found = _read_one(again, ctx)
    return None if found is None or found.where == "pronoun" else found


def _same(a: Intent, b: Intent) -> bool:
    if a.action != b.action or a.target != b.target:
        return False
    if a.action == "tone":
        return b.params.get("kind") in (None, a.params.get("kind")) and b.params.get("direction") == a.params.get("direction")
    return a.value == b.value or b.action in ("extract",)


def _referent(intent: Intent) -> str | None:
    """What 'it' means in the next clause."""
    if intent.action == "replace" and intent.value:
        return "the " + bare(intent.value)
    if intent.action == "add":
        return "the " + bare(str(intent.params.get("obj") or intent.value or ""))
    if intent.target and intent.action not in ("background", "pose", "text"):
        return "the " + intent.target
    return None


def _known() -> str:
    return ", ".join(a.says for a in discover() if a.says)


class RuleBuilder:
    name = "rule"

    def __init__(self, registry: Registry):
        self.registry = registry
        self.covered = frozenset(b for a in discover() for b in a.bricks)

    # the Builder protocol ------------------------------------------------------------------
    def plan(
        self,
        request: PlanRequest,
        feedback: Sequence[str] = (),
        previous: Plan | None = None,
        on_text: Callable[[str], None] | None = None,
    ) -> Plan:
        plan = self._plan(request, feedback, previous)
        if on_text is not None and plan.reasoning:
            on_text(plan.reasoning)
        return plan

    def constraints(self, feedback: Sequence[str]) -> Constraints:
        return parse_feedback(list(feedback or ()), self.registry)

    # ---------------------------------------------------------------------------------------
    def _plan(self, request: PlanRequest, feedback: Sequence[str], previous: Plan | None) -> Plan:
        instruction = request.instruction if isinstance(request.instruction, str) else ""
        c = self.constraints(feedback)
        lines: list[str] = []
        if not instruction.strip():
            return Plan(reasoning="The instruction is empty.",
                        declined="the instruction is empty: say what to change (e.g. 'remove the dog')")
        ctx = ReadContext(self.registry, self.covered, frozenset(c.banned))
        reading = read(instruction, has_mask=bool(request.has_mask), ctx=ctx)
        for it in reading.intents:
            if it.action == "text" and isinstance(it.value, str):
                it.value = as_typed(instruction, it.value)
        fb = describe(c)
        if fb:
            lines.append("Feedback to honour: " + " ".join(fb))
        if c.undo_edit and not (c.banned or c.required or c.refinements or c.strength or c.keep):
            lines.append("'Undo' with no earlier feedback: the app restores the previous image from its "
                         "history; here is the plain plan for the instruction.")
        if c.unread:
            lines.append("I could not read this feedback as a constraint: " + "; ".join(repr(u) for u in c.unread) + ".")
        if reading.remarks and reading.intents:
            lines.append("I read " + "; ".join(repr(r) for r in reading.remarks) + " as a remark, not an edit.")
        if reading.needs_mask:
            reason = (f"'{reading.needs_mask[0]}' points at a marked area or at something not named, but no mask was "
                      "given (init[mask] is missing): draw the area, or name the object")
            return Plan(reasoning="\n".join(lines + [f"The request refers to a drawn area: {reason}."]), declined=reason)
        if not reading.intents:
            what = (reading.unread or reading.remarks or [instruction.strip()])[0]
            reason = f"no edit I can plan in {what[:80]!r}: no brick matches it (I can plan: {_known()})"
            return Plan(reasoning="\n".join(lines + ["I found no edit action in the instruction."]), declined=reason)
        if reading.unread:
            reason = (f"part of the request is not an edit I can plan: {reading.unread[0][:80]!r} (no brick "
                      f"matches it; I can plan: {_known()})")
            return Plan(reasoning="\n".join(lines + ["One clause has no matching edit, so I do not run half of it."]),
                        declined=reason)
        size = None
        if request.image is not None and getattr(request.image, "ndim", 0) >= 2:
            size = (int(request.image.shape[1]), int(request.image.shape[0]))
        w = Writer(self.registry, set(c.banned), set(c.required), bool(request.has_mask), grow=c.grow,
                   refinements=list(c.refinements), keep=set(c.keep), image_size=size)
        try:
            results = self._write(w, reading.intents)
        except Missing as exc:
            reason = f"cannot {exc.what}: needs " + ", ".join(exc.bricks or ["a brick that is not here"])
            return Plan(reasoning="\n".join(lines + w.notes + [f"I cannot {exc.what}."]), declined=reason)
        wf = w.workflow(instruction.strip()[:300], results)
        for note in apply_strength(wf, self.registry, c.strength, size):
            w.note(f"The feedback asks for a {'stronger' if c.strength > 0 else 'weaker'} effect: {note}.")
        init_values = {"image": ValueType.IMAGE}
        if request.has_mask:
            init_values["mask"] = ValueType.MASK
        checked = validate(wf, self.registry, banned=c.banned, required=c.required, init_values=init_values)
        reasoning = "\n".join(lines + w.notes)
        if not checked.ok:
            problems = "; ".join(str(p) for p in checked.problems[:3])
            if any(p.code == "required" for p in checked.problems):
                problems = ("no plan for this request uses " + ", ".join(sorted(c.required))
                            + f" ({problems})")
            return Plan(reasoning=reasoning + "\nThe plan breaks a rule, so I decline instead.",
                        declined=f"no valid plan: {problems}")
        return Plan(reasoning=reasoning, workflow=checked.workflow, repairs=checked.repairs)

    def _write(self, w: Writer, intents: list[Intent]) -> list[Ref]:
        actions = by_name()
        image: Ref = INIT_IMAGE
        results: list[Ref] = []
        if len(intents) > 1:
            w.note(f"The instruction has {len(intents)} edits; each edits the previous edit's output.")
        for i, intent in enumerate(intents):
            if len(intents) > 1:
                w.note(f"Edit {i + 1}: '{intent.clause}'.")
            out = actions[intent.action].plan(w, intent, image)
            if isinstance(out, list):  # a cut-out or a mask as the result
                if i == len(intents) - 1:
                    results = out
                elif self.registry.resolve("EXTRACT") is not None and out and out[0].name == "image":
                    image = out[0]
                continue
            image = out
            results = [image]
        return results

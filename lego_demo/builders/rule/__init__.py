"""The offline rule Builder: reads English edit instructions, plans with the registry's bricks.

    builder = RuleBuilder(registry)
    plan = builder.plan(PlanRequest("remove the dog"), feedback=["don't use RES"])

`language.py` turns the instruction into intents (one per clause), `recipes.py` turns each
intent into steps (first usable recipe, honouring bans and requirements from
`lego_demo.feedback`), and every plan is validated here before it is returned: the result is
a valid workflow or a declined Plan whose reason names what is missing.

Feedback semantics (see `lego_demo/feedback.py`): bans and requirements are hard; "only the
left one" narrows every segmentation phrase; "stronger"/"weaker" shift strength parameters
where a brick has one; "keep the background" limits whole-image styles to the subject;
"undo that" drops the previous feedback item, and with none left it returns the plain plan for
the instruction (restoring the earlier image is the app's job, from its turn history).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ...feedback import Constraints, describe, parse_feedback
from ...registry import Registry
from ...types import ValueType
from ...validate import validate
from ...workflow import Ref
from ..base import Plan, PlanRequest
from .language import Intent, parse
from .planner import INIT_IMAGE, Missing, Writer
from .recipes import RECIPES, extract

__all__ = ["RuleBuilder", "parse", "Intent"]

_KNOWN = ("remove, replace/swap, recolour, add, change or blur the background, style transfer, weather/"
          "season/time of day, pose or expression, brightness/contrast/saturation, cut out, expand the "
          "image, colour pop, blur or pixelate faces, add text, crop, rotate, flip")


class RuleBuilder:
    name = "rule"

    def __init__(self, registry: Registry):
        self.registry = registry

    # the Builder protocol ------------------------------------------------------------------
    def plan(
        self,
        request: PlanRequest,
        feedback: Sequence[str] = (),
        previous: Plan | None = None,
        on_text: Callable[[str], None] | None = None,
    ) -> Plan:
        try:
            plan = self._plan(request, feedback, previous)
        except Exception as exc:  # never let a parser bug escape as a crash: decline, saying so
            plan = Plan(reasoning="The rule Builder failed on this request.",
                        declined=f"the rule Builder could not read this request ({type(exc).__name__}: {exc})")
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
        parsed = parse(instruction, has_mask=bool(request.has_mask))
        fb = describe(c)
        if fb:
            lines.append("Feedback to honour: " + " ".join(fb))
        if c.undo_edit and not (c.banned or c.required or c.refinements or c.strength or c.keep):
            lines.append("'Undo' with no earlier feedback: the app restores the previous image from its "
                         "history; here is the plain plan for the instruction.")
        if c.unread:
            lines.append("I could not read this feedback as a constraint: " + "; ".join(repr(u) for u in c.unread) + ".")
        if parsed.needs_mask:
            reason = (f"'{parsed.needs_mask[0]}' points at a marked area, but no mask was given "
                      "(init[mask] is missing): draw the area, or name the object")
            return Plan(reasoning="\n".join(lines + [f"The request refers to a drawn area: {reason}."]), declined=reason)
        if not parsed.intents:
            what = parsed.unread[0] if parsed.unread else instruction.strip()
            reason = (f"no edit I can plan in {what[:80]!r}: no brick matches it (I can plan: {_KNOWN})")
            return Plan(reasoning="\n".join(lines + ["I found no edit action in the instruction."]), declined=reason)
        if parsed.unread:
            reason = (f"part of the request is not an edit I can plan: {parsed.unread[0][:80]!r} (no brick "
                      f"matches it; I can plan: {_KNOWN})")
            return Plan(reasoning="\n".join(lines + ["One clause has no matching edit, so I do not run half of it."]),
                        declined=reason)
        size = None
        if request.image is not None and getattr(request.image, "ndim", 0) >= 2:
            size = (int(request.image.shape[1]), int(request.image.shape[0]))
        w = Writer(self.registry, set(c.banned), set(c.required), bool(request.has_mask), c.strength,
                   grow=c.grow, refinements=list(c.refinements), keep=set(c.keep), image_size=size)
        image: Ref = INIT_IMAGE
        results: list[Ref] = []
        if len(parsed.intents) > 1:
            w.note(f"The instruction has {len(parsed.intents)} edits; each edits the previous edit's output.")
        try:
            for i, intent in enumerate(parsed.intents):
                if len(parsed.intents) > 1:
                    w.note(f"Edit {i + 1}: '{intent.clause}'.")
                if intent.action == "extract":
                    outs = extract(w, intent, image)
                    if i == len(parsed.intents) - 1:
                        results = outs
                    else:
                        image = outs[0] if w.registry.resolve("EXTRACT") is not None else image
                    continue
                recipe = RECIPES.get(intent.action)
                if recipe is None:
                    raise Missing(f"'{intent.action}'", [intent.action])
                image = recipe(w, intent, image)
                results = [image]
        except Missing as exc:
            reason = f"cannot {exc.what}: needs " + ", ".join(exc.bricks or ["a brick that is not here"])
            return Plan(reasoning="\n".join(lines + w.notes + [f"I cannot {exc.what}."]), declined=reason)
        process = instruction.strip()[:300]
        wf = w.workflow(process, results)
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

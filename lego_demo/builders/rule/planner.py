"""The Writer: what every action's `plan` uses to write steps, against whatever bricks exist.

An action offers recipes in order of preference (the official few-shot way first) through
`Writer.choose`; a recipe is skipped when one of its bricks is missing from the registry or
banned by feedback, and a recipe using a brick the feedback requires is tried first. Clauses
chain: each edits the image the previous clause produced. When no recipe fits, `Missing` names
the bricks. Shared pieces of recipes live here too: finding a target (`locate`), erasing a mask
(`erase`), placing a new object (`place`), filling any brick's inputs from its spec (`generic`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...feedback import stronger
from ...registry import Registry
from ...spec import BrickSpec
from ...types import ValueType
from ...workflow import Ref, Step, Workflow
from .clauses import Intent

INIT_IMAGE = Ref(None, "image")
INIT_MASK = Ref(None, "mask")


class Missing(Exception):
    """No recipe for an intent can be built; `.bricks` are the bricks that would be needed."""

    def __init__(self, what: str, bricks: list[str]):
        super().__init__(what)
        self.what = what
        self.bricks = bricks


@dataclass
class Writer:
    registry: Registry
    banned: set[str]
    required: set[str]
    has_mask: bool
    grow: int = 0  # feedback "expand the mask": grow segmentation masks by this many 1.5% steps
    refinements: list[str] = field(default_factory=list)
    keep: set[str] = field(default_factory=set)
    image_size: tuple[int, int] | None = None  # (width, height)
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # reasoning sentences
    last_mask: Ref | None = None  # the mask of the last removed object ("add a plant there")
    masks: dict[str, Ref] = field(default_factory=dict)  # target phrase -> its mask, reused by later clauses

    # -- bricks ----------------------------------------------------------------------------
    def spec(self, name: str) -> BrickSpec | None:
        spec = self.registry.resolve(name)
        if spec is None or spec.name in self.banned:
            return None
        return spec

    def usable(self, *names: str) -> bool:
        return all(self.spec(n) is not None for n in names)

    def why_not(self, names: tuple[str, ...]) -> list[str]:
        out = []
        for n in names:
            spec = self.registry.resolve(n)
            if spec is None:
                out.append(f"{n} (not in the registry)")
            elif spec.name in self.banned:
                out.append(f"{spec.name} (banned by your feedback)")
        return out

    def add(self, name: str, inputs: dict[str, Any]) -> int:
        spec = self.registry.resolve(name)
        assert spec is not None
        number = len(self.steps) + 1
        given = frozenset(k for k, v in inputs.items() if v is not None)
        full = {k: inputs.get(k) for k in spec.inputs}
        outs = spec.outputs_for(given)
        self.steps.append(Step(number, spec.name, full, {o: Ref(number, o) for o in spec.outputs if o in outs}))
        return number

    def choose(self, options: list[tuple[tuple[str, ...], Callable[[], Any]]], what: str):
        """Run the first option whose bricks are usable (required bricks first)."""
        usable = [o for o in options if self.usable(*o[0])]
        if self.required:
            usable.sort(key=lambda o: not any(self._canon(b) in self.required for b in o[0]))
        if not usable:
            missing: list[str] = []
            for bricks, _ in options:
                for reason in self.why_not(bricks):
                    if reason not in missing:
                        missing.append(reason)
            raise Missing(what, missing)
        mark = len(self.steps), len(self.notes)
        last: Missing | None = None
        for _bricks, run in usable:
            try:
                return run()
            except Missing as exc:  # a nested choice failed: undo and try the next option
                del self.steps[mark[0]:]
                del self.notes[mark[1]:]
                last = exc
        assert last is not None
        raise last

    def _canon(self, name: str) -> str:
        spec = self.registry.resolve(name)
        return spec.name if spec else name

    def note(self, text: str) -> None:
        self.notes.append(text)

    # -- finding things --------------------------------------------------------------------
    def grown(self, mask: Ref) -> Ref:
        """The mask widened (or narrowed) as the feedback asked, when GROW is at hand."""
        if not self.grow or not self.usable("GROW"):
            return mask
        amount = round(0.015 * self.grow, 3)
        n = self.add("GROW", {"mask": mask, "amount": amount})
        self.note(f"GROW {'widens' if amount > 0 else 'narrows'} the mask by {abs(amount) * 100:.1f}% of the image "
                  f"(step {n}), as the feedback asked.")
        return Ref(n, "mask")

    def refine(self, target: str) -> str:
        if not self.refinements:
            return target
        from ...feedback import merge_refinement

        return merge_refinement(target, self.refinements)

    def locate(self, image: Ref, intent: Intent, background_like: bool = False) -> Ref:
        """A mask of the intent's target."""
        where, target = intent.where, intent.target
        if where == "init":
            if not self.has_mask:
                raise Missing("a mask of the area (draw it: init[mask] is missing)", ["init[mask] (no mask was drawn)"])
            self.note("The user marked the area, so the edit uses init[mask] directly.")
            return INIT_MASK
        # a painted mask says where the target is, named or not ("remove the spoon" + a mask):
        # the object inside it is found by MASK-SEG, so no offline noun grounding is needed
        if where == "maskseg" or (where == "res" and self.has_mask):
            if not self.has_mask:
                raise Missing("a mask around the object (init[mask] is missing)", ["init[mask] (no mask was drawn)"])

            def maskseg() -> Ref:
                n = self.add("MASK-SEG", {"image": image, "mask": INIT_MASK})
                self.note(f"MASK-SEG finds the object{' (' + target + ')' if target else ''} inside the user's rough mask (step {n}).")
                return self.grown(Ref(n, "mask"))

            def raw() -> Ref:
                self.note("The user's mask (init[mask]) is used as drawn.")
                return INIT_MASK

            return self.choose([(("MASK-SEG",), maskseg), ((), raw)], "segment inside the mask")
        if target is None or where == "sos":
            if target is not None:
                return self.locate_named(image, target, background_like)
            return self.subject(image)
        return self.locate_named(image, target, background_like)

    def subject(self, image: Ref) -> Ref:
        def sos() -> Ref:
            n = self.add("SOS", {"image": image})
            self.note(f"SOS segments the main subject (step {n}).")
            return self.grown(Ref(n, "mask"))

        def res() -> Ref:
            n = self.add("RES", {"image": image, "prompt": self.refine("main subject")})
            self.note(f"RES segments the main subject by name (step {n}).")
            return self.grown(Ref(n, "mask"))

        return self.choose([(("SOS",), sos), (("RES",), res)], "segment the main subject")

    def locate_named(self, image: Ref, target: str, background_like: bool = False) -> Ref:
        phrase = self.refine(target)

        def res() -> Ref:
            n = self.add("RES", {"image": image, "prompt": phrase})
            self.note(f"RES segments '{phrase}' from its name (step {n}).")
            return self.grown(Ref(n, "mask"))

        def sos_inverse() -> Ref:
            n = self.add("SOS", {"image": image})
            m = self.add("INVERSE", {"mask1": None, "mask2": Ref(n, "mask")})
            self.note(
                f"Without RES, SOS segments the foreground (step {n}) and INVERSE turns it into the "
                f"background mask (step {m}), where '{target}' lies."
            )
            return Ref(m, "mask")

        def sos() -> Ref:
            n = self.add("SOS", {"image": image})
            self.note(f"Without RES, SOS segments the most salient object, assumed to be '{target}' (step {n}).")
            return self.grown(Ref(n, "mask"))

        options: list[tuple[tuple[str, ...], Callable[[], Ref]]] = [(("RES",), res)]
        if background_like:
            options += [(("SOS", "INVERSE"), sos_inverse), (("SOS",), sos)]
        else:
            options += [(("SOS",), sos)]
        return self.choose(options, f"segment '{target}'")

    # -- shared recipe pieces ----------------------------------------------------------------
    def erase(self, image: Ref, mask: Ref, what: str) -> Ref:
        def full() -> Ref:
            a = self.add("FASTINPAINT", {"image": image, "mask": mask})
            b = self.add("INPAINT", {"image": image, "mask": mask, "preimage": Ref(a, "image"), "score": Ref(a, "score")})
            self.note(f"FASTINPAINT fills the {what} area quickly and scores it (step {a}); INPAINT uses that "
                      f"pre-inpaint image and score for a clean removal (step {b}).")
            return Ref(b, "image")

        def fast() -> Ref:
            a = self.add("FASTINPAINT", {"image": image, "mask": mask})
            self.note(f"INPAINT cannot be used, so FASTINPAINT's quick fill is the result (step {a}).")
            return Ref(a, "image")

        def fill() -> Ref:
            a = self.add("FILL", {"image": image, "mask": mask, "prompt": "empty background matching the surroundings",
                                  "preimage": None})
            self.note(f"No inpainting brick is usable, so FILL paints plain background over the {what} (step {a}).")
            return Ref(a, "image")

        return self.choose([(("FASTINPAINT", "INPAINT"), full), (("FASTINPAINT",), fast), (("FILL",), fill)],
                           f"remove the {what}")

    def place(self, image: Ref, phrase: str, obj: str, region: Ref | None) -> Ref:
        def predict() -> Ref:
            a = self.add("ADD-PRED", {"image": image, "prompt": f"add {phrase}", "mask": region})
            b = self.add("FILL", {"image": image, "mask": Ref(a, "mask"), "prompt": obj, "preimage": None})
            inside = " inside the given area" if region is not None else ""
            self.note(f"ADD-PRED predicts where '{phrase}' fits{inside} (step {a}); FILL draws {obj} there (step {b}).")
            return Ref(b, "image")

        def direct() -> Ref:
            assert region is not None
            b = self.add("FILL", {"image": image, "mask": region, "prompt": obj, "preimage": None})
            self.note(f"FILL draws {obj} inside the given area (step {b}).")
            return Ref(b, "image")

        options = [(("ADD-PRED", "FILL"), predict)]
        if region is not None:
            options.append((("FILL",), direct))
        return self.choose(options, f"add {obj}")

    def strengthen(self, number: int, level: int) -> None:
        """Move the strength inputs of step `number` by `level` steps (the request said "heavily")."""
        if not level:
            return
        step = self.steps[number - 1]
        spec = self.registry.resolve(step.brick)
        for name, port in (spec.inputs.items() if spec else ()):
            if port.strength:
                value = step.inputs.get(name)
                new = stronger(port, value if isinstance(value, (int, float)) else None, level, self.image_size)
                if new is not None and new != value:
                    step.inputs[name] = new

    # -- generic filling of a brick's inputs (for bricks added by plugins) -----------------
    def generic(self, name: str, image: Ref | None, mask: Ref | None = None, text: str | None = None,
                values: dict[str, Any] | None = None) -> int:
        spec = self.registry.resolve(name)
        assert spec is not None
        values = dict(values or {})
        inputs: dict[str, Any] = {}
        used_image = used_mask = used_text = False
        for iname, port in spec.inputs.items():
            if iname in values:
                inputs[iname] = values[iname]
                continue
            if port.type is ValueType.IMAGE and image is not None and not used_image:
                inputs[iname] = image
                used_image = True
            elif port.type is ValueType.MASK and mask is not None and not used_mask:
                inputs[iname] = mask
                used_mask = True
            elif port.type is ValueType.STR and text is not None and not used_text:
                inputs[iname] = text
                used_text = True
            elif port.type is ValueType.FLOAT and not port.optional:
                inputs[iname] = _float_for(port, self.image_size)
            else:
                inputs[iname] = None
            if inputs[iname] is None and not port.optional:
                raise Missing(f"a value for {spec.name}'s input '{iname}'", [f"{spec.name}.{iname} (nothing to give it)"])
        return self.add(spec.name, inputs)

    def workflow(self, process: str, result: list[Ref]) -> Workflow:
        return Workflow(process=process, steps=list(self.steps), result=list(result))


def _float_for(port, size: tuple[int, int] | None) -> float | None:
    """A required Float nobody named: its declared default, else the middle of its range."""
    width, height = size or (512, 512)
    value = port.default_for(width, height)
    if value is None and port.range is not None:
        value = (port.range[0] + port.range[1]) / 2
    return None if value is None else round(float(value), 4)


def float_inputs(spec: BrickSpec) -> list[str]:
    return [n for n, p in spec.inputs.items() if p.type is ValueType.FLOAT]

"""Is a plan the right plan? A workflow read back into edits, compared with what a person expected.

An instruction set row says what the plan should do, edit by edit, in the order of the
instruction ("expect"), or that the Builder should decline:

    {"instruction": "make the mug smaller and paint the wall teal",
     "expect": [{"do": "resize", "target": ["mug"], "dir": -1},
                {"do": "recolor", "target": ["wall"], "value": ["teal"]}]}
    {"instruction": "upscale it to 4k", "expect": "decline"}
    {"instruction": "turn the red balloon into a blue one",
     "expect": {"any": [[{"do": "recolor", …}], [{"do": "replace", …}]]}}   (either plan is right)

`edits(workflow)` reads any workflow (whoever wrote it) back into such edits: which brick
does the change, on which target (the RES phrase, "@subject" for SOS, "@mask" for the user's
mask, null for the whole image) and with which value (the FILL/RCM/CBG/STYLE/ENV/POSE/TEXT
prompt, a tone kind and direction, …). `judge(row, plan)` compares them and names the first
difference as an error class, so that failures can be counted by kind.

Matching rules: a target matches when it equals one alternative after lower-casing and
dropping articles; a value alternative matches when each of its words starts a word of the
plan's value (so "teal" matches "teal", "pine trees lake" matches "a lake with pine trees").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..workflow import Ref, Workflow

REMOVERS = ("FASTINPAINT", "INPAINT")
EMPTY_FILL = "empty background"
# bricks that only make masks or combine layers: part of an edit, never an edit of their own
MASK_BRICKS = ("RES", "SOS", "MASK-SEG", "INVERSE", "GROW", "BBOX", "ADD-PRED", "CMI-PRED", "RESIZE", "COMPOSE")


@dataclass
class Edit:
    do: str
    target: str | None = None  # "dog" (RES phrase), "@subject", "@mask", None = whole image
    value: str = ""
    facts: dict[str, Any] = field(default_factory=dict)  # kind, dir, mode, degrees, …

    def __str__(self) -> str:
        bits = [self.do, repr(self.target)]
        if self.value:
            bits.append(repr(self.value))
        bits += [f"{k}={v}" for k, v in self.facts.items()]
        return " ".join(bits)


def _norm(text: str) -> str:
    text = re.sub(r"[^\w\s'&-]", " ", str(text).lower())
    return " ".join(w for w in text.split() if w not in ("the", "a", "an"))


class _Reader:
    def __init__(self, wf: Workflow):
        self.wf = wf
        self.steps = {s.number: s for s in wf.steps}
        self.used: set[int] = set()

    def step_of(self, ref: Any):
        return self.steps.get(ref.step) if isinstance(ref, Ref) and ref.step is not None else None

    def target(self, ref: Any) -> Any:
        """What a mask selects: a phrase, '@subject', '@mask', ('not', X), ('add', phrase), …"""
        if not isinstance(ref, Ref):
            return None
        if ref.step is None:
            return "@mask" if ref.name == "mask" else None
        s = self.steps.get(ref.step)
        if s is None:
            return None
        b = s.brick
        if b == "RES":
            prompt = s.inputs.get("prompt")
            return _norm(prompt) if isinstance(prompt, str) else "@?"
        if b == "SOS":
            return "@subject"
        if b == "MASK-SEG":
            return "@mask"
        if b in ("GROW", "BBOX"):
            return self.target(s.inputs.get("mask"))
        if b == "RESIZE" and s.inputs.get("mask") is not None:
            return self.target(s.inputs.get("mask"))
        if b == "INVERSE":
            if s.inputs.get("mask1") is None and s.inputs.get("mask2") is not None:
                return ("not", self.target(s.inputs.get("mask2")))
            return ("minus", self.target(s.inputs.get("mask1")), self.target(s.inputs.get("mask2")))
        if b == "ADD-PRED":
            return ("add", s.inputs.get("prompt"), self.target(s.inputs.get("mask")))
        if b == "CMI-PRED":
            return ("outpaint",)
        if b == "COMPOSE":
            return ("union", self.target(s.inputs.get("mask1")), self.target(s.inputs.get("mask2")))
        return ("mask-of", b)

    def removal_before(self, image: Any):
        """The removal step (INPAINT, or a lone FASTINPAINT) that produced `image`, if any."""
        s = self.step_of(image)
        if s is None:
            return None
        if s.brick in REMOVERS or (s.brick == "FILL" and EMPTY_FILL in str(s.inputs.get("prompt", ""))):
            return s
        return None


def _plain(target: Any) -> str | None:
    if target is None or isinstance(target, str):
        return target
    return "(" + " ".join(str(_plain(t)) for t in target) + ")"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _sign(x: Any, neutral: float = 0.0) -> int:
    return 0 if not isinstance(x, (int, float)) else (1 if x > neutral else -1 if x < neutral else 0)


def edits(wf: Workflow) -> list[Edit]:
    """The workflow's edits, in step order."""
    r = _Reader(wf)
    out: list[Edit] = []
    by_number = {s.number: s for s in wf.steps}
    resized_cutouts = {s.inputs["image"].step for s in wf.steps
                       if s.brick == "RESIZE" and isinstance(s.inputs.get("image"), Ref)}
    absorbed: set[int] = set()
    for s in wf.steps:
        b, inp = s.brick, s.inputs
        if s.number in absorbed:
            continue
        if b == "FASTINPAINT":
            later = [t for t in wf.steps if t.brick == "INPAINT" and t.inputs.get("preimage") == Ref(s.number, "image")]
            if later:
                continue  # the INPAINT that uses it is the removal
            out.append(Edit("remove", _plain(r.target(inp.get("mask")))))
        elif b == "INPAINT":
            out.append(Edit("remove", _plain(r.target(inp.get("mask")))))
        elif b == "FILL":
            prompt = inp.get("prompt")
            mask_t = r.target(inp.get("mask"))
            if isinstance(mask_t, tuple) and mask_t[0] == "outpaint":
                out.append(Edit("outpaint"))
            elif isinstance(mask_t, tuple) and mask_t[0] == "add":
                removed = r.removal_before(inp.get("image"))
                where = _plain(mask_t[2])
                if removed is not None and out and out[-1].do == "remove" and where is not None and where == out[-1].target:
                    out[-1] = Edit("replace", where, _text(prompt))
                else:
                    out.append(Edit("add", where if where == "@mask" else None, _text(prompt),
                                    {"where": _text(mask_t[1])}))
            elif EMPTY_FILL in _text(prompt):
                out.append(Edit("remove", _plain(mask_t)))
            else:
                out.append(Edit("replace", _plain(mask_t), _text(prompt)))
        elif b == "RCM":
            out.append(Edit("recolor", _plain(r.target(inp.get("mask"))), _text(inp.get("prompt"))))
        elif b == "CBG":
            t = r.target(inp.get("mask"))
            subject = _plain(t[1]) if isinstance(t, tuple) and t[0] == "not" else _plain(t)
            out.append(Edit("background", subject, _text(inp.get("prompt"))))
        elif b == "BLUR-REGION" or b == "PIXELATE":
            t = r.target(inp.get("mask"))
            if isinstance(t, tuple) and t[0] == "not" and b == "BLUR-REGION":
                out.append(Edit("background", _plain(t[1]), "blur"))
            else:
                out.append(Edit("hide", _plain(t), "", {"mode": "pixelate" if b == "PIXELATE" else "blur"}))
        elif b == "STYLE":
            t = r.target(inp.get("mask"))
            style = _text(inp.get("style"))
            if isinstance(t, tuple) and t[0] == "not" and re.search(r"black and white|grey|gray|monochrome", style):
                out.append(Edit("colorpop", _plain(t[1])))
            else:
                out.append(Edit("style", _plain(t), style))
        elif b in ("ENV", "POSE"):
            out.append(Edit(b.lower(), None, _text(inp.get("prompt"))))
        elif b == "TONE":
            kinds = [k for k in ("brightness", "contrast", "saturation") if _sign(inp.get(k))]
            direction = _sign(inp.get(kinds[0])) if kinds else 0
            out.append(Edit("tone", _plain(r.target(inp.get("mask"))), "",
                            {"kind": "+".join(kinds), "dir": direction}))
        elif b == "BRIGHT":
            out.append(Edit("tone", None, "", {"kind": "brightness", "dir": _sign(inp.get("ratio"), 0.5)}))
        elif b == "COLORPOP":
            out.append(Edit("colorpop", _plain(r.target(inp.get("mask")))))
        elif b == "TEXT":
            old = inp.get("replace")
            out.append(Edit("text", _plain(r.target(inp.get("mask"))), _text(inp.get("text")),
                            {"old": old} if old else {}))
        elif b == "ROTATE":
            out.append(Edit("rotate", None, "", {"degrees": inp.get("angle", inp.get("degrees"))}))
        elif b == "FLIP":
            out.append(Edit("flip", None, "", {"dir": _text(inp.get("direction"))}))
        elif b == "CROP":
            out.append(Edit("crop", _plain(r.target(inp.get("mask"))), _text(inp.get("aspect"))))
        elif b == "EXTRACT":
            if s.number in resized_cutouts:
                continue
            out.append(Edit("extract", _plain(r.target(inp.get("mask")))))
        elif b == "RESIZE" and isinstance(inp.get("image"), Ref):
            cut = by_number.get(inp["image"].step)
            target = _plain(r.target(cut.inputs.get("mask"))) if cut is not None and cut.brick == "EXTRACT" else None
            if out and out[-1].do == "remove" and out[-1].target == target:
                out.pop()  # the original is cleared before the resized one is laid over it
            ratio = inp.get("ratio")
            out.append(Edit("resize", target, "", {"dir": _sign(ratio, 1.0)}))
        elif b in MASK_BRICKS:
            continue
        else:  # a plugin or any other edit brick
            mask = next((v for k, v in inp.items() if isinstance(v, Ref) and v.name == "mask"), None)
            text = next((v for v in inp.values() if isinstance(v, str)), "")
            out.append(Edit(b.lower(), _plain(r.target(mask)) if mask is not None else None, text))
    if not out:  # a segmentation as the result: a cut-out or a mask
        for ref in wf.result:
            if isinstance(ref, Ref) and ref.step is not None:
                out.append(Edit("extract", _plain(r.target(Ref(ref.step, "mask")))))
    return out


def _target_ok(expected: Any, got: str | None) -> bool:
    if expected is None:
        return got is None
    alts = expected if isinstance(expected, list) else [expected]
    for alt in alts:
        if alt is None or alt.startswith(("@", "(")):
            if alt == got:
                return True
        elif got is not None and _norm(alt) == got:
            return True
    return False


def _value_ok(expected: list[str], got: str) -> bool:
    words = _norm(got)
    for alt in expected:
        if all(re.search(r"(?<![\w-])" + re.escape(w), words) for w in _norm(alt).split()):
            return True
    return False


def compare(expected: dict, got: Edit) -> str | None:
    """None when `got` is the expected edit, else the error class."""
    if expected["do"] != got.do:
        return "wrong action"
    if "target" in expected and not _target_ok(expected["target"], got.target):
        return "wrong target"
    if "value" in expected and not _value_ok(expected["value"], got.value):
        return "wrong value"
    for key in ("kind", "dir", "mode", "old"):
        if key in expected and expected[key] != got.facts.get(key):
            return f"wrong {key}"
    if "degrees" in expected and got.facts.get("degrees") != expected["degrees"]:
        return "wrong degrees"
    return None


@dataclass
class Verdict:
    ok: bool
    error: str | None  # error class
    detail: str


def judge(row: dict, plan) -> Verdict:
    expect = row["expect"]
    if expect == "decline":
        if plan.workflow is None:
            return Verdict(True, None, "declined")
        return Verdict(False, "planned, should decline", "; ".join(map(str, edits(plan.workflow))))
    if plan.workflow is None:
        return Verdict(False, "declined", str(plan.declined))
    got = edits(plan.workflow)
    shown = "; ".join(map(str, got))
    options = expect["any"] if isinstance(expect, dict) else [expect]
    errors = [_difference(option, got) for option in options]
    if None in errors:
        return Verdict(True, None, shown)
    return Verdict(False, errors[0], shown)


def _difference(expect: list[dict], got: list[Edit]) -> str | None:
    if len(got) != len(expect):
        return "missing edit" if len(got) < len(expect) else "extra edit"
    for e, g in zip(expect, got):
        err = compare(e, g)
        if err:
            return err
    return None


def evaluate(builder, rows: list[dict], validate_plans=None) -> dict:
    """Run every row through `builder`; accuracy, error classes and misses."""
    from collections import Counter

    from ..builders.base import PlanRequest

    right, errors, misses, invalid = 0, Counter(), [], []
    for row in rows:
        feedback = row.get("feedback") or []
        plan = builder.plan(PlanRequest(row["instruction"], has_mask=bool(row.get("has_mask"))),
                            feedback=[feedback] if isinstance(feedback, str) else feedback)
        if plan.workflow is None and not plan.declined:
            invalid.append(row.get("id"))
        if plan.workflow is not None and validate_plans is not None and not validate_plans(plan, row):
            invalid.append(row.get("id"))
        v = judge(row, plan)
        if v.ok:
            right += 1
        else:
            errors[v.error] += 1
            misses.append({"id": row.get("id"), "instruction": row["instruction"], "error": v.error,
                           "got": v.detail, "expect": row["expect"]})
    n = len(rows)
    return {"n": n, "right": right, "accuracy": right / n if n else 0.0, "errors": dict(errors.most_common()),
            "misses": misses, "invalid": invalid}

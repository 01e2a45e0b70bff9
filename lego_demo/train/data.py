"""`train data`: training rows for the Builder from templates over the registry's bricks.

Each row pairs a picture (synthetic scene, sample photo or the user's folder, see
`pictures.py`) with an instruction filled from a template (`templates.py`). For target rows
the rule Builder plans it — with the row's feedback, when the row has some — and the plan is
kept only if its workflow, as written, validates against the registry and honours the
feedback; requests the rule Builder declines are dropped and counted. Open-domain rows keep
the instruction alone (no target): stage 3 learns them from GT-free rewards.

Some target rows carry feedback ("don't use RES", "use SOS instead", "stronger", "expand the
mask", "keep the background") whose plan differs from the plain one, so the Builder learns
that feedback changes the plan. `heldout` rows come only from held-out templates.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..builders.base import PlanRequest
from ..builders.rule import RuleBuilder
from ..errors import BadInput
from ..images import load_image
from ..registry import Registry
from .pictures import Picture, folder_pictures, sample_pictures, synthetic_pictures
from .rows import check_target, relative, write_rows
from .templates import PICTURE_SLOTS, Template, fill, templates_for

PHOTO_SHARE = 0.25  # of rows on the bundled sample photos when no --images folder is given
ROWS_PER_SCENE = 3
BAN_PHRASES = ("don't use {brick}", "do not use {brick}", "without {brick} please", "avoid {brick}", "no {brick}")
STRENGTH_FEEDBACK = ("stronger", "much stronger", "weaker", "a bit less", "more")
GENERIC_TARGETS = {"main subject", "subject", "person", "people", "face", "faces"}  # RES prompts any picture has
STRENGTH_FAMILIES = {"tone", "style", "env", "hide", "background-blur", "style-object"}


@dataclass
class DataReport:
    rows: int = 0
    open_rows: int = 0
    with_feedback: int = 0
    declined: int = 0  # requests the rule Builder could not plan (dropped)
    duplicates: int = 0  # instructions drawn again (dropped)
    misread: int = 0  # plans without the bricks their template is about (dropped)
    invalid: int = 0  # targets that failed validation as written (dropped; expected 0)
    bricks: Counter = field(default_factory=Counter)
    families: Counter = field(default_factory=Counter)
    declined_examples: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"rows": self.rows, "open_rows": self.open_rows, "with_feedback": self.with_feedback,
                "declined": self.declined, "misread": self.misread, "invalid": self.invalid, "duplicates": self.duplicates, "bricks": dict(self.bricks.most_common()),
                "families": dict(self.families.most_common()), "declined_examples": self.declined_examples[:10]}


@dataclass
class Drawn:
    template: Template
    picture: Picture
    text: str
    named: set[str]  # the things in the picture the instruction names (lower case)


def misread(drawn: Drawn, plan, banned: frozenset[str] = frozenset()) -> str | None:
    """Why a plan cannot be the target for this instruction, or None: it must use the bricks
    its template is about (a recolour planned as a pose change is a misread) and segment (RES)
    only what the instruction named ("separate the X from its background" must not look for
    "X from its background")."""
    missing = set(drawn.template.needs) - banned - {s.brick for s in plan.workflow.steps}
    if missing:
        return f"planned without {', '.join(sorted(missing))}"
    for step in plan.workflow.steps:
        prompt = str(step.inputs.get("prompt") or "").lower().removeprefix("the ")
        if step.brick == "RES" and prompt not in drawn.named | GENERIC_TARGETS:
            return f"RES looks for {prompt!r}"
    return None


class RowMaker:
    def __init__(self, registry: Registry, pictures: list[Picture], rng: random.Random, folder: Path,
                 heldout: bool = False, feedback_share: float = 0.15):
        self.registry = registry
        self.builder = RuleBuilder(registry)
        self.pictures = pictures
        self.rng = rng
        self.folder = folder
        self.feedback_share = feedback_share
        usable = templates_for(registry, heldout=heldout)
        self.target_templates = [t for t in usable if not t.open]
        self.open_templates = [t for t in usable if t.open]
        self.report = DataReport()
        self._seen: set[str] = set()
        self._images: dict[Path, object] = {}

    # -- one row --------------------------------------------------------------------------------
    def _draw(self, templates: list[Template]) -> Drawn | None:
        families = sorted({t.family for t in templates})
        family = self.rng.choice(families)  # families equally often, whatever their template counts
        template = self.rng.choice([t for t in templates if t.family == family])
        picture = self.rng.choice(self.pictures)
        if template.mask and not picture.masks:
            return None
        filled = fill(template, picture.objects, picture.colours, picture.people, self.rng)
        if filled is None:
            return None
        text, values = filled
        if text.lower() in self._seen:
            self.report.duplicates += 1
            return None
        return Drawn(template, picture, text, {values[k].lower() for k in PICTURE_SLOTS if k in values})

    def _row(self, drawn: Drawn, mask: Path | None) -> dict:
        return {"image": relative(drawn.picture.path, self.folder), "mask": relative(mask, self.folder) if mask else None,
                "has_mask": mask is not None, "instruction": drawn.text, "feedback": [], "reasoning": None,
                "workflow": None, "family": drawn.template.family, "template": drawn.template.text, "bricks": [],
                "source": drawn.picture.source}

    def open_row(self) -> dict | None:
        drawn = self._draw(self.open_templates) if self.open_templates else None
        if drawn is None:
            return None
        self._seen.add(drawn.text.lower())
        self.report.open_rows += 1
        return self._row(drawn, None)

    def target_row(self) -> dict | None:
        drawn = self._draw(self.target_templates)
        if drawn is None:
            return None
        mask = self.rng.choice(sorted(drawn.picture.masks.values())) if drawn.template.mask else None
        request = PlanRequest(drawn.text, image=self._image(drawn.picture.path), has_mask=mask is not None)
        plain = self.builder.plan(request)
        if plain.workflow is None or plain.problems:
            return self._drop("declined", drawn, plain.declined)
        why = misread(drawn, plain)
        if why:
            return self._drop("misread", drawn, why)
        plan, feedback = plain, []
        if self.rng.random() < self.feedback_share:
            plan, feedback = self._with_feedback(request, drawn, plain)
        row = self._row(drawn, mask)
        row.update(feedback=feedback, reasoning=plan.reasoning, workflow=plan.workflow.to_json(),
                   bricks=[s.brick for s in plan.workflow.steps])
        problems = check_target(self.registry, row)  # the workflow as written, against the feedback
        if problems:  # the rule Builder validates its plans; a row that still fails is dropped, counted
            return self._drop("invalid", drawn, f"invalid target: {problems[0]}")
        self._seen.add(drawn.text.lower())
        self.report.rows += 1
        self.report.with_feedback += bool(feedback)
        self.report.bricks.update(row["bricks"])
        self.report.families[drawn.template.family] += 1
        return row

    def _drop(self, counter: str, drawn: Drawn, why: str | None) -> None:
        setattr(self.report, counter, getattr(self.report, counter) + 1)
        self.report.declined_examples.append(f"{drawn.text}: {why}")
        return None

    def _with_feedback(self, request: PlanRequest, drawn: Drawn, plain):
        """A feedback the rule Builder honours with a different, sound plan; else the plain plan."""
        template = drawn.template
        bricks = [s.brick for s in plain.workflow.steps]
        # SOS (the salient object) stands in for RES only where the named thing is the main subject
        sos_fits = drawn.named <= {(drawn.picture.main or "").lower()}
        options = [[self.rng.choice(BAN_PHRASES).format(brick=b)] for b in dict.fromkeys(bricks)
                   if b != "RES" or sos_fits]
        if "RES" in bricks and sos_fits:
            options.append([self.rng.choice(("use SOS instead", "try with SOS"))])
        if template.family in STRENGTH_FAMILIES:
            options.append([self.rng.choice(STRENGTH_FEEDBACK)])
        if template.family in ("remove", "recolor"):
            options.append(["expand the mask"])
        if template.family == "style":
            options.append(["keep the background"])
        self.rng.shuffle(options)
        for feedback in options:
            plan = self.builder.plan(request, feedback=feedback)
            banned = frozenset(self.builder.constraints(feedback).banned)
            if plan.workflow is not None and not plan.problems and not misread(drawn, plan, banned) and \
                    plan.workflow.to_json()["pipeline"] != plain.workflow.to_json()["pipeline"]:
                return plan, feedback
        return plain, []

    def _image(self, path: Path):
        if path not in self._images:  # the rule Builder reads the image size
            self._images[path] = load_image(path)
        return self._images[path]


def make_data(registry: Registry, n: int, out: Path, images: Path | None = None, open_share: float = 0.2,
              feedback_share: float = 0.15, heldout: int = 0, side: int = 384, seed: int = 0) -> dict:
    """Write `n` rows to `out` (and `heldout` rows from held-out templates to OUT.heldout.jsonl);
    pictures go to OUT_STEM-images/. Returns the report."""
    if n < 1:
        raise BadInput("--n must be at least 1")
    if not 0.0 <= open_share <= 1.0 or not 0.0 <= feedback_share <= 1.0:
        raise BadInput("--open-share and --feedback-share are fractions between 0 and 1")
    rng = random.Random(seed)
    folder = out.parent
    picture_dir = folder / f"{out.stem}-images"
    if images is not None:
        pictures = folder_pictures(images, picture_dir, side)
    else:
        scenes = synthetic_pictures(picture_dir, max(2, (n + heldout) // ROWS_PER_SCENE), side, rng)
        photos = sample_pictures(picture_dir, side)
        # photos are few: repeat them so that about PHOTO_SHARE of rows are on photos
        repeat = round(PHOTO_SHARE * len(scenes) / max(1, (1 - PHOTO_SHARE) * len(photos)))
        pictures = scenes + photos * max(1, repeat)
    reports = {}
    for name, count, is_heldout in ((out.name, n, False), (f"{out.stem}.heldout.jsonl", heldout, True)):
        if count == 0:
            continue
        maker = RowMaker(registry, pictures, rng, folder, heldout=is_heldout, feedback_share=feedback_share)
        if not maker.target_templates:
            raise BadInput("no instruction template applies to this registry's bricks")
        n_open = round(count * open_share) if maker.open_templates else 0
        rows: list[dict] = []
        for want, make in ((n_open, maker.open_row), (count - n_open, maker.target_row)):
            made, tries = 0, 0
            while made < want:
                tries += 1
                if tries > 100 * want + 100:
                    raise BadInput(f"could only make {made} of {want} rows: the templates, pictures and bricks "
                                   f"here give too few distinct plannable instructions ({maker.report.declined} "
                                   "declined by the rule Builder)")
                row = make()
                if row is not None:
                    rows.append(row)
                    made += 1
        rng.shuffle(rows)
        for i, row in enumerate(rows, 1):
            row["id"] = f"{'heldout' if is_heldout else 'row'}-{i:05d}"
        write_rows(folder / name, [{"id": r.pop("id"), **r} for r in rows])
        reports[name] = maker.report.to_json()
    return {"out": str(out), "images": str(picture_dir), "pictures": len(pictures), "files": reports}

"""The official Lego-Edit prompt profile (`--prompt-file`): talk to the released Builder
checkpoint exactly as the release's demo does, so it gets what it was trained on.

The demo reads its `system_prompt.txt`, replaces the placeholder `YourInstruction` with the
user's instruction (prefixed with `用户提供了mask并希望`, "the user provided a mask and wants
to…", when a mask was drawn), and sends that text after the image, resized to 448 px on the
long side, in one user turn, greedy, with up to 4096 new tokens. The project does not ship
that text: users point at their copy.

Additions, only where the official file has no place for them: bricks loaded from plugin
files that the file does not list are appended after the last tool of their kind (PREDICT or
EDIT), numbered on, in the file's entry format (`N.NAME (summary)`, `Input: {…}`,
`Output: {…}`, `Constraint: …`); feedback, its hard constraints and the previous plan follow
the file's text. Without feedback or plugins the request is the file verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadInput
from ..feedback import parse_feedback
from ..registry import Registry
from ..spec import BrickSpec
from .base import Plan, PlanRequest
from .prompt import Prompt, render_feedback

PLACEHOLDER = "YourInstruction"
MASK_PREFIX = "用户提供了mask并希望"
IMAGE_SIDE = 448  # the demo's resize: long side exactly 448, short side truncated
MAX_NEW_TOKENS = 4096
ENTRY = re.compile(r"^(\d+)\.\s*([A-Za-z][A-Za-z0-9_-]*)", re.M)
HEADING = re.compile(r"^\s*(PREDICT|EDIT)\b[^\n]*list", re.M | re.I)


@dataclass(frozen=True)
class ToolEntry:
    number: int
    name: str
    kind: str | None  # "predict" / "edit" from the heading above it, None without headings
    end: int  # offset just after the entry's last line


def read_prompt_file(path: str | Path, what: str, copy_of: str) -> str:
    """A released prompt file's text (the user's own copy; the project ships none), or BadInput
    naming the file and what it should be."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise BadInput(f"{what} {str(path)!r}: no such file (give your copy of {copy_of})")
    try:
        return p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{what} {str(path)!r} cannot be read as UTF-8 text: {exc}") from None


@dataclass(frozen=True)
class OfficialPrompt:
    text: str
    path: str

    @classmethod
    def read(cls, path: str | Path) -> OfficialPrompt:
        """The prompt file, checked: readable UTF-8 text with the placeholder and numbered tools."""
        text = read_prompt_file(path, "prompt file", "the release's system_prompt.txt")
        if PLACEHOLDER not in text:
            raise BadInput(f"prompt file {str(path)!r} has no {PLACEHOLDER!r} placeholder, where the official "
                           "format puts the user's instruction")
        prompt = cls(text, str(Path(path).expanduser()))
        if not prompt.entries():
            raise BadInput(f"prompt file {str(path)!r} lists no tools in the official format "
                           "('1.RES (…)' then 'Input: {…}', 'Output: {…}', 'Constraint: …')")
        return prompt

    def entries(self) -> list[ToolEntry]:
        """The numbered tool entries, each with its list's kind and where it ends."""
        headings = [(m.start(), m.group(1).lower()) for m in HEADING.finditer(self.text)]
        found = []
        for m in ENTRY.finditer(self.text):
            if not self.text[m.end():m.end() + 200].lstrip(" ").startswith(("(", "\n")):
                continue  # "1. Image" in a type list, not a tool
            block = self.text[m.start():]
            nxt = re.search(r"\n\s*\n|\n\d+\.|\n\*\*", block)
            end = m.start() + (nxt.start() if nxt else len(block))
            if "\nInput:" not in self.text[m.start():end]:
                continue
            kind = next((k for pos, k in reversed(headings) if pos < m.start()), None)
            found.append(ToolEntry(int(m.group(1)), m.group(2).upper(), kind, end))
        return found

    def prompt(self, registry: Registry, request: PlanRequest, feedback: Sequence[str] = (),
               previous: Plan | None = None) -> Prompt:
        """The request text: the file with plugin bricks inserted and the instruction in place."""
        constraints = parse_feedback(list(feedback), registry)
        instruction = (MASK_PREFIX if request.has_mask else "") + request.instruction
        text = self.with_plugins(registry).replace(PLACEHOLDER, instruction)
        extra = render_feedback(list(feedback), constraints, previous)
        if extra:
            text = text.rstrip("\n") + "\n\n" + "\n".join(extra) + "\n"
        return Prompt(system="", user=text, constraints=constraints)

    def with_plugins(self, registry: Registry) -> str:
        """The file's text with plugin bricks it does not list added after the last tool of their kind."""
        entries = self.entries()
        listed = {registry.resolve(e.name).name if registry.resolve(e.name) else e.name for e in entries}
        extra = [s for s in registry.plugin_specs() if s.name not in listed]
        if not extra:
            return self.text
        inserts: dict[int, list[str]] = {}
        for kind in ("predict", "edit"):
            specs = [s for s in extra if s.kind == kind]
            same = [e for e in entries if e.kind == kind] or entries  # no headings: after the last tool
            if not specs:
                continue
            last = same[-1]
            inserts.setdefault(last.end, []).extend(
                official_entry(last.number + i, s) for i, s in enumerate(specs, 1))
            entries = [e if e is not last else ToolEntry(last.number + len(specs), last.name, last.kind, last.end)
                       for e in entries]
        text = self.text
        for at in sorted(inserts, reverse=True):
            text = text[:at] + "".join("\n" + entry for entry in inserts[at]) + text[at:]
        return text


def official_entry(number: int, spec: BrickSpec) -> str:
    """One tool in the release's format; optional inputs are named in the constraint."""
    ins = ", ".join(f"{p.type.value}[{n}]" for n, p in spec.inputs.items())
    outs = ", ".join(f"{t.value}[{n}]" for n, t in spec.outputs.items())
    optional = [n for n, p in spec.inputs.items() if p.optional]
    constraint = spec.constraint
    if optional:
        constraint = f"{constraint.rstrip()} Optional inputs (may be null): {', '.join(optional)}."
    return f"{number}.{spec.name} ({spec.summary})\nInput: {{{ins}}}\nOutput: {{{outs}}}\nConstraint: {constraint}"

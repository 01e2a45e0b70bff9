"""Actions: one module per edit family, shaped like bricks and discovered like them.

Each module declares one `Action` at module level:

    ACTION = Action("remove", read=read, plan=plan, bricks=("FASTINPAINT", "INPAINT", "FILL"),
                    order=90, says="remove an object")

- `read(clause, ctx) -> Intent | None`: the clause's meaning for this family, or None;
- `plan(writer, intent, image) -> Ref` (or a list of Refs for a final result): the steps;
- `bricks`: the bricks it plans with (the `use_for` action leaves these to it);
- `order`: actions read a clause in this order (most specific first).

Adding an edit family = adding one file here. `discover()` imports every module of this package.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..clauses import Clause, Intent
from ..phrases import area, is_pronoun, noun_phrase


@dataclass(frozen=True)
class Action:
    name: str
    read: Callable[[Clause, Any], Intent | None]
    plan: Callable[..., Any]
    bricks: tuple[str, ...] = ()
    order: int = 50
    says: str = ""  # a few words for "I can plan: …"


@dataclass
class ReadContext:
    """What a reader may consult besides the clause: the registry (for `use_for` phrases), the
    bricks that some action already plans with, and the bricks the feedback bans."""

    registry: Any = None
    covered: frozenset[str] = frozenset()
    banned: frozenset[str] = frozenset()


@lru_cache(maxsize=1)
def discover() -> tuple[Action, ...]:
    found: list[Action] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        found += [v for v in vars(module).values() if isinstance(v, Action)]
    names = [a.name for a in found]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise RuntimeError(f"rule Builder actions declared twice: {sorted(duplicates)}")
    return tuple(sorted(found, key=lambda a: (a.order, a.name)))


def by_name() -> dict[str, Action]:
    return {a.name: a for a in discover()}


def on_target(c: Clause, action: str, phrase: str | None, value: str | None = None, **params) -> Intent:
    """An intent on the object `phrase` names: the user's marked area, an object inside it, a
    pronoun the loop resolves ('it'), or a phrase for RES."""
    kind = area(phrase)
    if kind is not None:
        if kind == "init" and phrase is not None and phrase.strip() in ("this", "that", "here", "there") and c.topic:
            return Intent(action, c.raw, phrase.strip(), value, "pronoun", params)
        return Intent(action, c.raw, None, value, kind, params)
    if is_pronoun(phrase):
        return Intent(action, c.raw, phrase.strip(), value, "pronoun", params)
    target = noun_phrase(phrase)
    if target is None:
        return Intent(action, c.raw, None, value, "init" if c.has_mask else "none", params)
    return Intent(action, c.raw, target, value, "maskseg" if c.has_mask else "res", params)

"""The single source of brick names, types, engines and the Builder's tool text.

`Registry.discover()` imports every module of the `bricks` package plus plugin files the
operator names (`--bricks my_tool.py`); each module-level `BrickSpec` found is registered.
Then the `engines` package: modules that add one engine to several bricks (an API server's).
A brick may be *placed* elsewhere (`placements`, e.g. on Ray Serve): its chosen engine then
runs there under the same name, version and options, so cache keys do not change.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import pkgutil
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from .errors import BadInput, CannotDo, SpecError, UnknownBrick
from .spec import BrickSpec, Engine

ENGINE_PREFIX = "FLUX-"


class Registry:
    def __init__(
        self,
        specs: Iterable[BrickSpec] = (),
        engine_choice: Mapping[str, str] | None = None,
        engine_options: Mapping[str, Mapping[str, Any]] | None = None,
    ):
        self._specs: dict[str, BrickSpec] = {}
        self._names: dict[str, str] = {}  # every accepted spelling (upper case) -> canonical name
        self._origin: dict[str, str] = {}
        self.engine_choice = dict(engine_choice or {})  # brick -> preferred engine name
        self.engine_options = {k: dict(v) for k, v in (engine_options or {}).items()}
        # brick -> where its chosen engine runs instead of here: an object with
        # engine(spec, engine) -> Engine and options(spec, engine_name) -> dict | None
        self.placements: dict[str, Any] = {}
        for spec in specs:
            self.register(spec)

    # -- building ---------------------------------------------------------------------------
    @classmethod
    def discover(cls, plugin_paths: Iterable[str | Path] = (), **kwargs) -> Registry:
        registry = cls(**kwargs)
        import bricks  # the built-in brick package, next to lego_demo/
        import engines  # engines serving several bricks (they add themselves to the bricks' specs)

        for info in sorted(pkgutil.iter_modules(bricks.__path__), key=lambda i: i.name):
            if info.name.startswith("_"):
                continue
            module = importlib.import_module(f"bricks.{info.name}")
            registry.register_module(module)
        for info in sorted(pkgutil.iter_modules(engines.__path__), key=lambda i: i.name):
            if not info.name.startswith("_"):
                importlib.import_module(f"engines.{info.name}")
        for path in plugin_paths:
            registry.register_module(load_plugin(path))
        return registry

    def register_module(self, module: ModuleType) -> list[BrickSpec]:
        found = [v for v in vars(module).values() if isinstance(v, BrickSpec)]
        for spec in found:
            self.register(spec, origin=getattr(module, "__file__", module.__name__))
        return found

    def register(self, spec: BrickSpec, origin: str = "") -> None:
        spellings = [spec.name, *spec.aliases]
        if spec.name.startswith(ENGINE_PREFIX):
            spellings.append(spec.name[len(ENGINE_PREFIX):])
        else:
            spellings.append(ENGINE_PREFIX + spec.name)
        for spelling in spellings:
            key = spelling.upper()
            other = self._names.get(key)
            if other is not None and other != spec.name:
                raise SpecError(
                    f"brick {spec.name} ({origin or '?'}): name {spelling!r} is already used by "
                    f"brick {other} ({self._origin.get(other, '?')})"
                )
        if spec.name in self._specs and self._specs[spec.name] is not spec:
            raise SpecError(
                f"brick {spec.name} is declared twice: in {origin or '?'} and in "
                f"{self._origin.get(spec.name, '?')}"
            )
        self._specs[spec.name] = spec
        self._origin[spec.name] = origin
        for spelling in spellings:
            self._names[spelling.upper()] = spec.name

    # -- lookup -----------------------------------------------------------------------------
    def __contains__(self, name: str) -> bool:
        return self.resolve(name) is not None

    def __len__(self) -> int:
        return len(self._specs)

    def resolve(self, name: str) -> BrickSpec | None:
        if not isinstance(name, str):
            return None
        key = name.strip().upper().replace("_", "-").replace(" ", "-")
        canonical = self._names.get(key)
        return self._specs[canonical] if canonical else None

    def get(self, name: str) -> BrickSpec:
        spec = self.resolve(name)
        if spec is None:
            raise UnknownBrick(str(name), self.suggest(str(name)))
        return spec

    def suggest(self, name: str) -> list[str]:
        key = str(name).strip().upper().replace("_", "-")
        close = difflib.get_close_matches(key, list(self._names), n=3, cutoff=0.5)
        return list(dict.fromkeys(self._names[c] for c in close))

    def specs(self) -> list[BrickSpec]:
        return list(self._specs.values())

    def names(self) -> list[str]:
        return list(self._specs)

    def plugin_specs(self) -> list[BrickSpec]:
        """Bricks loaded from plugin files (--bricks), not from the built-in `bricks` package."""
        import bricks

        root = Path(bricks.__file__).resolve().parent
        return [s for s in self._specs.values()
                if self._origin.get(s.name) and root not in Path(self._origin[s.name]).resolve().parents]

    # -- engines ----------------------------------------------------------------------------
    def options_for(self, spec: BrickSpec) -> dict[str, Any]:
        placed = self.placements.get(spec.name)
        if placed is not None:  # the options the remote engine really runs with (its cache key)
            remote = placed.options(spec, self.engine_choice.get(spec.name))
            if remote is not None:
                return remote
        return self.engine_options.get(spec.name, {})

    def engines_of(self, spec: BrickSpec) -> list[Engine]:
        """The brick's engines in declaration order; a placed brick's chosen engine is the one
        that calls where it runs."""
        placed = self.placements.get(spec.name)
        if placed is None:
            return spec.engines
        wanted = self.engine_choice.get(spec.name)
        return [placed.engine(spec, e) if e.name == wanted else e for e in spec.engines]

    def engine_status(self, spec: BrickSpec) -> list[dict]:
        status = []
        for engine in self.engines_of(spec):
            reason = engine.unavailable_reason(self.options_for(spec))
            entry = {"name": engine.name, "kind": engine.kind, "available": reason is None, "reason": reason}
            estimate = getattr(engine.check, "estimate", None)  # model engines: GPU memory (lego_demo/vram.py)
            if estimate is not None:
                try:
                    found = estimate(self.options_for(spec))
                except Exception as exc:  # an estimate must not take the listing down
                    found, entry["vram_error"] = None, str(exc)
                entry["vram"] = found.to_json() if found is not None else None
            status.append(entry)
        return status

    def choose_engine(self, spec: BrickSpec, wanted: str | None = None) -> Engine:
        """`wanted` (a workflow step's own engine) if given, else the configured engine, if it
        can run here; with neither, the first available one."""
        wanted = wanted or self.engine_choice.get(spec.name)
        engines = self.engines_of(spec)
        if wanted is not None:
            engines = [e for e in engines if e.name == wanted]
            if not engines:
                known = ", ".join(e.name for e in spec.engines) or "none"
                raise BadInput(f"brick {spec.name} has no engine {wanted!r} (engines: {known})")
        reasons = []
        for engine in engines:
            reason = engine.unavailable_reason(self.options_for(spec))
            if reason is None:
                return engine
            reasons.append(f"{engine.name}: {reason}")
        if not spec.engines:
            raise CannotDo(f"brick {spec.name} has no engine installed here")
        raise CannotDo(f"no engine of brick {spec.name} can run here ({'; '.join(reasons)})")

    def available(self, spec: BrickSpec) -> bool:
        try:
            self.choose_engine(spec)
            return True
        except (CannotDo, BadInput):
            return False

    def to_json(self) -> list[dict]:
        return [{**spec.to_json(), "engines": self.engine_status(spec)} for spec in self._specs.values()]

    # -- the Builder's tool text ------------------------------------------------------------
    def render_tool_list(self) -> str:
        """The PREDICT and EDIT model lists in the official release's prompt style."""
        out = []
        for kind, title in (("predict", "PREDICT"), ("edit", "EDIT")):
            out.append(f"{title} model list:")
            specs = [s for s in self._specs.values() if s.kind == kind]
            for i, spec in enumerate(specs, 1):
                ins = ", ".join(
                    f"{p.type.value}[{n}]" + ("?" if p.optional else "") for n, p in spec.inputs.items()
                )
                outs = ", ".join(f"{t.value}[{n}]" for n, t in spec.outputs.items())
                out.append(f"{i}.{spec.name} ({spec.summary})")
                out.append(f"Input: {{{ins}}}")
                out.append(f"Output: {{{outs}}}")
                out.append(f"Constraint: {spec.constraint}")
            out.append("")
        return "\n".join(out).rstrip() + "\n"


def load_plugin(path: str | Path) -> ModuleType:
    """Import one plugin file named by the operator; errors name the file."""
    path = Path(path)
    if not path.is_file() or path.suffix != ".py":
        raise BadInput(f"brick plugin {str(path)!r} is not a .py file")
    module_name = f"lego_plugin_{path.stem}_{abs(hash(str(path.resolve()))) % 10**8}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise BadInput(f"cannot load brick plugin {str(path)!r}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SpecError:
        raise
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise BadInput(f"brick plugin {str(path)!r} failed to load: {type(exc).__name__}: {exc}") from exc
    if not any(isinstance(v, BrickSpec) for v in vars(module).values()):
        raise BadInput(f"brick plugin {str(path)!r} declares no brick (no BrickSpec at module level)")
    return module

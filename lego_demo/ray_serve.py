"""The project's own engines on Ray Serve: deployments the app and the CLI call instead of
running those engines here.

Serving: `python -m lego_demo serve --ray [--config lego.toml]` deploys every brick whose
configured engine is a model engine, plus every brick with a `[ray.BRICK]` table (GPU share,
replicas, autoscaling). Bricks on the same engine and model share one deployment (FILL,
INPAINT, RCM, CBG on one FLUX Fill: one copy of the model per replica). A replica runs the very
engine function the Executor would run here, with the step's RunContext (step, seed, needed
outputs) and the served options, so results are the same pixels.

Calling: with `[ray] address` in lego.toml, the app and CLI place those same bricks on the
deployments; `--engine BRICK=ray:ENGINE` places one brick. The client finds the deployment by
asking each which bricks it serves. A placed engine keeps its name and version and reports the
deployment's options, so step cache keys are the same as running locally. Ray routes and queues
the calls; inside a replica the Executor's rule holds (lego_demo/slots.py): one model call at a
time on its device, so each GPU runs one heavy call at once.

Payloads travel with Ray's own serialization inside the cluster: only deploy on a cluster
you trust. Nothing here imports ray until a deployment is made or called.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from .errors import BadInput, CannotDo, LegoError
from .registry import Registry
from .slots import Slots
from .spec import BrickSpec, Engine, RunContext

log = logging.getLogger(__name__)

DEFAULT_APP_PREFIX = "lego"
DEPLOYMENT_KEYS = ("num_replicas", "max_ongoing_requests", "max_queued_requests", "autoscaling_config")
ACTOR_KEYS = ("num_cpus", "num_gpus", "memory", "accelerator_type")
NOT_DEPLOYED = ("openai-images",)  # engines that already call a server of their own
ERRORS: dict[int, type[LegoError]] = {2: BadInput, 3: CannotDo}


# -- what is served, and under which name ------------------------------------------------------------
@dataclasses.dataclass
class Group:
    """One deployment: an engine and model shared by one or more bricks (FILL, INPAINT, RCM and
    CBG on one FLUX Fill model are one deployment, so a replica holds one copy of the model)."""

    app: str
    engine: str
    bricks: dict[str, dict[str, Any]]  # brick -> its engine options


def brick_tables(ray: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """`[ray.BRICK]` tables by brick name (upper case)."""
    return {k.upper(): dict(v) for k, v in ray.items() if isinstance(v, dict)}


def served_engines(registry: Registry, ray: Mapping[str, Any]) -> dict[str, str]:
    """brick -> engine name for every brick that `serve --ray` deploys: configured model
    engines, and bricks with a [ray.BRICK] table (their configured or default engine)."""
    tables = brick_tables(ray)
    out: dict[str, str] = {}
    for brick in sorted(set(registry.engine_choice) | set(tables)):
        spec = registry.get(brick)
        name = registry.engine_choice.get(spec.name)
        engine = next((e for e in spec.engines if e.name == name), None) if name else spec.engines[0]
        if engine is None or engine.name in NOT_DEPLOYED:
            continue
        if spec.name in tables or engine.kind == "model":
            out[spec.name] = engine.name
    return out


def deployment_groups(registry: Registry, ray: Mapping[str, Any]) -> list[Group]:
    """The deployments: served bricks grouped by (engine, model); the first group of an engine
    is app "{prefix}-{engine}", later ones (another model) "{prefix}-{engine}-2", …"""
    prefix = str(ray.get("app", DEFAULT_APP_PREFIX))
    by_key: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for brick, engine in served_engines(registry, ray).items():
        options = dict(registry.engine_options.get(brick, {}))
        by_key.setdefault((engine, str(options.get("model", ""))), {})[brick] = options
    groups, count = [], {}
    for (engine, _model), bricks in by_key.items():
        count[engine] = count.get(engine, 0) + 1
        suffix = "" if count[engine] == 1 else f"-{count[engine]}"
        groups.append(Group(f"{prefix}-{engine}{suffix}", engine, bricks))
    return groups


def group_table(group: Group, tables: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The [ray.BRICK] settings of a group's bricks, merged; a conflict is named."""
    merged: dict[str, Any] = {}
    for brick in group.bricks:
        for key, value in tables.get(brick, {}).items():
            if key in merged and merged[key] != value:
                raise BadInput(f"{', '.join(group.bricks)} share one Ray deployment ({group.engine}, same model) but "
                               f"their [ray.*] tables disagree on {key}: give it once or the same value")
            merged[key] = value
    return merged


def deployment_options(engine: Engine, table: Mapping[str, Any], gpus_in_cluster: float) -> dict:
    """Serve deployment options from [ray.BRICK]; model engines default to one GPU per replica
    on a cluster with GPUs."""
    unknown = sorted(set(table) - set(DEPLOYMENT_KEYS) - set(ACTOR_KEYS))
    if unknown:
        raise BadInput(f"[ray.*] tables: unknown key(s) {', '.join(unknown)}; known: "
                       f"{', '.join(DEPLOYMENT_KEYS + ACTOR_KEYS)}")
    model = engine.kind == "model"
    actor = {"num_cpus": 1, "num_gpus": 1 if model and gpus_in_cluster >= 1 else 0}
    actor.update({k: table[k] for k in ACTOR_KEYS if k in table})
    # a model replica takes 2 requests: one runs on its device (the replica's slot), one waits
    # there, and a client's look-up (describe) never queues behind a model call
    options: dict[str, Any] = {"max_ongoing_requests": 2 if model else 4, "ray_actor_options": actor}
    options.update({k: table[k] for k in DEPLOYMENT_KEYS if k in table})
    if "autoscaling_config" in options:
        options.pop("num_replicas", None)
    return options


# -- the deployment (a plain class: serve.deployment wraps it when deploying) -------------------------
class EngineServer:
    """One engine in a Serve replica, for each brick it serves with that brick's options; one
    model manager per replica, so bricks on the same model share one loaded copy."""

    def __init__(self, engine: str, bricks: dict[str, dict[str, Any]], plugins: list[str]):
        from .models import ModelManager

        registry = Registry.discover(plugins)
        self.engines: dict[str, tuple[Engine, dict[str, Any]]] = {}
        for brick, options in bricks.items():
            spec = registry.get(brick)
            found = [e for e in spec.engines if e.name == engine]
            if not found:
                raise BadInput(f"brick {brick} has no engine {engine!r} here")
            self.engines[spec.name] = (found[0], dict(options))
        self.engine = engine
        self.models = ModelManager()
        self.slots = Slots()  # as in the Executor: one model call at a time on the replica's device

    def describe(self) -> dict[str, Any]:
        return {"engine": self.engine, "bricks": {
            brick: {"version": e.version, "kind": e.kind, "options": options,
                    "unavailable": e.unavailable_reason(options)}
            for brick, (e, options) in self.engines.items()}}

    def __call__(self, request: dict[str, Any]) -> dict[str, Any]:
        engine, options = self.engines[request["brick"]]
        ctx = RunContext(step=int(request["step"]), seed=int(request["seed"]), needed=frozenset(request["needed"]),
                         options=options, models=self.models)
        slot = self.slots.slot_for(engine, options)
        if slot is not None:
            self.slots.acquire(*slot)
        try:
            return {"outputs": engine.run(ctx, **request["inputs"])}
        except LegoError as exc:
            return {"error": str(exc), "exit_code": exc.exit_code}
        except Exception as exc:  # the client names the step; the replica's log has the traceback
            log.exception("engine %s of %s failed", self.engine, request["brick"])
            return {"error": f"{type(exc).__name__}: {exc}", "exit_code": 1}
        finally:
            if slot is not None:
                self.slots.release(slot[0])


# -- connecting -------------------------------------------------------------------------------------
def ray_serve() -> tuple[Any, Any]:
    """(ray, ray.serve), or CannotDo saying how to install them."""
    try:
        import ray
        from ray import serve
    except ImportError as exc:
        raise CannotDo(f"Ray Serve is not installed or does not import ({exc}); "
                       "pip install -r requirements-dev.txt (ray[serve]==2.60.0)") from None
    return ray, serve


def connect(address: str | None) -> None:
    """Join the Ray cluster at `address` (None: start a local one), once per process."""
    ray, _ = ray_serve()
    if not ray.is_initialized():
        ray.init(address=address, ignore_reinit_error=True, logging_level="ERROR", log_to_driver=False,
                 runtime_env=_runtime_env())


def _runtime_env() -> dict[str, Any]:
    """Replicas import this checkout's packages (uploaded with the job), wherever they run."""
    import bricks
    import engines
    import lego_demo

    return {"py_modules": [lego_demo, bricks, engines]}


def address_of(ray: Mapping[str, Any]) -> str:
    return str(ray.get("address") or os.environ.get("RAY_ADDRESS") or "auto")


# -- serving ------------------------------------------------------------------------------------------
def deploy(registry: Registry, ray_config: Mapping[str, Any], plugins: list[str], address: str | None) -> list[dict]:
    """Deploy every group (see `deployment_groups`); returns one row per deployment."""
    groups = deployment_groups(registry, ray_config)
    if not groups:
        raise BadInput("nothing to serve: configure a model engine ([engines.FILL] engine = \"diffusers-inpaint\", "
                       "model = …) or add a [ray.BRICK] table for a classical one")
    tables = brick_tables(ray_config)
    ray, serve = ray_serve()
    connect(address)
    serve.start(proxy_location="Disabled")  # called through handles only: no HTTP proxy
    gpus = float(ray.cluster_resources().get("GPU", 0))
    rows = []
    for group in groups:
        spec = registry.get(next(iter(group.bricks)))
        engine = next(e for e in spec.engines if e.name == group.engine)
        options = deployment_options(engine, group_table(group, tables), gpus)
        app = serve.deployment(EngineServer).options(name="engine", **options).bind(
            group.engine, group.bricks, list(plugins))
        serve.run(app, name=group.app, route_prefix=None, blocking=False)
        rows.append({"app": group.app, "engine": group.engine, "bricks": list(group.bricks), **options})
    return rows


def undeploy(rows: list[dict]) -> None:
    _, serve = ray_serve()
    for row in rows:
        serve.delete(row["app"])


def serving_registry(config: Any) -> Registry:
    """The registry a server deploys from: the config's bricks and engines, nothing placed."""
    from .editor import check_engine_settings

    registry = Registry.discover(config.plugins, engine_choice=config.engine_choice,
                                 engine_options=config.engine_options)
    check_engine_settings(registry)
    return registry


def serve_forever(config: Any, say: Callable[[str], None] = print) -> int:
    """`python -m lego_demo serve --ray`: deploy, report, keep serving until interrupted."""
    ray_config = dict(config.ray)
    address = ray_config.get("address") or os.environ.get("RAY_ADDRESS") or None
    rows = deploy(serving_registry(config), ray_config, config.plugins, address)
    for row in rows:
        actor = row["ray_actor_options"]
        scale = row.get("autoscaling_config") or f"{row.get('num_replicas', 1)} replica(s)"
        say(f"{row['app']}: {row['engine']} for {', '.join(row['bricks'])}; {scale}, {actor['num_gpus']} GPU, "
            f"{actor['num_cpus']} CPU, {row['max_ongoing_requests']} request(s) at once per replica")
    where = address or "a local Ray instance (clients: [ray] address = \"auto\")"
    say(f"serving on {where}; Ctrl-C stops and removes these deployments")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        undeploy(rows)
    return 0


# -- calling ------------------------------------------------------------------------------------------
class RayPlacement:
    """Where placed bricks run: the Serve deployments of this app prefix, found by asking each
    which bricks it serves. Registry.placements holds this for each placed brick (see
    Registry.engines_of / options_for)."""

    def __init__(self, address: str, prefix: str = DEFAULT_APP_PREFIX, retry_s: float = 10.0):
        self.address = address
        self.prefix = prefix
        self.retry_s = retry_s  # after a failed look-up, ask again at most this often
        self._lock = threading.Lock()
        self._found: dict[tuple[str, str], tuple[Any, str, dict]] = {}  # (brick, engine) -> handle, app, brick info
        self._failed: tuple[float, str] | None = None

    # Registry.placements protocol
    def engine(self, spec: BrickSpec, engine: Engine) -> Engine:
        return dataclasses.replace(
            engine, run=self._runner(spec.name, engine.name),
            check=lambda options: self.reason(spec.name, engine),
            slot=lambda options: None,  # Ray queues; each replica holds its own device slot
            where=f"ray {self._found[(spec.name, engine.name)][1]}" if (spec.name, engine.name) in self._found
            else "ray")

    def options(self, spec: BrickSpec, engine_name: str | None) -> dict[str, Any] | None:
        found = self._found.get((spec.name, engine_name or ""))
        return dict(found[2]["options"]) if found else None

    # availability
    def reason(self, brick: str, engine: Engine) -> str | None:
        try:
            _, app, info = self.find(brick, engine.name)
        except CannotDo as exc:
            return str(exc)
        if info.get("unavailable"):
            return f"the Ray deployment {app} cannot run it: {info['unavailable']}"
        if info["version"] != engine.version:
            return (f"the Ray deployment {app} runs version {info['version']} of engine {engine.name}, this "
                    f"checkout has {engine.version}: redeploy with `serve --ray`")
        return None

    def find(self, brick: str, engine: str) -> tuple[Any, str, dict]:
        """(handle, app name, what it says about this brick) of the deployment serving it."""
        key = (brick, engine)
        with self._lock:
            if key in self._found:
                return self._found[key]
            if self._failed and time.monotonic() - self._failed[0] < self.retry_s:
                raise CannotDo(self._failed[1])
            try:
                self._discover()
            except Exception as exc:
                reason = (f"no Ray cluster with Serve reachable at {self.address} ({type(exc).__name__}: "
                          f"{_first_line(exc)}); start one with `python -m lego_demo serve --ray --config lego.toml`")
                self._failed = (time.monotonic(), reason)
                raise CannotDo(reason) from None
            if key not in self._found:
                reason = (f"no Ray Serve deployment of {self.prefix!r} at {self.address} serves {brick} with engine "
                          f"{engine}; configure it in the lego.toml of `python -m lego_demo serve --ray` and redeploy")
                self._failed = (time.monotonic(), reason)
                raise CannotDo(reason)
            self._failed = None
            return self._found[key]

    def _discover(self) -> None:
        _, serve = ray_serve()
        connect(self.address)
        for app in serve.status().applications:
            if not app.startswith(f"{self.prefix}-"):
                continue
            handle = serve.get_deployment_handle("engine", app_name=app)
            described = handle.describe.remote().result(timeout_s=60)
            for brick, info in described["bricks"].items():
                self._found[(brick, described["engine"])] = (handle, app, info)

    # the call
    def _runner(self, brick: str, engine: str) -> Callable[..., dict]:
        def run(ctx: RunContext, **inputs: Any) -> dict:
            handle, app, _ = self.find(brick, engine)
            request = {"brick": brick, "step": ctx.step, "seed": ctx.seed, "needed": sorted(ctx.needed),
                       "inputs": inputs}
            try:
                answer = handle.remote(request).result()
            except Exception as exc:
                raise CannotDo(f"the Ray deployment {app} failed: {type(exc).__name__}: {_first_line(exc)}") from exc
            if "error" in answer:
                raise ERRORS.get(int(answer.get("exit_code", 1)), LegoError)(answer["error"])
            return answer["outputs"]

        return run


def place_on_ray(registry: Registry, config: Any) -> None:
    """Send bricks to their deployments: with [ray] address every brick `serve --ray` deploys
    from the same lego.toml, plus those named by --engine BRICK=ray:ENGINE."""
    ray_config = dict(config.ray)
    placement = RayPlacement(address_of(ray_config), str(ray_config.get("app", DEFAULT_APP_PREFIX)))
    bricks = set(served_engines(registry, ray_config)) if ray_config.get("address") else set()
    bricks |= {registry.get(b).name for b in config.ray_bricks}
    for brick in bricks:
        registry.placements[brick] = placement


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:300]

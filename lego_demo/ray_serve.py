"""The project's own engines on Ray Serve: one deployment per configured engine, called by the
app and the CLI instead of running here.

Serving: `python -m lego_demo serve --ray [--config lego.toml]` deploys every brick whose
configured engine is a model engine, plus every brick with a `[ray.BRICK]` table (its GPU
share, replicas, autoscaling). Each deployment runs the very engine function the Executor
would run here, with the step's RunContext (step, seed, needed outputs) and the served
options, so results are the same pixels.

Calling: with `[ray] address` in lego.toml, the app and CLI place those same bricks on their
deployments; `--engine BRICK=ray:ENGINE` places one brick. A placed engine keeps its name and
version and reports the deployment's options, so step cache keys are the same as running
locally. Ray queues the calls: a model deployment takes one request per replica at a time
(max_ongoing_requests = 1), so each GPU runs one heavy call at once.

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
from .spec import BrickSpec, Engine, RunContext

log = logging.getLogger(__name__)

DEFAULT_APP_PREFIX = "lego"
DEPLOYMENT_KEYS = ("num_replicas", "max_ongoing_requests", "max_queued_requests", "autoscaling_config")
ACTOR_KEYS = ("num_cpus", "num_gpus", "memory", "accelerator_type")
NOT_DEPLOYED = ("openai-images",)  # engines that already call a server of their own
ERRORS: dict[int, type[LegoError]] = {2: BadInput, 3: CannotDo}


# -- what is served, and under which name ------------------------------------------------------------
def app_name(prefix: str, brick: str, engine: str) -> str:
    return f"{prefix}-{brick}-{engine}"


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


def deployment_options(spec: BrickSpec, engine: Engine, table: Mapping[str, Any], gpus_in_cluster: float) -> dict:
    """Serve deployment options from [ray.BRICK]; model engines default to one request per
    replica and, on a cluster with GPUs, one GPU each."""
    unknown = sorted(set(table) - set(DEPLOYMENT_KEYS) - set(ACTOR_KEYS))
    if unknown:
        raise BadInput(f"[ray.{spec.name}]: unknown key(s) {', '.join(unknown)}; known: "
                       f"{', '.join(DEPLOYMENT_KEYS + ACTOR_KEYS)}")
    model = engine.kind == "model"
    actor = {"num_cpus": 1, "num_gpus": 1 if model and gpus_in_cluster >= 1 else 0}
    actor.update({k: table[k] for k in ACTOR_KEYS if k in table})
    options: dict[str, Any] = {"max_ongoing_requests": 1 if model else 4, "ray_actor_options": actor}
    options.update({k: table[k] for k in DEPLOYMENT_KEYS if k in table})
    if "autoscaling_config" in options:
        options.pop("num_replicas", None)
    return options


# -- the deployment (a plain class: serve.deployment wraps it when deploying) -------------------------
class EngineServer:
    """One brick's engine in a Serve replica, with its own model manager (models load once)."""

    def __init__(self, brick: str, engine: str, options: dict[str, Any], plugins: list[str]):
        from .models import ModelManager

        registry = Registry.discover(plugins)
        self.spec = registry.get(brick)
        found = [e for e in self.spec.engines if e.name == engine]
        if not found:
            raise BadInput(f"brick {brick} has no engine {engine!r} here")
        self.engine = found[0]
        self.options = dict(options)
        self.models = ModelManager()

    def describe(self) -> dict[str, Any]:
        return {"brick": self.spec.name, "engine": self.engine.name, "version": self.engine.version,
                "kind": self.engine.kind, "options": self.options,
                "unavailable": self.engine.unavailable_reason(self.options)}

    def __call__(self, request: dict[str, Any]) -> dict[str, Any]:
        ctx = RunContext(step=int(request["step"]), seed=int(request["seed"]), needed=frozenset(request["needed"]),
                         options=self.options, models=self.models)
        try:
            return {"outputs": self.engine.run(ctx, **request["inputs"])}
        except LegoError as exc:
            return {"error": str(exc), "exit_code": exc.exit_code}
        except Exception as exc:  # the client names the step; the replica's log has the traceback
            log.exception("engine %s of %s failed", self.engine.name, self.spec.name)
            return {"error": f"{type(exc).__name__}: {exc}", "exit_code": 1}


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
    """Deploy every served engine (see `served_engines`); returns one row per deployment."""
    served = served_engines(registry, ray_config)
    if not served:
        raise BadInput("nothing to serve: configure a model engine ([engines.FILL] engine = \"diffusers-inpaint\", "
                       "model = …) or add a [ray.BRICK] table for a classical one")
    ray, serve = ray_serve()
    connect(address)
    serve.start(proxy_location="Disabled")  # called through handles only: no HTTP proxy
    gpus = float(ray.cluster_resources().get("GPU", 0))
    tables = brick_tables(ray_config)
    prefix = str(ray_config.get("app", DEFAULT_APP_PREFIX))
    rows = []
    for brick, engine_name in served.items():
        spec = registry.get(brick)
        engine = next(e for e in spec.engines if e.name == engine_name)
        options = deployment_options(spec, engine, tables.get(brick, {}), gpus)
        name = app_name(prefix, brick, engine_name)
        app = serve.deployment(EngineServer).options(name="engine", **options).bind(
            brick, engine_name, registry.engine_options.get(brick, {}), list(plugins))
        serve.run(app, name=name, route_prefix=None, blocking=False)
        rows.append({"brick": brick, "engine": engine_name, "app": name, **options})
    return rows


def undeploy(rows: list[dict]) -> None:
    _, serve = ray_serve()
    for row in rows:
        serve.delete(row["app"])


def serve_forever(registry: Registry, ray_config: Mapping[str, Any], plugins: list[str],
                  say: Callable[[str], None] = print) -> int:
    """`python -m lego_demo serve --ray`: deploy, report, keep serving until interrupted."""
    address = ray_config.get("address") or os.environ.get("RAY_ADDRESS") or None
    rows = deploy(registry, ray_config, plugins, address)
    for row in rows:
        actor = row["ray_actor_options"]
        scale = row.get("autoscaling_config") or f"{row.get('num_replicas', 1)} replica(s)"
        say(f"{row['brick']:<9} {row['engine']:<18} app {row['app']}: {scale}, {actor['num_gpus']} GPU, "
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
    """Where placed bricks run: their Serve deployments. Registry.placements holds one of these
    per placed brick (see Registry.engines_of / options_for)."""

    def __init__(self, address: str, prefix: str = DEFAULT_APP_PREFIX, retry_s: float = 10.0):
        self.address = address
        self.prefix = prefix
        self.retry_s = retry_s  # after a failed look-up, ask again at most this often
        self._lock = threading.Lock()
        self._handles: dict[tuple[str, str], Any] = {}
        self._described: dict[tuple[str, str], dict] = {}
        self._failed: dict[tuple[str, str], tuple[float, str]] = {}

    # Registry.placements protocol
    def engine(self, spec: BrickSpec, engine: Engine) -> Engine:
        return dataclasses.replace(
            engine, run=self._runner(spec.name, engine.name),
            check=lambda options: self.reason(spec.name, engine),
            slot=lambda options: None)  # Ray queues: max_ongoing_requests per replica is the limit

    def options(self, spec: BrickSpec, engine_name: str | None) -> dict[str, Any] | None:
        described = self._described.get((spec.name, engine_name or ""))
        return dict(described["options"]) if described else None

    # availability
    def reason(self, brick: str, engine: Engine) -> str | None:
        key = (brick, engine.name)
        try:
            described = self.describe(brick, engine.name)
        except CannotDo as exc:
            return str(exc)
        if described.get("unavailable"):
            return f"the Ray deployment {self._app(key)} cannot run it: {described['unavailable']}"
        if described["version"] != engine.version:
            return (f"the Ray deployment {self._app(key)} runs version {described['version']} of engine "
                    f"{engine.name}, this checkout has {engine.version}: redeploy with `serve --ray`")
        return None

    def describe(self, brick: str, engine: str) -> dict:
        key = (brick, engine)
        with self._lock:
            if key in self._described:
                return self._described[key]
            failed = self._failed.get(key)
            if failed and time.monotonic() - failed[0] < self.retry_s:
                raise CannotDo(failed[1])
            try:
                handle = self._handle(key)
                described = handle.describe.remote().result(timeout_s=60)
            except Exception as exc:
                reason = (f"no Ray Serve deployment {self._app(key)} reachable at {self.address} "
                          f"({type(exc).__name__}: {_first_line(exc)}); start it with "
                          "`python -m lego_demo serve --ray --config lego.toml`")
                self._failed[key] = (time.monotonic(), reason)
                raise CannotDo(reason) from None
            self._described[key] = described
            return described

    # the call
    def _runner(self, brick: str, engine: str) -> Callable[..., dict]:
        def run(ctx: RunContext, **inputs: Any) -> dict:
            request = {"step": ctx.step, "seed": ctx.seed, "needed": sorted(ctx.needed), "inputs": inputs}
            try:
                answer = self._handle((brick, engine)).remote(request).result()
            except Exception as exc:
                raise CannotDo(f"the Ray deployment {self._app((brick, engine))} failed: "
                               f"{type(exc).__name__}: {_first_line(exc)}") from exc
            if "error" in answer:
                raise ERRORS.get(int(answer.get("exit_code", 1)), LegoError)(answer["error"])
            return answer["outputs"]

        return run

    def _handle(self, key: tuple[str, str]) -> Any:
        if key not in self._handles:
            _, serve = ray_serve()
            connect(self.address)
            self._handles[key] = serve.get_deployment_handle("engine", app_name=self._app(key))
        return self._handles[key]

    def _app(self, key: tuple[str, str]) -> str:
        return app_name(self.prefix, *key)


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

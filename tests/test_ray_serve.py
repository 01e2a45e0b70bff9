"""Ray Serve on the CPU: a classical engine (SOS) and a tiny model engine (FILL, a tiny random
SD inpainting pipeline) deployed on a local Ray instance; a workflow run through them gives the
same pixels and cache keys as running here, seeds travel, and errors keep their meaning.

Needs ray[serve] (requirements-dev.txt). CI sets LEGO_REQUIRE_RAY=1 so a broken install fails
instead of skipping."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from lego_demo.editor import Editor, EditorConfig
from lego_demo.errors import BadInput, CannotDo, StepError
from lego_demo.ray_serve import deployment_groups, deployment_options, group_table, served_engines
from lego_demo.registry import Registry
from lego_demo.workflow import parse_workflow

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
CHOICE = {"FILL": "diffusers-inpaint", "INPAINT": "diffusers-inpaint", "SOS": "subject"}
RAY_CONFIG = {"SOS": {"num_cpus": 0.5}, "FILL": {"num_cpus": 0.5}}
WORKFLOW = parse_workflow(json.dumps({"process": "x", "pipeline": [
    {"step": 1, "model": "SOS", "input": {"image": "init[image]"}, "output": {"mask": "step1[mask]"}},
    {"step": 2, "model": "FILL", "input": {"image": "init[image]", "mask": "step1[mask]", "prompt": "a red ball"},
     "output": {"image": "step2[image]"}},
    {"result": "[step2[image]]"}]})).workflow


def _import_serve():
    try:
        import ray
        from ray import serve
    except ImportError as exc:
        if os.environ.get("LEGO_REQUIRE_RAY"):
            raise
        pytest.skip(f"ray[serve] is not importable here ({exc}); pip install -r requirements-dev.txt")
    return ray, serve


@pytest.fixture(scope="module")
def options(tmp_path_factory):
    pytest.importorskip("diffusers")
    import tiny_models

    model = tiny_models.sd_pipeline(tmp_path_factory.mktemp("ray-models") / "sd-inpaint", "inpaint")
    tiny = {"model": str(model), "steps": 2, "size": 64}
    return {"FILL": tiny, "INPAINT": {**tiny, "prompt": "empty floor"}}


@pytest.fixture(scope="module")
def cluster(options):
    """Both engines deployed on a local 2-CPU Ray instance (no HTTP proxy); FILL and INPAINT
    share the tiny model's deployment."""
    ray, serve = _import_serve()
    from lego_demo.ray_serve import deploy

    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        registry = Registry.discover(engine_choice=CHOICE, engine_options=options)
        rows = deploy(registry, RAY_CONFIG, [], None)
        yield rows
    finally:
        serve.shutdown()
        ray.shutdown()


@pytest.fixture(scope="module")
def photo():
    import cv2
    from skimage import data

    return cv2.resize(data.chelsea(), (96, 64), interpolation=cv2.INTER_AREA)


def placed_editor(seed: int = 0, bricks=("SOS", "FILL", "INPAINT")) -> Editor:
    """A client that knows no engine options: it learns them from the deployments."""
    return Editor.from_config(EditorConfig(engine_choice=dict(CHOICE), seed=seed, ray_bricks=list(bricks)))


def local_editor(options, seed: int = 0) -> Editor:
    return Editor.from_config(EditorConfig(engine_choice=dict(CHOICE), engine_options=options, seed=seed))


def run_here(options, photo, seed: int = 0):
    """The same workflow run in this process on one torch thread, as the replicas run (Ray gives
    a replica with num_cpus < 1 one OpenMP thread): float sums over a different thread count
    differ in the last bit, which moves a few pixels of the tiny pipeline's output by 1."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return local_editor(options, seed=seed).run(WORKFLOW, photo)
    finally:
        torch.set_num_threads(threads)


def test_same_pixels_and_cache_keys_as_local(cluster, options, photo):
    assert {row["app"]: row["bricks"] for row in cluster} == {"lego-subject": ["SOS"],
                                                              "lego-diffusers-inpaint": ["FILL", "INPAINT"]}
    local = run_here(options, photo)
    editor = placed_editor()
    status = {b["name"]: b["engines"] for b in editor.registry.to_json()}
    assert next(e for e in status["FILL"] if e["name"] == "diffusers-inpaint")["available"]
    remote = editor.run(WORKFLOW, photo)
    assert np.array_equal(remote.results[0], local.results[0])
    assert [t.key for t in remote.trace] == [t.key for t in local.trace]
    assert [t.engine for t in remote.trace] == ["subject", "diffusers-inpaint"]
    assert [t.where for t in remote.trace] == ["ray lego-subject", "ray lego-diffusers-inpaint"]
    assert {t.where for t in local.trace} == {"here"}
    assert not np.array_equal(remote.results[0], photo)  # FILL really generated something
    again = editor.run(WORKFLOW, photo)  # the client's step cache serves a repeat
    assert again.cached == [1, 2]


def test_seed_travels_to_the_deployment(cluster, options, photo):
    remote = placed_editor(seed=5).run(WORKFLOW, photo).results[0]
    assert np.array_equal(remote, run_here(options, photo, seed=5).results[0])
    assert not np.array_equal(remote, placed_editor(seed=0).run(WORKFLOW, photo).results[0])


def test_errors_keep_their_exit_codes(cluster, photo):
    empty = np.zeros(photo.shape[:2], bool)
    text = WORKFLOW.to_json()
    text["pipeline"][1]["input"]["mask"] = "init[mask]"
    del text["pipeline"][0]
    text["pipeline"][-1] = {"result": "[step2[image]]"}
    wf = parse_workflow(json.dumps(text)).workflow
    with pytest.raises(StepError, match="the mask is empty") as info:
        placed_editor(bricks=("FILL",)).executor.run(wf, photo, empty)  # the replica's check_mask
    assert isinstance(info.value.cause, BadInput) and info.value.exit_code == 2


def test_a_missing_deployment_is_unavailable_with_the_reason(cluster, photo):
    editor = Editor.from_config(EditorConfig(engine_choice={"POSE": "instruct"}, ray_bricks=["POSE"]))
    status = next(e for e in editor.registry.engine_status(editor.registry.get("POSE")) if e["name"] == "instruct")
    assert not status["available"] and "serves POSE with engine instruct" in status["reason"]
    assert "serve --ray" in status["reason"]
    wf = parse_workflow('{"process": "x", "pipeline": [{"step": 1, "model": "POSE", "input": {"image": "init[image]", '
                        '"prompt": "raise a paw"}, "output": {"image": "step1[image]"}}, '
                        '{"result": "[step1[image]]"}]}').workflow
    with pytest.raises(CannotDo, match="cannot run here") as info:
        editor.run(wf, photo)
    assert info.value.exit_code == 3


# -- what is served (no Ray needed) ------------------------------------------------------------------
def test_served_engines_are_model_engines_and_ray_tables():
    choice = {"FILL": "diffusers-inpaint", "RES": "grounding", "CBG": "openai-images", "STYLE": "instruct"}
    registry = Registry.discover(engine_choice=choice)
    assert served_engines(registry, {"address": "auto"}) == {"FILL": "diffusers-inpaint", "STYLE": "instruct"}
    assert served_engines(registry, {"RES": {"num_cpus": 2}, "SOS": {}}) == {
        "FILL": "diffusers-inpaint", "RES": "grounding", "SOS": "subject", "STYLE": "instruct"}


def test_bricks_on_one_engine_and_model_share_a_deployment():
    choice = {"FILL": "diffusers-inpaint", "INPAINT": "diffusers-inpaint", "CBG": "diffusers-inpaint",
              "STYLE": "instruct"}
    options = {"FILL": {"model": "/m/flux-fill", "steps": 28}, "INPAINT": {"model": "/m/flux-fill", "prompt": "x"},
               "CBG": {"model": "/m/sd-inpaint"}, "STYLE": {"model": "/m/kontext"}}
    registry = Registry.discover(engine_choice=choice, engine_options=options)
    groups = {g.app: g for g in deployment_groups(registry, {"app": "edit"})}
    assert {app: sorted(g.bricks) for app, g in groups.items()} == {
        "edit-diffusers-inpaint": ["CBG"], "edit-diffusers-inpaint-2": ["FILL", "INPAINT"], "edit-instruct": ["STYLE"]}
    assert groups["edit-diffusers-inpaint-2"].bricks["INPAINT"] == {"model": "/m/flux-fill", "prompt": "x"}
    both = groups["edit-diffusers-inpaint-2"]
    assert group_table(both, {"FILL": {"num_gpus": 1}, "INPAINT": {"num_replicas": 2}}) == {"num_gpus": 1,
                                                                                          "num_replicas": 2}
    with pytest.raises(BadInput, match="disagree on num_gpus"):
        group_table(both, {"FILL": {"num_gpus": 1}, "INPAINT": {"num_gpus": 0.5}})


def test_deployment_options_from_lego_toml():
    registry = Registry.discover()
    model = next(e for e in registry.get("FILL").engines if e.kind == "model")
    classical = registry.get("RES").engines[0]
    assert deployment_options(model, {}, gpus_in_cluster=4) == {
        "max_ongoing_requests": 2, "ray_actor_options": {"num_cpus": 1, "num_gpus": 1}}
    assert deployment_options(model, {"num_gpus": 0.5, "autoscaling_config": {"min_replicas": 1,
                                                                               "max_replicas": 4}}, 0) == {
        "max_ongoing_requests": 2, "ray_actor_options": {"num_cpus": 1, "num_gpus": 0.5},
        "autoscaling_config": {"min_replicas": 1, "max_replicas": 4}}
    assert deployment_options(classical, {"num_replicas": 3}, 4) == {
        "max_ongoing_requests": 4, "ray_actor_options": {"num_cpus": 1, "num_gpus": 0}, "num_replicas": 3}
    with pytest.raises(BadInput, match="unknown key.*gpus"):
        deployment_options(model, {"gpus": 1}, 0)


def test_serve_needs_ray_flag_and_something_to_serve(tmp_path):
    from lego_demo.cli import main

    assert main(["serve"]) == 2
    cfg = tmp_path / "lego.toml"
    cfg.write_text("[ray]\n")
    assert main(["serve", "--ray", "--config", str(cfg)]) == 2  # nothing configured: said before Ray starts


def test_ray_flag_names_the_engine():
    from lego_demo.config import editor_config

    config = editor_config(None, ["FILL=ray:diffusers-inpaint", "SOS=subject"])
    assert config.engine_choice == {"FILL": "diffusers-inpaint", "SOS": "subject"}
    assert config.ray_bricks == ["FILL"]
    with pytest.raises(BadInput, match="BRICK=ray:ENGINE"):
        editor_config(None, ["FILL=ray"])

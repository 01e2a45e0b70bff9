"""Concurrency slots in the Executor: at most one model call per device at a time (across
all runs sharing an Executor, as the app's sessions do), classical steps in parallel, and a
step abandoned at the time limit keeps its slot until it really ends."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from lego_demo.errors import BadInput, StepError
from lego_demo.executor import Executor
from lego_demo.registry import Registry
from lego_demo.slots import Slots
from lego_demo.spec import brick
from lego_demo.workflow import parse_workflow


class Probe:
    """Counts how many calls run at the same time."""

    def __init__(self):
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0

    def __call__(self, seconds: float) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(seconds)
        with self.lock:
            self.now -= 1


def make_registry(model_probe: Probe, classical_barrier: threading.Barrier | None = None, seconds: float = 0.15):
    heavy = brick("HEAVY", kind="edit", summary="a model call", inputs={"image": "Image", "prompt": "Str"},
                  outputs={"image": "Image"})
    light = brick("LIGHT", kind="edit", summary="a classical step", inputs={"image": "Image", "prompt": "Str"},
                  outputs={"image": "Image"})

    @heavy.engine("model", kind="model")
    def run_heavy(ctx, image, prompt):
        model_probe(seconds)
        return {"image": image}

    @light.engine("numpy")
    def run_light(ctx, image, prompt):
        if classical_barrier is not None:
            classical_barrier.wait(timeout=10)  # breaks unless the others run at the same time
        return {"image": image}

    return Registry([heavy, light])


def workflow(brick_name: str, prompt: str):
    step = {"step": 1, "model": brick_name, "input": {"image": "init[image]", "prompt": prompt},
            "output": {"image": "step1[image]"}}
    return parse_workflow(json.dumps({"process": "x", "pipeline": [step, {"result": "[step1[image]]"}]})).workflow


def run_together(executor: Executor, brick_name: str, n: int) -> list[BaseException]:
    errors: list[BaseException] = []
    image = np.zeros((8, 8, 3), np.uint8)

    def one(i):
        try:
            executor.run(workflow(brick_name, f"call {i}"), image)  # distinct prompts: no cache hits
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return errors


def test_one_model_call_per_device_across_runs():
    probe = Probe()
    executor = Executor(make_registry(probe))
    assert run_together(executor, "HEAVY", 4) == []
    assert probe.most == 1
    assert executor.slots.state() == {"device default": {"limit": 1, "busy": 0, "waiting": 0}}


def test_the_limit_per_device_is_configurable():
    probe = Probe()
    executor = Executor(make_registry(probe, seconds=0.4), slots=Slots(model_calls_per_device=2))
    assert run_together(executor, "HEAVY", 4) == []
    assert probe.most == 2


def test_classical_steps_run_in_parallel_while_a_model_call_holds_the_device():
    probe = Probe()
    barrier = threading.Barrier(3)
    executor = Executor(make_registry(probe, barrier, seconds=1.0))
    heavy = threading.Thread(target=run_together, args=(executor, "HEAVY", 1))
    heavy.start()
    time.sleep(0.2)  # the model call holds the device now
    assert run_together(executor, "LIGHT", 3) == []  # the barrier needs all three at once
    heavy.join(10)


def test_an_abandoned_step_keeps_its_slot_until_it_ends():
    probe = Probe()
    executor = Executor(make_registry(probe, seconds=1.0), step_timeout=0.2)
    image = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(StepError, match="step time limit"):
        executor.run(workflow("HEAVY", "slow"), image)
    assert executor.slots.state()["device default"]["busy"] == 1  # the call still runs on the device
    deadline = time.monotonic() + 5
    while executor.slots.state()["device default"]["busy"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert executor.slots.state()["device default"]["busy"] == 0


def test_devices_are_separate_slots():
    slots = Slots()
    engine = type("E", (), {"slot": None, "kind": "model"})()
    assert slots.slot_for(engine, {}) == slots.slot_for(engine, {"device": "cuda"}) == ("device default", 1)
    assert slots.slot_for(engine, {"device": "cuda:1"}) == ("device cuda:1", 1)
    assert slots.slot_for(type("C", (), {"slot": None, "kind": "classical"})(), {}) is None
    with pytest.raises(BadInput):
        Slots(model_calls_per_device=0)


def test_app_events_share_one_queue_limit():
    """Every event that plans or runs is in one concurrency group, so `--concurrency` bounds
    edits across endpoints and sessions together (each event had its own limit before)."""
    pytest.importorskip("gradio")
    import app as app_module

    demo, _ = app_module.create_app(app_module.build_parser().parse_args([]))
    fns = list(demo.fns.values())
    named = {f.api_name: f for f in fns if f.api_name in ("edit", "plan", "run_workflow", "think_edit")}
    assert len(named) == 4 and {f.concurrency_id for f in named.values()} == {"edits"}
    assert sum(f.concurrency_id == "edits" for f in fns) >= 9  # + plan & run, replan (×2 each), run workflow
    assert demo._queue.default_concurrency_limit == 8

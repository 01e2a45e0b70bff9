"""Model calls inside `spaces.GPU` when the Hugging Face `spaces` package is present. The
package is faked through sys.modules (tests must not depend on it being installed): once as
a plain decorator that records each call's duration estimate, and once as a ZeroGPU-like
one that runs the call in a forked worker with pickled arguments, reused across calls, as
ZeroGPU does; and `preload`, which loads every configured model at start."""

from __future__ import annotations

import multiprocessing
import pickle
import sys
import types

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tiny_models  # noqa: E402

from lego_demo.builders.base import PlanRequest  # noqa: E402
from lego_demo.builders.mllm import MLLMBuilder  # noqa: E402
from lego_demo.editor import Editor, EditorConfig  # noqa: E402
from lego_demo.errors import CannotDo  # noqa: E402
from lego_demo.executor import Executor  # noqa: E402
from lego_demo.models import ModelManager  # noqa: E402
from lego_demo.registry import Registry  # noqa: E402
from lego_demo.workflow import parse_workflow  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore")


class RecordingSpaces(types.ModuleType):
    """`spaces` outside ZeroGPU: GPU(duration=…) wraps the function; calls are recorded."""

    def __init__(self):
        super().__init__("spaces")
        self.decorated: list = []
        self.calls: list[int] = []

    def GPU(self, task=None, *, duration=None, size=None):  # noqa: N802  (the package's name)
        def wrap(fn):
            self.decorated.append(fn)

            def run(*args, **kwargs):
                self.calls.append(duration(*args, **kwargs) if callable(duration) else duration)
                return fn(*args, **kwargs)

            return run

        return wrap if task is None else wrap(task)


class ZeroGPUSpaces(types.ModuleType):
    """`spaces` on ZeroGPU, as far as the project depends on it: the decorated function runs in
    a forked worker process (forked at the first call, then reused), its arguments and result
    cross as pickles."""

    def __init__(self):
        super().__init__("spaces")
        self.worker = None

    def GPU(self, task=None, *, duration=None, size=None):  # noqa: N802
        def wrap(fn):
            def run(*args):
                if self.worker is None:
                    parent, child = multiprocessing.get_context("fork").Pipe()
                    process = multiprocessing.get_context("fork").Process(target=serve, args=(fn, child), daemon=True)
                    process.start()
                    self.worker = (process, parent)
                _, conn = self.worker
                conn.send_bytes(pickle.dumps(args))  # raises PicklingError for a closure or a callback
                ok, value = pickle.loads(conn.recv_bytes())
                if not ok:
                    raise value
                return value

            return run

        return wrap if task is None else wrap(task)

    def close(self):
        if self.worker is not None:
            self.worker[1].send_bytes(b"")
            self.worker[0].join(timeout=10)


def serve(fn, conn):
    torch.set_num_threads(1)
    while True:
        data = conn.recv_bytes()
        if not data:
            return
        try:
            conn.send_bytes(pickle.dumps((True, fn(*pickle.loads(data)))))
        except Exception as exc:  # sent back, raised in the caller
            conn.send_bytes(pickle.dumps((False, exc)))


@pytest.fixture
def recording(monkeypatch):
    fake = RecordingSpaces()
    monkeypatch.setitem(sys.modules, "spaces", fake)
    return fake


def double(model, x):
    return model(x) * 2


def test_without_spaces_calls_run_directly(monkeypatch):
    monkeypatch.setitem(sys.modules, "spaces", None)  # import spaces -> ImportError
    manager = ModelManager()
    net = manager.get(("m",), lambda: torch.nn.Linear(4, 4))
    x = torch.ones(1, 4)
    assert torch.equal(manager.call(("m",), double, x), net(x) * 2) and not manager.gpu.isolated


def test_calls_go_through_spaces_gpu_with_a_duration(recording):
    manager = ModelManager()
    net = manager.get(("m",), lambda: torch.nn.Linear(4, 4))
    x = torch.ones(1, 4)
    assert torch.equal(manager.call(("m",), double, x, seconds=42), net(x) * 2)
    manager.call(("m",), double, x)
    assert recording.calls == [42, 60] and len(recording.decorated) == 1  # decorated once per manager


def test_model_engines_and_the_builder_run_inside_spaces_gpu(recording, tmp_path):
    manager = ModelManager()
    clipseg = str(tiny_models.clipseg(tmp_path / "clipseg"))
    registry = Registry.discover(engine_choice={"RES": "clipseg"},
                                 engine_options={"RES": {"model": clipseg, "threshold": 0.0}})
    wf = parse_workflow({"process": "seg", "pipeline": [
        {"step": 1, "model": "RES", "input": {"image": "init[image]", "prompt": "cup"},
         "output": {"mask": "step1[mask]", "image": "step1[image]"}}, {"result": "[step1[image]]"}]}).workflow
    Executor(registry, models=manager).run(wf, np.zeros((32, 48, 3), np.uint8))
    assert recording.calls == [10]  # RES (CLIPSeg): a short slot

    qwen = str(tiny_models.qwen_vl(tmp_path / "qwen"))
    builder = MLLMBuilder(registry, model=qwen, quant="none", device="cpu", manager=manager, max_new_tokens=3,
                          max_retries=0)
    streamed: list[str] = []
    builder.plan(PlanRequest("remove the cup", image=np.zeros((32, 48, 3), np.uint8)), on_text=streamed.append)
    from lego_demo.vlm import generation_seconds

    assert recording.calls == [10, generation_seconds(3)]  # the Builder's generation, with its estimate


def test_zero_gpu_worker_gets_plain_arguments_and_preloaded_models(monkeypatch):
    fake = ZeroGPUSpaces()
    monkeypatch.setitem(sys.modules, "spaces", fake)
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    manager = ModelManager()
    assert manager.gpu.isolated  # callbacks cannot cross: the Builder does not stream there
    net = manager.get(("preloaded",), lambda: torch.nn.Linear(4, 4))  # before the worker forks
    x = torch.ones(1, 4)
    try:
        assert torch.equal(manager.call(("preloaded",), double, x, seconds=30), net(x) * 2)
        manager.get(("late",), lambda: torch.nn.Linear(4, 4))  # after: the worker never sees it
        with pytest.raises(CannotDo, match="preload = true"):
            manager.call(("late",), double, x)
    finally:
        fake.close()


def test_preload_loads_every_configured_model_at_start(tmp_path):
    clipseg = str(tiny_models.clipseg(tmp_path / "clipseg"))
    config = EditorConfig(engine_choice={"RES": "clipseg"}, engine_options={"RES": {"model": clipseg}})
    assert Editor.from_config(config).models.loaded() == []  # lazy by default
    config.preload = True
    held = Editor.from_config(config).models.loaded()
    assert [e["key"][:2] for e in held] == [("clipseg", clipseg)]

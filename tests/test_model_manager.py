"""The model manager: lazy, shared, LRU-freeing on out-of-memory, reporting bytes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lego_demo.errors import CannotDo
from lego_demo.models import ModelManager, model_key, requested_bytes

torch = pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[1]


def linear(n: int) -> torch.nn.Module:
    return torch.nn.Linear(n, n)  # n*n + n float32 parameters


def linear_bytes(n: int) -> int:
    return (n * n + n) * 4


class Loader:
    """Counts calls; raises `error` on the first `fail` calls."""

    def __init__(self, value, error: BaseException | None = None, fail: int = 0):
        self.value, self.error, self.fail, self.calls = value, error, fail, 0

    def __call__(self):
        self.calls += 1
        if self.calls <= self.fail:
            raise self.error
        return self.value


def test_import_and_construction_load_nothing():
    code = ("import sys, lego_demo.models as m; mm = m.ModelManager(); assert mm.loaded() == []; "
            "from lego_demo.editor import Editor, EditorConfig; "
            "e = Editor.from_config(EditorConfig(engine_choice={'FILL': 'diffusers-inpaint'}, "
            "engine_options={'FILL': {'model': '/nowhere'}})); assert e.models.loaded() == []; "
            "print(sorted(x for x in ('torch', 'diffusers', 'transformers') if x in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_lazy_and_shared():
    manager = ModelManager()
    loader = Loader(linear(8))
    assert manager.loaded() == [] and loader.calls == 0
    key = model_key("sd-inpaint", "/m/sd", "float32", None, "cpu")
    first = manager.get(key, loader)  # e.g. FILL's step
    second = manager.get(model_key("sd-inpaint", "/m/sd", "float32", "none", "cpu"), Loader(linear(8)))  # RCM's
    assert first is second and loader.calls == 1
    (entry,) = manager.loaded()
    assert entry["key"] == key and entry["type"] == "Linear" and entry["bytes"] == linear_bytes(8)
    assert entry["device"] == "cpu"
    # another dtype or quantization is another copy
    manager.get(model_key("sd-inpaint", "/m/sd", "float16", "none", "cpu"), Loader(linear(8).half()))
    assert len(manager.loaded()) == 2


def test_bytes_of_pipelines_and_tuples_count_each_tensor_once():
    class Pipe:  # what a diffusers pipeline looks like to the manager
        def __init__(self):
            shared = linear(4)
            self.components = {"unet": linear(16), "text_encoder": shared, "same": shared, "scheduler": object()}

    manager = ModelManager()
    manager.get("pipe", Pipe)
    manager.get("pair", lambda: (linear(10), "processor"))
    sizes = {e["key"]: e["bytes"] for e in manager.loaded()}
    assert sizes == {"pipe": linear_bytes(16) + linear_bytes(4), "pair": linear_bytes(10)}
    assert manager.total_bytes == sum(sizes.values())
    assert "pipe: 0.0 MB on cpu (Pipe)" in manager.report()


def fill_three(manager):
    for name, n in (("a", 32), ("b", 64), ("c", 16)):
        manager.get(name, Loader(linear(n)))
    manager.get("a", Loader(None))  # used again: b is now the least recently used


@pytest.mark.parametrize("error", [torch.cuda.OutOfMemoryError("CUDA out of memory."), MemoryError()],
                         ids=["cuda-oom", "memory-error"])
def test_out_of_memory_while_loading_frees_the_lru_model_and_retries_once(error):
    manager = ModelManager()
    fill_three(manager)
    loader = Loader(linear(8), error=error, fail=1)
    model = manager.get("d", loader)
    assert loader.calls == 2 and isinstance(model, torch.nn.Linear)
    assert [e["key"] for e in manager.loaded()] == ["c", "a", "d"]  # b (least recently used) went
    assert "freed ['b']" in manager.events[-1]


def test_out_of_memory_while_running_frees_but_keeps_the_running_model():
    manager = ModelManager()
    fill_three(manager)
    run = Loader("image", error=torch.cuda.OutOfMemoryError("Tried to allocate 20.00 KiB"), fail=1)
    assert manager.run(run, keep=("b",)) == "image" and run.calls == 2
    # 20 KiB needed: c (1 KiB) is not enough, a (4 KiB) neither, so both went; b stayed
    assert [e["key"] for e in manager.loaded()] == ["b"]


def test_a_second_out_of_memory_is_a_clear_cannot_do():
    manager = ModelManager()
    fill_three(manager)
    loader = Loader(linear(8), error=torch.cuda.OutOfMemoryError("CUDA out of memory"), fail=2)
    with pytest.raises(CannotDo, match="out of memory while loading d, even after freeing 1 model"):
        manager.get("d", loader)
    assert loader.calls == 2 and "d" not in manager


def test_other_errors_are_not_retried():
    manager = ModelManager()
    fill_three(manager)
    loader = Loader(linear(8), error=ValueError("bad config"), fail=1)
    with pytest.raises(ValueError):
        manager.get("d", loader)
    assert loader.calls == 1 and len(manager.loaded()) == 3


def test_budget_frees_old_models_before_going_over():
    manager = ModelManager(max_bytes=linear_bytes(64) + linear_bytes(32))
    manager.get("a", Loader(linear(64)))
    manager.get("b", Loader(linear(32)))
    manager.get("c", Loader(linear(32)))
    assert [e["key"] for e in manager.loaded()] == ["b", "c"]


def test_free_and_requested_bytes():
    manager = ModelManager()
    manager.get("a", Loader(linear(4)))
    assert manager.free("a") and not manager.free("a") and manager.loaded() == []
    assert requested_bytes(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0)")) == 2 * 2**30
    assert requested_bytes(MemoryError()) is None


def test_device_and_dtype_choice():
    from lego_demo.models import default_dtype, pick_device

    if not torch.cuda.is_available():
        assert pick_device() in ("cpu", "mps")
        with pytest.raises(CannotDo, match="no CUDA GPU"):
            pick_device("cuda")
    assert default_dtype("cpu") == torch.float32 and default_dtype("cpu", "bf16") == torch.bfloat16


def test_editor_owns_one_manager_for_executor_and_builder():
    from lego_demo.editor import Editor, EditorConfig

    editor = Editor.from_config(EditorConfig(builder="mllm", model="/nowhere/model"))
    assert editor.executor.models is editor.models
    assert editor.builder.manager is editor.models  # a model Builder and the engines share one manager

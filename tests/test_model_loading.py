"""Model loading paths where real weights on a real GPU would fail (issue 15, fixes 3–7), each
reproduced here without a GPU: out of memory while loading a VLM, bitsandbytes refusing a
model that accelerate spread onto the CPU, CLIPSeg prompts over 77 tokens, offload = "auto"
deciding from real parameter counts, and quantized pipelines on a second GPU."""

from __future__ import annotations

import json
import struct
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import tiny_models  # noqa: E402

from lego_demo import diffusion, vlm, vram  # noqa: E402
from lego_demo.builders.base import PlanRequest  # noqa: E402
from lego_demo.builders.mllm import MLLMBuilder  # noqa: E402
from lego_demo.errors import CannotDo  # noqa: E402
from lego_demo.executor import Executor  # noqa: E402
from lego_demo.models import ModelManager  # noqa: E402
from lego_demo.registry import Registry  # noqa: E402
from lego_demo.workflow import parse_workflow  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore")
CPU_DISPATCH = ("Some modules are dispatched on the CPU or the disk. Make sure you have enough GPU RAM to fit the "
                "quantized model. If you want to dispatch the model on the CPU or the disk while keeping these "
                "modules in 32-bit, you need to set `llm_int8_enable_fp32_cpu_offload=True`")


@pytest.fixture(scope="module")
def qwen_dir(tmp_path_factory):
    pytest.importorskip("tokenizers")
    return str(tiny_models.qwen_vl(tmp_path_factory.mktemp("tiny-qwen")))


def flaky_from_pretrained(monkeypatch, error: BaseException) -> list:
    """AutoModelForImageTextToText.from_pretrained raising `error` once, then loading."""
    cls = transformers.AutoModelForImageTextToText
    real = cls.from_pretrained
    calls: list = []

    def flaky(*args, **kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(cls, "from_pretrained", flaky)
    return calls


def held_other_model(manager: ModelManager) -> tuple:
    key = ("sd-inpaint", "/models/other")
    manager.get(key, lambda: torch.nn.Linear(16, 16))
    return key


# -- fix 3: out of memory while loading the Builder / a VLM engine frees and retries ------------
@pytest.mark.parametrize("error", [torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
                                   ValueError(CPU_DISPATCH)], ids=["oom", "cpu-dispatch"])
def test_builder_load_out_of_memory_frees_lru_models_and_retries(registry, qwen_dir, monkeypatch, error):
    manager = ModelManager()
    other = held_other_model(manager)
    calls = flaky_from_pretrained(monkeypatch, error)
    builder = MLLMBuilder(registry, model=qwen_dir, quant="none", device="cpu", manager=manager)
    model, processor = builder._loaded()
    assert len(calls) == 2 and other not in manager and builder._key() in manager
    assert any("out of memory while loading" in e for e in manager.events)


def test_vlm_engine_load_out_of_memory_frees_lru_models_and_retries(qwen_dir, monkeypatch):
    from lego_demo.spec import RunContext

    manager = ModelManager()
    other = held_other_model(manager)
    calls = flaky_from_pretrained(monkeypatch, torch.cuda.OutOfMemoryError("CUDA out of memory"))
    ctx = RunContext(step=1, options={"model": qwen_dir, "max_new_tokens": 4, "device": "cpu"}, models=manager)
    answer = vlm.ask_vlm(ctx, np.full((40, 56, 3), 120, np.uint8), "Describe this image in one sentence.")
    assert isinstance(answer, str) and len(calls) == 2 and other not in manager


def test_oom_twice_is_a_clear_cannot_do(registry, qwen_dir, monkeypatch):
    cls = transformers.AutoModelForImageTextToText

    def always(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(cls, "from_pretrained", always)
    builder = MLLMBuilder(registry, model=qwen_dir, quant="none", device="cpu", manager=ModelManager())
    with pytest.raises(CannotDo, match="out of memory while loading"):
        builder.plan(PlanRequest("remove the dog"))


# -- fix 4: one GPU, one device map ---------------------------------------------------------------
def test_vlm_goes_to_exactly_one_cuda_device(qwen_dir, monkeypatch):
    """device_map="auto" lets accelerate spread layers onto the CPU when the GPU is partly full,
    which bitsandbytes refuses; the whole model goes to the one device instead."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    seen = []

    class Stop(Exception):
        pass

    def capture(*args, **kwargs):
        seen.append(kwargs)
        raise Stop

    monkeypatch.setattr(transformers.AutoModelForImageTextToText, "from_pretrained", capture)
    for device, expect in (("cuda", "cuda:0"), ("cuda:1", "cuda:1")):
        with pytest.raises(Stop):
            vlm.load_mllm(qwen_dir, device=device, quant="none", cuda=True)
        assert seen[-1]["device_map"] == {"": expect}


# -- fix 5: CLIPSeg and prompts longer than its 77 positions --------------------------------------
def test_clipseg_truncates_a_long_prompt(tmp_path):
    model = str(tiny_models.clipseg(tmp_path / "clipseg"))
    registry = Registry.discover(engine_choice={"RES": "clipseg"},
                                 engine_options={"RES": {"model": model, "threshold": 0.0}})
    prompt = "the small red cup on the left side of the wooden table next to the window " * 3  # > 77 tokens
    wf = parse_workflow({"process": "seg", "pipeline": [
        {"step": 1, "model": "RES", "input": {"image": "init[image]", "prompt": prompt},
         "output": {"mask": "step1[mask]", "image": "step1[image]"}},
        {"result": "[step1[image]]"}]}).workflow
    image = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    result = Executor(registry, models=ModelManager()).run(wf, image)  # before: "index out of range" in CLIP
    mask, cut = result.values[1]["mask"], result.results[0]
    assert mask.shape == (48, 64) and mask.all()  # threshold 0: every sigmoid probability passes
    assert cut.shape == (48, 64, 4)


# -- fix 6: offload = "auto" from parameter counts -------------------------------------------------
def write_safetensors(path: Path, tensors: dict[str, list[int]], dtype: str = "BF16") -> None:
    """A safetensors file whose header declares these shapes; the data is a sparse hole."""
    per = {"BF16": 2, "F16": 2, "F32": 4}[dtype]
    header, offset = {}, 0
    for name, shape in tensors.items():
        n = int(np.prod(shape)) * per
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    raw = json.dumps(header).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw)
        f.truncate(8 + len(raw) + offset)


def flux_snapshot(root: Path) -> Path:
    """A FLUX.1-Fill-dev-like snapshot: diffusers folders plus the single-file checkpoint at the
    root (as the hub repository holds both), an fp16 variant and a .bin beside a safetensors."""
    index = {"_class_name": "FluxFillPipeline", "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
             "transformer": ["diffusers", "FluxTransformer2DModel"], "text_encoder": ["transformers", "CLIPTextModel"],
             "text_encoder_2": ["transformers", "T5EncoderModel"], "vae": ["diffusers", "AutoencoderKL"],
             "tokenizer": ["transformers", "CLIPTokenizer"], "tokenizer_2": ["transformers", "T5TokenizerFast"]}
    root.mkdir(parents=True)
    (root / "model_index.json").write_text(json.dumps(index))
    big = {"w": [100_000, 100_000]}  # 10 G parameters
    write_safetensors(root / "flux1-fill-dev.safetensors", big)  # the same transformer, single-file
    write_safetensors(root / "transformer" / "diffusion_pytorch_model.safetensors", big)
    write_safetensors(root / "transformer" / "diffusion_pytorch_model.fp16.safetensors", big, "F16")
    write_safetensors(root / "text_encoder_2" / "model.safetensors", {"w": [50_000, 100_000]})
    (root / "text_encoder_2" / "pytorch_model.bin").write_bytes(b"\0" * 64)
    write_safetensors(root / "vae" / "diffusion_pytorch_model.safetensors", {"w": [1000, 1000]}, "F32")
    (root / "tokenizer").mkdir()
    return root


def test_parameters_are_counted_once_per_loaded_component(tmp_path):
    counts = vram.component_params(flux_snapshot(tmp_path / "flux"))
    assert counts == {"transformer": 10**10, "text_encoder_2": 5 * 10**9, "vae": 10**6}


def fill_settings(model: str, quant: str = "4bit") -> diffusion.Settings:
    return diffusion.Settings(model, "flux-fill", "cuda", torch.bfloat16, quant, "auto", 28, 30.0, 1024, 16)


def test_offload_auto_counts_a_local_snapshot_once(tmp_path, monkeypatch):
    model = str(flux_snapshot(tmp_path / "flux"))
    # 15 G parameters in bf16 = 30 GB + ≈ 3.5 GB working memory; counted twice it would be ≈ 53 GB
    monkeypatch.setattr("lego_demo.models.free_vram_bytes", lambda device="cuda": int(45e9))
    assert not vram.needs_offload(fill_settings(model, quant="none"))
    monkeypatch.setattr("lego_demo.models.free_vram_bytes", lambda device="cuda": int(30e9))
    assert vram.needs_offload(fill_settings(model, quant="none"))


def test_offload_auto_knows_hub_ids_that_are_not_on_disk(monkeypatch):
    model = "black-forest-labs/FLUX.1-Fill-dev"
    monkeypatch.setattr(vram, "local_dir", lambda m: None)  # not in the local cache
    est = vram.engine_estimate("diffusers-inpaint", {"model": model, "quant": "4bit"})
    assert est.source == f"published size of {model}" and 10e9 < est.resident_bytes < 16e9
    monkeypatch.setattr("lego_demo.models.free_vram_bytes", lambda device="cuda": int(8e9))
    assert vram.needs_offload(fill_settings(model))  # before: 0 bytes counted, never offloaded
    monkeypatch.setattr("lego_demo.models.free_vram_bytes", lambda device="cuda": int(70e9))
    assert not vram.needs_offload(fill_settings(model))


def test_offload_auto_is_decided_at_load_and_keeps_one_key(monkeypatch):
    """Deciding "auto" from the free memory on every step made the key flip from resident to
    offload once the pipeline itself filled the GPU, and loaded a second copy."""
    import lego_demo.models as models

    monkeypatch.setattr(models, "pick_device", lambda requested=None: "cuda")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    options = {"model": "black-forest-labs/FLUX.1-Fill-dev", "quant": "4bit"}
    monkeypatch.setattr(models, "free_vram_bytes", lambda device="cuda": int(70e9))
    before = diffusion.settings(options, "flux-fill").key()
    monkeypatch.setattr(models, "free_vram_bytes", lambda device="cuda": int(2e9))  # the pipeline now holds it
    assert diffusion.settings(options, "flux-fill").key() == before


# -- fix 7: a quantized pipeline on cuda:1 lands on cuda:1 ------------------------------------------
def test_quantized_pipeline_loads_with_its_device_current(monkeypatch):
    pytest.importorskip("bitsandbytes")
    current = {"device": 0}
    entered = []

    @contextmanager
    def fake_device(index):
        entered.append(index)
        before, current["device"] = current["device"], index
        try:
            yield
        finally:
            current["device"] = before

    monkeypatch.setattr(torch.cuda, "device", fake_device)

    class FakePipe:
        components: dict = {}

        def set_progress_bar_config(self, **kwargs):
            pass

    class FakePipeline:
        loaded_on = None

        @classmethod
        def from_pretrained(cls, model, **kwargs):
            cls.loaded_on = current["device"]  # bitsandbytes places weights on the current device
            assert "quantization_config" in kwargs
            return FakePipe()

    s = diffusion.Settings("/models/flux-fill", "flux-fill", "cuda:1", torch.bfloat16, "4bit", False, 28, 30.0,
                           1024, 16)
    diffusion.load_pipeline(FakePipeline, s)
    assert FakePipeline.loaded_on == 1 and entered == [1] and current["device"] == 0


# -- layering: the model layer imports nothing above it ------------------------------------------
def test_model_layer_imports_point_downward():
    """diffusion.py used to import builders.mllm for VLM loading: the one upward import."""
    import ast

    root = Path(__file__).resolve().parents[1] / "lego_demo"
    above = ("builders", "critics", "editor", "think", "cli", "ui", "startup", "bench")
    for name in ("models.py", "gpu.py", "diffusion.py", "vlm.py", "vram.py"):
        tree = ast.parse((root / name).read_text(encoding="utf-8"))
        imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level]
        upward = [m for m in imported if m.split(".")[0] in above]
        assert not upward, f"{name} imports {upward}"

"""GPU memory estimates for model engines and the Builder, the fit check when an Editor starts
(refused with the numbers instead of an out-of-memory error mid-edit), and the estimates in
`bricks --json` and the Bricks tab. No GPU here: the detected GPUs are given to the check."""

from __future__ import annotations

import json

import pytest

from lego_demo import vram
from lego_demo.cli import main
from lego_demo.editor import Editor, EditorConfig
from lego_demo.errors import CannotDo
from lego_demo.registry import Registry

GB = 1e9
FLUX_FILL = "black-forest-labs/FLUX.1-Fill-dev"
KONTEXT = "black-forest-labs/FLUX.1-Kontext-dev"
QWEN7 = "Qwen/Qwen2.5-VL-7B-Instruct"


@pytest.fixture(autouse=True)
def no_local_weights(monkeypatch):
    monkeypatch.setattr(vram, "local_dir", lambda model: None)  # hub ids: the published sizes


@pytest.fixture
def on_cuda(monkeypatch):
    """Devices resolve as on a one-GPU machine (the check itself is what is tested)."""
    import lego_demo.models as models

    monkeypatch.setattr(models, "pick_device", lambda requested=None: requested or "cuda:0")
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)  # "cuda" means cuda:0


def flux_config(device="cuda:0", **fill) -> dict:
    fill = {"model": FLUX_FILL, "quant": "4bit", "device": device, **fill}
    return dict(engine_choice={b: "diffusers-inpaint" for b in ("FILL", "INPAINT", "RCM", "CBG")},
                engine_options={b: dict(fill) for b in ("FILL", "INPAINT", "RCM", "CBG")})


def test_estimates_of_known_checkpoints():
    fill = vram.engine_estimate("diffusers-inpaint", {"model": FLUX_FILL, "quant": "4bit"})
    assert 10 * GB < fill.resident_bytes < 16 * GB  # nf4 transformer + T5 ≈ 9.3 GB + working memory
    assert 8 * GB < fill.offload_bytes < 11 * GB  # the transformer alone + working memory
    bf16 = vram.engine_estimate("diffusers-inpaint", {"model": FLUX_FILL, "quant": "none"})
    assert 33 * GB < bf16.resident_bytes < 40 * GB
    small = vram.engine_estimate("diffusers-inpaint", {"model": FLUX_FILL, "quant": "4bit", "size": 512})
    assert small.resident_bytes < fill.resident_bytes  # working memory follows the image size
    qwen = vram.engine_estimate("vlm", {"model": QWEN7, "quant": "4bit"})
    assert 5 * GB < qwen.resident_bytes < 9 * GB and qwen.offload_bytes is None
    assert vram.engine_estimate("instruct", {"model": KONTEXT}).key[0] == "flux-kontext"
    assert vram.engine_estimate("instruct", {"model": "timbrooks/instruct-pix2pix"}).resident_bytes < 5 * GB
    assert vram.engine_estimate("vlm", {"model": "org/some-VL-3B"}).source == "3B from the name"
    assert vram.engine_estimate("grounding", {"model": "x"}) is None and vram.engine_estimate("vlm", {}) is None


def test_shared_models_are_counted_once(on_cuda):
    registry = Registry.discover(**flux_config())
    estimates = vram.configured_estimates(registry, QWEN7)
    assert len(estimates) == 2  # one FLUX.1-Fill for four bricks, one Builder
    fill = next(e for e in estimates if e.model == FLUX_FILL)
    assert fill.users == ["CBG", "FILL", "INPAINT", "RCM"]


def test_a_24_gb_card_fits_flux_fill_and_the_7b_builder(on_cuda):
    registry = Registry.discover(**flux_config())
    fit = vram.check_fit(vram.configured_estimates(registry, QWEN7), gpus={"cuda:0": int(23.5 * GB)})
    assert 15 * GB < fit.need["cuda:0"] < 23.5 * GB
    assert any("cuda:0: needs" in line for line in fit.lines())


def test_offloaded_pipelines_are_not_on_the_gpu_at_the_same_time(on_cuda):
    """Fill and Kontext (4-bit, offload allowed) + CLIPSeg + the 7B Builder on a 24 GB card: the
    Builder and CLIPSeg stay, the two pipelines take turns."""
    config = flux_config()
    config["engine_choice"].update(STYLE="instruct", RES="clipseg")
    config["engine_options"].update(STYLE={"model": KONTEXT, "quant": "4bit"}, RES={"model": "CIDAS/clipseg-rd64-refined"})
    estimates = vram.configured_estimates(Registry.discover(**config), QWEN7)
    fit = vram.check_fit(estimates, gpus={"cuda:0": int(23.5 * GB)})
    kontext = next(e for e in estimates if e.model == KONTEXT)
    others = sum(e.resident_bytes for e in estimates if not e.offloadable)
    assert fit.need["cuda:0"] == vram.CUDA_CONTEXT + others + kontext.offload_bytes  # the larger of the two peaks
    assert sum(e.resident_bytes for e in estimates) > 23.5 * GB  # all resident at once would not fit


def test_an_8_gb_card_is_refused_with_the_numbers(on_cuda):
    registry = Registry.discover(**flux_config())
    with pytest.raises(CannotDo) as err:
        vram.check_fit(vram.configured_estimates(registry, QWEN7), gpus={"cuda:0": 8 * GB})
    text = str(err.value)
    assert "do not fit on cuda:0" in text and "8.0 GB free" in text and "FILL" in text and "Builder" in text
    assert err.value.exit_code == 3


def test_offload_off_needs_the_whole_model(on_cuda):
    registry = Registry.discover(**flux_config(offload=False))
    estimates = vram.configured_estimates(registry)
    with pytest.raises(CannotDo):
        vram.check_fit(estimates, gpus={"cuda:0": 12 * GB})  # fits only with offload, which is off
    registry = Registry.discover(**flux_config(offload=True))
    vram.check_fit(vram.configured_estimates(registry), gpus={"cuda:0": 12 * GB})


def test_models_on_another_device_count_there(on_cuda):
    registry = Registry.discover(**flux_config(device="cuda:1"))
    fit = vram.check_fit(vram.configured_estimates(registry, QWEN7, "4bit"),
                         gpus={"cuda:0": 10 * GB, "cuda:1": 12 * GB})
    assert set(fit.need) == {"cuda:0", "cuda:1"}
    with pytest.raises(CannotDo, match="no such GPU"):
        vram.check_fit(vram.configured_estimates(registry), gpus={"cuda:0": 80 * GB})


def test_editor_start_refuses_a_combination_that_cannot_fit(on_cuda, monkeypatch):
    monkeypatch.setattr(vram, "detect_gpus", lambda: {"cuda:0": 6 * GB})
    with pytest.raises(CannotDo, match="do not fit"):
        Editor.from_config(EditorConfig(builder="mllm", model=QWEN7, **flux_config()))
    monkeypatch.setattr(vram, "detect_gpus", lambda: {"cuda:0": 80 * GB})
    editor = Editor.from_config(EditorConfig(builder="mllm", model=QWEN7, **flux_config()))
    assert editor.models.loaded() == []  # checked, nothing loaded


def test_cli_start_refusal_exits_3(on_cuda, monkeypatch, capsys):
    monkeypatch.setattr(vram, "detect_gpus", lambda: {"cuda:0": 4 * GB})
    code = main(["bricks", "--engine", f"FILL=diffusers-inpaint:{FLUX_FILL}"])
    assert code == 3 and "do not fit on cuda:0" in capsys.readouterr().err


def test_bricks_json_and_tab_show_each_model_engines_estimate(capsys, monkeypatch):
    import lego_demo.startup as startup

    monkeypatch.setattr(startup, "start_models", lambda editor: None)  # no GPU check in this listing
    assert main(["bricks", "--json", "--engine", f"FILL=diffusers-inpaint:{FLUX_FILL}"]) == 0
    listing = {b["name"]: b for b in json.loads(capsys.readouterr().out)}
    fill = {e["name"]: e for e in listing["FILL"]["engines"]}
    assert "vram" not in fill["draw"]  # classical engines: no GPU memory
    assert fill["diffusers-inpaint"]["vram"]["gb"] > 30  # bf16: no quant given
    assert fill["diffusers-inpaint"]["vram"]["source"] == f"published size of {FLUX_FILL}"
    assert {e["name"]: e for e in listing["STYLE"]["engines"]}["instruct"]["vram"] is None  # no model configured

    from lego_demo.ui.views import bricks_markdown

    registry = Registry.discover(engine_choice={"FILL": "diffusers-inpaint"},
                                 engine_options={"FILL": {"model": FLUX_FILL, "quant": "4bit"}})
    row = next(line for line in bricks_markdown(registry).splitlines() if line.startswith("| **FILL**"))
    assert "GPU ≈ 1" in row and "with offload" in row


def readme_space_configs() -> list[str]:
    from pathlib import Path

    text = Path(__file__).resolve().parents[1].joinpath("README.md").read_text(encoding="utf-8")
    section = text[text.index("## Deploy on a GPU Space"):text.index("## Adding a brick")]
    return [block.split("```", 1)[0] for block in section.split("```toml\n")[1:]]


@pytest.mark.parametrize("index,card_gb", [(0, 23.5), (1, 70)], ids=["24GB", "ZeroGPU"])
def test_the_readme_space_configurations_fit_their_cards(on_cuda, tmp_path, index, card_gb):
    from lego_demo.config import editor_config
    from lego_demo.startup import builder_model

    path = tmp_path / "lego.toml"
    path.write_text(readme_space_configs()[index], encoding="utf-8")
    config = editor_config(path)
    for brick, same in (("FILL", ("INPAINT", "RCM", "CBG")), ("STYLE", ("ENV", "POSE"))):  # "the same" lines
        for other in same:
            config.engine_choice[other] = config.engine_choice[brick]
            config.engine_options[other] = dict(config.engine_options[brick])
    registry = Registry.discover(engine_choice=config.engine_choice, engine_options=config.engine_options)
    fit = vram.check_fit(vram.configured_estimates(registry, builder_model(config), config.quant),
                         gpus={"cuda:0": int(card_gb * GB)})
    assert fit.need["cuda:0"] > card_gb * GB * 0.6  # not trivially small: the numbers mean something
    assert config.preload == (index == 1)

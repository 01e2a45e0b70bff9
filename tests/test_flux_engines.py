"""FLUX.1-Fill (FILL, INPAINT, RCM, CBG) and FLUX.1-Kontext (STYLE, ENV, POSE) through the
project's own loading path: tiny pipelines built in code (tests/tiny_models.py: real classes,
VAE scale factor 8, 16 latent channels, Fill transformer 384 → 64, Kontext 64, guidance
embeddings), saved with save_pretrained, picked by model_index.json, loaded by the model
manager and run by the Executor on CPU. No hub, no weights."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("transformers")

import tiny_models  # noqa: E402  (tests/tiny_models.py)

from lego_demo import diffusion  # noqa: E402
from lego_demo.executor import Executor  # noqa: E402
from lego_demo.models import ModelManager  # noqa: E402
from lego_demo.registry import Registry  # noqa: E402
from lego_demo.workflow import parse_workflow  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore")
IMG, MASK = "init[image]", "init[mask]"
FAST = {"steps": 2, "max_sequence_length": 16}  # T5 pads prompts to max_sequence_length (512 by default)


@pytest.fixture(scope="module")
def flux(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-flux")
    return {"fill": str(tiny_models.flux_pipeline(root / "fill", "fill")),
            "kontext": str(tiny_models.flux_pipeline(root / "kontext", "kontext"))}


@pytest.fixture(scope="module")
def manager():
    return ModelManager()


@pytest.fixture(scope="module")
def photo():
    import cv2
    from skimage import data

    return cv2.resize(data.astronaut(), (80, 60), interpolation=cv2.INTER_AREA)  # 80 is no multiple of 16


@pytest.fixture(scope="module")
def box_mask():
    m = np.zeros((60, 80), bool)
    m[15:45, 20:60] = True
    return m


@pytest.fixture
def generated(monkeypatch):
    """The (height, width) of every image a pipeline generated, before it is resized back."""
    sizes: list[tuple[int, int]] = []
    real = diffusion.from_output

    def spy(images, size):
        sizes.append(tuple(np.asarray(images[0]).shape[:2]))
        return real(images, size)

    monkeypatch.setattr(diffusion, "from_output", spy)
    return sizes


def one_step(brick, inputs):
    return parse_workflow({"process": "test", "pipeline": [
        {"step": 1, "model": brick, "input": inputs, "output": {"image": "step1[image]"}},
        {"result": "[step1[image]]"}]}).workflow


def registry_for(brick, engine, **options):
    return Registry.discover(engine_choice={brick: engine}, engine_options={brick: {**FAST, **options}})


def test_tiny_flux_is_shaped_like_the_real_checkpoints(flux):
    import json
    from pathlib import Path

    assert diffusion.pipeline_class(flux["fill"]) == "FluxFillPipeline"
    assert diffusion.pipeline_class(flux["kontext"]) == "FluxKontextPipeline"
    for kind, (cin, cout) in {"fill": (384, 64), "kontext": (64, 64)}.items():
        root = Path(flux[kind])
        index = json.loads((root / "model_index.json").read_text())
        assert index["tokenizer_2"] == ["transformers", "T5TokenizerFast"]
        assert index["text_encoder"] == ["transformers", "CLIPTextModel"]
        transformer = json.loads((root / "transformer" / "config.json").read_text())
        assert (transformer["in_channels"], transformer["out_channels"] or transformer["in_channels"]) == (cin, cout)
        assert transformer["guidance_embeds"] is True
        vae = json.loads((root / "vae" / "config.json").read_text())
        assert vae["latent_channels"] == 16 and len(vae["block_out_channels"]) == 4  # scale factor 2**3 = 8


FILL_BRICKS = [
    ("FILL", {"image": IMG, "mask": MASK, "prompt": "a red cup"}),
    ("INPAINT", {"image": IMG, "mask": MASK, "preimage": IMG, "score": 0.5}),
    ("RCM", {"image": IMG, "mask": MASK, "prompt": "change the colour to gold"}),
    ("CBG", {"image": IMG, "mask": MASK, "prompt": "change the background to a beach"}),
]


@pytest.mark.parametrize("brick,inputs", FILL_BRICKS, ids=[b for b, _ in FILL_BRICKS])
def test_fill_bricks_on_flux_fill(brick, inputs, flux, manager, photo, box_mask, generated):
    registry = registry_for(brick, "diffusers-inpaint", model=flux["fill"], size=48)
    result = Executor(registry, seed=0, models=manager).run(one_step(brick, inputs), photo, box_mask)
    out = result.results[0]
    assert result.trace[0].engine == "diffusers-inpaint"
    assert out.dtype == np.uint8 and out.shape == photo.shape
    assert (out[box_mask] != photo[box_mask]).any()
    np.testing.assert_array_equal(out[~box_mask], photo[~box_mask])  # outside the mask: exactly the original
    assert generated == [(32, 48)]  # size = 48: 80×60 → 48×36 → multiples of 16: 48×32
    assert [e["key"][0] for e in manager.loaded()].count("flux-fill") == 1  # one copy for all four bricks


def test_flux_fill_seeds(flux, manager, photo, box_mask):
    registry = registry_for("FILL", "diffusers-inpaint", model=flux["fill"], size=48)
    wf = one_step("FILL", FILL_BRICKS[0][1])
    first = Executor(registry, seed=3, models=manager).run(wf, photo, box_mask).results[0]
    again = Executor(registry, seed=3, models=manager).run(wf, photo, box_mask).results[0]  # fresh cache
    other = Executor(registry, seed=4, models=manager).run(wf, photo, box_mask).results[0]
    np.testing.assert_array_equal(first, again)
    assert (other[box_mask] != first[box_mask]).any()


KONTEXT_BRICKS = [
    ("STYLE", {"image": IMG, "mask": MASK, "style": "watercolour", "prompt": None}, True),
    ("ENV", {"image": IMG, "prompt": "make it snowy"}, False),
    ("POSE", {"image": IMG, "prompt": "a woman in a space suit raising both arms"}, False),
]


@pytest.mark.parametrize("brick,inputs,masked", KONTEXT_BRICKS, ids=[b for b, _, _ in KONTEXT_BRICKS])
def test_instruct_bricks_on_flux_kontext(brick, inputs, masked, flux, manager, photo, box_mask, generated):
    registry = registry_for(brick, "instruct", model=flux["kontext"], size=48)
    mask = box_mask if masked else None
    result = Executor(registry, seed=0, models=manager).run(one_step(brick, inputs), photo, mask)
    out = result.results[0]
    assert result.trace[0].engine == "instruct"
    assert out.dtype == np.uint8 and out.shape == photo.shape
    region = box_mask if masked else np.ones(photo.shape[:2], bool)
    assert (out[region] != photo[region]).any()
    if masked:
        np.testing.assert_array_equal(out[~box_mask], photo[~box_mask])
    # Kontext generates at max_area (1024² by default) unless told the size: it must follow `size`
    assert generated == [(32, 48)]


def test_kontext_generated_size_follows_the_size_option(flux, manager, photo, generated):
    wf = one_step("ENV", {"image": IMG, "prompt": "make it snowy"})
    for side in (32, 64):
        registry = registry_for("ENV", "instruct", model=flux["kontext"], size=side, steps=1)
        Executor(registry, models=manager).run(wf, photo)
    assert generated == [(32, 32), (48, 64)]  # 80×60 → 32×24 → multiples of 16: 32×32; → 64×48


def test_kontext_seeds(flux, manager, photo):
    registry = registry_for("ENV", "instruct", model=flux["kontext"], size=48)
    wf = one_step("ENV", {"image": IMG, "prompt": "make it snowy"})
    first = Executor(registry, seed=3, models=manager).run(wf, photo).results[0]
    again = Executor(registry, seed=3, models=manager).run(wf, photo).results[0]
    other = Executor(registry, seed=4, models=manager).run(wf, photo).results[0]
    np.testing.assert_array_equal(first, again)
    assert (other != first).any()

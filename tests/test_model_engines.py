"""Every model engine through the real loading path: tiny random models written with
save_pretrained to temp dirs, loaded with from_pretrained by the model manager, run on CPU
through the Executor (no hub, no weights download)."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("transformers")

import tiny_models  # noqa: E402  (tests/tiny_models.py)

from lego_demo.cli import main  # noqa: E402
from lego_demo.editor import Editor, EditorConfig  # noqa: E402
from lego_demo.errors import BadInput, CannotDo, StepCannotDo, StepError  # noqa: E402
from lego_demo.executor import Executor  # noqa: E402
from lego_demo.models import ModelManager  # noqa: E402
from lego_demo.registry import Registry  # noqa: E402
from lego_demo.workflow import parse_workflow  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore")
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture(scope="session")
def dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-models")
    return {
        "sd": str(tiny_models.sd_pipeline(root / "sd-inpaint", "inpaint")),
        "ip2p": str(tiny_models.sd_pipeline(root / "ip2p", "ip2p")),
        "clipseg": str(tiny_models.clipseg(root / "clipseg")),
        "vlm": str(tiny_models.qwen_vl(root / "qwen-vl")),
    }


@pytest.fixture(scope="session")
def manager():
    return ModelManager()  # shared by the tests below: each tiny model loads once


@pytest.fixture(scope="session")
def photo():
    import cv2
    from skimage import data

    return cv2.resize(data.astronaut(), (80, 60), interpolation=cv2.INTER_AREA)  # 80 is no multiple of 16


@pytest.fixture(scope="session")
def box_mask():
    m = np.zeros((60, 80), bool)
    m[15:45, 20:60] = True
    return m


def registry_for(brick, engine, **options):
    return Registry.discover(engine_choice={brick: engine}, engine_options={brick: options})


def one_step(brick, inputs, outputs=("image",)):
    out = {n: f"step1[{n}]" for n in outputs}
    return parse_workflow({"process": "test", "pipeline": [
        {"step": 1, "model": brick, "input": inputs, "output": out},
        {"result": "[" + ", ".join(out.values()) + "]"}]}).workflow


# -- generative engines: FILL / INPAINT / RCM / CBG (inpainting) and STYLE / ENV / POSE --------
IMG, MASK = "init[image]", "init[mask]"
GENERATIVE = [
    ("FILL", "diffusers-inpaint", "sd", {"image": IMG, "mask": MASK, "prompt": "a red cup"}, True),
    ("INPAINT", "diffusers-inpaint", "sd", {"image": IMG, "mask": MASK, "preimage": IMG, "score": 0.5}, True),
    ("RCM", "diffusers-inpaint", "sd", {"image": IMG, "mask": MASK, "prompt": "change the colour to gold"}, True),
    ("CBG", "diffusers-inpaint", "sd", {"image": IMG, "mask": MASK, "prompt": "change the background to a beach"},
     True),
    ("STYLE", "instruct", "ip2p", {"image": IMG, "mask": MASK, "style": "anime", "prompt": None}, True),
    ("ENV", "instruct", "ip2p", {"image": IMG, "prompt": "make it snowy"}, False),
    ("POSE", "instruct", "ip2p", {"image": IMG, "prompt": "a man in a space suit raising both arms"}, False),
]


@pytest.mark.parametrize("brick,engine,model,inputs,masked", GENERATIVE, ids=[c[0] for c in GENERATIVE])
def test_generative_engine(brick, engine, model, inputs, masked, dirs, manager, photo, box_mask):
    registry = registry_for(brick, engine, model=dirs[model], steps=2)
    wf = one_step(brick, inputs)
    mask = box_mask if masked else None
    first = Executor(registry, seed=0, models=manager).run(wf, photo, mask)
    assert first.trace[0].engine == engine and first.trace[0].engine_kind == "model"
    out = first.results[0]
    assert out.dtype == np.uint8 and out.shape == photo.shape  # 80×60 in, 80×60 out
    region = box_mask if masked else np.ones(photo.shape[:2], bool)
    assert (out[region] != photo[region]).any()  # the model changed something where it may
    if masked:
        np.testing.assert_array_equal(out[~box_mask], photo[~box_mask])  # outside: exactly the original

    # same seed, fresh cache, same manager: the same pixels, no second load
    keys = [e["key"] for e in manager.loaded()]
    again = Executor(registry, seed=0, models=manager)
    np.testing.assert_array_equal(again.run(wf, photo, mask).results[0], out)
    assert [e["key"] for e in manager.loaded()] == keys
    # a re-run of the same workflow is a cache hit: nothing executes
    rerun = again.run(wf, photo, mask)
    assert rerun.executed == [] and rerun.cached == [1]
    # another seed: other noise, another result
    other = Executor(registry, seed=1, models=manager).run(wf, photo, mask).results[0]
    assert (other[region] != out[region]).any()


def test_one_pipeline_shared_by_fill_rcm_and_cbg(dirs, photo, box_mask):
    models = ModelManager()
    options = {"model": dirs["sd"], "steps": 1}
    registry = Registry.discover(
        engine_choice={b: "diffusers-inpaint" for b in ("FILL", "RCM", "CBG")},
        engine_options={b: dict(options) for b in ("FILL", "RCM", "CBG")})
    wf = parse_workflow({"process": "chain", "pipeline": [
        {"step": 1, "model": "FILL", "input": {"image": IMG, "mask": MASK, "prompt": "a cup"}, "output": {"image": "step1[image]"}},
        {"step": 2, "model": "RCM", "input": {"image": "step1[image]", "mask": MASK, "prompt": "red"}, "output": {"image": "step2[image]"}},
        {"step": 3, "model": "FLUX-CBG", "input": {"image": "step2[image]", "mask": MASK, "prompt": "a beach"}, "output": {"image": "step3[image]"}},
        {"result": "[step3[image]]"}]}).workflow
    assert models.loaded() == []
    result = Executor(registry, models=models).run(wf, photo, box_mask)
    assert [t.engine for t in result.trace] == ["diffusers-inpaint"] * 3
    held = models.loaded()
    assert len(held) == 1 and held[0]["key"][0] == "sd-inpaint" and held[0]["type"] == "StableDiffusionInpaintPipeline"
    assert held[0]["bytes"] > 1_000_000  # the tiny pipeline's parameters, counted
    np.testing.assert_array_equal(result.results[0][~box_mask], photo[~box_mask])


def test_instruct_engine_refuses_an_inpainting_model(dirs, manager, photo):
    registry = registry_for("ENV", "instruct", model=dirs["sd"], steps=1)
    with pytest.raises(StepError, match="not an instruction-editing pipeline"):
        Executor(registry, models=manager).run(one_step("ENV", {"image": IMG, "prompt": "snowy"}), photo)


# -- RES: CLIPSeg ----------------------------------------------------------------------------------
def test_res_clipseg(dirs, manager, photo):
    registry = registry_for("RES", "clipseg", model=dirs["clipseg"], threshold=0.5)
    wf = one_step("RES", {"image": IMG, "prompt": "the helmet"}, outputs=("mask", "image"))
    ex = Executor(registry, models=manager)
    result = ex.run(wf, photo)
    mask, cut = result.results
    assert mask.dtype == bool and mask.shape == photo.shape[:2] and 0 < mask.mean() < 1
    assert cut.shape == (60, 80, 4) and cut.dtype == np.uint8
    np.testing.assert_array_equal(cut[..., 3] > 0, mask)  # the cut-out's alpha is the mask
    np.testing.assert_array_equal(cut[mask][:, :3], photo[mask])
    assert ex.run(wf, photo).executed == []
    fresh = Executor(registry, models=manager).run(wf, photo).results[0]
    np.testing.assert_array_equal(fresh, mask)
    # a threshold nothing reaches: an honest CannotDo, not an empty mask
    high = registry_for("RES", "clipseg", model=dirs["clipseg"], threshold=1.0)  # sigmoid never exceeds 1
    with pytest.raises(StepCannotDo, match="found nothing matching"):
        Executor(high, models=manager).run(wf, photo)


# -- CMI-PRED and ADD-PRED: a vision-language model -------------------------------------------------
def test_cmi_pred_caption_from_vlm(dirs, manager, photo, box_mask):
    # a caption is no result on its own: FILL draws it, as in the official outpainting recipe
    registry = Registry.discover(engine_choice={"CMI-PRED": "vlm", "FILL": "diffusers-inpaint"},
                                 engine_options={"CMI-PRED": {"model": dirs["vlm"], "max_new_tokens": 8},
                                                 "FILL": {"model": dirs["sd"], "steps": 1}})

    def workflow(ratios):
        given = dict(zip(("left_ratio", "right_ratio", "top_ratio", "bottom_ratio"), ratios)) if ratios else {}
        outs = {"caption": "step1[caption]"}
        if ratios:
            outs.update(image="step1[image]", mask="step1[mask]")
        image, mask = ("step1[image]", "step1[mask]") if ratios else (IMG, MASK)
        return parse_workflow({"process": "caption", "pipeline": [
            {"step": 1, "model": "CMI-PRED", "input": {"image": IMG, **given}, "output": outs},
            {"step": 2, "model": "FILL", "input": {"image": image, "mask": mask, "prompt": "step1[caption]"},
             "output": {"image": "step2[image]"}},
            {"result": "[step2[image]]"}]}).workflow

    result = Executor(registry, models=manager).run(workflow(None), photo, box_mask)
    caption = result.values[1]["caption"]
    assert isinstance(caption, str) and caption  # random weights: some text, but text
    assert result.trace[0].engine == "vlm"
    assert ("mllm", dirs["vlm"], "none", "cpu") in [e["key"] for e in manager.loaded()]  # the Builder's key
    again = Executor(registry, models=manager).run(workflow(None), photo, box_mask)
    assert again.values[1]["caption"] == caption  # greedy decoding: deterministic
    np.testing.assert_array_equal(again.results[0], result.results[0])

    # with the four ratios: caption + expanded canvas + mask of the new area (left grows by 20 px)
    wide = Executor(registry, models=manager).run(workflow((1.5, 1.0, 1.0, 1.0)), photo)
    assert wide.values[1]["caption"] == caption
    canvas, new = wide.values[1]["image"], wide.values[1]["mask"]
    assert canvas.shape == (60, 100, 3) and new.shape == (60, 100) and new[:, :20].all() and not new[:, 20:].any()
    np.testing.assert_array_equal(wide.results[0][:, 20:], photo)  # FILL kept the old image exactly


def test_add_pred_vlm_real_model_says_when_it_gives_no_box(dirs, manager, photo):
    registry = registry_for("ADD-PRED", "vlm", model=dirs["vlm"], max_new_tokens=8)
    with pytest.raises(StepCannotDo, match="no usable box"):
        Executor(registry, models=manager).run(one_step("ADD-PRED", {"image": IMG, "prompt": "a cat"}, ("mask",)), photo)


def test_add_pred_vlm_box_becomes_a_mask(monkeypatch, photo, box_mask, dirs):
    import lego_demo.vlm as vlm

    monkeypatch.setattr(vlm, "ask_vlm", lambda ctx, image, q, **kw: 'Sure: {"bbox_2d": [10, 10, 40, 30]}')
    registry = registry_for("ADD-PRED", "vlm", model=dirs["vlm"])
    wf = one_step("ADD-PRED", {"image": IMG, "prompt": "a cat", "mask": MASK}, ("mask",))
    mask = Executor(registry).run(wf, photo, box_mask).results[0]
    ys, xs = np.nonzero(mask)
    assert mask.dtype == bool and mask.shape == (60, 80)
    assert xs.min() >= 20 and ys.min() >= 15 and xs.max() <= 39 and ys.max() <= 33  # box scaled 84×56 → 80×60


def test_parse_box():
    from bricks.add_pred import parse_box

    assert parse_box('{"bbox_2d": [10, 20, 50, 40]}', 100, 80) == (10, 20, 50, 40)
    assert parse_box("[500, 0, 1000, 500]", 100, 80, coords="norm1000") == (50, 0, 100, 40)
    assert parse_box("[0.1, 0.1, 0.5, 0.5]", 100, 80) == (10, 8, 50, 40)
    assert parse_box("no box here", 100, 80) is None
    assert parse_box("[5, 5, 5, 5]", 100, 80) is None  # degenerate


# -- engine choice and availability ---------------------------------------------------------------
MODEL_ENGINES = {"RES": "clipseg", "FILL": "diffusers-inpaint", "INPAINT": "diffusers-inpaint",
                 "RCM": "diffusers-inpaint", "CBG": "diffusers-inpaint", "STYLE": "instruct", "ENV": "instruct",
                 "POSE": "instruct", "CMI-PRED": "vlm", "ADD-PRED": "vlm"}


def test_classical_engines_stay_the_default(dirs):
    bare = Registry.discover()
    configured = Registry.discover(engine_options={b: {"model": dirs["sd"]} for b in MODEL_ENGINES})
    for brick, engine in MODEL_ENGINES.items():
        spec = bare.get(brick)
        status = {e["name"]: e for e in bare.engine_status(spec)}
        assert status[engine]["kind"] == "model" and not status[engine]["available"]
        assert "no model configured" in status[engine]["reason"]
        if brick == "POSE":  # no classical engine: nothing can run without a model
            with pytest.raises(CannotDo, match="no model configured"):
                bare.choose_engine(spec)
            assert configured.choose_engine(spec).name == "instruct"
        else:
            assert bare.choose_engine(spec).kind == "classical"
            assert configured.choose_engine(configured.get(brick)).kind == "classical"  # a model alone chooses nothing
    chosen = Registry.discover(engine_choice={"FILL": "diffusers-inpaint"},
                               engine_options={"FILL": {"model": dirs["sd"]}})
    assert chosen.choose_engine(chosen.get("FILL")).name == "diffusers-inpaint"


def test_unavailable_reasons(tmp_path, dirs):
    missing = Registry.discover(engine_choice={"FILL": "diffusers-inpaint"},
                                engine_options={"FILL": {"model": str(tmp_path / "nowhere")}})
    with pytest.raises(CannotDo, match="weights not found at"):
        missing.choose_engine(missing.get("FILL"))
    not_diffusers = Registry.discover(engine_choice={"FILL": "diffusers-inpaint"},
                                      engine_options={"FILL": {"model": dirs["clipseg"]}})
    with pytest.raises(CannotDo, match="no model_index.json"):
        not_diffusers.choose_engine(not_diffusers.get("FILL"))


def test_editor_config_normalises_and_checks_engine_names(dirs):
    editor = Editor.from_config(EditorConfig(engine_choice={"FLUX-FILL": "diffusers-inpaint"},
                                             engine_options={"flux-fill": {"model": dirs["sd"]}}))
    assert editor.registry.engine_choice == {"FILL": "diffusers-inpaint"}
    assert editor.registry.choose_engine(editor.registry.get("FILL")).name == "diffusers-inpaint"
    assert editor.executor.models is editor.models and editor.models.loaded() == []  # nothing loaded yet
    with pytest.raises(BadInput, match="not one of its engines"):
        Editor.from_config(EditorConfig(engine_choice={"FILL": "flux"}))


def test_family_detection(tmp_path):
    from lego_demo.diffusion import INPAINT_FAMILIES, INSTRUCT_FAMILIES, pipeline_class, settings, work_size

    for name in ("FluxFillPipeline", "FluxKontextPipeline"):
        d = tmp_path / name
        d.mkdir()
        (d / "model_index.json").write_text(json.dumps({"_class_name": name, "transformer": ["diffusers", "X"]}))
        assert pipeline_class(str(d)) == name
    assert INPAINT_FAMILIES["FluxFillPipeline"] == "flux-fill"
    assert INSTRUCT_FAMILIES["FluxKontextPipeline"] == "flux-kontext"
    s = settings({"model": str(tmp_path / "FluxFillPipeline")}, "flux-fill")
    assert (s.multiple, s.size, s.guidance, s.device, s.offload) == (16, 1024, 30.0, "cpu", False)
    assert work_size(80, 60, 1024, 16) == (80, 64) and work_size(2000, 1000, 1024, 16) == (1024, 512)


# -- the CLI: --config and --engine --------------------------------------------------------------
def test_cli_bricks_json_lists_engines_with_reasons(tmp_path, dirs, capsys):
    cfg = tmp_path / "lego.toml"
    cfg.write_text(f'[engines.RES]\nengine = "clipseg"\nmodel = "{dirs["clipseg"]}"\n')
    assert main(["bricks", "--json", "--config", str(cfg), "--engine", f"FILL=diffusers-inpaint:{tmp_path}/none"]) == 0
    listing = {b["name"]: {e["name"]: e for e in b["engines"]} for b in json.loads(capsys.readouterr().out)}
    assert listing["RES"]["clipseg"]["available"] and listing["RES"]["grounding"]["available"]
    assert not listing["FILL"]["diffusers-inpaint"]["available"]
    assert "weights not found at" in listing["FILL"]["diffusers-inpaint"]["reason"]
    assert "no model configured" in listing["POSE"]["instruct"]["reason"]
    for brick, engine in MODEL_ENGINES.items():
        assert listing[brick][engine]["kind"] == "model"


def test_cli_run_uses_the_configured_model_engine(tmp_path, dirs, photo, box_mask, monkeypatch):
    from PIL import Image

    Image.fromarray(photo).save(tmp_path / "img.png")
    Image.fromarray(box_mask.astype(np.uint8) * 255).save(tmp_path / "mask.png")
    cfg = tmp_path / "lego.toml"
    cfg.write_text(f'[engines.FILL]\nengine = "diffusers-inpaint"\nmodel = "{dirs["sd"]}"\nsteps = 1\n')
    monkeypatch.setenv("LEGO_CONFIG", str(cfg))  # the environment variable names the file
    wf = tmp_path / "wf.json"
    wf.write_text(json.dumps({"process": "fill", "pipeline": [
        {"step": 1, "model": "FLUX-FILL", "input": {"image": IMG, "mask": MASK, "prompt": "a cup"},
         "output": {"image": "step1[image]"}}, {"result": "[step1[image]]"}]}))
    out = tmp_path / "out"
    assert main(["run", str(wf), "--image", str(tmp_path / "img.png"), "--mask", str(tmp_path / "mask.png"),
                 "--out", str(out)]) == 0
    trace = json.loads((out / "trace.json").read_text())
    assert trace["steps"][0]["engine"] == "diffusers-inpaint"
    result = np.asarray(Image.open(out / "result_1.png").convert("RGB"))
    np.testing.assert_array_equal(result[~box_mask], photo[~box_mask])


# -- GPU only: the 4-bit path (bitsandbytes in diffusers needs CUDA) -------------------------------
@pytest.mark.gpu
@cuda
def test_fill_in_4bit_on_cuda(dirs, photo, box_mask):
    pytest.importorskip("bitsandbytes")
    models = ModelManager()
    registry = registry_for("FILL", "diffusers-inpaint", model=dirs["sd"], steps=2, quant="4bit", device="cuda")
    out = Executor(registry, models=models).run(one_step("FILL", {"image": IMG, "mask": MASK, "prompt": "a cup"}),
                                                photo, box_mask).results[0]
    np.testing.assert_array_equal(out[~box_mask], photo[~box_mask])
    (entry,) = models.loaded()
    assert entry["key"][3] == "4bit" and "cuda" in entry["device"]
    pipe = models.get(entry["key"], lambda: pytest.fail("loaded twice"))
    assert any(type(m).__name__ == "Linear4bit" for m in pipe.unet.modules())


@pytest.mark.gpu
@cuda
def test_offload_on_cuda(dirs, photo):
    models = ModelManager()
    registry = registry_for("ENV", "instruct", model=dirs["ip2p"], steps=2, offload=True, device="cuda")
    out = Executor(registry, models=models).run(one_step("ENV", {"image": IMG, "prompt": "snowy"}), photo).results[0]
    assert out.shape == photo.shape
    assert models.loaded()[0]["key"][-1] == "offload"

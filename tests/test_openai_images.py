"""The openai-images engine against a scripted Images API server (tests/fake_images.py): what
it sends (multipart image, mask in the API's convention, prompt, model, a size the server
accepts), how it maps the answer back (exact outside-mask pixels), and how failures read."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from fake_images import FakeImagesServer, decode_png
from PIL import Image

from lego_demo.config import editor_config, engine_settings
from lego_demo.editor import Editor
from lego_demo.errors import BadInput, StepCannotDo
from lego_demo.executor import Executor
from lego_demo.registry import Registry
from lego_demo.workflow import parse_workflow

pytest.importorskip("openai")
ROOT = Path(__file__).resolve().parents[1]
GREEN = (0, 200, 0)


@pytest.fixture
def server():
    with FakeImagesServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def photo():
    from skimage import data

    return np.ascontiguousarray(data.chelsea()[::4, ::4])  # 113×75: no multiple of 16, aspect 3:2


@pytest.fixture(scope="module")
def mask(photo):
    m = np.zeros(photo.shape[:2], bool)
    m[20:50, 30:80] = True
    return m


def registry_for(server, flags, extra=None) -> Registry:
    choice, options = engine_settings({"images": extra or {}}, flags, server.url)
    return Registry.discover(engine_choice=choice, engine_options=options)


def one_step(brick: str, inputs: dict) -> object:
    text = {"process": "x", "pipeline": [{"step": 1, "model": brick, "input": inputs,
                                         "output": {"image": "step1[image]"}}, {"result": "[step1[image]]"}]}
    import json

    return parse_workflow(json.dumps(text)).workflow


FILL = one_step("FILL", {"image": "init[image]", "mask": "init[mask]", "prompt": "a green apple"})


def test_sends_image_mask_prompt_and_keeps_every_outside_pixel(server, photo, mask):
    registry = registry_for(server, ["FILL=openai-images:qwen-image-edit"])
    result = Executor(registry).run(FILL, photo, mask)
    out = result.results[0]
    assert out.shape == photo.shape
    assert np.array_equal(out[~mask], photo[~mask])  # exactly the input's outside the mask
    assert (out[mask] == GREEN).all()  # the server's answer inside it
    assert result.trace[0].engine == "openai-images"
    (request,) = server.requests
    fields = request["fields"]
    assert fields["prompt"] == "a green apple" and fields["model"] == "qwen-image-edit"
    assert fields["size"] == "1536x1024"  # the accepted size closest to 3:2
    sent, sent_mask = decode_png(fields["image"]), decode_png(fields["mask"])
    assert sent.shape == (1024, 1536, 3) and sent_mask.shape == (1024, 1536, 4)
    # the API's convention: transparent = edit; it covers the (scaled) mask and nothing far off it
    edit = sent_mask[..., 3] == 0
    assert set(np.unique(sent_mask[..., 3])) == {0, 255}
    h, w = photo.shape[:2]
    scale = min(1536 / w, 1024 / h)
    x0, y0 = (1536 - round(w * scale)) // 2, (1024 - round(h * scale)) // 2
    ys, xs = np.nonzero(edit)
    assert abs(ys.min() - y0 - 20 * scale) <= 2 and abs(ys.max() + 1 - y0 - 50 * scale) <= 2
    assert abs(xs.min() - x0 - 30 * scale) <= 2 and abs(xs.max() + 1 - x0 - 80 * scale) <= 2
    # the picture itself is sent, letterboxed (scaled to fit, borders reflected)
    inner = sent[y0:y0 + round(h * scale), x0:x0 + round(w * scale)]
    small = np.asarray(Image.fromarray(inner).resize(photo.shape[1::-1], Image.BOX)).astype(int)
    assert np.abs(small - photo).mean() < 6


def test_cli_edit_with_the_images_engine(server, tmp_path):
    """The issue's command line: the rule Builder plans, FILL runs on the server."""
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "lego_demo", "--engine", "FILL=openai-images:qwen-image-edit",
                        "--images-base-url", server.url, "edit", str(ROOT / "assets" / "scene.png"), "--instruction",
                        "replace the red circle with a green apple", "--out", str(out), "--think", "1"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "FILL · openai-images · done" in r.stderr
    fills = [q["fields"] for q in server.requests]
    assert len(fills) == 1 and {"image", "mask", "prompt"} <= set(fills[0]) and "apple" in fills[0]["prompt"]
    src = np.asarray(Image.open(ROOT / "assets" / "scene.png").convert("RGB"))
    res = np.asarray(Image.open(out / "result_1.png").convert("RGB"))
    green = (res == GREEN).all(axis=2)
    assert green.sum() > 1000  # the server's apple landed where the circle was
    ys, xs = np.nonzero(green)
    s = src.astype(int)
    red = (s[..., 0] > s[..., 1] + 80) & (s[..., 0] > s[..., 2] + 80)  # the shaded red circle
    ry, rx = np.nonzero(red)
    assert abs(ys.mean() - ry.mean()) < 15 and abs(xs.mean() - rx.mean()) < 15
    import cv2

    near = cv2.dilate((red | green).astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    assert np.array_equal(res[~near], src[~near])  # the rest of the picture is untouched


REQUESTS = [
    ("INPAINT", {"image": "init[image]", "mask": "init[mask]", "preimage": "init[image]", "score": 0.5}, True,
     "fill it with the background"),
    ("RCM", {"image": "init[image]", "mask": "init[mask]", "prompt": "change the colour to dark red"}, True,
     "Make the object in the transparent area dark red"),
    ("CBG", {"image": "init[image]", "mask": "init[mask]", "prompt": "change the background to a beach"}, True,
     "Replace the background with a beach"),
    ("STYLE", {"image": "init[image]", "mask": "init[mask]", "style": "watercolour", "prompt": None}, True,
     "Turn the image into watercolour style"),
    ("STYLE", {"image": "init[image]", "mask": None, "style": "anime style", "prompt": "a cat"}, False,
     "Turn a cat into anime style"),
    ("ENV", {"image": "init[image]", "prompt": "make it snowy"}, False, "make it snowy"),
    ("POSE", {"image": "init[image]", "prompt": "the cat raises its paw"}, False, "the cat raises its paw"),
]


@pytest.mark.parametrize("brick,inputs,masked,wording", REQUESTS, ids=[f"{r[0]}-{i}" for i, r in enumerate(REQUESTS)])
def test_every_served_brick(server, photo, mask, brick, inputs, masked, wording):
    registry = registry_for(server, [f"{brick}=openai-images:edit-model"])
    out = Executor(registry).run(one_step(brick, inputs), photo, mask).results[0]
    fields = server.requests[0]["fields"]
    assert wording in fields["prompt"]
    assert out.shape == photo.shape
    if masked:
        assert np.array_equal(out[~mask], photo[~mask]) and (out[mask] == GREEN).all()
        assert (decode_png(fields["mask"])[..., 3] == 0).sum() > 0
    else:  # a whole-image edit: only the letterbox borders are kept
        assert (out == GREEN).all()
        kept = decode_png(fields["mask"])[..., 3] == 255
        scale = min(1536 / photo.shape[1], 1024 / photo.shape[0])
        inside = round(photo.shape[1] * scale) * round(photo.shape[0] * scale)
        assert kept.sum() == 1536 * 1024 - inside and kept[0].all() and not kept[512, 768]


def test_answer_at_another_size_or_as_url_maps_back(server, photo, mask):
    registry = registry_for(server, ["FILL=openai-images:m"])
    server.script = [("solid_at", ((512, 512), GREEN)), ("url", (0, 0, 255))]
    a = Executor(registry).run(FILL, photo, mask).results[0]
    b = Executor(registry, seed=1).run(FILL, photo, mask).results[0]
    for out, colour in ((a, GREEN), (b, (0, 0, 255))):
        assert out.shape == photo.shape and np.array_equal(out[~mask], photo[~mask])
        assert (out[mask] == colour).all()


@pytest.mark.parametrize("name,sizes", [("rocket", None), ("astronaut", None), ("coffee", "any")])
def test_round_trip_puts_every_pixel_back_in_place(server, name, sizes):
    """A server that answers with the image it was sent: the result must be the input again
    (up to resampling), for portrait, square and landscape photos: no shift, no stretch."""
    from skimage import data

    photo = getattr(data, name)()
    registry = registry_for(server, ["ENV=openai-images:m"], {"sizes": sizes} if sizes else {})
    server.script = [("echo", None)]
    out = Executor(registry).run(one_step("ENV", {"image": "init[image]", "prompt": "make it snowy"}), photo).results[0]
    assert out.shape == photo.shape
    err = (out.astype(float) - photo) ** 2
    assert 10 * np.log10(255 ** 2 / max(err.mean(), 1e-9)) > 30  # PSNR in dB
    # a one-pixel shift would cost far more than resampling does
    shifted = (np.roll(photo, 1, axis=1).astype(float) - photo) ** 2
    assert err.mean() < 0.5 * shifted.mean()


def test_any_size_server_gets_the_image_size(server, photo, mask):
    registry = registry_for(server, ["FILL=openai-images:m"], {"sizes": "any", "max_side": 96})
    Executor(registry).run(FILL, photo, mask)
    w, h = (int(v) for v in server.requests[0]["fields"]["size"].split("x"))
    assert w % 16 == 0 and h % 16 == 0 and max(w, h) <= 96 and abs(w / h - 113 / 75) < 0.15


@pytest.mark.parametrize("script,words", [
    (("status", (400, "Your request was rejected by the safety system")), "rejected by the safety system"),
    (("status", (500, "the GPU fell over")), "HTTP 500"),
    (("raw", b"<html>not json</html>"), "not an Images API response"),
    (("raw", b'{"created": 0, "data": []}'), "without an image"),
    (("raw", b'{"created": 0, "data": [{"b64_json": "bm90IGFuIGltYWdl"}]}'), "cannot be read"),
    (("sleep", (3.0, ("solid", GREEN))), "did not answer within 1 s"),
])
def test_failures_fail_the_step_with_the_reason(server, photo, mask, script, words):
    registry = registry_for(server, ["FILL=openai-images:m"], {"timeout": 1})
    server.script = [script]
    with pytest.raises(StepCannotDo, match=words) as info:
        Executor(registry).run(FILL, photo, mask)
    assert info.value.exit_code == 3 and "step 1 (FILL, engine openai-images)" in str(info.value)


def test_refusal_exits_3_from_the_cli(server, tmp_path):
    server.script = [("status", (400, "moderation_blocked: the request was refused"))]
    wf = tmp_path / "wf.json"
    wf.write_text(FILL.dumps())
    m = np.zeros((768, 1024), np.uint8)
    m[300:400, 100:300] = 255
    Image.fromarray(m).save(tmp_path / "mask.png")
    r = subprocess.run([sys.executable, "-m", "lego_demo", "--engine", "FILL=openai-images:m", "--images-base-url",
                        server.url, "run", str(wf), "--image", str(ROOT / "assets" / "scene.png"), "--mask",
                        str(tmp_path / "mask.png"), "--out", str(tmp_path / "out")],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 3 and "moderation_blocked" in r.stderr and "Traceback" not in r.stderr


def test_unreachable_server_and_bad_key(photo, mask):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    choice, options = engine_settings({}, ["FILL=openai-images:m"], f"http://127.0.0.1:{port}/v1")
    registry = Registry.discover(engine_choice=choice, engine_options=options)
    with pytest.raises(StepCannotDo, match="cannot reach"):
        Executor(registry).run(FILL, photo, mask)
    with FakeImagesServer() as srv:
        srv.script = [("status", (401, "bad key"))]
        with pytest.raises(Exception, match="refused the API key") as info:
            Executor(registry_for(srv, ["FILL=openai-images:m"])).run(FILL, photo, mask)
        assert info.value.exit_code == 2


def test_concurrency_limit_per_server_across_sessions(server, photo, mask):
    """Six edits at once (one shared Executor, as in the app), concurrency = 2: never more
    than two requests in flight to the server."""
    registry = registry_for(server, ["FILL=openai-images:m"], {"concurrency": 2})
    executor = Executor(registry)
    server.script = [("sleep", (0.3, ("solid", GREEN)))] * 6
    errors = []

    def edit(seed):
        try:
            Executor(registry, cache=executor.cache, seed=seed, slots=executor.slots).run(FILL, photo, mask)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=edit, args=(seed,)) for seed in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(server.requests) == 6
    assert server.max_in_flight == 2
    assert executor.slots.state() == {f"images {server.url}": {"limit": 2, "busy": 0, "waiting": 0}}


def test_availability_says_what_to_configure(monkeypatch):
    monkeypatch.delenv("LEGO_IMAGES_BASE_URL", raising=False)
    choice, options = engine_settings({}, ["FILL=openai-images:m"])
    registry = Registry.discover(engine_choice=choice, engine_options=options)
    status = {e["name"]: e for e in registry.engine_status(registry.get("FILL"))}
    assert "--images-base-url" in status["openai-images"]["reason"]
    choice, options = engine_settings({}, ["FILL=openai-images"], "http://127.0.0.1:1/v1")
    registry = Registry.discover(engine_choice=choice, engine_options=options)
    assert "no model configured" in registry.engine_status(registry.get("FILL"))[-1]["reason"]
    served = {s.name for s in registry.specs() if any(e.name == "openai-images" for e in s.engines)}
    assert served == {"FILL", "INPAINT", "RCM", "CBG", "STYLE", "ENV", "POSE"}


def test_server_url_from_flag_env_or_config(tmp_path, monkeypatch):
    cfg = tmp_path / "lego.toml"
    cfg.write_text('[images]\nbase_url = "http://toml:1/v1"\nconcurrency = 3\n'
                   '[engines.ENV]\nengine = "openai-images"\nmodel = "kontext"\n')
    monkeypatch.delenv("LEGO_IMAGES_BASE_URL", raising=False)
    assert editor_config(cfg).engine_options["ENV"] == {"base_url": "http://toml:1/v1", "concurrency": 3,
                                                       "model": "kontext"}
    monkeypatch.setenv("LEGO_IMAGES_BASE_URL", "http://env:2/v1")
    assert editor_config(cfg).engine_options["ENV"]["base_url"] == "http://env:2/v1"
    flagged = editor_config(cfg, images_base_url="http://flag:3/v1")
    assert flagged.engine_options["ENV"]["base_url"] == "http://flag:3/v1"
    assert "base_url" not in flagged.engine_options.get("FILL", {})  # only bricks on this engine
    editor = Editor.from_config(flagged)
    assert editor.registry.choose_engine(editor.registry.get("ENV")).name == "openai-images"


def test_bad_size_option_is_bad_input(server, photo, mask):
    registry = registry_for(server, ["FILL=openai-images:m"], {"sizes": ["big"]})
    with pytest.raises(Exception, match="must look like 1024x768") as info:
        Executor(registry).run(FILL, photo, mask)
    assert isinstance(info.value.cause, BadInput) and not server.requests


def test_images_table_defaults_and_the_seed(server, photo):
    """[images] model/quality/seed are defaults for every brick on the engine; seed = true sends
    the step's seed (the same run seed and step give the same seed)."""
    config = {"images": {"model": "editor-1", "quality": "high", "seed": True},
              "engines": {"ENV": {"engine": "openai-images"}}}
    choice, options = engine_settings(config, [], server.url)
    registry = Registry.discover(engine_choice=choice, engine_options=options)
    wf = one_step("ENV", {"image": "init[image]", "prompt": "make it snowy"})
    for seed in (3, 3, 4):
        Executor(registry, seed=seed).run(wf, photo)
    sent = [q["fields"] for q in server.requests]
    assert [f["model"] for f in sent] == ["editor-1"] * 3 and sent[0]["quality"] == "high"
    assert sent[0]["seed"] == sent[1]["seed"] != sent[2]["seed"]

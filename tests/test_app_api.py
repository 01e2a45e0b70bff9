"""The app's named API through gradio_client and its MCP server through the `mcp` client,
against `app.py`'s app launched in-process on 127.0.0.1 with a free port."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from local_app import served_app  # noqa: E402

import app as app_module  # noqa: E402
from lego_demo.synthetic import make_scene  # noqa: E402


@pytest.fixture(scope="module")
def launched():
    with served_app("--mcp") as served:
        yield served


@pytest.fixture(scope="module")
def server(launched) -> str:
    return launched[0]


@pytest.fixture(scope="module")
def app_demo(launched):
    return launched[1]


@pytest.fixture(scope="module")
def client(server) -> Client:
    return Client(server, verbose=False)


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    d = tmp_path_factory.mktemp("api")
    a = make_scene(320, 240, objects=[("red", "circle", (90, 120), 45), ("blue", "square", (230, 120), 40)], seed=2)
    b = make_scene(400, 300, objects=[("yellow", "triangle", (120, 150), 50), ("green", "circle", (300, 150), 50)],
                   background_kind="tiles", seed=5)
    paths = {}
    for name, scene in (("a", a), ("b", b)):
        paths[name] = d / f"{name}.png"
        Image.fromarray(scene.image).save(paths[name])
    return {"a": (a, paths["a"]), "b": (b, paths["b"])}


def _load(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_parser_defaults_bind_localhost(monkeypatch):
    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    monkeypatch.delenv("GRADIO_MCP_SERVER", raising=False)
    monkeypatch.delenv("LEGO_CONFIG", raising=False)
    args = app_module.build_parser().parse_args([])
    assert (args.host, args.port, args.mcp) == ("127.0.0.1", 7860, False)
    from lego_demo.config import editor_config

    assert editor_config(args.config, args.engine, builder=args.builder).builder == "rule"  # offline default
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7999")
    monkeypatch.setenv("GRADIO_MCP_SERVER", "True")
    args = app_module.build_parser().parse_args([])
    assert (args.host, args.port, args.mcp) == ("0.0.0.0", 7999, True)


def test_api_lists_the_three_named_endpoints(client):
    info = client.view_api(return_format="dict", print_info=False)
    named = info["named_endpoints"]
    assert {"/edit", "/plan", "/run_workflow", "/think_edit"} <= set(named)
    params = [p["parameter_name"] for p in named["/edit"]["parameters"]]
    assert params == ["image", "instruction", "mask", "feedback", "think_turns"]  # new last, optional
    assert [p["parameter_has_default"] for p in named["/edit"]["parameters"]] == [False, False, True, True, True]
    assert named["/edit"]["parameters"][-1]["parameter_default"] == 1
    assert len(named["/edit"]["returns"]) == 3  # unchanged for existing callers
    think = named["/think_edit"]
    assert [p["parameter_name"] for p in think["parameters"]] == ["image", "instruction", "mask", "feedback", "turns"]
    assert think["parameters"][-1]["parameter_default"] == 3 and len(think["returns"]) == 2
    # the UI's own handlers are not part of the public API
    assert not any(name.startswith("/on_") for name in named)


def test_edit_removes_the_red_circle(client, scenes):
    scene, path = scenes["a"]
    result, workflow, reasoning = client.predict(handle_file(str(path)), "remove the red circle", api_name="/edit")
    out = _load(result)
    assert out.shape == scene.image.shape
    circle = scene.find("red", "circle").mask
    red_before = (scene.image[circle][:, 0] > 150) & (scene.image[circle][:, 1] < 90)
    red_after = (out[circle][:, 0] > 150) & (out[circle][:, 1] < 90)
    assert red_before.mean() > 0.8 and red_after.mean() < 0.2
    wf = json.loads(workflow)
    assert wf["pipeline"][0]["model"] and reasoning.strip()


def test_plan_honours_feedback_and_reports_declines(client, scenes):
    _, path = scenes["a"]
    wf_text, reasoning, declined = client.predict(handle_file(str(path)), "make the blue square green", None,
                                                  "don't use RES", api_name="/plan")
    assert declined == "" and reasoning
    models = [s.get("model") for s in json.loads(wf_text)["pipeline"] if "model" in s]
    assert models and "RES" not in models
    wf_text, reasoning, declined = client.predict(handle_file(str(path)), "qwertyuiop asdfgh", api_name="/plan")
    assert wf_text == "" and declined


def test_run_workflow_and_its_errors(client, scenes):
    scene, path = scenes["a"]
    wf = {"process": "remove the blue square", "pipeline": [
        {"step": 1, "model": "RES", "input": {"image": "init[image]", "prompt": "blue square"},
         "output": {"mask": "step1[mask]", "image": "step1[image]"}},
        {"step": 2, "model": "FASTINPAINT", "input": {"image": "init[image]", "mask": "step1[mask]"},
         "output": {"image": "step2[image]", "score": "step2[score]"}},
        {"result": "[step2[image]]"}]}
    result, trace = client.predict(handle_file(str(path)), json.dumps(wf), api_name="/run_workflow")
    assert _load(result).shape == scene.image.shape
    trace = json.loads(trace)
    assert [s["brick"] for s in trace["steps"]] == ["RES", "FASTINPAINT"]

    bad = json.dumps({"process": "x", "pipeline": [
        {"step": 1, "model": "RES", "input": {"image": "init[image]"}, "output": {"mask": "step1[mask]"}},
        {"result": "[step1[mask]]"}]})
    with pytest.raises(Exception) as info:
        client.predict(handle_file(str(path)), bad, api_name="/run_workflow")
    text = str(info.value)
    assert "step 1" in text and "prompt" in text and "Traceback" not in text


def test_masked_edit_through_the_api(client, scenes, tmp_path):
    scene, path = scenes["a"]
    mask = np.zeros(scene.image.shape[:2], np.uint8)
    mask[scene.find("blue", "square").mask] = 255
    mask_path = tmp_path / "mask.png"
    Image.fromarray(mask).save(mask_path)
    result, workflow, _ = client.predict(handle_file(str(path)), "remove it", handle_file(str(mask_path)), "",
                                         api_name="/edit")
    assert "init[mask]" in workflow
    out = _load(result)
    square = mask > 0
    assert np.abs(out[square].astype(int) - scene.image[square].astype(int)).mean() > 20  # the square changed
    outside = ~square
    assert np.abs(out[outside].astype(int) - scene.image[outside].astype(int)).mean() < 3  # the rest did not


def test_two_concurrent_clients_get_their_own_results(server, scenes):
    results: dict[str, np.ndarray] = {}
    errors: list[BaseException] = []

    def work(name: str, instruction: str):
        try:
            c = Client(server, verbose=False)
            out, _, _ = c.predict(handle_file(str(scenes[name][1])), instruction, api_name="/edit")
            results[name] = _load(out)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=("a", "remove the red circle")),
               threading.Thread(target=work, args=("b", "remove the yellow triangle"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    a, b = scenes["a"][0], scenes["b"][0]
    assert results["a"].shape == a.image.shape and results["b"].shape == b.image.shape
    tri = b.find("yellow", "triangle").mask
    yellow_after = (results["b"][tri][:, 0] > 180) & (results["b"][tri][:, 2] < 100)
    assert yellow_after.mean() < 0.2  # b's triangle removed in b's result
    green = b.find("green", "circle").mask
    assert np.abs(results["b"][green].astype(int) - b.image[green].astype(int)).mean() < 3  # b's circle kept


@pytest.fixture(scope="module")
def outlined(tmp_path_factory):
    """The first removal leaves the object's outline; the critic asks to expand the mask."""
    scene = make_scene(640, 480, background_kind="checker", seed=3, outline=4)
    path = tmp_path_factory.mktemp("think") / "outlined.png"
    Image.fromarray(scene.image).save(path)
    return scene, path, f"remove the {scene.objects[0].name}"


def test_think_edit_returns_the_best_turn_and_every_turn_with_scores(client, outlined):
    scene, path, instruction = outlined
    result, turns_json = client.predict(handle_file(str(path)), instruction, turns=3, api_name="/think_edit")
    assert _load(result).shape == scene.image.shape
    report = json.loads(turns_json)
    turns = report["turns"]
    assert [t["turn"] for t in turns] == [1, 2] and report["best_turn"] == 2
    assert "good enough at turn 2" in report["stopped"]
    assert turns[0]["critique"]["feedback"] == ["expand the mask"] and turns[0]["critique"]["semantic"] < 8
    assert turns[1]["feedback"] == ["expand the mask"]
    assert "GROW" in [s.get("model") for s in turns[1]["workflow"]["pipeline"]]
    assert turns[1]["critique"]["semantic"] >= 8 and turns[1]["critique"]["quality"] >= 8
    assert all(isinstance(c["passed"], bool) for t in turns for c in t["critique"]["checks"])


def test_edit_with_think_turns_returns_the_best_turn_and_stays_compatible(client, outlined):
    _, path, instruction = outlined
    _, workflow, reasoning = client.predict(handle_file(str(path)), instruction, None, "", 3, api_name="/edit")
    assert "GROW" in workflow and reasoning  # the refined (second) turn's plan
    _, workflow, _ = client.predict(handle_file(str(path)), instruction, api_name="/edit")
    assert "GROW" not in workflow  # default think_turns=1: a plain edit, as before
    with pytest.raises(Exception) as info:
        client.predict(handle_file(str(path)), instruction, turns=9, api_name="/think_edit")
    assert "from 1 to 5" in str(info.value) and "Traceback" not in str(info.value)


def test_junk_upload_gets_the_apps_message_without_a_server_path(client, tmp_path):
    """Issue 21 D13: Gradio's own preprocessing answered with Pillow's error and its temp path."""
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image at all")
    with pytest.raises(Exception) as info:
        client.predict(handle_file(str(junk)), "remove the red circle", api_name="/edit")
    text = str(info.value)
    assert "not an image this tool can read" in text, text
    assert "Traceback" not in text and "/tmp" not in text and "gradio" not in text.lower()


# -- one decoder: the API reads uploads exactly as the CLI does (issue 21 D4, D5, D14) --------------
TONE_MASKED = json.dumps({"process": "brighten the masked area", "pipeline": [
    {"step": 1, "model": "TONE", "input": {"image": "init[image]", "brightness": 0.5, "mask": "init[mask]"},
     "output": {"image": "step1[image]"}}, {"result": "[step1[image]]"}]})
TONE = json.dumps({"process": "brighten", "pipeline": [
    {"step": 1, "model": "TONE", "input": {"image": "init[image]", "brightness": 0.3}, "output": {"image": "step1[image]"}},
    {"result": "[step1[image]]"}]})


@pytest.fixture(scope="module")
def direct():
    """An Editor built like the app's, to compare the API with the CLI's way of reading files."""
    from lego_demo.editor import Editor, EditorConfig

    return Editor.from_config(EditorConfig())


def _via_api(client, image: Path, workflow: str, mask: Path | None = None) -> np.ndarray:
    result, _ = client.predict(handle_file(str(image)), workflow, handle_file(str(mask)) if mask else None,
                               api_name="/run_workflow")
    return np.asarray(Image.open(result))


def _via_cli_reader(direct, image: Path, workflow: str, mask: Path | None = None) -> np.ndarray:
    return direct.run(workflow, str(image), str(mask) if mask else None).first_image()


def test_uploads_decode_as_in_the_cli(client, direct, tmp_path):
    rng = np.random.default_rng(4)
    cases = {}
    # a GIF: palette indices (read as grey before: a black result)
    palette = Image.fromarray(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)).quantize(16)
    palette.save(tmp_path / "palette.gif")
    cases["gif"] = tmp_path / "palette.gif"
    # a 16-bit grey PNG (clipped to white before)
    Image.fromarray((rng.integers(0, 60000, (60, 80))).astype(np.uint16)).save(tmp_path / "deep.png")
    cases["16-bit"] = tmp_path / "deep.png"
    # a palette PNG with a transparent entry (alpha dropped before)
    p = palette.copy()
    p.info["transparency"] = 3
    p.save(tmp_path / "palette_alpha.png", transparency=3)
    cases["palette alpha"] = tmp_path / "palette_alpha.png"
    for name, path in cases.items():
        got, want = _via_api(client, path, TONE), _via_cli_reader(direct, path, TONE)
        assert got.shape == want.shape and np.array_equal(got, want), name
    assert _via_api(client, cases["gif"], TONE).mean() > 60  # not the black result of reading indices as grey


def test_an_rgba_mask_selects_by_alpha_as_in_the_cli(client, direct, tmp_path):
    image = make_scene(120, 90, seed=8).image
    Image.fromarray(image).save(tmp_path / "image.png")
    mask = np.zeros((90, 120, 4), np.uint8)  # black everywhere; the selection is in the alpha channel
    mask[20:60, 30:90, 3] = 255
    Image.fromarray(mask, "RGBA").save(tmp_path / "mask.png")
    got = _via_api(client, tmp_path / "image.png", TONE_MASKED, tmp_path / "mask.png")
    want = _via_cli_reader(direct, tmp_path / "image.png", TONE_MASKED, tmp_path / "mask.png")
    assert np.array_equal(got, want)
    inside = np.zeros((90, 120), bool)
    inside[20:60, 30:90] = True
    assert got[inside].mean() > image[inside].mean() + 10 and np.array_equal(got[~inside], image[~inside])


def test_an_empty_mask_is_no_mask_in_every_endpoint(client, direct, tmp_path):
    """Issue 21 D14: the API dropped an all-black mask, then failed with "init[mask] is not an
    initial input"; the CLI did the same. Empty = no mask everywhere, and the error says so."""
    image = make_scene(120, 90, seed=8).image
    Image.fromarray(image).save(tmp_path / "image.png")
    Image.fromarray(np.zeros((90, 120), np.uint8)).save(tmp_path / "empty.png")
    with pytest.raises(Exception) as info:
        _via_api(client, tmp_path / "image.png", TONE_MASKED, tmp_path / "empty.png")
    assert "no mask was given or it selects nothing" in str(info.value), str(info.value)
    from lego_demo.errors import BadInput

    with pytest.raises(BadInput, match="no mask was given or it selects nothing"):
        _via_cli_reader(direct, tmp_path / "image.png", TONE_MASKED, tmp_path / "empty.png")
    _, workflow, _ = client.predict(handle_file(str(tmp_path / "image.png")), "make it brighter",
                                    handle_file(str(tmp_path / "empty.png")), api_name="/edit")
    assert "init[mask]" not in workflow  # planned as an edit without a mask


def test_a_decompression_bomb_is_refused_before_decoding(client, tmp_path):
    """Issue 21 D4: a 13000×13000 PNG (a few hundred KB) peaked at 2 GB when Gradio decoded it."""
    import resource

    bomb = tmp_path / "bomb.png"
    Image.new("1", (13000, 13000)).save(bomb, optimize=True)
    assert bomb.stat().st_size < 2**20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MB, this process (the server too)
    with pytest.raises(Exception) as info:
        client.predict(handle_file(str(bomb)), "make it brighter", api_name="/edit")
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
    assert "13000×13000" in str(info.value) and "limit" in str(info.value), str(info.value)
    assert grown < 150, f"peak memory grew {grown:.0f} MB: the upload was decoded"


# -- the Builder a visitor may pick (issue 21 D3) ------------------------------------------------------
def test_a_visitor_cannot_switch_to_a_builder_the_operator_did_not_configure(server, app_demo):
    import httpx

    [fn] = [f for f in app_demo.fns.values() if f.name == "on_builder"]
    with pytest.raises(Exception, match="not offered here"):
        fn.fn(None, "mllm")  # the private handler itself
    reply = httpx.post(server + "gradio_api/run/predict", timeout=30,
                       json={"fn_index": fn._id, "data": [None, "mllm"], "session_hash": "visitor"})
    assert reply.status_code != 200 or "error" in reply.text.lower(), reply.text
    editors = app_demo.lego_editors
    assert editors.names == ["rule"] and "mllm" not in editors._by_name  # nothing was built, nothing loaded


# -- MCP ------------------------------------------------------------------------------------------
def _data_url(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def test_mcp_lists_edit_and_plan_and_calls_plan(server, scenes):
    pytest.importorskip("mcp")
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    url = server + "gradio_api/mcp/"

    async def go():
        async with streamable_http_client(url) as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = {t.name: t for t in (await session.list_tools()).tools}
                result = await session.call_tool(
                    "plan", {"image": _data_url(scenes["a"][1]), "instruction": "remove the red circle"})
                return tools, result

    tools, result = asyncio.run(asyncio.wait_for(go(), timeout=120))
    assert {"edit", "plan", "run_workflow", "think_edit"} <= set(tools)
    assert "instruction" in json.dumps(tools["plan"].inputSchema)
    assert "Plan an edit" in (tools["plan"].description or "")
    assert not result.isError, result
    text = " ".join(getattr(c, "text", "") for c in result.content)
    assert "RES" in text and "red circle" in text


def test_edit_fits_a_large_upload_to_the_working_size(client, tmp_path):
    """The app once ran a 4000×3000 upload at full size; only the CLI fitted it."""
    from lego_demo.images import WORKING_MAX_SIDE

    big = np.zeros((3000, 4000, 3), np.uint8)
    big[:, :2000] = (200, 60, 40)
    path = tmp_path / "big.jpg"
    Image.fromarray(big).save(path, quality=90)
    result, _, _ = client.predict(handle_file(str(path)), "make the image brighter", api_name="/edit")
    out = _load(result)
    assert max(out.shape[:2]) == WORKING_MAX_SIDE and out.shape[:2] == (1536, 2048)


# -- one queue for every edit, and temporary files that go away (issue 21 D7, D9) -------------------
@pytest.fixture(scope="module")
def strict(monkeypatch_module):
    """An app allowing one edit at a time and keeping temporary files for 6 s, whose Editor
    counts how many requests are inside `prepare` (where every endpoint starts) at once."""
    from lego_demo.editor import Editor

    inside, peak, lock = [0], [0], threading.Lock()
    prepare = Editor.prepare

    def counting_prepare(self, image, mask=None):
        with lock:
            inside[0] += 1
            peak[0] = max(peak[0], inside[0])
        try:
            import time

            time.sleep(0.4)
            return prepare(self, image, mask)
        finally:
            with lock:
                inside[0] -= 1

    monkeypatch_module.setattr(Editor, "prepare", counting_prepare)
    with served_app("--concurrency", "1", "--files-ttl", "6") as (url, demo):
        yield url, demo, peak


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_one_concurrency_limit_holds_across_every_edit_endpoint(strict, scenes):
    """--concurrency N bounds the edits running at once, whichever endpoints they call (it
    was per endpoint: ~9 handlers × N)."""
    url, _, peak = strict
    path = handle_file(str(scenes["a"][1]))
    calls = [("/edit", (path, "make it brighter")), ("/plan", (path, "make it brighter")),
             ("/run_workflow", (path, TONE)), ("/think_edit", (path, "make it brighter", None, "", 1)),
             ("/edit", (path, "make it darker"))]
    errors: list[BaseException] = []

    def call(api_name, args):
        try:
            Client(url, verbose=False).predict(*args, api_name=api_name)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=call, args=c) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert peak[0] == 1, f"{peak[0]} edits ran at once with --concurrency 1"


def test_uploads_and_results_are_deleted_after_their_time_to_live(strict, scenes):
    import time

    url, demo, _ = strict
    assert demo.delete_cache == (2, 6)
    Client(url, verbose=False).predict(handle_file(str(scenes["a"][1])), "make it brighter", api_name="/edit")
    kept = {f for block in demo.blocks.values() for f in getattr(block, "keep_in_cache", ())}  # the page's own images
    uploads = [Path(f) for f in demo.upload_file_set]
    made = [Path(f) for files in demo.temp_file_sets for f in files if f not in kept]
    assert uploads and any(p.exists() for p in uploads)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(p.exists() for p in uploads + made):
        time.sleep(0.5)
    assert not any(p.exists() for p in uploads + made), "uploads or result files outlived their time to live"

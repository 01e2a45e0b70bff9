"""The app's named API through gradio_client and its MCP server through the `mcp` client,
against `app.py`'s app launched in-process on 127.0.0.1 with a free port."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

import app as app_module  # noqa: E402
from lego_demo.synthetic import make_scene  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    args = app_module.build_parser().parse_args(["--port", str(_free_port()), "--mcp", "--host", "127.0.0.1"])
    demo, options = app_module.create_app(args)
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, **options)
    try:
        yield url.rstrip("/") + "/"
    finally:
        demo.close()


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


def test_bad_image_is_a_clear_error(client, tmp_path):
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image at all")
    with pytest.raises(Exception) as info:
        client.predict(handle_file(str(junk)), "remove the red circle", api_name="/edit")
    assert "Traceback" not in str(info.value)


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

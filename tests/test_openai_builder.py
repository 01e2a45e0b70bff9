"""The OpenAI-compatible Builder against a small fake server on 127.0.0.1 (http.server in a
thread): plain and streamed (SSE) completions, malformed answers, retries with problems,
and clear errors (exit 3) for a refused connection or a timeout."""

from __future__ import annotations

import base64
import io
import json
import socket

import numpy as np
import pytest
from fake_openai import FakeServer
from PIL import Image

from lego_demo.builders.base import PlanRequest
from lego_demo.builders.openai_builder import OpenAIBuilder
from lego_demo.cli import main
from lego_demo.errors import BadInput, CannotDo

pytest.importorskip("openai")

GOOD = {
    "process": "make the car red",
    "pipeline": [
        {"step": 1, "model": "RES", "input": {"image": "init[image]", "prompt": "car"},
         "output": {"mask": "step1[mask]", "image": "step1[image]"}},
        {"step": 2, "model": "FLUX-RCM", "input": {"image": "init[image]", "mask": "step1[mask]", "prompt": "red"},
         "output": {"image": "step2[image]"}},
        {"result": "[step2[image]]"},
    ],
}
BAD = json.loads(json.dumps(GOOD))
BAD["pipeline"][1]["model"] = "RECOLOR-MAGIC"  # unknown brick


def answer(workflow: dict, thought: str = "segment the car, recolour it") -> str:
    return f"<think>{thought}</think>\n{json.dumps(workflow)}"


@pytest.fixture
def server():
    with FakeServer() as s:
        yield s


def user_parts(request: dict) -> list[dict]:
    return request["body"]["messages"][0]["content"]


def test_plain_request_carries_image_and_tools_and_retries_a_bad_plan(registry, image, server):
    server.script = [("text", answer(BAD)), ("text", answer(GOOD, "RCM it is"))]
    builder = OpenAIBuilder(registry, model="fake-vl", base_url=server.url, timeout=10)
    plan = builder.plan(PlanRequest("make the car red", image=image))

    assert plan.ok and [s.brick for s in plan.workflow.steps] == ["RES", "RCM"]
    assert "RCM it is" in plan.reasoning
    assert len(server.requests) == 2
    first = server.requests[0]
    assert first["body"]["model"] == "fake-vl" and first["auth"] == "Bearer EMPTY"
    parts = user_parts(first)
    assert parts[0]["type"] == "image_url"
    url = parts[0]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    png = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert png.format == "PNG" and png.size == (image.shape[1], image.shape[0])
    assert np.array_equal(np.asarray(png.convert("RGB")), image)
    prompt = parts[1]["text"]
    for name in registry.names():
        assert f".{name} (" in prompt  # every brick, the plugin BRIGHT too
    assert '"make the car red"' in prompt

    retry = server.requests[1]["body"]["messages"]
    assert [m["role"] for m in retry] == ["user", "assistant", "user"]
    assert retry[1]["content"] == answer(BAD)
    problems = retry[2]["content"][0]["text"]
    assert "unknown brick 'RECOLOR-MAGIC'" in problems and "step 2" in problems


def test_streamed_answer_reaches_on_text_in_chunks(registry, image, server):
    server.script = [("text", answer(GOOD))]
    seen: list[str] = []
    plan = OpenAIBuilder(registry, model="fake-vl", base_url=server.url, timeout=10).plan(
        PlanRequest("make the car red", image=image), on_text=seen.append)
    assert plan.ok
    assert server.requests[0]["body"]["stream"] is True
    assert len(seen) > 3 and "".join(seen) == answer(GOOD)


def test_reasoning_sent_apart_becomes_the_plans_reasoning(registry, server):
    """Servers with a reasoning parser (vLLM --reasoning-parser) send the thinking as
    delta.reasoning_content; it is streamed inside <think> and kept as Plan.reasoning."""
    server.script = [("deltas", [{"role": "assistant"}, {"reasoning_content": "The car is "},
                                 {"reasoning_content": "on the left."}, {"content": json.dumps(GOOD)}])]
    seen: list[str] = []
    plan = OpenAIBuilder(registry, model="fake-vl", base_url=server.url, timeout=10).plan(
        PlanRequest("make the car red"), on_text=seen.append)
    assert plan.ok and plan.reasoning == "The car is on the left."
    assert "".join(seen).startswith("<think>The car is on the left.</think>{")


def test_malformed_answers_are_repaired_or_retried(registry, image, server):
    messy = answer(GOOD).replace('"step2[image]"}', '"step2[image]",}').replace('"car"', '"car"，')
    server.script = [("text", "Sure! Here is the plan: step 1 RES, step 2 RCM."),  # no JSON at all
                     ("text", "```json\n{\"process\": \"x\", \"pipeline\": [}\n```"),  # broken JSON
                     ("text", messy)]  # trailing comma + fullwidth comma: repaired, valid
    seen: list[str] = []
    plan = OpenAIBuilder(registry, model="fake-vl", base_url=server.url, timeout=10).plan(
        PlanRequest("make the car red", image=image), on_text=seen.append)
    assert plan.ok, plan.declined
    assert len(server.requests) == 3
    assert any("fullwidth" in r or "malformed" in r for r in plan.repairs)
    assert "no JSON object found" in server.requests[1]["body"]["messages"][2]["content"][0]["text"]


def test_three_bad_answers_decline_with_problems(registry, server):
    server.script = [("text", answer(BAD))] * 3
    plan = OpenAIBuilder(registry, model="fake-vl", base_url=server.url, timeout=10).plan(
        PlanRequest("make the car red"))
    assert not plan.ok and plan.workflow is None and plan.problems
    assert "RECOLOR-MAGIC" in plan.declined
    assert "image_url" not in json.dumps(server.requests[0]["body"])  # no image given, none sent


def test_a_body_that_is_not_a_completion_is_a_clear_error(registry, server):
    server.script = [("raw", b"<html>gateway says hi</html>")]
    builder = OpenAIBuilder(registry, model="fake-vl", base_url=server.url, timeout=10, stream=False)
    with pytest.raises(CannotDo) as err:
        builder.plan(PlanRequest("make the car red"))
    assert err.value.exit_code == 3 and server.url in str(err.value)
    assert "not an OpenAI chat completion" in str(err.value)


def test_a_malformed_event_stream_is_a_clear_error(registry, server):
    server.script = [("sse", b'data: {"id": "x", "choices": [{"index": 0, "delta": {"content": "<think>'
                             b'hm"}}]}\n\ndata: {not json at all\n\ndata: [DONE]\n\n')]
    seen: list[str] = []
    builder = OpenAIBuilder(registry, model="fake-vl", base_url=server.url, timeout=10)
    with pytest.raises(CannotDo, match="not an OpenAI chat completion") as err:
        builder.plan(PlanRequest("make the car red"), on_text=seen.append)
    assert err.value.exit_code == 3 and seen == ["<think>hm"]


def test_wrong_path_is_bad_input(registry, server):
    builder = OpenAIBuilder(registry, model="fake-vl", base_url=server.url.removesuffix("/v1"), timeout=10)
    with pytest.raises(BadInput, match="ends in /v1") as err:
        builder.plan(PlanRequest("make the car red"))
    assert err.value.exit_code == 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_is_exit_3(registry):
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(CannotDo, match="cannot reach") as err:
        OpenAIBuilder(registry, model="fake-vl", base_url=url, timeout=5).plan(PlanRequest("make the car red"))
    assert err.value.exit_code == 3 and url in str(err.value)


def test_timeout_is_exit_3(registry, server):
    server.script = [("sleep", (2.0, answer(GOOD)))]
    with pytest.raises(CannotDo, match="did not answer within 0.5 s") as err:
        OpenAIBuilder(registry, model="fake-vl", base_url=server.url, timeout=0.5).plan(PlanRequest("make the car red"))
    assert err.value.exit_code == 3


def test_bad_configuration_is_exit_2(registry):
    for url in ("localhost:8000/v1", "ftp://example.org/v1", "not a url"):
        with pytest.raises(BadInput, match="not an http"):
            OpenAIBuilder(registry, model="m", base_url=url)
    with pytest.raises(BadInput, match="--model"):
        OpenAIBuilder(registry, model="")


def test_cli_plan_with_openai_builder(server, capsys):
    server.script = [("text", answer(GOOD))]
    rc = main(["--bricks", "examples/plugins/bright.py", "plan", "--builder", "openai", "--model", "fake-vl",
               "--base-url", server.url, "--instruction", "make the car red", "--json"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert json.loads(out)["workflow"]["pipeline"][1]["model"] == "RCM"


def test_cli_unreachable_server_exits_3_without_traceback(capsys):
    rc = main(["plan", "--builder", "openai", "--model", "m", "--base-url", f"http://127.0.0.1:{free_port()}/v1",
               "--instruction", "make the car red"])
    err = capsys.readouterr().err
    assert rc == 3 and "cannot reach" in err and "Traceback" not in err
    rc = main(["plan", "--builder", "openai", "--model", "m", "--base-url", "nonsense", "--instruction", "x"])
    assert rc == 2 and "not an http(s) URL" in capsys.readouterr().err

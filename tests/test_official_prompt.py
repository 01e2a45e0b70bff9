"""`--prompt-file`: the official Lego-Edit prompt profile, with a prompt file in the release's
format written by the tests (tests/official_format.py), through a scripted OpenAI-compatible
server, the CLI, and the local mllm Builder on a tiny random Qwen2.5-VL."""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
import pytest
from fake_openai import FakeServer
from official_format import EXAMPLES, official_prompt_text, write_official_prompt
from PIL import Image

from lego_demo.builders.base import PlanRequest
from lego_demo.builders.official import MASK_PREFIX, OfficialPrompt
from lego_demo.builders.openai_builder import OpenAIBuilder
from lego_demo.cli import main
from lego_demo.errors import BadInput
from lego_demo.registry import Registry
from lego_demo.validate import validate
from lego_demo.workflow import parse_workflow

REMOVE_ANSWER = "<think>The dog is named: RES, then a quick pre-inpaint, then FLUX-INPAINT.</think>\n" + EXAMPLES[1][1]


@pytest.fixture
def prompt_file(tmp_path):
    return write_official_prompt(tmp_path / "system_prompt.txt")


@pytest.fixture(scope="module")
def stock():
    return Registry.discover()  # no plugins: the request is the file verbatim


@pytest.fixture(scope="module")
def coffee():
    from skimage import data

    return data.coffee()  # 600 × 400


def expected_text(instruction: str) -> str:
    return official_prompt_text().replace("YourInstruction", instruction)


def sent_image(body: dict) -> Image.Image:
    url = next(p for p in body["messages"][0]["content"] if p["type"] == "image_url")["image_url"]["url"]
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


# -- the file --------------------------------------------------------------------------------
def test_prompt_file_is_checked(tmp_path):
    with pytest.raises(BadInput, match="no such file"):
        OfficialPrompt.read(tmp_path / "missing.txt")
    (tmp_path / "a.txt").write_text("Plan the edit: {instruction}")
    with pytest.raises(BadInput, match="YourInstruction"):
        OfficialPrompt.read(tmp_path / "a.txt")
    (tmp_path / "b.txt").write_text('Plan "YourInstruction" as JSON.')
    with pytest.raises(BadInput, match="lists no tools"):
        OfficialPrompt.read(tmp_path / "b.txt")


def test_the_official_tool_list_is_read(prompt_file):
    entries = OfficialPrompt.read(prompt_file).entries()
    assert [(e.number, e.name) for e in entries if e.kind == "predict"][-1] == (7, "BBOX")
    assert [e.name for e in entries if e.kind == "edit"] == [
        "FASTINPAINT", "FLUX-FILL", "FLUX-RCM", "FLUX-INPAINT", "FLUX-CBG", "FLUX-STYLE", "COMPOSE", "RESIZE",
        "FLUX-ENV", "FLUX-POSE"]
    assert len(entries) == 17  # "1. Image" in the type list and the numbered rules are no tools


@pytest.mark.parametrize("index", range(4))
def test_the_four_example_answers_still_parse(stock, index):
    instruction, answer = EXAMPLES[index]
    parsed = parse_workflow(answer)
    init = {"image": "Image", "mask": "Mask"} if instruction.startswith(MASK_PREFIX) else {"image": "Image"}
    from lego_demo.types import ValueType

    checked = validate(parsed.workflow, stock, init_values={k: ValueType(v) for k, v in init.items()})
    assert checked.ok, checked.problems


# -- the request ---------------------------------------------------------------------------------
def test_request_is_the_file_verbatim_with_the_instruction_in_place(stock, prompt_file, coffee):
    official = OfficialPrompt.read(prompt_file)
    text = official.prompt(stock, PlanRequest("remove the dog", image=coffee)).text()
    assert text == expected_text("remove the dog")
    masked = official.prompt(stock, PlanRequest("remove the dog", image=coffee, has_mask=True)).text()
    assert masked == expected_text(MASK_PREFIX + "remove the dog")


def test_plugin_bricks_follow_the_last_official_tool_of_their_kind(registry, prompt_file):
    text = OfficialPrompt.read(prompt_file).prompt(registry, PlanRequest("brighten it")).text()
    spec = registry.get("BRIGHT")
    entry = re.search(r"\n11\.BRIGHT \((.*)\)\nInput: \{(.*)\}\nOutput: \{(.*)\}\nConstraint: (.*)\n", text)
    assert entry, text[text.index("10.FLUX-POSE"):][:600]
    assert entry.group(1) == spec.summary and entry.group(3) == "Image[image]"
    assert text.index("10.FLUX-POSE") < entry.start() < text.index("**Actual example1:**")
    assert text.replace(entry.group(0), "\n", 1) == expected_text("brighten it")  # nothing else changed


def test_feedback_follows_the_file(stock, prompt_file):
    text = OfficialPrompt.read(prompt_file).prompt(stock, PlanRequest("remove the dog"),
                                                   feedback=["don't use RES"]).text()
    assert text.startswith(expected_text("remove the dog").rstrip("\n"))
    assert "don't use RES" in text and "Do not use RES." in text


# -- acceptance: a scripted OpenAI-compatible server --------------------------------------------
@pytest.mark.parametrize("has_mask", [False, True], ids=["no-mask", "mask"])
def test_openai_builder_sends_what_the_official_demo_sends(stock, prompt_file, coffee, has_mask):
    with FakeServer() as server:
        server.script = [("text", REMOVE_ANSWER)]
        builder = OpenAIBuilder(stock, model="lego-builder", base_url=server.url, prompt_file=str(prompt_file))
        plan = builder.plan(PlanRequest("remove the dog", image=coffee, has_mask=has_mask))
    assert plan.ok and [s.brick for s in plan.workflow.steps] == ["RES", "FASTINPAINT", "INPAINT"]
    (request,) = server.requests
    body = request["body"]
    assert body["max_tokens"] == 4096 and body["temperature"] == 0
    assert [m["role"] for m in body["messages"]] == ["user"]  # no system turn
    parts = body["messages"][0]["content"]
    assert [p["type"] for p in parts] == ["image_url", "text"]  # the image first, as the demo sends it
    instruction = (MASK_PREFIX if has_mask else "") + "remove the dog"
    assert parts[1]["text"] == expected_text(instruction)
    assert (f'"{MASK_PREFIX}remove the dog"' in parts[1]["text"]) == has_mask  # the prefix only with a mask
    assert sent_image(body).size == (448, 298)  # 600 × 400 → 448 on the long side, short side truncated


def test_small_images_are_scaled_up_to_448(stock, prompt_file):
    with FakeServer() as server:
        server.script = [("text", REMOVE_ANSWER)]
        builder = OpenAIBuilder(stock, model="lego-builder", base_url=server.url, prompt_file=str(prompt_file))
        builder.plan(PlanRequest("remove the dog", image=np.zeros((60, 80, 3), np.uint8)))
    assert sent_image(server.requests[0]["body"]).size == (448, 336)


def test_without_a_prompt_file_the_project_prompt_stays(stock, coffee):
    with FakeServer() as server:
        server.script = [("text", REMOVE_ANSWER)]
        OpenAIBuilder(stock, model="qwen", base_url=server.url).plan(PlanRequest("remove the dog", image=coffee))
    body = server.requests[0]["body"]
    assert body["max_tokens"] == 2048 and "YourInstruction" not in json.dumps(body)
    assert sent_image(body).size == (600, 400)  # not scaled up or down (1024 at most)


# -- acceptance: the CLI ---------------------------------------------------------------------------
@pytest.fixture
def files(tmp_path, coffee):
    img, mask = tmp_path / "coffee.png", tmp_path / "mask.png"
    Image.fromarray(coffee).save(img)
    m = np.zeros(coffee.shape[:2], np.uint8)
    m[100:300, 200:400] = 255
    Image.fromarray(m).save(mask)
    return str(img), str(mask)


@pytest.mark.parametrize("with_mask", [False, True], ids=["no-mask", "mask"])
def test_cli_plan_openai_with_prompt_file(prompt_file, files, capsys, with_mask):
    img, mask = files
    with FakeServer() as server:
        server.script = [("text", REMOVE_ANSWER)]
        code = main(["plan", "--builder", "openai", "--base-url", server.url, "--model", "lego-builder",
                     "--prompt-file", str(prompt_file), "--instruction", "remove the dog", "--image", img,
                     *(["--mask", mask] if with_mask else []), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["workflow"]["pipeline"][0]["model"] == "RES"
    text = server.requests[0]["body"]["messages"][0]["content"][1]["text"]
    assert (f'"{MASK_PREFIX}remove the dog"' in text) == with_mask
    assert server.requests[0]["body"]["max_tokens"] == 4096


def test_cli_plan_mllm_with_prompt_file(prompt_file, files, capsys, monkeypatch, tmp_path):
    """The local Builder: a tiny random Qwen2.5-VL loads through the real path; generation is
    scripted (random weights write no workflow) and records what the model would be given."""
    pytest.importorskip("torch")
    pytest.importorskip("tokenizers")
    import tiny_models

    import lego_demo.builders.mllm as mllm

    model_dir = tiny_models.qwen_vl(tmp_path / "qwen")
    seen = []

    def scripted(loaded, text, images, max_new_tokens, on_text=None):
        seen.append((loaded, text, images, max_new_tokens))
        return REMOVE_ANSWER

    monkeypatch.setattr(mllm, "generate_text", scripted)
    img, mask = files
    code = main(["plan", "--builder", "mllm", "--model", str(model_dir), "--quant", "none",
                 "--prompt-file", str(prompt_file), "--instruction", "remove the dog", "--image", img,
                 "--mask", mask, "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and [s["model"] for s in out["workflow"]["pipeline"][:3]] == ["RES", "FASTINPAINT", "INPAINT"]
    ((model, processor), text, images, max_new_tokens), = seen
    assert type(model).__name__ == "Qwen2_5_VLForConditionalGeneration"  # loaded from the directory
    assert max_new_tokens == 4096 and [im.size for im in images] == [(448, 298)]
    assert text.count("<|im_start|>user") == 1 and "<|im_start|>system" not in text
    assert expected_text(MASK_PREFIX + "remove the dog") in text
    assert text.index("<|image_pad|>") < text.index("**System Role**")  # the image before the text

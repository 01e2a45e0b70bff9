"""The model critic (EditThinker's format) with a scripted model and with the local fake
OpenAI-compatible server; and the loop replacing the instruction with its refinement."""

import base64
import io
import json

import numpy as np
import pytest
from fake_openai import FakeServer
from PIL import Image

from lego_demo.builders.openai_builder import OpenAIBuilder
from lego_demo.critics.model import ModelCritic, parse_judgement
from lego_demo.errors import CannotDo

SRC = np.zeros((24, 32, 3), np.uint8)
EDITED = np.full((24, 32, 3), 200, np.uint8)


@pytest.mark.parametrize("text,expect", [
    ('<think>the cup is still there</think><score>{"semantic": 3, "quality": 8}</score><answer>remove the red cup on the left completely</answer>',
     (3.0, 8.0, "the cup is still there", "remove the red cup on the left completely")),
    ('<think>fine</think><score>{"semantic": 9.5, "quality": 9,}</score><answer>done</answer>', (9.5, 9.0, "fine", None)),
    ("<think>ok</think>\nsemantic: 7, quality: 6\n<answer>make it redder", (7.0, 6.0, "ok", "make it redder")),
    ('<score>{"semantic": 14, "quality": -2}</score><answer>Done.</answer>', (10.0, 0.0, "", None)),
])
def test_tolerant_parsing(text, expect):
    assert parse_judgement(text) == expect


def test_unreadable_score_is_a_value_error():
    with pytest.raises(ValueError, match="no semantic or quality score"):
        parse_judgement("<think>hmm</think><answer>try again</answer>")


class Scripted:
    def __init__(self, answers):
        self.answers, self.calls = list(answers), []

    def chat(self, messages, images, on_text=None):
        self.calls.append((messages, images))
        return self.answers.pop(0)


def test_scripted_model_is_asked_again_once_then_judges():
    model = Scripted(["I think it's great!", '<think>weak</think><score>{"semantic": 4, "quality": 9}</score>'
                      '<answer>make the cup a much deeper red</answer>'])
    c = ModelCritic(model).critique(SRC, EDITED, "make the cup red")
    assert (c.semantic, c.quality, c.refined_instruction) == (4.0, 9.0, "make the cup a much deeper red")
    assert c.feedback == [] and len(model.calls) == 2
    first, images = model.calls[0]
    assert [p["type"] for p in first[0]["content"]] == ["image", "image", "text"] and len(images) == 2
    assert "could not be read" in model.calls[1][0][-1]["content"][0]["text"]


def test_scripted_model_that_never_answers_in_form_is_cannot_do():
    with pytest.raises(CannotDo, match="could not be read"):
        ModelCritic(Scripted(["nope", "still nope"])).critique(SRC, EDITED, "x")


def decode(url: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


def test_openai_backend_sends_both_images(registry):
    with FakeServer() as server:
        server.script = [("text", '<think>the background is still blue</think><score>{"semantic": 5, "quality": 7}</score>'
                                  "<answer>change the background to plain white</answer>")]
        critic = ModelCritic(OpenAIBuilder(registry, model="fake-vl", base_url=server.url))
        c = critic.critique(SRC, EDITED, "make the background white")
    assert (c.semantic, c.quality) == (5.0, 7.0) and c.refined_instruction == "change the background to plain white"
    parts = server.requests[0]["body"]["messages"][0]["content"]
    urls = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
    assert len(urls) == 2 and np.array_equal(decode(urls[0]), SRC) and np.array_equal(decode(urls[1]), EDITED)
    assert "make the background white" in json.dumps(parts)


def test_loop_uses_the_refined_instruction(registry):
    from lego_demo.builders.base import Plan
    from lego_demo.critics.base import Critique
    from lego_demo.editor import Inputs
    from lego_demo.think import think_while_edit
    from lego_demo.workflow import parse_workflow

    class Editor:
        instructions = []

        class builder:
            name = "scripted"

        def plan(self, instruction, inputs, feedback=(), previous=None, on_text=None):
            self.instructions.append(instruction)
            # a different plan per instruction (the refined one names the left cup)
            wf = parse_workflow({"process": instruction, "pipeline": [
                {"step": 1, "model": "RES", "input": {"image": "init[image]", "prompt": instruction},
                 "output": {"mask": "step1[mask]"}}, {"result": "[step1[mask]]"}]}).workflow
            return Plan(reasoning="r", workflow=wf)

        def run(self, workflow, inputs, on_progress=None, instruction=None):
            class Run:
                results, executed, cached = [EDITED], [1], []
            return Run()

    class Critic:
        name = "m"
        scores = [(4, 9, "remove the red cup on the left"), (9, 9, None)]

        def critique(self, *a, **k):
            s, q, r = self.scores.pop(0)
            return Critique(s, q, "r", r)

    editor = Editor()
    out = think_while_edit(editor, Critic(), "remove the cup", Inputs(SRC), max_turns=3)
    assert editor.instructions == ["remove the cup", "remove the red cup on the left"] and out.best == 1


# -- --critic-prompt-file: EditThinker's released template format ------------------------------
# written for the tests in the template's format: two <image> markers, the two placeholders, a
# JSON example with braces of its own, and the <answer> example with its labels swapped
TEMPLATE = """<image><image>
# Judge an edit and refine its prompt

Image 1 is the original, image 2 the edited result.
Original User Instruction: "{original_instruction}"
Rewritten Prompt (used for this edit): "{rewritten_prompt}"

Score semantic (did it do what was asked, leaving the rest alone) and quality (natural, no artifacts), 0-10.

Answer like this:
<think>
your analysis
</think>

<score>
{
    "semantic": [0-10],
    "quality": [0-10]
}
</score>

<answer>
[a better rewritten prompt] if GOOD ENOUGH
[the rewritten prompt unchanged] if NOT GOOD ENOUGH
</answer>"""

REWRITTEN = "make the cup red"


@pytest.fixture
def template_file(tmp_path):
    path = tmp_path / "prompt_template.txt"
    path.write_text(TEMPLATE, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("text,expect", [
    # the format as trained: multi-line score JSON, a refined prompt
    ('<think>\nThe cup is orange, not red.\n</think>\n\n<score>\n{\n    "semantic": 4,\n    "quality": 8\n}\n</score>'
     '\n\n<answer>\nmake the cup a deep red, keep the table unchanged\n</answer>',
     (4.0, 8.0, "The cup is orange, not red.", "make the cup a deep red, keep the table unchanged")),
    # the rewritten prompt unchanged: good enough
    ('<think>fine</think><score>{"semantic": 9, "quality": 9}</score><answer>Make the cup red</answer>',
     (9.0, 9.0, "fine", None)),
    # the swapped labels of the template's example copied into the answer
    ('<think>x</think><score>{"semantic": 5, "quality": 7}</score><answer>[make the cup deep red] if NOT GOOD ENOUGH'
     '</answer>', (5.0, 7.0, "x", "make the cup deep red")),
    # tags reordered and <answer> left open
    ('<answer>make the cup brighter red<score>{"semantic": 6, "quality": 8}</score>',
     (6.0, 8.0, "", "make the cup brighter red")),
    # vLLM's reasoning parser took the opening <think>; scores as lists and strings
    ('the cup is red</think>\n<score>{"semantic": [8], "quality": "9/10"}</score>\n<answer>make the cup red</answer>',
     (8.0, 9.0, "the cup is red", None)),
    # no <answer> at all, no <score> tags: scores read loosely, nothing to refine
    ('<think>hm</think>\n{"semantic": 6, "quality": 8}', (6.0, 8.0, "hm", None)),
])
def test_editthinker_answers_are_read_defensively(text, expect):
    assert parse_judgement(text, unchanged=REWRITTEN) == expect


def test_critic_template_is_checked(tmp_path):
    from lego_demo.critics.model import CriticTemplate
    from lego_demo.errors import BadInput

    with pytest.raises(BadInput, match="no such file"):
        CriticTemplate.read(tmp_path / "missing.txt")
    (tmp_path / "t.txt").write_text("Judge the edit.")
    with pytest.raises(BadInput, match="original_instruction"):
        CriticTemplate.read(tmp_path / "t.txt")


def test_critic_sends_the_template_as_editthinker_does(registry, template_file):
    from types import SimpleNamespace

    plan = SimpleNamespace(workflow=SimpleNamespace(process="用户提供了mask并希望" + REWRITTEN))
    with FakeServer() as server:
        server.script = [("text", '<think>orange</think><score>{"semantic": 3, "quality": 8}</score>'
                                  "<answer>make the cup a deep red</answer>")]
        critic = ModelCritic(OpenAIBuilder(registry, model="editthinker", base_url=server.url),
                             prompt_file=template_file)
        c = critic.critique(SRC, EDITED, "the cup should be red", plan=plan)
    assert (c.semantic, c.quality, c.refined_instruction) == (3.0, 8.0, "make the cup a deep red")
    body = server.requests[0]["body"]
    parts = body["messages"][0]["content"]
    assert [p["type"] for p in parts] == ["image_url", "image_url", "text"] and body["max_tokens"] == 4096
    text = parts[2]["text"]
    assert text == (TEMPLATE.replace("<image>", "").strip().replace("{original_instruction}", "the cup should be red")
                    .replace("{rewritten_prompt}", REWRITTEN))
    assert '"semantic": [0-10]' in text  # the template's own braces survive


def test_editor_builds_the_critic_with_the_template(template_file):
    from lego_demo.editor import Editor, EditorConfig

    editor = Editor.from_config(EditorConfig(builder="openai", model="editthinker", base_url="http://127.0.0.1:9/v1",
                                             critic="model", critic_prompt_file=template_file))
    critic = editor.critic
    assert critic.template is not None and critic.template.path == template_file

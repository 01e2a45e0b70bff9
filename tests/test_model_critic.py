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

        def run(self, workflow, inputs, on_progress=None):
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

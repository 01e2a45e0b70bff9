"""The MLLM Builder: prompt rendering, few-shot examples, the parse/validate/retry loop, and a
tiny random Qwen2.5-VL saved to disk and loaded through the real `MLLMBuilder` code path
(unquantized and bitsandbytes 4-bit on CPU). No hub access."""

from __future__ import annotations

import json

import pytest

from lego_demo.builders.base import PlanRequest
from lego_demo.builders.llm_loop import plan_with_retries
from lego_demo.builders.mllm import CPU_NOTE, MLLMBuilder
from lego_demo.builders.prompt import build_prompt, init_values, load_fewshot, render_system
from lego_demo.errors import BadInput
from lego_demo.models import ModelManager
from lego_demo.validate import validate
from lego_demo.workflow import parse_workflow

REMOVE_OK = {
    "process": "remove the dog",
    "pipeline": [
        {"step": 1, "model": "RES", "input": {"image": "init[image]", "prompt": "dog"},
         "output": {"mask": "step1[mask]", "image": "step1[image]"}},
        {"step": 2, "model": "FASTINPAINT", "input": {"image": "init[image]", "mask": "step1[mask]"},
         "output": {"image": "step2[image]", "score": "step2[score]"}},
        {"step": 3, "model": "INPAINT", "input": {"image": "init[image]", "mask": "step1[mask]",
                                                  "preimage": "step2[image]", "score": "step2[score]"},
         "output": {"image": "step3[image]"}},
        {"result": "[step3[image]]"},
    ],
}
# INPAINT without its required score: one validation problem naming step 3 and the field
REMOVE_BAD = json.loads(json.dumps(REMOVE_OK))
del REMOVE_BAD["pipeline"][2]["input"]["score"]


def answer(workflow: dict, thought: str = "segment, pre-inpaint, inpaint") -> str:
    return f"<think>{thought}</think>\n```json\n{json.dumps(workflow, indent=2)}\n```"


class Scripted:
    """A fake model: returns scripted answers and records every conversation it saw."""

    def __init__(self, *answers: str):
        self.answers = list(answers)
        self.calls: list[list[dict]] = []

    def __call__(self, messages, on_text=None):
        self.calls.append(messages)
        text = self.answers.pop(0)
        if on_text is not None:
            for i in range(0, len(text), 40):
                on_text(text[i : i + 40])
        return text


def last_user_text(messages) -> str:
    return "".join(c.get("text", "") for c in messages[-1]["content"])


# -- prompt ----------------------------------------------------------------------------------
@pytest.mark.parametrize("example", load_fewshot(), ids=lambda e: e["name"])
def test_each_fewshot_example_is_valid_against_the_registry(registry, example):
    parsed = parse_workflow(example["workflow"])
    checked = validate(parsed.workflow, registry, init_values=init_values(example["has_mask"]))
    assert checked.ok, [str(p) for p in checked.problems]
    assert not parsed.repairs and not checked.repairs  # examples teach the exact format
    for step in parsed.workflow.steps:  # canonical names: a renamed brick cannot hide behind an alias
        assert step.brick in registry.names(), step.brick


def test_fewshot_covers_the_asked_cases():
    names = {e["name"] for e in load_fewshot()}
    assert {"remove", "add-then-expand", "style", "masked-style", "recolour", "background"} <= names
    bricks = {s["model"] for e in load_fewshot() for s in e["workflow"]["pipeline"] if "model" in s}
    assert {"MASK-SEG", "CMI-PRED", "STYLE", "ADD-PRED", "FILL", "RCM", "CBG", "INVERSE"} <= bricks


def test_prompt_lists_every_brick_including_plugins(registry):
    system = render_system(registry)
    for heading in ("**System Role**", "**Processing rules**", "**Input and output types**", "PREDICT model list:",
                    "EDIT model list:", "**Actual example1:**"):
        assert heading in system
    for spec in registry.specs():
        assert f".{spec.name} (" in system
    assert ".BRIGHT (" in system  # the plugin brick from examples/plugins/bright.py


def test_prompt_carries_mask_feedback_previous_plan_and_instruction(registry):
    previous = MLLMBuilder(registry, model="unused", generate=Scripted(answer(REMOVE_OK))).plan(
        PlanRequest("remove the dog"))
    assert previous.ok
    prompt = build_prompt(registry, PlanRequest("remove the dog", has_mask=True),
                          feedback=["don't use RES", "use SOS instead"], previous=previous)
    assert "Do not use RES." in prompt.user and "Use SOS." in prompt.user
    assert prompt.banned == {"RES"} and prompt.required == {"SOS"}
    assert "init[mask] marks the region" in prompt.user
    assert '"model": "FASTINPAINT"' in prompt.user  # the previous plan's JSON
    assert prompt.user.rstrip().endswith('"remove the dog", please output the multi-model collaboration process json.')
    no_mask = build_prompt(registry, PlanRequest("remove the dog"))
    assert "init[mask] does not exist" in no_mask.user and "Do not use" not in no_mask.user


# -- the parse / validate / retry loop --------------------------------------------------------
def test_bad_first_plan_is_retried_with_its_problems_then_valid(registry, image):
    model = Scripted(answer(REMOVE_BAD), answer(REMOVE_OK, "fixed: score comes from FASTINPAINT"))
    streamed: list[str] = []
    plan = MLLMBuilder(registry, model="unused", generate=model).plan(
        PlanRequest("remove the dog", image=image), on_text=streamed.append)
    assert plan.ok and plan.workflow.step(3).brick == "INPAINT"
    assert len(model.calls) == 2
    expected = validate(parse_workflow(answer(REMOVE_BAD)).workflow, registry, init_values=init_values(False))
    assert expected.problems
    follow_up = model.calls[1]
    assert [m["role"] for m in follow_up] == ["user", "assistant", "user"]
    assert follow_up[0]["content"][0] == {"type": "image"}  # the image goes first, once
    assert follow_up[1]["content"][0]["text"] == answer(REMOVE_BAD)
    for problem in expected.problems:  # sent back verbatim
        assert str(problem) in last_user_text(follow_up)
    assert "score" in last_user_text(follow_up)
    assert "fixed: score comes from FASTINPAINT" in plan.reasoning
    assert "[retry 1 of 2" in "".join(streamed)


def test_unparseable_answer_is_retried_with_the_parse_error(registry):
    model = Scripted("I would remove the dog.", answer(REMOVE_OK))
    plan = MLLMBuilder(registry, model="unused", generate=model).plan(PlanRequest("remove the dog"))
    assert plan.ok
    assert "no JSON object found" in last_user_text(model.calls[1])


def test_three_bad_plans_decline_with_the_problems(registry):
    model = Scripted(answer(REMOVE_BAD), answer(REMOVE_BAD), "still no json")
    plan = MLLMBuilder(registry, model="unused", generate=model).plan(PlanRequest("remove the dog"))
    assert not plan.ok and plan.workflow is None
    assert len(model.calls) == 3  # the first try and two retries
    assert plan.declined and "3 attempt(s)" in plan.declined
    assert [p.code for p in plan.problems] == ["parse"]
    assert "no JSON object found" in plan.declined
    assert len(model.calls[2]) == 5  # the conversation grows: user, assistant, user, assistant, user


def test_feedback_ban_is_enforced_by_validation(registry):
    sos_plan = json.loads(json.dumps(REMOVE_OK))
    sos_plan["pipeline"][0] = {"step": 1, "model": "SOS", "input": {"image": "init[image]"},
                               "output": {"mask": "step1[mask]", "image": "step1[image]"}}
    model = Scripted(answer(REMOVE_OK), answer(sos_plan))
    plan = MLLMBuilder(registry, model="unused", generate=model).plan(
        PlanRequest("remove the dog"), feedback=["don't use RES"])
    assert plan.ok and plan.workflow.step(1).brick == "SOS"
    assert "Do not use RES." in last_user_text(model.calls[0])
    assert "RES is banned by your feedback" in last_user_text(model.calls[1])


def test_loop_never_returns_an_invalid_plan_as_ok(registry):
    model = Scripted(*[answer(REMOVE_BAD)] * 3)
    plan = plan_with_retries(registry, PlanRequest("remove the dog"), model, max_retries=2)
    assert not plan.ok and plan.problems and plan.problems[0].field == "score"


def test_construction_loads_nothing_and_bad_inputs_are_clear(registry, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    manager = ModelManager()
    builder = MLLMBuilder(registry, model="/nonexistent/lego-builder", manager=manager)
    assert manager.loaded() == []
    with pytest.raises(BadInput, match="does not exist") as err:
        builder.plan(PlanRequest("remove the dog"))
    assert err.value.exit_code == 2
    with pytest.raises(BadInput, match="quantization"):
        MLLMBuilder(registry, model="x", quant="3bit")


# -- a tiny random Qwen2.5-VL on disk, through the real loading path ---------------------------
@pytest.fixture(scope="module")
def tiny_qwen_dir(tmp_path_factory, registry):
    """A random 2-layer Qwen2.5-VL whose tokenizer is trained on the tool prompt (compact prompts)."""
    pytest.importorskip("torch")
    pytest.importorskip("tokenizers")
    from tiny_models import qwen_vl

    return qwen_vl(tmp_path_factory.mktemp("tiny-qwen2.5-vl"), texts=render_system(registry).splitlines(),
                   vocab_size=1200, max_positions=16384)


class Counting:
    """Wraps the real generate of a builder to count calls and keep the texts."""

    def __init__(self, builder):
        self.texts: list[str] = []
        self.real = builder.chat

    def __call__(self, messages, images, on_text=None, **kwargs):
        text = self.real(messages, images, on_text, **kwargs)
        self.texts.append(text)
        return text


@pytest.mark.parametrize("quant", ["none", "4bit"])
def test_tiny_random_qwen_loads_generates_and_declines(registry, image, tiny_qwen_dir, quant, monkeypatch):
    if quant == "4bit":
        pytest.importorskip("bitsandbytes")
    manager = ModelManager()
    builder = MLLMBuilder(registry, model=str(tiny_qwen_dir), quant=quant, device="cpu", manager=manager,
                          max_new_tokens=12)
    assert manager.loaded() == []  # nothing before the first plan
    counting = Counting(builder)
    monkeypatch.setattr(builder, "chat", counting)
    streamed: list[str] = []
    plan = builder.plan(PlanRequest("remove the dog", image=image), on_text=streamed.append)

    # random weights write no workflow: the loop retried twice, then declined with problems
    assert len(counting.texts) == 3
    assert all(isinstance(t, str) for t in counting.texts)
    assert not plan.ok and plan.workflow is None and plan.declined and plan.problems
    assert "3 attempt(s)" in plan.declined
    assert "[retry 2 of 2" in "".join(streamed)
    assert (CPU_NOTE in plan.reasoning) == (quant == "none")  # an explicit 4bit on CPU gets no note

    # loaded once, through the manager, with the asked quantization
    assert [entry["key"] for entry in manager.loaded()] == [("mllm", str(tiny_qwen_dir), quant, "cpu")]
    model, processor = manager.get(builder._key(), lambda: pytest.fail("loaded twice"))
    linear_types = {type(m).__name__ for m in model.modules()}
    assert ("Linear4bit" in linear_types) == (quant == "4bit")
    assert hasattr(processor, "image_processor") and hasattr(processor, "tokenizer")
    assert manager.free(builder._key()) and manager.loaded() == []

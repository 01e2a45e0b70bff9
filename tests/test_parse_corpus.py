"""The tolerant reader on a corpus of quirky and malformed Builder outputs.

Each case: raw text -> either a workflow that validates (with the repairs we expect to be
reported) or the exact problem codes / parse error it must produce."""

import json

import pytest

from lego_demo.errors import WorkflowParseError
from lego_demo.validate import validate
from lego_demo.workflow import Ref, parse_workflow

GOOD = {
    "process": "remove the dog",
    "pipeline": [
        {"step": 1, "model": "RES", "input": {"image": "init[image]", "prompt": "dog"},
         "output": {"mask": "step1[mask]", "image": "step1[image]"}},
        {"step": 2, "model": "FASTINPAINT", "input": {"image": "init[image]", "mask": "step1[mask]"},
         "output": {"image": "step2[image]", "score": "step2[score]"}},
        {"step": 3, "model": "FLUX-INPAINT",
         "input": {"image": "init[image]", "mask": "step1[mask]", "preimage": "step2[image]", "score": "step2[score]"},
         "output": {"image": "step3[image]"}},
        {"result": "[step1[image], step3[image]]"},
    ],
}
G = json.dumps(GOOD, indent=2, ensure_ascii=False)


def mutate(old: str, new: str, text: str = G, nth: int = 1) -> str:
    """Replace the nth occurrence of `old`."""
    assert text.count(old) >= nth, old
    head, *tails = text.split(old)
    return head + "".join((new if i == nth - 1 else old) + t for i, t in enumerate(tails))


# (id, text, expect) — expect: "ok" | ("ok", repair substring) | ("problems", {codes}) | "parse_error"
CASES = [
    ("plain", G, "ok"),
    ("think_preamble", "<think>Find the dog, then remove it.</think>\n" + G, "ok"),
    ("think_unclosed", "<think>Find the dog and remove it\n" + G, "ok"),
    ("closing_think_only", "reasoning here</think>" + G, "ok"),
    ("code_fence_json", "Here you go:\n```json\n" + G + "\n```\nDone.", "ok"),
    ("code_fence_plain", "```\n" + G + "\n```", "ok"),
    ("prose_around", "Sure! The workflow is " + G + " Hope it helps.", "ok"),
    ("two_fences_pick_pipeline", "```json\n{\"note\": 1}\n```\n```json\n" + G + "\n```", "ok"),
    ("trailing_comma_object", mutate('"prompt": "dog"', '"prompt": "dog",'), ("ok", "repaired malformed JSON")),
    ("trailing_comma_list", mutate('"[step1[image], step3[image]]"\n    }', '"[step1[image], step3[image]]"\n    },'), ("ok", "repaired")),
    ("missing_comma_between_fields", mutate('"image": "init[image]",\n        "prompt"', '"image": "init[image]"\n        "prompt"'), ("ok", "repaired")),
    ("missing_comma_between_steps", mutate("},\n    {\n      \"step\": 2", "}\n    {\n      \"step\": 2"), ("ok", "repaired")),
    ("fullwidth_comma", mutate('"image": "init[image]",\n        "prompt"', '"image": "init[image]"，\n        "prompt"'), ("ok", "fullwidth")),
    ("fullwidth_colon", mutate('"prompt": "dog"', '"prompt"： "dog"'), ("ok", "fullwidth")),
    ("curly_quotes", mutate('"prompt": "dog"', '“prompt”: “dog”'), ("ok", "fullwidth")),
    ("chinese_process_kept", mutate('"remove the dog"', '"消除狗，然后输出"'), "ok"),
    ("single_quotes", G.replace('"', "'"), ("ok", "repaired")),
    ("python_none", mutate('"output": {\n        "image": "step3[image]"\n      }', '"output": {\n        "image": "step3[image]"\n      }, "extra": None'), ("ok", "repaired")),
    ("canonical_name_without_prefix", mutate('"model": "FLUX-INPAINT"', '"model": "INPAINT"'), "ok"),
    ("lowercase_brick", mutate('"model": "RES"', '"model": "res"'), "ok"),
    ("underscore_brick", mutate('"model": "FLUX-INPAINT"', '"model": "flux_inpaint"'), "ok"),
    ("step_as_string", mutate('"step": 2,', '"step": "2",'), "ok"),
    ("result_as_list", mutate('"result": "[step1[image], step3[image]]"', '"result": ["step1[image]", "step3[image]"]'), "ok"),
    ("result_without_brackets", mutate('"[step1[image], step3[image]]"', '"step1[image], step3[image]"'), "ok"),
    ("output_key_mismatch", mutate('"output": {\n        "image": "step3[image]"', '"output": {\n        "mask": "step3[image]"'), ("ok", "renamed")),
    ("output_ref_wrong_step", mutate('"image": "step3[image]"\n      }', '"image": "step9[image]"\n      }'), ("ok", "renamed step3")),
    ("float_as_text", None, ("ok", "read as")),
    ("spaces_in_ref", mutate('"mask": "step1[mask]"', '"mask": "step 1 [ mask ]"', nth=2), "ok"),
    ("unknown_brick", mutate('"model": "RES"', '"model": "RESS"'), ("problems", {"unknown_brick"})),
    ("banned_brick", G, ("problems_banned", {"banned"})),
    ("missing_required_input", mutate('"prompt": "dog"', '"prompt": null'), ("problems", {"missing_input"})),
    ("unknown_input", mutate('"prompt": "dog"', '"prompt": "dog", "colour": "red"'), ("problems", {"unknown_input"})),
    ("image_literal_path", mutate('"image": "init[image]",\n        "prompt"', '"image": "/etc/passwd",\n        "prompt"'), ("problems", {"wrong_type"})),
    ("wrong_ref_type", mutate('"mask": "step1[mask]"', '"mask": "step1[image]"', nth=2), ("problems", {"wrong_type"})),
    ("missing_step", mutate('"preimage": "step2[image]"', '"preimage": "step7[image]"'), ("problems", {"missing_step"})),
    ("missing_output", mutate('"score": "step2[score]"\n      },\n      "output": {\n        "image": "step3', '"score": "step2[quality]"\n      },\n      "output": {\n        "image": "step3'), ("problems", {"missing_output"})),
    ("self_reference", mutate('"preimage": "step2[image]"', '"preimage": "step3[image]"'), ("problems", {"cycle"})),
    ("empty_result", mutate('"[step1[image], step3[image]]"', '"[]"'), ("problems", {"empty_result", "unused_step"})),
    ("result_not_ref", mutate('"[step1[image], step3[image]]"', '"[step3[image], the dog]"'), ("problems", {"bad_result"})),
    ("result_is_float", mutate('"[step1[image], step3[image]]"', '"[step3[image], step2[score]]"'), ("problems", {"bad_result"})),
    ("unused_step", mutate('"[step1[image], step3[image]]"', '"[step2[image]]"'), ("problems", {"unused_step"})),
    ("duplicate_step_number", mutate('"step": 3', '"step": 2'), ("problems", {"duplicate_step"})),
    ("init_mask_without_mask", mutate('"mask": "step1[mask]"', '"mask": "init[mask]"', nth=2), ("problems_nomask", {"missing_value"})),
    ("no_json", "I cannot help with that.", "parse_error"),
    ("empty_text", "", "parse_error"),
    ("no_pipeline", '{"process": "x", "steps": []}', "parse_error"),
    ("pipeline_not_list", '{"process": "x", "pipeline": {"step": 1}}', "parse_error"),
    ("step_without_model", '{"process": "x", "pipeline": [{"step": 1, "input": {}}]}', "parse_error"),
    ("result_refs_missing_comma", mutate('"[step1[image], step3[image]]"', '"[step1[image] step3[image]]"'), "ok"),
    ("truncated_json", G[: len(G) // 2], ("problems_any", None)),
]


def _float_text_case() -> str:
    wf = {
        "process": "brighter",
        "pipeline": [
            {"step": 1, "model": "FLUX-BRIGHT", "input": {"image": "init[image]", "ratio": "0.8"},
             "output": {"image": "step1[image]"}},
            {"result": "[step1[image]]"},
        ],
    }
    return json.dumps(wf)


@pytest.mark.parametrize("case_id,text,expect", CASES, ids=[c[0] for c in CASES])
def test_corpus(case_id, text, expect, registry):
    if case_id == "float_as_text":
        text = _float_text_case()
    if expect == "parse_error":
        with pytest.raises(WorkflowParseError):
            parse_workflow(text)
        return
    parsed = parse_workflow(text)
    init = {"image": "Image"} if expect[0] == "problems_nomask" else {"image": "Image", "mask": "Mask"}
    from lego_demo.types import ValueType

    checked = validate(
        parsed.workflow, registry,
        banned=["RES"] if expect[0] == "problems_banned" else (),
        init_values={k: ValueType.parse(v) for k, v in init.items()},
    )
    repairs = parsed.repairs + checked.repairs
    codes = {p.code for p in checked.problems}
    if expect == "ok" or expect[0] == "ok":
        assert checked.ok, [str(p) for p in checked.problems]
        if isinstance(expect, tuple):
            assert any(expect[1] in r for r in repairs), repairs
        # the repaired workflow survives a round trip through the wire format unchanged
        again = validate(parse_workflow(checked.workflow.dumps()).workflow, registry)
        assert again.ok and again.workflow.to_json() == checked.workflow.to_json()
    elif expect[0] == "problems_any":
        assert not checked.ok
    else:
        assert expect[1] <= codes, [str(p) for p in checked.problems]
        for p in checked.problems:
            assert str(p) and (p.step is not None or p.field or p.code in {"cycle", "required", "empty"})


def test_corpus_is_big_enough():
    assert len(CASES) >= 40


def test_official_example_with_all_its_quirks(registry):
    """The release's own few-shot example 1: trailing commas, a missing comma, an output key
    that does not match its reference and a `ratio` field the spec does not have."""
    text = """{
      "process": "先添加一只猫，然后扩图2倍",
      "pipeline": [
        {"step": 1, "model": "ADD-PRED", "input": {"image": "init[image]", "prompt": "cat", "mask": null,},
         "output": {"mask": "step1[mask]"}},
        {"step": 2, "model": "FLUX-FILL", "input": {"image": "init[image]", "mask": "step1[mask]", "prompt": "cat", "preimage": null}
         "output": {"mask": "step2[image]"}},
        {"step": 3, "model": "CMI-PRED", "input": {"image": "step2[image]", "ratio": 2.0},
         "output": {"caption": "step3[caption]", "image": "step3[image]", "mask": "step3[mask]"}},
        {"step": 4, "model": "FLUX-FILL", "input": {"image": "step3[image]", "mask": "step3[mask]", "prompt": "step3[caption]", "preimage": "step2[image]"},
         "output": {"image": "step4[image]",}},
        {"result": "[step4[image]]"}
      ]
    }"""
    parsed = parse_workflow(text)
    checked = validate(parsed.workflow, registry)
    assert checked.ok, [str(p) for p in checked.problems]
    step3 = checked.workflow.step(3)
    assert step3.inputs["left_ratio"] == step3.inputs["bottom_ratio"] == 2.0
    assert checked.workflow.step(2).outputs == {"image": Ref(2, "image")}
    assert process_kept(checked.workflow.process)


def process_kept(process: str) -> bool:
    return process == "先添加一只猫，然后扩图2倍"  # the fullwidth comma inside the string is kept

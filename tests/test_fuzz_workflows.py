"""Property-based fuzzing of the reader and validator: never an uncaught exception, and
nothing invalid ever reaches an engine."""

import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lego_demo.errors import BadInput, LegoError, WorkflowParseError
from lego_demo.executor import Executor
from lego_demo.validate import validate
from lego_demo.workflow import parse_workflow

NAMES = ["RES", "SOS", "BBOX", "INVERSE", "COMPOSE", "RESIZE", "FILL", "FLUX-FILL", "BRIGHT", "NOPE", "", "res"]
FIELDS = ["image", "mask", "mask1", "mask2", "image1", "image2", "prompt", "ratio", "preimage", "score", "x"]
REFS = ["init[image]", "init[mask]", "step1[mask]", "step2[image]", "step3[mask]", "step1[image]", "step0[x]",
        "stepx[mask]", "init[nope]"]
values = st.one_of(st.sampled_from(REFS), st.none(), st.floats(allow_nan=True), st.integers(), st.text(max_size=8),
                   st.booleans(), st.lists(st.integers(), max_size=2))
steps = st.fixed_dictionaries(
    {"step": st.one_of(st.integers(-1, 5), st.text(max_size=3)),
     "model": st.sampled_from(NAMES),
     "input": st.dictionaries(st.sampled_from(FIELDS), values, max_size=5),
     "output": st.dictionaries(st.sampled_from(FIELDS), st.one_of(st.sampled_from(REFS), st.none()), max_size=3)})
results = st.one_of(st.text(max_size=20), st.lists(st.sampled_from(REFS), max_size=3).map(lambda r: "[" + ", ".join(r) + "]"),
                    st.lists(st.sampled_from(REFS), max_size=3), st.none())
workflows = st.fixed_dictionaries({"process": st.text(max_size=10), "pipeline": st.lists(steps, max_size=5)}).flatmap(
    lambda wf: results.map(lambda r: {**wf, "pipeline": wf["pipeline"] + [{"result": r}]}))

IMAGE = np.zeros((16, 16, 3), np.uint8)
MASK = np.zeros((16, 16), bool)
MASK[4:8, 4:8] = True


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows)
def test_structured_workflows_never_crash_and_invalid_never_runs(registry, wf):
    try:
        parsed = parse_workflow(wf)
    except WorkflowParseError:
        return
    checked = validate(parsed.workflow, registry)
    if checked.ok:
        # a workflow that validates must either run or fail with a LegoError naming the step
        try:
            Executor(registry).run(checked.workflow, IMAGE, MASK)
        except LegoError:
            pass
    else:
        try:
            Executor(registry).run(parsed.workflow, IMAGE, MASK)
            raise AssertionError("an invalid workflow ran")
        except BadInput:
            pass
        except LegoError as exc:  # engine unavailable is checked only after validation passes
            raise AssertionError(f"invalid workflow reached the engine check: {exc}") from exc


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_random_text_never_crashes_the_reader(text):
    try:
        parse_workflow(text)
    except WorkflowParseError:
        pass


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows, st.integers(0, 400), st.sampled_from(list(',:{}[]"\'，： ')))
def test_mutated_json_text_never_crashes(registry, wf, position, char):
    text = json.dumps(wf)
    position = position % (len(text) + 1)
    mutated = text[:position] + char + text[position + 1:]
    try:
        parsed = parse_workflow(mutated)
    except WorkflowParseError:
        return
    validate(parsed.workflow, registry)

import numpy as np
import pytest

from lego_demo.errors import BadInput, CannotDo, InvalidWorkflow, StepCannotDo, StepError
from lego_demo.executor import Executor, StepCache
from lego_demo.registry import Registry
from lego_demo.spec import brick
from lego_demo.workflow import parse_workflow


def four_steps(last_ratio: float) -> str:
    return f"""{{"process": "box, invert, union, brighten", "pipeline": [
      {{"step": 1, "model": "BBOX", "input": {{"mask": "init[mask]"}}, "output": {{"mask": "step1[mask]"}}}},
      {{"step": 2, "model": "INVERSE", "input": {{"mask1": null, "mask2": "step1[mask]"}}, "output": {{"mask": "step2[mask]"}}}},
      {{"step": 3, "model": "RESIZE", "input": {{"image": "init[image]", "ratio": 1.0}}, "output": {{"image": "step3[image]"}}}},
      {{"step": 4, "model": "BRIGHT", "input": {{"image": "step3[image]", "ratio": {last_ratio}}}, "output": {{"image": "step4[image]"}}}},
      {{"result": "[step2[mask], step4[image]]"}}]}}"""


@pytest.fixture
def mask():
    m = np.zeros((60, 80), bool)
    m[10:20, 30:50] = True
    return m


def test_rerun_with_changed_last_literal_executes_one_step(registry, image, mask):
    ex = Executor(registry)
    first = ex.run(parse_workflow(four_steps(0.6)).workflow, image, mask)
    assert first.executed == [1, 2, 3, 4]
    second = ex.run(parse_workflow(four_steps(0.7)).workflow, image, mask)
    assert second.executed == [4] and second.cached == [1, 2, 3]
    assert not np.array_equal(first.results[1], second.results[1])
    third = ex.run(parse_workflow(four_steps(0.7)).workflow, image, mask)
    assert third.executed == []


def test_results_are_exact_and_in_order(registry, image, mask):
    result = Executor(registry).run(parse_workflow(four_steps(0.5)).workflow, image, mask)
    expected_box = np.zeros_like(mask)
    expected_box[10:20, 30:50] = True
    assert np.array_equal(result.results[0], ~expected_box)
    assert np.array_equal(result.results[1], image)  # ratio 0.5 = unchanged brightness


def test_new_input_image_misses_the_cache(registry, image, mask):
    ex = Executor(registry)
    ex.run(parse_workflow(four_steps(0.6)).workflow, image, mask)
    again = ex.run(parse_workflow(four_steps(0.6)).workflow, image[::-1].copy(), mask)
    assert again.executed == [3, 4] and again.cached == [1, 2]  # mask unchanged: mask steps reused


def test_runs_in_dependency_order_not_listed_order(registry, image, mask):
    text = """{"process": "x", "pipeline": [
      {"step": 1, "model": "INVERSE", "input": {"mask2": "step2[mask]"}, "output": {"mask": "step1[mask]"}},
      {"step": 2, "model": "BBOX", "input": {"mask": "init[mask]"}, "output": {"mask": "step2[mask]"}},
      {"result": "[step1[mask]]"}]}"""
    result = Executor(registry).run(parse_workflow(text).workflow, image, mask)
    assert [t.step for t in result.trace] == [2, 1]
    assert any("listed later" in r for r in result.repairs)


def test_progress_events(registry, image, mask):
    events = []
    Executor(registry).run(parse_workflow(four_steps(0.6)).workflow, image, mask, on_progress=events.append)
    assert [(e.step, e.status) for e in events if e.step == 1] == [(1, "running"), (1, "done")]
    assert {e.total for e in events} == {4}


def test_invalid_workflow_is_never_run(registry, image, mask):
    with pytest.raises(InvalidWorkflow, match="unknown brick"):
        Executor(registry).run(parse_workflow(four_steps(0.6).replace("BBOX", "BBOXX")).workflow, image, mask)


def test_init_mask_required(registry, image):
    with pytest.raises(BadInput, match="no mask was given"):
        Executor(registry).run(parse_workflow(four_steps(0.6)).workflow, image, None)


def _registry_with(engine_fn, check=None):
    spec = brick("TEST-BRICK", kind="edit", summary="test", inputs={"image": "Image"}, outputs={"image": "Image"})
    spec.engine("test", check=check)(engine_fn)
    return Registry([spec])


WF = '{"process": "t", "pipeline": [{"step": 1, "model": "TEST-BRICK", "input": {"image": "init[image]"}, "output": {"image": "step1[image]"}}, {"result": "[step1[image]]"}]}'


def test_a_bug_in_an_engine_is_an_internal_error_with_its_traceback_logged(image, caplog):
    """Nothing swallowed (issue 21): a bug reads as one (exit 1), not as a refusal, and its
    traceback reaches the log."""
    def boom(ctx, image):
        raise RuntimeError("out of cheese")

    with pytest.raises(StepError, match=r"step 1 \(TEST-BRICK, engine test\) failed: internal error in the "
                                        r"engine \(RuntimeError: out of cheese\)") as info:
        Executor(_registry_with(boom)).run(parse_workflow(WF).workflow, image)
    assert info.value.exit_code == 1
    (record,) = [r for r in caplog.records if r.name == "lego_demo.executor"]
    assert record.levelname == "ERROR" and record.exc_info[1] is info.value.cause


def test_cannot_do_is_distinct_with_exit_3(image):
    def cannot(ctx, image):
        raise CannotDo("needs a generative model")

    with pytest.raises(StepCannotDo, match="needs a generative model") as info:
        Executor(_registry_with(cannot)).run(parse_workflow(WF).workflow, image)
    assert info.value.exit_code == 3


def test_unavailable_engine_stops_before_running(image):
    calls = []
    reg = _registry_with(lambda ctx, image: calls.append(1) or {"image": image}, check=lambda o: "weights not found")
    with pytest.raises(CannotDo, match="step 1 \\(TEST-BRICK\\) cannot run here.*weights not found"):
        Executor(reg).run(parse_workflow(WF).workflow, image)
    assert calls == []


def test_engine_that_edits_its_input_in_place_fails_loudly(image):
    def in_place(ctx, image):
        image[0, 0] = 0
        return {"image": image}

    with pytest.raises(StepError, match="read-only"):
        Executor(_registry_with(in_place)).run(parse_workflow(WF).workflow, image)


def test_engine_returning_wrong_type_fails(image):
    with pytest.raises(StepError, match="not a valid Image"):
        Executor(_registry_with(lambda ctx, image: {"image": "oops"})).run(parse_workflow(WF).workflow, image)


def test_cache_is_bounded_lru():
    cache = StepCache(max_bytes=250)
    for key in "abc":
        cache.put(key, {"v": np.zeros(100, np.uint8)})
    assert len(cache) == 2 and cache.get("a") is None and cache.bytes == 200
    cache.get("b")
    cache.put("d", {"v": np.zeros(100, np.uint8)})
    assert cache.get("b") is not None and cache.get("c") is None


def test_step_time_limit(image):
    import time as _time

    def slow(ctx, image):
        _time.sleep(2)
        return {"image": image}

    with pytest.raises(StepError, match="step time limit of 0.2 s"):
        Executor(_registry_with(slow), step_timeout=0.2).run(parse_workflow(WF).workflow, image)


def test_intermediate_size_cap(image):
    big = lambda ctx, image: {"image": np.zeros((3000, 3000, 3), np.uint8)}  # noqa: E731
    with pytest.raises(StepError, match="over the limit of 4 MP"):
        Executor(_registry_with(big), max_pixels=4_000_000).run(parse_workflow(WF).workflow, image)

"""One accepted request cannot hold the server (issue 21's load acceptance; lego_demo/run_limits.py).

Requests beyond the input bounds were already refused at once; these are the ones the bounds
accept that still held the server: a 32-step chain at 2048 px (30–53 s, every intermediate
image held to the end, 1.4 GB), a 1,000-character prompt of repeated words (20 s in RES), a
photo just under the 40 MP limit (decoded in full several times, 1 GB), and eight runs at the
working size at once. Each test failed before its fix; none asserts on time.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path

import numpy as np
import pytest
import slow_bricks
from PIL import Image, ImageFile

from lego_demo.editor import Editor
from lego_demo.errors import TooHeavy
from lego_demo.executor import Executor, StepCache
from lego_demo.images import fit_working_size, load_image
from lego_demo.registry import Registry
from lego_demo.run_limits import PREVIEW_SIDE
from lego_demo.spec import brick
from lego_demo.workflow import parse_workflow

ROOT = Path(__file__).resolve().parents[1]


def chain(brick_name: str, steps: int, extra_result: str = "") -> str:
    """`steps` steps of one image brick, each on the one before; the last step is the result."""
    pipeline = [{"step": n, "model": brick_name, "input": {"image": "init[image]" if n == 1 else f"step{n - 1}[image]"},
                 "output": {"image": f"step{n}[image]"}} for n in range(1, steps + 1)]
    return json.dumps({"process": "chain", "pipeline": [*pipeline, {"result": f"[{extra_result}step{steps}[image]]"}]})


# -- 1. a run's budget: time and work ------------------------------------------------------------
def test_a_run_past_its_budget_of_processing_fails_as_too_heavy():
    """Before: a 32-step chain ran to its end (30–53 s at 2048 px): each step had its own limit
    (300 s) and nothing bounded the run."""
    registry = Registry([slow_bricks.SPIN], engine_options={"SPIN": {"seconds": 0.3}})
    executor = Executor(registry, cache=StepCache(0), run_budget=1.0)
    started = len(slow_bricks.THREADS)
    with pytest.raises(TooHeavy, match=r"the workflow is too heavy: step \d \(SPIN, \d of 8\) ran past the run's "
                                       r"budget of 1 s of processing at 8×8") as info:
        executor.run(parse_workflow(chain("SPIN", 8)).workflow, np.zeros((8, 8, 3), np.uint8))
    assert info.value.exit_code == 3
    assert 2 <= len(slow_bricks.THREADS) - started <= 5  # stopped on the way: ~1 s of 8 × 0.3 s of work


def test_model_steps_are_bounded_by_their_own_limit_not_the_run_budget():
    """A GPU engine's call waits for its device and has the step limit; the run budget is the
    CPU time one run may take here."""
    spec = brick("GPU-NAP", kind="edit", summary="a model call", inputs={"image": "Image"}, outputs={"image": "Image"})

    @spec.engine("model", kind="model")
    def nap(ctx, image):
        time.sleep(0.2)
        return {"image": image}

    run = Executor(Registry([spec]), cache=StepCache(0), run_budget=0.3).run(
        parse_workflow(chain("GPU-NAP", 4)).workflow, np.zeros((8, 8, 3), np.uint8))
    assert run.executed == [1, 2, 3, 4]


def test_the_work_a_run_asks_for_is_checked_before_any_step_runs():
    """steps × image pixels: 32 steps at 2048×2048 are refused at once; 32 steps at 640×480, or
    a few at 2048×2048, are not."""
    calls = []
    spec = brick("COUNT", kind="edit", summary="counts its calls", inputs={"image": "Image"}, outputs={"image": "Image"})

    @spec.engine("numpy")
    def count(ctx, image):
        calls.append(ctx.step)
        return {"image": image}

    executor = Executor(Registry([spec]), cache=StepCache(0), work_budget=12 * 2048 * 2048)
    big = np.zeros((2048, 2048, 3), np.uint8)
    with pytest.raises(TooHeavy, match=r"too heavy: 32 steps on a 2048×2048 image ask for 134 megapixels of step "
                                       r"work; the limit is 50 \(12 steps at this size\)"):
        executor.run(parse_workflow(chain("COUNT", 32)).workflow, big)
    assert calls == []
    assert executor.run(parse_workflow(chain("COUNT", 32)).workflow, np.zeros((480, 640, 3), np.uint8)).executed
    assert len(executor.run(parse_workflow(chain("COUNT", 12)).workflow, big).executed) == 12


def test_the_cli_exits_3_when_a_run_is_too_heavy(tmp_path):
    (tmp_path / "chain.json").write_text(chain("SPIN", 6))
    (tmp_path / "lego.toml").write_text("[engines.SPIN]\nseconds = 0.4\n")
    Image.new("RGB", (8, 8)).save(tmp_path / "in.png")
    proc = subprocess.run([sys.executable, "-m", "lego_demo", "--bricks", str(ROOT / "tests" / "slow_bricks.py"),
                           "--config", str(tmp_path / "lego.toml"), "--run-budget", "1", "run",
                           str(tmp_path / "chain.json"), "--image", str(tmp_path / "in.png"), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 3, proc.stderr
    assert "the workflow is too heavy" in proc.stderr and "--run-budget" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_operator_sets_the_budgets_in_lego_toml(tmp_path):
    from lego_demo.config import editor_config
    from lego_demo.errors import BadInput

    (tmp_path / "lego.toml").write_text("run_budget = 5\nwork_budget = 10\nmegapixels_at_once = 4.2\n")
    executor = Editor.from_config(editor_config(tmp_path / "lego.toml")).executor
    assert (executor.run_budget, executor.work_budget, executor.pixels_at_once) == (5.0, 10_000_000, 4_200_000)
    assert Editor.from_config(editor_config(tmp_path / "lego.toml", run_budget=7)).executor.run_budget == 7.0
    for bad in ("run_budget = 0", "work_budget = -1", 'megapixels_at_once = "lots"'):
        (tmp_path / "bad.toml").write_text(bad + "\n")
        with pytest.raises(BadInput, match=bad.split(" ")[0]):
            editor_config(tmp_path / "bad.toml")


# -- 2. what a run holds -----------------------------------------------------------------------------
def test_a_long_chain_holds_only_the_images_later_steps_read():
    """Before: every step's output stayed in the run's values until the run ended (a 32-step
    chain at 2048 px held 32 images); now an image is let go once its last reader ran, and the
    run keeps a preview for the gallery. The step cache (off here) decides on its own bound."""
    alive: list[weakref.ref] = []
    held_when_called: list[int] = []
    spec = brick("NEW-IMAGE", kind="edit", summary="a new image from the last", inputs={"image": "Image"},
                 outputs={"image": "Image", "mask": "Mask"})

    @spec.engine("numpy")
    def new_image(ctx, image):
        held_when_called.append(sum(r() is not None for r in alive))
        out = np.ascontiguousarray(image) + 1
        alive.append(weakref.ref(out))
        return {"image": out, "mask": out[..., 0] > 128}

    big = np.zeros((1000, 1200, 3), np.uint8)
    run = Executor(Registry([spec]), cache=StepCache(0)).run(
        parse_workflow(chain("NEW-IMAGE", 10, extra_result="step2[image], ")).workflow, big)
    # when a step runs, only the image it reads and step 2's (a result) are held, never the older ones
    assert held_when_called == [0, 1, 1, 2, 2, 2, 2, 2, 2, 2]  # before: 0, 1, 2, …, 9
    first, second, last = run.values[1]["image"], run.results[0], run.results[1]
    assert max(first.shape[:2]) == PREVIEW_SIDE and first.shape[1] * 1000 == 1200 * first.shape[0]
    assert second.shape == last.shape == big.shape and np.all(last == 10)
    assert all(run.values[n]["mask"].shape == (1000, 1200) for n in range(1, 11))  # masks stay: checks read them
    assert run.trace[0].outputs["image"]["size"] == [1200, 1000]  # the trace tells the real size


def test_with_a_step_cache_the_cache_keeps_full_outputs_within_its_bound():
    spec = brick("PLUS-ONE", kind="edit", summary="+1", inputs={"image": "Image"}, outputs={"image": "Image"})

    @spec.engine("numpy")
    def plus_one(ctx, image):
        return {"image": image + 1}

    cache = StepCache(8 * 2**20)
    run = Executor(Registry([spec]), cache=cache).run(parse_workflow(chain("PLUS-ONE", 6)).workflow,
                                                      np.zeros((1000, 1000, 3), np.uint8))
    assert len(cache) == 2 and cache.bytes <= 8 * 2**20  # 3 MB each: the byte bound decides
    assert run.values[5]["image"].shape == (PREVIEW_SIDE, PREVIEW_SIDE, 3)  # the run keeps a preview …
    assert np.all(cache.get(run.trace[4].key)["image"] == 5)  # … the cache the image itself
    assert cache.get(run.trace[4].key)["image"].shape == (1000, 1000, 3)


# -- 3. RES reads each word once ---------------------------------------------------------------------
def test_a_prompt_of_repeated_words_costs_what_saying_it_once_costs(monkeypatch):
    """Before: "red circle red circle …" (1,000 characters) grounded "red" 91 times (20 s at
    2048 px on a busy server)."""
    from bricks import res
    from lego_demo import grounding
    from lego_demo.phrases import parse
    from lego_demo.synthetic import make_scene

    looked_up: list[str] = []
    colour_regions = grounding.Facts.colour_regions
    monkeypatch.setattr(grounding.Facts, "colour_regions",
                        lambda self, name: looked_up.append(name) or colour_regions(self, name))
    scene = make_scene(320, 240, seed=1)  # a red circle among others
    once = res.ground(scene.image, "red circle")
    assert once.any()
    per_prompt = len(looked_up)
    repeated = ("red circle " * 91)[:1000].strip()  # as the worst-requests benchmark sends it
    assert parse(repeated).colours == [(None, "red")] and parse(repeated).shapes == {"circle"}
    assert np.array_equal(res.ground(scene.image, repeated), once)
    assert len(looked_up) == 2 * per_prompt
    assert parse("the dark red and the red and the dark red circle").colours == [("dark", "red"), (None, "red")]


# -- 4. a photo near the pixel limit is decoded once, reduced -----------------------------------------
def _encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


@pytest.fixture(scope="module")
def photo_6000():
    from skimage import data

    return Image.fromarray(data.astronaut()).resize((6000, 4000), Image.BILINEAR)


def test_a_large_jpeg_is_decoded_at_a_reduced_scale(monkeypatch, photo_6000):
    """Before: decoded at 6000×4000 (then converted and copied twice) only to be fitted to 2048 px."""
    decoded: list[tuple[int, int]] = []
    load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self.size) or load(self))
    inputs = Editor(Registry([])).prepare(_encoded(photo_6000, "JPEG", quality=90))
    assert inputs.size == (2048, 1365)
    assert decoded and max(w * h for w, h in decoded) <= 3000 * 2000  # libjpeg's 1/2 scale
    assert inputs.notes == ("the image was downscaled from 6000×4000 to 2048×1365 (working size, longest side "
                            "2048 px); results are at that size",)


def test_preparing_a_large_png_holds_it_once(tmp_path, photo_6000):
    """Peak memory while an upload is read and fitted, in a fresh process: about the decoded
    image (4 bytes a pixel in Pillow) and the resize's half-way image. Before: ~9.6 bytes a pixel
    (convert copied it, numpy copied it twice, then the fit)."""
    path = tmp_path / "big.png"
    photo_6000.save(path, compress_level=1)
    script = ("import resource, sys; from lego_demo.editor import Editor; from lego_demo.registry import Registry\n"
              "data = open(sys.argv[1], 'rb').read(); before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
              "inputs = Editor(Registry([])).prepare(data)\n"
              "print(inputs.size, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)")
    out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=120,
                         cwd=ROOT, check=True).stdout.split(") ")
    assert out[0] == "(2048, 1365"
    assert int(out[1]) / (6000 * 4000) < 7.5, f"{int(out[1]) / 2**20:.0f} MB"


@pytest.mark.parametrize("case", ["jpeg-turned", "tiff-turned", "png-16-bit", "palette-alpha", "cmyk", "1-bit"])
def test_fitting_while_decoding_reads_the_image_as_fitting_after_did(case):
    from skimage import data

    base = Image.fromarray(data.astronaut()).resize((900, 600))
    turned = base.getexif()
    turned[0x0112] = 6
    source = {
        "jpeg-turned": lambda: _encoded(base, "JPEG", exif=turned.tobytes()),
        "tiff-turned": lambda: _encoded(base, "TIFF", exif=turned.tobytes()),
        "png-16-bit": lambda: _encoded(Image.fromarray(np.asarray(base.convert("L")).astype(np.uint16) * 200), "PNG"),
        "palette-alpha": lambda: _encoded(base.convert("P"), "PNG", transparency=0),
        "cmyk": lambda: _encoded(base.convert("CMYK"), "JPEG"),
        "1-bit": lambda: _encoded(base.convert("1"), "PNG"),
    }[case]()
    notes_now, notes_before = [], []
    now = load_image(source, notes=notes_now, max_side=300)
    before = fit_working_size(load_image(source), 300, notes_before)
    assert now.shape == before.shape and notes_now == notes_before
    assert np.abs(now.astype(int) - before).mean() < (1.0 if case in ("jpeg-turned", "cmyk") else 0.01)


# -- 5. runs at the working size go on a few at a time -------------------------------------------------
class Probe:
    def __init__(self):
        self.lock, self.now, self.most = threading.Lock(), 0, 0

    def __call__(self, barrier: threading.Barrier | None):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        if barrier is not None:
            barrier.wait(timeout=10)  # breaks unless the others run at the same time
        else:
            time.sleep(0.1)
        with self.lock:
            self.now -= 1


def _run_at_once(executor: Executor, shapes: list[tuple[int, int]]) -> list[BaseException]:
    errors: list[BaseException] = []

    def one(i, shape):
        try:
            executor.run(parse_workflow(chain("PROBE", 1)).workflow, np.full((*shape, 3), i, np.uint8))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i, s)) for i, s in enumerate(shapes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return errors


@pytest.mark.parametrize("barrier", [None, threading.Barrier(6)])
def test_runs_hold_their_pixels_so_only_a_few_big_ones_go_on_at_once(barrier):
    """Before: eight 2048-px edits (the app's queue lets 8 in) ran at once, 130–300 MB each.
    Small images are not held back: six runs at 64×64 meet at the barrier together."""
    probe = Probe()
    spec = brick("PROBE", kind="edit", summary="counts runs at once", inputs={"image": "Image"},
                 outputs={"image": "Image"})

    @spec.engine("numpy")
    def run(ctx, image):
        probe(barrier if image.shape[0] == 64 else None)
        return {"image": image}

    executor = Executor(Registry([spec]), cache=StepCache(0), pixels_at_once=2 * 512 * 512)
    shape = (64, 64) if barrier is not None else (512, 512)
    assert _run_at_once(executor, [shape] * 6) == []
    assert probe.most == (6 if barrier is not None else 2)
    assert executor.in_flight.state()["working pixels"]["busy"] == 0



# -- 6. one request's analysis does not wait for another's ---------------------------------------------
def test_two_requests_analyse_their_images_at_the_same_time(monkeypatch):
    """Python 3.11's functools.cached_property computes under one lock shared by every instance:
    while one request's Facts(image).segments ran (a second at 2048 px), every other request's
    Facts analyses waited for it — small edits' p95 went from 0.18 s to 1.5 s beside a looping
    2048-px RES request. Both threads must be inside `labels` at once to pass the barrier."""
    from lego_demo import grounding

    barrier = threading.Barrier(2)
    colour_labels = grounding.colour_labels

    def labels_when_both_are_in(image):
        barrier.wait(timeout=10)
        return colour_labels(image)

    monkeypatch.setattr(grounding, "colour_labels", labels_when_both_are_in)
    errors: list[BaseException] = []

    def analyse(seed):
        try:
            assert grounding.Facts(np.random.default_rng(seed).integers(0, 256, (40, 50, 3), np.uint8)).labels.shape
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=analyse, args=(seed,)) for seed in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []


def test_no_module_uses_the_locking_cached_property():
    sources = [p for folder in ("lego_demo", "bricks", "engines", "examples") for p in (ROOT / folder).rglob("*.py")
               if p.name != "lazy.py"]
    offenders = [str(p.relative_to(ROOT)) for p in sources
                 if any(s in p.read_text(encoding="utf-8") for s in ("from functools import cached_property",
                                                                     "functools.cached_property"))]
    assert offenders == [], "use lego_demo.lazy.cached_property"

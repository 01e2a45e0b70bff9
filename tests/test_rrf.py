"""The seed's reflection story, offline, end to end, with the RRF plugin (examples/plugins/rrf.py).

- "remove the reflection" plans RES -> FASTINPAINT -> INPAINT; "don't use RES" re-plans
  SOS -> INVERSE -> FASTINPAINT -> INPAINT; with `--bricks examples/plugins/rrf.py` the Builder
  adopts RRF from its `use_for` phrases, with no Builder code naming it.
- On a synthetic photo through glass (a sharp scene, dimmed by the glass, plus a blurred, dimmed
  reflection of another photo; exact ground truth = the transmission layer) RRF's result is at least
  3 dB closer (PSNR) to the scene behind the glass than the input is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from lego_demo.builders.base import PlanRequest
from lego_demo.builders.rule import RuleBuilder
from lego_demo.metrics import psnr
from lego_demo.registry import Registry
from lego_demo.synthetic import make_scene

ROOT = Path(__file__).resolve().parents[1]
RRF = ROOT / "examples" / "plugins" / "rrf.py"


def through_glass(seed: int, reflection: np.ndarray, size: int = 320) -> tuple[np.ndarray, np.ndarray]:
    """(photo through glass, the scene behind the glass as the glass lets it through)."""
    scene = make_scene(size, size, background_kind="tiles", seed=seed).image.astype(np.float32) / 255
    mirror = cv2.resize(reflection, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    mirror = cv2.GaussianBlur(mirror, (0, 0), 5)  # the reflection is out of focus
    behind = 0.75 * scene  # the glass passes 75%
    seen = np.clip(behind + 0.35 * mirror, 0, 1)  # and reflects a dimmed copy of the room
    return (seen * 255 + 0.5).astype(np.uint8), (behind * 255 + 0.5).astype(np.uint8)


def test_the_builder_plans_the_story():
    plain = RuleBuilder(Registry.discover())
    request = PlanRequest("remove the reflection")
    first = plain.plan(request)
    assert [s.brick for s in first.workflow.steps] == ["RES", "FASTINPAINT", "INPAINT"]
    again = plain.plan(request, feedback=["don't use RES"], previous=first)
    assert [s.brick for s in again.workflow.steps] == ["SOS", "INVERSE", "FASTINPAINT", "INPAINT"]
    with_plugin = RuleBuilder(Registry.discover([RRF]))
    for text in ("remove the reflection", "could you get rid of the reflections in the window?",
                 "suppress the reflection, keeping the colours natural"):
        plan = with_plugin.plan(PlanRequest(text))
        assert [s.brick for s in plan.workflow.steps] == ["RRF"], (text, plan.reasoning)
    # the plugin is a brick like any other: ban it and the Builder goes back to inpainting
    banned = with_plugin.plan(request, feedback=["don't use RRF"])
    assert [s.brick for s in banned.workflow.steps] == ["RES", "FASTINPAINT", "INPAINT"]


@pytest.mark.parametrize("seed,room", [(0, "astronaut"), (1, "coffee"), (2, "chelsea")])
def test_rrf_is_3_db_closer_to_the_scene_behind_the_glass(seed, room):
    registry = Registry.discover([RRF])
    engine = registry.get("RRF").engines[0]
    seen, behind = through_glass(seed, getattr(data, room)())
    out = engine.run(None, image=seen)["image"]
    before, after = psnr(seen, behind), psnr(out, behind)
    assert after >= before + 3.0, (room, before, after)


def test_stronger_suppresses_more():
    registry = Registry.discover([RRF])
    engine = registry.get("RRF").engines[0]
    seen, behind = through_glass(0, data.astronaut())
    gentle, default = (engine.run(None, image=seen, strength=s)["image"] for s in (0.01, None))
    assert np.abs(default.astype(int) - gentle.astype(int)).mean() > 1.0


def test_cli_runs_the_story(tmp_path):
    seen, behind = through_glass(0, data.astronaut())
    path = tmp_path / "window.png"
    Image.fromarray(seen).save(path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "lego_demo", "--bricks", str(RRF)]
    planned = subprocess.run(cmd + ["plan", "--instruction", "remove the reflection", "--json"],
                             capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert planned.returncode == 0, planned.stderr
    assert [s["model"] for s in json.loads(planned.stdout)["workflow"]["pipeline"] if "model" in s] == ["RRF"]
    out = tmp_path / "out"
    edited = subprocess.run(cmd + ["edit", str(path), "--instruction", "remove the reflection",
                                   "--out", str(out)], capture_output=True, text=True, cwd=ROOT, env=env, timeout=180)
    assert edited.returncode == 0, edited.stderr
    result = np.asarray(Image.open(next(out.glob("result*.png"))).convert("RGB"))
    assert psnr(result, behind) >= psnr(seen, behind) + 3.0


def test_the_app_example_runs_offline_and_fades_the_reflection():
    """lego_demo/ui/examples.py: the window example brings its plugin; the app loads it."""
    from lego_demo.editor import Editor
    from lego_demo.ui.examples import EXAMPLES, example_plugins

    example = next(e for e in EXAMPLES if e.plugins)
    assert str(RRF) in example_plugins()
    editor = Editor(Registry.discover(example_plugins()))
    seen = np.asarray(Image.open(example.path).convert("RGB"))
    plan, run = editor.edit(example.instruction, seen)
    assert [t.brick for t in run.trace] == ["RRF"]
    behind = (0.75 * data.coffee().astype(np.float32) + 0.5).astype(np.uint8)  # as assets/make_assets.py makes it
    assert psnr(run.results[0], behind) >= psnr(seen, behind) + 1.0
    replanned = editor.plan(example.instruction, seen, feedback=[example.feedback])
    assert [s.brick for s in replanned.workflow.steps] == ["RES", "FASTINPAINT", "INPAINT"]


def test_the_app_runs_the_story(tmp_path):
    """`python app.py` loads the example's plugin: /edit on the window runs RRF; /plan with the
    example's feedback falls back to the paper's RES -> INPAINT."""
    import socket

    pytest.importorskip("gradio_client")
    from gradio_client import Client, handle_file

    import app as app_module
    from lego_demo.ui.examples import EXAMPLES

    example = next(e for e in EXAMPLES if e.plugins)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo, options = app_module.create_app(app_module.build_parser().parse_args(["--port", str(port), "--host", "127.0.0.1"]))
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, **options)
    try:
        client = Client(url, verbose=False)
        result, workflow, _ = client.predict(handle_file(str(example.path)), example.instruction, api_name="/edit")
        assert '"RRF"' in workflow
        seen = np.asarray(Image.open(example.path).convert("RGB"))
        behind = (0.75 * data.coffee().astype(np.float32) + 0.5).astype(np.uint8)
        assert psnr(np.asarray(Image.open(result).convert("RGB")), behind) >= psnr(seen, behind) + 1.0
        wf_text, _, declined = client.predict(handle_file(str(example.path)), example.instruction, None, example.feedback,
                                              api_name="/plan")
        assert not declined and '"RRF"' not in wf_text and '"RES"' in wf_text and '"INPAINT"' in wf_text
    finally:
        demo.close()

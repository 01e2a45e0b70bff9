"""The CLI end to end, as a person runs it (subprocess, real files, exit codes)."""

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
BRIGHT = str(ROOT / "examples/plugins/bright.py")


def cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "lego_demo", *args], cwd=ROOT, capture_output=True, text=True,
                          input=stdin, timeout=120)


@pytest.fixture
def files(tmp_path):
    img = np.zeros((120, 160, 3), np.uint8)
    img[:] = (200, 100, 50)
    Image.fromarray(img).save(tmp_path / "img.png")
    m = np.zeros((120, 160), np.uint8)
    m[30:50, 40:70] = 255
    m[60:90, 100:110] = 255
    Image.fromarray(m).save(tmp_path / "mask.png")
    (tmp_path / "wf.txt").write_text("""<think>Take the box around the drawn blobs and invert it.</think>
```json
{"process": "invert the box around the drawn area",
 "pipeline": [
  {"step": 1, "model": "BBOX", "input": {"mask": "init[mask]",}, "output": {"mask": "step1[mask]"}},
  {"step": 2, "model": "INVERSE", "input": {"mask1": null, "mask2": "step1[mask]"，"image1": null, "image2": null}, "output": {"mask": "step2[mask]"}},
  {"result": "[step1[mask], step2[mask]]"},
 ]}
```""", encoding="utf-8")
    return tmp_path


def test_validate_accepts_quirky_official_format(files):
    r = cli("validate", str(files / "wf.txt"))
    assert r.returncode == 0, r.stderr
    assert "valid" in r.stdout and "fullwidth" in r.stdout


def test_validate_rejects_unknown_brick_naming_it(files):
    text = (files / "wf.txt").read_text(encoding="utf-8").replace('"BBOX"', '"BOX-IT"')
    r = cli("validate", "-", "--json", stdin=text)
    assert r.returncode == 2
    out = json.loads(r.stdout)
    assert not out["valid"] and out["problems"][0]["code"] == "unknown_brick"
    assert "BOX-IT" in out["problems"][0]["text"]


def test_run_mask_workflow_writes_exact_masks_graph_trace(files):
    out = files / "out"
    r = cli("run", str(files / "wf.txt"), "--image", str(files / "img.png"), "--mask", str(files / "mask.png"),
            "--out", str(out))
    assert r.returncode == 0, r.stderr
    box = np.asarray(Image.open(out / "result_1.png")) > 127
    expected = np.zeros((120, 160), bool)
    expected[30:90, 40:110] = True
    assert np.array_equal(box, expected)
    assert np.array_equal(np.asarray(Image.open(out / "result_2.png")) > 127, ~expected)
    assert Image.open(out / "graph.png").size[0] >= 800
    trace = json.loads((out / "trace.json").read_text())
    assert [s["brick"] for s in trace["steps"]] == ["BBOX", "INVERSE"] and trace["executed"] == [1, 2]
    wf = json.loads((out / "workflow.json").read_text())
    assert wf["pipeline"][-1] == {"result": "[step1[mask], step2[mask]]"}


def test_plugin_brick_listed_and_runs(files):
    r = cli("--bricks", BRIGHT, "bricks", "--json")
    assert r.returncode == 0, r.stderr
    listing = {b["name"]: b for b in json.loads(r.stdout)}
    assert listing["BRIGHT"]["engines"] == [{"name": "pillow", "kind": "classical", "available": True, "reason": None}]
    assert set(listing["BRIGHT"]) >= {"name", "kind", "summary", "inputs", "outputs", "aliases", "engines"}
    wf = '{"process": "brighter", "pipeline": [{"step": 1, "model": "FLUX-BRIGHT", "input": {"image": "init[image]", "ratio": 0.75}, "output": {"image": "step1[image]"}}, {"result": "[step1[image]]"}]}'
    (files / "b.json").write_text(wf)
    r = cli("run", str(files / "b.json"), "--image", str(files / "img.png"), "--out", str(files / "o"), "--bricks", BRIGHT)
    assert r.returncode == 0, r.stderr
    assert np.asarray(Image.open(files / "o/result_1.png")).mean() > np.asarray(Image.open(files / "img.png")).mean()


def _png_header_only(path: Path, w: int, h: int) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("make,message", [
    (lambda p: p.write_text("hello"), "not an image"),
    (lambda p: p.write_bytes(b""), "empty"),
    (lambda p: _png_header_only(p, 40000, 40000), "claims 1600 MP"),
    (lambda p: _png_header_only(p, 9000, 9000), "9000×9000 (81 MP); the limit is 40 MP"),
    (lambda p: p.write_bytes((Path(p).parent / "img.png").read_bytes()[:60]), "truncated or corrupt"),
])
def test_bad_images_exit_2_naming_the_problem(files, make, message):
    bad = files / "bad.png"
    make(bad)
    r = cli("run", str(files / "wf.txt"), "--image", str(bad), "--mask", str(files / "mask.png"), "--out", str(files / "x"))
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert message in r.stderr and "Traceback" not in r.stderr


def test_missing_files_and_mismatched_mask(files):
    r = cli("run", str(files / "nope.json"), "--image", str(files / "img.png"), "--out", str(files / "x"))
    assert r.returncode == 2 and "no such file" in r.stderr
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(files / "small.png")
    r = cli("run", str(files / "wf.txt"), "--image", str(files / "img.png"), "--mask", str(files / "small.png"), "--out", str(files / "x"))
    assert r.returncode == 2 and "must match" in r.stderr


def test_import_loads_no_model_or_heavy_library():
    code = ("import sys, lego_demo, lego_demo.cli, lego_demo.editor, lego_demo.registry; "
            "from lego_demo.registry import Registry; Registry.discover(); "
            "heavy = [m for m in ('torch', 'transformers', 'diffusers', 'gradio', 'mediapipe', 'rapidocr', 'openai', 'ray') if m in sys.modules]; "
            "print(heavy)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"

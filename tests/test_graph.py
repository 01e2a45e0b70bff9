import io

import numpy as np
from PIL import Image

from lego_demo.graph import layout, render_png, to_digraph
from lego_demo.workflow import parse_workflow

WF = parse_workflow("""{"process": "remove the dog", "pipeline": [
 {"step": 1, "model": "RES", "input": {"image": "init[image]", "prompt": "dog"}, "output": {"mask": "step1[mask]", "image": "step1[image]"}},
 {"step": 2, "model": "FASTINPAINT", "input": {"image": "init[image]", "mask": "step1[mask]"}, "output": {"image": "step2[image]", "score": "step2[score]"}},
 {"step": 3, "model": "INPAINT", "input": {"image": "init[image]", "mask": "step1[mask]", "preimage": "step2[image]", "score": "step2[score]"}, "output": {"image": "step3[image]"}},
 {"result": "[step1[image], step3[image]]"}]}""").workflow


def test_digraph_nodes_and_labelled_edges(registry):
    g = to_digraph(WF, registry)
    assert set(g.nodes) == {"init", "step1", "step2", "step3", "result"}
    assert g.edges["step2", "step3"]["label"] == "image→preimage, score"
    assert g.edges["init", "step1"]["label"] == "image"
    assert g.nodes["step1"]["kind"] == "predict" and g.nodes["step3"]["kind"] == "edit"


def test_layout_is_layered_left_to_right(registry):
    pos = layout(to_digraph(WF, registry))
    xs = [pos[n][0] for n in ("init", "step1", "step2", "step3", "result")]
    assert xs == sorted(xs) and len(set(xs)) == 5


def test_render_png_is_readable_and_status_coloured(registry):
    png = render_png(WF, registry, status={1: "done", 2: "cached", 3: "failed"}, width_px=800)
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert img.shape[1] == 800
    colours = {tuple(c) for c in img.reshape(-1, 3)}
    assert (0x9B, 0xE2, 0x8F) in colours and (0xFF, 0x8A, 0x80) in colours and (0xA8, 0xD8, 0xFF) in colours

"""What the workflow canvas draws, as plain data: nodes with typed ports, edges from the
references, a layered layout without overlap, and each step's run state.

The canvas's JavaScript only renders this and sends edits back (canvas_edits.py), so
everything that decides something (types, which wires may connect, where nodes go, which
step re-runs) lives here and is tested without a browser.

A step's state comes from the last run when the step is still the same computation: same
brick, engine and literal inputs, fed by the same upstream computations (the Executor's cache
key follows the same chain). Such a step shows the run's status (done, or cached: blue), time
and output thumbnails; a step that changed since shows "pending": it runs on the next run.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import networkx as nx
import numpy as np

from ..errors import BadInput, CannotDo
from ..executor import RunResult, StepTrace
from ..graph import KIND_COLOURS, STATUS_COLOURS
from ..images import to_pil
from ..registry import Registry
from ..types import ValueType
from ..validate import RESULT_TYPES, Problem
from ..workflow import Ref, Step, Workflow
from .canvas_edits import dependency_graph, source_type

NODE_W, HEAD, ROW, THUMB, FOOT, PROBLEM_LINE = 220, 30, 22, 74, 20, 15
GAP_X, GAP_Y, MARGIN = 64, 22, 24
LANE_TOP, LANE = 14, 8  # wires that skip columns run above the nodes, one lane per source port
THUMB_SIDE = 128
TYPE_COLOURS = {"Image": "#3b82f6", "Mask": "#16a34a", "Str": "#a855f7", "Float": "#f59e0b"}


# -- run state ----------------------------------------------------------------------------------
def computations(workflow: Workflow, registry: Registry) -> dict[int, str]:
    """Per step, a digest of what it computes: brick, engine, literals, and the upstream
    computations it reads (a step in a cycle or fed by a missing step gets none)."""
    out: dict[int, str] = {}
    cyclic = not nx.is_directed_acyclic_graph(dependency_graph(workflow))

    def digest(step: Step, seen: frozenset[int]) -> str | None:
        if step.number in out:
            return out[step.number]
        spec = registry.resolve(step.brick)
        if spec is None or step.number in seen:
            return None
        try:
            engine = registry.choose_engine(spec, step.engine).name
        except (BadInput, CannotDo):
            engine = step.engine or "?"
        parts: list[Any] = [spec.name, engine]
        for name, value in sorted(step.inputs.items()):
            if isinstance(value, Ref):
                source = "init" if value.step is None else None
                if value.step is not None and workflow.step(value.step) is not None:
                    source = digest(workflow.step(value.step), seen | {step.number})
                if source is None:
                    return None
                parts.append([name, source, value.name])
            else:
                parts.append([name, repr(value)])
        out[step.number] = hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]
        return out[step.number]

    if not cyclic:
        for step in workflow.steps:
            digest(step, frozenset())
    return out


def matching_traces(workflow: Workflow, run: RunResult | None, registry: Registry) -> dict[int, StepTrace]:
    """Steps of `workflow` that compute what a step of the last run computed -> its trace."""
    if run is None:
        return {}
    before = {v: k for k, v in computations(run.workflow, registry).items()}
    by_step = {t.step: t for t in run.trace}
    now = computations(workflow, registry)
    return {n: by_step[before[d]] for n, d in now.items() if d in before and before[d] in by_step}


def thumbnail_url(value: np.ndarray, side: int = THUMB_SIDE) -> str:
    """A small inline image (the view is recomputed on every edit: subsample before resizing)."""
    stride = max(1, max(value.shape[:2]) // (2 * side))
    im = to_pil(np.ascontiguousarray(value[::stride, ::stride]))
    im.thumbnail((side, side))
    buf = io.BytesIO()
    if im.mode == "RGB":
        im.save(buf, format="JPEG", quality=82)
        return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()
    im.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "…"


# -- the view -----------------------------------------------------------------------------------
def canvas_view(workflow: Workflow, problems: Sequence[Problem], registry: Registry, has_mask: bool = False,
                run: RunResult | None = None, live: Mapping[int, str] | None = None,
                failure: tuple[int, str] | None = None) -> dict:
    """Nodes, edges and the brick palette of a (validated, possibly faulty) workflow.
    `run`: the last run on the same input; `live`: step -> status while a run is going;
    `failure`: (step, message) of a run that failed at that step."""
    traces = matching_traces(workflow, run, registry)
    by_step: dict[int | None, list[str]] = {}
    for p in problems:
        text = str(p) if p.step is None else (f"{p.field}: " if p.field else "") + p.message
        by_step.setdefault(p.step, []).append(text)
    graph = dependency_graph(workflow)
    downstream = {n: nx.descendants(graph, n) | {n} for n in graph}
    nodes = [_init_node(has_mask, workflow)]
    for step in workflow.steps:
        nodes.append(_step_node(step, workflow, registry, has_mask, downstream.get(step.number, {step.number}),
                                traces.get(step.number), run, live, failure, by_step.get(step.number, []),
                                has_status=run is not None or live is not None or failure is not None))
    nodes.append(_result_node(workflow, registry, has_mask, by_step.get(None, [])))
    edges = _edges(workflow, nodes)
    width, height = _layout(nodes, edges)
    for n in nodes:
        n.pop("ports")
    return {
        "process": workflow.process,
        "nodes": nodes,
        "edges": edges,
        "width": width,
        "height": height,
        "problems": by_step.get(None, []),
        **_common(registry),
        "run": None if run is None else {"executed": run.executed, "cached": run.cached,
                                         "seconds": round(run.seconds, 3)},
    }


def _init_node(has_mask: bool, workflow: Workflow) -> dict:
    uses_mask = has_mask or any(r == Ref(None, "mask") for s in workflow.steps for _, r in s.refs())
    outs = [{"name": "image", "type": "Image", "ref": "init[image]"}]
    if uses_mask:
        outs.append({"name": "mask", "type": "Mask", "ref": "init[mask]"})
    return {"id": "init", "kind": "init", "title": "input", "colour": KIND_COLOURS["init"], "inputs": [],
            "outputs": outs, "problems": [] if has_mask or not uses_mask else ["no mask was drawn"],
            "summary": "the image you edit" + (" and the mask you drew" if has_mask else "")}


def _sources(workflow: Workflow, registry: Registry, has_mask: bool, vtypes: Sequence[ValueType],
             exclude: set[int]) -> list[str]:
    """References a port of these types may take (not from steps that depend on the port's step)."""
    refs = [Ref(None, "image")] + ([Ref(None, "mask")] if has_mask else [])
    for s in workflow.steps:
        spec = registry.resolve(s.brick)
        if spec is not None and s.number not in exclude:
            refs += [Ref(s.number, name) for name in spec.outputs]
    return [str(r) for r in refs if source_type(workflow, registry, r) in vtypes]


def _step_node(step: Step, workflow: Workflow, registry: Registry, has_mask: bool, exclude: set[int],
               trace: StepTrace | None, run: RunResult | None, live: Mapping[int, str] | None,
               failure: tuple[int, str] | None, problems: list[str], has_status: bool) -> dict:
    spec = registry.resolve(step.brick)
    node: dict[str, Any] = {"id": f"step{step.number}", "step": step.number, "brick": step.brick,
                            "title": f"{step.number} · {spec.name if spec else step.brick}",
                            "kind": spec.kind if spec else None, "summary": spec.summary if spec else "",
                            "problems": list(problems), "inputs": [], "outputs": []}
    if spec is None:
        node.update(colour=KIND_COLOURS[None], engine=None, status="unknown")
        return node
    for name, port in spec.inputs.items():
        value = step.inputs.get(name)
        item = {"name": name, "type": port.type.value, "optional": port.optional, "doc": port.doc,
                "sources": _sources(workflow, registry, has_mask, [port.type], exclude)}
        if isinstance(value, Ref):
            item["ref"] = str(value)
        else:
            item["literal"] = value
        if port.range is not None:
            item["range"] = list(port.range)
        if port.neutral is not None:
            item["neutral"] = port.neutral
        node["inputs"].append(item)
    values = run.values.get(trace.step, {}) if (trace is not None and run is not None) else {}
    for name, vtype in spec.outputs.items():
        out = {"name": name, "type": vtype.value, "ref": str(Ref(step.number, name))}
        value = values.get(name)
        if isinstance(value, np.ndarray):
            out["thumb"] = thumbnail_url(value)
        elif value is not None:
            out["value"] = _shown(value)
        node["outputs"].append(out)
    try:
        active = registry.choose_engine(spec, step.engine).name
    except (BadInput, CannotDo) as exc:
        active = None
        node["problems"].append(f"engine: {exc}")
    node["engine"] = {"chosen": step.engine, "active": active,
                      "choices": [{**e, "reason": e["reason"] or ""} for e in registry.engine_status(spec)]}
    status = "pending"
    if failure is not None and failure[0] == step.number:
        status = "failed"
        node["error"] = failure[1]
    elif live is not None:  # a run is going: what has not reported yet is pending
        status = live.get(step.number, "pending")
    elif trace is not None:
        status = "cached" if trace.cache_hit else "done"
        node.update(seconds=trace.seconds, ran_engine=trace.engine)
    elif run is not None:
        node["changed"] = True  # differs from the last run: it runs next time
    node["status"] = status if has_status else None
    node["colour"] = STATUS_COLOURS.get(status, "#f2f2f2") if has_status else KIND_COLOURS.get(spec.kind)
    return node


def _result_node(workflow: Workflow, registry: Registry, has_mask: bool, problems: list[str]) -> dict:
    entries = [{"name": str(i + 1), "type": "Image|Mask", "ref": str(r) if isinstance(r, Ref) else None,
                "literal": None if isinstance(r, Ref) else r,
                "sources": _sources(workflow, registry, has_mask, RESULT_TYPES, set())}
               for i, r in enumerate(workflow.result)]
    entries.append({"name": "+", "type": "Image|Mask", "ref": None, "literal": None, "add": True,
                    "sources": _sources(workflow, registry, has_mask, RESULT_TYPES, set())})
    return {"id": "result", "kind": "result", "title": "result", "colour": KIND_COLOURS["result"],
            "inputs": entries, "outputs": [], "problems": list(problems),
            "summary": "what the run returns: drop an Image or Mask wire on + to add one"}


def _edges(workflow: Workflow, nodes: list[dict]) -> list[dict]:
    by_id = {n["id"]: n for n in nodes}
    edges = []

    def add(ref: Ref, dst: dict, port: str) -> None:
        src = by_id.get("init" if ref.step is None else f"step{ref.step}")
        out = next((o for o in src["outputs"] if o["name"] == ref.name), None) if src else None
        if out is not None:
            edges.append({"from": src["id"], "out": ref.name, "to": dst["id"], "in": port, "type": out["type"],
                          "src": src, "dst": dst})

    for step in workflow.steps:
        for name, ref in step.refs():
            add(ref, by_id[f"step{step.number}"], name)
    for i, ref in enumerate(workflow.result):
        if isinstance(ref, Ref):
            add(ref, by_id["result"], str(i + 1))
    return edges


# -- layout ---------------------------------------------------------------------------------------
def _size(node: dict) -> None:
    """Fixed height from what the node shows, so the layout can promise no overlap; port
    offsets (from the node's top) for the edges."""
    rows = max(len(node["inputs"]), len(node["outputs"]), 1)
    thumbs = any("thumb" in o for o in node["outputs"])
    lines = min(2, len(node["problems"]) + ("error" in node))
    node["w"] = NODE_W
    node["h"] = HEAD + rows * ROW + (THUMB if thumbs else 0) + (FOOT if "engine" in node else 0) \
        + lines * PROBLEM_LINE + 8
    for ports in (node["inputs"], node["outputs"]):
        for i, p in enumerate(ports):
            p["y"] = HEAD + i * ROW + ROW // 2
    node["ports"] = {"in": {p["name"]: p["y"] for p in node["inputs"]},
                     "out": {p["name"]: p["y"] for p in node["outputs"]}}


def _layout(nodes: list[dict], edges: list[dict]) -> tuple[int, int]:
    """Columns by dependency depth (input first, result last); in each column nodes sit near
    the rows of what feeds them, stacked with a gap, so no two nodes overlap."""
    for n in nodes:
        _size(n)
    g = nx.DiGraph()
    g.add_nodes_from(n["id"] for n in nodes)
    g.add_edges_from((e["from"], e["to"]) for e in edges if e["to"] != "result")
    if nx.is_directed_acyclic_graph(g):
        order = list(nx.topological_sort(g))

        def depths(first: int) -> dict[str, int]:
            layer: dict[str, int] = {}
            for node in order:
                layer[node] = max((layer[p] + 1 for p in g.predecessors(node)), default=0 if node == "init" else first)
            return layer

        # a step nothing feeds yet (just added, or cut off) waits after the steps fed from the
        # input: that is where it is most likely wired next
        layer = depths(1)
        layer = depths(1 + max((layer[n] for n in nx.descendants(g, "init")), default=0))
    else:  # a cycle (the validator reports it): list order
        layer = {n["id"]: i for i, n in enumerate(nodes)}
    layer["result"] = 1 + max((v for k, v in layer.items() if k != "result"), default=0)
    preds: dict[str, list[str]] = {}
    for e in edges:
        preds.setdefault(e["to"], []).append(e["from"])
    position = {n["id"]: i for i, n in enumerate(nodes)}
    by_id = {n["id"]: n for n in nodes}
    for column in range(max(layer.values()) + 1):
        members = [n for n in nodes if layer[n["id"]] == column]

        def wanted(n: dict) -> float:
            tops = [by_id[p]["y"] for p in preds.get(n["id"], []) if "y" in by_id[p]]
            return sum(tops) / len(tops) if tops else float("inf")

        members.sort(key=lambda n: (wanted(n), position[n["id"]]))
        bottom = -GAP_Y
        for n in members:
            want = wanted(n)
            n["x"] = MARGIN + column * (NODE_W + GAP_X)
            n["y"] = max(bottom + GAP_Y, want if want != float("inf") else bottom + GAP_Y)
            bottom = n["y"] + n["h"]
    lanes = _route(edges, nodes)
    top = min(n["y"] for n in nodes) - (LANE_TOP + lanes * LANE if lanes else 0)
    for n in nodes:
        n["y"] = int(n["y"] - top + MARGIN)
    for e in edges:
        e["y1"], e["y2"] = int(e["y1"] - top + MARGIN), int(e["y2"] - top + MARGIN)
        if "points" in e:
            e["points"] = [[x, int(y - top + MARGIN)] for x, y in e["points"]]
    width = max(n["x"] + n["w"] for n in nodes) + MARGIN
    height = max(n["y"] + n["h"] for n in nodes) + MARGIN
    return int(width), int(height)


def _route(edges: list[dict], nodes: list[dict]) -> int:
    """Port-to-port coordinates for each edge. An edge whose curve would pass under a node
    (it skips columns) runs over the top instead, in a lane per source port, so every wire
    stays visible. Returns the number of lanes."""
    lanes: dict[tuple[str, str], int] = {}
    top = min(n["y"] for n in nodes)
    for e in edges:
        src, dst = e.pop("src"), e.pop("dst")
        x1, y1 = src["x"] + src["w"], src["y"] + src["ports"]["out"][e["out"]]
        x2, y2 = dst["x"], dst["y"] + dst["ports"]["in"][e["in"]]
        e.update(x1=int(x1), y1=y1, x2=int(x2), y2=y2)
        low, high = min(y1, y2) - 8, max(y1, y2) + 8
        if not any(n is not src and n is not dst and n["x"] < x2 and n["x"] + n["w"] > x1
                   and n["y"] < high and n["y"] + n["h"] > low for n in nodes):
            continue
        lane = lanes.setdefault((e["from"], e["out"]), len(lanes))
        channel = top - LANE_TOP - lane * LANE
        offset = 14 + (lane % 6) * 7
        e["points"] = [[x1, y1], [x1 + offset, y1], [x1 + offset, channel], [x2 - offset, channel],
                       [x2 - offset, y2], [x2, y2]]
    return len(lanes)


def empty_view(message: str, registry: Registry) -> dict:
    """No graph to draw (no workflow yet, or JSON that cannot be read): the message says why."""
    return {"error": message, "nodes": [], "edges": [], "width": 0, "height": 0, "problems": [], **_common(registry)}


def _common(registry: Registry) -> dict:
    """What every view carries: the bricks one can add, the colours, the node geometry."""
    return {
        "palette": [{"name": s.name, "kind": s.kind, "summary": s.summary, "available": registry.available(s)}
                    for s in registry.specs()],
        "colours": {"status": STATUS_COLOURS, "kind": {k: v for k, v in KIND_COLOURS.items() if k},
                    "types": TYPE_COLOURS},
        "geometry": {"head": HEAD, "row": ROW, "thumb": THUMB, "foot": FOOT, "problem": PROBLEM_LINE},
    }

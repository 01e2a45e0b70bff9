"""The workflow as a networkx graph, drawn left to right with Pillow.

Nodes: `init`, one per step, `result`; edges carry the value names that flow along them.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import networkx as nx

from .registry import Registry
from .workflow import Ref, Workflow

KIND_COLOURS = {"init": "#e8e8e8", "predict": "#cfe3ff", "edit": "#ffe2c2", "result": "#d9f2d0", None: "#f4cccc"}
STATUS_COLOURS = {
    "pending": "#f2f2f2",
    "running": "#ffe066",
    "done": "#9be28f",
    "cached": "#a8d8ff",
    "failed": "#ff8a80",
}


def to_digraph(workflow: Workflow, registry: Registry | None = None) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_node("init", label="input", kind="init")
    for step in workflow.steps:
        spec = registry.resolve(step.brick) if registry else None
        g.add_node(
            f"step{step.number}",
            label=f"{step.number} · {spec.name if spec else step.brick}",
            kind=spec.kind if spec else None,
            step=step.number,
        )
    g.add_node("result", label="result", kind="result")

    def add(ref: Ref, target: str, name: str) -> None:
        source = "init" if ref.step is None else f"step{ref.step}"
        if source not in g:
            return
        if g.has_edge(source, target):
            g.edges[source, target]["names"].append(name)
        else:
            g.add_edge(source, target, names=[name])

    for step in workflow.steps:
        for name, ref in step.refs():
            add(ref, f"step{step.number}", ref.name if ref.name == name else f"{ref.name}→{name}")
    for ref in workflow.result:
        if isinstance(ref, Ref):
            add(ref, "result", ref.name)
    for _, _, data in g.edges(data=True):
        data["label"] = ", ".join(dict.fromkeys(data["names"]))
    return g


def layout(g: nx.DiGraph) -> dict:
    """Layered left to right: each node one column after everything it depends on."""
    if not nx.is_directed_acyclic_graph(g):
        return nx.spring_layout(g, seed=0)
    for layer, nodes in enumerate(nx.topological_generations(g)):
        for node in nodes:
            g.nodes[node]["layer"] = layer
    if "result" in g:  # the result always sits alone in the last column
        g.nodes["result"]["layer"] = 1 + max(d["layer"] for n, d in g.nodes(data=True) if n != "result")
    pos = nx.multipartite_layout(g, subset_key="layer", align="vertical")
    return {n: (x, -y) for n, (x, y) in pos.items()}


FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")  # matplotlib's fonts (a dependency); Pillow's default else
SCALE = 2  # drawn at twice the size, then downscaled: smooth lines and text


def _font(size: int, bold: bool = False):
    import importlib.util

    from PIL import ImageFont

    spec = importlib.util.find_spec("matplotlib")
    if spec is not None and spec.submodule_search_locations:
        path = Path(list(spec.submodule_search_locations)[0], "mpl-data", "fonts", "ttf", FONTS[bold])
        if path.is_file():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


def _bezier(p0, c, p1, n: int = 48) -> list[tuple[float, float]]:
    return [((1 - t) ** 2 * p0[0] + 2 * (1 - t) * t * c[0] + t * t * p1[0],
             (1 - t) ** 2 * p0[1] + 2 * (1 - t) * t * c[1] + t * t * p1[1]) for t in (i / n for i in range(n + 1))]


def _outside(points, box, keep_end: bool):
    """The points of a path outside a node's box: from where it leaves the start box, or up to
    where it enters the end box."""
    x0, y0, x1, y1 = box
    inside = [x0 <= x <= x1 and y0 <= y <= y1 for x, y in points]
    if keep_end:
        cut = next((i for i, v in enumerate(inside) if not v), len(points) - 1)
        return points[max(0, cut - 1):] if cut else points
    cut = next((i for i in range(len(points) - 1, -1, -1) if not inside[i]), 0)
    return points[:cut + 2]


def render_png(
    workflow: Workflow,
    registry: Registry | None = None,
    status: Mapping[int, str] | None = None,
    width_px: int = 1000,
) -> bytes:
    """PNG bytes of the graph, drawn with Pillow (a few milliseconds; matplotlib took ~0.5 s to
    import and draw). `status` colours steps by run state (pending/running/done/…)."""
    from PIL import Image, ImageDraw

    g = to_digraph(workflow, registry)
    pos = layout(g)
    layer = nx.get_node_attributes(g, "layer")
    columns = 1 + max(layer.values(), default=0)
    rows = max((sum(1 for v in layer.values() if v == c) for c in range(columns)), default=1)
    height_px = int(max(240, min(900, 120 + 110 * rows)))
    s = SCALE
    w, h = width_px * s, height_px * s
    img = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(img)
    label_font, step_font, small = _font(13 * s), _font(13 * s, bold=True), _font(11 * s)
    top, bottom = 34 * s, h - 34 * s  # title above, legend below
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    pad_x = max(0.15, (max(xs) - min(xs)) * 0.08)
    lo_x, hi_x, lo_y, hi_y = min(xs) - pad_x, max(xs) + pad_x, min(ys) - 0.45, max(ys) + 0.45

    def at(node) -> tuple[float, float]:
        x, y = pos[node]
        return w * (x - lo_x) / (hi_x - lo_x), top + (bottom - top) * (hi_y - y) / (hi_y - lo_y)

    boxes, fills = {}, {}
    for node, data in g.nodes(data=True):
        font = step_font if "step" in data else label_font
        text = data["label"].replace(" · ", "\n")
        x0, y0, x1, y1 = draw.multiline_textbbox((0, 0), text, font=font, align="center", spacing=2 * s)
        cx, cy = at(node)
        bw, bh = (x1 - x0) / 2 + 10 * s, (y1 - y0) / 2 + 7 * s
        boxes[node] = (cx - bw, cy - bh, cx + bw, cy + bh)
        if status is not None and "step" in data:
            fills[node] = STATUS_COLOURS.get(status.get(data["step"], "pending"), "#f2f2f2")
        else:
            fills[node] = KIND_COLOURS.get(data["kind"], "#f4cccc")
    # neighbours in adjacent columns get straight arrows; an edge that skips columns arcs
    # around the nodes between (alternating sides), so it never runs through them
    skips = [(u, v) for u, v in g.edges if abs(layer.get(v, 0) - layer.get(u, 0)) > 1]
    grey, labels = (102, 102, 102), []
    for u, v in g.edges:
        p0, p1 = at(u), at(v)
        if (u, v) in skips:
            side = -1 if skips.index((u, v)) % 2 == 0 else 1
            room = (p0[1] - top) if side < 0 else (bottom - p0[1])
            bend = side * min(0.32 * abs(p1[0] - p0[0]), 2 * max(room - 12 * s, 0))
            path = _bezier(p0, ((p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2 + bend), p1)
        else:
            path = _bezier(p0, ((p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2), p1, n=64)
        path = _outside(_outside(path, boxes[u], keep_end=True), boxes[v], keep_end=False)
        if len(path) < 2:
            continue
        draw.line(path, fill=grey, width=2 * s // 2 + 1, joint="curve")
        (ax, ay), (bx, by) = path[-2], path[-1]
        norm = max(((bx - ax) ** 2 + (by - ay) ** 2) ** 0.5, 1e-6)
        ux, uy = (bx - ax) / norm, (by - ay) / norm
        size = 9 * s
        draw.polygon([(bx, by), (bx - size * ux + size * 0.45 * uy, by - size * uy - size * 0.45 * ux),
                      (bx - size * ux - size * 0.45 * uy, by - size * uy + size * 0.45 * ux)], fill=grey)
        gap = abs(path[-1][0] - path[0][0])
        labels.append((path[len(path) // 2], g.edges[u, v]["label"], gap, (u, v) in skips, (boxes[u], boxes[v])))
    for (x, y), text, gap, arc, ends in labels:
        if not arc and draw.textlength(text, font=small) > gap - 6 * s:  # too wide for the gap: wrap,
            text = text.replace(", ", ",\n")
            x0, y0, x1, y1 = draw.multiline_textbbox((x, y), text, font=small, anchor="mm", align="center")
            if x1 - x0 > gap - 6 * s:  # and if still too wide, set it above the two boxes
                y = min(ends[0][1], ends[1][1]) - (y1 - y0) / 2 - 4 * s
        x0, y0, x1, y1 = draw.multiline_textbbox((x, y), text, font=small, anchor="mm", align="center")
        draw.rounded_rectangle((x0 - 3 * s, y0 - 2 * s, x1 + 3 * s, y1 + 2 * s), radius=3 * s, fill="white")
        draw.multiline_text((x, y), text, font=small, fill=(51, 51, 51), anchor="mm", align="center")
    for node, data in g.nodes(data=True):
        draw.rounded_rectangle(boxes[node], radius=6 * s, fill=fills[node], outline=(68, 68, 68), width=2 * s // 2 + 1)
        font = step_font if "step" in data else label_font
        draw.multiline_text(at(node), data["label"].replace(" · ", "\n"), font=font, fill="black", anchor="mm",
                            align="center", spacing=2 * s)
    draw.text((w / 2, top / 2 + 2 * s), workflow.process[:90], font=label_font, fill="black", anchor="mm")
    legend = STATUS_COLOURS if status is not None else {"predict": KIND_COLOURS["predict"], "edit": KIND_COLOURS["edit"]}
    items = [(name, colour, draw.textlength(name, font=small)) for name, colour in legend.items()]
    x = (w - sum(16 * s + n + 18 * s for _, _, n in items)) / 2
    y = bottom + (h - bottom) / 2
    for name, colour, n in items:
        draw.rectangle((x, y - 6 * s, x + 12 * s, y + 6 * s), fill=colour, outline=(68, 68, 68), width=s)
        draw.text((x + 16 * s, y), name, font=small, fill="black", anchor="lm")
        x += 16 * s + n + 18 * s
    img = img.resize((width_px, height_px), Image.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()

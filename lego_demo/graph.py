"""The workflow as a networkx graph, drawn left to right with matplotlib.

Nodes: `init`, one per step, `result`; edges carry the value names that flow along them.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

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


def render_png(
    workflow: Workflow,
    registry: Registry | None = None,
    status: Mapping[int, str] | None = None,
    width_px: int = 1000,
) -> bytes:
    """PNG bytes of the graph. `status` colours steps by run state (pending/running/done/…)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g = to_digraph(workflow, registry)
    pos = layout(g)
    columns = 1 + max((d.get("layer", 0) for _, d in g.nodes(data=True)), default=0)
    rows = max((sum(1 for _, d in g.nodes(data=True) if d.get("layer") == c) for c in range(columns)), default=1)
    dpi = 100
    fig_w = width_px / dpi
    fig_h = max(2.4, min(9.0, 1.2 + 1.1 * rows))
    fig, ax = plt.subplots(figsize=(fig_w, fig_h), dpi=dpi)
    colours = []
    for _, data in g.nodes(data=True):
        if status is not None and "step" in data:
            colours.append(STATUS_COLOURS.get(status.get(data["step"], "pending"), "#f2f2f2"))
        else:
            colours.append(KIND_COLOURS.get(data["kind"], "#f4cccc"))
    # neighbours in adjacent columns get straight arrows; an edge that skips columns arcs
    # around the nodes between (alternating sides), so it never runs through them
    layer = nx.get_node_attributes(g, "layer")
    skips = [(u, v) for u, v in g.edges if abs(layer.get(v, 0) - layer.get(u, 0)) > 1]
    for group, style in (
        ([e for e in g.edges if e not in skips], "arc3,rad=0.0"),
        (skips[0::2], "arc3,rad=-0.32"),
        (skips[1::2], "arc3,rad=0.32"),
    ):
        if not group:
            continue
        nx.draw_networkx_edges(
            g, pos, edgelist=group, ax=ax, arrows=True, arrowstyle="-|>", arrowsize=14, edge_color="#666666",
            node_size=3200, connectionstyle=style,
        )
        nx.draw_networkx_edge_labels(
            g, pos, edge_labels={e: g.edges[e]["label"] for e in group}, ax=ax, font_size=8,
            font_color="#333333", connectionstyle=style,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
        )
    for (node, data), colour in zip(g.nodes(data=True), colours):
        x, y = pos[node]
        ax.text(
            x, y, data["label"].replace(" · ", "\n"), ha="center", va="center", fontsize=10,
            fontweight="bold" if "step" in data else "normal",
            bbox={"boxstyle": "round,pad=0.5", "fc": colour, "ec": "#444444", "lw": 1.2},
            zorder=3,
        )
    legend = STATUS_COLOURS if status is not None else {"predict": KIND_COLOURS["predict"], "edit": KIND_COLOURS["edit"]}
    for label, colour in legend.items():
        ax.scatter([], [], marker="s", s=80, color=colour, edgecolors="#444444", label=label)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, -0.02), ncol=len(legend), frameon=False, fontsize=8)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    pad_x = max(0.15, (max(xs) - min(xs)) * 0.08)
    ax.set_xlim(min(xs) - pad_x, max(xs) + pad_x)
    ax.set_ylim(min(ys) - 0.45, max(ys) + 0.45)
    ax.set_title(workflow.process[:90], fontsize=10)
    ax.axis("off")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()

"""The DOT renderer: the dependency graph for Graphviz, pydot and anything that reads DOT.

Written here rather than with pydot or networkx's DOT writers: those need
pydot or pygraphviz at run time, write nodes in insertion rather than a
fixed order, and pydot takes seconds on a 10,000-receiver graph. Nodes get
opaque ids (n0, n1, ... in sorted order), so no project name can collide
with a DOT keyword; every label is a quoted string in which only the
characters DOT gives a meaning to are escaped, and names show their control
characters escaped (model.escaping), newlines included: the only line break
in a label is the renderer's own. Tests check the output with Graphviz's
`dot` and with pydot's parser, hostile names included.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import networkx as nx

from ..model.escaping import escape_controls

__all__ = ["DOT_TITLE", "dot_node_ids", "dot_quote", "edge_label", "render_dot"]

#: The header comment of every DOT file: fixed text, never the command line (no argv, no paths).
DOT_TITLE = "signal dependency graph, made by signalscope"

_SHAPES = {
    "sender": 'shape=box, style="rounded,filled", fillcolor="#e8f0fe"',
    "signal": 'shape=hexagon, style=filled, fillcolor="#fff4d6"',
    "receiver": 'shape=box, style=filled, fillcolor="#ffffff"',
    "unresolved": 'shape=note, style="dashed", color="#b00020", fontcolor="#b00020"',
}


def dot_quote(text: str) -> str:
    r"""Return `text` as a DOT quoted string: backslashes and quotes escaped, newlines as \n.

    Each newline in `text` is a line break in the label; any other control
    character is shown escaped. Names go through `escape_controls` first, so
    that only the caller's own newlines break lines.
    """
    lines = (escape_controls(line).replace("\\", "\\\\").replace('"', '\\"') for line in text.split("\n"))
    return '"' + "\\n".join(lines) + '"'


def _node_label(data: dict[str, Any]) -> str:
    """Return the label of a node, names escaped: one line, or a receiver's two (name, then file:line)."""
    kind = data["kind"]
    name = escape_controls(str(data["label"]))
    if kind == "receiver":
        where = escape_controls(f"{data['file']}:{data['line']}") if data.get("file") else ""
        return f"{name}\n{where}" if where else name
    if kind == "unresolved":
        return f"unresolved: {name}"
    return name


def edge_label(data: dict[str, Any]) -> str | None:
    """Return the label of an edge (one line, names escaped), shared by the DOT and Mermaid renderers."""
    kind = data["kind"]
    if kind == "connected":
        return f"{escape_controls(data.get('sender') or 'any')} ({data['position'] + 1})"
    if kind == "triggers":
        # escaped before strip(), which would eat a name's vertical tab or form feed
        return f"{escape_controls(str(data['effect']))} {escape_controls(data['sender'] or '')}".strip()
    if kind == "writes":
        effect = str(data["effect"])
        return escape_controls(effect) + (": no signal" if effect in ("update", "bulk_create") else ": no receivers")
    return None


def _edge_attrs(data: dict[str, Any]) -> str:
    kind = data["kind"]
    label = f"label={dot_quote(edge_label(data) or '')}"
    if kind == "connected":
        style = ", style=dotted" if data.get("dead") or data.get("pending") else ""
        return f"{label}{style}"
    if kind == "triggers":
        loop = ', color="#b00020", penwidth=2' if data.get("in_cycle") else ""
        return f'{label}, color="#1a73e8"{loop}'
    if kind == "writes":
        return f'{label}, style=dashed, color="#888888"'
    if kind == "unresolved":
        return 'style=dashed, color="#b00020"'
    return 'color="#888888", arrowhead=vee'


def dot_node_ids(graph: nx.MultiDiGraph) -> dict[str, str]:
    """The DOT id of each node (n0, n1, ...): also the <title> of its group in Graphviz's SVG."""
    return {node: f"n{i}" for i, node in enumerate(sorted(graph.nodes))}


def render_dot(
    graph: nx.MultiDiGraph,
    *,
    rankdir: str = "LR",
    cluster_by_app: bool = False,
    title: str = DOT_TITLE,
    command: str | None = None,
) -> str:
    """Return `graph` as DOT text.

    `rankdir` is Graphviz's (TB, LR, BT, RL); `cluster_by_app` draws each
    app's receivers and models in a ``cluster_<app>`` subgraph; `title` is
    the one header comment line, its control characters escaped so that it
    can't end early. `command` is accepted and ignored (for one release): the
    output no longer holds the command line, which could name paths.
    """
    del command  # deprecated: the header is fixed text
    ids = dot_node_ids(graph)
    lines = [f"// {escape_controls(title)}"] if title else []
    lines += [
        "digraph signalscope {",
        f'  graph [rankdir={dot_quote(rankdir)}, fontname="Helvetica", fontsize=10];',
        '  node [fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    clusters: dict[str, list[str]] = defaultdict(list)
    loose: list[str] = []
    for node in sorted(graph.nodes):
        data = graph.nodes[node]
        attrs = [f"label={dot_quote(_node_label(data))}", _SHAPES.get(data["kind"], "shape=box")]
        if data.get("in_cycle"):
            attrs.append('color="#b00020", penwidth=2')
        line = f"{ids[node]} [{', '.join(attrs)}];"
        app = data.get("app") or ""
        if cluster_by_app and app:
            clusters[app].append(line)
        else:
            loose.append(line)
    for app in sorted(clusters):
        shown = escape_controls(app)
        lines.append(f"  subgraph {dot_quote('cluster_' + shown)} {{")
        lines.append(f"    label={dot_quote(shown)};")
        lines.append('    style="rounded"; color="#bbbbbb";')
        lines.extend(f"    {line}" for line in clusters[app])
        lines.append("  }")
    lines.extend(f"  {line}" for line in loose)
    for tail, head, data in graph.edges(data=True):
        lines.append(f"  {ids[tail]} -> {ids[head]} [{_edge_attrs(data)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"

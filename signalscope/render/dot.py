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

__all__ = [
    "DOT_TITLE",
    "dot_edges",
    "dot_node_attrs",
    "dot_node_ids",
    "dot_preamble",
    "dot_quote",
    "edge_label",
    "render_dot",
    "shared_receivers",
]

#: The header comment of every DOT file: fixed text, never the command line (no argv, no paths).
DOT_TITLE = "signal dependency graph, made by signalscope"

_SHAPES = {
    "sender": 'shape=box, style="rounded,filled", fillcolor="#e8f0fe"',
    "state": 'shape=hexagon, style=filled, fillcolor="#fff4d6"',
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
    """Return the label of a node, names escaped: one line or two (receiver: name, file:line; state: signal, sender)."""
    kind = data["kind"]
    name = escape_controls(str(data["label"]))
    if kind == "receiver":
        where = escape_controls(f"{data['file']}:{data['line']}") if data.get("file") else ""
        return f"{name}\n{where}" if where else name
    if kind == "state":
        sender = data.get("sender")
        shown = escape_controls(str(sender)) if sender is not None else "<unknown sender>"
        return f"{escape_controls(str(data['name']))}\n{shown}"
    if kind == "unresolved":
        return f"unresolved: {name}"
    return name


def shared_receivers(graph: nx.MultiDiGraph) -> set[str]:
    """Return the receivers that run for states of several senders: their effect edges name the sender they hold for."""
    senders: dict[str, set[Any]] = defaultdict(set)
    for tail, head, data in graph.edges(data=True):
        if data["kind"] == "connected":
            senders[head].add(graph.nodes[tail].get("sender"))
    return {receiver for receiver, found in senders.items() if len(found) > 1}


def _when(data: dict[str, Any], *, name_sender: bool) -> list[str]:
    """The words an effect edge adds on when it runs: for which sender, under which condition, at commit."""
    words = []
    if name_sender and data.get("sender") is not None:
        words.append(f"for {escape_controls(str(data['sender']))}")
    if data.get("condition"):
        words.append(f"if {escape_controls(str(data['condition']))}")
    if data.get("is_after_commit"):
        words.append("after commit")
    return words


def edge_label(data: dict[str, Any], *, name_sender: bool = False) -> str | None:
    """Return the label of an edge (one line, names escaped), shared by the DOT and Mermaid renderers.

    An effect edge says when it runs: "if created", "after commit", and with
    `name_sender` (its receiver runs for several senders) "for auth.User".
    """
    kind = data["kind"]
    if kind == "connected":
        if "order" not in data:  # a signal node's (collapse_senders): the sender it was connected for
            return f"{escape_controls(data.get('sender') or 'any')} ({data['position'] + 1})"
        return f"{data['order']}" + ("" if data.get("sender") is not None else ", any sender")
    if kind == "triggers":
        # escaped before strip(), which would eat a name's vertical tab or form feed
        text = f"{escape_controls(str(data['effect']))} {escape_controls(data.get('model') or '')}".strip()
        return ", ".join([text, *_when(data, name_sender=name_sender)])
    if kind == "writes":
        effect = str(data["effect"])
        text = escape_controls(effect) + (": no signal" if effect in ("update", "bulk_create") else ": no receivers")
        return ", ".join([text, *_when(data, name_sender=name_sender)])
    if kind == "unresolved":
        return ", ".join(_when(data, name_sender=name_sender)) or None
    if kind == "sends" and data.get("cascade"):
        return "delete cascades"
    if kind == "sends" and data.get("m2m"):
        return f"{escape_controls(str(data['m2m']))}.add/remove/clear"
    return None


def _edge_attrs(data: dict[str, Any], *, name_sender: bool = False) -> str:
    kind = data["kind"]
    label = f"label={dot_quote(edge_label(data, name_sender=name_sender) or '')}"
    if kind == "connected":
        style = ", style=dotted" if data.get("dead") or data.get("pending") else ""
        return f"{label}{style}"
    if kind == "triggers":
        return f'{label}, color="#b00020", penwidth=2' if data.get("in_cycle") else f'{label}, color="#1a73e8"'
    if kind == "writes":
        return f'{label}, style=dashed, color="#888888"'
    if kind == "unresolved":
        shown = edge_label(data, name_sender=name_sender)
        return (f"label={dot_quote(shown)}, " if shown else "") + 'style=dashed, color="#b00020"'
    if data.get("cascade") or data.get("m2m"):
        return f'{label}, style=dashed, color="#888888", arrowhead=vee'
    return 'color="#888888", arrowhead=vee'


def dot_node_ids(graph: nx.MultiDiGraph) -> dict[str, str]:
    """The DOT id of each node (n0, n1, ...): also the <title> of its group in Graphviz's SVG."""
    return {node: f"n{i}" for i, node in enumerate(sorted(graph.nodes))}


def dot_preamble(rankdir: str = "LR") -> list[str]:
    """The lines that open the digraph: its name, then the graph, node and edge defaults (the look)."""
    return [
        "digraph signalscope {",
        f'  graph [rankdir={dot_quote(rankdir)}, fontname="Helvetica", fontsize=10];',
        '  node [fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]


def dot_node_attrs(data: dict[str, Any]) -> str:
    """The attributes of a node's statement, without the brackets: its label, shape and colours."""
    attrs = [f"label={dot_quote(_node_label(data))}", _SHAPES.get(data["kind"], "shape=box")]
    if data.get("in_cycle"):
        attrs.append('color="#b00020", penwidth=2')
    return ", ".join(attrs)


def dot_edges(graph: nx.MultiDiGraph, ids: dict[str, str]) -> list[tuple[str, str, str]]:
    """Every edge as (tail id, head id, its attributes without the brackets), in the graph's order."""
    shared = shared_receivers(graph)
    return [
        (ids[tail], ids[head], _edge_attrs(data, name_sender=tail in shared))
        for tail, head, data in graph.edges(data=True)
    ]


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
    output no longer holds the command line, which could name paths. The
    report composes the same statements (dot_preamble, dot_node_attrs,
    dot_edges) for the part of the graph its page shows.
    """
    del command  # deprecated: the header is fixed text
    ids = dot_node_ids(graph)
    lines = [f"// {escape_controls(title)}"] if title else []
    lines += dot_preamble(rankdir)
    clusters: dict[str, list[str]] = defaultdict(list)
    loose: list[str] = []
    for node in sorted(graph.nodes):
        data = graph.nodes[node]
        line = f"{ids[node]} [{dot_node_attrs(data)}];"
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
    lines.extend(f"  {tail} -> {head} [{attrs}];" for tail, head, attrs in dot_edges(graph, ids))
    lines.append("}")
    return "\n".join(lines) + "\n"

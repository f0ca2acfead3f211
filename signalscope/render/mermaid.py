"""The Mermaid renderer: a flowchart GitHub renders in Markdown.

Hand-written (no library writes Mermaid): node ids are opaque (n0, n1, ...
in sorted order, never a Mermaid keyword), and labels are quoted with the
characters Mermaid reads inside them replaced by its entity codes; names
show their control characters escaped (model.escaping).
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from ..model.escaping import escape_controls
from .dot import _node_label, edge_label, shared_receivers

__all__ = ["mermaid_quote", "render_mermaid"]

_ENTITIES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "`": "#96;", "|": "#124;"}
_SHAPES = {
    "sender": ('(["', '"])'),
    "state": ('{{"', '"}}'),
    "signal": ('{{"', '"}}'),
    "receiver": ('["', '"]'),
    "unresolved": ('>"', '"]'),
}


def mermaid_quote(text: str) -> str:
    """Return `text` as a quoted Mermaid label: entity codes for its special characters, <br> for newlines.

    Any other control character is shown escaped.
    """
    return "<br>".join("".join(_ENTITIES.get(ch, ch) for ch in escape_controls(line)) for line in text.split("\n"))


_ARROWS = {"connected": ("--", "-->"), "triggers": ("==", "==>"), "writes": ("-.", ".->"), "unresolved": ("-.", ".->")}


def _edge(data: dict[str, Any], *, name_sender: bool = False) -> str:
    label = edge_label(data, name_sender=name_sender)
    if data["kind"] in _ARROWS and label is not None:
        start, end = _ARROWS[data["kind"]]
        return f'{start} "{mermaid_quote(label)}" {end}'
    return "-.->" if data["kind"] == "unresolved" else "-->"


def render_mermaid(graph: nx.MultiDiGraph, *, rankdir: str = "LR") -> str:
    """Return `graph` as a Mermaid flowchart (`rankdir` TB or LR, as in DOT)."""
    ids = {node: f"n{i}" for i, node in enumerate(sorted(graph.nodes))}
    lines = [f"flowchart {'TB' if rankdir in ('TB', 'BT') else 'LR'}"]
    cycles = []
    for node in sorted(graph.nodes):
        data = graph.nodes[node]
        left, right = _SHAPES.get(data["kind"], ('["', '"]'))
        lines.append(f"  {ids[node]}{left}{mermaid_quote(_node_label(data))}{right}")
        if data.get("in_cycle"):
            cycles.append(ids[node])
    shared = shared_receivers(graph)
    for tail, head, data in graph.edges(data=True):
        lines.append(f"  {ids[tail]} {_edge(data, name_sender=tail in shared)} {ids[head]}")
    if cycles:
        lines.append("  classDef loop stroke:#b00020,stroke-width:2px")
        lines.append(f"  class {','.join(cycles)} loop")
    return "\n".join(lines) + "\n"

"""Data renderers of the dependency graph: JSON (networkx node-link data) and GraphML."""

from __future__ import annotations

from typing import Any

import networkx as nx

from ..model import SCHEMA_VERSION, dump_json

__all__ = ["render_graph_json", "render_graphml"]


def render_graph_json(graph: nx.MultiDiGraph) -> str:
    """Return `graph` as networkx node-link JSON: {"schema", "directed", "multigraph", "nodes", "edges"}.

    Every node and edge carries the registry's fields (file, line, flags,
    effect text...): a reader needs nothing else, and
    ``networkx.node_link_graph(data, edges="edges")`` reads it back.
    """
    nodes = [{"id": node, **graph.nodes[node]} for node in graph.nodes]
    edges = [
        {"source": tail, "target": head, "key": key, **data}
        for tail, head, key, data in graph.edges(keys=True, data=True)
    ]
    data = {"schema": SCHEMA_VERSION, "directed": True, "multigraph": True, "graph": {}, "nodes": nodes, "edges": edges}
    return dump_json(data)


def _graphml_value(value: Any) -> Any:
    # GraphML holds strings, numbers and booleans: None becomes "", anything else text.
    if value is None:
        return ""
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def render_graphml(graph: nx.MultiDiGraph) -> str:
    """Return `graph` as GraphML (networkx's writer; yEd, Gephi and Cytoscape read it)."""
    clean = nx.MultiDiGraph()
    for node, data in graph.nodes(data=True):
        clean.add_node(node, **{k: _graphml_value(v) for k, v in data.items()})
    for tail, head, key, data in graph.edges(keys=True, data=True):
        clean.add_edge(tail, head, key=key, **{k: _graphml_value(v) for k, v in data.items()})
    return "\n".join(nx.generate_graphml(clean)) + "\n"

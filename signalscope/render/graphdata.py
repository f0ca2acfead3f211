"""Data renderers of the dependency graph: JSON (networkx node-link data) and GraphML.

JSON keeps every name as it is. GraphML shows control characters escaped
(model.escaping), as the human formats do: XML 1.0 cannot hold most of them
at all, not even as character references, and a parser turns a carriage
return into a newline.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from ..model import schemas
from ..model.escaping import escape_controls
from ..model.jsonio import dump_json

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
    data = {"schema": schemas.GRAPH, "directed": True, "multigraph": True, "graph": {}, "nodes": nodes, "edges": edges}
    return dump_json(data)


def _graphml_value(value: Any) -> Any:
    # GraphML holds strings, numbers and booleans: None becomes "", anything else text.
    if value is None:
        return ""
    if isinstance(value, (bool, int, float)):
        return value
    return escape_controls(str(value))


def render_graphml(graph: nx.MultiDiGraph) -> str:
    """Return `graph` as GraphML (networkx's writer; yEd, Gephi and Cytoscape read it).

    Always well-formed XML: node ids and values show control characters escaped.
    """
    clean = nx.MultiDiGraph()
    for node, data in graph.nodes(data=True):
        clean.add_node(_graphml_value(node), **{k: _graphml_value(v) for k, v in data.items()})
    for tail, head, key, data in graph.edges(keys=True, data=True):
        values = {k: _graphml_value(v) for k, v in data.items()}
        clean.add_edge(_graphml_value(tail), _graphml_value(head), key=_graphml_value(key), **values)
    return "\n".join(nx.generate_graphml(clean)) + "\n"

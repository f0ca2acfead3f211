"""Questions about the dependency graph: the part the filters keep, and what a write reaches."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..errors import UnknownName
from ..model.cascade import CascadeMap
from ..model.select import select

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["dependency_graph", "reachable_from_model"]

def dependency_graph(
    cmap: CascadeMap,
    *,
    signals: Iterable[str] = (),
    sender: str | None = None,
    app: str | None = None,
    receiver: str | None = None,
    hide_django: bool = False,
    model: str | None = None,
    depth: int | None = None,
    cascade: bool = True,
) -> nx.MultiDiGraph:
    """Return the dependency graph of `cmap`, or of the part of it the filters keep.

    The registry filters are model.select's; `model` keeps what is
    reachable from that model's signals, `depth` receivers deep at most;
    without `cascade`, receivers' effects are left out.

    Raises UnknownName.
    """
    from .build import build_graph

    kept_registry = select(
        cmap.registry, signals=signals, sender=sender, app=app, receiver=receiver, hide_django=hide_django
    )
    kept = CascadeMap(kept_registry, cmap.models, cmap.effects)
    graph = build_graph(kept, cascade=cascade)
    if model is not None:
        labels = {m.label.lower(): m.label for m in cmap.models}
        if model.lower() not in labels:
            raise UnknownName("model", model, list(labels.values()))
        graph = reachable_from_model(graph, kept, labels[model.lower()], depth)
    return graph


def reachable_from_model(graph: nx.MultiDiGraph, cmap: CascadeMap, model: str, depth: int | None) -> nx.MultiDiGraph:
    """Return the part of `graph` a write to `model` can set off, `depth` receivers deep at most.

    Signal nodes are shared by every sender, so plain reachability would
    wander into other models' receivers: the walk goes over (signal, sender)
    states instead, and keeps the receivers that run in each.
    """
    import networkx as nx

    from .build import cascade_states, receiver_node, sender_node, signal_node

    states = cascade_states(cmap)
    start = [s for s in states if s[1] == model]
    levels: dict[tuple[str, str | None], int] = {}
    for state in start:
        for reached, level in nx.single_source_shortest_path_length(states, state, cutoff=None).items():
            levels[reached] = min(level, levels.get(reached, level))
    keep: set[str] = {sender_node(model)}
    for (signal, sender), level in levels.items():
        if depth is not None and level >= depth:
            continue
        runs = [
            c
            for c in cmap.registry.connections
            if c.signal == signal and (c.sender.is_any or c.sender.label == sender) and not c.is_pending
        ]
        if not runs:
            continue
        keep.add(signal_node(signal))
        if sender is not None:
            keep.add(sender_node(sender))
        keep.update(receiver_node(c.receiver.path) for c in runs)
    keep &= set(graph.nodes)
    leaves = {
        head for tail, head, data in graph.edges(data=True) if tail in keep and data["kind"] in ("unresolved", "writes")
    }
    wanted = keep | leaves
    # Keep only the edges that belong to this walk: connections for these senders. Nodes and
    # edges go in `graph`'s own order (a subgraph view would iterate the set, whose order the
    # hash seed decides).
    kept_senders = {s for _sig, s in levels} | {None}
    result: Any = nx.MultiDiGraph()
    result.add_nodes_from((node, data) for node, data in graph.nodes(data=True) if node in wanted)
    for tail, head, key, data in graph.edges(keys=True, data=True):
        if tail not in wanted or head not in wanted:
            continue
        if data["kind"] == "connected" and data.get("sender") not in kept_senders:
            continue
        result.add_edge(tail, head, key=key, **data)
    return result

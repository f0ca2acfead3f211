"""Questions about the dependency graph: the part the filters keep, what a write reaches, what sets a node off.

Every walk of the graph goes by one rule (graph.build): out of a receiver,
only along the effect edges that hold for the state it was entered from
(an edge's ``sender`` is that state's sender, or None). The report's script
walks the same way; tests compare the two on whole projects.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..errors import UnknownName
from ..model.cascade import CascadeMap
from ..model.select import select

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["dependency_graph", "reachable_from_model", "walk_down", "walk_up"]


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
    kept = CascadeMap(kept_registry, cmap.models, cmap.effects, cmap.unread)
    graph = build_graph(kept, cascade=cascade)
    if model is not None:
        labels = {m.label.lower(): m.label for m in cmap.models}
        if model.lower() not in labels:
            raise UnknownName("model", model, list(labels.values()))
        graph = reachable_from_model(graph, kept, labels[model.lower()], depth)
    return graph


class _Any(enum.Enum):
    """A walk that left no state yet: every effect edge of a receiver holds."""

    SENDER = 0


_Context = str | None | _Any  # the sender of the state a receiver was entered from
_LEAVES = ("writes", "unresolved")


def _runs(data: dict[str, Any]) -> bool:
    """Return whether an edge is walked: a dead or pending connection never runs its receiver."""
    return not (data["kind"] == "connected" and (data.get("dead") or data.get("pending")))


def walk_down(
    graph: nx.MultiDiGraph, start: str, *, depth: int | None = None
) -> tuple[set[str], set[tuple[str, str, Any]]]:
    """Return the nodes and edges (tail, head, key) that `start` sets off in `graph`, `start` included.

    From a sender: its states; from a state: the receivers that run for it
    (not dead or pending ones), and from each the effect edges that hold for
    that state's sender, into the states they send, and so on; a receiver
    clicked on its own sets off all its effects. A "writes" or "unresolved"
    edge ends there (the sender it writes sends nothing). `depth` keeps
    states fewer than that many receivers deep (the sender's own are 0).
    """
    nodes = {start}
    edges: set[tuple[str, str, Any]] = set()
    kinds = graph.nodes
    if depth is not None and depth <= 0:
        return nodes, edges
    states: list[str] = []
    receivers: list[tuple[str, _Context]] = []
    kind = kinds[start].get("kind")
    if kind == "sender":
        for _tail, head, key, data in graph.out_edges(start, keys=True, data=True):
            if data["kind"] == "sends":
                edges.add((start, head, key))
                nodes.add(head)
                states.append(head)
    elif kind == "state":
        states.append(start)
    elif kind == "receiver":
        receivers.append((start, _Any.SENDER))
    seen_states = set(states)
    seen_receivers: set[tuple[str, _Context]] = set()
    specific: dict[str, bool] = {}
    level = 0
    while states or receivers:
        for state in states:
            sender = kinds[state].get("sender")
            for _tail, head, key, data in graph.out_edges(state, keys=True, data=True):
                if data["kind"] == "connected" and _runs(data):
                    edges.add((state, head, key))
                    nodes.add(head)
                    receivers.append((head, sender))
        following: list[str] = []
        for receiver, entered in receivers:
            if receiver not in specific:  # no edge names a sender: where it came from changes nothing
                specific[receiver] = any(
                    d.get("sender") is not None for _t, _h, d in graph.out_edges(receiver, data=True)
                )
            context = entered if specific[receiver] else _Any.SENDER
            if (receiver, context) in seen_receivers:
                continue
            seen_receivers.add((receiver, context))
            for _tail, head, key, data in graph.out_edges(receiver, keys=True, data=True):
                holds = data.get("sender")
                if context is not _Any.SENDER and holds is not None and holds != context:
                    continue
                if data["kind"] in _LEAVES:
                    edges.add((receiver, head, key))
                    nodes.add(head)
                elif data["kind"] == "triggers":
                    if head not in seen_states and depth is not None and level + 1 >= depth:
                        continue
                    edges.add((receiver, head, key))
                    nodes.add(head)
                    if head not in seen_states:
                        seen_states.add(head)
                        following.append(head)
        states, receivers = following, []
        level += 1
    return nodes, edges


def walk_up(graph: nx.MultiDiGraph, start: str) -> set[str]:
    """Return the nodes that set `start` off in `graph`: those whose `walk_down` reaches it (`start` excluded)."""
    kinds = graph.nodes
    found: set[str] = set()
    done: set[tuple[str, _Context]] = set()
    todo: list[tuple[str, _Context]] = [(start, _Any.SENDER)]
    while todo:
        node, needed = todo.pop()  # needed: the sender a state must have to run this receiver's edge
        if (node, needed) in done or (node != start and kinds[node].get("kind") == "sender"):
            continue
        done.add((node, needed))
        for tail, _head, data in graph.in_edges(node, data=True):
            if not _runs(data):
                continue
            kind = data["kind"]
            if kind == "connected":
                if needed is not _Any.SENDER and kinds[tail].get("sender") != needed:
                    continue
                todo.append((tail, _Any.SENDER))
            elif kind in ("triggers", *_LEAVES):
                holds = data.get("sender")
                todo.append((tail, _Any.SENDER if holds is None else holds))
            else:  # "sends": the sender, where the walk up ends
                todo.append((tail, _Any.SENDER))
            found.add(tail)
    found.discard(start)
    return found


def reachable_from_model(graph: nx.MultiDiGraph, cmap: CascadeMap, model: str, depth: int | None) -> nx.MultiDiGraph:
    """Return the part of `graph` a write to `model` can set off, `depth` receivers deep at most.

    The walk of `walk_down` from the model's sender node: its states, the
    receivers that run in each, the effects that hold there and the states
    they send, with only the edges walked. `cmap` is not read (kept for
    callers of 0.1).
    """
    import networkx as nx

    from .build import sender_node

    del cmap
    start = sender_node(model)
    result: Any = nx.MultiDiGraph()
    if start not in graph:
        return result
    nodes, edges = walk_down(graph, start, depth=depth)
    # Nodes and edges go in `graph`'s own order (a subgraph view would iterate the set, whose
    # order the hash seed decides).
    result.add_nodes_from((node, data) for node, data in graph.nodes(data=True) if node in nodes)
    for tail, head, key, data in graph.edges(keys=True, data=True):
        if (tail, head, key) in edges:
            result.add_edge(tail, head, key=key, **data)
    return result

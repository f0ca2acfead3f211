"""Build the dependency graph (a networkx MultiDiGraph) from a CascadeMap, and find its cycles.

Nodes (ids are stable strings, attributes carry everything renderers show):

- ``sender:<label>`` (``sender:*`` for any sender), kind "sender";
- ``signal:<path>``, kind "signal";
- ``receiver:<path>``, kind "receiver";
- ``unresolved:<receiver>:<line>``, kind "unresolved": an effect whose target
  can't be known statically.

Edges (kind attribute): sender -> signal "sends"; signal -> receiver
"connected" (with the sender it was connected for); receiver -> signal
"triggers" (an effect sending it, with the sender it sends for);
receiver -> sender "writes" (update()/bulk_create(): a write that sends
nothing); receiver -> unresolved "unresolved".
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import networkx as nx

from .._gc import collection_paused
from ..model.cascade import CascadeMap, EffectRef
from .effects import DELETE_SIGNALS

__all__ = ["build_graph", "cascade_states", "cycle_edges", "receiver_node", "sender_node", "signal_node"]

ANY = "*"


def sender_node(label: str | None) -> str:
    return f"sender:{label if label is not None else ANY}"


def signal_node(path: str) -> str:
    return f"signal:{path}"


def receiver_node(path: str) -> str:
    return f"receiver:{path}"


def _short(path: str) -> str:
    return path.split(":", 1)[1] if ":" in path else path


def cascade_index(cmap: CascadeMap) -> dict[str, tuple[str, ...]]:
    """Return model label -> the models its deletes cascade to directly (build it once per map)."""
    return {m.label: m.cascades for m in cmap.models}


def deleted_with(model: str, cascades: dict[str, tuple[str, ...]]) -> list[str]:
    """Return the models whose rows go when `model`'s do (on_delete=CASCADE, transitively), in order."""
    found: list[str] = []
    todo = list(cascades.get(model, ()))
    while todo:
        label = todo.pop(0)
        if label not in found and label != model:
            found.append(label)
            todo.extend(cascades.get(label, ()))
    return found


def expand_deletes(effect: EffectRef, cascades: dict[str, tuple[str, ...]]) -> list[tuple[str, str | None]]:
    """Return the (signal path, sender label) pairs an effect sends, delete cascades included."""
    pairs = [(signal, effect.target) for signal in effect.signals]
    if effect.kind == "delete" and effect.target:
        for label in deleted_with(effect.target, cascades):
            pairs.extend((signal, label) for signal in DELETE_SIGNALS)
    return pairs


def cascade_states(cmap: CascadeMap) -> nx.DiGraph:
    """Return the graph of (signal path, sender label) states that cascade into each other.

    A state's receivers are those connected to the signal for that sender or
    for any sender; each of their effects leads to the states it sends. The
    edge attribute ``receivers`` names the receivers that make the step.
    """
    # Receivers by (signal, sender) and any-sender receivers by signal: each
    # state then finds its receivers directly (scanning the signal's whole
    # list per state made this quadratic).
    runs: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    anys: dict[str, list[str]] = defaultdict(list)
    for conn in cmap.registry.connections:
        if conn.is_pending or conn.is_dead:
            continue
        if conn.sender.kind == "any":
            anys[conn.signal].append(conn.receiver.path)
        else:
            runs[(conn.signal, conn.sender.label)].append(conn.receiver.path)
    cascades = cascade_index(cmap)
    effects: dict[str, list[list[tuple[str, str | None]]]] = defaultdict(list)
    states: set[tuple[str, str | None]] = set()
    for effect in cmap.effects:
        pairs = expand_deletes(effect, cascades)
        effects[effect.receiver].append(pairs)
        states.update(pairs)
    for conn in cmap.registry.connections:
        if conn.sender.kind == "model":
            states.add((conn.signal, conn.sender.label))

    graph = nx.DiGraph()
    for state in sorted(states, key=lambda s: (s[0], s[1] or "")):
        graph.add_node(state)
        for path in (*runs.get(state, ()), *anys.get(state[0], ())):
            for pairs in effects.get(path, ()):
                for nxt in pairs:
                    if graph.has_edge(state, nxt):
                        graph.edges[state, nxt]["receivers"].add(path)
                    else:
                        graph.add_edge(state, nxt, receivers={path})
    return graph


def cycle_edges(states: nx.DiGraph) -> set[tuple[tuple[str, str | None], tuple[str, str | None]]]:
    """Return the state-graph edges that lie on a cycle: inside one strongly connected component."""
    component: dict[tuple[str, str | None], int] = {}
    for index, members in enumerate(nx.strongly_connected_components(states)):
        for state in members:
            component[state] = index
    return {(a, b) for a, b in states.edges if component[a] == component[b]}


def build_graph(cmap: CascadeMap, *, cascade: bool = True) -> nx.MultiDiGraph:
    """Return the dependency graph of `cmap`; without `cascade`, no effect edges.

    Receivers and effect edges on a cascade that can loop get
    ``in_cycle=True``. Nodes and edges are added in a sorted order, so every
    writer produces the same bytes for the same project.
    """
    with collection_paused():
        return _build_graph(cmap, cascade=cascade)


def _build_graph(cmap: CascadeMap, *, cascade: bool = True) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph()
    registry = cmap.registry
    signals = {s.path: s for s in registry.signals}

    nodes: dict[str, dict[str, Any]] = {}
    edges: list[tuple[str, str, dict[str, Any]]] = []
    apps = sorted(((a.module, a.label) for a in registry.apps), key=lambda m: -len(m[0]))
    app_labels = {a.label for a in registry.apps}
    app_of: dict[str, str] = {}

    def app_of_module(module: str) -> str:
        if module not in app_of:
            # the longest app module that contains it
            app_of[module] = next(
                (label for prefix, label in apps if module == prefix or module.startswith(prefix + ".")), ""
            )
        return app_of[module]

    def sender(label: str | None, kind: str) -> str:
        node = sender_node(label)
        app = label.split(".", 1)[0] if kind in ("model", "pending") and label else ""
        nodes.setdefault(
            node,
            {
                "kind": "sender",
                "label": label or "<any sender>",
                "sender_kind": kind,
                "app": app if app in app_labels else "",
            },
        )
        return node

    def signal(path: str) -> str:
        node = signal_node(path)
        ref = signals.get(path)
        nodes.setdefault(
            node,
            {
                "kind": "signal",
                "label": ref.name if ref else _short(path),
                "path": path,
                "category": ref.category if ref else "unknown",
            },
        )
        return node

    in_cycle_receivers: set[tuple[str, tuple[str, str | None]]] = set()
    if cascade:
        states = cascade_states(cmap)
        for a, b in cycle_edges(states):
            for path in states.edges[a, b]["receivers"]:
                in_cycle_receivers.add((path, b))

    sends: set[tuple[str, str]] = set()
    for conn in registry.connections:
        s = signal(conn.signal)
        r = receiver_node(conn.receiver.path)
        ref = conn.receiver
        nodes.setdefault(
            r,
            {
                "kind": "receiver",
                "label": _short(ref.path),
                "path": ref.path,
                "module": ref.path.split(":", 1)[0],
                "app": app_of_module(ref.path.split(":", 1)[0]),
                "file": ref.file,
                "line": ref.line,
                "receiver_kind": ref.kind,
                "is_async": ref.is_async,
                "in_cycle": False,
            },
        )
        if conn.sender.kind not in ("any",):
            sends.add((sender(conn.sender.label, conn.sender.kind), s))
        edges.append(
            (
                s,
                r,
                {
                    "kind": "connected",
                    "sender": conn.sender.label,
                    "position": conn.position,
                    "weak": conn.is_weak,
                    "dead": conn.is_dead,
                    "pending": conn.is_pending,
                    "dispatch_uid": conn.dispatch_uid,
                },
            )
        )

    # Which (signal, sender) pairs reach a receiver: an effect that reaches none
    # is drawn as a silent write to its model, never as an edge into the signal.
    live = [c for c in registry.connections if not c.is_pending and not c.is_dead]
    heard_from = {(c.signal, c.sender.label) for c in live if not c.sender.is_any}
    heard_by_any = {c.signal for c in live if c.sender.is_any}
    heard_at_all = {c.signal for c in live}

    def reaches(path: str, target: str | None) -> bool:
        if target is None:  # an unknown sender may be any of them
            return path in heard_at_all
        return path in heard_by_any or (path, target) in heard_from

    if cascade:
        cascades = cascade_index(cmap)
        receivers_known = {c.receiver.path for c in registry.connections}
        for effect in cmap.effects:
            if effect.receiver not in receivers_known:
                continue
            r = receiver_node(effect.receiver)
            common = {
                "effect": effect.kind,
                "line": effect.line,
                "text": effect.text,
                "via": effect.via,
                "note": effect.note,
            }
            if effect.kind == "unresolved":
                node = f"unresolved:{effect.receiver}:{effect.line}"
                nodes.setdefault(node, {"kind": "unresolved", "label": effect.text, "note": effect.note})
                edges.append((r, node, {"kind": "unresolved", "in_cycle": False, **common}))
                continue
            pairs = expand_deletes(effect, cascades)
            heard = [(path, target) for path, target in pairs if reaches(path, target)]
            if not heard and effect.target:
                note = effect.note or ("no receiver listens" if pairs else None)
                edges.append(
                    (r, sender(effect.target, "model"), {"kind": "writes", "in_cycle": False, **common, "note": note})
                )
            for path, target in heard:
                s = signal(path)
                if target is not None:
                    sends.add((sender(target, "model"), s))
                looping = (effect.receiver, (path, target)) in in_cycle_receivers
                if looping:
                    nodes[r]["in_cycle"] = True
                edges.append((r, s, {"kind": "triggers", "sender": target, "in_cycle": looping, **common}))

    for s_node, sig in sends:
        edges.append((s_node, sig, {"kind": "sends"}))
    # A model's "sends" edge says its sends reach receivers: only where they do.
    edges = [
        e
        for e in edges
        if e[2]["kind"] != "sends" or reaches(e[1].removeprefix("signal:"), e[0].removeprefix("sender:"))
    ]

    # A signal nothing listens to runs nothing: effects and senders that only
    # lead there would be clutter, so they and the signal are left out.
    listened = {tail for tail, _head, data in edges if data["kind"] == "connected"}
    edges = [e for e in edges if not (e[1].startswith("signal:") and e[1] not in listened)]
    for name in [n for n in nodes if n.startswith("signal:") and n not in listened]:
        del nodes[name]
    touched = {e[0] for e in edges} | {e[1] for e in edges}
    for name in [n for n in nodes if n.startswith("sender:") and n not in touched]:
        del nodes[name]

    for name in sorted(nodes):
        graph.add_node(name, **nodes[name])
    for tail, head, data in sorted(edges, key=_edge_key):
        graph.add_edge(tail, head, **data)
    return graph


def _edge_key(edge: tuple[str, str, dict[str, Any]]) -> tuple[Any, ...]:
    a, b, data = edge
    # Every field that can tell two parallel edges apart, as plain comparable values.
    return (
        a,
        b,
        data["kind"],
        data.get("sender") or "",
        data.get("position", -1),
        data.get("line", 0),
        data.get("effect", ""),
        data.get("text", ""),
        data.get("via") or "",
        data.get("dispatch_uid") or "",
    )

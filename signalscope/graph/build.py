"""Build the dependency graph (a networkx MultiDiGraph) of (signal, sender) states from a CascadeMap; find its cycles.

A signal is shared by every sender, so a graph with one node per signal
would link unrelated senders: post_save(auth.User) and post_save(store.Product)
run different receivers. Nodes are therefore sends of a signal by one
sender (ids are stable strings, attributes carry everything renderers show):

- ``sender:<label>``, kind "sender": a model (or other object) that sends;
- ``state:<signal path>|<sender label>``, kind "state": that signal sent by
  that sender; ``state:<signal path>|*`` is a send whose sender is unknown
  (a ``send()`` whose sender can't be read, or a signal only any-sender
  receivers hear and nothing in the graph sends);
- ``receiver:<path>``, kind "receiver", one per receiver whatever it is
  connected for;
- ``unresolved:<receiver>:<line>``, kind "unresolved": an effect whose
  target can't be known statically.

Edges (kind attribute): sender -> state "sends"; state -> receiver
"connected" (the receivers that run for that sender: its own, then, in
Django's call order, every any-sender receiver of the signal; ``order`` is
the place in that order); receiver -> state "triggers" (an effect sending
it); receiver -> sender "writes" (update()/bulk_create(), or a write no
receiver hears); receiver -> unresolved "unresolved".

Effect edges ("triggers", "writes", "unresolved") carry the ``sender`` they
hold for: an effect read for sender S (a receiver connected for several
models is read once per model) holds only when the receiver runs for S;
None holds for every sender. Receivers stay one node each, so the graph
stays readable and linear in size; every walk of it (graph.queries, the
report's script, the cycles here) leaves a receiver only by the effect
edges that hold for the state it came in from. ``model`` is the model the
effect writes (its target), ``condition`` and ``is_after_commit`` when it
runs.

A state exists when a receiver is connected for that (signal, sender), when
an effect sends it and a receiver hears it, or when it is a model's own
write reaching an any-sender receiver (the same save sends pre_save and
post_save: a model with one of them also has the other when an any-sender
receiver hears it; likewise pre_delete/post_delete and pre_init/post_init).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import networkx as nx

from .._gc import collection_paused
from ..model import Connection, call_order
from ..model.cascade import CascadeMap, EffectRef
from ..model.select import USER_MODEL_SIGNALS, app_modules, owning_app
from .deletion import DELETE_SIGNALS, DeletionIndex
from .effects import M2M_SIGNALS

M2M_SIGNAL = M2M_SIGNALS[0]

__all__ = [
    "ANY",
    "build_graph",
    "cascade_index",
    "cascade_states",
    "collapse_senders",
    "cycle_edges",
    "deleted_with",
    "deletion_index",
    "effect_sends",
    "expand_deletes",
    "receiver_node",
    "sender_node",
    "signal_node",
    "state_node",
]

ANY = "*"

_S = "django.db.models.signals:"
# The signals one write of a model sends together: a model that sends one also sends the others.
_FAMILIES = (
    (_S + "pre_save", _S + "post_save"),
    DELETE_SIGNALS,
    (_S + "pre_init", _S + "post_init"),
)
_FAMILY_OF = {signal: family for family in _FAMILIES for signal in family}

State = tuple[str, str | None]  # (signal path, sender label or None for an unknown sender)


def sender_node(label: str | None) -> str:
    return f"sender:{label if label is not None else ANY}"


def signal_node(path: str) -> str:
    return f"signal:{path}"


def state_node(signal: str, sender: str | None) -> str:
    return f"state:{signal}|{sender if sender is not None else ANY}"


def receiver_node(path: str) -> str:
    return f"receiver:{path}"


def _short(path: str) -> str:
    return path.split(":", 1)[1] if ":" in path else path


def _live(conn: Connection) -> bool:
    return not conn.is_pending and not conn.is_dead


def deletion_index(cmap: CascadeMap) -> DeletionIndex:
    """Return the DeletionIndex of `cmap`: its models' relations, and who listens to their delete signals."""
    listened: set[str] = set()
    anyone = False
    for conn in cmap.registry.connections:
        if conn.signal in DELETE_SIGNALS and _live(conn):
            if conn.sender.is_any:
                anyone = True
            elif conn.sender.label is not None:
                listened.add(conn.sender.label)
    return DeletionIndex(cmap.models, lambda label: anyone or label in listened)


def effect_sends(effect: EffectRef, index: DeletionIndex) -> list[State]:
    """Return the (signal path, sender label) pairs `effect` sends, in order.

    A delete sends pre_delete and post_delete for the model and for the
    rows deleted with it, in the order Django's Collector sends them
    (graph.deletion).
    """
    if effect.kind == "delete" and effect.target:
        return list(index.deletion(effect.target).sends())
    return [(signal, effect.target) for signal in effect.signals]


def cascade_index(cmap: CascadeMap) -> DeletionIndex:
    """Return what `deleted_with` and `expand_deletes` need of `cmap` (build it once per map)."""
    return deletion_index(cmap)


def deleted_with(model: str, index: DeletionIndex) -> list[str]:
    """Return the models whose delete signals are sent when `model`'s rows are deleted, in Collector order."""
    return [label for label in index.deletion(model).models if label != model]


def expand_deletes(effect: EffectRef, index: DeletionIndex) -> list[State]:
    """Return the (signal path, sender label) pairs an effect sends, delete cascades included (`effect_sends`)."""
    return effect_sends(effect, index)


class _Cascade:
    """What every question about states needs, indexed once: receivers by state, effects by receiver, the states."""

    def __init__(self, cmap: CascadeMap, *, cascade: bool = True) -> None:
        connections = cmap.registry.connections
        # Receivers by (signal, sender) and any-sender receivers by signal: each state then finds
        # its receivers directly (scanning the signal's whole list per state is quadratic).
        self.own: dict[State, list[Connection]] = defaultdict(list)  # every connection, dead and pending too
        self.anys: dict[str, list[Connection]] = defaultdict(list)
        self.runs: dict[State, list[str]] = defaultdict(list)  # live receivers for a sender
        self.any_runs: dict[str, list[str]] = defaultdict(list)  # live any-sender receivers
        self.sender_kinds: dict[str, str] = {}
        connected_for: dict[str, set[str]] = defaultdict(set)
        any_connected: set[str] = set()
        for conn in connections:
            path = conn.receiver.path
            if conn.sender.is_any:
                self.anys[conn.signal].append(conn)
                any_connected.add(path)
                if _live(conn):
                    self.any_runs[conn.signal].append(path)
                continue
            label = conn.sender.label or ""
            self.own[(conn.signal, label)].append(conn)
            self.sender_kinds.setdefault(label, conn.sender.kind)
            connected_for[path].add(label)
            if _live(conn):
                self.runs[(conn.signal, label)].append(path)
        self.heard_by_own = {signal for (signal, _label), paths in self.runs.items() if paths}
        self.deletions = deletion_index(cmap)

        # Each receiver's effects, with what they send. An effect read for a sender the
        # receiver is not connected for (the registry was filtered) never holds.
        self.effects: dict[str, list[tuple[EffectRef, list[State]]]] = defaultdict(list)
        known = {c.receiver.path for c in connections}
        if cascade:
            for effect in cmap.effects:
                path = effect.receiver
                if path not in known:
                    continue
                if effect.sender is not None and effect.sender not in connected_for[path] and path not in any_connected:
                    continue
                sends = [] if effect.kind == "unresolved" else effect_sends(effect, self.deletions)
                self.effects[path].append((effect, sends))

        # Receivers with an effect read for one sender: what they send depends on the state they run in.
        self.specific = {path for path, found in self.effects.items() if any(e.sender is not None for e, _s in found)}
        self._steps: dict[tuple[str, str | None], list[tuple[State, EffectRef]]] = {}

        states: set[State] = set(self.own)
        for found in self.effects.values():
            for _effect, sends in found:
                for pair in sends:
                    if self.is_heard(pair):
                        states.add(pair)
                        if pair[1] is not None:
                            self.sender_kinds.setdefault(pair[1], "model")
        # A model's own write sends the whole family: heard by an any-sender receiver, that is a state too.
        for signal, sender in list(states):
            if sender is None or self.sender_kinds.get(sender) != "model":
                continue
            for sibling in _FAMILY_OF.get(signal, ()):
                if sibling != signal and self.any_runs.get(sibling):
                    states.add((sibling, sender))
        # Django's login() and logout() send user_logged_in and user_logged_out with sender=user.__class__:
        # each heard is a state of the user model, as `list --sender` and the tracer see it.
        user = cmap.registry.user_model
        if user is not None:
            for signal in USER_MODEL_SIGNALS:
                if self.any_runs.get(signal) or self.runs.get((signal, user)):
                    states.add((signal, user))
                    self.sender_kinds.setdefault(user, "model")
        # Any-sender receivers run for every state of their signal; with none, for a send by anyone.
        sent = {signal for signal, sender in states if sender is None or self.is_sender(sender)}
        for signal in self.anys:
            if signal not in sent:
                states.add((signal, None))
        self.states = sorted(states, key=lambda s: (s[0], s[1] is not None, s[1] or ""))

    def is_sender(self, label: str) -> bool:
        return self.sender_kinds.get(label) not in ("pending", "dead")

    def is_heard(self, pair: State) -> bool:
        """Return whether a live receiver runs when `pair` is sent (an unknown sender: any-sender receivers only)."""
        signal, sender = pair
        if self.any_runs.get(signal):
            return True
        return sender is not None and bool(self.runs.get((signal, sender)))

    def receivers(self, state: State) -> list[str]:
        """Return the live receivers that run for `state`: its sender's own, then the any-sender ones."""
        own = self.runs.get(state, []) if state[1] is not None else []
        return [*own, *self.any_runs.get(state[0], ())]

    def connections(self, state: State) -> list[tuple[int, Connection]]:
        """Return every connection `state` reaches (dead, pending too), each with its place in call order (from 1)."""
        own = self.own.get(state, []) if state[1] is not None else []
        anys = self.anys.get(state[0], [])
        ordered = call_order([*own, *anys])
        ordered.extend(c for c in own if c.is_pending)  # never called: after the others, as they were
        return list(enumerate(ordered, 1))

    def holds(self, effect: EffectRef, sender: str | None) -> bool:
        """Return whether `effect` holds when its receiver runs for `sender` (None: an unknown sender)."""
        return effect.sender is None or effect.sender == sender

    def steps(self, path: str, sender: str | None) -> list[tuple[State, EffectRef]]:
        """Return the heard states the receiver at `path` sends when it runs for `sender`, with the effect that does."""
        key = (path, sender if path in self.specific else None)
        found = self._steps.get(key)
        if found is None:
            found = self._steps[key] = [
                (nxt, effect)
                for effect, sends in self.effects.get(path, ())
                if self.holds(effect, sender)
                for nxt in sends
                if self.is_heard(nxt)
            ]
        return found

    def step_map(self) -> dict[tuple[State, State], tuple[set[str], list[tuple[str, EffectRef]]]]:
        """Return the state graph's edges: (state, next state) -> (its receivers, its (receiver, effect) pairs)."""
        steps: dict[tuple[State, State], tuple[set[str], list[tuple[str, EffectRef]]]] = {}
        for state in self.states:
            for path in self.receivers(state):
                for nxt, effect in self.steps(path, state[1]):
                    step = steps.get((state, nxt))
                    if step is None:
                        steps[(state, nxt)] = ({path}, [(path, effect)])
                    else:
                        step[0].add(path)
                        if (path, effect) not in step[1]:
                            step[1].append((path, effect))
        return steps

    def state_graph(self) -> nx.DiGraph:
        graph = nx.DiGraph()
        graph.add_nodes_from(self.states)
        graph.add_edges_from((a, b, {"receivers": r, "effects": e}) for (a, b), (r, e) in self.step_map().items())
        return graph


def cascade_states(cmap: CascadeMap) -> nx.DiGraph:
    """Return the graph of (signal path, sender label) states that cascade into each other.

    A state's receivers are those connected to the signal for that sender or
    for any sender; each of their effects that holds for that sender leads
    to the states it sends that a receiver hears. Edge attributes:
    ``receivers``, the receivers that make the step, and ``effects``, the
    (receiver, EffectRef) pairs that do, in a stable order. The states are
    those of `build_graph`, whose edges it is made of.
    """
    with collection_paused():
        return _Cascade(cmap).state_graph()


def cycle_edges(states: nx.DiGraph) -> set[tuple[State, State]]:
    """Return the state-graph edges that lie on a cycle: inside one strongly connected component."""
    component: dict[State, int] = {}
    for index, members in enumerate(nx.strongly_connected_components(states)):
        for state in members:
            component[state] = index
    return {(a, b) for a, b in states.edges if component[a] == component[b]}


def build_graph(cmap: CascadeMap, *, cascade: bool = True) -> nx.MultiDiGraph:
    """Return the dependency graph of `cmap`; without `cascade`, no effect edges.

    States, receivers and effect edges on a cascade that can loop get
    ``in_cycle=True``. Nodes and edges are added in a sorted order, so every
    writer produces the same bytes for the same project.
    """
    with collection_paused():
        return _build_graph(cmap, cascade=cascade)


def _build_graph(cmap: CascadeMap, *, cascade: bool = True) -> nx.MultiDiGraph:
    registry = cmap.registry
    signals = {s.path: s for s in registry.signals}
    unread = dict(cmap.unread)
    index = _Cascade(cmap, cascade=cascade)

    nodes: dict[str, dict[str, Any]] = {}
    edges: list[tuple[str, str, dict[str, Any]]] = []
    apps = app_modules(registry)
    app_labels = {a.label for a in registry.apps}
    app_of: dict[str, str] = {}

    def app_of_module(module: str) -> str:
        if module not in app_of:
            # the longest app module that contains it
            app_of[module] = owning_app(module, apps) or ""
        return app_of[module]

    def app_of_sender(label: str | None, kind: str) -> str:
        app = label.split(".", 1)[0] if kind in ("model", "pending") and label else ""
        return app if app in app_labels else ""

    def sender(label: str, kind: str) -> str:
        node = sender_node(label)
        nodes.setdefault(
            node, {"kind": "sender", "label": label, "sender_kind": kind, "app": app_of_sender(label, kind)}
        )
        return node

    # Which effect edges lie on a loop: the state graph's cycle edges, per (receiver, effect, state).
    looping: set[tuple[str, EffectRef, State]] = set()
    looping_states: set[State] = set()
    if cascade:
        steps = index.step_map()
        bare = nx.DiGraph()  # the state graph without its attributes: all cycle_edges needs, made faster
        bare.add_nodes_from(index.states)
        bare.add_edges_from(steps)
        for a, b in cycle_edges(bare):
            looping_states.update((a, b))
            for path, effect in steps[(a, b)][1]:
                looping.add((path, effect, b))

    for conn in registry.connections:
        ref = conn.receiver
        module = ref.path.split(":", 1)[0]
        nodes.setdefault(
            receiver_node(ref.path),
            {
                "kind": "receiver",
                "label": _short(ref.path),
                "path": ref.path,
                "module": module,
                "app": app_of_module(module),
                "file": ref.file,
                "line": ref.line,
                "receiver_kind": ref.kind,
                "is_async": ref.is_async,
                "in_cycle": False,
                "not_read": unread.get(ref.path),  # why its code was not read (its effects are unknown), or None
            },
        )

    for state in index.states:
        path, label = state
        signal_ref = signals.get(path)
        name = signal_ref.name if signal_ref else _short(path)
        kind = index.sender_kinds.get(label, "model") if label is not None else "unknown"
        node = state_node(path, label)
        nodes[node] = {
            "kind": "state",
            "label": f"{name}({label if label is not None else '<unknown sender>'})",
            "name": name,
            "signal": path,
            "sender": label,
            "sender_kind": kind,
            "category": signal_ref.category if signal_ref else "unknown",
            "app": app_of_sender(label, kind),
            "in_cycle": state in looping_states,
        }
        if label is not None and index.is_sender(label) and index.receivers(state):
            edges.append((sender(label, kind), node, {"kind": "sends"}))
        for place, conn in index.connections(state):
            edges.append(
                (
                    node,
                    receiver_node(conn.receiver.path),
                    {
                        "kind": "connected",
                        "sender": conn.sender.label,
                        "order": place,
                        "position": conn.position,
                        "weak": conn.is_weak,
                        "dead": conn.is_dead,
                        "pending": conn.is_pending,
                        "dispatch_uid": conn.dispatch_uid,
                    },
                )
            )

    # Deleting a model's rows also deletes, through on_delete=CASCADE, rows whose delete signals someone
    # hears: the model's sender sends those states too (Django's Collector, graph.deletion).
    present = set(index.states)
    models_by_label = {m.label: m for m in cmap.models}
    for label in sorted(lab for lab, kind in index.sender_kinds.items() if kind == "model"):
        if sender_node(label) not in nodes:
            continue
        deletion = index.deletions.deletion(label)
        for signal, cascaded in deletion.sends():
            deleted: State = (signal, cascaded)
            if cascaded != label and deleted in present and index.receivers(deleted):
                why = deletion.why.get(cascaded, "")
                edges.append((sender_node(label), state_node(*deleted), {"kind": "sends", "cascade": why}))
        # Its many-to-many relations' add/remove/clear send m2m_changed with the through model as sender.
        model_ref = models_by_label.get(label)
        for attr, through in model_ref.m2m if model_ref else ():
            changed: State = (M2M_SIGNAL, through)
            if through != label and changed in present and index.receivers(changed):
                edges.append((sender_node(label), state_node(*changed), {"kind": "sends", "m2m": attr}))

    for path, found in index.effects.items():
        r = receiver_node(path)
        for effect, sends in found:
            common = {
                "effect": effect.kind,
                "line": effect.line,
                "text": effect.text,
                "via": effect.via,
                "note": effect.note,
                "sender": effect.sender,
                "model": effect.target,
                "condition": effect.condition,
                "is_after_commit": effect.is_after_commit,
            }
            heard = [pair for pair in dict.fromkeys(sends) if index.is_heard(pair)]
            if effect.kind == "unresolved" or (
                # a send whose sender can't be read, to a signal only some senders' receivers hear:
                # which of them run can't be known
                not heard and effect.target is None and any(s in index.heard_by_own for s, _t in sends)
            ):
                node = f"unresolved:{path}:{effect.line}"
                nodes.setdefault(node, {"kind": "unresolved", "label": effect.text, "note": effect.note})
                edges.append((r, node, {"kind": "unresolved", "in_cycle": False, **common}))
                continue
            if not heard:
                if effect.target:
                    note = effect.note or ("no receiver listens" if sends else None)
                    target = sender(effect.target, index.sender_kinds.get(effect.target, "model"))
                    edges.append((r, target, {"kind": "writes", "in_cycle": False, **common, "note": note}))
                continue
            for pair in heard:
                loops = (path, effect, pair) in looping
                if loops:
                    nodes[r]["in_cycle"] = True
                edges.append((r, state_node(*pair), {"kind": "triggers", "in_cycle": loops, **common}))

    return _graph_of(nodes, edges)


def _graph_of(nodes: dict[str, dict[str, Any]], edges: list[tuple[str, str, dict[str, Any]]]) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph()
    for name in sorted(nodes):
        graph.add_node(name, **nodes[name])
    for tail, head, data in sorted(edges, key=_edge_key):
        graph.add_edge(tail, head, **data)
    return graph


def collapse_senders(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Return `graph` drawn with one node per signal: every state of a signal merged into ``signal:<path>``.

    A summary (the view of signalscope 0.1): it shows which receivers hang on
    which signal, but a path through a signal node may join senders that
    never meet, so walks belong on the graph of states. Signal nodes have
    kind "signal", label (the signal's name), path, category and in_cycle;
    the edges of merged states are merged when they say the same (an
    any-sender receiver's connection, a delete cascading into several
    states of one signal), "connected" edges losing their per-state
    ``order``; ``in_cycle`` is kept when any merged one had it.
    """
    rename: dict[str, str] = {}
    nodes: dict[str, dict[str, Any]] = {}
    for name, data in graph.nodes(data=True):
        if data.get("kind") != "state":
            nodes[name] = dict(data)
            continue
        merged = signal_node(data["signal"])
        rename[name] = merged
        node = nodes.setdefault(
            merged,
            {
                "kind": "signal",
                "label": data["name"],
                "path": data["signal"],
                "category": data["category"],
                "in_cycle": False,
            },
        )
        node["in_cycle"] = node["in_cycle"] or bool(data.get("in_cycle"))
    merged_edges: dict[tuple[Any, ...], tuple[str, str, dict[str, Any]]] = {}
    for tail, head, data in graph.edges(data=True):
        tail, head = rename.get(tail, tail), rename.get(head, head)
        values = {k: v for k, v in data.items() if k != "order"}
        key = (tail, head, tuple(sorted((k, v) for k, v in values.items() if k != "in_cycle")))
        if key in merged_edges:
            kept = merged_edges[key][2]
            if "in_cycle" in kept:
                kept["in_cycle"] = kept["in_cycle"] or bool(values.get("in_cycle"))
        else:
            merged_edges[key] = (tail, head, values)
    return _graph_of(nodes, list(merged_edges.values()))


def _edge_key(edge: tuple[str, str, dict[str, Any]]) -> tuple[Any, ...]:
    a, b, data = edge
    # Every field that can tell two parallel edges apart, as plain comparable values.
    return (
        a,
        data.get("order") or 0,  # a state's receivers in call order
        b,
        data["kind"],
        data.get("sender") or "",
        data.get("position", -1),
        data.get("line", 0),
        data.get("effect", ""),
        data.get("text", ""),
        data.get("via") or "",
        data.get("model") or "",
        data.get("condition") or "",
        bool(data.get("is_after_commit")),
        data.get("dispatch_uid") or "",
    )

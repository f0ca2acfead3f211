"""What runs, in Django's order, when a model is written or a signal sent: the impact tree."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Generator, Iterable

from ..errors import UnknownName, UsageError
from ..model import Connection, call_order_for_sender
from ..model.cascade import CascadeMap, EffectRef, ImpactNode
from .build import cascade_index, deleted_with, expand_deletes
from .effects import DELETE_SIGNALS, M2M_SIGNALS, SAVE_SIGNALS

__all__ = ["ACTIONS", "check_action", "impact", "impact_all"]

_S = "django.db.models.signals:"
ACTIONS = ("create", "save", "update", "delete", "m2m")


def _steps(cmap: CascadeMap, model: str, action: str) -> list[tuple[str, str]]:
    """Return the (signal, sender) pairs Django sends, in order, for `action` on `model`."""
    if action == "create":
        return [(_S + "pre_init", model), (_S + "post_init", model), *((s, model) for s in SAVE_SIGNALS)]
    if action in ("save", "update"):
        return [(s, model) for s in SAVE_SIGNALS]
    if action == "delete":
        # Django's Collector sends pre_delete for every collected row, deletes, then
        # sends post_delete: the model's rows, then those cascaded.
        deleted = [model, *deleted_with(model, cascade_index(cmap))]
        return [(DELETE_SIGNALS[0], m) for m in deleted] + [(DELETE_SIGNALS[1], m) for m in deleted]
    ref = next(m for m in cmap.models if m.label == model)
    return [(M2M_SIGNALS[0], through) for _attr, through in ref.m2m]


_Path = tuple[tuple[str, str | None], ...]  # the (signal, sender) states being handled above a node
_Builder = Generator["_Builder", ImpactNode, ImpactNode]  # yields its children's builders, returns its node


def _build(root: _Builder) -> ImpactNode:
    """Run `root` and the builders it yields, depth first, on a list rather than the call stack."""
    stack: list[_Builder] = []
    started: _Builder | None = root  # a builder to start, or None: send the top one the node just made
    made: ImpactNode | None = None
    while True:
        try:
            if started is not None:
                stack.append(started)
                started = next(started)
            else:
                assert made is not None
                started = stack[-1].send(made)
        except StopIteration as done:
            stack.pop()
            made, started = done.value, None
            if not stack:
                return made


def impact(cmap: CascadeMap, model: str, action: str, *, depth: int = 8) -> ImpactNode:
    """Return the tree of what runs when `action` is done to `model`, in Django's call order.

    Each signal lists the receivers that run for that sender (any-sender
    ones included) in call order; each receiver its effects; each effect
    the signals it sends, recursively, `depth` levels of receivers deep. A
    (signal, sender) already being handled higher up is a "cycle" leaf.

    Raises UnknownName for a model that is not installed.
    """
    labels = {m.label.lower(): m.label for m in cmap.models}
    if model.lower() not in labels:
        raise UnknownName("model", model, list(labels.values()))
    model = labels[model.lower()]
    by_signal: dict[str, list[Connection]] = defaultdict(list)
    for conn in cmap.registry.connections:
        if not conn.is_pending and not conn.is_dead:
            by_signal[conn.signal].append(conn)
    effects: dict[str, list[EffectRef]] = defaultdict(list)
    for effect in cmap.effects:
        effects[effect.receiver].append(effect)
    names = {s.path: s.name for s in cmap.registry.signals}
    cascades = cascade_index(cmap)

    # Each builder is a generator that yields the builders of its children and
    # is sent their nodes back: _build runs them on a stack of its own, so a
    # cascade hundreds of receivers deep needs no Python call stack.
    def state(signal: str, sender: str, path: _Path, level: int) -> _Builder:
        label = f"{names.get(signal, signal.rpartition(':')[2])}({sender})"
        conns = [c for c in by_signal.get(signal, ()) if c.sender.is_any or c.sender.label == sender]
        children = []
        for c in call_order_for_sender(conns):
            children.append((yield receiver(c, (*path, (signal, sender)), level)))
        return ImpactNode(kind="signal", label=label, detail=signal, children=tuple(children))

    def receiver(conn: Connection, path: _Path, level: int) -> _Builder:
        ref = conn.receiver
        kids = []
        for e in effects.get(ref.path, ()):
            kids.append((yield effect_node(e, path, level)))
        return ImpactNode(
            kind="receiver",
            label=ref.path,
            file=ref.file,
            line=ref.line,
            detail="async" if ref.is_async else None,
            in_cycle=any(k.in_cycle for k in kids),
            children=tuple(kids),
        )

    def effect_node(effect: EffectRef, path: _Path, level: int) -> _Builder:
        kids: list[ImpactNode] = []
        for signal, sender in expand_deletes(effect, cascades):
            sender_label = "<unknown sender>" if sender is None else sender
            if (signal, sender) in path:
                name = names.get(signal, signal.rpartition(":")[2])
                kids.append(
                    ImpactNode(kind="cycle", label=f"{name}({sender_label})", detail="already running above: loops")
                )
            elif level <= 0:
                kids.append(ImpactNode(kind="depth", label=f"... (--depth {depth} reached)"))
            elif sender is None:
                conns = [c for c in by_signal.get(signal, ()) if c.sender.is_any]
                label = f"{names.get(signal, signal.rpartition(':')[2])}({sender_label})"
                grand = []
                for c in call_order_for_sender(conns):
                    grand.append((yield receiver(c, (*path, (signal, None)), level - 1)))
                if grand:
                    kids.append(ImpactNode(kind="signal", label=label, detail=signal, children=tuple(grand)))
            else:
                nested = yield state(signal, sender, path, level - 1)
                if nested.children:  # below the top, a signal nothing listens to is noise
                    kids.append(nested)
        detail = effect.kind if effect.target is None else f"{effect.kind} {effect.target}"
        if effect.note:
            detail += f": {effect.note}"
        if effect.via:
            detail += f" (in {effect.via})"
        return ImpactNode(
            kind="effect",
            label=effect.text,
            file=effect.file,
            line=effect.line,
            detail=detail,
            in_cycle=any(k.kind == "cycle" or k.in_cycle for k in kids),
            children=tuple(kids),
        )

    steps = _steps(cmap, model, action)
    top = tuple(_build(state(signal, sender, (), depth)) for signal, sender in steps)
    return ImpactNode(kind="action", label=f"{action} {model}", children=top)


def check_action(action: str) -> str:
    """Return `action` if `impact` knows it. Raises UsageError, naming the choices."""
    if action not in ACTIONS:
        raise UsageError(f"Unknown action {action!r}.", hint=f"Choose one of {', '.join(ACTIONS)}.")
    return action


def impact_all(
    cmap: CascadeMap, *, actions: Iterable[str] = ("create", "save", "delete"), depth: int = 8
) -> dict[str, dict[str, ImpactNode]]:
    """`impact` trees for every model that a receiver listens to, for each of `actions`: model -> action -> tree."""
    models = sorted({c.sender.label for c in cmap.registry.connections if c.sender.kind == "model" and c.sender.label})
    return {model: {action: impact(cmap, model, action, depth=depth) for action in actions} for model in models}

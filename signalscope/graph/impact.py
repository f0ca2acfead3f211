"""What runs, in Django's order, when a model is written or a signal sent: the impact tree.

The tree is read from the registry and the effects of receivers' code; it is
an over-approximation where code has conditions that can't be read (every
branch is kept), and exact where they can: a write under ``if created:`` is
in the tree of a create and not of a save. Django's own semantics decide the
top of the tree:

- create: ``pre_init``/``post_init`` (the object is made), ``pre_save``,
  ``post_save`` with ``created=True``;
- save (an existing row): ``pre_save``, ``post_save`` with ``created=False``;
- delete: Django's Collector (graph.deletion): a PROTECT/RESTRICT relation
  stops the delete before anything is sent; every collected model's
  ``pre_delete``, dependents first, then the SET_NULL/SET_DEFAULT updates,
  then every ``post_delete``, in the same order;
- m2m-add/-remove/-clear: ``m2m_changed`` with ``pre_*`` then ``post_*``, for
  each many-to-many relation of the model, with its through model as sender;
- update (``QuerySet.update()``) and bulk_create: nothing is sent; the
  receivers of ``pre_save``/``post_save`` that therefore don't run are listed.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..errors import UnknownName, UsageError
from ..model import Connection, call_order_for_sender
from ..model.cascade import CascadeMap, EffectRef, ImpactNode
from .arguments import sent_with
from .deletion import PARENT_OF, DeletionIndex
from .effects import DELETE_SIGNALS, INIT_SIGNALS, M2M_SIGNALS, SAVE_SIGNALS

__all__ = ["ACTIONS", "check_action", "impact", "impact_all", "impact_signal"]

ACTIONS = ("create", "save", "delete", "m2m-add", "m2m-remove", "m2m-clear", "update", "bulk_create")

_PRE_SAVE, _POST_SAVE = SAVE_SIGNALS
_M2M = M2M_SIGNALS[0]
_M2M_METHOD = re.compile(r"\.(add|remove|set|clear)\(")

# A (signal, sender) state and the arguments it is known to be sent with.
_Args = tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class _Send:
    signal: str
    sender: str | None
    args: _Args = ()  # what the signal is known to be sent with: (("created", True),)
    condition: str | None = None  # when it is sent at all ("rows of store.Order refer to it")


# The sends being handled above a node: (signal, sender, the arguments it is known to be sent with).
# A loop is a send already above with the same arguments: a save of the row a create made sends
# post_save with created=False, where an `if created:` ends the sync (as SS005 reads it).
_Path = tuple[tuple[str, str | None, "_Args"], ...]
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


def evaluate(condition: str, args: Mapping[str, Any]) -> bool | None:
    """Return whether `condition` (Python, on signal argument names) holds with `args`; None when unknown.

    Three-valued: a name not in `args` is unknown, and ``created and x``
    is False when created is False whatever x is.
    """
    try:
        tree = ast.parse(condition, mode="eval").body
    except SyntaxError:
        return None
    return _truth(tree, args)


def simplify(condition: str, args: Mapping[str, Any]) -> str | None:
    """Return `condition` without the parts `args` make true (``action in (...) and x`` under post_add: ``x``).

    None when what is left is nothing. A condition that is false as a whole
    is for `evaluate` to find; this only shortens what the tree shows.
    """
    try:
        tree = ast.parse(condition, mode="eval").body
    except SyntaxError:
        return condition
    parts = _conjuncts(tree)
    left = [part for part in parts if _truth(part, args) is not True]
    if not left:
        return None
    if len(left) == len(parts):
        return condition
    return ast.unparse(left[0] if len(left) == 1 else ast.BoolOp(op=ast.And(), values=left))


def _conjuncts(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
        return [part for value in node.values for part in _conjuncts(value)]
    return [node]


def _value(node: ast.expr, args: Mapping[str, Any]) -> tuple[bool, Any]:
    """Return (known, value) of `node`."""
    if isinstance(node, ast.Constant):
        return True, node.value
    if isinstance(node, ast.Name) and node.id in args:
        return True, args[node.id]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        items = [_value(e, args) for e in node.elts]
        if all(known for known, _v in items):
            return True, [v for _k, v in items]
    return False, None


def _truth(node: ast.expr, args: Mapping[str, Any]) -> bool | None:
    if isinstance(node, ast.BoolOp):
        results = [_truth(v, args) for v in node.values]
        if isinstance(node.op, ast.And):
            return False if False in results else (True if all(r is True for r in results) else None)
        return True if True in results else (False if all(r is False for r in results) else None)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _truth(node.operand, args)
        return None if inner is None else not inner
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        (left_known, left), (right_known, right) = _value(node.left, args), _value(node.comparators[0], args)
        if not (left_known and right_known):
            return None
        op = node.ops[0]
        try:
            if isinstance(op, ast.Eq):
                return bool(left == right)
            if isinstance(op, ast.NotEq):
                return bool(left != right)
            if isinstance(op, ast.Is):
                return left is right or (left is None and right is None)
            if isinstance(op, ast.IsNot):
                return not (left is right or (left is None and right is None))
            if isinstance(op, ast.In):
                return bool(left in right)
            if isinstance(op, ast.NotIn):
                return bool(left not in right)
        except TypeError:
            return None
        return None
    known, value = _value(node, args)
    return bool(value) if known else None


def _hashable(value: Any) -> Any:
    """`value` as a tuple when it is a list (update_fields), so that arguments can key the path."""
    return tuple(value) if isinstance(value, list) else value


class _Impact:
    """The registry and effects of one CascadeMap, indexed for impact trees."""

    def __init__(self, cmap: CascadeMap, depth: int) -> None:
        self.cmap = cmap
        self.depth = depth
        self.by_signal: dict[str, list[Connection]] = defaultdict(list)
        for conn in cmap.registry.connections:
            if not conn.is_pending and not conn.is_dead:
                self.by_signal[conn.signal].append(conn)
        self.effects: dict[tuple[str, str | None], list[EffectRef]] = defaultdict(list)
        for effect in cmap.effects:
            self.effects[(effect.receiver, effect.sender)].append(effect)
        for found in self.effects.values():
            found.sort(key=lambda e: e.step)  # the order the receiver runs them
        self.names = {s.path: s.name for s in cmap.registry.signals}
        self.unread = dict(cmap.unread)
        listened = {
            c.sender.label for signal in DELETE_SIGNALS for c in self.by_signal.get(signal, ()) if not c.sender.is_any
        }
        anyone = any(c.sender.is_any for signal in DELETE_SIGNALS for c in self.by_signal.get(signal, ()))
        self.deletions = DeletionIndex(cmap.models, lambda label: anyone or label in listened)
        self.models = {m.label: m for m in cmap.models}

    def name(self, signal: str) -> str:
        return self.names.get(signal, signal.rpartition(":")[2])

    def receivers(self, signal: str, sender: str | None) -> list[Connection]:
        conns = self.by_signal.get(signal, ())
        if sender is None:
            return call_order_for_sender([c for c in conns if c.sender.is_any])
        return call_order_for_sender([c for c in conns if c.sender.is_any or c.sender.label == sender])

    def effects_of(self, conn: Connection, sender: str | None) -> list[EffectRef]:
        """The effects of `conn`'s receiver when it runs for `sender`: read for that sender, or for all."""
        path = conn.receiver.path
        found = self.effects.get((path, sender), []) if sender is not None else []
        return found or self.effects.get((path, None), [])

    # -- what an effect sends ---------------------------------------------
    def sends_of(self, effect: EffectRef) -> list[_Send]:
        target = effect.target
        if effect.kind == "delete" and target:
            deletion = self.deletions.deletion(target)
            return [
                _Send(signal, label, (), None if label == target else _cascaded(deletion.why.get(label)))
                for signal, label in deletion.sends()
            ]
        if effect.kind == "m2m" and target:
            method = _M2M_METHOD.search(effect.text)
            verb = method.group(1) if method else None
            if verb in ("add", "remove", "clear"):
                return [_Send(_M2M, target, (("action", f"{when}_{verb}"),)) for when in ("pre", "post")]
            return [_Send(_M2M, target)]
        if effect.kind in ("create", "save"):
            # What the write is known to send each signal with (graph.arguments, as SS005 reads it):
            # a create, created=True; a save of a row that exists, created=False; literal update_fields.
            return [
                _Send(signal, target, tuple(sorted((k, _hashable(v)) for k, v in args.items())))
                for signal in effect.signals
                for args in sent_with(effect, signal)
            ]
        return [_Send(signal, target) for signal in effect.signals]

    # -- the tree ---------------------------------------------------------
    def state(self, send: _Send, path: _Path, level: int) -> _Builder:
        label = f"{self.name(send.signal)}({send.sender if send.sender is not None else '<unknown sender>'})"
        args = dict(send.args)
        children = []
        for conn in self.receivers(send.signal, send.sender):
            children.append(
                (yield self.receiver(conn, send.sender, args, (*path, (send.signal, send.sender, send.args)), level))
            )
        return ImpactNode(
            kind="signal",
            label=label,
            detail=send.signal,
            children=tuple(children),
            condition=_join(send.condition, _describe(send.args)),
            model=send.sender,
        )

    def receiver(
        self, conn: Connection, sender: str | None, args: Mapping[str, Any], path: _Path, level: int
    ) -> _Builder:
        ref = conn.receiver
        kids = []
        for effect in self.effects_of(conn, sender):
            holds = evaluate(effect.condition, args) if effect.condition else True
            if holds is False:
                continue  # under create, `if not created:` does not run
            shown = None if holds or effect.condition is None else simplify(effect.condition, args)
            kids.append((yield self.effect(effect, shown, path, level)))
        flags = ["async"] if ref.is_async else []
        why = self.unread.get(ref.path)
        if why is not None:
            flags.append(f"not read: {why}")
        return ImpactNode(
            kind="receiver",
            label=ref.path,
            file=ref.file,
            line=ref.line,
            detail="; ".join(flags) or None,
            in_cycle=any(k.in_cycle for k in kids),
            children=tuple(kids),
        )

    def effect(self, effect: EffectRef, condition: str | None, path: _Path, level: int) -> _Builder:
        kids: list[ImpactNode] = []
        for send in self.sends_of(effect):
            if (send.signal, send.sender, send.args) in path:
                label = f"{self.name(send.signal)}({send.sender if send.sender is not None else '<unknown sender>'})"
                kids.append(ImpactNode(kind="cycle", label=label, detail="already running above: loops"))
            elif level <= 0:
                if self.receivers(send.signal, send.sender):  # something would run below
                    kids.append(ImpactNode(kind="depth", label=f"... (--depth {self.depth} reached)"))
            else:
                nested = yield self.state(send, path, level - 1)
                if nested.children:  # below the top, a signal nothing listens to is noise
                    kids.append(nested)
        detail = effect.kind if effect.target is None else f"{effect.kind} {effect.target}"
        if effect.note:
            detail += f": {effect.note}"
        if effect.via:
            detail += f" (in {effect.via})"
        if effect.is_after_commit:
            detail += " [after commit]"
        return ImpactNode(
            kind="effect",
            label=effect.text,
            file=effect.file,
            line=effect.line,
            detail=detail,
            in_cycle=any(k.kind == "cycle" or k.in_cycle for k in kids),
            children=tuple(kids),
            condition=condition,
            is_after_commit=effect.is_after_commit,
            effect=effect.kind,
            model=effect.target,
        )

    def top(self, send: _Send) -> ImpactNode:
        return _build(self.state(send, (), self.depth))

    def skipped(self, model: str, why: str) -> list[ImpactNode]:
        """The save receivers of `model` that an action sending nothing does not run."""
        found = []
        for signal in SAVE_SIGNALS:
            for conn in self.receivers(signal, model):
                found.append(
                    ImpactNode(
                        kind="skipped",
                        label=conn.receiver.path,
                        file=conn.receiver.file,
                        line=conn.receiver.line,
                        detail=f"{self.name(signal)}({model}) is not sent: {why}",
                    )
                )
        return found


def _cascaded(reason: str | None) -> str:
    if reason and reason.endswith(PARENT_OF):  # multi-table inheritance: the parent row always goes too
        return f"the parent row of {reason[: -len(PARENT_OF)]}: always deleted with it"
    return f"if rows of {reason} refer to it" if reason else "if such rows exist"


_SHOWN = ("created", "action")  # the arguments a signal node names; raw=False and the like go without saying


def _describe(args: _Args) -> str | None:
    return ", ".join(f"{name}={value!r}" for name, value in args if name in _SHOWN) or None


def _join(*parts: str | None) -> str | None:
    return "; ".join(p for p in parts if p) or None


def _model_label(cmap: CascadeMap, model: str) -> str:
    labels = {m.label.lower(): m.label for m in cmap.models}
    if model.lower() not in labels:
        raise UnknownName("model", model, list(labels.values()))
    return labels[model.lower()]


def impact(cmap: CascadeMap, model: str, action: str, *, depth: int = 8) -> ImpactNode:
    """Return the tree of what runs when `action` is done to `model`, in Django's call order.

    Each signal lists the receivers that run for that sender (any-sender
    ones included) in call order; each receiver its effects for that
    sender, under the conditions the action doesn't rule out; each effect
    the signals it sends, recursively, `depth` levels of receivers deep. A
    (signal, sender) already being handled higher up is a "cycle" leaf.

    Raises UnknownName for a model that is not installed, UsageError for an unknown action.
    """
    return _impact(_Impact(cmap, depth), _model_label(cmap, model), check_action(action))


def _impact(walk: _Impact, model: str, action: str) -> ImpactNode:
    top: list[ImpactNode] = []
    if action in ("create", "save"):
        created = action == "create"
        sends = [_Send(s, model) for s in INIT_SIGNALS] if created else []
        sends.append(_Send(_PRE_SAVE, model, (("adding", created), ("raw", False), ("update_fields", None))))
        sends.append(
            _Send(_POST_SAVE, model, (("adding", False), ("created", created), ("raw", False), ("update_fields", None)))
        )
        top = [walk.top(send) for send in sends]
    elif action == "delete":
        deletion = walk.deletions.deletion(model)
        for related, field, on_delete in deletion.stops:
            top.append(
                ImpactNode(
                    kind="stop",
                    label=f"{related}.{field} on_delete={on_delete}",
                    detail=f"{'ProtectedError' if on_delete == 'PROTECT' else 'RestrictedError'}: the delete "
                    f"stops, before anything is sent",
                    condition=f"if rows of {related} refer to it",
                )
            )
        sends = [
            _Send(signal, label, (), None if label == model else _cascaded(deletion.why.get(label)))
            for signal, label in deletion.sends()
        ]
        half = len(sends) // 2
        top.extend(walk.top(send) for send in sends[:half])
        for related, why in deletion.fast:
            top.append(
                ImpactNode(
                    kind="update",
                    label=f"{related} rows" + (f" ({why})" if why else ""),
                    detail="deleted in one query, with no signal: nobody listens to them",
                )
            )
        for related, field, on_delete in deletion.updates:
            top.append(
                ImpactNode(
                    kind="update",
                    label=f"{related}.{field} on_delete={on_delete}",
                    # Django 4.2+ runs it even when no row refers to the object (lazy_sub_objs).
                    detail="an UPDATE of the rows that refer to it: sends no signal",
                )
            )
        top.extend(walk.top(send) for send in sends[half:])
    elif action.startswith("m2m-"):
        verb = action.removeprefix("m2m-")
        ref = walk.models[model]
        if not ref.m2m:
            raise UsageError(f"{model} has no many-to-many relation.", hint="m2m actions need one.")
        for attr, through in ref.m2m:
            pair = [walk.top(_Send(_M2M, through, (("action", f"{when}_{verb}"),))) for when in ("pre", "post")]
            call = "clear()" if verb == "clear" else f"{verb}(...)"
            top.append(
                ImpactNode(
                    kind="field",
                    label=f"{model.rpartition('.')[2].lower()}.{attr}.{call}",
                    detail=f"through {through}: one of these per relation",
                    children=tuple(pair),
                )
            )
    elif action == "bulk_create" and walk.models.get(model) is not None and walk.models[model].parents:
        # Django's QuerySet.bulk_create() refuses a multi-table child before it writes anything.
        why = "bulk_create() raises ValueError on a multi-table inherited model: nothing is written or sent"
        top.append(ImpactNode(kind="stop", label=f"{action} {model}", detail=why))
    else:
        why = "QuerySet.update() sends no signal" if action == "update" else "bulk_create() sends no signal"
        top.append(ImpactNode(kind="update", label=f"{action} {model}", detail=why))
        top.extend(walk.skipped(model, why))
    return ImpactNode(kind="action", label=f"{action} {model}", children=tuple(top))


def impact_signal(cmap: CascadeMap, signal: str, sender: str | None, *, depth: int = 8) -> ImpactNode:
    """Return the tree of what runs when `signal` (its path) is sent by `sender` (a model label, None: any).

    Raises UnknownName for an unknown signal or model.
    """
    paths = {s.path for s in cmap.registry.signals}
    if signal not in paths:
        named = sorted(s.path for s in cmap.registry.signals if s.name == signal)
        if len(named) > 1:
            raise UsageError(f"{signal!r} names {len(named)} signals.", hint=f"Give one's path: {', '.join(named)}.")
        if not named:
            raise UnknownName("signal", signal, sorted(paths | {s.name for s in cmap.registry.signals}))
        signal = named[0]
    label = _sender_label(cmap, signal, sender) if sender is not None else None
    walk = _Impact(cmap, depth)
    node = walk.top(_Send(signal, label))
    if label is None:  # sent with a sender of its own: any-sender receivers run
        node = replace(node, label=f"{walk.name(signal)}(<any sender>)")
    return ImpactNode(kind="action", label=f"send {node.label}", children=(node,))


def _sender_label(cmap: CascadeMap, signal: str, sender: str) -> str:
    """Return the label `sender` names: a model's, or any other sender a receiver of `signal` is connected for."""
    others = {c.sender.label for c in cmap.registry.connections if c.signal == signal and c.sender.label}
    exact = {label.lower(): label for label in others}
    if sender.lower() in exact:
        return exact[sender.lower()]
    models = {m.label.lower(): m.label for m in cmap.models}
    if sender.lower() in models:
        return models[sender.lower()]
    raise UnknownName("sender", sender, [*models.values(), *others])


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
    known = {m.label for m in cmap.models}
    walk = _Impact(cmap, depth)
    return {
        model: {action: _impact(walk, model, check_action(action)) for action in actions}
        for model in models
        if model in known
    }

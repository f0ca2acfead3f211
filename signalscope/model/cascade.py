"""Records of what receivers' code writes (the cascade) and of impact trees, with their JSON form.

Loaded on first use: `signalscope list` needs none of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import SignalMap, from_dict, schemas, to_dict

__all__ = ["EFFECT_KINDS", "CascadeMap", "EffectRef", "ImpactNode", "ModelRef", "cascade_from_dict", "cascade_to_dict"]


@dataclass(frozen=True, slots=True, order=True)
class ModelRef:
    """A model class and the relations a receiver can reach from an instance of it."""

    label: str  # "billing.Invoice"
    module: str  # "billing.models": where the class is defined
    name: str  # "Invoice"
    relations: tuple[tuple[str, str], ...] = ()  # (attribute, related model label): FKs, one-to-ones, reverses
    m2m: tuple[tuple[str, str], ...] = ()  # (attribute, through model label): both directions
    cascades: tuple[str, ...] = ()  # models deleted along with this one (on_delete=CASCADE)
    # The relations Django's Collector follows when a row of this model is deleted, in the order it
    # follows them (Options.get_fields order): (model holding the foreign key, its field name,
    # on_delete's name: "CASCADE", "PROTECT", "RESTRICT", "SET_NULL", "SET_DEFAULT", "SET",
    # "DO_NOTHING" or the function's path, whether the field is nullable).
    deletes: tuple[tuple[str, str, str, bool], ...] = ()
    parents: tuple[str, ...] = ()  # concrete multi-table parents, deleted with it (Options.parents order)
    generic: tuple[str, ...] = ()  # models whose rows a GenericRelation deletes with it
    # Managers a receiver can reach by attribute, on the class or an instance: (attribute, the model
    # it manages, the manager's class path). Model.objects, and history-like descriptors whose
    # manager serves another model (simple-history's ``history``: the Historical<Model>).
    managers: tuple[tuple[str, str, str], ...] = ()
    is_auto_created: bool = False  # an automatic many-to-many through model: Django sends it no delete signal


#: What an effect does, as written in ``EffectRef.kind``.
EFFECT_KINDS = (
    "create",  # Model.objects.create / get_or_create / update_or_create
    "save",  # instance.save()
    "delete",  # instance.delete() or QuerySet.delete()
    "m2m",  # related manager add / remove / set / clear
    "send",  # some_signal.send / send_robust / asend / asend_robust
    "update",  # QuerySet.update(): sends no signal
    "bulk_create",  # QuerySet.bulk_create(): sends no save signal
    "unresolved",  # an ORM write or send whose target can't be known statically
)


@dataclass(frozen=True, slots=True, order=True)
class EffectRef:
    """Something a receiver's code does that may send further signals, found by reading it.

    ``signals`` are the signal paths it sends, in order (empty for update and
    bulk_create, which send none); ``target`` is the model label (for a send:
    the sender label, or None for an unknown sender).
    """

    receiver: str  # the receiver's path
    file: str | None  # where: the receiver's file, or the called function's
    line: int
    kind: str  # one of EFFECT_KINDS
    target: str | None
    signals: tuple[str, ...]
    text: str  # the source of the call, for people to read
    via: str | None = None  # the function it was found in, when not the receiver itself
    note: str | None = None  # why nothing is sent, or why the target is unknown
    # The sender this effect was read for: a receiver connected for several models is read once per
    # model, with `instance` of that model. None: read without a sender, so it holds for every sender.
    sender: str | None = None
    # The condition on the signal's arguments it runs under, as Python: "created", "not created",
    # "not raw", "update_fields" ... None: unconditional as far as the signal's arguments go.
    condition: str | None = None
    is_after_commit: bool = False  # inside transaction.on_commit(...): runs when the transaction commits
    step: int = 0  # its place in the order the receiver runs its effects (calls it makes are read in place)


@dataclass(frozen=True, slots=True, order=True)
class ImpactNode:
    """One node of an impact tree: what runs, in order, when a model is written.

    kinds: "signal" (label "post_save(auth.User)"), "receiver", "effect", and
    the leaves "cycle" (this signal and sender are already being handled
    higher up: the cascade loops), "depth" (the tree was cut at --depth),
    "stop" (an ``on_delete=PROTECT``/``RESTRICT`` relation that makes the
    delete raise, before anything is sent, when a row refers to the object),
    "update" (a write that sends no signal: ``SET_NULL``, ``QuerySet.update()``,
    rows deleted in one query), "skipped" (a receiver the action does not
    run: ``QuerySet.update()`` sends nothing) and "field" (one many-to-many
    relation's sends, under an m2m action).
    """

    kind: str
    label: str
    file: str | None = None
    line: int | None = None
    detail: str | None = None  # effect kind, receiver flags, or a note
    in_cycle: bool = False
    children: tuple[ImpactNode, ...] = ()
    condition: str | None = None  # the condition it runs under ("created", "not raw", "rows refer to it")
    is_after_commit: bool = False  # runs when the transaction commits, not at once
    effect: str | None = None  # an effect's kind (EFFECT_KINDS): what it does
    model: str | None = None  # an effect's model (for a send: the sender), a signal's sender

    def to_dict(self) -> dict[str, Any]:
        """Return the tree as JSON data, built with a stack rather than recursion (trees can be deep)."""

        def fields(node: ImpactNode) -> dict[str, Any]:
            return {
                "kind": node.kind,
                "label": node.label,
                "file": node.file,
                "line": node.line,
                "detail": node.detail,
                "in_cycle": node.in_cycle,
                "condition": node.condition,
                "is_after_commit": node.is_after_commit,
                "effect": node.effect,
                "model": node.model,
                "children": [],
            }

        top = fields(self)
        todo = [(self, top)]
        while todo:
            node, data = todo.pop()
            for child in node.children:
                data["children"].append(fields(child))
                todo.append((child, data["children"][-1]))
        return top


@dataclass(frozen=True, slots=True, order=True)
class CascadeMap:
    """A registry plus what its receivers' code writes: the input of the dependency graph."""

    registry: SignalMap
    models: tuple[ModelRef, ...]
    effects: tuple[EffectRef, ...]
    # Receivers whose code was not read, with why: "Django's own code", "compiled", "the standard
    # library", "outside the project (--read project)", "no source". Their effects are unknown.
    unread: tuple[tuple[str, str], ...] = ()


def cascade_to_dict(cmap: CascadeMap) -> dict[str, Any]:
    """Return the JSON-ready form of `cmap` (schema CASCADE): the registry's form plus "models" and "effects"."""
    data = to_dict(cmap.registry)
    data["schema"] = schemas.CASCADE
    data["models"] = [
        {
            "label": m.label,
            "module": m.module,
            "name": m.name,
            "relations": [list(r) for r in m.relations],
            "m2m": [list(r) for r in m.m2m],
            "cascades": list(m.cascades),
            "deletes": [list(d) for d in m.deletes],
            "parents": list(m.parents),
            "generic": list(m.generic),
            "managers": [list(x) for x in m.managers],
            "is_auto_created": m.is_auto_created,
        }
        for m in cmap.models
    ]
    data["effects"] = [
        {
            "receiver": e.receiver,
            "file": e.file,
            "line": e.line,
            "kind": e.kind,
            "target": e.target,
            "signals": list(e.signals),
            "text": e.text,
            "via": e.via,
            "note": e.note,
            "sender": e.sender,
            "condition": e.condition,
            "is_after_commit": e.is_after_commit,
            "step": e.step,
        }
        for e in cmap.effects
    ]
    data["unread"] = [list(u) for u in cmap.unread]
    return data


def cascade_from_dict(data: dict[str, Any]) -> CascadeMap:
    """Rebuild a CascadeMap from `cascade_to_dict` output.

    Raises ValueError when `data` has another schema version.
    """
    if data.get("schema") != schemas.CASCADE:
        raise ValueError(f"unsupported signalscope schema {data.get('schema')!r} (expected {schemas.CASCADE})")
    return CascadeMap(
        registry=from_dict({**data, "schema": schemas.REGISTRY}),
        models=tuple(
            ModelRef(
                label=m["label"],
                module=m["module"],
                name=m["name"],
                relations=tuple((a, b) for a, b in m["relations"]),
                m2m=tuple((a, b) for a, b in m["m2m"]),
                cascades=tuple(m["cascades"]),
                deletes=tuple((a, b, c, bool(d)) for a, b, c, d in m["deletes"]),
                parents=tuple(m["parents"]),
                generic=tuple(m["generic"]),
                managers=tuple((a, b, c) for a, b, c in m["managers"]),
                is_auto_created=m["is_auto_created"],
            )
            for m in data["models"]
        ),
        effects=tuple(
            EffectRef(
                receiver=e["receiver"],
                file=e["file"],
                line=e["line"],
                kind=e["kind"],
                target=e["target"],
                signals=tuple(e["signals"]),
                text=e["text"],
                via=e["via"],
                note=e["note"],
                sender=e["sender"],
                condition=e["condition"],
                is_after_commit=e["is_after_commit"],
                step=e["step"],
            )
            for e in data["effects"]
        ),
        unread=tuple((a, b) for a, b in data["unread"]),
    )

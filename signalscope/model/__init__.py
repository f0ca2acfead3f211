"""Frozen records describing a project's signal wiring, and their one JSON form.

Standard library only: these records are plain values (strings, numbers,
booleans), never live objects, so they can be compared, sorted, written to
disk and read back in a process that has no Django at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from itertools import groupby
from operator import attrgetter, call
from typing import Any

from . import schemas
from .jsonio import dump_json, dump_json_line, json_string

_LAZY = {
    "EFFECT_KINDS": "cascade",
    "CascadeMap": "cascade",
    "EffectRef": "cascade",
    "ImpactNode": "cascade",
    "ModelRef": "cascade",
    "cascade_from_dict": "cascade",
    "cascade_to_dict": "cascade",
    "TraceEvent": "trace",
    "TraceLog": "trace",
}


def __getattr__(name: str) -> Any:
    # The cascade and trace records load on first use: their dataclasses cost
    # several milliseconds to create, and `signalscope list` needs none of them.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "SCHEMA_VERSION",
    "AppRef",
    "CascadeMap",
    "Connection",
    "EffectRef",
    "ImpactNode",
    "ModelRef",
    "ReceiverRef",
    "SenderRef",
    "SignalMap",
    "SignalRef",
    "TraceEvent",
    "TraceLog",
    "call_order",
    "call_order_for_sender",
    "dump_json",
    "dump_json_line",
    "dumps",
    "from_dict",
    "loads",
    "to_dict",
]

#: The registry's schema (model.schemas.REGISTRY, which tells its history).
SCHEMA_VERSION = schemas.REGISTRY

#: Receiver kinds, as written in ``ReceiverRef.kind``.
RECEIVER_KINDS = (
    "function",  # a module-level or nested ``def``
    "lambda",
    "method",  # a method bound to an instance
    "classmethod",  # a method bound to a class
    "staticmethod",  # a staticmethod looked up on its class (a plain function)
    "partial",  # functools.partial; path/file/line are the innermost callable's
    "callable",  # an instance of a class with ``__call__``; path is ``Class.__call__``
    "builtin",  # a C function or method: no Python source
    "dead",  # a weak reference whose object is gone: nothing left to name
)

#: Sender kinds, as written in ``SenderRef.kind``; they sort in this order.
SENDER_KINDS = (
    "any",  # sender=None: called for every sender
    "dead",  # [Django 6.0+] the sender object was garbage-collected
    "model",  # a model class, labelled "app_label.ModelName"
    "object",  # any other sender: a class, an AppConfig, a string, ...
    "pending",  # a lazy "app_label.ModelName" string whose model never registered
    "unknown",  # Django kept only the sender's id and no live object has it
)


@dataclass(frozen=True, slots=True, order=True)
class SignalRef:
    """One Signal instance, named by where it is defined."""

    path: str  # "django.db.models.signals:post_save"
    name: str  # "post_save"
    category: str  # "model", "request", "auth", "migration", "database", "custom", ...
    signal_class: str  # "django.db.models.signals:ModelSignal"
    use_caching: bool


@dataclass(frozen=True, slots=True, order=True)
class SenderRef:
    """What a receiver was connected for: any sender, a model, or another object."""

    kind: str  # one of SENDER_KINDS
    label: str | None  # "auth.User"; None only for kind "any"

    @property
    def is_any(self) -> bool:
        return self.kind == "any"


@dataclass(frozen=True, slots=True, order=True)
class ReceiverRef:
    """A receiver callable, by path and source location."""

    path: str  # "accounts.signals:create_user_profile"
    file: str | None  # "accounts/signals.py": relative to its sys.path entry
    line: int | None  # None when there is no Python source
    kind: str  # one of RECEIVER_KINDS
    is_async: bool = False


@dataclass(frozen=True, slots=True, order=True)
class Connection:
    """One entry of a signal's receiver list (or of Django's pending lazy connects).

    ``position`` is the receiver's place in the order Django calls receivers
    for a send from this sender: among the entries for this sender and for
    any sender, in connect order (for an any-sender receiver, among the
    any-sender entries). Pending connections are numbered in the order they
    would connect.
    """

    signal: str  # SignalRef.path
    sender: SenderRef
    position: int
    receiver: ReceiverRef
    dispatch_uid: str | None = None
    is_weak: bool = True
    is_dead: bool = False
    is_pending: bool = False


@dataclass(frozen=True, slots=True, order=True)
class AppRef:
    """An installed Django app and the models it provides."""

    label: str  # "accounts"
    module: str  # "accounts"
    models: tuple[str, ...] = ()  # ("accounts.Profile",)


@dataclass(frozen=True, slots=True, order=True)
class SignalMap:
    """Everything `signalscope list` knows about one loaded project."""

    signalscope: str
    django: str
    settings: str  # "shop.settings"
    settings_source: str  # "--settings", "DJANGO_SETTINGS_MODULE" or "manage.py"
    signals: tuple[SignalRef, ...]
    connections: tuple[Connection, ...]
    apps: tuple[AppRef, ...] = ()
    #: What loading the project did, in order: "setup", then "urls" (ROOT_URLCONF imported) and
    #: "application" (the server's WSGI/ASGI application and its middleware built) when they ran.
    load_steps: tuple[str, ...] = ()
    #: settings.AUTH_USER_MODEL as its model's label ("auth.User"), None without an installed one: the
    #: sender of user_logged_in and user_logged_out (Django sends them with sender=user.__class__).
    user_model: str | None = None

    def connections_of(self, signal_path: str) -> tuple[Connection, ...]:
        """Return the connections of one signal, in output order."""
        return tuple(c for c in self.connections if c.signal == signal_path)

    def model_labels(self) -> list[str]:
        """Return every model label of every installed app."""
        return [m for app in self.apps for m in app.models]


def call_order_for_sender(conns: Iterable[Connection]) -> list[Connection]:
    """Renumber one sender's connections (its own and any-sender ones) in Django's call order.

    A receiver for the sender at `position` p that is the k-th of its
    sender's runs after exactly p - k any-sender receivers: that is enough
    to interleave the two lists as Django calls them. Connections of several
    signals are handled signal by signal; pending ones (never called) follow
    their signal's, as they were.
    """
    result: list[Connection] = []
    for _signal, items in groupby(conns, key=lambda c: c.signal):
        group = list(items)
        merged = call_order(group)
        result.extend(replace(c, position=i) for i, c in enumerate(merged))
        result.extend(c for c in group if c.is_pending)
    return result


def call_order(conns: list[Connection]) -> list[Connection]:
    """Return one signal's connections for one sender (its own, any-sender ones) in Django's call order, as they are.

    Pending connections (never called) are left out; `call_order_for_sender` renumbers.
    """
    anys = sorted((c for c in conns if c.sender.is_any), key=lambda c: c.position)
    own = sorted((c for c in conns if not c.sender.is_any and not c.is_pending), key=lambda c: c.position)
    merged: list[Connection] = []
    taken = 0
    for k, conn in enumerate(own):
        while taken < len(anys) and taken < conn.position - k:
            merged.append(anys[taken])
            taken += 1
        merged.append(conn)
    merged.extend(anys[taken:])
    return merged


def _json_or_null(encode: Callable[[Any], str]) -> Callable[[Any], str]:
    def encode_or_null(value: Any) -> str:
        return "null" if value is None else encode(value)

    return encode_or_null


_escape = json_string  # C-accelerated
_json_bool = ("false", "true").__getitem__
_json_int = int.__repr__

#: The JSON fields of one receiver record, in key order: (key, attribute of
#: Connection, encoder of its value). to_dict and dumps both read this table.
CONNECTION_FIELDS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("dead", "is_dead", _json_bool),
    ("dispatch_uid", "dispatch_uid", _json_or_null(_escape)),
    ("file", "receiver.file", _json_or_null(_escape)),
    ("is_async", "receiver.is_async", _json_bool),
    ("kind", "receiver.kind", _escape),
    ("line", "receiver.line", _json_or_null(_json_int)),
    ("pending", "is_pending", _json_bool),
    ("position", "position", _json_int),
    ("receiver", "receiver.path", _escape),
    ("sender", "sender.label", _json_or_null(_escape)),
    ("sender_kind", "sender.kind", _escape),
    ("weak", "is_weak", _json_bool),
)
_CONNECTION_KEYS = tuple(key for key, _attr, _encode in CONNECTION_FIELDS)
_connection_values = attrgetter(*(attr for _key, attr, _encode in CONNECTION_FIELDS))
_connection_encoders = tuple(encode for _key, _attr, encode in CONNECTION_FIELDS)


def _connection_to_dict(conn: Connection) -> dict[str, Any]:
    return dict(zip(_CONNECTION_KEYS, _connection_values(conn), strict=True))


def _connection_from_dict(signal: str, d: dict[str, Any]) -> Connection:
    return Connection(
        signal=signal,
        sender=SenderRef(kind=d["sender_kind"], label=d["sender"]),
        position=d["position"],
        receiver=ReceiverRef(
            path=d["receiver"], file=d["file"], line=d["line"], kind=d["kind"], is_async=d["is_async"]
        ),
        dispatch_uid=d["dispatch_uid"],
        is_weak=d["weak"],
        is_dead=d["dead"],
        is_pending=d["pending"],
    )


def to_dict(smap: SignalMap) -> dict[str, Any]:
    """Return the JSON-ready form of `smap` (schema `SCHEMA_VERSION`).

    Receivers are nested under their signal, in the order of
    ``smap.connections``.
    """
    return _as_dict(smap, _connection_to_dict)


def _as_dict(smap: SignalMap, receiver: Callable[[Connection], Any]) -> dict[str, Any]:
    by_signal: dict[str, list[Any]] = {s.path: [] for s in smap.signals}
    for conn in smap.connections:
        by_signal.setdefault(conn.signal, []).append(receiver(conn))
    return {
        "schema": SCHEMA_VERSION,
        "signalscope": smap.signalscope,
        "django": smap.django,
        "settings": smap.settings,
        "settings_source": smap.settings_source,
        "load_steps": list(smap.load_steps),
        "user_model": smap.user_model,
        "apps": [{"label": a.label, "module": a.module, "models": list(a.models)} for a in smap.apps],
        "signals": [
            {
                "name": s.name,
                "path": s.path,
                "category": s.category,
                "class": s.signal_class,
                "use_caching": s.use_caching,
                "receivers": by_signal[s.path],
            }
            for s in smap.signals
        ],
    }


def from_dict(data: dict[str, Any]) -> SignalMap:
    """Rebuild a SignalMap from `to_dict` output.

    Raises ValueError when `data` has another schema version.
    """
    if data.get("schema") != SCHEMA_VERSION:
        raise ValueError(f"unsupported signalscope schema {data.get('schema')!r} (expected {SCHEMA_VERSION})")
    signals: list[SignalRef] = []
    connections: list[Connection] = []
    for s in data["signals"]:
        signals.append(
            SignalRef(
                path=s["path"],
                name=s["name"],
                category=s["category"],
                signal_class=s["class"],
                use_caching=s["use_caching"],
            )
        )
        connections.extend(_connection_from_dict(s["path"], r) for r in s["receivers"])
    return SignalMap(
        signalscope=data["signalscope"],
        django=data["django"],
        settings=data["settings"],
        settings_source=data["settings_source"],
        signals=tuple(signals),
        connections=tuple(connections),
        apps=tuple(AppRef(label=a["label"], module=a["module"], models=tuple(a["models"])) for a in data["apps"]),
        # Added within schema 1: older files have neither.
        load_steps=tuple(data.get("load_steps", ())),
        user_model=data.get("user_model"),
    )


def dumps(smap: SignalMap) -> str:
    """Return `smap` as byte-stable JSON text, ending in a newline.

    The text is exactly ``json.dumps(to_dict(smap), indent=2, sort_keys=True,
    ensure_ascii=False)`` plus a newline (a test holds it to that); receiver
    records, the bulk of it, are written straight from CONNECTION_FIELDS.
    """
    return dump_json(_as_dict(smap, lambda conn: conn), records={Connection: _connection_json})


_connection_templates: dict[str, str] = {}


def _connection_json(conn: Connection, newline: str) -> str:
    template = _connection_templates.get(newline)
    if template is None:
        inner = newline + "  "
        fields = ("," + inner).join(f"{_escape(key)}: %s" for key in _CONNECTION_KEYS)
        template = _connection_templates[newline] = "{" + inner + fields + newline + "}"
    return template % tuple(map(call, _connection_encoders, _connection_values(conn)))


def loads(text: str) -> SignalMap:
    """Parse `dumps` output back into a SignalMap."""
    return from_dict(json.loads(text))

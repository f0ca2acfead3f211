"""Turn the live signals of a set-up process into a SignalMap of Connections."""

from __future__ import annotations

import functools
import gc
import inspect
import sys
from collections import defaultdict
from collections.abc import Collection
from dataclasses import replace
from itertools import compress
from typing import TYPE_CHECKING, Any

from .. import __version__
from .._gc import collection_paused
from ..model import AppRef, Connection, ReceiverRef, SenderRef, SignalMap, SignalRef
from . import _compat
from .discover import (
    find_signals,
    is_frozen_after_django,
    module_globals_by_id,
    name_signals,
    reachable_objects,
    signal_category,
)
from .naming import callable_path, describe_receiver, describe_sender, describe_wrapped, receiver_path

if TYPE_CHECKING:
    from ..loader import Project

__all__ = ["receiver_bindings", "scan", "scan_wrapped"]

_UNKNOWN_SENDER = SenderRef(kind="unknown", label="<unidentified sender>")
_ANY = SenderRef(kind="any", label=None)
_DEAD_SENDER = SenderRef(kind="dead", label="<dead sender>")


class _SenderLookup:
    """Resolve the sender ids Django keeps (before 6.0 it stores no reference) to objects.

    Models and app configs are tried first; then gc's objects, then, for
    what gc does not track, module globals. An id whose object died may
    since have been reused, which no reader of Django's list can detect.
    """

    def __init__(self) -> None:
        from django.apps import apps

        self._by_id: dict[int, Any] = {}
        for model in apps.get_models(include_auto_created=True, include_swapped=True):
            self._by_id[id(model)] = model
        for config in apps.get_app_configs():
            self._by_id[id(config)] = config
        self._described: dict[int, SenderRef] = {}
        #: ids of the live objects the scan knows, which a dispatch_uid may hold (see _uid_text)
        self.known_ids: set[int] = set(self._by_id)

    def resolve(self, keys: set[Any], objects: list[Any]) -> None:
        """Find the objects behind `keys` (sender ids); call once per scan.

        `objects` is ``gc.get_objects()``. What gc does not track is looked
        for by `resolve_near`.
        """
        missing = {k for k in keys if k not in self._by_id}
        if missing:
            # In C: only the objects whose id is wanted reach Python code.
            for obj in compress(objects, map(missing.__contains__, map(id, objects))):
                self._by_id[id(obj)] = obj
            if is_frozen_after_django(objects):  # gc.get_objects() skips frozen objects
                for obj in reachable_objects():
                    if id(obj) in missing:
                        self._by_id.setdefault(id(obj), obj)
            self.known_ids.update(self._by_id)

    def resolve_near(self, entries: list[_compat.Entry], none_id: Any) -> None:
        """Find the senders of `entries` that gc does not track, near the receivers connected for them.

        A string or number held in a module constant (``sender=CHECKOUT``)
        is alive but untracked: it is looked for by `module_globals_by_id`
        in the modules of the receivers connected with its id.
        """
        homes: dict[int, set[str]] = defaultdict(set)
        for e in entries:
            key = e.sender_key
            if (
                not e.has_sender_ref
                and e.receiver is not None
                and type(key) is int
                and key != none_id
                and key not in self._by_id
            ):
                module = receiver_path(e.receiver).partition(":")[0]
                if module in sys.modules:
                    homes[key].add(module)
        if homes:
            found = module_globals_by_id(homes)
            self._by_id.update(found)
            self.known_ids.update(found)

    def describe(self, key: Any) -> SenderRef:
        if key in self._by_id:
            return self.describe_object(self._by_id[key])
        return _UNKNOWN_SENDER

    def describe_object(self, obj: Any) -> SenderRef:
        # Most receivers share a few hundred senders: describe each once. The
        # objects are alive for the whole scan, so their ids are stable keys.
        key = id(obj)
        ref = self._described.get(key)
        if ref is None:
            ref = self._described[key] = describe_sender(obj)
        return ref


def _uid_text(uid: Any, known: Collection[int] = ()) -> str | None:
    """A dispatch_uid as text; a part that is an object's id() is ``<id>``.

    Apps build uids from ids (django-auditlog: ``(id(self), id(signal),
    id(sender))``): as numbers they differ in every process, and would
    make `list --json` and snapshots change with nothing changed. `known`
    holds the ids of the live objects the scan knows (models, app configs,
    signals, receivers): an id below 4 GiB, as a python built without PIE
    gives the objects on its heap, is found by it.
    """
    if uid is None:
        return None
    return uid if isinstance(uid, str) else _uid_part(uid, known)


def _is_id(value: Any, known: Collection[int]) -> bool:
    # CPython's ids are addresses: 16-byte aligned; above 4 GiB where python is built as PIE (most).
    return type(value) is int and value % 16 == 0 and (value >= 2**32 or value in known)


def _uid_part(value: Any, known: Collection[int] = ()) -> str:
    if _is_id(value, known):
        return "<id>"
    if type(value) is tuple:
        # Beside an id, an aligned number that could be an address is one too (auditlog's id(self)).
        beside = any(_is_id(item, known) for item in value)
        parts = [
            "<id>" if beside and type(item) is int and item % 16 == 0 and item >= 2**20 else _uid_part(item, known)
            for item in value
        ]
        return f"({parts[0]},)" if len(parts) == 1 else f"({', '.join(parts)})"
    return repr(value)


def _dispatch_uid(entry: _compat.Entry, known: Collection[int] = ()) -> str | None:
    key = entry.receiver_key
    if type(key) is str:  # the usual dispatch_uid
        return key
    if entry.receiver is not None:
        return None if key == _compat.make_id(entry.receiver) else _uid_text(key, known)
    # Dead receiver: an id key is an int or a pair of ints; anything else was a dispatch_uid.
    if isinstance(key, int) or (isinstance(key, tuple) and all(isinstance(k, int) for k in key)):
        return None
    return _uid_text(key, known)


def scan(project: Project) -> SignalMap:
    """Return every signal and every connected receiver of the set-up `project`.

    Includes dead weak receivers still in Django's lists and lazy-sender
    connects still waiting for a model ("pending"). Output is sorted:
    signals by path, connections by signal, sender and call position.

    Raises IntrospectionError when Django's internals have an unknown layout.
    """
    with collection_paused():
        return _scan(project)


def scan_wrapped(project: Project) -> dict[Connection, tuple[ReceiverRef, ...]]:
    """Return, for each connection of `scan` whose receiver wraps functions, the functions it wraps.

    A receiver behind a decorator without functools.wraps is its wrapper,
    named after the decorator: the function it decorated is known only from
    here (see `describe_wrapped`). Keys are equal to the connections `scan`
    returns.

    Raises IntrospectionError when Django's internals have an unknown layout.
    """
    return scan_all(project)[1]


def _scan(project: Project, live: list[tuple[Connection, Any]] | None = None) -> SignalMap:
    """Scan as `scan` does; with `live`, also append each connection with its receiver object."""
    from django.apps import apps

    relpath = project.relpath
    none_id = _compat.none_id()

    objects = gc.get_objects()  # once: signals and senders are both looked for in it
    signals = find_signals(objects)
    names = name_signals(signals)
    lookup = _SenderLookup()

    decoded = [(signal, _compat.read_entries(signal)) for signal in signals]
    lookup.resolve(
        {e.sender_key for _, entries in decoded for e in entries if not e.has_sender_ref and e.sender_key != none_id},
        objects,
    )
    del objects  # it holds every object of the process alive
    lookup.resolve_near([e for _, entries in decoded for e in entries], none_id)
    lookup.known_ids.update(id(signal) for signal in signals)
    lookup.known_ids.update(id(e.receiver) for _, entries in decoded for e in entries if e.receiver is not None)

    signal_refs: list[SignalRef] = []
    connections: list[Connection] = []
    unnamed: list[tuple[Any, list[Connection], list[_compat.Entry]]] = []
    path_of: dict[int, str] = {}
    for signal, entries in decoded:
        place = names.get(id(signal))
        if place is None:
            conns = _connections("", entries, lookup, none_id, relpath)
            if conns:  # an unnamed signal with no receivers is noise (a temporary)
                unnamed.append((signal, conns, entries))
            continue
        path = f"{place[0]}:{place[1]}"
        path_of[id(signal)] = path
        signal_refs.append(_signal_ref(signal, path, place[0], project))
        conns = _connections(path, entries, lookup, none_id, relpath)
        connections.extend(conns)
        if live is not None:  # one connection per entry, in order
            live.extend(zip(conns, [e.receiver for e in entries], strict=True))
    # Signals bound to no name: numbered in a stable order of their receivers.
    unnamed.sort(key=lambda item: [connection_key(c) for c in item[1]])
    for index, (signal, conns, entries) in enumerate(unnamed, 1):
        path = f"<unnamed>:{type(signal).__name__}#{index}"
        path_of[id(signal)] = path
        conns = [replace(c, signal=path) for c in conns]
        if live is not None:
            live.extend(zip(conns, [e.receiver for e in entries], strict=True))
        signal_refs.append(
            SignalRef(
                path=path,
                name=f"<unnamed {type(signal).__name__}>",
                category="unnamed",
                signal_class=callable_path(type(signal)),
                use_caching=bool(signal.use_caching),
            )
        )
        connections.extend(conns)

    connections.extend(_pending(apps, path_of, relpath, live))

    app_refs = tuple(
        sorted(
            AppRef(
                label=config.label,
                module=config.name,
                models=tuple(sorted(m._meta.label for m in config.get_models(include_auto_created=True))),
            )
            for config in apps.get_app_configs()
        )
    )
    return SignalMap(
        signalscope=__version__,
        django=project.django_version,
        settings=project.settings_module,
        settings_source=project.settings_source,
        signals=tuple(sorted(signal_refs, key=lambda s: s.path)),
        connections=tuple(sorted(connections, key=connection_key)),
        apps=app_refs,
        load_steps=project.load_steps,
        user_model=_user_model(apps),
    )


def _user_model(apps: Any) -> str | None:
    """Return settings.AUTH_USER_MODEL as its installed model's label, or None when no model is installed as it."""
    from django.conf import settings

    name = getattr(settings, "AUTH_USER_MODEL", None)
    if not name:
        return None
    try:
        return str(apps.get_model(name)._meta.label)
    except (LookupError, ValueError):  # django.contrib.auth (or the custom model's app) isn't installed
        return None


def _signal_ref(signal: Any, path: str, module: str, project: Project) -> SignalRef:
    is_project = project.is_project_file(getattr(sys.modules.get(module), "__file__", None))
    return SignalRef(
        path=path,
        name=path.split(":", 1)[1].rsplit(".", 1)[-1],
        category=signal_category(path, is_project=is_project),
        signal_class=callable_path(type(signal)),
        use_caching=bool(signal.use_caching),
    )


def connection_key(conn: Connection) -> tuple[Any, ...]:
    """Sort key of the output order: signal, sender (any first, then by kind and label), position.

    The same order as the dataclass ordering, computed from plain values (a
    sort through the dataclasses' generated __lt__ is several times slower).
    """
    sender = conn.sender
    return (conn.signal, sender.kind, sender.label or "", conn.position, conn.receiver.path, conn.dispatch_uid or "")


def _connections(
    path: str, entries: list[_compat.Entry], lookup: _SenderLookup, none_id: Any, relpath: Any
) -> list[Connection]:
    """Describe one signal's entries, as connections of the signal at `path`.

    This loop runs once per receiver of the project: it is kept flat.
    """
    result = []
    seen_any = 0
    seen_for: dict[Any, int] = defaultdict(int)  # specific sender key -> entries for it so far
    any_sender = _ANY
    for entry in entries:
        if entry.has_sender_ref:
            sender = lookup.describe_object(entry.sender) if not entry.is_sender_dead else _DEAD_SENDER
        elif entry.sender_key == none_id:
            sender = any_sender
        else:
            sender = lookup.describe(entry.sender_key)
        # Call order: a send from S runs S's and any-sender entries in list order.
        if sender is any_sender:
            position = seen_any
            seen_any += 1
        else:
            position = seen_any + seen_for[entry.sender_key]
            seen_for[entry.sender_key] += 1
        obj = entry.receiver
        is_async = entry.is_async
        if is_async is None:
            is_async = obj is not None and _compat.dispatcher_is_async(obj)
        result.append(
            Connection(
                path,
                sender,
                position,
                describe_receiver(obj, is_async=is_async, relpath=relpath),
                _dispatch_uid(entry, lookup.known_ids),
                entry.is_weak,
                entry.is_weak and obj is None,
                False,
            )
        )
    return result


def _pending(
    apps: Any, path_of: dict[int, str], relpath: Any, live: list[tuple[Connection, Any]] | None = None
) -> list[Connection]:
    result = []
    counts: dict[tuple[str, tuple[str, str]], int] = defaultdict(int)
    for op in _compat.read_pending(apps):
        path = path_of.get(id(op.signal))
        if path is None:
            continue
        slot = (path, op.model_key)
        result.append(
            Connection(
                signal=path,
                sender=SenderRef(kind="pending", label=".".join(op.model_key)),
                position=counts[slot],
                receiver=describe_receiver(
                    op.receiver, is_async=_compat.dispatcher_is_async(op.receiver), relpath=relpath
                ),
                dispatch_uid=_uid_text(op.dispatch_uid),
                is_weak=op.weak,
                is_dead=False,
                is_pending=True,
            )
        )
        if live is not None:
            live.append((result[-1], op.receiver))
        counts[slot] += 1
    return result


_PLAIN = (str, int, float, bool, type(None))


Bindings = dict[tuple[str, str | None], dict[str, Any]]


def receiver_bindings(project: Project) -> Bindings:
    """Return what is known of each receiver's bound object and partial arguments, by (receiver path, model sender).

    For a bound method: its object's own attributes with plain values, as
    ``{"self.manager_name": "history"}``; for a ``functools.partial``: its
    keyword arguments with plain values. The effect scan reads
    ``getattr(instance, self.manager_name)`` with it. Values are read from
    ``__dict__``: no descriptor or property runs. They stay in memory, never
    in any output.
    """
    return scan_all(project)[2]


def _bindings(live: list[tuple[Connection, Any]]) -> Bindings:
    found: Bindings = {}
    for conn, obj in live:
        values = _bound_values(obj)
        if values:
            sender = conn.sender.label if conn.sender.kind == "model" else None
            found[(conn.receiver.path, sender)] = values
    return found


def _bound_values(obj: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    target = obj
    for _ in range(8):  # partial(partial(...)) a few deep
        if not isinstance(target, functools.partial):
            break
        values.update((k, v) for k, v in target.keywords.items() if isinstance(v, _PLAIN))
        target = target.func
    owner = getattr(target, "__self__", None) if inspect.ismethod(target) else None
    if owner is not None and not isinstance(owner, type):
        try:
            attributes = vars(owner)
        except TypeError:
            attributes = {}
        for name, value in list(attributes.items()):
            if (
                isinstance(name, str)
                and isinstance(value, _PLAIN)
                and not (isinstance(value, str) and len(value) > 200)
            ):
                values[f"self.{name}"] = value
    return values


def scan_all(project: Project) -> tuple[SignalMap, dict[Connection, tuple[ReceiverRef, ...]], Bindings]:
    """Return `scan`, `scan_wrapped` and `receiver_bindings` of the set-up `project` from one walk over the receivers.

    Raises IntrospectionError when Django's internals have an unknown layout.
    """
    live: list[tuple[Connection, Any]] = []
    with collection_paused():
        smap = _scan(project, live)
        wrapped = {}
        for conn, obj in live:
            functions = describe_wrapped(obj, relpath=project.relpath)
            if functions:
                wrapped[conn] = functions
        bindings = _bindings(live)
    return smap, wrapped, bindings

"""The only module that reads Django's private dispatcher structures, one branch per version range.

Layouts (see the notes on Django's dispatcher; verified on 4.2 to 6.1):

- ``Signal.receivers`` entries: [4.2] ``(key, target)``;
  [5.0-5.2] ``(key, target, is_async)``; [6.0+] ``(key, target, sender_ref, is_async)``.
- ``key == (receiver_key, sender_key)``: receiver_key is the dispatch_uid when
  one was given, else ``_make_id(receiver)``; sender_key is ``_make_id(sender)``,
  ``NONE_ID`` for "any sender".
- ``target`` is a ``weakref.ref``/``WeakMethod`` for weak receivers (``None``
  once dead), else the callable itself.
- ``sender_ref`` [6.0+] is a weak reference to the sender, or None for "any"
  and for senders that can't be weakly referenced (str, int).
- Lazy model senders that never resolved wait in ``apps._pending_operations``
  as ``apply_next_model`` closures around ``partial(signal.connect, receiver, ...)``.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import IntrospectionError

if TYPE_CHECKING:
    from django.apps.registry import Apps
    from django.dispatch import Signal

__all__ = ["Entry", "PendingConnect", "dispatcher_is_async", "make_id", "none_id", "read_entries", "read_pending"]


class Entry:
    """One decoded ``Signal.receivers`` entry.

    A plain slotted class, not a dataclass: one is made per receiver on every
    scan, and class creation at import time counts toward start-up too.
    """

    __slots__ = (
        "has_sender_ref",
        "is_async",
        "is_sender_dead",
        "is_weak",
        "receiver",
        "receiver_key",
        "sender",
        "sender_key",
    )

    def __init__(
        self,
        receiver_key: Any,
        sender_key: Any,
        receiver: Any,  # the live callable, or None when the weak reference is dead
        is_weak: bool,
        has_sender_ref: bool,  # [6.0+] Django holds a weak reference to the sender
        sender: Any,  # the sender object when has_sender_ref and it is alive
        is_sender_dead: bool,
        is_async: bool | None,  # None: this Django doesn't record it [4.2]
    ) -> None:
        self.receiver_key = receiver_key
        self.sender_key = sender_key
        self.receiver = receiver
        self.is_weak = is_weak
        self.has_sender_ref = has_sender_ref
        self.sender = sender
        self.is_sender_dead = is_sender_dead
        self.is_async = is_async


class PendingConnect(NamedTuple):
    """A connect() waiting in ``apps._pending_operations`` for a model that never registered."""

    signal: Any
    receiver: Any
    model_key: tuple[str, str]  # ("orders", "orderlin"): app label and lower-cased model name
    weak: bool
    dispatch_uid: Any


def _django_version() -> tuple[int, int]:
    import django

    return django.VERSION[0], django.VERSION[1]


def _deref(target: Any) -> tuple[Any, bool]:
    # WeakMethod subclasses weakref.ref, so one check covers both weak kinds.
    if isinstance(target, weakref.ReferenceType):
        return target(), True
    return target, False


def _entry_42(raw: tuple[Any, ...]) -> Entry:
    (rkey, skey), target = raw
    obj, weak = _deref(target)
    return Entry(rkey, skey, obj, weak, False, None, False, None)


def _entry_50(raw: tuple[Any, ...]) -> Entry:
    (rkey, skey), target, is_async = raw
    obj, weak = _deref(target)
    return Entry(rkey, skey, obj, weak, False, None, False, bool(is_async))


def _entry_60(raw: tuple[Any, ...]) -> Entry:
    (rkey, skey), target, sender_ref, is_async = raw
    obj, weak = _deref(target)
    sender = sender_ref() if sender_ref is not None else None
    return Entry(
        rkey,
        skey,
        obj,
        weak,
        sender_ref is not None,
        sender,
        sender_ref is not None and sender is None,
        bool(is_async),
    )


def _pick_decoder() -> tuple[int, Any]:
    version = _django_version()
    if version < (5, 0):
        return 2, _entry_42
    if version < (6, 0):
        return 3, _entry_50
    return 4, _entry_60


def read_entries(signal: Signal) -> list[Entry]:
    """Decode ``signal.receivers`` in Django's order, dead entries included.

    Raises IntrospectionError when an entry has a layout this Django version
    should not have (a newer Django changed its internals).
    """
    size, decode = _pick_decoder()
    entries = []
    # Django replaces the list on cleanup instead of mutating it: take one snapshot.
    for raw in list(signal.receivers):
        if not isinstance(raw, tuple) or len(raw) != size:
            import django

            raise IntrospectionError(
                f"Unexpected receiver entry layout on Django {django.get_version()}: "
                f"{type(raw).__name__} of length {len(raw) if isinstance(raw, tuple) else '?'} "
                f"(expected a {size}-tuple).",
                hint="This Django version may be newer than signalscope supports; please report it.",
            )
        entries.append(decode(raw))
    return entries


def make_id(target: Any) -> Any:
    """Return Django's lookup key for `target` (``django.dispatch.dispatcher._make_id``)."""
    return _dispatcher()._make_id(target)


@functools.cache
def _dispatcher() -> Any:
    from django.dispatch import dispatcher

    return dispatcher


@functools.cache
def none_id() -> Any:
    """Return Django's sender key for "any sender" (``NONE_ID``)."""
    from django.dispatch.dispatcher import NONE_ID

    return NONE_ID


def dispatcher_is_async(receiver: Any) -> bool:
    """Return whether Django 5.0+ would treat `receiver` as async (for 4.2, which doesn't record it).

    Django 4.2 itself never asks, so neither may this run the receiver's own
    code: an object whose class looks attributes up itself (``__getattr__``,
    a lazy proxy) is not asked, and counts as sync, as 4.2 calls it.
    """
    import functools
    import types

    from asgiref.sync import iscoroutinefunction

    cls = type(receiver)
    known = cls in (types.FunctionType, types.MethodType) or issubclass(cls, functools.partial)
    plain = (
        getattr(cls, "__getattribute__", None) is object.__getattribute__ and getattr(cls, "__getattr__", None) is None
    )
    return bool(iscoroutinefunction(receiver)) if known or plain else False


def read_pending(apps: Apps) -> Iterator[PendingConnect]:
    """Yield the lazy-sender connects still waiting for their model, in queue order.

    Pending *disconnects* are skipped: they never add a receiver.
    """
    pending = getattr(apps, "_pending_operations", None)
    if not pending:
        return
    from django.dispatch import Signal

    # .items(), not indexing: the mapping is a defaultdict and lookups would add keys.
    for model_key, operations in list(pending.items()):
        for operation in list(operations):
            args: list[Any] = []
            keywords: dict[str, Any] = {}
            func = operation
            # apply_next_model closure -> .func partial(connect, receiver, **kw) -> bound connect
            while hasattr(func, "func"):
                args[:0] = list(getattr(func, "args", ()) or ())
                keywords = {**(getattr(func, "keywords", None) or {}), **keywords}
                func = func.func
            owner = getattr(func, "__self__", None)
            if not issubclass(type(owner), Signal) or getattr(func, "__name__", "") != "connect" or not args:
                continue
            yield PendingConnect(
                signal=owner,
                receiver=args[0],
                model_key=(str(model_key[0]), str(model_key[1])),
                weak=bool(keywords.get("weak", True)),
                dispatch_uid=keywords.get("dispatch_uid"),
            )

"""Record live signal sends: the patches on Django's Signal class and the raw records they make.

Installed only while at least one Tracer is active (a reference count), and
removed exactly when the last one stops: with no tracer, Django's own
methods are in place and nothing costs anything.

Two hooks, both on the Signal class so that ModelSignal and every subclass
inherit them and signals made after the tracer started are seen too:

- ``send``, ``send_robust``, ``asend`` and ``asend_robust`` record every
  send, including those that reach no receiver and those muted by tools
  that empty ``receivers``;
- ``_live_receivers`` wraps the receivers of a send being recorded, to time
  each call and to know which receiver a nested send came from. The
  wrappers are made per call and never stored, so Django's receiver lists,
  its cache and its weak references are untouched; the send hook maps them
  back, so a send returns exactly the receivers it would return untraced.

The running node (a send, or a receiver call inside one) lives in a
contextvar, so parents are right across threads and asyncio tasks.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["CallRecord", "SendRecord", "install", "installed", "subscribe", "uninstall", "unsubscribe"]

_current: contextvars.ContextVar[Any] = contextvars.ContextVar("signalscope_trace_current", default=None)
_clock = time.perf_counter_ns
_ids = iter(range(1, 2**63)).__next__  # next() on a C iterator: atomic under the GIL
_lock = threading.Lock()
_installed = 0
_originals: dict[str, Any] = {}
_listeners: list[Callable[[SendRecord], None]] = []  # one per active tracer


class SendRecord:
    """One send, as it happens: filled in by the hooks, turned into TraceEvents later."""

    __slots__ = (
        "active",
        "calls",
        "end",
        "error",
        "id",
        "method",
        "named",
        "originals",
        "parent",
        "sender",
        "signal",
        "start",
        "thread",
        "unheard",
        "wrapped",
    )

    def __init__(self, signal: Any, sender: Any, method: str, named: dict[str, Any], parent: Any) -> None:
        self.id = _ids()
        self.parent = parent
        self.signal = signal
        self.sender = sender
        self.method = method
        self.named = named
        self.thread = threading.get_ident()
        self.calls: list[CallRecord] = []
        self.error: BaseException | None = None
        self.unheard = not signal.receivers
        self.wrapped = False
        self.originals: dict[int, Any] = {}
        self.active: CallRecord | None = None  # the sync receiver running now
        self.end = 0
        self.start = _clock()


class CallRecord:
    """One receiver call inside a recorded send."""

    __slots__ = ("end", "error", "id", "is_async", "receiver", "result_type", "send", "start", "thread")

    def __init__(self, send: SendRecord, receiver: Any, is_async: bool) -> None:
        self.id = _ids()
        self.send = send
        self.receiver = receiver
        self.is_async = is_async
        # Sync receivers run on the sending thread; async ones may run elsewhere.
        self.thread = threading.get_ident() if is_async else send.thread
        self.error: BaseException | None = None
        self.result_type: str | None = None
        self.end = 0
        self.start = _clock()


def subscribe(listener: Callable[[SendRecord], None]) -> None:
    """Have `listener` called with every finished send (installs the hooks on first use)."""
    with _lock:
        _listeners.append(listener)
    install()


def unsubscribe(listener: Callable[[SendRecord], None]) -> None:
    """Stop calling `listener`; the hooks go when nothing else needs them."""
    with _lock:
        if listener in _listeners:
            _listeners.remove(listener)
    uninstall()


def installed() -> bool:
    """Return whether the hooks are on the Signal class now."""
    return _installed > 0


def _publish(record: SendRecord) -> None:
    for listener in tuple(_listeners):
        listener(record)


def _qualname(receiver: Any) -> str:
    name = getattr(receiver, "__qualname__", None)
    return name if isinstance(name, str) else type(receiver).__qualname__


# The wrappers copy only __qualname__ (what send_robust's error log reads):
# functools.wraps copies six attributes and cost more than the rest of a call.
def _wrap_sync(record: SendRecord, receiver: Any) -> Any:
    # Sync receivers run one at a time on the sending thread, so the send
    # record can say which one is running (for a nested send's parent)
    # without a contextvar round trip per call. Async ones use the contextvar.
    def traced(*args: Any, **kwargs: Any) -> Any:
        call = CallRecord(record, receiver, False)
        record.calls.append(call)
        outer, record.active = record.active, call
        try:
            result = receiver(*args, **kwargs)
        except BaseException as exc:
            call.end = _clock()
            call.error = exc
            raise
        finally:
            record.active = outer
        call.end = _clock()
        call.result_type = type(result).__qualname__
        return result

    traced.__qualname__ = _qualname(receiver)
    record.originals[id(traced)] = receiver
    return traced


def _wrap_async(record: SendRecord, receiver: Any) -> Any:
    async def traced(*args: Any, **kwargs: Any) -> Any:
        call = CallRecord(record, receiver, True)
        record.calls.append(call)
        token = _current.set(call)
        try:
            result = await receiver(*args, **kwargs)
        except BaseException as exc:
            call.end = _clock()
            call.error = exc
            raise
        finally:
            _current.reset(token)
        call.end = _clock()
        call.result_type = type(result).__qualname__
        return result

    traced.__qualname__ = _qualname(receiver)
    record.originals[id(traced)] = receiver
    return traced


def _live_receivers(self: Any, sender: Any) -> Any:
    result = _originals["_live_receivers"](self, sender)
    record = _current.get()
    # Only inside a send being recorded, once: has_listeners() calls this too.
    if type(record) is not SendRecord or record.signal is not self or record.wrapped:
        return result
    record.wrapped = True
    if isinstance(result, tuple):  # Django 5.0+: (sync receivers, async receivers)
        sync, asynchronous = result
        return [_wrap_sync(record, r) for r in sync], [_wrap_async(record, r) for r in asynchronous]
    return [_wrap_sync(record, r) for r in result]  # Django 4.2: one list


def _unwrap(record: SendRecord, responses: Any) -> Any:
    if not record.originals or not isinstance(responses, list):
        return responses
    originals = record.originals
    return [(originals.get(id(receiver), receiver), response) for receiver, response in responses]


def _begin(signal: Any, sender: Any, method: str, named: dict[str, Any]) -> tuple[SendRecord, Any]:
    parent = _current.get()
    if type(parent) is SendRecord:  # inside a send: the sync receiver running now, if any
        parent = parent.active or parent
    record = SendRecord(signal, sender, method, named, parent)
    return record, _current.set(record)


def _make_sync_hook(name: str) -> Callable[..., Any]:
    original = _originals[name]

    def hook(self: Any, sender: Any, **named: Any) -> Any:
        if not _listeners:
            return original(self, sender, **named)
        record, token = _begin(self, sender, name, named)
        try:
            responses = original(self, sender, **named)
        except BaseException as exc:
            record.error = exc
            raise
        finally:
            record.end = _clock()
            _current.reset(token)
            _publish(record)
        return _unwrap(record, responses)

    functools.update_wrapper(hook, original)
    return hook


def _make_async_hook(name: str) -> Callable[..., Any]:
    original = _originals[name]

    async def hook(self: Any, sender: Any, **named: Any) -> Any:
        if not _listeners:
            return await original(self, sender, **named)
        record, token = _begin(self, sender, name, named)
        try:
            responses = await original(self, sender, **named)
        except BaseException as exc:
            record.error = exc
            raise
        finally:
            record.end = _clock()
            _current.reset(token)
            _publish(record)
        return _unwrap(record, responses)

    functools.update_wrapper(hook, original)
    return hook


def install() -> None:
    """Put the hooks on the Signal class (counted: every install needs an uninstall)."""
    global _installed
    from django.dispatch import Signal

    with _lock:
        _installed += 1
        if _installed > 1:
            return
        for name in ("send", "send_robust", "asend", "asend_robust", "_live_receivers"):
            if name in vars(Signal):
                _originals[name] = vars(Signal)[name]
        for name in ("send", "send_robust", "asend", "asend_robust"):
            if name not in _originals:
                continue  # asend and asend_robust arrived in Django 5.0
            make = _make_async_hook if inspect.iscoroutinefunction(_originals[name]) else _make_sync_hook
            setattr(Signal, name, make(name))
        Signal._live_receivers = _live_receivers  # type: ignore[method-assign]


def uninstall() -> None:
    """Undo one install; the last one puts Django's own methods back, exactly."""
    global _installed
    from django.dispatch import Signal

    with _lock:
        if _installed == 0:
            return
        _installed -= 1
        if _installed:
            return
        for name, original in _originals.items():
            setattr(Signal, name, original)
        _originals.clear()

"""The Tracer: start/stop (or a context manager) around code whose signal sends to record."""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterable
from typing import Any

from ..model.trace import TraceEvent, TraceLog
from . import recorder

__all__ = ["DEFAULT_EXCLUDE", "DEFAULT_REDACT", "Tracer"]

#: Signals sent for every model instance created or loaded: left out unless asked for.
DEFAULT_EXCLUDE = ("pre_init", "post_init")
#: Keyword names whose values are never recorded, even with capture_values.
DEFAULT_REDACT = ("password", "passwd", "secret", "token", "key", "credential", "authorization", "cookie", "session")


class Tracer:
    """Record every signal send, and every receiver call in it, while started.

    `include` and `exclude` filter by signal name or path (exclude defaults
    to pre_init and post_init, sent for every model instance); `max_sends`
    bounds memory: the oldest sends are dropped and counted. Argument values
    are not recorded unless `capture_values`, and never for names in
    `redact`. Tracers nest and run side by side; the hooks are on Django's
    Signal class only while at least one is started.
    """

    def __init__(
        self,
        *,
        include: Iterable[str] = (),
        exclude: Iterable[str] | None = None,
        max_sends: int = 100_000,
        capture_values: bool = False,
        redact: Iterable[str] = DEFAULT_REDACT,
    ) -> None:
        self.include = frozenset(include)
        self.exclude = frozenset(DEFAULT_EXCLUDE if exclude is None else exclude)
        self.capture_values = capture_values
        self.redact = tuple(word.lower() for word in redact)
        self._sends: collections.deque[tuple[Any, ...]] = collections.deque(maxlen=max_sends)
        self._seen = 0
        self._names: dict[int, tuple[str, str]] = {}
        self._lock = threading.Lock()
        self._started = False

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> Tracer:
        """Start recording (a second start does nothing)."""
        if not self._started:
            self._started = True
            self._names.update(_signal_names())
            recorder.subscribe(self._record)
        return self

    def stop(self) -> TraceLog:
        """Stop recording (a second stop does nothing) and return the log."""
        if self._started:
            self._started = False
            recorder.unsubscribe(self._record)
        return self.log()

    def __enter__(self) -> Tracer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log(self) -> TraceLog:
        """Return what was recorded so far, events in start order."""
        with self._lock:
            sends = list(self._sends)
            dropped = self._seen - len(sends)
        events = []
        for sid, parent, path, sender, method, start, end, thread, outcome, error, kwargs, calls in sends:
            events.append(
                TraceEvent(sid, parent, "send", path, sender, None, method, start, end - start, thread,
                           outcome=outcome, error=error, kwargs=kwargs)
            )  # fmt: skip
            for cid, receiver, is_async, cstart, cend, cthread, cerror, result_type in calls:
                events.append(
                    TraceEvent(cid, sid, "call", path, sender, receiver, method, cstart, cend - cstart, cthread,
                               is_async=is_async, outcome="error" if cerror else "ok", error=cerror,
                               result_type=result_type)
                )  # fmt: skip
        events.sort(key=lambda e: (e.start_ns, e.id))
        return TraceLog(events=tuple(events), dropped=dropped)

    # -- recording ---------------------------------------------------------
    def _name(self, signal: Any) -> tuple[str, str]:
        name = self._names.get(id(signal))
        if name is None:  # a signal made after start: name just this one, once
            found = _signal_names([signal]).get(id(signal))
            name = found or (f"<unnamed>:{type(signal).__name__}", "<unnamed>")
            self._names[id(signal)] = name
        return name

    def _record(self, record: recorder.SendRecord) -> None:
        path, short = self._name(record.signal)
        if self.include and not ({path, short} & self.include):
            return
        if {path, short} & self.exclude:
            return
        # Only plain values from here on: the trace must keep no object of the
        # program alive. Tuples here, records in log(): this runs on every send.
        send = (
            record.id,
            record.parent.id if record.parent is not None else None,
            path,
            _sender_label(record.sender),
            record.method,
            record.start,
            record.end,
            record.thread,
            "error" if record.error is not None else ("unheard" if record.unheard else "ok"),
            _error_text(record.error),
            self._kwargs(record.named),
            tuple(
                [
                    (
                        call.id,
                        _receiver_path(call.receiver),
                        call.is_async,
                        call.start,
                        call.end or call.start,
                        call.thread,
                        _error_text(call.error),
                        call.result_type,
                    )
                    for call in record.calls
                ]
            ),
        )
        with self._lock:
            self._seen += 1
            self._sends.append(send)

    def _kwargs(self, named: dict[str, Any]) -> tuple[tuple[str, str], ...]:
        items = []
        for name, value in named.items():
            if self.capture_values and not any(word in name.lower() for word in self.redact):
                shown = _value_text(value)
            elif name == "instance" and hasattr(type(value), "_meta"):
                shown = _instance_text(value)
            else:
                shown = type(value).__qualname__
            items.append((name, shown))
        return tuple(sorted(items))


def _signal_names(signals: list[Any] | None = None) -> dict[int, tuple[str, str]]:
    """Name `signals` (all live ones when None: a scan of every object, done at start only)."""
    from ..introspect.discover import find_signals, name_signals

    if signals is None:
        signals = find_signals()
    return {key: (f"{module}:{attr}", attr.rsplit(".", 1)[-1]) for key, (module, attr) in name_signals(signals).items()}


def _sender_label(sender: Any) -> str | None:
    if sender is None:
        return None
    meta = getattr(sender, "_meta", None) if isinstance(sender, type) else None
    if meta is not None:
        return str(meta.label)
    if isinstance(sender, type):
        return f"{sender.__module__}:{sender.__qualname__}"
    label = getattr(sender, "label", None)
    if isinstance(label, str) and hasattr(sender, "models_module"):
        return f"<AppConfig: {label}>"
    if type(sender) in (str, int, float, bool):
        return repr(sender)
    return f"<{type(sender).__module__}.{type(sender).__qualname__} instance>"


def _receiver_path(receiver: Any) -> str:
    func = getattr(receiver, "__func__", receiver)
    while hasattr(func, "func") and hasattr(func, "args"):  # functools.partial
        func = func.func
    name = getattr(func, "__qualname__", None)
    if name is None:
        cls = type(func)
        return f"{cls.__module__}:{cls.__qualname__}.__call__"
    return f"{getattr(func, '__module__', '?')}:{name}"


def _instance_text(instance: Any) -> str:
    return f"{instance._meta.label}(pk={instance.__dict__.get('pk', getattr(instance, 'pk', None))!r})"


def _value_text(value: Any) -> str:
    if hasattr(type(value), "_meta"):
        return _instance_text(value)
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _error_text(error: BaseException | None) -> str | None:
    return None if error is None else f"{type(error).__qualname__}: {error}"

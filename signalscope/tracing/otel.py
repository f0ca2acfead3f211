"""Export traced sends to OpenTelemetry: each send and each receiver call becomes a span.

    import signalscope.tracing.otel as signal_otel
    signal_otel.instrument()          # e.g. in AppConfig.ready() or a worker's start-up
    ...
    signal_otel.uninstrument()

Spans go to the global tracer provider (or the one given), under the
OpenTelemetry span that was current when the outermost send was made, so
the signals of every web and worker process land in the same traces as
their requests and tasks, in any OpenTelemetry backend.

Span names: the signal's short name for a send (``post_save``), the
receiver's path for a call (``accounts.signals:create_user_profile``).
Attributes live under ``django.signal.*`` (see ATTRIBUTES). A failed call
or send gets status ERROR and an ``exception`` event.

Spans are made when the outermost send ends, with the recorded start and
end times, nested by the recorded parents. So spans that other
instrumentation opens inside a receiver (a database query, say) sit beside
the receiver's span under the same parent, not inside it.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Any

from ..errors import MissingExtra
from ..model.trace import GROUP_KINDS, TraceEvent, TraceTree
from .tracer import Tracer

__all__ = ["ATTRIBUTES", "SpanExporter", "instrument", "uninstrument"]

#: The attributes set on spans, and what they hold.
ATTRIBUTES = {
    "django.signal.name": "the signal's name: post_save",
    "django.signal.path": "the signal's module:name: django.db.models.signals:post_save",
    "django.signal.sender": "the sender's label: auth.User (absent for sender=None)",
    "django.signal.method": "send, send_robust, asend or asend_robust",
    "django.signal.kind": "send or call",
    "django.signal.outcome": "ok, error, or unheard (a send no receiver ran for)",
    "django.signal.receiver": "a call's receiver, module:qualname",
    "django.signal.receiver.async": "whether the receiver is a coroutine function",
    "django.signal.result_type": "the type of what a receiver returned",
    "django.signal.kwargs": "the names of the keyword arguments sent",
    "django.signal.instance": "the instance sent, as app_label.Model(pk=...): an int or UUID pk, else <type>",
}


def _require_otel() -> Any:
    try:
        from opentelemetry import context, trace
    except ImportError as exc:
        raise MissingExtra(
            "OpenTelemetry export needs the opentelemetry-api package.",
            hint="pip install 'signalscope[otel]'",
        ) from exc
    return context, trace


#: Trees whose spans are remembered for late sends, and trees waiting for their outermost send.
MAX_EXPORTED_TREES = 256
MAX_PENDING_TREES = 4096


class SpanExporter:
    """A Tracer's `on_send` callback that turns each finished tree of sends into spans."""

    def __init__(self, tracer_provider: Any = None) -> None:
        self._context, otel_trace = _require_otel()
        self._trace = otel_trace
        from .. import __version__

        self._tracer = otel_trace.get_tracer("signalscope", __version__, tracer_provider=tracer_provider)
        self._pending: dict[int, list[TraceEvent]] = {}  # outermost send id -> the events of its tree so far
        # The span contexts of the trees exported last (outermost send id -> event id -> context), so
        # that a send made after its tree was exported (by a task a receiver spawned) nests under its
        # receiver's span.
        self._exported: collections.OrderedDict[int, dict[int, Any]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, events: list[TraceEvent], root: int) -> None:
        overflow: list[TraceEvent] = []
        with self._lock:
            known = self._exported.get(root)
            if events and events[0].id == root:  # the outermost send has just ended, in its own context
                tree = self._pending.pop(root, []) + events
                known = None
            elif events and known is not None and events[0].parent in known:
                # A late send: its tree was exported already. It and what it set off go now.
                tree = events + self._descendants(root, {e.id for e in events})
            else:
                self._pending.setdefault(root, []).extend(events)  # inside a send still running
                tree = []
                if len(self._pending) > MAX_PENDING_TREES:  # bounded: the oldest go as they are
                    overflow = self._pending.pop(next(iter(self._pending)))
        outer = self._context.get_current()
        if tree:
            contexts = self._export(sorted(tree, key=lambda e: (e.start_ns, e.id)), outer, _wall_offset(), known)
            with self._lock:
                self._exported[root] = {**(self._exported.get(root) or {}), **contexts}
                self._exported.move_to_end(root)
                while len(self._exported) > MAX_EXPORTED_TREES:
                    self._exported.popitem(last=False)
        if overflow:
            self._export(sorted(overflow, key=lambda e: (e.start_ns, e.id)), outer, _wall_offset(), None)

    def _descendants(self, root: int, ids: set[int]) -> list[TraceEvent]:
        """Take from the pending events of `root` those below the events `ids` (called under the lock)."""
        pending = self._pending.pop(root, [])
        tree = TraceTree(pending)
        taken = [event for top in tree.roots if top.parent in ids for event in tree.walk(top)]
        if len(taken) < len(pending):
            moved = {event.id for event in taken}
            self._pending[root] = [event for event in pending if event.id not in moved]
        return taken

    def _export(self, tree: list[TraceEvent], outer: Any, offset: int, known: dict[int, Any] | None) -> dict[int, Any]:
        """Make the spans of `tree` (parents first), under `outer` or the `known` spans; return their contexts."""
        contexts: dict[int, Any] = dict(known or {})
        status = self._trace.Status
        for event in tree:  # parents start first
            parent = contexts.get(event.parent, outer) if event.parent is not None else outer
            span = self._tracer.start_span(
                _span_name(event),
                context=parent,
                kind=self._trace.SpanKind.INTERNAL,
                attributes=_attributes(event),
                start_time=event.start_ns + offset,
            )
            if event.error:
                kind, _, message = event.error.partition(": ")
                span.add_event("exception", {"exception.type": kind, "exception.message": message})
                span.set_status(status(self._trace.StatusCode.ERROR, event.error))
            span.end(end_time=event.start_ns + event.duration_ns + offset)
            contexts[event.id] = self._trace.set_span_in_context(span, outer)
        return contexts


def _wall_offset() -> int:
    """What to add to a perf_counter_ns time to get OpenTelemetry's wall-clock time, as of now.

    Taken for every exported tree, not once at start: the two clocks drift
    apart (NTP slews and steps the wall clock; microseconds a second here),
    and a stale offset can put a receiver's span outside the request span
    around it. The wall clock is read between two perf_counter reads, and the
    tightest of a few brackets wins, so a preemption between two reads (a
    loaded machine) cannot shift every span by milliseconds.
    """
    best_width, best = None, 0
    for _ in range(5):
        before = time.perf_counter_ns()
        wall = time.time_ns()
        after = time.perf_counter_ns()
        width = after - before
        if best_width is None or width < best_width:
            best_width, best = width, wall - (before + after) // 2
        if width < 2_000:
            break
    return best


def _short(path: str) -> str:
    return path.rsplit(":", 1)[-1]


def _span_name(event: TraceEvent) -> str:
    """Return the name of `event`'s span: a send's signal's short name, a call's receiver, a group's label."""
    if event.kind == "send":
        return _short(event.signal)
    if event.kind in GROUP_KINDS:
        return event.label or event.kind
    return event.receiver or "?"


def _attributes(event: TraceEvent) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "django.signal.name": _short(event.signal),
        "django.signal.path": event.signal,
        "django.signal.method": event.method,
        "django.signal.kind": event.kind,
        "django.signal.outcome": event.outcome,
    }
    if event.sender is not None:
        attributes["django.signal.sender"] = event.sender
    if event.kind == "call":
        attributes["django.signal.receiver"] = event.receiver or "?"
        attributes["django.signal.receiver.async"] = event.is_async
        if event.result_type is not None:
            attributes["django.signal.result_type"] = event.result_type
    else:
        attributes["django.signal.kwargs"] = [name for name, _ in event.kwargs]
        instance = dict(event.kwargs).get("instance")
        if instance is not None and "(pk=" in instance:
            attributes["django.signal.instance"] = instance
    if event.process:
        attributes["signalscope.process"] = event.process
    for name, text in event.details:
        attributes[f"signalscope.detail.{name}"] = text
    if event.label is not None:
        attributes["signalscope.label"] = event.label
    return attributes


_active: Tracer | None = None
_active_lock = threading.Lock()


def instrument(tracer_provider: Any = None, **options: Any) -> Tracer:
    """Export every signal send of this process to OpenTelemetry, from now on; return the Tracer.

    `options` are Tracer's (include, exclude, senders, apps, ...). Nothing
    is kept in memory beyond the sends still running. A second call does
    nothing until `uninstrument`.

    Raises MissingExtra without opentelemetry-api.
    """
    global _active
    with _active_lock:
        if _active is None:
            exporter = SpanExporter(tracer_provider)
            _active = Tracer(max_sends=0, on_send=exporter, **options).start()
        return _active


def uninstrument() -> None:
    """Stop exporting; Django's own methods are back once no other tracer runs."""
    global _active
    with _active_lock:
        if _active is not None:
            _active.stop()
            _active = None

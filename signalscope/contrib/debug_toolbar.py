"""A django-debug-toolbar panel: the causal tree of the signals a request sent.

    DEBUG_TOOLBAR_PANELS = [
        ...,
        "signalscope.contrib.debug_toolbar.SignalTracePanel",
    ]

The panel traces each request the toolbar is shown for (only that request's
sends, also under concurrent requests and async views) and shows every send,
the receivers it called with their file and line, their times (slow ones
highlighted), and what they sent in turn; its title says how many sends and
how long. When the toolbar is off for a request, nothing is traced.
"""

from __future__ import annotations

from typing import Any

from debug_toolbar.panels import Panel
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

__all__ = ["SignalTracePanel"]

#: Receivers at least this slow (milliseconds) are highlighted.
SLOW_MS = 10.0


class SignalTracePanel(Panel):
    """Signals sent during the request, as a causal tree with timings (signalscope)."""

    title = "Signals (signalscope)"
    is_async = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tracer: Any = None

    def enable_instrumentation(self) -> None:
        from .. import api

        self._tracer = api.trace(api.TraceOptions(scoped=True)).start()

    def disable_instrumentation(self) -> None:
        if self._tracer is not None:
            self._tracer.stop()

    def generate_stats(self, request: Any, response: Any) -> None:
        from ..model.trace import event_to_dict

        log = self._tracer.log() if self._tracer is not None else None
        events = [event_to_dict(e) for e in log.events] if log is not None else []
        self.record_stats({"events": events, "dropped": log.dropped if log is not None else 0})

    @property
    def nav_subtitle(self) -> str:
        events = self.get_stats().get("events", [])
        sends = [e for e in events if e["kind"] == "send" and e["parent"] is None]
        total = sum(e["duration_ns"] for e in sends) / 1e6
        count = sum(1 for e in events if e["kind"] == "send")
        return f"{count} send{'s' if count != 1 else ''} / {total:.1f} ms"

    @property
    def content(self) -> SafeString:
        events = self.get_stats().get("events", [])
        names = {e["receiver"] for e in events if e["kind"] == "call" and e["receiver"]}
        return render_panel(events, {name: _location(name) for name in names})


def _location(path: str) -> str:
    """ "file:line" of the receiver `module:qualname`, found through its module (no gc scan, nothing run).

    Not a registry scan: in a process that has run an event loop, gc.get_objects()
    can leave CPython 3.12.0-3.12.4's collector looping (gh-122695).
    """
    from .. import api

    file, line = api.receiver_location(path)
    return "" if line is None else f"{file}:{line}"


def render_panel(events: list[dict[str, Any]], locations: dict[str, str]) -> SafeString:
    """The tree of `events` (event_to_dict's, as the stats keep them) as nested lists; every name is escaped."""
    from ..model.trace import TraceEvent, TraceTree, event_from_dict

    tree = TraceTree(event_from_dict(event) for event in events)

    def item(event: TraceEvent) -> str:
        ms = event.duration_ns / 1e6
        if event.kind == "send":
            name = f"{event.signal.rsplit(':', 1)[-1]}({event.sender or ''})"
            label = format_html('<strong class="djdt-signalscope-send">{}</strong>', name)
        else:
            where = locations.get(event.receiver or "", "")
            label = format_html(
                '<code class="djdt-signalscope-receiver">{}</code> <small>{}</small>', event.receiver, where
            )
        slow = event.kind == "call" and ms >= SLOW_MS
        timing = format_html(
            '<span class="{}">{} ms</span>', "djdt-signalscope-slow" if slow else "djdt-signalscope-time", f"{ms:.3f}"
        )
        notes = ""
        if event.error:
            notes = format_html(' <span class="djdt-signalscope-error">raised {}</span>', event.error)
        elif event.outcome == "unheard":
            notes = mark_safe(' <span class="djdt-signalscope-unheard">no receiver ran</span>')
        below = tree.children(event.id)
        nested = "<ul>" + "".join(item(child) for child in below) + "</ul>" if below else ""
        return f"<li>{label} {timing}{notes}{nested}</li>"

    if not events:
        return mark_safe("<p>No signal was sent during this request.</p>")
    style = (
        "<style>.djdt-signalscope-slow{color:#b00020;font-weight:bold}"
        ".djdt-signalscope-error{color:#b00020}.djdt-signalscope-unheard{color:#888}"
        "#djDebug .djdt-signalscope ul{margin-left:1.5em;list-style:disc}</style>"
    )
    body = "".join(item(event) for event in tree.roots)
    return mark_safe(f'{style}<div class="djdt-signalscope"><ul>{body}</ul></div>')

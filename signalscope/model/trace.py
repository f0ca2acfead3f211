"""Records of traced signal sends and receiver calls.

Loaded on first use: `signalscope list` needs none of it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TraceEvent", "TraceLog"]


@dataclass(frozen=True, slots=True, order=True)
class TraceEvent:
    """One recorded send, or one receiver call inside it; plain values only.

    ``parent`` is the id of the enclosing event: a call's parent is its send,
    a send's parent the receiver call that was running when it was sent
    (None at the top). Times are perf_counter nanoseconds.
    """

    id: int
    parent: int | None
    kind: str  # "send" or "call"
    signal: str  # the signal's path
    sender: str | None  # as in SenderRef.label (None: sent with sender=None)
    receiver: str | None  # a call's receiver path
    method: str  # send, send_robust, asend or asend_robust
    start_ns: int
    duration_ns: int
    thread: int
    is_async: bool = False
    # "ok", "error", or for a send "unheard": no receiver ran (none connected, none for this
    # sender, or muted by a tool that empties the signal's receivers)
    outcome: str = "ok"
    error: str | None = None  # "ValueError: message"
    # a call's return value's type name; None for a call that raised, and for the calls of a
    # send that raised (it returned no responses to read the types from)
    result_type: str | None = None
    kwargs: tuple[tuple[str, str], ...] = ()  # (name, type name) by default; values only when asked


@dataclass(frozen=True, slots=True, order=True)
class TraceLog:
    """What a tracer recorded: its events in start order, and how many sends it dropped."""

    events: tuple[TraceEvent, ...]
    dropped: int = 0

    def children(self, event_id: int | None) -> list[TraceEvent]:
        """Return the events directly under `event_id` (None: the top-level sends), in start order."""
        return [e for e in self.events if e.parent == event_id]

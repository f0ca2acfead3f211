"""Records of traced signal sends and receiver calls: their JSON form, their one tree index, and merging logs.

Every consumer of a trace's tree (the renderers, the report, the toolbar
panel, testing's recorded sends, the OpenTelemetry export) asks TraceTree.
Loaded on first use: `signalscope list` needs none of it.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from operator import attrgetter
from typing import Any

from . import schemas

__all__ = [
    "EVENT_FIELDS",
    "GROUP_KINDS",
    "TRACE_SCHEMA",
    "TraceEvent",
    "TraceLog",
    "TraceProcess",
    "TraceTree",
    "event_from_dict",
    "event_to_dict",
    "merge_logs",
    "process_from_dict",
    "process_to_dict",
    "trace_from_dict",
    "trace_to_dict",
]

#: Version of the trace JSON, JSON lines and the args of the Chrome format (model.schemas.TRACE tells its history).
TRACE_SCHEMA = schemas.TRACE
#: The schemas trace_from_dict reads: 1 has no processes, notes, details, labels or groups.
READABLE_SCHEMAS = (1, TRACE_SCHEMA)
#: The kinds of event that group the sends made inside them: a request (its root is the request
#: line and status), a test (its id), and a test's set-up or tear-down.
GROUP_KINDS = ("request", "test", "setup")


@dataclass(frozen=True, slots=True, order=True)
class TraceEvent:
    """One recorded send, or one receiver call inside it, or a group of sends (GROUP_KINDS); plain values only.

    ``parent`` is the id of the enclosing event: a call's parent is its send,
    a send's parent the receiver call that was running when it was sent, or
    the group it was made in (None at the top). Times are perf_counter
    nanoseconds, of the process (its pid) the event happened in.
    """

    id: int
    parent: int | None
    kind: str  # "send", "call", or a group: "request", "test", "setup"
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
    # the keyword arguments that tell sends apart, as safe text, always recorded: created, raw,
    # update_fields (names), action, pk_set (its size only), using, origin (its model's label)
    details: tuple[tuple[str, str], ...] = ()
    label: str | None = None  # a group's: "GET /orders/3/ 200", a test's id
    process: int = 0  # the pid of the process it happened in (0: not recorded)


@dataclass(frozen=True, slots=True, order=True)
class TraceProcess:
    """One process of a traced program: the program itself, or a child it started or forked."""

    pid: int
    parent: int | None  # the parent's pid; None for the traced program itself
    argv: str  # its command line in short, without the interpreter
    is_finished: bool = True  # False: it ended (killed, os._exit) before its trace was complete


@dataclass(frozen=True, slots=True, order=True)
class TraceLog:
    """What a tracer recorded: its events in start order, and how many sends it dropped.

    A program traced whole (trace_program) also has its processes, and notes
    that say what could not be traced (a child that is not Python, say).
    """

    events: tuple[TraceEvent, ...]
    dropped: int = 0
    processes: tuple[TraceProcess, ...] = ()
    notes: tuple[str, ...] = ()

    def children(self, event_id: int | None) -> list[TraceEvent]:
        """Return the events directly under `event_id` (None: the top-level sends), in start order.

        As TraceTree.children, over an index built for this call: to ask
        about many events, build one with `tree`.
        """
        return list(self.tree().children(event_id))

    def tree(self, *, keep: Callable[[TraceEvent], bool] | None = None) -> TraceTree:
        """Return the tree index of this log's events (those `keep` accepts, when given)."""
        return TraceTree(self.events, keep=keep)


class TraceTree:
    """The parent -> children index of a trace's events, built once in O(n).

    Children are listed in the order of the events given (a TraceLog's is
    start order). An event whose parent is not among them (dropped by the
    tracer's ring buffer, left out by `keep`, or in another log) is a root,
    as a top-level send is.
    """

    __slots__ = ("_children", "by_id", "roots")

    def __init__(self, events: Iterable[TraceEvent], *, keep: Callable[[TraceEvent], bool] | None = None) -> None:
        """Index `events`, only those `keep` accepts when it is given."""
        kept = list(events) if keep is None else [event for event in events if keep(event)]
        #: Every indexed event by its id.
        self.by_id: dict[int, TraceEvent] = {event.id: event for event in kept}
        children: dict[int, list[TraceEvent]] = {}
        roots: list[TraceEvent] = []
        for event in kept:
            if event.parent is not None and event.parent in self.by_id:
                children.setdefault(event.parent, []).append(event)
            else:
                roots.append(event)
        #: The events with no parent among them, in order.
        self.roots: tuple[TraceEvent, ...] = tuple(roots)
        self._children = {parent: tuple(below) for parent, below in children.items()}

    def children(self, event_id: int | None) -> tuple[TraceEvent, ...]:
        """Return the events directly under `event_id`, in order; None: the roots."""
        if event_id is None:
            return self.roots
        return self._children.get(event_id, ())

    def parent_of(self, event: TraceEvent) -> TraceEvent | None:
        """Return the indexed parent of `event`; None at the top, or when its parent is not indexed."""
        return None if event.parent is None else self.by_id.get(event.parent)

    def walk(self, event: TraceEvent) -> list[TraceEvent]:
        """Return `event` and everything below it, depth first, each event's children in order.

        Walked with a stack of its own: a tree of any depth.
        """
        found: list[TraceEvent] = []
        todo = [event]
        while todo:
            node = todo.pop()
            found.append(node)
            todo.extend(reversed(self._children.get(node.id, ())))
        return found


def merge_logs(logs: Sequence[TraceLog]) -> TraceLog:
    """Return one log of the events of `logs` (several processes' traces, say), ids made unique.

    Each log's ids, and its parents, are shifted past the largest id of the
    logs before it (the first log's stay as they are); a parent that is not
    an event of its own log becomes None, as the tracer writes it. The
    result is ordered by start time, stably: each log's own order is kept,
    and of events that start together the earlier log's come first. The
    logs' dropped counts are summed.
    """
    parts: list[list[TraceEvent]] = []
    top: int | None = None  # the largest id so far, after shifting
    for log in logs:
        if not log.events:
            continue
        ids = {event.id for event in log.events}
        shift = 0 if top is None else top + 1 - min(ids)
        parts.append([_shifted(event, shift, ids) for event in log.events])
        top = max(ids) + shift
    events = tuple(heapq.merge(*parts, key=attrgetter("start_ns")))
    return TraceLog(
        events=events,
        dropped=sum(log.dropped for log in logs),
        processes=tuple(process for log in logs for process in log.processes),
        notes=tuple(note for log in logs for note in log.notes),
    )


def _shifted(event: TraceEvent, shift: int, ids: set[int]) -> TraceEvent:
    """Return `event` with its id and parent moved by `shift`; a parent not in `ids` (its log's) becomes None."""
    parent = event.parent + shift if event.parent is not None and event.parent in ids else None
    if shift == 0 and parent == event.parent:
        return event
    return replace(event, id=event.id + shift, parent=parent)


def event_to_dict(event: TraceEvent) -> dict[str, Any]:
    """Return one event as JSON data (the fields of TraceEvent; kwargs as an object)."""
    return {
        "id": event.id,
        "parent": event.parent,
        "kind": event.kind,
        "signal": event.signal,
        "sender": event.sender,
        "receiver": event.receiver,
        "method": event.method,
        "start_ns": event.start_ns,
        "duration_ns": event.duration_ns,
        "thread": event.thread,
        "is_async": event.is_async,
        "outcome": event.outcome,
        "error": event.error,
        "result_type": event.result_type,
        "kwargs": dict(event.kwargs),
        "details": dict(event.details),
        "label": event.label,
        "process": event.process,
    }


_NONE = type(None)
#: event_to_dict's fields: the JSON types each may have, said in words.
EVENT_FIELDS: dict[str, tuple[tuple[type, ...], str]] = {
    "id": ((int,), "an integer"),
    "parent": ((int, _NONE), "an integer or null"),
    "kind": ((str,), '"send", "call", "request", "test" or "setup"'),
    "signal": ((str,), "a string"),
    "sender": ((str, _NONE), "a string or null"),
    "receiver": ((str, _NONE), "a string or null"),
    "method": ((str,), "a string"),
    "start_ns": ((int,), "an integer"),
    "duration_ns": ((int,), "an integer"),
    "thread": ((int,), "an integer"),
    "is_async": ((bool,), "true or false"),
    "outcome": ((str,), '"ok", "error" or "unheard"'),
    "error": ((str, _NONE), "a string or null"),
    "result_type": ((str, _NONE), "a string or null"),
    "kwargs": ((dict,), "an object"),
    "details": ((dict,), "an object"),
    "label": ((str, _NONE), "a string or null"),
    "process": ((int,), "an integer"),
}
# TraceEvent's defaults (details, label and process are new in schema 2)
_OPTIONAL = ("is_async", "outcome", "error", "result_type", "kwargs", "details", "label", "process")
_CHOICES = {"kind": ("send", "call", *GROUP_KINDS), "outcome": ("ok", "error", "unheard")}


def event_from_dict(data: Any, *, where: str = "the event") -> TraceEvent:
    """Return the event event_to_dict wrote as `data` (reading `--format json` output back).

    Raises ValueError, naming `where` and the field, for anything event_to_dict
    could not have written: not an object, a field missing, unknown or of
    the wrong type (true is no integer), a kind or outcome it never writes.
    """
    if not isinstance(data, dict):
        raise ValueError(f"{where} is not an object")
    for name in data:
        if name not in EVENT_FIELDS:
            raise ValueError(f"{where} has an unknown field {json.dumps(name)}")
    for name, (types, words) in EVENT_FIELDS.items():
        if name not in data:
            if name in _OPTIONAL:
                continue
            raise ValueError(f'{where} has no "{name}"')
        value = data[name]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise ValueError(f'{where}: "{name}" is not {words}')
        if name in _CHOICES and value not in _CHOICES[name]:
            raise ValueError(f'{where}: "{name}" is not {words}')
    pairs = {}
    for name in ("kwargs", "details"):
        values = data.get(name, {})
        if not all(isinstance(v, str) for v in values.values()):
            raise ValueError(f'{where}: "{name}" values are not strings')
        pairs[name] = tuple(sorted(values.items()))
    return TraceEvent(**{**data, **pairs})


def process_to_dict(process: TraceProcess) -> dict[str, Any]:
    """Return one process as JSON data."""
    return {"pid": process.pid, "parent": process.parent, "argv": process.argv, "is_finished": process.is_finished}


def process_from_dict(data: Any, *, where: str = "the process") -> TraceProcess:
    """Return the process process_to_dict wrote as `data`. Raises ValueError, naming `where`."""
    fields = {"pid": (int,), "parent": (int, _NONE), "argv": (str,), "is_finished": (bool,)}
    if not isinstance(data, dict) or set(data) != set(fields):
        raise ValueError(f"{where} is not an object with {', '.join(fields)}")
    for name, types in fields.items():
        value = data[name]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise ValueError(f'{where}: "{name}" has the wrong type')
    return TraceProcess(**data)


def trace_to_dict(log: TraceLog) -> dict[str, Any]:
    """Return `log` as JSON data: ``{"schema", "dropped", "processes", "notes", "events"}``, events in start order."""
    return {
        "schema": TRACE_SCHEMA,
        "dropped": log.dropped,
        "processes": [process_to_dict(p) for p in log.processes],
        "notes": list(log.notes),
        "events": [event_to_dict(e) for e in log.events],
    }


def trace_from_dict(data: Any) -> TraceLog:
    """Return the TraceLog trace_to_dict wrote as `data` (``{"schema", "dropped", "events"}``).

    Raises ValueError saying what is wrong and where: not an object, another
    schema, events that are not a list of events (event_from_dict), or two
    events with one id (the tree would hold a loop).
    """
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    schema = data.get("schema")
    if type(schema) is not int or schema not in READABLE_SCHEMAS:  # `true == 1` in Python: not a schema
        if type(schema) is int and schema > TRACE_SCHEMA:
            raise ValueError(
                f"a trace of schema {schema}, from a newer signalscope: this one reads schema {TRACE_SCHEMA}"
            )
        raise ValueError(f'"schema" is {json.dumps(schema)}, not {TRACE_SCHEMA}' if "schema" in data else 'no "schema"')
    if "events" not in data:
        raise ValueError('no "events"')
    if not isinstance(data["events"], list):
        raise ValueError('"events" is not a list')
    dropped = data.get("dropped", 0)
    if not isinstance(dropped, int) or isinstance(dropped, bool):
        raise ValueError('"dropped" is not an integer')
    if dropped < 0:
        raise ValueError('"dropped" is negative')
    events = []
    seen: set[int] = set()
    for i, item in enumerate(data["events"]):
        event = event_from_dict(item, where=f"events[{i}]")
        if event.id in seen:
            raise ValueError(f'events[{i}]: "id" {event.id} is not unique')
        seen.add(event.id)
        events.append(event)
    _check_parents(events)
    processes = data.get("processes", [])
    notes = data.get("notes", [])
    if not isinstance(processes, list):
        raise ValueError('"processes" is not a list')
    if not isinstance(notes, list) or not all(isinstance(note, str) for note in notes):
        raise ValueError('"notes" is not a list of strings')
    return TraceLog(
        events=tuple(events),
        dropped=dropped,
        processes=tuple(process_from_dict(p, where=f"processes[{i}]") for i, p in enumerate(processes)),
        notes=tuple(notes),
    )


def _check_parents(events: list[TraceEvent]) -> None:
    """Raise ValueError unless every parent is an event of the log and no event is its own ancestor.

    The tracer writes null for a parent it did not keep, so either is a file
    that was edited or made by something else.
    """
    parents = {event.id: event.parent for event in events}
    for index, event in enumerate(events):
        if event.parent is not None and event.parent not in parents:
            raise ValueError(f'events[{index}]: "parent" {event.parent} is no event of the trace')
    done: set[int] = set()
    for event in events:
        path: set[int] = set()
        node: int | None = event.id
        while node is not None and node not in done:
            if node in path:
                raise ValueError(f"event {node} is its own ancestor: the parents make a loop")
            path.add(node)
            node = parents[node]
        done |= path

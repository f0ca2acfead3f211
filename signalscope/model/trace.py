"""Records of traced signal sends and receiver calls: their JSON form, their one tree index, and merging logs.

Every consumer of a trace's tree (the renderers, the report, the toolbar
panel, testing's recorded sends, the OpenTelemetry export) asks TraceTree.
Loaded on first use: `signalscope list` needs none of it.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from operator import attrgetter
from typing import Any, TypeAlias, cast

from . import schemas
from .jsonio import dump_json, json_string, leaf_json

__all__ = [
    "CHUNK_EVENTS",
    "EVENT_FIELDS",
    "GROUP_KINDS",
    "TRACE_SCHEMA",
    "AnyLog",
    "TraceEvent",
    "TraceExcerpt",
    "TraceLog",
    "TraceProcess",
    "TraceStream",
    "TraceTree",
    "event_from_dict",
    "event_to_dict",
    "excerpt_of",
    "in_start_order",
    "make_event",
    "merge_logs",
    "merge_streams",
    "parents_first",
    "process_from_dict",
    "process_to_dict",
    "stream_excerpt",
    "trace_from_dict",
    "trace_json_chunks",
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


class _Unfrozen:
    """TraceEvent's layout (its slots, in order) with a plain __setattr__: what make_event fills in."""

    __slots__ = TraceEvent.__slots__


def _make_event(
    id: int, parent: int | None, kind: str, signal: str, sender: str | None, receiver: str | None, method: str,
    start_ns: int, duration_ns: int, thread: int, is_async: bool, outcome: str, error: str | None,
    result_type: str | None, kwargs: tuple[tuple[str, str], ...], details: tuple[tuple[str, str], ...],
    label: str | None, process: int,
) -> TraceEvent:  # fmt: skip
    """TraceEvent(every field, in order), made as an _Unfrozen that then becomes a TraceEvent."""
    event: Any = _new(_Unfrozen)
    event.id = id
    event.parent = parent
    event.kind = kind
    event.signal = signal
    event.sender = sender
    event.receiver = receiver
    event.method = method
    event.start_ns = start_ns
    event.duration_ns = duration_ns
    event.thread = thread
    event.is_async = is_async
    event.outcome = outcome
    event.error = error
    event.result_type = result_type
    event.kwargs = kwargs
    event.details = details
    event.label = label
    event.process = process
    event.__class__ = TraceEvent
    return cast(TraceEvent, event)


def _event_maker() -> Callable[..., TraceEvent]:
    """_make_event where an _Unfrozen can become a TraceEvent equal to one made by TraceEvent(), else TraceEvent."""
    fields = (1, None, "send", "s", None, None, "send", 2, 3, 4, False, "ok", None, None, (), (), None, 5)
    try:
        made = _make_event(*fields)
    except TypeError:  # "object layout differs": another Python's objects
        return TraceEvent
    return _make_event if type(made) is TraceEvent and made == TraceEvent(*fields) else TraceEvent


_new = object.__new__

#: ``make_event(every field of a TraceEvent, in order)``: the same TraceEvent as ``TraceEvent(...)``,
#: in a sixth of the time (a frozen dataclass's __init__ sets each field through object.__setattr__,
#: 1.7 µs for 18 fields), for what makes hundreds of thousands: a tracer's log, a trace's parts.
make_event: Callable[..., TraceEvent] = _event_maker()


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

    def iter_events(self) -> Iterator[TraceEvent]:
        """Return an iterator over the events, in start order (as TraceStream's)."""
        return iter(self.events)

    def chunks(self) -> Iterator[Sequence[TraceEvent]]:
        """Yield the events a CHUNK_EVENTS at a time, in start order (as TraceStream's)."""
        for start in range(0, len(self.events), CHUNK_EVENTS):
            yield self.events[start : start + CHUNK_EVENTS]

    def count(self) -> int:
        """Return how many events the log holds (as TraceStream's)."""
        return len(self.events)


#: How many events a chunk of a trace holds: what a streamed writer renders at a time.
CHUNK_EVENTS = 2048


class TraceStream:
    """A trace whose events are made a chunk at a time, in start order, each time they are read.

    What a TraceLog holds, for a trace too large to hold whole: a tracer's
    ring buffer of a million sends makes 200,000 events, and every form of
    the trace (JSON, the tree) can be written a chunk of them at a time
    (see `signalscope trace`). `chunks` is called for every reading, and
    gives the same events every time. A parent is an event of the stream,
    or None (as in a tracer's log): consumers may rely on a parent coming
    before its children.
    """

    __slots__ = ("_chunks", "_count", "dropped", "notes", "processes")

    def __init__(
        self,
        chunks: Callable[[], Iterable[Sequence[TraceEvent]]],
        *,
        dropped: int = 0,
        processes: tuple[TraceProcess, ...] = (),
        notes: tuple[str, ...] = (),
    ) -> None:
        self._chunks = chunks
        self._count: int | None = None
        self.dropped = dropped
        self.processes = processes
        self.notes = notes

    def chunks(self) -> Iterator[Sequence[TraceEvent]]:
        """Yield the events, a chunk at a time, in start order (made anew for each call)."""
        count = 0
        for chunk in self._chunks():
            if chunk:
                count += len(chunk)
                yield chunk
        self._count = count

    def count(self) -> int:
        """Return how many events the stream holds: counted by the last whole reading, else by reading it."""
        if self._count is None:
            for _ in self.chunks():
                pass
        return self._count or 0

    def iter_events(self) -> Iterator[TraceEvent]:
        """Yield the events one by one, in start order."""
        for chunk in self.chunks():
            yield from chunk

    def log(self) -> TraceLog:
        """Return the whole trace, every event in memory."""
        return TraceLog(tuple(self.iter_events()), self.dropped, self.processes, self.notes)

    def replace(
        self,
        *,
        dropped: int | None = None,
        processes: tuple[TraceProcess, ...] | None = None,
        notes: tuple[str, ...] | None = None,
    ) -> TraceStream:
        """Return the same events with another dropped count, processes or notes."""
        return TraceStream(
            self._chunks,
            dropped=self.dropped if dropped is None else dropped,
            processes=self.processes if processes is None else processes,
            notes=self.notes if notes is None else notes,
        )

    @classmethod
    def of(cls, log: TraceLog) -> TraceStream:
        """Return `log` as a stream (its events held already)."""
        return cls(log.chunks, dropped=log.dropped, processes=log.processes, notes=log.notes)


#: A trace held whole or read a chunk at a time: what the renderers take.
AnyLog: TypeAlias = "TraceLog | TraceStream"


def _start_key(event: TraceEvent) -> tuple[int, int]:
    return (event.start_ns, event.id)


def in_start_order(runs: Iterable[Sequence[TraceEvent]]) -> Iterator[TraceEvent]:
    """Yield the events of `runs` in (start_ns, id) order, as a sort of them all would; lazily.

    Each run (one send's events, say) is in that order itself, and the runs
    come in the order of their first events: a run is taken up only when its
    first event is next, so what is held at a time is the runs that overlap
    (a send and the sends made inside it), not the trace.
    """
    heap: list[tuple[int, int, int, TraceEvent, Iterator[TraceEvent]]] = []
    serial = itertools.count()
    pending = (run for run in runs if run)
    following = next(pending, None)
    while True:
        while following is not None and (not heap or _start_key(following[0]) < heap[0][:2]):
            upcoming = next(pending, None)
            if not heap and (upcoming is None or _start_key(following[-1]) < _start_key(upcoming[0])):
                yield from following  # overlaps no other run (most top-level sends): as it is, past the heap
            else:
                rest = iter(following)
                first = next(rest)
                heapq.heappush(heap, (first.start_ns, first.id, next(serial), first, rest))
            following = upcoming
        if not heap:
            return
        event, rest = heap[0][3], heap[0][4]
        yield event
        after = next(rest, None)
        if after is None:
            heapq.heappop(heap)
        else:
            heapq.heapreplace(heap, (after.start_ns, after.id, next(serial), after, rest))


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


def merge_streams(logs: Sequence[AnyLog], *, max_sends: int | None = None) -> TraceStream:
    """Return merge_logs(logs) as a stream, keeping at most `max_sends` sends (None: all), the last to end.

    The same events as merge_logs, in the same order, made a chunk at a time
    when read; `logs` are read once now (for their ids and the sends' end
    times) and once for every reading. A parent must come before its
    children in its log (as in a tracer's log and a TraceStream). When the
    logs hold more than `max_sends` sends, the earliest to end are left out,
    with their receiver calls (a send made inside one of those is then at
    the top), and counted in `dropped`, as a tracer's ring buffer does.
    """
    ranges: list[tuple[int, int] | None] = []
    ends: list[int] = []  # the latest `max_sends` ends so far (a heap)
    sends = 0
    for log in logs:
        low: int | None = None
        high: int | None = None
        for event in log.iter_events():
            low = event.id if low is None or event.id < low else low
            high = event.id if high is None or event.id > high else high
            if event.kind == "send":
                sends += 1
                if max_sends is not None:
                    end = event.start_ns + event.duration_ns
                    if len(ends) < max_sends:
                        heapq.heappush(ends, end)
                    elif max_sends and end > ends[0]:
                        heapq.heapreplace(ends, end)
        ranges.append(None if low is None or high is None else (low, high))
    shifts: list[int | None] = []
    top: int | None = None
    for span in ranges:
        if span is None:
            shifts.append(None)
            continue
        shift = 0 if top is None else top + 1 - span[0]
        shifts.append(shift)
        top = span[1] + shift
    cut = max_sends is not None and sends > max_sends
    least = ends[0] if cut and ends else None  # sends ending before it are left out
    ties = sum(1 for end in ends if end == least) if least is not None else 0  # and all but `ties` ending at it

    def chunks() -> Iterator[list[TraceEvent]]:
        quota = [ties]
        parts = [
            _merged_events(log, shift, cut, least, quota)
            for log, shift in zip(logs, shifts, strict=True)
            if shift is not None
        ]
        merged = heapq.merge(*parts, key=attrgetter("start_ns"))
        while True:
            chunk = list(itertools.islice(merged, CHUNK_EVENTS))
            if not chunk:
                return
            yield chunk

    kept = min(sends, max_sends) if cut and max_sends is not None else sends
    return TraceStream(
        chunks,
        dropped=sum(log.dropped for log in logs) + sends - kept,
        processes=tuple(process for log in logs for process in log.processes),
        notes=tuple(note for log in logs for note in log.notes),
    )


def _merged_events(log: AnyLog, shift: int, cut: bool, least: int | None, quota: list[int]) -> Iterator[TraceEvent]:
    """Yield `log`'s events for merge_streams: shifted, parents of its own or None, the sends cut left out."""
    ids: set[int] = set()  # the ids of this log kept so far: what a parent may be
    for run in _same_start(log.iter_events()):
        kept = run
        if cut:
            kept = [event for event in run if event.kind == "call" or _is_kept(event, least, quota)]
            ids.update(event.id for event in kept if event.kind != "call")
            kept = [event for event in kept if event.kind != "call" or event.parent in ids]  # its send left out
        ids.update(event.id for event in kept)
        for event in kept:
            yield _shifted(event, shift, ids)


def _is_kept(event: TraceEvent, least: int | None, quota: list[int]) -> bool:
    """Whether merge_streams keeps `event`: any but a send ending before `least` (or at it, past the `quota`)."""
    if event.kind != "send":
        return True
    end = event.start_ns + event.duration_ns
    if least is None or end < least:
        return False
    if end == least:
        if not quota[0]:
            return False
        quota[0] -= 1
    return True


def _same_start(events: Iterable[TraceEvent]) -> Iterator[list[TraceEvent]]:
    """Yield `events` (in start order) in runs of one start time.

    A parent never starts after its children, but it may start with them: a
    request's group starts when its request_started send does, and has a
    larger id, so it comes after that send. Within a run, anything may be
    another's parent.
    """
    run: list[TraceEvent] = []
    for event in events:
        if run and event.start_ns != run[0].start_ns:
            yield run
            run = []
        run.append(event)
    if run:
        yield run


def parents_first(events: Iterable[TraceEvent]) -> Iterator[tuple[int, TraceEvent]]:
    """Yield `events` (in start order), each numbered by its place in them, with each after its parent.

    A child that starts with its parent follows it; otherwise the order is
    the one given (see _same_start: only events that start together change
    places, and siblings keep their order), so a pass over a stream knows
    an event's parent before the event.
    """
    place = 0
    for run in _same_start(events):
        numbered = list(enumerate(run, place))
        place += len(run)
        if len(run) == 1:
            yield numbered[0]
            continue
        ids = {event.id for event in run}
        placed: set[int] = set()
        while numbered:
            now = [item for item in numbered if item[1].parent not in ids or item[1].parent in placed]
            if not now:  # parents in a loop: as they are
                yield from numbered
                break
            placed.update(event.id for _, event in now)
            yield from now
            numbered = [item for item in numbered if item[1].id not in placed]


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


def event_json(event: TraceEvent, newline: str) -> str:
    """Return event_to_dict(`event`) as model.jsonio.dump_json writes it at `newline`: the same text, from the fields.

    A record writer (dump_json's `records`), for a trace of a whole test
    suite (hundreds of thousands of events). The events of a trace differ
    mostly by their numbers (ids, clocks): the text around the numbers is
    remembered by the event's other fields (its strings, kwargs and details)
    and only the numbers are written (_pieces). An event not made by this
    package (a field of another type) is written by the general walk.
    """
    parent = event.parent
    if not _plain_numbers(event):
        return _general_json(event, newline)
    # fmt: off
    key = (newline, event.is_async, event.kind, event.signal, event.sender, event.receiver, event.method,
           event.outcome, event.error, event.result_type, event.label, event.kwargs, event.details)
    # fmt: on
    try:
        pieces = _pieces.get(key)
    except TypeError:  # a field that is not hashable (kwargs as a list): not made by this package
        return _fields_json(event, newline)
    if pieces is None:
        pieces = _make_pieces(event, newline, key)
        if pieces is None:
            return _fields_json(event, newline)
    p0, p1, p2, p3, p4, p5, p6 = pieces
    return (f"{p0}{event.duration_ns}{p1}{event.id}{p2}{'null' if parent is None else parent}{p3}{event.process}"
            f"{p4}{event.start_ns}{p5}{event.thread}{p6}")  # fmt: skip


#: The text of an event around its numbers, by its other fields (event_json), up to _MEMO entries.
_pieces: dict[tuple[Any, ...], tuple[str, ...]] = {}
_NUMBERS = "\x00"  # stands for a number in the text split into pieces (never in JSON text: it escapes it)


def _make_pieces(event: TraceEvent, newline: str, key: tuple[Any, ...]) -> tuple[str, ...] | None:
    """Split `event`'s text around its numbers, and remember the pieces under `key` when they are the same for
    every event of that key: every string field a str or None, every kwargs' and details' value a str
    (1 == True == 1.0 in a key, and their texts differ). None: not an event this package made."""
    shape = replace(event, duration_ns=0, id=0, parent=0, process=0, start_ns=0, thread=0)
    text = _fields_json(shape, newline)
    for name in ("duration_ns", "id", "parent", "process", "start_ns", "thread"):
        marked = f'"{name}": 0'
        if text.count(marked) != 1:
            return None
        text = text.replace(marked, f'"{name}": {_NUMBERS}')
    pieces = tuple(text.split(_NUMBERS))
    if len(pieces) != 7:
        return None
    texts = (event.kind, event.signal, event.sender, event.receiver, event.method, event.outcome, event.error,
             event.result_type, event.label)  # fmt: skip
    plain = all(value is None or type(value) is str for value in texts) and all(
        type(pair) is tuple and len(pair) == 2 and type(pair[1]) is str for pair in (*event.kwargs, *event.details)
    )
    if plain and len(_pieces) < _MEMO:
        _pieces[key] = pieces
    return pieces


def _plain_numbers(event: TraceEvent) -> bool:
    """Whether `event`'s numbers are ints (a parent None or an int) and is_async a bool, as this package makes them."""
    parent = event.parent
    return (
        type(event.id) is int
        and type(event.start_ns) is int
        and type(event.duration_ns) is int
        and type(event.thread) is int
        and type(event.process) is int
        and (parent is None or type(parent) is int)
        and type(event.is_async) is bool
    )


def _fields_json(event: TraceEvent, newline: str) -> str:
    """event_json's text, written from the fields each time."""
    if not _plain_numbers(event):
        return _general_json(event, newline)
    inner = newline + "  "
    memo = _texts.get(inner)
    if memo is None:
        memo = _texts[inner] = {}
    kwargs = _leaf_text(event.kwargs, inner, memo)
    details = _leaf_text(event.details, inner, memo)
    if kwargs is None or details is None:
        return _general_json(event, newline)
    strings = _strings
    texts = []
    for value in (event.error, event.kind, event.label, event.method, event.outcome, event.receiver,
                  event.result_type, event.sender, event.signal):  # fmt: skip
        if value is None:
            texts.append("null")
            continue
        text = strings.get(value)
        if text is None:
            if type(value) is not str:
                return _general_json(event, newline)
            text = _string_text(value)
        texts.append(text)
    error, kind_text, label, method, outcome, receiver, result_type, sender, signal = texts
    parent = "null" if event.parent is None else event.parent
    return (
        f'{{{inner}"details": {details},{inner}"duration_ns": {event.duration_ns},{inner}"error": {error},'
        f'{inner}"id": {event.id},{inner}"is_async": {"true" if event.is_async else "false"},'
        f'{inner}"kind": {kind_text},'
        f'{inner}"kwargs": {kwargs},{inner}"label": {label},{inner}"method": {method},{inner}"outcome": {outcome},'
        f'{inner}"parent": {parent},{inner}"process": {event.process},{inner}"receiver": {receiver},'
        f'{inner}"result_type": {result_type},{inner}"sender": {sender},{inner}"signal": {signal},'
        f'{inner}"start_ns": {event.start_ns},{inner}"thread": {event.thread}{newline}}}'
    )


# What event_json remembers, each up to _MEMO entries (a trace of one program: names repeat, pks need not).
_MEMO = 50_000
_strings: dict[str, str] = {}  # a str -> its JSON text
_texts: dict[str, dict[Any, str | None]] = {}  # an indentation -> {kwargs or details pairs -> their JSON text}


def _string_text(value: str) -> str:
    text = json_string(value)
    if len(_strings) < _MEMO:
        _strings[value] = text
    return text


def _leaf_text(pairs: Any, inner: str, memo: dict[Any, str | None]) -> str | None:
    """The JSON text of kwargs' or details' (name, value) `pairs` as an object; None: not pairs of scalars."""
    try:
        found = memo.get(pairs)
    except TypeError:  # not hashable (a list of pairs)
        found = None
    if found is not None:
        return found
    try:
        text = leaf_json(dict(pairs), inner)
    except (TypeError, ValueError):  # not pairs: the general walk says what is wrong
        return None
    if text is not None and len(memo) < _MEMO:
        with contextlib.suppress(TypeError):  # not hashable (a list of pairs): written each time
            memo[pairs] = text
    return text


def _general_json(event: TraceEvent, newline: str) -> str:
    return dump_json(event_to_dict(event))[:-1].replace("\n", newline)


def trace_json_chunks(log: AnyLog) -> Iterator[str]:
    """Yield the JSON text of `log` (model.jsonio.dump_json of trace_to_dict), a chunk of events at a time.

    Joined, the same bytes as ``dump_json(trace_to_dict(log))``, without
    ever holding every event's data, or the text, at once.
    """
    from .jsonio import iter_json

    head = {
        "schema": TRACE_SCHEMA,
        "dropped": log.dropped,
        "processes": [process_to_dict(p) for p in log.processes],
        "notes": list(log.notes),
        "events": [],
    }
    yield from iter_json(head, "events", log.chunks(), records={TraceEvent: event_json})


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


@dataclass(frozen=True, slots=True)
class TraceExcerpt:
    """The start of a trace, for a page that shows its first top-level entries (the report's trace section).

    `events` are the first `limit` top-level entries among the events `keep`
    accepted, and everything below them, in start order: their TraceTree is
    the whole trace's for those entries. `sends` counts every send of the
    trace, `roots` every top-level entry. Made from a trace read whole
    (excerpt_of) or from its events as they are read (stream_excerpt), so a
    report of a trace of any size holds no more than what it shows.
    """

    events: tuple[TraceEvent, ...]
    sends: int
    roots: int
    limit: int

    def tree(self) -> TraceTree:
        """Return the tree index of the excerpt's events."""
        return TraceTree(self.events)


def excerpt_of(log: TraceLog, *, limit: int, keep: Callable[[TraceEvent], bool] | None = None) -> TraceExcerpt:
    """Return the excerpt of the whole trace `log`: its first `limit` top-level entries (of those `keep` accepts)."""
    tree = log.tree(keep=keep)
    shown = {event.id for root in tree.roots[:limit] for event in tree.walk(root)}
    return TraceExcerpt(
        events=tuple(event for event in log.events if event.id in shown),
        sends=sum(1 for event in log.events if event.kind == "send"),
        roots=len(tree.roots),
        limit=limit,
    )


def stream_excerpt(
    events: Iterable[TraceEvent], *, limit: int, keep: Callable[[TraceEvent], bool] | None = None
) -> TraceExcerpt:
    """Return the excerpt of a trace whose `events` are read one at a time, in start order, each held only if shown.

    Raises ValueError when an event's parent did not come before it (a trace
    not in start order, or not written by this package): read it whole then
    (excerpt_of, after trace_from_dict's checks). Holds every event's id, to
    tell a top-level entry from a child, and the events shown.
    """
    seen: set[int] = set()  # every event's id so far
    kept: set[int] = set()  # those `keep` accepted
    shown: set[int] = set()  # those shown: under the first `limit` top-level entries
    chosen: list[TraceEvent] = []
    sends = roots = 0
    for event in events:
        parent = event.parent
        if parent is not None and parent not in seen:
            raise ValueError(f"event {event.id} comes before its parent {parent}")
        seen.add(event.id)
        if event.kind == "send":
            sends += 1
        if keep is not None and not keep(event):
            continue
        kept.add(event.id)
        if parent is None or parent not in kept:
            roots += 1
            if roots <= limit:
                shown.add(event.id)
                chosen.append(event)
        elif parent in shown:
            shown.add(event.id)
            chosen.append(event)
    return TraceExcerpt(events=tuple(chosen), sends=sends, roots=roots, limit=limit)

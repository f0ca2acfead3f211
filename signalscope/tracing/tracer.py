"""The Tracer: start/stop (or a context manager) around code whose signal sends to record."""

from __future__ import annotations

import collections
import contextlib
import contextvars
import copy
import dataclasses
import heapq
import itertools
import os
import sys
import threading
import types
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..introspect.naming import cached_receiver_path
from ..model.trace import CHUNK_EVENTS, TraceEvent, TraceLog, TraceStream, in_start_order, make_event
from . import groups as grouping
from . import packing, recorder
from .values import SECRET_WORDS, captured_kwargs

__all__ = [
    "DEFAULT_EXCLUDE",
    "DEFAULT_MAX_SENDS",
    "DEFAULT_REDACT",
    "Tracer",
    "default_exclusions",
    "known_signals",
    "receiver_path",
    "sender_label",
    "signal_name",
    "unbound",
]

# The scoped tracers active in the current context (see Tracer's `scoped`).
_scopes: contextvars.ContextVar[frozenset[int]] = contextvars.ContextVar("signalscope_scopes", default=frozenset())

#: Signals sent for every model instance created or loaded: left out unless asked for.
DEFAULT_EXCLUDE = ("pre_init", "post_init")
#: Sends kept by default: about 1.3 KB each for a post_save with three receivers (measured by
#: benchmarks/bench_trace.py --memory), so a million sends stay well under 100 MB.
DEFAULT_MAX_SENDS = 50_000
#: Keyword names whose values are never recorded, even with capture_values.
DEFAULT_REDACT = SECRET_WORDS


def default_exclusions(include: Iterable[str] = ()) -> tuple[str, ...]:
    """Return what a tracer leaves out unless told: DEFAULT_EXCLUDE, but for a signal `include` names.

    The default exclusions give way to a signal named in `include` (--signal pre_init traces it).
    """
    named = {name.rpartition(":")[2] for name in include}
    return tuple(name for name in DEFAULT_EXCLUDE if name not in named)


class Tracer:
    """Record every signal send, and every receiver call in it, while started.

    `include` and `exclude` filter by signal name or path (exclude defaults
    to pre_init and post_init, sent for every model instance), `senders` by
    sender label (app_label.Model, as in `list`) and `apps` by the sender's
    app label. With `scoped`, only sends made in the context the tracer was
    started in are recorded (and in contexts copied from it: asyncio tasks,
    sync_to_async threads), not other threads' or requests'.

    `on_send`, if given, is called as soon as each send ends with its events
    (the send, then its receiver calls) and the id of the outermost send it
    happened in (its own id when it is the outermost). A nested send ends,
    and is reported, before the send it happened in; an outermost send that
    the filters leave out is reported with no events, so that a consumer
    waiting for a whole tree knows it ended.

    With `groups`, sends are grouped under the request, test or set-up they
    were made in (tracing.groups): each group is an event of its own, the
    parent of the outermost sends made inside it, reported to `on_send` as
    it ends (as the outermost event of its tree) and kept with the sends.

    `max_sends` bounds memory: the oldest sends are dropped and counted. Argument values
    are not recorded unless `capture_values`, and never for names in
    `redact`. Tracers nest and run side by side; the hooks are on Django's
    Signal class only while at least one is started.
    """

    def __init__(
        self,
        *,
        include: Iterable[str] = (),
        exclude: Iterable[str] | None = None,
        max_sends: int = DEFAULT_MAX_SENDS,
        capture_values: bool = False,
        redact: Iterable[str] = DEFAULT_REDACT,
        senders: Iterable[str] = (),
        apps: Iterable[str] = (),
        on_send: Callable[[list[TraceEvent], int], None] | None = None,
        scoped: bool = False,
        groups: bool = False,
    ) -> None:
        self.include = frozenset(include)
        self.senders = frozenset(senders)
        self.apps = frozenset(apps)
        self._on_send = on_send
        self.scoped = scoped
        self._scope_token: contextvars.Token[frozenset[int]] | None = None
        self.exclude = frozenset(exclude if exclude is not None else default_exclusions(self.include))
        self._senders_folded = frozenset(label.lower() for label in self.senders)  # as `list --sender` matches
        self.capture_values = capture_values
        self.redact = tuple(word.lower() for word in redact)
        # deque.append is atomic under the GIL: no lock on the hot path.
        self._sends: collections.deque[tuple[Any, ...]] = collections.deque(maxlen=max_sends)
        self._seen = itertools.count(1)
        self._count = self._seen.__next__
        # id -> (ref, path, short name, wanted, group role: tracing.groups.OPEN, CLOSE or None,
        # the details its sends have: Django's model signals only)
        self._signals: dict[int, tuple[Any, str, str, bool, str | None, tuple[str, ...]]] = {}
        self._kwargs_memo: dict[Any, tuple[tuple[str, str], ...]] = {}
        # A tracer that keeps every send it wants, as it is, is a sink of the recorder (no Python call
        # per send: see recorder.add_sink); one that filters by sender or context, reports each send or
        # records values is called with each send record (_record).
        self._is_sink = self._keeps_as_is()
        self._started = False
        self.groups = groups
        self._groups: collections.deque[TraceEvent] = collections.deque(maxlen=max_sends)
        self.pid = os.getpid()

    @property
    def on_send(self) -> Callable[[list[TraceEvent], int], None] | None:
        """What is called with each send's events as it ends (see the class), or None."""
        return self._on_send

    @on_send.setter
    def on_send(self, value: Callable[[list[TraceEvent], int], None] | None) -> None:
        # Set while started too (a forked child's trace streams each send to its part from then on):
        # the tracer is then called with each send, no longer a sink, or the other way round.
        self._on_send = value
        is_sink = self._keeps_as_is()
        if is_sink == self._is_sink:
            return
        if self._started:  # the new route first: the hooks' install count never falls to 0 between
            if is_sink:
                recorder.add_sink(self)
                recorder.unsubscribe(self._record)
            else:
                recorder.subscribe(self._record)
                recorder.remove_sink(self)
        self._is_sink = is_sink

    def _keeps_as_is(self) -> bool:
        """Whether this tracer keeps every send it wants as it is: a sink of the recorder (recorder.add_sink)."""
        return not (self.senders or self.apps or self.scoped or self._on_send is not None or self.capture_values)

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> Tracer:
        """Start recording (a second start does nothing)."""
        if not self._started:
            self._started = True
            # No naming here: a signal is named on its first traced send (and
            # every module-level one at once when modules were imported since).
            if self.scoped:
                self._scope_token = _scopes.set(_scopes.get() | {id(self)})
            self.pid = os.getpid()
            if self.groups:
                grouping.subscribe(self._group_ended, self.pid)
            if self._is_sink:
                recorder.add_sink(self)
            else:
                recorder.subscribe(self._record)
        return self

    @property
    def is_started(self) -> bool:
        """Whether it records now."""
        return self._started

    def forked(self, *, keep: bool = True) -> None:
        """Start afresh in a forked child: forget the parent's sends and groups, and record as this process.

        Without `keep`, it keeps nothing from now on (its sends go to `on_send` only).
        """
        if keep:
            self._sends.clear()
            self._groups.clear()
        else:
            self._sends = collections.deque(maxlen=0)
            self._groups = collections.deque(maxlen=0)
        self._seen = itertools.count(1)
        self._count = self._seen.__next__
        self.pid = os.getpid()
        recorder.refresh()  # the sends now go to the new deque and counter
        if self.groups:
            grouping.set_pid(self.pid)

    def stop(self) -> TraceLog:
        """Stop recording (a second stop does nothing) and return the log."""
        self._stop_recording()
        return self.log()

    def stop_stream(self) -> TraceStream:
        """Stop recording (a second stop does nothing) and return the log as a stream (see `stream`)."""
        self._stop_recording()
        return self.stream()

    def _stop_recording(self) -> None:
        if self._started:
            self._started = False
            if self._is_sink:
                recorder.remove_sink(self)
            else:
                recorder.unsubscribe(self._record)
            if self.groups:
                grouping.unsubscribe(self._group_ended)
            if self._scope_token is not None:
                with contextlib.suppress(ValueError):  # stopped from another context: it dies with that one
                    _scopes.reset(self._scope_token)
                self._scope_token = None

    def __enter__(self) -> Tracer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log(self) -> TraceLog:
        """Return what was recorded so far, events in start order.

        A parent that is not in the log (its send was filtered out, or
        dropped from the ring buffer) reads as None: the event is shown at
        the top.
        """
        sends = list(self._sends)  # one C call: atomic under the GIL
        seen = next(copy.copy(self._seen)) - 1  # the count so far, without moving it
        events = [event for send in sends for event in self._events(send)]
        events.extend(self._groups)
        present = {event.id for event in events}
        events = [e if e.parent is None or e.parent in present else dataclasses.replace(e, parent=None) for e in events]
        events.sort(key=lambda e: (e.start_ns, e.id))
        return TraceLog(events=tuple(events), dropped=max(0, seen - len(sends)))

    def stream(self) -> TraceStream:
        """Return what was recorded so far as a TraceStream: log()'s events, made a chunk at a time when read.

        The same events, in the same order, as log() (it holds the sends
        kept now, not those recorded later); each reading turns the stored
        sends into events a chunk at a time, so that a trace of 50,000 sends
        is written without its 200,000 events in memory at once. What it
        holds besides the ring buffer: the sends' order and the ids of
        their events (for the parents that are not in the log).
        """
        sends = list(self._sends)  # one C call: atomic under the GIL
        seen = next(copy.copy(self._seen)) - 1  # the count so far, without moving it
        groups = sorted(self._groups, key=_start_key)
        present: set[int] = {event.id for event in groups}
        firsts: list[tuple[int, int, int]] = []
        for index, send in enumerate(sends):
            # A send's first event is the send itself (its calls start, and are numbered, after it).
            sid, _, _, _, _, start, *_, call_ids, _, asynchronous, _, _ = packing.unpack(send)
            present.add(sid)
            present.update(call_ids)
            present.update([call[0] for call in asynchronous])
            firsts.append((start, sid, index))
        firsts.sort()
        order = [index for _, _, index in firsts]
        del firsts

        def runs() -> Iterator[list[TraceEvent]]:
            for index in order:
                events = self._events(sends[index])
                events.sort(key=_start_key)
                yield events

        def chunks() -> Iterator[list[TraceEvent]]:
            ordered = heapq.merge(runs(), ([group] for group in groups), key=lambda run: _start_key(run[0]))
            merged = in_start_order(ordered)
            chunk: list[TraceEvent] = []
            for event in merged:
                if event.parent is not None and event.parent not in present:
                    event = dataclasses.replace(event, parent=None)
                chunk.append(event)
                if len(chunk) == CHUNK_EVENTS:
                    yield chunk
                    chunk = []
            yield chunk

        return TraceStream(chunks, dropped=max(0, seen - len(sends)))

    def _events(self, send: tuple[Any, ...]) -> list[TraceEvent]:
        """Turn one stored send into its events: the send, then its receiver calls."""
        (sid, parent, path, sender, method, start, end, thread, error, kwargs, call_thread, names, times, call_ids,
         results, asynchronous, instance, details) = packing.unpack(send)  # fmt: skip
        pid = self.pid
        if not self.capture_values:
            kwargs = _kwargs_text(kwargs, instance, self._kwargs_memo)
        heard = bool(names) or bool(asynchronous)
        outcome = "error" if error is not None else ("ok" if heard else "unheard")
        make = make_event
        events = [
            make(sid, parent, "send", path, sender, None, method, start, end - start, thread, False, outcome, error,
                 None, kwargs, details, None, pid)
        ]  # fmt: skip
        append = events.append
        count, timed, answered = len(names), len(times), len(results)
        ends = [*times[1 : count + 1]]  # a receiver ends where the next one starts; the last, where the send did
        ends += [end] * (count - len(ends))
        for index, name in enumerate(names):
            cstart = times[index]
            # The last receiver taken raised if the send raised before asking for the next one.
            failed = error if (index == count - 1 and timed == count) else None
            result_type = results[index] if index < answered else None
            if type(result_type) is tuple:  # (error,): raised inside send_robust
                failed, result_type = result_type[0], None
            elif failed:
                result_type = None
            append(
                make(call_ids[index], sid, "call", path, sender, name, method, cstart, ends[index] - cstart,
                     call_thread, False, "error" if failed else "ok", failed, result_type, (), (), None, pid)
            )  # fmt: skip
        for cid, name, astart, aend, athread, aerror, aresult in asynchronous:
            append(
                make(cid, sid, "call", path, sender, name, method, astart, aend - astart, athread, True,
                     "error" if aerror else "ok", aerror, None if aerror else aresult, (), (), None, pid)
            )  # fmt: skip
        return events

    # -- recording ---------------------------------------------------------
    # A send is packed (tracing.packing) into plain values only: the trace
    # must keep no object of the program alive (no instance, no receiver, no
    # exception with its frames). Everything else waits for log().
    def _entry(self, signal: Any, path: str, short: str) -> tuple[Any, str, str, bool, str | None, tuple[str, ...]]:
        names = {path, short}
        wanted = (not self.include or bool(names & self.include)) and not (names & self.exclude)
        role = grouping.role_of(signal) if self.groups else None
        return (weakref.ref(signal), path, short, wanted, role, packing.detail_names(signal))

    def _signal_entry(self, signal: Any) -> tuple[Any, str, str, bool, str | None, tuple[str, ...]]:
        # This tracer's first send of `signal` (or its id was reused).
        found = self._signals.get(id(signal))
        if found is not None and found[0]() is signal:
            return found
        entry = self._signals[id(signal)] = self._entry(signal, *signal_name(signal))
        return entry

    # The recorder's sink protocol (recorder.add_sink), for a tracer that keeps what it wants as it is.
    def wants(self, signal: Any) -> bool:
        """Whether this tracer keeps `signal`'s sends (its include and exclude)."""
        return self._signal_entry(signal)[3]

    def name_of(self, signal: Any) -> str:
        """The path a send of `signal` is kept under."""
        return self._signal_entry(signal)[1]

    def keepers(self) -> tuple[Callable[[tuple[Any, ...]], None], Callable[[], object]]:
        """Where a packed send goes, and what counts it."""
        return self._sends.append, self._count

    def _record(self, record: list[Any]) -> None:
        """Keep the finished send `record`, if the filters want it (a tracer that is not a sink)."""
        # Literal indexes on this path, each named in its line's comment as recorder.NAME (R.NAME): tests/
        # test_trace_layout.py checks them against recorder's field constants, the one layout.
        signal = record[2]  # R.SIGNAL
        entry = self._signals.get(id(signal))
        if entry is None or entry[0]() is not signal:
            entry = self._signal_entry(signal)
        if (
            not entry[3]
            or ((self.senders or self.apps) and not self._sender_wanted(record[3]))  # R.SENDER
            or (self.scoped and id(self) not in _scopes.get())
        ):
            if self._on_send is not None and record[19] == record[0]:  # R.ROOT == R.ID: an outermost send
                self._on_send([], record[0])  # R.ID
            return
        send = packing.pack(record, entry[1], entry[5])
        if self.capture_values:
            send = (*send[: packing.KWARGS], self._kwargs(record[4]), *send[packing.KWARGS + 1 :])  # R.NAMED
        self._sends.append(send)
        self._count()
        if self._on_send is not None:
            self._on_send(self._events(send), record[19])  # R.ROOT

    def _group_ended(self, event: TraceEvent) -> None:
        self._groups.append(event)
        if self.on_send is not None:
            self.on_send([event], event.id)

    def _sender_wanted(self, sender: Any) -> bool:
        if self.senders and (sender_label(sender) or "").lower() not in self._senders_folded:
            return False
        return not self.apps or _sender_app(sender) in self.apps

    def _kwargs(self, named: dict[str, Any]) -> tuple[tuple[str, str], ...]:
        return captured_kwargs(named, self.redact)


def _start_key(event: TraceEvent) -> tuple[int, int]:
    return (event.start_ns, event.id)


# Signal names, shared by every tracer in the process: naming scans the
# modules once (the first start, and again after new imports), then each
# signal made later once, on its first traced send. Weakly keyed: a
# signal's name goes with it.
_names: weakref.WeakKeyDictionary[Any, tuple[str, str]] = weakref.WeakKeyDictionary()
_names_lock = threading.Lock()
_scanned = False


_modules_seen = 0  # len(sys.modules) at the last naming of every signal


def _name_all_signals() -> None:
    global _scanned, _modules_seen
    if _scanned and len(sys.modules) == _modules_seen:
        return
    # Module-bound signals only (the ones that can have a name), and no gc
    # scan: this runs inside the traced program (see module_signals).
    from ..introspect.discover import module_signals

    _modules_seen = len(sys.modules)
    _remember(module_signals())
    _scanned = True


def known_signals() -> dict[Any, tuple[str, str]]:
    """Every signal bound in a module now, with its (path, short name)."""
    _name_all_signals()
    with _names_lock:
        return {signal: name for signal, name in _names.items() if not name[0].startswith("<unnamed>")}


def signal_name(signal: Any) -> tuple[str, str]:
    """Return (path, short name) for `signal`, naming it on first sight.

    When modules were imported since the last naming (a traced manage.py
    run imports the whole project after the tracer starts), every signal is
    named at once: one scan instead of one per signal; otherwise just this one.
    """
    name = _names.get(signal)
    if name is None:
        if len(sys.modules) != _modules_seen:
            _name_all_signals()
        if signal not in _names:
            _remember([signal])
        name = _names.get(signal) or (f"<unnamed>:{type(signal).__name__}", "<unnamed>")
        _names[signal] = name
    return name


def _remember(signals: list[Any]) -> None:
    from ..introspect.discover import name_signals

    found = name_signals(signals)
    with _names_lock:
        for signal in signals:
            if id(signal) in found:
                module, attr = found[id(signal)]
                _names[signal] = (f"{module}:{attr}", attr.rsplit(".", 1)[-1])


# The helpers below look at values only through their type (type(x), never
# x.__class__ or hasattr(x, ...)): a lazy object (request.user) would be
# evaluated by an attribute lookup, running the program's code.
def _is_class(value: Any) -> bool:
    return issubclass(type(value), type)


def _is_app_config(value: Any) -> bool:
    from django.apps import AppConfig

    return issubclass(type(value), AppConfig)


def sender_label(sender: Any) -> str | None:
    """The sender's label as `signalscope list` shows it (introspect's describe_sender); None for None."""
    from ..introspect.naming import describe_sender

    return None if sender is None else describe_sender(sender).label


def _sender_app(sender: Any) -> str | None:
    if _is_class(sender):
        meta = getattr(sender, "_meta", None)
        return str(meta.app_label) if meta is not None else None
    return str(sender.label) if _is_app_config(sender) else None


def unbound(receiver: Any) -> Any:
    """A bound method's function; anything else as it is. By type: no attribute lookup on the receiver."""
    return receiver.__func__ if type(receiver) is types.MethodType else receiver


#: Deprecated alias (kept for one release): introspect.naming.cached_receiver_path, `list`'s spelling.
receiver_path = cached_receiver_path


def _kwargs_text(
    shape: Any, instance: tuple[str, Any] | None, memo: dict[Any, tuple[tuple[str, str], ...]]
) -> tuple[tuple[str, str], ...]:
    """The default kwargs summary: each name with its value's type, the instance as Label(pk=...).

    The pk is already text by the policy of tracing/values.py, or an int."""
    text = memo.get(shape)
    if text is None:
        names, types = shape
        text = memo[shape] = tuple(sorted(zip(names, types, strict=True)))
    if instance is None:
        return text
    label, pk = instance
    shown = f"{label}(pk={pk})"
    return tuple((name, shown if name == "instance" else kind) for name, kind in text)

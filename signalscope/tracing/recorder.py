"""Record live signal sends: the patches on Django's Signal class and the raw records they make.

Installed only while at least one Tracer is active (a reference count), and
removed exactly when the last one stops: with no tracer, Django's own
methods are in place and nothing costs anything.

Two hooks, both on the Signal class so that ModelSignal and every subclass
inherit them and signals made after the tracer started are seen too:

- ``send``, ``send_robust``, ``asend`` and ``asend_robust`` record every
  send, including those that reach no receiver and those muted by tools
  that empty ``receivers``;
- ``_live_receivers`` hands a send being recorded its sync receivers through
  a generator that reads the clock each time Django takes the next one: a
  receiver's time runs from when Django takes it to when Django asks for the
  next (or the send ends). Django calls the receivers themselves, so its
  receiver lists, its cache, its weak references, the responses and its
  error logging are untouched. Two cases still need a wrapper per call,
  made per send and never stored, and mapped back to the receiver in the
  responses: async receivers (they run concurrently), and the receivers of
  ``send_robust`` (a caught exception and a returned one look alike in the
  responses).

The running node lives in a contextvar, so parents are right across threads
and asyncio tasks: a send record while its sync receivers run (the running
one is the last taken), ``(send record, call id)`` inside an async receiver,
or a group's id (an int: a request or a test, see tracing.groups) between sends.

Performance: this runs on every send of every signal while tracing, so a
send record is a plain list indexed by the constants below (about ten times
cheaper to make than an object with slots), and naming is left to the
tracer, which caches it. Where the C accelerator is built (tracing/_accel.c,
see _accelerated at the end), the send hook, the _live_receivers hook and
_timed are its C counterparts, which make the same records and call back
into this module's functions for everything but the common case.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import itertools
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .packing import accel as _accel
from .packing import pack as _pack

__all__ = [
    "ASYNC",
    "CALL_IDS",
    "CALL_THREAD",
    "END",
    "ERROR",
    "ID",
    "METHOD",
    "NAMED",
    "PARENT",
    "RAISED",
    "RECEIVERS",
    "RESPONSES",
    "ROOT",
    "SENDER",
    "SIGNAL",
    "START",
    "THREAD",
    "TIMES",
    "add_sink",
    "current_group",
    "enter_group",
    "install",
    "installed",
    "leave_group",
    "new_id",
    "refresh",
    "remove_sink",
    "set_mute",
    "subscribe",
    "uninstall",
    "unsubscribe",
]

# A send record's fields (a list: see the module's docstring).
ID = 0  # unique, increasing
PARENT = 1  # the id of the receiver call (or send) running when this send was made, or None
SIGNAL = 2
SENDER = 3
NAMED = 4  # the keyword arguments as sent
METHOD = 5  # send, send_robust, asend or asend_robust
THREAD = 6
START = 7
END = 8
ERROR = 9  # the exception that escaped the send, or None
RECEIVERS = 10  # the sync receivers taken so far, in order
TIMES = 11  # the clock when each was taken, then when the next was asked for
CALL_THREAD = 12  # the thread the sync receivers ran on (asend runs them in a worker thread)
RESPONSES = 13  # what the send returned, when it returned
RAISED = 14  # send_robust: the indexes of the receivers that raised
ASYNC = 15  # async receivers: (call id, receiver, start, end, thread, error, result)
_WRAPPED = 16  # whether _live_receivers has run for this send
_ORIGINALS = 17  # id(wrapper) -> receiver, to give the responses their receivers back
CALL_IDS = 18  # an id for each sync receiver taken, from the same counter as the sends
ROOT = 19  # the id of the outermost send this one happened in (its own id when it is the outermost)
# asend: the parts still running (async receiver calls, and the sync receivers' worker thread), and
# whether the send has ended (it raised) with its report waiting for them. asyncio.gather hands on
# the first exception at once and leaves the other receivers running: reported then, their calls
# (and the sends they make) would be lost.
_PENDING = 20
_DEFERRED = 21

_current: contextvars.ContextVar[Any] = contextvars.ContextVar("signalscope_trace_current", default=None)
_get_current = _current.get
_set_current = _current.set
_reset_current = _current.reset
_clock = time.perf_counter_ns
_thread = threading.get_ident
_ids = itertools.count(1).__next__  # a C counter: atomic under the GIL (and cheaper than a long range)
_lock = threading.Lock()
_installed = 0
_originals: dict[str, Any] = {}
_HOOKED = ("send", "send_robust", "asend", "asend_robust", "_live_receivers")
_signal_class: Any = None  # django.dispatch.Signal, once installed
_active: dict[str, Any] = {}  # the hooks the current install put on Signal, by name
# Every hook made: id -> (weak reference to it, what it replaced). Weakly: a hook goes when nothing
# holds it any more (a mock.patch that saw one holds it, and may put it back after uninstall).
_replaced: dict[int, tuple[weakref.ref[Any], Any]] = {}
# One per active tracer. A tuple, replaced (under _lock) on every change, so a
# send iterates it as it is without copying it.
_listeners: tuple[Callable[[list[Any]], None], ...] = ()
_ROBUST = frozenset({"send_robust", "asend_robust"})
# Tracers that keep every send they want as it is packed (tracing.packing): a send is packed once
# for all of them and handed to each one's deque with no Python call. A tuple, as _listeners.
_sinks: tuple[Any, ...] = ()
# What a send of a signal needs, by id(signal), worked out on its first send (see _entry) and
# forgotten whenever a tracer starts or stops, and when the signal goes (a weak reference's callback).
_entries: dict[int, tuple[Any, ...]] = {}
_entry_refs: dict[int, weakref.ref[Any]] = {}
# An entry's fields: whether a send of it is recorded at all (someone wants it, groups it or mutes);
# ((deque.append, count), ...) of the sinks that want it; its name, when a sink wants it; the names of
# its details (packing.detail_names); tracing.groups.OPEN or CLOSE when groups are recorded, else None.
_ACTIVE, _SINKS, _PATH, _DETAILS, _ROLE = range(5)


# Muting (signalscope.testing.mute): a predicate (signal, receiver) -> bool, or None.
# Applied inside sends only, so has_listeners() and Django's receiver lists and
# caches are untouched: a muted receiver is simply not called.
_mute: Callable[[Any, Any], bool] | None = None


def set_mute(predicate: Callable[[Any, Any], bool] | None) -> None:
    """Skip the receivers `predicate` picks in every send from now on (None: none).

    The caller installs the hooks (install/uninstall) for as long as it mutes.
    """
    global _mute
    _mute = predicate
    _entries.clear()


def new_id() -> int:
    """Return a new id from the counter of the sends and calls (a group's)."""
    return _ids()


def enter_group(group: int) -> Any:
    """Make `group` the parent of the sends made from now on in this context; return what it replaces.

    Set in the caller's context (a function's, not a copy): the rest of the
    thread or task, and the contexts copied from it later, see it.
    """
    previous = _get_current()
    _set_current(group)
    return previous


def leave_group(previous: Any) -> None:
    """End a group in this context: `previous` (enter_group's answer) is the parent again."""
    _set_current(previous)


def current_group() -> int | None:
    """Return the group the sends of this context are made in now; None outside any (or inside a send)."""
    current = _get_current()
    return current if type(current) is int else None


def subscribe(listener: Callable[[list[Any]], None]) -> None:
    """Have `listener` called with every finished send record (installs the hooks on first use)."""
    global _listeners
    with _lock:
        _listeners = (*_listeners, listener)
        _entries.clear()
    install()


def unsubscribe(listener: Callable[[list[Any]], None]) -> None:
    """Stop calling `listener`; the hooks go when nothing else needs them."""
    global _listeners
    with _lock:
        if listener not in _listeners:
            return  # already gone (it failed): its install was undone then
        index = _listeners.index(listener)
        _listeners = _listeners[:index] + _listeners[index + 1 :]
        _entries.clear()
    uninstall()


def add_sink(sink: Any) -> None:
    """Keep every send `sink` wants, packed, in it (installs the hooks on first use).

    `sink` has ``wants(signal) -> bool``, ``name_of(signal) -> (path,
    details)`` and ``keepers() -> (append, count)``: `append` gets each
    packed send (tracing.packing) and `count` is called once per send, both
    with no Python frame of their own (a deque's append, a counter's
    ``__next__``). Call refresh() when its keepers change.
    """
    global _sinks
    with _lock:
        _sinks = (*_sinks, sink)
        _entries.clear()
    install()


def remove_sink(sink: Any) -> None:
    """Stop keeping sends in `sink`; the hooks go when nothing else needs them."""
    global _sinks
    with _lock:
        if sink not in _sinks:
            return  # already gone (packing failed): its install was undone then
        index = _sinks.index(sink)
        _sinks = _sinks[:index] + _sinks[index + 1 :]
        _entries.clear()
    uninstall()


def refresh() -> None:
    """Work out again what each signal's sends need (a sink's keepers or choices changed)."""
    _entries.clear()


def _entry(signal: Any) -> tuple[Any, ...]:
    """Work out what a send of `signal` needs (the entry's fields above), and cache it while `signal` lives."""
    from . import groups as grouping
    from .packing import detail_names

    wanting = [sink for sink in _sinks if sink.wants(signal)]
    sinks = tuple(sink.keepers() for sink in wanting)
    path = wanting[0].name_of(signal) if wanting else None
    role = grouping.role_of(signal) if grouping.is_active() else None
    active = bool(sinks or _listeners or role is not None or _mute is not None)
    entry = (active, sinks, path, detail_names(signal) if sinks else (), role)
    key = id(signal)

    def forget(ref: weakref.ref[Any]) -> None:
        if _entry_refs.get(key) is ref:
            del _entry_refs[key]
            _entries.pop(key, None)

    try:
        _entry_refs[key] = weakref.ref(signal, forget)
    except TypeError:  # a signal that can't be weakly referenced is looked at on every send
        return entry
    _entries[key] = entry
    return entry


def _finish(record: list[Any], entry: tuple[Any, ...]) -> None:
    """Hand the finished `record` to the sinks (packed) and the listeners, and open or close its group."""
    role = entry[_ROLE]
    if role is not None and role == _OPEN:
        _request_started(record)
    sinks = entry[_SINKS]
    if sinks:
        try:
            send = _pack(record, entry[_PATH], entry[_DETAILS])
        except Exception as exc:  # a tracer's failure must never reach the program
            _sinks_failed(exc)
        else:
            for keep, count in sinks:
                keep(send)
                count()
    for listener in _listeners:
        try:
            listener(record)
        except Exception as exc:  # a tracer's failure must never reach the program
            _listener_failed(listener, exc)
    if role is not None and role == _CLOSE:
        _request_finished(record)


def installed() -> bool:
    """Return whether the hooks are on the Signal class now.

    A hook put back after its tracer stopped (see uninstall) is taken off first.
    """
    if not _installed and len(_replaced):
        _remove_stale()
    return _installed > 0


def _drop_own_frame(exc: BaseException) -> None:
    """Take the hook's or wrapper's own frame off `exc`'s traceback, before a bare ``raise``.

    The traceback starts at the frame that handles the exception, and a bare
    raise adds none: the program then sees the traceback Django's own methods give.
    """
    if exc.__traceback__ is not None:
        exc.__traceback__ = exc.__traceback__.tb_next


def _timed(record: list[Any], receivers: Iterable[Any]) -> Iterator[Any]:
    # send and send_robust call their receivers in the thread they run in.
    taken = record[10]  # R.RECEIVERS
    times = record[11]  # R.TIMES
    ids = record[18]  # R.CALL_IDS
    record[12] = record[6]  # R.CALL_THREAD, R.THREAD
    new, clock = _ids, _clock
    for receiver in receivers:
        taken.append(receiver)
        ids.append(new())
        times.append(clock())
        yield receiver
    times.append(clock())


def _timed_robust(record: list[Any], receivers: list[Any], wrapped: list[Any]) -> Iterator[Any]:
    # As _timed, but Django gets the wrappers while the record keeps the receivers.
    taken = record[RECEIVERS]
    times = record[TIMES]
    ids = record[CALL_IDS]
    record[CALL_THREAD] = _thread()
    for receiver, wrapper in zip(receivers, wrapped, strict=True):
        taken.append(receiver)
        ids.append(_ids())
        times.append(_clock())
        yield wrapper
    times.append(_clock())


def _wrap_robust(record: list[Any], receiver: Any, index: int) -> Any:
    # Only to tell a caught exception from a returned one; the generator times it.
    def traced(*args: Any, **kwargs: Any) -> Any:
        try:
            return receiver(*args, **kwargs)
        except Exception as exc:
            record[RAISED].add(index)
            _drop_own_frame(exc)
            raise  # without this frame: the traceback send_robust logs and returns is Django's own

    traced.__qualname__ = receiver.__qualname__  # what send_robust's error log reads
    record[_ORIGINALS][id(traced)] = receiver
    return traced


def _wrap_async(record: list[Any], receiver: Any) -> Any:
    async def traced(*args: Any, **kwargs: Any) -> Any:
        call = _ids()
        token = _set_current((record, call))
        _start_part(record)
        start = _clock()
        try:
            result = await receiver(*args, **kwargs)
        except BaseException as exc:
            record[ASYNC].append((call, receiver, start, _clock(), _thread(), exc, None))
            _reset_current(token)
            _end_part(record)
            _drop_own_frame(exc)
            raise  # without this frame, as Django's own call of the receiver
        record[ASYNC].append((call, receiver, start, _clock(), _thread(), None, result))
        _reset_current(token)
        _end_part(record)
        return result

    if hasattr(receiver, "__qualname__"):  # send_robust's error log reads it; keep its absence too
        traced.__qualname__ = receiver.__qualname__
    record[_ORIGINALS][id(traced)] = receiver
    return traced


def _timed_part(record: list[Any], receivers: list[Any]) -> Iterator[Any]:
    # asend's sync receivers, run by Django in a worker thread: timed as send_robust's, and the
    # part ends when they are done, or at the first that raises (asend stops there): each is
    # wrapped to see that.
    yield from _timed_robust(record, receivers, [_wrap_part(record, receiver) for receiver in receivers])
    _end_part(record)


def _wrap_part(record: list[Any], receiver: Any) -> Any:
    def traced(*args: Any, **kwargs: Any) -> Any:
        try:
            return receiver(*args, **kwargs)
        except BaseException as exc:
            _end_part(record)
            _drop_own_frame(exc)
            raise  # without this frame: the traceback is the one Django's own asend gives

    if hasattr(receiver, "__qualname__"):
        traced.__qualname__ = receiver.__qualname__
    record[_ORIGINALS][id(traced)] = receiver
    return traced


def _start_part(record: list[Any]) -> None:
    with _lock:
        record[_PENDING] += 1


def _end_part(record: list[Any]) -> None:
    with _lock:
        record[_PENDING] -= 1
        due = record[_DEFERRED] and record[_PENDING] == 0
        if due:
            record[_DEFERRED] = False
    if due:
        _notify(record)


def _notify(record: list[Any]) -> None:
    """Hand the finished `record` on (_finish), then drop its exceptions.

    An exception's traceback holds the frames of the hooks, which hold the
    record: kept, it would make a cycle that keeps the instance, the
    receivers and the frames alive until a cyclic collection. The sinks and
    listeners have turned them into text by now.
    """
    signal = record[SIGNAL]
    _finish(record, _entries.get(id(signal)) or _entry(signal))
    record[ERROR] = None
    record[ASYNC] = []


def _sinks_failed(exc: Exception) -> None:
    """Report a failure to pack a send once on stderr, and stop every sink (they share the packing)."""
    import sys

    sys.stderr.write(f"signalscope: tracing stopped after an error in the tracer: {type(exc).__name__}: {exc}\n")
    for sink in _sinks:
        remove_sink(sink)


def _make_live_receivers(original: Callable[..., Any]) -> Callable[..., Any]:
    import django

    if _hooks_in_c:  # the same hook in C (tracing/_accel.c): see _accelerated
        made: Any = _accel.SyncHook(original, "_live_receivers", live=True)
        functools.update_wrapper(made, original)
        return made  # type: ignore[no-any-return]

    pairs = django.VERSION >= (5, 0)  # Django 5.0+ returns (sync receivers, async receivers), 4.2 one list

    def _live_receivers(self: Any, sender: Any) -> Any:
        result = original(self, sender)
        record = _get_current()
        # Only inside a send being recorded, once: has_listeners() calls this too.
        if type(record) is not list or record[2] is not self or record[16]:  # R.SIGNAL, R._WRAPPED
            return result
        record[16] = True  # R._WRAPPED
        if pairs and _mute is None and record[5] == "send":  # R.METHOD: the common case, spelled out
            sync, asynchronous = result
            if sync:  # an empty list stays one
                sync = _timed(record, sync)  # (this hook is Python's only when the C one is not built)
            if asynchronous:
                record[17] = {}  # R._ORIGINALS
                asynchronous = [_wrap_async(record, r) for r in asynchronous]
            return sync, asynchronous
        return _wrapped(self, record, result)

    return _live_receivers


def _wrapped(signal: Any, record: list[Any], result: Any) -> Any:
    """What _live_receivers hands the send `record` of `signal` for Django's `result`, in every case."""
    if isinstance(result, tuple):  # Django 5.0+: (sync receivers, async receivers)
        sync, asynchronous = result
    else:  # Django 4.2: one list, all sync
        sync, asynchronous = result, ()
    if _mute is not None:  # new lists: Django's cached ones stay as they are
        sync = [r for r in sync if not _mute(signal, r)]
        asynchronous = [r for r in asynchronous if not _mute(signal, r)]
    if sync:  # an empty list stays one: asend tests it
        if record[METHOD] == "asend":
            record[_ORIGINALS] = {}
            _start_part(record)
            sync = _timed_part(record, sync)
        elif record[METHOD] in _ROBUST:
            record[RAISED] = set()
            record[_ORIGINALS] = {}
            wrapped = [_wrap_robust(record, r, i) if hasattr(r, "__qualname__") else r for i, r in enumerate(sync)]
            sync = _timed_robust(record, sync, wrapped)
        else:
            sync = _timed_c(record, sync) if _timed_c is not None else _timed(record, sync)
    if not isinstance(result, tuple):
        return sync
    if asynchronous:
        if record[_ORIGINALS] is None:
            record[_ORIGINALS] = {}
        asynchronous = [_wrap_async(record, r) for r in asynchronous]
    return sync, asynchronous


def _unwrap(originals: dict[int, Any], responses: Any) -> Any:
    if not isinstance(responses, list):
        return responses
    return [(originals.get(id(receiver), receiver), response) for receiver, response in responses]


def _new_record(signal: Any, sender: Any, named: dict[str, Any], method: str) -> list[Any]:
    """Return a new send record of `signal`, its parent the one running now in this context.

    The parent: the sync receiver taken last inside a send (else the send
    itself), the group between sends, the call inside an async receiver.
    The sync hook spells this out inline (it runs on every send: a call
    saved is measurable); the async hooks call it.
    """
    sid = _ids()
    current = _get_current()
    if current is None:
        parent, root = None, sid
    elif type(current) is list:
        ids = current[CALL_IDS]
        parent, root = (ids[-1] if ids else current[ID]), current[ROOT]
    elif type(current) is int:
        parent, root = current, current
    else:
        parent, root = current[1], current[0][ROOT]
    # fmt: off
    return [sid, parent, signal, sender, named, method, _thread(), 0, 0, None, [], [], 0, None, None, [], False, None,
            [], root, 0, False]
    # fmt: on


def _make_sync_hook(name: str) -> Callable[..., Any]:
    original = _originals[name]
    if _hooks_in_c:  # the same hook in C (tracing/_accel.c): see _accelerated
        made: Any = _accel.SyncHook(original, name)
        functools.update_wrapper(made, original)
        return made  # type: ignore[no-any-return]

    def hook(self: Any, sender: Any, **named: Any) -> Any:
        entry = _entries.get(id(self))
        if entry is None:
            entry = _entry(self)
        if not entry[0]:  # _ACTIVE: nobody wants this signal's sends now
            if not _installed:  # put back after uninstall (see there): take it off
                _remove_stale()
            return original(self, sender, **named)
        # _new_record, inline.
        sid = _ids()
        current = _get_current()
        if current is None:
            parent = None
            root = sid
        elif type(current) is list:
            ids = current[18]  # CALL_IDS
            parent = ids[-1] if ids else current[0]  # ID
            root = current[19]  # ROOT
        elif type(current) is int:
            parent = root = current
        else:
            parent = current[1]
            root = current[0][19]  # ROOT
        # fmt: off
        record = [sid, parent, self, sender, named, name, _thread(), 0, 0, None, [], [], 0, None, None, [],
                  False, None, [], root, 0, False]
        # fmt: on
        token = _set_current(record)
        record[7] = _clock()  # R.START
        try:
            responses = original(self, sender, **named)
        except BaseException as exc:
            record[8] = _clock()  # R.END
            record[9] = exc  # R.ERROR
            _reset_current(token)
            _notify(record)
            _drop_own_frame(exc)
            raise  # without this frame: the traceback is the one Django's own send gives
        record[8] = _clock()  # R.END
        if record[17]:  # R._ORIGINALS
            responses = _unwrap(record[17], responses)  # R._ORIGINALS
        record[13] = responses  # R.RESPONSES
        _reset_current(token)
        # _finish, inline.
        role = entry[4]  # _ROLE
        if role is not None and role == _OPEN:
            _request_started(record)
        sinks = entry[1]  # _SINKS
        if sinks:
            try:
                send = _pack(record, entry[2], entry[3])  # _PATH, _DETAILS
            except Exception as exc:  # a tracer's failure must never reach the program
                _sinks_failed(exc)
            else:
                for keep, count in sinks:
                    keep(send)
                    count()
        for listener in _listeners:
            try:
                listener(record)
            except Exception as exc:  # a tracer's failure must never reach the program
                _listener_failed(listener, exc)
        if role is not None and role == _CLOSE:
            _request_finished(record)
        return responses

    functools.update_wrapper(hook, original)
    return hook


def _make_async_hook(name: str) -> Callable[..., Any]:
    original = _originals[name]

    async def hook(self: Any, sender: Any, **named: Any) -> Any:
        entry = _entries.get(id(self))
        if entry is None:
            entry = _entry(self)
        if not entry[0]:  # _ACTIVE
            if not _installed:  # put back after uninstall (see there): take it off
                _remove_stale()
            return await original(self, sender, **named)
        record = _new_record(self, sender, named, name)
        token = _set_current(record)
        record[START] = _clock()
        try:
            responses = await original(self, sender, **named)
        except BaseException as exc:
            record[END] = _clock()
            record[ERROR] = exc
            _reset_current(token)
            with _lock:  # receivers still running (see _PENDING): the last one to end reports
                deferred = record[_DEFERRED] = record[_PENDING] > 0
            if not deferred:
                _notify(record)
            _drop_own_frame(exc)
            raise  # without this frame: the traceback is the one Django's own send gives
        record[END] = _clock()
        if record[_ORIGINALS]:
            responses = _unwrap(record[_ORIGINALS], responses)
        record[RESPONSES] = responses
        _reset_current(token)
        _notify(record)
        return responses

    functools.update_wrapper(hook, original)
    return hook


def _listener_failed(listener: Callable[[list[Any]], None], exc: Exception) -> None:
    """Report a tracer's failure once on stderr, and stop calling it."""
    import sys

    sys.stderr.write(f"signalscope: tracing stopped after an error in the tracer: {type(exc).__name__}: {exc}\n")
    unsubscribe(listener)


_OPEN: Any = object()  # tracing.groups.OPEN and CLOSE, and its request functions, once installed
_CLOSE: Any = object()


def _no_group(record: list[Any]) -> None:
    """What the request functions are before tracing.groups is bound (install binds it)."""


_request_started: Callable[[list[Any]], None] = _no_group
_request_finished: Callable[[list[Any]], None] = _no_group


def _bind_groups() -> None:
    """Bind tracing.groups' request functions here (it imports this module: not at import time)."""
    global _OPEN, _CLOSE, _request_started, _request_finished
    from . import groups

    _OPEN, _CLOSE = groups.OPEN, groups.CLOSE
    _request_started, _request_finished = groups.request_started, groups.request_finished


def install() -> None:
    """Put the hooks on the Signal class (counted: every install needs an uninstall)."""
    global _installed, _signal_class
    from django.dispatch import Signal

    _bind_groups()
    with _lock:
        _installed += 1
        if _installed > 1:
            return
        _signal_class = Signal
        _put_back_stale()  # so that what the hooks replace is never an old hook
        for name in _HOOKED:
            if name in vars(Signal):
                _originals[name] = vars(Signal)[name]
        for name in _HOOKED:
            if name not in _originals:
                continue  # asend and asend_robust arrived in Django 5.0
            if name == "_live_receivers":
                hook = _make_live_receivers(_originals[name])
            else:
                make = _make_async_hook if inspect.iscoroutinefunction(_originals[name]) else _make_sync_hook
                hook = make(name)
            setattr(Signal, name, hook)
            _active[name] = hook
            _remember(hook, _originals[name])


def uninstall() -> None:
    """Undo one install; the last one puts back, exactly, what the hooks replaced.

    A method that is no longer the hook put there (a ``mock.patch`` started
    while tracing and still running) is left as it is, never clobbered. Its
    owner may put the hook back later (a patch restores what it saw): such a
    hook does nothing and takes itself off, putting back what it replaced, on
    its first call or at the next install(), uninstall() or installed(),
    whichever comes first.
    """
    global _installed

    with _lock:
        if _installed == 0:
            return
        _installed -= 1
        if _installed:
            return
        for name, hook in _active.items():
            if vars(_signal_class).get(name) is hook:
                setattr(_signal_class, name, _originals[name])
        _active.clear()
        _originals.clear()
        _put_back_stale()  # an older hook a patch put back while this install was on


def _remove_stale() -> None:
    """Take off the hooks put back after uninstall (see there), with no install on."""
    with _lock:
        if not _installed:
            _put_back_stale()


def _put_back_stale() -> None:
    """Replace each hook on Signal that no install put there now with what it replaced. Holds _lock."""
    if _signal_class is None:
        return
    current = {id(hook) for hook in _active.values()}
    for name in _HOOKED:
        value = found = vars(_signal_class).get(name)
        while id(value) not in current:
            entry = _replaced.get(id(value))
            if entry is None or entry[0]() is not value:
                break  # not one of ours
            value = entry[1]
        if value is not found:
            setattr(_signal_class, name, value)


def _remember(hook: Any, original: Any) -> None:
    key = id(hook)

    def forget(ref: weakref.ref[Any]) -> None:
        if _replaced.get(key, (None,))[0] is ref:
            del _replaced[key]

    _replaced[key] = (weakref.ref(hook, forget), original)


def _accelerated() -> bool:
    """Whether the send hook and the receivers' timing run in C (tracing/_accel.c, built by setup.py).

    Only when the C accelerator is built (packing.accel) and its clock is
    Python's perf_counter_ns (CLOCK_MONOTONIC: Linux, macOS), so that the
    times the two read stay comparable.
    """
    if _accel is None or time.get_clock_info("perf_counter").implementation != "clock_gettime(CLOCK_MONOTONIC)":
        return False
    _accel.configure_recorder(globals=globals(), ids=_ids, context_var=_current)
    return True


_hooks_in_c = _accelerated()
_timed_c: Any = _accel.timed if _hooks_in_c else None

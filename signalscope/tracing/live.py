"""Live sends for test tools: signals named or given, the objects a send was made with, and muted receivers.

signalscope.testing builds its assertions and `mute` on these, through the
API. Unlike a Tracer's records, a recording keeps the live sender and
keyword arguments: a test asked to look at them.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from collections.abc import Callable
from typing import Any

from ..errors import UnknownName, UsageError
from ..introspect.naming import cached_receiver_path
from ..model.trace import TraceLog
from . import recorder
from .tracer import Tracer, known_signals, signal_name, unbound

__all__ = ["Recording", "connected_receivers", "mute_off", "mute_on", "resolve_signal"]


def resolve_signal(spec: Any) -> Any:
    """Return the Signal that `spec` names (or is): a name ("post_save") or a module:name path.

    Raises UnknownName (with close matches) and UsageError (not a signal, or
    a name two signals have).
    """
    from django.dispatch import Signal

    if isinstance(spec, Signal):
        return spec
    if not isinstance(spec, str):
        raise UsageError(f"Not a signal: {spec!r}. Give a Signal, or a name such as 'post_save'.")
    named = known_signals()
    if ":" in spec or "." in spec:
        module, _, attr = spec.rpartition(":") if ":" in spec else spec.rpartition(".")
        with contextlib.suppress(ImportError):
            value: Any = importlib.import_module(module)
            for part in attr.split("."):
                value = getattr(value, part, None)
            if isinstance(value, Signal):
                return value
        raise UnknownName("signal", spec, [path for path, _ in named.values()])
    found = {id(signal): signal for signal, (_, short) in named.items() if short == spec}
    if len(found) == 1:
        return next(iter(found.values()))
    if not found:
        raise UnknownName("signal", spec, [short for _, short in named.values()])
    paths = sorted(signal_name(signal)[0] for signal in found.values())
    raise UsageError(f"Signal name {spec!r} is ambiguous: {', '.join(paths)}.", hint="Give its module:name path.")


def connected_receivers() -> tuple[set[str], set[int]]:
    """Return the paths (as `signalscope list` spells them) and the ids of the functions of every
    receiver connected to any module-level signal now."""
    from ..introspect._compat import read_entries

    paths, ids = set(), set()
    for signal in known_signals():
        for entry in read_entries(signal):
            if entry.receiver is not None:
                func = unbound(entry.receiver)
                paths.add(cached_receiver_path(func))
                ids.add(id(func))
    return paths, ids


class Recording:
    """The sends of `signals` (all but pre_init and post_init when none) made while it runs, with their
    live sender and keyword arguments for each send that `keep(signal, sender)` accepts."""

    def __init__(self, signals: list[Any], keep: Callable[[Any, Any], bool]) -> None:
        include = [signal_name(signal)[0] for signal in signals]
        self._tracer = Tracer(include=include, exclude=() if include else None)
        self._keep = keep
        self._lock = threading.Lock()
        #: send id -> (signal, sender, keyword arguments), for the sends kept
        self.sends: dict[int, tuple[Any, Any, dict[str, Any]]] = {}
        self._log: TraceLog | None = None

    def start(self) -> Recording:
        """Start recording."""
        recorder.subscribe(self._record)
        self._tracer.start()
        return self

    def stop(self) -> TraceLog:
        """Stop recording (a second stop does nothing); return the trace."""
        if self._log is None:
            self._log = self._tracer.stop()
            recorder.unsubscribe(self._record)
        return self._log

    def log(self) -> TraceLog:
        """Return the trace so far (the whole one once stopped)."""
        return self._log if self._log is not None else self._tracer.log()

    def _record(self, record: list[Any]) -> None:
        signal, sender = record[recorder.SIGNAL], record[recorder.SENDER]
        if self._keep(signal, sender):
            with self._lock:
                self.sends[record[recorder.ID]] = (signal, sender, dict(record[recorder.NAMED]))


_mutes: list[Callable[[Any, Any], bool]] = []
_mutes_lock = threading.Lock()


def mute_on(silences: Callable[[Any, Any], bool]) -> None:
    """Skip every receiver call that `silences(signal, receiver)` is true of, until `mute_off(silences)`.

    Sends still happen and are traced. Mutes nest; Django's receiver lists
    are left as they are.
    """
    recorder.install()
    with _mutes_lock:
        _mutes.append(silences)
        _update()


def mute_off(silences: Callable[[Any, Any], bool]) -> bool:
    """End the mute `silences` of `mute_on`; return whether it was on."""
    with _mutes_lock:
        entered = silences in _mutes
        if entered:
            _mutes.remove(silences)
        _update()
    if entered:  # the install of its own mute_on: never another's
        recorder.uninstall()
    return entered


def _update() -> None:
    active = tuple(_mutes)
    if not active:
        recorder.set_mute(None)
        return
    recorder.set_mute(lambda signal, receiver: any(silences(signal, receiver) for silences in active))

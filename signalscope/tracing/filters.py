"""Check a traced program's filters (signals, senders, apps), so that a typo fails instead of tracing nothing.

The program sets Django up itself, so the names can only be checked while
or after it runs, each at the first moment it can be known to match nothing:

- senders and apps as soon as Django's apps are ready (the models and apps
  are all known then). An unknown one stops the program there, with
  ``SystemExit(2)`` from inside ``django.setup()``, and the error is raised
  when the program has ended. A class or instance label is only checked at
  the end: its module may be imported later;
- signals when the program has ended: any module may define one, at any time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ..errors import SignalscopeError, UnknownName, UsageError
from ..introspect.labels import check_app_label, check_sender_label
from .runner import INTERRUPTED
from .tracer import DEFAULT_EXCLUDE, known_signals

if TYPE_CHECKING:
    from ..model.trace import TraceLog, TraceStream
    from .tracer import Tracer

__all__ = ["FilterCheck"]

_STOPPED = "It was checked once the program had set Django up, and the program was stopped there."
_BEFORE = "It was checked before the program ran (Django was set up already)."


class FilterCheck:
    """The checks of the filters of `tracer`, which traces one program.

    ``with check.watching(): run the program``, then ``check.finish(status, log)``.
    """

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer
        self._early: SignalscopeError | None = None  # what stopped the program
        self._checked = False

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """Check the senders and apps once the program has set Django up (at once, if it is).

        Raises UnknownName at once when Django was set up before the program ran.
        """
        if not (self.tracer.senders or self.tracer.apps):
            yield
            return
        from django.apps import apps

        if apps.ready:
            self._checked = True
            _explained(_BEFORE, self._check_early)
            yield
            return
        own = vars(apps).get("populate")
        original = apps.populate

        def populate(installed_apps: Any = None) -> None:
            original(installed_apps)
            if apps.ready and not self._checked:
                self._checked = True
                try:
                    self._check_early()
                except SignalscopeError as exc:
                    self._early = exc
                    raise SystemExit(2) from None

        # On the registry itself, for the program's run only: django.setup() calls apps.populate().
        apps.populate = populate  # type: ignore[method-assign]
        try:
            yield
        finally:
            if vars(apps).get("populate") is populate:
                if own is None:
                    del apps.populate
                else:
                    apps.populate = own  # type: ignore[method-assign]

    def _check_early(self) -> None:
        for label in sorted(self.tracer.senders):
            check_sender_label(label, ignore_case=True, final=False)
        for label in sorted(self.tracer.apps):
            check_app_label(label)

    def finish(self, status: int, log: TraceLog | TraceStream) -> None:
        """Check every filter, now that the program has ended with `status` and `log` was traced.

        After an interrupted run (runner.INTERRUPTED) only what stopped the program is raised.
        Raises UnknownName (with close matches) for a name that matched
        nothing that exists, and UsageError for a sender or app filter of a
        program that never set Django up.
        """
        if self._early is not None:
            _add_note(self._early, _STOPPED)
            raise self._early
        if status == INTERRUPTED:
            return  # cut short (Ctrl-C): what it would have imported later can't be told from a typo
        after = f"It was checked after the program ended (exit status {status}): no %s of this run has that name."
        _explained(after % "signal", self._check_signals, log)
        if not (self.tracer.senders or self.tracer.apps):
            return
        from django.apps import apps

        never = "the program never set Django up, so no send could come from it."
        if not apps.ready and self.tracer.apps:
            raise UsageError(f"--app {sorted(self.tracer.apps)[0]}: {never}")
        seen = [event.sender for event in log.iter_events() if event.sender is not None]
        for label in sorted(self.tracer.senders):
            try:
                _explained(after % "sender", check_sender_label, label, ignore_case=True, seen=seen)
            except UnknownName:
                raise
            except UsageError:  # a model or app config label, and Django never set up
                raise UsageError(f"--sender {label}: {never}") from None
        for label in sorted(self.tracer.apps):
            _explained(after % "app", check_app_label, label)

    def _check_signals(self, log: TraceLog | TraceStream) -> None:
        # As the tracer matches them: a signal's module:name path or its short name.
        asked = sorted(self.tracer.include) + sorted(self.tracer.exclude - set(DEFAULT_EXCLUDE))
        if not asked:
            return  # nothing to check: the trace is not read (a stream would be made once more)
        names = {name for pair in known_signals().values() for name in pair}
        signals = {event.signal for event in log.iter_events()}
        names |= signals
        names |= {signal.rpartition(":")[2] for signal in signals}
        for name in asked:
            if name not in names:
                raise UnknownName("signal", name, sorted(names))


def _explained(note: str, check: Callable[..., None], *args: Any, **kwargs: Any) -> None:
    """Call `check`; an UnknownName it raises gets `note` (when it was checked) under its hint."""
    try:
        check(*args, **kwargs)
    except UnknownName as exc:
        _add_note(exc, note)
        raise


def _add_note(exc: SignalscopeError, note: str) -> None:
    exc.hint = f"{exc.hint}\n{note}" if exc.hint else note

"""Signals in tests: record and assert sends, mute signals or single receivers.

    from signalscope.testing import SignalRecorder, mute

    with SignalRecorder() as rec:
        User.objects.create(username="ada")
    rec.assert_sent("post_save", sender="accounts.Profile", created=True)

    with mute(receivers=["accounts.signals:send_welcome_email"]):
        User.objects.create(username="bob")     # every other receiver still runs

The pytest plugin (fixture ``signal_recorder``, marker ``mute_signals``) and
``SignalAssertionsMixin`` for unittest / Django's TestCase are thin layers
over these. Signals may be given as objects or names (``"post_save"``,
``"orders.signals:order_placed"``), senders as objects or labels
(``"orders.Order"``), receivers as objects or paths
(``"accounts.signals:create_user_profile"``, dots accepted for the colon).

A recorder keeps the keyword arguments of the sends it matches (it is an
explicit request to look at them, like mock's ``call_args``), for the length
of the test; the traces of ``signalscope trace`` never do.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from . import api
from .errors import UnknownName, UsageError
from .model.trace import TraceEvent, TraceLog

if TYPE_CHECKING:
    from .tracing.live import Recording

__all__ = ["RecordedSend", "SignalAssertionError", "SignalAssertionsMixin", "SignalRecorder", "mute"]


class SignalAssertionError(AssertionError):
    """A signal assertion failed; the message says what was sent instead."""


# -- names -------------------------------------------------------------------
def resolve_signal(spec: Any) -> Any:
    """Return the Signal that `spec` names (or is). Raises UnknownName, UsageError."""
    return api.resolve_signal(spec)


def _signal_matches(spec: Any, signal: Any) -> bool:
    return spec is None or spec is signal


def _sender_matches(spec: Any, sender: Any) -> bool:
    if spec is None:
        return True
    if isinstance(spec, str):
        label = api.sender_label(sender)
        return label is not None and label.lower() == spec.lower()
    return sender is spec


def _check_sender(spec: Any, seen: Iterable[Any] = ()) -> None:
    """Refuse a sender label that no sender has (UnknownName, with close matches); `seen`: senders sent from."""
    if isinstance(spec, str):
        api.check_sender_label(spec, seen=[label for s in seen if (label := api.sender_label(s))])


def _norm_path(path: str) -> str:
    return path.replace(":", ".")


def _receiver_spec_path(spec: Any) -> str:
    return _norm_path(spec if isinstance(spec, str) else api.receiver_path(spec))


def _describe(signal: Any, sender: Any) -> str:
    short = api.signal_names(signal)[1] if not isinstance(signal, str) else signal.rsplit(":", 1)[-1]
    if sender is None:
        return short
    label = sender if isinstance(sender, str) else api.sender_label(sender)
    return f"{short}(sender={label})"


def _times(n: int) -> str:
    return f"{n} time{'s' if n != 1 else ''}"


# -- recording ---------------------------------------------------------------
@dataclass
class RecordedSend:
    """One send seen by a SignalRecorder, with the values it was sent with."""

    signal: Any  # the Signal object
    sender: Any  # the sender object
    kwargs: dict[str, Any]  # the keyword arguments, values included
    event: TraceEvent  # the traced send: path, timings, outcome
    receivers: list[str] = field(default_factory=list)  # paths of the receivers that ran, in order
    children: list[RecordedSend] = field(default_factory=list)  # sends made by those receivers

    @property
    def name(self) -> str:
        """``post_save(sender=auth.User)``: the signal's name and the sender's label."""
        short = api.signal_names(self.signal)[1]
        return short if self.sender is None else f"{short}(sender={api.sender_label(self.sender)})"

    def tree(self, depth: int = 0) -> Iterator[str]:
        yield "  " * depth + self.name
        for child in self.children:
            yield from child.tree(depth + 1)


class SignalRecorder:
    """Record the signal sends made inside a ``with`` block, to assert on them.

    With `signals` (objects or names) only those are recorded, and with
    `sender` only sends from it; otherwise every send except pre_init and
    post_init (sent for every model instance made; name them to get them).
    """

    def __init__(self, *signals: Any, sender: Any = None) -> None:
        self._signal_specs = signals
        self._sender = sender
        self._signals: list[Any] = []
        self._recording: Recording | None = None
        self._log: TraceLog | None = None

    def __enter__(self) -> SignalRecorder:
        if self._recording is not None and self._log is None:
            raise UsageError("This SignalRecorder is already recording: use a second one to record a block inside it.")
        self._signals = [resolve_signal(spec) for spec in self._signal_specs]
        _check_sender(self._sender)
        self._log = None
        self._recording = api.record_sends(self._signals, self._keeps)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """End recording (leaving the ``with`` block does it)."""
        if self._recording is not None and self._log is None:
            self._log = self._recording.stop()

    def _keeps(self, signal: Any, sender: Any) -> bool:
        if self._signals and not any(signal is wanted for wanted in self._signals):
            return False
        return _sender_matches(self._sender, sender)

    @property
    def _raw(self) -> dict[int, tuple[Any, Any, dict[str, Any]]]:
        return self._recording.sends if self._recording is not None else {}

    # -- what was recorded -----------------------------------------------
    @property
    def log(self) -> TraceLog:
        """The trace of the block (so far, inside it)."""
        if self._log is not None:
            return self._log
        if self._recording is None:
            raise UsageError("This recorder has not been started: use it as `with recorder:`.")
        return self._recording.log()

    @property
    def all_sends(self) -> list[RecordedSend]:
        """Every recorded send, in the order they started."""
        return self._build()[1]

    @property
    def sends(self) -> list[RecordedSend]:
        """The recorded tree: the outermost sends, each with the sends its receivers made (`children`)."""
        return self._build()[0]

    def _build(self) -> tuple[list[RecordedSend], list[RecordedSend]]:
        log = self.log
        tree = log.tree()
        by_id: dict[int, RecordedSend] = {}  # recorded send id -> its record
        flat: list[RecordedSend] = []
        roots: list[RecordedSend] = []
        for event in log.events:  # start order
            raw = self._raw.get(event.id) if event.kind == "send" else None
            if raw is None:
                continue
            ran = [c.receiver for c in tree.children(event.id) if c.kind == "call" and c.receiver is not None]
            send = RecordedSend(raw[0], raw[1], raw[2], event, ran)
            by_id[event.id] = send
            flat.append(send)
            # A send is made inside a receiver call: the send that made the call (when recorded) holds it.
            above = tree.parent_of(event)
            if above is not None and above.kind == "call":
                above = tree.parent_of(above)
            owner = by_id.get(above.id) if above is not None else None
            (owner.children if owner is not None else roots).append(send)
        return roots, flat

    def calls(self, signal: Any = None, sender: Any = None) -> list[dict[str, Any]]:
        """The keyword arguments of each matching send, in order (like mock's call_args_list)."""
        wanted = resolve_signal(signal) if signal is not None else None
        self._check_sender(sender)
        return [
            s.kwargs for s in self.all_sends if _signal_matches(wanted, s.signal) and _sender_matches(sender, s.sender)
        ]

    # -- assertions ------------------------------------------------------
    def assert_sent(
        self, signal: Any, sender: Any = None, count: int | None = None, **kwargs: Any
    ) -> list[RecordedSend]:
        """Assert `signal` was sent (from `sender`, with these kwargs), `count` times or at least once.

        Each kwarg is matched by equality, or by calling it when it is a
        function (a predicate). Returns the matching sends.
        """
        __tracebackhide__ = True  # pytest: the failure is the caller's line
        wanted = resolve_signal(signal)
        self._check_sender(sender)
        candidates = [s for s in self.all_sends if s.signal is wanted and _sender_matches(sender, s.sender)]
        matching = [s for s in candidates if not _differences(s.kwargs, kwargs)]
        if (count is None and matching) or (count is not None and len(matching) == count):
            return matching
        expected = _describe(wanted, sender) + _with(kwargs)
        how_many = "at least once" if count is None else _times(count)
        message = f"Expected {expected} to be sent {how_many}, but it was sent {_times(len(matching))}."
        differing = [s for s in candidates if _differences(s.kwargs, kwargs)]
        if differing:
            lines = [
                f"{len(differing)} send{'s' if len(differing) != 1 else ''} of {_describe(wanted, sender)} differed:"
            ]
            for number, send in enumerate(differing[:10], 1):
                lines.append(f"  #{number}: " + "; ".join(_differences(send.kwargs, kwargs)))
            message += "\n" + "\n".join(lines)
        raise SignalAssertionError(message + "\n" + self._summary())

    def assert_not_sent(self, signal: Any, sender: Any = None, **kwargs: Any) -> None:
        """Assert `signal` was not sent (from `sender`, with these kwargs)."""
        __tracebackhide__ = True  # pytest: the failure is the caller's line
        wanted = resolve_signal(signal)
        self._check_sender(sender)
        self._check_arguments(wanted, kwargs)
        matching = [
            s for s in self.all_sends
            if s.signal is wanted and _sender_matches(sender, s.sender) and not _differences(s.kwargs, kwargs)
        ]  # fmt: skip
        if matching:
            expected = _describe(wanted, sender) + _with(kwargs)
            raise SignalAssertionError(
                f"Expected {expected} not to be sent, but it was sent {_times(len(matching))}.\n" + self._summary()
            )

    def assert_order(self, expected: Iterable[Any]) -> None:
        """Assert these sends happened in this order (others may come between).

        Each item is a signal, or a (signal, sender) pair.
        """
        __tracebackhide__ = True  # pytest: the failure is the caller's line
        steps = [(item if isinstance(item, tuple) else (item, None)) for item in expected]
        resolved = [(resolve_signal(signal), sender) for signal, sender in steps]
        for _, sender in resolved:
            self._check_sender(sender)
        position = 0
        for send in self.all_sends:
            if position < len(resolved):
                signal, sender = resolved[position]
                if send.signal is signal and _sender_matches(sender, send.sender):
                    position += 1
        if position < len(resolved):
            wanted = ", ".join(_describe(signal, sender) for signal, sender in resolved)
            missing = _describe(*resolved[position])
            raise SignalAssertionError(
                f"Expected the sends {wanted} in this order; {missing} (step {position + 1}) never came "
                f"after the ones before it.\nThe sends, in order: "
                + (", ".join(s.name for s in self.all_sends) or "none")
            )

    def assert_receiver_ran(self, receiver: Any, count: int | None = None) -> None:
        """Assert `receiver` (an object or its module:qualname path) ran, `count` times or at least once."""
        __tracebackhide__ = True  # pytest: the failure is the caller's line
        path = _receiver_spec_path(receiver)
        shown = receiver if isinstance(receiver, str) else api.receiver_path(receiver)
        ran = [e for e in self.log.events if e.kind == "call" and _norm_path(e.receiver or "") == path]
        if not ran:  # `count=0` of a typo, or of a function never connected, would pass: refuse it
            _check_receiver(receiver, shown, {e.receiver for e in self.log.events if e.kind == "call" and e.receiver})
        if (count is None and ran) or (count is not None and len(ran) == count):
            return
        how_many = "at least once" if count is None else _times(count)
        calls = Counter(e.receiver for e in self.log.events if e.kind == "call")
        seen = ", ".join(f"{name} x{n}" for name, n in calls.items()) or "none"
        raise SignalAssertionError(
            f"Expected receiver {shown} to run {how_many}, but it ran {_times(len(ran))}.\n"
            f"Receivers that ran during the block: {seen}."
        )

    def _check_arguments(self, signal: Any, kwargs: dict[str, Any]) -> None:
        """Refuse a keyword `signal` never sends (``craeted=True``): "not sent with it" would always pass.

        Known: Django's own signals' arguments, and those of every recorded
        send of `signal`. A custom signal with no send recorded can't be checked.
        """
        known = set(_DJANGO_ARGUMENTS.get(api.signal_names(signal)[0], ()))
        known.update(name for send in self.all_sends if send.signal is signal for name in send.kwargs)
        for name in kwargs:
            if known and name not in known:
                raise UnknownName(f"argument of {api.signal_names(signal)[1]}", name, sorted(known))

    def _check_sender(self, spec: Any) -> None:
        if isinstance(spec, str):
            _check_sender(spec, (send.sender for send in self.all_sends))

    def _summary(self) -> str:
        counts = Counter(s.name for s in self.all_sends)
        if not counts:
            return "Nothing was sent during the block."
        return "Sent during the block: " + ", ".join(f"{name} x{n}" for name, n in counts.items()) + "."


def _with(kwargs: dict[str, Any]) -> str:
    if not kwargs:
        return ""
    shown = ", ".join(f"{k}={_show(v)}" for k, v in kwargs.items())
    return f" with {shown}"


def _show(value: Any) -> str:
    if callable(value) and not isinstance(value, type):
        return getattr(value, "__name__", repr(value))
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _differences(actual: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    problems = []
    for key, want in expected.items():
        if key not in actual:
            problems.append(f"{key} was not sent")
            continue
        got = actual[key]
        if callable(want) and not isinstance(want, type):
            if not want(got):
                problems.append(f"{key}={_show(got)} (does not satisfy {_show(want)})")
        elif got != want:
            problems.append(f"{key}={_show(got)} (expected {_show(want)})")
    return problems


# -- blocks as decorators ----------------------------------------------------
_F = TypeVar("_F", bound=Callable[..., Any])


class _Block(contextlib.ContextDecorator, contextlib.AbstractContextManager[Any]):
    """A context manager that also decorates functions, coroutine functions included.

    contextlib.ContextDecorator would wrap an ``async def`` in a plain
    function: the block would end as soon as the coroutine was made, before
    its body ran, and unittest, Django's test case and pytest's async
    plugins would no longer see a coroutine function to await. Here the
    wrapper is a coroutine function too, and the block lasts while it is
    awaited. Generator functions are refused: their bodies run after the
    call returns, outside any block the call made.
    """

    def __call__(self, func: _F) -> _F:
        what = (
            "async generator function"
            if inspect.isasyncgenfunction(func)
            else "generator function"
            if inspect.isgeneratorfunction(func)
            else None
        )
        if what is not None:
            raise UsageError(
                f"{type(self).__name__} can't decorate the {what} {getattr(func, '__name__', func)}: its body runs "
                f"after the call returns, outside the block. Use `with {type(self).__name__}(...):` inside it."
            )
        if not inspect.iscoroutinefunction(func):
            return super().__call__(func)

        @functools.wraps(func)
        async def run_in_block(*args: Any, **kwargs: Any) -> Any:
            with self._recreate_cm():
                return await func(*args, **kwargs)

        return run_in_block  # type: ignore[return-value]


# -- muting ------------------------------------------------------------------


class mute(_Block):
    """Don't call the receivers of `signals`, or just the `receivers` named, inside the block.

    Sends still happen (and are traced); only the muted receivers are
    skipped. Django's receiver lists are left as they are, so
    has_listeners() and every other receiver keep working; everything is
    back when the block ends, also when it raises. Nests, and works as a
    decorator, of ``async def`` functions too (the mute lasts while the
    coroutine runs). Unknown signal names, and receivers (paths or objects)
    that no module-level signal has connected, are errors (with close
    matches), not silent no-ops.
    """

    def __init__(self, *signals: Any, receivers: Iterable[Any] = ()) -> None:
        self._signal_specs = signals
        self._receiver_specs = tuple(receivers)
        self._signal_ids: frozenset[int] = frozenset()
        self._objects: frozenset[int] = frozenset()
        self._paths: frozenset[str] = frozenset()

    def __enter__(self) -> mute:
        signals = [resolve_signal(spec) for spec in self._signal_specs]
        self._signal_ids = frozenset(id(signal) for signal in signals)
        objects, paths = set(), set()
        for spec in self._receiver_specs:
            if isinstance(spec, str):
                paths.add(_norm_path(spec))
            else:
                objects.add(id(api.receiver_function(spec)))
        if paths or objects:
            listed, connected_ids = _connected_receivers()
            connected = {_norm_path(path) for path in listed}
            for path in paths:
                if path not in connected:
                    raise UnknownName("receiver", path, sorted(connected))
            for spec in self._receiver_specs:
                if not isinstance(spec, str) and id(api.receiver_function(spec)) not in connected_ids:
                    raise UnknownName("receiver", _norm_path(api.receiver_path(spec)), sorted(connected))
        self._objects, self._paths = frozenset(objects), frozenset(paths)
        api.mute_on(self._silences)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        api.mute_off(self._silences)

    def _silences(self, signal: Any, receiver: Any) -> bool:
        if id(signal) in self._signal_ids:
            return True
        func = api.receiver_function(receiver)
        if id(func) in self._objects:
            return True
        return bool(self._paths) and _norm_path(api.receiver_path(func)) in self._paths


# The keyword arguments Django's own signals are sent with (4.2 to 6.x), besides `signal` and `sender`.
_DJANGO_ARGUMENTS = {
    "django.db.models.signals:pre_init": ("args", "kwargs"),
    "django.db.models.signals:post_init": ("instance",),
    "django.db.models.signals:pre_save": ("instance", "raw", "using", "update_fields"),
    "django.db.models.signals:post_save": ("instance", "created", "raw", "using", "update_fields"),
    "django.db.models.signals:pre_delete": ("instance", "using", "origin"),
    "django.db.models.signals:post_delete": ("instance", "using", "origin"),
    "django.db.models.signals:m2m_changed": ("action", "instance", "reverse", "model", "pk_set", "using"),
    "django.core.signals:request_started": ("environ", "scope"),
    "django.core.signals:got_request_exception": ("request",),
    "django.core.signals:setting_changed": ("setting", "value", "enter"),
    "django.contrib.auth.signals:user_logged_in": ("request", "user"),
    "django.contrib.auth.signals:user_logged_out": ("request", "user"),
    "django.contrib.auth.signals:user_login_failed": ("credentials", "request"),
}


def _check_receiver(spec: Any, shown: str, ran: Iterable[str]) -> None:
    """Raise UnknownName (close matches in the spelling given) unless `spec` is or names a receiver
    connected now, or one of the receivers that `ran`."""
    listed, connected_ids = _connected_receivers()
    if not isinstance(spec, str) and id(api.receiver_function(spec)) in connected_ids:
        return
    known = {*listed, *ran}
    paths = {_norm_path(path) for path in known}
    if _receiver_spec_path(spec) in paths:
        return
    raise UnknownName("receiver", shown, sorted(known if ":" in shown else paths))


def _connected_receivers() -> tuple[set[str], set[int]]:
    """Paths (module:qualname, as `signalscope list` shows them), and ids of the functions, of every
    receiver connected to any module-level signal now."""
    return api.connected_receivers()


# -- unittest ----------------------------------------------------------------
class SignalAssertionsMixin:
    """For unittest and Django's TestCase: signal assertions as context managers.

    class SignupTests(SignalAssertionsMixin, TestCase):
        def test_profile(self):
            with self.assertSignalSent("post_save", sender="accounts.Profile", created=True):
                User.objects.create(username="ada")
    """

    def assertSignalSent(self, signal: Any, sender: Any = None, count: int | None = None, **kwargs: Any) -> _Expect:
        """Assert the block (or the decorated function) sends `signal`; the arguments are assert_sent's."""
        return _Expect(lambda rec: rec.assert_sent(signal, sender=sender, count=count, **kwargs))

    def assertSignalNotSent(self, signal: Any, sender: Any = None, **kwargs: Any) -> _Expect:
        """Assert the block (or the decorated function) doesn't send `signal`; the arguments are assert_not_sent's."""
        return _Expect(lambda rec: rec.assert_not_sent(signal, sender=sender, **kwargs))

    def recordSignals(self, *signals: Any, sender: Any = None) -> SignalRecorder:
        """A SignalRecorder, for several assertions on one block."""
        return SignalRecorder(*signals, sender=sender)


class _Expect(_Block):
    """Record a block, then check what it sent (when it didn't raise): the mixin's assertions."""

    def __init__(self, check: Callable[[SignalRecorder], object]) -> None:
        self._check = check
        self._recorder: SignalRecorder | None = None

    def _recreate_cm(self) -> _Expect:
        return _Expect(self._check)  # each call of a decorated function: its own recording

    def __enter__(self) -> SignalRecorder:
        if self._recorder is not None:
            raise UsageError("This assertion block is already recording: make a second one for a block inside it.")
        self._recorder = SignalRecorder()
        return self._recorder.__enter__()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        __tracebackhide__ = True  # pytest: the failure is the caller's line
        rec, self._recorder = self._recorder, None
        if rec is None:
            return
        rec.stop()
        if exc_type is None:
            self._check(rec)

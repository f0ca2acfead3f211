"""Groups of sends: the request, the test or the set-up they were made in, which the trace's tree shows at its roots.

A group is an event of its own (model.trace.GROUP_KINDS) whose id the
recorder makes the parent of every send made inside it, in that thread or
task and the contexts copied from it (recorder.enter_group):

- a **request** runs from Django's ``request_started`` to its
  ``request_finished`` (sent when the response is closed, after it was
  written), on WSGI and ASGI, for the test client too. Its label is the
  request line and status, ``GET /orders/3/ 200``: the path without its
  query string, and with any URL argument whose name looks secret (a
  password-reset token) shown as ``<redacted>``;
- a **test** is a unittest test's ``run`` (its id), or a pytest test's call
  phase (its node id, through tracing.pytest_groups);
- a **setup** is a class's ``setUpClass`` (Django's ``setUpTestData`` runs
  there) or ``tearDownClass``, the test databases' creation and
  destruction by Django's runner, and a pytest test's set-up and tear-down
  (its fixtures).

While a tracer records groups, BaseHandler.get_response(_async) (to read
the status and URL arguments), unittest's TestCase.run and
TestSuite._handleClassSetUp/_tearDownPreviousClass, and Django's
DiscoverRunner.setup_databases/teardown_databases are wrapped, each once the
program has imported its module (none is imported for it); they are put
back when the last one stops. Each wrapper returns, and raises, what the
original does.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..model.trace import TraceEvent
from . import recorder
from .imports import forget, when_imported
from .values import REDACTED, is_secret_name

__all__ = ["CLOSE", "OPEN", "group", "role_of", "subscribe", "unsubscribe"]

OPEN = "open"  # request_started: a request group starts
CLOSE = "close"  # request_finished: it ends

_lock = threading.Lock()
_listeners: tuple[Callable[[TraceEvent], None], ...] = ()
_patched: list[tuple[Any, str, Any, Any]] = []  # (owner, name, original, wrapper)


@dataclass(slots=True)
class _Open:
    """A group still open: what its event will say, and what its context's parent was before it."""

    kind: str
    label: str
    start: int
    thread: int
    previous: Any  # recorder.enter_group's answer, put back when it ends
    parent: int | None  # the group it was opened in
    pid: int
    failed: bool = False


_open: dict[int, _Open] = {}  # by id
_pid = 0


def subscribe(listener: Callable[[TraceEvent], None], pid: int) -> None:
    """Have `listener` get every group event as its group ends (wrapping what groups need on first use)."""
    global _listeners, _pid
    with _lock:
        _listeners = (*_listeners, listener)
        _pid = pid
        first = len(_listeners) == 1
    recorder.refresh()  # request_started and request_finished open and close groups now
    if first:
        _install()


def unsubscribe(listener: Callable[[TraceEvent], None]) -> None:
    """Stop calling `listener`; the wrappers go with the last one."""
    global _listeners
    with _lock:
        if listener not in _listeners:
            return
        index = _listeners.index(listener)
        _listeners = _listeners[:index] + _listeners[index + 1 :]
        last = not _listeners
    recorder.refresh()
    if last:
        _uninstall()


def is_active() -> bool:
    """Return whether a tracer records groups now."""
    return bool(_listeners)


def set_pid(pid: int) -> None:
    """Record the groups made from now on as `pid`'s (a forked child's), and forget the parent's open ones."""
    global _pid
    _pid = pid
    _open.clear()


def role_of(signal: Any) -> str | None:
    """Return OPEN for request_started, CLOSE for request_finished, None for any other signal.

    Nothing is imported: a signal sent before django.core.signals exists is neither.
    """
    module = sys.modules.get("django.core.signals")
    if module is None:
        return None
    if signal is getattr(module, "request_started", None):
        return OPEN
    if signal is getattr(module, "request_finished", None):
        return CLOSE
    return None


# -- the groups themselves ---------------------------------------------------------
def open_group(kind: str, label: str, *, start: int | None = None) -> int:
    """Start a group of `kind` in this context and return its id."""
    gid = recorder.new_id()
    parent = recorder.current_group()
    previous = recorder.enter_group(gid)
    began = time.perf_counter_ns() if start is None else start
    _open[gid] = _Open(kind, label, began, threading.get_ident(), previous, parent, _pid)
    return gid


def close_group(gid: int, *, failed: bool = False, end: int | None = None) -> None:
    """End the group `gid` (opened in this context) and hand its event to the listeners."""
    state = _open.pop(gid, None)
    if state is None:
        return
    if recorder.current_group() == gid:
        recorder.leave_group(state.previous)
    finish = time.perf_counter_ns() if end is None else end
    event = TraceEvent(gid, state.parent, state.kind, "", None, None, "", state.start, finish - state.start,
                       state.thread, outcome="error" if failed or state.failed else "ok", label=state.label,
                       process=state.pid)  # fmt: skip
    for listener in _listeners:
        with contextlib.suppress(Exception):  # a tracer's failure must never reach the program
            listener(event)


@contextmanager
def group(kind: str, label: str) -> Iterator[None]:
    """Group the sends made inside the block (nothing when no tracer records groups)."""
    if not _listeners:
        yield
        return
    gid = open_group(kind, label)
    failed = True
    try:
        yield
        failed = False
    finally:
        close_group(gid, failed=failed)


def in_test() -> bool:
    """Return whether this context is inside a test's group already (pytest's, running a unittest case)."""
    gid = recorder.current_group()
    while gid is not None:
        state = _open.get(gid)
        if state is None:
            return False
        if state.kind == "test":
            return True
        gid = state.parent
    return False


# -- requests, from request_started and request_finished (the tracer calls these) ----
def request_started(record: list[Any]) -> None:
    """Open a request group for the send `record` of request_started, and put that send in it."""
    named = record[recorder.NAMED]
    environ = named.get("environ")
    scope = named.get("scope")
    method = path = "?"
    if type(environ) is dict:
        method, path = str(environ.get("REQUEST_METHOD", "?")), str(environ.get("PATH_INFO", "?"))
    elif type(scope) is dict:
        method, path = str(scope.get("method", "?")), str(scope.get("path", "?"))
    gid = open_group("request", f"{method} {path}", start=record[recorder.START])
    record[recorder.PARENT] = gid
    record[recorder.ROOT] = gid


def request_finished(record: list[Any]) -> None:
    """Close the request group the send `record` of request_finished was made in."""
    gid = record[recorder.PARENT]
    if gid in _open and _open[gid].kind == "request":
        close_group(gid, end=record[recorder.END])


def _responded(request: Any, response: Any) -> None:
    """Label the current request group with what get_response gave: the path, its secrets hidden, and the status."""
    gid = recorder.current_group()
    state = _open.get(gid) if gid is not None else None
    if state is None or state.kind != "request":
        return
    method = request.__dict__.get("method") or state.label.partition(" ")[0]
    path = request.__dict__.get("path") or state.label.partition(" ")[2]
    match = request.__dict__.get("resolver_match")
    arguments = getattr(match, "kwargs", None) if match is not None else None
    if type(arguments) is dict:
        for name, value in arguments.items():
            if is_secret_name(name) and type(value) is str and value:
                path = path.replace(value, REDACTED)
    status = getattr(response, "status_code", None)  # a class attribute unless given: HttpResponse's 200
    state.label = f"{method} {path}" + (f" {status}" if type(status) is int else "")
    if type(status) is int and status >= 500:
        state.failed = True


# -- the wrappers -------------------------------------------------------------------------
def _wrap(owner: Any, name: str, make: Callable[[Any], Any]) -> None:
    original = owner.__dict__.get(name)
    if original is None:
        return
    wrapper = make(original)
    functools.update_wrapper(wrapper, original)
    setattr(owner, name, wrapper)
    _patched.append((owner, name, original, wrapper))


def _install() -> None:
    """Wrap what groups need, each once the program has imported it (tracing.imports): none is imported here."""
    for name, patch in _PATCHES.items():
        when_imported(name, patch)


def _patch_handler(module: Any) -> None:
    def get_response(original: Any) -> Any:
        def wrapper(self: Any, request: Any) -> Any:
            response = original(self, request)
            _responded(request, response)
            return response

        return wrapper

    def get_response_async(original: Any) -> Any:
        async def wrapper(self: Any, request: Any) -> Any:
            response = await original(self, request)
            _responded(request, response)
            return response

        return wrapper

    handler = module.BaseHandler
    _wrap(handler, "get_response", get_response)
    if inspect.iscoroutinefunction(handler.__dict__.get("get_response_async")):
        _wrap(handler, "get_response_async", get_response_async)


def _patch_unittest(module: Any) -> None:
    def test_run(original: Any) -> Any:
        def wrapper(self: Any, result: Any = None) -> Any:
            if in_test() or not _listeners:
                return original(self, result)
            before = _failures(result)
            gid = open_group("test", _test_id(self))
            try:
                outcome = original(self, result)
            except BaseException:
                close_group(gid, failed=True)
                raise
            close_group(gid, failed=_failures(result) > before)
            return outcome

        return wrapper

    def class_step(word: str) -> Callable[[Any], Any]:
        def make(original: Any) -> Any:
            def wrapper(self: Any, test: Any, result: Any) -> Any:
                # As unittest decides: only when the class changes (each is asked at every test).
                previous = getattr(result, "_previousTestClass", None)
                kind = test.__class__ if word == "setUpClass" else previous
                if kind is None or test.__class__ == previous or not _listeners:
                    return original(self, test, result)
                with group("setup", f"{word} {kind.__module__}.{kind.__qualname__}"):
                    return original(self, test, result)

            return wrapper

        return make

    _wrap(module.TestCase, "run", test_run)
    _wrap(module.TestSuite, "_handleClassSetUp", class_step("setUpClass"))
    _wrap(module.TestSuite, "_tearDownPreviousClass", class_step("tearDownClass"))


def _patch_runner(module: Any) -> None:
    def databases(word: str) -> Callable[[Any], Any]:
        def make(original: Any) -> Any:
            def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
                with group("setup", word):
                    return original(self, *args, **kwargs)

            return wrapper

        return make

    _wrap(module.DiscoverRunner, "setup_databases", databases("test databases"))
    _wrap(module.DiscoverRunner, "teardown_databases", databases("test databases, torn down"))


#: What groups wrap, by the module that defines it.
_PATCHES: dict[str, Callable[[Any], None]] = {
    "django.core.handlers.base": _patch_handler,
    "unittest": _patch_unittest,
    "django.test.runner": _patch_runner,
}


def _uninstall() -> None:
    for patch in _PATCHES.values():
        forget(patch)
    while _patched:
        owner, name, original, wrapper = _patched.pop()
        if owner.__dict__.get(name) is wrapper:  # a patch made since stays as it is
            setattr(owner, name, original)
    _open.clear()


def _test_id(test: Any) -> str:
    try:
        return str(test.id())
    except Exception:
        return f"{type(test).__module__}.{type(test).__qualname__}"


def _failures(result: Any) -> int:
    """Count the failures and errors `result` holds so far; 0 for a result that can't say.

    Django's parallel workers keep theirs as events (their errors and
    failures are DummyLists, with no length); any other result is read only
    where it holds plain lists, so that a result of any kind never fails the test.
    """
    count = 0
    for name in ("errors", "failures"):
        found = getattr(result, name, None)
        if type(found) is list:
            count += len(found)
    events = getattr(result, "events", None)
    if type(events) is list:
        count += sum(1 for event in events if type(event) is tuple and event and event[0] in ("addError", "addFailure"))
    return count

"""One namer: `list`'s receiver paths are the names the tracer records (and testing matches), for every kind."""

from __future__ import annotations

import importlib.util
import json
import os
import sys

import pytest
from helpers import FIXTURES, TESTS, clean_env, run

# Run in the project's own process (one django.setup per process): load it as `list` does, then,
# for every live receiver, `list`'s path next to the names the tracer records when it is called,
# both through its own signal with its own sender and through a signal of its own.
AGREEMENT = r"""
import functools, gc, json, sys
import django

from django.apps import apps
from django.conf import settings
from django.dispatch import Signal

from signalscope.introspect import _compat
from signalscope.introspect.naming import describe_receiver, describe_sender, receiver_path
from signalscope.introspect.receivers import _scan
from signalscope.loader import load_project
from signalscope.tracing.tracer import Tracer, known_signals

project = load_project(project=sys.argv[1])
# Receivers get no arguments they need and raise, inside send_robust; Django's log of that reads the
# receiver's __qualname__, which a partial lacks (5.x): the log would raise in turn. Not logged here.
Signal._log_robust_failure = lambda self, receiver, err: None
live = []
_scan(project, live)  # list's connections, each with its live receiver
if django.VERSION < (5, 0):  # 4.2 logs inline, reading __qualname__ itself: give the partials one
    for _conn, obj in live:
        if isinstance(obj, functools.partial):
            obj.__qualname__ = "partial"


def traced_names(send):
    with Tracer(exclude=()) as tracer:
        send()
    return [e.receiver for e in tracer.log().events if e.kind == "call"]


# 1. Every receiver through its own signal, sent by each sender it listens to: Django picks them.
# (First: the signals made below would be found by the scan of live objects `list` makes.)
def sends():  # a function: a module-level name bound to a signal would name it (__main__:signal)
    signals = {path: signal for signal, (path, _short) in known_signals().items()}
    unbound = lambda receiver: getattr(receiver, "__func__", receiver)
    for conn, obj in live:  # a signal kept in a container has no name to find it by: found by its receivers
        if conn.signal not in signals and obj is not None:
            for signal in [o for o in gc.get_objects() if isinstance(o, Signal)]:
                if any(unbound(entry.receiver) is unbound(obj) for entry in _compat.read_entries(signal)):
                    signals[conn.signal] = signal
    # The senders to try: any (None), every model, and every class of the project's modules.
    candidates = [None, *apps.get_models(include_auto_created=True)]
    for module in list(sys.modules.values()):
        if getattr(module, "__file__", None) and project.is_project_file(module.__file__):
            candidates += [v for v in vars(module).values() if isinstance(v, type) and v not in candidates]
    sent = []
    for path, signal in sorted(signals.items()):
        keys = {entry.sender_key for entry in _compat.read_entries(signal)}
        for sender in candidates:
            if sender is None and signal.use_caching:  # model signals: Django needs a sender to cache by
                continue
            if sender is not None and _compat.make_id(sender) not in keys:
                continue
            label = describe_sender(sender) if sender is not None else None
            # Read again before each send: an earlier one may have connected receivers (a storage made
            # by a receiver connects one to setting_changed). From the signal's own entries, named as
            # list names them, not by a whole scan: once a send has run an event loop (async receivers),
            # gc.get_objects() can loop forever on CPython 3.12.0-3.12.4 (gh-122695).
            expected = listed_now(signal, sender)
            names = traced_names(lambda: signal.send_robust(sender=sender))
            sent.append([path, label.label if label else None, sorted(expected), sorted(names)])
    return sent


def listed_now(signal, sender):  # list's paths of the live receivers a send from `sender` calls now
    none = _compat.none_id()
    key = none if sender is None else _compat.make_id(sender)
    found = []
    for entry in _compat.read_entries(signal):
        obj = entry.receiver
        if obj is None:  # dead
            continue
        if entry.has_sender_ref:
            if entry.sender is not sender:
                continue
        elif entry.sender_key not in (none, key):
            continue
        is_async = entry.is_async if entry.is_async is not None else _compat.dispatcher_is_async(obj)
        found.append(describe_receiver(obj, is_async=is_async, relpath=project.relpath).path)
    return found


sent = sends()


# 2. Each receiver alone, on a signal of its own: its name, whatever arguments it needs (send_robust).
def alone(obj):  # a function: a module-level Signal here would be named, and scanned, as the project's
    signal = Signal()
    signal.connect(obj, weak=False)
    names = traced_names(lambda: signal.send_robust(sender=None))
    signal.disconnect(obj)
    return names


alone_names = [[conn.receiver.path, alone(obj)] for conn, obj in live if obj is not None]

# 3. Kinds no fixture connects, on a signal of their own: list's path, the tracer's, and the mute's.
class Owner:
    def method(self, sender, **kwargs):
        pass
class Decorator:  # a class-based decorator, functools.update_wrapper'd
    def __init__(self, func):
        functools.update_wrapper(self, func)
    def __call__(self, *args, **kwargs):
        pass
class MethodDecorator(Decorator):  # one that also binds as a method: a __get__
    def __get__(self, obj, kind=None):
        return self
touched = []
class Lazy:  # a lazy proxy: any attribute it lacks would evaluate it
    def __getattr__(self, name):
        touched.append(name)
        raise AttributeError(name)
    def __call__(self, sender, **kwargs):
        pass
class Made:  # a class as a receiver: calling it makes an instance
    def __init__(self, sender, **kwargs):
        pass
@Decorator
def decorated(sender, **kwargs):
    pass
@MethodDecorator
def method_decorated(sender, **kwargs):
    pass
@functools.lru_cache
def cached(sender):
    pass
owner = Owner()
extra = {
    "partial of a bound method": functools.partial(owner.method, tag="x"),
    "partials of a bound method": functools.partial(functools.partial(owner.method), tag="x"),
    "class-based decorator": decorated,
    "class-based decorator with __get__": method_decorated,
    "lazy proxy": Lazy(),
    "class": Made,
    "partial of a class": functools.partial(Made),
    "lru_cache": cached,
    "builtin": print,
    "bound builtin": [].append,
}
others = {}
settings.DEBUG = False  # connect() refuses a receiver without **kwargs (print) under DEBUG
for name, obj in extra.items():
    touched.clear()
    listed = describe_receiver(obj, is_async=False, relpath=project.relpath).path
    namer = receiver_path(obj)
    assert not touched, (name, touched)  # naming ran nothing of the receiver's
    others[name] = [listed, namer, alone(obj)]
print(json.dumps({"alone": alone_names, "sent": sent, "others": others}))
"""


def _agreement(project: str) -> dict[str, list[list[object]]]:
    env = clean_env(PYTHONPATH=os.pathsep.join([str(TESTS.parent), *sys.path]))
    result = run([sys.executable, "-c", AGREEMENT, str(FIXTURES / project)], cwd=FIXTURES / project, env=env)
    assert result.returncode == 0, result.stderr
    data: dict[str, list[list[object]]] = json.loads(result.stdout)
    return data


@pytest.fixture(scope="module")
def kinds_agreement() -> dict[str, list[list[object]]]:
    return _agreement("kinds")


def test_every_receiver_of_the_kinds_project_is_traced_under_its_list_path(
    kinds_agreement: dict[str, list[list[object]]],
) -> None:
    alone = kinds_agreement["alone"]
    assert len(alone) >= 15, alone
    for listed, traced in alone:
        assert traced == [listed], (listed, traced)
    paths = {listed for listed, _ in alone}
    r = "catalog.receivers:"
    assert {
        r + "author_changed",  # function
        r + "Indexer.on_save",  # bound method
        r + "Stats.bump",  # classmethod
        r + "Stats.touch",  # staticmethod
        r + "make_handler.<locals>.handler",  # nested function
        r + "<lambda>",  # lambda
        r + "book_deleted",  # functools.wraps
        r + "notify_async",  # async function, and a partial of it
        r + "Notifier.__call__",  # callable instance
        r + "on_author",  # pending: a lazy sender that never registers
        r + "on_warehouse",  # a string sender
        r + "on_archived",  # a signal kept in a container
        "kinds.urls:log_request_end",  # connected at URL import
    } <= paths


def test_each_signal_sent_calls_its_listed_receivers_under_their_list_paths(
    kinds_agreement: dict[str, list[list[object]]],
) -> None:
    sent = kinds_agreement["sent"]
    for signal, sender, listed, traced in sent:
        assert traced == listed, (signal, sender)
    senders = {(signal, sender) for signal, sender, _, traced in sent if traced}
    assert {
        ("django.db.models.signals:post_save", "catalog.Author"),
        ("django.db.models.signals:post_save", "catalog.Book"),
        ("django.db.models.signals:m2m_changed", "catalog.Book_authors"),
        ("catalog.signals:audited", None),
        ("catalog.signals:stock_changed", None),
        ("catalog.signals:Inventory.restocked", "catalog.signals:Inventory"),
        ("<unnamed>:Signal#1", None),
    } <= senders, senders


def test_kinds_no_fixture_connects_are_named_alike(kinds_agreement: dict[str, list[list[object]]]) -> None:
    named = {kind: listed for kind, (listed, namer, traced) in kinds_agreement["others"].items()}
    for kind, (listed, namer, traced) in kinds_agreement["others"].items():
        assert listed == namer and traced == [listed], kind
    assert named == {
        "partial of a bound method": "__main__:Owner.method",
        "partials of a bound method": "__main__:Owner.method",
        # What runs is the class's __call__ (list's spelling; the tracer used to say "__main__:decorated").
        "class-based decorator": "__main__:Decorator.__call__",
        "class-based decorator with __get__": "__main__:MethodDecorator.__call__",
        "lazy proxy": "__main__:Lazy.__call__",
        "class": "__main__:Made",
        "partial of a class": "__main__:Made",
        "lru_cache": "__main__:cached",
        "builtin": "builtins:print",
        "bound builtin": "builtins:list.append",
    }


APPS = ("simple_history", "auditlog", "allauth", "reversion", "guardian", "rest_framework")


@pytest.mark.skipif(
    any(importlib.util.find_spec(app) is None for app in APPS),
    reason="fixtures/thirdparty needs the apps of the test extra: pip install -e '.[test]'",
)
def test_every_receiver_of_the_thirdparty_project_is_traced_under_its_list_path() -> None:
    data = _agreement("thirdparty")
    for listed, traced in data["alone"]:
        assert traced == [listed], (listed, traced)
    # django-simple-history connects partial(self.m2m_changed, attr=...) for each m2m field it tracks.
    assert "simple_history.models:HistoricalRecords.m2m_changed" in {listed for listed, _ in data["alone"]}
    m2m = [row for row in data["sent"] if row[:2] == ["django.db.models.signals:m2m_changed", "store.Product_tags"]]
    assert m2m and "simple_history.models:HistoricalRecords.m2m_changed" in m2m[0][3], m2m
    for signal, sender, listed, traced in data["sent"]:
        assert traced == listed, (signal, sender)


def test_the_tracer_keeps_no_receiver_alive_and_forgets_its_name_with_it() -> None:
    code = r"""
import sys; sys.path.insert(0, sys.argv[1])
from trace_snippets import *
import functools, gc, weakref
from signalscope.introspect.naming import receiver_paths
gc.disable()
ping = Signal()
class Owner:
    def method(self, sender, **kw): pass
    def __call__(self, sender, **kw): pass
def make():
    def nested(sender, **kw): pass
    return nested
owner, nested = Owner(), make()
kept = [owner.method, functools.partial(owner.method), owner, nested]
for receiver in kept:
    ping.connect(receiver, weak=False)
with Tracer() as tracer:
    ping.send(sender=None)
assert [e.receiver for e in tracer.log().events if e.kind == "call"] == [
    "__main__:Owner.method", "__main__:Owner.method", "__main__:Owner.__call__", "__main__:make.<locals>.nested"]
refs = [weakref.ref(owner), weakref.ref(nested), weakref.ref(kept[1])]
before = len(receiver_paths)
for receiver in kept:
    ping.disconnect(receiver)
del kept, owner, nested, receiver
print(json.dumps([[ref() is None for ref in refs], before - len(receiver_paths)]))
"""
    result = run([sys.executable, "-c", "import json\n" + code, str(TESTS)])
    assert result.returncode == 0, result.stderr
    freed, forgotten = json.loads(result.stdout)
    assert freed == [True, True, True]  # by reference counting alone: the name cache holds weak references
    assert forgotten == 3  # the partial, the instance and the nested function (the method's function lives on)

"""The tracer: it records sends and receiver calls, and changes nothing about what Django does."""

from __future__ import annotations

import json
import sys

from helpers import FIXTURES, TESTS, python_snippet

PRELUDE = f"import sys; sys.path.insert(0, {str(TESTS)!r})\nfrom trace_snippets import *\n"


def snippet(code: str) -> str:
    return python_snippet(PRELUDE + code)


def test_results_exceptions_and_robust_sends_are_unchanged() -> None:
    out = snippet(
        """
import functools
ping = Signal()
def a(sender, **kw): return ("a", kw["n"])
def boom(sender, **kw): raise ValueError("no")
class C:
    def __call__(self, sender, **kw): return "c"
c = C()
part = functools.partial(lambda sender, tag, **kw: tag, tag="p")
ping.connect(a); ping.connect(c, weak=False); ping.connect(part, weak=False)
plain = ping.send(sender=None, n=1)
plain_robust = ping.send_robust(sender=None, n=1)
with Tracer() as t:
    traced = ping.send(sender=None, n=1)
    traced_robust = ping.send_robust(sender=None, n=1)
    ping.connect(boom)
    robust = ping.send_robust(sender=None, n=2)
    try:
        ping.send(sender=None, n=3)
    except ValueError as exc:
        caught = exc
assert_restored()
assert traced == plain and traced_robust == plain_robust, (traced, plain)
assert [r for r, _ in traced] == [a, c, part]  # the receivers themselves, not wrappers
assert robust[-1][0] is boom and isinstance(robust[-1][1], ValueError)
assert type(caught) is ValueError and str(caught) == "no"
log = t.log()
sends = [e for e in log.events if e.kind == "send"]
print(json.dumps([[e.method, e.outcome, e.error] for e in sends]))
calls = [e for e in log.events if e.kind == "call"][-4:]
print(json.dumps([[e.receiver.split(":")[1], e.outcome, e.error, e.result_type] for e in calls]))
""".replace("json.dumps", "__import__('json').dumps")
    )
    sends, calls = (json.loads(line) for line in out.splitlines())
    assert sends == [
        ["send", "ok", None],
        ["send_robust", "ok", None],
        ["send_robust", "ok", None],
        ["send", "error", "ValueError: no"],
    ]
    assert calls == [
        # A send that raised returns no responses: the types of what ran before are not known.
        ["a", "ok", None, None],
        ["C.__call__", "ok", None, None],
        ["<lambda>", "ok", None, None],
        ["boom", "error", "ValueError: no", None],
    ]


def test_muted_and_unheard_sends_are_recorded_and_nothing_is_patched_after() -> None:
    out = snippet(
        """
ping = Signal()
def a(sender, **kw): return 1
ping.connect(a)
with Tracer() as t:
    ping.send(sender=None)
    saved, ping.receivers = ping.receivers, []   # what factory_boy's mute_signals does
    ping.send(sender=None)
    ping.receivers = saved
    late = Signal()                               # made after the tracer started
    late.send(sender="x")
    assert ping.has_listeners()
assert_restored()
print(__import__('json').dumps([[e.kind, e.outcome, e.signal, e.sender] for e in t.log().events]))
"""
    )
    events = json.loads(out)
    assert [e[:2] for e in events] == [["send", "ok"], ["call", "ok"], ["send", "unheard"], ["send", "unheard"]]
    assert events[0][2] == "__main__:ping" or events[0][2].endswith(":ping")
    assert events[3][3] == "'x'"


def test_tracers_nest_and_the_hooks_go_with_the_last() -> None:
    snippet(
        """
from signalscope.tracing import recorder
ping = Signal()
outer = Tracer().start()
inner = Tracer().start()
ping.send(sender=None)
inner.stop(); inner.stop()
assert recorder.installed(), "the outer tracer still needs the hooks"
ping.send(sender=None)
outer.stop()
assert not recorder.installed()
assert_restored()
assert len(inner.log().events) == 1 and len(outer.log().events) == 2
"""
    )


def test_the_trace_keeps_no_object_alive() -> None:
    snippet(
        """
import gc, weakref
ping = Signal()
class Thing: pass
def a(sender, instance, **kw): return instance
ping.connect(a)
with Tracer(capture_values=True) as t:
    thing = Thing()
    ref = weakref.ref(thing)
    ping.send(sender=Thing, instance=thing)
del thing; gc.collect()
assert ref() is None, "the tracer kept the instance alive"
(send, call) = t.log().events
assert dict(send.kwargs)["instance"] == "<__main__.Thing>"  # by type: the program's repr is not run
"""
    )


def test_values_only_when_asked_and_secrets_redacted() -> None:
    out = snippet(
        """
ping = Signal()
with Tracer() as plain:
    ping.send(sender=None, password="hunter2", amount=5)
with Tracer(capture_values=True) as valued:
    ping.send(sender=None, password="hunter2", amount=5, api_token="abc")
print(__import__('json').dumps([plain.log().events[0].kwargs, valued.log().events[0].kwargs]))
"""
    )
    plain, valued = json.loads(out)
    assert plain == [["amount", "int"], ["password", "str"]]
    assert valued == [["amount", "5"], ["api_token", "<redacted>"], ["password", "<redacted>"]]
    assert "hunter2" not in out and "abc" not in out


def test_parents_are_right_across_threads() -> None:
    snippet(
        """
import threading
outer, inner = Signal(), Signal()
def relay(sender, **kw): inner.send(sender=sender)
def leaf(sender, **kw): return sender
outer.connect(relay); inner.connect(leaf)
with Tracer() as t:
    threads = [threading.Thread(target=outer.send, kwargs={"sender": f"t{i}"}) for i in range(8)]
    for th in threads: th.start()
    for th in threads: th.join()
log = t.log()
by_id = {e.id: e for e in log.events}
inner_sends = [e for e in log.events if e.kind == "send" and e.signal.endswith(":inner")]
assert len(inner_sends) == 8
for send in inner_sends:
    relay_call = by_id[send.parent]
    assert relay_call.kind == "call" and relay_call.receiver.endswith(":relay")
    assert by_id[relay_call.parent].sender == send.sender  # the same thread's outer send
    assert relay_call.thread == send.thread
"""
    )


def test_async_receivers_and_asend() -> None:
    out = snippet(
        """
import asyncio, django
ping = Signal()
async def slow(sender, **kw):
    await asyncio.sleep(0)
    return "async"
def quick(sender, **kw): return "sync"
ping.connect(slow); ping.connect(quick)
with Tracer() as t:
    plain = ping.send(sender=None)
    if django.VERSION >= (5, 0):
        asyncio.run(ping.asend(sender=None))
kinds = sorted((e.receiver.split(":")[1], e.is_async, e.method) for e in t.log().events if e.kind == "call")
untraced = ping.send(sender=None)
same = [r for r, _ in plain] == [r for r, _ in untraced]
print(__import__('json').dumps([django.VERSION[:2], same, kinds]))
"""
    )
    version, same_receivers, calls = json.loads(out)
    assert same_receivers
    if tuple(version) >= (5, 0):
        assert ["slow", True, "asend"] in calls and ["quick", False, "asend"] in calls
        assert ["slow", True, "send"] in calls
    else:  # Django 4.2 calls an async receiver like any other: it returns a coroutine
        assert ["slow", False, "send"] in calls


def test_the_seed_chain_on_the_shop() -> None:
    code = (
        "import os, sys, json\n"
        f"sys.path.insert(0, {str(FIXTURES / 'shop')!r})\n"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'shop.settings'\n"
        "import django; django.setup()\n"
        "from django.conf import settings; settings.DATABASES['default']['NAME'] = ':memory:'\n"
        "from django.core.management import call_command; call_command('migrate', run_syncdb=True, verbosity=0)\n"
        "from django.contrib.auth.models import User\n"
        "import signalscope\n"
        "with signalscope.trace():\n"  # the API function stays callable once the tracing package loads
        "    pass\n"
        "with signalscope.trace() as t:\n"
        "    User.objects.create(username='ada')\n"
        "log = t.log()\n"
        "def tree(parent, depth):\n"
        "    for e in log.children(parent):\n"
        "        label = f\"{e.signal.split(':')[1]}({e.sender})\" if e.kind == 'send' else e.receiver\n"
        "        print('  ' * depth + label)\n"
        "        tree(e.id, depth + 1)\n"
        "tree(None, 0)\n"
    )
    out = python_snippet(code)
    assert out == (
        "pre_save(auth.User)\n"
        "post_save(auth.User)\n"
        "  accounts.signals:create_user_profile\n"
        "    pre_save(accounts.Profile)\n"
        "    post_save(accounts.Profile)\n"
        "      orders.receivers:touch_search_index\n"
        "  accounts.signals:save_user_profile\n"
        "    pre_save(accounts.Profile)\n"
        "    post_save(accounts.Profile)\n"
        "      orders.receivers:touch_search_index\n"
        "  orders.receivers:touch_search_index\n"
    )
    assert sys.executable


def test_opentelemetry_spans_nest_under_the_current_span() -> None:
    out = snippet(
        """
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from signalscope.tracing import otel

memory = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(memory))
outer, inner, hidden = Signal(), Signal(), Signal()
def relay(sender, **kw): inner.send(sender=sender, instance=None)
def leaf(sender, **kw): return 1
def boom(sender, **kw): raise KeyError("k")
def via_hidden(sender, **kw): inner.send(sender=sender)
outer.connect(relay); inner.connect(leaf); hidden.connect(via_hidden)
tracer = otel.instrument(provider, exclude=["hidden"])
assert otel.instrument(provider) is tracer
app = provider.get_tracer("app")
with app.start_as_current_span("request"):
    outer.send(sender="web")
    inner.connect(boom)
    inner.send_robust(sender="web")
    inner.disconnect(boom)
    hidden.send(sender="web")   # left out: its nested send still arrives, under the request
otel.uninstrument()
assert_restored()
spans = memory.get_finished_spans()
by_id = {s.context.span_id: s for s in spans}
def path(span):
    names = []
    while span is not None:
        names.append(span.name)
        span = by_id.get(span.parent.span_id) if span.parent else None
    return "/".join(reversed(names))
print(__import__('json').dumps(
    [[path(s), dict(s.attributes), s.status.status_code.name, [e.name for e in s.events]] for s in spans]
))
assert len({s.context.trace_id for s in spans}) == 1
for span in spans:
    parent = by_id.get(span.parent.span_id) if span.parent else None
    if parent is not None:
        assert parent.start_time <= span.start_time and span.end_time <= parent.end_time, (
            path(span), parent.start_time, span.start_time, span.end_time, parent.end_time)
"""
    )
    spans = {path: (attrs, status, events) for path, attrs, status, events in json.loads(out)}
    assert set(spans) == {
        "request",
        "request/outer",
        "request/outer/__main__:relay",
        "request/outer/__main__:relay/inner",
        "request/outer/__main__:relay/inner/__main__:leaf",
        "request/inner",  # send_robust's, and the one sent from the excluded signal's receiver
        "request/inner/__main__:leaf",
        "request/inner/__main__:boom",
    }
    attrs, status, events = spans["request/inner/__main__:boom"]
    assert status == "ERROR" and events == ["exception"]
    assert attrs["django.signal.receiver"] == "__main__:boom" and attrs["django.signal.kind"] == "call"
    attrs, status, _ = spans["request/outer"]
    assert attrs["django.signal.name"] == "outer" and attrs["django.signal.sender"] == "'web'"
    assert attrs["django.signal.outcome"] == "ok" and status == "UNSET"
    assert spans["request/outer/__main__:relay/inner"][0]["django.signal.kwargs"] == ["instance"]


def test_traced_and_untraced_runs_agree_property() -> None:
    """Hypothesis: any mix of receivers, senders and send methods gives the same results traced and untraced."""
    snippet(
        """
import gc
from hypothesis import given, settings, strategies as st

class Boom(Exception):
    pass

def make(kind, n):
    if kind == "value":
        def r(sender, **kw): return (n, sender, kw.get("x"))
    elif kind == "none":
        def r(sender, **kw): return None
    elif kind == "raise":
        def r(sender, **kw): raise Boom(n)
    elif kind == "nested":
        def r(sender, **kw): return nested.send(sender=sender, x=n)
    r.__qualname__ = f"{kind}_{n}"
    return r

nested = Signal()
nested.connect(lambda sender, **kw: kw["x"] * 2, weak=False)
class A: pass
class B: pass
receivers = st.lists(st.tuples(st.sampled_from(["value", "none", "raise", "nested"]),
                               st.sampled_from([None, A, B])), max_size=6)

def outcome(call):
    try:
        return ("ok", [(getattr(r, "__qualname__", r), v if not isinstance(v, Exception) else repr(v))
                       for r, v in call()])
    except Exception as exc:  # Boom, or Django's own TypeError (a caching signal sent with sender=None)
        return ("raised", repr(exc))

def listeners(signal, sender):
    try:
        return signal.has_listeners(sender)
    except TypeError as exc:  # a caching signal and sender=None: Django's own error, traced or not
        return repr(exc)

@settings(max_examples=150, deadline=None)
@given(receivers, st.sampled_from([None, A, B]), st.sampled_from(["send", "send_robust"]), st.integers(0, 9))
def agree(spec, sender, method, x):
    signal = Signal(use_caching=x % 2 == 0)
    kept = [make(kind, n) for n, (kind, _) in enumerate(spec)]
    for func, (_, only) in zip(kept, spec):
        signal.connect(func, sender=only)
    call = lambda: getattr(signal, method)(sender=sender, x=x)
    before = (outcome(call), listeners(signal, sender), len(signal.receivers))
    with Tracer() as t:
        during = (outcome(call), listeners(signal, sender), len(signal.receivers))
    after = (outcome(call), listeners(signal, sender), len(signal.receivers))
    assert before == during == after, (before, during, after)
    assert_restored()
    log = t.log()
    (top,) = log.children(None)  # the one send; nested sends sit under their receivers
    called = [e.receiver.split(":")[-1] for e in log.children(top.id)]
    if during[0][0] == "ok":
        assert called == [name for name, _ in during[0][1]]
        assert top.outcome == ("ok" if called else "unheard")
        errors = [e.receiver.split(":")[-1] for e in log.children(top.id) if e.outcome == "error"]
        assert errors == [name for name, value in during[0][1] if isinstance(value, str) and "Boom" in value]
    else:  # send raised, and the trace says so
        assert top.outcome == "error" and during[0][1].startswith(top.error.split(":")[0] + "(")
        if top.error.startswith("Boom"):  # the receivers up to the one that raised, that one last
            assert called[-1].startswith("raise_") and log.children(top.id)[-1].outcome == "error"

agree()
print("ok")
"""
    )


def test_parents_are_right_across_100_asyncio_tasks() -> None:
    out = snippet(
        """
import asyncio, django
outer, inner = Signal(), Signal()
async def relay(sender, **kw):
    await asyncio.sleep(0)          # let the other tasks interleave
    if django.VERSION >= (5, 0):
        await inner.asend(sender=sender)
    else:                            # Django 4.2 has no asend: a sync send from the task
        inner.send(sender=sender)
    await asyncio.sleep(0)
async def leaf(sender, **kw):
    await asyncio.sleep(0)
    return sender
outer.connect(relay); inner.connect(leaf)
async def task(i):
    if django.VERSION >= (5, 0):
        await outer.asend(sender=f"t{i}")
    else:
        await relay(sender=f"t{i}")  # 4.2 cannot await receivers through the dispatcher
async def main():
    await asyncio.gather(*(task(i) for i in range(100)))
with Tracer() as t:
    asyncio.run(main())
log = t.log()
by_id = {e.id: e for e in log.events}
inner_sends = [e for e in log.events if e.kind == "send" and e.signal.endswith(":inner")]
assert len(inner_sends) == 100
checked = 0
for send in inner_sends:
    if send.parent is None:
        continue  # 4.2: relay was awaited directly, not through a send
    relay_call = by_id[send.parent]
    assert relay_call.kind == "call" and relay_call.receiver.endswith(":relay"), relay_call
    assert by_id[relay_call.parent].sender == send.sender  # the same task's outer send
    checked += 1
print(django.VERSION >= (5, 0), checked)
"""
    )
    modern, checked = out.split()
    assert checked == ("100" if modern == "True" else "0")


def test_connect_and_disconnect_during_a_trace() -> None:
    out = snippet(
        """
ping = Signal()
log_calls = []
def late(sender, **kw):
    log_calls.append("late"); return "late"
def first(sender, **kw):
    log_calls.append("first")
    ping.connect(late)               # takes effect from the next send
    ping.disconnect(first)           # so does this
    return "first"
def run():
    ping.connect(first)
    results = [[getattr(r, "__name__", r) for r, _ in ping.send(sender=None)] for _ in range(3)]
    ping.disconnect(late)
    return results
untraced = run(); calls_untraced = log_calls[:]; log_calls.clear()
with Tracer() as t:
    traced = run()
assert (traced, log_calls) == (untraced, calls_untraced), (traced, untraced)
calls = [e.receiver.split(":")[1] for e in t.log().events if e.kind == "call"]
print(__import__('json').dumps([traced, calls]))
"""
    )
    traced, calls = json.loads(out)
    assert traced == [["first"], ["late"], ["late"]]
    assert calls == ["first", "late", "late"]


def test_dead_weak_receivers_are_skipped_and_stay_collectable() -> None:
    out = snippet(
        """
import gc, weakref
ping = Signal()
def keep(sender, **kw): return "kept"
def make():
    def temporary(sender, **kw): return "temporary"
    return temporary
temporary = make()
ping.connect(keep); ping.connect(temporary)   # both weak
ref = weakref.ref(temporary)
with Tracer() as t:
    first = [r.__name__ for r, _ in ping.send(sender=None)]
    del temporary; gc.collect()
    assert ref() is None, "the tracer kept a weak receiver alive"
    second = [r.__name__ for r, _ in ping.send(sender=None)]
print(__import__('json').dumps([first, second, [e.receiver.split(":")[1] for e in t.log().events if e.kind == "call"]]))
"""
    )
    first, second, calls = json.loads(out)
    assert first == ["keep", "temporary"] and second == ["keep"]
    assert calls == ["keep", "make.<locals>.temporary", "keep"]


def test_a_scoped_tracer_records_only_its_own_context() -> None:
    out = snippet(
        """
import threading, asyncio
ping = Signal()
ping.connect(lambda sender, **kw: sender, weak=False)
logs = {}
def request(name):
    t = Tracer(scoped=True).start()
    ping.send(sender=name)
    barrier.wait()          # both requests are tracing at once
    ping.send(sender=name)
    logs[name] = t.stop()
barrier = threading.Barrier(2)
threads = [threading.Thread(target=request, args=(n,)) for n in ("a", "b")]
for th in threads: th.start()
for th in threads: th.join()
async def view():            # tasks copy the context: an async view's sends are its own
    await asyncio.gather(*(asyncio.to_thread(ping.send, sender="task") for _ in range(2)))
t = Tracer(scoped=True).start()
asyncio.run(view())
ping.send(sender="direct")
log = t.stop()
other = Tracer(scoped=True)
ping.send(sender="before")   # not started yet: nothing
assert_restored()
print(__import__('json').dumps({
    "a": sorted(e.sender for e in logs["a"].events if e.kind == "send"),
    "b": sorted(e.sender for e in logs["b"].events if e.kind == "send"),
    "main": sorted(e.sender for e in log.events if e.kind == "send"),
}))
"""
    )
    assert json.loads(out) == {"a": ["'a'", "'a'"], "b": ["'b'", "'b'"], "main": ["'direct'", "'task'", "'task'"]}


def test_naming_never_runs_the_programs_code() -> None:
    out = snippet(
        """
ping = Signal()
touched = []
class Proxy:
    def __getattr__(self, name):          # a lazy proxy would evaluate itself here
        touched.append(name)
        raise AttributeError(name)
    def __call__(self, sender, **kw):
        return "called"
receiver = Proxy()
ping.connect(receiver, weak=False)   # Django's connect looks at it (__func__, __code__, ...): not ours
ping.send(sender=None)
touched.clear()
with Tracer() as t:
    result = ping.send(sender=None)
assert result == [(receiver, "called")]
calls = [e.receiver for e in t.log().events if e.kind == "call"]
print(__import__("json").dumps([touched, calls]))
"""
    )
    touched, calls = json.loads(out)
    assert touched == []
    assert calls == ["__main__:Proxy.__call__"]


def test_a_patch_of_signal_send_straddling_a_tracer_stop_is_kept_then_undone() -> None:
    out = snippet(
        """
from unittest import mock
from signalscope.tracing import recorder
ping = Signal()
def a(sender, **kw): return 1
ping.connect(a)
DJANGO_SEND = ORIGINALS["send"]

def clean(step):
    assert not recorder.installed(), step
    assert Signal.send is DJANGO_SEND, (step, Signal.send)
    assert_restored()
    assert ping.send(sender=None) == [(a, 1)], step

# 1. The patch starts inside the trace and ends after it: the mock stays until its own end.
tracer = Tracer().start()
patch = mock.patch.object(Signal, "send", return_value="mocked")
patch.start()
tracer.stop()
assert ping.send(sender=None) == "mocked" and not recorder.installed()
patch.stop()  # puts back what it saw: the tracer's hook, which does nothing and goes on its first call
assert ping.send(sender=None) == [(a, 1)] and Signal.__dict__["send"] is DJANGO_SEND
clean(1)

# 1b. ... or at the next installed(), install() or uninstall().
tracer = Tracer().start()
patch = mock.patch.object(Signal, "send", return_value="mocked")
patch.start()
tracer.stop()
patch.stop()
assert not recorder.installed() and Signal.__dict__["send"] is DJANGO_SEND
clean("1b")

# 2. The patch starts before the trace and ends inside it: Django's send comes back, not the mock.
patch = mock.patch.object(Signal, "send", return_value="mocked")
patch.start()
tracer = Tracer().start()
patch.stop()
tracer.stop()
clean(2)

# 3. As the pytest plugin's phases with pytest-mock: a second tracer starts before the patch ends.
first = Tracer().start()
patch = mock.patch.object(Signal, "send", return_value="mocked")
patch.start()
first.stop()
second = Tracer().start()
patch.stop()
ping.send(sender=None)
second.stop()
assert [e.kind for e in second.log().events] == ["send", "call"]  # still traced meanwhile
clean(3)

# 4. A saved hook put back after the tracer stopped removes itself on its first call.
tracer = Tracer().start()
saved = Signal.__dict__["send"]
tracer.stop()
Signal.send = saved
assert ping.send(sender=None) == [(a, 1)]
clean(4)
print("ok")
"""
    )
    assert out == "ok\n"


def test_a_partial_of_a_bound_method_is_named_by_its_function_as_list_names_it() -> None:
    # django-simple-history connects partial(self.m2m_changed, attr=...): it was 'builtins:method.__call__'.
    out = snippet(
        """
import functools
from signalscope.introspect.naming import describe_receiver
from signalscope.tracing.tracer import receiver_path
class History:
    def m2m_changed(self, sender, attr, **kw): return attr
history = History()
for receiver in (functools.partial(history.m2m_changed, attr="tags"),
                 functools.partial(functools.partial(history.m2m_changed), attr="x"), history.m2m_changed):
    listed = describe_receiver(receiver, is_async=False, relpath=lambda path: path).path
    assert receiver_path(receiver) == listed == "__main__:History.m2m_changed", (receiver_path(receiver), listed)
print("ok")
"""
    )
    assert out == "ok\n"


def test_sender_filters_ignore_case_and_a_named_default_exclusion_is_traced() -> None:
    # As `signalscope list --sender auth.user` matches; and --signal pre_init used to record nothing.
    out = snippet(
        """
import json
from django.contrib.auth.models import Group, User
from django.db.models.signals import post_save, pre_init
def heard(sender, **kw): pass
post_save.connect(heard); pre_init.connect(heard)
with Tracer(senders=["auth.group"]) as by_sender, Tracer(include=["pre_init"]) as by_signal:
    post_save.send(sender=Group, instance=Group(pk=1), created=True)
    post_save.send(sender=User, instance=None, created=True)
print(json.dumps([
    sorted({e.sender for e in by_sender.log().events}),
    sorted({e.signal.rsplit(":", 1)[-1] for e in by_signal.log().events}),
]))
"""
    )
    senders, signals = json.loads(out)
    assert senders == ["auth.Group"]
    assert signals == ["pre_init"]

"""The tracer changes no object's lifetime, and loses no receiver call when asend raises;
the OpenTelemetry exporter exports late sends and keeps nothing forever."""

from __future__ import annotations

import json

import pytest
from helpers import TESTS, python_snippet

PRELUDE = f"import json, sys; sys.path.insert(0, {str(TESTS)!r})\nfrom trace_snippets import *\n"


def snippet(code: str) -> str:
    return python_snippet(PRELUDE + code)


def test_a_send_that_raised_keeps_nothing_alive_without_a_collection() -> None:
    # record -> exception -> traceback -> hook frame -> record was a cycle: the instance and the
    # receivers lived until a cyclic collection. With gc off, they must go by reference counting.
    out = snippet(
        """
import gc, weakref, asyncio
gc.disable()
ping = Signal()
class Thing: pass
def boom(sender, instance, **kw): raise ValueError("no")
async def aboom(sender, instance, **kw): raise KeyError("k")
ping.connect(boom)
def attempt(traced, method):
    thing = Thing()
    ref = weakref.ref(thing)
    tracer = Tracer().start() if traced else None
    try:
        if method == "asend":
            asyncio.run(ping.asend(sender=None, instance=thing))
        else:
            ping.send(sender=None, instance=thing)
    except Exception:
        pass
    if tracer is not None:
        tracer.stop()
    del thing
    return ref() is None
results = {"send": [attempt(False, "send"), attempt(True, "send")]}
if hasattr(Signal, "asend"):
    ping.disconnect(boom); ping.connect(aboom)
    results["asend"] = [attempt(False, "asend"), attempt(True, "asend")]
assert_restored()
print(json.dumps(results))
"""
    )
    for method, (untraced, traced) in json.loads(out).items():
        assert traced == untraced, f"{method}: freed untraced={untraced}, traced={traced}"
    assert json.loads(out)["send"] == [True, True]


def test_when_asend_raises_the_other_receivers_calls_and_their_sends_are_kept() -> None:
    out = snippet(
        """
import asyncio, django
if django.VERSION < (5, 0):
    print(json.dumps(None)); raise SystemExit
outer, inner = Signal(), Signal()
async def fails_at_once(sender, **kw): raise KeyError("k")
async def slow(sender, **kw):
    await asyncio.sleep(0.05)
    await inner.asend(sender="slow")
    return "slow done"
def sync_side(sender, **kw):
    import time; time.sleep(0.05)
    inner.send(sender="sync")
def leaf(sender, **kw): return 1
outer.connect(fails_at_once); outer.connect(slow); outer.connect(sync_side); inner.connect(leaf)
async def main():
    try:
        await outer.asend(sender="web")
    except KeyError:
        pass
    await asyncio.sleep(0.3)   # the others finish after asend has raised
with Tracer() as t:
    asyncio.run(main())
assert_restored()
events = t.log().events
by_id = {e.id: e for e in events}
def short(path): return path and path.rsplit(":", 1)[-1]
rows = []
for e in events:
    parent = by_id.get(e.parent)
    up = short(parent.receiver) if parent is not None and parent.kind == "call" else (parent and parent.kind)
    rows.append([e.kind, short(e.signal) if e.kind == "call" else e.sender, short(e.receiver), e.outcome, up])
from django.dispatch import dispatcher
# Django 6.1+ runs async receivers in a TaskGroup: the first failure cancels the others (and waits
# for them); before, asyncio.gather let them run on after asend had raised.
print(json.dumps({"rows": rows, "taskgroup": hasattr(dispatcher, "_run_parallel")}))
"""
    )
    result = json.loads(out)
    if result is None:
        pytest.skip("asend arrived in Django 5.0")
    rows, taskgroup = result["rows"], result["taskgroup"]
    calls = {row[2]: row for row in rows if row[0] == "call"}
    assert {"fails_at_once", "slow", "sync_side"} <= set(calls), rows
    # Cancelled by the TaskGroup, `slow` ends in CancelledError: recorded as it happened.
    slow = "error" if taskgroup else "ok"
    assert calls["fails_at_once"][3] == "error" and calls["slow"][3] == slow and calls["sync_side"][3] == "ok"
    sends = [row for row in rows if row[0] == "send"]
    roots = [row for row in sends if row[4] is None]
    assert [row[1] for row in roots] == ["'web'"], f"nested sends became roots: {rows}"
    inner_parents = sorted(row[4] for row in sends if row[1] in ("'slow'", "'sync'"))
    assert inner_parents == (["sync_side"] if taskgroup else ["slow", "sync_side"])


def test_a_receiver_traceback_gains_no_frame_when_asend_runs_sync_receivers() -> None:
    out = snippet(
        """
import asyncio, traceback, django
if django.VERSION < (5, 0):
    print(json.dumps(None)); raise SystemExit
ping = Signal()
def boom(sender, **kw): raise ValueError("no")
ping.connect(boom)
def frames(traced):
    tracer = Tracer().start() if traced else None
    try:
        asyncio.run(ping.asend(sender=None))
    except ValueError as exc:
        names = [(f.filename.rsplit("/", 1)[-1], f.name) for f in traceback.extract_tb(exc.__traceback__)]
    if tracer is not None:
        tracer.stop()
    return names
print(json.dumps([frames(False), frames(True)]))
"""
    )
    frames = json.loads(out)
    if frames is None:
        pytest.skip("asend arrived in Django 5.0")
    _, traced = frames
    assert not [frame for frame in traced if frame[0] == "recorder.py" and frame[1] == "traced"], traced


def test_opentelemetry_exports_sends_made_by_tasks_after_their_tree() -> None:
    out = snippet(
        """
import asyncio, django
if django.VERSION < (5, 0):
    print(json.dumps(None)); raise SystemExit
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from signalscope.tracing import otel
memory = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(memory))
outer, later, leafsig = Signal(), Signal(), Signal()
tasks = []
async def spawner(sender, **kw):
    async def afterwards():
        await asyncio.sleep(0.02)
        await later.asend(sender="task")
    tasks.append(asyncio.get_running_loop().create_task(afterwards()))
async def on_later(sender, **kw):
    await leafsig.asend(sender="leaf")
def on_leaf(sender, **kw): return 1
outer.connect(spawner); later.connect(on_later); leafsig.connect(on_leaf)
tracer = otel.instrument(provider)
exporter = tracer.on_send
async def main():
    await outer.asend(sender="web")
    await asyncio.gather(*tasks)
asyncio.run(main())
otel.uninstrument()
spans = memory.get_finished_spans()
by_id = {s.context.span_id: s for s in spans}
def path(span):
    names = []
    while span is not None:
        names.append(span.name.rsplit(":", 1)[-1])
        span = by_id.get(span.parent.span_id) if span.parent is not None else None
    return "/".join(reversed(names))
print(json.dumps([sorted(path(s) for s in spans), len(exporter._pending)]))
"""
    )
    result = json.loads(out)
    if result is None:
        pytest.skip("asend arrived in Django 5.0")
    paths, pending = result
    assert pending == 0, "sends were left in the exporter's pending table"
    assert "outer/spawner/later/on_later/leafsig/on_leaf" in paths, paths

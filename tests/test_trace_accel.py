"""The C accelerator (tracing/_accel.c) against the pure Python it replaces.

It is built by `pip install -e .` wherever a C compiler is found (setup.py), and
SIGNALSCOPE_PURE_PYTHON=1 turns it off. CI runs one whole compatibility run
with it off (.ci/run), so both paths pass the whole suite; here the two are
compared on the same sends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from helpers import TESTS, python_snippet


def _not_built() -> None:
    if os.environ.get("SIGNALSCOPE_PURE_PYTHON"):
        pytest.skip("the C accelerator is turned off (SIGNALSCOPE_PURE_PYTHON)")
    if os.environ.get("SIGNALSCOPE_REQUIRE_ACCEL"):
        pytest.fail("the C accelerator is not built, and SIGNALSCOPE_REQUIRE_ACCEL is set (CI)")
    pytest.skip("the C accelerator is not built here (no C compiler when installed)")


PRELUDE = f"import json, sys; sys.path.insert(0, {str(TESTS)!r})\nfrom trace_snippets import *\n"

# Every kind of send the tracer meets: model signals with their details (a delete's origin, m2m's
# pk_set go to details_of), every kind of sender, receivers that return values or raise (send_robust),
# bound methods, async receivers (asend, Django 5.0+), kwargs of unbound local types, str and uuid pks.
WORKLOAD = """
import asyncio, uuid
import django
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.db.models.signals import post_save, pre_save, pre_delete, m2m_changed
call_command("migrate", verbosity=0, run_syncdb=True)
ping = Signal()
class Holder:
    def method(self, sender, **kw): return "text"
holder = Holder()
def returns(sender, **kw): return 7
def raises(sender, **kw): raise ValueError("boom")
async def later(sender, **kw): return 1
ping.connect(returns, weak=False)
ping.connect(holder.method)
def local_kind():
    class Local: pass
    return Local()
for signal in (pre_save, post_save, pre_delete, m2m_changed):
    signal.connect(returns, weak=False)
def workload():
    group = Group.objects.create(name="g")
    group.name = "h"
    group.save(update_fields=["name"])
    user = User.objects.create(username="u")
    user.groups.add(group)
    group.delete()
    for sender in (Group, "a-string", 7, Group(name="x", id=4), holder, None):
        ping.send(sender=sender, instance=Group(name="y", id=5), value=local_kind(), number=3)
    ping.send(sender=Group, instance=Group(name="z", id=uuid.UUID(int=5)))
    ping.send(sender=Group, instance=Group(name="z", id="text-pk"))
    ping.connect(raises, weak=False)
    ping.send_robust(sender=Group, instance=holder)
    try:
        ping.send(sender=Group)
    except ValueError:
        pass
    ping.disconnect(raises)
    if django.VERSION >= (5, 0):
        ping.connect(later, weak=False)
        ping.send(sender="async")
        asyncio.run(ping.asend(sender="async"))
        ping.disconnect(later)
"""


def test_the_c_packing_gives_pure_pythons_answer_on_every_kind_of_send() -> None:
    out = python_snippet(
        PRELUDE
        + WORKLOAD
        + """
from signalscope.tracing import packing, recorder
if packing.accel is None:
    print(json.dumps({"built": False})); raise SystemExit
seen = []
def compare(record):
    path, details = "x.y", packing.detail_names(record[2])
    for first in ("c", "py"):  # each one first half of the time: the caches are shared
        packing.clear()
        one = packing.accel.pack(record, path, details) if first == "c" else packing.pack_py(record, path, details)
        other = packing.pack_py(record, path, details) if first == "c" else packing.accel.pack(record, path, details)
        assert one == other, (one, other)
    seen.append(packing.pack_py(record, path, details)[3])
recorder.subscribe(compare)
with Tracer():
    workload()
recorder.unsubscribe(compare)
assert_restored()
print(json.dumps({"built": True, "sends": len(seen)}))
"""
    )
    found = json.loads(out)
    if not found["built"]:
        _not_built()
    assert found["sends"] > 20


def _trace(pure: bool) -> list[dict[str, object]]:
    env = {**os.environ}
    env.pop("SIGNALSCOPE_PURE_PYTHON", None)
    if pure:
        env["SIGNALSCOPE_PURE_PYTHON"] = "1"
    code = (
        PRELUDE
        + WORKLOAD
        + """
import dataclasses
from signalscope.tracing import packing, recorder
with Tracer() as tracer:
    workload()
assert_restored()
events = [{k: v for k, v in dataclasses.asdict(e).items() if k not in ("start_ns", "duration_ns", "thread", "process")}
          for e in tracer.log().events]
print(json.dumps({"c": recorder._hooks_in_c, "events": events}))
"""
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["c"] is not pure or not found["c"]
    if not pure and not found["c"]:
        _not_built()
    return found["events"]  # type: ignore[no-any-return]


def test_a_trace_made_in_c_is_the_trace_pure_python_makes_but_for_its_clock() -> None:
    accelerated, pure = _trace(pure=False), _trace(pure=True)
    assert accelerated == pure
    assert {e["kind"] for e in pure} >= {"send", "call"}
    assert any(e["error"] for e in pure) and any(e["details"] for e in pure)


def test_the_c_hooks_are_descriptors_as_djangos_methods_are_and_go_exactly() -> None:
    out = python_snippet(
        PRELUDE
        + """
import inspect, weakref
from signalscope.tracing import recorder
ping = Signal()
ping.connect(lambda sender, **kw: 1, weak=False)
with Tracer():
    hook = Signal.__dict__["send"]
    bound = ping.send
    facts = {
        "c": recorder._hooks_in_c,
        "name": Signal.send.__name__, "qualname": Signal.send.__qualname__,
        "wrapped": Signal.send.__wrapped__ is ORIGINALS["send"],
        "signature": str(inspect.signature(Signal.send)),
        "bound": bound.__self__ is ping,
        "unbound call": len(Signal.send(ping, sender=None)),
        "positional sender": len(ping.send(None)),
        "weak": weakref.ref(hook)() is hook,
    }
    for call in (lambda: ping.send(), lambda: ping.send(None, sender=None), lambda: ping.send(None, None)):
        try:
            call()
        except TypeError as exc:
            facts.setdefault("errors", []).append(str(exc))
assert_restored()
print(json.dumps(facts))
"""
    )
    facts = json.loads(out)
    if not facts["c"] and not os.environ.get("SIGNALSCOPE_PURE_PYTHON"):
        _not_built()
    assert facts.pop("errors") == [  # Django's own messages: the call went to Django's method as it is
        "Signal.send() missing 1 required positional argument: 'sender'",
        "Signal.send() got multiple values for argument 'sender'",
        "Signal.send() takes 2 positional arguments but 3 were given",
    ]
    assert facts == {
        "c": facts["c"],
        "name": "send",
        "qualname": "Signal.send",
        "wrapped": True,
        "signature": "(self, sender, **named)",
        "bound": True,
        "unbound call": 1,
        "positional sender": 1,
        "weak": True,
    }

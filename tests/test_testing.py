"""signalscope.testing on its own: names, matching, and every failure message."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from helpers import FIXTURES, TESTS, python_snippet, run

PRELUDE = f"import sys; sys.path.insert(0, {str(TESTS)!r})\nfrom trace_snippets import *\n"


def test_recorder_assertions_and_messages() -> None:
    out = python_snippet(
        PRELUDE
        + """
from django.db.models.signals import post_save, pre_save
from django.contrib.auth.models import Group
from signalscope.testing import SignalRecorder, SignalAssertionError, mute, resolve_signal
from signalscope.errors import UnknownName, UsageError

ping = Signal()
def a(sender, **kw): return 1
def b(sender, **kw): return 2
def c(sender, **kw): return 3
ping.connect(a); ping.connect(b); pre_save.connect(c)  # c is connected, and never runs in the block

def fails(call):
    try:
        call()
    except SignalAssertionError as exc:
        return str(exc)
    raise SystemExit(f"did not fail: {call}")

with SignalRecorder() as rec:
    ping.send(sender=Group, n=1)
    ping.send(sender="x", n=2)
    inside = len(rec.all_sends)
assert inside == 2  # readable inside the block too
rec.assert_sent(ping, sender=Group, n=1, count=1)
rec.assert_sent(ping, n=lambda v: v > 1)
rec.assert_sent("__main__:ping", sender="auth.group")  # labels compare case-insensitively
rec.assert_order([ping, (ping, "'x'")])
rec.assert_receiver_ran(a, count=2)
rec.assert_receiver_ran("__main__.b")
rec.assert_not_sent(post_save)
assert rec.calls(ping) == [{"n": 1}, {"n": 2}]

print(fails(lambda: rec.assert_sent(ping, sender=Group, n=5)))
print("--")
print(fails(lambda: rec.assert_sent(pre_save)))
print("--")
print(fails(lambda: rec.assert_not_sent(ping, n=2)))
print("--")
print(fails(lambda: rec.assert_order([(ping, "'x'"), (ping, Group)])))
print("--")
print(fails(lambda: rec.assert_receiver_ran("__main__:c")))
print("--")
print(fails(lambda: rec.assert_sent(ping, count=3)))
print("--")
for bad in ("post_sav", "nowhere:ping", 42):
    try:
        resolve_signal(bad)
    except (UnknownName, UsageError) as exc:
        print(exc.message, exc.hint)
print("--")
with mute(receivers=[a]):
    assert [r for r, _ in ping.send(sender=None)] == [b] and ping.has_listeners()
with mute(ping):
    assert ping.send(sender=None) == []
with mute(receivers=["__main__:b"]), mute(receivers=["__main__.a"]):
    assert ping.send(sender=None) == []
assert [r for r, _ in ping.send(sender=None)] == [a, b]
assert_restored()
"""
    )
    blocks = out.split("--\n")
    assert blocks[0] == (
        "Expected ping(sender=auth.Group) with n=5 to be sent at least once, but it was sent 0 times.\n"
        "1 send of ping(sender=auth.Group) differed:\n"
        "  #1: n=1 (expected 5)\n"
        "Sent during the block: ping(sender=auth.Group) x1, ping(sender='x') x1.\n"
    )
    assert blocks[1].startswith("Expected pre_save to be sent at least once, but it was sent 0 times.\n")
    assert blocks[2].startswith("Expected ping with n=2 not to be sent, but it was sent 1 time.\n")
    assert blocks[3] == (
        "Expected the sends ping(sender='x'), ping(sender=auth.Group) in this order; "
        "ping(sender=auth.Group) (step 2) never came after the ones before it.\n"
        "The sends, in order: ping(sender=auth.Group), ping(sender='x')\n"
    )
    assert blocks[4] == (
        "Expected receiver __main__:c to run at least once, but it ran 0 times.\n"
        "Receivers that ran during the block: __main__:a x2, __main__:b x2.\n"
    )
    assert blocks[5].startswith("Expected ping to be sent 3 times, but it was sent 2 times.\n")
    assert blocks[6].splitlines() == [
        "Unknown signal 'post_sav'. Did you mean 'post_save' or 'pre_save' or 'post_migrate'?",
        "Unknown signal 'nowhere:ping'. None",
        "Not a signal: 42. Give a Signal, or a name such as 'post_save'. None",
    ]


ASYNC_TESTS = '''
"""Async test methods under mute: Django's TestCase (awaited through async_to_sync) and unittest's."""
import unittest

from django.contrib.auth.models import User
from django.db.models.signals import post_save
from django.dispatch import Signal
from django.test import TestCase

from signalscope.testing import mute
from signalscope.tracing import recorder

from .models import Profile

ping = Signal()


def pong(sender, **kwargs):
    return "pong"


ping.connect(pong)
RAN = []


class AsyncMuteTests(TestCase):
    @mute(receivers=["accounts.signals:create_user_profile", "accounts.signals:save_user_profile"])
    async def test_a_muted_body_runs_muted(self):
        RAN.append("django")
        await User.objects.acreate(username="ada")
        self.assertFalse(await Profile.objects.aexists())

    @mute(post_save)
    async def test_b_a_failing_body_fails(self):
        RAN.append("failing")
        raise AssertionError("the async body ran")

    def test_c_unmuted_after(self):
        User.objects.create(username="cy")
        self.assertTrue(Profile.objects.exists())
        self.assertFalse(recorder.installed())


class PlainAsyncMuteTests(unittest.IsolatedAsyncioTestCase):
    @mute(ping)
    async def test_a_muted_body_runs_muted(self):
        RAN.append("unittest")
        self.assertEqual(ping.send(sender=None), [])

    def test_b_unmuted_after(self):
        self.assertEqual(ping.send(sender=None), [(pong, "pong")])
        self.assertEqual(sorted(RAN), ["django", "failing", "unittest"])
'''


def test_mute_on_async_test_methods_runs_the_body_muted(tmp_path: Path) -> None:
    folder = tmp_path / "shop"
    shutil.copytree(FIXTURES / "shop", folder, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    (folder / "accounts" / "test_async_mute.py").write_text(ASYNC_TESTS)
    result = run(
        [sys.executable, "-W", "error::RuntimeWarning", "manage.py", "test", "accounts.test_async_mute", "-v", "2"],
        cwd=folder,
        timeout=180,
    )
    # The failing body shows the body ran (a vacuous pass said OK); the others check the mute and its end.
    assert "Ran 5 tests" in result.stderr, result.stderr
    assert "FAILED (failures=1)" in result.stderr, result.stderr
    assert "AssertionError: the async body ran" in result.stderr
    assert "never awaited" not in result.stderr
    assert result.returncode == 1


def test_mute_keeps_coroutine_functions_coroutine_functions() -> None:
    out = python_snippet(
        PRELUDE
        + """
import asyncio, inspect
from signalscope.testing import mute, SignalAssertionsMixin
from signalscope.tracing import recorder
from signalscope.errors import UsageError

ping = Signal()
def a(sender, **kw): return 1
ping.connect(a)

@mute(ping)
async def muted(fail):
    await asyncio.sleep(0)
    assert recorder.installed() and ping.send(sender=None) == []
    if fail:
        raise ValueError("boom")
    return "done"

assert inspect.iscoroutinefunction(muted)
assert asyncio.run(muted(False)) == "done"
try:
    asyncio.run(muted(True))
except ValueError:
    pass
assert not recorder.installed() and ping.send(sender=None) == [(a, 1)]

# The mixin's assertions work as decorators of coroutine functions too.
class T(SignalAssertionsMixin):
    pass
expect = T().assertSignalSent(ping, count=1)

@expect
async def sends():
    await asyncio.sleep(0)
    ping.send(sender=None)

assert inspect.iscoroutinefunction(sends)
asyncio.run(sends())

@expect
async def sends_nothing():
    await asyncio.sleep(0)

try:
    asyncio.run(sends_nothing())
except AssertionError as exc:
    assert "Expected ping to be sent 1 time, but it was sent 0 times." in str(exc)
else:
    raise SystemExit("an async block that sent nothing passed")

# A generator function would leave the block before its body runs: refused.
for make in ("def g():\\n    yield 1\\n", "async def g():\\n    yield 1\\n"):
    scope = {}
    exec(make, scope)
    try:
        mute(ping)(scope["g"])
    except UsageError as exc:
        print(exc.message)
assert_restored()
"""
    )
    assert out.splitlines() == [
        "mute can't decorate the generator function g: its body runs after the call returns, outside the block. "
        "Use `with mute(...):` inside it.",
        "mute can't decorate the async generator function g: its body runs after the call returns, outside the "
        "block. Use `with mute(...):` inside it.",
    ]


def test_unknown_senders_and_unconnected_receivers_are_errors() -> None:
    out = python_snippet(
        PRELUDE
        + """
from django.contrib.auth.models import Group, User
from django.db.models.signals import post_save
from signalscope.testing import SignalRecorder, mute
from signalscope.errors import UnknownName
from signalscope.tracing import recorder

ping = Signal()
def a(sender, **kw): return 1
def never_connected(sender, **kw): return 2
ping.connect(a)
ping.connect(a, sender=Group, dispatch_uid="a-for-group")

def error(call):
    try:
        call()
    except UnknownName as exc:
        return f"{exc.message} {exc.hint}"
    raise SystemExit(f"did not fail: {call}")

print(error(lambda: SignalRecorder(sender="auth.Usr").__enter__()))
print(error(lambda: mute(receivers=[never_connected]).__enter__()))
assert not recorder.installed()
with SignalRecorder() as rec:
    ping.send(sender=Group)
    ping.send(sender="shop")
print(error(lambda: rec.assert_not_sent(ping, sender="auth.Gruop")))
print(error(lambda: rec.assert_sent(ping, sender="auth.Gruop")))
print(error(lambda: rec.calls(ping, sender="<AppConfig: auht>")))
print(error(lambda: rec.assert_order([(ping, "shop")])))
# Every label a sender can have is accepted: models (any case), app configs, classes and
# functions by path, instances by class, plain values by repr(), and what was sent.
rec.assert_not_sent(ping, sender="auth.USER")
rec.assert_not_sent(ping, sender="<AppConfig: auth>")
rec.assert_not_sent(ping, sender="django.contrib.auth.models:UserManager")
rec.assert_not_sent(ping, sender="<django.contrib.auth.models.UserManager instance>")
rec.assert_not_sent(ping, sender="42")
rec.assert_sent(ping, sender="'shop'")
with SignalRecorder(sender="auth.group") as rec, mute(receivers=[a]):
    ping.send(sender=Group)
rec.assert_sent(ping, count=1)
assert_restored()
"""
    )
    assert out.splitlines() == [
        "Unknown sender 'auth.Usr'. Did you mean 'auth.User' or 'auth.User_groups' or 'auth.Group'?",  # as `list`
        "Unknown receiver '__main__.never_connected'. None",
        "Unknown sender 'auth.Gruop'. Did you mean 'auth.Group' or 'auth.User' or 'auth.User_groups'?",
        "Unknown sender 'auth.Gruop'. Did you mean 'auth.Group' or 'auth.User' or 'auth.User_groups'?",
        "Unknown sender '<AppConfig: auht>'. Did you mean '<AppConfig: auth>' or '<AppConfig: contenttypes>'?",
        "Unknown sender 'shop'. Did you mean \"'shop'\"?",
    ]


def test_a_reentered_recorder_is_refused_and_leaves_nothing_installed() -> None:
    out = python_snippet(
        PRELUDE
        + """
from signalscope.testing import SignalRecorder
from signalscope.errors import UsageError
from signalscope.tracing import recorder

ping = Signal()
rec = SignalRecorder()
try:
    with rec:
        with rec:
            pass
except UsageError as exc:
    print(exc.message)
assert not recorder.installed()
assert_restored()
with rec:  # one after another is fine
    ping.send(sender=None)
rec.assert_sent(ping, count=1)
assert not recorder.installed()
assert_restored()
"""
    )
    assert out == "This SignalRecorder is already recording: use a second one to record a block inside it.\n"


def test_assertions_that_would_pass_on_a_typo_are_errors() -> None:
    # count=0 of a receiver nobody connected, and "not sent with craeted=True", passed whatever happened.
    out = python_snippet(
        PRELUDE
        + """
from django.contrib.auth.models import Group
from django.db.models.signals import post_save
from signalscope.testing import SignalRecorder
from signalscope.errors import UnknownName

ping = Signal()
def on_ping(sender, amount, **kw): return amount
def never_connected(sender, **kw): return 2
ping.connect(on_ping)

def error(call):
    try:
        call()
    except UnknownName as exc:
        return f"{exc.message} {exc.hint}"
    raise SystemExit(f"did not fail: {call}")

with SignalRecorder() as rec:
    ping.send(sender=None, amount=3)
print(error(lambda: rec.assert_receiver_ran("__main__:on_pnig", count=0)))
print(error(lambda: rec.assert_receiver_ran(never_connected, count=0)))
print(error(lambda: rec.assert_not_sent(ping, amuont=3)))
print(error(lambda: rec.assert_not_sent(post_save, sender="auth.Group", craeted=True)))
# What exists still passes or fails as it should.
rec.assert_receiver_ran(on_ping, count=1)
rec.assert_not_sent(ping, amount=4)
rec.assert_not_sent(post_save, sender="auth.Group", created=True)
print("ok")
"""
    )
    lines = out.splitlines()
    assert lines[0] == "Unknown receiver '__main__:on_pnig'. Did you mean '__main__:on_ping'?"
    assert lines[1].startswith("Unknown receiver '__main__:never_connected'.")
    assert lines[2] == "Unknown argument of ping 'amuont'. Did you mean 'amount'?"
    assert lines[3] == "Unknown argument of post_save 'craeted'. Did you mean 'created'?"
    assert lines[4] == "ok"

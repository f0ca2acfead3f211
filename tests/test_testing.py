"""signalscope.testing on its own: names, matching, and every failure message."""

from __future__ import annotations

from helpers import TESTS, python_snippet

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
ping.connect(a); ping.connect(b)

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

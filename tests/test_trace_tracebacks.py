"""A receiver's exception, raised or logged by send_robust, has the same traceback traced and untraced."""

from __future__ import annotations

import json
from typing import Any

import pytest
from helpers import TESTS, django_version, python_snippet

PRELUDE = (
    f"import sys; sys.path.insert(0, {str(TESTS)!r})\nfrom trace_snippets import *\n"
    + """
import asyncio, json, logging, traceback
from django.contrib.auth.models import User
from django.db.models.signals import post_save

def frames(tb):
    return [(f.filename, f.name, f.line) for f in traceback.extract_tb(tb)]

def raised(call):
    try:
        call()
    except Exception as exc:
        return frames(exc.__traceback__)
    raise AssertionError("nothing raised")

class Logged(logging.Handler):
    def __init__(self):
        super().__init__()
        self.seen = []
    def emit(self, record):
        self.seen.append(frames(record.exc_info[2]))
logged = Logged()
logging.getLogger("django.dispatch").addHandler(logged)

def both(call):
    # (untraced, traced) frames of what `call` raises and of what send_robust logs meanwhile
    out = []
    for tracing in (False, True):
        logged.seen.clear()
        tracer = Tracer().start() if tracing else None
        try:
            out.append((call(), list(logged.seen)))
        finally:
            if tracer is not None:
                tracer.stop()
    return out
"""
)


def compare(code: str) -> list[Any]:
    """Run `code` (which prints json of both(...)) and return the untraced and the traced result."""
    out: list[Any] = json.loads(python_snippet(PRELUDE + code))
    assert len(out) == 2
    return out


def test_a_receivers_exception_has_the_same_traceback_traced() -> None:
    untraced, traced = compare(
        """
def boom(sender, **kwargs):
    raise ValueError("no")
post_save.connect(boom, sender=User)
def nested(sender, **kwargs):
    post_save.send(sender=User, instance=None, created=True)
ping = Signal()
ping.connect(nested)
print(json.dumps(both(lambda: [raised(lambda: post_save.send(sender=User, instance=None, created=True)),
                              raised(lambda: ping.send(sender=None)),
                              raised(lambda: post_save.send())])))  # a TypeError at the call itself
"""
    )
    assert traced == untraced
    direct = untraced[0][0]
    # Django 4.2's send calls receivers in a list comprehension: its own frame before Python 3.12.
    assert [name for _, name, _ in direct if name != "<listcomp>"] == ["raised", "<lambda>", "send", "boom"]
    assert all("signalscope" not in filename for filename, _, _ in direct)


def test_send_robusts_logged_traceback_is_the_same_traced() -> None:
    untraced, traced = compare(
        """
def boom(sender, **kwargs):
    raise ValueError("no")
post_save.connect(boom, sender=User)
def robust():
    responses = post_save.send_robust(sender=User, instance=None, created=True)
    return [frames(r.__traceback__) for _, r in responses if isinstance(r, Exception)]
print(json.dumps(both(robust)))
"""
    )
    assert traced == untraced
    returned, logged = untraced
    assert logged == returned and [name for _, name, _ in logged[0]] == ["send_robust", "boom"]


@pytest.mark.skipif(django_version() < (5, 0), reason="asend and async receivers arrived in Django 5.0")
def test_async_sends_and_async_receivers_have_the_same_tracebacks_traced() -> None:
    untraced, traced = compare(
        """
async def aboom(sender, **kwargs):
    raise ValueError("async no")
def boom(sender, **kwargs):
    raise ValueError("no")
asig, ssig = Signal(), Signal()
asig.connect(aboom)
ssig.connect(boom)
def asend_raises():
    return raised(lambda: asyncio.run(asig.asend(sender=None)))
def robust(signal, method):
    if method == "asend_robust":
        responses = asyncio.run(signal.asend_robust(sender=None))
    else:
        responses = signal.send_robust(sender=None)
    return [frames(r.__traceback__) for _, r in responses if isinstance(r, Exception)]
print(json.dumps(both(lambda: [asend_raises(), raised(lambda: asig.send(sender=None)),
                              robust(asig, "send_robust"), robust(asig, "asend_robust"),
                              robust(ssig, "asend_robust")])))
"""
    )
    assert traced == untraced
    assert untraced[0][0][-1][1] == "aboom" and len(untraced[1]) == 3  # three sends logged

"""Senders that gc does not track (strings, numbers) held in module constants are named, on every Django.

Django before 6.0 keeps only a sender's id(); 6.0+ keeps a weak reference,
which a string or number can't have. Each test runs `signalscope list` in a
subprocess, on the installed Django.
"""

from __future__ import annotations

from typing import Any

import pytest
from helpers import FIXTURES, clean_env, python_snippet, receivers, signalscope

R = "checkout.receivers:"


@pytest.fixture(scope="module")
def senders() -> dict[str, Any]:
    result = signalscope("list", "--json", "--project", str(FIXTURES / "senders"))
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = result.json()
    return data


def test_string_number_and_class_attribute_senders_are_named(senders: dict[str, Any]) -> None:
    rows = receivers(senders, "checkout.signals:order_placed")
    summary = sorted((r["receiver"], r["sender_kind"], r["sender"]) for r in rows)
    assert summary == [
        # connected in CheckoutConfig.ready() with constants.BATCH (2**70)
        (R + "notify_batch", "object", repr(2**70)),
        # @receiver(order_placed, sender=CHECKOUT), CHECKOUT imported from checkout.constants
        (R + "notify_checkout", "object", "'checkout'"),
        # sender=Channel.WEB, a class attribute in checkout.constants
        (R + "notify_web", "object", "'web-channel'"),
    ]


def test_a_sender_label_filters_the_list() -> None:
    result = signalscope("list", "--json", "--project", str(FIXTURES / "senders"), "--sender", "'checkout'")
    assert result.returncode == 0, result.stderr
    rows = [r for r in receivers(result.json()) if r["signal"] == "checkout.signals:order_placed"]
    assert [r["receiver"] for r in rows] == [R + "notify_checkout"]


def test_the_label_is_the_one_django_6_would_give_a_live_sender() -> None:
    # describe_sender names the live object: the same label whichever path found it.
    code = (
        "import signalscope\n"
        f"project = signalscope.load_project(project={str(FIXTURES / 'senders')!r})\n"
        "from signalscope.introspect.naming import describe_sender\n"
        "from checkout import constants\n"
        "print(describe_sender(constants.CHECKOUT).label, describe_sender(constants.Channel.WEB).label)\n"
    )
    assert python_snippet(code).split() == ["'checkout'", "'web-channel'"]


def test_a_dead_string_sender_is_not_matched_to_a_new_object_at_its_address() -> None:
    # fixtures/kinds connects sender="warehouse", a literal that dies after its module ran: its address
    # is free for the next string (the URLconf's __package__ took it under some hash seeds).
    for seed in ("0", "1", "2", "4242"):
        result = signalscope("list", "--json", "--project", str(FIXTURES / "kinds"), env=clean_env(PYTHONHASHSEED=seed))
        assert result.returncode == 0, result.stderr
        rows = [r for r in receivers(result.json()) if r["receiver"] == "catalog.receivers:on_warehouse"]
        assert [(r["sender_kind"], r["sender"]) for r in rows] == [("unknown", "<unidentified sender>")], seed

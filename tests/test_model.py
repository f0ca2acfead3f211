"""The data model: round trips, the JSON writer's exactness, ordering. No Django needed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from signalscope.model import (
    SCHEMA_VERSION,
    AppRef,
    Connection,
    ReceiverRef,
    SenderRef,
    SignalMap,
    SignalRef,
    dump_json,
    dumps,
    from_dict,
    loads,
    to_dict,
)

HOSTILE = 'a"b\\c<d>{e}\n\t\u00e9\u2028\x00\x1f%s'


def sample() -> SignalMap:
    signal = SignalRef(
        path="shop.signals:order_placed",
        name="order_placed",
        category="custom",
        signal_class="django.dispatch.dispatcher:Signal",
        use_caching=False,
    )
    other = SignalRef(path=f"x:{HOSTILE}", name=HOSTILE, category="third-party", signal_class="x:Y", use_caching=True)
    conns = (
        Connection(signal.path, SenderRef("any", None), 0, ReceiverRef("a:f", "a.py", 3, "function"), None),
        Connection(
            signal.path,
            SenderRef("model", "shop.Order"),
            1,
            ReceiverRef("a:g", None, None, "builtin", True),
            "uid-1",
            is_weak=False,
        ),
        Connection(
            signal.path,
            SenderRef("dead", "<dead sender>"),
            0,
            ReceiverRef("<dead>", None, None, "dead"),
            None,
            is_dead=True,
        ),
        Connection(
            other.path,
            SenderRef("pending", "shop.ordr"),
            0,
            ReceiverRef(HOSTILE, HOSTILE, 10**12, "partial"),
            HOSTILE,
            is_pending=True,
        ),
    )
    return SignalMap(
        signalscope="0.1.0",
        django="5.2",
        settings="shop.settings",
        settings_source="manage.py",
        signals=(signal, other),
        connections=conns,
        apps=(AppRef("shop", "shop", ("shop.Order",)), AppRef("empty", "x.empty")),
    )


def test_round_trip_of_every_type() -> None:
    smap = sample()
    assert from_dict(to_dict(smap)) == smap
    assert loads(dumps(smap)) == smap
    assert from_dict(json.loads(json.dumps(to_dict(smap)))) == smap


def standard(value: Any) -> str:
    """json.dumps's text of `value`, as model.jsonio writes it: U+2028 (HOSTILE's one unsafe character) escaped."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).replace("\u2028", "\\u2028") + "\n"


def test_dumps_is_exactly_json_dumps_indent_2_sorted() -> None:
    smap = sample()
    assert dumps(smap) == standard(to_dict(smap))


@pytest.mark.parametrize(
    "value",
    [
        {},
        [],
        {"a": []},
        {"a": {}},
        [1, "x", None, True, False, 1.5, -0.0, {"k": [1, {"z": HOSTILE}]}],
        {"b": 1, "a": [[]], HOSTILE: {HOSTILE: HOSTILE}},
        [[1, 2], [3, [4, [5]]]],
    ],
)
def test_dump_json_matches_the_standard_library(value: Any) -> None:
    assert dump_json(value) == standard(value)


def test_required_keys_and_schema() -> None:
    data = to_dict(sample())
    assert data["schema"] == SCHEMA_VERSION
    receiver = data["signals"][0]["receivers"][0]
    assert set(receiver) == {
        "receiver",
        "kind",
        "sender",
        "sender_kind",
        "position",
        "dispatch_uid",
        "file",
        "line",
        "weak",
        "is_async",
        "dead",
        "pending",
    }


def test_other_schema_versions_are_refused() -> None:
    data = to_dict(sample())
    data["schema"] = SCHEMA_VERSION + 1
    with pytest.raises(ValueError, match="unsupported signalscope schema"):
        from_dict(data)


def test_records_order_any_sender_first() -> None:
    any_sender, model, pending = SenderRef("any", None), SenderRef("model", "a.B"), SenderRef("pending", "a.b")
    assert sorted([pending, model, any_sender]) == [any_sender, model, pending]


def test_app_filter_gives_a_module_to_its_most_specific_app() -> None:
    # Wagtail's layout: wagtailcore is module wagtail, and wagtail.admin is an app of its own.
    from signalscope.model.select import select

    signal = "django.db.models.signals:post_save"
    conns = tuple(
        Connection(signal, SenderRef("any", None), i, ReceiverRef(path, "x.py", 1, "function"), None)
        for i, path in enumerate(["wagtail.signals:core", "wagtail.admin.signal_handlers:admin", "wagtailx:other"])
    )
    smap = SignalMap(
        signalscope="0.1.0",
        django="5.2",
        settings="s",
        settings_source="manage.py",
        signals=(SignalRef(signal, "post_save", "model", "django.db.models.signals:ModelSignal", True),),
        connections=conns,
        apps=(AppRef("wagtailcore", "wagtail"), AppRef("wagtailadmin", "wagtail.admin"), AppRef("x", "wagtailx")),
    )
    picked = {
        app: [c.receiver.path for c in select(smap, app=app).connections]
        for app in ("wagtailcore", "wagtailadmin", "x")
    }
    assert picked == {
        "wagtailcore": ["wagtail.signals:core"],
        "wagtailadmin": ["wagtail.admin.signal_handlers:admin"],
        "x": ["wagtailx:other"],
    }

"""The trace model: event and trace dicts, the one tree index, merging logs, schema ids, and the one JSON writer."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest

from signalscope.model import AppRef, Connection, ReceiverRef, SenderRef, SignalMap, SignalRef, jsonio, schemas
from signalscope.model.check import Finding
from signalscope.model.snapshot import snapshot_dict, snapshot_json
from signalscope.model.trace import (
    TraceEvent,
    TraceLog,
    TraceTree,
    event_from_dict,
    event_to_dict,
    make_event,
    merge_logs,
    trace_from_dict,
    trace_to_dict,
)
from signalscope.render import trace as render
from signalscope.render.check import render_check_json, render_check_sarif
from signalscope.render.report import _packed

SIGNAL = "django.db.models.signals:post_save"


def send(id: int, parent: int | None, start: int, sender: str = "auth.User", **kw: Any) -> TraceEvent:
    return TraceEvent(id, parent, "send", SIGNAL, sender, None, "send", start, 10, 7, **kw)


def call(
    id: int, parent: int, start: int, receiver: str = "app.r:f", sender: str = "auth.User", **kw: Any
) -> TraceEvent:
    return TraceEvent(id, parent, "call", SIGNAL, sender, receiver, "send", start, 5, 7, **kw)


# send 1 -> call 2 -> send 3 -> call 4; call 5 under send 1; send 6 unheard at the top
LOG = TraceLog(
    events=(
        send(1, None, 0, kwargs=(("created", "bool"), ("instance", "User"))),
        call(2, 1, 1, result_type="NoneType"),
        send(3, 2, 2),
        call(4, 3, 3, "app.r:leaf", is_async=True),
        call(5, 1, 4, "app.r:bad", outcome="error", error="ValueError: no"),
        send(6, None, 9, outcome="unheard"),
    ),
    dropped=4,
)


# -- dicts -------------------------------------------------------------------
def test_event_dict_round_trip() -> None:
    for event in LOG.events:
        data = event_to_dict(event)
        assert event_from_dict(data) == event
        assert event_from_dict(json.loads(json.dumps(data))) == event
    assert event_to_dict(LOG.events[0])["kwargs"] == {"created": "bool", "instance": "User"}


def test_make_event_makes_the_same_frozen_event_as_its_constructor() -> None:
    fields = (3, 1, "call", SIGNAL, "auth.User", "app.r:f", "send", 20, 5, 7, True, "error", "boom", None,
              (("created", "bool"),), (("db", "default"),), "a label", 42)  # fmt: skip
    made, built = make_event(*fields), TraceEvent(*fields)
    assert type(made) is TraceEvent
    assert made == built and hash(made) == hash(built) and repr(made) == repr(built)
    assert event_to_dict(made) == event_to_dict(built)
    with pytest.raises(AttributeError):
        made.id = 4  # type: ignore[misc]


def test_trace_dict_round_trip() -> None:
    data = trace_to_dict(LOG)
    assert data["schema"] == schemas.TRACE and data["dropped"] == 4 and len(data["events"]) == 6
    assert trace_from_dict(data) == LOG
    assert trace_from_dict(json.loads(render.render_trace_json(LOG))) == LOG
    assert render.render_trace_json(LOG) == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_the_moved_names_are_still_importable_from_the_renderer() -> None:
    import signalscope.model.trace as model

    for name in ("TRACE_SCHEMA", "event_to_dict", "event_from_dict", "trace_from_dict", "_check_parents"):
        assert getattr(render, name) is getattr(model, name)
    assert render.TRACE_SCHEMA == schemas.TRACE


# -- the tree ----------------------------------------------------------------
def test_tree_index_roots_children_and_order() -> None:
    tree = TraceTree(LOG.events)
    assert [e.id for e in tree.roots] == [1, 6]
    assert [e.id for e in tree.children(1)] == [2, 5]
    assert [e.id for e in tree.children(2)] == [3]
    assert tree.children(None) == tree.roots
    assert tree.children(4) == () and tree.children(99) == ()
    assert set(tree.by_id) == {1, 2, 3, 4, 5, 6}
    assert tree.parent_of(LOG.events[2]) == LOG.events[1] and tree.parent_of(LOG.events[0]) is None
    assert [e.id for e in tree.walk(LOG.events[0])] == [1, 2, 3, 4, 5]
    assert [e.id for e in LOG.children(1)] == [2, 5] and [e.id for e in LOG.children(None)] == [1, 6]


def test_tree_children_keep_the_order_given_not_the_id() -> None:
    events = (send(9, None, 0), call(3, 9, 1), call(1, 9, 2), call(2, 9, 3))
    assert [e.id for e in TraceTree(events).children(9)] == [3, 1, 2]


def test_an_event_whose_parent_is_absent_is_a_root() -> None:
    orphans = (call(2, 1, 1), send(3, 2, 2), send(7, 40, 5))  # send 1 dropped; 40 never in the log
    tree = TraceTree(orphans)
    assert [e.id for e in tree.roots] == [2, 7]
    assert [e.id for e in tree.children(2)] == [3]
    assert tree.parent_of(orphans[0]) is None


def test_a_filtered_out_parent_makes_its_children_roots() -> None:
    tree = TraceTree(LOG.events, keep=lambda e: e.id != 2)
    assert 2 not in tree.by_id
    assert [e.id for e in tree.roots] == [1, 3, 6]
    assert [e.id for e in tree.children(1)] == [5]
    heard = LOG.tree(keep=lambda e: e.outcome != "unheard")
    assert [e.id for e in heard.roots] == [1]


def test_a_deep_tree_is_walked_without_recursion() -> None:
    events = [send(0, None, 0)] + [call(i, i - 1, i) for i in range(1, 5000)]
    tree = TraceTree(events)
    assert len(tree.walk(events[0])) == 5000


# -- merging -----------------------------------------------------------------
def test_merge_makes_ids_unique_and_keeps_parents() -> None:
    other = TraceLog(events=(send(1, None, 3), call(2, 1, 5), send(3, 2, 6)), dropped=2)
    merged = merge_logs([LOG, other])
    ids = [e.id for e in merged.events]
    assert len(ids) == len(set(ids)) == 9
    assert merged.dropped == 6
    assert [e.start_ns for e in merged.events] == sorted(e.start_ns for e in merged.events)
    by_id = {e.id: e for e in merged.events}
    shifted = [e for e in merged.events if e.id > 6]
    assert [(e.id, e.parent) for e in shifted] == [(7, None), (8, 7), (9, 8)]
    assert all(e.parent is None or e.parent in by_id for e in merged.events)
    # the first log's events are the same records
    assert [e for e in merged.events if e.id <= 6] == list(LOG.events)
    tree = merged.tree()
    assert [e.id for e in tree.roots] == [1, 7, 6]
    assert [e.id for e in tree.walk(by_id[7])] == [7, 8, 9]


def test_merge_is_stable_and_keeps_each_logs_order() -> None:
    a = TraceLog(events=(send(1, None, 5), send(2, None, 5)))
    b = TraceLog(events=(send(5, None, 5), send(4, None, 1)))  # out of start order: kept as it is
    merged = merge_logs([a, b])  # b's ids shifted by -1: past a's 2
    assert [(e.id, e.start_ns) for e in merged.events] == [(1, 5), (2, 5), (4, 5), (3, 1)]
    assert merge_logs([]) == TraceLog(events=())
    assert merge_logs([TraceLog(events=(), dropped=3), a]).dropped == 3
    assert merge_logs([a]) == a


def test_merge_nulls_a_parent_its_log_does_not_hold() -> None:
    a = TraceLog(events=(send(1, None, 0),))
    b = TraceLog(events=(call(10, 1, 1), send(11, 10, 2)))  # its send 1 was dropped, not a's send 1
    merged = merge_logs([a, b])
    assert [(e.id, e.parent) for e in merged.events] == [(1, None), (2, None), (3, 2)]


# -- schemas -----------------------------------------------------------------
def test_every_schema_constant_is_in_the_table() -> None:
    constants = {name.lower(): getattr(schemas, name) for name in schemas.__all__ if name != "SCHEMAS"}
    assert {name: version for name, (version, _history) in schemas.SCHEMAS.items()} == constants
    for version, history in schemas.SCHEMAS.values():
        assert history.startswith("1: ") and f"{version}: " in history


def test_the_old_schema_names_are_the_table_s() -> None:
    from signalscope.model import SCHEMA_VERSION
    from signalscope.model.snapshot import SNAPSHOT_SCHEMA
    from signalscope.render.check import CHECK_SCHEMA

    assert (SCHEMA_VERSION, SNAPSHOT_SCHEMA, CHECK_SCHEMA) == (schemas.REGISTRY, schemas.SNAPSHOT, schemas.CHECK)


# -- the JSON writer ---------------------------------------------------------
NAME = "app.récepteurs:envoyer_ümlaut_数据"
SENDER = "café.Commande"


def test_every_json_writer_writes_non_ascii_as_is() -> None:
    event = call(2, 1, 1, NAME, sender=SENDER)
    log = TraceLog(events=(send(1, None, 0, sender=SENDER), event))
    smap = SignalMap(
        "0.1", "5.0", "s", "manage.py",
        (SignalRef(SIGNAL, "post_save", "model", "django.db.models.signals:ModelSignal", True),),
        (Connection(SIGNAL, SenderRef("model", SENDER), 0, ReceiverRef(NAME, "app/r.py", 3, "function")),),
        (AppRef("app", "app"),),
    )  # fmt: skip
    finding = Finding("app/r.py", 3, "SS001", f"{NAME} does things", SIGNAL, NAME)
    written = {
        "trace json": render.render_trace_json(log),
        "trace jsonl": render.render_jsonl(log.events),
        "chrome": render.render_chrome(log),
        "check json": render_check_json([finding]),
        "sarif": render_check_sarif([finding], version="0.1"),
        "snapshot": snapshot_json(snapshot_dict(smap)),
        "report data": gzip.decompress(base64.b64decode(_packed({"name": NAME}))).decode("utf-8"),
    }
    for what, text in written.items():
        assert NAME in text, what
        assert "\\u" not in text, what
    for what in ("trace json", "trace jsonl", "chrome", "snapshot"):
        assert SENDER in written[what], what


def test_dump_json_line_is_compact_sorted_utf8() -> None:
    value = {"b": [1, {"z": None, "a": "é"}], "a": 1.5}
    assert jsonio.dump_json_line(value) == '{"a":1.5,"b":[1,{"a":"é","z":null}]}\n'


@pytest.mark.parametrize(
    "value",
    [
        (1, [2, (3,)]),
        {"t": ("a", {"b": ()})},
        [{"k": 1}, {"k": [1, 2]}, "x", 2.5, None],
    ],
)
def test_dump_json_writes_tuples_and_nesting_as_json_dumps(value: Any) -> None:
    assert jsonio.dump_json(value) == json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("bad", ["\udce9", "\u202e", "\u2028", "\x85", "\x7f", "\x9b", "\uffff"])
def test_unsafe_characters_are_escaped_and_read_back(bad: str) -> None:
    # a lone surrogate (surrogateescape), a bidi override, a line separator, C1 controls, DEL
    name = f"é{bad}name"
    escaped = f"é\\u{ord(bad):04x}name"
    for text in (jsonio.dump_json({"n": name, "m": [name, {"x": [1]}]}), jsonio.dump_json_line([name])):
        text.encode("utf-8")
        assert escaped in text and bad not in text
    assert json.loads(jsonio.dump_json({"n": name}))["n"] == name
    assert json.loads(jsonio.dump_json_line({"n": name}))["n"] == name


def test_dump_json_needs_no_call_stack_for_deep_nesting() -> None:
    deep: dict[str, Any] = {"children": []}
    node = deep
    for _ in range(3000):
        child: dict[str, Any] = {"children": [], "kind": "x"}
        node["children"].append(child)
        node = child
    text = jsonio.dump_json(deep)
    assert text.count('"kind": "x"') == 3000
    assert text.endswith("\n" + "  " * 1 + "]\n}\n")

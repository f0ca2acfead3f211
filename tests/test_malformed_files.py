"""Snapshots and traces that are JSON but not the right shape: a usage error naming the file, never a crash."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from helpers import FIXTURES, signalscope
from hypothesis import given, settings
from hypothesis import strategies as st

from signalscope.model.snapshot import check_snapshot, diff_snapshots, render_diff
from signalscope.model.trace import TraceEvent, TraceLog
from signalscope.render.trace import (
    event_from_dict,
    event_to_dict,
    render_chrome,
    render_plain_tree,
    render_trace_json,
    trace_from_dict,
)

POST_SAVE = "django.db.models.signals:post_save"
ENTRY = {"sender": "auth.User", "receiver": "accounts.signals:greet", "dispatch_uid": None,
         "weak": True, "dead": False, "pending": False}  # fmt: skip
SNAPSHOT = {"schema": 1, "include_django": False, "signals": {POST_SAVE: [ENTRY]}}


def _snapshot(**change: Any) -> dict[str, Any]:
    return {**SNAPSHOT, **change}


def _entry(**change: Any) -> dict[str, Any]:
    return _snapshot(signals={POST_SAVE: [{**ENTRY, **change}]})


def _without(key: str) -> dict[str, Any]:
    entry = {k: v for k, v in ENTRY.items() if k != key}
    return _snapshot(signals={POST_SAVE: [entry]})


BAD_SNAPSHOTS = [
    pytest.param(_snapshot(signals={POST_SAVE: 5}), f'signals["{POST_SAVE}"] is not a list', id="entries-not-a-list"),
    pytest.param(_snapshot(signals={POST_SAVE: ["x"]}), f'signals["{POST_SAVE}"][0] is not an object', id="str-entry"),
    pytest.param(_snapshot(signals={POST_SAVE: [None]}), "[0] is not an object", id="null-entry"),
    pytest.param(_without("receiver"), '[0] has no "receiver"', id="no-receiver"),
    pytest.param(_entry(receiver=5), '[0]: "receiver" is not a string', id="int-receiver"),
    pytest.param(_entry(receiver=None), '[0]: "receiver" is not a string', id="null-receiver"),
    pytest.param(_entry(sender=["auth.User"]), '[0]: "sender" is not a string or null', id="list-sender"),
    pytest.param(_entry(sender=5), '[0]: "sender" is not a string or null', id="int-sender"),
    pytest.param(_entry(dispatch_uid={"a": 1}), '"dispatch_uid" is not a string or null', id="dict-uid"),
    pytest.param(_entry(weak="no"), '[0]: "weak" is not true or false', id="str-flag"),
    pytest.param(_entry(dead=0), '[0]: "dead" is not true or false', id="int-flag"),
    pytest.param(_snapshot(signals=[]), '"signals" is not an object', id="signals-a-list"),
    pytest.param({"schema": 1}, '"signals" is not an object', id="no-signals"),
    pytest.param(_snapshot(include_django="yes"), '"include_django" is not true or false', id="str-include-django"),
    pytest.param(_snapshot(schema=2), "a snapshot of schema 2, from a newer signalscope", id="schema-2"),
    pytest.param(_snapshot(schema=True), "not a signalscope snapshot (schema 1)", id="schema-true"),
    pytest.param(_snapshot(schema="1"), "not a signalscope snapshot (schema 1)", id="schema-a-string"),
    pytest.param([SNAPSHOT], "not a signalscope snapshot", id="a-list"),
]


@pytest.mark.parametrize(("data", "message"), BAD_SNAPSHOTS)
def test_diff_of_a_malformed_snapshot_is_a_usage_error(tmp_path: Path, data: Any, message: str) -> None:
    (tmp_path / "good.json").write_text(json.dumps(SNAPSHOT))
    (tmp_path / "bad.json").write_text(json.dumps(data))
    # Either side: the message names the file that is wrong.
    for args in (["bad.json", "good.json"], ["good.json", "bad.json"]):
        result = signalscope("diff", *args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.startswith("signalscope: error: bad.json"), result.stderr
        assert message in result.stderr and len(result.stderr.splitlines()) == 1, result.stderr
        assert result.stdout == ""


def test_a_well_formed_snapshot_still_diffs(tmp_path: Path) -> None:
    (tmp_path / "old.json").write_text(json.dumps(SNAPSHOT))
    (tmp_path / "new.json").write_text(json.dumps(_entry(weak=False)))
    result = signalscope("diff", "old.json", "new.json", cwd=tmp_path)
    assert (result.returncode, result.stdout.splitlines()[0]) == (
        1,
        "~ post_save(auth.User): accounts.signals:greet: weak: weak → strong",
    )


EVENT = event_to_dict(TraceEvent(1, None, "send", POST_SAVE, "auth.User", None, "send", 100, 50, 1))
CALL = event_to_dict(TraceEvent(2, 1, "call", POST_SAVE, "auth.User", "accounts.signals:greet", "send", 110, 20, 1))


def _trace(*events: Any, **extra: Any) -> dict[str, Any]:
    return {"schema": 1, "dropped": 0, "events": list(events), **extra}


def _event(**change: Any) -> dict[str, Any]:
    return {**EVENT, **change}


BAD_TRACES = [
    pytest.param(_trace(events=5), '"events" is not a list', id="events-not-a-list"),
    pytest.param(_trace(events={"0": EVENT}), '"events" is not a list', id="events-an-object"),
    pytest.param(_trace(events="abc"), '"events" is not a list', id="events-a-string"),
    pytest.param({"schema": 1}, 'no "events"', id="no-events"),
    pytest.param(_trace(5), "events[0] is not an object", id="int-event"),
    pytest.param(_trace(EVENT, None), "events[1] is not an object", id="null-event"),
    pytest.param(
        _trace({k: v for k, v in EVENT.items() if k != "signal"}), 'events[0] has no "signal"', id="no-signal"
    ),
    pytest.param(_trace({k: v for k, v in EVENT.items() if k != "id"}), 'events[0] has no "id"', id="no-id"),
    pytest.param(_trace(_event(kwargs=[])), 'events[0]: "kwargs" is not an object', id="list-kwargs"),
    pytest.param(_trace(_event(kwargs={"x": 1})), 'events[0]: "kwargs" values are not strings', id="int-kwarg"),
    pytest.param(_trace(_event(duration_ns="5")), 'events[0]: "duration_ns" is not an integer', id="str-duration"),
    pytest.param(_trace(_event(start_ns=1.5)), 'events[0]: "start_ns" is not an integer', id="float-start"),
    pytest.param(_trace(_event(id=True)), 'events[0]: "id" is not an integer', id="bool-id"),
    pytest.param(_trace(_event(parent="1")), 'events[0]: "parent" is not an integer or null', id="str-parent"),
    pytest.param(_trace(_event(sender=1)), 'events[0]: "sender" is not a string or null', id="int-sender"),
    pytest.param(_trace(_event(signal=None)), 'events[0]: "signal" is not a string', id="null-signal"),
    pytest.param(_trace(_event(is_async="yes")), 'events[0]: "is_async" is not true or false', id="str-async"),
    pytest.param(
        _trace(_event(kind="party")),
        'events[0]: "kind" is not "send", "call", "request", "test" or "setup"',
        id="bad-kind",
    ),
    pytest.param(_trace(_event(outcome="meh")), '"outcome" is not "ok", "error" or "unheard"', id="bad-outcome"),
    pytest.param(_trace(_event(colour="red")), 'events[0] has an unknown field "colour"', id="unknown-field"),
    pytest.param(_trace(EVENT, _event(parent=1)), 'events[1]: "id" 1 is not unique', id="duplicate-id"),
    pytest.param(_trace(dropped=None), '"dropped" is not an integer', id="null-dropped"),
    pytest.param(_trace(dropped=-1), '"dropped" is negative', id="negative-dropped"),
    pytest.param(_trace(schema=3), "a trace of schema 3, from a newer signalscope", id="schema-3"),
    pytest.param(_trace(schema=True), '"schema" is true, not 2', id="schema-true"),
    pytest.param(_trace(_event(parent=1)), "event 1 is its own ancestor", id="own-parent"),
    pytest.param(_trace(_event(parent=7)), 'events[0]: "parent" 7 is no event of the trace', id="missing-parent"),
    pytest.param(
        _trace(_event(parent=2), {**CALL, "parent": 1}), "is its own ancestor: the parents make a loop", id="loop"
    ),
    pytest.param([EVENT], "json`: not a JSON object.", id="a-list"),
]


@pytest.mark.parametrize(("data", "message"), BAD_TRACES)
def test_report_of_a_malformed_trace_is_a_usage_error(tmp_path: Path, data: Any, message: str) -> None:
    (tmp_path / "trace.json").write_text(json.dumps(data))
    result = signalscope(
        "report", "--project", str(FIXTURES / "shop"), "-o", str(tmp_path / "r"), "--trace", "trace.json", cwd=tmp_path
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(
        "signalscope: error: trace.json is not a trace written by `signalscope trace --format json`: "
    ), result.stderr
    assert message in result.stderr and len(result.stderr.splitlines()) == 1, result.stderr
    assert not (tmp_path / "r").exists()


def test_traces_round_trip() -> None:
    log = TraceLog(
        events=(event_from_dict(EVENT), event_from_dict({**CALL, "kwargs": {"instance": "User"}})), dropped=3
    )
    assert trace_from_dict(json.loads(render_trace_json(log))) == log
    assert [event_to_dict(e) for e in log.events] == [EVENT, {**CALL, "kwargs": {"instance": "User"}}]


# Hypothesis: any JSON value put anywhere in a good document is read or refused with a ValueError,
# and what is read renders (or diffs) without an error.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_paths(item, (*prefix, index)))
    return found


def _replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    changed = copy.deepcopy(document)
    target = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return changed


def _mutations(document: Any) -> st.SearchStrategy[Any]:
    paths = _paths(document)
    return st.tuples(st.sampled_from(paths), json_values).map(lambda pv: _replaced(document, pv[0], pv[1]))


GOOD_SNAPSHOT = _snapshot(signals={POST_SAVE: [ENTRY, {**ENTRY, "sender": None, "receiver": "b:c"}], "x:y": []})
GOOD_TRACE = _trace(EVENT, CALL)


@settings(max_examples=300, deadline=None)
@given(_mutations(GOOD_SNAPSHOT))
def test_any_snapshot_is_read_or_refused_property(data: Any) -> None:
    try:
        check_snapshot(data)
    except ValueError:
        with pytest.raises(ValueError):
            diff_snapshots(data, GOOD_SNAPSHOT)
        return
    render_diff(diff_snapshots(data, GOOD_SNAPSHOT))
    render_diff(diff_snapshots(GOOD_SNAPSHOT, data))


@settings(max_examples=300, deadline=None)
@given(_mutations(GOOD_TRACE))
def test_any_trace_is_read_or_refused_property(data: Any) -> None:
    try:
        log = trace_from_dict(data)
    except ValueError:
        return
    render_plain_tree(log, unheard=True)
    render_chrome(log)
    assert trace_from_dict(json.loads(render_trace_json(log))) == log


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"\xff\xfe\x00garbage", id="not-utf-8"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nested-too-deep"),
    ],
)
def test_files_that_are_not_json_at_all_are_usage_errors(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "bad.json").write_bytes(content)
    (tmp_path / "good.json").write_text(json.dumps(SNAPSHOT))
    for args in (["diff", "bad.json", "good.json"], ["diff", "good.json", "bad.json"]):
        result = signalscope(*args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.startswith("signalscope: error: bad.json is not"), result.stderr
    report = ["report", "--project", str(FIXTURES / "shop"), "-o", str(tmp_path / "r"), "--trace", "bad.json"]
    result = signalscope(*report, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("signalscope: error: bad.json is not"), result.stderr

"""`report --trace` reads only what it shows (api.read_trace_excerpt): the same excerpt as the trace
read whole, for any size of read, and the same errors for every malformed file."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import pytest

from signalscope import api
from signalscope.errors import UsageError
from signalscope.model.jsonio import dump_json, iter_object
from signalscope.model.trace import TraceEvent, TraceLog, excerpt_of, trace_to_dict
from signalscope.render.report import shown_in_trace


def _log(seed: int, sends: int = 300) -> TraceLog:
    """A trace of nested sends in start order: calls under sends, sends under calls, unheard sends."""
    rng = random.Random(seed)
    events: list[TraceEvent] = []
    open_calls: list[int] = []
    clock = 0
    for number in range(1, sends + 1):
        clock += 10
        parent = rng.choice(open_calls) if open_calls and rng.random() < 0.4 else None
        unheard = rng.random() < 0.2
        sid = len(events) + 1
        events.append(
            TraceEvent(sid, parent, "send", "app:ping", "auth.User", None, "send", clock, 5, 1,
                       outcome="unheard" if unheard else "ok", kwargs=(("n", str(number)),))
        )  # fmt: skip
        if not unheard:
            clock += 1
            events.append(TraceEvent(sid + 1, sid, "call", "app:ping", "auth.User", "app:r", "send", clock, 3, 1))
            open_calls.append(sid + 1)
        if len(open_calls) > 5:
            open_calls.pop(0)
    return TraceLog(events=tuple(events), dropped=3, notes=("a note",))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("limit", [1, 7, 500])
def test_a_streamed_excerpt_is_the_excerpt_of_the_trace_read_whole(tmp_path: Path, seed: int, limit: int) -> None:
    log = _log(seed)
    path = tmp_path / "trace.json"
    path.write_text(dump_json(trace_to_dict(log)))
    streamed = api.read_trace_excerpt(path, limit=limit, keep=shown_in_trace)
    whole = excerpt_of(api.read_trace(path), limit=limit, keep=shown_in_trace)
    assert streamed == whole
    assert (streamed.sends == 300 and streamed.roots > limit) or limit == 500


def test_the_object_reader_gives_every_member_whatever_the_size_of_each_read() -> None:
    data = {"a": 12345678, "events": [{"x": [1, 2, {"y": "z\u2028"}]}, 3.5, None, "s"], "z": {"k": []}}
    text = json.dumps(data, indent=2)
    for size in (*range(1, 13), 64, 1 << 20):
        found = list(iter_object(io.StringIO(text).read, "events", size=size))
        assert found == [("a", 12345678), *[(None, item) for item in data["events"]], ("z", {"k": []})]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        '{"events": [1, 2}',
        '{"events": 5, "schema": 3}',
        '{"events": [], "events": []}',
        '{"schema": 3, "events": []} trailing',
        '{"schema": 999, "events": []}',
        '{"schema": 3, "dropped": -1, "events": []}',
        '{"schema": 3, "events": [{"id": 1}]}',
    ],
)
def test_a_malformed_file_gets_read_traces_own_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(UsageError) as whole:
        api.read_trace(path)
    with pytest.raises(UsageError) as streamed:
        api.read_trace_excerpt(path, limit=500)
    assert str(streamed.value) == str(whole.value)


def test_a_trace_whose_parents_come_after_their_children_is_read_whole(tmp_path: Path) -> None:
    log = _log(9, sends=40)
    data = trace_to_dict(log)
    data["events"].reverse()  # valid (every parent is in the trace), in no start order
    path = tmp_path / "trace.json"
    path.write_text(dump_json(data))
    whole = excerpt_of(api.read_trace(path), limit=5, keep=shown_in_trace)
    assert api.read_trace_excerpt(path, limit=5, keep=shown_in_trace) == whole

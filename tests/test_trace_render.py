"""The trace renderers, on hand-built logs: they are pure functions of a TraceLog."""

from __future__ import annotations

import json

from signalscope.model.trace import TraceEvent, TraceLog
from signalscope.render import trace as render

MS = 1_000_000


def send(id: int, parent: int | None, start: int, duration: int, **kw: object) -> TraceEvent:
    fields = {"signal": "django.db.models.signals:post_save", "sender": "auth.User", "receiver": None}
    fields.update(kw)  # type: ignore[arg-type]
    return TraceEvent(id, parent, "send", method="send", start_ns=start, duration_ns=duration, thread=7, **fields)  # type: ignore[arg-type]


def call(id: int, parent: int, receiver: str, start: int, duration: int, **kw: object) -> TraceEvent:
    return TraceEvent(
        id, parent, "call", "django.db.models.signals:post_save", "auth.User", receiver, "send", start, duration,
        7, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


LOG = TraceLog(
    events=(
        send(1, None, 0, 30 * MS),
        call(2, 1, "app.r:fast", 1 * MS, 1 * MS),
        send(3, 2, int(1.2 * MS), MS // 2, sender="app.Profile"),
        call(4, 3, "app.r:leaf", int(1.3 * MS), MS // 10),
        call(5, 1, "app.r:slow", 3 * MS, 20 * MS, outcome="error", error="ValueError: no"),
        send(6, None, 40 * MS, 1000, outcome="unheard", signal="django.db.models.signals:pre_save"),
    ),
    dropped=2,
)


def test_plain_tree_nests_marks_and_counts() -> None:
    assert render.render_plain_tree(LOG, slow_ms=10) == (
        "post_save(auth.User)  30.000 ms\n"
        "├─ app.r:fast  1.000 ms\n"
        "│  └─ post_save(app.Profile)  0.500 ms\n"
        "│     └─ app.r:leaf  0.100 ms\n"
        "└─ app.r:slow  20.000 ms  [SLOW, raised ValueError: no]\n"
        "\n"
        "3 sends, 3 receiver calls\n"
        "1 send that no receiver heard not shown (--show-unheard)\n"
        "2 older sends were dropped (--max-sends 3): the tree shows the last 3 only\n"
    )
    shown = render.render_plain_tree(LOG, unheard=True)
    assert "pre_save(auth.User)  0.001 ms  [no receiver ran]" in shown
    assert "SLOW" not in shown  # no threshold, nothing is slow


def test_rich_tree_highlights_slow_receivers() -> None:
    text = render.render_rich_tree(LOG, slow_ms=10, color=True, width=100)
    assert "\x1b[1;31m20.000 ms\x1b[0m" in text  # bold red
    assert "\x1b[1;31m1.000 ms" not in text
    plain = render.render_rich_tree(LOG, slow_ms=10, color=False, width=100)
    assert "\x1b[" not in plain and "app.r:leaf" in plain and "[SLOW, raised ValueError: no]" in plain


def test_summary_totals_costliest_first() -> None:
    stats = render.receiver_stats(LOG)
    assert [(s.receiver, s.calls, s.errors, s.total_ns) for s in stats] == [
        ("app.r:slow", 1, 1, 20 * MS),
        ("app.r:fast", 1, 0, 1 * MS),
        ("app.r:leaf", 1, 0, MS // 10),
    ]
    lines = render.render_plain_summary(TraceLog(events=LOG.events)).splitlines()  # nothing dropped
    assert lines[1].split() == ["app.r:slow", "post_save", "1", "1", "20.000", "20.000", "20.000"]
    assert render.render_plain_summary(TraceLog(events=())) == "no receiver ran\n"


def test_tree_limit() -> None:
    many = TraceLog(events=tuple(send(i, None, i * 10, 5) for i in range(1, render.TREE_LIMIT + 3)))
    text = render.render_plain_tree(many)
    assert f"the tree shows the first {render.TREE_LIMIT} of {render.TREE_LIMIT + 2} top-level sends" in text
    assert text.count("post_save(auth.User)") == render.TREE_LIMIT


def test_json_and_chrome_shapes() -> None:
    data = json.loads(render.render_trace_json(LOG))
    assert data["schema"] == render.TRACE_SCHEMA and data["dropped"] == 2 and len(data["events"]) == 6
    lines = render.render_jsonl(LOG.events[:2]).splitlines()
    assert [json.loads(line)["id"] for line in lines] == [1, 2]
    with_async = TraceLog(events=(*LOG.events, call(9, 1, "app.r:coro", 2 * MS, MS, is_async=True)))
    chrome = json.loads(render.render_chrome(with_async, pid=42))
    phases = [(e["ph"], e.get("args", {}).get("id", e.get("id"))) for e in chrome["traceEvents"] if e["ph"] != "M"]
    assert ("b", 9) in phases and ("e", 9) in phases  # async calls overlap: their own async track
    assert {e["pid"] for e in chrome["traceEvents"]} == {42}
    first = next(e for e in chrome["traceEvents"] if e["ph"] == "X")
    assert (first["ts"], first["dur"], first["tid"]) == (0, 30000.0, 1)
    assert render.render_chrome(with_async, pid=42) == render.render_chrome(with_async, pid=42)


def test_every_human_format_says_how_many_sends_were_dropped() -> None:
    # LOG kept 3 sends and dropped 2: its counts are low, and each human form says by how much.
    note = "2 older sends were dropped (--max-sends 3): the counts below cover the last 3 only"
    plain = render.render_plain_summary(LOG)
    assert plain.splitlines()[0] == note and plain.splitlines()[1].startswith("RECEIVER")
    assert note in render.render_rich_summary(LOG, color=False, width=200)
    assert note in render.render_rich_summary(LOG, color=True, width=200)
    tree = "2 older sends were dropped (--max-sends 3): the tree shows the last 3 only"
    assert tree in render.render_plain_tree(LOG).splitlines()
    assert tree in render.render_rich_tree(LOG, color=False, width=200)
    many = TraceLog(events=LOG.events[:2], dropped=12_345)
    assert render.render_plain_summary(many).startswith(
        "12,345 older sends were dropped (--max-sends 1): the counts below cover the last 1 only\n"
    )
    nothing_heard = TraceLog(events=LOG.events[-1:], dropped=1)
    assert render.render_plain_summary(nothing_heard) == (
        "1 older send was dropped (--max-sends 1): the counts below cover the last 1 only\nno receiver ran\n"
    )
    assert "dropped" not in render.render_plain_summary(TraceLog(events=LOG.events))

"""The trace renderers, on hand-built logs: they are pure functions of a TraceLog."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from signalscope.model.trace import TraceEvent, TraceLog, TraceProcess
from signalscope.render import registry
from signalscope.render import trace as render

MS = 1_000_000


def send(id: int, parent: int | None, start: int, duration: int, **kw: object) -> TraceEvent:
    fields = {"signal": "django.db.models.signals:post_save", "sender": "auth.User", "receiver": None, "thread": 7,
              "method": "send"}  # fmt: skip
    fields.update(kw)  # type: ignore[arg-type]
    return TraceEvent(id, parent, "send", start_ns=start, duration_ns=duration, **fields)  # type: ignore[arg-type]


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
    # distinct senders, sent as send and send_robust in turn: alike sends would collapse into one entry
    many = TraceLog(
        events=tuple(
            send(i, None, i * 10, 5, sender=f"app.M{i}", method="send" if i % 2 else "send_robust")
            for i in range(1, render.TREE_LIMIT + 3)
        )
    )
    text = render.render_plain_tree(many)
    assert (
        f"the tree shows the first {render.TREE_LIMIT} of {render.TREE_LIMIT + 2} top-level entries "
        "(--limit 0 shows all); --format json has them all"
    ) in text.splitlines()
    assert text.count("post_save(app.M") == render.TREE_LIMIT
    assert render.render_plain_tree(many, limit=0).count("post_save(app.M") == render.TREE_LIMIT + 2
    assert "the tree shows the first" not in render.render_plain_tree(many, limit=0)
    few = TraceLog(events=many.events[:5])
    assert render.render_plain_tree(few, limit=2) == (
        "post_save(app.M1)  0.000 ms\n"
        "post_save(app.M2)  0.000 ms  [send_robust]\n"
        "\n"
        "5 sends, 0 receiver calls\n"
        "the tree shows the first 2 of 5 top-level entries (--limit 0 shows all); --format json has them all\n"
    )
    assert "the first 2 of 5" in render.render_rich_tree(few, limit=2, color=False, width=200)


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


# -- groups, details, collapsed runs, the tree's options, several processes

CLASS_PREPARED = "django.db.models.signals:class_prepared"
FINALIZE = "simple_history.models:HistoricalRecords.finalize"


def group(id: int, kind: str, label: str, start: int, duration: int, **kw: object) -> TraceEvent:
    return TraceEvent(id, None, kind, "", None, None, "", start, duration, 7, label=label, **kw)  # type: ignore[arg-type]


def pair(
    id: int, parent: int | None, start: int, receiver: str = "app.r:audit", **kw: object
) -> tuple[TraceEvent, ...]:
    """A send (`id`) with one receiver call (`id` + 1) and nothing below it."""
    sent = send(id, parent, start, MS, **kw)
    return sent, replace(sent, id=id + 1, parent=id, kind="call", receiver=receiver, duration_ns=MS // 2, details=())


GROUPS = TraceLog(
    events=(
        group(1, "request", "GET /orders/3/ 200", 0, int(12.4 * MS)),
        *pair(2, 1, MS),
        group(10, "test", "tests.test_orders.OrderTests.test_pay", 20 * MS, 3 * MS, outcome="error"),
        *pair(11, 10, 21 * MS, sender="shop.Order"),
        group(20, "setup", "setUpClass tests.test_orders.OrderTests", 30 * MS, 2 * MS),
        *pair(21, 20, 30 * MS, sender="shop.Item", receiver="app.r:stock"),
        *pair(30, None, 40 * MS, sender="shop.Loose"),
    )
)


def test_groups_show_their_label_and_hold_their_sends() -> None:
    assert render.render_plain_tree(GROUPS) == (
        "GET /orders/3/ 200  12.400 ms\n"
        "└─ post_save(auth.User)  1.000 ms\n"
        "   └─ app.r:audit  0.500 ms\n"
        "test tests.test_orders.OrderTests.test_pay  3.000 ms  [failed]\n"
        "└─ post_save(shop.Order)  1.000 ms\n"
        "   └─ app.r:audit  0.500 ms\n"
        "setup: setUpClass tests.test_orders.OrderTests  2.000 ms\n"
        "└─ post_save(shop.Item)  1.000 ms\n"
        "   └─ app.r:stock  0.500 ms\n"
        "post_save(shop.Loose)  1.000 ms\n"
        "└─ app.r:audit  0.500 ms\n"
        "\n"
        "4 sends, 4 receiver calls\n"  # a group is neither
    )
    rich = render.render_rich_tree(GROUPS, color=False, width=200)
    assert (
        "GET /orders/3/ 200  12.400 ms" in rich
        and "test tests.test_orders.OrderTests.test_pay  3.000 ms  [failed]" in rich
    )
    assert "4 sends, 4 receiver calls" in rich
    assert [s.receiver for s in render.receiver_stats(GROUPS)] == ["app.r:audit", "app.r:stock"]  # no group


def test_group_option_keeps_one_kind_of_group() -> None:
    def tops(**options: object) -> list[str]:
        text = render.render_plain_tree(GROUPS, footer=False, **options)  # type: ignore[arg-type]
        return [line.split("  ")[0] for line in text.splitlines() if not line.startswith(("├", "└", " ", "│"))]

    every = ["GET /orders/3/ 200", "test tests.test_orders.OrderTests.test_pay",
             "setup: setUpClass tests.test_orders.OrderTests", "post_save(shop.Loose)"]  # fmt: skip
    assert tops() == every
    # a group left out leaves its sends at the top
    assert tops(group="request") == ["GET /orders/3/ 200", "post_save(shop.Order)", "post_save(shop.Item)", every[3]]
    assert tops(group="test") == ["post_save(auth.User)", *every[1:]]
    assert tops(group="none") == ["post_save(auth.User)", "post_save(shop.Order)", "post_save(shop.Item)", every[3]]
    with pytest.raises(ValueError, match="group 'tests'"):
        render.render_plain_tree(GROUPS, group="tests")


def test_sends_show_the_details_that_tell_them_apart() -> None:
    details = (
        ("action", "post_add"), ("created", "True"), ("origin", "shop.Order"), ("pk_set", "2"),
        ("raw", "False"), ("update_fields", "None"), ("using", "default"),
    )  # fmt: skip
    shown = {
        details: "created=True action=post_add pk_set=2 origin=shop.Order",
        (("raw", "True"), ("update_fields", "email,name"), ("using", "replica")): (
            "raw=True update_fields=email,name using=replica"
        ),
        (("created", "False"), ("zeta", "1"), ("alpha", "x\x1by")): "created=False alpha=x\\x1by zeta=1",
    }
    for given, words in shown.items():
        log = TraceLog(events=pair(1, None, 0, details=given))
        assert render.render_plain_tree(log).splitlines()[0] == f"post_save(auth.User) {words}  1.000 ms"
        assert f"post_save(auth.User) {words}  1.000 ms" in render.render_rich_tree(log, color=False, width=200)
    # the plain label elsewhere (DOT, Chrome) has no details
    assert render.label(pair(1, None, 0, details=details)[0]) == "post_save(auth.User)"


def test_identical_roots_collapse_into_one_line() -> None:
    run = [
        event
        for i in range(649)
        for event in pair(2 * i + 1, None, i * 10 * MS, FINALIZE, signal=CLASS_PREPARED, sender=None)
    ]
    log = TraceLog(events=(*run, *pair(5000, None, 10**12), *pair(5002, None, 10**12 + 1)))
    assert render.render_plain_tree(log, slow_ms=0.4) == (
        f"class_prepared() → {FINALIZE} ×649  total 649.000 ms  [SLOW]\n"
        "post_save(auth.User) → app.r:audit ×2  total 2.000 ms  [SLOW]\n"
        "\n"
        "651 sends, 651 receiver calls\n"
    )
    rich = render.render_rich_tree(log, color=False, width=200)
    assert f"class_prepared() → {FINALIZE} ×649  total 649.000 ms\n" in rich
    # a single send keeps its receiver on a line of its own
    single = render.render_plain_tree(TraceLog(events=pair(1, None, 0)), footer=False)
    assert single == "post_save(auth.User)  1.000 ms\n└─ app.r:audit  0.500 ms\n"


def test_three_sends_alike_but_for_their_senders_are_one_line() -> None:
    three = [pair(i, None, i * MS, sender=f"app.M{i}", receiver="simple_history:finalize") for i in (1, 3, 5)]
    log = TraceLog(events=tuple(e for p in three for e in p) + pair(7, None, 9 * MS, sender="app.X", receiver="b:c"))
    assert render.render_plain_tree(log, footer=False).splitlines() == [
        "post_save(3 senders) → simple_history:finalize ×3  total 3.000 ms",
        "post_save(app.X)  1.000 ms",
        "└─ b:c  0.500 ms",
    ]
    two = TraceLog(events=three[0] + three[1])  # two are shown as they are
    assert render.render_plain_tree(two, footer=False).count("senders") == 0


def test_only_identical_siblings_collapse() -> None:
    first, second = pair(1, None, 0), pair(3, None, 10 * MS, details=(("created", "True"),))
    erred = (send(5, None, 20 * MS, MS), call(6, 5, "app.r:audit", 20 * MS, MS, outcome="error", error="E: x"))
    twice = (*pair(7, None, 30 * MS), *pair(9, None, 40 * MS))
    log = TraceLog(events=(*first, *second, *erred, *twice))
    assert render.render_plain_tree(log, footer=False).splitlines() == [
        "post_save(auth.User)  1.000 ms",
        "└─ app.r:audit  0.500 ms",
        "post_save(auth.User) created=True  1.000 ms",
        "└─ app.r:audit  0.500 ms",
        "post_save(auth.User)  1.000 ms",
        "└─ app.r:audit  1.000 ms  [raised E: x]",
        "post_save(auth.User) → app.r:audit ×2  total 2.000 ms",  # only consecutive ones
    ]


def test_nested_runs_collapse_with_their_subtrees() -> None:
    events = [send(1, None, 0, 10 * MS), call(2, 1, "app.r:outer", 0, 9 * MS)]
    for i in range(2):  # twice: post_save(app.Item) calling a and b, b sending post_save(app.Log)
        b = 10 + 10 * i
        events += [
            send(b, 2, b * MS // 10, MS, sender="app.Item"),
            call(b + 1, b, "app.r:a", 0, MS // 4),
            call(b + 2, b, "app.r:b", 0, MS // 4),
            send(b + 3, b + 2, 0, MS // 8, sender="app.Log"),
            call(b + 4, b + 3, "app.r:log", 0, MS // 16),
        ]
    for i in range(3):  # three sends of one receiver each: one line
        events += pair(40 + 2 * i, 2, 5 * MS + i, sender="app.Tag", receiver="app.r:tag")
    assert render.render_plain_tree(TraceLog(events=tuple(events))) == (
        "post_save(auth.User)  10.000 ms\n"
        "└─ app.r:outer  9.000 ms\n"
        "   ├─ post_save(app.Item) ×2  total 2.000 ms\n"
        "   │  ├─ app.r:a  total 0.500 ms\n"  # each line below a run: its time summed over the run
        "   │  └─ app.r:b  total 0.500 ms\n"
        "   │     └─ post_save(app.Log)  total 0.250 ms\n"
        "   │        └─ app.r:log  total 0.125 ms\n"
        "   └─ post_save(app.Tag) → app.r:tag ×3  total 3.000 ms\n"
        "\n"
        "8 sends, 10 receiver calls\n"
    )


def test_without_its_footer_the_tree_is_only_its_lines() -> None:
    lines = "GET /orders/3/ 200  12.400 ms\n└─ post_save(auth.User)  1.000 ms\n   └─ app.r:audit  0.500 ms\n"
    request = TraceLog(events=GROUPS.events[:3], dropped=3, notes=("not traced: x",))
    assert render.render_plain_tree(request, footer=False) == lines
    assert registry.render("trace", "tree", request, footer=False) == lines  # no summary either
    rich = str(registry.render("trace", "tree", request, footer=False, color=True, width=200))
    assert "app.r:audit" in rich and "RECEIVER" not in rich and "sends" not in rich
    assert render.render_plain_tree(TraceLog(events=()), footer=False) == ""


def test_requests_shown_live_are_left_out() -> None:
    second = (group(40, "request", "POST /pay/ 302", 50 * MS, MS), *pair(41, 40, 50 * MS))
    log = TraceLog(events=(*GROUPS.events, *second))
    text = render.render_plain_tree(log, shown_live=True)
    assert "GET /orders/3/" not in text and "POST /pay/" not in text and "post_save(auth.User)" not in text
    assert text.splitlines()[0] == "test tests.test_orders.OrderTests.test_pay  3.000 ms  [failed]"
    assert text.endswith("\n5 sends, 5 receiver calls\n2 requests were shown as they ended\n")
    one = render.render_plain_tree(TraceLog(events=GROUPS.events), shown_live=True)
    assert one.endswith("\n1 request was shown as it ended\n")
    assert "were shown" not in render.render_plain_tree(log)
    assert registry.render("trace", "tree", log, shown_live=True).startswith(text)


def test_a_request_inside_a_test_stays_in_the_test_s_tree_when_requests_are_shown_live() -> None:
    log = TraceLog(
        events=(
            group(1, "test", "tests.T.test_like", 0, 5 * MS),
            replace(group(2, "request", "GET /like/1/ 200", MS, 2 * MS), parent=1),
            *pair(3, 2, MS),
        )
    )
    text = render.render_plain_tree(log, shown_live=True)
    assert text.splitlines()[:2] == ["test tests.T.test_like  5.000 ms", "└─ GET /like/1/ 200  2.000 ms"]
    assert "were shown" not in text and "was shown" not in text


PROCESSES = TraceLog(
    events=(
        *pair(1, None, 0, process=100, thread=3),
        replace(group(10, "request", "GET /orders/3/ 200", MS, 5 * MS), process=200),
        *(replace(e, process=200) for e in pair(11, 10, 2 * MS)),
        *pair(20, None, 3 * MS, process=300, sender="shop.Order"),
        *pair(22, None, 4 * MS, process=300, sender="shop.Order", thread=8),  # another thread: the same entry
    ),
    processes=(
        TraceProcess(100, None, "manage.py test --parallel 2"),
        TraceProcess(200, 100, "manage.py test (worker 1)"),
        TraceProcess(300, 100, "manage.py test (worker 2)", is_finished=False),
    ),
    notes=("not traced: /usr/bin/git status (not Python)",),
)


def test_several_processes_each_line_says_its_pid() -> None:
    assert render.render_plain_tree(PROCESSES) == (
        "post_save(auth.User)  1.000 ms  [pid 100]\n"
        "└─ app.r:audit  0.500 ms\n"
        "GET /orders/3/ 200  5.000 ms  [pid 200]\n"
        "└─ post_save(auth.User)  1.000 ms\n"
        "   └─ app.r:audit  0.500 ms\n"
        "post_save(shop.Order) → app.r:audit ×2  total 2.000 ms  [pid 300]\n"
        "\n"
        "4 sends, 4 receiver calls\n"  # of every process
        "process 100: manage.py test --parallel 2\n"
        "process 200: manage.py test (worker 1)\n"
        "process 300: manage.py test (worker 2) (cut short)\n"
        "not traced: /usr/bin/git status (not Python)\n"
    )
    rich = render.render_rich_tree(PROCESSES, color=False, width=200)
    assert (
        "GET /orders/3/ 200  5.000 ms  [pid 200]" in rich
        and "process 300: manage.py test (worker 2) (cut short)" in rich
    )
    # identical sends of two processes are two entries
    twins = TraceLog(events=(*pair(1, None, 0, process=1), *pair(3, None, 1, process=2)))
    assert render.render_plain_tree(twins, footer=False).count("[pid ") == 2
    # one process: no pids, no process lines; the notes still
    alone = replace(PROCESSES, events=pair(1, None, 0, process=100), processes=PROCESSES.processes[:1])
    text = render.render_plain_tree(alone)
    assert "pid" not in text and "process 100" not in text and "not traced: /usr/bin/git status" in text


def test_the_summary_says_how_many_processes() -> None:
    lines = render.render_plain_summary(PROCESSES).splitlines()
    assert lines[0] == "3 processes" and lines[1].startswith("RECEIVER")
    assert lines[2].split()[:3] == ["app.r:audit", "post_save", "4"]
    assert "3 processes" in render.render_rich_summary(PROCESSES, color=False, width=200)
    assert "processes" not in render.render_plain_summary(LOG)


def test_chrome_tracks_each_process() -> None:
    chrome = json.loads(render.render_chrome(PROCESSES, pid=42))["traceEvents"]
    names = {e["pid"]: e["args"]["name"] for e in chrome if e["name"] == "process_name"}
    assert names == {
        100: "manage.py test --parallel 2",
        200: "manage.py test (worker 1)",
        300: "manage.py test (worker 2)",
    }
    threads = [(e["pid"], e["tid"]) for e in chrome if e["name"] == "thread_name"]
    assert threads == [(100, 1), (200, 1), (300, 1), (300, 2)]  # numbered per process
    request = next(e for e in chrome if e.get("cat") == "request")
    assert (request["name"], request["ph"], request["pid"], request["dur"]) == ("GET /orders/3/ 200", "X", 200, 5000.0)
    assert {e["pid"] for e in chrome if e["ph"] != "M"} == {100, 200, 300}
    # an event with no pid is on the pid given, a process the log does not describe named as before
    mixed = TraceLog(events=(*LOG.events, *pair(20, None, 50 * MS, process=7, thread=9)))
    chrome = json.loads(render.render_chrome(mixed, pid=42))["traceEvents"]
    assert {e["pid"]: e["args"]["name"] for e in chrome if e["name"] == "process_name"} == {
        42: "signalscope trace",
        7: "signalscope trace",
    }
    assert [(e["pid"], e["tid"]) for e in chrome if e["name"] == "thread_name"] == [(42, 1), (7, 1)]
    tests = json.loads(render.render_chrome(GROUPS))["traceEvents"]
    assert {(e["cat"], e["name"]) for e in tests if e.get("cat") in ("test", "setup")} == {
        ("test", "tests.test_orders.OrderTests.test_pay"),
        ("setup", "setUpClass tests.test_orders.OrderTests"),
    }


def test_registry_passes_the_tree_options() -> None:
    options = {"slow_ms": 0.4, "limit": 1, "group": "none", "shown_live": False}
    text = registry.render("trace", "tree", PROCESSES, **options)
    assert text == render.render_plain_tree(PROCESSES, **options) + "\n" + render.render_plain_summary(PROCESSES)  # type: ignore[arg-type]
    assert "the first 1 of 3 top-level entries" in str(text)
    rich = registry.render("trace", "tree", PROCESSES, color=True, width=200, **options)
    assert rich == render.render_rich_tree(PROCESSES, color=True, width=200, **options) + render.render_rich_summary(  # type: ignore[arg-type]
        PROCESSES, color=True, width=200
    )
    assert registry.OPTIONS["trace"] == {
        "slow_ms": None, "unheard": False, "pid": 1, "limit": 500, "group": None, "footer": True, "shown_live": False,
    }  # fmt: skip


def test_otel_spans_carry_process_details_and_label() -> None:
    from signalscope.tracing import otel

    saved = send(1, None, 0, MS, details=(("created", "True"), ("update_fields", "email")), process=4321)
    attributes = otel._attributes(saved)
    assert attributes["signalscope.process"] == 4321
    assert attributes["signalscope.detail.created"] == "True"
    assert attributes["signalscope.detail.update_fields"] == "email"
    assert "signalscope.label" not in attributes and otel._span_name(saved) == "post_save"
    request = replace(group(2, "request", "GET /orders/3/ 200", 0, MS), process=4321)
    assert otel._attributes(request)["signalscope.label"] == "GET /orders/3/ 200"
    assert otel._span_name(request) == "GET /orders/3/ 200"
    assert otel._span_name(call(3, 1, "app.r:audit", 0, 1)) == "app.r:audit"
    assert "signalscope.process" not in otel._attributes(send(4, None, 0, 1))  # no pid recorded


def test_a_set_up_that_sent_nothing_is_left_out_and_a_test_that_sent_nothing_is_shown() -> None:
    log = TraceLog(
        events=(
            group(1, "setup", "setUpClass tests.T", 0, MS),
            group(2, "test", "tests.T.test_quiet", 2 * MS, MS),
            group(3, "setup", "tearDownClass tests.T", 4 * MS, MS),
            *pair(4, 3, 4 * MS),
        )
    )
    assert render.render_plain_tree(log, footer=False).splitlines() == [
        "test tests.T.test_quiet  1.000 ms",
        "setup: tearDownClass tests.T  1.000 ms",
        "└─ post_save(auth.User)  1.000 ms",
        "   └─ app.r:audit  0.500 ms",
    ]

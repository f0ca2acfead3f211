"""Traces written a chunk of events at a time: the same bytes as written whole, a bounded merge, atomic files."""

from __future__ import annotations

import itertools
import json
import os
import random
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from helpers import python_snippet, run, signalscope

from signalscope import _files
from signalscope.errors import OutputError
from signalscope.model.jsonio import dump_json, dump_json_line, iter_json, iter_json_line
from signalscope.model.trace import (
    TraceEvent,
    TraceLog,
    TraceStream,
    merge_logs,
    merge_streams,
    trace_from_dict,
    trace_json_chunks,
    trace_to_dict,
)
from signalscope.render.registry import render, render_chunks
from signalscope.render.trace import render_trace_json

# -- the writers, on made-up traces --------------------------------------------------------------------------


def test_json_written_in_chunks_is_dump_json_of_the_whole() -> None:
    head = {"schema": 2, "dropped": 3, "processes": [{"pid": 1}], "notes": ["a\u2028b"], "events": None}
    items = [
        {"id": i, "kwargs": {"a": "b\x85"} if i % 2 else {}, "s": "é\u202e", "n": None, "l": [1, {}]} for i in range(9)
    ]
    for chunks in ([], [[]], [items], [items[:4], [], items[4:]], [[item] for item in items]):
        whole = [item for chunk in chunks for item in chunk]
        assert "".join(iter_json(head, "events", chunks)) == dump_json({**head, "events": whole})
        assert "".join(iter_json_line(head, "events", chunks)) == dump_json_line({**head, "events": whole})


@pytest.mark.parametrize("seed", range(40))
def test_the_event_writer_writes_what_the_general_walk_writes(seed: int) -> None:
    # model.trace.event_json writes each event from its fields with the C encoder: the same bytes as
    # dump_json of event_to_dict, unsafe characters, escapes and every field's type included.
    from signalscope.model.trace import event_json, event_to_dict

    rng = random.Random(seed)
    texts = ["a:b", "é\u202e\u2028", 'q"\\\n\x00', "\x7f\x85", "auth.Group(pk=1)", "<str>"]
    events = [
        TraceEvent(
            i + 1, rng.choice([None, i]), rng.choice(["send", "call", "request"]), rng.choice(texts),
            rng.choice([None, *texts]), rng.choice([None, *texts]), "send", rng.randrange(10**12), rng.randrange(9),
            rng.randrange(2**40), is_async=rng.random() < 0.3, outcome=rng.choice(["ok", "error", "unheard"]),
            error=rng.choice([None, *texts]), result_type=rng.choice([None, "NoneType"]),
            kwargs=tuple(sorted({rng.choice(texts): rng.choice(texts) for _ in range(rng.randrange(4))}.items())),
            details=tuple(sorted({rng.choice(texts): rng.choice(texts) for _ in range(rng.randrange(3))}.items())),
            label=rng.choice([None, "GET /"]), process=rng.randrange(99),
        )
        for i in range(30)
    ]  # fmt: skip
    assert dump_json(events, records={TraceEvent: event_json}) == dump_json([event_to_dict(e) for e in events])
    log = TraceLog(tuple(events), dropped=2)
    assert "".join(trace_json_chunks(log)) == dump_json(trace_to_dict(log))


def random_log(rng: random.Random, roots: int, *, uniform: bool = False) -> TraceLog:
    """A made-up trace in start order: sends, calls, nested sends and groups, some sends unheard.

    With `uniform`, sends differ only in their senders (runs the tree shows
    as one line). Some request groups start with their first send and have
    a larger id, as tracing.groups makes them: that send then comes first.
    """
    events: list[TraceEvent] = []
    ids = itertools.count(1)
    clock = 0

    def add(parent: int | None, kind: str, depth: int) -> None:
        nonlocal clock
        clock += rng.randint(0, 3)
        event_id, start = next(ids), clock
        below: list[str] = []
        outcome = "ok"
        if kind == "send":
            if rng.random() < 0.2:
                outcome = "unheard"
            else:
                below = ["call"] * rng.randint(1, 3)
        elif kind == "call":
            below = ["send"] if depth < 4 and rng.random() < 0.3 else []
        else:
            below = [rng.choice(["send", "send", "setup", "request"]) if depth < 2 else "send"] * rng.randint(0, 3)
        index = len(events)
        events.append(None)  # type: ignore[arg-type]
        for child in below:
            add(event_id, child, depth + 1)
        clock += rng.randint(0, 2)
        events[index] = TraceEvent(
            event_id, parent, kind, "m:s1" if uniform else rng.choice(["m:s1", "m:s2"]),
            rng.choice(["a.A", "a.B", "a.C", None]),
            ("m:r0" if uniform else rng.choice(["m:r0", "m:r1"])) if kind == "call" else None,
            "send", start, clock - start, rng.choice([1, 1, 2]), outcome=outcome,
            details=(("created", rng.choice(["True", "False"])),) if kind == "send" and not uniform else (),
            label=rng.choice(["GET /", "t1"]) if kind not in ("send", "call") else None, process=rng.choice([0, 7]),
        )  # fmt: skip

    for _ in range(roots):
        add(None, rng.choice(["send", "send", "send", "request", "test", "setup"]), 0)
    top = max((event.id for event in events), default=0)
    for group in [event for event in events if event.kind == "request"]:
        first = min((e for e in events if e.parent == group.id), key=lambda e: (e.start_ns, e.id), default=None)
        if first is None or rng.random() < 0.5:
            continue
        top += 1
        moved = replace(group, id=top, start_ns=first.start_ns, duration_ns=group.duration_ns)
        events = [moved if e is group else replace(e, parent=top) if e.parent == group.id else e for e in events]
    events.sort(key=lambda e: (e.start_ns, e.id))
    return TraceLog(tuple(events), dropped=rng.choice([0, 5]))


TREE_OPTIONS: list[dict[str, Any]] = [
    {},
    {"unheard": True},
    {"limit": 0},
    {"limit": 2},
    {"limit": 1, "group": "none"},
    {"group": "request"},
    {"group": "test", "shown_live": True},
    {"shown_live": True, "limit": 0},
]


@pytest.mark.parametrize("seed", range(0, 400, 4))
def test_a_stream_renders_as_the_log_it_holds(seed: int) -> None:
    for offset in range(4):
        rng = random.Random(seed + offset)
        log = random_log(rng, rng.randint(0, 40), uniform=bool(offset % 2))
        stream = TraceStream.of(log)
        assert stream.log() == log
        for fmt in ("json", "jsonl", "chrome", "summary"):
            assert "".join(render_chunks("trace", fmt, stream)) == render("trace", fmt, log)  # type: ignore[arg-type]
        for options in TREE_OPTIONS:
            for color in (False, True):
                streamed = "".join(render_chunks("trace", "tree", stream, color=color, width=90, **options))  # type: ignore[arg-type]
                assert streamed == render("trace", "tree", log, color=color, width=90, **options)


def test_the_streamed_tree_collapses_runs_across_senders() -> None:
    # Sends of one signal differing only in their sender are one line, however many: the run is merged as it comes.
    events = []
    for i in range(2000):
        events.append(TraceEvent(2 * i + 1, None, "send", "m:s", f"a.M{i % 7}", None, "send", 10 * i, 5, 1))
        events.append(TraceEvent(2 * i + 2, 2 * i + 1, "call", "m:s", f"a.M{i % 7}", "m:r", "send", 10 * i + 1, 3, 1))
    log = TraceLog(tuple(events))
    text = render("trace", "tree", TraceStream.of(log), limit=1)  # type: ignore[arg-type]
    assert text == render("trace", "tree", log, limit=1)
    assert text.startswith("s(7 senders) → m:r ×2000")


@pytest.mark.parametrize("seed", range(60))
def test_merge_streams_is_merge_logs(seed: int) -> None:
    rng = random.Random(seed)
    logs = [random_log(rng, rng.randint(0, 12)) for _ in range(rng.randint(1, 3))]
    assert merge_streams(logs).log() == merge_logs(logs)


def test_merge_streams_keeps_the_sends_that_ended_last() -> None:
    rng = random.Random(7)
    logs = [random_log(rng, 30), random_log(rng, 30)]
    whole = merge_logs(logs)
    sends = sorted((e.start_ns + e.duration_ns for e in whole.events if e.kind == "send"), reverse=True)
    for keep in (0, 1, 10, len(sends), len(sends) + 5):
        kept = merge_streams(logs, max_sends=keep).log()
        ends = [e.start_ns + e.duration_ns for e in kept.events if e.kind == "send"]
        assert len(ends) == min(keep, len(sends))
        assert kept.dropped == whole.dropped + len(sends) - len(ends)
        if keep and ends:
            assert min(ends) == sends[len(ends) - 1]  # none ended before one left out
        by_id = {e.id: e for e in kept.events}
        for event in kept.events:
            assert event.parent is None or event.parent in by_id  # every parent kept, or none
            if event.kind == "call":
                assert event.parent is not None and by_id[event.parent].kind == "send"
        assert render("trace", "json", kept) == "".join(
            render_chunks("trace", "json", merge_streams(logs, max_sends=keep))
        )


# -- a real tracer and real programs -------------------------------------------------------------------------

WORKLOAD = """
import asyncio, sys, threading
sys.path.insert(0, {benchmarks!r})
from bench_trace import _setup, _workload
_setup()
from django.dispatch import Signal
from signalscope.tracing import Tracer
from signalscope.render.registry import render, render_chunks
signals, model, group = _workload()
nested, top, asig = Signal(), Signal(), Signal()
def outer(sender, **kwargs):
    nested.send(sender=None)
    thread = threading.Thread(target=lambda: nested.send(sender="thread"))
    thread.start(); thread.join()
async def later(sender, **kwargs):
    await asyncio.sleep(0)
top.connect(outer, weak=False)
nested.connect(lambda sender, **kwargs: 1, weak=False)
asig.connect(later, weak=False)
tracer = Tracer(max_sends={max_sends}, groups=True).start()
for i in range(300):
    group.save()
    top.send(sender=model, n=i)
    if i % 50 == 0:
        Signal().send(sender=None)
        if hasattr(asig, "asend"):  # Django 5.0+
            asyncio.run(asig.asend(sender=None))
stream = tracer.stop_stream()
log = tracer.log()
assert stream.log() == log
for fmt in ("json", "jsonl", "chrome", "tree", "summary"):
    for options in ({{}}, {{"limit": 0, "unheard": True}}) if fmt == "tree" else ({{}},):
        assert "".join(render_chunks("trace", fmt, stream, **options)) == render("trace", fmt, log, **options), fmt
print(len(log.events), log.dropped)
"""


@pytest.mark.parametrize("max_sends", [50_000, 200])
def test_a_tracers_stream_renders_as_its_log(max_sends: int) -> None:
    benchmarks = str(Path(__file__).resolve().parent.parent / "benchmarks")
    events, dropped = python_snippet(WORKLOAD.format(benchmarks=benchmarks, max_sends=max_sends)).split()
    assert int(events) > (1000 if max_sends == 50_000 else 500)
    assert (int(dropped) > 0) == (max_sends == 200)


PROGRAM = """
import subprocess, sys
import django
from django.conf import settings
settings.configure(INSTALLED_APPS=[], DATABASES={})
django.setup()
from django.dispatch import Signal
ping = Signal()
ping.connect(lambda sender, **kwargs: 1, weak=False)
ping.connect(lambda sender, **kwargs: None, weak=False)
if sys.argv[1:] == ["child"]:
    for _ in range(300):
        ping.send(sender="child")
else:
    for _ in range(50):
        ping.send(sender="parent")
    subprocess.run([sys.executable, __file__, "child"], check=True)
    if sys.argv[1:] == ["fail"]:
        sys.exit(3)
"""


@pytest.fixture
def program(tmp_path: Path) -> Path:
    path = tmp_path / "program.py"
    path.write_text(PROGRAM, encoding="utf-8")
    return path


def test_a_written_json_trace_is_its_own_rendering(program: Path, tmp_path: Path) -> None:
    # What the file holds, read back and written whole by render_trace_json, is the file byte for byte.
    for extra in ([], ["--no-children"]):
        out = tmp_path / "out.json"
        result = signalscope("trace", "-f", "json", "-o", str(out), *extra, "--", str(program), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        text = out.read_text(encoding="utf-8")
        log = trace_from_dict(json.loads(text))
        assert render_trace_json(log) == text
        assert sum(1 for e in log.events if e.kind == "send") == (50 if extra else 350)
        assert f"({len(log.events)} events)" in result.stderr


def test_a_program_that_removes_its_temporary_folder_at_exit_is_still_traced(tmp_path: Path) -> None:
    # As Django's runtests.py does: tempfile.tempdir moved to a folder of its own, removed by atexit.
    program = tmp_path / "moves_tempdir.py"
    program.write_text(
        PROGRAM
        + "import atexit, shutil, tempfile\n"
        + "tempfile.tempdir = tempfile.mkdtemp()\n"
        + "atexit.register(shutil.rmtree, tempfile.tempdir)\n",
        encoding="utf-8",
    )
    for fmt in ("summary", "json"):
        out = tmp_path / f"out.{fmt}"
        result = signalscope("trace", "-f", fmt, "-o", str(out), "--", str(program), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert out.stat().st_size > 0


def test_the_childrens_sends_are_bounded_by_max_sends(program: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    result = signalscope("trace", "-f", "json", "-o", str(out), "--max-sends", "100", "--", str(program), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    log = trace_from_dict(json.loads(out.read_text(encoding="utf-8")))
    sends = [e for e in log.events if e.kind == "send"]
    assert len(sends) == 100 and log.dropped == 250
    assert {e.sender for e in sends} == {"'child'"}  # the last to end: the child's
    assert len(log.processes) == 2
    assert "250 older sends were dropped (--max-sends 100)" in render("trace", "summary", log)  # type: ignore[operator]


def test_a_chrome_trace_to_a_fifo_and_to_dev_stdout(program: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "trace.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    result = signalscope("trace", "-f", "chrome", "-o", str(fifo), "--", str(program), cwd=tmp_path)
    reader.join(timeout=60)
    assert result.returncode == 0, result.stderr
    data = json.loads(got[0])
    assert data["otherData"]["dropped"] == 0 and sum(e.get("cat") == "signal" for e in data["traceEvents"]) == 350
    to_stdout = run(
        [sys.executable, "-m", "signalscope", "trace", "-f", "json", "-o", "/dev/stdout", "--", str(program)],
        cwd=tmp_path,
    )
    assert to_stdout.returncode == 0, to_stdout.stderr
    assert len(trace_from_dict(to_stdout.json()).events) == 3 * 350


def test_a_failed_program_still_writes_its_trace(program: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.perfetto.json"
    result = signalscope("trace", "-f", "chrome", "-o", str(out), "--", str(program), "fail", cwd=tmp_path)
    assert result.returncode == 3
    json.loads(out.read_text(encoding="utf-8"))


# -- writing a file a chunk at a time ------------------------------------------------------------------------


def failing(after: int) -> Iterator[str]:
    for i in range(after):
        yield f"chunk {i}\n"
    raise RuntimeError("the renderer failed")


def test_a_failed_stream_leaves_no_file_and_an_old_one_as_it_was(tmp_path: Path) -> None:
    new = tmp_path / "new.json"
    with pytest.raises(RuntimeError):
        _files.write_output_chunks(str(new), failing(3))
    assert not new.exists()
    old = tmp_path / "old.json"
    old.write_text("old\n")
    os.chmod(old, 0o640)
    with pytest.raises(RuntimeError):
        _files.write_output_chunks(str(old), failing(3))
    assert old.read_text() == "old\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["old.json"]  # no temporary file left
    _files.write_output_chunks(str(old), iter(["a", b"b", "c\n"]))
    assert old.read_text() == "abc\n" and (old.stat().st_mode & 0o777) == 0o640


def test_chunks_to_a_fifo_come_as_they_are_made(tmp_path: Path) -> None:
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    _files.write_output_chunks(str(fifo), iter([f"{i}\n" for i in range(1000)]))
    reader.join(timeout=30)
    assert got == ["".join(f"{i}\n" for i in range(1000)).encode()]


def test_chunks_to_dev_stdout_and_dev_fd() -> None:
    code = (
        "from signalscope._files import write_output_chunks\n"
        "write_output_chunks('/dev/stdout', iter(['a', 'b\\n']))\n"
        "import os, sys\n"
        "sys.stdout.flush()\n"
        "write_output_chunks('/dev/fd/1', iter([b'c', 'd\\n']))\n"
        "write_output_chunks('-', iter(['e', 'f\\n']))\n"
    )
    assert python_snippet(code) == "ab\ncd\nef\n"


def test_a_trace_whose_rendering_fails_replaces_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from signalscope import api
    from signalscope.cli.app import app

    def broken() -> Iterator[list[TraceEvent]]:
        yield [TraceEvent(1, None, "send", "m:s", None, None, "send", 0, 1, 1)]
        raise OutputError("the disk is full")

    monkeypatch.setattr(api, "trace_program_stream", lambda argv, options, *, project: (0, TraceStream(broken)))
    out = tmp_path / "t.json"
    out.write_text("the last trace\n")
    for fmt in ("json", "chrome"):
        result = CliRunner().invoke(app, ["trace", "-f", fmt, "-o", str(out), "--", "x.py"])
        assert result.exit_code != 0
        assert out.read_text() == "the last trace\n"
        assert sorted(path.name for path in tmp_path.iterdir()) == ["t.json"]
    fresh = tmp_path / "fresh.json"
    result = CliRunner().invoke(app, ["trace", "-f", "json", "-o", str(fresh), "--", "x.py"])
    assert result.exit_code != 0 and not fresh.exists()


def test_a_trace_to_a_file_that_cannot_be_written_is_an_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError):
        _files.write_output_chunks(str(tmp_path / "missing" / "t.json"), iter(["x"]))

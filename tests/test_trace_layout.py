"""The send record's layout: recorder.py's field constants are what the recorder writes and the tracer reads."""

from __future__ import annotations

import json
import re
import sys

from helpers import ROOT, TESTS, run

RECORDER = ROOT / "signalscope" / "tracing" / "recorder.py"
TRACER = ROOT / "signalscope" / "tracing" / "tracer.py"
PACKING = ROOT / "signalscope" / "tracing" / "packing.py"

#: The send record's fields, in recorder.py's order; the underscored ones are the recorder's own.
FIELDS = (
    "ID", "PARENT", "SIGNAL", "SENDER", "NAMED", "METHOD", "THREAD", "START", "END", "ERROR", "RECEIVERS",
    "TIMES", "CALL_THREAD", "RESPONSES", "RAISED", "ASYNC", "_WRAPPED", "_ORIGINALS", "CALL_IDS", "ROOT",
    "_PENDING", "_DEFERRED",
)  # fmt: skip


def _constants() -> dict[str, int]:
    """The field constants as recorder.py assigns them (read from its source: importing it needs no Django,
    but this keeps the test about the file)."""
    found = dict(re.findall(r"(?m)^(_?[A-Z][A-Z_]*) = (\d+)\b", RECORDER.read_text()))
    return {name: int(value) for name, value in found.items()}


def test_the_constants_number_every_slot_once_in_order() -> None:
    constants = _constants()
    assert [name for name, _ in sorted(constants.items(), key=lambda item: item[1])] == list(FIELDS)
    assert sorted(constants.values()) == list(range(len(FIELDS)))


def test_every_literal_index_in_the_tracer_is_named_by_its_constant() -> None:
    # The tracer's hot path indexes the record with literals (a constant is a global lookup per read);
    # each line names them, in order, in its comment: R.NAME, NAME one of recorder's constants.
    # The same in the recorder's hooks and in packing.
    constants = _constants()
    checked = 0
    for path in (TRACER, PACKING, RECORDER):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code, _, comment = line.partition("#")
            indexes = [int(i) for i in re.findall(r"\brecord\[(\d+)\]", code)]
            if not indexes:
                continue
            names = re.findall(r"\bR\.([A-Z_]+)", comment)
            assert [constants.get(name) for name in names] == indexes, f"{path.name}:{number}: {line.strip()}"
            checked += len(indexes)
    assert checked >= 30


# What the recorder writes, slot by slot, for a send, a send_robust and an asend (in a fresh process: Django).
WRITTEN = r"""
import sys; sys.path.insert(0, sys.argv[1])
from trace_snippets import *
import asyncio, json, threading
from signalscope.tracing import recorder as R

records = []
keep = lambda record: records.append(list(record))  # as handed: the recorder clears ERROR and ASYNC after
R.subscribe(keep)
ping = Signal()
def heard(sender, **kw): return "r"
def boom(sender, **kw): raise ValueError("no")
async def aheard(sender, **kw): return 7
ping.connect(heard)
ping.send(sender="s", n=1)
ping.connect(boom)
ping.send_robust(sender="s")
ping.disconnect(boom)
if hasattr(Signal, "asend"):
    ping.connect(aheard)
    asyncio.run(ping.asend(sender="s"))
R.unsubscribe(keep)
assert_restored()
send, robust = records[0], records[1]
checks = {
    "length": len(send) == R._DEFERRED + 1,
    "ids": type(send[R.ID]) is int and send[R.ROOT] == send[R.ID] and send[R.PARENT] is None,
    "signal, sender, named": send[R.SIGNAL] is ping and send[R.SENDER] == "s" and send[R.NAMED] == {"n": 1},
    "method": (send[R.METHOD], robust[R.METHOD]) == ("send", "send_robust"),
    "threads": send[R.THREAD] == send[R.CALL_THREAD] == threading.get_ident(),
    "times": send[R.START] <= send[R.TIMES][0] <= send[R.TIMES][-1] <= send[R.END] and len(send[R.TIMES]) == 2,
    "receivers": send[R.RECEIVERS] == [heard] and len(send[R.CALL_IDS]) == 1 and send[R.CALL_IDS][0] > send[R.ID],
    "responses": send[R.RESPONSES] == [(heard, "r")] and send[R.ERROR] is None and send[R.RAISED] is None,
    "raised": robust[R.RAISED] == {1} and [r for r, _ in robust[R.RESPONSES]] == [heard, boom],
    "recorder's own": send[R._WRAPPED] is True and send[R._PENDING] == 0 and send[R._DEFERRED] is False,
}
if hasattr(Signal, "asend"):
    # The tracer unpacks each async call as (call id, receiver, start, end, thread, error, result).
    (call,) = records[2][R.ASYNC] or [None]
    checks["async call"] = (
        call is not None and len(call) == 7 and type(call[0]) is int and call[1] is aheard
        and call[2] <= call[3] and type(call[4]) is int and call[5] is None and call[6] == 7
    )
print(json.dumps(checks))
"""


def test_the_recorder_writes_each_slot_as_its_constant_says() -> None:
    result = run([sys.executable, "-c", WRITTEN, str(TESTS)])
    assert result.returncode == 0, result.stderr
    checks = json.loads(result.stdout)
    assert [name for name, ok in checks.items() if not ok] == []


def test_the_layout_is_read_only_inside_tracing() -> None:
    # Private to tracing/: testing's SignalRecorder gets its live sends from tracing.live, through the API.
    readers = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "signalscope").rglob("*.py")
        if "tracing" not in path.parts and re.search(r"\brecorder\.[A-Z][A-Z_]*\b", path.read_text())
    )
    assert readers == []

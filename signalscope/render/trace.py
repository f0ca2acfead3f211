"""Renderers of a TraceLog: the causal tree, the per-receiver summary, JSON, JSON lines and Chrome's Trace Event Format.

Pure functions of their arguments (no clock, no process id of their own):
the same log renders to the same bytes. The human forms show names with
their control characters escaped (model.escaping), never as rich markup.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..model.escaping import escape_controls
from ..model.jsonio import dump_json, dump_json_line

# event_to_dict ... _check_parents moved to model.trace; importable from here too, for a release.
from ..model.trace import (
    TRACE_SCHEMA,
    TraceEvent,
    TraceLog,
    TraceTree,
    _check_parents,  # noqa: F401
    event_from_dict,
    event_to_dict,
    trace_from_dict,
    trace_to_dict,
)
from .text import capture_console, captured

__all__ = [
    "TRACE_SCHEMA",
    "ReceiverStats",
    "event_children",
    "event_from_dict",
    "event_to_dict",
    "label",
    "receiver_stats",
    "render_chrome",
    "render_jsonl",
    "render_plain_summary",
    "render_plain_tree",
    "render_rich_summary",
    "render_rich_tree",
    "render_trace_dot",
    "render_trace_json",
    "trace_from_dict",
]

#: The tree shows at most this many top-level sends (the summary counts them all).
TREE_LIMIT = 500


def _ms(ns: int) -> str:
    return f"{ns / 1e6:.3f} ms"


def _short(path: str) -> str:
    return path.rsplit(":", 1)[-1]


def label(event: TraceEvent) -> str:
    """A send as ``post_save(auth.User)``, a call as its receiver's path."""
    if event.kind == "send":
        return f"{_short(event.signal)}({event.sender if event.sender is not None else ''})"
    return event.receiver or "?"


def _notes(event: TraceEvent, slow_ns: int | None) -> list[str]:
    notes = []
    if event.kind == "call" and slow_ns is not None and event.duration_ns >= slow_ns:
        notes.append("SLOW")
    if event.is_async:
        notes.append("async")
    if event.method not in ("send",) and event.kind == "send":
        notes.append(event.method)
    if event.outcome == "unheard":
        notes.append("no receiver ran")
    if event.error:
        notes.append(f"raised {event.error}")
    return notes


def event_children(log: TraceLog, unheard: bool) -> dict[int | None, list[TraceEvent]]:
    """Return the tree of `log` as parent id -> children (None: the roots); sends no receiver heard only with `unheard`.

    Deprecated: a view of model.trace.TraceTree (what every renderer walks), kept for one release.
    """
    tree = _tree(log, unheard)
    children: dict[int | None, list[TraceEvent]] = {}
    for event in tree.by_id.values():
        below = tree.children(event.id)
        if below:
            children[event.id] = list(below)
    if tree.roots:
        children[None] = list(tree.roots)
    return children


def _tree(log: TraceLog, unheard: bool) -> TraceTree:
    """The tree the human forms show: without the sends no receiver heard (they have no children) unless `unheard`."""
    return log.tree() if unheard else log.tree(keep=_heard)


def _heard(event: TraceEvent) -> bool:
    return event.outcome != "unheard"


def _footer(log: TraceLog, shown: int, top: int, unheard: bool, hint: str = " (--show-unheard)") -> list[str]:
    sends = sum(1 for e in log.events if e.kind == "send")
    calls = len(log.events) - sends
    lines = [f"{sends} send{'s' if sends != 1 else ''}, {calls} receiver call{'s' if calls != 1 else ''}"]
    quiet = sum(1 for e in log.events if e.outcome == "unheard")
    if quiet and not unheard:
        lines.append(f"{quiet} send{'s' if quiet != 1 else ''} that no receiver heard not shown{hint}")
    if shown < top:
        lines.append(f"the tree shows the first {shown} of {top} top-level sends; --format json has them all")
    dropped = _dropped_note(log, "the tree shows")
    if dropped:
        lines.append(dropped)
    return lines


def _dropped_note(log: TraceLog, what: str) -> str | None:
    """Say how many sends the tracer's ring buffer dropped, so that no count is silently low; None if none.

    `what` ("the counts below cover") is what covers only the sends kept.
    When any were dropped the buffer was full: its size is the sends kept.
    """
    if not log.dropped:
        return None
    kept = sum(1 for e in log.events if e.kind == "send")
    sends = "sends were" if log.dropped != 1 else "send was"
    return f"{log.dropped:,} older {sends} dropped (--max-sends {kept}): {what} the last {kept:,} only"


def render_plain_tree(
    log: TraceLog, *, slow_ms: float | None = None, unheard: bool = False, hint: str = " (--show-unheard)"
) -> str:
    """The causal tree as text: each send, the receivers it called, and what they sent in turn.

    Sends that no receiver heard are left out (counted at the end) unless `unheard`.
    """
    slow_ns = None if slow_ms is None else int(slow_ms * 1e6)
    tree = _tree(log, unheard)
    lines: list[str] = []

    def walk(event: TraceEvent, prefix: str, last: bool, top: bool) -> None:
        branch = "" if top else ("└─ " if last else "├─ ")
        name, notes = escape_controls(label(event)), escape_controls(", ".join(_notes(event, slow_ns)))
        lines.append(f"{prefix}{branch}{name}  {_ms(event.duration_ns)}" + (f"  [{notes}]" if notes else ""))
        below = tree.children(event.id)
        inner = prefix if top else prefix + ("   " if last else "│  ")
        for i, child in enumerate(below):
            walk(child, inner, i == len(below) - 1, False)

    roots = tree.roots
    for root in roots[:TREE_LIMIT]:
        walk(root, "", True, True)
    lines.append("")
    lines.extend(_footer(log, min(len(roots), TREE_LIMIT), len(roots), unheard, hint))
    return "\n".join(lines) + "\n"


def render_rich_tree(
    log: TraceLog,
    *,
    slow_ms: float | None = None,
    unheard: bool = False,
    color: bool = True,
    width: int | None = None,
) -> str:
    """The causal tree for a terminal: slow receivers in bold red, errors in red.

    Sends that no receiver heard are left out (counted at the end) unless `unheard`.
    """
    from rich.text import Text
    from rich.tree import Tree

    slow_ns = None if slow_ms is None else int(slow_ms * 1e6)
    index = _tree(log, unheard)
    console = capture_console(color, width)

    def text(event: TraceEvent) -> Text:
        # Text, not markup: a "[bold]" in a name or an error message prints as written
        name = (escape_controls(label(event)), "bold" if event.kind == "send" else "cyan")
        slow = event.kind == "call" and slow_ns is not None and event.duration_ns >= slow_ns
        duration = (_ms(event.duration_ns), "bold red" if slow else "dim")
        line = Text.assemble(name, "  ", duration)
        notes = _notes(event, slow_ns)
        if notes:
            style = "red" if event.error else ("dim" if event.outcome == "unheard" else "yellow")
            line.append_text(Text.assemble("  ", (escape_controls("[" + ", ".join(notes) + "]"), style)))
        return line

    def grow(tree: Any, event: TraceEvent) -> None:
        for child in index.children(event.id):
            grow(tree.add(text(child)), child)

    roots = index.roots
    for root in roots[:TREE_LIMIT]:
        tree = Tree(text(root), guide_style="dim")
        grow(tree, root)
        console.print(tree)
    console.print()
    for line in _footer(log, min(len(roots), TREE_LIMIT), len(roots), unheard):
        console.print(Text(line), style="dim")
    return captured(console)


@dataclass(frozen=True)
class ReceiverStats:
    """Totals for one receiver (of one signal) over a trace."""

    receiver: str
    signal: str
    calls: int
    errors: int
    total_ns: int
    max_ns: int

    @property
    def mean_ns(self) -> float:
        return self.total_ns / self.calls if self.calls else 0.0


def receiver_stats(log: TraceLog) -> list[ReceiverStats]:
    """Per receiver and signal: calls, errors, total and max time; the costliest first."""
    totals: dict[tuple[str, str], list[int]] = {}
    for event in log.events:
        if event.kind != "call":
            continue
        row = totals.setdefault((event.receiver or "?", event.signal), [0, 0, 0, 0])
        row[0] += 1
        row[1] += event.outcome == "error"
        row[2] += event.duration_ns
        row[3] = max(row[3], event.duration_ns)
    stats = [ReceiverStats(r, s, *values) for (r, s), values in totals.items()]
    return sorted(stats, key=lambda st: (-st.total_ns, st.receiver, st.signal))


_SUMMARY_COLUMNS = ("RECEIVER", "SIGNAL", "CALLS", "ERRORS", "TOTAL MS", "MEAN MS", "MAX MS")


def _summary_rows(log: TraceLog) -> list[tuple[str, ...]]:
    return [
        (
            escape_controls(st.receiver),
            escape_controls(_short(st.signal)),
            str(st.calls),
            str(st.errors),
            f"{st.total_ns / 1e6:.3f}",
            f"{st.mean_ns / 1e6:.3f}",
            f"{st.max_ns / 1e6:.3f}",
        )
        for st in receiver_stats(log)
    ]


def render_plain_summary(log: TraceLog) -> str:
    """The per-receiver table as aligned text, the costliest receiver first."""
    rows = _summary_rows(log)
    dropped = _dropped_note(log, "the counts below cover")
    head = f"{dropped}\n" if dropped else ""
    if not rows:
        return head + "no receiver ran\n"
    table = [_SUMMARY_COLUMNS, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(_SUMMARY_COLUMNS))]
    lines = []
    for row in table:
        cells = [cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
    return head + "\n".join(lines) + "\n"


def render_rich_summary(log: TraceLog, *, color: bool = True, width: int | None = None) -> str:
    """The per-receiver table for a terminal."""
    from rich.table import Table
    from rich.text import Text

    rows = _summary_rows(log)
    console = capture_console(color, width)
    dropped = _dropped_note(log, "the counts below cover")
    if dropped:
        console.print(Text(dropped), style="yellow")
    if not rows:
        console.print("no receiver ran", style="dim")
        return captured(console)
    table = Table(title="Receivers by total time", title_justify="left", header_style="bold")
    for i, column in enumerate(_SUMMARY_COLUMNS):
        table.add_column(column, justify="left" if i < 2 else "right", style="cyan" if i == 0 else None)
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))  # Text, not markup: names print as written
    console.print(table)
    return captured(console)


def render_trace_json(log: TraceLog) -> str:
    """The whole trace: ``{"schema", "dropped", "events": [...]}``, events in start order (model.trace_to_dict)."""
    return dump_json(trace_to_dict(log))


def render_jsonl(events: Iterable[TraceEvent]) -> str:
    """One JSON object per line per event (sorted keys, no spaces): for streaming."""
    return "".join(dump_json_line(event_to_dict(e)) for e in events)


def render_chrome(log: TraceLog, *, pid: int = 1, process_name: str = "signalscope trace") -> str:
    """Chrome's Trace Event Format (Perfetto, chrome://tracing, speedscope).

    Sends and sync receiver calls are complete events ("X") on their
    thread's track, so receivers nest under their send and nested sends
    under their receiver. Async receivers run concurrently, so they are
    nestable async events ("b"/"e") keyed by their id, which keeps them
    from breaking the nesting of the thread they share. Times are
    microseconds from the first event; threads are numbered 1, 2, ... in
    order of first appearance.
    """
    start = log.events[0].start_ns if log.events else 0
    tids: dict[int, int] = {}
    out: list[dict[str, Any]] = [
        {"name": "process_name", "ph": "M", "pid": pid, "tid": 0, "args": {"name": process_name}},
    ]
    for event in log.events:
        if event.thread not in tids:
            tids[event.thread] = len(tids) + 1
            out.append(
                {"name": "thread_name", "ph": "M", "pid": pid, "tid": tids[event.thread],
                 "args": {"name": f"thread {tids[event.thread]}"}}
            )  # fmt: skip
    for event in log.events:
        args = {k: v for k, v in event_to_dict(event).items() if v not in (None, {}, False)}
        common = {
            "name": label(event),
            "cat": "signal" if event.kind == "send" else "receiver",
            "pid": pid,
            "tid": tids[event.thread],
        }
        ts = round((event.start_ns - start) / 1000, 3)
        if event.is_async:
            out.append({**common, "ph": "b", "id": event.id, "ts": ts, "args": args})
            out.append({**common, "ph": "e", "id": event.id, "ts": round(ts + event.duration_ns / 1000, 3)})
        else:
            out.append({**common, "ph": "X", "ts": ts, "dur": round(event.duration_ns / 1000, 3), "args": args})
    data = {"traceEvents": out, "displayTimeUnit": "ms", "otherData": {"schema": TRACE_SCHEMA, "dropped": log.dropped}}
    return dump_json_line(data)


def render_trace_dot(log: TraceLog, *, title: str = "signals that fired") -> str:
    """What actually fired, as a DOT digraph: sends (hexagons) → receivers (boxes) → the sends they made.

    Repeats are merged: an edge is labelled with how many times it was taken.
    """
    from .dot import dot_quote

    tree = log.tree()
    nodes: dict[str, str] = {}  # label -> shape
    edges: dict[tuple[str, str], int] = {}

    def node(event: TraceEvent) -> str:
        name = escape_controls(label(event))
        nodes.setdefault(name, "hexagon" if event.kind == "send" else "box")
        return name

    for event in log.events:
        here = node(event)
        parent = tree.parent_of(event)
        if parent is not None:
            key = (node(parent), here)
            edges[key] = edges.get(key, 0) + 1
    lines = [f"digraph {dot_quote(escape_controls(title))} {{", "  rankdir=LR;", "  node [fontname=Helvetica];"]
    for name, shape in nodes.items():
        lines.append(f"  {dot_quote(name)} [shape={shape}];")
    for (tail, head), count in edges.items():
        extra = f" [label={dot_quote(f'x{count}')}]" if count > 1 else ""
        lines.append(f"  {dot_quote(tail)} -> {dot_quote(head)}{extra};")
    lines.append("}")
    return "\n".join(lines) + "\n"

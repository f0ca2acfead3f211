"""Renderers of a TraceLog: the causal tree, the per-receiver summary, JSON, JSON lines and Chrome's Trace Event Format.

Pure functions of their arguments (no clock, no process id of their own):
the same log renders to the same bytes. The human forms show names with
their control characters escaped (model.escaping), never as rich markup.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..model.escaping import escape_controls
from ..model.jsonio import dump_json_line, iter_json_line

# event_to_dict ... _check_parents moved to model.trace; importable from here too, for a release.
from ..model.trace import (
    GROUP_KINDS,
    TRACE_SCHEMA,
    AnyLog,
    TraceEvent,
    TraceLog,
    TraceTree,
    _check_parents,  # noqa: F401
    event_from_dict,
    event_to_dict,
    parents_first,
    trace_from_dict,
    trace_json_chunks,
    trace_to_dict,  # noqa: F401
)
from .text import capture_console, captured

__all__ = [
    "TRACE_SCHEMA",
    "ReceiverStats",
    "event_children",
    "event_from_dict",
    "event_to_dict",
    "iter_chrome",
    "iter_jsonl",
    "iter_trace_json",
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

#: The tree shows at most this many top-level entries by default (the summary counts them all).
TREE_LIMIT = 500
#: The `group` choices of the tree renderers, each with the group kinds it leaves out.
GROUP_CHOICES: dict[str | None, tuple[str, ...]] = {
    None: (),
    "request": ("test", "setup"),
    "test": ("request",),
    "none": GROUP_KINDS,
}
# How a send's details are shown (model.trace's TraceEvent.details), in this order; any other detail is
# shown always, after these, by name. Each says whether a value is worth showing.
_DETAILS: dict[str, Callable[[str], bool]] = {
    "created": lambda value: True,
    "raw": lambda value: value == "True",
    "update_fields": lambda value: value != "None",
    "action": lambda value: True,
    "pk_set": lambda value: True,  # already its size
    "using": lambda value: value != "default",
    "origin": lambda value: True,
}


def _ms(ns: int) -> str:
    return f"{ns / 1e6:.3f} ms"


def _short(path: str) -> str:
    return path.rsplit(":", 1)[-1]


def label(event: TraceEvent) -> str:
    """A send as ``post_save(auth.User)``, a call as its receiver's path, a group as its label.

    A request group is its label (``GET /orders/3/ 200``), a test ``test <id>``
    and a set-up ``setup: <label>``.
    """
    if event.kind == "send":
        return f"{_short(event.signal)}({event.sender if event.sender is not None else ''})"
    if event.kind in GROUP_KINDS:
        name = event.label if event.label is not None else "?"
        return {"test": f"test {name}", "setup": f"setup: {name}"}.get(event.kind, name)
    return event.receiver or "?"


def _details(event: TraceEvent) -> str:
    """Return the details of a send worth showing, as ``created=True update_fields=email`` ("" for none)."""
    given = dict(event.details)
    names = [name for name in _DETAILS if name in given] + sorted(name for name in given if name not in _DETAILS)
    return " ".join(f"{name}={given[name]}" for name in names if name not in _DETAILS or _DETAILS[name](given[name]))


def _name(event: TraceEvent) -> str:
    """Return what the tree shows of `event` before its duration: its label, then its details; escaped."""
    details = _details(event) if event.kind == "send" else ""
    return escape_controls(label(event) + (f" {details}" if details else ""))


def _notes(event: TraceEvent) -> list[str]:
    """Return the notes on `event` that are not about its time (SLOW is), escaped."""
    notes = []
    if event.kind in GROUP_KINDS and event.outcome == "error":
        notes.append("failed")
    if event.is_async:
        notes.append("async")
    if event.method not in ("send",) and event.kind == "send":
        notes.append(event.method)
    if event.outcome == "unheard":
        notes.append("no receiver ran")
    if event.error:
        notes.append(f"raised {event.error}")
    return [escape_controls(note) for note in notes]


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


def _tree(log: TraceLog, unheard: bool, group: str | None = None, hidden: frozenset[int] = frozenset()) -> TraceTree:
    """The tree the human forms show.

    Without the sends no receiver heard (they have no children) unless
    `unheard`, without the group events that `group` leaves out (their
    sends become roots), and without the events `hidden`. A set-up group
    with nothing left to show in it (a setUpClass that sent nothing) is left
    out too: a test is kept, as the tree's word that it made no send.
    """
    if group not in GROUP_CHOICES:
        raise ValueError(f"group {group!r}: one of request, test or none (or None)")
    dropped = GROUP_CHOICES[group]

    def keep(event: TraceEvent) -> bool:
        return (unheard or event.outcome != "unheard") and event.kind not in dropped and event.id not in hidden

    tree = log.tree(keep=keep)
    empty = {event.id for event in tree.by_id.values() if event.kind == "setup" and not tree.children(event.id)}
    return tree if not empty else log.tree(keep=lambda event: keep(event) and event.id not in empty)


def _shown_live(log: TraceLog) -> tuple[frozenset[int], int]:
    """Return the ids of the outermost request groups of `log` and every event below them, and how many there are.

    Those are the requests shown as they ended; a request made inside a test (by the test client) was not.
    """
    tree = log.tree()
    requests = [event for event in log.events if event.kind == "request" and event.parent is None]
    return frozenset(event.id for request in requests for event in tree.walk(request)), len(requests)


def _process_ids(log: AnyLog) -> list[int]:
    """Return the pids of the processes of `log`: its processes' in order, then any other its events name."""
    pids = dict.fromkeys(process.pid for process in log.processes)
    pids.update(dict.fromkeys(event.process for event in log.iter_events() if event.process))
    return list(pids)


@dataclass(slots=True)
class _Counts:
    """What the footer and the summary's head count over a log's events."""

    sends: int = 0
    calls: int = 0
    unheard: int = 0

    @classmethod
    def of(cls, log: AnyLog) -> _Counts:
        counts = cls()
        for event in log.iter_events():
            counts.add(event)
        return counts

    def add(self, event: TraceEvent) -> None:
        kind = event.kind
        if kind == "send":
            self.sends += 1
        elif kind == "call":
            self.calls += 1
        if event.outcome == "unheard":
            self.unheard += 1


@dataclass(slots=True)
class _Node:
    """One line of the tree: an event, or a run of identical sibling subtrees shown once.

    `count` is the run's length; `occurrences` how many events the line
    stands for (a run's, and below a run each of its subtrees' share), whose
    time `total_ns` sums. `key` is the same for identical subtrees.
    """

    event: TraceEvent
    name: str
    notes: tuple[str, ...]
    key: int
    children: list[_Node] = field(default_factory=list)
    loose: int = 0  # the same for subtrees identical but for a send's sender and details
    count: int = 1
    occurrences: int = 1
    total_ns: int = 0
    max_ns: int = 0


class _Lines:
    """The tree's lines as _Nodes, identical consecutive siblings collapsed into runs, at every level.

    Given no `tree`, it builds nothing yet: `build` builds one tree at a
    time (one top-level entry's, streamed), numbering shapes alike for all.
    """

    def __init__(self, tree: TraceTree | None = None) -> None:
        self._keys: dict[tuple[Any, ...], int] = {}
        self.roots = self.build(tree) if tree is not None else []

    def _key(self, node: _Node) -> int:
        """Number the shape of `node`'s subtree (its children already collapsed): timing aside, equal is identical."""
        event = node.event
        shape = (event.kind, event.process, node.name, node.notes, tuple((c.key, c.count) for c in node.children))
        return self._keys.setdefault(shape, len(self._keys))

    def _loose_key(self, node: _Node) -> int:
        """Number the shape of `node`'s subtree with a send's sender left out: a send of one signal to the same
        receivers for sender after sender (class_prepared for every model) can be one line."""
        event = node.event
        if event.kind != "send":
            return -1 - node.key
        children = tuple((c.key, c.count) for c in node.children)
        shape = ("loose", event.process, event.signal, _details(event), node.notes, children)
        return self._keys.setdefault(shape, len(self._keys))

    def build(self, tree: TraceTree) -> list[_Node]:
        """Return the lines of `tree`'s roots, collapsed."""
        # Depth first with a stack of its own (a tree of any depth): each event once its children are built.
        built: dict[int, _Node] = {}
        todo: list[tuple[TraceEvent, bool]] = [(root, False) for root in reversed(tree.roots)]
        while todo:
            event, ready = todo.pop()
            below = tree.children(event.id)
            if not ready:
                todo.append((event, True))
                todo.extend((child, False) for child in reversed(below))
                continue
            node = _Node(event, _name(event), tuple(_notes(event)), 0, total_ns=event.duration_ns)
            node.max_ns = event.duration_ns
            node.children = _collapse([built.pop(child.id) for child in below])
            node.key = self._key(node)
            node.loose = self._loose_key(node)
            built[event.id] = node
        return _collapse([built.pop(root.id) for root in tree.roots])


def _collapse(nodes: list[_Node]) -> list[_Node]:
    """Return `nodes` (siblings) with each run of identical consecutive ones merged into one.

    A run of LOOSE_RUN or more sends of one signal whose subtrees are
    identical but for the sender is merged too, named
    ``class_prepared(12 senders)``; a shorter one shows each sender.
    """
    out: list[_Node] = []
    start = 0
    for end in range(1, len(nodes) + 1):
        if end == len(nodes) or nodes[end].loose != nodes[start].loose:
            run = nodes[start:end]
            if len(run) >= LOOSE_RUN and any(node.key != run[0].key for node in run):
                merged = _merged(run)
                senders = len({node.event.sender for node in run})
                details = _details(run[0].event)
                merged.name = escape_controls(
                    f"{_short(run[0].event.signal)}({senders} senders)" + (f" {details}" if details else "")
                )
                out.append(merged)
            else:
                out.extend(_exact_runs(run))
            start = end
    return out


#: How many sends of one signal, identical but for their senders, are shown as one line.
LOOSE_RUN = 3


class _TopLines:
    """The tree's top-level lines, collapsed as _collapse collapses them, from root nodes given one at a time.

    It keeps the first `limit` lines (0: all) and counts the others, so
    that a streamed trace's 50,000 top-level sends are never all held.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.shown: list[_Node] = []
        self.top = 0  # the lines there are
        self._loose: int | None = None  # the current run's loose key (see _collapse)
        self._length = 0
        self._senders: set[str | None] = set()
        self._all: _Node | None = None  # the whole run merged (shown when it is a loose run)
        self._first: _Node | None = None
        self._exact: list[_Node] = []  # its runs of identical nodes, merged, while there is room to show them
        self._exact_runs = 0
        self._key: int | None = None
        self._current: _Node | None = None  # the current run of identical nodes, merged (None: no room)

    def _room(self, more: int) -> bool:
        return self.limit == 0 or len(self.shown) + more < self.limit

    def add(self, node: _Node) -> None:
        """Add the next top-level node."""
        if self._loose is None or node.loose != self._loose:
            self._close_run()
            self._loose, self._length, self._senders, self._first = node.loose, 1, {node.event.sender}, node
            self._all = _merged([node])
            self._exact, self._exact_runs, self._key = [], 1, node.key
            self._current = _merged([node]) if self._room(0) else None
            return
        assert self._all is not None
        _absorb(self._all, node)
        self._length += 1
        self._senders.add(node.event.sender)
        if node.key != self._key:
            self._close_exact()
            self._key = node.key
            self._exact_runs += 1
            self._current = _merged([node]) if self._room(len(self._exact)) else None
        elif self._current is not None:
            _absorb(self._current, node)

    def _close_exact(self) -> None:
        if self._current is not None:
            self._exact.append(self._current)
            self._current = None

    def _close_run(self) -> None:
        if self._loose is None:
            return
        self._close_exact()
        assert self._all is not None and self._first is not None
        if self._length >= LOOSE_RUN and self._exact_runs > 1:
            merged = self._all
            event = self._first.event
            details = _details(event)
            merged.name = escape_controls(
                f"{_short(event.signal)}({len(self._senders)} senders)" + (f" {details}" if details else "")
            )
            self._show([merged], 1)
        else:
            self._show(self._exact, self._exact_runs)
        self._loose = None
        self._all = self._first = self._current = None
        self._exact = []

    def _show(self, nodes: list[_Node], count: int) -> None:
        room = len(nodes) if self.limit == 0 else max(0, min(len(nodes), self.limit - len(self.shown)))
        self.shown.extend(nodes[:room])
        self.top += count

    def finish(self) -> tuple[list[_Node], int]:
        """Return the lines to show and how many lines there are, once every node was added."""
        self._close_run()
        return self.shown, self.top


def _absorb(into: _Node, node: _Node) -> None:
    """Add `node` to `into`, a merged node of its shape: what _merged gives for its run with `node` added."""
    into.count += 1
    todo = [(into, node)]
    while todo:
        merged, same = todo.pop()
        merged.occurrences += same.occurrences
        merged.total_ns += same.total_ns
        merged.max_ns = max(merged.max_ns, same.max_ns)
        todo.extend(zip(merged.children, same.children, strict=True))


def _exact_runs(nodes: list[_Node]) -> list[_Node]:
    out: list[_Node] = []
    start = 0
    for end in range(1, len(nodes) + 1):
        if end == len(nodes) or nodes[end].key != nodes[start].key:
            out.append(nodes[start] if end - start == 1 else _merged(nodes[start:end]))
            start = end
    return out


def _merged(run: list[_Node]) -> _Node:
    """Return one node for the identical subtrees `run`: each line's time summed over them."""

    def combine(same: list[_Node], count: int) -> _Node:
        first = same[0]
        return _Node(
            first.event, first.name, first.notes, first.key, count=count,
            occurrences=sum(node.occurrences for node in same),
            total_ns=sum(node.total_ns for node in same),
            max_ns=max(node.max_ns for node in same),
        )  # fmt: skip

    top = combine(run, len(run))
    todo = [(top, run)]
    while todo:
        into, same = todo.pop()
        for i, child in enumerate(same[0].children):
            below = [node.children[i] for node in same]
            merged = combine(below, child.count)
            into.children.append(merged)
            todo.append((merged, below))
    return top


@dataclass(frozen=True, slots=True)
class _Line:
    """What one tree line says, before it is laid out as text or rich Text."""

    name: str
    receiver: str | None  # a run of sends that each called one receiver, shown on one line
    times: str  # the length of a run of identical lines, after a multiplication sign; "" for one
    duration: str
    notes: tuple[str, ...]
    kind: str
    is_slow: bool
    is_error: bool
    is_unheard: bool


def _line(node: _Node, slow_ns: int | None, pid: bool) -> tuple[_Line, list[_Node]]:
    """Return what `node`'s line says and the nodes to show below it (a top-level line ends in its `pid`)."""
    event, below = node.event, node.children
    receiver: str | None = None
    notes = list(node.notes)
    timed = node  # the call whose time may be SLOW
    is_error = event.error is not None or event.outcome == "error"
    only = below[0] if len(below) == 1 else None
    is_one_call = only is not None and only.event.kind == "call" and only.count == 1 and not only.children
    if node.count > 1 and event.kind == "send" and only is not None and is_one_call:
        receiver, below, timed = only.name, [], only
        notes += [note for note in only.notes if note not in notes]
        is_error = is_error or only.event.error is not None or only.event.outcome == "error"
    is_slow = slow_ns is not None and timed.event.kind == "call" and timed.max_ns >= slow_ns
    if is_slow:
        notes.insert(0, "SLOW")
    if pid and event.process:
        notes.append(f"pid {event.process}")
    duration = _ms(node.total_ns) if node.occurrences == 1 else f"total {_ms(node.total_ns)}"
    line = _Line(
        node.name, receiver, f"×{node.count}" if node.count > 1 else "", duration, tuple(notes), event.kind,
        is_slow, is_error, event.outcome == "unheard",
    )  # fmt: skip
    return line, below


def _plain(line: _Line) -> str:
    text = line.name + (f" → {line.receiver}" if line.receiver is not None else "")
    text += f" {line.times}" if line.times else ""
    return f"{text}  {line.duration}" + (f"  [{', '.join(line.notes)}]" if line.notes else "")


@dataclass(frozen=True, slots=True)
class _Shown:
    """The tree's top-level lines to show, and what the footer says about the log."""

    roots: list[_Node]
    top: int  # the top-level entries there are
    is_multiprocess: bool
    live_requests: int
    counts: _Counts


def _shown(log: AnyLog, unheard: bool, group: str | None, limit: int, shown_live: bool) -> _Shown:
    if not isinstance(log, TraceLog):
        return _shown_streamed(log, unheard, group, limit, shown_live)
    hidden, live = _shown_live(log) if shown_live else (frozenset(), 0)
    roots = _Lines(_tree(log, unheard, group, hidden)).roots
    shown = roots if limit == 0 else roots[:limit]
    return _Shown(shown, len(roots), len(_process_ids(log)) > 1, live, _Counts.of(log))


def _shown_streamed(log: AnyLog, unheard: bool, group: str | None, limit: int, shown_live: bool) -> _Shown:
    """Return what _shown returns, reading `log` twice, a chunk at a time, and holding one top-level tree at a time.

    The first reading finds each event's top-level entry (what _tree keeps,
    as _tree keeps it) and the last event of each; the second builds each
    entry's lines once its last event was read, and hands them to
    _TopLines in start order. Read parents first (model.trace.parents_first),
    an event's parent is known when the event is read: that is what lets
    one reading find them.
    """
    if group not in GROUP_CHOICES:
        raise ValueError(f"group {group!r}: one of request, test or none (or None)")
    left_out = GROUP_CHOICES[group]
    counts = _Counts()
    pids = dict.fromkeys(process.pid for process in log.processes)
    hidden: set[int] = set()  # shown live: the outermost requests and everything below them
    live = 0
    root_of: dict[int, int] = {}  # each kept event's id -> its top-level entry's id
    setups: set[int] = set()  # the set-ups kept
    filled: set[int] = set()  # the set-ups with something kept in them (the others are left out)
    last: dict[int, int] = {}  # a top-level entry's id -> where its tree's last event is
    roots: list[tuple[int, int]] = []  # (place in start order, id) of each top-level entry
    for position, (place, event) in enumerate(parents_first(log.iter_events())):
        counts.add(event)
        if event.process:
            pids.setdefault(event.process)
        if shown_live and ((event.kind == "request" and event.parent is None) or event.parent in hidden):
            hidden.add(event.id)
            if event.parent is None:
                live += 1
            continue
        if (not unheard and event.outcome == "unheard") or event.kind in left_out:
            continue
        parent = event.parent
        root = root_of.get(parent) if parent is not None else None
        if root is None:
            root = event.id
            roots.append((place, root))
        elif parent in setups:
            filled.add(parent)
        if event.kind == "setup":
            setups.add(event.id)
        root_of[event.id] = root
        last[root] = position
    roots.sort()
    waiting = deque(root for _, root in roots)  # the top-level entries not handed on yet, in start order
    del roots
    lines = _Lines()
    top = _TopLines(limit)
    pending: dict[int, list[TraceEvent]] = {}  # the events of the top-level trees not ended yet
    ended: dict[int, _Node | None] = {}
    for position, (_, event) in enumerate(parents_first(log.iter_events())):
        root = root_of.get(event.id)
        if root is None:
            continue
        if root == event.id:
            pending[root] = []
        if not (event.kind == "setup" and event.id not in filled):  # an empty set-up is left out
            pending[root].append(event)
        if last[root] == position:
            events = pending.pop(root)
            for member in events:
                del root_of[member.id]
            ended[root] = lines.build(TraceTree(events))[0] if events else None
            while waiting and waiting[0] in ended:
                node = ended.pop(waiting.popleft())
                if node is not None:
                    top.add(node)
    shown, total = top.finish()
    return _Shown(shown, total, len(pids) > 1, live, counts)


def _footer(log: AnyLog, shown: _Shown, unheard: bool, hint: str = " (--show-unheard)") -> list[str]:
    sends, calls = shown.counts.sends, shown.counts.calls
    lines = [f"{sends} send{'s' if sends != 1 else ''}, {calls} receiver call{'s' if calls != 1 else ''}"]
    if shown.is_multiprocess:
        for process in log.processes:
            cut = "" if process.is_finished else " (cut short)"
            lines.append(escape_controls(f"process {process.pid}: {process.argv}{cut}"))
    quiet = shown.counts.unheard
    if quiet and not unheard:
        lines.append(f"{quiet} send{'s' if quiet != 1 else ''} that no receiver heard not shown{hint}")
    if shown.live_requests:
        n = shown.live_requests
        lines.append(f"{n} request{'s were' if n != 1 else ' was'} shown as {'they' if n != 1 else 'it'} ended")
    if len(shown.roots) < shown.top:
        lines.append(
            f"the tree shows the first {len(shown.roots)} of {shown.top} top-level entries (--limit 0 shows all); "
            "--format json has them all"
        )
    dropped = _dropped_note(log, "the tree shows", shown.counts)
    if dropped:
        lines.append(dropped)
    lines.extend(escape_controls(note) for note in log.notes)
    return lines


def _dropped_note(log: AnyLog, what: str, counts: _Counts | None = None) -> str | None:
    """Say how many sends the tracer's ring buffer dropped, so that no count is silently low; None if none.

    `what` ("the counts below cover") is what covers only the sends kept.
    When any were dropped the buffer was full: its size is the sends kept.
    """
    if not log.dropped:
        return None
    kept = (counts or _Counts.of(log)).sends
    sends = "sends were" if log.dropped != 1 else "send was"
    return f"{log.dropped:,} older {sends} dropped (--max-sends {kept}): {what} the last {kept:,} only"


def render_plain_tree(
    log: AnyLog,
    *,
    slow_ms: float | None = None,
    unheard: bool = False,
    hint: str = " (--show-unheard)",
    limit: int = TREE_LIMIT,
    group: str | None = None,
    footer: bool = True,
    shown_live: bool = False,
) -> str:
    """The causal tree as text: each group and send, the receivers it called, and what they sent in turn.

    Each send shows its details; identical consecutive siblings show once,
    with how many they are and their total time. Sends that no receiver
    heard are left out (counted at the end) unless `unheard`. The first
    `limit` top-level entries are shown (0: all). `group` keeps the groups
    of one kind (GROUP_CHOICES: "request", "test" and its set-ups, "none";
    None: all); a group left out leaves its sends at the top. With
    `shown_live`, the requests (shown as each ended) are left out with their
    sends. When the log has several processes, each top-level line ends in
    its pid. The footer (`footer`) says what was counted, cut and left out,
    and `hint` how to show the unheard sends.

    Raises ValueError for a `group` not in GROUP_CHOICES.
    """
    slow_ns = None if slow_ms is None else int(slow_ms * 1e6)
    shown = _shown(log, unheard, group, limit, shown_live)
    lines: list[str] = []
    todo: list[tuple[_Node, str, bool, bool]] = [(root, "", True, True) for root in reversed(shown.roots)]
    while todo:
        node, prefix, last, top = todo.pop()
        branch = "" if top else ("└─ " if last else "├─ ")
        line, below = _line(node, slow_ns, top and shown.is_multiprocess)
        lines.append(f"{prefix}{branch}{_plain(line)}")
        inner = prefix if top else prefix + ("   " if last else "│  ")
        todo.extend((child, inner, i == len(below) - 1, False) for i, child in reversed(list(enumerate(below))))
    if footer:
        lines.append("")
        lines.extend(_footer(log, shown, unheard, hint))
    return "\n".join(lines) + "\n" if lines else ""


_NAME_STYLES = {"send": "bold", "call": "cyan"}  # a group's is bold magenta


def render_rich_tree(
    log: AnyLog,
    *,
    slow_ms: float | None = None,
    unheard: bool = False,
    color: bool = True,
    width: int | None = None,
    limit: int = TREE_LIMIT,
    group: str | None = None,
    footer: bool = True,
    shown_live: bool = False,
) -> str:
    """The causal tree for a terminal: slow receivers in bold red, errors in red.

    What render_plain_tree shows, with its options. Raises ValueError for a
    `group` not in GROUP_CHOICES.
    """
    from rich.text import Text
    from rich.tree import Tree

    slow_ns = None if slow_ms is None else int(slow_ms * 1e6)
    shown = _shown(log, unheard, group, limit, shown_live)
    console = capture_console(color, width)

    def text(line: _Line) -> Text:
        # Text, not markup: a "[bold]" in a name or an error message prints as written
        out = Text.assemble((line.name, _NAME_STYLES.get(line.kind, "bold magenta")))
        if line.receiver is not None:
            out.append_text(Text.assemble((" → ", "dim"), (line.receiver, "cyan")))
        if line.times:
            out.append_text(Text.assemble(" ", (line.times, "bold")))
        out.append_text(Text.assemble("  ", (line.duration, "bold red" if line.is_slow else "dim")))
        if line.notes:
            style = "red" if line.is_error else ("dim" if line.is_unheard else "yellow")
            out.append_text(Text.assemble("  ", ("[" + ", ".join(line.notes) + "]", style)))
        return out

    for root in shown.roots:
        line, below = _line(root, slow_ns, shown.is_multiprocess)
        tree = Tree(text(line), guide_style="dim")
        todo = [(tree, child) for child in reversed(below)]
        while todo:
            parent, node = todo.pop()
            line, below = _line(node, slow_ns, False)
            branch = parent.add(text(line))
            todo.extend((branch, child) for child in reversed(below))
        console.print(tree)
    if footer:
        console.print()
        for line_text in _footer(log, shown, unheard):
            console.print(Text(line_text), style="dim")
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


def receiver_stats(log: AnyLog) -> list[ReceiverStats]:
    """Per receiver and signal: calls, errors, total and max time; the costliest first."""
    totals: dict[tuple[str, str], list[int]] = {}
    for event in log.iter_events():
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


def _summary_rows(log: AnyLog) -> list[tuple[str, ...]]:
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


def _summary_head(log: AnyLog) -> list[tuple[str, str]]:
    """Return the lines above the table, each with its rich style.

    They say how many processes there were (when more than one) and how many
    sends were dropped.
    """
    head = []
    processes = len(_process_ids(log))
    if processes > 1:
        head.append((f"{processes} processes", "dim"))
    dropped = _dropped_note(log, "the counts below cover")
    if dropped:
        head.append((dropped, "yellow"))
    return head


def render_plain_summary(log: AnyLog) -> str:
    """The per-receiver table as aligned text, the costliest receiver first (group events are not calls)."""
    rows = _summary_rows(log)
    head = "".join(f"{line}\n" for line, _ in _summary_head(log))
    if not rows:
        return head + "no receiver ran\n"
    table = [_SUMMARY_COLUMNS, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(_SUMMARY_COLUMNS))]
    lines = []
    for row in table:
        cells = [cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
    return head + "\n".join(lines) + "\n"


def render_rich_summary(log: AnyLog, *, color: bool = True, width: int | None = None) -> str:
    """The per-receiver table for a terminal."""
    from rich.table import Table
    from rich.text import Text

    rows = _summary_rows(log)
    console = capture_console(color, width)
    for line, style in _summary_head(log):
        console.print(Text(line), style=style)
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


def render_trace_json(log: AnyLog) -> str:
    """The whole trace: ``{"schema", "dropped", "events": [...]}``, events in start order (model.trace_to_dict)."""
    return "".join(trace_json_chunks(log))


def iter_trace_json(log: AnyLog) -> Iterator[str]:
    """Yield render_trace_json's text a chunk of events at a time (model.trace.trace_json_chunks)."""
    return trace_json_chunks(log)


def render_jsonl(events: Iterable[TraceEvent]) -> str:
    """One JSON object per line per event (sorted keys, no spaces): for streaming."""
    return "".join(dump_json_line(event_to_dict(e)) for e in events)


def iter_jsonl(log: AnyLog) -> Iterator[str]:
    """Yield render_jsonl's text for the events of `log`, a chunk of events at a time."""
    for chunk in log.chunks():
        yield render_jsonl(chunk)


def render_chrome(log: AnyLog, *, pid: int = 1, process_name: str = "signalscope trace") -> str:
    """Chrome's Trace Event Format (Perfetto, chrome://tracing, speedscope).

    Groups (a request, a test), sends and sync receiver calls are complete
    events ("X") on their thread's track, so sends nest under their group,
    receivers under their send and nested sends under their receiver; a
    group's category is its kind and its name its label. Async receivers run
    concurrently, so they are nestable async events ("b"/"e") keyed by their
    id, which keeps them from breaking the nesting of the thread they share.
    Each event is on its own process's track (its pid; `pid` for an event
    that recorded none), named by the process's command line (`process_name`
    for a process the log does not describe). Times are microseconds from
    the first event; each process's threads are numbered 1, 2, ... in order
    of first appearance.
    """
    return "".join(iter_chrome(log, pid=pid, process_name=process_name))


def iter_chrome(log: AnyLog, *, pid: int = 1, process_name: str = "signalscope trace") -> Iterator[str]:
    """Yield render_chrome's text a chunk of events at a time: `log` is read twice (its tracks, then its events)."""
    start: int | None = None
    names = {process.pid: process.argv for process in log.processes}
    pids = dict.fromkeys(names)
    tids: dict[tuple[int, int], int] = {}
    threads: dict[int, int] = {}  # pid -> its threads so far
    tracks: list[dict[str, Any]] = []
    for event in log.iter_events():
        if start is None:
            start = event.start_ns
        key = (event.process or pid, event.thread)
        pids.setdefault(key[0])
        if key not in tids:
            threads[key[0]] = tids[key] = threads.get(key[0], 0) + 1
            tracks.append(
                {"name": "thread_name", "ph": "M", "pid": key[0], "tid": tids[key],
                 "args": {"name": f"thread {tids[key]}"}}
            )  # fmt: skip
    metadata: list[dict[str, Any]] = [
        {"name": "process_name", "ph": "M", "pid": p, "tid": 0, "args": {"name": names.get(p, process_name)}}
        for p in (pids or [pid])
    ]
    first = start or 0

    def slices(chunk: Iterable[TraceEvent]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for event in chunk:
            args = {k: v for k, v in event_to_dict(event).items() if v not in (None, {}, False)}
            is_group = event.kind in GROUP_KINDS
            common = {
                "name": (event.label or "") if is_group else label(event),
                "cat": event.kind if is_group else ("signal" if event.kind == "send" else "receiver"),
                "pid": event.process or pid,
                "tid": tids[event.process or pid, event.thread],
            }
            ts = round((event.start_ns - first) / 1000, 3)
            if event.is_async and not is_group:
                out.append({**common, "ph": "b", "id": event.id, "ts": ts, "args": args})
                out.append({**common, "ph": "e", "id": event.id, "ts": round(ts + event.duration_ns / 1000, 3)})
            else:
                out.append({**common, "ph": "X", "ts": ts, "dur": round(event.duration_ns / 1000, 3), "args": args})
        return out

    head = {"displayTimeUnit": "ms", "otherData": {"schema": TRACE_SCHEMA, "dropped": log.dropped}}
    chunks = (slices(chunk) for chunk in log.chunks())
    yield from iter_json_line({**head, "traceEvents": []}, "traceEvents", _chained([metadata + tracks], chunks))


def _chained(*parts: Iterable[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
    for part in parts:
        yield from part


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

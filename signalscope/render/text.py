"""Human renderers of a SignalMap: plain text for pipes, rich tables and trees for terminals.

The plain forms print one receiver per line with its signal and sender on
the same line, never wrapped, so ``grep`` and ``awk`` work on them. The rich
forms import rich only when called. Names from the project are shown with
their control characters escaped (model.escaping), and reach rich as Text,
never as markup: a "[bold]" in a name prints as written.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from itertools import groupby
from typing import Any

from ..model import Connection, SignalMap, SignalRef
from ..model.escaping import escape_controls

__all__ = [
    "capture_console",
    "captured",
    "flags",
    "render_plain_table",
    "render_plain_tree",
    "render_rich_table",
    "render_rich_tree",
    "wrap_cell",
]

ANY_SENDER = "<any sender>"
COLUMNS = ("SIGNAL", "SENDER", "#", "RECEIVER", "LOCATION", "FLAGS")


def header(smap: SignalMap) -> str:
    """Return the one-line provenance header: versions and where the settings came from."""
    return escape_controls(
        f"signalscope {smap.signalscope} · Django {smap.django} · "
        f"settings {smap.settings} (from {smap.settings_source})"
    )


def flags(conn: Connection) -> str:
    """Return the notable properties of `conn` as short words, defaults left out."""
    words = []
    if conn.receiver.kind not in ("function", "dead"):
        words.append(conn.receiver.kind)
    if conn.receiver.is_async:
        words.append("async")
    if not conn.is_weak:
        words.append("strong")
    if conn.is_dead:
        words.append("dead")
    if conn.is_pending:
        words.append("pending")
    if conn.dispatch_uid is not None:
        words.append(f"uid={conn.dispatch_uid}")
    return " ".join(words)


def location(conn: Connection) -> str:
    r = conn.receiver
    if r.file is None:
        return "-"
    return f"{r.file}:{r.line}" if r.line is not None else r.file


def sender_text(conn: Connection) -> str:
    return conn.sender.label if conn.sender.label is not None else ANY_SENDER


def _signal_titles(smap: SignalMap) -> dict[str, str]:
    """Name signals by their short name, or by path where two share a name."""
    counts = Counter(s.name for s in smap.signals)
    return {s.path: s.name if counts[s.name] == 1 else s.path for s in smap.signals}


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def summary(smap: SignalMap) -> str:
    n = len(smap.connections)
    with_receivers = {c.signal for c in smap.connections}
    parts = [_plural(len(smap.signals), "signal"), _plural(n, "receiver")]
    dead = sum(c.is_dead for c in smap.connections)
    pending = sum(c.is_pending for c in smap.connections)
    if dead:
        parts.append(f"{dead} dead")
    if pending:
        parts.append(f"{pending} pending")
    text = ", ".join(parts) + "."
    idle = [escape_controls(s.name) for s in smap.signals if s.path not in with_receivers]
    if idle:
        text += "\nNo receivers: " + ", ".join(idle) + "."
    return text


def _rows(smap: SignalMap) -> list[tuple[str, ...]]:
    titles = _signal_titles(smap)
    return [
        tuple(
            escape_controls(cell)
            for cell in (titles[c.signal], sender_text(c), str(c.position + 1), c.receiver.path, location(c), flags(c))
        )
        for c in smap.connections
    ]


def render_plain_table(smap: SignalMap) -> str:
    """Return an aligned plain-text table, one receiver per line, never wrapped."""
    rows = _rows(smap)
    lines = [header(smap), ""]
    if rows:
        widths = [max(len(r[i]) for r in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
        for row in [COLUMNS, *rows]:
            cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])] + [row[-1]]
            lines.append("  ".join(cells).rstrip())
        lines.append("")
    else:
        lines.extend(["No receivers match.", ""])
    lines.append(summary(smap))
    return "\n".join(lines) + "\n"


def _tree_groups(smap: SignalMap) -> list[tuple[SignalRef, list[tuple[str, list[Connection]]]]]:
    result = []
    for signal in smap.signals:
        conns = smap.connections_of(signal.path)
        groups = []
        for _, items in groupby(conns, key=lambda c: c.sender):
            group = list(items)
            groups.append((escape_controls(sender_text(group[0])), group))
        result.append((signal, groups))
    return result


def render_plain_tree(smap: SignalMap) -> str:
    """Return signal -> sender -> receivers as indented plain text."""
    lines = [header(smap), ""]
    for signal, groups in _tree_groups(smap):
        if not groups:
            continue
        lines.append(escape_controls(f"{signal.path}  [{signal.category}]"))
        for sender, conns in groups:
            lines.append(f"  {sender}")
            for c in conns:
                extra = flags(c)
                lines.append(
                    escape_controls(
                        f"    {c.position + 1}. {c.receiver.path}  {location(c)}" + (f"  [{extra}]" if extra else "")
                    )
                )
    lines.extend(["", summary(smap)])
    return "\n".join(lines) + "\n"


def capture_console(color: bool, width: int | None) -> Any:
    """Return a rich Console that records into a string (read it with `captured`)."""
    import io

    from rich.console import Console

    return Console(
        file=io.StringIO(),
        force_terminal=color,
        no_color=not color,
        # The 16 standard colours, which every terminal has: the same bytes everywhere.
        color_system="standard" if color else None,
        width=width or 120,
        highlight=False,
        emoji=False,
    )


def captured(console: Any) -> str:
    """Return what `capture_console`'s console has printed."""
    return str(console.file.getvalue())


def _style(conn: Connection) -> str:
    if conn.is_dead:
        return "red"
    if conn.is_pending:
        return "yellow"
    if conn.receiver.path.startswith("django."):
        return "dim"
    return ""


#: Where each column's cells may break, besides their spaces, always after the separator: a module's
#: dots, the colon before a qualname, a path's slashes (a location breaks only at its slashes, so that a
#: file name keeps its line number; a dispatch_uid, free text, breaks at its underscores and dashes too).
#: Then, in a part still too wide for its column, the next best places.
BREAKS = (".:", ".:", "", ".:", "/", ".:/_-")
FALLBACK_BREAKS = ("_-", "_-", "", "_-", ":_-", "")


@functools.cache
def _piece_pattern(separators: str) -> re.Pattern[str]:
    if not separators:
        return re.compile(r" *[^ ]+")
    sep = re.escape(separators)
    return re.compile(rf" *[^ {sep}]*[{sep}]+| *[^ {sep}]+")


def _pieces(text: str, separators: str) -> list[str]:
    """Split `text` into the parts a line may not break, each with the spaces before it."""
    return _piece_pattern(separators).findall(text)


def _widest_piece(text: str, separators: str) -> int:
    from rich.cells import cell_len

    return max((cell_len(piece.lstrip(" ")) for piece in _pieces(text, separators)), default=0)


def wrap_cell(text: str, width: int, separators: str = ".:/", fallback: str = "_-") -> list[str]:
    """Return `text` as lines at most `width` cells wide, broken at spaces and after `separators`.

    Lines are filled greedily: ``orders.receivers:merge_guest_cart`` in 20
    columns is ``orders.receivers:`` then ``merge_guest_cart``, never a name
    cut in two. A part too wide for `width` is broken after its `fallback`
    separators (``merge_guest_`` then ``cart``), and only a part with none
    of them is cut, where the column leaves no other way.
    """
    return list(_wrap(text, width, separators, fallback))


@functools.lru_cache(maxsize=4096)  # a table repeats its senders, files and flags on many rows
def _wrap(text: str, width: int, separators: str, fallback: str) -> tuple[str, ...]:
    from rich.cells import cell_len, chop_cells

    width = max(width, 1)
    lines: list[str] = []
    line = ""
    for piece in _pieces(text, separators):
        if cell_len(line + piece) <= width:
            line += piece
            continue
        if line:
            lines.append(line)
        line = piece.lstrip(" ")
        if cell_len(line) > width:
            *whole, line = _wrap(line, width, fallback, "") if fallback else chop_cells(line, width)
            lines.extend(whole)
    lines.append(line)
    return tuple(lines)


def _column_widths(rows: list[tuple[str, ...]], total: int) -> list[int]:
    """Fit the six columns into `total` characters; every column stays visible and no name is cut.

    rich would hide whole columns when their minimums don't fit, so widths
    are set here. Each column starts at its content's width (signal, sender
    and flags capped). While the table is too wide, the columns give up
    width down to the widest part of their cells between two `BREAKS`:
    the location column first, down to its widest file name (its folders
    wrap), then the widest column one character at a time (receivers and
    locations count as narrower than they are). If that is not enough,
    the widest column goes on down to the widest part between two
    `FALLBACK_BREAKS` (a location's line number wraps), and last to fixed
    minimums, where `wrap_cell` has to cut a part. Each column then keeps the width its wrapped cells use,
    and what that frees goes to the columns it unwraps or keeps whole.
    """
    from rich.cells import cell_len

    columns = [[name, *(row[i] for row in rows)] for i, name in enumerate(COLUMNS)]
    whole = [max(cell_len(cell) for cell in column) for column in columns]  # each cell on one line
    natural = [max(_widest_piece(cell, "") for cell in column) for column in columns]  # its widest word
    pieces = [max(_widest_piece(cell, sep) for cell in column) for column, sep in zip(columns, BREAKS, strict=True)]
    parts = [
        max(_widest_piece(cell, sep + more) for cell in column)
        for column, sep, more in zip(columns, BREAKS, FALLBACK_BREAKS, strict=True)
    ]
    caps = (22, 26, natural[2], natural[3], natural[4], 24)
    weights = (1.2, 1.5, 1.0, 2.0, 0.7, 0.8)  # names keep more of their width than locations and flags
    widths = [max(min(n, c), p) for n, c, p in zip(natural, caps, pieces, strict=True)]
    room = total - 3 * (len(COLUMNS) - 1)  # padding and rules between columns

    def shrink(floors: list[int]) -> None:
        while sum(widths) > room:
            shrinkable = [i for i, w in enumerate(widths) if w > floors[i]]
            if not shrinkable:
                return
            widest = max(shrinkable, key=lambda i: (widths[i] / weights[i], i))
            widths[widest] -= 1

    shrink(pieces)
    shrink(parts)
    shrink([min(p, f) for p, f in zip(parts, (10, 10, natural[2], 16, 12, 8), strict=True)])

    def used(i: int, width: int) -> int:
        wrapped = (wrap_cell(cell, width, BREAKS[i], FALLBACK_BREAKS[i]) for cell in columns[i])
        return max(cell_len(line) for lines in wrapped for line in lines)

    widths = [used(i, w) for i, w in enumerate(widths)]
    # What is left widens, in turn: first so that no name is broken, then so that cells are whole
    # up to the caps (receiver, location, sender, signal, flags: a wrapped location doubles every
    # row), then whole past them.
    passes = (pieces, [min(n, c) for n, c in zip(natural, caps, strict=True)], whole)
    for targets in passes:
        for i in (3, 4, 1, 0, 5):
            if widths[i] < targets[i] <= widths[i] + room - sum(widths):
                widths[i] = used(i, targets[i])
    return widths


def render_rich_table(smap: SignalMap, *, color: bool = True, width: int | None = None) -> str:
    """Return a rich table grouped by signal, for a terminal `width` columns wide."""
    from rich.table import Table
    from rich.text import Text

    console = capture_console(color, width)
    console.print(Text(header(smap)), style="bold")
    titles = _signal_titles(smap)
    rows = _rows(smap)
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    sizes = _column_widths(rows, width or 120)
    for name, size in zip(COLUMNS, sizes, strict=True):
        table.add_column(name, width=size, overflow="fold", justify="right" if name == "#" else "left")
    del rows
    for _signal, items in groupby(smap.connections, key=lambda c: c.signal):
        conns = list(items)
        table.add_section()
        previous = None
        for i, c in enumerate(conns):
            sender = sender_text(c)
            cells = (
                titles[c.signal] if i == 0 else "",
                sender if sender != previous else "",
                str(c.position + 1),
                c.receiver.path,
                location(c),
                flags(c),
            )
            wrapped = (
                "\n".join(wrap_cell(escape_controls(cell), size, BREAKS[n], FALLBACK_BREAKS[n]))
                for n, (cell, size) in enumerate(zip(cells, sizes, strict=True))
            )
            table.add_row(*(Text(cell) for cell in wrapped), style=_style(c))
            previous = sender
    if smap.connections:
        console.print(table)
    else:
        console.print("No receivers match.")
    console.print(Text(summary(smap)))
    return captured(console)


def render_rich_tree(smap: SignalMap, *, color: bool = True, width: int | None = None) -> str:
    """Return signal -> sender -> receivers as a rich tree."""
    from rich.text import Text
    from rich.tree import Tree

    console = capture_console(color, width)
    console.print(Text(header(smap)), style="bold")
    root = Tree("signals", hide_root=True)
    for signal, groups in _tree_groups(smap):
        if not groups:
            continue
        path, category = escape_controls(signal.path), escape_controls(signal.category)
        branch = root.add(Text.assemble((path, "bold"), " ", (f"[{category}]", "dim")))
        for sender, conns in groups:
            leaf = branch.add(Text(sender, style="cyan"))
            for c in conns:
                extra = flags(c)
                text = Text.assemble(
                    f"{c.position + 1}. {escape_controls(c.receiver.path)}  ", (escape_controls(location(c)), "dim")
                )
                if extra:
                    text.append_text(Text.assemble("  ", (escape_controls(extra), "magenta")))
                leaf.add(text, style=_style(c))
    console.print(root)
    console.print(Text(summary(smap)))
    return captured(console)

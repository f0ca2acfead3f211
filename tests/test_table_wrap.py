"""The rich list table never breaks a name where it has no separator, unless a part has no room at all."""

from __future__ import annotations

import dataclasses
import importlib.util

import pytest
from goldtest import GOLD
from helpers import FIXTURES, signalscope

from signalscope.model import SignalMap, loads
from signalscope.render.text import BREAKS, COLUMNS, FALLBACK_BREAKS, _rows, render_rich_table, wrap_cell

WIDTHS = (80, 100, 120, 160)
THIRDPARTY_APPS = ("simple_history", "auditlog", "allauth", "reversion", "guardian", "rest_framework")


def test_wrap_cell_breaks_after_separators_then_underscores_then_anywhere() -> None:
    assert wrap_cell("orders.receivers:merge_guest_cart", 20) == ["orders.receivers:", "merge_guest_cart"]
    assert wrap_cell("orders.receivers:merge_guest_cart", 40) == ["orders.receivers:merge_guest_cart"]
    assert wrap_cell("orders/receivers.py:57", 16, "/", ":") == ["orders/", "receivers.py:57"]
    assert wrap_cell("orders/receivers.py:122", 14, "/", ":") == ["orders/", "receivers.py:", "122"]
    assert wrap_cell("orders.receivers:merge_guest_cart", 12) == ["orders.", "receivers:", "merge_guest_", "cart"]
    assert wrap_cell("abcdefghij", 4, ".:", "") == ["abcd", "efgh", "ij"]  # no break anywhere: cut
    assert wrap_cell("<any sender>", 8) == ["<any", "sender>"]  # spaces are dropped at a break
    assert wrap_cell("", 5) == [""]


def _table(text: str) -> tuple[list[int], list[list[list[str]]]]:
    """Parse a rendered table: the column widths, and each receiver's row as its cells' lines."""
    lines = text.splitlines()
    rule = next(line for line in lines if "╇" in line).split("╇")
    widths = [len(rule[0]) - 1, *(len(segment) - 2 for segment in rule[1:-1]), len(rule[-1]) - 1]
    rows: list[list[list[str]]] = []
    for line in lines:
        if "│" not in line:
            continue
        parts = line.split("│")
        cells = [parts[0].rstrip(), *(part[1:].rstrip() for part in parts[1:])]
        if cells[2]:  # the # column never wraps: a new receiver
            rows.append([[] for _ in COLUMNS])
        for lines_of, cell in zip(rows[-1], cells, strict=True):
            if cell:
                lines_of.append(cell)
    return widths, rows


def _parts(text: str, separators: str) -> list[tuple[int, int]]:
    """The (start, end) of each run of `text` between two breaks (spaces and after `separators`)."""
    spans, start = [], 0
    for i, char in enumerate(text):
        if char == " ":
            spans.append((start, i))
            start = i + 1
        elif char in separators:
            spans.append((start, i + 1))
            start = i + 1
    spans.append((start, len(text)))
    return [(a, b) for a, b in spans if b > a]


def _assert_breaks_allowed(original: str, lines: list[str], width: int, column: int) -> None:
    """Each break of `original` into `lines` is at a space or after a separator, unless no room is left."""
    assert " ".join(lines).replace(" ", "") == original.replace(" ", ""), (original, lines)
    position = 0
    for line in lines[:-1]:
        assert original.startswith(line, position), (original, lines)
        position += len(line)
        if original[position : position + 1] == " ":
            position += 1
            continue
        for separators in (BREAKS[column], BREAKS[column] + FALLBACK_BREAKS[column]):
            around = next((b - a for a, b in _parts(original, separators) if a < position < b), 0)
            if not around:
                break  # a break between two parts: allowed at this level
            # A break inside a part is allowed only when that part is wider than the column.
            assert around > width, f"{COLUMNS[column]} {original!r} broken as {lines} in {width} columns"


def _registries() -> list[tuple[str, SignalMap]]:
    found = [(name, loads((GOLD / "input" / f"{name}.json").read_text(encoding="utf-8"))) for name in ("shop", "kinds")]
    if all(importlib.util.find_spec(app) for app in THIRDPARTY_APPS):
        result = signalscope("list", "--json", "--project", str(FIXTURES / "thirdparty"))
        assert result.returncode == 0, result.stderr
        found.append(("thirdparty", loads(result.stdout)))
    with_hidden = []
    for name, smap in found:
        mine = tuple(c for c in smap.connections if not c.receiver.path.startswith("django."))
        with_hidden.append((f"{name}-hide-django", dataclasses.replace(smap, connections=mine)))
    return found + with_hidden


@pytest.fixture(scope="module")
def registries() -> list[tuple[str, SignalMap]]:
    return _registries()


@pytest.mark.parametrize("width", WIDTHS)
def test_no_name_is_cut_where_it_has_no_break(registries: list[tuple[str, SignalMap]], width: int) -> None:
    for name, smap in registries:
        widths, rows = _table(render_rich_table(smap, color=False, width=width))
        assert all(len(line) <= width for line in render_rich_table(smap, color=False, width=width).splitlines())
        expected = _rows(smap)
        assert len(rows) == len(expected), name
        for cells, row in zip(rows, expected, strict=True):
            for column in (3, 4, 5):  # receiver, location, flags (signal and sender show only once)
                _assert_breaks_allowed(row[column], cells[column], widths[column], column)
            if cells[0]:
                _assert_breaks_allowed(row[0], cells[0], widths[0], 0)
            if cells[1]:
                _assert_breaks_allowed(row[1], cells[1], widths[1], 1)


@pytest.mark.parametrize("width", [100, 120, 160])
def test_where_their_parts_fit_names_break_only_at_their_separators(
    registries: list[tuple[str, SignalMap]], width: int
) -> None:
    # Django's own receivers (inject_rename_contenttypes_operations) need 120 columns; a project's alone, 100.
    for name, smap in registries:
        if width < 120 and not name.endswith("-hide-django"):
            continue
        _, rows = _table(render_rich_table(smap, color=False, width=width))
        for cells, row in zip(rows, _rows(smap), strict=True):
            for column in (0, 1, 3, 4):
                lines = cells[column]
                if not lines:
                    continue
                position = 0
                for line in lines[:-1]:
                    position += len(line)
                    if row[column][position : position + 1] == " ":
                        position += 1
                    else:
                        allowed = BREAKS[column] + (":" if column == 4 else "")  # a location's line number may wrap
                        assert row[column][position - 1] in allowed, (name, width, row[column], lines)


def test_the_issue_s_table_at_120_columns() -> None:
    """`list --hide-django` in 120 columns: `orders.receivers:merge_guest_car` / `t` no more."""
    smap = loads((GOLD / "input" / "shop.json").read_text(encoding="utf-8"))
    mine = tuple(c for c in smap.connections if not c.receiver.path.startswith("django."))
    text = render_rich_table(dataclasses.replace(smap, connections=mine), color=False, width=120)
    assert "orders.receivers:merge_guest_cart " in text
    assert "merge_guest_car " not in text


def test_a_table_with_room_wraps_nothing(registries: list[tuple[str, SignalMap]]) -> None:
    # Room for every cell whole: none wraps, not at its spaces either ("<any sender>", "dead uid=x").
    for name, smap in registries:
        _widths, rows = _table(render_rich_table(smap, color=False, width=400))
        assert all(len(lines) <= 1 for cells in rows for lines in cells), name  # an empty cell has none

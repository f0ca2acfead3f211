"""Every renderer on every fixture's registry, against tests/gold/<renderer>/<project>.<ext>.

The renderers' input is a registry committed in tests/gold/input/, so these
tests check rendering alone, identically on every Django version;
`pytest --update-gold` rescans the fixtures and rewrites input and output.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from goldtest import GOLD, compare_gold
from helpers import FIXTURES, signalscope

from signalscope.model import SignalMap, loads
from signalscope.render import (
    render_json,
    render_plain_table,
    render_plain_tree,
    render_rich_table,
    render_rich_tree,
)

PROJECTS = ["shop", "kinds"]
RENDERERS: dict[str, tuple[str, Callable[[SignalMap], str]]] = {
    "json": ("json", render_json),
    "table": ("txt", render_plain_table),
    "tree": ("txt", render_plain_tree),
    "rich-table": ("txt", lambda m: render_rich_table(m, color=False, width=160)),
    "rich-tree": ("txt", lambda m: render_rich_tree(m, color=False, width=160)),
    "rich-table-80": ("txt", lambda m: render_rich_table(m, color=False, width=80)),
    "rich-table-color": ("ansi", lambda m: render_rich_table(m, color=True, width=160)),
}


def registry(project: str, update: bool) -> SignalMap:
    path: Path = GOLD / "input" / f"{project}.json"
    if update:
        result = signalscope("list", "--json", "--project", str(FIXTURES / project))
        assert result.returncode == 0, result.stderr
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(result.stdout, encoding="utf-8")
    return loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("project", PROJECTS)
@pytest.mark.parametrize("renderer", sorted(RENDERERS))
def test_renderer_gold(renderer: str, project: str, update_gold: bool) -> None:
    ext, render = RENDERERS[renderer]
    smap = registry(project, update_gold)
    compare_gold(f"{renderer}/{project}.{ext}", render(smap), update=update_gold)


@pytest.mark.parametrize("project", PROJECTS)
def test_json_renderer_round_trips_its_input(project: str) -> None:
    text = (GOLD / "input" / f"{project}.json").read_text(encoding="utf-8")
    assert render_json(loads(text)) == text

"""`impact` on a cascade deeper than Python's recursion limit: the walk and its renderers hold no call stack."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import FIXTURES, signalscope

from signalscope.model.cascade import ImpactNode
from signalscope.render.impact import render_impact_json, render_impact_rich, render_impact_text

sys.path.insert(0, str(FIXTURES))
from genproject import generate_chain

HOPS = 200


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_chain(tmp_path_factory.mktemp("chain"), hops=HOPS)


def _loads(text: str) -> Any:
    """json.loads for a deep tree: the decoder recurses once per level of nesting, two per tree level.

    With json's pure-Python scanner, whose recursion the recursion limit governs: Python 3.12+ caps the
    C scanner's at a fixed C recursion limit that no setrecursionlimit raises.
    """
    import json.scanner

    decoder = json.JSONDecoder()
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))
    try:
        return decoder.decode(text)
    finally:
        sys.setrecursionlimit(limit)


def _receivers(tree: dict[str, Any]) -> list[str]:
    """The receivers of a JSON impact tree, outermost first (walked without recursion)."""
    found, todo = [], [tree]
    while todo:
        node = todo.pop()
        if node["kind"] == "receiver":
            found.append(node["label"])
        todo.extend(reversed(node["children"]))
    return found


def test_impact_of_a_200_hop_cascade(chain: Path) -> None:
    text = signalscope("impact", "chain.Hop000", "--depth", str(HOPS), "--project", str(chain))
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == "save chain.Hop000"
    assert "reached" not in text.stdout  # all 200 hops, none cut
    last = f"models.Hop{HOPS:03d}.objects.create()  chain/receivers.py:{5 * HOPS + 4}  → create chain.Hop{HOPS:03d}"
    assert lines[-1].lstrip(" │└├─") == last
    as_json = signalscope("impact", "chain.Hop000", "--depth", str(HOPS), "--json", "--project", str(chain))
    assert as_json.returncode == 0, as_json.stderr
    assert _receivers(_loads(as_json.stdout)["tree"]) == [f"chain.receivers:after_hop{i:03d}" for i in range(HOPS)]


def test_depth_still_cuts_a_deep_cascade(chain: Path) -> None:
    result = signalscope("impact", "chain.Hop000", "--depth", "150", "--json", "--project", str(chain))
    assert result.returncode == 0, result.stderr
    receivers = _receivers(_loads(result.stdout)["tree"])
    assert receivers == [f"chain.receivers:after_hop{i:03d}" for i in range(151)]  # the first, then 150 deep
    assert "... (--depth 150 reached)" in result.stdout


def _deep_tree(levels: int) -> ImpactNode:
    """A signal -> receiver -> effect chain `levels` nodes deep, built from the leaf up."""
    node = ImpactNode(kind="depth", label="... (--depth 1 reached)")
    kinds = ("effect", "receiver", "signal")
    for i in range(levels):
        kind = kinds[i % 3]
        where: dict[str, Any] = {"file": "a.py", "line": i or None} if kind != "signal" else {}
        detail = "save x" if kind == "effect" else None
        node = ImpactNode(kind=kind, label=f"{kind} {i}", detail=detail, in_cycle=i % 7 == 0, children=(node,), **where)
    return ImpactNode(kind="action", label="save x", children=(node,))


def test_renderers_take_trees_deeper_than_the_recursion_limit() -> None:
    levels = sys.getrecursionlimit() + 500
    tree = _deep_tree(levels)
    text = render_impact_text(tree)
    assert len(text.splitlines()) == levels + 2
    data = _loads(render_impact_json(tree, model="x", action="save"))
    depth, node = 0, data["tree"]
    while node["children"]:
        (node,) = node["children"]
        depth += 1
    assert depth == levels + 1
    assert node == {"kind": "depth", "label": "... (--depth 1 reached)", "file": None, "line": None,
                    "detail": None, "in_cycle": False, "condition": None, "is_after_commit": False,
                    "effect": None, "model": None,
                    "children": []}  # fmt: skip
    rich = render_impact_rich(tree, color=False, width=100)
    assert "save x" in rich and f"signal {levels - 1}" in rich


def test_the_json_of_a_shallow_tree_is_what_json_dumps_writes() -> None:
    tree = _deep_tree(7)
    expected = json.dumps(
        {"schema": 2, "model": "x", "action": "save", "signal": None, "tree": tree.to_dict()}, indent=2,
        sort_keys=True,
        ensure_ascii=False,
    ) + "\n"  # fmt: skip
    assert render_impact_json(tree, model="x", action="save") == expected


def test_a_multi_table_parent_is_always_deleted_with_its_child() -> None:
    # Django's Collector deletes a child's parent rows with it (reverse dependency): no "if rows exist".
    from signalscope.graph.deletion import DeletionIndex
    from signalscope.graph.impact import _cascaded
    from signalscope.model.cascade import ModelRef

    models = (
        ModelRef("blog.BlogPage", "blog.models", "BlogPage", parents=("wagtailcore.Page",)),
        ModelRef("wagtailcore.Page", "wagtail.models", "Page"),
    )
    deletion = DeletionIndex(models, lambda label: True).deletion("blog.BlogPage")
    assert [label for _signal, label in deletion.sends()][:2] == ["blog.BlogPage", "wagtailcore.Page"]
    assert _cascaded(deletion.why["wagtailcore.Page"]) == ("the parent row of blog.BlogPage: always deleted with it")
    assert _cascaded("blog.Comment.post") == "if rows of blog.Comment.post refer to it"


def test_bulk_create_of_a_multi_table_child_is_refused_by_django() -> None:
    from signalscope.graph.impact import impact
    from signalscope.model import SignalMap
    from signalscope.model.cascade import CascadeMap, ModelRef

    models = (
        ModelRef("blog.BlogPage", "blog.models", "BlogPage", parents=("wagtailcore.Page",)),
        ModelRef("wagtailcore.Page", "wagtail.models", "Page"),
    )
    cmap = CascadeMap(SignalMap("0.1", "5.2", "s", "manage.py", (), ()), models, ())
    [node] = impact(cmap, "blog.BlogPage", "bulk_create").children
    assert (node.kind, node.detail) == (
        "stop",
        "bulk_create() raises ValueError on a multi-table inherited model: nothing is written or sent",
    )
    assert impact(cmap, "wagtailcore.Page", "bulk_create").children[0].detail == "bulk_create() sends no signal"

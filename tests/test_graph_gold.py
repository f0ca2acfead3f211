"""Graph and impact renderers on the fixtures' cascade maps, against tests/gold/.

The input (registry, models, effects) is committed in tests/gold/input/;
`pytest --update-gold` reads the fixtures again and rewrites input and output.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from goldtest import GOLD, compare_gold
from helpers import FIXTURES, python_snippet

from signalscope.graph.build import build_graph
from signalscope.graph.impact import impact
from signalscope.model import CascadeMap, cascade_from_dict
from signalscope.render.dot import render_dot
from signalscope.render.graphdata import render_graph_json, render_graphml
from signalscope.render.impact import render_impact_json, render_impact_text
from signalscope.render.mermaid import render_mermaid

PROJECTS = ["shop", "cascade"]
IMPACTS = {"shop": ("auth.User", "create"), "cascade": ("billing.Payment", "save")}
RENDERERS: dict[str, tuple[str, Callable[[CascadeMap], str]]] = {
    "graph-dot": ("dot", lambda c: render_dot(build_graph(c), cluster_by_app=True)),
    "graph-mermaid": ("mmd", lambda c: render_mermaid(build_graph(c))),
    "graph-json": ("json", lambda c: render_graph_json(build_graph(c))),
    "graph-graphml": ("graphml", lambda c: render_graphml(build_graph(c))),
    "graph-dot-no-cascade": ("dot", lambda c: render_dot(build_graph(c, cascade=False), rankdir="TB")),
}


def cascade_input(project: str, update: bool) -> CascadeMap:
    path = GOLD / "input" / f"{project}.cascade.json"
    if update:
        text = python_snippet(
            "import sys\n"
            "from signalscope import api\n"
            "from signalscope.model import cascade_to_dict, dump_json\n"
            f"project = api.load_project(project={str(FIXTURES / project)!r})\n"
            "sys.stdout.write(dump_json(cascade_to_dict(api.cascade_map(project))))\n"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    import json

    return cascade_from_dict(json.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("project", PROJECTS)
@pytest.mark.parametrize("renderer", sorted(RENDERERS))
def test_graph_renderer_gold(renderer: str, project: str, update_gold: bool) -> None:
    ext, render = RENDERERS[renderer]
    compare_gold(f"{renderer}/{project}.{ext}", render(cascade_input(project, update_gold)), update=update_gold)


@pytest.mark.parametrize("project", PROJECTS)
def test_impact_gold(project: str, update_gold: bool) -> None:
    model, action = IMPACTS[project]
    tree = impact(cascade_input(project, False), model, action)
    as_json = render_impact_json(tree, model=model, action=action)
    compare_gold(f"impact-text/{project}.txt", render_impact_text(tree), update=update_gold)
    compare_gold(f"impact-json/{project}.json", as_json, update=update_gold)

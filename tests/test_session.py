"""api.Session: one load and one scan per process, whatever is asked; the old entry points still answer the same."""

from __future__ import annotations

import json

from helpers import FIXTURES, python_snippet

COUNTING = """
import json
import signalscope.graph.effects as effects
import signalscope.introspect.models as models
import signalscope.introspect.receivers as receivers
import signalscope.loader as loader
from signalscope import api

counts = {"load": 0, "registry": 0, "models": 0, "effects": 0}

def counting(module, name, key):
    original = getattr(module, name)
    def wrapper(*args, **kwargs):
        counts[key] += 1
        return original(*args, **kwargs)
    setattr(module, name, wrapper)

counting(receivers, "_scan", "registry")
counting(models, "scan_models", "models")
counting(effects, "scan_effects", "effects")
counting(api, "load_project", "load")
session = api.Session(api.ProjectOptions(project=%r))
"""


def test_report_loads_and_scans_once() -> None:
    code = COUNTING % str(FIXTURES / "shop") + (
        "data = session.report()\n"
        "assert data.registry.connections and data.findings is not None and data.impacts\n"
        "print(json.dumps(counts))\n"
    )
    assert json.loads(python_snippet(code)) == {"load": 1, "registry": 1, "models": 1, "effects": 1}


def test_every_question_on_one_session_shares_its_scans() -> None:
    code = COUNTING % str(FIXTURES / "shop") + (
        "session.list(); session.list(api.Filters(sender='auth.User'))\n"
        "session.graph(); session.graph(model='auth.User', depth=2); session.graph(api.Filters(app='accounts'))\n"
        "session.impact('auth.User', 'create'); session.impacts(); session.check(); session.snapshot()\n"
        "session.diff(session.snapshot())\n"
        "print(json.dumps(counts))\n"
    )
    # list's walk skips what decorated receivers wrap (it costs a quarter more); check, asked for
    # later, walks once more for it. Asked first (as report does), one walk serves both.
    assert json.loads(python_snippet(code)) == {"load": 1, "registry": 2, "models": 1, "effects": 1}
    code = COUNTING % str(FIXTURES / "shop") + (
        "session.check(); session.list(); session.graph(); session.impacts()\nprint(json.dumps(counts))\n"
    )
    assert json.loads(python_snippet(code)) == {"load": 1, "registry": 1, "models": 1, "effects": 1}


def test_another_depth_of_calls_reads_the_receivers_again_but_never_rescans() -> None:
    code = COUNTING % str(FIXTURES / "shop") + (
        "session.check(follow_calls=0); session.check(follow_calls=0); session.check(follow_calls=3)\n"
        "print(json.dumps(counts))\n"
    )
    assert json.loads(python_snippet(code)) == {"load": 1, "registry": 1, "models": 1, "effects": 2}


def test_the_old_entry_points_answer_as_the_session_does() -> None:
    code = (
        "import signalscope\n"
        "from signalscope import api\n"
        "from signalscope.model import dumps\n"
        f"session = api.Session(api.ProjectOptions(project={str(FIXTURES / 'shop')!r}))\n"
        "project = session.load()\n"
        "assert dumps(signalscope.scan(project)) == dumps(session.registry)\n"
        "assert dumps(signalscope.select(session.registry, sender='auth.User')) == "
        "dumps(session.list(api.Filters(sender='auth.User')))\n"
        "assert dumps(api.list_receivers(project, signals=['post_save'])) == "
        "dumps(session.list(api.Filters(signals=('post_save',))))\n"
        "assert api.impact_tree(project, 'auth.User', 'create') == session.impact('auth.User', 'create').tree\n"
        "assert api.check(project) == session.check()\n"
        "assert api.cascade_map(project) == session.effects\n"
        "assert sorted(api.dependency_graph(project, model='auth.User').edges) == "
        "sorted(session.graph(model='auth.User').edges)\n"
        "assert api.graph_format(None, 'x.mmd') == 'mermaid'\n"
        "print('ok')\n"
    )
    assert python_snippet(code) == "ok\n"

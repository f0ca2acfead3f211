"""CLI-to-API wiring: every command and option reaches the one Session call it should, with a fake Session.

As coverage.py's tests/test_cmdline.py does: the API is replaced by a fake
that records its calls, so these tests say what the CLI asks for, not what
the engine answers (the real runs are in test_cli.py and the others).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, ClassVar

import networkx as nx
import pytest
from typer.testing import CliRunner

from signalscope import api
from signalscope.api import Filters, ProjectOptions, TraceOptions
from signalscope.cli.app import app
from signalscope.errors import ProjectLoadError
from signalscope.model import SignalMap
from signalscope.model.cascade import ImpactNode
from signalscope.model.check import Finding
from signalscope.model.results import Impact, ReportData
from signalscope.model.snapshot import Change
from signalscope.model.trace import TraceExcerpt, TraceLog

runner = CliRunner()

EMPTY = SignalMap(
    signalscope="0", django="5.2", settings="x.settings", settings_source="--settings", signals=(), connections=()
)
SNAPSHOT = {"schema": 1, "include_django": False, "signals": {}}
DEFAULT = ProjectOptions()


class FakeSession:
    """Records how it is made and called; answers with empty records (or `answers`)."""

    calls: ClassVar[list[tuple[Any, ...]]] = []
    answers: ClassVar[dict[str, Any]] = {}

    def __init__(self, options: ProjectOptions | None = None) -> None:
        self.calls.append(("Session", options))

    def _answer(self, name: str, default: Any, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((name, args, kwargs))
        return self.answers.get(name, default)

    def load(self) -> Any:
        self.calls.append(("load",))

    def list(self, *args: Any, **kwargs: Any) -> SignalMap:
        return self._answer("list", EMPTY, *args, **kwargs)

    def graph(self, *args: Any, **kwargs: Any) -> Any:
        return self._answer("graph", nx.MultiDiGraph(), *args, **kwargs)

    def impact(self, model: str | None, action: str, **kwargs: Any) -> Impact:
        self.calls.append(("impact", (model, action), kwargs))
        if kwargs.get("signal"):
            return Impact(
                action="send", model=kwargs["sender"], tree=ImpactNode("root", "send"), signal=kwargs["signal"]
            )
        return Impact(action=action, model=model, tree=ImpactNode("root", model or ""))

    def check(self, *args: Any, **kwargs: Any) -> list[Finding]:
        return self._answer("check", [], *args, **kwargs)

    def snapshot(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self._answer("snapshot", SNAPSHOT, *args, **kwargs)

    def diff(self, *args: Any, **kwargs: Any) -> list[Change]:
        return self._answer("diff", [], *args, **kwargs)

    def report(self, *args: Any, **kwargs: Any) -> ReportData:
        return self._answer("report", ReportData(EMPTY, nx.MultiDiGraph(), (), {}, {}), *args, **kwargs)


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch) -> type[FakeSession]:
    FakeSession.calls = []
    FakeSession.answers = {}
    monkeypatch.setattr(api, "Session", FakeSession)
    return FakeSession


def invoke(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def work(calls: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The calls that ask a question: not making the session and loading the project."""
    return [c for c in calls if c[0] not in ("Session", "load")]


PROJECT_ARGS = ["--project", "proj", "--settings", "x.settings", "--pythonpath", "a", "--pythonpath", "b", "--no-urls"]
PROJECT = ProjectOptions(project=Path("proj"), settings="x.settings", pythonpath=(Path("a"), Path("b")), urls=False)
FILTER_ARGS = ["-s", "post_save", "--signal", "pre_save", "--sender", "a.B", "--app", "a", "--receiver", "a.*"]
FILTERS = Filters(signals=("post_save", "pre_save"), sender="a.B", app="a", receiver="a.*", hide_django=True)


@pytest.mark.parametrize("command", ["list", "graph", "check", "snapshot", "impact", "report"])
def test_the_project_options_make_the_session(
    session: type[FakeSession], command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("signalscope.cli.app.render", lambda kind, fmt, data, **kw: "")  # no Graphviz needed
    extra = {"impact": ["auth.User"], "report": ["-o", str(tmp_path / "r")]}.get(command, [])
    result = invoke(command, *extra, *PROJECT_ARGS)
    assert result.exit_code == 0, result.output
    assert session.calls[:2] == [("Session", PROJECT), ("load",)]


def test_list_options(session: type[FakeSession]) -> None:
    assert invoke("list").exit_code == 0
    assert work(session.calls) == [("list", (Filters(),), {})]
    session.calls.clear()
    result = invoke("list", *FILTER_ARGS, "--hide-django", "--json")
    assert work(session.calls) == [("list", (FILTERS,), {})]
    assert '"schema": 1' in result.stdout
    assert "SIGNAL" not in invoke("list", "--tree").stdout


def test_graph_options(session: type[FakeSession], tmp_path: Path) -> None:
    assert invoke("graph").exit_code == 0
    assert work(session.calls) == [("graph", (Filters(),), {"model": None, "depth": None, "cascade": True,
                                                             "follow_calls": 2, "read": "site-packages",
                                                             "collapse_senders": False})]  # fmt: skip
    session.calls.clear()
    out = tmp_path / "g.mmd"
    args = ["--model", "a.B", "--depth", "3", "--no-cascade", "--follow-calls", "1", "-o", str(out), "--rankdir", "tb"]
    args += ["--read", "project", "--collapse-senders"]
    assert invoke("graph", *FILTER_ARGS, "--hide-django", *args).exit_code == 0
    assert work(session.calls) == [("graph", (FILTERS,), {"model": "a.B", "depth": 3, "cascade": False,
                                                          "follow_calls": 1, "read": "project",
                                                          "collapse_senders": True})]  # fmt: skip
    assert out.read_text().startswith("flowchart TB")  # the extension chose Mermaid; --rankdir reached it
    assert invoke("graph", "--format", "json").stdout.startswith("{")
    bad = invoke("graph", "--format", "gif")
    assert bad.exit_code == 2 and "gif" in bad.output
    assert invoke("graph", "--rankdir", "XY").exit_code == 2


def test_impact_options(session: type[FakeSession]) -> None:
    assert invoke("impact", "auth.User").exit_code == 0
    defaults = {"signal": None, "sender": None, "depth": 8, "follow_calls": 2, "read": "site-packages"}
    assert work(session.calls) == [("impact", ("auth.User", "save"), defaults)]
    session.calls.clear()
    result = invoke(
        "impact", "auth.User", "-a", "create", "--depth", "2", "--follow-calls", "0", "--read", "project", "--json"
    )
    options = {**defaults, "depth": 2, "follow_calls": 0, "read": "project"}
    assert work(session.calls) == [("impact", ("auth.User", "create"), options)]
    assert '"action": "create"' in result.stdout and '"model": "auth.User"' in result.stdout
    session.calls.clear()
    result = invoke("impact", "--signal", "shop.signals:order_placed", "--sender", "shop.Order", "--json")
    options = {**defaults, "signal": "shop.signals:order_placed", "sender": "shop.Order"}
    assert work(session.calls) == [("impact", (None, "save"), options)]
    assert '"action": "send"' in result.stdout and '"signal": "shop.signals:order_placed"' in result.stdout


def test_check_options_and_exit_codes(session: type[FakeSession], tmp_path: Path) -> None:
    assert invoke("check").exit_code == 0
    assert work(session.calls) == [("check", (), {"select": [], "ignore": [], "follow_calls": 2, "root": None})]
    session.calls.clear()
    out = tmp_path / "c.json"
    args = ["--select", "ss001,SS002", "--ignore", "SS006", "--follow-calls", "3", "-f", "json", "-o", str(out)]
    assert invoke("check", *args, "--root", str(tmp_path)).exit_code == 0
    assert work(session.calls) == [("check", (), {"select": ["SS001", "SS002"], "ignore": ["SS006"],
                                                  "follow_calls": 3, "root": str(tmp_path)})]  # fmt: skip
    assert '"findings": []' in out.read_text()
    session.answers["check"] = [Finding("a.py", 1, "SS006", "hot")]  # a warning
    assert invoke("check").exit_code == 1
    assert invoke("check", "--fail-on", "error").exit_code == 0
    assert invoke("check", "--fail-on", "never").exit_code == 2
    assert invoke("check", "--format", "xml").exit_code == 2


def test_snapshot_options(session: type[FakeSession], tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    assert invoke("snapshot", "--include-django", "-o", str(out)).exit_code == 0
    assert work(session.calls) == [("snapshot", (), {"include_django": True})]
    assert '"schema": 1' in out.read_text()


def test_diff_options(session: type[FakeSession], monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[tuple[str, str | None]] = []

    def read_snapshot(path: str, *, git_ref: str | None = None) -> dict[str, Any]:
        read.append((path, git_ref))
        return SNAPSHOT

    monkeypatch.setattr(api, "read_snapshot", read_snapshot)
    assert invoke("diff", "old.json").exit_code == 0
    assert read == [("old.json", None)] and work(session.calls) == [("diff", (SNAPSHOT,), {})]
    assert "load" in [c[0] for c in session.calls]  # against the project now: it is loaded
    read.clear()
    session.calls.clear()
    assert invoke("diff", "old.json", "new.json", "--json").exit_code == 0
    assert read == [("old.json", None), ("new.json", None)]
    assert work(session.calls) == [("diff", (SNAPSHOT, SNAPSHOT), {})]
    assert "load" not in [c[0] for c in session.calls]  # two files: no project needed
    read.clear()
    assert invoke("diff", "--git", "main", "old.json").exit_code == 0
    assert read == [("old.json", "main")]
    assert invoke("diff", "--git", "main", "old.json", "new.json").exit_code == 2
    session.answers["diff"] = [Change("s", None, "r", None, "added")]
    assert invoke("diff", "old.json").exit_code == 1


def test_report_options(session: type[FakeSession], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pytest.importorskip("networkx")
    log = TraceExcerpt(events=(), sends=0, roots=0, limit=500)
    monkeypatch.setattr(api, "read_trace_excerpt", lambda path, **kw: log if path == "t.json" else None)
    monkeypatch.setattr("signalscope.render.registry.render", lambda kind, fmt, data, **kw: f"<{kind} {fmt}>")
    monkeypatch.setattr("signalscope.cli.app.render", lambda kind, fmt, data, **kw: f"<{kind} {fmt}>")
    folder = tmp_path / "new" / "report"
    assert invoke("report", "-o", str(folder), "--trace", "t.json", "--follow-calls", "1").exit_code == 0
    [(name, args, kwargs)] = work(session.calls)
    assert callable(kwargs.pop("on_step"))  # names each step that takes time, for the spinner
    assert (name, args, kwargs) == ("report", (Filters(),), {"trace": log, "follow_calls": 1})
    assert (folder / "index.html").read_text() == "<report html>"
    session.calls.clear()
    assert invoke("report", "-o", str(folder), *FILTER_ARGS, "--hide-django").exit_code == 0
    assert work(session.calls)[0][1] == (FILTERS,)  # list's filters
    (tmp_path / "file").write_text("x")
    assert invoke("report", "-o", str(tmp_path / "file")).exit_code == 2


def test_trace_options(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: list[tuple[Any, ...]] = []

    def trace_program(argv: list[str], options: TraceOptions, *, project: ProjectOptions) -> tuple[int, TraceLog]:
        seen.append((argv, options, project))
        return 3, TraceLog(events=())

    monkeypatch.setattr(api, "trace_program_stream", trace_program)
    result = invoke("trace", "--", "manage.py", "migrate", "--noinput")
    assert result.exit_code == 3  # the program's status
    argv, options, project = seen.pop()
    assert argv == ["manage.py", "migrate", "--noinput"] and project == DEFAULT
    # The tree goes to the terminal: each request's tree is shown as it ends.
    assert options.live is not None and dataclasses.replace(options, live=None) == TraceOptions()
    assert invoke("trace", "-x", "class_prepared", "--no-children", "--", "manage.py").exit_code == 3
    options = seen.pop()[1]
    assert options.exclude == ("pre_init", "post_init", "class_prepared") and options.children is False
    assert invoke("trace", "--include-all", "-s", "post_init", "--", "manage.py").exit_code == 3
    assert seen.pop()[1].exclude == ()
    assert invoke("trace", "-x", "x", "-s", "pre_init", "--", "manage.py").exit_code == 3
    assert seen.pop()[1].exclude == ("post_init", "x")  # named by --signal: no longer left out
    assert invoke("trace", "--group", "tests", "--", "manage.py").exit_code == 2
    assert not seen
    out = tmp_path / "t.json"
    args = ["--project", "p", "--settings", "x.s", "--pythonpath", "a", "-s", "post_save", "-x", "none",
            "--sender", "a.B", "--app", "a", "--capture-values", "--max-sends", "9",
            "-f", "json", "-o", str(out)]  # fmt: skip
    assert invoke("trace", *args, "--", "script.py").exit_code == 3
    argv, options, project = seen.pop()
    assert project == ProjectOptions(project=Path("p"), settings="x.s", pythonpath=(Path("a"),))
    assert options == TraceOptions(
        include=("post_save",), exclude=(), senders=("a.B",), apps=("a",), max_sends=9, capture_values=True
    )  # json to a file: nothing is shown live
    assert '"events": []' in out.read_text()
    assert invoke("trace", "-f", "xml", "--", "script.py").exit_code == 2
    assert not seen  # an unknown format stops it before the program runs
    jsonl = tmp_path / "t.jsonl"
    assert invoke("trace", "-f", "jsonl", "-o", str(jsonl), "--", "script.py").exit_code == 3
    assert seen.pop()[1].on_send is not None and jsonl.read_text() == ""


def test_debug_loads_the_project(session: type[FakeSession]) -> None:
    result = invoke("debug", *PROJECT_ARGS)
    assert session.calls[0] == ("Session", PROJECT)
    assert "signalscope" in result.stdout and "python" in result.stdout


def test_signalscope_errors_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(**kwargs: Any) -> None:
        raise ProjectLoadError("it broke", hint="fix it")

    monkeypatch.setattr(api, "load_project", fail)
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 2
    assert "signalscope: error: it broke.\nfix it" in result.output  # with its full stop


def test_unexpected_errors_exit_70(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(**kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(api, "load_project", crash)
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 70
    assert "internal error: RuntimeError: boom" in result.output
    assert "Traceback" not in result.output
    verbose = runner.invoke(app, ["list", "--traceback"])
    assert verbose.exit_code == 70 and "Traceback" in verbose.output


def test_output_options_reach_the_renderer(
    session: type[FakeSession], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    rendered: list[tuple[str, str, dict[str, Any]]] = []

    def render(kind: str, fmt: str, data: Any, **options: Any) -> str:
        rendered.append((kind, fmt, {k: v for k, v in options.items() if k not in ("color", "width")}))
        return ""

    monkeypatch.setattr("signalscope.cli.app.render", render)
    monkeypatch.setattr("signalscope.cli.app.render_chunks", lambda *args, **options: iter([render(*args, **options)]))
    monkeypatch.setattr(api, "trace_program_stream", lambda argv, options, *, project: (0, TraceLog(events=())))
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    invoke("list", "--tree")
    invoke("graph", "--cluster-by-app", "--rankdir", "bt", "-f", "mermaid")
    invoke("impact", "a.B", "-a", "delete")
    invoke("check", "-f", "sarif")
    invoke("trace", "--slow", "5", "--show-unheard", "-f", "summary", "--", "x.py")
    invoke("report", "-o", str(tmp_path / "r"), "--open")
    assert rendered == [
        ("list", "tree", {}),
        ("graph", "mermaid", {"rankdir": "BT", "cluster_by_app": True}),
        ("impact", "text", {"model": "a.B", "action": "delete", "signal": None}),
        ("check", "sarif", {}),
        ("trace", "summary", {"slow_ms": 5.0, "unheard": True, "pid": os.getpid()}),
        ("report", "html", {}),
    ]
    assert opened == [(tmp_path / "r" / "index.html").resolve().as_uri()]


def test_version_needs_no_project(session: type[FakeSession]) -> None:
    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout.startswith("signalscope ")
    assert session.calls == []

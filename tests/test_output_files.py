"""Every -o says "signalscope: wrote PATH" once on stderr (not with --quiet, not for stdout), and a format that
doesn't match the file's extension is an error unless --format asked for it, which is then noted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from helpers import FIXTURES, manage_signalscope, shop_with_signalscope_app, signalscope
from typer.testing import CliRunner

from signalscope import api
from signalscope.cli.app import app
from signalscope.model import SignalMap
from signalscope.model.results import ReportData
from signalscope.model.trace import TraceLog

SHOP = str(FIXTURES / "shop")
EMPTY = SignalMap(
    signalscope="0", django="5.2", settings="x.settings", settings_source="--settings", signals=(), connections=()
)


class FakeSession:
    """Answers every command with empty data, without a project."""

    def __init__(self, options: Any = None) -> None:
        pass

    def load(self) -> None:
        pass

    def graph(self, *args: Any, **kwargs: Any) -> nx.MultiDiGraph:
        return nx.MultiDiGraph()

    def check(self, *args: Any, **kwargs: Any) -> list[Any]:
        return []

    def snapshot(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"schema": 1, "include_django": False, "signals": {}}

    def report(self, *args: Any, **kwargs: Any) -> ReportData:
        return ReportData(EMPTY, nx.MultiDiGraph(), (), {}, {})


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api, "Session", FakeSession)
    monkeypatch.setattr(api, "trace_program_stream", lambda argv, options, *, project: (0, TraceLog(events=())))
    monkeypatch.setattr("signalscope.cli.app.render", lambda kind, fmt, data, **kw: f"{kind} {fmt}\n")
    monkeypatch.setattr("signalscope.cli.app.render_chunks", lambda kind, fmt, data, **kw: iter([f"{kind} {fmt}\n"]))


def invoke(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def wrote(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("signalscope: wrote")]


# (command and options before -o, the file name, what follows -o, the detail after the "wrote PATH" line)
WRITERS = [
    (["graph"], "g.dot", [], ""),
    (["graph", "-f", "json"], "g.json", [], ""),
    (["check"], "findings.txt", [], ""),
    (["check", "-f", "sarif"], "findings.sarif", [], ""),
    (["snapshot"], "signals.lock.json", [], ""),
    (["trace", "-f", "json"], "t.json", ["--", "x.py"], " (0 events)"),
    (["trace", "-f", "jsonl"], "t.jsonl", ["--", "x.py"], " (0 events)"),
    (["trace"], "t.txt", ["--", "x.py"], " (0 events)"),  # the tree, to a file
]


@pytest.mark.parametrize(
    ("before", "name", "after", "detail"), WRITERS, ids=lambda v: v if isinstance(v, str) else None
)
def test_each_output_file_is_said_once(
    fake: None, tmp_path: Path, before: list[str], name: str, after: list[str], detail: str
) -> None:
    out = tmp_path / name
    result = invoke(*before, "-o", str(out), *after)
    assert result.exit_code == 0, result.output
    assert out.exists()
    assert wrote(result.stderr) == [f"signalscope: wrote {out}{detail}"]
    for quiet in ("--quiet", "-q"):
        silent = invoke(*before, "-o", str(out), quiet, *after)
        assert silent.exit_code == 0 and wrote(silent.stderr) == [], silent.stderr
    to_stdout = invoke(*before, "-o", "-", *after)
    assert to_stdout.exit_code == 0 and wrote(to_stdout.stderr) == [] and to_stdout.stdout


def test_a_trace_s_default_file_is_said_too(fake: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("trace", "-f", "chrome", "--", "x.py")
    assert wrote(result.stderr) == ["signalscope: wrote signalscope-trace.perfetto.json (0 events)"]
    tree = invoke("trace", "--", "x.py")  # the tree goes to stderr: no file
    assert wrote(tree.stderr) == []


def test_the_report_is_said_once(fake: None, tmp_path: Path) -> None:
    result = invoke("report", "-o", str(tmp_path / "r"))
    assert result.exit_code == 0, result.output
    assert wrote(result.stderr) == [f"signalscope: wrote {tmp_path / 'r' / 'index.html'}"]
    assert wrote(invoke("report", "-o", str(tmp_path / "r"), "-q").stderr) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["check", "-o", "findings.sarif"],
            "-o findings.sarif: its extension (.sarif) is for the sarif format, not text",
        ),
        (["check", "-o", "findings.json"], "-o findings.json: its extension (.json) is for the json format, not text"),
        (["trace", "-o", "t.json", "--", "x.py"], "-o t.json: its extension (.json) is for the json or chrome formats"),
        (["snapshot", "-o", "signals.svg"], "-o signals.svg: its extension (.svg) is for graph's svg format"),
        (["graph", "-o", "signals.sarif"], "Can't tell the format of 'signals.sarif' from its extension."),
    ],
)
def test_a_default_format_into_a_file_named_for_another_is_a_usage_error(
    fake: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    ran: list[str] = []
    monkeypatch.setattr(
        api, "trace_program_stream", lambda argv, options, *, project: ran.append("ran") or (0, TraceLog(()))
    )
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"signalscope: error: {message}"), result.stderr
    assert list(tmp_path.iterdir()) == [] and ran == []  # nothing written, the program not run
    assert wrote(result.stderr) == []


@pytest.mark.parametrize(
    ("args", "note"),
    [
        (["graph", "-f", "mermaid", "-o", "x.svg"], "writing mermaid into x.svg as --format asks, although its "
         "extension (.svg) is for the svg format."),
        (["check", "-f", "text", "-o", "x.sarif"], "writing text into x.sarif as --format asks, although its "
         "extension (.sarif) is for the sarif format."),
        (["trace", "-f", "tree", "-o", "t.json", "--", "x.py"], "writing tree into t.json as --format asks, although "
         "its extension (.json) is for the json or chrome formats."),
    ],
)  # fmt: skip
def test_a_format_asked_for_is_written_and_noted(
    fake: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], note: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    name = args[args.index("-o") + 1]
    assert result.stderr.splitlines()[:1] == [f"signalscope: note: {note}"]
    assert wrote(result.stderr)[0].startswith(f"signalscope: wrote {name}")
    assert (tmp_path / name).exists()
    quiet = [args[0], "-q", *args[1:]]  # before a trace's --
    assert invoke(*quiet).stderr.splitlines() == [f"signalscope: note: {note}"]  # --quiet keeps the note


def test_for_real_mermaid_into_an_svg_file(tmp_path: Path) -> None:
    out = tmp_path / "x.svg"
    result = signalscope("graph", "--project", SHOP, "-f", "mermaid", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_text().startswith("flowchart LR")
    assert result.stderr.splitlines() == [
        f"signalscope: note: writing mermaid into {out} as --format asks, although its extension (.svg) is for the "
        "svg format.",
        f"signalscope: wrote {out}",
    ]
    refused = signalscope("check", "--project", SHOP, "-o", str(tmp_path / "findings.sarif"))
    assert refused.returncode == 2 and refused.stderr.splitlines() == [
        f"signalscope: error: -o {tmp_path / 'findings.sarif'}: its extension (.sarif) is for the sarif format, not "
        "text, the default format.",
        "Pass --format sarif, or --format text to write text into it anyway.",
    ]


@pytest.fixture(scope="module")
def shop_with_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shop_with_signalscope_app(tmp_path_factory.mktemp("mgmt-out"))


manage = manage_signalscope


def test_the_management_command_follows_the_same_rules(shop_with_app: Path, tmp_path: Path) -> None:
    snapshot = tmp_path / "s.json"
    result = manage(shop_with_app, "snapshot", "-o", str(snapshot))
    assert result.returncode == 0 and result.stderr == f"signalscope: wrote {snapshot}\n", result.stderr
    assert manage(shop_with_app, "snapshot", "-o", str(snapshot), "-q").stderr == ""
    mermaid = tmp_path / "x.svg"
    noted = manage(shop_with_app, "graph", "-f", "mermaid", "-o", str(mermaid), "--quiet")
    assert noted.returncode == 0 and mermaid.read_text().startswith("flowchart LR")
    assert noted.stderr == (
        f"signalscope: note: writing mermaid into {mermaid} as --format asks, although its extension (.svg) is for "
        "the svg format.\n"
    )
    refused = manage(shop_with_app, "check", "-o", str(tmp_path / "c.sarif"))
    assert refused.returncode == 2 and refused.stderr.startswith(
        f"signalscope: error: -o {tmp_path / 'c.sarif'}: its extension (.sarif) is for the sarif format"
    )
    assert not (tmp_path / "c.sarif").exists()
    sarif = manage(shop_with_app, "check", "-f", "sarif", "-o", str(tmp_path / "c.sarif"))
    assert sarif.returncode == 1 and sarif.stderr == f"signalscope: wrote {tmp_path / 'c.sarif'}\n"

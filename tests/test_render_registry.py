"""The render registry: one table (kind, format) -> renderer, its extensions and choices, and Graphviz."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from goldtest import GOLD

import signalscope
from signalscope.errors import IntrospectionError, MissingExtra, UnknownFormat, UsageError
from signalscope.graph.build import build_graph
from signalscope.graph.impact import impact
from signalscope.model import SignalMap, cascade_from_dict, loads
from signalscope.model.cascade import CascadeMap
from signalscope.model.check import Finding
from signalscope.model.jsonio import dump_json
from signalscope.model.results import ReportData
from signalscope.model.snapshot import diff_snapshots, render_diff, snapshot_dict, snapshot_json
from signalscope.model.trace import TraceEvent, TraceLog
from signalscope.render import check as check_render
from signalscope.render import graphviz, registry
from signalscope.render import trace as trace_render
from signalscope.render.diff import render_diff_json
from signalscope.render.dot import render_dot
from signalscope.render.graphdata import render_graph_json, render_graphml
from signalscope.render.impact import render_impact_json, render_impact_rich, render_impact_text
from signalscope.render.json import render_json
from signalscope.render.mermaid import render_mermaid
from signalscope.render.text import render_plain_table, render_plain_tree, render_rich_table, render_rich_tree

MS = 1_000_000
SAVE = "django.db.models.signals:post_save"


def _smap() -> SignalMap:
    return loads((GOLD / "input" / "shop.json").read_text(encoding="utf-8"))


def _cmap() -> CascadeMap:
    cmap: CascadeMap = cascade_from_dict(json.loads((GOLD / "input" / "shop.cascade.json").read_text(encoding="utf-8")))
    return cmap


def _log() -> TraceLog:
    def event(id: int, parent: int | None, kind: str, receiver: str | None, start: int, duration: int) -> TraceEvent:
        return TraceEvent(id, parent, kind, SAVE, "auth.User", receiver, "send", start, duration, 7)

    return TraceLog(
        events=(
            event(1, None, "send", None, 0, 30 * MS),
            event(2, 1, "call", "app.r:fast", MS, MS),
            event(3, 1, "call", "app.r:slow", 3 * MS, 20 * MS),
        )
    )


FINDINGS = [
    Finding("billing/signals.py", 8, "SS001", "never connected", receiver="billing.signals:notify"),
    Finding(None, None, "SS005", "a cycle", signal=SAVE),
]


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    smap = _smap()
    cmap = _cmap()
    before = snapshot_dict(smap)
    after = json.loads(json.dumps(before))
    entries = next(entries for entries in after["signals"].values() if entries)
    entries.append({**entries[0], "receiver": entries[0]["receiver"] + "_renamed"})
    entries[0]["weak"] = not entries[0]["weak"]
    changes = diff_snapshots(before, after)
    assert {c.kind for c in changes} == {"added", "changed"}
    return {
        "list": smap,
        "graph": build_graph(cmap),
        "impact": impact(cmap, "auth.User", "create"),
        "check": FINDINGS,
        "trace": _log(),
        "snapshot": before,
        "diff": changes,
        "report": ReportData(smap, build_graph(cmap), tuple(FINDINGS), {}, {}, _log()),
    }


OPTIONS: dict[str, dict[str, Any]] = {
    "graph": {"rankdir": "TB", "cluster_by_app": True},
    "impact": {"model": "auth.User", "action": "create"},
    "trace": {"slow_ms": 10.0, "unheard": True, "pid": 42},
}


def test_the_table_lists_every_kind_and_format_in_order() -> None:
    assert registry.KINDS == ("list", "graph", "impact", "check", "trace", "snapshot", "diff", "report")
    assert {kind: registry.formats(kind) for kind in registry.KINDS} == {
        "list": ("table", "tree", "json"),
        "graph": ("dot", "mermaid", "json", "graphml", "svg", "png"),
        "impact": ("text", "json"),
        "check": ("text", "json", "github", "sarif"),
        "trace": ("tree", "summary", "json", "jsonl", "chrome"),
        "snapshot": ("json",),
        "diff": ("text", "json"),
        "report": ("html",),
    }
    assert registry.format_help("graph") == "dot, mermaid, json, graphml, svg or png"
    assert registry.format_help("trace") == "tree, summary, json, jsonl or chrome"
    assert registry.format_help("check") == "text, json, github or sarif"
    assert registry.format_help("snapshot") == "json"
    with pytest.raises(ValueError, match="unknown kind of output 'graphs'"):
        registry.formats("graphs")


def test_extensions_are_the_graph_ones_and_only_svg_and_png_are_bytes() -> None:
    assert registry.extension_map("graph") == {
        ".dot": "dot",
        ".gv": "dot",
        ".mmd": "mermaid",
        ".mermaid": "mermaid",
        ".json": "json",
        ".graphml": "graphml",
        ".svg": "svg",
        ".png": "png",
    }
    for kind in registry.KINDS:
        if kind != "graph":
            assert registry.extension_map(kind) == {}
        for name in registry.formats(kind):
            entry = registry.get(kind, name)
            assert (entry.kind, entry.name) == (kind, name) and entry.help
            assert entry.is_binary == (kind == "graph" and name in ("svg", "png"))


def test_trace_formats_have_their_default_files() -> None:
    files = {name: registry.get("trace", name).default_file for name in registry.formats("trace")}
    assert files == {
        "tree": None,
        "summary": None,
        "json": "signalscope-trace.json",
        "jsonl": "signalscope-trace.jsonl",
        "chrome": "signalscope-trace.perfetto.json",
    }
    others = {registry.get(k, n).default_file for k in registry.KINDS if k != "trace" for n in registry.formats(k)}
    assert others == {None}


@pytest.mark.parametrize(
    ("fmt", "output", "chosen"),
    [
        ("mermaid", "g.svg", "mermaid"),  # --format wins over the extension
        (None, "g.gv", "dot"),
        (None, "out/G.DOT", "dot"),
        (None, "g.mermaid", "mermaid"),
        (None, "g.mmd", "mermaid"),
        (None, "g.json", "json"),
        (None, "g.graphml", "graphml"),
        (None, "g.svg", "svg"),
        (None, "g.png", "png"),
        (None, "-", "dot"),
        (None, None, "dot"),
        ("", "g.png", "png"),  # an empty --format is no format
    ],
)
def test_choose_a_graph_format(fmt: str | None, output: str | None, chosen: str) -> None:
    assert registry.choose_format("graph", fmt, output, default="dot") == chosen


def test_choose_format_errors_say_the_choices() -> None:
    with pytest.raises(UnknownFormat) as unknown:
        registry.choose_format("graph", "pdf", None, default="dot")
    assert unknown.value.message == "Unknown graph format 'pdf'."
    assert unknown.value.hint == "Choose one of dot, mermaid, json, graphml, svg, png."
    with pytest.raises(UnknownFormat) as extension:
        registry.choose_format("graph", None, "out/g.pdf", default="dot")
    assert extension.value.message == "Can't tell the format of 'out/g.pdf' from its extension."
    assert extension.value.hint == (
        "Pass --format (dot, mermaid, json, graphml, svg, png) "
        "or use one of .dot, .graphml, .gv, .json, .mermaid, .mmd, .png, .svg."
    )
    with pytest.raises(UnknownFormat) as no_extension:
        registry.choose_format("graph", None, "graph", default="dot")
    assert no_extension.value.message == "Can't tell the format of 'graph' from its extension."
    # the words trace and check have always used
    with pytest.raises(UnknownFormat, match=r"^--format xml: choose one of tree, summary, json, jsonl, chrome\.$"):
        registry.choose_format("trace", "xml", None, default="tree")
    with pytest.raises(UnknownFormat, match=r"^--format xml: choose one of text, json, github, sarif\.$"):
        registry.choose_format("check", "xml", "x.json", default="text")
    assert isinstance(unknown.value, UsageError) and unknown.value.exit_code == 2
    with pytest.raises(ValueError, match="'svg' is not a check format"):
        registry.choose_format("check", None, None, default="svg")


def test_only_graph_reads_the_output_extension() -> None:
    assert registry.choose_format("check", None, "findings.log", default="text") == "text"
    assert registry.choose_format("trace", None, "t.txt", default="tree") == "tree"
    assert registry.choose_format("check", "sarif", "report.json", default="text") == "sarif"  # asked for
    assert registry.choose_format("diff", "json", "changes.txt", default="text") == "json"


@pytest.mark.parametrize(
    ("kind", "fmt", "output", "mismatch"),
    [
        ("graph", "mermaid", "x.svg", "its extension (.svg) is for the svg format"),
        ("graph", "dot", "x.GV", None),
        ("check", "text", "findings.sarif", "its extension (.sarif) is for the sarif format"),
        ("check", "sarif", "findings.sarif.json", None),  # the longest ending counts
        ("check", "json", "findings.sarif.json", "its extension (.sarif.json) is for the sarif format"),
        ("check", "github", "annotations.txt", None),
        ("trace", "tree", "t.json", "its extension (.json) is for the json or chrome formats"),
        ("trace", "chrome", "t.json", None),
        ("trace", "chrome", "t.perfetto.json", None),
        ("snapshot", "json", "snap.svg", "its extension (.svg) is for graph's svg format"),
        ("check", "text", "findings.log", None),  # an ending no format has suits every one
        ("check", "text", "-", None),
        ("check", "text", "/dev/stderr", None),
        ("check", "text", None, None),
        ("check", "text", ".json", None),  # a name, not an extension
    ],
)
def test_format_mismatch(kind: str, fmt: str, output: str | None, mismatch: str | None) -> None:
    assert registry.format_mismatch(kind, fmt, output) == mismatch


def test_a_default_format_into_a_file_named_for_another_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as sarif:
        registry.choose_format("check", None, "out/findings.sarif", default="text")
    assert sarif.value.message == (
        "-o out/findings.sarif: its extension (.sarif) is for the sarif format, not text, the default format."
    )
    assert sarif.value.hint == "Pass --format sarif, or --format text to write text into it anyway."
    assert sarif.value.exit_code == 2
    with pytest.raises(UsageError) as html:
        registry.choose_format("trace", None, "t.html", default="tree")
    assert html.value.hint == "Name the file .txt, or pass --format tree to write tree into it anyway."
    with pytest.raises(UsageError) as snapshot:
        registry.choose_format("snapshot", None, "snap.svg", default="json")
    assert snapshot.value.message == "-o snap.svg: its extension (.svg) is for graph's svg format, not snapshot's json."
    assert snapshot.value.hint == "Name the file .json."


def _fake_graphviz(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    calls: list[tuple[str, str]] = []

    def fake(dot_text: str, fmt: str, *, timeout: float | None = None) -> bytes:
        calls.append((dot_text, fmt))
        return f"<{fmt}>".encode()

    monkeypatch.setattr(graphviz, "run_graphviz", fake)
    return calls


ALL = [(kind, name) for kind in registry.KINDS for name in registry.formats(kind)]


@pytest.mark.parametrize(("kind", "fmt"), ALL, ids=[f"{k}-{f}" for k, f in ALL])
@pytest.mark.parametrize("color", [False, True], ids=["plain", "color"])
def test_every_format_renders_its_kind(
    kind: str, fmt: str, color: bool, data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _fake_graphviz(monkeypatch)
    out = registry.render(kind, fmt, data[kind], color=color, width=100, **OPTIONS.get(kind, {}))
    entry = registry.get(kind, fmt)
    assert isinstance(out, bytes if entry.is_binary else str)
    assert out
    if entry.is_binary:
        assert calls == [(render_dot(data["graph"], rankdir="TB", cluster_by_app=True), fmt)]
    if kind == "report":  # the report never runs dot: its page lays the graph out (Graphviz in WebAssembly)
        assert calls == [] and "signalscopeGraphvizLoaded" in str(out)
    # and the same without options where a kind has none it needs
    if kind not in ("impact",):
        assert type(registry.render(kind, fmt, data[kind])) is type(out)


def _expected(kind: str, fmt: str, color: bool, d: dict[str, Any]) -> str:
    """What the renderer the CLI called before the registry returns: the registry must not change a byte."""
    w = 100
    log = d["trace"]
    table: dict[tuple[str, str], Callable[[], str]] = {
        ("list", "table"): lambda: (
            render_rich_table(d["list"], color=True, width=w) if color else render_plain_table(d["list"])
        ),
        ("list", "tree"): lambda: (
            render_rich_tree(d["list"], color=True, width=w) if color else render_plain_tree(d["list"])
        ),
        ("list", "json"): lambda: render_json(d["list"]),
        ("graph", "dot"): lambda: render_dot(d["graph"], rankdir="TB", cluster_by_app=True),
        ("graph", "mermaid"): lambda: render_mermaid(d["graph"], rankdir="TB"),
        ("graph", "json"): lambda: render_graph_json(d["graph"]),
        ("graph", "graphml"): lambda: render_graphml(d["graph"]),
        ("impact", "text"): lambda: (
            render_impact_rich(d["impact"], color=True, width=w) if color else render_impact_text(d["impact"])
        ),
        ("impact", "json"): lambda: render_impact_json(d["impact"], model="auth.User", action="create"),
        ("check", "text"): lambda: check_render.render_check_text(FINDINGS),
        ("check", "json"): lambda: check_render.render_check_json(FINDINGS),
        ("check", "github"): lambda: check_render.render_check_github(FINDINGS),
        ("check", "sarif"): lambda: check_render.render_check_sarif(FINDINGS, version=signalscope.__version__),
        ("trace", "tree"): lambda: (
            trace_render.render_rich_tree(log, slow_ms=10.0, unheard=True, color=True, width=w)
            + trace_render.render_rich_summary(log, color=True, width=w)
            if color
            else trace_render.render_plain_tree(log, slow_ms=10.0, unheard=True)
            + "\n"
            + trace_render.render_plain_summary(log)
        ),
        ("trace", "summary"): lambda: (
            trace_render.render_rich_summary(log, color=True, width=w)
            if color
            else trace_render.render_plain_summary(log)
        ),
        ("trace", "json"): lambda: trace_render.render_trace_json(log),
        ("trace", "jsonl"): lambda: trace_render.render_jsonl(log.events),
        ("trace", "chrome"): lambda: trace_render.render_chrome(log, pid=42),
        ("snapshot", "json"): lambda: snapshot_json(d["snapshot"]),
        ("diff", "text"): lambda: render_diff(d["diff"]),
        ("diff", "json"): lambda: render_diff_json(d["diff"]),
    }
    return table[kind, fmt]()


TEXT = [(k, f) for k, f in ALL if (k, f) not in {("graph", "svg"), ("graph", "png"), ("report", "html")}]


@pytest.mark.parametrize(("kind", "fmt"), TEXT, ids=[f"{k}-{f}" for k, f in TEXT])
@pytest.mark.parametrize("color", [False, True], ids=["plain", "color"])
def test_the_registry_calls_the_renderer_the_cli_called(kind: str, fmt: str, color: bool, data: dict[str, Any]) -> None:
    out = registry.render(kind, fmt, data[kind], color=color, width=100, **OPTIONS.get(kind, {}))
    assert out == _expected(kind, fmt, color, data)


def test_color_chooses_rich_and_plain_has_no_escapes(data: dict[str, Any]) -> None:
    for kind, fmt in [("list", "table"), ("list", "tree"), ("impact", "text"), ("trace", "tree"), ("trace", "summary")]:
        plain = registry.render(kind, fmt, data[kind], **OPTIONS.get(kind, {}))
        rich = registry.render(kind, fmt, data[kind], color=True, width=100, **OPTIONS.get(kind, {}))
        assert "\x1b[" not in plain and "\x1b[" in str(rich), (kind, fmt)
    # the plain trace tree is set apart from its summary by a blank line; rich's are printed one after the other
    tree = registry.render("trace", "tree", data["trace"], slow_ms=10.0)
    summary = str(registry.render("trace", "summary", data["trace"]))
    assert tree == trace_render.render_plain_tree(data["trace"], slow_ms=10.0) + "\n" + summary


def test_the_registry_matches_the_gold_files(data: dict[str, Any]) -> None:
    assert registry.render("list", "table", data["list"]) == (GOLD / "table" / "shop.txt").read_text(encoding="utf-8")
    assert registry.render("list", "json", data["list"]) == (GOLD / "json" / "shop.json").read_text(encoding="utf-8")
    dot = registry.render("graph", "dot", data["graph"], cluster_by_app=True)
    assert dot == (GOLD / "graph-dot" / "shop.dot").read_text(encoding="utf-8")
    assert str(dot).startswith("// signal dependency graph, made by signalscope\ndigraph signalscope {\n")
    text = registry.render("impact", "text", data["impact"])
    assert text == (GOLD / "impact-text" / "shop.txt").read_text(encoding="utf-8")


def test_diff_json_is_written_by_the_one_json_writer(data: dict[str, Any]) -> None:
    changes = data["diff"]
    out = registry.render("diff", "json", changes)
    assert out == dump_json(json.loads(out))
    assert "→" in str(out)  # "weak: strong → weak": as it is, as every JSON signalscope writes
    assert json.loads(out)["changes"][0]["change"] in ("added", "removed", "changed")
    assert registry.render("diff", "json", []) == '{\n  "changes": [],\n  "schema": 1\n}\n'


def test_options_are_checked(data: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match="needs model= and action="):
        registry.render("impact", "json", data["impact"])
    with pytest.raises(TypeError):
        registry.render("graph", "dot", data["graph"], rankdri="TB")
    with pytest.raises(TypeError):
        registry.render("check", "text", FINDINGS, rankdir="TB")
    with pytest.raises(UnknownFormat, match="Unknown graph format 'pdf'"):
        registry.render("graph", "pdf", data["graph"])


def test_importing_the_registry_imports_no_rich_networkx_or_django() -> None:
    code = (
        "import sys, signalscope.render.registry as r\n"
        "r.formats('graph'); r.choose_format('graph', None, 'g.svg', default='dot')\n"
        "heavy = [m for m in ('rich', 'networkx', 'django', 'django.conf') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def _dot_on_path(monkeypatch: pytest.MonkeyPatch, folder: Path, body: str) -> None:
    """Put a `dot` that runs `body` (shell) first on PATH."""
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    script = bin_dir / "dot"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for dot")
def test_run_graphviz_lives_in_render_graphviz(
    data: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert graphviz.DOT_TIMEOUT == 300.0
    # the fake dot answers with its -T argument and the DOT it read
    _dot_on_path(monkeypatch, tmp_path, 'printf "%s\\n" "$1"; cat')
    assert graphviz.run_graphviz("digraph {}\n", "png") == b"-Tpng\ndigraph {}\n"
    svg = registry.render("graph", "svg", data["graph"], rankdir="TB")
    assert svg == b"-Tsvg\n" + render_dot(data["graph"], rankdir="TB").encode("utf-8")


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for dot")
def test_run_graphviz_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _dot_on_path(monkeypatch, tmp_path, "cat > /dev/null; echo 'syntax error in line 1' >&2; exit 1")
    with pytest.raises(IntrospectionError, match=r"^Graphviz's dot failed: syntax error in line 1$"):
        graphviz.run_graphviz("digraph { -> }\n", "svg")
    monkeypatch.setenv("SIGNALSCOPE_DOT_TIMEOUT", "soon")
    with pytest.raises(UsageError, match="SIGNALSCOPE_DOT_TIMEOUT='soon' is not a number of seconds"):
        graphviz.run_graphviz("digraph {}\n", "svg")
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))  # no dot on it
    with pytest.raises(MissingExtra, match="Drawing svg needs Graphviz's dot program") as missing:
        graphviz.run_graphviz("digraph {}\n", "svg")
    assert "apt-get install graphviz" in (missing.value.hint or "")


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for dot")
def test_a_slow_dot_is_stopped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _dot_on_path(monkeypatch, tmp_path, "exec sleep 30")
    monkeypatch.setenv("SIGNALSCOPE_DOT_TIMEOUT", "0.3")
    with pytest.raises(IntrospectionError, match=r"did not finish drawing png in 0\.3 s") as slow:
        graphviz.run_graphviz("digraph {}\n", "png")
    assert "SIGNALSCOPE_DOT_TIMEOUT=SECONDS" in (slow.value.hint or "")
    with pytest.raises(IntrospectionError, match=r"did not finish drawing svg in 0\.2 s"):
        graphviz.run_graphviz("digraph {}\n", "svg", timeout=0.2)  # the argument wins over the variable

"""Hostile names in every renderer: shown escaped, never as terminal control, and every format stays valid."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import networkx as nx
import pydot
import pytest
from helpers import needs_dot
from hypothesis import given, settings
from hypothesis import strategies as st

from signalscope.model import Connection, ReceiverRef, SenderRef, SignalMap, SignalRef
from signalscope.model.cascade import ImpactNode
from signalscope.model.check import Finding
from signalscope.model.snapshot import Change, render_diff
from signalscope.model.trace import TraceEvent, TraceLog
from signalscope.render import trace as trace_render
from signalscope.render.check import render_check_github, render_check_json, render_check_sarif, render_check_text
from signalscope.render.dot import dot_quote, render_dot
from signalscope.render.graphdata import render_graph_json, render_graphml
from signalscope.render.impact import render_impact_json, render_impact_rich, render_impact_text
from signalscope.render.mermaid import mermaid_quote, render_mermaid
from signalscope.render.text import render_plain_table, render_plain_tree, render_rich_table, render_rich_tree

HOSTILE = [
    'a"b',
    "back\\slash",
    "trailing\\",
    "<script>alert(1)</script>",
    "{curly}",
    "graph",
    "node",
    "é→ü",
    "x;y",
    "a\nb",
]
labels = st.text(st.characters(blacklist_categories=("Cs",), min_codepoint=32), min_size=1, max_size=40)


def one_node_graph(label: str) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph()
    graph.add_node("signal:x", kind="signal", label=label)
    graph.add_node("sender:y", kind="sender", label=label)
    graph.add_edge("sender:y", "signal:x", kind="sends")
    return graph


def pydot_label(dot_text: str) -> str:
    (parsed,) = pydot.graph_from_dot_data(dot_text)
    node = next(n for n in parsed.get_nodes() if n.get_name() == "n1")
    raw = node.get_label()
    assert raw.startswith('"') and raw.endswith('"')
    # DOT's only escape in quoted strings is \" ; a label's \\ is one backslash, \n a line break
    return raw[1:-1].replace('\\"', '"').replace("\\\\", "\x00").replace("\\n", "\n").replace("\x00", "\\")


@settings(max_examples=200, deadline=None)
@given(labels)
def test_dot_labels_round_trip_through_pydot(label: str) -> None:
    # control characters, newlines and line separators are shown escaped: \x1b, \n, \u2028
    assert pydot_label(render_dot(one_node_graph(label))) == visible(label)


@pytest.mark.parametrize("label", HOSTILE)
def test_hostile_labels_in_dot_parse_and_render(label: str) -> None:
    text = render_dot(one_node_graph(label))
    assert pydot_label(text) == visible(label)
    program = shutil.which("dot") or (needs_dot() if os.environ.get("SIGNALSCOPE_REQUIRE_DOT") else None)
    if program:  # without dot, pydot's parser alone checks it
        result = subprocess.run([program, "-Tsvg"], input=text, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr


@settings(max_examples=200, deadline=None)
@given(labels)
def test_mermaid_labels_hold_no_special_character(label: str) -> None:
    quoted = mermaid_quote(label)
    assert not set(quoted) & set('"<>`|')
    body = quoted.replace("<br>", "")
    # every # starts one of the entity codes written for it
    assert all(
        body[i:].startswith(("#35;", "#quot;", "#lt;", "#gt;", "#amp;", "#96;", "#124;"))
        for i, ch in enumerate(body)
        if ch == "#"
    )
    line = render_mermaid(one_node_graph(label)).split("\n")[2]
    assert line.startswith('  n1{{"') and line.endswith('"}}')


def test_dot_quote_examples() -> None:
    assert dot_quote('say "hi"') == '"say \\"hi\\""'
    assert dot_quote("C:\\dir\\") == '"C:\\\\dir\\\\"'
    assert dot_quote("two\nlines") == '"two\\nlines"'  # the renderer's own line break
    assert dot_quote("bell\x07") == '"bell\\\\x07"'  # shown as the 4 characters \x07


# --- Names are data, never terminal control: every renderer -----------------------------------------

#: What the visible escaping writes out: C0 and C1 controls (DEL too), line and paragraph
#: separators, bidirectional overrides and isolates, lone surrogates, and U+FFFE/U+FFFF (which
#: XML 1.0 forbids). A spec written independently of signalscope's helper.
_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _is_unsafe(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Zl", "Zp", "Cs") or ch in _BIDI or ch in "\ufffe\uffff"


def visible(text: str) -> str:
    """The expected visible form of `text`: ``\\x1b`` for ESC, ``\\n`` for a newline, ``\\u2028``..."""
    return "".join(
        _SHORT.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}") if _is_unsafe(ch) else ch
        for ch in text
    )


def raw_controls(text: str, *, newlines: bool = True) -> list[str]:
    """Every unsafe character left in `text` (the renderer's own newlines allowed when `newlines`)."""
    return [ch for ch in text if _is_unsafe(ch) and not (newlines and ch == "\n")]


_SGR = re.compile(r"\x1b\[[0-9;]*m")


def no_raw_controls(text: str, *, color: bool = False) -> None:
    """Assert `text` holds no unsafe character but its newlines (and, when `color`, rich's SGR codes)."""
    if color:
        text = _SGR.sub("", text)
    assert raw_controls(text) == [], text


# Pieces that a hostile or unlucky name is made of: terminal escapes (CSI, OSC with BEL, a
# single-byte CSI), line breaks of every kind, XML's forbidden characters, a lone surrogate,
# bidi overrides, rich markup, and the characters the formats quote.
PIECES = [
    "\x1b[31m", "\x1b[2J", "\x1b]0;owned\x07", "\x9b1m", "\x1b", "\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c",
    "\r", "\n", "\r\n", "\t", "\x7f", "\x85", "\u2028", "\u2029", "\u202e", "\u2066", "\ud800", "\udcff",
    "\ufffe", "[bold]", "[/bold]", "[/]", "[link=http://x]", "\\", "\\[b]", "%", ":", ",", '"', "<", "&", "#",
    "é", "x", "shop.Order",
]  # fmt: skip
names = st.lists(
    st.one_of(st.sampled_from(PIECES), st.characters(blacklist_categories=("Cs",))), min_size=1, max_size=6
).map("".join)


def fits(name: str) -> bool:
    """Whether `name`, escaped, fits rich's narrowest capped column on one line."""
    from rich.cells import cell_len

    shown = visible(name)
    return len(shown) <= 18 and cell_len(shown) == len(shown) and shown == shown.strip()


short_names = names.filter(fits)

HOSTILE_NAMES = [
    "shop.Ord\x1b[2Jer",
    "[bold]evil[/bold]\nFAKE LINE",
    "u\x1b]0;title\x07",
    "nul\x00\x01\x0b",
    "\u202eRLO",
]


def test_the_shared_escaping_matches_the_spec() -> None:
    from signalscope.model.escaping import escape_controls

    for name in [*HOSTILE_NAMES, *PIECES, "plain.Name", "", "back\\slash"]:
        assert escape_controls(name) == visible(name)
    assert escape_controls("a\x1bb\nc") == "a\\x1bb\\nc"
    assert escape_controls("\u2028\x85") == "\\u2028\\x85"
    plain = "accounts.signals:create_user_profile"
    assert escape_controls(plain) is plain  # the common case costs no copy


@settings(max_examples=200, deadline=None)
@given(names)
def test_shared_escaping_property(name: str) -> None:
    from signalscope.model.escaping import escape_controls

    shown = escape_controls(name)
    assert shown == visible(name)
    assert raw_controls(shown, newlines=False) == []
    assert escape_controls(shown) == shown  # idempotent: escaping an escaped name changes nothing


# -- list: plain and rich, table and tree


def signal_map(name: str) -> SignalMap:
    """A registry in which every name the project supplies is `name`."""
    signal = SignalRef(f"app.signals:{name}", name, name, "django.dispatch:Signal", False)
    conns = (
        Connection(signal.path, SenderRef("any", None), 0, ReceiverRef(f"app.r:{name}", None, None, "function")),
        Connection(
            signal.path,
            SenderRef("model", name),
            0,
            ReceiverRef(f"app.r:{name}", f"{name}.py", 3, "function"),
            dispatch_uid=name,
            is_dead=True,
        ),
    )
    idle = SignalRef(f"app.signals:idle{name}", f"idle{name}", "custom", "django.dispatch:Signal", False)
    return SignalMap("0.1", "5.2", name, name, (signal, idle), conns)


LIST_RENDERERS: dict[str, Callable[[SignalMap], str]] = {
    "plain-table": render_plain_table,
    "plain-tree": render_plain_tree,
    "rich-table": lambda m: render_rich_table(m, color=False, width=400),
    "rich-tree": lambda m: render_rich_tree(m, color=False, width=400),
    "rich-table-color": lambda m: render_rich_table(m, color=True, width=400),
    "rich-tree-color": lambda m: render_rich_tree(m, color=True, width=400),
}


@pytest.mark.parametrize("renderer", sorted(LIST_RENDERERS))
@settings(max_examples=60, deadline=None)
@given(name=short_names)
def test_list_renderers_show_names_escaped(renderer: str, name: str) -> None:
    render = LIST_RENDERERS[renderer]
    out = render(signal_map(name))
    color = renderer.endswith("-color")
    no_raw_controls(out, color=color)
    # the same output as for a name that was written escaped to begin with: nothing else is touched
    assert out == render(signal_map(visible(name)))
    shown = _SGR.sub("", out) if color else out
    assert f"app.r:{visible(name)}" in shown  # recognizable, and rich markup in it printed literally


@pytest.mark.parametrize("renderer", sorted(LIST_RENDERERS))
@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_list_renderers_examples(renderer: str, name: str) -> None:
    out = LIST_RENDERERS[renderer](signal_map(name))
    no_raw_controls(out, color=renderer.endswith("-color"))
    assert visible(name) in _SGR.sub("", out)


# -- check: text, GitHub workflow commands, SARIF, JSON


def as_json(text: str) -> str:
    """`text` as JSON carries it: exactly, but two lone surrogates in a row read back as one character."""
    return str(json.loads(json.dumps(text)))


def findings(name: str) -> list[Finding]:
    return [
        Finding(f"{name}.py", 3, "SS001", f"receiver {name} is never connected", f"s:{name}", f"r:{name}"),
        Finding(None, None, "SS005", name, None, None),
    ]


@settings(max_examples=100, deadline=None)
@given(names)
def test_check_text_and_github_show_names_escaped(name: str) -> None:
    text = render_check_text(findings(name))
    no_raw_controls(text)
    assert text == render_check_text(findings(visible(name)))
    assert f"receiver {visible(name)} is never connected" in text
    assert len(text.splitlines()) == 4  # two findings, a blank line, the count
    github = render_check_github(findings(name))
    no_raw_controls(github)
    assert github == render_check_github(findings(visible(name)))
    assert len(github.splitlines()) == 2  # one workflow command per finding, whatever the name
    assert visible(name).replace("%", "%25") in github


@settings(max_examples=100, deadline=None)
@given(names)
def test_check_sarif_and_json_stay_valid_and_keep_names(name: str) -> None:
    sarif = render_check_sarif(findings(name), version="0.1")
    no_raw_controls(sarif)  # JSON escapes them
    log = json.loads(sarif)
    messages = [as_json(f.message) for f in findings(name)]
    assert [r["message"]["text"] for r in log["runs"][0]["results"]] == messages
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == as_json(f"{name}.py")
    data = json.loads(render_check_json(findings(name)))
    assert [f["message"] for f in data["findings"]] == messages


def test_hostile_sarif_validates_against_the_schema() -> None:
    import jsonschema

    schema = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    for name in HOSTILE_NAMES:
        jsonschema.validate(json.loads(render_check_sarif(findings(name), version="0.1")), schema)


# -- impact: text, rich, JSON


def impact_tree(name: str) -> ImpactNode:
    cycle = ImpactNode("cycle", f"post_save({name})", detail=name)
    effect = ImpactNode("effect", f"{name}.save()", f"{name}.py", 4, detail=f"post_save({name})", children=(cycle,))
    receiver = ImpactNode("receiver", f"app.r:{name}", f"{name}.py", 3, detail=name, in_cycle=True, children=(effect,))
    depth = ImpactNode("depth", f"cut {name}")
    signal = ImpactNode("signal", f"post_save({name})", children=(receiver, depth))
    return ImpactNode("root", f"{name}: create", children=(signal, ImpactNode("signal", f"pre_save({name})")))


IMPACT_RENDERERS: dict[str, Callable[[ImpactNode], str]] = {
    "text": render_impact_text,
    "rich": lambda t: render_impact_rich(t, color=False, width=400),
    "rich-color": lambda t: render_impact_rich(t, color=True, width=400),
}


@pytest.mark.parametrize("renderer", sorted(IMPACT_RENDERERS))
@settings(max_examples=60, deadline=None)
@given(name=names)
def test_impact_renderers_show_names_escaped(renderer: str, name: str) -> None:
    render = IMPACT_RENDERERS[renderer]
    out = render(impact_tree(name))
    no_raw_controls(out, color=renderer.endswith("-color"))
    assert out == render(impact_tree(visible(name)))
    assert len(out.splitlines()) == 7  # one line per node
    assert f"app.r:{visible(name)}" in _SGR.sub("", out)


@settings(max_examples=60, deadline=None)
@given(names)
def test_impact_json_keeps_names(name: str) -> None:
    out = render_impact_json(impact_tree(name), model=name, action="create")
    # data, not display: JSON keeps every name as it is; C0 controls, which JSON forbids raw, escaped
    assert not [ch for ch in out if ch < " " and ch != "\n"]
    data = json.loads(out)
    assert data["model"] == name and data["tree"] == impact_tree(name).to_dict()


@settings(max_examples=60, deadline=None)
@given(names)
def test_graph_json_keeps_names(name: str) -> None:
    out = render_graph_json(hostile_graph(name))
    assert not [ch for ch in out if ch < " " and ch != "\n"]
    data = json.loads(out)
    # Two lone surrogates side by side ("\ud800\udcff") read back as the one character they spell in
    # JSON, from any writer: compare with what JSON can hold.
    expected = sorted(json.loads(json.dumps(node)) for node in hostile_graph(name).nodes)
    assert sorted(n["id"] for n in data["nodes"]) == expected


# -- trace: tree and summary, plain and rich; DOT; JSON


def trace_log(name: str) -> TraceLog:
    def event(id: int, parent: int | None, kind: str, **kw: Any) -> TraceEvent:
        fields: dict[str, Any] = {"signal": f"app.signals:{name}", "sender": name, "receiver": None, **kw}
        return TraceEvent(id, parent, kind, method="send_robust", start_ns=id, duration_ns=10**6, thread=1, **fields)

    return TraceLog(
        events=(
            event(1, None, "send"),
            event(2, 1, "call", receiver=f"app.r:{name}", outcome="error", error=f"ValueError: {name}"),
            event(3, 2, "send", sender=None),
            event(4, 3, "call", receiver=f"app.r:{name}"),
        )
    )


TRACE_RENDERERS: dict[str, Callable[[TraceLog], str]] = {
    "plain-tree": lambda log: trace_render.render_plain_tree(log, slow_ms=0.5),
    "plain-summary": trace_render.render_plain_summary,
    "rich-tree": lambda log: trace_render.render_rich_tree(log, slow_ms=0.5, color=False, width=400),
    "rich-summary": lambda log: trace_render.render_rich_summary(log, color=False, width=400),
    "rich-tree-color": lambda log: trace_render.render_rich_tree(log, slow_ms=0.5, color=True, width=400),
    "rich-summary-color": lambda log: trace_render.render_rich_summary(log, color=True, width=400),
}


@pytest.mark.parametrize("renderer", sorted(TRACE_RENDERERS))
@settings(max_examples=60, deadline=None)
@given(name=names)
def test_trace_renderers_show_names_escaped(renderer: str, name: str) -> None:
    render = TRACE_RENDERERS[renderer]
    out = render(trace_log(name))
    no_raw_controls(out, color=renderer.endswith("-color"))
    assert out == render(trace_log(visible(name)))
    assert f"app.r:{visible(name)}" in _SGR.sub("", out)


def test_trace_names_hold_no_markup() -> None:
    name = "[bold]x[/bold]"
    for renderer in ("rich-tree", "rich-summary"):
        out = TRACE_RENDERERS[renderer](trace_log(name))
        assert f"app.r:{name}" in out


@settings(max_examples=60, deadline=None)
@given(names)
def test_trace_dot_and_json_stay_valid(name: str) -> None:
    dot = trace_render.render_trace_dot(trace_log(name))
    no_raw_controls(dot)
    (parsed,) = pydot.graph_from_dot_data(dot)
    shown = {unquote_dot(n.get_name()) for n in parsed.get_nodes() if n.get_name() not in ("node", "graph", "edge")}
    assert f"app.r:{visible(name)}" in shown
    data = json.loads(trace_render.render_trace_json(trace_log(name)))
    assert [e["sender"] for e in data["events"]] == [as_json(name), as_json(name), None, as_json(name)]


# -- snapshot diff


def changes(name: str) -> list[Change]:
    return [
        Change(f"s:{name}", name, f"app.r:{name}", name, "added"),
        Change(f"s:{name}", None, f"app.r:{name}", None, "changed", "weak: strong → weak"),
    ]


@settings(max_examples=100, deadline=None)
@given(names)
def test_snapshot_diff_shows_names_escaped(name: str) -> None:
    out = render_diff(changes(name))
    no_raw_controls(out)
    assert out == render_diff(changes(visible(name)))
    assert f"app.r:{visible(name)}" in out and len(out.splitlines()) == 4


# -- graph: DOT (labels, clusters, the header comment), Mermaid, GraphML


def hostile_graph(name: str) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph()
    graph.add_node(f"signal:{name}", kind="signal", label=name, path=name)
    graph.add_node(f"sender:{name}", kind="sender", label=name, app=name)
    graph.add_node(f"receiver:{name}", kind="receiver", label=name, file=f"{name}.py", line=3, app=name)
    graph.add_node(f"unresolved:{name}", kind="unresolved", label=name)
    graph.add_edge(f"sender:{name}", f"signal:{name}", kind="sends")
    graph.add_edge(f"signal:{name}", f"receiver:{name}", kind="connected", sender=name, position=0, note=None)
    graph.add_edge(f"receiver:{name}", f"signal:{name}", kind="triggers", effect=name, sender=name)
    graph.add_edge(f"receiver:{name}", f"unresolved:{name}", kind="unresolved", text=name)
    return graph


def unquote_dot(raw: str) -> str:
    assert raw.startswith('"') and raw.endswith('"'), raw
    return raw[1:-1].replace('\\"', '"').replace("\\\\", "\x00").replace("\\n", "\n").replace("\x00", "\\")


def dot_labels(text: str) -> list[str]:
    (parsed,) = pydot.graph_from_dot_data(text)
    nodes = [*parsed.get_nodes()]
    for sub in parsed.get_subgraphs():
        nodes += sub.get_nodes()
    return sorted(unquote_dot(n.get_label()) for n in nodes if n.get_name() not in ("node", "graph", "edge"))


@settings(max_examples=100, deadline=None)
@given(names)
def test_dot_shows_names_escaped_in_labels_clusters_and_header(name: str) -> None:
    text = render_dot(hostile_graph(name), cluster_by_app=True, title=name)
    no_raw_controls(text)
    lines = text.split("\n")
    assert lines[0] == f"// {visible(name)}"
    assert lines[1] == "digraph signalscope {"
    assert text == render_dot(hostile_graph(visible(name)), cluster_by_app=True, title=visible(name))
    shown = visible(name)
    # a receiver's label is two lines (name, file:line): the only line break is the renderer's own
    assert dot_labels(text) == sorted([shown, shown, f"{shown}\n{shown}.py:3", f"unresolved: {shown}"])


@settings(max_examples=100, deadline=None)
@given(names)
def test_mermaid_shows_names_escaped(name: str) -> None:
    text = render_mermaid(hostile_graph(name))
    no_raw_controls(text)
    assert text == render_mermaid(hostile_graph(visible(name)))
    assert len(text.splitlines()) == 1 + 4 + 4  # the header, one line per node and per edge


def graphml_values(text: str) -> tuple[list[str], list[str]]:
    root = ElementTree.fromstring(text)  # raises on anything that is not well-formed XML
    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    ids = sorted(node.attrib["id"] for node in root.iterfind(".//g:node", ns))
    values = sorted(data.text or "" for data in root.iterfind(".//g:data", ns))
    return ids, values


@settings(max_examples=200, deadline=None)
@given(names)
def test_graphml_is_well_formed_and_shows_names_escaped(name: str) -> None:
    text = render_graphml(hostile_graph(name))
    no_raw_controls(text)
    ids, values = graphml_values(text)
    shown = visible(name)
    assert ids == sorted(f"{kind}:{shown}" for kind in ("signal", "sender", "receiver", "unresolved"))
    expected, _ = graphml_values(render_graphml(hostile_graph(shown)))
    assert ids == expected
    assert values == graphml_values(render_graphml(hostile_graph(shown)))[1]
    assert values.count(shown) >= 8  # labels, apps, the path, senders, the effect, the unresolved text


@pytest.mark.parametrize("name", ["nul\x00", "soh\x01", "vt\x0b", "ffff\uffff", "lone\ud800", "cr\r"])
def test_graphml_characters_xml_forbids(name: str) -> None:
    text = render_graphml(hostile_graph(name))
    ids, values = graphml_values(text)
    assert f"signal:{visible(name)}" in ids and visible(name) in values


def test_dot_header_is_fixed_text_without_the_command_line() -> None:
    # STYLE section 2: no argv in output. `command` is still accepted, for one release, and ignored.
    command = "signalscope graph --settings 'evil\nsettings' --project /home/me/site --model shop.Order"
    text = render_dot(nx.MultiDiGraph(), command=command)
    assert text == render_dot(nx.MultiDiGraph())
    assert text.split("\n")[:2] == ["// signal dependency graph, made by signalscope", "digraph signalscope {"]
    assert "evil" not in text and "/home/me" not in text
    pydot.graph_from_dot_data(text)


def test_error_messages_show_names_escaped() -> None:
    # An unknown name is quoted back in the error, and a project's error text goes to stderr too.
    import sys as _sys

    from helpers import FIXTURES, run

    result = run(
        [
            _sys.executable,
            "-m",
            "signalscope",
            "list",
            "--project",
            str(FIXTURES / "shop"),
            "--sender",
            "auth.\x1b[2JUser",
        ]
    )
    assert result.returncode == 2
    assert "\x1b" not in result.stderr
    assert "auth.\\x1b[2JUser" in result.stderr

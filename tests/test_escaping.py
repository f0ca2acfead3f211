"""Hostile names in every graph format: hypothesis-generated labels must survive intact."""

from __future__ import annotations

import shutil
import subprocess

import networkx as nx
import pydot
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signalscope.render.dot import dot_quote, printable, render_dot
from signalscope.render.mermaid import mermaid_quote, render_mermaid

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
    # control characters and line separators other than \n are shown as spaces
    assert pydot_label(render_dot(one_node_graph(label))) == printable(label)


@pytest.mark.parametrize("label", HOSTILE)
def test_hostile_labels_in_dot_parse_and_render(label: str) -> None:
    text = render_dot(one_node_graph(label))
    assert pydot_label(text) == label
    program = shutil.which("dot")
    if program:
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
    assert dot_quote("two\nlines") == '"two\\nlines"'
    assert dot_quote("bell\x07") == '"bell "'

"""The HTML report: one self-contained page (CSS, script and data inline; no network to view it).

Pure: the registry, graph, Graphviz's SVG, findings, receivers' source
excerpts and an optional trace in, HTML out. Every text that comes from the
project is escaped; the embedded JSON escapes ``<``, ``>`` and ``&`` so no
name can close the script element.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from importlib.resources import files
from typing import Any

from ..model import SignalMap
from ..model.check import RULES, Finding
from ..model.escaping import escape_controls
from ..model.jsonio import dump_json_line
from ..model.trace import TraceEvent, TraceLog, TraceTree
from .dot import dot_node_ids
from .trace import label

__all__ = ["render_report"]


def escape(text: str) -> str:
    """`text` for HTML: markup escaped, and control characters shown (a name's ESC never reaches the page)."""
    return html.escape(escape_controls(text))


def _escape_lines(text: str) -> str:
    """As escape, for text of several lines (source, a rendered tree): the line breaks stay."""
    return "\n".join(escape(line.replace("\t", "    ")) for line in text.split("\n"))


def _asset(name: str) -> str:
    return files("signalscope.render").joinpath("report_assets", name).read_text(encoding="utf-8")


def _json_for_script(data: Any) -> str:
    text = dump_json_line(data)[:-1]
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _svg_body(svg: str) -> str:
    """Graphviz's SVG without its XML prolog and doctype, to inline in HTML."""
    start = svg.find("<svg")
    return svg[start:] if start != -1 else ""


def render_report(
    smap: SignalMap,
    graph: Any,
    svg: str,
    findings: list[Finding],
    sources: dict[str, str],
    *,
    impacts: dict[str, dict[str, Any]] | None = None,
    log: TraceLog | None = None,
    title: str = "signalscope report",
) -> str:
    """Return the report's HTML for a project: findings, the graph, every signal's receivers, a trace."""
    ids = dot_node_ids(graph)
    nodes = {}
    apps = set()
    for name, node_id in ids.items():
        info = graph.nodes[name]
        shown = str(info.get("label") or name)
        app = str(info.get("app") or "")
        if app:
            apps.add(app)
        node = {
            "label": shown,
            "kind": info.get("kind", ""),
            "app": app,
            "name": name,
            "search": f"{shown} {name}".lower(),
        }
        if info.get("kind") == "state":
            node["sender"] = info.get("sender")
        nodes[node_id] = node
    receiver_apps = {
        str(info.get("label") or name): str(info.get("app") or "")
        for name, info in graph.nodes(data=True)
        if info.get("kind") == "receiver"
    }
    data = {"nodes": nodes, "down": _walked_edges(graph, ids)}

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title>",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<style>{_asset('report.css')}</style></head><body>",
        f"<header><h1>{escape(title)}</h1><p>signalscope {escape(smap.signalscope)} · Django "
        f"{escape(smap.django)} · settings {escape(smap.settings)} · {len(smap.signals)} signals, "
        f"{len(smap.connections)} receivers, {len(findings)} findings</p></header><main>",
        '<div class="toolbar"><label>Search <input id="search" type="search" '
        'placeholder="receiver, signal or model"></label>',
        '<label>App <select id="app"><option value="">all apps</option>'
        + "".join(f'<option value="{escape(a)}">{escape(a)}</option>' for a in sorted(apps))
        + "</select></label></div>",
        _findings_section(findings),
        '<h2 id="graph-title">Dependency graph</h2>',
        '<p class="muted">Scroll to zoom, drag to move; click a node to light up what it sets off (yellow) '
        'and what sets it off (blue); double-click to clear. <span id="focus-label"></span></p>',
        f'<div id="graph">{_svg_body(svg)}</div>',
        _impact_section(impacts or {}),
        _signals_section(smap, sources, receiver_apps),
    ]
    if log is not None:
        parts.append(_trace_section(log))
    parts += [
        f'<script type="application/json" id="signalscope-data">{_json_for_script(data)}</script>',
        f"<script>{_asset('report.js')}</script>",
        "</main></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _walked_edges(graph: Any, ids: dict[str, str]) -> dict[str, list[list[str | None]]]:
    """The edges the page's clicks walk: tail -> [head, the sender the edge holds for (None: every sender)].

    The script walks them as graph.queries' walk_down and walk_up do: a
    receiver is left only by the edges that hold for the sender of the state
    it was entered from. A dead or pending connection runs nothing and is
    left out.
    """
    found: dict[str, set[tuple[str, str | None]]] = defaultdict(set)
    for tail, head, data in graph.edges(data=True):
        if data["kind"] == "connected" and (data.get("dead") or data.get("pending")):
            continue
        holds = data.get("sender") if data["kind"] in ("triggers", "writes", "unresolved") else None
        found[ids[tail]].add((ids[head], holds))
    return {
        tail: [[head, holds] for head, holds in sorted(heads, key=lambda e: (e[0], e[1] is not None, e[1] or ""))]
        for tail, heads in sorted(found.items())
    }


def _findings_section(findings: list[Finding]) -> str:
    if not findings:
        return "<h2>Findings</h2><p>No signal problems found.</p>"
    rows = []
    for f in findings:
        where = f"{f.file}:{f.line}" if f.file and f.line else (f.file or "-")
        rows.append(
            f'<tr data-search="{escape(f"{f.rule} {f.message} {where}".lower())}">'
            f'<td><span class="{f.severity}">{escape(f.rule)}</span></td><td>{escape(RULES[f.rule].title)}</td>'
            f"<td><code>{escape(where)}</code></td><td>{escape(f.message)}</td></tr>"
        )
    return (
        f"<h2>Findings ({len(findings)})</h2><table><thead><tr><th>rule</th><th>what</th><th>where</th>"
        f"<th>message</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _impact_section(impacts: dict[str, dict[str, Any]]) -> str:
    """Per model: what a create, save or delete sets off (`signalscope impact`), one shown at a time."""
    if not impacts:
        return ""
    from .impact import render_impact_text

    actions = sorted({action for trees in impacts.values() for action in trees})
    models = sorted(impacts)
    options = "".join(f'<option value="{escape(m)}">{escape(m)}</option>' for m in models)
    choices = "".join(f'<option value="{escape(a)}">{escape(a)}</option>' for a in actions)
    trees = "".join(
        f'<pre class="impact" data-model="{escape(model)}" data-action="{escape(action)}"'
        f"{'' if (model, action) == (models[0], actions[0]) else ' hidden'}>"
        f"{_escape_lines(render_impact_text(tree))}</pre>"
        for model in models
        for action, tree in sorted(impacts[model].items())
    )
    return (
        "<h2>What a write sets off</h2>"
        '<div class="toolbar"><label>Model <select id="impact-model">'
        f'{options}</select></label><label>Action <select id="impact-action">{choices}</select></label></div>'
        f'<div id="impacts">{trees}</div>'
    )


def _signals_section(smap: SignalMap, sources: dict[str, str], receiver_apps: dict[str, str]) -> str:
    by_signal: dict[str, list[Any]] = defaultdict(list)
    for conn in smap.connections:
        by_signal[conn.signal].append(conn)
    blocks = ["<h2>Signals and their receivers</h2>"]
    for signal in smap.signals:
        conns = by_signal.get(signal.path, [])
        rows = []
        for conn in conns:
            r = conn.receiver
            where = f"{r.file}:{r.line}" if r.file and r.line else "-"
            flags = " ".join(
                word
                for word, on in (
                    ("async", r.is_async),
                    ("strong", not conn.is_weak),
                    ("dead", conn.is_dead),
                    ("pending", conn.is_pending),
                )
                if on
            )
            sender = conn.sender.label if conn.sender.kind != "any" else "any sender"
            source = sources.get(r.path)
            excerpt = f'<pre class="source">{_escape_lines(source)}</pre>' if source else ""
            app = receiver_apps.get(_short(r.path), "")
            search = f"{signal.name} {signal.path} {sender} {r.path}".lower()
            rows.append(
                f'<tr data-search="{escape(search)}" data-app="{escape(app)}"><td>{conn.position + 1}</td>'
                f"<td>{escape(sender or '')}</td><td><code>{escape(r.path)}</code>{excerpt}</td>"
                f'<td><code>{escape(where)}</code></td><td class="flags">{escape(flags)}</td></tr>'
            )
        body = (
            "<table><thead><tr><th>#</th><th>sender</th><th>receiver</th><th>where</th><th></th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
            if rows
            else '<p class="muted">No receivers.</p>'
        )
        search = f"{signal.name} {signal.path} " + " ".join(c.receiver.path for c in conns)
        blocks.append(
            f'<details class="signal" data-search="{escape(search.lower())}"{" open" if rows else ""}>'
            f'<summary>{escape(signal.name)} <span class="muted">{escape(signal.path)} · '
            f"{len(conns)} receiver{'s' if len(conns) != 1 else ''}</span></summary>{body}</details>"
        )
    return "".join(blocks)


def _short(path: str) -> str:
    return re.sub(r"^.*:", "", path)


def _trace_section(log: TraceLog) -> str:
    tree = log.tree(keep=lambda event: event.outcome != "unheard")

    def item(event: TraceEvent) -> str:
        ms = event.duration_ns / 1e6
        name = escape(label(event))
        name = f"<strong>{name}</strong>" if event.kind == "send" else f"<code>{name}</code>"
        timing = f'<span class="{"slow" if event.kind == "call" and ms >= 10 else "muted"}">{ms:.3f} ms</span>'
        error = f' <span class="error">raised {escape(event.error)}</span>' if event.error else ""
        below = tree.children(event.id)
        nested = f'<ul class="trace">{"".join(item(c) for c in below)}</ul>' if below else ""
        return f"<li>{name} {timing}{error}{nested}</li>"

    roots = tree.roots
    sends = sum(1 for e in log.events if e.kind == "send")
    more = f'<p class="muted">{len(roots) - 500} more top-level sends not shown.</p>' if len(roots) > 500 else ""
    return (
        f'<h2>Trace ({sends} sends)</h2><ul class="trace">{"".join(item(e) for e in roots[:500])}</ul>{more}'
        + _timeline(roots[:50], tree)
    )


def _timeline(roots: tuple[TraceEvent, ...], tree: TraceTree) -> str:
    """A flame-style timeline of each outermost send that ran receivers: bars placed by time, stacked by depth."""
    blocks = []
    for root in roots:
        if not tree.children(root.id):
            continue
        span = max(root.duration_ns, 1)
        rows: list[str] = []
        deepest = 0
        todo = [(root, 0)]
        while todo:
            event, depth = todo.pop()
            deepest = max(deepest, depth)
            left = (event.start_ns - root.start_ns) / span * 100
            width = max(event.duration_ns / span * 100, 0.3)
            name = label(event)
            tip = f"{name} {event.duration_ns / 1e6:.3f} ms"
            rows.append(
                f'<div class="bar {event.kind}" style="left:{left:.3f}%;width:{width:.3f}%;top:{depth * 20}px" '
                f'title="{escape(tip)}">{escape(_short(name) if event.kind == "call" else name)}</div>'
            )
            todo.extend((child, depth + 1) for child in tree.children(event.id))
        blocks.append(f'<div class="timeline" style="height:{20 * (deepest + 1)}px">{"".join(rows)}</div>')
    return "<h3>Timeline</h3>" + "".join(blocks) if blocks else ""

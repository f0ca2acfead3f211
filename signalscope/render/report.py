"""The HTML report: one self-contained page (CSS, script, data and Graphviz inline; no network to view it).

Pure: the registry, graph, findings, receivers' source and an optional
trace in, HTML out. The graph goes in as DOT statements (render.dot's, so it
looks as `graph -o x.svg` does) and the page lays out the part it shows with
Graphviz compiled to WebAssembly (report_assets/graphviz-wasm.js, vendored:
see graphviz-wasm.NOTICE), so neither writing nor viewing a report needs
Graphviz installed. Every text that comes from the project is escaped; the
embedded JSON escapes ``<``, ``>`` and ``&`` so no name can close the script
element.
"""

from __future__ import annotations

import base64
import gzip
import html
import json
import re
from collections import defaultdict
from importlib.resources import files
from typing import Any

from ..model import SignalMap
from ..model.check import RULES, Finding
from ..model.escaping import escape_controls
from ..model.jsonio import dump_json_line
from ..model.trace import TraceEvent, TraceExcerpt, TraceLog, TraceTree, excerpt_of
from .dot import dot_edges, dot_node_attrs, dot_node_ids, dot_preamble
from .trace import label

__all__ = ["LAYOUT_LIMIT", "render_report", "unpack"]

#: The most nodes the page lays out without being asked (more take seconds, and can't be read at once).
LAYOUT_LIMIT = 600
#: Above this many receivers, the signals' lists start closed (their source would make the page very long).
OPEN_RECEIVERS = 60
#: The timeline shows at most this many events of each outermost send.
TIMELINE_ROWS = 200


def escape(text: str) -> str:
    """`text` for HTML: markup escaped, and control characters shown (a name's ESC never reaches the page)."""
    return html.escape(escape_controls(text))


def _escape_lines(text: str) -> str:
    """As escape, for text of several lines (source, a rendered tree): the line breaks stay."""
    return "\n".join(escape(line.replace("\t", "    ")) for line in text.split("\n"))


def _asset(name: str) -> str:
    return files("signalscope.render").joinpath("report_assets", name).read_text(encoding="utf-8")


def _packed(data: Any) -> str:
    """`data` as JSON, gzipped (no timestamp: byte-stable) and in base64, which no text can end a script in.

    The page unpacks it with the browser's DecompressionStream: a tenth of
    the size (the impact trees of 2,000 receivers: 7 MB of text, 0.2 MB).
    """
    raw = dump_json_line(data).encode("utf-8")
    return base64.b64encode(gzip.compress(raw, compresslevel=6, mtime=0)).decode("ascii")


def unpack(text: str) -> Any:
    """Read back what `_packed` wrote (for tests and tools that read a report)."""
    return json.loads(gzip.decompress(base64.b64decode(text)))


def _graphviz_module() -> str:
    """The vendored Graphviz module as an inline module script's text: it hands its Graphviz class to the page.

    The file is @hpcc-js/wasm-graphviz's dist/index.js, unchanged: an ES module
    whose WebAssembly is inline. Its closing ``export {...}`` becomes a call of
    the page's ``signalscopeGraphvizLoaded`` with the class it exports as
    Graphviz, and the source-map comment goes (the map is not shipped).
    """
    text = _asset("graphviz-wasm.js")
    found = re.search(r"export\s*\{([^}]*)\};?\s*(//# sourceMappingURL=\S*\s*)?$", text)
    names = {}
    for part in found.group(1).split(",") if found else ():
        local, _, exported = part.strip().partition(" as ")
        names[exported or local] = local
    if found is None or "Graphviz" not in names or re.search(r"</script|<!--", text, re.IGNORECASE):
        raise ValueError("report_assets/graphviz-wasm.js is not the module graphviz-wasm.NOTICE describes")
    return text[: found.start()] + f"window.signalscopeGraphvizLoaded({names['Graphviz']});\n"


def _is_django(info: dict[str, Any]) -> bool:
    """Whether a node is one of Django's own receivers (model.select's hide_django: defined inside Django)."""
    module = str(info.get("module") or "")
    return info.get("kind") == "receiver" and (module == "django" or module.startswith("django."))


def render_report(
    smap: SignalMap,
    graph: Any,
    findings: list[Finding],
    sources: dict[str, str],
    *,
    impacts: dict[str, dict[str, Any]] | None = None,
    log: TraceLog | TraceExcerpt | None = None,
    title: str = "signalscope report",
) -> str:
    """Return the report's HTML for a project: a trace if given, findings, the graph, impacts, every signal."""
    ids = dot_node_ids(graph)
    nodes = {}
    apps = set()
    for name, node_id in ids.items():
        info = graph.nodes[name]
        shown = str(info.get("label") or name)
        app = str(info.get("app") or "")
        if app:
            apps.add(app)
        node = {"label": shown, "kind": info.get("kind", ""), "app": app, "name": name, "dot": dot_node_attrs(info)}
        if info.get("kind") == "state":
            node["sender"] = info.get("sender")
        if _is_django(info):
            node["django"] = True
        nodes[node_id] = node
    receiver_apps = {
        str(info.get("label") or name): str(info.get("app") or "")
        for name, info in graph.nodes(data=True)
        if info.get("kind") == "receiver"
    }
    data = {
        "nodes": nodes,
        "down": _walked_edges(graph, ids),
        "edges": [list(edge) for edge in dot_edges(graph, ids)],
        "preamble": dot_preamble(),
        "limit": LAYOUT_LIMIT,
    }
    sections: list[tuple[str, str, str]] = []  # (id, title in the contents, html)
    if log is not None:
        excerpt = log if isinstance(log, TraceExcerpt) else excerpt_of(log, limit=TRACE_ENTRIES, keep=shown_in_trace)
        sections.append(("trace", f"Trace ({excerpt.sends} sends)", _trace_section(excerpt)))
    sections.append(("findings", f"Findings ({len(findings)})", _findings_section(findings)))
    sections.append(("dependencies", "Dependency graph", _graph_section(apps)))
    if impacts:
        sections.append(("impacts", "What a write sets off", _impact_section(impacts)))
    signals = _signals_section(smap, sources, receiver_apps)
    sections.append(("signals", f"Signals and their receivers ({len(smap.connections)})", signals))
    contents = "".join(f'<li><a href="#{key}">{escape(name)}</a></li>' for key, name, _ in sections)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title>",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<style>{_asset('report.css')}</style></head><body>",
        f"<header><h1>{escape(title)}</h1><p>signalscope {escape(smap.signalscope)} · Django "
        f"{escape(smap.django)} · settings {escape(smap.settings)} · {len(smap.signals)} signals, "
        f"{len(smap.connections)} receivers, {len(findings)} findings</p></header>",
        f'<nav id="contents"><ul>{contents}</ul>',
        '<div class="toolbar"><label>Search <input id="search" type="search" '
        'placeholder="receiver, signal or model"></label>',
        '<label>App <select id="app"><option value="">all apps</option>'
        + "".join(f'<option value="{escape(a)}">{escape(a)}</option>' for a in sorted(apps))
        + "</select></label></div></nav><main>",
        *(f'<section id="{key}">{body}</section>' for key, _, body in sections),
        f'<script type="application/gzip+base64" id="signalscope-data">{_packed(data)}</script>',
        f'<script type="application/gzip+base64" id="signalscope-impacts">{_packed(_impact_texts(impacts))}</script>',
        f"<script>{_asset('report.js')}</script>",
        f'<script type="module">{_graphviz_module()}</script>',
        "</main></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _graph_section(apps: set[str]) -> str:
    """The graph's heading, its controls and its empty box: the page's script lays the chosen part out."""
    choices = "".join(f'<option value="{escape(a)}">{escape(a)}</option>' for a in sorted(apps))
    return (
        '<h2 id="graph-title">Dependency graph</h2>'
        '<p class="muted">Scroll to zoom, drag to move; click a node to light up what it sets off (yellow) '
        "and what sets it off (blue); double-click to clear. "
        '<span id="focus-label"></span></p>'
        '<div class="toolbar"><label>Draw <select id="graph-view"><option value="">all apps</option>'
        f"{choices}</select></label>"
        '<label><input type="checkbox" id="graph-django"> Django\'s own receivers, one by one</label>'
        '<button type="button" id="graph-fit">Fit to the window</button>'
        '<button type="button" id="graph-around" disabled>Draw only the clicked node\'s cascade</button>'
        '<span id="graph-status" class="muted">Laying out the graph with Graphviz…</span></div>'
        '<div id="graph"><noscript>The graph is laid out by the page\'s script: allow scripts to see it.'
        "</noscript></div>"
    )


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
        f'<h2>Findings ({len(findings)})</h2><div class="scroll"><table><thead><tr><th>rule</th><th>what</th>'
        f"<th>where</th><th>message</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _impact_section(impacts: dict[str, dict[str, Any]]) -> str:
    """Per model: what a create, save or delete sets off (`signalscope impact`), one shown at a time.

    The trees' text is in the packed impacts script (_impact_texts): the page
    shows the one chosen.
    """
    actions = sorted({action for trees in impacts.values() for action in trees})
    models = sorted(impacts)
    options = "".join(f'<option value="{escape(m)}">{escape(m)}</option>' for m in models)
    choices = "".join(f'<option value="{escape(a)}">{escape(a)}</option>' for a in actions)
    return (
        "<h2>What a write sets off</h2>"
        '<div class="toolbar"><label>Model <select id="impact-model">'
        f'{options}</select></label><label>Action <select id="impact-action">{choices}</select></label></div>'
        '<pre class="impact" id="impact-tree"></pre>'
    )


def _impact_texts(impacts: dict[str, dict[str, Any]] | None) -> dict[str, dict[str, str]]:
    """Each model's and action's impact tree as text, control characters shown escaped (the page sets it as text)."""
    from .impact import render_impact_text

    return {
        model: {
            action: "\n".join(
                escape_controls(line.replace("\t", "    ")) for line in render_impact_text(tree).split("\n")
            )
            for action, tree in sorted(trees.items())
        }
        for model, trees in sorted((impacts or {}).items())
    }


def _signals_section(smap: SignalMap, sources: dict[str, str], receiver_apps: dict[str, str]) -> str:
    by_signal: dict[str, list[Any]] = defaultdict(list)
    for conn in smap.connections:
        by_signal[conn.signal].append(conn)
    blocks = ["<h2>Signals and their receivers</h2>"]
    is_open = len(smap.connections) <= OPEN_RECEIVERS  # more: each list opens on a click, or on a search
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
            f'<details class="signal" data-search="{escape(search.lower())}"{" open" if rows and is_open else ""}>'
            f'<summary>{escape(signal.name)} <span class="muted">{escape(signal.path)} · '
            f"{len(conns)} receiver{'s' if len(conns) != 1 else ''}</span></summary>{body}</details>"
        )
    return "".join(blocks)


def _short(path: str) -> str:
    return re.sub(r"^.*:", "", path)


#: The trace section shows the first TRACE_ENTRIES top-level sends (and what they set off), and a
#: timeline of the first TIMELINE_ENTRIES of them: what `report --trace` reads of a trace (api.read_trace_excerpt).
TRACE_ENTRIES = 500
TIMELINE_ENTRIES = 50


def shown_in_trace(event: TraceEvent) -> bool:
    """Whether the trace section shows `event`: not a send that no receiver heard."""
    return event.outcome != "unheard"


def _trace_section(excerpt: TraceExcerpt) -> str:
    tree = excerpt.tree()

    def item(event: TraceEvent) -> str:
        ms = event.duration_ns / 1e6
        name = escape(label(event))
        name = f"<strong>{name}</strong>" if event.kind == "send" else f"<code>{name}</code>"
        timing = f'<span class="{"slow" if event.kind == "call" and ms >= 10 else "muted"}">{ms:.3f} ms</span>'
        error = f' <span class="error">raised {escape(event.error)}</span>' if event.error else ""
        below = tree.children(event.id)
        nested = f'<ul class="trace">{"".join(item(c) for c in below)}</ul>' if below else ""
        return f"<li>{name} {timing}{error}{nested}</li>"

    roots = tree.roots[: excerpt.limit]
    hidden = excerpt.roots - len(roots)
    more = f'<p class="muted">{hidden} more top-level sends not shown.</p>' if hidden > 0 else ""
    return (
        f'<h2>Trace ({excerpt.sends} sends)</h2><ul class="trace">{"".join(item(e) for e in roots)}</ul>{more}'
        + _timeline(roots[:TIMELINE_ENTRIES], tree)
    )


def _timeline(roots: tuple[TraceEvent, ...], tree: TraceTree) -> str:
    """A waterfall of each outermost send that ran receivers: one row per send or call, its bar placed by time.

    Each row's name stands in a column of its own, indented by depth, so a
    short call's name stays whole however narrow its bar.
    """
    blocks = []
    for root in roots:
        if not tree.children(root.id):
            continue
        span = max(root.duration_ns, 1)
        rows: list[str] = []
        todo = [(root, 0)]
        shown = 0
        while todo:
            event, depth = todo.pop()
            shown += 1
            if shown > TIMELINE_ROWS:
                continue
            left = (event.start_ns - root.start_ns) / span * 100
            width = max(event.duration_ns / span * 100, 0.3)
            name = label(event)
            shown_name = _short(name) if event.kind == "call" else name
            ms = f"{event.duration_ns / 1e6:.3f} ms"
            rows.append(
                f'<div class="row"><div class="name" style="padding-left:{depth * 14 + 4}px" '
                f'title="{escape(name)}">{escape(shown_name)}</div><div class="track"><div class="bar {event.kind}" '
                f'style="left:{left:.3f}%;width:{width:.3f}%" title="{escape(f"{name} {ms}")}"></div></div>'
                f'<div class="ms">{ms}</div></div>'
            )
            todo.extend((child, depth + 1) for child in reversed(tree.children(event.id)))
        more = f'<p class="muted">{shown - TIMELINE_ROWS} more not shown.</p>' if shown > TIMELINE_ROWS else ""
        blocks.append(f'<div class="timeline">{"".join(rows)}</div>{more}')
    return "<h3>Timeline</h3>" + "".join(blocks) if blocks else ""

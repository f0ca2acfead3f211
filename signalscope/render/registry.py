"""The one table of output formats: (kind, format) -> renderer, file extensions, default files, --help lists."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import UnknownFormat

if TYPE_CHECKING:
    import networkx as nx

    from ..model import SignalMap
    from ..model.cascade import ImpactNode
    from ..model.check import Finding
    from ..model.results import ReportData
    from ..model.snapshot import Change
    from ..model.trace import AnyLog

__all__ = [
    "KINDS",
    "OPTIONS",
    "SUITS",
    "Format",
    "Options",
    "choose_format",
    "extension_map",
    "format_help",
    "format_mismatch",
    "formats",
    "get",
    "render",
    "render_chunks",
]

#: What can be rendered, each kind with its own data (a model record) and formats.
KINDS = ("list", "graph", "impact", "check", "trace", "snapshot", "diff", "report")


@dataclass(frozen=True, slots=True)
class Options:
    """What a renderer is given besides its data: the terminal's, and its kind's `OPTIONS` (defaults filled in)."""

    color: bool
    width: int | None
    of_kind: dict[str, Any]

    def __getitem__(self, name: str) -> Any:
        return self.of_kind[name]


@dataclass(frozen=True, slots=True)
class Format:
    """One output format of one kind of data.

    `renderer` is called as ``renderer(data, options)`` with an Options.
    `extensions` are the file name endings that choose it (only graph has
    any); `is_binary` says the renderer returns bytes (svg and png, drawn by
    Graphviz), not str; `default_file` is where the CLI writes it when no -o
    is given (None: the terminal). `is_streamed` says the renderer returns
    an iterator of str chunks, to be written as they come (a trace's JSON,
    made a chunk of events at a time): `render` joins them.
    """

    kind: str
    name: str
    extensions: tuple[str, ...]
    is_binary: bool
    help: str
    renderer: Callable[[Any, Options], str | bytes | Iterator[str]]
    default_file: str | None = None
    is_streamed: bool = False


#: The options each kind takes, with their defaults; every format of a kind takes them all, so a
#: caller can pass the same options whichever format was chosen.
OPTIONS: dict[str, dict[str, Any]] = {
    "graph": {"rankdir": "LR", "cluster_by_app": False},
    "impact": {"model": None, "action": None, "signal": None},
    "trace": {
        "slow_ms": None,
        "unheard": False,
        "pid": 1,
        "limit": 500,
        "group": None,
        "footer": True,
        "shown_live": False,
    },
}

# Every renderer is imported inside its entry, so that importing this module
# imports neither rich nor networkx (nor Django, which the render package never
# imports at all).


def _list_table(smap: SignalMap, o: Options) -> str:
    from .text import render_plain_table, render_rich_table

    return render_rich_table(smap, color=True, width=o.width) if o.color else render_plain_table(smap)


def _list_tree(smap: SignalMap, o: Options) -> str:
    from .text import render_plain_tree, render_rich_tree

    return render_rich_tree(smap, color=True, width=o.width) if o.color else render_plain_tree(smap)


def _list_json(smap: SignalMap, o: Options) -> str:
    from .json import render_json

    return render_json(smap)


def _graph_dot(graph: nx.MultiDiGraph, o: Options) -> str:
    from .dot import render_dot

    return render_dot(graph, rankdir=o["rankdir"], cluster_by_app=o["cluster_by_app"])


def _graph_mermaid(graph: nx.MultiDiGraph, o: Options) -> str:
    from .mermaid import render_mermaid

    return render_mermaid(graph, rankdir=o["rankdir"])


def _graph_json(graph: nx.MultiDiGraph, o: Options) -> str:
    from .graphdata import render_graph_json

    return render_graph_json(graph)


def _graph_graphml(graph: nx.MultiDiGraph, o: Options) -> str:
    from .graphdata import render_graphml

    return render_graphml(graph)


def _drawn(fmt: str) -> Callable[[Any, Options], bytes]:
    """Return the entry that draws the DOT of a graph as `fmt` with Graphviz."""

    def draw(graph: nx.MultiDiGraph, o: Options) -> bytes:
        from .graphviz import run_graphviz

        return run_graphviz(_graph_dot(graph, o), fmt)

    draw.__name__ = draw.__qualname__ = f"_graph_{fmt}"
    return draw


def _impact_text(tree: ImpactNode, o: Options) -> str:
    from .impact import render_impact_rich, render_impact_text

    return render_impact_rich(tree, color=True, width=o.width) if o.color else render_impact_text(tree)


def _impact_json(tree: ImpactNode, o: Options) -> str:
    from .impact import render_impact_json

    if o["action"] is None:
        raise TypeError("impact's json format needs model= and action=")
    return render_impact_json(tree, model=o["model"], action=o["action"], signal=o["signal"])


def _check(name: str) -> Callable[[Any, Options], str]:
    """Return the entry of check's format `name`: render.check's render_check_<name>."""

    def entry(findings: list[Finding], o: Options) -> str:
        from . import check

        if name == "sarif":
            from .. import __version__

            return check.render_check_sarif(findings, version=__version__)
        renderer: Callable[[list[Finding]], str] = getattr(check, f"render_check_{name}")
        return renderer(findings)

    entry.__name__ = entry.__qualname__ = f"_check_{name}"
    return entry


def _trace_tree(log: AnyLog, o: Options) -> str:
    from .trace import render_plain_summary, render_plain_tree, render_rich_summary, render_rich_tree

    tree = {"slow_ms": o["slow_ms"], "unheard": o["unheard"], "limit": o["limit"], "group": o["group"],
            "footer": o["footer"], "shown_live": o["shown_live"]}  # fmt: skip
    if o.color:
        text = render_rich_tree(log, color=True, width=o.width, **tree)
        return text + render_rich_summary(log, color=True, width=o.width) if o["footer"] else text
    # The plain tree ends in its footer line: a blank line sets the summary apart. Without its footer
    # (one request's tree, shown as it ends) there is no summary either.
    text = render_plain_tree(log, **tree)
    return text + "\n" + render_plain_summary(log) if o["footer"] else text


def _trace_summary(log: AnyLog, o: Options) -> str:
    from .trace import render_plain_summary, render_rich_summary

    return render_rich_summary(log, color=True, width=o.width) if o.color else render_plain_summary(log)


def _trace_json(log: AnyLog, o: Options) -> Iterator[str]:
    from .trace import iter_trace_json

    return iter_trace_json(log)


def _trace_jsonl(log: AnyLog, o: Options) -> Iterator[str]:
    from .trace import iter_jsonl

    return iter_jsonl(log)


def _trace_chrome(log: AnyLog, o: Options) -> Iterator[str]:
    from .trace import iter_chrome

    return iter_chrome(log, pid=o["pid"])


def _snapshot_json(data: dict[str, Any], o: Options) -> str:
    from ..model.snapshot import snapshot_json

    return snapshot_json(data)


def _diff_text(changes: list[Change], o: Options) -> str:
    from ..model.snapshot import render_diff

    return render_diff(changes)


def _diff_json(changes: list[Change], o: Options) -> str:
    from .diff import render_diff_json

    return render_diff_json(changes)


def _report_html(data: ReportData, o: Options) -> str:
    from .report import render_report

    return render_report(
        data.registry, data.graph, list(data.findings), data.sources, impacts=data.impacts, log=data.log
    )


_TABLE: tuple[Format, ...] = (
    Format("list", "table", (), False, "one row per receiver, in call order", _list_table),
    Format("list", "tree", (), False, "signal, then sender, then receivers", _list_tree),
    Format("list", "json", (), False, "the registry as JSON", _list_json),
    Format("graph", "dot", (".dot", ".gv"), False, "Graphviz DOT", _graph_dot),
    Format("graph", "mermaid", (".mmd", ".mermaid"), False, "a Mermaid flowchart", _graph_mermaid),
    Format("graph", "json", (".json",), False, "nodes and edges as JSON", _graph_json),
    Format("graph", "graphml", (".graphml",), False, "GraphML (yEd, Gephi)", _graph_graphml),
    Format("graph", "svg", (".svg",), True, "drawn by Graphviz's dot", _drawn("svg")),
    Format("graph", "png", (".png",), True, "drawn by Graphviz's dot", _drawn("png")),
    Format("impact", "text", (), False, "the tree of what runs", _impact_text),
    Format("impact", "json", (), False, "the tree as JSON", _impact_json),
    Format("check", "text", (), False, "one line per finding, then the counts", _check("text")),
    Format("check", "json", (), False, "the findings as JSON", _check("json")),
    Format("check", "github", (), False, "GitHub Actions annotations", _check("github")),
    Format("check", "sarif", (), False, "SARIF 2.1.0, for code scanning", _check("sarif")),
    Format("trace", "tree", (), False, "the causal tree, then the summary", _trace_tree),
    Format("trace", "summary", (), False, "time per receiver", _trace_summary),
    Format("trace", "json", (), False, "the whole trace", _trace_json, "signalscope-trace.json", True),
    Format("trace", "jsonl", (), False, "one event per line", _trace_jsonl, "signalscope-trace.jsonl", True),
    Format(
        "trace",
        "chrome",
        (),
        False,
        "Perfetto / chrome://tracing",
        _trace_chrome,
        "signalscope-trace.perfetto.json",
        True,
    ),
    Format("snapshot", "json", (), False, "the wiring, sorted", _snapshot_json),
    Format("diff", "text", (), False, "one line per change", _diff_text),
    Format("diff", "json", (), False, "the changes as JSON", _diff_json),
    Format("report", "html", (), False, "one offline page; its graph laid out in it by Graphviz (wasm)", _report_html),
)
_BY_KEY: dict[tuple[str, str], Format] = {(f.kind, f.name): f for f in _TABLE}


def _entries(kind: str) -> tuple[Format, ...]:
    if kind not in KINDS:
        raise ValueError(f"unknown kind of output {kind!r}: one of {', '.join(KINDS)}")
    return tuple(f for f in _TABLE if f.kind == kind)


def formats(kind: str) -> tuple[str, ...]:
    """Return the format names of `kind`, in table order (for --help and error messages).

    Raises ValueError for a `kind` not in KINDS.
    """
    return tuple(f.name for f in _entries(kind))


def format_help(kind: str) -> str:
    """Return the format names of `kind` as a phrase: "dot, mermaid, json, graphml, svg or png".

    Raises ValueError for a `kind` not in KINDS.
    """
    names = formats(kind)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def extension_map(kind: str) -> dict[str, str]:
    """Return the file name endings that choose a format of `kind` (".gv" -> "dot"), in table order.

    Empty for every kind but graph. Raises ValueError for a `kind` not in KINDS.
    """
    return {ext: f.name for f in _entries(kind) for ext in f.extensions}


def _unknown(kind: str, fmt: str) -> UnknownFormat:
    choices = ", ".join(formats(kind))
    if kind == "graph":  # the words api.graph_format has always used
        return UnknownFormat(f"Unknown graph format {fmt!r}.", hint=f"Choose one of {choices}.")
    return UnknownFormat(f"--format {fmt}: choose one of {choices}.")


def get(kind: str, fmt: str) -> Format:
    """Return the entry for `fmt` of `kind`.

    Raises UnknownFormat, with the choices, for a format `kind` has not,
    and ValueError for a `kind` not in KINDS.
    """
    entry = _BY_KEY.get((kind, fmt))
    if entry is None:
        raise _unknown(kind, fmt)
    return entry


#: The file name endings each format is written to, besides the `extensions` that choose it; they choose
#: nothing, but an `-o` whose ending is another format's is a mismatch (`format_mismatch`).
SUITS: dict[tuple[str, str], tuple[str, ...]] = {
    ("list", "table"): (".txt",),
    ("list", "tree"): (".txt",),
    ("list", "json"): (".json",),
    ("impact", "text"): (".txt",),
    ("impact", "json"): (".json",),
    ("check", "text"): (".txt",),
    ("check", "json"): (".json",),
    ("check", "github"): (".txt",),
    ("check", "sarif"): (".sarif", ".sarif.json"),
    ("trace", "tree"): (".txt",),
    ("trace", "summary"): (".txt",),
    ("trace", "json"): (".json",),
    ("trace", "jsonl"): (".jsonl", ".ndjson"),
    ("trace", "chrome"): (".perfetto.json", ".json"),
    ("snapshot", "json"): (".json",),
    ("diff", "text"): (".txt", ".diff"),
    ("diff", "json"): (".json",),
    ("report", "html"): (".html", ".htm"),
}


def _endings(entry: Format) -> tuple[str, ...]:
    return entry.extensions + SUITS.get((entry.kind, entry.name), ())


def _ending(output: str | None) -> str | None:
    """Return the longest ending any format has that `output` ends with (None for stdout or no known ending)."""
    if not output or output == "-" or output.startswith("/dev/"):
        return None
    name = os.path.basename(output).lower()
    known = [ending for entry in _TABLE for ending in _endings(entry) if name.endswith(ending) and name != ending]
    return max(known, key=len, default=None)


def format_mismatch(kind: str, fmt: str, output: str | None) -> str | None:
    """Return why `output` is the wrong file for `fmt` of `kind`, or None when its name suits it.

    A mismatch is an ending that another format has and `fmt` has not
    (mermaid to x.svg, check's text to findings.sarif): "its extension
    (.svg) is for the svg format". A name with no ending any format has
    (out.log), and stdout, suit every format.

    Raises UnknownFormat for a `fmt` `kind` has not, ValueError for a `kind` not in KINDS.
    """
    entry = get(kind, fmt)
    ending = _ending(output)
    if ending is None or ending in _endings(entry):
        return None
    own = [f.name for f in _entries(kind) if ending in _endings(f)]
    if own:
        named = f"the {' or '.join(own)} format{'s' if len(own) > 1 else ''}"
    else:
        other = next(f for f in _TABLE if ending in _endings(f))
        named = f"{other.kind}'s {other.name} format"
    return f"its extension ({ending}) is for {named}"


def choose_format(kind: str, fmt: str | None, output: str | None, *, default: str) -> str:
    """Return the format of `kind` to write: `fmt` if given, else the extension of `output`, else `default`.

    The extension chooses only for kinds that have extensions (graph), and
    never for `output` "-" (stdout). A `fmt` given is returned as it is, even
    when `output` is named for another format (`format_mismatch` says so,
    for the caller to tell the user); without one, a `default` that `output`
    is not named for is an error.

    Raises UnknownFormat, with the choices, for a `fmt` not in the table or
    an `output` whose extension chooses none; UsageError for an `output`
    named for another format than `default`; ValueError for a `kind` not in
    KINDS or a `default` that is not one of its formats.
    """
    if default not in formats(kind):
        raise ValueError(f"{default!r} is not a {kind} format")
    if fmt:
        return get(kind, fmt).name
    by_extension = extension_map(kind)
    if by_extension and output and output != "-":
        name = output.lower()
        suffix = next((ending for ending in sorted(by_extension, key=len, reverse=True) if name.endswith(ending)), "")
        if suffix not in by_extension:
            raise UnknownFormat(
                f"Can't tell the format of {output!r} from its extension.",
                hint=f"Pass --format ({', '.join(formats(kind))}) or use one of {', '.join(sorted(by_extension))}.",
            )
        return by_extension[suffix]
    mismatch = format_mismatch(kind, default, output)
    if mismatch is not None:
        from ..errors import UsageError

        suits = _endings(get(kind, default))
        if len(formats(kind)) == 1:
            message, hint = f"-o {output}: {mismatch}, not {kind}'s {default}.", f"Name the file {suits[0]}."
        else:
            own = [f.name for f in _entries(kind) if _ending(output) in _endings(f)]
            forced = f"--format {default} to write {default} into it anyway"
            hint = f"Pass --format {own[0]}, or {forced}." if own else f"Name the file {suits[0]}, or pass {forced}."
            message = f"-o {output}: {mismatch}, not {default}, the default format."
        raise UsageError(message, hint=hint)
    return default


def render_chunks(
    kind: str, fmt: str, data: Any, *, color: bool = False, width: int | None = None, **options: Any
) -> Iterator[str | bytes]:
    """Yield what `render` returns, in chunks as the renderer makes them: one for a format that is not `is_streamed`.

    For output written as it is made (`signalscope trace -f json` of a
    TraceStream holds one chunk of events' text at a time). The same
    arguments, and errors, as render; errors are raised as the chunks are
    taken.
    """
    entry = get(kind, fmt)
    out = entry.renderer(data, _options(kind, color, width, options))
    if entry.is_streamed:
        yield from out  # type: ignore[misc]
    else:
        yield out  # type: ignore[misc]


def _options(kind: str, color: bool, width: int | None, options: dict[str, Any]) -> Options:
    defaults = OPTIONS.get(kind, {})
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        takes = ", ".join(defaults) or "no options"
        raise TypeError(f"{kind} output takes {takes}, not {', '.join(unknown)}")
    return Options(color, width, {**defaults, **options})


def render(
    kind: str, fmt: str, data: Any, *, color: bool = False, width: int | None = None, **options: Any
) -> str | bytes:
    """Return `data` (the model record of `kind`) in `fmt`: str, or bytes for a format that `is_binary`.

    `color` chooses the rich renderer, `width` columns wide (None: rich's
    default), over the plain one, where a format has both (list table and
    tree, impact text, trace tree and summary); the others ignore both.
    `options`, by kind -- graph: rankdir, cluster_by_app; impact: model and
    action (json needs them); trace: slow_ms, unheard, pid (chrome); the
    other kinds take none. The data -- list: SignalMap; graph: the
    networkx graph; impact: ImpactNode; check: list of Findings; trace:
    TraceLog; snapshot: the dict of model.snapshot.snapshot_dict; diff: the
    list of Changes of model.snapshot.diff_snapshots.

    Raises UnknownFormat for a format `kind` has not, TypeError for an
    option it does not take, and what the renderer raises (svg and png:
    MissingExtra without Graphviz, IntrospectionError when dot fails).
    """
    entry = get(kind, fmt)
    out = entry.renderer(data, _options(kind, color, width, options))
    if entry.is_streamed:
        return "".join(out)  # type: ignore[arg-type]
    return out  # type: ignore[return-value]

"""The operations every front end (CLI, pytest plugin, Django app) calls."""

from __future__ import annotations

import fnmatch
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UnknownName
from .introspect import scan
from .loader import Project, load_project

if TYPE_CHECKING:
    from .model.cascade import CascadeMap, ImpactNode
    from .model.trace import TraceLog
    from .tracing import Tracer

from .model import Connection, SignalMap, SignalRef, call_order_for_sender

__all__ = ["list_receivers", "load", "load_project", "match_signals", "scan", "select"]


def load(
    *,
    settings: str | None = None,
    project: str | os.PathLike[str] | None = None,
    pythonpath: Sequence[str | os.PathLike[str]] = (),
    urls: bool = True,
) -> SignalMap:
    """Set up a Django project as manage.py would and return its signal registry.

    `settings`, `project`, `pythonpath` and `urls` are as for `load_project`.
    Django can be set up once per process: load one project per process.

    Raises SettingsNotFound, ProjectLoadError, UsageError and IntrospectionError.
    """
    return scan(load_project(settings=settings, project=project, pythonpath=tuple(pythonpath), urls=urls))


def match_signals(smap: SignalMap, name: str) -> list[SignalRef]:
    """Return the signals called `name`: a name ("post_save") or a path, with ':' or '.'.

    Raises UnknownName, with close matches, when none is.
    """
    wanted = name.strip()
    found = [s for s in smap.signals if wanted in (s.name, s.path, s.path.replace(":", "."))]
    if not found:
        raise UnknownName("signal", name, [s.name for s in smap.signals] + [s.path for s in smap.signals])
    return found


def _sender_matches(conn: Connection, label: str) -> bool:
    # A receiver for any sender runs for this one too.
    return conn.sender.is_any or (conn.sender.label or "").lower() == label


_MIGRATE_SIGNALS = frozenset({"django.db.models.signals:pre_migrate", "django.db.models.signals:post_migrate"})


def select(
    smap: SignalMap,
    *,
    signals: Iterable[str] = (),
    sender: str | None = None,
    app: str | None = None,
    receiver: str | None = None,
    hide_django: bool = False,
) -> SignalMap:
    """Return the part of `smap` the filters let through; no filter keeps everything.

    `signals`: names or paths of signals to keep. `sender`: an
    "app_label.ModelName" label or another sender label; keeps receivers
    connected for that sender and, on the signals it can send (those it has
    receivers of its own on; for a model, also the model signals), those
    for any sender, renumbered and ordered as Django calls them for a send
    from it.
    `app`: an app label; keeps receivers defined in that app's modules.
    `receiver`: a glob over receiver paths ("accounts.*", "*:create_*").
    `hide_django`: drop receivers defined inside Django itself.
    A signal is kept when named in `signals`, or when, with any other filter
    given, some of its receivers pass.

    Raises UnknownName for a signal, sender or app that is not in `smap`.
    """
    signal_names = list(signals)
    kept_signals = list(smap.signals)
    if signal_names:
        paths = {s.path for name in signal_names for s in match_signals(smap, name)}
        kept_signals = [s for s in kept_signals if s.path in paths]
    conns = [c for c in smap.connections if c.signal in {s.path for s in kept_signals}]
    narrowed = False
    if sender is not None:
        label = sender.strip().lower()
        known = smap.model_labels() + [c.sender.label for c in smap.connections if c.sender.label]
        known += [f"<AppConfig: {a.label}>" for a in smap.apps]  # pre_migrate's and post_migrate's senders
        if label not in {k.lower() for k in known}:
            raise UnknownName("sender", sender, known)
        own_signals = {c.signal for c in conns if not c.sender.is_any and _sender_matches(c, label)}
        if label in {m.lower() for m in smap.model_labels()}:
            own_signals |= {s.path for s in smap.signals if s.category == "model"}
        if label in {f"<appconfig: {a.label.lower()}>" for a in smap.apps}:  # migrate sends from each app
            own_signals |= {s.path for s in smap.signals if s.path in _MIGRATE_SIGNALS}
        conns = call_order_for_sender([c for c in conns if c.signal in own_signals and _sender_matches(c, label)])
        narrowed = True
    if app is not None:
        modules = {a.label: a.module for a in smap.apps}
        if app not in modules:
            raise UnknownName("app label", app, list(modules))
        prefix = modules[app]
        conns = [c for c in conns if _module_of(c) == prefix or _module_of(c).startswith(prefix + ".")]
        narrowed = True
    if receiver is not None:
        everywhere = {c.receiver.path for c in smap.connections}
        if not any(fnmatch.fnmatchcase(path, receiver) for path in everywhere):  # a typo, not an empty answer
            globs = {f"{path.split('.')[0].split(':')[0]}.*" for path in everywhere}
            globs |= {f"{path.partition(':')[0]}:*" for path in everywhere}
            raise UnknownName("receiver glob", receiver, sorted(globs | everywhere))
        conns = [c for c in conns if fnmatch.fnmatchcase(c.receiver.path, receiver)]
        narrowed = True
    if hide_django:
        conns = [c for c in conns if not _is_django(c)]
        narrowed = True
    if narrowed and not signal_names:
        used = {c.signal for c in conns}
        kept_signals = [s for s in kept_signals if s.path in used]
    return SignalMap(
        signalscope=smap.signalscope,
        django=smap.django,
        settings=smap.settings,
        settings_source=smap.settings_source,
        signals=tuple(kept_signals),
        connections=tuple(conns),
        apps=smap.apps,
    )


def _module_of(conn: Connection) -> str:
    return conn.receiver.path.split(":", 1)[0]


def _is_django(conn: Connection) -> bool:
    module = _module_of(conn)
    return module == "django" or module.startswith("django.")


def cascade_map(project: Project, *, depth: int = 2) -> CascadeMap:
    """Scan the loaded `project` and read its receivers' code for what they write.

    Only the project's own modules are read (with `ast`: nothing is imported
    or run); `depth` levels of calls into its other functions are followed.

    Raises IntrospectionError.
    """
    import sys

    from django.conf import settings

    from .graph.effects import scan_effects
    from .introspect.models import scan_models
    from .model.cascade import CascadeMap

    registry = scan(project)
    models = scan_models()
    modules = {}
    for name, module in list(sys.modules.items()):
        filename = getattr(module, "__file__", None)
        if filename and project.is_project_file(filename):
            modules[name] = filename
    user_model = str(getattr(settings, "AUTH_USER_MODEL", "")) or None
    if user_model:
        user_model = next((m.label for m in models if m.label.lower() == user_model.lower()), user_model)
    effects = scan_effects(
        registry.connections,
        modules=modules,
        models=models,
        signals=[s.path for s in registry.signals],
        user_model=user_model,
        depth=depth,
        relpath=project.relpath,
    )
    return CascadeMap(registry=registry, models=models, effects=effects)


def trace(**options: Any) -> Tracer:
    """Return a Tracer: ``with signalscope.trace() as t: ...`` then ``t.log()``.

    `options` are Tracer's: include, exclude, max_sends, capture_values,
    redact. Start and stop it explicitly with ``start()`` and ``stop()``.
    """
    from .tracing import Tracer

    return Tracer(**options)


def trace_program(
    argv: Sequence[str],
    *,
    settings: str | None = None,
    project: str | os.PathLike[str] | None = None,
    pythonpath: Sequence[str | os.PathLike[str]] = (),
    **options: Any,
) -> tuple[int, TraceLog]:
    """Run a Python program in this process under a Tracer; return its exit status and the trace.

    `argv` is what would follow ``python``: ``["manage.py", "migrate"]``,
    ``["-m", "pytest", "tests/"]`` or ``["script.py", ...]``. The program sets
    Django up itself, as it would untraced; `settings` only sets
    ``DJANGO_SETTINGS_MODULE`` first, `project` is where a script is also
    looked for, and it and `pythonpath` go first on sys.path. `options` are
    Tracer's.

    The program ends as under python (tracing.runner.run_program): its
    non-daemon threads are waited for and the atexit handlers run, traced,
    so call this last in a process. The status is the one python would end
    with; after an uncaught KeyboardInterrupt it is runner.INTERRUPTED
    (-SIGINT): python then ends by killing itself with SIGINT.

    A signal, sender or app filter that can match nothing is an error:
    senders and apps are checked once the program has set Django up (an
    unknown one stops it there), signals when it has ended (see
    tracing.filters).

    Raises UsageError (nothing to run, a folder that does not exist, a
    sender or app filter on a program that never set Django up) and
    UnknownName, with close matches.
    """
    from .errors import UsageError
    from .tracing import Tracer
    from .tracing.filters import FilterCheck
    from .tracing.runner import find_program, run_program

    named = [("--pythonpath", entry) for entry in pythonpath]
    if project is not None:
        named.insert(0, ("--project", project))
    folders = []
    for flag, entry in named:
        folder = Path(entry).resolve()
        if not folder.is_dir():
            raise UsageError(f"{flag} {entry}: no such folder.")
        folders.append(folder)
    for folder in reversed(folders):  # first: `-m module` is looked for on them too
        sys.path.insert(0, str(folder))
    command = find_program(argv, Path(project).resolve() if project is not None else None)
    if settings:
        os.environ["DJANGO_SETTINGS_MODULE"] = settings
    tracer = Tracer(**options)
    check = FilterCheck(tracer)
    with check.watching():
        tracer.start()
        try:
            status = run_program(command)
        finally:
            log = tracer.stop()
    check.finish(status, log)
    return status, log


def check(
    project: Project, *, select: Iterable[str] = (), ignore: Iterable[str] = (), follow_calls: int = 2
) -> list[Any]:
    """Run `signalscope check`'s rules on the loaded `project`; return the Findings, sorted.

    `select` and `ignore` are rule ids (SS001...). Raises UnknownName for an
    unknown rule id, and IntrospectionError.
    """
    import sys
    from pathlib import Path

    from django.apps import apps

    from .checks import AppInfo, CheckInput, run_checks, scan_sources
    from .introspect import scan_wrapped
    from .model.check import RULES

    for rule in (*select, *ignore):
        if rule not in RULES:
            raise UnknownName("rule", rule, list(RULES))
    cmap = cascade_map(project, depth=follow_calls)
    infos, packages = [], []
    for config in apps.get_app_configs():
        module = sys.modules.get(config.name)
        filename = getattr(module, "__file__", None)
        if not filename or not project.is_project_file(filename):
            continue
        folder = Path(config.path)
        packages.append((config.name, folder, folder.parents[config.name.count(".")]))
        config_module = sys.modules.get(type(config).__module__)
        infos.append(
            AppInfo(
                config.label,
                config.name,
                f"{type(config).__module__}.{type(config).__qualname__}",
                project.relpath(getattr(config_module, "__file__", None)),
            )
        )
    declarations, weak = scan_sources(packages)
    project_modules = frozenset(
        name
        for name, module in list(sys.modules.items())
        if getattr(module, "__file__", None) and project.is_project_file(module.__file__)
    )
    data = CheckInput(
        cmap, infos, declarations, weak, frozenset(sys.modules), project_modules, wrapped=scan_wrapped(project)
    )
    return run_checks(data, select=select, ignore=ignore)


def impact_trees(
    project: Project, *, actions: Iterable[str] = ("create", "save", "delete"), depth: int = 8, follow_calls: int = 2
) -> dict[str, dict[str, ImpactNode]]:
    """`impact` trees for every model that a receiver listens to, for each of `actions`: model -> action -> tree.

    One cascade map serves them all (impact_tree builds one per call).
    """
    from .graph.queries import impact

    cmap = cascade_map(project, depth=follow_calls)
    models = sorted({c.sender.label for c in cmap.registry.connections if c.sender.kind == "model" and c.sender.label})
    return {model: {action: impact(cmap, model, action, depth=depth) for action in actions} for model in models}


def receiver_sources(smap: SignalMap, *, lines: int = 12) -> dict[str, str]:
    """The first `lines` lines of each receiver's source (for the report), by receiver path.

    Read from the files of the modules already imported (nothing is imported
    or run); receivers without a file are left out.
    """
    import linecache
    import sys

    sources: dict[str, str] = {}
    for conn in smap.connections:
        r = conn.receiver
        if r.line is None or r.path in sources:
            continue
        module = sys.modules.get(r.path.split(":", 1)[0])
        filename = getattr(module, "__file__", None)
        if not filename:
            continue
        text = [linecache.getline(filename, n) for n in range(r.line, r.line + lines)]
        if any(text):
            sources[r.path] = "".join(text).rstrip() + "\n"
    return sources


def list_receivers(
    project: Project,
    *,
    signals: Iterable[str] = (),
    sender: str | None = None,
    app: str | None = None,
    receiver: str | None = None,
    hide_django: bool = False,
) -> SignalMap:
    """Scan the loaded `project` and apply `select`'s filters.

    Raises UnknownName and IntrospectionError.
    """
    return select(scan(project), signals=signals, sender=sender, app=app, receiver=receiver, hide_django=hide_django)


GRAPH_FORMATS = ("dot", "mermaid", "json", "graphml", "svg", "png")
_EXTENSIONS = {
    ".dot": "dot",
    ".gv": "dot",
    ".mmd": "mermaid",
    ".mermaid": "mermaid",
    ".json": "json",
    ".graphml": "graphml",
    ".svg": "svg",
    ".png": "png",
}


def graph_format(fmt: str | None, output: str | None) -> str:
    """Return the graph format: `fmt` if given, else the extension of `output`, else DOT.

    Raises UnknownFormat for a format or extension that no renderer has.
    """
    from .errors import UnknownFormat

    if fmt:
        if fmt not in GRAPH_FORMATS:
            raise UnknownFormat(f"Unknown graph format {fmt!r}.", hint=f"Choose one of {', '.join(GRAPH_FORMATS)}.")
        return fmt
    if output and output != "-":
        suffix = os.path.splitext(output)[1].lower()
        if suffix not in _EXTENSIONS:
            raise UnknownFormat(
                f"Can't tell the format of {output!r} from its extension.",
                hint=f"Pass --format ({', '.join(GRAPH_FORMATS)}) or use one of {', '.join(sorted(_EXTENSIONS))}.",
            )
        return _EXTENSIONS[suffix]
    return "dot"


def dependency_graph(
    project: Project,
    *,
    signals: Iterable[str] = (),
    sender: str | None = None,
    app: str | None = None,
    receiver: str | None = None,
    hide_django: bool = False,
    model: str | None = None,
    depth: int | None = None,
    cascade: bool = True,
    follow_calls: int = 2,
) -> Any:
    """Return the dependency graph (networkx MultiDiGraph) of the loaded `project`.

    The registry filters are `select`'s; `model` keeps what is reachable
    from that model's signals, `depth` receivers deep at most; without
    `cascade`, receivers' effects are left out; `follow_calls` is how many
    calls deep receivers' calls into the project's functions are read.

    Raises UnknownName and IntrospectionError.
    """

    from .graph.build import build_graph
    from .model.cascade import CascadeMap

    cmap = cascade_map(project, depth=follow_calls)
    registry = select(
        cmap.registry, signals=signals, sender=sender, app=app, receiver=receiver, hide_django=hide_django
    )
    graph = build_graph(CascadeMap(registry, cmap.models, cmap.effects), cascade=cascade)
    if model is not None:
        labels = {m.label.lower(): m.label for m in cmap.models}
        if model.lower() not in labels:
            raise UnknownName("model", model, list(labels.values()))
        graph = _reachable_from_model(
            graph, CascadeMap(registry, cmap.models, cmap.effects), labels[model.lower()], depth
        )
    return graph


def _reachable_from_model(graph: Any, cmap: CascadeMap, model: str, depth: int | None) -> Any:
    """Return the part of `graph` a write to `model` can set off, `depth` receivers deep at most.

    Signal nodes are shared by every sender, so plain reachability would
    wander into other models' receivers: the walk goes over (signal, sender)
    states instead, and keeps the receivers that run in each.
    """
    import networkx as nx

    from .graph.build import cascade_states, receiver_node, sender_node, signal_node

    states = cascade_states(cmap)
    start = [s for s in states if s[1] == model]
    levels: dict[tuple[str, str | None], int] = {}
    for state in start:
        for reached, level in nx.single_source_shortest_path_length(states, state, cutoff=None).items():
            levels[reached] = min(level, levels.get(reached, level))
    keep: set[str] = {sender_node(model)}
    for (signal, sender), level in levels.items():
        if depth is not None and level >= depth:
            continue
        runs = [
            c
            for c in cmap.registry.connections
            if c.signal == signal and (c.sender.is_any or c.sender.label == sender) and not c.is_pending
        ]
        if not runs:
            continue
        keep.add(signal_node(signal))
        if sender is not None:
            keep.add(sender_node(sender))
        keep.update(receiver_node(c.receiver.path) for c in runs)
    keep &= set(graph.nodes)
    leaves = {
        head for tail, head, data in graph.edges(data=True) if tail in keep and data["kind"] in ("unresolved", "writes")
    }
    sub = graph.subgraph(keep | leaves)
    # Keep only the edges that belong to this walk: connections for these senders.
    kept_senders = {s for _sig, s in levels} | {None}
    result = nx.MultiDiGraph()
    result.add_nodes_from(sub.nodes(data=True))
    for tail, head, key, data in sub.edges(keys=True, data=True):
        if data["kind"] == "connected" and data.get("sender") not in kept_senders:
            continue
        result.add_edge(tail, head, key=key, **data)
    return result


def render_graph(
    graph: Any, fmt: str, *, rankdir: str = "LR", cluster_by_app: bool = False, command: str | None = None
) -> str | bytes:
    """Return `graph` in `fmt` (see GRAPH_FORMATS): text, or bytes for svg and png.

    svg and png are drawn by Graphviz's `dot` program.

    Raises MissingExtra when `dot` is not installed, and UnknownFormat.
    """
    from .render.dot import render_dot

    title = "signal dependency graph, made by signalscope"
    if fmt == "dot":
        return render_dot(graph, rankdir=rankdir, cluster_by_app=cluster_by_app, title=title, command=command)
    if fmt == "mermaid":
        from .render.mermaid import render_mermaid

        return render_mermaid(graph, rankdir=rankdir)
    if fmt == "json":
        from .render.graphdata import render_graph_json

        return render_graph_json(graph)
    if fmt == "graphml":
        from .render.graphdata import render_graphml

        return render_graphml(graph)
    if fmt in ("svg", "png"):
        dot_text = render_dot(graph, rankdir=rankdir, cluster_by_app=cluster_by_app, title=title, command=command)
        return run_graphviz(dot_text, fmt)
    return graph_format(fmt, None)  # raises UnknownFormat


#: How long Graphviz's dot may take, in seconds (SIGNALSCOPE_DOT_TIMEOUT overrides it).
DOT_TIMEOUT = 300.0


def run_graphviz(dot_text: str, fmt: str, *, timeout: float | None = None) -> bytes:
    """Return `dot_text` drawn by Graphviz's `dot -T<fmt>`.

    `dot` never outlives this call: it is killed on a timeout (`timeout`
    seconds, default $SIGNALSCOPE_DOT_TIMEOUT or DOT_TIMEOUT), on Ctrl-C, and
    when this process gets SIGTERM or SIGHUP (then the signal is passed on to
    this process once dot is gone, so it ends as it would have).

    Raises MissingExtra when `dot` is not on PATH, IntrospectionError when it
    fails or takes too long.
    """
    import shutil
    import signal
    import subprocess
    import threading

    from .errors import IntrospectionError, MissingExtra, UsageError

    program = shutil.which("dot")
    if program is None:
        raise MissingExtra(
            f"Drawing {fmt} needs Graphviz's dot program, which is not installed.",
            hint="Install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz).",
        )
    if timeout is None:
        setting = os.environ.get("SIGNALSCOPE_DOT_TIMEOUT", "")
        try:
            timeout = float(setting) if setting else DOT_TIMEOUT
        except ValueError:
            raise UsageError(f"SIGNALSCOPE_DOT_TIMEOUT={setting!r} is not a number of seconds.") from None

    class _Stopped(BaseException):
        def __init__(self, signum: int) -> None:
            self.signum = signum

    def stop(signum: int, frame: Any) -> None:
        raise _Stopped(signum)

    watched: tuple[int, ...] = (signal.SIGTERM, signal.SIGHUP) if hasattr(signal, "SIGHUP") else (signal.SIGTERM,)
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for number in watched:
            previous[number] = signal.signal(number, stop)
    try:
        proc = subprocess.Popen(
            [program, f"-T{fmt}"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        try:
            out, err = proc.communicate(dot_text.encode("utf-8"), timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise IntrospectionError(
                f"Graphviz's dot did not finish drawing {fmt} in {timeout:g} s, and was stopped.",
                hint="Draw less (--model, --app, --hide-django), "
                "or allow more time with SIGNALSCOPE_DOT_TIMEOUT=SECONDS.",
            ) from None
        except BaseException:  # Ctrl-C, SIGTERM, SIGHUP: dot goes first
            proc.kill()
            proc.wait()
            raise
    except _Stopped as stopped:
        for number, handler in previous.items():
            signal.signal(number, handler)
        previous.clear()
        os.kill(os.getpid(), stopped.signum)  # end as the signal would have ended this process
        raise KeyboardInterrupt from None  # a handler of the program's own let it live on
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if proc.returncode != 0:
        raise IntrospectionError(f"Graphviz's dot failed: {err.decode('utf-8', 'replace').strip()}")
    return out


def impact_tree(project: Project, model: str, action: str, *, depth: int = 8, follow_calls: int = 2) -> ImpactNode:
    """Return what runs, in order, when `action` is done to `model` in the loaded `project`.

    Raises UnknownName for an unknown model, UsageError for an unknown action.
    """
    from .errors import UsageError
    from .graph.queries import ACTIONS, impact

    if action not in ACTIONS:
        raise UsageError(f"Unknown action {action!r}.", hint=f"Choose one of {', '.join(ACTIONS)}.")
    return impact(cascade_map(project, depth=follow_calls), model, action, depth=depth)

"""The operations every front end calls: a Session over one loaded project, tracing, and reading saved files."""

from __future__ import annotations

import builtins
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UsageError
from .loader import Project, load_project
from .model import SignalMap
from .model.select import match_signals, select

if TYPE_CHECKING:
    import networkx as nx

    from .model import Connection, ReceiverRef
    from .model.cascade import CascadeMap, ImpactNode, ModelRef
    from .model.check import Finding
    from .model.results import Impact, ReportData
    from .model.snapshot import Change
    from .model.trace import TraceEvent, TraceExcerpt, TraceLog, TraceStream
    from .tracing import Tracer
    from .tracing.live import Recording

__all__ = [
    "Filters",
    "LiveOptions",
    "ProjectOptions",
    "Session",
    "TraceOptions",
    "environment",
    "load",
    "load_project",
    "match_signals",
    "read_snapshot",
    "read_trace",
    "read_trace_excerpt",
    "scan",
    "select",
    "trace",
    "trace_program",
    "trace_program_stream",
]

#: How many calls deep receivers' calls into the project's own functions are read, unless told.
FOLLOW_CALLS = 2
#: What receivers' code is read by default (``--read``): the project's and installed packages', not Django's.
READ = "site-packages"


def impact_actions() -> tuple[str, ...]:
    """Return the actions `Session.impact` knows (graph.impact.ACTIONS), for completion and help."""
    from .graph.impact import ACTIONS

    return ACTIONS


def _check_read(read: str) -> str:
    from .introspect.project import READ_CHOICES

    if read not in READ_CHOICES:
        raise UsageError(f"Unknown --read {read!r}.", hint=f"Choose one of {', '.join(READ_CHOICES)}.")
    return read


@dataclass(frozen=True, slots=True)
class ProjectOptions:
    """Which project to load, as the command line's Project options say it (see loader.load_project)."""

    project: str | os.PathLike[str] | None = None
    settings: str | None = None
    pythonpath: tuple[str | os.PathLike[str], ...] = ()
    urls: bool = True
    #: Load the server's WSGI/ASGI application and its middleware: None, when this process is set up
    #: by the load (loader.load_project); False (--no-app) never; True also in a process set up already.
    app: bool | None = None


@dataclass(frozen=True, slots=True)
class Filters:
    """Which part of the registry to keep (see model.select.select); the default keeps everything."""

    signals: tuple[str, ...] = ()
    sender: str | None = None
    app: str | None = None
    receiver: str | None = None
    hide_django: bool = False


@dataclass(frozen=True, slots=True)
class LiveOptions:
    """How trace_program shows each request's tree on stderr as the request ends (the tree renderer's options)."""

    color: bool = False
    width: int | None = None
    slow_ms: float = 10.0
    unheard: bool = False


@dataclass(frozen=True, slots=True)
class TraceOptions:
    """What a Tracer records (see tracing.Tracer): signal, sender and app filters, limits, values.

    `children` (trace_program only): trace the program's Python child
    processes too, and merge their parts (tracing.children). `live`
    (trace_program only): show each request's tree on stderr as it ends.
    """

    include: tuple[str, ...] = ()  # signal names; empty: all
    exclude: tuple[str, ...] | None = None  # None: the default (pre_init, post_init unless included)
    senders: tuple[str, ...] = ()
    apps: tuple[str, ...] = ()
    max_sends: int = 50_000
    capture_values: bool = False
    redact: tuple[str, ...] | None = None  # None: the default secret words
    scoped: bool = False  # only the sends of the context it starts in, and contexts copied from it
    on_send: Callable[[list[TraceEvent], int], None] | None = field(default=None, compare=False)
    children: bool = True
    live: LiveOptions | None = None

    def tracer_options(self) -> dict[str, Any]:
        """Return these options as Tracer's keyword arguments."""
        options: dict[str, Any] = {
            "include": self.include,
            "exclude": self.exclude,
            "senders": self.senders,
            "apps": self.apps,
            "max_sends": self.max_sends,
            "capture_values": self.capture_values,
            "on_send": self.on_send,
            "scoped": self.scoped,
        }
        if self.redact is not None:
            options["redact"] = self.redact
        return options

    def child_config(self) -> dict[str, Any]:
        """Return what a traced program's child processes need of these options, as JSON data."""
        import dataclasses

        # Tracer's keyword arguments, but what only the program's own process has: its stream, its
        # context, and its ring buffer (a child keeps nothing: it streams each send to its part).
        options = {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in self.tracer_options().items()
            if name not in ("on_send", "scoped", "max_sends")
        }
        return {"options": options, "live": None if self.live is None else dataclasses.asdict(self.live)}


class Session:
    """One Django project, loaded once, and every question about it; scans are made once and cached.

    ``Session(ProjectOptions(project="fixtures/shop"))`` loads the project on
    first use; ``Session.of(project)`` wraps one loaded already. Django can be
    set up once per process, so a process holds one project.

    Loading raises SettingsNotFound, ProjectLoadError and UsageError; the
    scans raise IntrospectionError.
    """

    def __init__(self, options: ProjectOptions | None = None, *, project: Project | None = None) -> None:
        self.options = options or ProjectOptions()
        self._project = project
        self._registry: SignalMap | None = None
        self._wrapped: dict[Connection, tuple[ReceiverRef, ...]] | None = None
        self._bindings: dict[tuple[str, str | None], dict[str, Any]] = {}
        self._relations: tuple[ModelRef, ...] | None = None
        self._effects: dict[tuple[int, str], CascadeMap] = {}
        self._graphs: dict[tuple[int, bool, str], nx.MultiDiGraph] = {}

    @classmethod
    def of(cls, project: Project) -> Session:
        """Return a Session over the loaded `project`."""
        return cls(project=project)

    # -- what is loaded and scanned, once ----------------------------------
    @property
    def project(self) -> Project:
        """The loaded project (loaded now, on first use)."""
        if self._project is None:
            o = self.options
            self._project = load_project(
                settings=o.settings, project=o.project, pythonpath=o.pythonpath, urls=o.urls, app=o.app
            )
        return self._project

    def load(self) -> Project:
        """Load the project if it is not loaded yet; return it."""
        return self.project

    def _scan(self, *, wrapped: bool) -> None:
        """Scan the receivers, once; with `wrapped`, also what decorated ones wrap (which costs more)."""
        from .introspect import scan, scan_all

        if wrapped:
            registry, self._wrapped, self._bindings = scan_all(self.project)
        else:
            registry = scan(self.project)
        if self._registry is None:  # a second walk (wrapped asked for later) keeps the first registry
            self._registry = registry

    @property
    def registry(self) -> SignalMap:
        """Every signal and connected receiver (introspect.scan)."""
        if self._registry is None:
            self._scan(wrapped=False)
        assert self._registry is not None
        return self._registry

    @property
    def wrapped(self) -> dict[Connection, tuple[ReceiverRef, ...]]:
        """The functions each decorated receiver wraps (introspect.scan_wrapped); with the registry if
        it is not scanned yet, so that `check` and `report` walk the receivers once."""
        if self._wrapped is None:
            self._scan(wrapped=True)
        assert self._wrapped is not None
        return self._wrapped

    @property
    def relations(self) -> tuple[ModelRef, ...]:
        """Every installed model with its relations (introspect.models.scan_models)."""
        if self._relations is None:
            from .introspect.models import scan_models

            self._relations = scan_models()
        return self._relations

    def cascade(self, follow_calls: int = FOLLOW_CALLS, read: str = READ) -> CascadeMap:
        """The registry with what each receiver's code writes, read `follow_calls` calls deep (graph.effects).

        `read` is what may be read (introspect.project.READ_CHOICES): the
        project's own modules, installed packages' too (the default), or
        Django's as well. Code is read with `ast`: nothing is imported or run.
        Raises UsageError for an unknown `read`.
        """
        key = (follow_calls, _check_read(read))
        cmap = self._effects.get(key)
        if cmap is None:
            from .graph.effects import scan_effects
            from .introspect.project import model_settings, module_locator, readable_modules, user_model_label
            from .model.cascade import CascadeMap

            self.wrapped  # noqa: B018 - the walk that gives the registry also reads receivers' bound objects
            registry = self.registry
            modules, left_out = readable_modules(self.project, read)
            unread: dict[str, str] = {}
            for conn in registry.connections:
                module = conn.receiver.path.partition(":")[0]
                if conn.receiver.kind == "builtin":
                    unread[conn.receiver.path] = "built in: no Python source"
                elif module not in modules:
                    unread[conn.receiver.path] = left_out.get(module, "its module is not imported")
            effects = scan_effects(
                registry.connections,
                modules=modules,
                models=self.relations,
                signals=[s.path for s in registry.signals],
                user_model=user_model_label(self.relations),
                depth=follow_calls,
                relpath=self.project.relpath,
                bindings=self._bindings,
                settings=model_settings(self.relations),
                unread=unread,
                locate=module_locator(self.project, read),
            )
            cmap = self._effects[key] = CascadeMap(
                registry=registry, models=self.relations, effects=effects, unread=tuple(sorted(unread.items()))
            )
        return cmap

    @property
    def effects(self) -> CascadeMap:
        """`cascade()` with the default depth of calls."""
        return self.cascade()

    def _graph(self, follow_calls: int, cascade: bool, read: str = READ) -> nx.MultiDiGraph:
        key = (follow_calls, cascade, read)
        if key not in self._graphs:
            from .graph.queries import dependency_graph

            self._graphs[key] = dependency_graph(self.cascade(follow_calls, read), cascade=cascade)
        return self._graphs[key]

    # -- the questions -----------------------------------------------------
    def list(self, filters: Filters | None = None) -> SignalMap:
        """Return the registry, or the part of it `filters` keep. Raises UnknownName."""
        f = filters or Filters()
        return select(
            self.registry, signals=f.signals, sender=f.sender, app=f.app, receiver=f.receiver, hide_django=f.hide_django
        )

    def graph(
        self,
        filters: Filters | None = None,
        *,
        model: str | None = None,
        depth: int | None = None,
        cascade: bool = True,
        follow_calls: int = FOLLOW_CALLS,
        read: str = READ,
        collapse_senders: bool = False,
    ) -> nx.MultiDiGraph:
        """Return the dependency graph, or the part the filters and `model` keep (graph.queries.dependency_graph).

        Its nodes are (signal, sender) states; `collapse_senders` draws one
        node per signal instead, for a summary (graph.build.collapse_senders).
        The whole graph is built once and cached: it is the Session's own, so
        copy it (``graph.copy()``) before changing it. Raises UnknownName.
        """
        f = filters or Filters()
        if f == Filters() and model is None:
            found = self._graph(follow_calls, cascade, read)
        else:
            from .graph.queries import dependency_graph

            found = dependency_graph(
                self.cascade(follow_calls, read),
                signals=f.signals,
                sender=f.sender,
                app=f.app,
                receiver=f.receiver,
                hide_django=f.hide_django,
                model=model,
                depth=depth,
                cascade=cascade,
            )
        if collapse_senders:
            from .graph.build import collapse_senders as collapse

            found = collapse(found)
        return found

    def impact(
        self,
        model: str | None = None,
        action: str = "save",
        *,
        signal: str | None = None,
        sender: str | None = None,
        depth: int = 8,
        follow_calls: int = FOLLOW_CALLS,
        read: str = READ,
    ) -> Impact:
        """Return what runs, in order, when `action` is done to `model`, or when `signal` is sent by `sender`.

        `signal` is a signal's path or its unique name, `sender` a model label
        (None: any sender); give either `model` or `signal`. `read` is as for
        `cascade`.

        Raises UsageError for an unknown action or both or neither of model
        and signal, UnknownName for an unknown model or signal.
        """
        from .graph.impact import check_action, impact, impact_signal
        from .model.results import Impact

        if (model is None) == (signal is None):
            raise UsageError(
                "Give a model or --signal, not both." if model else "Give a model, or --signal.",
                hint="signalscope impact auth.User --action create; signalscope impact --signal NAME --sender LABEL",
            )
        cmap = self.cascade(follow_calls, read)
        if signal is not None:
            tree = impact_signal(cmap, signal, sender, depth=depth)
            path = tree.children[0].detail if tree.children else signal
            sent_by = tree.label.rpartition("(")[2].rstrip(")")
            return Impact(action="send", model=None if sender is None else sent_by, tree=tree, signal=path)
        if sender is not None:
            raise UsageError("--sender goes with --signal.", hint="For a model's own writes, give the model.")
        assert model is not None
        tree = impact(cmap, model, check_action(action), depth=depth)
        label = tree.label.partition(" ")[2]
        return Impact(action=action, model=label, tree=tree)

    def impacts(
        self, *, follow_calls: int = FOLLOW_CALLS, depth: int = 8, read: str = READ
    ) -> dict[str, dict[str, ImpactNode]]:
        """`impact` for create, save and delete of every model a receiver listens to: model -> action -> tree."""
        from .graph.impact import impact_all

        return impact_all(self.cascade(follow_calls, read), depth=depth)

    def check(
        self,
        *,
        select: Iterable[str] = (),
        ignore: Iterable[str] = (),
        follow_calls: int = FOLLOW_CALLS,
        root: str | os.PathLike[str] | None = None,
    ) -> builtins.list[Finding]:
        """Run `signalscope check`'s rules; return the findings, sorted.

        `select` and `ignore` are rule ids (SS001...). Each finding's
        `repo_file` is its file relative to `root`, by default the repository
        root (the nearest folder above the project with a ``.git`` entry).
        Raises UnknownName for an unknown rule id, UsageError for a `root`
        that is not a folder.
        """
        from .checks import gather_input, run_checks
        from .errors import UnknownName
        from .model.check import RULES

        chosen, left_out = list(select), list(ignore)
        for rule in (*chosen, *left_out):
            if rule not in RULES:
                raise UnknownName("rule", rule, list(RULES))
        wrapped = self.wrapped  # first: the same walk gives the registry the cascade reads
        if root is not None and not os.path.isdir(root):
            raise UsageError(f"--root {os.fspath(root)}: no such folder.")
        data = gather_input(self.project, self.cascade(follow_calls), wrapped, root=root)
        return run_checks(data, select=chosen, ignore=left_out)

    def snapshot(self, *, include_django: bool = False) -> dict[str, Any]:
        """Return the wiring as a snapshot (model.snapshot): what is connected to what, without files or lines."""
        from .model.snapshot import snapshot_dict

        return snapshot_dict(self.registry, include_django=include_django)

    def diff(self, before: dict[str, Any], after: dict[str, Any] | None = None) -> builtins.list[Change]:
        """Return what changed from the snapshot `before` to `after` (default: this project now).

        Read snapshots with `read_snapshot`. Raises UsageError for data that is no snapshot.
        """
        from .model.snapshot import diff_snapshots

        if after is None:
            after = self.snapshot(include_django=bool(before.get("include_django")))
        try:
            return diff_snapshots(before, after)
        except ValueError as exc:
            raise UsageError(f"Not a snapshot: {exc}.") from exc

    def report(
        self,
        filters: Filters | None = None,
        *,
        trace: TraceLog | TraceExcerpt | None = None,
        follow_calls: int = FOLLOW_CALLS,
        on_step: Callable[[str], None] | None = None,
    ) -> ReportData:
        """Gather what `report` shows: registry, graph, findings, sources, impact trees, and `trace` if given.

        One scan serves it all. `filters` (as for `list` and `graph`) keep
        part of the registry and of the graph; the findings and the impact
        trees are the whole project's. `on_step` is called with the name of
        each step that takes time as it starts ("Reading 2,000 receivers'
        code…"), for a progress display. Raises UnknownName.
        """
        from .introspect.naming import receiver_sources
        from .model.results import ReportData

        step = on_step or (lambda message: None)
        step("Scanning the signal registry…")
        self.wrapped  # noqa: B018 - first: one walk gives the registry and what check needs
        registry = self.list(filters)
        step(f"Reading {len(self.registry.connections):,} receivers' code for what they write…")
        graph = self.graph(filters, follow_calls=follow_calls)
        step("Checking the wiring…")
        findings = tuple(self.check(follow_calls=follow_calls))
        step("Following what each model's create, save and delete set off…")
        impacts = self.impacts(follow_calls=follow_calls)
        step(f"Reading the source of {len(registry.connections):,} receivers…")
        return ReportData(
            registry=registry,
            graph=graph,
            findings=findings,
            sources=receiver_sources(registry),
            impacts=impacts,
            log=trace,
        )


# -- tracing -------------------------------------------------------------------


def trace(options: TraceOptions | None = None, /, **legacy: Any) -> Tracer:
    """Return a Tracer: ``with signalscope.trace() as t: ...`` then ``t.log()``.

    `options` say what it records; the keyword arguments of earlier releases
    (Tracer's: include, exclude, max_sends, capture_values, redact, ...)
    are still taken, for one release. Start and stop it explicitly with
    ``start()`` and ``stop()``.
    """
    from .tracing import Tracer

    if options is not None and legacy:
        raise UsageError("Pass TraceOptions or keyword arguments, not both.")
    return Tracer(**(options.tracer_options() if options is not None else legacy))


def trace_program(
    argv: Sequence[str],
    options: TraceOptions | None = None,
    *,
    project: ProjectOptions | str | os.PathLike[str] | None = None,
    **legacy: Any,
) -> tuple[int, TraceLog]:
    """Run a Python program in this process under a Tracer; return its exit status and the trace.

    `argv` is what would follow ``python``: ``["manage.py", "migrate"]``,
    ``["-m", "pytest", "tests/"]`` or ``["script.py", ...]``. `options` say
    what is recorded. The program sets Django up itself, as it would
    untraced: of the ProjectOptions `project`, `settings` only sets
    ``DJANGO_SETTINGS_MODULE`` first, `project` is where a script is also
    looked for, and it and `pythonpath` go first on sys.path. The keyword arguments of earlier releases (settings,
    project, pythonpath and Tracer's) are still taken, for one release.

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
    status, stream = trace_program_stream(argv, options, project=project, **legacy)
    return status, stream.log()


def trace_program_stream(
    argv: Sequence[str],
    options: TraceOptions | None = None,
    *,
    project: ProjectOptions | str | os.PathLike[str] | None = None,
    **legacy: Any,
) -> tuple[int, TraceStream]:
    """Run a program as trace_program does; return its exit status and the trace as a TraceStream.

    The same trace, never held whole: its events are made from the
    tracer's ring buffer (and the child processes' parts) a chunk at a time
    whenever the stream is read, so that any form of it can be written
    within the memory the ring buffer takes (`signalscope trace -o FILE`).
    The child processes' parts keep, with the program's own sends, the
    `max_sends` sends that ended last (the others are counted as dropped).
    Raises what trace_program raises.
    """
    from .tracing import Tracer
    from .tracing.filters import FilterCheck
    from .tracing.runner import find_program, run_program

    if legacy or not isinstance(project, ProjectOptions | None):
        where, options = _legacy_trace_options(project, options, legacy)
    else:
        where = project or ProjectOptions()
    named = [("--pythonpath", entry) for entry in where.pythonpath]
    if where.project is not None:
        named.insert(0, ("--project", where.project))
    folders = []
    for flag, entry in named:
        folder = Path(entry).resolve()
        if not folder.is_dir():
            raise UsageError(f"{flag} {entry}: no such folder.")
        folders.append(folder)
    for folder in reversed(folders):  # first: `-m module` is looked for on them too
        sys.path.insert(0, str(folder))
    command = find_program(argv, Path(where.project).resolve() if where.project is not None else None)
    if where.settings:
        os.environ["DJANGO_SETTINGS_MODULE"] = where.settings
    options = options or TraceOptions()
    if not options.children:
        tracer = Tracer(**options.tracer_options())
        check = FilterCheck(tracer)
        with check.watching():
            tracer.start()
            try:
                status = run_program(command)
            finally:
                log = tracer.stop_stream()
        check.finish(status, log)
        return status, log
    return _trace_program_whole(command, options)


def _trace_program_whole(command: list[str], options: TraceOptions) -> tuple[int, TraceStream]:
    """Run `command` traced with its child processes, and return its status and the merged trace."""
    from .model.trace import TraceProcess, merge_streams
    from .tracing.children import ChildFolder, ProcessTrace, read_part_streams, short_argv
    from .tracing.filters import FilterCheck
    from .tracing.runner import flush_streams, run_program

    folder = ChildFolder(options.child_config())
    tracer_options = {**options.tracer_options(), "on_send": None}
    trace = ProcessTrace(
        tracer_options,
        folder.path,
        is_child=False,
        on_send=options.on_send,
        live=None if options.live is None else live_printer(options.live),
        argv=short_argv(command),
    )
    check = FilterCheck(trace.tracer)
    pid = os.getpid()
    try:
        folder.activate(pytest=_runs_pytest(command))
        with check.watching():
            trace.start()
            status = 1
            try:
                status = run_program(command)
            finally:
                if os.getpid() != pid:  # a forked child of the program came back here: it ends as it would
                    trace.finish()
                    flush_streams()
                    os._exit(status)
                own = trace.stop_stream()
        parts, notes = read_part_streams(folder.path, trace.spawned, max_sends=options.max_sends)
    finally:
        folder.deactivate()
        folder.remove()
    root = TraceProcess(pid, None, trace.argv)
    own = own.replace(processes=(root,))
    # Merged only with parts to merge: merging one log changes nothing, and would read it once more.
    log = merge_streams([own, *parts], max_sends=options.max_sends) if parts else own
    log = log.replace(notes=(*log.notes, *notes))
    check.finish(status, log)
    return status, log


def trace_exclusions(
    include: tuple[str, ...], exclude: tuple[str, ...], *, include_all: bool = False
) -> tuple[str, ...] | None:
    """Return TraceOptions.exclude for what `signalscope trace` was told: `exclude` adds to the defaults.

    None (the defaults) when nothing is added; with `include_all`, or
    ``-x none`` (the old spelling), only what `exclude` names.
    """
    from .tracing.tracer import default_exclusions

    extra = tuple(name for name in exclude if name.lower() != "none")
    if include_all or len(extra) < len(exclude):
        return extra
    return (*default_exclusions(include), *extra) if extra else None


def children_events(log: TraceLog | TraceStream) -> TraceLog | TraceStream:
    """Return the events of `log` that its child processes recorded (those of the first process left out).

    A TraceLog for a TraceLog; for a TraceStream, a TraceStream of them.
    """
    from .model.trace import TraceLog as Log
    from .model.trace import TraceStream as Stream

    if not log.processes:
        return Log(events=())
    own = log.processes[0].pid
    if isinstance(log, Log):
        return Log(events=tuple(event for event in log.events if event.process != own))

    def chunks() -> Iterator[list[TraceEvent]]:
        for chunk in log.chunks():
            yield [event for event in chunk if event.process != own]

    return Stream(chunks)


def _runs_pytest(command: Sequence[str]) -> bool:
    """Return whether `command` (find_program's) runs pytest: its tests are then grouped by pytest's own ids."""
    if command[0] == "-m":
        return command[1] in ("pytest", "py.test")
    return Path(command[0]).name in ("pytest", "py.test")


def live_printer(live: LiveOptions | dict[str, Any]) -> Callable[[TraceLog], None]:
    """Return what shows one ended request's tree on stderr (a failed write stops nothing).

    `live` is LiveOptions, or its fields as a dict (a traced child's config).
    """
    from .render.registry import render

    if isinstance(live, dict):
        live = LiveOptions(**live)

    def show(log: TraceLog) -> None:
        try:
            text = render("trace", "tree", log, slow_ms=live.slow_ms, unheard=live.unheard, footer=False,
                          color=live.color, width=live.width)  # fmt: skip
            sys.stderr.write(str(text))
            sys.stderr.flush()
        except Exception:
            pass

    return show


def _legacy_trace_options(
    project: ProjectOptions | str | os.PathLike[str] | None, options: TraceOptions | None, legacy: dict[str, Any]
) -> tuple[ProjectOptions, TraceOptions]:
    """Turn trace_program's keyword arguments of earlier releases into its option records."""
    if isinstance(project, ProjectOptions) or options is not None:
        raise UsageError("Pass ProjectOptions and TraceOptions or keyword arguments, not both.")
    where = ProjectOptions(
        project=project,
        settings=legacy.pop("settings", None),
        pythonpath=tuple(legacy.pop("pythonpath", ())),
    )
    for name in ("include", "senders", "apps", "redact"):
        if name in legacy:
            legacy[name] = tuple(legacy[name])
    if legacy.get("exclude") is not None:
        legacy["exclude"] = tuple(legacy["exclude"])
    return where, TraceOptions(**legacy)


# -- live sends, for test tools (signalscope.testing) ----------------------------


def resolve_signal(spec: Any) -> Any:
    """Return the Signal that `spec` names or is: a name ("post_save") or a module:name path.

    Raises UnknownName (with close matches) and UsageError (tracing.live.resolve_signal).
    """
    from .tracing.live import resolve_signal as resolve

    return resolve(spec)


def signal_names(signal: Any) -> tuple[str, str]:
    """Return the path and the short name of the live `signal`: ("django.db.models.signals:post_save", "post_save")."""
    from .tracing.tracer import signal_name

    return signal_name(signal)


def sender_label(sender: Any) -> str | None:
    """Return the live `sender`'s label as `list` and `trace` spell it ("auth.User"), None for None."""
    from .tracing.tracer import sender_label as label

    return label(sender)


def check_sender_label(label: str, *, seen: Iterable[str] = ()) -> None:
    """Refuse a sender label no model or sender of `seen` has (case-insensitive). Raises UnknownName."""
    from .introspect.labels import check_sender_label as check

    check(label, ignore_case=True, seen=list(seen))


def receiver_path(receiver: Any) -> str:
    """Return the live `receiver`'s module:qualname path, as `list` spells it (the one namer, cached)."""
    from .introspect.naming import cached_receiver_path

    return cached_receiver_path(receiver)


def receiver_function(receiver: Any) -> Any:
    """Return the function a bound method or partial `receiver` calls, the object identity tests compare."""
    from .tracing.tracer import unbound

    return unbound(receiver)


def receiver_location(path: str) -> tuple[str | None, int | None]:
    """Return the file (relative to its sys.path entry) and first line of the receiver at `path`, if imported."""
    from .introspect.naming import resolve_receiver, source_location
    from .loader import relative_to_sys_path

    found = resolve_receiver(path)
    return (None, None) if found is None else source_location(found, relative_to_sys_path)


def connected_receivers() -> tuple[set[str], set[int]]:
    """Return the paths and the function ids of every receiver connected to a module-level signal now."""
    from .tracing.live import connected_receivers as connected

    return connected()


def record_sends(signals: Sequence[Any], keep: Callable[[Any, Any], bool]) -> Recording:
    """Return a started Recording of the sends of `signals` (objects; none: all but pre_init and post_init),
    keeping the live arguments of the sends `keep(signal, sender)` accepts."""
    from .tracing.live import Recording

    return Recording(list(signals), keep).start()


def mute_on(silences: Callable[[Any, Any], bool]) -> None:
    """Skip the receiver calls `silences(signal, receiver)` is true of until `mute_off` (tracing.live)."""
    from .tracing.live import mute_on as on

    on(silences)


def mute_off(silences: Callable[[Any, Any], bool]) -> bool:
    """End the mute `silences`; return whether it was on."""
    from .tracing.live import mute_off as off

    return off(silences)


# -- files signalscope wrote -----------------------------------------------------


def read_json(path: str | os.PathLike[str]) -> Any:
    """Return the JSON in the file `path`. Raises UsageError (unreadable, not UTF-8, not JSON, nested too deep)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise UsageError(f"Can't read {os.fspath(path)}: {exc.strerror or exc}.") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{os.fspath(path)} is not JSON: it is not UTF-8 text ({exc.reason} at byte {exc.start})."
        ) from exc
    return _parse_json(os.fspath(path), text)


def _parse_json(path: str, text: str) -> Any:
    import json

    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not JSON: {exc}.") from exc
    except RecursionError:  # [[[[...]]]]: no file signalscope writes nests that deep
        raise UsageError(f"{path} is not a file signalscope wrote: its JSON nests too deep to read.") from None


def read_snapshot(path: str | os.PathLike[str], *, git_ref: str | None = None) -> dict[str, Any]:
    """Return the snapshot in the file `path`, or in `path` as committed at `git_ref` (``git show``).

    Raises UsageError: unreadable, not JSON, not a snapshot (saying where
    in it), from a newer signalscope, or git failing.
    """
    import subprocess

    from .model.snapshot import check_snapshot

    name = os.fspath(path)
    if git_ref is not None:
        spec = f"{git_ref}:./{name}" if not name.startswith("./") else f"{git_ref}:{name}"
        try:
            proc = subprocess.run(["git", "show", spec], capture_output=True, text=True, check=False)
        except OSError as exc:
            raise UsageError(f"--git needs the git program: {exc.strerror or exc}.") from exc
        if proc.returncode != 0:
            raise UsageError(f"git show {spec} failed: {proc.stderr.strip() or 'no output'}.")
        data = _parse_json(name, proc.stdout)
    else:
        data = read_json(name)
    if not isinstance(data, dict):
        raise UsageError(f"{name} is not a signalscope snapshot.")
    try:
        return check_snapshot(data)
    except ValueError as exc:  # valid JSON, not a snapshot's shape: say which file, and where in it
        raise UsageError(f"{name}: {exc}.") from exc


def read_trace(path: str | os.PathLike[str]) -> TraceLog:
    """Return the trace in the file `path`, written by `signalscope trace --format json`.

    Raises UsageError: unreadable, not JSON, or not a trace (saying where in it).
    """
    from .model.trace import trace_from_dict

    data = read_json(path)
    try:
        return trace_from_dict(data)
    except ValueError as exc:  # JSON of the wrong shape: say where
        raise UsageError(
            f"{os.fspath(path)} is not a trace written by `signalscope trace --format json`: {exc}."
        ) from exc


def read_trace_excerpt(
    path: str | os.PathLike[str], *, limit: int, keep: Callable[[Any], bool] | None = None
) -> TraceExcerpt:
    """Return the first `limit` top-level entries of the trace in the file `path` (model.trace.TraceExcerpt).

    Read as it goes: a trace of any size takes no more memory than the
    entries shown (and a set of its ids). A file that is not a trace, or
    whose events are not in start order, is read whole by read_trace, which
    raises its UsageError or gives the excerpt.
    """
    from .model.jsonio import iter_object
    from .model.trace import event_from_dict, excerpt_of, stream_excerpt, trace_from_dict

    members: dict[str, Any] = {}

    def events() -> Iterator[Any]:
        ids: set[int] = set()
        for name, value in iter_object(handle.read, "events"):
            if name is not None:
                members[name] = value
                continue
            event = event_from_dict(value, where=f"events[{len(ids)}]")
            if event.id in ids:
                raise ValueError("an id twice")
            ids.add(event.id)
            yield event

    try:
        with open(path, encoding="utf-8") as handle:
            excerpt = stream_excerpt(events(), limit=limit, keep=keep)
        trace_from_dict({**members, "events": []})  # the other members' checks
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return excerpt_of(read_trace(path), limit=limit, keep=keep)  # its error, or a trace in no start order
    return excerpt


def environment() -> list[tuple[str, str, str]]:
    """Return (name, version, where) for signalscope, Python and Django, as `signalscope debug` shows them."""
    from . import __version__

    found = [
        ("signalscope", __version__, str(Path(__file__).resolve().parent)),
        ("python", sys.version.split()[0], sys.executable),
    ]
    try:
        import django
    except ImportError:  # pragma: no cover - a dependency
        found.append(("django", "not installed", ""))
    else:
        found.append(("django", django.get_version(), str(Path(django.__file__).resolve().parent)))
    return found


# -- the entry points of earlier releases: thin aliases, kept for one release (see CHANGELOG) ----------


def load(
    *,
    settings: str | None = None,
    project: str | os.PathLike[str] | None = None,
    pythonpath: Sequence[str | os.PathLike[str]] = (),
    urls: bool = True,
    app: bool | None = None,
) -> SignalMap:
    """Set up a Django project as manage.py would and return its signal registry.

    Deprecated: use ``Session(ProjectOptions(...)).registry``.
    """
    where = ProjectOptions(project=project, settings=settings, pythonpath=tuple(pythonpath), urls=urls, app=app)
    return Session(where).registry


def scan(project: Project) -> SignalMap:
    """Return every signal and connected receiver of the loaded `project`. Deprecated: ``Session.of(p).registry``."""
    return Session.of(project).registry


def list_receivers(project: Project, **filters: Any) -> SignalMap:
    """Scan the loaded `project` and apply `select`'s filters. Deprecated: ``Session.of(p).list(Filters(...))``."""
    if "signals" in filters:
        filters["signals"] = tuple(filters["signals"])
    return Session.of(project).list(Filters(**filters))


def cascade_map(project: Project, *, depth: int = FOLLOW_CALLS) -> CascadeMap:
    """The registry with receivers' writes. Deprecated: ``Session.of(p).cascade(depth)``."""
    return Session.of(project).cascade(depth)


def check(
    project: Project, *, select: Iterable[str] = (), ignore: Iterable[str] = (), follow_calls: int = FOLLOW_CALLS
) -> list[Finding]:
    """Run the rules on the loaded `project`. Deprecated: ``Session.of(p).check(...)``."""
    return Session.of(project).check(select=select, ignore=ignore, follow_calls=follow_calls)


def impact_tree(
    project: Project, model: str, action: str, *, depth: int = 8, follow_calls: int = FOLLOW_CALLS
) -> ImpactNode:
    """What runs when `action` is done to `model`. Deprecated: ``Session.of(p).impact(...).tree``."""
    return Session.of(project).impact(model, action, depth=depth, follow_calls=follow_calls).tree


def impact_trees(
    project: Project, *, depth: int = 8, follow_calls: int = FOLLOW_CALLS
) -> dict[str, dict[str, ImpactNode]]:
    """`impact` trees of every model. Deprecated: ``Session.of(p).impacts(...)``."""
    return Session.of(project).impacts(follow_calls=follow_calls, depth=depth)


def dependency_graph(
    project: Project,
    *,
    model: str | None = None,
    depth: int | None = None,
    cascade: bool = True,
    follow_calls: int = FOLLOW_CALLS,
    **filters: Any,
) -> nx.MultiDiGraph:
    """The dependency graph of the loaded `project`. Deprecated: ``Session.of(p).graph(...)``."""
    if "signals" in filters:
        filters["signals"] = tuple(filters["signals"])
    return Session.of(project).graph(
        Filters(**filters), model=model, depth=depth, cascade=cascade, follow_calls=follow_calls
    )


def receiver_sources(smap: SignalMap, *, lines: int = 12) -> dict[str, str]:
    """The first `lines` lines of each receiver's source. Deprecated: introspect.naming.receiver_sources."""
    from .introspect.naming import receiver_sources as sources

    return sources(smap, lines=lines)


def graph_format(fmt: str | None, output: str | None) -> str:
    """The graph format of `fmt` or `output`'s extension. Deprecated: render.registry.choose_format."""
    from .render.registry import choose_format

    return choose_format("graph", fmt, output, default="dot")


def render_graph(graph: Any, fmt: str, *, rankdir: str = "LR", cluster_by_app: bool = False) -> str | bytes:
    """`graph` in `fmt`. Deprecated: ``render.registry.render("graph", fmt, graph, ...)``."""
    from .render.registry import render

    return render("graph", fmt, graph, rankdir=rankdir, cluster_by_app=cluster_by_app)


def run_graphviz(dot_text: str, fmt: str, *, timeout: float | None = None) -> bytes:
    """`dot_text` drawn by Graphviz. Deprecated: render.graphviz.run_graphviz."""
    from .render.graphviz import run_graphviz as run

    return run(dot_text, fmt, timeout=timeout)

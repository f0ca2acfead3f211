"""Typer commands: parse options, call one api function, render, write. No Django here."""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .. import __version__
from .._files import check_output, open_output_stream
from .console import progress, use_color, width, write_output, write_stdout
from .main import reporting_errors

app = typer.Typer(
    name="signalscope",
    help="See, trace and check the signals of a Django project.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

PROJECT_PANEL = "Project"
FILTER_PANEL = "Filters"

ProjectOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--project",
        metavar="DIR",
        help="Folder holding the project's manage.py; its default settings are read without running it.",
        rich_help_panel=PROJECT_PANEL,
        file_okay=False,
    ),
]
SettingsOpt = Annotated[
    Optional[str],
    typer.Option(
        "--settings",
        metavar="MODULE",
        help="Settings module, e.g. mysite.settings (default: $DJANGO_SETTINGS_MODULE, then manage.py's).",
        rich_help_panel=PROJECT_PANEL,
    ),
]
PythonPathOpt = Annotated[
    Optional[list[Path]],
    typer.Option(
        "--pythonpath",
        metavar="DIR",
        help="Folder to put on sys.path first (repeatable).",
        rich_help_panel=PROJECT_PANEL,
        file_okay=False,
    ),
]
NoUrlsOpt = Annotated[
    bool,
    typer.Option(
        "--no-urls",
        help="Don't import ROOT_URLCONF (receivers connected at URL import time are then missed).",
        rich_help_panel=PROJECT_PANEL,
    ),
]
TracebackOpt = Annotated[
    bool,
    typer.Option("--traceback", help="Show the full traceback of a failure.", rich_help_panel=PROJECT_PANEL),
]


def _version(value: bool) -> None:
    if value:
        write_stdout(f"signalscope {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit."),
    ] = False,
) -> None:
    """See, trace and check the signals of a Django project.

    signalscope loads your project as manage.py would and shows every
    receiver connected to every signal, exactly.
    """


def _load(api: Any, project: Path | None, settings: str | None, pythonpath: list[Path] | None, no_urls: bool) -> Any:
    """Load the project from the common options, for a command whose process ends after its output."""
    loaded = api.load_project(settings=settings, project=project, pythonpath=tuple(pythonpath or ()), urls=not no_urls)
    # This process ends after printing, and what the scan and the renderers
    # allocate is freed by reference counting: cyclic collections would only
    # walk Django's objects again and again, which costs more than the scan.
    gc.disable()
    return loaded


LIST_EPILOG = """\
[bold]Examples[/bold]

  signalscope list --project fixtures/shop

  signalscope list --signal post_save --sender auth.User

  signalscope list --app accounts --tree

  signalscope list --receiver 'orders.*' --hide-django --json > signals.json

Exit codes: 0 ok, 2 usage or project-load error.
"""


SignalFilter = Annotated[
    Optional[list[str]],
    typer.Option(
        "--signal",
        "-s",
        metavar="NAME",
        help="Only this signal: a name (post_save) or path (django.db.models.signals:post_save). Repeatable.",
        rich_help_panel=FILTER_PANEL,
    ),
]
SenderFilter = Annotated[
    Optional[str],
    typer.Option(
        "--sender",
        metavar="LABEL",
        help="Only receivers that run when this sender (app_label.ModelName) sends, "
        "any-sender ones included, in the order Django calls them.",
        rich_help_panel=FILTER_PANEL,
    ),
]
AppFilter = Annotated[
    Optional[str],
    typer.Option(
        "--app", metavar="LABEL", help="Only receivers defined in this app (its label).", rich_help_panel=FILTER_PANEL
    ),
]
ReceiverFilter = Annotated[
    Optional[str],
    typer.Option(
        "--receiver",
        metavar="GLOB",
        help="Only receivers whose module:qualname path matches this glob, e.g. 'accounts.*'.",
        rich_help_panel=FILTER_PANEL,
    ),
]
FollowCalls = Annotated[
    int,
    typer.Option(
        "--follow-calls",
        min=0,
        metavar="N",
        help="Read into the project's own functions that receivers call, N calls deep.",
    ),
]
HideDjango = Annotated[
    bool,
    typer.Option("--hide-django", help="Hide receivers defined inside Django itself.", rich_help_panel=FILTER_PANEL),
]


@app.command("list", epilog=LIST_EPILOG)
def list_command(
    project: ProjectOpt = None,
    settings: SettingsOpt = None,
    pythonpath: PythonPathOpt = None,
    no_urls: NoUrlsOpt = False,
    traceback: TracebackOpt = False,
    signal: SignalFilter = None,
    sender: SenderFilter = None,
    app_label: AppFilter = None,
    receiver: ReceiverFilter = None,
    hide_django: HideDjango = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the registry as JSON (schema in the README).")] = False,
    tree: Annotated[bool, typer.Option("--tree", help="Show signal → sender → receivers as a tree.")] = False,
) -> None:
    """List every receiver connected to every signal, in the order Django calls them.

    The # column is the receiver's place in the call order for a send from
    that sender (receivers for any sender included).
    """
    with reporting_errors(show_traceback=traceback):
        from .. import api

        with progress("Loading the Django project…"):
            loaded = _load(api, project, settings, pythonpath, no_urls)
            smap = api.list_receivers(
                loaded,
                signals=signal or (),
                sender=sender,
                app=app_label,
                receiver=receiver,
                hide_django=hide_django,
            )
        if as_json:
            from ..render.json import render_json

            write_stdout(render_json(smap))
            return
        from ..render import text

        if use_color(sys.stdout):
            render = text.render_rich_tree if tree else text.render_rich_table
            write_stdout(render(smap, color=True, width=width()))
        else:
            write_stdout(text.render_plain_tree(smap) if tree else text.render_plain_table(smap))


GRAPH_EPILOG = """\
[bold]Examples[/bold]

  signalscope graph --project fixtures/shop -o signals.svg

  signalscope graph --model auth.User --depth 3 --format mermaid

  signalscope graph --hide-django --cluster-by-app --rankdir TB -o signals.dot

The format comes from --format, else from the -o file's extension (.dot .gv .mmd .json .graphml .svg .png),
else DOT. svg and png need Graphviz's dot program.
"""


@app.command("graph", epilog=GRAPH_EPILOG)
def graph_command(
    project: ProjectOpt = None,
    settings: SettingsOpt = None,
    pythonpath: PythonPathOpt = None,
    no_urls: NoUrlsOpt = False,
    traceback: TracebackOpt = False,
    signal: SignalFilter = None,
    sender: SenderFilter = None,
    app_label: AppFilter = None,
    receiver: ReceiverFilter = None,
    hide_django: HideDjango = False,
    model: Annotated[
        Optional[str],
        typer.Option(
            "--model",
            metavar="LABEL",
            help="Only what a write to this model (app_label.ModelName) can set off.",
            rich_help_panel=FILTER_PANEL,
        ),
    ] = None,
    depth: Annotated[
        Optional[int],
        typer.Option(
            "--depth", min=0, metavar="N", help="With --model: at most N receivers deep.", rich_help_panel=FILTER_PANEL
        ),
    ] = None,
    no_cascade: Annotated[
        bool,
        typer.Option(
            "--no-cascade", help="Leave out what receivers write (one hop only).", rich_help_panel=FILTER_PANEL
        ),
    ] = False,
    follow_calls: FollowCalls = 2,
    fmt: Annotated[
        Optional[str],
        typer.Option("--format", "-f", metavar="FORMAT", help="dot, mermaid, json, graphml, svg or png."),
    ] = None,
    output: Annotated[
        Optional[str], typer.Option("--output", "-o", metavar="FILE", help="Write here (- for stdout).")
    ] = None,
    rankdir: Annotated[
        str, typer.Option("--rankdir", metavar="DIR", help="Layout direction: TB, LR, BT or RL (DOT, Mermaid).")
    ] = "LR",
    cluster_by_app: Annotated[
        bool, typer.Option("--cluster-by-app", help="Group each app's receivers and models (DOT: cluster_<app>).")
    ] = False,
) -> None:
    """Draw what triggers what: senders, signals, receivers, and what receivers write in turn.

    Receivers' code is read (never run) to find the ORM writes and signal
    sends that cascade into further signals; loops are drawn in red.
    """
    with reporting_errors(show_traceback=traceback):
        from .. import api
        from ..errors import UsageError

        if rankdir.upper() not in ("TB", "LR", "BT", "RL"):
            raise UsageError(f"--rankdir {rankdir}: choose TB, LR, BT or RL.")
        chosen = api.graph_format(fmt, output)
        check_output(output)
        with progress("Loading the Django project…"):
            loaded = _load(api, project, settings, pythonpath, no_urls)
            graph = api.dependency_graph(
                loaded,
                signals=signal or (),
                sender=sender,
                app=app_label,
                receiver=receiver,
                hide_django=hide_django,
                model=model,
                depth=depth,
                cascade=not no_cascade,
                follow_calls=follow_calls,
            )
        command = _command_line("graph", settings=settings, model=model, depth=depth)
        data = api.render_graph(graph, chosen, rankdir=rankdir.upper(), cluster_by_app=cluster_by_app, command=command)
        write_output(output, data)


def _command_line(name: str, **options: object) -> str:
    """Return the command as a header comment shows it: the options that shape the graph.

    Never `--project`: output holds no paths. Values are quoted as a shell
    reads them; the renderer escapes any control character left.
    """
    import shlex

    parts = ["signalscope", name]
    for key, value in options.items():
        if value is not None:
            parts.append(f"--{key.replace('_', '-')} {shlex.quote(str(value))}")
    return " ".join(parts)


IMPACT_EPILOG = """\
[bold]Examples[/bold]

  signalscope impact auth.User --action create --project fixtures/shop

  signalscope impact billing.Payment --action save --depth 4

  signalscope impact orders.Order --action delete --json
"""


@app.command("impact", epilog=IMPACT_EPILOG)
def impact_command(
    model: Annotated[str, typer.Argument(metavar="MODEL", help="The model written: app_label.ModelName.")],
    action: Annotated[
        str, typer.Option("--action", "-a", metavar="ACTION", help="create, save, update, delete or m2m.")
    ] = "save",
    project: ProjectOpt = None,
    settings: SettingsOpt = None,
    pythonpath: PythonPathOpt = None,
    no_urls: NoUrlsOpt = False,
    traceback: TracebackOpt = False,
    depth: Annotated[int, typer.Option("--depth", min=0, metavar="N", help="Follow cascades N receivers deep.")] = 8,
    follow_calls: FollowCalls = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print the tree as JSON.")] = False,
) -> None:
    """Show everything that runs, in Django's order, when a model is written.

    Each signal lists its receivers in call order, each receiver what its
    code writes (read, not run), and each write the signals it sends in
    turn. Loops are marked; update() and bulk_create(), which send nothing,
    are shown as such.
    """
    with reporting_errors(show_traceback=traceback):
        from .. import api

        with progress("Loading the Django project…"):
            loaded = _load(api, project, settings, pythonpath, no_urls)
            tree = api.impact_tree(loaded, model, action, depth=depth, follow_calls=follow_calls)
        from ..render import impact as render

        if as_json:
            write_stdout(render.render_impact_json(tree, model=model, action=action))
        elif use_color(sys.stdout):
            write_stdout(render.render_impact_rich(tree, color=True, width=width()))
        else:
            write_stdout(render.render_impact_text(tree))


DEBUG_EPILOG = """\
[bold]Examples[/bold]

  signalscope debug

  signalscope debug --project fixtures/shop
"""


@app.command("debug", epilog=DEBUG_EPILOG)
def debug_command(
    project: ProjectOpt = None,
    settings: SettingsOpt = None,
    pythonpath: PythonPathOpt = None,
    no_urls: NoUrlsOpt = False,
    traceback: TracebackOpt = False,
) -> None:
    """Show versions, paths and where the settings came from, then load the project."""
    with reporting_errors(show_traceback=traceback):
        from .. import api

        lines = [
            f"signalscope {__version__} ({Path(__file__).resolve().parent.parent})",
            f"python {sys.version.split()[0]} ({sys.executable})",
        ]
        try:
            import django

            lines.append(f"django {django.get_version()} ({Path(django.__file__).resolve().parent})")
        except ImportError:  # pragma: no cover - a dependency
            lines.append("django: not installed")
        write_stdout("\n".join(lines) + "\n")
        loaded = api.load_project(
            settings=settings, project=project, pythonpath=tuple(pythonpath or ()), urls=not no_urls
        )
        write_stdout(
            f"settings {loaded.settings_module} (from {loaded.settings_source})\n"
            f"project root {loaded.root or '-'}\n"
            f"sys.path added {', '.join(str(p) for p in loaded.added_paths)}\n"
            f"ROOT_URLCONF imported: {'yes' if loaded.urls_loaded else 'no'}\n"
        )


TRACE_EPILOG = """\
[bold]Examples[/bold]

  signalscope trace --project fixtures/shop -- manage.py migrate --run-syncdb

  signalscope trace -- manage.py createsuperuser --noinput --username ada --email ada@example.com

  signalscope trace --slow 5 -- manage.py test accounts

  signalscope trace --format chrome -o trace.json -- manage.py migrate   [dim](open in ui.perfetto.dev)[/dim]

  signalscope trace --format jsonl -o signals.jsonl --signal post_save -- -m pytest tests/

The program runs in this process, as python would run it, with every signal send recorded; its exit
status is signalscope's. The tree and the summary go to stderr (the program keeps stdout) unless -o names
a file; json, jsonl and chrome go to signalscope-trace.json, .jsonl or .perfetto.json unless -o names one.
jsonl is written as the program runs, one event per line, each send's events when the send ends.
"""

TRACE_FORMATS = ("tree", "summary", "json", "jsonl", "chrome")
_TRACE_DEFAULT_FILES = {
    "json": "signalscope-trace.json",
    "jsonl": "signalscope-trace.jsonl",
    "chrome": "signalscope-trace.perfetto.json",
}


@app.command(
    "trace",
    epilog=TRACE_EPILOG,
    context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True},
)
def trace_command(
    command: Annotated[
        Optional[list[str]],
        typer.Argument(
            metavar="-- PROGRAM [ARGS]...",
            help="What to run, as after python: manage.py migrate, -m pytest tests/, script.py ...",
            show_default=False,
        ),
    ] = None,
    project: ProjectOpt = None,
    settings: SettingsOpt = None,
    pythonpath: PythonPathOpt = None,
    traceback: TracebackOpt = False,
    signal: SignalFilter = None,
    exclude: Annotated[
        Optional[list[str]],
        typer.Option(
            "--exclude",
            "-x",
            metavar="NAME",
            help="Leave out this signal (repeatable; default: pre_init and post_init unless --signal names them; "
            "--exclude none keeps all).",
            rich_help_panel=FILTER_PANEL,
        ),
    ] = None,
    sender: Annotated[
        Optional[list[str]],
        typer.Option(
            "--sender",
            metavar="LABEL",
            help="Only sends from this sender, e.g. auth.User (repeatable).",
            rich_help_panel=FILTER_PANEL,
        ),
    ] = None,
    app_label: Annotated[
        Optional[list[str]],
        typer.Option(
            "--app",
            metavar="LABEL",
            help="Only sends whose sender is in this app (repeatable).",
            rich_help_panel=FILTER_PANEL,
        ),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", metavar="FORMAT", help="tree, summary, json, jsonl or chrome.")
    ] = "tree",
    output: Annotated[
        Optional[str], typer.Option("--output", "-o", metavar="FILE", help="Write here (- for stdout).")
    ] = None,
    slow: Annotated[
        float, typer.Option("--slow", min=0, metavar="MS", help="Highlight receivers that took at least MS ms.")
    ] = 10.0,
    capture_values: Annotated[
        bool,
        typer.Option(
            "--capture-values", help="Record argument values (reprs), not just types; secrets are still redacted."
        ),
    ] = False,
    max_sends: Annotated[
        int, typer.Option("--max-sends", min=1, metavar="N", help="Keep the last N sends (older ones are counted).")
    ] = 50_000,
    show_unheard: Annotated[
        bool, typer.Option("--show-unheard", help="Show sends that no receiver heard in the tree too.")
    ] = False,
) -> None:
    """Run a Python program and record every signal send: a causal tree with timings.

    Each send shows the receivers it called, in order, with their times, and
    under each receiver the sends it made in turn: `user.save()` →
    post_save(auth.User) → create_user_profile → post_save(accounts.Profile) …
    """
    with reporting_errors(show_traceback=traceback):
        from .. import api
        from ..errors import UsageError

        if fmt not in TRACE_FORMATS:
            raise UsageError(f"--format {fmt}: choose one of {', '.join(TRACE_FORMATS)}.")
        excluded = None if exclude is None else [name for name in exclude if name.lower() != "none"]
        target = output if output is not None else _TRACE_DEFAULT_FILES.get(fmt)
        check_output(target)  # before the program runs, not after
        stream = _JsonlSink(target) if fmt == "jsonl" else None
        on_send = stream.write_send if stream is not None else None
        try:
            status, log = api.trace_program(
                command or [],
                settings=settings,
                project=project,
                pythonpath=pythonpath or (),
                include=signal or (),
                exclude=excluded,
                senders=sender or (),
                apps=app_label or (),
                capture_values=capture_values,
                max_sends=max_sends,
                on_send=on_send,
            )
        except BaseException:
            if stream is not None:
                stream.close(ran=False)
            raise
        if stream is not None:
            stream.close(ran=True)
        _report_trace(log, fmt, target, slow, show_unheard)
        _exit_as_program(status)


class _JsonlSink:
    """trace's jsonl destination: opened at the first send (or at the end), so a program that
    can't start leaves an existing file as it was; each send's events are written when it ends."""

    def __init__(self, target: str | None) -> None:
        self.target = target
        self.stream: Any = None
        self.owned = False
        self.broken = False

    def _open(self) -> Any:
        if self.stream is None:
            if self.target in (None, "-"):
                self.stream = sys.stdout
            else:
                self.stream = open_output_stream(self.target)
                self.owned = True
        return self.stream

    def write_send(self, events: Any, root: int) -> None:
        from ..render.trace import render_jsonl

        if self.broken or not events:
            return
        try:
            stream = self._open()
            stream.write(render_jsonl(events))
            stream.flush()
        except Exception:  # a closed pipe (| head), a full disk: stop writing, let the program run on
            self.broken = True

    def close(self, *, ran: bool) -> None:
        """Close the file; when the program `ran` and sent nothing, create it empty. Raises OutputError."""
        try:
            if ran:
                self._open()
        finally:
            if self.owned:
                self.stream.close()


def _report_trace(log: Any, fmt: str, target: str | None, slow: float, unheard: bool) -> None:
    from ..render import trace as render
    from .console import error

    if fmt == "jsonl":
        if target not in (None, "-"):
            error(f"signalscope: wrote {len(log.events)} events to {target}")
        return
    if fmt in ("json", "chrome"):
        data = render.render_trace_json(log) if fmt == "json" else render.render_chrome(log, pid=os.getpid())
        write_output(target, data)
        if target not in (None, "-"):
            error(f"signalscope: wrote {len(log.events)} events to {target}")
        return
    stream = sys.stdout if target == "-" else sys.stderr
    if target not in (None, "-"):
        text = "" if fmt == "summary" else render.render_plain_tree(log, slow_ms=slow, unheard=unheard) + "\n"
        write_output(target, text + render.render_plain_summary(log))
        return
    if use_color(stream):
        text = (
            ""
            if fmt == "summary"
            else render.render_rich_tree(log, slow_ms=slow, unheard=unheard, color=True, width=width())
        )
        text += render.render_rich_summary(log, color=True, width=width())
    else:
        text = "" if fmt == "summary" else render.render_plain_tree(log, slow_ms=slow, unheard=unheard) + "\n"
        text += render.render_plain_summary(log)
    if stream is sys.stdout:
        write_output(None, text)  # a closed pipe or a full disk: an error of its own, not a crash
        return
    try:
        stream.write(text)
        stream.flush()
    except OSError:  # stderr itself is gone: nowhere left to say anything
        pass


def _exit_as_program(status: int) -> None:
    """Exit with the traced program's `status`; -N (run_program's INTERRUPTED) ends this process by signal N.

    Python ends a program stopped by an uncaught KeyboardInterrupt by killing
    itself with SIGINT, once its traceback is printed and its threads and atexit
    handlers are done: a shell then sees the signal and stops a script too,
    where an exit status of 130 would have it carry on. The report is written by then.
    """
    import contextlib
    import signal

    if status >= 0:
        raise typer.Exit(status)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe or stream: nothing left to keep
            stream.flush()
    if os.name == "posix":
        signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
    # Where no signal can end it (Windows), python exits with STATUS_CONTROL_C_EXIT, else 128 + N.
    raise typer.Exit(0xC000013A if os.name == "nt" else 128 - status)


CHECK_EPILOG = """\
[bold]Examples[/bold]

  signalscope check --project fixtures/pitfalls

  signalscope check --format github                     [dim](annotations in a GitHub Actions job)[/dim]

  signalscope check --format sarif -o signalscope.sarif   [dim](for code scanning)[/dim]

  signalscope check --ignore SS006 --fail-on error

Rules: SS001 receiver never connected, SS002 duplicate connection, SS003 dead or doomed weak receiver,
SS004 unresolved lazy sender, SS005 cascade cycle, SS006 receiver on every sender of a hot signal,
SS007 sender that never sends the signal (the README explains each, and its fix).
Exit codes: 0 no finding at or above --fail-on, 1 findings, 2 usage or project-load error.
"""

CHECK_FORMATS = ("text", "json", "github", "sarif")


@app.command("check", epilog=CHECK_EPILOG)
def check_command(
    project: ProjectOpt = None,
    settings: SettingsOpt = None,
    pythonpath: PythonPathOpt = None,
    no_urls: NoUrlsOpt = False,
    traceback: TracebackOpt = False,
    fmt: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help="text, json, github or sarif.")] = "text",
    output: Annotated[
        Optional[str], typer.Option("--output", "-o", metavar="FILE", help="Write here (- for stdout).")
    ] = None,
    select: Annotated[
        Optional[list[str]], typer.Option("--select", metavar="RULE", help="Only these rules (repeatable).")
    ] = None,
    ignore: Annotated[
        Optional[list[str]], typer.Option("--ignore", metavar="RULE", help="Not these rules (repeatable).")
    ] = None,
    fail_on: Annotated[
        str, typer.Option("--fail-on", metavar="LEVEL", help="Exit 1 on findings at or above: warning or error.")
    ] = "warning",
    follow_calls: FollowCalls = 2,
) -> None:
    """Find signal wiring bugs: receivers never connected, connected twice, dead, waiting forever, looping.

    Reads the loaded project's registry and its source (with ast: nothing
    of yours is run beyond what manage.py would) and reports each problem
    with its rule id, file and line.
    """
    with reporting_errors(show_traceback=traceback):
        from .. import __version__, api
        from ..checks import at_or_above
        from ..errors import UsageError
        from ..render import check as render

        if fmt not in CHECK_FORMATS:
            raise UsageError(f"--format {fmt}: choose one of {', '.join(CHECK_FORMATS)}.")
        if fail_on not in ("warning", "error"):
            raise UsageError(f"--fail-on {fail_on}: choose warning or error.")
        check_output(output)
        select_ids = [rule.upper() for item in select or () for rule in item.split(",") if rule]
        ignore_ids = [rule.upper() for item in ignore or () for rule in item.split(",") if rule]
        with progress("Loading the Django project…"):
            loaded = _load(api, project, settings, pythonpath, no_urls)
            findings = api.check(loaded, select=select_ids, ignore=ignore_ids, follow_calls=follow_calls)
        if fmt == "json":
            text = render.render_check_json(findings)
        elif fmt == "github":
            text = render.render_check_github(findings)
        elif fmt == "sarif":
            text = render.render_check_sarif(findings, version=__version__)
        else:
            text = render.render_check_text(findings)
        write_output(output, text)
        if at_or_above(findings, fail_on):
            raise typer.Exit(1)


SNAPSHOT_EPILOG = """\
[bold]Examples[/bold]

  signalscope snapshot -o signals.lock.json

  signalscope diff signals.lock.json            [dim](exit 1 if the wiring changed)[/dim]

The snapshot lists what is connected to what (signal, sender, receiver, dispatch_uid, weak/dead/pending),
without files or lines, sorted: commit it, and `signalscope diff` in CI shows every wiring change.
"""


@app.command("snapshot", epilog=SNAPSHOT_EPILOG)
def snapshot_command(
    project: ProjectOpt = None,
    settings: SettingsOpt = None,
    pythonpath: PythonPathOpt = None,
    no_urls: NoUrlsOpt = False,
    traceback: TracebackOpt = False,
    output: Annotated[
        Optional[str], typer.Option("--output", "-o", metavar="FILE", help="Write here (default: stdout).")
    ] = None,
    include_django: Annotated[
        bool, typer.Option("--include-django", help="Keep Django's own receivers (they change with Django).")
    ] = False,
) -> None:
    """Write the project's signal wiring as a stable, sorted JSON snapshot (for review and `diff`)."""
    with reporting_errors(show_traceback=traceback):
        from .. import api
        from ..model.snapshot import snapshot_dict, snapshot_json

        check_output(output)
        with progress("Loading the Django project…"):
            loaded = _load(api, project, settings, pythonpath, no_urls)
            data = snapshot_dict(api.scan(loaded), include_django=include_django)
        write_output(output, snapshot_json(data))


DIFF_EPILOG = """\
[bold]Examples[/bold]

  signalscope diff signals.lock.json                 [dim](the snapshot against the project now)[/dim]

  signalscope diff old.json new.json

  signalscope diff --git origin/main signals.lock.json   [dim](the snapshot committed there against now)[/dim]

Exit codes: 0 no change, 1 changes, 2 usage or project-load error.
"""


@app.command("diff", epilog=DIFF_EPILOG)
def diff_command(
    old: Annotated[str, typer.Argument(metavar="SNAPSHOT", help="The snapshot to compare against.")],
    new: Annotated[
        Optional[str], typer.Argument(metavar="[NEW]", help="A second snapshot (default: the project now).")
    ] = None,
    git: Annotated[
        Optional[str], typer.Option("--git", metavar="REF", help="Read SNAPSHOT as committed at this git ref.")
    ] = None,
    project: ProjectOpt = None,
    settings: SettingsOpt = None,
    pythonpath: PythonPathOpt = None,
    no_urls: NoUrlsOpt = False,
    traceback: TracebackOpt = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the changes as JSON.")] = False,
) -> None:
    """Show what was added, removed or changed in the signal wiring since a snapshot; exit 1 on any change."""
    with reporting_errors(show_traceback=traceback):
        import json

        from .. import api
        from ..errors import UsageError
        from ..model.snapshot import diff_snapshots, render_diff, snapshot_dict

        before = _read_snapshot(old, git)
        if new is not None:
            if git is not None:
                raise UsageError("Give either --git REF or a second snapshot, not both.")
            after = _read_snapshot(new, None)
        else:
            with progress("Loading the Django project…"):
                loaded = _load(api, project, settings, pythonpath, no_urls)
                after = snapshot_dict(api.scan(loaded), include_django=bool(before.get("include_django")))
        try:
            changes = diff_snapshots(before, after)
        except ValueError as exc:
            raise UsageError(f"{old}: {exc}.") from exc
        if as_json:
            rows = [
                {"signal": c.signal, "sender": c.sender, "receiver": c.receiver, "dispatch_uid": c.dispatch_uid,
                 "change": c.kind, "detail": c.detail}
                for c in changes
            ]  # fmt: skip
            write_stdout(json.dumps({"schema": 1, "changes": rows}, indent=2, sort_keys=True) + "\n")
        else:
            write_stdout(render_diff(changes))
        if changes:
            raise typer.Exit(1)


def _read_snapshot(path: str, git: str | None) -> dict[str, Any]:
    """Read a snapshot file, or its content at a git ref. Raises UsageError."""
    import subprocess

    from ..errors import UsageError
    from ..model.snapshot import check_snapshot

    if git is not None:
        spec = f"{git}:./{path}" if not path.startswith("./") else f"{git}:{path}"
        try:
            proc = subprocess.run(["git", "show", spec], capture_output=True, text=True, check=False)
        except OSError as exc:
            raise UsageError(f"--git needs the git program: {exc.strerror or exc}.") from exc
        if proc.returncode != 0:
            raise UsageError(f"git show {spec} failed: {proc.stderr.strip() or 'no output'}.")
        data = _parse_json(path, proc.stdout)
    else:
        data = _read_json(path)
    if not isinstance(data, dict):
        raise UsageError(f"{path} is not a signalscope snapshot.")
    try:
        return check_snapshot(data)
    except ValueError as exc:  # valid JSON, not a snapshot's shape: say which file, and where in it
        raise UsageError(f"{path}: {exc}.") from exc


REPORT_EXAMPLES = """\
[bold]Examples[/bold]

  signalscope report --project fixtures/shop -o report/ --open

  signalscope trace -f json -o trace.json -- manage.py createsuperuser --noinput --username ada --email a@ex.com
  signalscope report -o report/ --trace trace.json

One page, report/index.html, that opens offline: findings, the dependency graph (search, filter by app,
click a node to light up its cascade), every signal with its receivers and their source, and a trace.
The graph is drawn by Graphviz's dot program, which must be installed.
"""


@app.command("report", epilog=REPORT_EXAMPLES)
def report_command(
    output: Annotated[str, typer.Option("--output", "-o", metavar="DIR", help="Folder to write index.html into.")],
    project: ProjectOpt = None,
    settings: SettingsOpt = None,
    pythonpath: PythonPathOpt = None,
    no_urls: NoUrlsOpt = False,
    traceback: TracebackOpt = False,
    trace_file: Annotated[
        Optional[str],
        typer.Option("--trace", metavar="FILE", help="Add a trace written by `signalscope trace --format json`."),
    ] = None,
    open_it: Annotated[bool, typer.Option("--open", help="Open the report in the web browser.")] = False,
    follow_calls: FollowCalls = 2,
) -> None:
    """Write an HTML report of the project's signals: findings, an interactive graph, receivers, a trace."""
    with reporting_errors(show_traceback=traceback):
        from pathlib import Path

        from .. import api
        from ..errors import OutputError
        from ..render.dot import render_dot
        from ..render.report import render_report

        log = _read_trace(trace_file) if trace_file else None
        if os.path.exists(output) and not os.path.isdir(output):
            raise OutputError(f"Can't write the report into {output}: it is not a folder.")
        if os.path.isdir(output):  # a new one is made, with its parents, once the report is ready
            check_output(os.path.join(output, "index.html"))
        with progress("Loading the Django project…"):
            loaded = _load(api, project, settings, pythonpath, no_urls)
            smap = api.scan(loaded)
            graph = api.dependency_graph(loaded, follow_calls=follow_calls)
            svg = api.run_graphviz(render_dot(graph), "svg").decode("utf-8")
            findings = api.check(loaded, follow_calls=follow_calls)
            impacts = api.impact_trees(loaded, follow_calls=follow_calls)
            html = render_report(smap, graph, svg, findings, api.receiver_sources(smap), impacts=impacts, log=log)
        folder = Path(output)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"Can't create {output}: {exc.strerror or exc}.") from exc
        target = folder / "index.html"
        write_output(str(target), html)
        from .console import error

        error(f"signalscope: wrote {target}")
        if open_it:
            import webbrowser

            webbrowser.open(target.resolve().as_uri())


def _read_json(path: str) -> Any:
    """The JSON in the file `path`. Raises UsageError (unreadable, not UTF-8, not JSON, nested too deep)."""
    from ..errors import UsageError

    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise UsageError(f"Can't read {path}: {exc.strerror or exc}.") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not JSON: it is not UTF-8 text ({exc.reason} at byte {exc.start}).") from exc
    return _parse_json(path, text)


def _parse_json(path: str, text: str) -> Any:
    import json

    from ..errors import UsageError

    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not JSON: {exc}.") from exc
    except RecursionError:  # [[[[...]]]]: no file signalscope writes nests that deep
        raise UsageError(f"{path} is not a file signalscope wrote: its JSON nests too deep to read.") from None


def _read_trace(path: str) -> Any:
    """A TraceLog from `signalscope trace --format json` output. Raises UsageError."""

    from ..errors import UsageError
    from ..render.trace import trace_from_dict

    data = _read_json(path)
    try:
        return trace_from_dict(data)
    except ValueError as exc:  # JSON of the wrong shape: say where
        raise UsageError(f"{path} is not a trace written by `signalscope trace --format json`: {exc}.") from exc

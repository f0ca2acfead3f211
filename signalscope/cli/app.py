"""Typer commands: parse the options, make one Session call, render, write, map the exit code."""

from __future__ import annotations

import functools
import gc
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from .. import __version__
from .._files import LazyOutputStream, check_output, check_output_folder, make_folder, write_output_chunks
from ..render.registry import choose_format, get, render, render_chunks
from .console import error, progress, say_written, use_color, width, write_output, write_stdout
from .examples import EXAMPLES
from .main import exit_as_program
from .options import FILTER_PANEL, FollowCalls, Output, Quiet, Read, SignalOption, format_option
from .options import command as _command

if TYPE_CHECKING:
    from ..api import Filters, ProjectOptions, Session
    from ..model.trace import TraceEvent

app = typer.Typer(
    name="signalscope",
    help="See, trace and check the signals of a Django project.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)
command = functools.partial(_command, app)


def open_session(where: ProjectOptions) -> Session:
    """Return a Session with its project loaded, for a command whose process ends after its output."""
    from .. import api

    session = api.Session(where)
    session.load()
    # This process ends after printing, and what the scan and the renderers
    # allocate is freed by reference counting: cyclic collections would only
    # walk Django's objects again and again, which costs more than the scan.
    gc.disable()
    return session


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


LOADING = "Loading the Django project…"


@command("list", epilog=EXAMPLES["list"], options=("project", "urls", "filters"))
def list_command(
    where: ProjectOptions,
    filters: Filters,
    as_json: Annotated[bool, typer.Option("--json", help="Print the registry as JSON (schema in the README).")] = False,
    tree: Annotated[bool, typer.Option("--tree", help="Show signal → sender → receivers as a tree.")] = False,
) -> None:
    """List every receiver connected to every signal, in the order Django calls them.

    The # column is the receiver's place in the call order for a send from
    that sender (receivers for any sender included).
    """
    with progress(LOADING):
        smap = open_session(where).list(filters)
    fmt = "json" if as_json else "tree" if tree else "table"
    write_stdout(render("list", fmt, smap, color=use_color(sys.stdout), width=width()))


@command("graph", epilog=EXAMPLES["graph"], options=("project", "urls", "filters"))
def graph_command(
    where: ProjectOptions,
    filters: Filters,
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
    read: Read = "site-packages",
    collapse_senders: Annotated[
        bool,
        typer.Option(
            "--collapse-senders",
            help="One node per signal, for a summary (paths through a signal then join unrelated senders).",
        ),
    ] = False,
    fmt: Annotated[Optional[str], format_option("graph")] = None,
    output: Output = None,
    rankdir: Annotated[
        str, typer.Option("--rankdir", metavar="DIR", help="Layout direction: TB, LR, BT or RL (DOT, Mermaid).")
    ] = "LR",
    cluster_by_app: Annotated[
        bool, typer.Option("--cluster-by-app", help="Group each app's receivers and models (DOT: cluster_<app>).")
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Draw what triggers what: senders, their sends, receivers, and what receivers write in turn.

    Each send of a signal by a sender is its own node (post_save(auth.User)),
    so a path never joins unrelated senders. Receivers' code is read (never
    run) to find the ORM writes and signal sends that cascade into further
    sends; loops are drawn in red.
    """
    from ..errors import UsageError
    from ..render.registry import choose_format

    if rankdir.upper() not in ("TB", "LR", "BT", "RL"):
        raise UsageError(f"--rankdir {rankdir}: choose TB, LR, BT or RL.")
    chosen = choose_format("graph", fmt, output, default="dot")
    _note_mismatch("graph", fmt, output)
    check_output(output)
    if get("graph", chosen).is_binary:
        from ..render.graphviz import require_dot

        require_dot(chosen)  # before the project loads: a missing Graphviz fails at once
    with progress(LOADING) as step:
        graph = open_session(where).graph(
            filters,
            model=model,
            depth=depth,
            cascade=not no_cascade,
            follow_calls=follow_calls,
            read=read,
            collapse_senders=collapse_senders,
        )
        if get("graph", chosen).is_binary:  # svg, png: Graphviz's layout is what takes the time
            step(f"Laying out {graph.number_of_nodes():,} nodes with Graphviz…")
        drawn = render("graph", chosen, graph, rankdir=rankdir.upper(), cluster_by_app=cluster_by_app)
    write_output(output, drawn)
    say_written(output, quiet=quiet)


def _note_mismatch(kind: str, fmt: str | None, output: str | None) -> None:
    """Say on stderr that --format `fmt`, as asked, goes into an `output` named for another format."""
    from ..render.registry import format_mismatch

    mismatch = format_mismatch(kind, fmt, output) if fmt else None
    if mismatch is not None:
        error(f"signalscope: note: writing {fmt} into {output} as --format asks, although {mismatch}.")


def _complete_action(incomplete: str) -> list[str]:
    from .. import api

    return [a for a in api.impact_actions() if a.startswith(incomplete)]


@command("impact", epilog=EXAMPLES["impact"])
def impact_command(
    where: ProjectOptions,
    model: Annotated[
        Optional[str], typer.Argument(metavar="[MODEL]", help="The model written: app_label.ModelName.")
    ] = None,
    action: Annotated[
        str,
        typer.Option(
            "--action",
            "-a",
            metavar="ACTION",
            help="create, save (an existing row), delete, m2m-add, m2m-remove, m2m-clear, "
            "update (QuerySet.update()) or bulk_create.",
            autocompletion=_complete_action,
        ),
    ] = "save",
    signal: Annotated[
        Optional[str],
        typer.Option("--signal", metavar="PATH_OR_NAME", help="Instead of a model: what sending this signal sets off."),
    ] = None,
    sender: Annotated[
        Optional[str],
        typer.Option(
            "--sender", metavar="LABEL", help="With --signal: who sends it (a model label, or another sender's label)."
        ),
    ] = None,
    depth: Annotated[int, typer.Option("--depth", min=0, metavar="N", help="Follow cascades N receivers deep.")] = 8,
    follow_calls: FollowCalls = 2,
    read: Read = "site-packages",
    as_json: Annotated[bool, typer.Option("--json", help="Print the tree as JSON.")] = False,
) -> None:
    """Show everything that runs, in Django's order, when a model is written or a signal is sent.

    Each signal lists its receivers in call order, each receiver what its
    code writes (read, not run: installed apps' code too, Django's with
    --read all), and each write the signals it sends in turn. Writes carry
    their condition (if created, if not raw) and on_commit() effects are
    marked; deletes follow Django's Collector: dependents first, PROTECT
    stops it. Loops are marked; update() and bulk_create(), which send
    nothing, are shown as such.
    """
    with progress(LOADING):
        found = open_session(where).impact(
            model, action, signal=signal, sender=sender, depth=depth, follow_calls=follow_calls, read=read
        )
    fmt = "json" if as_json else "text"
    color = use_color(sys.stdout)
    write_stdout(
        render(
            "impact",
            fmt,
            found.tree,
            model=found.model,
            action=found.action,
            signal=found.signal,
            color=color,
            width=width(),
        )
    )


@command("debug", epilog=EXAMPLES["debug"])
def debug_command(where: ProjectOptions) -> None:
    """Show versions, paths and where the settings came from, then load the project."""
    from .. import api

    write_stdout("".join(f"{name} {version} ({place})\n" for name, version, place in api.environment()))
    loaded = api.Session(where).load()
    write_stdout(
        f"settings {loaded.settings_module} (from {loaded.settings_source})\n"
        f"project root {loaded.root or '-'}\n"
        f"sys.path added {', '.join(str(p) for p in loaded.added_paths)}\n"
        f"ROOT_URLCONF imported: {'yes' if loaded.urls_loaded else 'no'}\n"
        f"application loaded: {loaded.application or 'no'}\n"
    )


@command(
    "trace",
    epilog=EXAMPLES["trace"],
    options=("project",),
    context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True},
)
def trace_command(
    where: ProjectOptions,
    program: Annotated[
        Optional[list[str]],
        typer.Argument(
            metavar="-- PROGRAM [ARGS]...",
            help="What to run, as after python: manage.py migrate, -m pytest tests/, script.py ...",
            show_default=False,
        ),
    ] = None,
    signal: SignalOption = None,
    exclude: Annotated[
        Optional[list[str]],
        typer.Option(
            "--exclude",
            "-x",
            metavar="NAME",
            help="Leave out this signal too (repeatable): pre_init and post_init are always left out unless "
            "--signal names them or --include-all.",
            rich_help_panel=FILTER_PANEL,
        ),
    ] = None,
    include_all: Annotated[
        bool,
        typer.Option(
            "--include-all",
            help="Leave nothing out by default (pre_init and post_init too).",
            rich_help_panel=FILTER_PANEL,
        ),
    ] = False,
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
    format_given: Annotated[Optional[str], format_option("trace", default="tree")] = None,
    output: Output = None,
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
    limit: Annotated[
        int,
        typer.Option("--limit", min=0, metavar="N", help="The tree shows the first N top-level entries (0: all)."),
    ] = 500,
    group: Annotated[
        Optional[str],
        typer.Option(
            "--group",
            metavar="BY",
            help="Group the tree's sends by request, test or none (default: by what the program did).",
        ),
    ] = None,
    children: Annotated[
        bool,
        typer.Option("--children/--no-children", help="Trace the program's Python child processes too (default)."),
    ] = True,
    quiet: Quiet = False,
) -> None:
    """Run a Python program and record every signal send: a causal tree with timings.

    Each send shows the receivers it called, in order, with their times, and
    under each receiver the sends it made in turn: `user.save()` →
    post_save(auth.User) → create_user_profile → post_save(accounts.Profile) …
    """
    from .. import api

    fmt = choose_format("trace", format_given, output, default="tree")  # errors before the program runs
    _note_mismatch("trace", format_given, output)
    entry = get("trace", fmt)
    from ..render.trace import GROUP_CHOICES

    if group is not None and group not in GROUP_CHOICES:
        from ..errors import UsageError

        raise UsageError(f"--group {group}: it is {', '.join(str(name) for name in GROUP_CHOICES if name)}.")
    target = output if output is not None else entry.default_file
    check_output(target)
    stream = LazyOutputStream(target) if fmt == "jsonl" else None
    # Each request's tree as it ends, when the tree goes to the terminal (runserver's requests).
    live_target = fmt == "tree" and target is None
    options = api.TraceOptions(
        include=tuple(signal or ()),
        exclude=api.trace_exclusions(tuple(signal or ()), tuple(exclude or ()), include_all=include_all),
        senders=tuple(sender or ()),
        apps=tuple(app_label or ()),
        capture_values=capture_values,
        max_sends=max_sends,
        on_send=None if stream is None else functools.partial(_write_jsonl, stream),
        children=children,
        live=api.LiveOptions(color=use_color(sys.stderr), width=width(), slow_ms=slow, unheard=show_unheard)
        if live_target
        else None,
    )
    try:
        status, log = api.trace_program_stream(program or [], options, project=where)
    except BaseException:
        if stream is not None:
            stream.close(ran=False)
        raise
    if stream is not None:
        for chunk in render_chunks("trace", "jsonl", api.children_events(log)):  # the children's, once they ended
            stream.write(chunk)
        stream.close(ran=True)
    _write_trace(
        log, fmt, target, slow_ms=slow, unheard=show_unheard, limit=limit, group=group, live=live_target, quiet=quiet
    )
    exit_as_program(status)


def _write_jsonl(stream: LazyOutputStream, events: list[TraceEvent], root: int) -> None:
    """Write one ended send's `events` as JSON lines, as the program runs."""
    from ..model.trace import TraceLog

    stream.write(render("trace", "jsonl", TraceLog(tuple(events))))


def _write_trace(
    log: Any,
    fmt: str,
    target: str | None,
    *,
    slow_ms: float,
    unheard: bool,
    limit: int = 500,
    group: str | None = None,
    live: bool = False,
    quiet: bool = False,
) -> None:
    """Write the trace's `fmt` to `target`: a file, "-" for stdout, None for stderr (the program keeps stdout)."""
    if fmt != "jsonl":
        stream = sys.stdout if target == "-" else sys.stderr
        color = target in (None, "-") and use_color(stream)
        tree = {"limit": limit, "group": group, "shown_live": live} if fmt == "tree" else {}
        # A chunk of events at a time (json, chrome): the trace's text is never held whole.
        chunks = render_chunks(
            "trace", fmt, log, slow_ms=slow_ms, unheard=unheard, pid=os.getpid(), color=color, width=width(), **tree
        )
        if target is not None or stream is sys.stdout:
            write_output_chunks(target, chunks)  # a closed pipe or a full disk: an error of its own, not a crash
        else:
            try:
                for text in chunks:
                    stream.write(str(text))
                stream.flush()
            except OSError:  # stderr itself is gone: nowhere left to say anything
                pass
    if target is not None:  # the tree on stderr says its notes itself
        say_written(target, quiet=quiet, detail=f"{log.count()} events")  # counted as it was written
        for note in log.notes:
            error(f"signalscope: {note}")


@command("check", epilog=EXAMPLES["check"])
def check_command(
    where: ProjectOptions,
    format_given: Annotated[Optional[str], format_option("check", default="text")] = None,
    output: Output = None,
    quiet: Quiet = False,
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
    root: Annotated[
        Optional[str],
        typer.Option(
            "--root",
            metavar="DIR",
            help="Show files relative to DIR (default: the repository root, the nearest folder above with .git).",
        ),
    ] = None,
) -> None:
    """Find signal wiring bugs: receivers never connected, connected twice, dead, waiting forever, looping.

    Reads the loaded project's registry and its source (with ast: nothing
    of yours is run beyond what manage.py would) and reports each problem
    with its rule id, file and line.
    """
    from ..errors import ProjectLoadError, SettingsNotFound, UsageError
    from ..model.check import at_or_above

    fmt = choose_format("check", format_given, output, default="text")
    _note_mismatch("check", format_given, output)
    if fail_on not in ("warning", "error"):
        raise UsageError(f"--fail-on {fail_on}: choose warning or error.")
    check_output(output)
    select_ids = [rule.upper() for item in select or () for rule in item.split(",") if rule]
    ignore_ids = [rule.upper() for item in ignore or () for rule in item.split(",") if rule]
    try:
        with progress(LOADING):
            findings = open_session(where).check(
                select=select_ids, ignore=ignore_ids, follow_calls=follow_calls, root=root
            )
    except (SettingsNotFound, ProjectLoadError) as exc:
        # CI reads the annotations or the SARIF log, not stderr: say it there too; main still exits 2.
        if fmt in ("github", "sarif"):
            from ..render import check as check_render

            if fmt == "github":
                write_output(output, check_render.render_check_error_github(exc.message, exc.hint))
            else:
                text = check_render.render_check_error_sarif(exc.message, exc.hint, version=__version__)
                write_output(output, text)
            say_written(output, quiet=quiet)
        raise
    write_output(output, render("check", fmt, findings))
    say_written(output, quiet=quiet)
    if at_or_above(findings, fail_on):
        raise typer.Exit(1)


@command("snapshot", epilog=EXAMPLES["snapshot"])
def snapshot_command(
    where: ProjectOptions,
    output: Annotated[
        Optional[str], typer.Option("--output", "-o", metavar="FILE", help="Write here (default: stdout).")
    ] = None,
    include_django: Annotated[
        bool, typer.Option("--include-django", help="Keep Django's own receivers (they change with Django).")
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Write the project's signal wiring as a stable, sorted JSON snapshot (for review and `diff`)."""
    choose_format("snapshot", None, output, default="json")  # -o snapshot.svg is a mistake
    check_output(output)
    with progress(LOADING):
        data = open_session(where).snapshot(include_django=include_django)
    write_output(output, render("snapshot", "json", data))
    say_written(output, quiet=quiet)


@command("diff", epilog=EXAMPLES["diff"])
def diff_command(
    where: ProjectOptions,
    old: Annotated[str, typer.Argument(metavar="SNAPSHOT", help="The snapshot to compare against.")],
    new: Annotated[
        Optional[str], typer.Argument(metavar="[NEW]", help="A second snapshot (default: the project now).")
    ] = None,
    git: Annotated[
        Optional[str], typer.Option("--git", metavar="REF", help="Read SNAPSHOT as committed at this git ref.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the changes as JSON.")] = False,
) -> None:
    """Show what was added, removed or changed in the signal wiring since a snapshot; exit 1 on any change."""
    from .. import api
    from ..errors import UsageError

    if new is not None and git is not None:
        raise UsageError("Give either --git REF or a second snapshot, not both.")
    before = api.read_snapshot(old, git_ref=git)
    if new is not None:
        changes = api.Session(where).diff(before, api.read_snapshot(new))
    else:
        with progress(LOADING):
            changes = open_session(where).diff(before)
    write_stdout(render("diff", "json" if as_json else "text", changes))
    if changes:
        raise typer.Exit(1)


@command("report", epilog=EXAMPLES["report"], options=("project", "urls", "filters"))
def report_command(
    where: ProjectOptions,
    filters: Filters,
    output: Annotated[str, typer.Option("--output", "-o", metavar="DIR", help="Folder to write index.html into.")],
    trace_file: Annotated[
        Optional[str],
        typer.Option("--trace", metavar="FILE", help="Add a trace written by `signalscope trace --format json`."),
    ] = None,
    open_it: Annotated[bool, typer.Option("--open", help="Open the report in the web browser.")] = False,
    follow_calls: FollowCalls = 2,
    quiet: Quiet = False,
) -> None:
    """Write an HTML report of the project's signals: findings, an interactive graph, receivers, a trace."""
    from .. import api
    from ..render.report import TRACE_ENTRIES, shown_in_trace

    # Only what the report shows is read into memory: a trace of a whole test suite can be millions of events.
    log = api.read_trace_excerpt(trace_file, limit=TRACE_ENTRIES, keep=shown_in_trace) if trace_file else None
    check_output_folder(output, "index.html")
    with progress(LOADING) as step:
        data = open_session(where).report(filters, trace=log, follow_calls=follow_calls, on_step=step)
        step(f"Writing the report: {data.graph.number_of_nodes():,} nodes, {len(data.sources):,} receivers' source…")
        html = render("report", "html", data)
    make_folder(output)
    target = os.path.join(output, "index.html")
    write_output(target, html)
    say_written(target, quiet=quiet)
    if open_it:
        import webbrowser

        webbrowser.open(Path(target).resolve().as_uri())

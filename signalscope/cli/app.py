"""Typer commands: parse options, call one api function, render, write. No Django here."""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .. import __version__
from .console import progress, use_color, width, write_stdout
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


LIST_EPILOG = """\
[bold]Examples[/bold]

  signalscope list --project fixtures/shop

  signalscope list --signal post_save --sender auth.User

  signalscope list --app accounts --tree

  signalscope list --receiver 'orders.*' --hide-django --json > signals.json

Exit codes: 0 ok, 2 usage or project-load error.
"""


@app.command("list", epilog=LIST_EPILOG)
def list_command(
    project: ProjectOpt = None,
    settings: SettingsOpt = None,
    pythonpath: PythonPathOpt = None,
    no_urls: NoUrlsOpt = False,
    traceback: TracebackOpt = False,
    signal: Annotated[
        Optional[list[str]],
        typer.Option(
            "--signal",
            "-s",
            metavar="NAME",
            help="Only this signal: a name (post_save) or path (django.db.models.signals:post_save). Repeatable.",
            rich_help_panel=FILTER_PANEL,
        ),
    ] = None,
    sender: Annotated[
        Optional[str],
        typer.Option(
            "--sender",
            metavar="LABEL",
            help="Only receivers that run when this sender (app_label.ModelName) sends, "
            "any-sender ones included, in the order Django calls them.",
            rich_help_panel=FILTER_PANEL,
        ),
    ] = None,
    app_label: Annotated[
        Optional[str],
        typer.Option(
            "--app",
            metavar="LABEL",
            help="Only receivers defined in this app (its label).",
            rich_help_panel=FILTER_PANEL,
        ),
    ] = None,
    receiver: Annotated[
        Optional[str],
        typer.Option(
            "--receiver",
            metavar="GLOB",
            help="Only receivers whose module:qualname path matches this glob, e.g. 'accounts.*'.",
            rich_help_panel=FILTER_PANEL,
        ),
    ] = None,
    hide_django: Annotated[
        bool,
        typer.Option(
            "--hide-django", help="Hide receivers defined inside Django itself.", rich_help_panel=FILTER_PANEL
        ),
    ] = False,
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
            loaded = api.load_project(
                settings=settings, project=project, pythonpath=tuple(pythonpath or ()), urls=not no_urls
            )
            # This process ends after printing, and what the scan and the renderers
            # allocate is freed by reference counting: cyclic collections would only
            # walk Django's objects again and again, which costs more than the scan.
            gc.disable()
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

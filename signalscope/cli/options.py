"""The options every command shares (the project, the registry filters) and the decorator that adds them."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional, get_type_hints

import typer

from ..render.registry import format_help
from .main import reporting_errors

__all__ = [
    "FILTER_OPTIONS",
    "FILTER_PANEL",
    "PROJECT_OPTIONS",
    "PROJECT_PANEL",
    "Command",
    "FollowCalls",
    "Output",
    "Quiet",
    "SignalOption",
    "command",
    "format_option",
    "reflow",
]

PROJECT_PANEL = "Project"
FILTER_PANEL = "Filters"


def _option(annotation: Any, default: Any, *names: str, **info: Any) -> Any:
    return Annotated[annotation, typer.Option(*names, **info)], default


#: The options of every command that loads the project: name -> (annotation, default).
PROJECT_OPTIONS: dict[str, tuple[Any, Any]] = {
    "project": _option(
        Optional[Path],
        None,
        "--project",
        metavar="DIR",
        help="Folder holding the project's manage.py; its default settings are read without running it.",
        rich_help_panel=PROJECT_PANEL,
        file_okay=False,
    ),
    "settings": _option(
        Optional[str],
        None,
        "--settings",
        metavar="MODULE",
        help="Settings module, e.g. mysite.settings (default: $DJANGO_SETTINGS_MODULE, then manage.py's).",
        rich_help_panel=PROJECT_PANEL,
    ),
    "pythonpath": _option(
        Optional[list[Path]],
        None,
        "--pythonpath",
        metavar="DIR",
        help="Folder to put on sys.path first (repeatable).",
        rich_help_panel=PROJECT_PANEL,
        file_okay=False,
    ),
    "no_urls": _option(
        bool,
        False,
        "--no-urls",
        help="Don't import ROOT_URLCONF (receivers connected at URL import time are then missed).",
        rich_help_panel=PROJECT_PANEL,
    ),
    "no_app": _option(
        bool,
        False,
        "--no-app",
        help="Don't load the server's application (WSGI_APPLICATION, ASGI_APPLICATION or Django's default handler) "
        "and its middleware (receivers they connect are then missed).",
        rich_help_panel=PROJECT_PANEL,
    ),
    "traceback": _option(
        bool, False, "--traceback", help="Show the full traceback of a failure.", rich_help_panel=PROJECT_PANEL
    ),
}

SignalOption = Annotated[
    Optional[list[str]],
    typer.Option(
        "--signal",
        "-s",
        metavar="NAME",
        help="Only this signal: a name (post_save) or path (django.db.models.signals:post_save). Repeatable.",
        rich_help_panel=FILTER_PANEL,
    ),
]

#: The registry filters of list and graph.
FILTER_OPTIONS: dict[str, tuple[Any, Any]] = {
    "signal": (SignalOption, None),
    "sender": _option(
        Optional[str],
        None,
        "--sender",
        metavar="LABEL",
        help="Only receivers that run when this sender (app_label.ModelName) sends, "
        "any-sender ones included, in the order Django calls them.",
        rich_help_panel=FILTER_PANEL,
    ),
    "app_label": _option(
        Optional[str],
        None,
        "--app",
        metavar="LABEL",
        help="Only receivers defined in this app (its label).",
        rich_help_panel=FILTER_PANEL,
    ),
    "receiver": _option(
        Optional[str],
        None,
        "--receiver",
        metavar="GLOB",
        help="Only receivers whose module:qualname path matches this glob, e.g. 'accounts.*'.",
        rich_help_panel=FILTER_PANEL,
    ),
    "hide_django": _option(
        bool, False, "--hide-django", help="Hide receivers defined inside Django itself.", rich_help_panel=FILTER_PANEL
    ),
}

FollowCalls = Annotated[
    int,
    typer.Option(
        "--follow-calls",
        min=0,
        metavar="N",
        help="Read into the functions that receivers call, N calls deep.",
    ),
]


def _complete_read(incomplete: str) -> list[str]:
    return [c for c in ("project", "site-packages", "all") if c.startswith(incomplete)]


Read = Annotated[
    str,
    typer.Option(
        "--read",
        metavar="WHAT",
        help="Whose receivers' code to read: project (yours only), site-packages (installed apps' too) "
        "or all (Django's as well).",
        autocompletion=_complete_read,
    ),
]
Output = Annotated[Optional[str], typer.Option("--output", "-o", metavar="FILE", help="Write here (- for stdout).")]
Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help='Don\'t say "signalscope: wrote FILE" on stderr once a file is written.')
]


def format_option(kind: str, default: str | None = None) -> Any:
    """Return the --format option of `kind`, its choices from the render registry (`default`: when not given).

    Its value is None when not given, so that a command can tell a format
    asked for (written whatever -o is named) from its default (an error
    when -o is named for another format: render.registry.choose_format).
    """
    after = f" (default: {default})" if default else ""
    return typer.Option("--format", "-f", metavar="FORMAT", help=f"{format_help(kind)}{after}.")


def reflow(text: str) -> str:
    """Return `text` with each prose paragraph on one line, for rich to wrap once to the terminal's width.

    Docstrings and epilogs are written wrapped for the source file; in rich
    markup mode typer keeps their line breaks and rich wraps each line again
    where it is wider than the terminal, so a paragraph came out wrapped
    twice (and never wider than the source's lines). A paragraph with an
    indented line (examples, commands) keeps its lines as written.
    """
    paragraphs = re.split(r"\n\s*\n", inspect.cleandoc(text))
    return "\n\n".join(
        paragraph if re.search(r"^[ \t\b]", paragraph, re.MULTILINE) else " ".join(paragraph.split())
        for paragraph in paragraphs
    ) + ("\n" if text.endswith("\n") else "")


class Command:
    """A command's callback: its own options plus the shared ones, handed to it as records.

    Typer reads the signature when it builds the command, which cli.main
    does only for the command named: working the signature out (evaluating
    every option's annotation) waits until then.
    """

    def __init__(self, func: Callable[..., None], options: tuple[str, ...]) -> None:
        self.func = func
        self.options = options
        self.__name__ = func.__name__
        self.__qualname__ = func.__qualname__
        self.__module__ = func.__module__
        self.__doc__ = reflow(func.__doc__) if func.__doc__ else None

    @functools.cached_property
    def __signature__(self) -> inspect.Signature:
        # The shared records are filled in here: their hints (TYPE_CHECKING imports) are not evaluated.
        hints = get_type_hints(self.func, localns={"ProjectOptions": object, "Filters": object}, include_extras=True)
        own = [
            p.replace(annotation=hints[p.name], kind=inspect.Parameter.KEYWORD_ONLY)
            for p in inspect.signature(self.func).parameters.values()
            if p.name not in ("where", "filters")
        ]
        shared = dict(PROJECT_OPTIONS)
        if "urls" not in self.options:
            del shared["no_urls"]
            del shared["no_app"]
        if "filters" in self.options:
            shared.update(FILTER_OPTIONS)
        extra = [
            inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
            for key, (annotation, default) in shared.items()
        ]
        return inspect.Signature([*own, *extra])

    @property
    def __annotations__(self) -> dict[str, Any]:  # type: ignore[override]
        return {p.name: p.annotation for p in self.__signature__.parameters.values()}

    def __call__(self, **values: Any) -> None:
        with reporting_errors(show_traceback=values.pop("traceback")):
            from ..api import Filters, ProjectOptions

            call: dict[str, Any] = {}
            call["where"] = ProjectOptions(
                project=values.pop("project"),
                settings=values.pop("settings"),
                pythonpath=tuple(values.pop("pythonpath") or ()),
                urls=not values.pop("no_urls", False),
                app=False if values.pop("no_app", False) else None,
            )
            if "filters" in self.options:
                call["filters"] = Filters(
                    signals=tuple(values.pop("signal") or ()),
                    sender=values.pop("sender"),
                    app=values.pop("app_label"),
                    receiver=values.pop("receiver"),
                    hide_django=values.pop("hide_django"),
                )
            self.func(**call, **values)


def command(
    app: typer.Typer, name: str, *, epilog: str, options: tuple[str, ...] = ("project", "urls"), **settings: Any
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register `name`, whose function takes its own options plus, as records, the shared ones.

    `options` names the shared groups: "project" (--project, --settings,
    --pythonpath, --traceback; the function gets `where`, a ProjectOptions),
    "urls" (--no-urls and --no-app) and "filters" (the registry filters; it gets
    `filters`, a Filters). Errors raised in it become messages and exit
    codes (cli.main).
    """

    def decorate(func: Callable[..., None]) -> Callable[..., None]:
        app.command(name, epilog=reflow(epilog), **settings)(Command(func, options))
        return func

    return decorate

"""`manage.py signalscope COMMAND ...`: the signalscope command line, inside the project's process."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "signalscope: list, graph, impact, check, trace, snapshot, diff (see `manage.py signalscope --help`)."

    def run_from_argv(self, argv: list[str]) -> None:
        # Every option goes to signalscope's own parser (the same as the `signalscope` program's);
        # the project is this one, already set up by manage.py.
        from signalscope.cli.main import main

        main(argv[2:])

    def handle(self, *args: Any, **options: Any) -> None:  # pragma: no cover - call_command() path
        from signalscope.cli.main import main

        main(list(args))

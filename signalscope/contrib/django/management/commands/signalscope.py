"""`manage.py signalscope COMMAND ...`: signalscope's commands over the API, in the project's own process."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from django.core.management.base import BaseCommand

COMMANDS = ("list", "graph", "impact", "check", "snapshot", "diff", "report")


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--signal", "-s", action="append", default=[], metavar="NAME", help="only this signal")
    parser.add_argument("--sender", metavar="LABEL", help="only receivers that run when this sender sends")
    parser.add_argument("--app", metavar="LABEL", help="only receivers defined in this app")
    parser.add_argument("--receiver", metavar="GLOB", help="only receivers whose path matches this glob")
    parser.add_argument("--hide-django", action="store_true", help="hide Django's own receivers")


def _quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", "-q", action="store_true", help="don't say which file was written")


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of `manage.py signalscope`: the `signalscope` program's commands, but trace and debug."""
    from signalscope.render.registry import format_help

    parser = argparse.ArgumentParser(
        prog="manage.py signalscope",
        description="signalscope in this project's process (`signalscope COMMAND --help` documents each option).",
        epilog="trace runs a program: use `signalscope trace -- manage.py COMMAND` instead.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    follow: dict[str, Any] = {"type": int, "default": 2, "metavar": "N", "help": "read N calls into the project"}

    p = commands.add_parser("list", help="every receiver of every signal, in call order")
    _filters(p)
    p.add_argument("--json", action="store_true")
    p.add_argument("--tree", action="store_true")

    p = commands.add_parser("graph", help="what triggers what")
    _filters(p)
    p.add_argument("--model", metavar="LABEL")
    p.add_argument("--depth", type=int, metavar="N")
    p.add_argument("--no-cascade", action="store_true")
    p.add_argument("--follow-calls", **follow)
    p.add_argument("--format", "-f", dest="fmt", metavar="FORMAT", help=format_help("graph"))
    p.add_argument("--output", "-o", metavar="FILE")
    p.add_argument("--rankdir", default="LR", choices=("TB", "LR", "BT", "RL"))
    p.add_argument("--cluster-by-app", action="store_true")
    p.add_argument("--collapse-senders", action="store_true")
    _quiet(p)

    p = commands.add_parser("impact", help="what runs when a model is written or a signal sent")
    p.add_argument("model", metavar="MODEL", nargs="?")
    p.add_argument("--action", "-a", default="save", metavar="ACTION")
    p.add_argument("--signal", metavar="PATH_OR_NAME")
    p.add_argument("--sender", metavar="LABEL")
    p.add_argument("--read", default="site-packages", choices=("project", "site-packages", "all"))
    p.add_argument("--depth", type=int, default=8, metavar="N")
    p.add_argument("--follow-calls", **follow)
    p.add_argument("--json", action="store_true")

    p = commands.add_parser("check", help="signal wiring bugs")
    p.add_argument("--format", "-f", dest="fmt", metavar="FORMAT", help=format_help("check") + " (default: text)")
    p.add_argument("--output", "-o", metavar="FILE")
    p.add_argument("--select", action="append", default=[], metavar="RULE")
    p.add_argument("--ignore", action="append", default=[], metavar="RULE")
    p.add_argument("--fail-on", default="warning", choices=("warning", "error"))
    p.add_argument("--follow-calls", **follow)
    p.add_argument("--root", metavar="DIR", help="show files relative to DIR (default: the repository root)")
    _quiet(p)

    p = commands.add_parser("snapshot", help="the wiring as a sorted JSON snapshot")
    p.add_argument("--output", "-o", metavar="FILE")
    p.add_argument("--include-django", action="store_true")
    _quiet(p)

    p = commands.add_parser("diff", help="what changed since a snapshot")
    p.add_argument("old", metavar="SNAPSHOT")
    p.add_argument("new", nargs="?", metavar="NEW")
    p.add_argument("--git", metavar="REF")
    p.add_argument("--json", action="store_true")

    p = commands.add_parser("report", help="an offline HTML report")
    p.add_argument("--output", "-o", required=True, metavar="DIR")
    p.add_argument("--trace", metavar="FILE")
    p.add_argument("--follow-calls", **follow)
    _quiet(p)
    return parser


def _chosen(kind: str, fmt: str | None, output: str | None, default: str) -> str:
    """Return the format to write, as the program chooses it; say so when --format goes into a file named otherwise."""
    from signalscope.render.registry import choose_format, format_mismatch

    chosen = choose_format(kind, fmt, output, default=default)
    mismatch = format_mismatch(kind, chosen, output) if fmt else None
    if mismatch is not None:
        sys.stderr.write(f"signalscope: note: writing {fmt} into {output} as --format asks, although {mismatch}.\n")
    return chosen


def _written(path: str | None, quiet: bool) -> None:
    """Say "signalscope: wrote PATH" on stderr, as the program does: not with --quiet, not for stdout."""
    from signalscope._files import is_descriptor

    if not quiet and not is_descriptor(path):
        sys.stderr.write(f"signalscope: wrote {path}\n")


def run(args: argparse.Namespace) -> int:
    """Run one parsed command on this (set-up) project; return the exit code. Raises SignalscopeError."""
    import os

    from signalscope import api
    from signalscope._files import check_output, check_output_folder, make_folder, write_output
    from signalscope.errors import UsageError
    from signalscope.model.check import at_or_above
    from signalscope.render.registry import render

    session = api.Session.of(api.load_project(app=True))
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    if args.command in ("list", "graph"):
        filters = api.Filters(tuple(args.signal), args.sender, args.app, args.receiver, args.hide_django)
    if args.command == "list":
        fmt = "json" if args.json else "tree" if args.tree else "table"
        write_output(None, render("list", fmt, session.list(filters), color=color))
    elif args.command == "graph":
        fmt = _chosen("graph", args.fmt, args.output, "dot")
        check_output(args.output)
        graph = session.graph(
            filters,
            model=args.model,
            depth=args.depth,
            cascade=not args.no_cascade,
            follow_calls=args.follow_calls,
            collapse_senders=args.collapse_senders,
        )
        write_output(args.output, render("graph", fmt, graph, rankdir=args.rankdir, cluster_by_app=args.cluster_by_app))
        _written(args.output, args.quiet)
    elif args.command == "impact":
        found = session.impact(
            args.model,
            args.action,
            signal=args.signal,
            sender=args.sender,
            depth=args.depth,
            follow_calls=args.follow_calls,
            read=args.read,
        )
        fmt = "json" if args.json else "text"
        tree = found.tree
        write_output(
            None, render("impact", fmt, tree, model=found.model, action=found.action, signal=found.signal, color=color)
        )
    elif args.command == "check":
        fmt = _chosen("check", args.fmt, args.output, "text")
        check_output(args.output)
        rules = [[r.upper() for item in given for r in item.split(",") if r] for given in (args.select, args.ignore)]
        findings = session.check(select=rules[0], ignore=rules[1], follow_calls=args.follow_calls, root=args.root)
        write_output(args.output, render("check", fmt, findings))
        _written(args.output, args.quiet)
        return 1 if at_or_above(findings, args.fail_on) else 0
    elif args.command == "snapshot":
        _chosen("snapshot", None, args.output, "json")
        check_output(args.output)
        write_output(args.output, render("snapshot", "json", session.snapshot(include_django=args.include_django)))
        _written(args.output, args.quiet)
    elif args.command == "diff":
        if args.new is not None and args.git is not None:
            raise UsageError("Give either --git REF or a second snapshot, not both.")
        before = api.read_snapshot(args.old, git_ref=args.git)
        changes = session.diff(before, api.read_snapshot(args.new) if args.new is not None else None)
        write_output(None, render("diff", "json" if args.json else "text", changes))
        return 1 if changes else 0
    elif args.command == "report":
        log = api.read_trace(args.trace) if args.trace else None
        check_output_folder(args.output, "index.html")
        html = render("report", "html", session.report(trace=log, follow_calls=args.follow_calls))
        make_folder(args.output)
        write_output(os.path.join(args.output, "index.html"), html)
        _written(os.path.join(args.output, "index.html"), args.quiet)
    return 0


class Command(BaseCommand):
    help = "signalscope: " + ", ".join(COMMANDS) + " (see `manage.py signalscope --help`)."

    def run_from_argv(self, argv: list[str]) -> None:
        # Every option is signalscope's own (Django's --settings and --pythonpath were read by manage.py).
        sys.exit(self.main(argv[2:]))

    def main(self, argv: list[str]) -> int:
        """Parse `argv`, run the command; return the exit code (0, 1 findings or changes, 2 usage or load errors)."""
        from signalscope.errors import SignalscopeError, sentence

        try:
            return run(build_parser().parse_args(argv))
        except SignalscopeError as exc:
            sys.stderr.write(f"signalscope: error: {sentence(exc.message)}\n" + (f"{exc.hint}\n" if exc.hint else ""))
            return exc.exit_code

    def handle(self, *args: Any, **options: Any) -> None:  # pragma: no cover - call_command() path
        code = self.main(list(args))
        if code:
            sys.exit(code)

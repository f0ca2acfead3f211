"""The examples and notes at the end of each command's --help."""

from __future__ import annotations

__all__ = ["EXAMPLES"]

EXAMPLES = {
    "list": """\
[bold]Examples[/bold]

  signalscope list --project fixtures/shop

  signalscope list --signal post_save --sender auth.User

  signalscope list --app accounts --tree

  signalscope list --receiver 'orders.*' --hide-django --json > signals.json

Exit codes: 0 ok, 2 usage or project-load error.
""",
    "graph": """\
[bold]Examples[/bold]

  signalscope graph --project fixtures/shop -o signals.svg

  signalscope graph --model auth.User --depth 3 --format mermaid

  signalscope graph --hide-django --cluster-by-app --rankdir TB -o signals.dot

The format comes from --format, else from the -o file's extension (.dot .gv .mmd .json .graphml .svg .png),
else DOT. svg and png need Graphviz's dot program.
""",
    "impact": """\
[bold]Examples[/bold]

  signalscope impact auth.User --action create --project fixtures/shop

  signalscope impact billing.Payment --action save --depth 4

  signalscope impact orders.Order --action delete --json

  signalscope impact --signal orders.signals:order_placed --sender orders.Order

  signalscope impact shop.Product --action m2m-add --read project
""",
    "debug": """\
[bold]Examples[/bold]

  signalscope debug

  signalscope debug --project fixtures/shop
""",
    "trace": """\
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
""",
    "check": """\
[bold]Examples[/bold]

  signalscope check --project fixtures/pitfalls

  signalscope check --format github   [dim](annotations in a GitHub Actions job)[/dim]

  signalscope check --format sarif -o signalscope.sarif   [dim](for code scanning)[/dim]

  signalscope check --ignore SS006 --fail-on error

Rules: SS001 receiver never connected, SS002 duplicate connection, SS003 dead or doomed weak receiver,
SS004 unresolved lazy sender, SS005 cascade cycle, SS006 receiver on every sender of a hot signal,
SS007 sender that never sends the signal (the README explains each, and its fix).

Exit codes: 0 no finding at or above --fail-on, 1 findings, 2 usage or project-load error.
""",
    "snapshot": """\
[bold]Examples[/bold]

  signalscope snapshot -o signals.lock.json

  signalscope diff signals.lock.json            [dim](exit 1 if the wiring changed)[/dim]

The snapshot lists what is connected to what (signal, sender, receiver, dispatch_uid, weak/dead/pending),
without files or lines, sorted: commit it, and `signalscope diff` in CI shows every wiring change.
""",
    "diff": """\
[bold]Examples[/bold]

  signalscope diff signals.lock.json   [dim](the snapshot against the project now)[/dim]

  signalscope diff old.json new.json

  signalscope diff --git origin/main signals.lock.json   [dim](committed there, against now)[/dim]

Exit codes: 0 no change, 1 changes, 2 usage or project-load error.
""",
    "report": """\
[bold]Examples[/bold]

  signalscope report --project fixtures/shop -o report/ --open

  signalscope trace -f json -o trace.json -- manage.py createsuperuser --noinput --username ada --email a@ex.com
  signalscope report -o report/ --trace trace.json

  signalscope report -o report/ --app orders --hide-django    [dim](the part list --app orders shows)[/dim]

One page, report/index.html, that opens offline: findings, the dependency graph (search, choose an app,
click a node to light up its cascade), every signal with its receivers and their source, and a trace.
The graph is laid out in the page by Graphviz compiled to WebAssembly, shipped with signalscope:
no Graphviz install is needed.
""",
}

"""Benchmark: the peak memory of `signalscope trace -f FORMAT -o FILE`, per output format, over many sends.

    python benchmarks/bench_trace_memory.py [--sends 1000000] [--formats json,chrome]
    python benchmarks/bench_trace_memory.py --smoke        (20,000 sends: for CI)
    python benchmarks/bench_trace_memory.py --checkout DIR (another checkout's signalscope: before and after)

The traced program is a script written for the run: it sets Django up in
memory (SQLite, contenttypes and auth, as benchmarks/bench_trace.py does)
and makes N post_save-like sends (``post_save.send(sender=Group,
instance=group, created=False, ...)``) heard by three receivers. Each
configuration runs in a fresh process, one after the other:

- the baseline: ``python PROGRAM``, untraced;
- for each trace format (tree, summary, json, jsonl, chrome):
  ``signalscope trace -f FMT -o FILE -- PROGRAM``, with child processes
  traced (the default) and with ``--no-children``;
- ``child``: the same, but the program makes its sends in a Python child
  process it starts (``subprocess.run``), as a test runner's workers do: the
  child streams its sends to its part, which signalscope reads back and
  merges when the program has ended;
- ``report``: ``signalscope report --trace FILE`` on fixtures/shop with the
  json trace of the run, against the same report without a trace (its
  baseline).

Each process is started by a small measuring process of its own, which
prints ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``: the peak RSS of
the largest process of that run (the traced program's children included).
The table shows it minus the baseline's, in MB, with the trace file's size
and its events, against the goal (issue 17): under 100 MB per format for
1,000,000 sends (the tracer keeps the last 50,000 by default, and counts
the others as dropped).

Not a test: it asserts nothing and is never run by pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORMATS = ("tree", "summary", "json", "jsonl", "chrome")
GOAL_MB = 100.0
#: Left out of every measured process's environment: a trace's own, and what changes what Python does at start.
DROP = ("PYTHONPATH", "SIGNALSCOPE_TRACE_DIR", "PYTEST_PLUGINS", "DJANGO_SETTINGS_MODULE", "PYTHONSTARTUP")

PROGRAM = '''\
"""The traced program of bench_trace_memory: N post_save-like sends, three receivers."""
import subprocess
import sys

import django
from django.conf import settings


def main(sends: int, in_child: bool) -> None:
    if in_child:  # the sends are made by a Python child process, traced as a test runner's worker is
        subprocess.run([sys.executable, __file__, str(sends), "here"], check=True)
        return
    settings.configure(
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        SECRET_KEY="bench",
        USE_TZ=True,
    )
    django.setup()
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db.models.signals import post_save

    call_command("migrate", verbosity=0)
    for i in range(3):
        def receiver(sender, **kwargs):
            return None

        receiver.__qualname__ = f"receiver_{i}"
        post_save.connect(receiver, sender=Group, weak=False)
    group = Group.objects.create(name="bench")
    send = post_save.send
    for _ in range(sends):
        send(sender=Group, instance=group, created=False, update_fields=None, raw=False, using="default")


main(int(sys.argv[1]), sys.argv[2] == "child")
'''


CHECKOUT: Path | None = None  # --checkout: its signalscope is imported first


def clean_env() -> dict[str, str]:
    """Return this process's environment without a trace's variables (and --checkout first on the path)."""
    env = {k: v for k, v in os.environ.items() if k not in DROP}
    if CHECKOUT is not None:
        env["PYTHONPATH"] = str(CHECKOUT)
    return env


def measure(command: list[str], cwd: Path) -> tuple[float, float, int]:
    """Run `command` from a fresh measuring process; return its largest process's peak RSS (MB), seconds, status."""
    probe = (
        "import json, resource, subprocess, sys, time\n"
        "start = time.perf_counter()\n"
        "status = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps([peak, time.perf_counter() - start, status]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *command], cwd=cwd, env=clean_env(), capture_output=True, text=True, check=True
    )
    peak_kb, seconds, status = json.loads(done.stdout.strip().splitlines()[-1])
    if status != 0:
        sys.stderr.write(f"bench_trace_memory: {' '.join(command)} exited {status}\n")
    return peak_kb / 1024, seconds, status  # ru_maxrss is in KB on Linux


def trace_events(path: Path, fmt: str) -> str:
    """Return how many events (or lines) the trace file holds, as text for the table."""
    if not path.exists():
        return "no file"
    if fmt == "jsonl":
        with path.open("rb") as handle:
            return f"{sum(1 for _ in handle):,} lines"
    if fmt == "json":
        data = json.loads(path.read_text(encoding="utf-8"))
        return f"{len(data['events']):,} events, {data['dropped']:,} dropped"
    if fmt == "chrome":
        data = json.loads(path.read_text(encoding="utf-8"))
        return f"{len(data['traceEvents']):,} trace events"
    return f"{sum(1 for _ in path.open('rb')):,} lines"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sends", type=int, default=1_000_000, help="sends the program makes (default 1,000,000)")
    parser.add_argument("--formats", default=",".join(FORMATS), help="the trace formats to run, comma-separated")
    parser.add_argument("--no-report", action="store_true", help="leave out the report")
    parser.add_argument("--no-child", action="store_true", help="leave out the runs whose sends are in a child")
    parser.add_argument("--smoke", action="store_true", help="20,000 sends (CI)")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (its trace files)")
    parser.add_argument("--checkout", type=Path, help="run the signalscope of this checkout (a git worktree)")
    args = parser.parse_args()
    global CHECKOUT
    CHECKOUT = args.checkout.resolve() if args.checkout else None
    sends = 20_000 if args.smoke else args.sends
    formats = [name for name in args.formats.split(",") if name]
    folder = Path(tempfile.mkdtemp(prefix="bench-trace-memory-"))
    program = folder / "program.py"
    program.write_text(PROGRAM, encoding="utf-8")
    signalscope = [sys.executable, "-m", "signalscope"]
    import django

    print(
        f"Python {sys.version.split()[0]}, Django {django.get_version()}, {sends:,} sends (post_save, 3 receivers), "
        "default --max-sends" + (f"; signalscope from {CHECKOUT}" if CHECKOUT else "")
    )
    base, seconds, _ = measure([sys.executable, str(program), str(sends), "here"], folder)
    print(f"baseline: python PROGRAM untraced, peak RSS {base:.1f} MB, {seconds:.1f} s")
    rows: list[tuple[str, str, float, float, str, str]] = []

    def run(fmt: str, how: str, extra: list[str], where: str) -> None:
        out = folder / f"trace-{fmt}-{how}.out"
        out.unlink(missing_ok=True)
        command = [*signalscope, "trace", "-f", fmt, "-o", str(out), *extra, "--", str(program), str(sends), where]
        peak, took, _ = measure(command, folder)
        size = f"{out.stat().st_size / 1e6:.1f} MB" if out.exists() else "-"
        rows.append((fmt, how, peak - base, took, size, trace_events(out, fmt)))
        print(f"  {fmt:8} {how:12} {peak - base:8.1f} MB  {took:6.1f} s", flush=True)

    for fmt in formats:
        run(fmt, "children", [], "here")
        run(fmt, "no-children", ["--no-children"], "here")
    if not args.no_child:
        for fmt in formats:
            run(fmt, "child", [], "child")
    report_rows = []
    if not args.no_report:
        trace = folder / "trace-json-children.out"
        if not trace.exists():
            run("json", "children", [], "here")
        shop = ROOT / "fixtures" / "shop"
        report = [*signalscope, "report", "--project", str(shop)]
        bare, _, _ = measure([*report, "-o", str(folder / "report-bare")], folder)
        peak, took, _ = measure([*report, "--trace", str(trace), "-o", str(folder / "report-trace")], folder)
        index = folder / "report-trace" / "index.html"
        size = f"{index.stat().st_size / 1e6:.1f} MB" if index.exists() else "-"
        baseline = f"baseline: the report without a trace, {bare:.1f} MB"
        report_rows.append(("report", "--trace json", peak - bare, took, size, baseline))

    print()
    print(f"{'format':8} {'run':12} {'peak - baseline':>16} {'seconds':>8} {'file':>9}  {'goal < 100 MB':13}  contents")
    for fmt, how, mb, took, size, what in [*rows, *report_rows]:
        met = "met" if mb < GOAL_MB else "NOT MET"
        print(f"{fmt:8} {how:12} {mb:13.1f} MB {took:8.1f} {size:>9}  {met:13}  {what}")
    print(
        "(run: children = the default, the program's child processes traced too; no-children = --no-children; "
        "child = the sends made in a child process)"
    )
    if args.keep:
        print(f"kept: {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"({time.perf_counter() - started:.0f} s in all)")

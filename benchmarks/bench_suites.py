"""Benchmark: what tracing costs on real third-party test suites, untraced against signalscope and sentry-sdk.

    python benchmarks/bench_suites.py [--rounds 3] [--suite simple-history] [--suite auditlog]
    python benchmarks/bench_suites.py --smoke        (one round of django-simple-history: for CI)

Each suite is a real project's own test suite, run from its PyPI sdist
(``pip download --no-binary :all: --no-deps``, pinned versions, kept in
``benchmarks/.cache/sdists``; each run unpacks a fresh copy into a temporary
folder and byte-compiles it, as an installed package would be):

- django-simple-history 3.13.0: ``python runtests.py`` (its two
  DiscoverRunner runs, 363 tests, SQLite);
- django-auditlog 3.4.1: ``python manage.py test`` in ``auditlog_tests``
  with the sdist's root on PYTHONPATH and ``TEST_DB_BACKEND=sqlite3`` (its
  default; the PostgreSQL-only tests skip themselves), 369 tests on
  Django 5.2, 362 on 6.0.

Three configurations of each, whole processes, interleaved: each round runs
the three in turn, in alternating order (these machines are noisy):

1. untraced: the suite's own command;
2. signalscope: ``python -m signalscope trace -f json -o FILE -- <command>``,
   as a user traces a test run (child processes traced too, the default);
   the JSON written is read back and its sends counted (those dropped by
   ``--max-sends`` too), to check that the run really recorded them;
3. sentry: the same command run by this file (``--sentry-run``), which
   initialises sentry-sdk first with ``DjangoIntegration(signals_spans=True)``,
   ``traces_sample_rate=1.0`` and, as in bench_trace.py, no default
   integrations and a Transport that drops every envelope locally, after
   counting the transactions and signal spans it holds; and opens one
   transaction per test (a hook on unittest's ``TestResult.startTest`` and
   ``stopTest``), without which sentry-sdk records no span at all.

Every run is checked to have run its suite: the tests that unittest says it
ran ("Ran N tests", summed over a runner's several runs) must be the same in
every configuration, and its failures and errors (printed when there are
any) too. It prints, per suite, the wall time over rounds (min and median)
of each configuration and its ratio to untraced, the goal (signalscope at
most 1.05x untraced, on the min); the CPU time (user + system, steadier
than wall time on a shared machine); two parts of the wall time: the test runs
themselves (unittest's "in X s", which leaves out start-up, django.setup()
and the test databases) and the time from the suite's last line on stderr
to the process's exit (where signalscope builds and writes its trace), and
what was recorded: the trace's sends, sentry-sdk's transactions and spans.

Under sentry-sdk, auditlog's ``SignalTests`` fail (1 of them on Django 5.2,
3 on 6.0, all 5 when the class runs alone; signalscope and untraced: none):
sentry-sdk's ``_live_receivers`` hands Django wrappers instead of the
receivers, so ``send()`` returns ``(wrapper, result)`` pairs and
``test_custom_signals``, which looks its receivers up in auditlog's
``pre_log_results`` by identity, fails inside its ``post_log`` receiver. That
receiver is a closure connected weakly and never disconnected: the failure's
traceback keeps it alive (in a cycle) until the collector runs, so it fails
again in the setUp of the tests after it, as many as run before a collection.

A suite runs in this interpreter when everything it needs imports here
(simple-history needs nothing but Django); otherwise in a venv made for it
in ``benchmarks/.cache/venvs`` with this Django's and sentry-sdk's versions,
signalscope installed editable from this checkout, and the suite's test
requirements (auditlog: freezegun, python-dateutil, psycopg2-binary, which
``django.contrib.postgres`` imports even on SQLite). The report says which.
Needs sentry-sdk (pip install -e '.[bench]'). Not a timed test: it asserts
nothing and is never run by pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / ".cache"
#: Left out of every timed process's environment: a trace's, and what would change what Python does at start.
DROP = ("PYTHONPATH", "SIGNALSCOPE_TRACE_DIR", "PYTEST_PLUGINS", "DJANGO_SETTINGS_MODULE", "PYTHONDONTWRITEBYTECODE",
        "PYTHONSTARTUP", "PYTHONNOUSERSITE", "SENTRY_DSN")  # fmt: skip
RAN = re.compile(r"^Ran (\d+) tests? in ([0-9.]+)s$", re.MULTILINE)
SUMMARY = re.compile(r"^(OK|FAILED)(?: \((.*)\))?$", re.MULTILINE)
PROBLEM = re.compile(r"^(FAIL|ERROR|UNEXPECTED SUCCESS): (.+)$", re.MULTILINE)
CONFIGS = ("untraced", "signalscope", "sentry")


@dataclass(frozen=True, slots=True)
class Suite:
    """A third-party test suite: its sdist, how to run it, and what it needs besides Django."""

    name: str
    dist: str
    version: str
    argv: tuple[str, ...]  # after python, in cwd
    cwd: str = "."  # in the unpacked sdist
    pythonpath: tuple[str, ...] = ()  # in the unpacked sdist
    env: dict[str, str] = field(default_factory=dict)
    requires: tuple[tuple[str, str], ...] = ()  # (pip requirement, module it provides)


SUITES = {
    suite.name: suite
    for suite in (
        Suite("simple-history", "django-simple-history", "3.13.0", ("runtests.py",)),
        Suite(
            "auditlog",
            "django-auditlog",
            "3.4.1",
            ("manage.py", "test"),
            cwd="auditlog_tests",
            pythonpath=(".",),
            env={"TEST_DB_BACKEND": "sqlite3"},
            requires=(
                ("freezegun==1.5.5", "freezegun"),
                ("python-dateutil==4.0.0", "dateutil"),
                ("psycopg2-binary==2.9.13", "psycopg2"),
            ),
        ),
    )
}


@dataclass(slots=True)
class Run:
    """One timed run of a suite in one configuration."""

    wall: float
    cpu: float
    code: int
    tests: int
    test_time: float
    tail: float  # from the suite's last line of output to the process's exit
    summary: str
    problems: tuple[str, ...]
    sends: tuple[int, int, int] | None = None  # signalscope: sends (with dropped), in tests, processes
    spans: dict[str, int] | None = None  # sentry: transactions, spans, signal spans


def clean_env() -> dict[str, str]:
    """Return this process's environment without a trace's variables (bytecode caching on, as installed)."""
    return {k: v for k, v in os.environ.items() if k not in DROP}


# -- the suites' sources and interpreters --------------------------------------------------------


def quiet(cmd: list[str]) -> None:
    """Run `cmd` (pip, venv), showing its output only if it fails."""
    proc = subprocess.run(cmd, env=clean_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"bench_suites: {' '.join(cmd)} failed:\n{proc.stdout}{proc.stderr}")


def sdist(suite: Suite, cache: Path) -> Path:
    """Return the suite's sdist, downloading it into `cache` first if it is not there."""
    folder = cache / "sdists"
    stem = f"{suite.dist.replace('-', '_')}-{suite.version}"
    for found in sorted(folder.glob(f"{stem}.*")):
        return found
    folder.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps", "--dest", str(folder),
           f"{suite.dist}=={suite.version}"]  # fmt: skip
    quiet(cmd)
    for found in sorted(folder.glob(f"{stem}.*")):
        return found
    raise SystemExit(f"bench_suites: pip download left no {stem}.* in {folder}")


def unpack(archive: Path, where: Path) -> Path:
    """Unpack the sdist `archive` into `where`, byte-compile it, and return its top folder."""
    with tarfile.open(archive) as tar:
        tar.extractall(where, filter="data")
    (top,) = where.iterdir()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(top)], check=True, stdout=subprocess.DEVNULL)
    return top


def has_requirements(suite: Suite) -> bool:
    """Tell whether this interpreter has sentry-sdk and everything else `suite` needs."""
    from importlib.util import find_spec

    return all(find_spec(module) is not None for module in ("sentry_sdk", *(m for _r, m in suite.requires)))


def interpreter(suite: Suite, cache: Path) -> tuple[Path, str]:
    """Return the Python to run `suite` with and a note saying which: this one, or a venv made (once) for it."""
    if has_requirements(suite):
        return Path(sys.executable), "this interpreter (it has what the suite needs)"
    import django
    import sentry_sdk

    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    venv = cache / "venvs" / f"{suite.name}-py{version}-django{django.get_version()}"
    python = venv / "bin" / "python"
    wanted = [f"Django=={django.get_version()}", f"sentry-sdk=={sentry_sdk.VERSION}", *(r for r, _m in suite.requires)]
    # signalscope's own dependencies come from its pyproject.toml: a change there makes the venv again.
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    stamp, made = venv / "bench-suites.json", {"requires": wanted, "pyproject": pyproject}
    if not (python.exists() and stamp.exists() and json.loads(stamp.read_text(encoding="utf-8")) == made):
        print(f"making a venv for {suite.name}: {venv}", flush=True)
        shutil.rmtree(venv, ignore_errors=True)
        quiet([sys.executable, "-m", "venv", str(venv)])
        quiet([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *wanted, "-e", str(ROOT)])
        stamp.write_text(json.dumps(made), encoding="utf-8")
    return python, f"a venv made for it ({venv.relative_to(ROOT) if venv.is_relative_to(ROOT) else venv})"


# -- running and checking ------------------------------------------------------------------------


def parse(output: str) -> tuple[int, float, str, tuple[str, ...]]:
    """Return unittest's tests run and their time (summed over runs), its summaries, and what failed."""
    ran = RAN.findall(output)
    summaries = [f"{word} ({detail})" if detail else word for word, detail in SUMMARY.findall(output)]
    problems = tuple(sorted(f"{kind}: {what}" for kind, what in PROBLEM.findall(output)))
    tests = sum(int(n) for n, _t in ran)
    return tests, sum(float(t) for _n, t in ran), "; ".join(summaries), problems


def count_sends(path: Path) -> tuple[int, int, int]:
    """Return the sends a JSON trace holds (with those dropped), those inside a test, and its processes."""
    data = json.loads(path.read_text(encoding="utf-8"))
    events = {event["id"]: event for event in data["events"]}

    def root(event: dict[str, Any]) -> dict[str, Any]:
        while event["parent"] is not None and event["parent"] in events:
            event = events[event["parent"]]
        return event

    sends = [event for event in events.values() if event["kind"] == "send"]
    in_tests = sum(1 for event in sends if root(event)["kind"] == "test")
    return len(sends) + data["dropped"], in_tests, len(data["processes"])


def run_once(suite: Suite, config: str, python: Path, top: Path, scratch: Path) -> Run:
    """Run `suite` once in `config`; return its times, outcome and what it recorded."""
    env = clean_env()
    env.update(suite.env)
    if suite.pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(str((top / p).resolve()) for p in suite.pythonpath)
    trace, counts = scratch / "trace.json", scratch / "sentry.json"
    trace.unlink(missing_ok=True)
    counts.unlink(missing_ok=True)
    cmd = {
        "untraced": [str(python), *suite.argv],
        "signalscope": [str(python), "-m", "signalscope", "trace", "-f", "json", "-o", str(trace), "--", *suite.argv],
        "sentry": [str(python), str(Path(__file__).resolve()), "--sentry-run", str(counts), "--", *suite.argv],
    }[config]
    lines: list[bytes] = []
    last = 0.0  # when the suite wrote its last line to stderr (line-buffered: unittest's and Django's reports)
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=top / suite.cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.PIPE)  # fmt: skip
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if not line.startswith(b"signalscope:"):
                last = time.perf_counter()
        _pid, status, usage = os.wait4(proc.pid, 0)
        end = time.perf_counter()
        proc.stderr.close()
        out.seek(0)
        output = out.read().decode(errors="replace") + b"".join(lines).decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    tests, test_time, summary, problems = parse(output)
    if not tests or not summary:
        raise SystemExit(f"bench_suites: {suite.name} ({config}) ran no tests (exit code {code}):\n{output[-4000:]}")
    run = Run(end - start, usage.ru_utime + usage.ru_stime, code, tests, test_time, end - last, summary, problems)
    if config == "signalscope":
        if not trace.exists():
            raise SystemExit(f"bench_suites: {suite.name} (signalscope) wrote no trace:\n{output[-4000:]}")
        run.sends = count_sends(trace)
        if not run.sends[1]:
            raise SystemExit(f"bench_suites: {suite.name} (signalscope): its trace holds no send inside a test")
    elif config == "sentry":
        run.spans = json.loads(counts.read_text(encoding="utf-8"))
        if run.spans["transactions"] != tests or not run.spans["signal_spans"]:
            raise SystemExit(f"bench_suites: {suite.name} (sentry): {run.spans} for {tests} tests")
    return run


def bench(suite: Suite, rounds: int, cache: Path) -> tuple[str, dict[str, list[Run]]]:
    """Run `suite` `rounds` times in each configuration, interleaved; return the interpreter's note and the runs."""
    python, note = interpreter(suite, cache)
    archive = sdist(suite, cache)
    runs: dict[str, list[Run]] = {config: [] for config in CONFIGS}
    with tempfile.TemporaryDirectory(prefix="bench-suites-") as tmp:
        top = unpack(archive, Path(tmp) / "src")
        for r in range(rounds):
            for config in CONFIGS if r % 2 == 0 else CONFIGS[::-1]:
                runs[config].append(run_once(suite, config, python, top, Path(tmp)))
                last = runs[config][-1]
                print(f"  {suite.name} round {r + 1}/{rounds} {config:<11} {last.wall:7.2f} s  {last.summary}",
                      file=sys.stderr, flush=True)  # fmt: skip
    return note, runs


# -- the sentry configuration (runs in the suite's interpreter) ----------------------------------


def sentry_run(counts: Path, program: list[str]) -> None:
    """Run `program` as python would, under sentry-sdk's Django integration with a transaction per test.

    Writes the transactions, spans and signal spans its Transport saw to
    `counts` when the program ends, however it ends.
    """
    import runpy
    import unittest

    import sentry_sdk
    from sentry_sdk.consts import OP
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.transport import Transport

    tally = {"transactions": 0, "spans": 0, "signal_spans": 0}

    class Drop(Transport):  # type: ignore[misc]
        def capture_envelope(self, envelope: Any) -> None:
            for item in envelope.items:
                if item.type == "transaction":
                    spans = item.payload.json.get("spans", [])
                    tally["transactions"] += 1
                    tally["spans"] += len(spans)
                    tally["signal_spans"] += sum(1 for span in spans if span.get("op") == OP.EVENT_DJANGO)

    sentry_sdk.init(
        dsn="https://public@sentry.invalid/1",
        integrations=[DjangoIntegration(signals_spans=True)],
        traces_sample_rate=1.0,
        transport=Drop,
        default_integrations=False,
    )
    start_test, stop_test = unittest.TestResult.startTest, unittest.TestResult.stopTest

    def start(self: unittest.TestResult, test: unittest.TestCase) -> None:
        transaction = sentry_sdk.start_transaction(name=test.id(), op="test")
        transaction.__enter__()
        self.__dict__["_bench_transaction"] = transaction
        start_test(self, test)

    def stop(self: unittest.TestResult, test: unittest.TestCase) -> None:
        stop_test(self, test)
        transaction = self.__dict__.pop("_bench_transaction", None)
        if transaction is not None:
            transaction.__exit__(None, None, None)

    unittest.TestResult.startTest = start  # type: ignore[method-assign]
    unittest.TestResult.stopTest = stop  # type: ignore[method-assign]
    sys.argv = list(program)
    try:
        if program[0] == "-m":
            sys.argv = program[1:]
            sys.path[0] = os.getcwd()
            runpy.run_module(program[1], run_name="__main__", alter_sys=True)
        else:
            sys.path[0] = os.path.dirname(os.path.abspath(program[0]))
            runpy.run_path(program[0], run_name="__main__")
    finally:
        sentry_sdk.flush()
        counts.write_text(json.dumps(tally), encoding="utf-8")


# -- the report ----------------------------------------------------------------------------------


def report(results: dict[str, tuple[str, dict[str, list[Run]]]], rounds: int) -> None:
    """Print the table, the goal, what was recorded and the checks' findings."""
    print()
    print(f"{'suite':<15} {'tests':>5} {'':<6} {'untraced s':>10} {'signalscope s':>13} {'ratio':>6} "
          f"{'sentry s':>9} {'ratio':>6}")  # fmt: skip
    ratios: dict[str, float] = {}
    for name, (_note, runs) in results.items():
        for stat, how in (("min", min), ("median", statistics.median)):
            base, ours, theirs = (how([run.wall for run in runs[config]]) for config in CONFIGS)
            if stat == "min":
                ratios[name] = ours / base
            tests = str(runs["untraced"][0].tests) if stat == "min" else ""
            label = name if stat == "min" else ""
            print(f"{label:<15} {tests:>5} {stat:<6} {base:10.2f} {ours:13.2f} {ours / base:6.2f} "
                  f"{theirs:9.2f} {theirs / base:6.2f}")  # fmt: skip
    print(f"(whole processes, wall time over {rounds} round(s); ratios to untraced: min over min, median over median)")
    verdict = ", ".join(f"{name} {ratio:.2f}x" for name, ratio in ratios.items())
    met = "met" if all(ratio <= 1.05 for ratio in ratios.values()) else "not met"
    print(f"goal: signalscope <= 1.05x untraced (min): {met} ({verdict})")

    print()
    print(f"{'suite':<15} {'part':<18} {'untraced s':>10} {'signalscope s':>13} {'ratio':>6} {'sentry s':>9} "
          f"{'ratio':>6}")  # fmt: skip
    for name, (_note, runs) in results.items():
        for key, part in (("cpu", "CPU, whole process"), ("test_time", "test run"), ("tail", "after the tests")):
            base, ours, theirs = (statistics.median([getattr(run, key) for run in runs[config]]) for config in CONFIGS)
            label = name if key == "cpu" else ""
            print(f"{label:<15} {part:<18} {base:10.2f} {ours:13.2f} {ours / base:6.2f} {theirs:9.2f} "
                  f"{theirs / base:6.2f}")  # fmt: skip
    print(
        "(medians; CPU: user + system, the children's too, steadier than wall time on a shared machine; test\n"
        " run: unittest's 'Ran N tests in X s', summed over the runner's runs, which leaves out start-up,\n"
        " django.setup() and the test databases' set-up; after the tests: from the suite's last line on\n"
        " stderr to the process's exit, where signalscope builds and writes its trace)"
    )
    print()
    for name, (note, runs) in results.items():
        sends, in_tests, processes = runs["signalscope"][-1].sends or (0, 0, 0)
        spans = runs["sentry"][-1].spans or {}
        print(f"{name}: signalscope recorded {sends:,} sends ({in_tests:,} inside tests, {processes} process(es)); "
              f"sentry sent {spans.get('transactions', 0):,} transactions, {spans.get('spans', 0):,} spans, "
              f"{spans.get('signal_spans', 0):,} of them signal spans")  # fmt: skip
        print(f"{name}: ran in {note}")
        check(name, runs)


def check(name: str, runs: dict[str, list[Run]]) -> None:
    """Print whether every run of suite `name` ran the same tests with the same outcome, and what failed."""
    outcomes = {config: {(run.tests, run.summary, run.problems) for run in runs[config]} for config in CONFIGS}
    if all(outcome == outcomes["untraced"] for outcome in outcomes.values()) and len(outcomes["untraced"]) == 1:
        ((tests, summary, problems),) = outcomes["untraced"]
        print(f"{name}: every run ran {tests} tests: {summary}")
        for problem in problems:
            print(f"{name}:   {problem}")
        return
    print(f"{name}: THE RUNS DIFFER:")
    for config in CONFIGS:
        for tests, summary, problems in sorted(outcomes[config]):
            print(f"{name}:   {config}: {tests} tests: {summary}")
            for problem in problems:
                print(f"{name}:     {problem}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--suite", action="append", choices=sorted(SUITES), help="this suite only (repeatable)")
    parser.add_argument("--smoke", action="store_true", help="one round of simple-history (CI)")
    parser.add_argument("--cache", type=Path, default=CACHE, help="sdists and venvs (default: benchmarks/.cache)")
    parser.add_argument("--sentry-run", type=Path, metavar="COUNTS", help=argparse.SUPPRESS)
    parser.add_argument("program", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sentry_run:
        program = args.program[1:] if args.program[:1] == ["--"] else args.program
        sentry_run(args.sentry_run, program)
        return
    if args.smoke:
        args.rounds, args.suite = 1, args.suite or ["simple-history"]
    names = args.suite or list(SUITES)
    try:
        import sentry_sdk  # noqa: F401
    except ImportError:
        raise SystemExit("bench_suites: needs sentry-sdk (pip install -e '.[bench]')") from None
    import django

    print(f"Python {sys.version.split()[0]}, Django {django.get_version()}, {os.cpu_count()} CPUs, "
          f"{args.rounds} round(s), configurations interleaved; load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    results = {}
    for name in names:
        suite = SUITES[name]
        print(f"{suite.dist} {suite.version}: python {' '.join(suite.argv)}", flush=True)
        results[name] = bench(suite, args.rounds, args.cache)
    report(results, args.rounds)
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (1 minute)")


if __name__ == "__main__":
    main()

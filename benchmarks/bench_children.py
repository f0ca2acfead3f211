"""Benchmark: what tracing a program's child processes costs, at start-up and in a parallel test run.

    python benchmarks/bench_children.py [--rounds 3] [--tests 200] [--keep]
    python benchmarks/bench_children.py --smoke        (small sizes, one round: for CI)

Everything is timed in one run, whole processes, configurations interleaved
run by run (these machines are noisy); the figures are medians over all
rounds.

1. Start-up: ``python -c pass`` in three venvs made for the run from this
   venv's interpreter (``python -m venv --without-pip``), which differ only
   in signalscope:

   - bare: no signalscope (the baseline);
   - wheel: signalscope's files where a wheel install puts them (the
     package and its dist-info; a wheel has no ``.pth`` file), so this is
     "signalscope installed, no trace running";
   - editable: the editable install as pip made it in this venv (setuptools'
     ``__editable__`` ``.pth`` file and the finder it imports), when this
     venv's signalscope is editable.

   The claim checked: with signalscope installed and no trace running,
   Python starts in 1.00x the time it takes without it (wheel / bare). Then
   this venv's own ``python -c pass`` untraced, and as a traced child: with
   the environment of a running trace (a ``ChildFolder`` activated, so that
   PYTHONPATH starts with its sitecustomize), which imports signalscope's
   tracing modules and writes a part; each such run is checked to have
   written a finished part.

2. A test suite: a generated project (fixtures/genproject.py, ``--tests``)
   under ``manage.py test --parallel 1`` (serial) and ``--parallel 2``,
   untraced and under ``signalscope trace -f json -o FILE --``. It prints
   the whole process's wall and CPU time (the workers' CPU too), the test
   run's own time (Django's "Ran N tests in X s", which leaves out Python's
   and signalscope's start-up, django.setup(), the test databases and
   writing the trace), their ratios traced/untraced, the sends the trace
   holds (all, and those inside tests), and the overhead per send, two
   ways: (traced - untraced test run) / sends inside tests, and (traced -
   untraced whole-process CPU) / all sends. The first leaves out what a
   serial run does after its tests (writing the JSON) but not what a
   parallel run's workers do during them (streaming their parts); the
   second counts both. Goal: the parallel run's per-send overhead stays
   within the serial run's.

Not a timed test: it asserts nothing and is never run by pytest.
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
import sysconfig
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "fixtures"))

from genproject import generate  # noqa: E402

BIN = Path(sys.executable).parent
#: Left out of every timed process's environment: a trace's, and what would change what Python does at start.
DROP = ("PYTHONPATH", "SIGNALSCOPE_TRACE_DIR", "PYTEST_PLUGINS", "DJANGO_SETTINGS_MODULE", "PYTHONDONTWRITEBYTECODE",
        "PYTHONSTARTUP", "PYTHONNOUSERSITE")  # fmt: skip
RAN = re.compile(r"^Ran (\d+) tests? in ([0-9.]+)s$", re.MULTILINE)


def clean_env() -> dict[str, str]:
    """Return this process's environment without a trace's variables (bytecode caching on, as installed)."""
    return {k: v for k, v in os.environ.items() if k not in DROP}


def timed(cmd: list[str], *, env: dict[str, str], cwd: Path | None = None) -> tuple[float, float, str]:
    """Run `cmd`; return its wall time and CPU time (user + system, its children's too) in seconds, and stderr."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code:
        raise SystemExit(f"bench_children: {' '.join(cmd)} failed with exit code {code}:\n{stderr[-3000:]}")
    return wall, usage.ru_utime + usage.ru_stime, stderr


# -- 1. start-up ---------------------------------------------------------------------------------


def make_venv(path: Path) -> Path:
    """Make a venv without pip at `path` from this interpreter; return its site-packages."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    out = subprocess.run(
        [str(path / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
        env=clean_env(),
    )
    return Path(out.stdout.strip())


def make_venvs(where: Path) -> dict[str, Path]:
    """Make the bare, wheel and (when this venv's install is editable) editable venvs; return their pythons."""
    from importlib.metadata import distribution

    dist_info = Path(str(distribution("signalscope")._path))  # type: ignore[attr-defined]
    here = Path(sysconfig.get_paths()["purelib"])
    editable = sorted(here.glob("__editable__*signalscope*")) + sorted(here.glob("__editable___signalscope*"))
    pythons: dict[str, Path] = {}
    for name in ("bare", "wheel", "editable"):
        if name == "editable" and not editable:
            continue
        site = make_venv(where / name)
        if name == "wheel":
            shutil.copytree(ROOT / "signalscope", site / "signalscope", ignore=shutil.ignore_patterns("__pycache__"))
            keep = ("METADATA", "WHEEL", "INSTALLER", "entry_points.txt", "top_level.txt")
            (site / dist_info.name).mkdir()
            for kept in keep:
                if (dist_info / kept).exists():
                    shutil.copy2(dist_info / kept, site / dist_info.name / kept)
        elif name == "editable":
            shutil.copytree(dist_info, site / dist_info.name)
            for file in editable:
                shutil.copy2(file, site / file.name)
        pythons[name] = where / name / "bin" / "python"
    # Each must find signalscope where it should, or not at all.
    probe = "import importlib.util as u; s = u.find_spec('signalscope'); print(s.origin if s else None)"

    def origin(python: Path) -> str:
        args = [str(python), "-c", probe]
        return subprocess.run(args, check=True, capture_output=True, text=True, env=clean_env(), cwd=where).stdout

    mine = origin(Path(sys.executable)).strip()
    for name, python in pythons.items():
        found = origin(python).strip()
        expected = {"bare": "None", "wheel": str(where / name), "editable": mine}[name]
        if not found.startswith(expected):
            raise SystemExit(f"bench_children: the {name} venv finds signalscope at {found}, not {expected}")
    return pythons


def startup(where: Path, rounds: int, runs: int) -> tuple[dict[str, list[float]], int]:
    """Time `python -c pass` in each venv, untraced in this one, and as a traced child; return the samples."""
    from signalscope.api import TraceOptions
    from signalscope.tracing.children import ChildFolder

    pythons = make_venvs(where)
    plain = clean_env()
    folder = ChildFolder(TraceOptions().child_config())
    try:
        folder.activate(pytest=False)
        startup_folder = os.environ["PYTHONPATH"].split(os.pathsep)[0]  # activate puts it first
        traced_env = {**plain, "SIGNALSCOPE_TRACE_DIR": os.environ["SIGNALSCOPE_TRACE_DIR"],
                      "PYTHONPATH": startup_folder}  # fmt: skip
        folder.deactivate()
        configs: list[tuple[str, Path, dict[str, str]]] = [(name, python, plain) for name, python in pythons.items()]
        configs += [("this venv", Path(sys.executable), plain), ("traced child", Path(sys.executable), traced_env)]
        for _name, python, env in configs:  # warm-up: bytecode caches written
            timed([str(python), "-c", "pass"], env=env, cwd=where)
        samples: dict[str, list[float]] = {name: [] for name, _python, _env in configs}
        for r in range(rounds):
            for i in range(runs):
                order = configs if (r + i) % 2 == 0 else configs[::-1]
                for name, python, env in order:
                    samples[name].append(timed([str(python), "-c", "pass"], env=env, cwd=where)[0])
        finished = 0
        for part in (folder.path / "parts").glob("*.jsonl"):
            lines = part.read_text(encoding="utf-8").splitlines()
            finished += bool(lines) and '"end"' in lines[-1]
        expected = rounds * runs + 1
        if finished != expected or any((folder.path / "untraced").iterdir()):
            raise SystemExit(f"bench_children: {finished} traced children finished their part, not {expected}")
    finally:
        folder.deactivate()
        folder.remove()
    return samples, finished


# -- 2. the test suite ---------------------------------------------------------------------------


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


def suite(project: Path, rounds: int) -> tuple[dict[str, list[float]], dict[str, tuple[int, int, int]], list[str]]:
    """Time the test suite serial and parallel, untraced and traced; return samples, send counts and notes."""
    env = clean_env()
    trace_file = project / "trace.json"
    configs = []
    for workers in (1, 2):
        test = ["manage.py", "test", "--parallel", str(workers)]
        configs.append((f"{workers}/untraced", [sys.executable, *test]))
        configs.append((f"{workers}/traced", [str(BIN / "signalscope"), "trace", "-f", "json", "-o", str(trace_file),
                                              "--", *test]))  # fmt: skip
    samples: dict[str, list[float]] = {}
    counts: dict[str, tuple[int, int, int]] = {}
    notes: list[str] = []
    for r in range(rounds + 1):  # round 0 warms up (bytecode caches) and is not counted
        for key, cmd in configs if r % 2 else configs[::-1]:
            wall, cpu, stderr = timed(cmd, env=env, cwd=project)
            ran = RAN.findall(stderr)
            if not ran or "\nOK" not in stderr:
                raise SystemExit(f"bench_children: {' '.join(cmd)} did not pass:\n{stderr[-3000:]}")
            if r == 0:
                continue
            for name, value in (("wall", wall), ("cpu", cpu), ("tests", float(ran[-1][1]))):
                samples.setdefault(f"{key}/{name}", []).append(value)
            if key.endswith("traced") and not key.endswith("untraced"):
                counts[key] = count_sends(trace_file)
                data = json.loads(trace_file.read_text(encoding="utf-8"))
                notes.extend(f"{key}: {note}" for note in data["notes"] if f"{key}: {note}" not in notes)
                unfinished = [p["argv"] for p in data["processes"] if not p["is_finished"]]
                if unfinished:
                    note = f"{key}: processes that did not finish their part: {Counter(unfinished)}"
                    if note not in notes:
                        notes.append(note)
    return samples, counts, notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=30, help="python -c pass runs per venv per round")
    parser.add_argument("--apps", type=int, default=10)
    parser.add_argument("--models", type=int, default=60)
    parser.add_argument("--receivers", type=int, default=400)
    parser.add_argument("--tests", type=int, default=200)
    parser.add_argument("--smoke", action="store_true", help="small and quick (CI): 1 round, 3 runs, 20 tests")
    parser.add_argument("--keep", action="store_true", help="keep the temporary project and venvs (path printed)")
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.runs, args.apps, args.models, args.receivers, args.tests = 1, 3, 3, 6, 30, 20
    import django

    where = Path(tempfile.mkdtemp(prefix="bench-children-"))
    try:
        project = generate(
            where / "project", apps=args.apps, models=args.models, receivers=args.receivers, tests=args.tests
        )
        cpus = os.cpu_count()
        print(f"Python {sys.version.split()[0]}, Django {django.get_version()}, {cpus} CPUs, {args.rounds} rounds")
        start, finished = startup(where / "venvs", args.rounds, args.runs)
        print_startup(start, finished, args)
        times, counts, notes = suite(project, args.rounds)
        print_suite(times, counts, notes, args)
    finally:
        if args.keep:
            print(f"kept: {where}")
        else:
            shutil.rmtree(where, ignore_errors=True)


def print_startup(start: dict[str, list[float]], finished: int, args: argparse.Namespace) -> None:
    """Print the start-up table and its goal."""
    med = {key: statistics.median(values) for key, values in start.items()}
    print()
    print(f"start-up: python -c pass, {args.rounds} x {args.runs} runs each, interleaved")
    print(f"{'python':<46} {'median ms':>9} {'min ms':>7} {'ratio':>6}")
    labels = {
        "bare": ("bare venv: no signalscope", "bare"),
        "wheel": ("wheel: signalscope installed, no trace", "bare"),
        "editable": ("editable: signalscope as pip -e installs it", "bare"),
        "this venv": ("this venv (editable, Django, dev tools)", "this venv"),
        "traced child": ("this venv, a traced child", "this venv"),
    }
    for key, values in start.items():
        label, base = labels[key]
        print(f"{label:<46} {med[key] * 1e3:9.1f} {min(values) * 1e3:7.1f} {med[key] / med[base]:6.2f}")
    print("(ratio: to the bare venv; the last two rows to this venv untraced)")
    print(f"goal: signalscope installed, no trace running, 1.00x: {med['wheel'] / med['bare']:.2f}x")
    print(f"a traced child's start-up costs {(med['traced child'] - med['this venv']) * 1e3:.0f} ms more "
          f"({finished} children traced, each wrote a finished part)")  # fmt: skip
    sys.stdout.flush()  # before the suite's runs, which may fail


def print_suite(
    times: dict[str, list[float]], counts: dict[str, tuple[int, int, int]], notes: list[str], args: argparse.Namespace
) -> None:
    """Print the test suite's tables and its goal."""
    med = {key: statistics.median(values) for key, values in times.items()}
    print()
    print(
        f"manage.py test: {args.tests} tests, {args.apps} apps, {args.models} models, {args.receivers} receivers; "
        f"traced: signalscope trace -f json -o FILE --"
    )
    rows = (("wall", "whole process, wall s"), ("cpu", "whole process, CPU s"), ("tests", "test run, wall s"))
    print(f"{'run':<12} {'measure':<22} {'untraced':>8} {'traced':>8} {'ratio':>6}")
    for workers, name in ((1, "serial"), (2, "parallel 2")):
        for key, label in rows:
            before, after = med[f"{workers}/untraced/{key}"], med[f"{workers}/traced/{key}"]
            print(f"{name if key == 'wall' else '':<12} {label:<22} {before:8.3f} {after:8.3f} {after / before:6.2f}")
    print(
        "(CPU: user + system, the workers' too; test run: Django's 'Ran N tests in X s', which leaves out\n"
        " the start-up, django.setup(), the test databases' set-up and writing the trace)"
    )
    print()
    print(f"{'run':<12} {'sends':>6} {'in tests':>8} {'processes':>9} {'test run us/send':>16} {'CPU us/send':>11}")
    per_send: dict[int, tuple[float, float]] = {}
    for workers, name in ((1, "serial"), (2, "parallel 2")):
        u, t = f"{workers}/untraced", f"{workers}/traced"
        sends, in_tests, processes = counts[t]
        per_send[workers] = (
            (med[f"{t}/tests"] - med[f"{u}/tests"]) / max(in_tests, 1) * 1e6,
            (med[f"{t}/cpu"] - med[f"{u}/cpu"]) / max(sends, 1) * 1e6,
        )
        wall, cpu = per_send[workers]
        print(f"{name:<12} {sends:6d} {in_tests:8d} {processes:9d} {wall:16.1f} {cpu:11.1f}")
    print(
        "(test run us/send: (traced - untraced test run) / sends in tests; CPU us/send: (traced - untraced\n"
        " whole-process CPU) / all sends, so it includes signalscope's start-up and writing the trace)"
    )
    (serial_wall, serial_cpu), (parallel_wall, parallel_cpu) = per_send[1], per_send[2]
    print(
        f"goal: the parallel run's overhead per send within the serial run's: test run {parallel_wall:.1f} us "
        f"against {serial_wall:.1f} us ({parallel_wall / serial_wall:.2f}x); CPU {parallel_cpu:.1f} us "
        f"against {serial_cpu:.1f} us ({parallel_cpu / serial_cpu:.2f}x)"
    )
    for note in notes:
        print(f"note: {note}")


if __name__ == "__main__":
    main()

"""Benchmark: `signalscope report`, this checkout against another one (e.g. the last release): time and size.

    python benchmarks/bench_report.py [--runs 9] [--against DIR] [--receivers N]

`--receivers N` times a project fixtures/genproject.py generates (N
receivers, N/10 models, 20 apps) instead of fixtures/shop; the report's
size is printed too. Goal (issue #16): at 2,000 receivers, seconds and a
few MB.

`--against` is another checkout of signalscope (default: none, only this
one is timed). Each run is a whole process, `python -m signalscope report`,
with the checkout first on PYTHONPATH; the two are interleaved in one run
(these machines are noisy) and each run is divided by the other checkout's
run next to it. It also counts, in one more process per checkout, how
many times the registry was scanned and the receivers' code was read.

Goal (issue #13): one registry scan and one effect scan per report, and a
faster report than before. This checkout needs no Graphviz (the page lays
its graph out); a checkout before issue #16 needs Graphviz's dot. Not a
timed test: it asserts nothing and is never run by pytest.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHOP = ROOT / "fixtures" / "shop"
sys.path.insert(0, str(ROOT / "fixtures"))

from genproject import generate  # noqa: E402

# Counts the calls of the scans (both layouts import them when called, from these modules); run as `python -c`.
COUNT = """
import sys, runpy
import signalscope.introspect.receivers as receivers
import signalscope.graph.effects as effects
counts = {"registry scans": 0, "effect scans": 0}
def counting(module, name, key):
    original = getattr(module, name)
    def wrapper(*args, **kwargs):
        counts[key] += 1
        return original(*args, **kwargs)
    setattr(module, name, wrapper)
counting(receivers, "_scan", "registry scans")
counting(effects, "scan_effects", "effect scans")
sys.argv = ["signalscope", "report", "--project", sys.argv[1], "-o", sys.argv[2]]
try:
    runpy.run_module("signalscope", run_name="__main__")
except SystemExit:
    pass
print(counts["registry scans"], counts["effect scans"])
"""


def command(checkout: Path, out: Path, project: Path = SHOP) -> tuple[list[str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONDONTWRITEBYTECODE")}
    env["PYTHONPATH"] = str(checkout)
    return [sys.executable, "-m", "signalscope", "report", "--project", str(project), "-o", str(out)], env


def timed(checkout: Path, out: Path, project: Path = SHOP) -> float:
    cmd, env = command(checkout, out, project)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=checkout, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"bench_report: report with {checkout} failed:\n{proc.stderr}")
    return wall


def scans(checkout: Path, out: Path, project: Path = SHOP) -> str:
    _cmd, env = command(checkout, out, project)
    proc = subprocess.run(
        [sys.executable, "-c", COUNT, str(project), str(out)], env=env, cwd=checkout, capture_output=True, text=True
    )
    if proc.returncode:
        return f"(could not count: {proc.stderr.strip().splitlines()[-1:]})"
    registry, effect = proc.stdout.split()[-2:]
    return f"{registry} registry scan(s), {effect} effect scan(s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--against", type=Path, help="another signalscope checkout to compare with")
    parser.add_argument("--receivers", type=int, default=0, help="a generated project this big (0: fixtures/shop)")
    args = parser.parse_args()
    checkouts = {"this checkout": ROOT}
    if args.against is not None:
        checkouts["--against"] = args.against.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        project = SHOP
        name = "fixtures/shop"
        if args.receivers:
            models = max(args.receivers // 10, 20)
            project = generate(Path(tmp) / "gen", apps=20, models=models, receivers=args.receivers)
            name = f"generated: {models} models, {args.receivers:,} receivers"
        outs = {label: Path(tmp) / f"report-{i}" for i, label in enumerate(checkouts)}
        times: dict[str, list[float]] = {label: [] for label in checkouts}
        for label, path in checkouts.items():
            timed(path, outs[label], project)  # warm the page cache and write the .pyc files
        for i in range(args.runs):
            order = list(checkouts.items())
            if i % 2:
                order.reverse()
            for label, path in order:
                times[label].append(timed(path, outs[label], project))
        print(f"Python {sys.version.split()[0]}, {name}, {args.runs} interleaved runs each\n")
        print(f"{'checkout':<16} {'median s':>9} {'min s':>7} {'index.html':>11}  scans")
        for label, path in checkouts.items():
            runs = times[label]
            size = (outs[label] / "index.html").stat().st_size / 1e6
            print(
                f"{label:<16} {statistics.median(runs):9.2f} {min(runs):7.2f} {size:8.1f} MB  "
                f"{scans(path, outs[label], project)}"
            )
        if args.against is not None:
            paired = statistics.median(a / b for a, b in zip(times["this checkout"], times["--against"], strict=True))
            print(f"\nthis checkout / --against, median of paired runs: {paired:.2f}")


if __name__ == "__main__":
    main()

"""Benchmark: `signalscope report` on fixtures/shop, this checkout against another one (e.g. the last release).

    python benchmarks/bench_report.py [--runs 9] [--against DIR]

`--against` is another checkout of signalscope (default: none, only this
one is timed). Each run is a whole process, `python -m signalscope report`,
with the checkout first on PYTHONPATH; the two are interleaved in one run
(these machines are noisy) and each run is divided by the other checkout's
run next to it. It also counts, in one more process per checkout, how
many times the registry was scanned and the receivers' code was read.

Goal (issue #13): one registry scan and one effect scan per report, and a
faster report than before. Needs Graphviz's dot. Not a timed test: it
asserts nothing and is never run by pytest.
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


def command(checkout: Path, out: Path) -> tuple[list[str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONDONTWRITEBYTECODE")}
    env["PYTHONPATH"] = str(checkout)
    return [sys.executable, "-m", "signalscope", "report", "--project", str(SHOP), "-o", str(out)], env


def timed(checkout: Path, out: Path) -> float:
    cmd, env = command(checkout, out)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=checkout, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"bench_report: report with {checkout} failed:\n{proc.stderr}")
    return wall


def scans(checkout: Path, out: Path) -> str:
    _cmd, env = command(checkout, out)
    proc = subprocess.run(
        [sys.executable, "-c", COUNT, str(SHOP), str(out)], env=env, cwd=checkout, capture_output=True, text=True
    )
    if proc.returncode:
        return f"(could not count: {proc.stderr.strip().splitlines()[-1:]})"
    registry, effect = proc.stdout.split()[-2:]
    return f"{registry} registry scan(s), {effect} effect scan(s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--against", type=Path, help="another signalscope checkout to compare with")
    args = parser.parse_args()
    checkouts = {"this checkout": ROOT}
    if args.against is not None:
        checkouts["--against"] = args.against.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report"
        times: dict[str, list[float]] = {name: [] for name in checkouts}
        for path in checkouts.values():
            timed(path, out)  # warm the page cache and write the .pyc files
        for i in range(args.runs):
            order = list(checkouts.items())
            if i % 2:
                order.reverse()
            for name, path in order:
                times[name].append(timed(path, out))
        print(f"Python {sys.version.split()[0]}, fixtures/shop, {args.runs} interleaved runs each\n")
        print(f"{'checkout':<16} {'median ms':>10} {'min ms':>8}  scans")
        for name, path in checkouts.items():
            runs = times[name]
            print(f"{name:<16} {statistics.median(runs) * 1e3:10.0f} {min(runs) * 1e3:8.0f}  {scans(path, out)}")
        if args.against is not None:
            paired = statistics.median(a / b for a, b in zip(times["this checkout"], times["--against"], strict=True))
            print(f"\nthis checkout / --against, median of paired runs: {paired:.2f}")


if __name__ == "__main__":
    main()

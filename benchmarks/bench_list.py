"""Benchmark: `signalscope list --json` against a bare Django setup of the same project.

    python benchmarks/bench_list.py [--runs 15]

For fixtures/shop and for a generated project (200 models, 2,000 receivers)
it times, interleaved in one run (these machines are noisy), whole processes:

- bare: python -c "import django; django.setup()" plus the ROOT_URLCONF import;
- signalscope: the `signalscope list --json` console script.

Bytecode caching is on for both (warm-up runs write the .pyc files).

It prints the median and minimum wall time of each and their ratio.
Goals (issue #3): at most 1.15x on the generated project, 1.30x on the shop.
Not a timed test: it asserts nothing and is never run by pytest.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "fixtures"))

from genproject import generate  # noqa: E402

BARE = (
    "import os, sys; sys.path.insert(0, {dir!r}); "
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', {settings!r}); "
    "import django; django.setup(); "
    "from django.conf import settings; import importlib; importlib.import_module(settings.ROOT_URLCONF)"
)


def timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Run `cmd`; return its wall time and its CPU time (user + system), in seconds."""
    # Both sides may cache bytecode, as in any installed environment (some
    # machines set PYTHONDONTWRITEBYTECODE, which would recompile the
    # project and an editable signalscope on every run).
    drop = ("DJANGO_SETTINGS_MODULE", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"bench_list: {' '.join(cmd)} failed with exit code {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def measure(name: str, project: Path, settings: str, runs: int, script: str) -> dict[str, float | str]:
    bare = [sys.executable, "-c", BARE.format(dir=str(project), settings=settings)]
    ours = [script, "list", "--json", "--project", str(project)]
    for cmd in (bare, ours):  # warm the page cache and write the .pyc files
        timed(cmd, project)
    bare_runs, our_runs = [], []
    for i in range(runs):
        pair = [(bare, bare_runs), (ours, our_runs)]
        if i % 2:
            pair.reverse()
        for cmd, sink in pair:
            sink.append(timed(cmd, project))
    median = statistics.median
    return {
        "name": name,
        "bare": median(w for w, _ in bare_runs),
        "ours": median(w for w, _ in our_runs),
        # Each run against the bare run next to it: drift on a noisy machine cancels out.
        "paired": median(o[0] / b[0] for o, b in zip(our_runs, bare_runs, strict=True)),
        "min": min(w for w, _ in our_runs) / min(w for w, _ in bare_runs),
        "cpu": median(c for _, c in our_runs) / median(c for _, c in bare_runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    script = shutil.which("signalscope", path=str(Path(sys.executable).parent)) or shutil.which("signalscope")
    if not script:
        sys.exit("bench_list: the signalscope console script is not installed (pip install -e .)")
    import django

    print(f"Python {sys.version.split()[0]}, Django {django.get_version()}, {args.runs} interleaved runs each")
    rows = [measure("fixtures/shop", ROOT / "fixtures" / "shop", "shop.settings", args.runs, script)]
    with tempfile.TemporaryDirectory() as tmp:
        project = generate(Path(tmp) / "gen", apps=20, models=200, receivers=2000)
        rows.append(measure("generated: 200 models, 2,000 receivers", project, "genproj.settings", args.runs, script))
    goals = {"fixtures/shop": 1.30}
    print()
    print(f"{'project':<40} {'bare ms':>8} {'list ms':>8} {'ratio':>6} {'paired':>7} {'min':>5} {'cpu':>5} {'goal':>5}")
    for row in rows:
        goal = goals.get(str(row["name"]), 1.15)
        print(
            f"{row['name']:<40} {float(row['bare']) * 1e3:8.0f} {float(row['ours']) * 1e3:8.0f} "
            f"{float(row['ours']) / float(row['bare']):6.2f} {row['paired']:7.2f} {row['min']:5.2f} "
            f"{row['cpu']:5.2f} {goal:5.2f}"
        )
    print(
        "\nratio: median wall time over median wall time; paired: median of each run over the bare run\n"
        "next to it; min: fastest over fastest; cpu: median user+system CPU time over the same."
    )


if __name__ == "__main__":
    main()

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


def timed(cmd: list[str], cwd: Path) -> float:
    # Both sides may cache bytecode, as in any installed environment (some
    # machines set PYTHONDONTWRITEBYTECODE, which would recompile the
    # project and an editable signalscope on every run).
    drop = ("DJANGO_SETTINGS_MODULE", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def measure(name: str, project: Path, settings: str, runs: int, script: str) -> tuple[str, float, float, float, float]:
    bare = [sys.executable, "-c", BARE.format(dir=str(project), settings=settings)]
    ours = [script, "list", "--json", "--project", str(project)]
    for cmd in (bare, ours):  # warm the page cache and .pyc files
        timed(cmd, project)
    bare_times, our_times = [], []
    for i in range(runs):
        pair = [(bare, bare_times), (ours, our_times)]
        if i % 2:
            pair.reverse()
        for cmd, sink in pair:
            sink.append(timed(cmd, project))
    return (
        name,
        statistics.median(bare_times),
        statistics.median(our_times),
        min(bare_times),
        min(our_times),
    )


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
    print(f"{'project':<40} {'bare ms':>8} {'list ms':>8} {'ratio':>6} {'min ratio':>9} {'goal':>5}")
    for name, bare, ours, bare_min, ours_min in rows:
        goal = goals.get(name, 1.15)
        print(
            f"{name:<40} {bare * 1e3:8.0f} {ours * 1e3:8.0f} {ours / bare:6.2f} {ours_min / bare_min:9.2f} {goal:5.2f}"
        )
    print("\nratio: median over median; min ratio: fastest over fastest.")


if __name__ == "__main__":
    main()

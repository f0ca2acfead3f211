"""Run Django's own dispatch and signals tests with signalscope's tracer on: proof it changes nothing.

    python .ci/django_suite.py [--cache DIR]

Downloads the source distribution of the installed Django (the exact
version) from the package index, takes its tests/ folder, and runs
``signalscope trace -f summary -- tests/runtests.py dispatch signals
--parallel 1`` (one process), then the same with ``--parallel 2`` (the
tests run in worker processes, each tracing itself). Fails unless every
test passes and the trace shows the tests' own receivers were recorded (so
the tracer really was on), in the workers too.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import django


def django_tests(cache: Path) -> Path:
    """Return the tests/ folder of the installed Django's sdist, downloading it once."""
    version = django.get_version()
    folder = cache / f"django-{version}"
    tests = folder / "tests"
    if (tests / "runtests.py").exists():
        return tests
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
             f"django=={version}", "-d", tmp],
            check=True,
        )  # fmt: skip
        (archive,) = Path(tmp).glob("*.tar.gz")
        with tarfile.open(archive) as tar:
            top = tar.getnames()[0].split("/")[0]
            members = [m for m in tar.getmembers() if m.name.startswith(f"{top}/tests/")]
            tar.extractall(tmp, members=members, filter="data")
        (Path(tmp) / top).rename(folder)
    return tests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=Path(".venvs/django-src"))
    args = parser.parse_args()
    tests = django_tests(args.cache.resolve())
    print(f"Django {django.get_version()}: {tests}", flush=True)
    for parallel in ("1", "2"):
        command = [
            sys.executable, "-m", "signalscope", "trace", "-f", "summary", "--",
            "runtests.py", "dispatch", "signals", "--parallel", parallel, "-v", "1",
        ]  # fmt: skip
        result = subprocess.run(command, cwd=tests, capture_output=True, text=True)
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        if result.returncode != 0:
            sys.exit(f"django_suite: Django's tests failed under the tracer (exit {result.returncode})")
        for receiver in ("dispatch.tests:", "signals.tests:"):
            if receiver not in result.stderr:
                sys.exit(f"django_suite: no call of a {receiver}* receiver was traced: was the tracer on?")
        # the summary's head: "3 processes" (the runner and its two workers)
        if parallel != "1" and not any(re.fullmatch(r"[3-9] processes", line) for line in result.stderr.splitlines()):
            sys.exit("django_suite: the workers' sends are not in the trace")
        print(f"django_suite: Django's dispatch and signals tests pass with the tracer on (--parallel {parallel})")


if __name__ == "__main__":
    main()

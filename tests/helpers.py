"""Helpers for running signalscope and the fixture projects in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
TESTS = ROOT / "tests"


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "NO_COLOR", "FORCE_COLOR")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def run(args: list[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None, timeout: int = 120) -> Result:
    proc = subprocess.run(
        args, cwd=cwd, env=env or clean_env(), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def python_snippet(code: str) -> str:
    """Run `code` with this interpreter in a fresh process; assert it succeeds and return its stdout."""
    result = run([sys.executable, "-c", code])
    assert result.returncode == 0, result.stderr
    return result.stdout


def signalscope(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> Result:
    """Run ``python -m signalscope ARGS`` with this interpreter."""
    return run([sys.executable, "-m", "signalscope", *args], cwd=cwd, env=env)


def receivers(data: dict[str, Any], signal: str | None = None) -> list[dict[str, Any]]:
    """Flatten `list --json` output into receiver dicts carrying their signal's path."""
    rows = []
    for s in data["signals"]:
        if signal is None or signal in (s["name"], s["path"]):
            rows.extend({**r, "signal": s["path"]} for r in s["receivers"])
    return rows


def one(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    found = [r for r in rows if all(r.get(k) == v for k, v in match.items())]
    assert len(found) == 1, f"expected one receiver matching {match}, found {len(found)}: {found}"
    return found[0]


def django_version() -> tuple[int, int]:
    import django

    return django.VERSION[0], django.VERSION[1]


def needs_dot() -> str:
    """Graphviz's dot, or skip the test where it is not installed.

    .ci/run installs it and sets SIGNALSCOPE_REQUIRE_DOT=1 (as it sets
    SIGNALSCOPE_REQUIRE_BROWSER for Chromium): there, or with CI set, a
    missing dot fails the test instead.
    """
    import shutil

    import pytest

    program = shutil.which("dot")
    if program is None:
        if os.environ.get("SIGNALSCOPE_REQUIRE_DOT") or os.environ.get("CI"):
            pytest.fail("Graphviz's dot is missing, and SIGNALSCOPE_REQUIRE_DOT (or CI) says it must be there")
        pytest.skip("needs Graphviz's dot, which is not installed (apt-get install graphviz / brew install graphviz)")
    return program


#: What a traced snippet program starts with: a minimal configured Django and a signal `ping` with a receiver
#: (module-level, so that spawned children have it too).
PROGRAM_SETUP = """\
import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    SECRET_KEY="snippet-tests",
)
django.setup()
from django.dispatch import Signal
ping = Signal()
def heard(sender, **kwargs):
    pass
ping.connect(heard)
"""


def shop_with_signalscope_app(folder: Path) -> Path:
    """Copy fixtures/shop into `folder` with "signalscope.contrib.django" in its INSTALLED_APPS; return the copy."""
    import shutil

    shop = folder / "shop"
    shutil.copytree(FIXTURES / "shop", shop, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    settings = shop / "shop" / "settings.py"
    settings.write_text(
        settings.read_text().replace('    "orders",\n', '    "orders",\n    "signalscope.contrib.django",\n')
    )
    return shop


def manage_signalscope(shop: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `manage.py signalscope ARGS` in the project `shop`."""
    return subprocess.run(
        [sys.executable, "manage.py", "signalscope", *args], cwd=shop, env=clean_env(), capture_output=True, text=True
    )

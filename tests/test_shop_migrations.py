"""The demo project migrates from a fresh copy: every app with models has its migrations."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from helpers import FIXTURES, run


def test_a_fresh_copy_of_the_shop_migrates(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    shutil.copytree(FIXTURES / "shop", project, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))

    result = run([sys.executable, "manage.py", "migrate", "--no-input"], cwd=project, timeout=180)

    assert result.returncode == 0, result.stderr
    assert "Applying accounts.0001_initial... OK" in result.stdout
    assert "Applying orders.0001_initial... OK" in result.stdout
    # orders' post_migrate receiver fills its table: it exists by then.
    query = "from orders.models import ShippingMethod as S; print(sorted(S.objects.values_list('code', flat=True)))"
    codes = run([sys.executable, "manage.py", "shell", "-c", query], cwd=project)
    assert codes.returncode == 0, codes.stderr
    assert codes.stdout.strip().splitlines()[-1] == "['express', 'standard']"


def test_the_migrations_match_the_models(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    shutil.copytree(FIXTURES / "shop", project, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))

    result = run([sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"], cwd=project)

    assert result.returncode == 0, result.stdout + result.stderr
    assert not list((FIXTURES / "shop").glob("*.sqlite3"))

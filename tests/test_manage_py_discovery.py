"""Without --project and --settings, manage.py is found in the current folder or the nearest one above it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import FIXTURES, clean_env, receivers, signalscope

from signalscope.loader import find_manage_py


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A copy of fixtures/shop with a folder two levels below it that holds no manage.py."""
    if find_manage_py(tmp_path) is not None:
        pytest.skip(f"a manage.py above {tmp_path} would be found")
    root = tmp_path / "shop"
    shutil.copytree(FIXTURES / "shop", root, ignore=shutil.ignore_patterns("__pycache__", "db.sqlite3"))
    (root / "docs" / "notes").mkdir(parents=True)
    return root


def test_find_manage_py_walks_up_to_the_nearest(tmp_path: Path) -> None:
    (tmp_path / "outer" / "inner" / "deep").mkdir(parents=True)
    (tmp_path / "outer" / "manage.py").write_text("")
    assert find_manage_py(tmp_path / "outer") == tmp_path / "outer"
    assert find_manage_py(tmp_path / "outer" / "inner" / "deep") == tmp_path / "outer"
    (tmp_path / "outer" / "inner" / "manage.py").write_text("")
    assert find_manage_py(tmp_path / "outer" / "inner" / "deep") == tmp_path / "outer" / "inner"
    (tmp_path / "outer" / "inner" / "deep" / "manage.py").mkdir()  # a folder is no manage.py
    assert find_manage_py(tmp_path / "outer" / "inner" / "deep") == tmp_path / "outer" / "inner"
    if find_manage_py(tmp_path) is None:
        assert find_manage_py(tmp_path / "elsewhere") is None


@pytest.mark.parametrize("below", [".", "docs", "docs/notes", "orders"])
def test_list_finds_manage_py_in_a_folder_above(shop: Path, below: str) -> None:
    result = signalscope("list", "--json", "--signal", "post_save", cwd=shop / below)
    assert result.returncode == 0, result.stderr
    data = result.json()
    assert (data["settings"], data["settings_source"]) == ("shop.settings", "manage.py")
    assert "accounts.signals:create_user_profile" in {r["receiver"] for r in receivers(data)}
    debug = signalscope("debug", cwd=shop / below)
    assert f"project root {shop}\n" in debug.stdout, debug.stderr
    assert f"sys.path added {shop}\n" in debug.stdout


def test_the_nearest_manage_py_wins(shop: Path) -> None:
    inner = shop / "docs"
    (inner / "manage.py").write_text(
        'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "docs_site.settings")\n'
    )
    result = signalscope("list", cwd=inner / "notes")
    assert result.returncode == 2
    assert "'docs_site.settings' (from manage.py)" in result.stderr


def test_the_environment_variable_takes_the_folder_above_too(shop: Path) -> None:
    result = signalscope(
        "list", "--json", cwd=shop / "docs" / "notes", env=clean_env(DJANGO_SETTINGS_MODULE="shop.settings")
    )
    assert result.returncode == 0, result.stderr
    assert result.json()["settings_source"] == "DJANGO_SETTINGS_MODULE"


def test_settings_alone_look_only_in_the_current_folder(shop: Path) -> None:
    # --settings names the module; only the current folder is the project's then, as before.
    result = signalscope("list", "--settings", "shop.settings", cwd=shop / "docs")
    assert result.returncode == 2
    assert "no module named 'shop'" in result.stderr


def test_no_manage_py_anywhere_says_where_it_looked(tmp_path: Path) -> None:
    if find_manage_py(tmp_path) is not None:
        pytest.skip(f"a manage.py above {tmp_path} would be found")
    result = signalscope("list", cwd=tmp_path)
    assert result.returncode == 2
    assert f"manage.py in {tmp_path} or any folder above it (no such file)" in result.stderr
    assert "(or below it)" in result.stderr

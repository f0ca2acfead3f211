"""Every way loading can fail: a one-paragraph message, exit code 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import FIXTURES, clean_env, signalscope

BROKEN = FIXTURES / "broken"


def assert_clean_failure(result: object, *needles: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)  # type: ignore[attr-defined]
    err = result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in err
    assert err.startswith("signalscope: error: ")
    for needle in needles:
        assert needle in err, err
    assert result.stdout == ""  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("settings", "needles"),
    [
        ("site_cfg.bad_app_import", ["buggy/signals.py:5: NameError: name 'Shipment' is not defined"]),
        ("site_cfg.syntax_error", ["site_cfg/syntax_error.py:5: SyntaxError"]),
        ("site_cfg.raises", ["site_cfg/raises.py:3: NameError: name 'undefined_name' is not defined"]),
        (
            "site_cfg.missing_app",
            ["No module named 'not_installed_app'", "Is 'not_installed_app' listed in INSTALLED_APPS"],
        ),
        ("site_cfg.duplicate_app", ["ImproperlyConfigured: Application labels aren't unique, duplicates: auth"]),
        (
            "site_cfg.bad_urls",
            ["ROOT_URLCONF 'site_cfg.urls_broken'", "site_cfg/urls_broken.py:3: ModuleNotFoundError", "--no-urls"],
        ),
        ("site_cfg.exit_zero", ["site_cfg/exit_zero.py:6: SystemExit(0) (sys.exit() was called"]),
        (
            "site_cfg.exit_message",
            ["site_cfg/exit_message.py:8: SystemExit('Set SHOP_API_KEY before starting the site.')"],
        ),
        ("site_cfg.exit_in_ready", ["Could not set up", "quitter/apps.py:13: SystemExit(0)"]),
        ("site_cfg.exit_in_urls", ["ROOT_URLCONF 'site_cfg.urls_exit'", "site_cfg/urls_exit.py:3: SystemExit(3)"]),
        ("site_cfg.nope", ["no module named 'site_cfg.nope' on sys.path", str(BROKEN)]),
        ("nopkg.settings", ["no module named 'nopkg'"]),
    ],
)
def test_load_failures(settings: str, needles: list[str]) -> None:
    result = signalscope("list", "--project", str(BROKEN), "--settings", settings)
    assert_clean_failure(result, f"'{settings}'", *needles)


@pytest.mark.parametrize("settings", ["site_cfg.exit_zero", "site_cfg.exit_message", "site_cfg.exit_in_ready"])
def test_sys_exit_while_loading_is_not_a_green_check(settings: str) -> None:
    # sys.exit(0) used to end `check` with status 0 and no output (a green CI run),
    # sys.exit("msg") with status 1 (findings).
    result = signalscope("check", "--project", str(BROKEN), "--settings", settings)
    assert_clean_failure(result, "SystemExit(")
    assert len(result.stderr.splitlines()) == 2  # the message and its hint


def test_default_settings_of_broken_manage_py() -> None:
    result = signalscope("list", cwd=BROKEN)
    assert_clean_failure(result, "'site_cfg.bad_app_import' (from manage.py)", "buggy/signals.py:5")


def test_bad_urls_can_be_skipped() -> None:
    result = signalscope("list", "--project", str(BROKEN), "--settings", "site_cfg.bad_urls", "--no-urls")
    assert result.returncode == 0, result.stderr


def test_traceback_flag_shows_the_traceback() -> None:
    result = signalscope("list", "--project", str(BROKEN), "--traceback")
    assert result.returncode == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert "buggy/signals.py" in result.stderr
    assert result.stderr.rstrip().endswith("Fix the error above.")  # not "rerun with --traceback": it did
    plain = signalscope("list", "--project", str(BROKEN))
    assert plain.stderr.rstrip().endswith("Fix the error above; rerun with --traceback to see the whole traceback.")


def test_no_settings_anywhere(tmp_path: Path) -> None:
    result = signalscope("list", cwd=tmp_path)
    assert_clean_failure(result, "No Django settings found", "--settings (not given)", str(tmp_path))


def test_manage_py_without_a_literal_settings_module(tmp_path: Path) -> None:
    (tmp_path / "manage.py").write_text(
        "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', pick())\n", encoding="utf-8"
    )
    result = signalscope("list", "--project", str(tmp_path))
    assert_clean_failure(result, "does not set DJANGO_SETTINGS_MODULE to a literal")


def test_manage_py_is_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    (tmp_path / "manage.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nimport os\nos.environ['DJANGO_SETTINGS_MODULE'] = 'nowhere.settings'\n",
        encoding="utf-8",
    )
    result = signalscope("list", "--project", str(tmp_path))
    assert_clean_failure(result, "'nowhere.settings' (from manage.py)")
    assert not marker.exists()


def test_missing_project_folder(tmp_path: Path) -> None:
    result = signalscope("list", "--project", str(tmp_path / "absent"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_settings_from_environment_and_pythonpath(tmp_path: Path) -> None:
    env = clean_env(DJANGO_SETTINGS_MODULE="shop.settings")
    result = signalscope("list", "--json", "--pythonpath", str(FIXTURES / "shop"), cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.json()["settings_source"] == "DJANGO_SETTINGS_MODULE"
    flag = signalscope("list", "--json", "--settings", "shop.settings", "--pythonpath", str(FIXTURES / "shop"), env=env)
    assert flag.json()["settings_source"] == "--settings"


@pytest.mark.parametrize(
    ("option", "value", "needles"),
    [
        ("--signal", "post_sav", ["Unknown signal 'post_sav'", "Did you mean 'post_save'"]),
        ("--sender", "auth.Usr", ["Unknown sender 'auth.Usr'", "'auth.User'"]),
        ("--app", "acounts", ["Unknown app label 'acounts'", "'accounts'"]),
    ],
)
def test_unknown_names_suggest_close_matches(option: str, value: str, needles: list[str]) -> None:
    result = signalscope("list", "--project", str(FIXTURES / "shop"), option, value)
    assert_clean_failure(result, *needles)


def test_usage_error_exit_code() -> None:
    result = signalscope("list", "--no-such-option")
    assert result.returncode == 2
    assert "No such option" in result.stderr

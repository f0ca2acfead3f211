"""The Django app's system checks in real `manage.py` processes: Warnings that stop nothing, Errors when asked."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest
from helpers import FIXTURES, Result, clean_env, run

#: The ids of the pitfalls project's findings: one per rule, the letter the rule's severity.
ERROR_RULES = ["signalscope.E001", "signalscope.E002", "signalscope.E003", "signalscope.E004", "signalscope.E007"]
WARNING_RULES = ["signalscope.W005", "signalscope.W006"]
EVERY_RULE = sorted(ERROR_RULES + WARNING_RULES)

BASE = """\
from pitfalls.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "signalscope.contrib.django"]  # noqa: F405
# Django's own check of the SS004 pitfall (a lazy sender with a typo) is an Error, signals.E001,
# that stops migrate with or without signalscope: silenced, so that only signalscope's findings count.
SILENCED_SYSTEM_CHECKS = ["signals.E001"]
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the pitfalls project (one finding of each rule); settings modules are written into it."""
    folder = tmp_path_factory.mktemp("system_checks") / "pitfalls"
    shutil.copytree(FIXTURES / "pitfalls", folder, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    return folder


def manage(project: Path, *args: str, settings: str = "", name: str = "with_signalscope") -> Result:
    """Run `manage.py ARGS` in `project` with signalscope's app installed and the lines `settings` added."""
    (project / "pitfalls" / f"{name}.py").write_text(BASE + settings)
    env = clean_env(DJANGO_SETTINGS_MODULE=f"pitfalls.{name}")
    return run([sys.executable, "manage.py", *args], cwd=project, env=env)


def levels(output: str) -> dict[str, list[str]]:
    """Return the check ids under Django's "ERRORS:" and "WARNINGS:" headings of `output`, sorted."""
    found: dict[str, list[str]] = {"ERRORS": [], "WARNINGS": []}
    section = None
    for line in output.splitlines():
        if line in ("ERRORS:", "WARNINGS:"):
            section = line[:-1]
        elif section and (match := re.match(r"\S+: \(([\w.]+)\) ", line)):
            found[section].append(match[1])
    return {heading: sorted(ids) for heading, ids in found.items()}


def test_findings_are_warnings_that_stop_no_command(project: Path) -> None:
    check = manage(project, "check")
    assert check.returncode == 0, check.stderr
    assert levels(check.stderr) == {"ERRORS": [], "WARNINGS": EVERY_RULE}
    assert "System check identified 7 issues (1 silenced)." in check.stderr
    assert "billing/signals.py:8: notify_accounting is decorated with @receiver but never connected" in check.stderr
    assert "HINT: receiver declared but never connected (SS001)." in check.stderr
    migrate = manage(project, "migrate")
    assert migrate.returncode == 0, migrate.stderr
    assert levels(migrate.stderr) == {"ERRORS": [], "WARNINGS": EVERY_RULE}
    assert "Applying auth.0001_initial... OK" in migrate.stdout
    for command in (["showmigrations"], ["test"]):
        result = manage(project, *command)
        assert result.returncode == 0, (command, result.stderr)
        assert levels(result.stderr)["WARNINGS"] == EVERY_RULE, command


def test_fail_level_warning_fails_on_them(project: Path) -> None:
    """Django's `check --fail-level WARNING`, also with --deploy as CI often runs it, fails on the Warnings."""
    for args in (["check", "--fail-level", "WARNING"], ["check", "--deploy", "--fail-level", "WARNING"]):
        result = manage(project, *args)
        assert result.returncode == 1, (args, result.stderr)
        assert "SystemCheckError: System check identified some issues:" in result.stderr
        assert set(EVERY_RULE) <= set(levels(result.stderr)["WARNINGS"]), result.stderr
    deploy = manage(project, "check", "--deploy")  # the rules run with the deployment checks too; warnings pass
    assert deploy.returncode == 0, deploy.stderr
    assert {"security.W009", *EVERY_RULE} <= set(levels(deploy.stderr)["WARNINGS"]), deploy.stderr


def test_checks_fail_on_error_makes_the_error_rules_errors(project: Path) -> None:
    ci = 'SIGNALSCOPE = {"CHECKS_FAIL_ON": "error"}\n'
    check = manage(project, "check", settings=ci)
    assert check.returncode == 1
    assert "SystemCheckError: System check identified some issues:" in check.stderr
    assert levels(check.stderr) == {"ERRORS": ERROR_RULES, "WARNINGS": WARNING_RULES}
    migrate = manage(project, "migrate", settings=ci)
    assert migrate.returncode == 1
    assert "SystemCheckError: System check identified some issues:" in migrate.stderr
    assert "Applying" not in migrate.stdout
    # The ids are the rules', whatever the level: SILENCED_SYSTEM_CHECKS works the same in CI.
    silenced = ci + f"SILENCED_SYSTEM_CHECKS += {ERROR_RULES!r}\n"
    quiet = manage(project, "check", settings=silenced)
    assert quiet.returncode == 0, quiet.stderr
    assert levels(quiet.stderr) == {"ERRORS": [], "WARNINGS": WARNING_RULES}


def test_checks_fail_on_warning_makes_every_finding_an_error(project: Path) -> None:
    check = manage(project, "check", settings='SIGNALSCOPE = {"CHECKS_FAIL_ON": "warning"}\n')
    assert check.returncode == 1
    assert levels(check.stderr) == {"ERRORS": EVERY_RULE, "WARNINGS": []}


@pytest.mark.parametrize("value", ["{}", '{"CHECKS_FAIL_ON": None}', '{"OTHER": 1}'])
def test_no_fail_on_leaves_warnings(project: Path, value: str) -> None:
    check = manage(project, "check", settings=f"SIGNALSCOPE = {value}\n")
    assert check.returncode == 0, check.stderr
    assert levels(check.stderr) == {"ERRORS": [], "WARNINGS": EVERY_RULE}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            '{"CHECKS_FAIL_ON": "ERROR"}',
            "SIGNALSCOPE['CHECKS_FAIL_ON'] is 'ERROR', not one of 'error', 'warning', None",
        ),
        ('{"CHECKS_FAIL_ON": "fatal"}', "SIGNALSCOPE['CHECKS_FAIL_ON'] is 'fatal', not one of"),
        ('{"CHECKS_FAIL_ON": True}', "SIGNALSCOPE['CHECKS_FAIL_ON'] is True, not one of"),
        ('{"CHECK_FAIL_ON": "error"}', "SIGNALSCOPE has the key 'CHECK_FAIL_ON', not 'CHECKS_FAIL_ON'"),
        ('"error"', "SIGNALSCOPE must be a dict, not str 'error'"),
    ],
)
def test_a_bad_setting_is_one_warning(project: Path, value: str, message: str) -> None:
    check = manage(project, "check", settings=f"SIGNALSCOPE = {value}\n")
    assert check.returncode == 0, check.stderr
    assert levels(check.stderr) == {"ERRORS": [], "WARNINGS": sorted([*EVERY_RULE, "signalscope.W100"])}
    line = next(line for line in check.stderr.splitlines() if "(signalscope.W100)" in line)
    assert line.startswith("settings.SIGNALSCOPE: (signalscope.W100) " + message), line
    assert line.endswith(": signalscope's findings stay Warnings."), line


BROKEN_CHECK = """\
import signalscope.api

def _broken(self, **kwargs):
    raise RuntimeError("a bug in a rule")

signalscope.api.Session.check = _broken
"""

BROKEN_SETTING = """\
class _Broken(dict):
    def __contains__(self, key):
        raise RuntimeError("a setting that cannot be read")

SIGNALSCOPE = _Broken()
"""


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (BROKEN_CHECK, "RuntimeError: a bug in a rule"),
        (BROKEN_CHECK + 'SIGNALSCOPE = {"CHECKS_FAIL_ON": "error"}\n', "RuntimeError: a bug in a rule"),
        (BROKEN_SETTING, "RuntimeError: a setting that cannot be read"),
    ],
    ids=["rules", "rules-in-ci", "setting"],
)
def test_an_exception_while_checking_is_one_warning(project: Path, settings: str, message: str) -> None:
    check = manage(project, "check", settings=settings, name="broken")
    assert check.returncode == 0, check.stderr
    assert "Traceback" not in check.stderr
    ids = levels(check.stderr)
    assert ids["ERRORS"] == [] and ids["WARNINGS"].count("signalscope.W000") == 1, check.stderr
    assert f"(signalscope.W000) signalscope could not check the signals: {message}" in check.stderr
    assert "`signalscope check --traceback` shows where" in check.stderr
    migrate = manage(project, "migrate", settings=settings, name="broken")
    assert migrate.returncode == 0, migrate.stderr

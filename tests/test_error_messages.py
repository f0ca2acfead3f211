"""Every error message ends in one full stop, whatever text it ends with (an exception's, git's, a path)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from helpers import FIXTURES, ROOT, manage_signalscope, shop_with_signalscope_app, signalscope

from signalscope.errors import sentence

SHOP = str(FIXTURES / "shop")
BROKEN = str(FIXTURES / "broken")


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ("Unknown signal 'post_sav'.", "Unknown signal 'post_sav'."),
        ("failed: fatal: invalid object name 'HEAD~1'..", "failed: fatal: invalid object name 'HEAD~1'."),
        (
            "signals.py:5: NameError: name 'Shipment' is not defined",
            "signals.py:5: NameError: name 'Shipment' is not defined.",
        ),
        ("Can't read x: No such file or directory\n", "Can't read x: No such file or directory."),
        ("Could not set up the project:", "Could not set up the project."),
        ("Is it installed?", "Is it installed?"),
        ("Still loading...", "Still loading..."),
        ("Still loading\u2026", "Still loading\u2026"),
        ("on sys.path (added: /a/b)", "on sys.path (added: /a/b)."),
    ],
)
def test_sentence(message: str, shown: str) -> None:
    assert sentence(message) == shown


ERRORS = [
    ["diff", "--git", "HEAD~99999", "signals.lock.json", "--project", SHOP],  # git's message ends with "."
    ["diff", "--git", "HEAD", "no-such.json", "--project", SHOP],
    ["diff", "no-such.json"],
    ["diff", str(FIXTURES / "shop" / "manage.py")],  # not JSON
    ["list", "--project", BROKEN, "--settings", "site_cfg.bad_app_import"],  # ends with the exception's text
    ["list", "--project", BROKEN, "--settings", "site_cfg.syntax_error"],
    ["list", "--project", BROKEN, "--settings", "site_cfg.duplicate_app"],
    ["list", "--project", BROKEN, "--settings", "site_cfg.exit_message"],
    ["list", "--project", BROKEN, "--settings", "site_cfg.nope"],
    ["list", "--project", BROKEN, "--settings", "site_cfg.bad_urls"],
    ["list", "--project", "/no/such/folder"],
    ["list", "--project", SHOP, "--signal", "post_sav"],
    ["list", "--project", SHOP, "--receiver", "ordrs.*"],
    ["graph", "--project", SHOP, "--rankdir", "XY"],
    ["graph", "-f", "gif"],
    ["graph", "-o", "signals.sarif"],
    ["graph", "--project", SHOP, "-o", "/no/such/folder/g.dot"],
    ["check", "--fail-on", "never"],
    ["check", "-f", "xml"],
    ["check", "-o", "findings.sarif"],
    ["impact", "--project", SHOP, "nope.Model"],
    ["impact", "--project", SHOP, "auth.User", "-a", "fly"],
    ["impact", "--project", SHOP],
    ["trace", "--group", "x", "--", "a.py"],
    ["trace", "--", "/no/such/program.py"],
    ["trace", "--", "-m"],
    ["trace"],
    ["report", "--project", SHOP, "-o", str(FIXTURES / "shop" / "manage.py")],
]


def _assert_one_full_stop(stderr: str) -> None:
    first = stderr.splitlines()[0]
    assert first.startswith("signalscope: error: "), stderr
    assert re.search(r"[^.]\.$|[?!]$", first), f"no single full stop: {first!r}"
    assert not re.search(r"[:;,]\.$", first), first


@pytest.mark.parametrize("args", ERRORS, ids=lambda args: " ".join(args)[:60])
def test_error_messages_end_in_one_full_stop(args: list[str]) -> None:
    result = signalscope(*args, cwd=ROOT)
    assert result.returncode == 2, (result.stdout, result.stderr)
    _assert_one_full_stop(result.stderr)


def test_the_issue_s_git_message(tmp_path: Path) -> None:
    (tmp_path / "signals.lock.json").write_text("{}\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q", "."], ["add", "signals.lock.json"], ["commit", "-q", "-m", "one"]):
        subprocess.run([*git, *args], cwd=tmp_path, check=True, capture_output=True)
    result = signalscope("diff", "--git", "HEAD~1", "signals.lock.json", "--project", SHOP, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0].endswith("failed: fatal: invalid object name 'HEAD~1'."), result.stderr


def test_the_management_command_shows_them_the_same_way(tmp_path: Path) -> None:
    shop = shop_with_signalscope_app(tmp_path)
    for args in (["diff", "--git", "HEAD~99999", "signals.lock.json"], ["list", "--sender", "auth.Usr"]):
        result = manage_signalscope(shop, *args)
        assert result.returncode == 2, result.stderr
        _assert_one_full_stop(result.stderr)

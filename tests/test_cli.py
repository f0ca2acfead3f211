"""The list command's options, run for real on the fixtures."""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import FIXTURES, clean_env, receivers, signalscope

SHOP = str(FIXTURES / "shop")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_plain_output_is_one_line_per_receiver_and_greppable() -> None:
    result = signalscope("list", "--project", SHOP)
    assert result.returncode == 0, result.stderr
    assert not ANSI.search(result.stdout)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("signalscope ") and "settings shop.settings (from manage.py)" in lines[0]
    user_lines = [line for line in lines if "auth.User" in line]
    assert len(user_lines) == 2
    assert re.match(
        r"post_save\s+auth\.User\s+1\s+accounts\.signals:create_user_profile\s+accounts/signals\.py:8$", user_lines[0]
    )
    partial = next(line for line in lines if "invalidate_cache" in line)
    assert partial.endswith("partial strong")
    assert "No receivers: " in result.stdout  # signals without receivers are named in the summary


def test_plain_lines_are_not_wrapped_on_narrow_terminals() -> None:
    result = signalscope("list", "--project", SHOP, env=clean_env(COLUMNS="40"))
    line = next(line for line in result.stdout.splitlines() if "inject_rename_contenttypes_operations" in line)
    assert "pre_migrate" in line and "django/contrib/contenttypes/management/__init__.py:" in line


def test_tree() -> None:
    result = signalscope("list", "--project", SHOP, "--tree", "--signal", "post_save")
    assert result.returncode == 0, result.stderr
    body = result.stdout.split("\n\n")[1]
    assert body.splitlines()[:4] == [
        "django.db.models.signals:post_save  [model]",
        "  <any sender>",
        "    1. orders.receivers:touch_search_index  orders/receivers.py:122",
        "  auth.User",
    ]


@pytest.mark.parametrize(
    "name", ["post_save", "django.db.models.signals:post_save", "django.db.models.signals.post_save"]
)
def test_signal_filter_by_name_or_path(name: str) -> None:
    data = signalscope("list", "--json", "--project", SHOP, "--signal", name).json()
    assert [s["path"] for s in data["signals"]] == ["django.db.models.signals:post_save"]
    assert len(data["signals"][0]["receivers"]) == 5


def test_signal_filter_keeps_a_signal_without_receivers_and_repeats() -> None:
    data = signalscope("list", "--json", "--project", SHOP, "-s", "pre_init", "-s", "order_placed").json()
    assert [(s["name"], len(s["receivers"])) for s in data["signals"]] == [("pre_init", 0), ("order_placed", 2)]


def test_sender_filter_shows_what_runs_for_that_sender_in_call_order() -> None:
    data = signalscope("list", "--json", "--project", SHOP, "--sender", "auth.user").json()
    # The any-sender receiver was connected after the User ones: it runs third.
    assert [(r["receiver"], r["position"]) for r in receivers(data, "post_save")] == [
        ("accounts.signals:create_user_profile", 0),
        ("accounts.signals:save_user_profile", 1),
        ("orders.receivers:touch_search_index", 2),
    ]
    # Model signals, and login's and logout's (sent with sender=user.__class__): a User sends no request_started.
    assert {s["category"] for s in data["signals"]} == {"model", "auth"}
    assert {s["name"] for s in data["signals"] if s["category"] == "auth"} == {"user_logged_in", "user_logged_out"}
    order = signalscope("list", "--json", "--project", SHOP, "--sender", "orders.Order").json()
    # order_placed's any-sender receiver was connected first: it runs first.
    assert [(r["receiver"], r["position"]) for r in receivers(order, "order_placed")] == [
        ("orders.receivers:send_order_confirmation", 0),
        ("orders.receivers:award_loyalty_points", 1),
    ]
    config = signalscope("list", "--json", "--project", SHOP, "--sender", "<AppConfig: orders>").json()
    assert [s["name"] for s in config["signals"]] == ["post_migrate"]
    rows = receivers(config)
    assert [r["position"] for r in rows] == list(range(len(rows)))
    assert rows[-1]["receiver"] == "orders.receivers:create_default_shipping_methods"
    assert {r["sender"] for r in rows[:-1]} == {None} and len(rows) >= 3


def test_app_filter() -> None:
    data = signalscope("list", "--json", "--project", SHOP, "--app", "accounts").json()
    assert {r["receiver"] for r in receivers(data)} == {
        "accounts.signals:create_user_profile",
        "accounts.signals:save_user_profile",
    }
    assert [s["name"] for s in data["signals"]] == ["post_save"]
    auth = signalscope("list", "--json", "--project", SHOP, "--app", "auth").json()
    assert {r["receiver"] for r in receivers(auth)} >= {"django.contrib.auth.models:update_last_login"}
    assert all(r["receiver"].startswith("django.contrib.auth.") for r in receivers(auth))


def test_receiver_glob_and_hide_django() -> None:
    data = signalscope("list", "--json", "--project", SHOP, "--receiver", "*:*cart*").json()
    assert sorted(r["receiver"] for r in receivers(data)) == [
        "orders.receivers:clear_cart_cache",
        "orders.receivers:merge_guest_cart",
    ]
    hidden = signalscope("list", "--json", "--project", SHOP, "--hide-django").json()
    rows = receivers(hidden)
    assert rows and not [r for r in rows if r["receiver"].startswith("django.")]
    assert len(rows) == 18
    # A glob that matches no receiver at all is a typo: an error with close matches, never an empty pass.
    typo = signalscope("list", "--project", SHOP, "--receiver", "ordrs.*")
    assert typo.returncode == 2 and typo.stderr.splitlines() == [
        "signalscope: error: Unknown receiver glob 'ordrs.*'.",
        "Did you mean 'orders.*'?",
    ], typo.stderr
    # Filters that each match, together nothing: an answer.
    none = signalscope("list", "--project", SHOP, "--receiver", "django.*", "--hide-django")
    assert none.returncode == 0 and "No receivers match." in none.stdout


def _run_in_pty(args: list[str], env: dict[str, str]) -> str:
    """Run with stdout on a pseudo-terminal and return what it printed."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(args, stdout=follower, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env)
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_colour_on_a_terminal_and_never_with_no_color() -> None:
    args = [sys.executable, "-m", "signalscope", "list", "--project", SHOP, "--signal", "post_save"]
    coloured = _run_in_pty(args, clean_env(COLUMNS="160", TERM="xterm-256color"))
    assert ANSI.search(coloured)
    assert "create_user_profile" in coloured
    plain = _run_in_pty(args, clean_env(COLUMNS="160", TERM="xterm-256color", NO_COLOR="1"))
    assert "create_user_profile" in plain
    assert not re.search(r"\x1b\[[0-9;]*m", plain)  # no colour escape (cursor codes are fine)


@pytest.mark.parametrize("command", ["list", "debug"])
def test_every_command_has_help_with_examples(command: str) -> None:
    result = signalscope(command, "--help")
    assert result.returncode == 0
    assert "Examples" in result.stdout and f"signalscope {command}" in result.stdout


def test_help_works_without_any_project(tmp_path: Path) -> None:
    result = signalscope("--help", cwd=tmp_path)
    assert result.returncode == 0 and "list" in result.stdout


def test_version_and_console_script() -> None:
    import signalscope as pkg

    result = signalscope("--version")
    assert result.stdout == f"signalscope {pkg.__version__}\n"
    script = shutil.which("signalscope", path=str(Path(sys.executable).parent))
    assert script, "the console script is not installed next to this interpreter"
    direct = subprocess.run([script, "--version"], capture_output=True, text=True, check=True)
    assert direct.stdout == result.stdout


def test_debug_shows_where_the_settings_came_from() -> None:
    result = signalscope("debug", "--project", SHOP)
    assert result.returncode == 0, result.stderr
    assert "settings shop.settings (from manage.py)" in result.stdout
    assert f"project root {SHOP}" in result.stdout
    assert "ROOT_URLCONF imported: yes" in result.stdout


def test_an_app_config_is_a_sender_of_the_migrate_signals() -> None:
    # post_migrate is sent with sender=<each AppConfig>: its any-sender receivers run for each app.
    data = signalscope("list", "--json", "--project", SHOP, "--sender", "<AppConfig: auth>").json()
    rows = receivers(data)
    assert rows and {r["signal"].rsplit(":", 1)[-1] for r in rows} <= {"pre_migrate", "post_migrate"}
    assert "django.contrib.auth.management:create_permissions" in {r["receiver"] for r in rows}

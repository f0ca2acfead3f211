"""`signalscope snapshot` and `diff`: wiring changes made visible, on a copy of the shop; and the Django app."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import FIXTURES, clean_env, signalscope


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    folder = tmp_path / "shop"
    shutil.copytree(FIXTURES / "shop", folder, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    return folder


def test_snapshot_is_stable_and_has_no_lines(shop: Path) -> None:
    first = signalscope("snapshot", cwd=shop)
    assert first.returncode == 0, first.stderr
    assert signalscope("snapshot", cwd=shop).stdout == first.stdout
    data = first.json()
    assert data["schema"] == 1 and data["include_django"] is False
    post_save = data["signals"]["django.db.models.signals:post_save"]
    assert {
        "sender": "auth.User", "receiver": "accounts.signals:create_user_profile", "dispatch_uid": None,
        "weak": True, "dead": False, "pending": False,
    } in post_save  # fmt: skip
    keys = {"sender", "receiver", "dispatch_uid", "weak", "dead", "pending"}  # no file, no line
    assert all(set(e) == keys for entries in data["signals"].values() for e in entries)
    assert not any(e["receiver"].startswith("django.") for entries in data["signals"].values() for e in entries)
    full = signalscope("snapshot", "--include-django", cwd=shop).json()
    assert any(e["receiver"].startswith("django.") for entries in full["signals"].values() for e in entries)


def test_diff_reports_added_removed_changed_and_exits_1(shop: Path) -> None:
    assert signalscope("snapshot", "-o", "signals.lock.json", cwd=shop).returncode == 0
    same = signalscope("diff", "signals.lock.json", cwd=shop)
    assert (same.returncode, same.stdout) == (0, "No wiring changes.\n")
    # Moving code is not a change.
    receivers = shop / "accounts" / "signals.py"
    receivers.write_text("\n\n# moved down\n" + receivers.read_text())
    assert signalscope("diff", "signals.lock.json", cwd=shop).returncode == 0
    # A new receiver, a renamed dispatch_uid, a connection made strong.
    receivers.write_text(
        receivers.read_text()
        + "\n\n@receiver(post_save, sender=User)\ndef send_welcome_email(sender, instance, created, **kwargs):\n"
        "    pass\n"
    )
    orders = shop / "orders" / "receivers.py"
    text = orders.read_text()
    assert 'dispatch_uid="orders.notify_warehouse"' in text
    orders.write_text(text.replace('dispatch_uid="orders.notify_warehouse"', 'dispatch_uid="orders.warehouse"'))
    result = signalscope("diff", "signals.lock.json", cwd=shop)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        "+ post_save(auth.User): accounts.signals:send_welcome_email",
        "- post_save(orders.Order): orders.receivers:notify_warehouse [dispatch_uid=orders.notify_warehouse]",
        "+ post_save(orders.Order): orders.receivers:notify_warehouse [dispatch_uid=orders.warehouse]",
        "",
        "3 wiring changes: 2 added, 1 removed.",
    ]
    changes = signalscope("diff", "signals.lock.json", "--json", cwd=shop).json()["changes"]
    assert {"signal", "sender", "receiver", "dispatch_uid", "change", "detail"} == set(changes[0])
    # Two files, and a flag change.
    old = json.loads((shop / "signals.lock.json").read_text())
    new = json.loads(json.dumps(old))
    new["signals"]["django.db.models.signals:post_save"][0]["weak"] = False
    (shop / "new.json").write_text(json.dumps(new))
    flagged = signalscope("diff", "signals.lock.json", "new.json", cwd=shop)
    assert flagged.returncode == 1 and ": weak: weak → strong" in flagged.stdout


def test_diff_against_a_git_ref(shop: Path) -> None:
    git = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci"]
    subprocess.run(["git", "init", "-q", "."], cwd=shop, check=True)
    assert signalscope("snapshot", "-o", "signals.lock.json", cwd=shop).returncode == 0
    subprocess.run(["git", "add", "-A"], cwd=shop, check=True)
    subprocess.run([*git, "commit", "-qm", "snapshot"], cwd=shop, check=True)
    (shop / "signals.lock.json").write_text("{}")  # the working copy no longer matters
    (shop / "orders" / "receivers.py").write_text(
        (shop / "orders" / "receivers.py").read_text().replace("@receiver(user_logged_out)\n", "")
    )
    result = signalscope("diff", "--git", "HEAD", "signals.lock.json", cwd=shop)
    assert result.returncode == 1, result.stderr
    assert "- user_logged_out(any sender): orders.receivers:clear_cart_cache" in result.stdout
    bad = signalscope("diff", "--git", "no-such-ref", "signals.lock.json", cwd=shop)
    assert bad.returncode == 2 and "git show no-such-ref:./signals.lock.json failed" in bad.stderr


def test_diff_usage_errors(shop: Path) -> None:
    (shop / "junk.json").write_text("[1, 2]")
    (shop / "other.json").write_text('{"schema": 7}')
    for args, message in [
        (["missing.json"], "Can't read missing.json: No such file or directory."),
        (["junk.json"], "junk.json is not a signalscope snapshot."),
        (["other.json", "other.json"], "other.json: a snapshot of schema 7, from a newer signalscope"),
    ]:
        result = signalscope("diff", *args, cwd=shop)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)


def test_the_django_app_adds_system_checks_and_a_command(tmp_path: Path) -> None:
    folder = tmp_path / "pitfalls"
    shutil.copytree(FIXTURES / "pitfalls", folder, ignore=shutil.ignore_patterns("__pycache__"))
    settings = folder / "pitfalls" / "settings.py"
    settings.write_text(
        settings.read_text().replace('    "notify",\n', '    "notify",\n    "signalscope.contrib.django",\n')
    )
    check = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=folder, env=clean_env(), capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr  # Warnings: a debugging tool never stops the project
    assert "WARNINGS:" in check.stderr and "ERRORS:" not in check.stderr
    ids = sorted(set(__import__("re").findall(r"\(signalscope\.[EW]\d{3}\)", check.stderr)))
    assert ids == [f"(signalscope.E00{i})" for i in (1, 2, 3, 4, 7)] + ["(signalscope.W005)", "(signalscope.W006)"]
    assert "billing/signals.py:8: notify_accounting is decorated with @receiver but never connected" in check.stderr
    silenced = settings.read_text() + '\nSILENCED_SYSTEM_CHECKS = ["signalscope.W005", "signalscope.W006"]\n'
    settings.write_text(silenced)
    assert (
        "signalscope.W005"
        not in subprocess.run(
            [sys.executable, "manage.py", "check"], cwd=folder, env=clean_env(), capture_output=True, text=True
        ).stderr
    )
    command = subprocess.run(
        [sys.executable, "manage.py", "signalscope", "check", "--select", "SS004", "--format", "json"],
        cwd=folder, env=clean_env(), capture_output=True, text=True,
    )  # fmt: skip
    assert command.returncode == 1, command.stderr
    assert [f["rule"] for f in json.loads(command.stdout)["findings"]] == ["SS004"]


def test_dispatch_uids_made_of_ids_are_stable() -> None:
    # django-auditlog: dispatch_uid=(id(self), id(signal), id(receiver)), other numbers in every process.
    from signalscope.introspect.receivers import _uid_text

    assert _uid_text((140356807885648, 140356807886288, 94322809898336)) == "(<id>, <id>, <id>)"
    assert _uid_text((id(object()),)) == "(<id>,)"
    assert _uid_text(("orders", 3)) == "('orders', 3)"
    assert _uid_text("receipt") == "receipt"
    assert _uid_text(2**32 + 1) == "4294967297"  # not an address: kept
    # A python built without PIE (Debian's /usr/bin/python3) has objects below 4 GiB: auditlog's
    # id(sender) of a through model was 198998512. Known to the scan, or beside an id: an id.
    assert _uid_text((140356807885648, 140356807886288, 198998512), known={198998512}) == "(<id>, <id>, <id>)"
    assert _uid_text((198998512, 852712512), known={852712512}) == "(<id>, <id>)"
    assert _uid_text(("orders", 198998512)) == "('orders', 198998512)"  # nothing says it is one: kept

"""`manage.py signalscope`: the commands over the API in the project's own process, as the program gives them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import manage_signalscope, shop_with_signalscope_app, signalscope


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shop_with_signalscope_app(tmp_path_factory.mktemp("mgmt"))


manage = manage_signalscope


def test_list_and_impact_are_the_programs(shop: Path) -> None:
    for args in (["list", "--json", "--sender", "auth.User"], ["impact", "auth.User", "-a", "create", "--json"]):
        ours = manage(shop, *args)
        program = signalscope(*args, "--project", str(shop))
        assert ours.returncode == program.returncode == 0, ours.stderr
        if args[0] == "list":  # the settings' source differs: manage.py set DJANGO_SETTINGS_MODULE
            mine, theirs = json.loads(ours.stdout), json.loads(program.stdout)
            assert mine.pop("settings_source") == "DJANGO_SETTINGS_MODULE"
            theirs.pop("settings_source")
            assert mine == theirs
        else:
            assert ours.stdout == program.stdout


def test_exit_codes(shop: Path, tmp_path: Path) -> None:
    snapshot = tmp_path / "s.json"
    assert manage(shop, "snapshot", "-o", str(snapshot)).returncode == 0
    assert manage(shop, "diff", str(snapshot)).returncode == 0
    data = json.loads(snapshot.read_text())
    data["signals"].popitem()
    snapshot.write_text(json.dumps(data))
    changed = manage(shop, "diff", str(snapshot), "--json")
    assert changed.returncode == 1 and json.loads(changed.stdout)["changes"]
    assert manage(shop, "check", "--fail-on", "error").returncode == 0
    assert manage(shop, "check").returncode == 1  # the shop's one warning
    unknown = manage(shop, "list", "--sender", "auth.Usr")
    assert unknown.returncode == 2 and "Did you mean 'auth.User'" in unknown.stderr
    refused = manage(shop, "trace")
    assert refused.returncode == 2 and "invalid choice: 'trace'" in refused.stderr

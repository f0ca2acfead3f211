"""The django-debug-toolbar panel, on a copy of the shop: a view that creates a user shows the Profile chain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import python_snippet
from toolbar_project import toolbar_shop

CLIENT = """
import json, os, re, sys
sys.path.insert(0, {folder!r})
os.environ["DJANGO_SETTINGS_MODULE"] = "toolbar_settings"
import django; django.setup()
from django.core.management import call_command
call_command("migrate", run_syncdb=True, verbosity=0)
from django.test import Client
client = Client()
page = client.get({url!r}, {{"name": {name!r}}}).content.decode()
found = re.search(r'data-(request|store)-id="([^"]+)"', page)  # the toolbar renamed store_id to request_id in 6.0
key, request_id = found.group(1) + "_id", found.group(2)
subtitle = re.search(r"Signals \\(signalscope\\).*?<small>(.*?)</small>", page, re.S)
panel = client.get("/__debug__/render_panel/", {{key: request_id, "panel_id": "SignalTracePanel"}}).json()
print(json.dumps({{"content": panel["content"], "subtitle": subtitle.group(1).strip() if subtitle else None}}))
"""


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return toolbar_shop(tmp_path / "shop")


def run(shop: Path, name: str, url: str = "/signup/") -> dict[str, str]:
    return json.loads(python_snippet(CLIENT.format(folder=str(shop), name=name, url=url)))  # type: ignore[no-any-return]


def test_the_panel_shows_the_requests_profile_chain(shop: Path) -> None:
    result = run(shop, "ada")
    content = result["content"]
    assert '<strong class="djdt-signalscope-send">post_save(auth.User)</strong>' in content
    # The seed's chain, nested: User's post_save -> create_user_profile -> Profile's post_save.
    chain = content.index("post_save(auth.User)")
    profile = content.index("accounts.signals:create_user_profile", chain)
    assert content.index("post_save(accounts.Profile)", profile) > profile
    assert "accounts/signals.py:" in content  # file:line from the registry
    assert result["subtitle"] is not None and result["subtitle"].endswith(" ms")
    assert result["subtitle"].split()[1] == "sends"


def test_an_async_view(shop: Path) -> None:
    content = run(shop, "bo", url="/asignup/")["content"]
    chain = content.index("post_save(auth.User)")
    assert content.index("accounts.signals:create_user_profile", chain) < content.index("post_save(accounts.Profile)")


def test_hostile_names_are_escaped(shop: Path) -> None:
    result = run(shop, "<img src=x onerror=alert(1)>")
    content = result["content"]
    assert "welcomed(&#x27;&lt;img src=x onerror=alert(1)&gt;&#x27;)" in content  # the sender label, escaped
    assert "<img" not in content


def test_nothing_is_traced_when_the_toolbar_is_off(shop: Path) -> None:
    code = (
        "import os, sys\n"
        f"sys.path.insert(0, {str(shop)!r})\n"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'toolbar_settings'\n"
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "print(Client().get('/traced/').content.decode())\n"  # toolbar shown: traced
        "print(Client(REMOTE_ADDR='10.0.0.9').get('/traced/').content.decode())\n"  # not an internal IP: off
    )
    assert python_snippet(code).split() == ["True", "False"]

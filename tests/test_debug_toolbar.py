"""The django-debug-toolbar panel, on a copy of the shop: a view that creates a user shows the Profile chain."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import FIXTURES, python_snippet

SETTINGS = """
from shop.settings import *  # noqa: F403

DEBUG = True
INSTALLED_APPS = [*INSTALLED_APPS, "debug_toolbar"]
MIDDLEWARE = ["debug_toolbar.middleware.DebugToolbarMiddleware", *MIDDLEWARE]
INTERNAL_IPS = ["127.0.0.1"]
ROOT_URLCONF = "toolbar_urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DEBUG_TOOLBAR_PANELS = [
    "debug_toolbar.panels.timer.TimerPanel",
    "signalscope.contrib.debug_toolbar.SignalTracePanel",
]
DEBUG_TOOLBAR_CONFIG = {"IS_RUNNING_TESTS": False}
"""

URLS = """
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.dispatch import Signal
from django.urls import include, path

welcomed = Signal()
welcomed.connect(lambda sender, **kwargs: None, weak=False)


def signup(request):
    User.objects.create(username=request.GET["name"])
    welcomed.send(sender=request.GET["name"])  # a string sender: its label is shown
    return HttpResponse("<html><body><p>welcome</p></body></html>")


async def asignup(request):  # an async view: the sends come from the event loop and a worker thread
    await User.objects.acreate(username=request.GET["name"])
    return HttpResponse("<html><body><p>welcome</p></body></html>")


def traced(request):  # whether the tracer's hooks are on Django's Signal class during this request
    from signalscope.tracing import recorder

    return HttpResponse(str(recorder.installed()))


urlpatterns = [
    path("signup/", signup),
    path("asignup/", asignup),
    path("traced/", traced),
    path("__debug__/", include("debug_toolbar.urls")),
]
"""

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
    folder = tmp_path / "shop"
    shutil.copytree(FIXTURES / "shop", folder, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    (folder / "toolbar_settings.py").write_text(SETTINGS)
    (folder / "toolbar_urls.py").write_text(URLS)
    return folder


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

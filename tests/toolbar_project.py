"""A copy of the shop with django-debug-toolbar and signalscope's panel: for the panel's tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from helpers import FIXTURES

__all__ = ["toolbar_shop"]

SETTINGS = """
from shop.settings import *  # noqa: F403

DEBUG = True
INSTALLED_APPS = [*INSTALLED_APPS, "debug_toolbar"]
MIDDLEWARE = ["debug_toolbar.middleware.DebugToolbarMiddleware", *MIDDLEWARE]
INTERNAL_IPS = ["127.0.0.1"]
ROOT_URLCONF = "toolbar_urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": __DATABASE__}}
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


def toolbar_shop(folder: Path, *, database: str = ":memory:") -> Path:
    """Copy the shop into `folder` with toolbar_settings.py and toolbar_urls.py; return it."""
    shutil.copytree(FIXTURES / "shop", folder, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    (folder / "toolbar_settings.py").write_text(SETTINGS.replace("__DATABASE__", repr(database)))
    (folder / "toolbar_urls.py").write_text(URLS)
    return folder

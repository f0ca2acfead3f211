"""`list` loads the project as the process that serves its requests does: checked against a real runserver.

A copy of the shop fixture gets test-only settings: a middleware that
connects a receiver when it is built and, at request time, writes down the
receivers Django will call for request_started and request_finished
(found with Django's own dispatch, named independently of signalscope); a
receiver connected by the URLconf; and, for WSGI_APPLICATION, a WSGI module
that connects one too. `manage.py runserver --noreload` serves one request,
and `signalscope list --json` must name the same receivers at the same
positions.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from helpers import FIXTURES, clean_env, python_snippet, receivers, signalscope
from typer.testing import CliRunner

REQUEST_SIGNALS = ("django.core.signals:request_started", "django.core.signals:request_finished")

PROBE = '''\
"""Test-only middleware: the receivers Django will call for this request's signals, written to $PROBE_OUT."""
import json
import os

from django.core import signals
from django.core.handlers.wsgi import WSGIHandler


def connected_by_middleware(sender, **kwargs):
    pass


def _called(signal):
    live = signal._live_receivers(WSGIHandler)  # runserver sends with sender=WSGIHandler
    if isinstance(live, tuple):  # Django 5.0+: (sync, async)
        live = [*live[0], *live[1]]
    return [f"{r.__module__}:{r.__qualname__}" for r in live]


class Probe:
    def __init__(self, get_response):
        self.get_response = get_response
        signals.request_finished.connect(connected_by_middleware)

    def __call__(self, request):
        names = ("request_started", "request_finished")
        with open(os.environ["PROBE_OUT"], "w") as handle:
            json.dump({f"django.core.signals:{n}": _called(getattr(signals, n)) for n in names}, handle)
        return self.get_response(request)
'''

URLS_RECEIVER = """

from django.core.signals import request_finished


def connected_by_urls(sender, **kwargs):
    pass


request_finished.connect(connected_by_urls)
"""

WSGI_MODULE = """\
from django.core.signals import request_started
from django.core.wsgi import get_wsgi_application


def connected_by_wsgi_module(sender, **kwargs):
    pass


request_started.connect(connected_by_wsgi_module)
application = get_wsgi_application()
"""

ASGI_MODULE = """\
from django.core.asgi import get_asgi_application
from django.core.signals import request_finished


def connected_by_asgi_module(sender, **kwargs):
    pass


request_finished.connect(connected_by_asgi_module)
application = get_asgi_application()
"""


def _settings(base: str, line: str) -> str:
    return f"from .{base} import *  # noqa: F403\n\n{line}  # noqa: F405\n"


SETTINGS = {
    # Django's default handler: the settings name no WSGI_APPLICATION.
    "probe_settings": _settings("settings", 'MIDDLEWARE = ["probe.Probe", *MIDDLEWARE]'),
    "probe_wsgi_settings": _settings("probe_settings", 'WSGI_APPLICATION = "shop.probe_wsgi.application"'),
    "probe_asgi_settings": _settings("settings", 'ASGI_APPLICATION = "shop.probe_asgi.application"'),
    "broken_wsgi_settings": _settings("settings", 'WSGI_APPLICATION = "shop.broken_wsgi.application"'),
    "missing_wsgi_settings": _settings("settings", 'WSGI_APPLICATION = "shop.wsgi_nowhere.application"'),
    "broken_middleware_settings": _settings("settings", 'MIDDLEWARE = ["broken_middleware.Broken", *MIDDLEWARE]'),
}


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A copy of fixtures/shop with the probe settings, middleware and modules."""
    root = tmp_path / "shop"
    shutil.copytree(FIXTURES / "shop", root, ignore=shutil.ignore_patterns("__pycache__", "db.sqlite3"))
    (root / "probe.py").write_text(PROBE, encoding="utf-8")
    (root / "broken_middleware.py").write_text(
        "class Broken:\n    def __init__(self, get_response):\n        raise RuntimeError('middleware boom')\n",
        encoding="utf-8",
    )
    with (root / "shop" / "urls.py").open("a", encoding="utf-8") as handle:
        handle.write(URLS_RECEIVER)
    (root / "shop" / "probe_wsgi.py").write_text(WSGI_MODULE, encoding="utf-8")
    (root / "shop" / "probe_asgi.py").write_text(ASGI_MODULE, encoding="utf-8")
    (root / "shop" / "broken_wsgi.py").write_text(
        "from django.core.wsgi import get_wsgi_application\n\nraise RuntimeError('wsgi boom')\n", encoding="utf-8"
    )
    for name, text in SETTINGS.items():
        (root / "shop" / f"{name}.py").write_text(text, encoding="utf-8")
    return root


def _manage_py_order() -> list[str]:
    """The request_finished receivers that manage.py's first import connects, in its order on this Python.

    ``from django.core.management import ...`` imports django.core.cache and
    django.db, each connecting its receiver at its end: close_caches first on
    Python 3.11 and 3.12, close_old_connections first on 3.13 (its imports
    finish in another order).
    """
    from helpers import run

    code = (
        "import django.core.management\n"
        "from django.core.signals import request_finished\n"
        "for _key, ref, *_ in request_finished.receivers:\n"
        "    f = ref()\n"
        "    print(f'{f.__module__}:{f.__qualname__}')\n"
    )
    result = run([sys.executable, "-c", code], env=clean_env())
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _served(root: Path, settings: str, tmp_path: Path) -> dict[str, list[str]]:
    """Run `manage.py runserver --noreload`, make one request, and return what the probe wrote."""
    out = tmp_path / "probe.json"
    log = tmp_path / "server.log"
    port = _free_port()
    env = clean_env(PROBE_OUT=str(out))
    args = [
        sys.executable,
        "manage.py",
        "runserver",
        "--noreload",
        "--settings",
        f"shop.{settings}",
        f"127.0.0.1:{port}",
    ]
    with log.open("w") as handle:
        server = subprocess.Popen(args, cwd=root, env=env, stdout=handle, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not out.exists():
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"runserver served no request:\n{log.read_text()}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=5).close()
            except urllib.error.HTTPError:
                pass  # served: the probe ran before the view
            except OSError:
                time.sleep(0.2)  # not listening yet
    finally:
        server.terminate()
        server.wait(timeout=30)
    data: dict[str, list[str]] = json.loads(out.read_text(encoding="utf-8"))
    return data


def _listed(root: Path, settings: str, *extra: str) -> dict[str, Any]:
    result = signalscope("list", "--json", "--project", str(root), "--settings", f"shop.{settings}", *extra)
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = result.json()
    return data


def _call_order(data: dict[str, Any], signal: str) -> list[str]:
    rows = receivers(data, signal)
    assert all(r["sender_kind"] == "any" for r in rows), rows  # what a send from WSGIHandler runs
    assert [r["position"] for r in rows] == list(range(len(rows)))
    return [r["receiver"] for r in rows]


@pytest.mark.parametrize(
    ("settings", "application"),
    [
        ("probe_settings", "django.core.wsgi.get_wsgi_application()"),
        ("probe_wsgi_settings", "shop.probe_wsgi.application (WSGI_APPLICATION)"),
    ],
)
def test_list_has_the_request_receivers_of_runserver_in_its_order(
    shop: Path, tmp_path: Path, settings: str, application: str
) -> None:
    served = _served(shop, settings, tmp_path)
    listed = _listed(shop, settings)
    assert listed["load_steps"] == ["setup", "urls", "application"]
    for signal in REQUEST_SIGNALS:
        assert _call_order(listed, signal) == served[signal], signal
    finished = served["django.core.signals:request_finished"]
    assert finished[:2] == _manage_py_order()
    assert "django.core.handlers.base:reset_urlconf" in finished
    assert "probe:connected_by_middleware" in finished
    assert "shop.urls:connected_by_urls" in finished
    started = served["django.core.signals:request_started"]
    assert ("shop.probe_wsgi:connected_by_wsgi_module" in started) is (settings == "probe_wsgi_settings")
    debug = signalscope("debug", "--project", str(shop), "--settings", f"shop.{settings}")
    assert f"application loaded: {application}\n" in debug.stdout, debug.stderr


def test_no_app_leaves_out_what_the_handler_middleware_and_application_connect(shop: Path) -> None:
    listed = _listed(shop, "probe_wsgi_settings", "--no-app")
    assert listed["load_steps"] == ["setup", "urls"]
    everything = {r["receiver"] for r in receivers(listed)}
    assert "shop.urls:connected_by_urls" in everything
    for missing in (
        "django.core.handlers.base:reset_urlconf",
        "probe:connected_by_middleware",
        "shop.probe_wsgi:connected_by_wsgi_module",
    ):
        assert missing not in everything
    # manage.py's own imports still come first, in the order they connect on this Python.
    assert _call_order(listed, "request_finished") == [
        *_manage_py_order(),
        "orders.receivers:flush_order_metrics",
        "shop.urls:connected_by_urls",
    ]
    bare = _listed(shop, "probe_settings", "--no-app", "--no-urls")
    assert bare["load_steps"] == ["setup"]


def test_the_brute_force_scan_agrees_without_the_application(shop: Path) -> None:
    from helpers import TESTS, run

    truth = run(
        [sys.executable, str(TESTS / "ground_truth.py"), str(shop), "shop.probe_wsgi_settings", "--no-app"], cwd=shop
    )
    assert truth.returncode == 0, truth.stderr
    listed = _listed(shop, "probe_wsgi_settings", "--no-app")
    key = lambda row: json.dumps(row, sort_keys=True)  # noqa: E731
    assert sorted(map(key, receivers(listed))) == sorted(map(key, truth.json()["receivers"]))


def test_an_asgi_application_is_loaded_when_the_settings_name_only_that(shop: Path) -> None:
    listed = _listed(shop, "probe_asgi_settings")
    assert "shop.probe_asgi:connected_by_asgi_module" in _call_order(listed, "request_finished")
    debug = signalscope("debug", "--project", str(shop), "--settings", "shop.probe_asgi_settings")
    assert "application loaded: shop.probe_asgi.application (ASGI_APPLICATION)\n" in debug.stdout, debug.stderr


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            "broken_wsgi_settings",
            "Could not load the application 'shop.broken_wsgi.application' named by WSGI_APPLICATION of the "
            "project with settings 'shop.broken_wsgi_settings' (from --settings): "
            "shop/broken_wsgi.py:3: RuntimeError: wsgi boom",
        ),
        (
            "missing_wsgi_settings",
            "Could not load the application 'shop.wsgi_nowhere.application' named by WSGI_APPLICATION",
        ),
        (
            "broken_middleware_settings",
            "Could not build Django's default WSGI application (the settings name no WSGI_APPLICATION) of the "
            "project with settings 'shop.broken_middleware_settings' (from --settings): "
            "broken_middleware.py:3: RuntimeError: middleware boom",
        ),
    ],
)
def test_an_error_loading_the_application_is_a_load_error_naming_file_and_line(
    shop: Path, settings: str, expected: str
) -> None:
    result = signalscope("list", "--project", str(shop), "--settings", f"shop.{settings}")
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "--no-app" in result.stderr
    assert "Traceback" not in result.stderr
    assert signalscope("list", "--project", str(shop), "--settings", f"shop.{settings}", "--no-app").returncode == 0


def test_a_process_set_up_already_is_read_as_it_is_unless_the_application_is_asked_for() -> None:
    code = (
        "import os, sys\n"
        f"sys.path.insert(0, {str(FIXTURES / 'shop')!r})\n"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'shop.settings'\n"
        "import django; django.setup()\n"
        "import signalscope\n"
        "project = signalscope.load_project()\n"
        "print(project.application, ' '.join(project.load_steps), 'django.core.handlers.base' in sys.modules)\n"
        "asked = signalscope.load_project(app=True)\n"  # manage.py signalscope: as the command line
        "print(asked.application, ' '.join(asked.load_steps))\n"
    )
    assert python_snippet(code).split("\n") == [
        "None setup urls False",
        "django.core.wsgi.get_wsgi_application() setup urls application",
        "",
    ]


def test_the_api_takes_app() -> None:
    code = (
        "from signalscope import api\n"
        f"s = api.Session(api.ProjectOptions(project={str(FIXTURES / 'shop')!r}, app=False))\n"
        "paths = {c.receiver.path for c in s.registry.connections}\n"
        "print(s.project.application, s.registry.load_steps, 'django.core.handlers.base:reset_urlconf' in paths)\n"
    )
    assert python_snippet(code) == "None ('setup', 'urls') False\n"


def test_no_app_reaches_the_session(monkeypatch: pytest.MonkeyPatch) -> None:
    from signalscope import api
    from signalscope.cli.app import app
    from signalscope.model import SignalMap

    made: list[api.ProjectOptions | None] = []

    class FakeSession:
        def __init__(self, options: api.ProjectOptions | None = None) -> None:
            made.append(options)

        def load(self) -> None:
            pass

        def list(self, *args: Any, **kwargs: Any) -> SignalMap:
            return SignalMap(
                signalscope="0", django="5.2", settings="x", settings_source="x", signals=(), connections=()
            )

    monkeypatch.setattr(api, "Session", FakeSession)
    runner = CliRunner()
    assert runner.invoke(app, ["list", "--no-app"]).exit_code == 0
    assert runner.invoke(app, ["list"]).exit_code == 0
    assert made == [api.ProjectOptions(app=False), api.ProjectOptions()]
    assert "--no-app" in runner.invoke(app, ["list", "--help"]).output
    assert "--no-app" not in runner.invoke(app, ["trace", "--help"]).output

"""Benchmark: `signalscope list --json` against a bare Django setup of the same project.

    python benchmarks/bench_list.py [--runs 15] [--add DIR SETTINGS]... [--only-added]

For fixtures/shop, fixtures/thirdparty (real apps from PyPI: django-allauth,
simple-history, auditlog, reversion, guardian, DRF), a generated project
(200 models, 2,000 receivers) and that generated project on top of the same
third-party apps plus Django's admin, sessions and messages, with their
middleware and URLs, it times, interleaved in one run (these machines are
noisy), whole processes:

- bare: a process that loads the project as its server does, and nothing
  else: django.setup(), the ROOT_URLCONF import and the server's application
  (WSGI_APPLICATION, else ASGI_APPLICATION, else Django's default handler),
  the three steps that `list` runs (its JSON's load_steps);
- signalscope: the `signalscope list --json` console script.

Bytecode caching is on for both (warm-up runs write the .pyc files).

It prints the median and minimum wall time of each and their ratio.
Goal (issue #16): at most 1.10x on every project, on Python 3.11, 3.12 and 3.13.
Not a timed test: it asserts nothing and is never run by pytest.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "fixtures"))

from genproject import generate  # noqa: E402

BARE = (
    "import os, sys; sys.path.insert(0, {dir!r}); "
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', {settings!r}); "
    "import django; django.setup(); "
    "from django.conf import settings; import importlib; importlib.import_module(settings.ROOT_URLCONF); "
    "from django.utils.module_loading import import_string; "
    "name = getattr(settings, 'WSGI_APPLICATION', None) or getattr(settings, 'ASGI_APPLICATION', None); "
    "from django.core.wsgi import get_wsgi_application; "
    "application = import_string(name) if name else get_wsgi_application()"
)

#: What the generated third-party project adds to genproject's settings: the apps of fixtures/thirdparty
#: (installed by the test extras), Django's admin, sessions and messages, their middleware and URLs.
THIRDPARTY_SETTINGS = """
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.usersessions",
    "simple_history",
    "auditlog",
    "reversion",
    "guardian",
    "rest_framework",
    "rest_framework.authtoken",
] + INSTALLED_APPS
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "guardian.backends.ObjectPermissionBackend",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
STATIC_URL = "static/"
ALLOWED_HOSTS = ["*"]
WSGI_APPLICATION = "genproj.wsgi.application"
"""
THIRDPARTY_URLS = """from django.contrib import admin
from django.urls import include, path
from rest_framework.authtoken.views import obtain_auth_token

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/token/", obtain_auth_token),
]
"""
THIRDPARTY_WSGI = """from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
"""


def generate_thirdparty(out: Path) -> Path:
    """Write the generated project (200 models, 2,000 receivers) on the third-party apps into `out`."""
    project = generate(out, apps=20, models=200, receivers=2000)
    package = project / "genproj"
    settings = package / "settings.py"
    settings.write_text(settings.read_text() + THIRDPARTY_SETTINGS)
    (package / "urls.py").write_text(THIRDPARTY_URLS)
    (package / "wsgi.py").write_text(THIRDPARTY_WSGI)
    return project


def timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Run `cmd`; return its wall time and its CPU time (user + system), in seconds."""
    # Both sides may cache bytecode, as in any installed environment (some
    # machines set PYTHONDONTWRITEBYTECODE, which would recompile the
    # project and an editable signalscope on every run).
    drop = ("DJANGO_SETTINGS_MODULE", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"bench_list: {' '.join(cmd)} failed with exit code {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def measure(name: str, project: Path, settings: str, runs: int, script: str) -> dict[str, float | str]:
    bare = [sys.executable, "-c", BARE.format(dir=str(project), settings=settings)]
    ours = [script, "list", "--json", "--project", str(project)]
    for cmd in (bare, ours):  # warm the page cache and write the .pyc files
        timed(cmd, project)
    bare_runs, our_runs = [], []
    for i in range(runs):
        pair = [(bare, bare_runs), (ours, our_runs)]
        if i % 2:
            pair.reverse()
        for cmd, sink in pair:
            sink.append(timed(cmd, project))
    median = statistics.median
    return {
        "name": name,
        "bare": median(w for w, _ in bare_runs),
        "ours": median(w for w, _ in our_runs),
        # Each run against the bare run next to it: drift on a noisy machine cancels out.
        "paired": median(o[0] / b[0] for o, b in zip(our_runs, bare_runs, strict=True)),
        "min": min(w for w, _ in our_runs) / min(w for w, _ in bare_runs),
        "cpu": median(c for _, c in our_runs) / median(c for _, c in bare_runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--add",
        nargs=2,
        action="append",
        default=[],
        metavar=("DIR", "SETTINGS"),
        help="also time the project in DIR (its manage.py's folder) with the settings module SETTINGS",
    )
    parser.add_argument("--only-added", action="store_true", help="time only the projects given with --add")
    args = parser.parse_args()
    script = shutil.which("signalscope", path=str(Path(sys.executable).parent)) or shutil.which("signalscope")
    if not script:
        sys.exit("bench_list: the signalscope console script is not installed (pip install -e .)")
    import django

    print(f"Python {sys.version.split()[0]}, Django {django.get_version()}, {args.runs} interleaved runs each")
    fixtures = ROOT / "fixtures"
    rows = []
    if not args.only_added:
        rows.append(measure("fixtures/shop", fixtures / "shop", "shop.settings", args.runs, script))
        rows.append(
            measure("fixtures/thirdparty", fixtures / "thirdparty", "thirdparty_site.settings", args.runs, script)
        )
        with tempfile.TemporaryDirectory() as tmp:
            project = generate(Path(tmp) / "gen", apps=20, models=200, receivers=2000)
            rows.append(
                measure("generated: 200 models, 2,000 receivers", project, "genproj.settings", args.runs, script)
            )
            project = generate_thirdparty(Path(tmp) / "gen3p")
            rows.append(measure("generated + third-party apps", project, "genproj.settings", args.runs, script))
    for folder, settings in args.add:
        project = Path(folder).resolve()
        rows.append(measure(project.name[:40], project, settings, args.runs, script))
    goal = 1.10
    print()
    print(f"{'project':<40} {'bare ms':>8} {'list ms':>8} {'ratio':>6} {'paired':>7} {'min':>5} {'cpu':>5} {'goal':>5}")
    for row in rows:
        print(
            f"{row['name']:<40} {float(row['bare']) * 1e3:8.0f} {float(row['ours']) * 1e3:8.0f} "
            f"{float(row['ours']) / float(row['bare']):6.2f} {row['paired']:7.2f} {row['min']:5.2f} "
            f"{row['cpu']:5.2f} {goal:5.2f}"
        )
    print(
        "\nratio: median wall time over median wall time; paired: median of each run over the bare run\n"
        "next to it; min: fastest over fastest; cpu: median user+system CPU time over the same."
    )


if __name__ == "__main__":
    main()

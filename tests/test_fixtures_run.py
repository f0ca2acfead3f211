"""Every fixture a user might try runs as a Django project from a fresh copy: migrate, test and runserver.

signalscope's first users start from these projects (the README's demo is
fixtures/shop); a project that cannot migrate or serve teaches nothing.
fixtures/broken is left out: failing to load is its purpose.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from helpers import FIXTURES, clean_env, run

PROJECTS = ["cascade", "kinds", "parallel", "pitfalls", "pitfalls_clean", "shop", "thirdparty"]


@pytest.fixture(params=PROJECTS)
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A fresh copy of one fixture project: no database, no caches."""
    folder = tmp_path / str(request.param)
    shutil.copytree(FIXTURES / str(request.param), folder, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    return folder


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serves(folder: Path, log: Path) -> int:
    """Run `manage.py runserver --noreload`, request /, and return the HTTP status it answered with."""
    port = _free_port()
    args = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    with log.open("w") as handle:
        server = subprocess.Popen(args, cwd=folder, env=clean_env(), stdout=handle, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"runserver served no request:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    return int(response.status)
            except urllib.error.HTTPError as exc:
                return exc.code  # served: a 404 is an answer
            except OSError:
                time.sleep(0.2)  # not listening yet
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_fresh_copy_migrates_tests_and_serves(project: Path, tmp_path: Path) -> None:
    env = clean_env()
    migrate = run([sys.executable, "manage.py", "migrate", "--no-input"], cwd=project, env=env, timeout=180)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert "Applying" in migrate.stdout or "No migrations to apply" in migrate.stdout
    tests = run([sys.executable, "manage.py", "test", "--no-input"], cwd=project, env=env, timeout=180)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    # Python 3.12's unittest says NO TESTS RAN for a project without tests (still exit 0, from Django)
    assert "\nOK" in tests.stderr or "NO TESTS RAN" in tests.stderr, tests.stderr
    assert "Error" not in tests.stderr, tests.stderr
    status = _serves(project, tmp_path / "server.log")
    assert status in (200, 302, 404), status
    assert not list((FIXTURES / project.name).glob("*.sqlite3"))  # the fixture itself is untouched

"""Standard output that can't take the output: full, closed, or in an encoding without → and …."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import FIXTURES, ROOT, clean_env, signalscope

SHOP = str(FIXTURES / "shop")

# Every way a command writes to stdout: write_stdout (list, impact) and write_output (graph, snapshot).
COMMANDS = [
    ["list", "--project", SHOP],
    ["impact", "auth.User", "--project", SHOP],
    ["graph", "--project", SHOP],
    ["snapshot", "--project", SHOP],
    ["trace", "-o", "-", "--", str(ROOT / "tests" / "data" / "quiet.py")],  # the tree and summary to stdout
]


def _run(args: list[str], stdout: int, env: dict[str, str] | None = None) -> tuple[int, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "signalscope", *args],
        cwd=ROOT,
        env=env or clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.PIPE,
    )
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err.decode("utf-8", "replace")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize(
    "args",
    [
        *(pytest.param(args, id=args[0]) for args in COMMANDS),
        pytest.param(["--version"], id="version"),  # written while the options are parsed
        pytest.param(["list", "--help"], id="help"),  # written by rich
    ],
)
def test_a_full_stdout_is_a_one_line_error(args: list[str]) -> None:
    fd = os.open("/dev/full", os.O_WRONLY)
    try:
        code, err = _run(args, fd)
    finally:
        os.close(fd)
    # No traceback and no "Exception ignored ... OSError" from the flush at exit: one line.
    assert (code, err) == (2, "signalscope: error: Can't write to stdout: No space left on device.\n")


@pytest.mark.parametrize("args", COMMANDS, ids=lambda args: args[0])
def test_a_closed_pipe_ends_quietly(args: list[str]) -> None:
    read, write = os.pipe()
    os.close(read)  # like `| head` that has already exited: every write gets EPIPE
    try:
        code, err = _run(args, write)
    finally:
        os.close(write)
    assert (code, err) == (2, "")


def _escaped(text: str, encoding: str) -> str:
    """`text` as written to a stream in `encoding`: what it can't encode as JSON's \\uXXXX escapes."""
    out = []
    for char in text:
        try:
            char.encode(encoding)
            out.append(char)
        except UnicodeEncodeError:
            data = char.encode("utf-16-be")
            out.extend(f"\\u{int.from_bytes(data[i : i + 2], 'big'):04x}" for i in range(0, len(data), 2))
    return "".join(out)


def test_text_output_in_an_encoding_without_its_arrows_is_escaped() -> None:
    utf8 = signalscope("impact", "auth.User", "--project", SHOP)
    assert utf8.returncode == 0 and "→" in utf8.stdout, utf8.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "signalscope", "impact", "auth.User", "--project", SHOP],
        cwd=ROOT,
        env=clean_env(PYTHONIOENCODING="cp1252"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr.decode().splitlines() == [
        "signalscope: note: stdout's encoding (cp1252) can't show some characters: "
        "they are written as \\uXXXX escapes (PYTHONIOENCODING=utf-8 shows them)."
    ]
    assert proc.stdout.decode("cp1252") == _escaped(utf8.stdout, "cp1252")
    assert "\\u2192" in proc.stdout.decode("cp1252")  # the arrow, escaped


def _unicode_project(folder: Path) -> Path:
    """A project whose receiver and dispatch_uid are not ASCII (one outside the BMP)."""
    files = {
        "manage.py": "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'uni_site.settings')\n",
        "uni_site/__init__.py": "",
        "uni_site/settings.py": """\
            SECRET_KEY = "x"
            INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "alerts"]
            DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
            DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
            """,
        "alerts/__init__.py": "",
        "alerts/apps.py": """\
            from django.apps import AppConfig


            class AlertsConfig(AppConfig):
                name = "alerts"

                def ready(self):
                    from . import signals  # noqa: F401
            """,
        "alerts/signals.py": """\
            from django.db.models.signals import post_save
            from django.dispatch import receiver


            @receiver(post_save, sender="auth.User", dispatch_uid="launch \U0001f680")
            def benachrichtigen_über_änderung(sender, **kwargs):
                pass
            """,
    }
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


@pytest.mark.parametrize("encoding", ["ascii", "cp1252"])
def test_json_output_in_an_encoding_without_its_characters_stays_json(tmp_path: Path, encoding: str) -> None:
    project = str(_unicode_project(tmp_path))
    utf8 = signalscope("list", "--json", "--project", project)
    assert utf8.returncode == 0, utf8.stderr
    assert "\U0001f680" in utf8.stdout and "benachrichtigen_über_änderung" in utf8.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "signalscope", "list", "--json", "--project", project],
        cwd=ROOT,
        env=clean_env(PYTHONIOENCODING=encoding),
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout.decode(encoding)) == utf8.json()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_stderr_keeps_the_exit_code() -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "signalscope", "list", "--project", SHOP, "--sender", "auth.Usr"],
            cwd=ROOT, env=clean_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=full, check=False,
        )  # fmt: skip
    assert proc.returncode == 2  # a usage error, not 1 (findings)

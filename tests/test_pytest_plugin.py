"""The pytest plugin, run for real with pytester: with pytest-django on the shop, without it, and under xdist."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import FIXTURES, clean_env, needs_dot

pytest_plugins = ["pytester"]

FAILING = """
import pytest
from django.contrib.auth.models import User
from django.db.models.signals import post_save

pytestmark = pytest.mark.django_db


def test_expects_an_order(signal_recorder):
    with signal_recorder() as rec:
        User.objects.create(username="ada")
    rec.assert_sent("post_save", sender="orders.Order", count=1)


def test_wrong_kwargs(signal_recorder):
    with signal_recorder() as rec:
        User.objects.create(username="bo")
    rec.assert_sent(post_save, sender=User, created=False)


def test_passes(signal_recorder):
    with signal_recorder(post_save) as rec:
        User.objects.create(username="cy")
    rec.assert_sent(post_save, sender="accounts.Profile", created=lambda value: value is True, count=1)
    assert {send.signal for send in rec.all_sends} == {post_save}  # restricted to post_save


@pytest.mark.mute_signals(receivers=["accounts.signals:create_user_profil"])
def test_typo_in_a_muted_receiver():
    pass


@pytest.mark.mute_signals("post_save")
def test_whole_signal_muted(signal_recorder):
    from accounts.models import Profile
    with signal_recorder() as rec:
        User.objects.create(username="dee")
    assert not Profile.objects.exists()
    assert post_save.has_listeners(User)
    assert [s.name for s in rec.sends if s.name.startswith("post_save")] == ["post_save(sender=auth.User)"]
    assert rec.sends[-1].receivers == []
"""


@pytest.fixture
def shop(pytester: pytest.Pytester) -> pytest.Pytester:
    """The shop fixture, copied into pytester's folder, with pytest-django pointed at its settings."""
    shutil.copytree(
        FIXTURES / "shop", pytester.path, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3")
    )
    pytester.makeini("[pytest]\nDJANGO_SETTINGS_MODULE = shop.settings\naddopts = -p no:cacheprovider\n")
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # A subprocess: Django can be set up once per process, and this one already runs tests.
    return pytester.runpytest_subprocess(*args, timeout=180)


def test_the_shops_own_tests_pass_with_the_plugin(shop: pytest.Pytester) -> None:
    result = run(shop, "tests", "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*test_muted_profile_receivers PASSED*"])


def test_failures_say_what_was_sent(shop: pytest.Pytester) -> None:
    shop.makepyfile(test_signals=FAILING)
    result = run(shop, "test_signals.py", "--signalscope")
    result.assert_outcomes(passed=2, failed=2, errors=1)
    out = result.stdout.str()
    assert (
        "Expected post_save(sender=orders.Order) to be sent 1 time, but it was sent 0 times.\n"
        "E       Sent during the block: pre_save(sender=auth.User) x1, post_save(sender=auth.User) x1, "
        "pre_save(sender=accounts.Profile) x2, post_save(sender=accounts.Profile) x2." in out
    )
    assert "Expected post_save(sender=auth.User) with created=False to be sent at least once" in out
    assert "#1: created=True (expected False)" in out
    # The plugin's own frames are hidden: the failure points at the test's line.
    assert "signalscope/testing.py" not in out
    # --signalscope: the causal tree of the failing test's call phase.
    result.stdout.fnmatch_lines(
        [
            "*- Captured signals call -*",
            "post_save(auth.User) created=True  * ms",
            "├─ accounts.signals:create_user_profile  * ms",
            "│  └─ post_save(accounts.Profile) created=True  * ms",
        ]
    )
    assert (
        "@pytest.mark.mute_signals: Unknown receiver 'accounts.signals.create_user_profil'. "
        "Did you mean 'accounts.signals.create_user_profile'" in out
    )


def test_report_and_dot_files_merge_under_xdist(shop: pytest.Pytester) -> None:
    shop.makepyfile(test_signals=FAILING)
    report = shop.path / "signals.json"
    dots = shop.path / "dots"
    result = run(
        shop, "test_signals.py", "tests", "-n", "2", f"--signalscope-report={report}", f"--signalscope-dot={dots}"
    )
    result.assert_outcomes(passed=5, failed=2, errors=1)
    data = json.loads(report.read_text())
    assert data["schema"] == 1
    nodeids = set(data["tests"])
    assert "tests/test_signup.py::test_signup_creates_the_profile" in nodeids
    assert "test_signals.py::test_passes" in nodeids
    assert len(nodeids) == 8  # every test, from both workers
    call = data["tests"]["test_signals.py::test_passes"]["call"]
    assert any(e["kind"] == "call" and e["receiver"] == "accounts.signals:create_user_profile" for e in call)
    dot = (dots / "test_signals.py_test_passes.dot").read_text()
    assert '"post_save(auth.User)" -> "accounts.signals:create_user_profile";' in dot
    # Valid DOT, for Graphviz (where it is installed: CI's is).
    subprocess.run([needs_dot(), "-Tsvg", "-o", "/dev/null"], input=dot, text=True, check=True)


def test_nothing_is_patched_without_options(shop: pytest.Pytester) -> None:
    shop.makepyfile(
        test_untouched="""
from django.dispatch import Signal
import signalscope.tracing.recorder as recorder

def test_untouched():
    assert not recorder.installed()
    assert "send" not in vars(Signal) or vars(Signal)["send"].__module__ == "django.dispatch.dispatcher"
"""
    )
    run(shop, "test_untouched.py").assert_outcomes(passed=1)
    # The entry point registers the plugin, and -p no:signalscope turns it off.
    assert "signal_recorder" in run(shop, "test_untouched.py", "--fixtures").stdout.str()
    result = run(shop, "test_untouched.py", "-p", "no:signalscope", "--fixtures")
    assert result.ret == 0 and "signal_recorder" not in result.stdout.str()


def test_without_pytest_django(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
import django
from django.conf import settings

settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
)
django.setup()
"""
    )
    pytester.makepyfile(
        test_plain="""
import pytest
from django.dispatch import Signal

order_placed = Signal()

def ship(sender, **kw): return "shipped"
def bill(sender, **kw): return "billed"
order_placed.connect(ship)
order_placed.connect(bill)

def test_recorded(signal_recorder):
    with signal_recorder(order_placed) as rec:
        order_placed.send(sender="shop", total=3)
    rec.assert_sent("order_placed", total=3, count=1)
    rec.assert_receiver_ran(ship)
    assert rec.calls(order_placed) == [{"total": 3}]

@pytest.mark.mute_signals(receivers=[bill])
def test_one_receiver_muted():
    assert [r.__name__ for r, _ in order_placed.send(sender="shop")] == ["ship"]

@pytest.mark.xfail(strict=True, reason="fails on purpose: the mute must still be undone")
@pytest.mark.mute_signals(order_placed)
def test_muted_and_failing():
    assert order_placed.send(sender="shop") == []
    raise RuntimeError("boom")

def test_restored():
    assert [r.__name__ for r, _ in order_placed.send(sender="shop")] == ["ship", "bill"]
"""
    )
    for args in ([], ["-n", "2"]):
        result = pytester.runpytest_subprocess("-p", "no:django", "-p", "no:cacheprovider", *args, timeout=120)
        result.assert_outcomes(passed=3, xfailed=1)


def test_manage_py_test_with_the_unittest_mixin(tmp_path: Path) -> None:
    folder = tmp_path / "shop"
    shutil.copytree(FIXTURES / "shop", folder, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    proc = subprocess.run(
        [sys.executable, "manage.py", "test", "accounts", "-v", "2"],
        cwd=folder, env=clean_env(), capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Ran 4 tests" in proc.stderr and "OK" in proc.stderr
    assert "test_wrong_expectation_fails" in proc.stderr


def test_bad_report_and_dot_paths_are_usage_errors_before_any_test(shop: pytest.Pytester) -> None:
    shop.makepyfile(test_ran="def test_ran():\n    open('ran', 'w').close()\n")
    (shop.path / "a_folder").mkdir()
    (shop.path / "a_file").write_text("")
    for option, message in [
        ("--signalscope-report=missing/report.json", "Can't write missing/report.json: there is no folder missing."),
        ("--signalscope-report=a_folder", "Can't write a_folder: it is a folder."),
        ("--signalscope-dot=a_file", "Can't write into a_file: it is not a folder."),
        ("--signalscope-dot=a_file/dots", "Can't write into a_file/dots: a_file is not a folder."),
    ]:
        for extra in ([], ["-n", "2"]):
            result = run(shop, "test_ran.py", option, *extra)
            assert result.ret == pytest.ExitCode.USAGE_ERROR, (option, extra, result.stdout.str(), result.stderr.str())
            assert f"ERROR: {option.split('=')[0]}: {message}" in result.stderr.lines, result.stderr.lines
            assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
            assert not (shop.path / "ran").exists(), option  # no test ran
    # Good paths: a new report file, a dot folder made on first use.
    result = run(shop, "test_ran.py", "--signalscope-report=report.json", "--signalscope-dot=dots/new")
    result.assert_outcomes(passed=1)
    assert (shop.path / "report.json").exists() and (shop.path / "dots" / "new").is_dir()

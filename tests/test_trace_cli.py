"""`signalscope trace -- PROGRAM`: real manage.py runs of the shop, in subprocesses, and every output format."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest
from helpers import FIXTURES, signalscope

CREATE_ADA = ["manage.py", "createsuperuser", "--noinput", "--username", "ada", "--email", "ada@example.com"]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the shop with its database migrated (the fixture folder stays clean)."""
    folder = tmp_path_factory.mktemp("trace") / "shop"
    shutil.copytree(FIXTURES / "shop", folder, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    result = signalscope("trace", "-f", "summary", "--", "manage.py", "migrate", "--run-syncdb", "-v0", cwd=folder)
    assert result.returncode == 0, result.stderr
    # post_migrate's receivers ran, each timed: Django's and the shop's own.
    assert "django.contrib.auth.management:create_permissions" in result.stderr
    assert "orders.receivers:create_default_shipping_methods" in result.stderr
    return folder


def test_the_seed_chain_as_a_tree(shop: Path) -> None:
    result = signalscope("trace", "--", *CREATE_ADA, cwd=shop)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Superuser created successfully.\n"  # the program keeps stdout
    tree = [re.sub(r"  \d+\.\d{3} ms.*", "", line) for line in result.stderr.splitlines()]
    start = tree.index("post_save(auth.User) created=True")
    assert tree[start : start + 8] == [
        "post_save(auth.User) created=True",
        "├─ accounts.signals:create_user_profile",
        "│  └─ post_save(accounts.Profile) created=True",
        "│     └─ orders.receivers:touch_search_index",
        "├─ accounts.signals:save_user_profile",
        "│  └─ post_save(accounts.Profile) created=False",
        "│     └─ orders.receivers:touch_search_index",
        "└─ orders.receivers:touch_search_index",
    ]
    assert "not shown (--show-unheard)" in result.stderr
    summary = result.stderr[result.stderr.index("RECEIVER") :].splitlines()
    assert summary[0].split() == ["RECEIVER", "SIGNAL", "CALLS", "ERRORS", "TOTAL", "MS", "MEAN", "MS", "MAX", "MS"]
    touch = next(line.split() for line in summary if line.startswith("orders.receivers:touch_search_index"))
    assert touch[1:4] == ["post_save", "3", "0"]


def test_exit_status_and_errors_pass_through(shop: Path, tmp_path: Path) -> None:
    # The same username twice: the second createsuperuser fails, and says so, with its own status.
    twice = [*CREATE_ADA[:3], "--username", "zed", "--email", "z@ex.com"]
    assert signalscope("trace", "-f", "summary", "--", *twice, cwd=shop).returncode == 0
    result = signalscope("trace", "-f", "summary", "--", *twice, cwd=shop)
    assert result.returncode == 1
    assert "Error: That username is already taken." in result.stderr
    script = tmp_path / "boom.py"
    script.write_text("import sys\nprint('ran', sys.argv[1:])\nraise SystemExit(7)\n")
    result = signalscope("trace", "-f", "summary", "--", str(script), "a", "--flag")
    assert (result.returncode, result.stdout) == (7, "ran ['a', '--flag']\n")
    script.write_text("def f():\n    raise ValueError('mine')\nf()\n")
    result = signalscope("trace", "-f", "summary", "--", str(script))
    assert result.returncode == 1
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert "runpy" not in result.stderr and "signalscope" not in result.stderr.split("ValueError")[0]
    assert 'boom.py", line 2, in f' in result.stderr


def test_module_programs_and_usage_errors(tmp_path: Path) -> None:
    result = signalscope("trace", "-f", "summary", "--", "-m", "json.tool", "--help")
    assert result.returncode == 0 and "usage:" in result.stdout
    for args, message in [
        ([], "Name the program to trace after --."),
        (["--", "missing.py"], "No such program: missing.py."),
        (["--", "-m"], "-m needs a module name"),
        (["-f", "xml", "--", "x.py"], "--format xml: choose one of tree, summary, json, jsonl, chrome."),
        (["--pythonpath", "nowhere", "--", "x.py"], "--pythonpath nowhere: no such folder."),
    ]:
        result = signalscope("trace", *args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr
        assert "Traceback" not in result.stderr


def test_the_command_as_run_untraced_with_its_python(tmp_path: Path) -> None:
    # Users write the command they would run: `-- python manage.py test`. This Python is taken off.
    result = signalscope("trace", "-f", "summary", "--", sys.executable, "-m", "json.tool", "--help")
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
    other = tmp_path / "venv" / "bin" / "python3"  # the same binary, in another folder: another venv's
    other.parent.mkdir(parents=True)
    other.symlink_to(sys.executable)
    for args, message in [
        ([str(other), "x.py"], f"{other} is not the Python signalscope runs in ({sys.executable})"),
        ([sys.executable, "-X", "dev", "x.py"], "-X: Python's own options can't be given"),
        ([sys.executable], "Name the program"),
        ([shutil.which("ls") or "/bin/ls"], "is a compiled program, not a Python script"),
    ]:
        result = signalscope("trace", "-f", "summary", "--", *args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_json_and_jsonl(shop: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.json"
    result = signalscope(
        "trace",
        "-f",
        "json",
        "-o",
        str(out),
        "--",
        *CREATE_ADA[:3],
        "--username",
        "bo",
        "--email",
        "b@ex.com",
        cwd=shop,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert data["schema"] == 2 and data["dropped"] == 0
    events = data["events"]
    assert [e["start_ns"] for e in events] == sorted(e["start_ns"] for e in events)
    by_id = {e["id"]: e for e in events}
    profile = next(
        e
        for e in events
        if e["kind"] == "send" and e["signal"].endswith(":post_save") and e["sender"] == "accounts.Profile"
    )
    assert profile["kwargs"]["instance"].startswith("accounts.Profile(pk=")
    assert profile["kwargs"]["created"] == "bool"
    assert by_id[profile["parent"]]["receiver"] == "accounts.signals:create_user_profile"
    assert set(events[0]) == {
        "id", "parent", "kind", "signal", "sender", "receiver", "method", "start_ns", "duration_ns", "thread",
        "is_async", "outcome", "error", "result_type", "kwargs", "details", "label", "process",
    }  # fmt: skip
    assert profile["details"] == {"created": "True", "raw": "False", "update_fields": "None", "using": "default"}
    assert {e["process"] for e in events} == {p["pid"] for p in data["processes"]}

    lines = tmp_path / "t.jsonl"
    result = signalscope(
        "trace", "-f", "jsonl", "-o", str(lines), "--signal", "post_save", "--sender", "accounts.Profile",
        "--", *CREATE_ADA[:3], "--username", "cy", "--email", "c@ex.com", cwd=shop,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    streamed = [json.loads(line) for line in lines.read_text().splitlines()]
    assert {e["sender"] for e in streamed} == {"accounts.Profile"}
    assert [e["kind"] for e in streamed] == ["send", "call"] * 2  # each send, then its calls, as it ended
    assert f"signalscope: wrote {lines} (4 events)\n" in result.stderr


def test_chrome_trace_event_format(shop: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.perfetto.json"
    result = signalscope(
        "trace", "-f", "chrome", "-o", str(out), "--", *CREATE_ADA[:3], "--username", "di", "--email", "d@ex.com",
        cwd=shop,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert data["displayTimeUnit"] == "ms"
    events = data["traceEvents"]
    # The Trace Event Format's required fields, by phase.
    for event in events:
        assert event["ph"] in ("X", "M", "b", "e")
        assert isinstance(event["name"], str) and isinstance(event["pid"], int) and isinstance(event["tid"], int)
        if event["ph"] == "X":
            assert isinstance(event["ts"], (int, float)) and event["ts"] >= 0
            assert isinstance(event["dur"], (int, float)) and event["dur"] >= 0
            assert event["cat"] in ("signal", "receiver")
        if event["ph"] == "M":
            assert event["name"] in ("process_name", "thread_name") and "name" in event["args"]
    slices = {e["args"]["id"]: e for e in events if e["ph"] == "X"}
    # Receivers nest inside their send and nested sends inside their receiver, on the same track.
    nested = 0
    for event in slices.values():
        parent = slices.get(event["args"].get("parent"))
        if parent is None:
            continue
        assert parent["tid"] == event["tid"]
        assert parent["ts"] <= event["ts"] and event["ts"] + event["dur"] <= parent["ts"] + parent["dur"] + 0.001
        nested += 1
    assert nested >= 7
    names = [e["name"] for e in slices.values()]
    assert "post_save(auth.User)" in names and "accounts.signals:create_user_profile" in names


def test_exclude_none_keeps_pre_init(shop: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.json"
    args = ["trace", "-f", "json", "-o", str(out), "--exclude", "none", "--"]
    result = signalscope(*args, *CREATE_ADA[:3], "--username", "ed", "--email", "e@ex.com", cwd=shop)
    assert result.returncode == 0, result.stderr
    signals = {e["signal"].split(":")[1] for e in json.loads(out.read_text())["events"]}
    assert {"pre_init", "post_init", "post_save"} <= signals


USER_LIKE = "'auth.User' or 'auth.User_groups' or 'auth.Group'"  # as `signalscope list --sender auth.Usr`


def test_typod_filters_fail_with_close_matches(shop: Path, tmp_path: Path) -> None:
    check = ["--", "manage.py", "check"]
    # Senders and apps are checked as soon as Django is set up: the program stops there.
    for args, lines in [
        (["--sender", "auth.Usr"], ["Unknown sender 'auth.Usr'.", f"Did you mean {USER_LIKE}?"]),
        (["--app", "acounts"], ["Unknown app label 'acounts'.", "Did you mean 'accounts'?"]),
    ]:
        result = signalscope("trace", "--project", str(shop), *args, *check)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.splitlines() == [
            f"signalscope: error: {lines[0]}",
            lines[1],
            "It was checked once the program had set Django up, and the program was stopped there.",
        ], args
        assert result.stdout == ""  # `check` never got to run
    # A signal can be defined any time: it is checked when the program has ended.
    result = signalscope("trace", "--project", str(shop), "--signal", "post_sav", "--signal", "post_save", *check)
    assert result.returncode == 2, result.stderr
    assert result.stdout == "System check identified no issues (0 silenced).\n"
    assert result.stderr.splitlines() == [
        "signalscope: error: Unknown signal 'post_sav'.",
        "Did you mean 'post_save' or 'pre_save' or 'post_migrate'?",
        "It was checked after the program ended (exit status 0): no signal of this run has that name.",
    ]
    # A program that never sets Django up can't send from any sender.
    result = signalscope("trace", "--sender", "auth.User", "--", "-m", "json.tool", "--help", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[-1] == (
        "signalscope: error: --sender auth.User: the program never set Django up, so no send could come from it."
    )
    # Names that exist pass, whatever the program does with them.
    result = signalscope(
        "trace", "-f", "summary", "--project", str(shop), "--signal", "post_save", "--sender", "auth.User",
        "--sender", "<AppConfig: auth>", "--app", "auth", "--exclude", "pre_init", *check,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr

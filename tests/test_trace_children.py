"""`signalscope trace -- PROGRAM` traces the program's Python children too: real processes, one merged trace.

multiprocessing with each start method, runserver's autoreloader, Django's
`test --parallel` workers, pytest and its xdist workers, a plain install
from a wheel, and the children it can't trace (named in the notes).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from helpers import FIXTURES, PROGRAM_SETUP, ROOT, Result, clean_env, run

pytestmark = pytest.mark.skipif(os.name != "posix", reason="fork, forkserver, process groups and `true` are POSIX's")

GROUPS = ("request", "test", "setup")

SETUP = PROGRAM_SETUP

# One send in the program, one per item of a Pool(2).map over 4 items, one in a Process: 6 pings, n telling them apart.
# It prints who did what: the pool's pids by item, the Process's pid, and whether each worker saw the trace's folder.
MULTIPROCESSING = (
    SETUP
    + """\
import json, multiprocessing, os, sys

def work(n):
    ping.send(sender=None, n=n)
    return os.getpid(), "SIGNALSCOPE_TRACE_DIR" in os.environ

def alone():
    ping.send(sender=None, n=100)

if __name__ == "__main__":
    context = multiprocessing.get_context(sys.argv[1])
    ping.send(sender=None, n=-1)
    pool = context.Pool(2)
    results = pool.map(work, range(4))
    pool.close()
    pool.join()
    process = context.Process(target=alone)
    process.start()
    process.join()
    print(json.dumps({"pid": os.getpid(), "pool": [pid for pid, _ in results],
                      "saw_trace": [seen for _, seen in results], "process": process.pid,
                      "exitcode": process.exitcode}))
"""
)

PINGS = ["-1", "0", "1", "2", "3", "100"]  # n of each send, as --capture-values records it


def env(**extra: str) -> dict[str, str]:
    """A clean environment, less an outer pytest's variables (an xdist worker's confuse an inner pytest) and trace's."""
    return {k: v for k, v in clean_env(**extra).items() if not k.startswith("PYTEST_") and k != "SIGNALSCOPE_TRACE_DIR"}


def trace(*args: str, cwd: Path, out: Path, fmt: str = "json", environ: dict[str, str] | None = None) -> Result:
    """`python -m signalscope trace --capture-values -f FMT -o OUT -- ARGS`; assert it went well."""
    result = run(
        [sys.executable, "-m", "signalscope", "trace", "--capture-values", "-f", fmt, "-o", str(out), "--", *args],
        cwd=cwd,
        env=environ or env(),
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result


def load(out: Path) -> dict[str, Any]:
    log: dict[str, Any] = json.loads(out.read_text())
    ids = [e["id"] for e in log["events"]]
    assert len(ids) == len(set(ids)), "event ids are not unique"
    return log


def pings(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["kind"] == "send" and e["signal"].endswith(":ping")]


def group_of(event: dict[str, Any], by_id: dict[int, dict[str, Any]]) -> dict[str, Any] | None:
    """The nearest group `event` was made in (walking its parents), None when it is in none."""
    parent = event["parent"]
    while parent is not None:
        found = by_id[parent]
        if found["kind"] in GROUPS:
            return found
        parent = found["parent"]
    return None


def sends_by_group(log: dict[str, Any], wanted: Any) -> dict[str | None, Counter[tuple[str, str]]]:
    """Count the sends that `wanted(event)` picks, as (signal's short name, sender), by their group's label."""
    by_id = {e["id"]: e for e in log["events"]}
    counted: dict[str | None, Counter[tuple[str, str]]] = {}
    for event in log["events"]:
        if event["kind"] == "send" and wanted(event):
            found = group_of(event, by_id)
            label = None if found is None else found["label"]
            counted.setdefault(label, Counter())[(event["signal"].rpartition(":")[2], event["sender"])] += 1
    return counted


def trace_folders(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("signalscope-trace-*"))


# -- multiprocessing ----------------------------------------------------------------------------


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A private TMPDIR with a short path: the forkserver's socket goes in it, and AF_UNIX paths are short."""
    tmp = Path(tempfile.mkdtemp(prefix="ss-"))
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_multiprocessing_children_each_send_once_in_one_trace(tmp_path: Path, short_tmp: Path, method: str) -> None:
    (tmp_path / "mp.py").write_text(MULTIPROCESSING)
    tmp = short_tmp
    environ = env(TMPDIR=str(tmp))
    result = trace("mp.py", method, cwd=tmp_path, out=tmp_path / "out.json", environ=environ)
    facts = json.loads(result.stdout)
    assert facts["exitcode"] == 0 and all(facts["saw_trace"])
    log = load(tmp_path / "out.json")
    processes = {p["pid"]: p for p in log["processes"]}
    root = log["processes"][0]
    assert (root["pid"], root["parent"], root["argv"]) == (facts["pid"], None, f"mp.py {method}")
    assert all(e["process"] in processes for e in log["events"])
    sent = pings(log["events"])
    assert sorted((e["kwargs"]["n"] for e in sent), key=int) == PINGS  # each exactly once
    by_n = {e["kwargs"]["n"]: e["process"] for e in sent}
    assert by_n["-1"] == root["pid"]
    assert [by_n[str(n)] for n in range(4)] == facts["pool"]
    assert by_n["100"] == facts["process"]
    children = set(facts["pool"]) | {facts["process"]}
    for pid in children:
        child = processes[pid]
        assert child["is_finished"], child  # the pool was closed and joined: each ended its part
        if method == "forkserver":  # the forkserver forks them: it is the program's child
            server = processes[child["parent"]]
            assert (server["argv"], server["parent"]) == ("multiprocessing forkserver", root["pid"])
        else:
            assert child["parent"] == root["pid"], child
    assert log["notes"] == []
    assert trace_folders(tmp) == []  # the run's folder went with it

    # JSON lines: the same sends, each once (no line twice from a child's part).
    trace("mp.py", method, cwd=tmp_path, out=tmp_path / "out.jsonl", fmt="jsonl", environ=environ)
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert all("kind" in line for line in lines)
    ids = [line["id"] for line in lines]
    assert len(ids) == len(set(ids))
    assert sorted((e["kwargs"]["n"] for e in pings(lines)), key=int) == PINGS


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_no_children_traces_the_programs_process_only(tmp_path: Path, short_tmp: Path, method: str) -> None:
    (tmp_path / "mp.py").write_text(MULTIPROCESSING)
    tmp = short_tmp
    result = run(
        [sys.executable, "-m", "signalscope", "trace", "--no-children", "--capture-values", "-f", "json", "-o",
         str(tmp_path / "out.json"), "--", "mp.py", method],
        cwd=tmp_path, env=env(TMPDIR=str(tmp)), timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert not any(facts["saw_trace"])  # nothing told the children to trace themselves
    log = load(tmp_path / "out.json")
    assert [e["kwargs"]["n"] for e in pings(log["events"])] == ["-1"]
    assert {e["process"] for e in log["events"]} == {facts["pid"]}
    assert len(log["processes"]) <= 1 and log["notes"] == []
    assert trace_folders(tmp) == []  # no run's folder, so no parts


# -- runserver and its autoreloader ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def get(port: int, path: str) -> int:
    """GET `path` from the server; return the status (a redirect is not followed)."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A copy of fixtures/shop with its database made."""
    project = tmp_path / "shop"
    shutil.copytree(FIXTURES / "shop", project, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    made = run([sys.executable, "manage.py", "migrate", "--run-syncdb", "-v", "0"], cwd=project, env=env())
    assert made.returncode == 0, made.stderr
    return project


REQUESTS = {"/orders/999/": 404, "/admin/": 302, "/admin/login/": 200}


def serve_and_stop(project: Path, *trace_args: str) -> tuple[int, str]:
    """Trace runserver, make the REQUESTS, stop it with ^C (SIGINT to its process group); return status and stderr."""
    port = free_port()
    out, err = project / "server.out", project / "server.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        server = subprocess.Popen(
            [sys.executable, "-m", "signalscope", "trace", *trace_args, "--", "manage.py", "runserver",
             f"127.0.0.1:{port}"],
            cwd=project, env=env(), stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 90
            while True:  # until the reloader's child serves: any answer will do (a 404 here)
                assert server.poll() is None, err.read_text()
                assert time.monotonic() < deadline, "runserver did not serve within 90 s:\n" + err.read_text()
                try:
                    get(port, "/ready/")
                    break
                except OSError:
                    time.sleep(0.2)
            assert {path: get(port, path) for path in REQUESTS} == REQUESTS
            time.sleep(1)  # request_finished is sent once the response is closed, just after the client has it
            os.killpg(server.pid, signal.SIGINT)
            status = server.wait(timeout=60)
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=30)
    return status, err.read_text()


def test_runserver_and_its_reloaders_child_group_each_request(shop: Path) -> None:
    status, stderr = serve_and_stop(shop, "--capture-values", "-f", "json", "-o", str(shop / "out.json"))
    assert "Traceback" not in stderr, stderr
    assert status in (0, -signal.SIGINT), stderr
    log = load(shop / "out.json")
    reloader, child = log["processes"]  # exactly the two
    assert reloader["parent"] is None and child["parent"] == reloader["pid"]
    assert "runserver" in reloader["argv"] and "runserver" in child["argv"]
    requests = [e for e in log["events"] if e["kind"] == "request"]
    labels = Counter(e["label"] for e in requests)
    for path, code in REQUESTS.items():
        assert labels[f"GET {path} {code}"] == 1, labels
    assert labels["GET /ready/ 404"] >= 1, labels
    assert {e["process"] for e in requests} == {child["pid"]}
    for group in requests:
        under = [e["signal"] for e in log["events"] if e["parent"] == group["id"] and e["kind"] == "send"]
        assert under[0] == "django.core.signals:request_started", (group["label"], under)
        assert under[-1] == "django.core.signals:request_finished", (group["label"], under)
        assert group["parent"] is None and group["outcome"] == "ok"


def test_runserver_shows_each_requests_tree_as_it_ends(shop: Path) -> None:
    _status, stderr = serve_and_stop(shop)
    assert "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    for path, code in REQUESTS.items():
        label = f"GET {path} {code}"
        assert any(line == label or line.startswith(label + " ") for line in lines), (label, stderr)


# -- manage.py test --parallel --------------------------------------------------------------------

# What each test of fixtures/parallel sends (post_save and book_shelved of its own models), by its group's label.
PARALLEL_SENDS = {
    "tests.test_authors.AuthorTests.test_author_gets_a_profile": {
        ("post_save", "library.Author"): 1,
        ("post_save", "library.Profile"): 1,
    },
    "tests.test_authors.AuthorTests.test_second_author": {
        ("post_save", "library.Author"): 1,
        ("post_save", "library.Profile"): 1,
    },
    "tests.test_books.BookTests.test_book_of_an_author": {("post_save", "library.Book"): 1},
    "tests.test_shelves.ShelfTests.test_shelving_counts": {
        ("post_save", "library.Author"): 1,
        ("post_save", "library.Profile"): 1,
        ("post_save", "library.Book"): 1,
        ("book_shelved", "library.Book"): 1,
    },
    "tests.test_reviews.ReviewTests.test_twice_shelved": {
        ("post_save", "library.Author"): 1,
        ("post_save", "library.Profile"): 1,
        ("post_save", "library.Book"): 1,
        ("book_shelved", "library.Book"): 2,
    },
}
SET_UP_SENDS = {  # BookTests.setUpTestData, run in setUpClass
    "setUpClass tests.test_books.BookTests": {("post_save", "library.Author"): 1, ("post_save", "library.Profile"): 1}
}


def _library_send(event: dict[str, Any]) -> bool:
    return str(event["sender"]).startswith("library.") and event["signal"].endswith((":post_save", ":book_shelved"))


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_manage_py_test_parallel_groups_each_test_in_its_worker(tmp_path: Path, method: str) -> None:
    project = tmp_path / "parallel"
    shutil.copytree(FIXTURES / "parallel", project, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    result = trace(
        "manage.py", "test", "--parallel", "2", cwd=project, out=tmp_path / "out.json",
        environ=env(PARALLEL_START=method),
    )  # fmt: skip
    assert "Ran 5 tests" in result.stderr and "\nOK\n" in result.stderr, result.stderr
    log = load(tmp_path / "out.json")
    root = log["processes"][0]
    assert root["parent"] is None
    workers = {
        p["pid"]: p for p in log["processes"] if p["parent"] == root["pid"] and "resource tracker" not in p["argv"]
    }
    assert len(workers) == 2 and all(p["is_finished"] for p in workers.values()), log["processes"]
    if method == "spawn":
        assert {p["argv"] for p in workers.values()} == {"multiprocessing spawn"}
    tests = [e for e in log["events"] if e["kind"] == "test"]
    assert Counter(e["label"] for e in tests) == dict.fromkeys(PARALLEL_SENDS, 1)
    assert {e["process"] for e in tests} <= set(workers)  # the workers ran them, each in its own process
    counted = sends_by_group(log, _library_send)
    assert {label: dict(counts) for label, counts in counted.items()} == {**PARALLEL_SENDS, **SET_UP_SENDS}
    databases = [e for e in log["events"] if e["kind"] == "setup" and e["label"] == "test databases"]
    assert [(e["process"], e["parent"]) for e in databases] == [(root["pid"], None)]
    assert log["notes"] == []


# -- pytest ------------------------------------------------------------------------------------

PYTEST_CONFTEST = (
    SETUP
    + """\
import pytest
prepared = Signal()
prepared.connect(heard)

@pytest.fixture
def ready():
    prepared.send(sender=None)
"""
)
PYTEST_TESTS = {
    "test_one.py": """\
from conftest import ping


def test_first(ready):
    ping.send(sender=None)


def test_second():
    ping.send(sender=None)
    ping.send(sender=None)
""",
    "test_two.py": """\
import pytest

from conftest import ping


@pytest.mark.parametrize("n", [1, 2])
def test_param(n):
    for _ in range(n):
        ping.send(sender=None)


class TestKind:
    def test_method(self):
        ping.send(sender=None)
""",
}
# The conftest's sends by the group they were made in: each test's pings, the fixture's send in its set-up.
PYTEST_SENDS = {
    "test_one.py::test_first": {("ping", None): 1},
    "test_one.py::test_second": {("ping", None): 2},
    "test_two.py::test_param[1]": {("ping", None): 1},
    "test_two.py::test_param[2]": {("ping", None): 2},
    "test_two.py::TestKind::test_method": {("ping", None): 1},
    "set-up of test_one.py::test_first": {("prepared", None): 1},
}


def pytest_suite(folder: Path) -> Path:
    """A suite that turns every warning into an error, its Django configured by its conftest."""
    folder.mkdir()
    (folder / "pytest.ini").write_text("[pytest]\nfilterwarnings = error\n")
    (folder / "conftest.py").write_text(PYTEST_CONFTEST)
    for name, text in PYTEST_TESTS.items():
        (folder / name).write_text(text)
    return folder


def check_pytest_trace(log: dict[str, Any]) -> None:
    tests = [e for e in log["events"] if e["kind"] == "test"]
    assert Counter(e["label"] for e in tests) == {
        label: 1 for label in PYTEST_SENDS if not label.startswith("set-up of ")
    }
    counted = sends_by_group(log, lambda e: e["signal"].startswith("conftest:"))
    assert {label: dict(counts) for label, counts in counted.items()} == PYTEST_SENDS


@pytest.mark.parametrize(
    "extra",
    [[], ["-n", "2"], ["-n", "2", "-p", "no:signalscope"]],
    ids=["plain", "xdist", "xdist-without-the-plugin"],
)
def test_pytest_groups_each_test_by_its_node_id(tmp_path: Path, extra: list[str]) -> None:
    suite = pytest_suite(tmp_path / "suite")
    result = trace("-m", "pytest", "-q", "-p", "no:cacheprovider", *extra, cwd=suite, out=tmp_path / "out.json")
    assert "5 passed" in result.stdout, result.stdout
    log = load(tmp_path / "out.json")
    check_pytest_trace(log)
    root = log["processes"][0]
    tests = {e["process"] for e in log["events"] if e["kind"] == "test"}
    if not extra:
        assert tests == {root["pid"]} and len(log["processes"]) == 1
    else:
        workers = {p["pid"] for p in log["processes"] if p["argv"] == "execnet worker (pytest-xdist)"}
        assert len(workers) == 2 and tests <= workers
        assert all(p["parent"] == root["pid"] for p in log["processes"][1:])


def test_a_plain_install_from_a_wheel_traces_a_suite_that_makes_warnings_errors(tmp_path: Path) -> None:
    if importlib.util.find_spec("pip") is None:
        pytest.skip("this Python has no pip to build and install a wheel with")
    # Nothing of the checkout on the path: pip would take it for signalscope installed already.
    environ = {k: v for k, v in env().items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # The project's files as they are now, built elsewhere: a build writes build/ and *.egg-info beside them.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "signalscope", source / "signalscope", ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip"]
    built = run([*pip, "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)], env=environ, timeout=300)
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("signalscope-*.whl")
    venv = tmp_path / "venv"
    made = run([sys.executable, "-m", "venv", "--without-pip", str(venv)], env=environ, timeout=120)
    assert made.returncode == 0, made.stderr
    python = str(venv / "bin" / "python")
    requirements = [str(wheel), f"Django=={version('django')}", f"pytest=={version('pytest')}"]
    installed = run([*pip, "--python", python, "install", "-q", *requirements], env=environ, timeout=300)
    assert installed.returncode == 0, installed.stderr
    where = run([python, "-c", "import signalscope; print(signalscope.__file__)"], cwd=tmp_path, env=environ)
    assert where.stdout.startswith(str(venv / "lib")), where.stdout + where.stderr
    suite = pytest_suite(tmp_path / "suite")
    out = tmp_path / "out.json"
    result = run(
        [python, "-m", "signalscope", "trace", "-f", "json", "-o", str(out), "--", "-m", "pytest", "-q", "-p",
         "no:cacheprovider"],
        cwd=suite, env=environ, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout, result.stdout
    check_pytest_trace(load(out))


# -- children it can't trace ---------------------------------------------------------------------

UNTRACED = """\
import subprocess, sys
subprocess.run(["true"], check=True)
subprocess.run([sys.executable, "-E", "-c", "print('ignores PYTHONPATH')"], check=True)
subprocess.run([sys.executable, "-c", "print('traced')"], check=True)
"""


@pytest.mark.parametrize(
    "started_by",
    [
        "program",
        "child",
    ],
)
def test_children_that_do_not_trace_themselves_are_named(tmp_path: Path, started_by: str) -> None:
    (tmp_path / "kids.py").write_text(UNTRACED)
    (tmp_path / "outer.py").write_text(
        "import subprocess, sys\nsubprocess.run([sys.executable, 'kids.py'], check=True)\n"
    )
    result = trace("kids.py" if started_by == "program" else "outer.py", cwd=tmp_path, out=tmp_path / "out.json")
    assert "ignores PYTHONPATH" in result.stdout and "traced" in result.stdout
    log = load(tmp_path / "out.json")
    untraced = [note for note in log["notes"] if note.startswith("not traced:")]
    assert len(untraced) == 1, log["notes"]
    (note,) = untraced
    assert "true" in note and " -E -c " in note and "print('traced')" not in note
    assert any(p["argv"] == "-c print('traced')" for p in log["processes"])  # the plain Python child traced itself

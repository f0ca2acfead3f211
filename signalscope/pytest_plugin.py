"""The pytest plugin (entry point ``pytest11``; disable with ``-p no:signalscope``).

- fixture ``signal_recorder``: ``with signal_recorder() as rec: ...`` then ``rec.assert_sent(...)``;
- marker ``@pytest.mark.mute_signals(post_save, receivers=["app.signals:func"])``;
- ``--signalscope``: a "Captured signals" section (the causal tree) on every failing test;
- ``--signalscope-report=FILE.json``: every test's trace in one file (merged from xdist workers):
  ``{"schema": 1, "tests": {nodeid: {"setup": [events], "call": [...], "teardown": [...]}}}``;
- ``--signalscope-dot=DIR``: one DOT graph per test of what fired while the test ran (its call phase).

Both paths are checked before any test runs: one that can't be written is a usage error (exit 4).

With none of these in use the plugin patches nothing. It needs no
conftest and works with or without pytest-django.
"""

from __future__ import annotations

import os
import re
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["pytest_addoption", "pytest_configure", "signal_recorder"]

_TRACER = pytest.StashKey[Any]()
_ATTR = "signalscope_events"  # on test reports: plain data, so xdist carries it to the controller


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("signalscope", "signal tracing (signalscope)")
    group.addoption(
        "--signalscope",
        action="store_true",
        default=False,
        help="Trace signal sends in each test; show them under failing tests as 'Captured signals'.",
    )
    group.addoption(
        "--signalscope-report",
        metavar="FILE",
        default=None,
        help="Write every test's signal trace to FILE (JSON; merged across xdist workers).",
    )
    group.addoption(
        "--signalscope-dot",
        metavar="DIR",
        default=None,
        help="Write one DOT graph per test of the signals that fired, into DIR.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "mute_signals(*signals, receivers=[...]): don't call these signals' receivers, or just these "
        "receivers (objects or 'module:function' paths), during the test (signalscope).",
    )
    report = config.getoption("--signalscope-report")
    dot = config.getoption("--signalscope-dot")
    # Checked now, before any test runs: a path that can't be written is a usage error (exit 4),
    # not a traceback after the whole run. Made absolute now: a test may change the folder.
    checked = not config.getoption("help", False)
    if report:
        if checked:
            _check_report(report)
        report = report if report == "-" else os.path.abspath(report)
    if dot:
        if checked:
            _check_dot_folder(os.path.abspath(dot), dot)
        dot = os.path.abspath(dot)
    config.stash[_TRACER] = {
        "on": bool(config.getoption("--signalscope") or report or dot),
        "report": report,
        "dot": dot,
        "tests": {},
    }


def _check_report(path: str) -> None:
    from ._files import check_output
    from .errors import OutputError

    try:
        check_output(path)
    except OutputError as exc:
        raise pytest.UsageError(f"--signalscope-report: {exc.message}") from None


def _check_dot_folder(path: str, given: str) -> None:
    """Refuse a --signalscope-dot folder that can't be made or written into (it is made on first use)."""
    existing = Path(path)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.is_dir():
        if os.access(existing, os.W_OK | os.X_OK):
            return
        reason = "it is not writable" if existing == Path(path) else f"{_shown(existing, path, given)} is not writable"
    elif existing == Path(path):
        reason = "it is not a folder"
    else:
        reason = f"{_shown(existing, path, given)} is not a folder"
    raise pytest.UsageError(f"--signalscope-dot: Can't write into {given}: {reason}.")


def _shown(part: Path, path: str, given: str) -> str:
    """`part`, an ancestor of `path`, as the user wrote it in `given`."""
    shown = Path(given)
    for _ in range(len(Path(path).parts) - len(part.parts)):
        shown = shown.parent
    return str(shown)


def _state(config: pytest.Config) -> dict[str, Any]:
    return config.stash[_TRACER]


@pytest.fixture
def signal_recorder() -> Iterator[Any]:
    """A factory of SignalRecorders: ``with signal_recorder(post_save, sender=Order) as rec: ...``.

    Arguments restrict what is recorded: signals (objects or names) and a
    sender (object or "app.Model"). Recorders still open when the test ends
    are stopped.
    """
    from .testing import SignalRecorder

    made: list[SignalRecorder] = []

    def make(*signals: Any, sender: Any = None) -> SignalRecorder:
        rec = SignalRecorder(*signals, sender=sender)
        made.append(rec)
        return rec

    yield make
    for rec in made:
        rec.stop()


@pytest.fixture(autouse=True)
def _signalscope_mute(request: pytest.FixtureRequest) -> Iterator[None]:
    markers = list(request.node.iter_markers("mute_signals"))
    if not markers:
        yield
        return
    from .errors import SignalscopeError
    from .testing import mute

    entered: list[mute] = []
    try:
        for marker in markers:
            m = mute(*marker.args, **marker.kwargs)
            m.__enter__()
            entered.append(m)
    except SignalscopeError as exc:
        for m in reversed(entered):
            m.__exit__(None, None, None)
        pytest.fail(f"@pytest.mark.mute_signals: {exc.message}" + (f" {exc.hint}" if exc.hint else ""), pytrace=False)
    try:
        yield
    finally:
        for m in reversed(entered):
            m.__exit__(None, None, None)


def _traced_phase(item: pytest.Item, phase: str) -> Generator[None, None, None]:
    """Trace one phase (setup, call, teardown) of a test: each gets its own section, like captured logs."""
    if not _state(item.config)["on"]:
        yield
        return
    from . import api

    tracer = api.trace().start()
    try:
        yield
    finally:
        item.stash.setdefault(_TRACER, {})[phase] = tracer.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    yield from _traced_phase(item, "setup")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    yield from _traced_phase(item, "call")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    yield from _traced_phase(item, "teardown")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    logs = item.stash.get(_TRACER, None)
    if not logs or call.when not in logs:
        return
    report = outcome.get_result()
    log = logs[call.when]
    if report.failed and log.events and item.config.getoption("--signalscope"):
        from .render.trace import render_plain_tree

        report.sections.append((f"Captured signals {report.when}", render_plain_tree(log, hint="")))
    if report.when == "teardown":
        from .model.trace import event_to_dict

        phases = {phase: [event_to_dict(event) for event in logs[phase].events] for phase in logs}
        setattr(report, _ATTR, phases)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    events = getattr(report, _ATTR, None)
    if events is None:
        return
    # On the controller (or a plain run): every test's events, from whichever worker ran it.
    config = _config
    if config is None:
        return
    state = _state(config)
    state["tests"][report.nodeid] = events
    folder = state["dot"]
    if folder:
        _write_dot(Path(folder), report.nodeid, events.get("call", []))


_config: pytest.Config | None = None


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    global _config
    _config = session.config


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    target = _state(config)["report"]
    if not target or hasattr(config, "workerinput"):  # xdist workers send their reports to the controller
        return
    from ._files import write_output
    from .model import schemas
    from .model.jsonio import dump_json

    tests = _state(config)["tests"]
    data = {"schema": schemas.PYTEST_TRACE, "tests": {nodeid: tests[nodeid] for nodeid in sorted(tests)}}
    write_output(target, dump_json(data))


def _write_dot(folder: Path, nodeid: str, events: list[dict[str, Any]]) -> None:
    from .model.trace import TraceLog, event_from_dict
    from .render.trace import render_trace_dot

    log = TraceLog(events=tuple(map(event_from_dict, events)))
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")[:200] + ".dot"
    from ._files import write_output

    write_output(os.fspath(folder / name), render_trace_dot(log, title=nodeid))
